/**
 * The multipart routes, driven by real API Gateway v2 events through the full request pipeline (lambdaHandler). STS and
 * S3's multipart calls are recording fakes (RecordingIssuer, RecordingMultipartStore); grants,
 * policies, the session cache, the plan and the part-URL presigner are the real code.
 */
import { describe, expect, it } from '@jest/globals';
import { S3Presigner } from '../../src/adapters/aws/s3Presigner.js';
import type { BrokerDeps } from '../../src/usecases/deps.js';
import { S3AccessDeniedError, S3UnavailableError } from '../../src/domain/errors.js';
import type { Route } from '../../src/http/route.js';
import type { Presigner } from '../../src/ports/ports.js';
import { multipartAbortRoute } from '../../src/routes/multipartAbort.js';
import { multipartCompleteRoute } from '../../src/routes/multipartComplete.js';
import { multipartCreateRoute } from '../../src/routes/multipartCreate.js';
import { multipartListRoute } from '../../src/routes/multipartList.js';
import { multipartPartsRoute } from '../../src/routes/multipartParts.js';
import { uploadsRoute } from '../../src/routes/uploads.js';
import { apiEvent } from '../support/apiEvent.js';
import { testDeps } from '../support/brokerDeps.js';
import { brokerConfig, FIXTURE_API_KEYS, type Overrides } from '../support/configFixture.js';
import { invokeRoute, parseAmzDate, type Invoked } from '../support/invokeRoute.js';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
const ACME_KEY = FIXTURE_API_KEYS.acmeBackend.key;
const GLOBEX_KEY = FIXTURE_API_KEYS.globexBackend.key;

type PartInput = Parameters<Presigner['presignUploadPart']>[0];

/** testDeps, with the real presigner wrapped so each part's signing input is recorded too. */
function setup(options: { config?: Overrides; jwtSubject?: { partnerId: string; clientId: string; subject: string } } = {}) {
  const { deps: base, issuer, multipart } = testDeps(brokerConfig(options.config ?? {}), options.jwtSubject ? { jwtSubject: options.jwtSubject } : {});
  const real = new S3Presigner();
  const signed: PartInput[] = [];
  const presigner: Presigner = {
    presignPut: (i) => real.presignPut(i),
    presignGet: (i) => real.presignGet(i),
    presignPost: (i) => real.presignPost(i),
    presignUploadPart: (i) => { signed.push(i); return real.presignUploadPart(i); },
    presignUploadParts: (i) => {
      const { parts: each, ...shared } = i;
      for (const part of each) signed.push({ ...shared, ...part });
      return real.presignUploadParts(i);
    },
  };
  const deps: BrokerDeps = { ...base, presigner };
  const call = <I>(route: Route<I>, path: string, body: unknown, headers: Record<string, string> = { 'x-api-key': ACME_KEY }) =>
    invokeRoute(route, deps, apiEvent({ method: 'POST', path, body, headers }));
  const create = (body: unknown, headers?: Record<string, string>) => call(multipartCreateRoute, '/v1/uploads/multipart', body, headers);
  const parts = (body: unknown, headers?: Record<string, string>) => call(multipartPartsRoute, '/v1/uploads/multipart/parts', body, headers);
  const complete = (body: unknown, headers?: Record<string, string>) => call(multipartCompleteRoute, '/v1/uploads/multipart/complete', body, headers);
  const abort = (body: unknown, headers?: Record<string, string>) => call(multipartAbortRoute, '/v1/uploads/multipart/abort', body, headers);
  const list = (body: unknown, headers?: Record<string, string>) => call(multipartListRoute, '/v1/uploads/multipart/list', body, headers);
  const upload = (body: unknown, headers?: Record<string, string>) => call(uploadsRoute, '/v1/uploads', body, headers);
  return { deps, issuer, multipart, signed, create, parts, complete, abort, list, upload };
}

/** The audit lines among what a call logged (other output, such as Node's warnings, is not JSON). */
const audits = (lines: string[]) => lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.audit === true);

/** The refusal shape, with the exact status, code and message. */
function expectRefusal(res: Invoked, status: number, code: string, message: string) {
  expect({ status: res.res.statusCode, code: res.body.error?.code, message: res.body.error?.message })
    .toEqual({ status, code, message: expect.stringContaining(message) });
}

describe('POST /v1/uploads/multipart (create)', () => {
  it('creates the upload with the caller\'s write session and answers uploadId, full key, partSize and partCount', async () => {
    const { create, issuer, multipart } = setup();
    const { res, body, lines } = await create({ key: 'videos/big.pdf', contentType: 'Application/PDF; charset=binary', contentLength: 20 * MiB + 7, partSize: 5 * MiB });

    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const [input] = multipart.callsOf('create');
    expect(body).toEqual({ uploadId: expect.any(String), key: 'acme/videos/big.pdf', relativeKey: 'videos/big.pdf', partSize: 5 * MiB, partCount: 5 });
    expect(body.uploadId).toBe([...multipart.uploads.keys()][0]);
    expect(input).toEqual({
      credentials: issuer.issued[0],
      target: { bucket: 'partner-bucket', region: 'ap-northeast-1', forcePathStyle: false },
      key: 'acme/videos/big.pdf',
      contentType: 'application/pdf',
    });
    // the session that makes the call may only write (with multipart housekeeping) under the grant prefix
    const policy = JSON.parse(issuer.requests[0]!.policy);
    expect(policy.Statement).toEqual([{
      Sid: 'Objects', Effect: 'Allow', Action: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'], Resource: 'arn:aws:s3:::partner-bucket/acme/*',
    }]);
    expect(audits(lines)).toEqual([expect.objectContaining({
      message: 'issued', action: 'multipart:create', partner: 'acme', client: 'backend', key: 'acme/videos/big.pdf',
      uploadId: body.uploadId, contentType: 'application/pdf', contentLength: 20 * MiB + 7, partSize: 5 * MiB, partCount: 5,
    })]);
  });

  it('defaults partSize to 8 MiB', async () => {
    const { create } = setup();
    const { body } = await create({ key: 'a.pdf', contentType: 'application/pdf', contentLength: 20 * MiB });
    expect(body).toMatchObject({ partSize: 8 * MiB, partCount: 3 });
  });

  it('defaults partSize to the smallest that keeps 10000 parts when 8 MiB would need more', async () => {
    const { create } = setup({ config: { partners: { acme: { clients: { backend: { maxUploadBytes: 100 * GiB } } } } } });
    const { body } = await create({ key: 'a.pdf', contentType: 'application/pdf', contentLength: 100 * GiB });
    expect(body).toMatchObject({ partSize: Math.ceil((100 * GiB) / 10000), partCount: 10000 });
  });

  it('puts a JWT caller\'s upload under its own ${sub} segment', async () => {
    const { create, multipart } = setup({ jwtSubject: { partnerId: 'acme', clientId: 'app', subject: 'alice' } });
    const { res, body } = await create({ key: 'me.jpg', contentType: 'image/jpeg', contentLength: 6 * MiB }, { authorization: 'Bearer a.b.c' });
    expect(res.statusCode).toBe(200);
    expect(body.key).toBe('acme/users/alice/me.jpg');
    expect(multipart.callsOf('create')[0]!.key).toBe('acme/users/alice/me.jpg');
  });

  it.each([
    ['a content type outside the grant', { contentType: 'text/html' }, 403, 'outside_grant', 'content type "text/html" is not allowed for this client (allowed: application/pdf, image/png, image/jpeg)'],
    ['a size over maxUploadBytes', { contentLength: 104857601 }, 413, 'too_large', 'contentLength 104857601 exceeds this client\'s maxUploadBytes 104857600'],
    ['a part size under 5 MiB', { partSize: 5 * MiB - 1 }, 400, 'invalid_request', 'body.partSize: must be at least 5242880 bytes (S3\'s 5 MiB minimum for every part but the last)'],
    ['a part size over 5 GiB', { partSize: 5 * GiB + 1 }, 400, 'invalid_request', 'body.partSize: must be at most 5368709120 bytes (S3\'s 5 GiB part limit)'],
    ['an empty object', { contentLength: 0 }, 400, 'invalid_request', 'body.contentLength: must be at least 1 byte (an empty object is a single PUT)'],
    ['a fractional size', { contentLength: 1.5 }, 400, 'invalid_request', 'body.contentLength'],
    ['a missing contentLength', { contentLength: undefined }, 400, 'invalid_request', 'body.contentLength'],
    ['a key escaping the prefix', { key: '../acme2/x.pdf' }, 400, 'invalid_key', '".." segments'],
    ['a wildcard key', { key: 'x*.pdf' }, 400, 'invalid_key', '"*", "?" or "$"'],
    ['an unknown field', { bucket: 'other' }, 400, 'invalid_request', 'body: Unrecognized key: "bucket"'],
  ])('refuses %s before any STS or S3 call', async (_label, change, status, code, message) => {
    const { create, issuer, multipart } = setup();
    const res = await create({ key: 'x.pdf', contentType: 'application/pdf', contentLength: 20 * MiB, ...change });
    expectRefusal(res, status, code, message);
    expect(issuer.requests).toHaveLength(0);
    expect(multipart.calls).toHaveLength(0);
  });

  it('refuses more than 10000 parts, naming the smallest part size that fits', async () => {
    const { create, multipart } = setup({ config: { partners: { acme: { clients: { backend: { maxUploadBytes: 100 * GiB } } } } } });
    const res = await create({ key: 'x.pdf', contentType: 'application/pdf', contentLength: 10000 * 5 * MiB + 1, partSize: 5 * MiB });
    expectRefusal(res, 400, 'invalid_request', 'contentLength 52428800001 in parts of 5242880 bytes needs 10001 parts; S3 allows at most 10000: use a partSize of at least 5242881');
    expect(multipart.calls).toHaveLength(0);
  });

  it('refuses a client without write', async () => {
    const { create, multipart } = setup();
    const res = await create({ key: 'x.csv', contentType: 'text/csv', contentLength: 10 }, { 'x-api-key': GLOBEX_KEY });
    expectRefusal(res, 403, 'outside_grant', 'action outside the grant: write');
    expect(multipart.calls).toHaveLength(0);
  });

  it('maps S3\'s refusal and outage to 403 and 503 (generic message, Retry-After)', async () => {
    const { create, multipart } = setup();
    multipart.failWith.create = new S3AccessDeniedError('S3 denied CreateMultipartUpload for this key: the partner\'s role or bucket policy does not allow it');
    expectRefusal(await create({ key: 'x.pdf', contentType: 'application/pdf', contentLength: 10 }), 403, 's3_access_denied', 'S3 denied CreateMultipartUpload');
    multipart.failWith.create = new S3UnavailableError('S3 could not be reached for CreateMultipartUpload', { retryAfterSeconds: 2 });
    const down = await create({ key: 'x.pdf', contentType: 'application/pdf', contentLength: 10 });
    expect(down.res.statusCode).toBe(503);
    expect(down.res.headers['retry-after']).toBe('2');
    expect(down.body.error.code).toBe('s3_unavailable');
    expect(down.body.error.message).not.toContain('CreateMultipartUpload');
  });
});

describe('POST /v1/uploads/multipart/parts', () => {
  const declaration = { contentLength: 20 * MiB + 7, partSize: 5 * MiB };

  async function started() {
    const ctx = setup();
    const { body } = await ctx.create({ key: 'videos/big.pdf', contentType: 'application/pdf', ...declaration });
    return { ...ctx, uploadId: body.uploadId as string };
  }

  it('signs each part\'s exact Content-Length (partSize, the last the remainder) into URLs for that upload and part', async () => {
    const { parts, issuer, multipart, signed, uploadId } = await started();
    const { res, body, lines } = await parts({ key: 'videos/big.pdf', uploadId, partNumbers: [5, 1, 4], ...declaration, expiresIn: 600 });

    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(body.parts.map((p: { partNumber: number }) => p.partNumber)).toEqual([5, 1, 4]);
    expect(signed.map((s) => ({ key: s.key, uploadId: s.uploadId, partNumber: s.partNumber, contentLength: s.contentLength })))
      .toEqual([
        { key: 'acme/videos/big.pdf', uploadId, partNumber: 5, contentLength: 7 },
        { key: 'acme/videos/big.pdf', uploadId, partNumber: 1, contentLength: 5 * MiB },
        { key: 'acme/videos/big.pdf', uploadId, partNumber: 4, contentLength: 5 * MiB },
      ]);
    for (const [i, expectedLength] of [[0, 7], [1, 5 * MiB], [2, 5 * MiB]] as const) {
      const part = body.parts[i];
      const url = new URL(part.url);
      expect(url.pathname).toBe('/acme/videos/big.pdf');
      expect(url.searchParams.get('uploadId')).toBe(uploadId);
      expect(url.searchParams.get('partNumber')).toBe(String(part.partNumber));
      expect(url.searchParams.get('X-Amz-SignedHeaders')).toBe('content-length;host');
      expect(url.searchParams.get('X-Amz-Expires')).toBe('600');
      expect(url.searchParams.get('X-Amz-Security-Token')).toBe(issuer.issued[0]!.sessionToken);
      expect(part.headers).toEqual({ 'Content-Length': String(expectedLength) });
      expect(Date.parse(part.expiresAt)).toBe(parseAmzDate(url.searchParams.get('X-Amz-Date')!) + 600_000);
    }
    // presigning only: no S3 call, and create's cached session signs (one AssumeRole for both)
    expect(multipart.calls.map((c) => c.op)).toEqual(['create']);
    expect(issuer.requests).toHaveLength(1);
    expect(audits(lines)).toEqual([expect.objectContaining({ action: 'multipart:parts', uploadId, partNumbers: [5, 1, 4], key: 'acme/videos/big.pdf' })]);
  });

  it('signs a single-part upload\'s only part with the whole length', async () => {
    const { create, parts } = setup();
    const { body: up } = await create({ key: 'small.pdf', contentType: 'application/pdf', contentLength: 1234 });
    const { body } = await parts({ key: 'small.pdf', uploadId: up.uploadId, partNumbers: [1], contentLength: 1234, partSize: up.partSize });
    expect(body.parts[0].headers).toEqual({ 'Content-Length': '1234' });
  });

  it('signs a full batch of 100', async () => {
    const { parts, signed } = setup({ config: { partners: { acme: { clients: { backend: { maxUploadBytes: GiB } } } } } });
    const { res } = await parts({ key: 'videos/big.pdf', uploadId: '2~x', partNumbers: Array.from({ length: 100 }, (_, i) => i + 1), contentLength: 100 * 5 * MiB, partSize: 5 * MiB });
    expect(res.statusCode).toBe(200);
    expect(signed).toHaveLength(100);
  });

  it.each([
    ['a part beyond partCount', { partNumbers: [5, 6] }, 400, 'invalid_request', 'part 6 beyond partCount 5 (contentLength 20971527 in parts of 5242880 bytes)'],
    ['a duplicate part number', { partNumbers: [1, 2, 1] }, 400, 'invalid_request', 'partNumbers lists 1 more than once'],
    ['an empty batch', { partNumbers: [] }, 400, 'invalid_request', 'body.partNumbers'],
    ['101 part numbers', { partNumbers: Array.from({ length: 101 }, (_, i) => i + 1), contentLength: 200 * 5 * MiB }, 400, 'invalid_request', 'body.partNumbers'],
    ['part 0', { partNumbers: [0] }, 400, 'invalid_request', 'body.partNumbers.0: part numbers start at 1'],
    ['part 10001', { partNumbers: [10001] }, 400, 'invalid_request', 'body.partNumbers.0: S3 allows part numbers up to 10000'],
    ['a declaration over maxUploadBytes', { contentLength: 104857601 }, 413, 'too_large', 'contentLength 104857601 exceeds this client\'s maxUploadBytes 104857600'],
    ['a part size under 5 MiB', { partSize: MiB }, 400, 'invalid_request', 'body.partSize: must be at least 5242880 bytes'],
    ['a missing declaration', { contentLength: undefined, partSize: undefined }, 400, 'invalid_request', 'body.contentLength'],
    ['an uploadId with a space', { uploadId: 'a b' }, 400, 'invalid_request', 'body.uploadId: must be printable ASCII without spaces'],
    ['a key outside the prefix', { key: '../acme2/big.pdf' }, 400, 'invalid_key', '".." segments'],
  ])('refuses %s before signing', async (_label, change, status, code, message) => {
    const { parts, signed, uploadId } = await started();
    const res = await parts({ key: 'videos/big.pdf', uploadId, partNumbers: [1], ...declaration, ...change });
    expectRefusal(res, status, code, message);
    expect(signed).toHaveLength(0);
  });

  it('signs the declared lengths even when the declaration changed since create (complete is where that is caught)', async () => {
    const { parts, signed, uploadId } = await started();
    await parts({ key: 'videos/big.pdf', uploadId, partNumbers: [1, 2], contentLength: 6 * MiB, partSize: 5 * MiB });
    expect(signed.map((s) => s.contentLength)).toEqual([5 * MiB, MiB]);
  });
});

describe('POST /v1/uploads/multipart/complete', () => {
  const declaration = { contentLength: 15 * MiB + 10, partSize: 5 * MiB };
  const sizes = [5 * MiB, 5 * MiB, 5 * MiB, 10];

  /** A created upload whose parts were PUT as the declaration says (or as `uploadSizes` says). */
  async function uploaded(uploadSizes: ReadonlyArray<number | undefined> = sizes) {
    const ctx = setup();
    const { body } = await ctx.create({ key: 'data/set.pdf', contentType: 'application/pdf', ...declaration });
    const uploadId = body.uploadId as string;
    const etags = uploadSizes.map((size, i) => (size === undefined ? undefined : ctx.multipart.putPart(uploadId, i + 1, size)));
    const sent = sizes.map((_, i) => ({ partNumber: i + 1, etag: etags[i] ?? '"never-uploaded"' }));
    return { ...ctx, uploadId, etags, sent };
  }

  it('checks ListParts against the declaration, then completes with exactly those parts', async () => {
    const { complete, multipart, issuer, uploadId, sent } = await uploaded();
    // any order, ETags with or without their quotes
    const body = { key: 'data/set.pdf', uploadId, ...declaration, parts: [sent[3], sent[1], sent[0], { ...sent[2]!, etag: sent[2]!.etag.replaceAll('"', '') }] };
    const { res, body: out, lines } = await complete(body);

    expect(res.statusCode).toBe(200);
    expect(out).toEqual({ key: 'acme/data/set.pdf', relativeKey: 'data/set.pdf', etag: expect.stringMatching(/^"[0-9a-f]{32}-4"$/) });
    expect(multipart.calls.map((c) => c.op)).toEqual(['create', 'listParts', 'complete']);
    const target = { bucket: 'partner-bucket', region: 'ap-northeast-1', forcePathStyle: false };
    expect(multipart.callsOf('listParts')).toEqual([{ credentials: issuer.issued[0], target, key: 'acme/data/set.pdf', uploadId }]);
    expect(multipart.callsOf('complete')).toEqual([{ credentials: issuer.issued[0], target, key: 'acme/data/set.pdf', uploadId, parts: sent }]);
    expect(multipart.completed[0]!.parts.map((p) => p.size)).toEqual(sizes);
    expect(audits(lines)).toEqual([expect.objectContaining({ action: 'multipart:complete', uploadId, contentLength: declaration.contentLength, partCount: 4 })]);
  });

  it.each([
    ['a part never uploaded', [5 * MiB, 5 * MiB, undefined, 10], 'the upload does not match its declaration: not uploaded: part 3'],
    ['a part of another size', [5 * MiB, 5 * MiB - 1, 5 * MiB, 10], 'the upload does not match its declaration: part 2 is 5242879 bytes, the declaration requires 5242880'],
    ['a last part longer than declared', [5 * MiB, 5 * MiB, 5 * MiB, 11], 'part 4 is 11 bytes, the declaration requires 10'],
  ])('refuses %s (400 upload_mismatch) and never completes', async (_label, uploadSizes, message) => {
    const { complete, multipart, uploadId, sent } = await uploaded(uploadSizes);
    const res = await complete({ key: 'data/set.pdf', uploadId, ...declaration, parts: sent });
    expectRefusal(res, 400, 'upload_mismatch', message);
    expect(multipart.callsOf('complete')).toHaveLength(0);
    expect(multipart.uploads.has(uploadId)).toBe(true);
  });

  it('refuses an ETag other than the one S3 holds', async () => {
    const { complete, multipart, uploadId, sent, etags } = await uploaded();
    const res = await complete({ key: 'data/set.pdf', uploadId, ...declaration, parts: sent.map((p) => (p.partNumber === 2 ? { ...p, etag: '"0123"' } : p)) });
    expectRefusal(res, 400, 'upload_mismatch', `part 2's ETag is ${etags[1]}, not the one sent`);
    expect(multipart.callsOf('complete')).toHaveLength(0);
  });

  it('refuses a changed declaration: the parts no longer match it', async () => {
    const { complete, multipart, uploadId, sent } = await uploaded();
    const res = await complete({ key: 'data/set.pdf', uploadId, contentLength: 15 * MiB + 10, partSize: 6 * MiB, parts: sent.slice(0, 3) });
    expectRefusal(res, 400, 'upload_mismatch', 'uploaded beyond partCount 3: part 4; part 1 is 5242880 bytes, the declaration requires 6291456');
    expect(multipart.callsOf('complete')).toHaveLength(0);
  });

  it.each([
    ['a list without part 3', (sent: Array<{ partNumber: number }>) => sent.filter((p) => p.partNumber !== 3), 400, 'invalid_request', 'parts must list every part 1..4; missing 3'],
    ['a part listed twice', (sent: Array<{ partNumber: number }>) => [...sent, sent[0]], 400, 'invalid_request', 'parts lists 1 more than once'],
    ['a part beyond partCount', (sent: Array<{ partNumber: number }>) => [...sent, { partNumber: 5, etag: '"x"' }], 400, 'invalid_request', 'parts lists 5 beyond partCount 4'],
  ])('refuses %s before asking S3', async (_label, change, status, code, message) => {
    const { complete, multipart, uploadId, sent } = await uploaded();
    const res = await complete({ key: 'data/set.pdf', uploadId, ...declaration, parts: change(sent) });
    expectRefusal(res, status, code, message);
    expect(multipart.calls.map((c) => c.op)).toEqual(['create']);
  });

  it('refuses a declaration over maxUploadBytes with 413 before asking S3', async () => {
    const { complete, multipart, uploadId, sent } = await uploaded();
    const res = await complete({ key: 'data/set.pdf', uploadId, contentLength: 104857601, partSize: 5 * MiB, parts: sent });
    expectRefusal(res, 413, 'too_large', 'contentLength 104857601 exceeds this client\'s maxUploadBytes 104857600');
    expect(multipart.calls.map((c) => c.op)).toEqual(['create']);
  });

  it('answers 404 upload_not_found for an unknown upload, or a known one under another key', async () => {
    const { complete, uploadId, sent } = await uploaded();
    expectRefusal(await complete({ key: 'data/set.pdf', uploadId: '2~unknown', ...declaration, parts: sent }), 404, 'upload_not_found', 'no such multipart upload for this key');
    expectRefusal(await complete({ key: 'data/other.pdf', uploadId, ...declaration, parts: sent }), 404, 'upload_not_found', 'no such multipart upload for this key');
  });

  it('accepts the body of a 10000-part completion (over the usual 16 KiB) and refuses one over 1 MiB', async () => {
    const { complete, multipart } = setup({ config: { partners: { acme: { clients: { backend: { maxUploadBytes: 100 * GiB } } } } } });
    const parts = Array.from({ length: 10000 }, (_, i) => ({ partNumber: i + 1, etag: `"${'0123456789abcdef'.repeat(2)}"` }));
    const body = { key: 'x.pdf', uploadId: '2~unknown', contentLength: 10000 * 5 * MiB, partSize: 5 * MiB, parts };
    expect(JSON.stringify(body).length).toBeGreaterThan(500_000);
    expectRefusal(await complete(body), 404, 'upload_not_found', 'no such multipart upload');
    expect(multipart.callsOf('listParts')).toHaveLength(1);
    const huge = { ...body, parts: parts.map((p) => ({ ...p, etag: `"${'e'.repeat(100)}"` })) };
    expectRefusal(await complete(huge), 413, 'too_large', 'the limit is 1048576');
  });

  it('maps S3 trouble during completion to 503 with Retry-After', async () => {
    const { complete, multipart, uploadId, sent } = await uploaded();
    multipart.failWith.complete = new S3UnavailableError('S3 is unavailable for CompleteMultipartUpload', { retryAfterSeconds: 2 });
    const res = await complete({ key: 'data/set.pdf', uploadId, ...declaration, parts: sent });
    expect(res.res.statusCode).toBe(503);
    expect(res.res.headers['retry-after']).toBe('2');
    expect(res.body.error.code).toBe('s3_unavailable');
  });
});

describe('POST /v1/uploads/multipart/abort', () => {
  it('aborts with the caller\'s write session and answers { aborted: true }', async () => {
    const { create, abort, multipart, issuer } = setup();
    const { body: up } = await create({ key: 'a.pdf', contentType: 'application/pdf', contentLength: 10 });
    const { res, body, lines } = await abort({ key: 'a.pdf', uploadId: up.uploadId });
    expect(res.statusCode).toBe(200);
    expect(body).toEqual({ aborted: true });
    expect(multipart.callsOf('abort')).toEqual([{
      credentials: issuer.issued[0], target: { bucket: 'partner-bucket', region: 'ap-northeast-1', forcePathStyle: false }, key: 'acme/a.pdf', uploadId: up.uploadId,
    }]);
    expect(multipart.uploads.size).toBe(0);
    expect(audits(lines)).toEqual([expect.objectContaining({ action: 'multipart:abort', uploadId: up.uploadId, key: 'acme/a.pdf' })]);
  });

  it('answers 404 upload_not_found the second time', async () => {
    const { create, abort } = setup();
    const { body: up } = await create({ key: 'a.pdf', contentType: 'application/pdf', contentLength: 10 });
    await abort({ key: 'a.pdf', uploadId: up.uploadId });
    expectRefusal(await abort({ key: 'a.pdf', uploadId: up.uploadId }), 404, 'upload_not_found', 'no such multipart upload for this key');
  });

  it.each([
    ['a key outside the prefix', { key: '../x.pdf' }, 400, 'invalid_key'],
    ['a missing uploadId', { uploadId: undefined }, 400, 'invalid_request'],
  ])('refuses %s before any call', async (_label, change, status, code) => {
    const { abort, multipart, issuer } = setup();
    const res = await abort({ key: 'a.pdf', uploadId: '2~x', ...change });
    expect({ status: res.res.statusCode, code: res.body.error.code }).toEqual({ status, code });
    expect(multipart.calls).toHaveLength(0);
    expect(issuer.requests).toHaveLength(0);
  });

  it('refuses a client without write', async () => {
    const { abort, multipart } = setup();
    expectRefusal(await abort({ key: 'a.csv', uploadId: '2~x' }, { 'x-api-key': GLOBEX_KEY }), 403, 'outside_grant', 'action outside the grant: write');
    expect(multipart.calls).toHaveLength(0);
  });
});

describe('POST /v1/uploads/multipart/list', () => {
  const declaration = { contentLength: 12 * MiB, partSize: 5 * MiB };

  it('lists every uploaded part (partNumber, size, etag) in part-number order with the caller\'s write session', async () => {
    const { create, list, multipart, issuer } = setup();
    const { body: up } = await create({ key: 'videos/big.pdf', contentType: 'application/pdf', ...declaration });
    const e3 = multipart.putPart(up.uploadId, 3, 2 * MiB);
    const e1 = multipart.putPart(up.uploadId, 1, 5 * MiB);
    const { res, body, lines } = await list({ key: 'videos/big.pdf', uploadId: up.uploadId });

    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(body).toEqual({ parts: [{ partNumber: 1, size: 5 * MiB, etag: e1 }, { partNumber: 3, size: 2 * MiB, etag: e3 }] });
    expect(multipart.callsOf('listParts')).toEqual([{
      credentials: issuer.issued[0], target: { bucket: 'partner-bucket', region: 'ap-northeast-1', forcePathStyle: false }, key: 'acme/videos/big.pdf', uploadId: up.uploadId,
    }]);
    // create's cached write session makes the call: one AssumeRole for both
    expect(issuer.requests).toHaveLength(1);
    expect(audits(lines)).toEqual([expect.objectContaining({
      message: 'issued', action: 'multipart:list', partner: 'acme', client: 'backend', key: 'acme/videos/big.pdf', uploadId: up.uploadId, uploadedParts: 2,
    })]);
  });

  it('answers an empty list for an upload with no parts yet', async () => {
    const { create, list } = setup();
    const { body: up } = await create({ key: 'a.pdf', contentType: 'application/pdf', contentLength: 10 });
    const { res, body } = await list({ key: 'a.pdf', uploadId: up.uploadId });
    expect({ status: res.statusCode, body }).toEqual({ status: 200, body: { parts: [] } });
  });

  it('answers 404 upload_not_found for an unknown, aborted or completed upload, or one under another key', async () => {
    const { create, list, abort } = setup();
    const { body: up } = await create({ key: 'a.pdf', contentType: 'application/pdf', contentLength: 10 });
    expectRefusal(await list({ key: 'a.pdf', uploadId: '2~unknown' }), 404, 'upload_not_found', 'no such multipart upload for this key');
    expectRefusal(await list({ key: 'b.pdf', uploadId: up.uploadId }), 404, 'upload_not_found', 'no such multipart upload for this key');
    await abort({ key: 'a.pdf', uploadId: up.uploadId });
    expectRefusal(await list({ key: 'a.pdf', uploadId: up.uploadId }), 404, 'upload_not_found', 'no such multipart upload for this key');
  });

  it.each([
    ['a key outside the prefix', { key: '../x.pdf' }, 400, 'invalid_key'],
    ['a wildcard key', { key: 'x*.pdf' }, 400, 'invalid_key'],
    ['a missing uploadId', { uploadId: undefined }, 400, 'invalid_request'],
    ['an uploadId with a space', { uploadId: 'a b' }, 400, 'invalid_request'],
    ['an unknown field', { partNumbers: [1] }, 400, 'invalid_request'],
    ['neither key nor fullKey', { key: undefined }, 400, 'invalid_request'],
  ])('refuses %s before any call', async (_label, change, status, code) => {
    const { list, multipart, issuer } = setup();
    const res = await list({ key: 'a.pdf', uploadId: '2~x', ...change });
    expect({ status: res.res.statusCode, code: res.body.error.code }).toEqual({ status, code });
    expect(multipart.calls).toHaveLength(0);
    expect(issuer.requests).toHaveLength(0);
  });

  it('refuses a client without write', async () => {
    const { list, multipart } = setup();
    expectRefusal(await list({ key: 'a.csv', uploadId: '2~x' }, { 'x-api-key': GLOBEX_KEY }), 403, 'outside_grant', 'action outside the grant: write');
    expect(multipart.calls).toHaveLength(0);
  });

  it('maps S3 trouble to 503 with Retry-After', async () => {
    const { list, multipart } = setup();
    multipart.failWith.listParts = new S3UnavailableError('S3 is unavailable for ListParts', { retryAfterSeconds: 2 });
    const res = await list({ key: 'a.pdf', uploadId: '2~x' });
    expect({ status: res.res.statusCode, retryAfter: res.res.headers['retry-after'], code: res.body.error.code }).toEqual({ status: 503, retryAfter: '2', code: 's3_unavailable' });
  });
});

describe('naming the object: key (relative), fullKey (as returned), relativeKey in responses', () => {
  const declaration = { contentLength: 12 * MiB, partSize: 5 * MiB };

  it('accepts on parts, list, complete and abort the fullKey create returned, and makes the same calls as with key', async () => {
    const { create, parts, list, complete, abort, multipart, signed } = setup();
    const { body: up } = await create({ key: 'videos/big.pdf', contentType: 'application/pdf', ...declaration });
    expect(up).toMatchObject({ key: 'acme/videos/big.pdf', relativeKey: 'videos/big.pdf' });
    const fullKey = up.key as string;

    const signedParts = await parts({ fullKey, uploadId: up.uploadId, partNumbers: [1, 2, 3], ...declaration });
    expect(signedParts.res.statusCode).toBe(200);
    expect(signed.map((s) => s.key)).toEqual(['acme/videos/big.pdf', 'acme/videos/big.pdf', 'acme/videos/big.pdf']);
    const sent = [5 * MiB, 5 * MiB, 2 * MiB].map((size, i) => ({ partNumber: i + 1, etag: multipart.putPart(up.uploadId, i + 1, size) }));

    const listed = await list({ fullKey, uploadId: up.uploadId });
    expect(listed.body.parts.map((p: { partNumber: number }) => p.partNumber)).toEqual([1, 2, 3]);
    const done = await complete({ fullKey, uploadId: up.uploadId, ...declaration, parts: sent });
    expect(done.body).toEqual({ key: 'acme/videos/big.pdf', relativeKey: 'videos/big.pdf', etag: expect.any(String) });
    expect(multipart.callsOf('listParts').map((c) => c.key)).toEqual(['acme/videos/big.pdf', 'acme/videos/big.pdf']);
    expect(multipart.callsOf('complete').map((c) => c.key)).toEqual(['acme/videos/big.pdf']);

    const { body: second } = await create({ key: 'b.pdf', contentType: 'application/pdf', contentLength: 10 });
    expect((await abort({ fullKey: second.key, uploadId: second.uploadId })).body).toEqual({ aborted: true });
    expect(multipart.callsOf('abort').map((c) => c.key)).toEqual(['acme/b.pdf']);
  });

  it('never guesses from key: a key that starts with the grant prefix is a relative key (acme/ + acme/x.pdf)', async () => {
    const { create, list, multipart } = setup();
    const { body: up } = await create({ key: 'x.pdf', contentType: 'application/pdf', contentLength: 10 });
    // the full key sent back as key names acme/acme/x.pdf: another object, so S3 knows no such upload
    expectRefusal(await list({ key: up.key, uploadId: up.uploadId }), 404, 'upload_not_found', 'no such multipart upload for this key');
    expect(multipart.callsOf('listParts').map((c) => c.key)).toEqual(['acme/acme/x.pdf']);
    // and a legitimately nested key works with key
    const { body: nested } = await create({ key: 'acme/x.pdf', contentType: 'application/pdf', contentLength: 10 });
    expect(nested).toMatchObject({ key: 'acme/acme/x.pdf', relativeKey: 'acme/x.pdf' });
    expect((await list({ key: nested.relativeKey, uploadId: nested.uploadId })).res.statusCode).toBe(200);
    expect((await list({ fullKey: nested.key, uploadId: nested.uploadId })).res.statusCode).toBe(200);
  });

  it.each([
    ['parts', { partNumbers: [1], ...declaration }],
    ['list', {}],
    ['complete', { ...declaration, parts: [{ partNumber: 1, etag: '"e"' }, { partNumber: 2, etag: '"e"' }, { partNumber: 3, etag: '"e"' }] }],
    ['abort', {}],
  ] as const)('%s: refuses both key and fullKey, or neither (400), and a fullKey outside the grant prefix (403), before any call', async (route, rest) => {
    const ctx = setup();
    const send = ctx[route];
    expectRefusal(await send({ key: 'a.pdf', fullKey: 'acme/a.pdf', uploadId: '2~x', ...rest }), 400, 'invalid_request', 'send exactly one of key (relative to the grant prefix) and fullKey');
    expectRefusal(await send({ uploadId: '2~x', ...rest }), 400, 'invalid_request', 'send exactly one of key (relative to the grant prefix) and fullKey');
    expectRefusal(await send({ fullKey: 'acme2/a.pdf', uploadId: '2~x', ...rest }), 403, 'outside_grant', 'fullKey must start with this caller\'s grant prefix "acme/"');
    expectRefusal(await send({ fullKey: 'a.pdf', uploadId: '2~x', ...rest }), 403, 'outside_grant', 'grant prefix "acme/"');
    // the key rules still apply to what follows the prefix
    expectRefusal(await send({ fullKey: 'acme/../acme2/a.pdf', uploadId: '2~x', ...rest }), 400, 'invalid_key', '".." segments');
    expectRefusal(await send({ fullKey: 'acme/', uploadId: '2~x', ...rest }), 400, 'invalid_key', 'key');
    expect(ctx.multipart.calls).toHaveLength(0);
    expect(ctx.signed).toHaveLength(0);
    expect(ctx.issuer.requests).toHaveLength(0);
  });

  it('holds a JWT caller to its own ${sub} folder: another subject\'s full key is 403', async () => {
    const { create, list, multipart } = setup({ jwtSubject: { partnerId: 'acme', clientId: 'app', subject: 'alice' } });
    const bearer = { authorization: 'Bearer a.b.c' };
    const { body: up } = await create({ key: 'me.jpg', contentType: 'image/jpeg', contentLength: 6 * MiB }, bearer);
    expect(up).toMatchObject({ key: 'acme/users/alice/me.jpg', relativeKey: 'me.jpg' });
    expect((await list({ fullKey: up.key, uploadId: up.uploadId }, bearer)).res.statusCode).toBe(200);
    expectRefusal(await list({ fullKey: 'acme/users/bob/me.jpg', uploadId: up.uploadId }, bearer), 403, 'outside_grant', 'grant prefix "acme/users/alice/"');
    expect(multipart.callsOf('listParts')).toHaveLength(1);
  });

  it('states relativeKey on presigned PUT and POST uploads', async () => {
    const { upload } = setup();
    const put = await upload({ method: 'PUT', key: 'in/a.pdf', contentType: 'application/pdf', contentLength: 10 });
    expect(put.body).toMatchObject({ method: 'PUT', key: 'acme/in/a.pdf', relativeKey: 'in/a.pdf' });
    const post = await upload({ method: 'POST', key: 'in/b.pdf', contentType: 'application/pdf' });
    expect(post.body).toMatchObject({ method: 'POST', key: 'acme/in/b.pdf', relativeKey: 'in/b.pdf' });
  });
});

describe('an empty content type (a browser\'s File.type for an unknown file)', () => {
  const octet = { config: { partners: { acme: { clients: { backend: { contentTypes: ['application/pdf', 'application/octet-stream'] } } } } } };

  it('is application/octet-stream on multipart create when the grant allows it', async () => {
    const { create, multipart } = setup(octet);
    const { res, lines } = await create({ key: 'blob', contentType: '', contentLength: 10 });
    expect(res.statusCode).toBe(200);
    expect(multipart.callsOf('create').map((c) => c.contentType)).toEqual(['application/octet-stream']);
    expect(audits(lines)).toEqual([expect.objectContaining({ action: 'multipart:create', contentType: 'application/octet-stream' })]);
  });

  it('is application/octet-stream on a presigned PUT (signed and returned as the header to send) and a POST form', async () => {
    const { upload } = setup(octet);
    const put = await upload({ method: 'PUT', key: 'blob', contentType: '', contentLength: 10 });
    expect(put.res.statusCode).toBe(200);
    expect(put.body.headers['Content-Type']).toBe('application/octet-stream');
    const post = await upload({ method: 'POST', key: 'blob', contentType: '' });
    expect(post.res.statusCode).toBe(200);
    expect(post.body.fields['Content-Type']).toBe('application/octet-stream');
  });

  it.each([
    ['multipart create', 'create', { key: 'blob', contentType: '', contentLength: 10 }],
    ['a presigned PUT', 'upload', { method: 'PUT', key: 'blob', contentType: '', contentLength: 10 }],
    ['a presigned POST', 'upload', { method: 'POST', key: 'blob', contentType: '' }],
  ] as const)('is 403 outside_grant naming the allowed types on %s when the grant does not list application/octet-stream', async (_label, route, body) => {
    const ctx = setup();
    expectRefusal(await ctx[route](body), 403, 'outside_grant',
      'an empty content type means application/octet-stream, which is not allowed for this client (allowed: application/pdf, image/png, image/jpeg)');
    expect(ctx.multipart.calls).toHaveLength(0);
    expect(ctx.issuer.requests).toHaveLength(0);
  });

  it('still refuses a one- or two-character content type as malformed (400)', async () => {
    const { create } = setup(octet);
    expectRefusal(await create({ key: 'blob', contentType: 'a/', contentLength: 10 }), 400, 'invalid_request', 'body.contentType: must be empty or at least 3 characters');
  });
});

describe('audit lines', () => {
  it('carry no secret', async () => {
    const { create, parts, issuer } = setup();
    const { body: up, lines: a } = await create({ key: 'a.pdf', contentType: 'application/pdf', contentLength: 6 * MiB, partSize: 5 * MiB });
    const { body, lines: b } = await parts({ key: 'a.pdf', uploadId: up.uploadId, partNumbers: [1, 2], contentLength: 6 * MiB, partSize: 5 * MiB });
    const all = [...a, ...b].join('\n');
    const c = issuer.issued[0]!;
    for (const secret of [c.secretAccessKey, c.sessionToken, ACME_KEY, ...body.parts.map((p: { url: string }) => new URL(p.url).searchParams.get('X-Amz-Signature')!)]) {
      expect(all).not.toContain(secret);
    }
  });
});
