/**
 * doctor's ExternalId / trust diagnosis, against a loopback STS that answers AccessDenied the way
 * AWS does (the local gateway never checks ExternalId, so the end-to-end suite cannot show this):
 * the AssumeRole doctor sends is the broker's (ExternalId, SourceIdentity, tags, a session policy),
 * and the answer is decoded into "the ExternalId differs" for a partner that has one. Also the CLI
 * itself: human and --json output, exit codes 1 (a check failed), 2 (usage) and 3 (cannot run), and
 * the partner read from the DynamoDB grant table (dynalite on 127.0.0.1) as the broker reads it.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import dynalite from 'dynalite';
import { parse, stringify } from 'yaml';
import { DynamoAdminStore } from '../../scripts/admin/dynamoStore.js';
import { importPartners } from '../../scripts/admin/commands.js';
import type { Snapshot } from '../../scripts/admin/store.js';
import { createGrantTable, localDynamoClient } from '../../scripts/lib/localDynamo.js';
import { diagnosePartner } from '../../src/adapters/aws/partnerProbe.js';
import { DOCTOR_EXIT } from '../../src/rules/partnerDiagnosis.js';
import { serve, type TestServer } from '../support/loopbackServer.js';
import { brokerConfig, configObject, configYaml } from '../support/configFixture.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const DENIAL = 'User: arn:aws:sts::999999999999:assumed-role/sts-broker-prod-lambdaRole/doctor is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::111111111111:role/Role-A';
const CREDENTIALS = { accessKeyId: 'AKIADOCTORLOOPBACK01', secretAccessKey: 'd0ct0rL00pbackS3cretThatIsNeverPrinted+/' };

let sts: TestServer;
const bodies: URLSearchParams[] = [];
let dir: string;

beforeAll(async () => {
  sts = await serve((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => { body += chunk.toString('utf8'); });
    req.on('end', () => {
      bodies.push(new URLSearchParams(body));
      res.writeHead(403, { 'content-type': 'text/xml', 'x-amzn-requestid': 'c6104cbe-af31-11e0-8154-cbc7ccf896c7' });
      res.end('<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code>'
        + `<Message>${DENIAL}</Message></Error><RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ErrorResponse>`);
    });
  });
  dir = mkdtempSync(join(tmpdir(), 'sts-broker-doctor-'));
});
afterAll(async () => {
  await sts.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('diagnosePartner against an STS that answers AccessDenied', () => {
  it('sends the broker\'s AssumeRole (ExternalId, SourceIdentity, tags, session policy) and names the ExternalId as the likely cause', async () => {
    const partner = brokerConfig().partners.acme!;
    bodies.length = 0;
    const report = await diagnosePartner('acme', partner, ['backend', 'app'], { stsEndpoint: sts.url, credentials: CREDENTIALS, timeoutMs: 5000 });

    // one AssumeRole, not retried (AccessDenied is final), and nothing after it
    expect(bodies).toHaveLength(1);
    const sent = bodies[0]!;
    expect(Object.fromEntries([...sent].filter(([k]) => !k.startsWith('Tags.') && k !== 'Policy'))).toEqual({
      Action: 'AssumeRole', Version: '2011-06-15', RoleArn: partner.roleArn, ExternalId: 'acme-3f9c',
      RoleSessionName: 'sb.acme.sts-broker-doctor', SourceIdentity: 'sb.acme.sts-broker-doctor', DurationSeconds: '900',
    });
    expect(sent.get('Tags.member.1.Key')).toBe('partner');
    expect(sent.get('Tags.member.1.Value')).toBe('acme');
    expect(JSON.parse(sent.get('Policy')!).Statement[0].Action).toEqual(['s3:GetBucketCORS', 's3:GetLifecycleConfiguration', 's3:GetBucketPolicy']);

    expect(report).toMatchObject({ result: 'failed', exitCode: DOCTOR_EXIT.failed });
    expect(report.findings).toHaveLength(1);
    const [trust] = report.findings;
    expect(trust).toMatchObject({ check: 'trust', status: 'fail', message: expect.stringContaining('could not be assumed: AccessDenied') });
    expect(trust!.causes![0]).toMatch(/ExternalId in the config for partner acme differs from the sts:ExternalId the role's trust policy requires/);
  }, 30_000);

  it('a partner without an ExternalId: the role may require one the config lacks (and a disabled partner is said so)', async () => {
    const partner = brokerConfig({ partners: { globex: { disabled: true } } }).partners.globex!;
    const report = await diagnosePartner('globex', partner, ['backend'], { stsEndpoint: sts.url, credentials: CREDENTIALS, timeoutMs: 5000 });
    expect(bodies.at(-1)!.has('ExternalId')).toBe(false);
    expect(report.findings.map((f) => `${f.status} ${f.check}`)).toEqual(['warn config', 'fail trust']);
    expect(report.findings[0]!.message).toBe('partner globex is disabled: the broker issues nothing to its clients');
    expect(report.findings[1]!.causes![0]).toMatch(/requires an sts:ExternalId, and the config has none for partner globex/);
  }, 30_000);
});

describe('diagnosePartner when trust works but a client\'s session does not', () => {
  it('names the client and the MaxSessionDuration; bucket reads the role refuses are "not checked"', async () => {
    let calls = 0;
    const okXml = () => '<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>'
      + '<AssumedRoleUser><Arn>arn:aws:sts::111111111111:assumed-role/Role-A/s</Arn><AssumedRoleId>AROA3XFRBF535PLBIFPI4:s</AssumedRoleId></AssumedRoleUser>'
      + '<Credentials><AccessKeyId>ASIADOCTORTRUSTOK001</AccessKeyId><SecretAccessKey>d0ct0rTrustS3ssionSecretNeverPrinted+/0</SecretAccessKey>'
      + `<SessionToken>FwoGZXIvYXdzEDoctorTrustSessionToken${'Q'.repeat(60)}</SessionToken><Expiration>${new Date(Date.now() + 900_000).toISOString()}</Expiration></Credentials>`
      + '</AssumeRoleResult><ResponseMetadata><RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId></ResponseMetadata></AssumeRoleResponse>';
    const stsOk = await serve((req, res) => {
      req.resume();
      req.on('end', () => {
        calls += 1;
        if (calls === 1) {
          res.writeHead(200, { 'content-type': 'text/xml' });
          res.end(okXml());
          return;
        }
        res.writeHead(400, { 'content-type': 'text/xml' });
        res.end('<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>ValidationError</Code>'
          + '<Message>The requested DurationSeconds exceeds the MaxSessionDuration set for this role.</Message></Error><RequestId>r</RequestId></ErrorResponse>');
      });
    });
    // S3 refuses every bucket read, as for a role without the optional statement
    const s3 = await serve((req, res) => {
      req.resume();
      res.writeHead(403, { 'content-type': 'application/xml' });
      res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>x</RequestId></Error>');
    });
    try {
      const partner = brokerConfig().partners.acme!;
      const report = await diagnosePartner('acme', partner, ['backend'], { stsEndpoint: stsOk.url, s3Endpoint: s3.url, credentials: CREDENTIALS, timeoutMs: 5000 });
      expect(report.findings.map((f) => `${f.status} ${f.client ?? '-'} ${f.check}`)).toEqual([
        'ok - trust', 'fail backend session', 'skip - cors', 'skip - lifecycle', 'skip - bucket-policy',
      ]);
      expect(report.findings[1]!.causes![0]).toMatch(/raise the role's MaxSessionDuration to at least 3600 s/);
      expect(report.findings[2]!.message).toMatch(/^not checked: the role may not read it \(s3:GetBucketCORS\)/);
      expect(report).toMatchObject({ result: 'failed', exitCode: 1 });
      // the bucket reads went to S3 with the trust session; no object probe ran without a session
      expect(s3.requests()).toBe(3);
    } finally {
      await stsOk.close();
      await s3.close();
    }
  }, 30_000);
});

describe('npm run doctor', () => {
  /** Async on purpose: the loopback STS answers from this process, so a blocking spawn would starve it. */
  function run(args: string[], env: Record<string, string> = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/doctor.ts', ...args], {
      cwd: repo, timeout: 90_000,
      env: { ...process.env, AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey, BROKER_CONFIG: '', BROKER_CONFIG_FILE: '', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString('utf8'); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString('utf8'); });
    return new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (status) => resolve({ status, stdout, stderr }));
    });
  }
  const configFile = () => {
    const file = join(dir, 'broker.yaml');
    writeFileSync(file, stringify({ ...configObject(), allowInsecureLoopbackHttp: true }));
    return file;
  };

  it('prints the decoded denial and exits 1; --json carries the same findings and the optional statement; no secret printed', async () => {
    const config = configFile();
    const human = await run(['acme', '--config', config], { BROKER_STS_ENDPOINT: sts.url });
    expect(human.status).toBe(1);
    expect(human.stdout).toMatch(/FAIL +\(partner\) +trust +the partner's role could not be assumed: AccessDenied/);
    expect(human.stdout).toContain('ExternalId in the config for partner acme differs');
    expect(human.stdout).toContain('result: failed (1 failed');

    const json = await run(['acme', '--config', config, '--json', '--client', 'app'], { BROKER_STS_ENDPOINT: sts.url });
    expect(json.status).toBe(1);
    const report = JSON.parse(json.stdout);
    expect(report).toMatchObject({ partner: 'acme', clients: ['app'], result: 'failed', exitCode: 1, optionalStatement: { Resource: 'arn:aws:s3:::partner-bucket' } });
    expect(report.findings[0]).toMatchObject({ check: 'trust', status: 'fail' });
    for (const out of [human, json]) expect(`${out.stdout}${out.stderr}`).not.toContain(CREDENTIALS.secretAccessKey);
  }, 120_000);

  it('exit 3 when it cannot run (unknown partner or client, a loopback http endpoint the config does not allow), 2 on usage errors; none calls STS', async () => {
    const requestsBefore = sts.requests();
    const config = configFile();
    const strict = join(dir, 'strict.yaml');
    writeFileSync(strict, stringify(configObject()));
    const [partner, client, endpoint, repeated, none] = await Promise.all([
      run(['nobody', '--config', config]),
      run(['acme', '--config', config, '--client', 'app,ghost']),
      run(['acme', '--config', strict], { BROKER_STS_ENDPOINT: sts.url }),
      run(['acme', '--config', config, '--client', 'a', '--client', 'b']),
      run([]),
    ]);
    expect(partner).toMatchObject({ status: 3, stderr: expect.stringContaining('no partner "nobody"') });
    expect(client).toMatchObject({ status: 3, stderr: expect.stringContaining('no client "ghost"') });
    expect(endpoint).toMatchObject({ status: 3, stderr: expect.stringContaining('BROKER_STS_ENDPOINT') });
    expect(repeated).toMatchObject({ status: 2, stderr: expect.stringContaining('comma-separated') });
    expect(none).toMatchObject({ status: 2 });
    expect(sts.requests()).toBe(requestsBefore);
  }, 240_000);

  it('with BROKER_GRANT_STORE=dynamodb it reads the partner from the grant table, as the broker does', async () => {
    const server: Server = dynalite({ createTableMs: 0, deleteTableMs: 0 });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const client = localDynamoClient(endpoint);
    try {
      await createGrantTable(client, 'grants');
      const raw = parse(configYaml()) as { partners: Snapshot['partners'] };
      const admin = new DynamoAdminStore({ client, table: 'grants', identity: async () => 'arn:aws:iam::123456789012:user/ops', allowInsecureLoopbackHttp: false });
      await admin.commit((snapshot) => importPartners(snapshot, raw.partners, 'doctor test'));
      // with the table store the file holds the deployment settings only, no partners
      const settingsOnly = join(dir, 'table.yaml');
      writeFileSync(settingsOnly, 'allowInsecureLoopbackHttp: true\n');
      const env = {
        BROKER_GRANT_STORE: 'dynamodb', BROKER_GRANT_TABLE: 'grants', BROKER_DYNAMODB_ENDPOINT: endpoint,
        BROKER_STS_ENDPOINT: sts.url, AWS_REGION: 'us-east-1',
      };
      const before = bodies.length;
      const [found, missing] = await Promise.all([
        run(['acme', '--config', settingsOnly, '--json'], env),
        run(['nobody', '--config', settingsOnly], env),
      ]);
      expect(missing).toMatchObject({ status: 3, stderr: expect.stringContaining('no partner "nobody" in the grant table grants') });
      expect(found.status).toBe(1);
      expect(JSON.parse(found.stdout)).toMatchObject({ partner: 'acme', roleArn: 'arn:aws:iam::111111111111:role/Role-A', clients: ['backend', 'app'] });
      // the ExternalId came from the table's partner item
      expect(bodies.slice(before).map((b) => b.get('ExternalId'))).toEqual(['acme-3f9c']);
    } finally {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }, 120_000);
});
