/**
 * Upload contracts against the real local gateway (Ceph RGW), through the real API: the e2e client
 * acme/contract (test/e2e/support/stack.ts) has integrity md5, overwrite false, tags
 * { owner: ${sub}, request: ${requestId} } and metadata { uploaded-by: ${sub}, via: ${client} }.
 * What the gateway enforces is proven here: a changed body is refused (Content-MD5 → BadDigest), a
 * second upload to a key is refused (If-None-Match → 412), tags and metadata land exactly once, a
 * client that omits or alters a signed header is refused (403). What it does not enforce (the
 * x-amz-checksum-* headers, SSE, IAM condition keys) is proven by exact signed-header and policy
 * assertions in test/unit/uploadContract.test.ts (docs/upload-contracts.md lists where).
 */
import { GetObjectTaggingCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateRoleCommand, IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { S3Presigner } from '../../src/adapters/aws/s3Presigner.js';
import type { TemporaryCredentials, UploadTerms } from '../../src/domain/model.js';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { api, bodyFile, curl, curlPut, randomBinary, unique, xmlCode, type ApiResponse } from './support/helpers.js';
import { readStack, type StackState } from './support/stack.js';

const TIMEOUT = 60_000;
const TYPE = 'application/octet-stream';
const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('base64');

let stack: StackState;
let dir: string;
let subject: string;

beforeAll(async () => {
  stack = readStack();
  dir = mkdtempSync(join(tmpdir(), 'sts-broker-e2e-contract-'));
  const who = await api(stack, '/v1/whoami', { key: stack.keys.acme.contract });
  subject = who.body.subjectSegment as string;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const file = (bytes: Buffer): string => bodyFile(dir, bytes);
const putWith = (url: string, bytes: Buffer, headers: Record<string, string>) => curlPut(dir, url, bytes, headers);

async function presignPut(rel: string, bytes: Buffer): Promise<ApiResponse> {
  return api(stack, '/v1/uploads', {
    key: stack.keys.acme.contract,
    body: { method: 'PUT', key: rel, contentType: TYPE, contentLength: bytes.length, checksum: { algorithm: 'md5', value: md5(bytes) } },
  });
}

/**
 * The writer's view of a stored object: objects written through a role belong to the assuming user
 * on the gateway (docs/local-aws.md quirk 7), here the broker's user, so it reads tags and metadata.
 */
function writerS3(credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } = { accessKeyId: stack.aws.BROKER_ACCESS_KEY_ID!, secretAccessKey: stack.aws.BROKER_SECRET_ACCESS_KEY! }): S3Client {
  return new S3Client({
    region: stack.region, endpoint: stack.endpoint, forcePathStyle: true,
    credentials,
    requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

async function stored(fullKey: string, s3 = writerS3()): Promise<{ tags: Record<string, string>; metadata: Record<string, string>; length: number }> {
  const tagging = await s3.send(new GetObjectTaggingCommand({ Bucket: stack.bucket, Key: fullKey }));
  const head = await s3.send(new HeadObjectCommand({ Bucket: stack.bucket, Key: fullKey }));
  return {
    tags: Object.fromEntries((tagging.TagSet ?? []).map((t) => [t.Key!, t.Value!])),
    metadata: head.Metadata ?? {},
    length: head.ContentLength ?? -1,
  };
}

describe('whoami shows the contract', () => {
  test('integrity, overwrite, tags and metadata, per-caller variables filled in', async () => {
    const who = await api(stack, '/v1/whoami', { key: stack.keys.acme.contract });
    expect(who.body.grant.upload).toEqual({
      integrity: 'md5', overwrite: false,
      tags: { owner: subject, request: '${requestId}' },
      metadata: { 'uploaded-by': subject, via: 'contract' },
    });
    const plain = await api(stack, '/v1/whoami', { key: stack.keys.acme.backend });
    expect(plain.body.grant.upload).toBeUndefined();
  }, TIMEOUT);
});

describe('presigned PUT under the contract', () => {
  test('every contract header is a signed header listed in the response, none in the query', async () => {
    const bytes = randomBinary(1000);
    const up = await presignPut(unique(stack, 'h.bin'), bytes);
    expect(up.status).toBe(200);
    const url = new URL(up.body.url);
    expect(url.searchParams.get('X-Amz-SignedHeaders')!.split(';')).toEqual(
      ['content-length', 'content-md5', 'content-type', 'host', 'if-none-match', 'x-amz-meta-uploaded-by', 'x-amz-meta-via', 'x-amz-tagging'],
    );
    for (const name of url.searchParams.keys()) expect(name.toLowerCase()).not.toMatch(/^x-amz-(meta|tagging|checksum)|^content-md5$/);
    expect(Object.keys(up.body.headers).sort()).toEqual(
      ['Content-Length', 'Content-MD5', 'Content-Type', 'If-None-Match', 'x-amz-meta-uploaded-by', 'x-amz-meta-via', 'x-amz-tagging'],
    );
  }, TIMEOUT);

  test('the right body → 200, tags and metadata stored exactly once; the same key again → 412 (write-once)', async () => {
    const rel = unique(stack, 'once.bin');
    const bytes = randomBinary(4096);
    const up = await presignPut(rel, bytes);
    expect(up.status).toBe(200);
    const res = await putWith(up.body.url, bytes, up.body.headers);
    expect(res.status).toBe(200);

    const got = await stored(up.body.key);
    expect(got.length).toBe(bytes.length);
    expect(got.tags).toEqual({ owner: subject, request: expect.stringMatching(/^[\w.:/=+\-@]{1,64}$/) });
    // exactly once: not "alice,alice" (a header hoisted into the query and also sent is stored twice)
    expect(got.metadata).toEqual({ 'uploaded-by': subject, via: 'contract' });

    const again = await presignPut(rel, bytes);
    expect(again.status).toBe(200);
    const second = await putWith(again.body.url, bytes, again.body.headers);
    expect({ status: second.status, code: xmlCode(second.body) }).toEqual({ status: 412, code: 'PreconditionFailed' });
  }, TIMEOUT);

  test('a changed body of the same length → 400 BadDigest, nothing stored', async () => {
    const rel = unique(stack, 'digest.bin');
    const bytes = randomBinary(2048);
    const up = await presignPut(rel, bytes);
    const changed = Buffer.from(bytes);
    changed[100] = changed[100]! ^ 0xff;
    const res = await putWith(up.body.url, changed, up.body.headers);
    expect({ status: res.status, code: xmlCode(res.body) }).toEqual({ status: 400, code: 'BadDigest' });
    // the URL still works for the declared bytes: nothing was stored by the refused attempt (write-once would say 412)
    const ok = await putWith(up.body.url, bytes, up.body.headers);
    expect(ok.status).toBe(200);
  }, TIMEOUT);

  test.each(['Content-MD5', 'If-None-Match', 'x-amz-tagging', 'x-amz-meta-uploaded-by'])('omitting the signed %s header → 403', async (name) => {
    const bytes = randomBinary(512);
    const up = await presignPut(unique(stack, 'omit.bin'), bytes);
    const headers = { ...up.body.headers } as Record<string, string>;
    delete headers[name];
    const res = await putWith(up.body.url, bytes, headers);
    expect({ status: res.status, code: xmlCode(res.body) }).toEqual({ status: 403, code: 'SignatureDoesNotMatch' });
  }, TIMEOUT);

  test.each([
    ['x-amz-meta-uploaded-by', 'mallory'],
    ['x-amz-tagging', 'owner=mallory'],
  ])('a tampered %s → 403', async (name, value) => {
    const bytes = randomBinary(512);
    const up = await presignPut(unique(stack, 'tamper.bin'), bytes);
    const res = await putWith(up.body.url, bytes, { ...up.body.headers, [name]: value });
    expect({ status: res.status, code: xmlCode(res.body) }).toEqual({ status: 403, code: 'SignatureDoesNotMatch' });
  }, TIMEOUT);

  test('a changed body sent with its own (matching) Content-MD5 → 403: the declared checksum is signed', async () => {
    const bytes = randomBinary(512);
    const up = await presignPut(unique(stack, 'swap.bin'), bytes);
    const other = randomBinary(512);
    const res = await putWith(up.body.url, other, { ...up.body.headers, 'Content-MD5': md5(other) });
    expect({ status: res.status, code: xmlCode(res.body) }).toEqual({ status: 403, code: 'SignatureDoesNotMatch' });
  }, TIMEOUT);

  test('the broker refuses before signing: no checksum, the wrong algorithm, a malformed digest → 400', async () => {
    const base = { method: 'PUT', key: unique(stack, 'x.bin'), contentType: TYPE, contentLength: 3 };
    for (const extra of [{}, { checksum: { algorithm: 'sha256', value: md5(Buffer.from('abc')) } }, { checksum: { algorithm: 'md5', value: 'abc' } }]) {
      const res = await api(stack, '/v1/uploads', { key: stack.keys.acme.contract, body: { ...base, ...extra } });
      expect({ status: res.status, code: res.body.error?.code }).toEqual({ status: 400, code: 'invalid_request' });
    }
  }, TIMEOUT);

  test('POST forms are refused under overwrite: false, saying why (403 outside_grant)', async () => {
    const res = await api(stack, '/v1/uploads', { key: stack.keys.acme.contract, body: { method: 'POST', key: unique(stack, 'p.bin'), contentType: TYPE } });
    expect({ status: res.status, code: res.body.error?.code }).toEqual({ status: 403, code: 'outside_grant' });
    expect(res.body.error.message).toMatch(/overwrite: false.*If-None-Match/);
  }, TIMEOUT);
});

describe('multipart upload under the contract', () => {
  const call = (path: string, body: Record<string, unknown>) => api(stack, path, { key: stack.keys.acme.contract, body });

  test('parts sign Content-MD5 (a changed part → BadDigest); metadata lands once; the gateway drops multipart tags (characterised)', async () => {
    const rel = unique(stack, 'mp.bin');
    const bytes = randomBinary(3000);
    const created = await call('/v1/uploads/multipart', { key: rel, contentType: TYPE, contentLength: bytes.length });
    expect(created.status).toBe(200);
    const { uploadId, partSize } = created.body;
    const decl = { key: rel, uploadId, contentLength: bytes.length, partSize };

    const missing = await call('/v1/uploads/multipart/parts', { ...decl, partNumbers: [1] });
    expect({ status: missing.status, code: missing.body.error?.code }).toEqual({ status: 400, code: 'invalid_request' });

    const parts = await call('/v1/uploads/multipart/parts', { ...decl, partNumbers: [1], checksums: [md5(bytes)] });
    expect(parts.status).toBe(200);
    const part = parts.body.parts[0];
    expect(new URL(part.url).searchParams.get('X-Amz-SignedHeaders')).toBe('content-length;content-md5;host');
    expect(part.headers).toEqual({ 'Content-Length': String(bytes.length), 'Content-MD5': md5(bytes) });

    const changed = Buffer.from(bytes);
    changed[0] = changed[0]! ^ 0xff;
    const bad = await putWith(part.url, changed, part.headers);
    expect({ status: bad.status, code: xmlCode(bad.body) }).toEqual({ status: 400, code: 'BadDigest' });
    const good = await putWith(part.url, bytes, part.headers);
    expect(good.status).toBe(200);

    const done = await call('/v1/uploads/multipart/complete', { ...decl, parts: [{ partNumber: 1, etag: good.headers.etag }] });
    expect(done.status).toBe(200);
    const got = await stored(done.body.key);
    expect(got.length).toBe(bytes.length);
    expect(got.metadata).toEqual({ 'uploaded-by': subject, via: 'contract' });
    // Ceph 16 accepts x-amz-tagging on CreateMultipartUpload and stores no tags (docs/upload-contracts.md);
    // AWS stores them. The create command's exact Tagging is asserted in test/unit/uploadContract.test.ts.
    // Likewise it ignores If-None-Match on CompleteMultipartUpload, so multipart write-once is proven there too.
    expect(got.tags).toEqual({});
  }, TIMEOUT);
});

describe('POST form under a contract, built by the broker\'s adapter with narrow-role credentials (the gateway stores nothing for POST under a session policy: docs/local-aws.md quirk 1)', () => {
  const ROLE = 'e2e-contract-narrow-role';
  let creds: TemporaryCredentials;
  const terms: UploadTerms = {
    noOverwrite: false, tags: { owner: 'alice', team: 'blue' }, metadata: { 'uploaded-by': 'alice' },
  };
  const presign = (key: string, t: UploadTerms = terms) => new S3Presigner().presignPost({
    credentials: creds, target: { bucket: stack.bucket, region: stack.region, endpoint: stack.endpoint, forcePathStyle: true },
    key, expiresInSeconds: 300, signingDate: new Date(), contentType: TYPE, maxBytes: 4096, terms: t,
  });
  const postForm = (url: string, fields: Record<string, string>, bytes: Buffer) =>
    curl([...Object.entries(fields).flatMap(([k, v]) => ['--form-string', `${k}=${v}`]), '-F', `file=@${file(bytes)};type=${TYPE}`, url]);

  beforeAll(async () => {
    const { aws } = stack;
    const iam = new IAMClient({ endpoint: stack.endpoint, region: stack.region, credentials: { accessKeyId: aws.ADMIN_ACCESS_KEY_ID!, secretAccessKey: aws.ADMIN_SECRET_ACCESS_KEY! } });
    const trust = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: [aws.BROKER_USER_ARN ?? 'arn:aws:iam:::user/broker'] }, Action: ['sts:AssumeRole'] }] };
    const own = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:PutObject', 's3:GetObject', 's3:PutObjectTagging', 's3:GetObjectTagging'], Resource: [`arn:aws:s3:::${stack.bucket}/acme-contract/*`] }] };
    try {
      await iam.send(new CreateRoleCommand({ RoleName: ROLE, Path: '/', AssumeRolePolicyDocument: JSON.stringify(trust) }));
    } catch (e) {
      if ((e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 409) throw e;
    }
    await iam.send(new PutRolePolicyCommand({ RoleName: ROLE, PolicyName: 'acme-contract-only', PolicyDocument: JSON.stringify(own) }));
    const sts = new STSClient({ endpoint: stack.endpoint, region: stack.region, credentials: { accessKeyId: aws.BROKER_ACCESS_KEY_ID!, secretAccessKey: aws.BROKER_SECRET_ACCESS_KEY! } });
    // test only: no session policy (quirk 1). The broker never assumes a role without one.
    const c = (await sts.send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam:::role/${ROLE}`, RoleSessionName: 'e2e-contract-narrow', DurationSeconds: 900 }))).Credentials!;
    creds = { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken!, expiration: c.Expiration! };
  }, TIMEOUT);

  test('the form stores the tags and metadata exactly once', async () => {
    const key = `acme-contract/${unique(stack, 'post.bin')}`;
    const form = await presign(key);
    const res = await postForm(form.url, form.fields, randomBinary(100));
    expect(res.status).toBe(204);
    const got = await stored(key, writerS3(creds));
    expect(got.tags).toEqual({ owner: 'alice', team: 'blue' });
    expect(got.metadata).toEqual({ 'uploaded-by': 'alice' });
  }, TIMEOUT);

  test.each([
    ['tagging', '<Tagging><TagSet><Tag><Key>owner</Key><Value>mallory</Value></Tag></TagSet></Tagging>'],
    ['x-amz-meta-uploaded-by', 'mallory'],
  ])('a changed %s field → 403 (eq condition)', async (field, value) => {
    const key = `acme-contract/${unique(stack, 'post-tamper.bin')}`;
    const form = await presign(key);
    const res = await postForm(form.url, { ...form.fields, [field]: value }, randomBinary(100));
    expect(res.status).toBe(403);
  }, TIMEOUT);

  test('a dropped metadata field → 403 (eq condition)', async () => {
    const key = `acme-contract/${unique(stack, 'post-drop.bin')}`;
    const form = await presign(key);
    const { 'x-amz-meta-uploaded-by': _dropped, ...fields } = form.fields;
    const res = await postForm(form.url, fields, randomBinary(100));
    expect(res.status).toBe(403);
  }, TIMEOUT);
});
