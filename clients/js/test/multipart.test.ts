import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createBrokerClient, S3UploadError, type MultipartState } from '../src/index.js';
import { s3Error, startFake, type FakeBroker } from './support/fakeBroker.js';

const T = { timeout: 20_000 };
const auth = { apiKey: 'sbk_test_secret' };
const PART = 1000; // the fake broker accepts any part size; the real one wants 5 MiB or more

function bytes(n: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + 7) & 0xff;
  return out;
}

describe('multipart uploads', T, () => {
  let fake: FakeBroker;
  before(async () => {
    fake = await startFake();
  });
  after(() => fake.close());

  function reset(): void {
    fake.requests.length = 0;
    fake.s3Requests.length = 0;
    fake.partDelayMs = 0;
    fake.partHook = undefined;
    fake.maxConcurrentPartPuts = 0;
    fake.partPutsStarted = 0;
  }

  test('create → parts (just in time) → PUT parts with at most `concurrency` in flight → complete', T, async () => {
    reset();
    fake.partDelayMs = 40;
    const client = createBrokerClient({ url: fake.url, auth });
    const file = bytes(PART * 11 + 123);
    const progress: number[] = [];
    const result = await client.uploadMultipart(file, {
      key: 'big.bin', contentType: 'application/octet-stream', partSize: PART, concurrency: 3,
      onProgress: (sent, total) => {
        assert.equal(total, file.length);
        progress.push(sent);
      },
    });
    assert.equal(result.key, 'partner/client/big.bin');
    assert.equal(result.etag, '"final-etag"');
    assert.deepEqual(fake.calls('/v1/uploads/multipart')[0]!.json, { key: 'big.bin', contentType: 'application/octet-stream', contentLength: file.length, partSize: PART });

    const puts = fake.partPuts();
    assert.equal(puts.length, 12);
    assert.ok(fake.maxConcurrentPartPuts <= 3, `max concurrent part PUTs ${fake.maxConcurrentPartPuts}`);
    assert.ok(fake.maxConcurrentPartPuts >= 2, 'parts go in parallel');
    // the bytes of each part are the right slice, and the last part holds the remainder
    for (const put of puts) {
      const n = Number(put.query.get('partNumber'));
      assert.deepEqual(new Uint8Array(put.body), file.subarray((n - 1) * PART, Math.min(n * PART, file.length)));
    }
    // part URLs are asked for in small batches, never more than 2 × concurrency at once, each part once
    const asked = fake.calls('/v1/uploads/multipart/parts').map((r) => r.json.partNumbers as number[]);
    assert.ok(asked.length >= 2, 'more than one batch');
    assert.ok(asked.every((b) => b.length <= 6));
    assert.deepEqual(asked.flat().sort((a, b) => a - b), Array.from({ length: 12 }, (_, i) => i + 1));
    for (const r of fake.calls('/v1/uploads/multipart/parts')) {
      assert.equal(r.json.contentLength, file.length);
      assert.equal(r.json.partSize, PART);
    }
    const complete = fake.calls('/v1/uploads/multipart/complete')[0]!.json;
    assert.deepEqual(complete.parts.map((p: { partNumber: number }) => p.partNumber), Array.from({ length: 12 }, (_, i) => i + 1));
    assert.equal(complete.parts[11].etag, '"etag-12-123"');
    assert.deepEqual(progress, [...progress].sort((a, b) => a - b));
    assert.equal(progress[0], 0);
    assert.equal(progress.at(-1), file.length);
    assert.equal(result.state.parts.length, 12);
  });

  test('a Blob is sliced into parts the same way', T, async () => {
    reset();
    const source = bytes(PART * 2 + 1);
    const client = createBrokerClient({ url: fake.url, auth });
    const result = await client.uploadMultipart(new Blob([source]), { key: 'blob.bin', contentType: 'application/octet-stream', partSize: PART });
    assert.equal(result.etag, '"final-etag"');
    const got = fake.partPuts().sort((a, b) => Number(a.query.get('partNumber')) - Number(b.query.get('partNumber')));
    assert.deepEqual(new Uint8Array(Buffer.concat(got.map((p) => p.body))), source);
    assert.deepEqual(got.map((p) => p.headers['content-length']), [String(PART), String(PART), '1']);
  });

  test('an AbortSignal stops an in-flight upload: no further part is sent, and the upload is aborted', T, async () => {
    reset();
    fake.partDelayMs = 300;
    const client = createBrokerClient({ url: fake.url, auth });
    const controller = new AbortController();
    const pending = client.uploadMultipart(bytes(PART * 20), {
      key: 'abort.bin', contentType: 'application/octet-stream', partSize: PART, concurrency: 2, signal: controller.signal,
    });
    // wait until part PUTs are in flight
    while (fake.currentPartPuts === 0) await new Promise((r) => setTimeout(r, 5));
    controller.abort();
    const error = await pending.catch((e: unknown) => e);
    assert.equal((error as Error).name, 'AbortError');
    const startedAtAbort = fake.partPutsStarted;
    assert.ok(startedAtAbort <= 2, `${startedAtAbort} part PUTs started: at most concurrency`);
    await new Promise((r) => setTimeout(r, 700)); // longer than a part's delay: a part sent after the abort would show
    assert.equal(fake.partPutsStarted, startedAtAbort, 'no part was sent after the abort');
    assert.ok(fake.partPuts().every((p) => Number(p.query.get('partNumber')) <= 2));
    assert.equal(fake.calls('/v1/uploads/multipart/abort').length, 1, 'the S3 upload was aborted');
    assert.equal(fake.calls('/v1/uploads/multipart/complete').length, 0);
  });

  test('a fatal S3 error aborts the upload (unless kept) and surfaces as S3UploadError', T, async () => {
    reset();
    fake.partHook = (n) => (n === 2 ? s3Error(403, 'AccessDenied', 'Access Denied') : undefined);
    const client = createBrokerClient({ url: fake.url, auth });
    const error = await client.uploadMultipart(bytes(PART * 4), { key: 'fatal.bin', contentType: 'application/octet-stream', partSize: PART, concurrency: 1 })
      .catch((e: unknown) => e);
    assert.ok(error instanceof S3UploadError);
    assert.equal(error.code, 'AccessDenied');
    assert.equal(error.partNumber, 2);
    assert.equal(fake.partPuts().length, 2, 'nothing is sent after the fatal part');
    assert.equal(fake.calls('/v1/uploads/multipart/abort').length, 1);
  });

  test('S3 5xx on a part is retried with a fresh URL', T, async () => {
    reset();
    let failed = 0;
    fake.partHook = (n) => (n === 2 && failed++ === 0 ? s3Error(503, 'SlowDown', 'Reduce your request rate') : undefined);
    const client = createBrokerClient({ url: fake.url, auth, retries: { baseDelayMs: 10 } });
    const result = await client.uploadMultipart(bytes(PART * 3), { key: 'retry.bin', contentType: 'application/octet-stream', partSize: PART, concurrency: 1 });
    assert.equal(result.etag, '"final-etag"');
    assert.equal(fake.partPuts().filter((p) => p.query.get('partNumber') === '2').length, 2);
    assert.equal(fake.calls('/v1/uploads/multipart/parts').filter((r) => r.json.partNumbers.includes(2)).length, 2);
  });

  test('resume from saved state sends only the missing parts', T, async () => {
    reset();
    const file = bytes(PART * 6 + 10);
    const client = createBrokerClient({ url: fake.url, auth });
    let saved: MultipartState | undefined;
    fake.partHook = (n) => (n === 4 ? s3Error(400, 'BadDigest', 'pretend the network broke') : undefined);
    const first = await client.uploadMultipart(file, {
      key: 'resume.bin', contentType: 'application/octet-stream', partSize: PART, concurrency: 1,
      onState: (s) => (saved = s),
    }).catch((e: unknown) => e);
    assert.ok(first instanceof S3UploadError);
    assert.equal(fake.calls('/v1/uploads/multipart/abort').length, 0, 'with onState the upload is kept for a resume');
    assert.ok(saved);
    assert.deepEqual(saved.parts.map((p) => p.partNumber), [1, 2, 3]);
    assert.deepEqual(Object.keys(saved).sort(), ['contentLength', 'key', 'partSize', 'parts', 'uploadId']);
    const persisted = JSON.parse(JSON.stringify(saved)) as MultipartState;

    fake.partHook = undefined;
    fake.s3Requests.length = 0;
    const progress: number[] = [];
    const result = await client.uploadMultipart(file, {
      key: 'resume.bin', contentType: 'application/octet-stream', concurrency: 2, resume: persisted,
      onProgress: (sent) => progress.push(sent),
    });
    assert.equal(result.etag, '"final-etag"');
    assert.deepEqual(fake.partPuts().map((p) => Number(p.query.get('partNumber'))).sort((a, b) => a - b), [4, 5, 6, 7]);
    assert.equal(fake.calls('/v1/uploads/multipart').length, 1, 'no new upload was created');
    assert.equal(progress[0], PART * 3);
    assert.equal(progress.at(-1), file.length);
    assert.deepEqual(result.state.parts.map((p) => p.partNumber), [1, 2, 3, 4, 5, 6, 7]);

    const wrong = await client.uploadMultipart(bytes(5), { key: 'resume.bin', contentType: 'x/y', resume: persisted }).catch((e: unknown) => e);
    assert.ok(wrong instanceof TypeError);
  });
});
