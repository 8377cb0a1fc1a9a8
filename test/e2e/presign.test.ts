/**
 * Presigned PUT (POST /v1/uploads, method PUT) and GET (POST /v1/downloads) through the real API,
 * used with curl against the real local S3: uploads land byte-identical, every tampering is refused
 * by the S3 server (403), and requests outside the grant are refused by the broker before signing.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { api, curl, ownerSees, randomBinary, unique, xmlCode, type ApiResponse } from './support/helpers.js';
import { readStack, type StackState } from './support/stack.js';

let stack: StackState;
let dir: string;

beforeAll(() => {
  stack = readStack();
  dir = mkdtempSync(join(tmpdir(), 'sts-broker-e2e-presign-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, bytes: Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

async function uploadUrl(key: string, body: Record<string, unknown>, apiKey = stack.keys.acme.backend): Promise<ApiResponse> {
  return api(stack, '/v1/uploads', { key: apiKey, body: { method: 'PUT', key, ...body } });
}

/** curl -T with the given headers: exactly what a client following the broker's answer sends. */
const curlPut = (url: string, path: string, headers: Record<string, string>) =>
  curl(['-X', 'PUT', '-T', path, ...Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]), url]);

/** X-Amz-Date (yyyymmddThhmmssZ) + X-Amz-Expires, as an instant. */
function urlExpiry(url: string): { signedAt: number; expiresIn: number; expiresAt: string } {
  const q = new URL(url).searchParams;
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(q.get('X-Amz-Date') ?? '');
  if (!m) throw new Error(`no X-Amz-Date in ${url}`);
  const signedAt = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  const expiresIn = Number(q.get('X-Amz-Expires'));
  return { signedAt, expiresIn, expiresAt: new Date(signedAt + expiresIn * 1000).toISOString() };
}

describe('presigned PUT then GET: the happy path', () => {
  test('PUT with the returned headers → 200; GET via /v1/downloads → the same random bytes, as an attachment', async () => {
    const rel = unique(stack, 'blob.bin');
    const bytes = randomBinary(64 * 1024 + 7);
    const up = await uploadUrl(rel, { contentType: 'application/octet-stream', contentLength: bytes.length });
    expect(up.status).toBe(200);
    expect(up.headers.get('cache-control')).toContain('no-store');
    expect(up.headers.get('x-request-id')).toMatch(/\S/);
    expect(up.body).toMatchObject({ method: 'PUT', key: `acme/${rel}` });
    expect(up.body.headers).toEqual({ 'Content-Type': 'application/octet-stream', 'Content-Length': String(bytes.length) });
    // both headers are inside the signature (their refusal when changed is tested below)
    expect(new URL(up.body.url).searchParams.get('X-Amz-SignedHeaders')!.split(';')).toEqual(expect.arrayContaining(['content-length', 'content-type', 'host']));

    const putRes = await curlPut(up.body.url, file(rel, bytes), up.body.headers);
    expect(putRes.status).toBe(200);

    const down = await api(stack, '/v1/downloads', { key: stack.keys.acme.backend, body: { key: rel, filename: 'report.bin' } });
    expect(down.status).toBe(200);
    expect(down.body.key).toBe(`acme/${rel}`);
    const got = await curl([down.body.url]);
    expect(got.status).toBe(200);
    expect(got.body.equals(bytes)).toBe(true);
    expect(got.headers['content-disposition']).toMatch(/^attachment;.*report\.bin/);
  });

  test('the reader client (read, list) gets download URLs but no upload URL (403 outside_grant)', async () => {
    const res = await uploadUrl(unique(stack, 'r.txt'), { contentType: 'text/plain', contentLength: 1 }, stack.keys.acme.reader);
    expect({ status: res.status, code: res.body.error?.code }).toEqual({ status: 403, code: 'outside_grant' });
    const down = await api(stack, '/v1/downloads', { key: stack.keys.acme.reader, body: { key: 'anything.txt' } });
    expect(down.status).toBe(200);
  });
});

describe('tampered URLs are refused by the S3 server (403)', () => {
  let downloadUrl: string;
  let otherKey: string;
  beforeAll(async () => {
    // two real objects inside acme/, so a re-pointed URL names an existing key (a 403 is then the signature's doing)
    const rel = unique(stack, 'signed.txt');
    const rel2 = unique(stack, 'other.txt');
    for (const r of [rel, rel2]) {
      const up = await uploadUrl(r, { contentType: 'text/plain', contentLength: 5 });
      expect((await curlPut(up.body.url, file(r, Buffer.from('hello')), up.body.headers)).status).toBe(200);
    }
    otherKey = `acme/${rel2}`;
    const down = await api(stack, '/v1/downloads', { key: stack.keys.acme.backend, body: { key: rel } });
    downloadUrl = down.body.url;
    expect((await curl([downloadUrl])).status).toBe(200); // the untouched URL works
  });

  test('a changed key in the path → 403 SignatureDoesNotMatch', async () => {
    const u = new URL(downloadUrl);
    u.pathname = u.pathname.replace(/acme\/[^/]+$/, otherKey);
    expect(u.toString()).not.toBe(downloadUrl);
    const res = await curl([u.toString()]);
    expect({ status: res.status, code: xmlCode(res.body) }).toEqual({ status: 403, code: 'SignatureDoesNotMatch' });
  });

  test('a changed signature → 403', async () => {
    const u = new URL(downloadUrl);
    const sig = u.searchParams.get('X-Amz-Signature')!;
    u.searchParams.set('X-Amz-Signature', (sig[0] === '0' ? '1' : '0') + sig.slice(1));
    expect((await curl([u.toString()])).status).toBe(403);
  });

  test('a changed X-Amz-Expires → 403', async () => {
    const u = new URL(downloadUrl);
    u.searchParams.set('X-Amz-Expires', '604800');
    expect((await curl([u.toString()])).status).toBe(403);
  });

  test('a removed X-Amz-Security-Token → 403', async () => {
    const u = new URL(downloadUrl);
    expect(u.searchParams.has('X-Amz-Security-Token')).toBe(true);
    u.searchParams.delete('X-Amz-Security-Token');
    expect((await curl([u.toString()])).status).toBe(403);
  });
});

describe('a PUT that differs from what was signed is rejected and stores nothing', () => {
  test('a different Content-Type than signed → 403', async () => {
    const rel = unique(stack, 'ctype.txt');
    const bytes = Buffer.from('typed');
    const up = await uploadUrl(rel, { contentType: 'text/plain', contentLength: bytes.length });
    const res = await curlPut(up.body.url, file(rel, bytes), { ...up.body.headers, 'Content-Type': 'image/png' });
    expect(res.status).toBe(403);
    expect(await ownerSees(stack, stack.bucket, `acme/${rel}`)).toBe(false);
  });

  test('a different Content-Length than signed (a larger body) → 403', async () => {
    const rel = unique(stack, 'clen.bin');
    const up = await uploadUrl(rel, { contentType: 'application/octet-stream', contentLength: 10 });
    const bigger = randomBinary(11);
    const res = await curlPut(up.body.url, file(rel, bigger), { 'Content-Type': 'application/octet-stream', 'Content-Length': '11' });
    expect(res.status).toBe(403);
    expect(await ownerSees(stack, stack.bucket, `acme/${rel}`)).toBe(false);
  });

  test('the signed URL with the signed headers still works (control for the two above)', async () => {
    const rel = unique(stack, 'control.bin');
    const bytes = randomBinary(10);
    const up = await uploadUrl(rel, { contentType: 'application/octet-stream', contentLength: 10 });
    expect((await curlPut(up.body.url, file(rel, bytes), up.body.headers)).status).toBe(200);
    expect(await ownerSees(stack, stack.bucket, `acme/${rel}`)).toBe(true);
  });
});

describe('requests outside the grant are refused by the broker before signing', () => {
  test.each([
    ['../other/x', 'a ".." segment'],
    ['*', 'an IAM wildcard'],
    ['a/*', 'an IAM wildcard in a segment'],
    ['x?', 'an IAM wildcard ?'],
    ['${aws:username}/x', 'an IAM variable'],
    ['/other/x', 'a leading "/"'],
    ['a//b', 'an empty segment'],
  ])('upload and download of key %p (%s) → 400 invalid_key, no URL', async (key) => {
    const up = await uploadUrl(key, { contentType: 'text/plain', contentLength: 1 });
    expect({ status: up.status, code: up.body.error?.code, url: up.body.url }).toEqual({ status: 400, code: 'invalid_key', url: undefined });
    const down = await api(stack, '/v1/downloads', { key: stack.keys.acme.backend, body: { key } });
    expect({ status: down.status, code: down.body.error?.code, url: down.body.url }).toEqual({ status: 400, code: 'invalid_key', url: undefined });
  });

  test('contentLength over maxUploadBytes (small: 1024) → 413 too_large; exactly 1024 is signed', async () => {
    const over = await uploadUrl(unique(stack, 'big.txt'), { contentType: 'text/plain', contentLength: 1025 }, stack.keys.acme.small);
    expect({ status: over.status, code: over.body.error?.code, url: over.body.url }).toEqual({ status: 413, code: 'too_large', url: undefined });
    const atLimit = await uploadUrl(unique(stack, 'limit.txt'), { contentType: 'text/plain', contentLength: 1024 }, stack.keys.acme.small);
    expect(atLimit.status).toBe(200);
  });

  test('a content type the grant does not list (small: text/plain only) → 403 outside_grant', async () => {
    const res = await uploadUrl(unique(stack, 'pic.png'), { contentType: 'image/png', contentLength: 10 }, stack.keys.acme.small);
    expect({ status: res.status, code: res.body.error?.code, url: res.body.url }).toEqual({ status: 403, code: 'outside_grant', url: undefined });
  });

  test('a missing contentLength on PUT → 400 invalid_request (the size is always signed)', async () => {
    const res = await api(stack, '/v1/uploads', { key: stack.keys.acme.backend, body: { method: 'PUT', key: 'x.txt', contentType: 'text/plain' } });
    expect({ status: res.status, code: res.body.error?.code }).toEqual({ status: 400, code: 'invalid_request' });
  });
});

describe('expiresAt matches the URL', () => {
  test('upload and download: expiresAt = X-Amz-Date + X-Amz-Expires, and X-Amz-Expires is the requested lifetime', async () => {
    const rel = unique(stack, 'expiry.txt');
    const up = await uploadUrl(rel, { contentType: 'text/plain', contentLength: 3, expiresIn: 120 });
    const down = await api(stack, '/v1/downloads', { key: stack.keys.acme.backend, body: { key: rel, expiresIn: 90 } });
    for (const [res, requested] of [[up, 120], [down, 90]] as const) {
      expect(res.status).toBe(200);
      const e = urlExpiry(res.body.url);
      expect(e.expiresIn).toBe(requested);
      expect(res.body.expiresAt).toBe(e.expiresAt);
      expect(Math.abs(e.signedAt - Date.now())).toBeLessThan(60_000);
    }
  });

  test('a lifetime longer than the signing session is cut to the session: expiresAt still equals the URL', async () => {
    const res = await api(stack, '/v1/downloads', { key: stack.keys.acme.backend, body: { key: unique(stack, 'long.txt'), expiresIn: 7 * 24 * 3600 } });
    expect(res.status).toBe(200);
    const e = urlExpiry(res.body.url);
    expect(e.expiresIn).toBeLessThanOrEqual(3600);
    expect(e.expiresIn).toBeGreaterThan(0);
    expect(res.body.expiresAt).toBe(e.expiresAt);
  });
});
