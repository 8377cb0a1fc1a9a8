/**
 * The DynamoDB grant store end to end: a second broker (serverless-offline on 4360/4362, the same
 * handlers and serverless.yml) with BROKER_GRANT_STORE=dynamodb reading a local dynalite table
 * (scripts/lib/localDynamo.ts) with a 2 s staleness bound, the partners written by the admin
 * commands (scripts/admin/), sessions from the real local STS, URLs used against the real local S3.
 *
 * Proves: a key created by admin works within the bound; a disabled key, a revoked client and a
 * revoked subject are refused within it (the measured delays are printed); after a subject is
 * revoked and re-enabled the next presign is signed by a NEW session (the URL's access key id
 * changes: one more AssumeRole); rotation (both keys during the grace, only the new one after);
 * the table stopped → 503 grant_store_unavailable with Retry-After. And measures (prints, asserts
 * nothing about) whether the local gateway evaluates aws:TokenIssueTime in a role policy.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { DeleteRolePolicyCommand, IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { generateApiKey } from '../../src/auth/apiKey.js';
import { createGrantTable, ensureLocalDynamo, localDynamoClient, type LocalDynamo } from '../../scripts/lib/localDynamo.js';
import { startOffline, writeLocalConfig, type RunningOffline } from '../../scripts/lib/offline.js';
import { importYaml, type StoreChoice } from '../../scripts/admin/cli.js';
import * as cmd from '../../scripts/admin/commands.js';
import { DynamoAdminStore } from '../../scripts/admin/dynamoStore.js';
import type { Change, Snapshot } from '../../scripts/admin/store.js';
import { recordSecrets } from '../../scripts/lib/logScan.js';
import { api, type ApiResponse } from './support/helpers.js';
import { readStack, type StackState } from './support/stack.js';

const HTTP_PORT = 4360;
const LAMBDA_PORT = 4362;
const DYNAMO_PORT = 4364;
const TABLE = 'sts-broker-e2e-grants';
const BOUND_SECONDS = 2;
/** How long a poll waits for a change to show before the test fails (far above the bound: a busy machine). */
const POLL_LIMIT_MS = 30_000;
/** The second broker's output, kept after the run (beside the main stack's offline.log) for a failure's post-mortem. */
const OFFLINE_LOG = join(tmpdir(), 'sts-broker-e2e-grant-store-offline.log');

let stack: StackState;
let dir: string;
let dynamo: LocalDynamo;
let offline: RunningOffline | undefined;
let second: StackState;
let admin: DynamoAdminStore;
const keys = { backend: generateApiKey(), other: generateApiKey() };
const delays: Record<string, number> = {};

function choice(): StoreChoice {
  return { store: 'dynamodb', table: TABLE, endpoint: dynamo.endpoint, stsEndpoint: stack.aws.LOCAL_AWS_ENDPOINT!, allowInsecureLoopbackHttp: true };
}

beforeAll(async () => {
  stack = readStack();
  dir = mkdtempSync(join(tmpdir(), 'sts-broker-e2e-grant-store-'));
  writeFileSync(OFFLINE_LOG, '');
  recordSecrets(keys.backend.key, keys.other.key);
  dynamo = await ensureLocalDynamo({ port: DYNAMO_PORT, dir: join(dir, 'dynamo'), inMemory: true });
  const client = localDynamoClient(dynamo.endpoint);
  await createGrantTable(client, TABLE);
  admin = new DynamoAdminStore({ client, table: TABLE, identity: async () => 'arn:aws:iam::000000000000:user/e2e-operator', allowInsecureLoopbackHttp: true });

  // The partners, imported from a YAML config by the admin command's function.
  const partners = join(dir, 'partners.yaml');
  writeLocalConfig(partners, {
    region: stack.region,
    partners: [{
      name: 'acme', roleArn: stack.aws.PARTNER_ROLE_ARN!, bucket: stack.bucket, prefix: 'acme/',
      clients: {
        backend: { keyId: keys.backend.id, sha256: keys.backend.sha256 },
        other: { keyId: keys.other.id, sha256: keys.other.sha256, prefix: 'acme-other/' },
      },
    }],
  });
  await importYaml(partners, choice(), 'e2e import');

  // The deployment file of a dynamodb-store broker holds only its settings: partners come from the table.
  const configFile = join(dir, 'broker.yaml');
  writeFileSync(configFile, 'allowInsecureLoopbackHttp: true\npartners: {}\n');
  offline = await startOffline({
    configFile,
    localAws: stack.aws,
    httpPort: HTTP_PORT,
    lambdaPort: LAMBDA_PORT,
    extraEnv: {
      BROKER_GRANT_STORE: 'dynamodb',
      BROKER_GRANT_TABLE: TABLE,
      BROKER_DYNAMODB_ENDPOINT: dynamo.endpoint,
      BROKER_GRANT_STORE_MAX_STALENESS_SECONDS: String(BOUND_SECONDS),
    },
    onOutput: (chunk) => writeFileSync(OFFLINE_LOG, chunk, { flag: 'a' }),
  });
  second = { ...stack, url: offline.url };
}, 300_000);

afterAll(async () => {
  await offline?.stop();
  await dynamo?.stop();
  process.stderr.write(`grant store e2e: measured delays (bound ${BOUND_SECONDS} s): ${JSON.stringify(delays)}\n`);
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

const commit = (plan: (s: Snapshot) => Change) => admin.commit(plan);

function upload(key: string, name = 'f.txt'): Promise<ApiResponse> {
  return api(second, '/v1/uploads', { key, body: { method: 'PUT', key: `grant-store/${stack.runId}/${name}`, contentType: 'text/plain', contentLength: 5, expiresIn: 300 } });
}

/** Polls `probe` until `done` holds; returns the milliseconds from `since` (the admin write) and the last answer. */
async function until(label: string, since: number, probe: () => Promise<ApiResponse>, done: (r: ApiResponse) => boolean): Promise<ApiResponse> {
  for (;;) {
    const r = await probe();
    if (done(r)) {
      delays[label] = Date.now() - since;
      process.stderr.write(`grant store e2e: ${label}: ${delays[label]} ms after the admin write\n`);
      return r;
    }
    if (Date.now() - since > POLL_LIMIT_MS) throw new Error(`${label}: not seen within ${POLL_LIMIT_MS} ms; last answer ${r.status} ${JSON.stringify(r.body)}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

const signer = (url: string) => new URL(url).searchParams.get('X-Amz-Credential')!.split('/')[0]!;

describe('grant store on DynamoDB (second broker, 2 s bound)', () => {
  it('serves the imported partners; /health names the DynamoDB store and never reads the table', async () => {
    expect((await upload(keys.backend.key)).status).toBe(200);
    const health = await api(second, '/health');
    expect(health.status).toBe(200);
    expect(JSON.stringify(health.body)).toContain('dynamodb:');
  });

  it('a key created by admin works within the bound', async () => {
    let created = '';
    const since = Date.now();
    await commit((s) => {
      const c = cmd.keyCreate(s, 'acme', 'backend', { reason: 'e2e new key' });
      created = c.key.key;
      return c;
    });
    recordSecrets(created);
    await until('new key accepted', since, () => upload(created), (r) => r.status === 200);
  });

  it('a disabled key is refused within the bound (401)', async () => {
    let created = '';
    await commit((s) => {
      const c = cmd.keyCreate(s, 'acme', 'backend');
      created = c.key.key;
      return c;
    });
    recordSecrets(created);
    await until('second new key accepted', Date.now(), () => upload(created), (r) => r.status === 200);
    const id = created.split('_')[1]!;
    const since = Date.now();
    await commit((s) => cmd.keySetDisabled(s, id, true, 'e2e leaked'));
    const r = await until('disabled key refused', since, () => upload(created), (x) => x.status !== 200);
    expect(r.status).toBe(401);
  });

  it('a revoked client is refused within the bound (403 access_revoked), others are not; lifting restores it', async () => {
    const since = Date.now();
    await commit((s) => cmd.revoke(s, 'acme', cmd.revokeTarget(s, 'acme', { client: 'other' }), { now: Date.now(), by: 'e2e', reason: 'e2e client' }));
    const r = await until('revoked client refused', since, () => upload(keys.other.key), (x) => x.status !== 200);
    expect(r.status).toBe(403);
    expect(JSON.stringify(r.body)).toContain('access_revoked');
    expect((await upload(keys.backend.key)).status).toBe(200);
    const lifted = Date.now();
    await commit((s) => cmd.revoke(s, 'acme', { kind: 'client', clientId: 'other' }, { now: Date.now(), by: 'e2e', lift: true }));
    await until('lifted client accepted', lifted, () => upload(keys.other.key), (x) => x.status === 200);
  });

  it('revoke + re-enable a subject: refused within the bound, then the next presign is signed by a NEW session', async () => {
    const a = await upload(keys.backend.key, 'a.txt');
    const b = await upload(keys.backend.key, 'b.txt');
    expect(a.status).toBe(200);
    // One cached session signs both (one AssumeRole)...
    expect(signer(b.body.url)).toBe(signer(a.body.url));
    const since = Date.now();
    // An API-key caller's subject is its key id.
    await commit((s) => cmd.revoke(s, 'acme', { kind: 'subject', clientId: 'backend', subject: keys.backend.id }, { now: Date.now(), by: 'e2e', reason: 'e2e subject' }));
    const refused = await until('revoked subject refused', since, () => upload(keys.backend.key, 'c.txt'), (x) => x.status !== 200);
    expect(refused.status).toBe(403);
    const lifted = Date.now();
    await commit((s) => cmd.revoke(s, 'acme', { kind: 'subject', clientId: 'backend', subject: keys.backend.id }, { now: Date.now(), by: 'e2e', lift: true }));
    const c = await until('re-enabled subject accepted', lifted, () => upload(keys.backend.key, 'd.txt'), (x) => x.status === 200);
    // ...and after the revocation a different session (a new AssumeRole) signs: the cached one was dropped.
    expect(signer(c.body.url)).not.toBe(signer(a.body.url));
    const d = await upload(keys.backend.key, 'e.txt');
    expect(signer(d.body.url)).toBe(signer(c.body.url));
  });

  it('rotation: both keys work during the grace, only the new one after it', async () => {
    let fresh = '';
    const since = Date.now();
    await commit((s) => {
      const c = cmd.keyRotate(s, keys.other.id, 6, Date.now(), 'e2e rotation');
      fresh = c.key.key;
      return c;
    });
    recordSecrets(fresh);
    await until('rotated new key accepted', since, () => upload(fresh), (r) => r.status === 200);
    expect((await upload(keys.other.key)).status).toBe(200);
    const old = await until('old key refused after the grace', since, () => upload(keys.other.key), (r) => r.status !== 200);
    expect(old.status).toBe(401);
    expect((await upload(fresh)).status).toBe(200);
  });

  it('local gateway: does it evaluate aws:TokenIssueTime in a role policy? (measured, printed; SourceIdentity and session tags are ignored there)', async () => {
    const env = stack.aws;
    const roleArn = env.PARTNER2_ROLE_ARN!;
    const role = roleArn.split('/').pop()!;
    const creds = (id: string, secret: string) => ({ accessKeyId: env[id]!, secretAccessKey: env[secret]! });
    const sts = new STSClient({ endpoint: env.LOCAL_AWS_ENDPOINT, region: stack.region, credentials: creds('BROKER_ACCESS_KEY_ID', 'BROKER_SECRET_ACCESS_KEY') });
    const iam = new IAMClient({ endpoint: env.LOCAL_AWS_ENDPOINT, region: stack.region, credentials: creds('ADMIN_ACCESS_KEY_ID', 'ADMIN_SECRET_ACCESS_KEY') });
    const session = (await sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'token-issue-time-probe', DurationSeconds: 900 }))).Credentials!;
    recordSecrets(session.SecretAccessKey!, session.SessionToken!);
    const s3 = new S3Client({
      endpoint: env.LOCAL_AWS_ENDPOINT, region: stack.region, forcePathStyle: true,
      credentials: { accessKeyId: session.AccessKeyId!, secretAccessKey: session.SecretAccessKey!, sessionToken: session.SessionToken! },
    });
    const list = async () => {
      try {
        await s3.send(new ListObjectsV2Command({ Bucket: stack.bucket2, MaxKeys: 1 }));
        return 'allowed';
      } catch (err) {
        return `refused (${(err as { name?: string }).name ?? 'error'})`;
      }
    };
    const before = await list();
    const deny = (instant: Date) => JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Deny', Action: 's3:*', Resource: '*', Condition: { DateLessThan: { 'aws:TokenIssueTime': instant.toISOString() } } }],
    });
    const results: Record<string, string> = { withoutDeny: before };
    try {
      // Deny sessions issued before an instant AFTER this session: it should be refused if the key is evaluated.
      await iam.send(new PutRolePolicyCommand({ RoleName: role, PolicyName: 'e2e-token-issue-time', PolicyDocument: deny(new Date(Date.now() + 3600_000)) }));
      results.denyIssuedBeforeLater = await list();
      // Deny sessions issued before an instant BEFORE this session: it should still be allowed.
      await iam.send(new PutRolePolicyCommand({ RoleName: role, PolicyName: 'e2e-token-issue-time', PolicyDocument: deny(new Date(Date.now() - 3600_000)) }));
      results.denyIssuedBeforeEarlier = await list();
    } catch (err) {
      results.putRolePolicy = `failed: ${(err as { name?: string }).name ?? 'error'}: ${(err as Error).message}`;
    } finally {
      await iam.send(new DeleteRolePolicyCommand({ RoleName: role, PolicyName: 'e2e-token-issue-time' })).catch(() => undefined);
      sts.destroy();
      iam.destroy();
      s3.destroy();
    }
    process.stderr.write(`grant store e2e: local gateway and aws:TokenIssueTime: ${JSON.stringify(results)}\n`);
    expect(before).toBe('allowed');
  });

  it('the table stopped: 503 grant_store_unavailable with Retry-After, never a stale answer', async () => {
    const since = Date.now();
    await dynamo.stop();
    const r = await until('table stopped → 503', since, () => upload(keys.backend.key), (x) => x.status !== 200);
    expect(r.status).toBe(503);
    expect(JSON.stringify(r.body)).toContain('grant_store_unavailable');
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});
