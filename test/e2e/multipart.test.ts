/**
 * Multipart uploads through the real API (serverless-offline) against the real local S3, driven by
 * the README's client recipe, examples/multipartUpload.ts (plain fetch: create → part URLs in
 * batches → PUT each part → complete): a 20 MiB random file in 5 MiB parts arrives byte-identical;
 * an upload resumes after a dropped part; the broker refuses to complete with a missing part or a
 * part of the wrong size (and S3 refuses a part PUT whose length differs from the signed one); an
 * aborted upload leaves nothing behind, as the bucket owner sees it.
 */
import { ListMultipartUploadsCommand, ListObjectsV2Command, UploadPartCommand } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, test } from '@jest/globals';
import { createHash } from 'node:crypto';
import {
  abortUpload, createUpload, MultipartUploadError, resumeUpload, uploadMultipart, type Broker, type UploadState,
} from '../../examples/multipartUpload.js';
import { api, list, ownerS3, ownerSees, randomBinary, s3WithVended, unique, vend } from './support/helpers.js';
import { readStack, type StackState } from './support/stack.js';

const MiB = 1024 ** 2;
const TYPE = 'application/octet-stream';

let stack: StackState;
let broker: Broker;

beforeAll(async () => {
  stack = readStack();
  broker = { url: stack.url, headers: { 'X-Api-Key': stack.keys.acme.backend } };
  // the 20 MiB upload needs a grant that allows it: say so plainly rather than fail with a 413 below
  const who = await api(stack, '/v1/whoami', { key: stack.keys.acme.backend });
  const limit = who.body?.grant?.maxUploadBytes as number | undefined;
  if (limit === undefined || limit < 20 * MiB) {
    throw new Error(`acme/backend's maxUploadBytes in the e2e config is ${limit}; these tests upload 20 MiB (test/e2e/support/stack.ts sets the client's limit)`);
  }
});

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Downloads `relativeKey` through POST /v1/downloads and a plain GET of the presigned URL. */
async function download(relativeKey: string): Promise<{ status: number; bytes: Buffer; contentType: string | null }> {
  const res = await api(stack, '/v1/downloads', { key: stack.keys.acme.backend, body: { key: relativeKey } });
  expect(res.status).toBe(200);
  const got = await fetch(res.body.url, { signal: AbortSignal.timeout(60_000) });
  return { status: got.status, bytes: Buffer.from(await got.arrayBuffer()), contentType: got.headers.get('content-type') };
}

/** The ETag the bucket owner's listing shows for `fullKey`. */
async function ownerEtag(fullKey: string): Promise<string | undefined> {
  const out = await ownerS3(stack).send(new ListObjectsV2Command({ Bucket: stack.bucket, Prefix: fullKey }));
  return out.Contents?.find((o) => o.Key === fullKey)?.ETag;
}

/** The bucket owner's view of in-progress uploads under `fullKey`. */
async function openUploads(fullKey: string): Promise<string[]> {
  const out = await ownerS3(stack).send(new ListMultipartUploadsCommand({ Bucket: stack.bucket, Prefix: fullKey }));
  return (out.Uploads ?? []).map((u) => u.UploadId!);
}

/** Records the broker's part-URL requests and can drop chosen part PUTs (a network failure, as fetch reports it). */
function instrumentedFetch(dropPart?: number) {
  const partRequests: number[][] = [];
  const puts: number[] = [];
  const wrapped: typeof fetch = async (input, init) => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    if (url.pathname.endsWith('/v1/uploads/multipart/parts')) partRequests.push(JSON.parse(String(init?.body)).partNumbers);
    if (init?.method === 'PUT') {
      const n = Number(url.searchParams.get('partNumber'));
      puts.push(n);
      if (n === dropPart) throw new TypeError('fetch failed (simulated: connection reset)');
    }
    return fetch(input, init);
  };
  return { fetch: wrapped, partRequests, puts };
}

describe('multipart upload with the README client (examples/multipartUpload.ts)', () => {
  test('20 MiB of random bytes in 5 MiB parts: presigned part PUTs, complete, then a presigned GET returns the same bytes', async () => {
    const rel = unique(stack, 'mp-20mib.bin');
    const data = randomBinary(20 * MiB);
    const spy = instrumentedFetch();
    const progress: number[] = [];

    const done = await uploadMultipart({
      broker, key: rel, contentType: TYPE, data: new Blob([data]), partSize: 5 * MiB,
      batchSize: 2, concurrency: 2, fetch: spy.fetch, onProgress: (s) => progress.push(Object.keys(s.etags).length),
    });

    expect(done.key).toBe(`acme/${rel}`);
    expect(done.etag).toMatch(/^"[0-9a-f]{32}-4"$/);
    expect(done.etag).toBe(await ownerEtag(done.key));
    expect(done.state).toMatchObject({ fullKey: `acme/${rel}`, contentLength: 20 * MiB, partSize: 5 * MiB, partCount: 4 });
    // part URLs came in batches of two, just in time; each part was PUT once
    expect(spy.partRequests).toEqual([[1, 2], [3, 4]]);
    expect([...spy.puts].sort()).toEqual([1, 2, 3, 4]);
    expect(progress).toEqual([1, 2, 3, 4]);

    const got = await download(rel);
    expect(got.status).toBe(200);
    expect(got.bytes.length).toBe(data.length);
    expect(sha256(got.bytes)).toBe(sha256(data));
    expect(got.contentType).toBe(TYPE);
    expect(await openUploads(`acme/${rel}`)).toEqual([]);
  });

  test('a dropped part: the upload stops with its state, completing without the part is refused, resuming sends only that part and completes', async () => {
    const rel = unique(stack, 'mp-resume.bin');
    const data = randomBinary(12 * MiB + 123);
    const flaky = instrumentedFetch(2);

    const failure = await uploadMultipart({ broker, key: rel, contentType: TYPE, data: new Blob([data]), partSize: 5 * MiB, attempts: 2, fetch: flaky.fetch })
      .catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(MultipartUploadError);
    const state = JSON.parse(JSON.stringify((failure as MultipartUploadError).state)) as UploadState; // as an app would persist it
    expect(Object.keys(state.etags).map(Number).sort()).toEqual([1, 3]);
    expect(flaky.puts.filter((n) => n === 2)).toHaveLength(2);

    // completing now: the client's list lacks part 2 → refused before S3 is asked …
    const declaration = { key: rel, uploadId: state.uploadId, contentLength: state.contentLength, partSize: state.partSize };
    const listed = Object.entries(state.etags).map(([n, etag]) => ({ partNumber: Number(n), etag }));
    const incomplete = await api(stack, '/v1/uploads/multipart/complete', { key: stack.keys.acme.backend, body: { ...declaration, parts: listed } });
    expect({ status: incomplete.status, code: incomplete.body.error?.code }).toEqual({ status: 400, code: 'invalid_request' });
    expect(incomplete.body.error.message).toContain('missing 2');
    // … and with a made-up ETag for it, S3's ListParts shows it was never uploaded
    const pretend = await api(stack, '/v1/uploads/multipart/complete', {
      key: stack.keys.acme.backend, body: { ...declaration, parts: [...listed, { partNumber: 2, etag: '"00000000000000000000000000000000"' }] },
    });
    expect({ status: pretend.status, code: pretend.body.error?.code }).toEqual({ status: 400, code: 'upload_mismatch' });
    expect(pretend.body.error.message).toContain('not uploaded: part 2');
    expect(await ownerSees(stack, stack.bucket, `acme/${rel}`)).toBe(false);

    const spy = instrumentedFetch();
    const done = await resumeUpload(state, { broker, data: new Blob([data]), fetch: spy.fetch });
    expect(spy.partRequests).toEqual([[2]]);
    expect(spy.puts).toEqual([2]);
    expect(done.key).toBe(`acme/${rel}`);
    expect(done.etag).toBe(await ownerEtag(done.key));
    const got = await download(rel);
    expect(sha256(got.bytes)).toBe(sha256(data));
  });
});

describe('the broker refuses an upload that differs from its declaration', () => {
  /** An 11 MiB declaration in 5 MiB parts (5, 5, 1), with part URLs for all three. */
  async function started(rel: string) {
    const data = randomBinary(11 * MiB);
    const state = await createUpload({ broker, key: rel, contentType: TYPE, data: new Blob([data]), partSize: 5 * MiB });
    const res = await api(stack, '/v1/uploads/multipart/parts', {
      key: stack.keys.acme.backend,
      body: { key: rel, uploadId: state.uploadId, partNumbers: [1, 2, 3], contentLength: state.contentLength, partSize: state.partSize },
    });
    expect(res.status).toBe(200);
    const urls = res.body.parts as Array<{ partNumber: number; url: string; headers: Record<string, string> }>;
    const slice = (n: number) => data.subarray((n - 1) * 5 * MiB, Math.min(n * 5 * MiB, data.length));
    const putPart = async (n: number, body: Uint8Array = slice(n)) => {
      const part = urls.find((u) => u.partNumber === n)!;
      // the signed Content-Length goes only with the signed length; another body length sends its own
      const headers = body.length === slice(n).length ? part.headers : {};
      const r = await fetch(part.url, { method: 'PUT', headers, body, signal: AbortSignal.timeout(60_000) });
      await r.arrayBuffer();
      return { status: r.status, etag: r.headers.get('etag') };
    };
    return { state, data, urls, putPart };
  }

  test('S3 refuses a part PUT whose length differs from the one signed into its URL', async () => {
    const rel = unique(stack, 'mp-length.bin');
    const { state, putPart } = await started(rel);
    expect((await putPart(1, randomBinary(5 * MiB + 1))).status).toBe(403);
    expect((await putPart(3, randomBinary(MiB - 1))).status).toBe(403);
    expect((await putPart(3)).status).toBe(200);
    await abortUpload({ broker }, state);
  });

  test('a part of the wrong size (uploaded with other credentials) → 400 upload_mismatch naming it; nothing is stored', async () => {
    const rel = unique(stack, 'mp-size.bin');
    const { state, putPart } = await started(rel);
    const etags: Record<number, string> = {};
    for (const n of [1, 3]) {
      const r = await putPart(n);
      expect(r.status).toBe(200);
      etags[n] = r.etag!;
    }
    // a client holding write credentials can put any part directly: 5 MiB + 1 bytes as part 2
    const s3 = s3WithVended(stack, (await vend(stack, stack.keys.acme.backend, { actions: ['write'] })).credentials);
    const odd = await s3.send(new UploadPartCommand({ Bucket: stack.bucket, Key: state.fullKey, UploadId: state.uploadId, PartNumber: 2, Body: randomBinary(5 * MiB + 1) }));
    etags[2] = odd.ETag!;

    const parts = Object.entries(etags).map(([n, etag]) => ({ partNumber: Number(n), etag }));
    const body = { key: rel, uploadId: state.uploadId, contentLength: state.contentLength, partSize: state.partSize, parts };
    const res = await api(stack, '/v1/uploads/multipart/complete', { key: stack.keys.acme.backend, body });
    expect({ status: res.status, code: res.body.error?.code }).toEqual({ status: 400, code: 'upload_mismatch' });
    expect(res.body.error.message).toContain('part 2 is 5242881 bytes, the declaration requires 5242880');

    // declaring another layout for the same parts is refused as well
    const other = await api(stack, '/v1/uploads/multipart/complete', {
      key: stack.keys.acme.backend, body: { ...body, partSize: 6 * MiB, parts: parts.filter((p) => p.partNumber <= 2) },
    });
    expect({ status: other.status, code: other.body.error?.code }).toEqual({ status: 400, code: 'upload_mismatch' });

    expect(await ownerSees(stack, stack.bucket, state.fullKey)).toBe(false);
    await abortUpload({ broker }, state);
  });

  test('a declaration over maxUploadBytes is refused at create (413), so no upload exists', async () => {
    const res = await api(stack, '/v1/uploads/multipart', {
      key: stack.keys.acme.small, body: { key: unique(stack, 'mp-big.txt'), contentType: 'text/plain', contentLength: 1025 },
    });
    expect({ status: res.status, code: res.body.error?.code }).toEqual({ status: 413, code: 'too_large' });
  });
});

describe('abort', () => {
  test('an aborted upload leaves nothing behind: no open upload, no object; its part URLs stop working', async () => {
    const rel = unique(stack, 'mp-abort.bin');
    const data = randomBinary(6 * MiB);
    const state = await createUpload({ broker, key: rel, contentType: TYPE, data: new Blob([data]), partSize: 5 * MiB });
    expect(await openUploads(state.fullKey)).toEqual([state.uploadId]);
    const res = await api(stack, '/v1/uploads/multipart/parts', {
      key: stack.keys.acme.backend, body: { key: rel, uploadId: state.uploadId, partNumbers: [1, 2], contentLength: state.contentLength, partSize: state.partSize },
    });
    const [first, second] = res.body.parts as Array<{ url: string; headers: Record<string, string> }>;
    const put1 = await fetch(first!.url, { method: 'PUT', headers: first!.headers, body: data.subarray(0, 5 * MiB) });
    expect(put1.status).toBe(200);

    const aborted = await api(stack, '/v1/uploads/multipart/abort', { key: stack.keys.acme.backend, body: { key: rel, uploadId: state.uploadId } });
    expect({ status: aborted.status, body: aborted.body }).toEqual({ status: 200, body: { aborted: true } });

    expect(await openUploads(state.fullKey)).toEqual([]);
    const listed = await list(ownerS3(stack), stack.bucket, state.fullKey);
    expect({ status: listed.status, keys: listed.keys }).toEqual({ status: 200, keys: [] });
    const late = await fetch(second!.url, { method: 'PUT', headers: second!.headers, body: data.subarray(5 * MiB) });
    expect(late.status).toBe(404);
    const again = await api(stack, '/v1/uploads/multipart/abort', { key: stack.keys.acme.backend, body: { key: rel, uploadId: state.uploadId } });
    expect({ status: again.status, code: again.body.error?.code }).toEqual({ status: 404, code: 'upload_not_found' });
  });
});

describe('list and fullKey (what browser upload flows need)', () => {
  const acme = () => stack.keys.acme.backend;

  test('create states relativeKey; parts, list and complete by fullKey or key; list shows exactly the uploaded parts in order; the object arrives', async () => {
    const rel = unique(stack, 'mp-list.bin');
    const data = randomBinary(6 * MiB);
    const created = await api(stack, '/v1/uploads/multipart', {
      key: acme(), body: { key: rel, contentType: TYPE, contentLength: data.length, partSize: 5 * MiB },
    });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ relativeKey: rel, partSize: 5 * MiB, partCount: 2 });
    const { uploadId, key: fullKey } = created.body as { uploadId: string; key: string };
    expect(fullKey.endsWith(`/${rel}`)).toBe(true);
    const declaration = { contentLength: data.length, partSize: 5 * MiB };

    // the full key exactly as create returned it, as fullKey
    const signed = await api(stack, '/v1/uploads/multipart/parts', { key: acme(), body: { fullKey, uploadId, partNumbers: [1, 2], ...declaration } });
    expect(signed.status).toBe(200);
    const [first, second] = signed.body.parts as Array<{ url: string; headers: Record<string, string> }>;

    const empty = await api(stack, '/v1/uploads/multipart/list', { key: acme(), body: { fullKey, uploadId } });
    expect({ status: empty.status, body: empty.body }).toEqual({ status: 200, body: { parts: [] } });

    const put2 = await fetch(second!.url, { method: 'PUT', headers: second!.headers, body: data.subarray(5 * MiB) });
    expect(put2.status).toBe(200);
    const onlySecond = await api(stack, '/v1/uploads/multipart/list', { key: acme(), body: { fullKey, uploadId } });
    expect({ status: onlySecond.status, body: onlySecond.body }).toEqual({ status: 200, body: { parts: [{ partNumber: 2, size: MiB, etag: put2.headers.get('etag') }] } });

    const put1 = await fetch(first!.url, { method: 'PUT', headers: first!.headers, body: data.subarray(0, 5 * MiB) });
    expect(put1.status).toBe(200);
    // the relative key names the same upload
    const both = await api(stack, '/v1/uploads/multipart/list', { key: acme(), body: { key: rel, uploadId } });
    expect(both.status).toBe(200);
    expect(both.body.parts).toEqual([
      { partNumber: 1, size: 5 * MiB, etag: put1.headers.get('etag') },
      { partNumber: 2, size: MiB, etag: put2.headers.get('etag') },
    ]);

    // complete with the listed ETags, naming the object by fullKey
    const parts = (both.body.parts as Array<{ partNumber: number; etag: string }>).map((p) => ({ partNumber: p.partNumber, etag: p.etag }));
    const done = await api(stack, '/v1/uploads/multipart/complete', { key: acme(), body: { fullKey, uploadId, ...declaration, parts } });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ key: fullKey, relativeKey: rel });
    const got = await download(rel);
    expect({ status: got.status, sha: sha256(got.bytes) }).toEqual({ status: 200, sha: sha256(data) });

    // a completed upload is gone: the gateway's answer (NoSuchUpload or NoSuchKey) is 404 upload_not_found
    const after = await api(stack, '/v1/uploads/multipart/list', { key: acme(), body: { fullKey, uploadId } });
    expect({ status: after.status, code: after.body.error?.code }).toEqual({ status: 404, code: 'upload_not_found' });
  });

  test('an aborted upload lists as 404 upload_not_found; the full key sent as key is another object (never guessed); a fullKey outside the grant is 403', async () => {
    const rel = unique(stack, 'mp-list-abort.bin');
    const created = await api(stack, '/v1/uploads/multipart', { key: acme(), body: { key: rel, contentType: TYPE, contentLength: 10 } });
    expect(created.status).toBe(200);
    const { uploadId, key: fullKey } = created.body as { uploadId: string; key: string };

    const asKey = await api(stack, '/v1/uploads/multipart/list', { key: acme(), body: { key: fullKey, uploadId } });
    expect({ status: asKey.status, code: asKey.body.error?.code }).toEqual({ status: 404, code: 'upload_not_found' });
    const both = await api(stack, '/v1/uploads/multipart/list', { key: acme(), body: { key: rel, fullKey, uploadId } });
    expect({ status: both.status, code: both.body.error?.code }).toEqual({ status: 400, code: 'invalid_request' });
    const outside = await api(stack, '/v1/uploads/multipart/list', { key: acme(), body: { fullKey: `not-the-grant-prefix/${rel}`, uploadId } });
    expect({ status: outside.status, code: outside.body.error?.code }).toEqual({ status: 403, code: 'outside_grant' });

    const aborted = await api(stack, '/v1/uploads/multipart/abort', { key: acme(), body: { fullKey, uploadId } });
    expect({ status: aborted.status, body: aborted.body }).toEqual({ status: 200, body: { aborted: true } });
    expect(await openUploads(fullKey)).toEqual([]);
    // docs/local-aws.md quirk 15: the gateway answers NoSuchKey here, mapped to 404
    const listed = await api(stack, '/v1/uploads/multipart/list', { key: acme(), body: { fullKey, uploadId } });
    expect({ status: listed.status, code: listed.body.error?.code }).toEqual({ status: 404, code: 'upload_not_found' });
    const completed = await api(stack, '/v1/uploads/multipart/complete', {
      key: acme(), body: { fullKey, uploadId, contentLength: 10, partSize: 5 * MiB, parts: [{ partNumber: 1, etag: '"0123456789abcdef0123456789abcdef"' }] },
    });
    expect({ status: completed.status, code: completed.body.error?.code }).toEqual({ status: 404, code: 'upload_not_found' });
  });
});
