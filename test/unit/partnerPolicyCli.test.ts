/**
 * `npm run partner-policy`, run as users run it (tsx, from a folder holding config/): the config it
 * reads by default, its --help and usage errors, and the folder of documents it writes, whose
 * commands warn before replacing anything and whose jq merges keep what the partner already had.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { configYaml } from '../support/configFixture.js';

const ROOT = resolve('.');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const SCRIPT = join(ROOT, 'scripts/partner-policy.ts');
const BROKER_ROLE = 'arn:aws:iam::999999999999:role/sts-broker-prod-eu-west-1-lambdaRole';
/** Spawning tsx on a busy 2-core machine takes seconds: well above the unit project's 5 s default. */
const SLOW = 60_000;

interface Run { code: number; stdout: string; stderr: string }

function partnerPolicy(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<Run> {
  return new Promise((done) => {
    execFile(TSX, [SCRIPT, ...args], {
      cwd: options.cwd ?? ROOT, timeout: 50_000,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...options.env },
    }, (error, stdout, stderr) => {
      done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

let dir: string;
/** A folder laid out like the repository root: config/broker.example.yaml and no config/broker.yaml. */
let repoLike: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'partner-policy-'));
  repoLike = join(dir, 'repo');
  mkdirSync(join(repoLike, 'config'), { recursive: true });
  copyFileSync(join(ROOT, 'config/broker.example.yaml'), join(repoLike, 'config/broker.example.yaml'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;

describe('npm run partner-policy: arguments', () => {
  it('--help lists every option and exits 0', async () => {
    const run = await partnerPolicy(['--help']);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    for (const option of ['usage: npm run partner-policy -- <partner>', '<partner>', '--config <file>', '--broker-role-arn <arn>', '--out <dir>', '--help', '$BROKER_CONFIG', 'config/broker.example.yaml', '0700']) {
      expect(run.stdout).toContain(option);
    }
  }, SLOW);

  it.each([
    [['acme', '--broker-role-arn', 'nope'], '--broker-role-arn must be an IAM role ARN'],
    [['acme', '--broker-role-arn', 'arn:aws:iam::999999999999:user/x'], '--broker-role-arn must be an IAM role ARN'],
    [['acme', '--bogus'], "Unknown option '--bogus'"],
    [['acme', '--out'], "Option '--out <value>' argument missing"],
    [[], 'name exactly one partner'],
    [['acme', 'globex'], 'name exactly one partner'],
    [['Acme'], 'invalid partner name "Acme"'],
  ])('%j exits 2 naming the problem, writing nothing', async (args, message) => {
    const cwd = mkdtempSync(join(dir, 'bad-'));
    const run = await partnerPolicy(args, { cwd });
    expect({ code: run.code, stdout: run.stdout }).toEqual({ code: 2, stdout: '' });
    expect(run.stderr).toContain(message);
    expect(run.stderr).toContain('usage: npm run partner-policy');
    expect(existsSync(join(cwd, 'partner-setup-acme'))).toBe(false);
  }, SLOW);
});

describe('npm run partner-policy: which config', () => {
  it('works exactly as the README prints it: reads config/broker.example.yaml when there is no config/broker.yaml, and says so', async () => {
    const run = await partnerPolicy(['acme'], { cwd: repoLike });
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('reading config/broker.example.yaml (config/broker.yaml does not exist, so the EXAMPLE config');
    expect(run.stderr).toContain('PLACEHOLDER broker role');
    expect(readJson(join(repoLike, 'partner-setup-acme/trust-policy.json'))).toMatchObject({ Statement: [{ Principal: { AWS: expect.stringContaining('<BROKER_ACCOUNT_ID>') } }, {}] });
  }, SLOW);

  it('prefers config/broker.yaml, then $BROKER_CONFIG, then --config', async () => {
    const cwd = mkdtempSync(join(dir, 'choose-'));
    mkdirSync(join(cwd, 'config'));
    writeFileSync(join(cwd, 'config/broker.yaml'), configYaml());
    const own = await partnerPolicy(['globex', '--out', 'a'], { cwd });
    expect(own.code).toBe(0);
    expect(own.stderr).toContain('reading config/broker.yaml (the default');
    const other = join(cwd, 'other.yaml');
    writeFileSync(other, configYaml({ partners: { globex: undefined, initech: { roleArn: 'arn:aws:iam::333333333333:role/Role-I', bucket: 'initech-bucket', region: 'eu-west-1', clients: { backend: { apiKeys: [{ id: 'initk1', sha256: 'c'.repeat(64) }], prefix: 'initech/', actions: ['read'], maxUploadBytes: 1, contentTypes: ['text/plain'] } } } } }));
    const env = await partnerPolicy(['initech', '--out', 'b'], { cwd, env: { BROKER_CONFIG: other } });
    expect(env.code).toBe(0);
    expect(env.stderr).toContain(`reading ${other} ($BROKER_CONFIG)`);
    const flag = await partnerPolicy(['globex', '--out', 'c', '--config', 'config/broker.yaml'], { cwd, env: { BROKER_CONFIG: other } });
    expect(flag.code).toBe(0);
    expect(flag.stderr).toContain('reading config/broker.yaml (--config)');
  }, SLOW * 2);

  it('exits 1 naming an unknown partner or an unreadable config', async () => {
    const unknown = await partnerPolicy(['nobody'], { cwd: repoLike });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no partner "nobody" in config/broker.example.yaml (partners: acme)');
    const missing = await partnerPolicy(['acme', '--config', join(dir, 'absent.yaml')], { cwd: repoLike });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('cannot read the file (ENOENT)');
  }, SLOW);
});

describe('npm run partner-policy: the documents and how to apply them', () => {
  let out: string;
  let run: Run;
  beforeAll(async () => {
    out = join(dir, 'setup', 'acme'); // a missing parent too
    const config = join(dir, 'fixture.yaml');
    writeFileSync(config, configYaml());
    run = await partnerPolicy(['acme', '--config', config, '--broker-role-arn', BROKER_ROLE, '--out', out]);
  }, SLOW);

  it('writes each document to the folder (0700, files 0600), with the real broker role and the ExternalId', () => {
    expect(run.code).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o700);
    for (const f of ['trust-policy.json', 'permissions.json', 'cors.json', 'lifecycle.json', 'APPLY.md']) {
      expect(statSync(join(out, f)).mode & 0o777).toBe(0o600);
    }
    const trust = JSON.stringify(readJson(join(out, 'trust-policy.json')));
    expect(trust).toContain(BROKER_ROLE);
    expect(trust).toContain('"sts:ExternalId":"acme-3f9c"');
    expect(run.stderr).not.toContain('PLACEHOLDER');
    expect(readFileSync(join(out, 'APPLY.md'), 'utf8')).toBe(run.stdout);
  });

  it('scopes the lifecycle rule to the broker prefix, not the whole bucket', () => {
    expect(readJson(join(out, 'lifecycle.json'))).toEqual({
      Rules: [{ ID: 'sts-broker-abort-incomplete-multipart', Status: 'Enabled', Filter: { Prefix: 'acme/' }, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }],
    });
  });

  it('warns plainly which commands REPLACE existing configuration, and shows how to merge first', () => {
    expect(run.stdout).toContain('`aws iam update-assume-role-policy` replaces the role\'s ENTIRE trust policy');
    expect(run.stdout).toContain('`aws s3api put-bucket-cors` replaces ALL of the bucket\'s CORS rules');
    expect(run.stdout).toContain('`aws s3api put-bucket-lifecycle-configuration` replaces ALL of the bucket\'s lifecycle rules');
    expect(run.stdout).toContain('aws s3api get-bucket-cors --bucket partner-bucket > current-cors.json');
    expect(run.stdout).toContain('aws s3api get-bucket-lifecycle-configuration --bucket partner-bucket > current-lifecycle.json');
    expect(run.stdout).toContain('aws iam get-role --role-name Role-A --query Role.AssumeRolePolicyDocument');
    // each replacing command applies the merged file, never the bare document
    expect(run.stdout).not.toMatch(/update-assume-role-policy .*file:\/\/trust-policy\.json/);
    expect(run.stdout).not.toMatch(/put-bucket-cors .*file:\/\/cors\.json/);
    expect(run.stdout).not.toMatch(/put-bucket-lifecycle-configuration .*file:\/\/lifecycle\.json/);
  });

  const hasJq = spawnSync('jq', ['--version']).status === 0;
  (hasJq ? it : it.skip)('the printed jq merges keep the partner\'s own statements and rules and replace only the broker\'s', () => {
    const work = mkdtempSync(join(dir, 'merge-'));
    for (const f of ['trust-policy.json', 'cors.json', 'lifecycle.json']) copyFileSync(join(out, f), join(work, f));
    writeFileSync(join(work, 'current-trust-policy.json'), JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Sid: 'Theirs', Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }, { Sid: 'BrokerAssumesRole', Effect: 'Allow', Principal: { AWS: 'old' }, Action: 'sts:AssumeRole' }],
    }));
    writeFileSync(join(work, 'current-cors.json'), JSON.stringify({ CORSRules: [{ ID: 'theirs', AllowedOrigins: ['https://x.example'], AllowedMethods: ['GET'] }, { ID: 'sts-broker', AllowedOrigins: ['https://old.example'], AllowedMethods: ['GET'] }] }));
    writeFileSync(join(work, 'current-lifecycle.json'), JSON.stringify({ Rules: [{ ID: 'theirs', Status: 'Enabled', Filter: { Prefix: 'logs/' }, Expiration: { Days: 30 } }, { Status: 'Enabled', Filter: {}, Expiration: { Days: 365 } }] }));
    const jqLines = run.stdout.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('jq '));
    expect(jqLines).toHaveLength(3);
    for (const line of jqLines) {
      const merged = spawnSync('sh', ['-c', line], { cwd: work, encoding: 'utf8' });
      expect({ status: merged.status, stderr: merged.stderr }).toEqual({ status: 0, stderr: '' });
    }
    const trust = readJson(join(work, 'merged-trust-policy.json')) as { Statement: Array<{ Sid: string; Principal: unknown }> };
    expect(trust.Statement.map((s) => s.Sid)).toEqual(['Theirs', 'BrokerAssumesRole', 'BrokerTagsAndIdentifiesSessions']);
    expect(trust.Statement[1]!.Principal).toEqual({ AWS: BROKER_ROLE });
    const cors = readJson(join(work, 'merged-cors.json')) as { CORSRules: Array<{ ID: string; AllowedOrigins: string[] }> };
    expect(cors.CORSRules.map((r) => [r.ID, r.AllowedOrigins])).toEqual([['theirs', ['https://x.example']], ['sts-broker', ['https://app.acme.example']]]);
    const lifecycle = readJson(join(work, 'merged-lifecycle.json')) as { Rules: Array<{ ID?: string }> };
    expect(lifecycle.Rules.map((r) => r.ID)).toEqual(['theirs', undefined, 'sts-broker-abort-incomplete-multipart']);
  }, SLOW);

  it('writes no cors.json, and says no CORS rule is needed, when no client has origins (and removes a stale one)', async () => {
    const config = join(dir, 'no-origins.yaml');
    writeFileSync(config, configYaml({ partners: { acme: { clients: { app: { cors: { origins: [] } } } } } }));
    const noCors = await partnerPolicy(['acme', '--config', config, '--broker-role-arn', BROKER_ROLE, '--out', out]);
    expect(noCors.code).toBe(0);
    expect(existsSync(join(out, 'cors.json'))).toBe(false);
    expect(noCors.stdout).toContain('No client of this partner has CORS origins');
    expect(noCors.stdout).not.toContain('put-bucket-cors --bucket');
    expect(noCors.stdout).not.toContain('CORSRules": []');
  }, SLOW);
});
