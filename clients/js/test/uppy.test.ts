// brokerUppy against the loopback imitation of the broker and S3: the test plays @uppy/aws-s3 6's part (its
// S3mini client: signRequest, then an XMLHttpRequest to the URL it returns, reading S3's XML back), step by
// step as Uppy sends them. The real Uppy in a real browser is test/e2e/browser.test.ts in the root package.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { BrokerError, brokerPartSize, brokerUppy, type BrokerUppy, type MultipartState, type StorageLike, type UppySignedRequest } from '../src/index.js';
import { digest, errorReply, startFake, type FakeBroker } from './support/fakeBroker.js';

const T = { timeout: 30_000 };
const auth = { apiKey: 'sbk_test_secret' };
const MiB = 1024 * 1024;

function bytes(n: number, seed = 7): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

class MemoryStorage implements StorageLike {
  readonly items = new Map<string, string>();
  getItem(key: string) { return this.items.get(key) ?? null; }
  setItem(key: string, value: string) { this.items.set(key, value); }
  removeItem(key: string) { this.items.delete(key); }
}

/** What Uppy's XMLHttpRequest reads from a `data:` URL. */
function dataUrlText(url: string): string {
  assert.match(url, /^data:application\/xml;charset=utf-8,/);
  return decodeURIComponent(url.slice(url.indexOf(',') + 1));
}
function tag(xml: string, name: string): string[] {
  return [...xml.matchAll(new RegExp(`<${name}>([^<]*)</${name}>`, 'g'))].map((m) => m[1]!
    .replace(/&#(\d+);/g, (_, d: string) => String.fromCharCode(Number(d))));
}

function uppyFile(name: string, data: Uint8Array, type = 'application/octet-stream') {
  return { id: `uppy-${name}`, name, size: data.byteLength, type, data: { lastModified: 1_700_000_000_000 } };
}

/** Uppy's part PUT: the returned headers on top of nothing (parts carry no Content-Type), the body the slice. */
async function putPart(signed: UppySignedRequest, body: Uint8Array): Promise<string> {
  const res = await fetch(signed.url, { method: 'PUT', headers: signed.headers ?? {}, body: body as unknown as BodyInit });
  assert.equal(res.status, 200, await res.text());
  return res.headers.get('etag')!;
}

describe('brokerUppy: @uppy/aws-s3 6 through the broker', T, () => {
  let fake: FakeBroker;
  before(async () => { fake = await startFake(); });
  after(() => fake.close());
  beforeEach(() => {
    fake.requests.length = 0;
    fake.s3Requests.length = 0;
    fake.overrides.clear();
  });

  test('single PUT: the broker presigns with the file\'s size and type; Content-Length is dropped, the full key comes back', T, async () => {
    const broker = brokerUppy({ url: fake.url, auth, storage: null });
    const data = bytes(1000);
    const file = uppyFile('photo.png', data, 'image/png');
    assert.equal(broker.awsS3Options.shouldUseMultipart(file), false);
    const key = broker.awsS3Options.generateObjectKey(file);
    assert.match(key, /-photo\.png$/);
    const signed = await broker.awsS3Options.signRequest({ method: 'PUT', key, contentType: 'image/png' });
    assert.deepEqual(fake.calls('/v1/uploads').map((r) => r.json), [{ method: 'PUT', key, contentType: 'image/png', contentLength: 1000 }]);
    assert.equal(signed.key, `partner/client/${key}`);
    assert.deepEqual(signed.headers, { 'Content-Type': 'image/png', 'x-amz-meta-client': 'client' });
    assert.equal(signed.fields, undefined);
    const res = await fetch(signed.url, { method: 'PUT', headers: signed.headers!, body: data });
    assert.equal(res.status, 200);
    // a paused or retried single upload signs the same key again
    await broker.awsS3Options.signRequest({ method: 'PUT', key, contentType: 'image/png' });
    assert.equal(fake.calls('/v1/uploads').length, 2);
    assert.deepEqual(new Uint8Array(fake.objects.get(`partner/client/${key}`)!.body), data);
  });

  test('a file of unknown type goes with an empty content type (the broker maps it); keyFor chooses the key', T, async () => {
    const broker = brokerUppy({ url: fake.url, auth, storage: null, keyFor: (f) => `inbox/${f.name}` });
    const file = { ...uppyFile('notes', bytes(10)), type: '' };
    const key = broker.awsS3Options.generateObjectKey(file);
    assert.equal(key, 'inbox/notes');
    await broker.awsS3Options.signRequest({ method: 'PUT', key, contentType: 'application/octet-stream' });
    assert.equal(fake.calls('/v1/uploads')[0]!.json.contentType, 'application/octet-stream');
    const untyped = brokerUppy({ url: fake.url, auth, storage: null });
    const k2 = untyped.awsS3Options.generateObjectKey(file);
    await untyped.awsS3Options.signRequest({ method: 'PUT', key: k2 });
    assert.equal(fake.calls('/v1/uploads')[1]!.json.contentType, '');
  });

  test('singleUpload POST: the broker\'s form fields, for Uppy\'s form upload', T, async () => {
    const broker = brokerUppy({ url: fake.url, auth, storage: null, singleUpload: 'POST' });
    const file = uppyFile('a.txt', bytes(10), 'text/plain');
    const key = broker.awsS3Options.generateObjectKey(file);
    const signed = await broker.awsS3Options.signRequest({ method: 'PUT', key, contentType: 'text/plain' });
    assert.deepEqual(fake.calls('/v1/uploads')[0]!.json, { method: 'POST', key, contentType: 'text/plain' });
    assert.equal(signed.url, `${fake.url}/s3/form`);
    assert.equal(signed.fields!.key, `partner/client/${key}`);
    assert.equal(signed.headers, undefined);
  });

  test('multipart: chunk size is the broker\'s plan, create is answered as S3 XML, parts by relative key, completion from the listing', T, async () => {
    const storage = new MemoryStorage();
    const broker = brokerUppy({ url: fake.url, auth, storage });
    const data = bytes(2 * 8 * MiB + 12345);
    const file = uppyFile('big.bin', data);
    assert.equal(broker.awsS3Options.shouldUseMultipart(file), true);
    const chunk = broker.awsS3Options.getChunkSize({ size: data.byteLength });
    assert.equal(chunk, 8 * MiB);
    const key = broker.awsS3Options.generateObjectKey(file);

    const created = await broker.awsS3Options.signRequest({ method: 'POST', key });
    assert.deepEqual(fake.calls('/v1/uploads/multipart')[0]!.json, { key, contentType: 'application/octet-stream', contentLength: data.byteLength, partSize: 8 * MiB });
    const xml = dataUrlText(created.url);
    const [uploadId] = tag(xml, 'UploadId');
    assert.ok(uploadId);
    assert.equal(created.key, `partner/client/${key}`);
    assert.equal(broker.saved().length, 1, 'the declaration is saved for a reload');

    for (let n = 1; n <= 3; n++) {
      const signed = await broker.awsS3Options.signRequest({ method: 'PUT', key: created.key!, uploadId: uploadId!, partNumber: n });
      assert.deepEqual(signed.headers, {}, 'the signed Content-Length is left to the browser');
      await putPart(signed, data.subarray((n - 1) * chunk, Math.min(n * chunk, data.byteLength)));
    }
    // part URLs come in batches: one broker call for the three parts
    const partCalls = fake.calls('/v1/uploads/multipart/parts');
    assert.equal(partCalls.length, 1);
    assert.deepEqual(partCalls[0]!.json, { key, uploadId, partNumbers: [1, 2, 3], contentLength: data.byteLength, partSize: 8 * MiB });

    const done = await broker.awsS3Options.signRequest({ method: 'POST', key: created.key!, uploadId: uploadId! });
    const result = dataUrlText(done.url);
    assert.deepEqual(tag(result, 'Key'), [`partner/client/${key}`]);
    assert.deepEqual(tag(result, 'Location'), [`${fake.url}/s3/part`]);
    assert.deepEqual(tag(result, 'ETag'), ['"final-etag"']);
    assert.deepEqual(fake.calls('/v1/uploads/multipart/list').map((r) => r.json), [{ key, uploadId }]);
    assert.deepEqual(fake.calls('/v1/uploads/multipart/complete')[0]!.json.parts.map((p: { partNumber: number }) => p.partNumber), [1, 2, 3]);
    assert.equal(fake.uploads.get(uploadId!)!.completed, true);
    assert.deepEqual(broker.saved(), [], 'a completed upload is forgotten');
  });

  test('resume after a reload: a new adapter on the same storage restores the file, lists the parts S3 holds and sends only the rest', T, async () => {
    const storage = new MemoryStorage();
    const data = bytes(2 * 8 * MiB + 5, 11);
    const first = brokerUppy({ url: fake.url, auth, storage });
    const file = uppyFile('resume.bin', data);
    const key = first.awsS3Options.generateObjectKey(file);
    const created = await first.awsS3Options.signRequest({ method: 'POST', key });
    const [uploadId] = tag(dataUrlText(created.url), 'UploadId');
    await putPart(await first.awsS3Options.signRequest({ method: 'PUT', key: created.key!, uploadId: uploadId!, partNumber: 1 }), data.subarray(0, 8 * MiB));

    // the page reloads: nothing in memory survives, the storage does
    const second: BrokerUppy = brokerUppy({ url: fake.url, auth, storage });
    const states: unknown[] = [];
    const uppy = { setFileState: (id: string, state: unknown) => states.push([id, state]) };
    assert.equal(second.restore(uppy, { ...file, id: 'uppy-new-id' }), true);
    assert.deepEqual(states, [['uppy-new-id', { s3Multipart: { uploadId, key: created.key } }]]);
    assert.equal(second.restore(uppy, { ...uppyFile('other.bin', bytes(10)) }), false, 'another file is not restored');

    const listedXml = dataUrlText((await second.awsS3Options.signRequest({ method: 'GET', key: created.key!, uploadId: uploadId! })).url);
    assert.deepEqual(tag(listedXml, 'PartNumber'), ['1']);
    assert.deepEqual(tag(listedXml, 'ETag'), [`"etag-1-${8 * MiB}"`]);
    const before = fake.partPuts().length;
    for (const n of [2, 3]) {
      const signed = await second.awsS3Options.signRequest({ method: 'PUT', key: created.key!, uploadId: uploadId!, partNumber: n });
      await putPart(signed, data.subarray((n - 1) * 8 * MiB, Math.min(n * 8 * MiB, data.byteLength)));
    }
    assert.equal(fake.partPuts().length - before, 2);
    await second.awsS3Options.signRequest({ method: 'POST', key: created.key!, uploadId: uploadId! });
    assert.equal(fake.uploads.get(uploadId!)!.completed, true);
  });

  test('abort calls the broker with the relative key and forgets the upload', T, async () => {
    const storage = new MemoryStorage();
    const broker = brokerUppy({ url: fake.url, auth, storage });
    const file = uppyFile('gone.bin', bytes(20 * MiB));
    const key = broker.awsS3Options.generateObjectKey(file);
    const created = await broker.awsS3Options.signRequest({ method: 'POST', key });
    const [uploadId] = tag(dataUrlText(created.url), 'UploadId');
    const answer = await broker.awsS3Options.signRequest({ method: 'DELETE', key: created.key!, uploadId: uploadId! });
    assert.match(dataUrlText(answer.url), /AbortMultipartUploadResult/);
    assert.deepEqual(fake.calls('/v1/uploads/multipart/abort')[0]!.json, { key, uploadId });
    assert.equal(fake.uploads.get(uploadId!)!.aborted, true);
    assert.deepEqual(broker.saved(), []);
  });

  test('refusals: the broker\'s typed error, a part size the broker changed, unknown keys and uploads, object deletes', T, async () => {
    const broker = brokerUppy({ url: fake.url, auth, storage: null });
    fake.override('POST /v1/uploads', () => errorReply(413, 'too_large', 'contentLength 2000 exceeds this client\'s maxUploadBytes 1000'));
    const k1 = broker.awsS3Options.generateObjectKey(uppyFile('big.txt', bytes(2000)));
    await assert.rejects(broker.awsS3Options.signRequest({ method: 'PUT', key: k1 }), (e: unknown) => e instanceof BrokerError && e.code === 'too_large' && e.status === 413);

    fake.override('POST /v1/uploads/multipart', (rec) => ({ json: { uploadId: 'u1', key: `partner/client/${rec.json.key}`, relativeKey: rec.json.key, partSize: 16 * MiB, partCount: 2 } }));
    const k2 = broker.awsS3Options.generateObjectKey(uppyFile('odd.bin', bytes(20 * MiB)));
    await assert.rejects(broker.awsS3Options.signRequest({ method: 'POST', key: k2 }), /planned parts of 16777216 bytes, Uppy cuts 8388608/);

    await assert.rejects(broker.awsS3Options.signRequest({ method: 'PUT', key: 'never-generated' }), /unknown key "never-generated": keys must come from awsS3Options.generateObjectKey/);
    await assert.rejects(broker.awsS3Options.signRequest({ method: 'GET', key: 'partner/client/x', uploadId: 'nope' }), /no declaration saved for upload nope/);
    await assert.rejects(broker.awsS3Options.signRequest({ method: 'DELETE', key: 'partner/client/x' }), /does not delete objects/);
    assert.throws(() => brokerUppy({ url: fake.url, auth, singleUpload: 'GET' as 'PUT' }), /singleUpload must be 'PUT' or 'POST'/);
    assert.throws(() => brokerUppy({ url: 'ftp://x', auth }), /url must be an http\(s\) URL/);
  });

  test('brokerPartSize is the broker\'s default plan: 8 MiB, or what keeps the upload within 10000 parts', () => {
    assert.equal(brokerPartSize(1), 8 * MiB);
    assert.equal(brokerPartSize(10_000 * 8 * MiB), 8 * MiB);
    assert.equal(brokerPartSize(10_000 * 8 * MiB + 1), 8 * MiB + 1);
    assert.equal(brokerPartSize(10_000 * 6 * 1024 * MiB), 5 * 1024 * MiB);
  });
});

describe('client: resume from the broker\'s part listing', T, () => {
  let fake: FakeBroker;
  before(async () => { fake = await startFake(); });
  after(() => fake.close());

  test('a state saved right after create (no parts) resumes from the listing and sends only the missing parts', T, async () => {
    const { createBrokerClient } = await import('../src/index.js');
    const client = createBrokerClient({ url: fake.url, auth });
    const data = bytes(3000, 3);
    const saved: MultipartState[] = [];
    const controller = new AbortController();
    fake.partHook = (n) => {
      if (n === 2) controller.abort(new Error('page reloaded'));
      return undefined;
    };
    await assert.rejects(client.uploadMultipart(data, {
      key: 'r.bin', contentType: 'application/octet-stream', partSize: 1000, concurrency: 1, signal: controller.signal,
      onState: (s) => saved.push(s),
    }), /page reloaded/);
    fake.partHook = undefined;
    const first = saved[0]!;
    assert.deepEqual(first.parts, []);
    const listedBefore = await client.listParts('r.bin', first.uploadId);
    assert.ok(listedBefore.parts.length >= 1);
    const putsBefore = fake.partPuts().length;
    const result = await client.uploadMultipart(data, { key: 'r.bin', contentType: 'application/octet-stream', resume: first, resumeFromListing: true });
    assert.equal(result.key, 'partner/client/r.bin');
    assert.equal(fake.partPuts().length - putsBefore, 3 - listedBefore.parts.length);
  });
});

describe('brokerUppy under an integrity contract', T, () => {
  let fake: FakeBroker;
  before(async () => { fake = await startFake(); });
  after(() => fake.close());
  beforeEach(() => {
    fake.requests.length = 0;
    fake.s3Requests.length = 0;
    fake.integrity = 'sha256';
  });

  test('single PUT: the checksum of file.data is declared and the returned headers carry it', T, async () => {
    const broker = brokerUppy({ url: fake.url, auth, storage: null, integrity: 'sha256' });
    const data = bytes(1000);
    const key = broker.awsS3Options.generateObjectKey({ ...uppyFile('a.bin', data), data: new Blob([data]) });
    const signed = await broker.awsS3Options.signRequest({ method: 'PUT', key, contentType: 'application/octet-stream' });
    assert.deepEqual(fake.calls('/v1/uploads')[0]!.json.checksum, { algorithm: 'sha256', value: digest('sha256', data) });
    assert.equal(signed.headers!['x-amz-checksum-sha256'], digest('sha256', data));
    const res = await fetch(signed.url, { method: 'PUT', headers: signed.headers!, body: data });
    assert.equal(res.status, 200);
  });

  test('multipart: each part\'s checksum in the parts call, its URL\'s headers and on complete', T, async () => {
    const broker = brokerUppy({ url: fake.url, auth, storage: null, integrity: 'crc32c' });
    fake.integrity = 'crc32c';
    const data = bytes(2 * 8 * MiB + 99);
    const key = broker.awsS3Options.generateObjectKey({ ...uppyFile('big.bin', data), data: new Blob([data]) });
    const chunk = broker.awsS3Options.getChunkSize({ size: data.byteLength });
    const part = (n: number) => data.subarray((n - 1) * chunk, Math.min(n * chunk, data.byteLength));
    const created = await broker.awsS3Options.signRequest({ method: 'POST', key });
    const [uploadId] = tag(dataUrlText(created.url), 'UploadId');
    for (let n = 1; n <= 3; n++) {
      const signed = await broker.awsS3Options.signRequest({ method: 'PUT', key: created.key!, uploadId: uploadId!, partNumber: n });
      assert.deepEqual(signed.headers, { 'x-amz-checksum-crc32c': digest('crc32c', part(n)) });
      await putPart(signed, part(n));
    }
    assert.deepEqual(fake.calls('/v1/uploads/multipart/parts')[0]!.json.checksums, [1, 2, 3].map((n) => digest('crc32c', part(n))));
    await broker.awsS3Options.signRequest({ method: 'POST', key: created.key!, uploadId: uploadId! });
    assert.deepEqual(fake.calls('/v1/uploads/multipart/complete')[0]!.json.parts.map((p: { checksum: string }) => p.checksum), [1, 2, 3].map((n) => digest('crc32c', part(n))));
    assert.equal(fake.uploads.get(uploadId!)!.completed, true);
  });

  test('md5 is refused up front; a file without data fails with a message that says why', T, async () => {
    assert.throws(() => brokerUppy({ url: fake.url, auth, storage: null, integrity: 'md5' as never }), /browsers cannot compute md5/);
    const broker = brokerUppy({ url: fake.url, auth, storage: null, integrity: 'sha256' });
    const key = broker.awsS3Options.generateObjectKey(uppyFile('nodata.bin', bytes(5)));
    await assert.rejects(broker.awsS3Options.signRequest({ method: 'PUT', key }), /Uppy's file\.data Blob/);
    assert.equal(fake.calls('/v1/uploads').length, 0);
  });
});
