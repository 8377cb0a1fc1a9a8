/**
 * Two partners in one config cannot reach each other by any route. acme and acme2 share the SAME
 * bucket and the SAME role (s3:* on the whole bucket), with sibling prefixes acme/ and acme2/: only
 * the broker's session policy keeps them apart, and a policy written as `acme*` instead of `acme/*`
 * would leak acme2/ to acme (the classic bug). globex has its own role and bucket.
 */
import { beforeAll, describe, expect, test } from '@jest/globals';
import type { S3Client } from '@aws-sdk/client-s3';
import { api, curl, del, get, list, ownerSees, put, s3WithVended, splitKey, unique, vend } from './support/helpers.js';
import { readStack, type StackState } from './support/stack.js';

let stack: StackState;
let acme: S3Client;
let acme2: S3Client;
let globex: S3Client;
/** Objects each partner wrote with its own vended credentials. */
let acmeKey: string;
let acme2Key: string;
let globexKey: string;

beforeAll(async () => {
  stack = readStack();
  acme = s3WithVended(stack, (await vend(stack, stack.keys.acme.backend)).credentials);
  acme2 = s3WithVended(stack, (await vend(stack, stack.keys.acme2.backend)).credentials);
  globex = s3WithVended(stack, (await vend(stack, stack.keys.globex.backend)).credentials);
  acmeKey = `acme/${unique(stack, 'mine.txt')}`;
  acme2Key = `acme2/${unique(stack, 'mine.txt')}`;
  globexKey = `globex/${unique(stack, 'mine.txt')}`;
  expect((await put(acme, stack.bucket, acmeKey, 'acme data')).status).toBe(200);
  expect((await put(acme2, stack.bucket, acme2Key, 'acme2 data')).status).toBe(200);
  expect((await put(globex, stack.bucket2, globexKey, 'globex data')).status).toBe(200);
});

describe('authentication: a key only ever names its own partner and client', () => {
  test('whoami shows the right partner, client, bucket and prefix for each key', async () => {
    const expected = [
      [stack.keys.acme.backend, 'acme', 'backend', stack.bucket, 'acme/'],
      [stack.keys.acme.reader, 'acme', 'reader', stack.bucket, 'acme/'],
      [stack.keys.acme.small, 'acme', 'small', stack.bucket, 'acme/'],
      [stack.keys.acme2.backend, 'acme2', 'backend', stack.bucket, 'acme2/'],
      [stack.keys.globex.backend, 'globex', 'backend', stack.bucket2, 'globex/'],
    ] as const;
    for (const [key, partner, client, bucket, prefix] of expected) {
      const res = await api(stack, '/v1/whoami', { key });
      expect(res.status).toBe(200);
      expect({ partner: res.body.partner, client: res.body.client, bucket: res.body.grant.bucket, prefix: res.body.grant.prefix })
        .toEqual({ partner, client, bucket, prefix });
      expect(JSON.stringify(res.body)).not.toContain(splitKey(key).secret); // no secret echoed
    }
  });

  test('one partner\'s key id with another partner\'s secret authenticates as nobody (401)', async () => {
    const a = splitKey(stack.keys.acme.backend);
    const a2 = splitKey(stack.keys.acme2.backend);
    const g = splitKey(stack.keys.globex.backend);
    // well-formed keys (real ids, real secrets of another client): only the hash comparison refuses them
    for (const mixed of [`sbk_${a.id}_${g.secret}`, `sbk_${a.id}_${a2.secret}`, `sbk_${a2.id}_${g.secret}`, `sbk_${g.id}_${a2.secret}`]) {
      const res = await api(stack, '/v1/whoami', { key: mixed });
      expect({ status: res.status, code: res.body.error?.code }).toEqual({ status: 401, code: 'unauthenticated' });
    }
  });

  test('API key and bearer key together are refused rather than guessed between (401)', async () => {
    const res = await api(stack, '/v1/whoami', { key: stack.keys.acme.backend, headers: { authorization: `Bearer ${stack.keys.globex.backend}` } });
    expect({ status: res.status, code: res.body.error?.code }).toEqual({ status: 401, code: 'unauthenticated' });
  });
});

describe('credentials: each partner\'s session reaches only its own prefix', () => {
  test('acme\'s credentials vs acme2/ (same bucket, same role): read, write, list, delete all 403', async () => {
    expect((await get(acme, stack.bucket, acme2Key)).status).toBe(403);
    const write = `acme2/${unique(stack, 'from-acme.txt')}`;
    expect((await put(acme, stack.bucket, write, 'x')).status).toBe(403);
    expect(await ownerSees(stack, stack.bucket, write)).toBe(false);
    expect((await list(acme, stack.bucket, 'acme2/')).status).toBe(403);
    expect((await del(acme, stack.bucket, acme2Key)).status).toBe(403);
    expect(await ownerSees(stack, stack.bucket, acme2Key)).toBe(true);
  });

  test('acme2\'s credentials vs acme/: read, write, list, delete all 403', async () => {
    expect((await get(acme2, stack.bucket, acmeKey)).status).toBe(403);
    expect((await put(acme2, stack.bucket, `acme/${unique(stack, 'from-acme2.txt')}`, 'x')).status).toBe(403);
    expect((await list(acme2, stack.bucket, 'acme/')).status).toBe(403);
    expect((await del(acme2, stack.bucket, acmeKey)).status).toBe(403);
    expect(await ownerSees(stack, stack.bucket, acmeKey)).toBe(true);
  });

  test('acme\'s credentials vs globex\'s bucket and prefix: 403', async () => {
    expect((await get(acme, stack.bucket2, globexKey)).status).toBe(403);
    expect((await put(acme, stack.bucket2, `globex/${unique(stack, 'from-acme.txt')}`, 'x')).status).toBe(403);
    expect((await put(acme, stack.bucket2, `acme/${unique(stack, 'from-acme.txt')}`, 'x')).status).toBe(403);
    expect((await list(acme, stack.bucket2, 'globex/')).status).toBe(403);
  });

  test('globex\'s credentials cannot read, list, overwrite or delete acme\'s objects', async () => {
    expect((await get(globex, stack.bucket, acmeKey)).status).toBe(403);
    expect((await list(globex, stack.bucket, 'acme/')).status).toBe(403);
    expect((await put(globex, stack.bucket, acmeKey, 'overwrite')).status).toBe(403);
    expect((await del(globex, stack.bucket, acmeKey)).status).toBe(403);
    const stillThere = await get(acme, stack.bucket, acmeKey);
    expect(stillThere.body!.toString()).toBe('acme data');
  });

  test('asking for a sub-prefix that climbs into the sibling (../acme2/) is refused: 400', async () => {
    const res = await api(stack, '/v1/credentials', { key: stack.keys.acme.backend, body: { prefix: '../acme2/' } });
    expect({ status: res.status, code: res.body.error?.code }).toEqual({ status: 400, code: 'invalid_key' });
  });
});

describe('presign routes: no key names another partner\'s object', () => {
  test.each([
    ['uploads', { method: 'PUT', contentType: 'text/plain', contentLength: 1 }],
    ['uploads', { method: 'POST', contentType: 'text/plain' }],
    ['downloads', {}],
  ] as const)('/v1/%s with keys escaping acme/ (../acme2/x, ../globex/x, ..) → 400 invalid_key', async (route, extra) => {
    for (const key of ['../acme2/x', '../globex/x', '..', './../acme2/x', 'x/../../acme2/x']) {
      const res = await api(stack, `/v1/${route}`, { key: stack.keys.acme.backend, body: { key, ...extra } });
      expect({ key, status: res.status, code: res.body.error?.code, url: res.body.url }).toEqual({ key, status: 400, code: 'invalid_key', url: undefined });
    }
  });

  test('there is no way to name another bucket: a bucket field is an unknown key (400 invalid_request)', async () => {
    for (const route of ['uploads', 'downloads', 'credentials']) {
      const body = route === 'uploads'
        ? { method: 'PUT', key: 'x.txt', contentType: 'text/plain', contentLength: 1, bucket: stack.bucket2 }
        : route === 'downloads' ? { key: 'x.txt', bucket: stack.bucket2 } : { bucket: stack.bucket2 };
      const res = await api(stack, `/v1/${route}`, { key: stack.keys.acme.backend, body });
      expect({ route, status: res.status, code: res.body.error?.code }).toEqual({ route, status: 400, code: 'invalid_request' });
    }
  });

  test('the same relative key resolves inside each caller\'s own prefix (acme → acme/k, acme2 → acme2/k, globex → globex/k in its bucket)', async () => {
    const rel = unique(stack, 'same.txt');
    for (const [key, prefix, bucket] of [
      [stack.keys.acme.backend, 'acme/', stack.bucket],
      [stack.keys.acme2.backend, 'acme2/', stack.bucket],
      [stack.keys.globex.backend, 'globex/', stack.bucket2],
    ] as const) {
      const res = await api(stack, '/v1/downloads', { key, body: { key: rel } });
      expect(res.status).toBe(200);
      expect(res.body.key).toBe(`${prefix}${rel}`);
      expect(new URL(res.body.url).pathname).toBe(`/${bucket}/${prefix}${rel}`);
    }
  });

  test('acme\'s download URL cannot be re-pointed at acme2/ or at globex\'s bucket (403 at the server); acme2\'s own URL works', async () => {
    const rel = acmeKey.slice('acme/'.length);
    const down = await api(stack, '/v1/downloads', { key: stack.keys.acme.backend, body: { key: rel } });
    expect(down.status).toBe(200);
    expect((await curl([down.body.url])).status).toBe(200);
    for (const path of [`/${stack.bucket}/${acme2Key}`, `/${stack.bucket2}/${globexKey}`]) {
      const u = new URL(down.body.url);
      u.pathname = path;
      expect({ path, status: (await curl([u.toString()])).status }).toEqual({ path, status: 403 });
    }
    const own = await api(stack, '/v1/downloads', { key: stack.keys.acme2.backend, body: { key: acme2Key.slice('acme2/'.length) } });
    const got = await curl([own.body.url]);
    expect(got.status).toBe(200);
    expect(got.body.toString()).toBe('acme2 data');
  });

  test('acme\'s upload URL cannot be re-pointed at acme2/ (403, nothing stored)', async () => {
    const up = await api(stack, '/v1/uploads', { key: stack.keys.acme.backend, body: { method: 'PUT', key: unique(stack, 'up.txt'), contentType: 'text/plain', contentLength: 5 } });
    expect(up.status).toBe(200);
    const target = `acme2/${unique(stack, 'hijack.txt')}`;
    const u = new URL(up.body.url);
    u.pathname = `/${stack.bucket}/${target}`;
    const res = await curl(['-X', 'PUT', '--data-binary', 'hello', '-H', 'Content-Type: text/plain', u.toString()]);
    expect(res.status).toBe(403);
    expect(await ownerSees(stack, stack.bucket, target)).toBe(false);
  });

  test('globex cannot presign acme\'s object: its keys live under globex/ in its own bucket, and ../acme/ is refused', async () => {
    const res = await api(stack, '/v1/downloads', { key: stack.keys.globex.backend, body: { key: `../${acmeKey}` } });
    expect({ status: res.status, code: res.body.error?.code }).toEqual({ status: 400, code: 'invalid_key' });
  });
});
