/**
 * POST /v1/credentials (and its credential_process / container twins) against the real local
 * S3 + STS: the vended credentials work inside the grant, and the SERVER denies everything outside
 * it. Objects outside the prefix are seeded by the bucket owner first, because a missing key
 * outside the allowed prefix answers 404, not 403, on the local gateway (docs/local-aws.md).
 */
import { beforeAll, describe, expect, test } from '@jest/globals';
import type { S3Client } from '@aws-sdk/client-s3';
import {
  api, del, get, list, ownerSees, put, randomBinary, s3For, s3WithVended, seed, unique, vend, withWrongSecret, type ApiResponse,
} from './support/helpers.js';
import { readStack, type StackState } from './support/stack.js';

let stack: StackState;
let bucket: string;
let bucket2: string;
let s3: S3Client;
/** Owner-seeded objects outside acme/'s grant, one per "elsewhere". */
let outside: Array<{ what: string; bucket: string; key: string }>;

/** Every broker response carries a request id; credential responses and errors are never cacheable. */
function expectEnvelope(res: ApiResponse, noStore = true): void {
  expect(res.headers.get('x-request-id')).toMatch(/\S+/);
  if (noStore) expect(res.headers.get('cache-control')).toContain('no-store');
}

function expectError(res: ApiResponse, status: number, code: string): void {
  expect({ status: res.status, code: res.body?.error?.code }).toEqual({ status, code });
  expect(typeof res.body.error.message).toBe('string');
  expect(res.body.error.requestId).toBe(res.headers.get('x-request-id'));
  expectEnvelope(res);
}

beforeAll(async () => {
  stack = readStack();
  bucket = stack.bucket;
  bucket2 = stack.bucket2;
  s3 = s3WithVended(stack, (await vend(stack, stack.keys.acme.backend)).credentials);
  outside = [
    { what: 'other prefix other/', bucket, key: `other/${unique(stack, 'seed.txt')}` },
    { what: 'sibling prefix acme2/', bucket, key: `acme2/${unique(stack, 'seed.txt')}` },
    { what: 'the other bucket', bucket: bucket2, key: `globex/${unique(stack, 'seed.txt')}` },
    { what: 'the other bucket, same prefix', bucket: bucket2, key: `acme/${unique(stack, 'seed.txt')}` },
  ];
  for (const o of outside) await seed(stack, o.bucket, o.key);
});

describe('POST /v1/credentials: the response', () => {
  test('vends session credentials for the whole grant of acme/backend, with no-store and a request id', async () => {
    const res = await api(stack, '/v1/credentials', { key: stack.keys.acme.backend, body: {} });
    expect(res.status).toBe(200);
    expectEnvelope(res);
    expect(res.body).toMatchObject({ bucket, region: stack.region, prefix: 'acme/', actions: ['read', 'write', 'list', 'delete'] });
    const c = res.body.credentials;
    expect(c.accessKeyId).toMatch(/\S/);
    expect(c.secretAccessKey).toMatch(/\S/);
    expect(c.sessionToken).toMatch(/\S/);
    expect(typeof res.body.sessionName).toBe('string');
    // no durationSeconds: the grant's maximum (writeLocalConfig sets 3600)
    const ttl = (Date.parse(c.expiration) - Date.now()) / 1000;
    expect(ttl).toBeGreaterThan(3500);
    expect(ttl).toBeLessThanOrEqual(3605);
  });

  test('durationSeconds 900 (the floor) is honoured exactly', async () => {
    const { credentials } = await vend(stack, stack.keys.acme.backend, { durationSeconds: 900 });
    const ttl = (Date.parse(credentials.expiration) - Date.now()) / 1000;
    expect(ttl).toBeGreaterThan(880);
    expect(ttl).toBeLessThanOrEqual(905);
  });

  test('durationSeconds 899 is refused with 400 invalid_duration naming the floor (never silently lengthened)', async () => {
    const res = await api(stack, '/v1/credentials', { key: stack.keys.acme.backend, body: { durationSeconds: 899 } });
    expectError(res, 400, 'invalid_duration');
    expect(res.body.error.message).toContain('900');
    expect(res.body.credentials).toBeUndefined();
  });

  test('durationSeconds above the grant maximum (3601) is refused with 403 outside_grant', async () => {
    expectError(await api(stack, '/v1/credentials', { key: stack.keys.acme.backend, body: { durationSeconds: 3601 } }), 403, 'outside_grant');
  });

  test('actions outside the client grant are refused (reader asks for write: 403 outside_grant)', async () => {
    expectError(await api(stack, '/v1/credentials', { key: stack.keys.acme.reader, body: { actions: ['write'] } }), 403, 'outside_grant');
  });

  test('no key, a malformed key, or a wrong secret: 401 unauthenticated', async () => {
    expectError(await api(stack, '/v1/credentials', { body: {} }), 401, 'unauthenticated');
    expectError(await api(stack, '/v1/credentials', { key: 'sbk_nope', body: {} }), 401, 'unauthenticated');
    expectError(await api(stack, '/v1/credentials', { key: withWrongSecret(stack.keys.acme.backend), body: {} }), 401, 'unauthenticated');
  });
});

describe('raw write credentials are opt-in (acme/small has upload limits and no rawWriteCredentials)', () => {
  test('{} vends the grant less write, and the session cannot write at the S3 server', async () => {
    const res = await vend(stack, stack.keys.acme.small);
    expect(res.actions).toEqual(['read', 'list', 'delete']);
    const small = s3WithVended(stack, res.credentials);
    const key = `acme/${unique(stack, 'small-raw.html')}`;
    expect((await put(small, bucket, key, '<script>not through the upload rules</script>')).status).toBe(403);
    expect(await ownerSees(stack, bucket, key)).toBe(false);
    expect((await list(small, bucket, 'acme/')).status).toBe(200);
  });

  test('asking for write (body, credential_process or container query) is 403 outside_grant naming rawWriteCredentials', async () => {
    const key = stack.keys.acme.small;
    for (const res of [
      await api(stack, '/v1/credentials', { key, body: { actions: ['write'] } }),
      await api(stack, '/v1/credentials/process?actions=read,write', { key }),
      await api(stack, '/v1/credentials/container?actions=write', { headers: { authorization: key } }),
    ]) {
      expectError(res, 403, 'outside_grant');
      expect(res.body.error.message).toContain('rawWriteCredentials: true');
    }
  });
});

describe('vended credentials (acme/backend) at the S3 server: inside acme/', () => {
  test('write then read inside acme/ returns the same bytes', async () => {
    const key = `acme/${unique(stack, 'inside.bin')}`;
    const bytes = randomBinary(4096);
    expect((await put(s3, bucket, key, bytes)).status).toBe(200);
    const got = await get(s3, bucket, key);
    expect(got.status).toBe(200);
    expect(got.body!.equals(bytes)).toBe(true);
  });

  test('list with Prefix acme/ works and shows the object written', async () => {
    const key = `acme/${unique(stack, 'listed.txt')}`;
    expect((await put(s3, bucket, key, 'listed')).status).toBe(200);
    const res = await list(s3, bucket, 'acme/');
    expect(res.status).toBe(200);
    expect(res.keys).toContain(key);
    expect(res.keys!.every((k) => k.startsWith('acme/'))).toBe(true);
  });

  test('delete inside acme/ works (the grant has delete)', async () => {
    const key = `acme/${unique(stack, 'deleted.txt')}`;
    expect((await put(s3, bucket, key, 'gone soon')).status).toBe(200);
    expect((await del(s3, bucket, key)).status).toBe(204);
    expect(await ownerSees(stack, bucket, key)).toBe(false);
  });
});

describe('vended credentials (acme/backend) at the S3 server: outside acme/ everything is denied', () => {
  test('reads of existing objects in other/, acme2/ and the other bucket: 403 AccessDenied', async () => {
    for (const o of outside) {
      expect({ where: o.what, ...(await get(s3, o.bucket, o.key)), body: undefined }).toEqual({ where: o.what, status: 403, code: 'AccessDenied', body: undefined });
    }
  });

  test('writes to other/, acme2/ and the other bucket: 403 AccessDenied, nothing stored', async () => {
    for (const o of outside) {
      const key = o.key.replace('seed.txt', 'write.txt');
      expect({ where: o.what, ...(await put(s3, o.bucket, key, 'must not land')) }).toEqual({ where: o.what, status: 403, code: 'AccessDenied' });
      expect(await ownerSees(stack, o.bucket, key)).toBe(false);
    }
  });

  test('overwriting an existing object outside: 403, the owner\'s bytes survive', async () => {
    const o = outside[1]!;
    expect((await put(s3, o.bucket, o.key, 'overwrite attempt')).status).toBe(403);
    const owner = await get(s3For(stack, { accessKeyId: stack.aws.OWNER_ACCESS_KEY_ID!, secretAccessKey: stack.aws.OWNER_SECRET_ACCESS_KEY! }), o.bucket, o.key);
    expect(owner.body!.toString()).toBe('seeded by the owner');
  });

  test('deletes in other/, acme2/ and the other bucket: 403, the objects survive', async () => {
    for (const o of outside) {
      expect({ where: o.what, ...(await del(s3, o.bucket, o.key)) }).toEqual({ where: o.what, status: 403, code: 'AccessDenied' });
      expect(await ownerSees(stack, o.bucket, o.key)).toBe(true);
    }
  });

  test('list outside: Prefix other/, acme2/, "acme" (would reveal acme2/), the whole bucket and the other bucket: 403', async () => {
    for (const [b, prefix] of [[bucket, 'other/'], [bucket, 'acme2/'], [bucket, 'acme'], [bucket, ''], [bucket2, 'acme/'], [bucket2, 'globex/']] as const) {
      expect({ bucket: b, prefix, ...(await list(s3, b, prefix)) }).toEqual({ bucket: b, prefix, status: 403, code: 'AccessDenied' });
    }
  });
});

describe('narrowed requests get narrower credentials', () => {
  test('actions: [read] can read acme/ but cannot write, list or delete there', async () => {
    const key = `acme/${unique(stack, 'narrow.txt')}`;
    expect((await put(s3, bucket, key, 'written by the full grant')).status).toBe(200);
    const res = await vend(stack, stack.keys.acme.backend, { actions: ['read'] });
    expect(res.actions).toEqual(['read']);
    const readOnly = s3WithVended(stack, res.credentials);
    const got = await get(readOnly, bucket, key);
    expect(got.status).toBe(200);
    expect(got.body!.toString()).toBe('written by the full grant');
    expect((await put(readOnly, bucket, `acme/${unique(stack, 'narrow-write.txt')}`, 'no')).status).toBe(403);
    expect((await list(readOnly, bucket, 'acme/')).status).toBe(403);
    expect((await del(readOnly, bucket, key)).status).toBe(403);
    expect(await ownerSees(stack, bucket, key)).toBe(true);
  });

  test('prefix: sub/ can read and write acme/sub/… but cannot read acme/x', async () => {
    const top = `acme/${unique(stack, 'x')}`;
    const inSub = `acme/sub/${unique(stack, 'x')}`;
    expect((await put(s3, bucket, top, 'top')).status).toBe(200);
    expect((await put(s3, bucket, inSub, 'sub')).status).toBe(200);
    const res = await vend(stack, stack.keys.acme.backend, { prefix: 'sub/' });
    expect(res.prefix).toBe('acme/sub/');
    const sub = s3WithVended(stack, res.credentials);
    const got = await get(sub, bucket, inSub);
    expect(got.status).toBe(200);
    expect(got.body!.toString()).toBe('sub');
    expect((await get(sub, bucket, top)).status).toBe(403);
    expect((await put(sub, bucket, `acme/sub/${unique(stack, 'w')}`, 'ok')).status).toBe(200);
    expect((await put(sub, bucket, `acme/${unique(stack, 'w')}`, 'no')).status).toBe(403);
    expect((await list(sub, bucket, 'acme/sub/')).status).toBe(200);
    expect((await list(sub, bucket, 'acme/')).status).toBe(403);
  });

  test('a sub-prefix that escapes the grant (../acme2/, /, *) is refused with 400 before any STS call', async () => {
    for (const prefix of ['../acme2/', '/', '*/', 'sub']) {
      const res = await api(stack, '/v1/credentials', { key: stack.keys.acme.backend, body: { prefix } });
      expect({ prefix, status: res.status, code: res.body?.error?.code }).toEqual({ prefix, status: 400, code: 'invalid_key' });
    }
  });
});

describe('GET /v1/credentials/process (credential_process format)', () => {
  test('returns { Version: 1, AccessKeyId, SecretAccessKey, SessionToken, Expiration } that work inside acme/ only', async () => {
    const res = await api(stack, '/v1/credentials/process', { key: stack.keys.acme.backend });
    expect(res.status).toBe(200);
    expectEnvelope(res);
    expect(Object.keys(res.body).sort()).toEqual(['AccessKeyId', 'Expiration', 'SecretAccessKey', 'SessionToken', 'Version']);
    expect(res.body.Version).toBe(1);
    expect(Number.isNaN(Date.parse(res.body.Expiration))).toBe(false);
    const c = s3For(stack, { accessKeyId: res.body.AccessKeyId, secretAccessKey: res.body.SecretAccessKey, sessionToken: res.body.SessionToken });
    expect((await put(c, bucket, `acme/${unique(stack, 'process.txt')}`, 'p')).status).toBe(200);
    expect((await put(c, bucket, `other/${unique(stack, 'process.txt')}`, 'p')).status).toBe(403);
  });

  test('query narrowing: ?actions=read cannot write; ?durationSeconds=899 is 400 invalid_duration', async () => {
    const res = await api(stack, '/v1/credentials/process?actions=read', { key: stack.keys.acme.backend });
    expect(res.status).toBe(200);
    const c = s3For(stack, { accessKeyId: res.body.AccessKeyId, secretAccessKey: res.body.SecretAccessKey, sessionToken: res.body.SessionToken });
    expect((await put(c, bucket, `acme/${unique(stack, 'process-ro.txt')}`, 'p')).status).toBe(403);
    expectError(await api(stack, '/v1/credentials/process?durationSeconds=899', { key: stack.keys.acme.backend }), 400, 'invalid_duration');
  });
});

describe('GET /v1/credentials/container (container-credentials format)', () => {
  test('returns { AccessKeyId, SecretAccessKey, Token, Expiration } for a bare Authorization key, Bearer and X-Api-Key', async () => {
    const key = stack.keys.acme.backend;
    for (const headers of [{ authorization: key }, { authorization: `Bearer ${key}` }, { 'x-api-key': key }] as Array<Record<string, string>>) {
      const res = await api(stack, '/v1/credentials/container', { headers });
      expect({ via: Object.keys(headers)[0], status: res.status }).toEqual({ via: Object.keys(headers)[0], status: 200 });
      expectEnvelope(res);
      expect(Object.keys(res.body).sort()).toEqual(['AccessKeyId', 'Expiration', 'SecretAccessKey', 'Token']);
      const c = s3For(stack, { accessKeyId: res.body.AccessKeyId, secretAccessKey: res.body.SecretAccessKey, sessionToken: res.body.Token });
      expect((await put(c, bucket, `acme/${unique(stack, 'container.txt')}`, 'c')).status).toBe(200);
      expect((await put(c, bucket, `acme2/${unique(stack, 'container.txt')}`, 'c')).status).toBe(403);
    }
  });

  test('a bare key in Authorization is accepted only on the container route (401 on /v1/credentials/process)', async () => {
    expectError(await api(stack, '/v1/credentials/process', { headers: { authorization: stack.keys.acme.backend } }), 401, 'unauthenticated');
    expectError(await api(stack, '/v1/credentials/container', { headers: { authorization: 'sbk_x_short' } }), 401, 'unauthenticated');
  });
});

describe('headers on every response', () => {
  test('credential routes, whoami and errors carry x-request-id and cache-control: no-store; health carries x-request-id', async () => {
    const key = stack.keys.acme.backend;
    const noStore = [
      await api(stack, '/v1/credentials', { key, body: {} }),
      await api(stack, '/v1/credentials/process', { key }),
      await api(stack, '/v1/credentials/container', { headers: { authorization: key } }),
      await api(stack, '/v1/credentials', { key, body: { durationSeconds: 899 } }),
      await api(stack, '/v1/credentials', { body: {} }),
      await api(stack, '/v1/credentials', { key, body: { nonsense: true } }),
    ];
    expect(noStore.map((r) => r.status)).toEqual([200, 200, 200, 400, 401, 400]);
    for (const res of noStore) expectEnvelope(res, true);
    const whoami = await api(stack, '/v1/whoami', { key });
    expect(whoami.status).toBe(200);
    expectEnvelope(whoami, true);
    const health = await api(stack, '/health');
    expect(health.status).toBe(200);
    expectEnvelope(health, false);
  });
});
