import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { ChecksumUnavailableError, computeChecksum, createBrokerClient, S3UploadError, type FetchLike } from '../src/index.js';
import { CHECKSUM_HEADER, digest, startFake, type FakeBroker } from './support/fakeBroker.js';

const T = { timeout: 20_000 };
const auth = { apiKey: 'sbk_test_secret' };
const PART = 1000; // the fake broker accepts any part size; the real one wants 5 MiB or more

function bytes(n: number, seed = 7): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

/** A fetch that flips the first byte of every body sent to the imitation of S3 (after the checksum was computed). */
const tampering: FetchLike = async (input, init) => {
  if (input.includes('/s3/') && init?.body instanceof Uint8Array) {
    const changed = new Uint8Array(init.body);
    changed[0] = changed[0]! ^ 0xff;
    return fetch(input, { ...init, body: changed });
  }
  return fetch(input, init);
};

describe('computeChecksum', T, () => {
  const hello = new TextEncoder().encode('hello');

  test('known digests, as S3 spells them (base64 of the digest bytes), for bytes and Blobs alike', T, async () => {
    // `printf hello | openssl md5 -binary | base64` and the same with sha256; CRC32C("123456789") = 0xE3069283
    for (const body of [hello, new Blob([hello])]) {
      assert.equal(await computeChecksum('md5', body, false), 'XUFAKrxLKna5cZ2REBfFkg==');
      assert.equal(await computeChecksum('sha256', body, false), 'LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=');
    }
    assert.equal(await computeChecksum('crc32c', new TextEncoder().encode('123456789'), false), Buffer.from([0xe3, 0x06, 0x92, 0x83]).toString('base64'));
    assert.equal(await computeChecksum('crc32c', new Uint8Array(0), false), 'AAAAAA==');
  });

  test('a Blob streamed in chunks gives the digest of the whole; the browser path (Web Crypto) gives the same sha256', T, async () => {
    const big = bytes(300_000);
    const blob = new Blob([big.subarray(0, 70_000), big.subarray(70_000)]);
    for (const algorithm of ['md5', 'sha256', 'crc32c'] as const) {
      assert.equal(await computeChecksum(algorithm, blob, false), digest(algorithm, big), algorithm);
    }
    assert.equal(await computeChecksum('sha256', blob, true), digest('sha256', big));
    assert.equal(await computeChecksum('crc32c', blob, true), digest('crc32c', big));
  });

  test('md5 in a browser is a ChecksumUnavailableError that says to use sha256', T, async () => {
    const error = await computeChecksum('md5', hello, true).catch((e: unknown) => e);
    assert.ok(error instanceof ChecksumUnavailableError);
    assert.equal(error.algorithm, 'md5');
    assert.match(error.message, /integrity: sha256 for browser clients/);
  });
});

describe('uploads under an integrity contract', T, () => {
  let fake: FakeBroker;
  before(async () => {
    fake = await startFake();
  });
  after(() => fake.close());
  beforeEach(() => {
    fake.requests.length = 0;
    fake.s3Requests.length = 0;
    fake.integrity = undefined;
  });

  test('md5 (from whoami, asked once per client): the checksum is declared, and exactly the returned headers are sent', T, async () => {
    fake.integrity = 'md5';
    const client = createBrokerClient({ url: fake.url, auth });
    const body = bytes(500);
    await client.upload(body, { key: 'a.bin', contentType: 'application/octet-stream' });
    await client.upload(new Blob([body]), { key: 'b.bin', contentType: 'application/octet-stream' });
    assert.equal(fake.calls('/v1/whoami').length, 1, 'the contract is asked for once per client instance');
    const presign = fake.calls('/v1/uploads')[0]!.json;
    assert.deepEqual(presign.checksum, { algorithm: 'md5', value: digest('md5', body) });
    for (const put of fake.s3Requests) {
      assert.equal(put.headers['content-md5'], digest('md5', body));
      assert.equal(put.headers['x-amz-meta-client'], 'client');
      assert.equal(put.headers['content-length'], '500');
    }
  });

  test('a body changed after hashing is refused (400 BadDigest), and nothing is stored', T, async () => {
    fake.integrity = 'md5';
    const client = createBrokerClient({ url: fake.url, auth, fetch: tampering, integrity: 'md5' });
    const error = await client.upload(bytes(64), { key: 'changed.bin', contentType: 'application/octet-stream' }).catch((e: unknown) => e);
    assert.ok(error instanceof S3UploadError);
    assert.equal(error.status, 400);
    assert.equal(error.code, 'BadDigest');
    assert.equal(fake.objects.has('partner/client/changed.bin'), false);
  });

  test('an explicit integrity option spares whoami; none sends no checksum; an unknown one is a TypeError', T, async () => {
    fake.integrity = 'sha256';
    const client = createBrokerClient({ url: fake.url, auth, integrity: 'sha256' });
    await client.upload(bytes(10), { key: 'c.bin', contentType: 'application/octet-stream' });
    assert.equal(fake.calls('/v1/whoami').length, 0);
    assert.equal(fake.s3Requests.at(-1)!.headers['x-amz-checksum-sha256'], digest('sha256', bytes(10)));

    fake.integrity = undefined;
    await createBrokerClient({ url: fake.url, auth, integrity: 'none' }).upload(bytes(10), { key: 'd.bin', contentType: 'application/octet-stream' });
    assert.equal(fake.calls('/v1/uploads').at(-1)!.json.checksum, undefined);
    // without a contract (whoami shows none) nothing is declared either: the broker would refuse a checksum
    await createBrokerClient({ url: fake.url, auth }).upload(bytes(10), { key: 'e.bin', contentType: 'application/octet-stream' });
    assert.equal(fake.calls('/v1/uploads').at(-1)!.json.checksum, undefined);

    assert.throws(() => createBrokerClient({ url: fake.url, auth, integrity: 'sha1' as never }), /integrity must be one of md5, sha256, crc32c, none/);
  });

  test('a browser under sha256: Web Crypto digest, every returned header sent but Content-Length', T, async () => {
    fake.integrity = 'sha256';
    const seen: Array<Record<string, string>> = [];
    const spy: FetchLike = (input, init) => {
      if (input.includes('/s3/')) seen.push({ ...(init?.headers as Record<string, string>) });
      return fetch(input, init);
    };
    const client = createBrokerClient({ url: fake.url, auth, fetch: spy, browser: true });
    const body = bytes(33);
    await client.upload(new Blob([body]), { key: 'web.bin', contentType: 'application/octet-stream' });
    assert.deepEqual(seen, [{ 'Content-Type': 'application/octet-stream', 'x-amz-meta-client': 'client', 'x-amz-checksum-sha256': digest('sha256', body) }]);
  });

  test('a browser under md5: ChecksumUnavailableError before anything is presigned or sent', T, async () => {
    fake.integrity = 'md5';
    const client = createBrokerClient({ url: fake.url, auth, browser: true });
    const error = await client.upload(bytes(5), { key: 'web.bin', contentType: 'application/octet-stream' }).catch((e: unknown) => e);
    assert.ok(error instanceof ChecksumUnavailableError);
    const multi = await client.uploadMultipart(bytes(5), { key: 'web.bin', contentType: 'application/octet-stream' }).catch((e: unknown) => e);
    assert.ok(multi instanceof ChecksumUnavailableError);
    assert.equal(fake.calls('/v1/uploads').length, 0);
    assert.equal(fake.s3Requests.length, 0);
  });

  test('POST forms declare the checksum too (the form carries it)', T, async () => {
    fake.integrity = 'sha256';
    const client = createBrokerClient({ url: fake.url, auth });
    await client.upload(bytes(20), { key: 'form.bin', contentType: 'application/octet-stream', method: 'POST' });
    assert.deepEqual(fake.calls('/v1/uploads')[0]!.json.checksum, { algorithm: 'sha256', value: digest('sha256', bytes(20)) });
    assert.match(fake.s3Requests[0]!.body.toString('latin1'), new RegExp(`name="x-amz-checksum-sha256"\\r\\n\\r\\n${digest('sha256', bytes(20)).replace(/[+/]/g, '\\$&')}`));
  });

  for (const algorithm of ['md5', 'sha256', 'crc32c'] as const) {
    test(`multipart under ${algorithm}: each part's checksum in the parts call and its PUT${algorithm === 'md5' ? '' : ', and on complete'}`, T, async () => {
      fake.integrity = algorithm;
      const client = createBrokerClient({ url: fake.url, auth });
      const file = bytes(PART * 3 + 17);
      const expected = (n: number) => digest(algorithm, file.subarray((n - 1) * PART, Math.min(n * PART, file.length)));
      await client.uploadMultipart(file, { key: 'multi.bin', contentType: 'application/octet-stream', partSize: PART, concurrency: 2 });
      for (const call of fake.calls('/v1/uploads/multipart/parts')) {
        assert.deepEqual(call.json.checksums, (call.json.partNumbers as number[]).map(expected));
      }
      const puts = fake.partPuts();
      assert.equal(puts.length, 4);
      for (const put of puts) assert.equal(put.headers[CHECKSUM_HEADER[algorithm]], expected(Number(put.query.get('partNumber'))));
      const complete = fake.calls('/v1/uploads/multipart/complete')[0]!.json;
      assert.deepEqual(
        complete.parts.map((p: { checksum?: string }) => p.checksum),
        algorithm === 'md5' ? [undefined, undefined, undefined, undefined] : [1, 2, 3, 4].map(expected),
      );
    });
  }

  test('multipart: a part changed after hashing is refused (BadDigest) and the upload is aborted', T, async () => {
    fake.integrity = 'md5';
    const client = createBrokerClient({ url: fake.url, auth, fetch: tampering, retries: 0 });
    const error = await client.uploadMultipart(bytes(PART * 2), { key: 'bad.bin', contentType: 'application/octet-stream', partSize: PART }).catch((e: unknown) => e);
    assert.ok(error instanceof S3UploadError);
    assert.equal(error.code, 'BadDigest');
    assert.equal(fake.calls('/v1/uploads/multipart/complete').length, 0);
    assert.equal(fake.calls('/v1/uploads/multipart/abort').length, 1);
  });

  test('multipart resume under sha256: the resumed parts\' checksums are computed from the file for complete', T, async () => {
    fake.integrity = 'sha256';
    const client = createBrokerClient({ url: fake.url, auth });
    const file = bytes(PART * 2 + 5, 3);
    let saved: Parameters<NonNullable<Parameters<typeof client.uploadMultipart>[1]['onState']>>[0] | undefined;
    fake.partHook = (n) => (n === 3 ? { status: 403, text: '<Error><Code>AccessDenied</Code><Message>no</Message></Error>' } : undefined);
    await client.uploadMultipart(file, { key: 'resume.bin', contentType: 'application/octet-stream', partSize: PART, concurrency: 1, onState: (s) => (saved = s) })
      .catch(() => undefined);
    fake.partHook = undefined;
    assert.equal(saved!.parts.length, 2);
    await client.uploadMultipart(file, { key: 'resume.bin', contentType: 'application/octet-stream', resume: saved! });
    const complete = fake.calls('/v1/uploads/multipart/complete')[0]!.json;
    assert.deepEqual(complete.parts.map((p: { checksum: string }) => p.checksum), [1, 2, 3].map((n) => digest('sha256', file.subarray((n - 1) * PART, Math.min(n * PART, file.length)))));
  });
});
