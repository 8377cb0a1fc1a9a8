/**
 * `npm run doctor` end to end, against the local S3 + STS + IAM (scripts/local-aws): doctor runs
 * as the broker's identity (the `broker` user), really assumes each partner's role, probes each
 * client's prefix and reads the bucket's settings.
 *
 * - A healthy partner: a fresh bucket with the CORS and lifecycle rules `partner-policy` writes,
 *   and a role whose permission policy is the one `partner-policy` writes plus doctor's optional
 *   statement → every check OK, exit 0, and the test object is gone afterwards.
 * - A partner whose role's permission policy misses a client's prefix (written for client alpha
 *   only; client beta added to the config later) → doctor names beta and its prefix, exit 1, and
 *   reports the bucket settings "not checked" (no optional statement on that role).
 *
 * The ExternalId part of the trust diagnosis cannot be shown here (the gateway never satisfies an
 * ExternalId condition, docs/local-aws.md quirk 2): test/unit/doctorLoopback.test.ts proves it.
 */
import {
  CreateBucketCommand, DeleteBucketCommand, DeleteObjectCommand, ListObjectsV2Command, PutBucketCorsCommand,
  PutBucketLifecycleConfigurationCommand, type S3Client,
} from '@aws-sdk/client-s3';
import { CreateRoleCommand, DeleteRoleCommand, DeleteRolePolicyCommand, IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { diagnosticStatement, type DoctorReport } from '../../src/rules/partnerDiagnosis.js';
import { partnerSetup } from '../../src/rules/partnerSetup.js';
import { ownerS3, run } from './support/helpers.js';
import { readStack, type StackState } from './support/stack.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const HEALTHY_ROLE = 'e2e-doctor-healthy';
const NARROW_ROLE = 'e2e-doctor-narrow';
const ORIGIN = 'https://app.doctor.example';
/** A distinct hash per key id: doctor never authenticates a caller, but the config must be a valid broker config. */
const sha = (id: string) => createHash('sha256').update(id).digest('hex');

let stack: StackState;
let dir: string;
let owner: S3Client;
let iam: IAMClient;
let bucket: string;
let configFile: string;

/** The config: `healthy` (backend, web with a browser origin) and `narrow` (alpha, beta) on one fresh bucket. */
function configText(): string {
  const client = (id: string, prefix: string, extra: Record<string, unknown> = {}) => ({
    apiKeys: [{ id, sha256: sha(id) }], prefix, actions: ['read', 'write', 'list', 'delete'], maxUploadBytes: 1024, contentTypes: ['text/plain'], ...extra,
  });
  const partner = (role: string, clients: Record<string, unknown>) => ({
    roleArn: `arn:aws:iam:::role/${role}`, bucket, region: stack.region, maxDurationSeconds: 3600, clients,
  });
  return stringify({
    allowInsecureLoopbackHttp: true,
    partners: {
      healthy: partner(HEALTHY_ROLE, {
        backend: client('dochealthy1', 'shop/'),
        web: client('dochealthy2', 'web/', { actions: ['read', 'write', 'delete'], cors: { origins: [ORIGIN] } }),
      }),
      narrow: partner(NARROW_ROLE, { alpha: client('docnarrow01', 'da/'), beta: client('docnarrow02', 'db/') }),
    },
  });
}

async function putRole(name: string, permissions: object): Promise<void> {
  const trust = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: [stack.aws.BROKER_USER_ARN ?? 'arn:aws:iam:::user/broker'] }, Action: ['sts:AssumeRole'] }] };
  try {
    await iam.send(new CreateRoleCommand({ RoleName: name, Path: '/', AssumeRolePolicyDocument: JSON.stringify(trust) }));
  } catch (e) {
    // a reused local stack may still have it (409 EntityAlreadyExists); anything else is a real failure
    if ((e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 409) throw e;
  }
  await iam.send(new PutRolePolicyCommand({ RoleName: name, PolicyName: 'sts-broker', PolicyDocument: JSON.stringify(permissions) }));
}

/** doctor as an operator runs it: with the broker's credentials, the endpoints pointed at the gateway. */
function doctor(args: string[]) {
  return run(process.execPath, ['--import', 'tsx', join(repo, 'scripts/doctor.ts'), ...args, '--config', configFile], {
    timeoutMs: 120_000,
    env: {
      ...process.env,
      AWS_ACCESS_KEY_ID: stack.aws.BROKER_ACCESS_KEY_ID!, AWS_SECRET_ACCESS_KEY: stack.aws.BROKER_SECRET_ACCESS_KEY!, AWS_SESSION_TOKEN: '',
      AWS_PROFILE: '', AWS_REGION: stack.region,
      BROKER_STS_ENDPOINT: stack.endpoint, BROKER_S3_ENDPOINT: stack.endpoint, BROKER_CONFIG: '', BROKER_CONFIG_FILE: '',
    },
  });
}

async function keysIn(Bucket: string): Promise<string[]> {
  const out = await owner.send(new ListObjectsV2Command({ Bucket }));
  return (out.Contents ?? []).map((o) => o.Key!);
}

beforeAll(async () => {
  stack = readStack();
  dir = mkdtempSync(join(tmpdir(), 'sts-broker-e2e-doctor-'));
  owner = ownerS3(stack);
  iam = new IAMClient({
    endpoint: stack.endpoint, region: stack.region,
    credentials: { accessKeyId: stack.aws.ADMIN_ACCESS_KEY_ID!, secretAccessKey: stack.aws.ADMIN_SECRET_ACCESS_KEY! },
  });
  bucket = `doctor-${stack.runId}`;
  await owner.send(new CreateBucketCommand({ Bucket: bucket }));

  configFile = join(dir, 'broker.yaml');
  writeFileSync(configFile, configText());
  const config = parseConfig(configText(), configFile);
  const healthy = config.partners.healthy!;
  const setup = partnerSetup('healthy', healthy, stack.aws.BROKER_USER_ARN ?? 'arn:aws:iam:::user/broker', { allowInsecureLoopbackHttp: true });
  // what the partner's admin applies, per APPLY.md, plus doctor's optional statement
  const permissions = setup.rolePermissionPolicy as { Version: string; Statement: object[] };
  await putRole(HEALTHY_ROLE, { ...permissions, Statement: [...permissions.Statement, diagnosticStatement(healthy)] });
  await owner.send(new PutBucketCorsCommand({ Bucket: bucket, CORSConfiguration: setup.bucketCors as never }));
  await owner.send(new PutBucketLifecycleConfigurationCommand({ Bucket: bucket, LifecycleConfiguration: setup.bucketLifecycle as never }));

  // the narrow role: partner-policy's permission policy from when the partner had client alpha only
  const narrow = config.partners.narrow!;
  const alphaOnly = partnerSetup('narrow', { ...narrow, clients: { alpha: narrow.clients.alpha! } }, 'arn:aws:iam:::user/broker');
  await putRole(NARROW_ROLE, alphaOnly.rolePermissionPolicy);
}, 120_000);

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  if (bucket === undefined) return;
  for (const Key of await keysIn(bucket).catch(() => [])) await owner.send(new DeleteObjectCommand({ Bucket: bucket, Key }));
  await owner.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined);
  for (const RoleName of [HEALTHY_ROLE, NARROW_ROLE]) {
    await iam.send(new DeleteRolePolicyCommand({ RoleName, PolicyName: 'sts-broker' })).catch(() => undefined);
    await iam.send(new DeleteRoleCommand({ RoleName })).catch(() => undefined);
  }
}, 120_000);

describe('npm run doctor against the local stack', () => {
  test('a healthy partner: every check OK (trust, list/read/write/delete per client, CORS, lifecycle, bucket policy), exit 0, nothing left behind', async () => {
    const out = await doctor(['healthy', '--json']);
    expect({ code: out.code, stderr: out.stderr }).toEqual({ code: 0, stderr: expect.stringContaining('doctor: reading') });
    const report = JSON.parse(out.stdout) as DoctorReport;
    expect(report).toMatchObject({ partner: 'healthy', clients: ['backend', 'web'], result: 'ok', exitCode: 0 });
    const seen = report.findings.map((f) => `${f.status} ${f.client ?? '-'} ${f.check}`);
    expect(seen).toEqual([
      'ok - trust',
      'ok backend list', 'ok backend write', 'ok backend read', 'ok backend delete',
      'ok web write', 'ok web read', 'ok web delete',
      'ok web cors', 'ok - lifecycle', 'ok - bucket-policy',
    ]);
    expect(report.findings.find((f) => f.check === 'lifecycle')!.message).toContain('"shop/"');
    // the test objects were written and deleted: the bucket is as empty as before
    expect(await keysIn(bucket)).toEqual([]);
  }, 180_000);

  test('the role\'s permission policy misses client beta\'s prefix: doctor names beta and "db/", exit 1; alpha is OK', async () => {
    const out = await doctor(['narrow']);
    expect(out.code).toBe(1);
    expect(out.stdout).toContain('client beta cannot list under "db/": s3:ListBucket denied');
    expect(out.stdout).toContain('client beta cannot write under "db/": s3:PutObject denied');
    expect(out.stdout).toMatch(/client beta's prefix "db\/" is missing from it/);
    expect(out.stdout).toMatch(/result: failed \(2 failed, 0 warnings, 5 OK, 5 not checked\); exit 1/);
    // no optional statement on this role: the bucket settings are "not checked", and doctor prints the statement
    expect(out.stdout).toMatch(/SKIP +\(partner\) +cors +not checked/);
    expect(out.stdout).toContain('"s3:GetBucketCORS"');

    const json = await doctor(['narrow', '--json', '--client', 'beta']);
    expect(json.code).toBe(1);
    const report = JSON.parse(json.stdout) as DoctorReport;
    const failed = report.findings.filter((f) => f.status === 'fail');
    expect(failed.map((f) => [f.client, f.prefix, f.check])).toEqual([['beta', 'db/', 'list'], ['beta', 'db/', 'write']]);
    const alpha = JSON.parse((await doctor(['narrow', '--json', '--client', 'alpha'])).stdout) as DoctorReport;
    expect(alpha.findings.filter((f) => f.client === 'alpha').map((f) => f.status)).toEqual(['ok', 'ok', 'ok', 'ok']);
    expect(await keysIn(bucket)).toEqual([]);
  }, 240_000);
});
