import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createBrokerClient, S3Error, S3UploadError, type FetchLike } from '../src/index.js';
import { s3Error, startFake, type FakeBroker } from './support/fakeBroker.js';

const T = { timeout: 15_000 };
const auth = { apiKey: 'sbk_test_secret' };

describe('single uploads and downloads', T, () => {
  let fake: FakeBroker;
  before(async () => {
    fake = await startFake();
  });
  after(() => fake.close());

  test('PUT: presigns with the exact size and sends exactly the returned headers', T, async () => {
    const client = createBrokerClient({ url: fake.url, auth });
    const bytes = new TextEncoder().encode('hello, broker');
    const progress: Array<[number, number]> = [];
    const result = await client.upload(bytes, { key: 'docs/a.txt', contentType: 'text/plain', onProgress: (s, t) => progress.push([s, t]) });
    assert.deepEqual(fake.calls('/v1/uploads').at(-1)!.json, { method: 'PUT', key: 'docs/a.txt', contentType: 'text/plain', contentLength: bytes.length });
    const put = fake.s3Requests.at(-1)!;
    assert.equal(put.method, 'PUT');
    assert.equal(put.headers['content-type'], 'text/plain');
    assert.equal(put.headers['content-length'], String(bytes.length));
    assert.equal(put.headers['x-amz-meta-client'], 'client');
    assert.equal(put.body.toString(), 'hello, broker');
    assert.deepEqual(result, { key: 'partner/client/docs/a.txt', etag: '"object-etag"', expiresAt: result.expiresAt });
    assert.deepEqual(progress, [[0, bytes.length], [bytes.length, bytes.length]]);
  });

  test('in a browser, headers a browser may not set (Content-Length) are dropped; the rest are sent', T, async () => {
    const seen: Array<Record<string, string>> = [];
    const spy: FetchLike = (input, init) => {
      if (input.includes('/s3/')) seen.push({ ...(init?.headers as Record<string, string>) });
      return fetch(input, init);
    };
    const client = createBrokerClient({ url: fake.url, auth, fetch: spy, browser: true });
    await client.upload(new Blob(['abc']), { key: 'b.txt', contentType: 'text/plain' });
    assert.deepEqual(seen, [{ 'Content-Type': 'text/plain', 'x-amz-meta-client': 'client' }]);
    // what the server received still has the right Content-Length (fetch sets it from the body)
    assert.equal(fake.s3Requests.at(-1)!.headers['content-length'], '3');
  });

  test('POST: a form with the presigned fields first and the file last', T, async () => {
    const client = createBrokerClient({ url: fake.url, auth });
    const result = await client.upload(new TextEncoder().encode('form body'), { key: 'f.txt', contentType: 'text/plain', method: 'POST' });
    assert.deepEqual(fake.calls('/v1/uploads').at(-1)!.json, { method: 'POST', key: 'f.txt', contentType: 'text/plain' });
    const post = fake.s3Requests.at(-1)!;
    const form = await new Response(new Uint8Array(post.body), { headers: { 'content-type': String(post.headers['content-type']) } }).formData();
    assert.deepEqual([...form.keys()], ['key', 'Content-Type', 'Policy', 'X-Amz-Signature', 'file']);
    assert.equal(form.get('key'), 'partner/client/f.txt');
    const file = form.get('file') as Blob;
    assert.equal(await file.text(), 'form body');
    assert.equal(file.type, 'text/plain');
    assert.equal(result.etag, '"form-etag"');
  });

  test('an S3 refusal is an S3UploadError with S3\'s code and request id', T, async () => {
    const failing: FetchLike = async (input, init) => {
      if (input.includes('/s3/object')) {
        const r = s3Error(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match');
        return new Response(r.text, { status: r.status, headers: r.headers });
      }
      return fetch(input, init);
    };
    const viaFailing = createBrokerClient({ url: fake.url, auth, fetch: failing });
    const error = await viaFailing.upload(new Uint8Array(3), { key: 'x', contentType: 'text/plain' }).catch((e: unknown) => e);
    assert.ok(error instanceof S3UploadError);
    assert.equal(error.status, 403);
    assert.equal(error.code, 'SignatureDoesNotMatch');
    assert.equal(error.requestId, 'S3REQ1');
  });

  test('download: the presigned URL, and with fetchBody the bytes', T, async () => {
    const client = createBrokerClient({ url: fake.url, auth });
    await client.upload(new Uint8Array([1, 2, 3, 250]), { key: 'bin/d.bin', contentType: 'application/octet-stream' });
    const link = await client.download('bin/d.bin', { filename: 'D.bin', expiresIn: 60 });
    assert.deepEqual(fake.calls('/v1/downloads').at(-1)!.json, { key: 'bin/d.bin', filename: 'D.bin', expiresIn: 60 });
    assert.equal(link.key, 'partner/client/bin/d.bin');
    assert.match(link.url, /^http:\/\/127\.0\.0\.1:\d+\/s3\/object\?/);
    assert.equal(link.body, undefined);
    const full = await client.download('bin/d.bin', { fetchBody: true });
    assert.deepEqual([...full.body!], [1, 2, 3, 250]);
    assert.equal(full.contentType, 'application/octet-stream');
    const missing = await client.download('nope', { fetchBody: true }).catch((e: unknown) => e);
    assert.ok(missing instanceof S3Error);
    assert.equal(missing.code, 'NoSuchKey');
    assert.equal(missing.status, 404);
  });
});
