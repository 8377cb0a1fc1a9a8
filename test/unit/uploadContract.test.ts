/**
 * Upload contracts where the local gateway proves nothing (docs/upload-contracts.md): the exact
 * signed headers and canonical request of PUT and part URLs (x-amz-checksum-*, SSE), the POST
 * policy's eq conditions, the multipart commands (tags, metadata, SSE, checksum algorithm,
 * If-None-Match on the completion), the session policy under the IAM simulator, and the config rules.
 */
import { CompleteMultipartUploadCommand, CreateMultipartUploadCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { afterAll, beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { createHash } from 'node:crypto';
import { S3MultipartStore } from '../../src/adapters/aws/s3Multipart.js';
import { S3Presigner } from '../../src/adapters/aws/s3Presigner.js';
import { crossChecks } from '../../src/config/crossChecks.js';
import { partnersOf } from '../../src/config/load.js';
import { partnerSetup } from '../../src/rules/partnerSetup.js';
import { configSchema } from '../../src/config/schema.js';
import { GrantViolationError, InvalidRequestError, UploadMismatchError } from '../../src/domain/errors.js';
import type { PresignBase, TemporaryCredentials, UploadContract, UploadTerms } from '../../src/domain/model.js';
import { buildSessionPolicy } from '../../src/rules/sessionPolicy.js';
import {
  assertPostAllowed, checkedChecksum, contractHeaders, fullObjectChecksum, renderTemplate, sessionContract, taggingXml, uploadTerms,
} from '../../src/rules/uploadContract.js';
import { brokerConfig, configObject, FIXTURE_API_KEYS } from '../support/configFixture.js';
import { apiEvent } from '../support/apiEvent.js';
import { testDeps } from '../support/brokerDeps.js';
import { invokeRoute } from '../support/invokeRoute.js';
import type { Route } from '../../src/http/route.js';
import { uploadsRoute } from '../../src/routes/uploads.js';
import { multipartCreateRoute } from '../../src/routes/multipartCreate.js';
import { multipartPartsRoute } from '../../src/routes/multipartParts.js';
import { multipartCompleteRoute } from '../../src/routes/multipartComplete.js';
import { simulate, validatePolicy } from '../support/iamSim.js';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const credentials: TemporaryCredentials = {
  accessKeyId: 'ASIAEXAMPLESESSION', secretAccessKey: 'session-secret', sessionToken: 'session-token', expiration: new Date(NOW + 3600_000),
};
const base: PresignBase = {
  credentials, key: 'acme/u/report.bin', expiresInSeconds: 300, signingDate: new Date(NOW),
  target: { bucket: 'partner-bucket', region: 'eu-west-1', forcePathStyle: false },
};
const KEY_ARN = 'arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const caller = { subjectSegment: 'alice', clientId: 'web', partnerId: 'acme' };
const md5 = (s: string) => createHash('md5').update(s).digest('base64');
const sha256 = (s: string) => createHash('sha256').update(s).digest('base64');

const contract: UploadContract = {
  integrity: 'sha256', overwrite: false,
  tags: { owner: '${sub}', req: '${requestId}' },
  metadata: { 'uploaded-by': '${sub}', via: '${client}' },
  encryption: { type: 'aws:kms', keyId: KEY_ARN },
};
const terms = uploadTerms(contract, caller, 'req-1', { algorithm: 'sha256', value: sha256('hello') })!;

describe('rules: templates, checksums, header spellings', () => {
  it('fills ${sub}, ${client}, ${partner} and ${requestId}; leaves ${requestId} when no request is given', () => {
    expect(renderTemplate('${partner}/${client}/${sub}/${requestId}', caller, 'r 1$')).toBe('acme/web/alice/r_1_');
    expect(renderTemplate('x-${requestId}', caller)).toBe('x-${requestId}');
  });

  it('checksums: required under integrity, refused without, algorithm and base64 length checked', () => {
    expect(checkedChecksum(undefined, undefined)).toBeUndefined();
    expect(() => checkedChecksum(undefined, { algorithm: 'md5', value: md5('x') })).toThrow(InvalidRequestError);
    expect(() => checkedChecksum(contract, undefined)).toThrow(/checksum is required.*sha256/);
    expect(() => checkedChecksum(contract, { algorithm: 'md5', value: md5('x') })).toThrow(/must be "sha256"/);
    expect(() => checkedChecksum(contract, { algorithm: 'sha256', value: md5('x') })).toThrow(/base64 of the 32-byte sha256/);
    expect(() => checkedChecksum({ ...contract, integrity: 'crc32c' }, { algorithm: 'crc32c', value: 'AAAAAA==' })).not.toThrow();
    expect(checkedChecksum(contract, { algorithm: 'sha256', value: sha256('x') })).toEqual({ algorithm: 'sha256', value: sha256('x') });
  });

  it('contract headers: every element, lowercase as signed; the tagging header URL-encodes', () => {
    expect(contractHeaders(terms)).toEqual({
      'x-amz-checksum-sha256': sha256('hello'),
      'if-none-match': '*',
      'x-amz-tagging': 'owner=alice&req=req-1',
      'x-amz-meta-uploaded-by': 'alice',
      'x-amz-meta-via': 'web',
      'x-amz-server-side-encryption': 'aws:kms',
      'x-amz-server-side-encryption-aws-kms-key-id': KEY_ARN,
    });
    expect(contractHeaders(undefined)).toEqual({});
    expect(taggingXml({ 'a&b': '<x>' })).toBe('<Tagging><TagSet><Tag><Key>a&amp;b</Key><Value>&lt;x&gt;</Value></Tag></TagSet></Tagging>');
  });

  it('POST is refused under overwrite: false, with the reason', () => {
    expect(() => assertPostAllowed(contract)).toThrow(GrantViolationError);
    expect(() => assertPostAllowed(contract)).toThrow(/cannot carry If-None-Match/);
    expect(() => assertPostAllowed({ ...contract, overwrite: true })).not.toThrow();
    expect(() => assertPostAllowed(undefined)).not.toThrow();
  });
});

describe('S3Presigner under a contract: real signed headers, never the query', () => {
  it('PUT: X-Amz-SignedHeaders is exactly Content-Length, Content-Type, host and every contract header; headers lists each', async () => {
    const { url, headers } = await new S3Presigner().presignPut({ ...base, contentType: 'application/pdf', contentLength: 5, terms });
    const q = new URL(url).searchParams;
    expect(q.get('X-Amz-SignedHeaders')).toBe([
      'content-length', 'content-type', 'host', 'if-none-match', 'x-amz-checksum-sha256', 'x-amz-meta-uploaded-by', 'x-amz-meta-via',
      'x-amz-server-side-encryption', 'x-amz-server-side-encryption-aws-kms-key-id', 'x-amz-tagging',
    ].join(';'));
    for (const name of q.keys()) expect(name.toLowerCase()).not.toMatch(/^(x-amz-(checksum|tagging|meta|server-side)|content-md5|if-none-match)/);
    expect(headers).toEqual({
      'Content-Type': 'application/pdf', 'Content-Length': '5', 'If-None-Match': '*', 'x-amz-checksum-sha256': sha256('hello'),
      'x-amz-tagging': 'owner=alice&req=req-1', 'x-amz-meta-uploaded-by': 'alice', 'x-amz-meta-via': 'web',
      'x-amz-server-side-encryption': 'aws:kms', 'x-amz-server-side-encryption-aws-kms-key-id': KEY_ARN,
    });
  });

  it('PUT: each contract value is inside the signature (SSE, KMS key and checksum are not enforced by the local gateway, so this is their proof)', async () => {
    const p = new S3Presigner();
    const sig = async (t: UploadTerms) => new URL((await p.presignPut({ ...base, contentType: 'application/pdf', contentLength: 5, terms: t })).url).searchParams.get('X-Amz-Signature');
    const reference = await sig(terms);
    expect(await sig(terms)).toBe(reference);
    for (const changed of [
      { ...terms, checksum: { algorithm: 'sha256' as const, value: sha256('other') } },
      { ...terms, encryption: { type: 'aws:kms' as const, keyId: KEY_ARN.replace('1234abcd', '9999abcd') } },
      { ...terms, encryption: { type: 'AES256' as const } },
      { ...terms, tags: { owner: 'mallory', req: 'req-1' } },
      { ...terms, metadata: { 'uploaded-by': 'mallory', via: 'web' } },
    ]) {
      expect(await sig(changed)).not.toBe(reference);
    }
  });

  it('PUT with md5 and with crc32c: Content-MD5 / x-amz-checksum-crc32c are signed headers', async () => {
    const p = new S3Presigner();
    const m = await p.presignPut({ ...base, contentType: 'text/plain', contentLength: 5, terms: { noOverwrite: false, tags: {}, metadata: {}, checksum: { algorithm: 'md5', value: md5('hello') } } });
    expect(new URL(m.url).searchParams.get('X-Amz-SignedHeaders')).toBe('content-length;content-md5;content-type;host');
    expect(m.headers['Content-MD5']).toBe(md5('hello'));
    const c = await p.presignPut({ ...base, contentType: 'text/plain', contentLength: 5, terms: { noOverwrite: false, tags: {}, metadata: {}, checksum: { algorithm: 'crc32c', value: 'mnG7TA==' } } });
    expect(new URL(c.url).searchParams.get('X-Amz-SignedHeaders')).toBe('content-length;content-type;host;x-amz-checksum-crc32c');
  });

  it('PUT without a contract is unchanged (v1)', async () => {
    const { url, headers } = await new S3Presigner().presignPut({ ...base, contentType: 'text/plain', contentLength: 5 });
    expect(new URL(url).searchParams.get('X-Amz-SignedHeaders')).toBe('content-length;content-type;host');
    expect(headers).toEqual({ 'Content-Type': 'text/plain', 'Content-Length': '5' });
  });

  it('part URL: signs the part\'s checksum as a header', async () => {
    const { url, headers } = await new S3Presigner().presignUploadPart({ ...base, uploadId: 'u1', partNumber: 2, contentLength: 5, checksum: { algorithm: 'sha256', value: sha256('hello') } });
    expect(new URL(url).searchParams.get('X-Amz-SignedHeaders')).toBe('content-length;host;x-amz-checksum-sha256');
    expect(headers).toEqual({ 'Content-Length': '5', 'x-amz-checksum-sha256': sha256('hello') });
  });

  it('POST: eq conditions pin tagging (XML), metadata, SSE and the checksum, and the fields carry them', async () => {
    const postTerms: UploadTerms = { ...terms, noOverwrite: false };
    const { fields } = await new S3Presigner().presignPost({ ...base, contentType: 'application/pdf', maxBytes: 100, terms: postTerms });
    const policy = JSON.parse(Buffer.from(fields.Policy!, 'base64').toString('utf8')) as { conditions: unknown[] };
    const expected: Record<string, string> = {
      tagging: '<Tagging><TagSet><Tag><Key>owner</Key><Value>alice</Value></Tag><Tag><Key>req</Key><Value>req-1</Value></Tag></TagSet></Tagging>',
      'x-amz-checksum-sha256': sha256('hello'),
      'x-amz-meta-uploaded-by': 'alice',
      'x-amz-meta-via': 'web',
      'x-amz-server-side-encryption': 'aws:kms',
      'x-amz-server-side-encryption-aws-kms-key-id': KEY_ARN,
    };
    for (const [k, v] of Object.entries(expected)) {
      expect(fields[k]).toBe(v);
      expect(policy.conditions).toContainEqual(['eq', `$${k}`, v]);
    }
    await expect(new S3Presigner().presignPost({ ...base, contentType: 'application/pdf', maxBytes: 100, terms })).rejects.toThrow(/If-None-Match/);
  });
});

describe('S3MultipartStore under a contract (exact command inputs)', () => {
  const s3 = mockClient(S3Client);
  beforeEach(() => { s3.reset(); });
  afterAll(() => s3.restore());
  const store = () => new S3MultipartStore({ timeoutMs: 1000, maxAttempts: 1 });
  const call = { credentials, target: base.target, key: base.key };

  it('create carries tags, metadata, SSE and the checksum algorithm, never If-None-Match or a checksum value', async () => {
    s3.on(CreateMultipartUploadCommand).resolves({ UploadId: 'u1' });
    await store().create({ ...call, contentType: 'application/pdf', terms, checksumAlgorithm: 'sha256' });
    expect(s3.commandCalls(CreateMultipartUploadCommand)[0]!.args[0].input).toStrictEqual({
      Bucket: 'partner-bucket', Key: base.key, ContentType: 'application/pdf', Tagging: 'owner=alice&req=req-1',
      Metadata: { 'uploaded-by': 'alice', via: 'web' }, ServerSideEncryption: 'aws:kms', SSEKMSKeyId: KEY_ARN, ChecksumAlgorithm: 'SHA256',
    });
  });

  it('complete carries If-None-Match: * and each part\'s checksum; S3\'s 412 is a 403 that says why', async () => {
    s3.on(CompleteMultipartUploadCommand).resolvesOnce({ ETag: '"e-1"' });
    await store().complete({ ...call, uploadId: 'u1', parts: [{ partNumber: 1, etag: '"a"', checksum: sha256('x') }], checksumAlgorithm: 'sha256', noOverwrite: true });
    expect(s3.commandCalls(CompleteMultipartUploadCommand)[0]!.args[0].input).toStrictEqual({
      Bucket: 'partner-bucket', Key: base.key, UploadId: 'u1', IfNoneMatch: '*',
      MultipartUpload: { Parts: [{ PartNumber: 1, ETag: '"a"', ChecksumSHA256: sha256('x') }] },
    });
    s3.on(CompleteMultipartUploadCommand).rejects(new S3ServiceException({ name: 'PreconditionFailed', $fault: 'client', $metadata: { httpStatusCode: 412 }, message: 'exists' }));
    await expect(store().complete({ ...call, uploadId: 'u1', parts: [{ partNumber: 1, etag: '"a"' }], noOverwrite: true }))
      .rejects.toThrow(GrantViolationError);
  });
});

describe('S3MultipartStore: full-object CRC32C (exact command inputs)', () => {
  const s3 = mockClient(S3Client);
  beforeEach(() => { s3.reset(); });
  afterAll(() => s3.restore());
  const store = () => new S3MultipartStore({ timeoutMs: 1000, maxAttempts: 1 });
  const call = { credentials, target: base.target, key: base.key };
  /** CRC32C("hello") = 0x9a71bb4c, base64. */
  const CRC_HELLO = 'mnG7TA==';

  it('create under crc32c declares ChecksumType FULL_OBJECT; sha256 stays composite (no ChecksumType)', async () => {
    s3.on(CreateMultipartUploadCommand).resolves({ UploadId: 'u1' });
    await store().create({ ...call, contentType: 'application/pdf', checksumAlgorithm: 'crc32c' });
    await store().create({ ...call, contentType: 'application/pdf', checksumAlgorithm: 'sha256' });
    const inputs = s3.commandCalls(CreateMultipartUploadCommand).map((c) => c.args[0].input);
    expect(inputs[0]).toStrictEqual({ Bucket: 'partner-bucket', Key: base.key, ContentType: 'application/pdf', ChecksumAlgorithm: 'CRC32C', ChecksumType: 'FULL_OBJECT' });
    expect(inputs[1]).toStrictEqual({ Bucket: 'partner-bucket', Key: base.key, ContentType: 'application/pdf', ChecksumAlgorithm: 'SHA256' });
  });

  it('complete sends the whole object\'s CRC32C with ChecksumType FULL_OBJECT beside the parts\' CRC32Cs; without it, neither field', async () => {
    s3.on(CompleteMultipartUploadCommand).resolves({ ETag: '"e-2"' });
    const parts = [{ partNumber: 2, etag: '"b"', checksum: 'AAAAAQ==' }, { partNumber: 1, etag: '"a"', checksum: 'AAAAAA==' }];
    await store().complete({ ...call, uploadId: 'u1', parts, checksumAlgorithm: 'crc32c', fullObjectCrc32c: CRC_HELLO });
    await store().complete({ ...call, uploadId: 'u1', parts, checksumAlgorithm: 'crc32c' });
    const inputs = s3.commandCalls(CompleteMultipartUploadCommand).map((c) => c.args[0].input);
    const Parts = [{ PartNumber: 1, ETag: '"a"', ChecksumCRC32C: 'AAAAAA==' }, { PartNumber: 2, ETag: '"b"', ChecksumCRC32C: 'AAAAAQ==' }];
    expect(inputs[0]).toStrictEqual({ Bucket: 'partner-bucket', Key: base.key, UploadId: 'u1', MultipartUpload: { Parts }, ChecksumCRC32C: CRC_HELLO, ChecksumType: 'FULL_OBJECT' });
    expect(inputs[1]).toStrictEqual({ Bucket: 'partner-bucket', Key: base.key, UploadId: 'u1', MultipartUpload: { Parts } });
  });

  it('S3\'s BadDigest on the completion is 400 upload_mismatch naming the whole-object checksum', async () => {
    s3.on(CompleteMultipartUploadCommand).rejects(new S3ServiceException({ name: 'BadDigest', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'checksum mismatch' }));
    const done = store().complete({ ...call, uploadId: 'u1', parts: [{ partNumber: 1, etag: '"a"', checksum: 'AAAAAA==' }], checksumAlgorithm: 'crc32c', fullObjectCrc32c: CRC_HELLO });
    await expect(done).rejects.toThrow(UploadMismatchError);
    await expect(done).rejects.toThrow(/declared whole-object checksum, or a part's checksum, does not match/);
  });
});

describe('rules: the whole object\'s checksum at completion', () => {
  const crc: UploadContract = { integrity: 'crc32c', overwrite: true, tags: {}, metadata: {} };
  it('crc32c contracts accept a well-formed crc32c, or none (optional)', () => {
    expect(fullObjectChecksum(crc, { algorithm: 'crc32c', value: 'mnG7TA==' })).toBe('mnG7TA==');
    expect(fullObjectChecksum(crc, undefined)).toBeUndefined();
  });
  it.each([
    ['a sha256 contract', { ...crc, integrity: 'sha256' as const }, { algorithm: 'sha256' as const, value: sha256('hello') }, /only for CRC algorithms .*integrity sha256|integrity crc32c \(this client's is sha256\)/],
    ['an md5 contract', { ...crc, integrity: 'md5' as const }, { algorithm: 'md5' as const, value: md5('hello') }, /this client's is md5/],
    ['no contract', undefined, { algorithm: 'crc32c' as const, value: 'mnG7TA==' }, /this client's is none/],
    ['another algorithm', crc, { algorithm: 'sha256' as const, value: sha256('hello') }, /checksum.algorithm must be crc32c/],
    ['a malformed value', crc, { algorithm: 'crc32c' as const, value: 'mnG7TA' }, /checksum.value must be the base64 of the 4-byte crc32c digest/],
  ])('refuses %s (400 invalid_request)', (_label, contract, declared, message) => {
    expect(() => fullObjectChecksum(contract, declared)).toThrow(InvalidRequestError);
    expect(() => fullObjectChecksum(contract, declared)).toThrow(message);
  });
});

describe('session policy under the IAM simulator', () => {
  const scope = { partition: 'aws' as const, bucket: 'partner-bucket', prefix: 'acme/u/', actions: ['write' as const] };
  const policy = buildSessionPolicy(scope, sessionContract(contract, caller));
  const OBJ = 'arn:aws:s3:::partner-bucket/acme/u/a.bin';

  it('is a valid session policy that fits, with kms:GenerateDataKey and kms:Decrypt on the key only', () => {
    expect(validatePolicy(policy)).toEqual([]);
    expect(policy.length).toBeLessThanOrEqual(2048);
    expect(JSON.parse(policy).Statement).toContainEqual({ Sid: 'Kms', Effect: 'Allow', Action: ['kms:GenerateDataKey', 'kms:Decrypt'], Resource: KEY_ARN });
  });

  it.each([
    ['PutObject with If-None-Match', 's3:PutObject', { 's3:if-none-match': '*', 's3:ObjectCreationOperation': 'true' }, 'Allowed'],
    ['PutObject (or Complete) without If-None-Match', 's3:PutObject', { 's3:ObjectCreationOperation': 'true' }, 'ExplicitlyDenied'],
    ['UploadPart / CreateMultipartUpload (no conditional header)', 's3:PutObject', { 's3:ObjectCreationOperation': 'false' }, 'Allowed'],
    ['the contract\'s tag value', 's3:PutObject', { 's3:if-none-match': '*', 's3:ObjectCreationOperation': 'true', 's3:RequestObjectTag/owner': 'alice' }, 'Allowed'],
    ['another owner tag', 's3:PutObject', { 's3:if-none-match': '*', 's3:ObjectCreationOperation': 'true', 's3:RequestObjectTag/owner': 'mallory' }, 'ExplicitlyDenied'],
    ['retagging with another owner', 's3:PutObjectTagging', { 's3:RequestObjectTag/owner': 'mallory' }, 'ExplicitlyDenied'],
    ['SSE-S3 instead of KMS', 's3:PutObject', { 's3:ObjectCreationOperation': 'false', 's3:x-amz-server-side-encryption': 'AES256' }, 'ExplicitlyDenied'],
    ['another KMS key', 's3:PutObject', { 's3:ObjectCreationOperation': 'false', 's3:x-amz-server-side-encryption-aws-kms-key-id': KEY_ARN.replace('1234abcd', '9999abcd') }, 'ExplicitlyDenied'],
    ['the contract\'s KMS key', 's3:PutObject', { 's3:ObjectCreationOperation': 'false', 's3:x-amz-server-side-encryption': 'aws:kms', 's3:x-amz-server-side-encryption-aws-kms-key-id': KEY_ARN }, 'Allowed'],
  ])('%s → %s', async (_name, action, context, expected) => {
    await expect(simulate(policy, action, OBJ, context as Record<string, string>)).resolves.toBe(expected);
  });

  it('no contract: exactly the v1 policy', () => {
    expect(buildSessionPolicy(scope, sessionContract(undefined, caller))).toBe(buildSessionPolicy(scope));
  });

  it('a per-request tag is pinned by nobody in the session (it changes per URL)', () => {
    expect(policy).not.toContain('RequestObjectTag/req');
    expect(policy).toContain('"s3:RequestObjectTag/owner":"alice"');
  });
});

describe('config: the contract is validated like the rest', () => {
  const withUpload = (upload: unknown) => configObject({ partners: { acme: { clients: { backend: { upload } } } } });

  it('accepts a full contract and fills defaults', () => {
    const parsed = configSchema.parse(withUpload({ tags: { owner: '${sub}' } }));
    expect(parsed.partners.acme!.clients.backend!.upload).toEqual({ integrity: 'none', overwrite: true, tags: { owner: '${sub}' }, metadata: {} });
    expect(configSchema.safeParse(withUpload(contract)).success).toBe(true);
  });

  it.each([
    [{ integrity: 'sha1' }, 'integrity'],
    [{ tags: { owner: 'a*b' } }, 'tags'],
    [{ tags: { 'aws:x': 'y' } }, 'tags'],
    [{ metadata: { Upper: 'x' } }, 'metadata'],
    [{ metadata: { a: '${unknown}' } }, 'metadata'],
    [{ encryption: { type: 'aws:kms', keyId: 'alias/mine' } }, 'encryption'],
    [{ encryption: { type: 'AES256', keyId: KEY_ARN } }, 'encryption'],
    [{ tags: Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`t${i}`, 'v'])) }, 'tags'],
    [{ checksum: 'md5' }, 'upload'],
  ])('refuses %j (at %s)', (upload, where) => {
    const parsed = configSchema.safeParse(withUpload(upload));
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues.map((i) => i.path.join('.')).join(' ')).toContain(where);
  });

  it('refuses a contract whose widest session policy exceeds 2048 characters, at .upload', () => {
    const tags = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`tag-number-${i}`, `${'v'.repeat(60)}-\${sub}`]));
    const config = configSchema.parse(withUpload({ tags }));
    const issues = crossChecks(config);
    expect(issues).toEqual([expect.objectContaining({ path: 'partners.acme.clients.backend.upload', message: expect.stringMatching(/2048/) })]);
    expect(crossChecks(configSchema.parse(withUpload({ tags: { owner: '${sub}' }, overwrite: false })))).toEqual([]);
  });
});

describe('partner-policy documents for contracts', () => {
  const partner = (upload: UploadContract | undefined, origins: string[] = ['https://app.example.com']) => partnersOf(configSchema.parse(configObject({
    partners: { acme: { clients: { backend: { ...(upload === undefined ? {} : { upload }), cors: { origins } } } } },
  }))).get('acme')!;

  it('no contract: no bucket policy, no KMS, CORS and role as before', () => {
    const setup = partnerSetup('acme', partner(undefined), 'arn:aws:iam::111111111111:role/broker');
    expect(setup.bucketPolicy).toBeUndefined();
    expect(setup.kmsKeyPolicies).toEqual({});
    expect((setup.bucketCors!.CORSRules[0] as { AllowedHeaders: string[] }).AllowedHeaders).toEqual(['content-type', 'content-length', 'content-disposition']);
  });

  it('a contract: Deny statements to merge (write-once with the multipart exemption, tag keys, SSE), KMS for the role and the key, CORS for every signed header', () => {
    const setup = partnerSetup('acme', partner({ ...contract, tags: { owner: '${sub}', team: 'blue-${client}' } }), 'arn:aws:iam::111111111111:role/broker');
    const statements = setup.bucketPolicy!.Statement as Array<{ Sid: string; Effect: string; Principal: string; Condition: object }>;
    expect(statements.every((s) => s.Effect === 'Deny' && s.Principal === '*')).toBe(true);
    expect(statements.find((s) => s.Sid.endsWith('WriteOnce'))!.Condition).toEqual({ Null: { 's3:if-none-match': 'true' }, Bool: { 's3:ObjectCreationOperation': 'true' } });
    expect(statements.find((s) => s.Sid.endsWith('TagKeys'))!.Condition).toEqual({ 'ForAnyValue:StringNotEquals': { 's3:RequestObjectTagKeys': ['owner', 'team'] } });
    // only the fixed value is pinned for every writer; ${sub} varies per caller
    expect(JSON.stringify(statements)).toContain('"s3:RequestObjectTag/team":"blue-backend"');
    expect(JSON.stringify(statements)).not.toContain('RequestObjectTag/owner"');
    expect(Object.keys(setup.kmsKeyPolicies)).toEqual([KEY_ARN]);
    const role = setup.rolePermissionPolicy as { Statement: Array<{ Sid: string; Action: string[]; Resource: unknown }> };
    expect(role.Statement.find((s) => s.Sid === 'BrokerObjects')!.Action).toContain('s3:PutObjectTagging');
    expect(role.Statement.find((s) => s.Sid === 'BrokerKms')).toEqual({ Sid: 'BrokerKms', Effect: 'Allow', Action: ['kms:GenerateDataKey', 'kms:Decrypt'], Resource: [KEY_ARN] });
    expect((setup.bucketCors!.CORSRules[0] as { AllowedHeaders: string[] }).AllowedHeaders).toEqual(expect.arrayContaining([
      'if-none-match', 'x-amz-checksum-sha256', 'x-amz-meta-*', 'x-amz-server-side-encryption', 'x-amz-server-side-encryption-aws-kms-key-id', 'x-amz-tagging',
    ]));
    expect(setup.notes.join('\n')).toMatch(/default encryption/);
  });
});

describe('routes under a contract (real middleware, presigner and policies; STS and S3 multipart recorded)', () => {
  const MiB = 1024 ** 2;
  const ACME_KEY = FIXTURE_API_KEYS.acmeBackend.key;
  const upload: UploadContract = { integrity: 'sha256', overwrite: false, tags: { owner: '${sub}' }, metadata: { via: '${client}' } };
  function setup(contractOverride: unknown = upload) {
    const { deps, issuer, multipart } = testDeps(brokerConfig({ partners: { acme: { clients: { backend: { upload: contractOverride } } } } }));
    const call = <I>(route: Route<I>, path: string, body: unknown) => invokeRoute(route, deps, apiEvent({ method: 'POST', path, body, headers: { 'x-api-key': ACME_KEY } }));
    return { deps, issuer, multipart, call };
  }

  it('PUT: the session policy carries the contract; the URL signs it; POST is 403 with the reason', async () => {
    const { issuer, call } = setup();
    const res = await call(uploadsRoute, '/v1/uploads', { method: 'PUT', key: 'a.pdf', contentType: 'application/pdf', contentLength: 5, checksum: { algorithm: 'sha256', value: sha256('hello') } });
    expect(res.res.statusCode).toBe(200);
    expect(res.body.headers).toMatchObject({ 'If-None-Match': '*', 'x-amz-checksum-sha256': sha256('hello'), 'x-amz-tagging': 'owner=acmek1', 'x-amz-meta-via': 'backend' });
    const policy = JSON.parse(issuer.requests[0]!.policy) as { Statement: Array<{ Sid: string }> };
    expect(policy.Statement.map((s) => s.Sid)).toEqual(['Objects', 'WriteOnce', 'Tag0']);
    const post = await call(uploadsRoute, '/v1/uploads', { method: 'POST', key: 'a.pdf', contentType: 'application/pdf', checksum: { algorithm: 'sha256', value: sha256('hello') } });
    expect({ status: post.res.statusCode, code: post.body.error?.code }).toEqual({ status: 403, code: 'outside_grant' });
  });

  it('multipart: create carries the terms and algorithm; parts need checksums; complete checks S3\'s checksums and sends If-None-Match', async () => {
    const { multipart, call } = setup();
    const created = await call(multipartCreateRoute, '/v1/uploads/multipart', { key: 'big.pdf', contentType: 'application/pdf', contentLength: 12 * MiB });
    expect(created.res.statusCode).toBe(200);
    const createInput = multipart.calls[0]!.input as unknown as { terms: UploadTerms; checksumAlgorithm: string };
    expect(createInput.checksumAlgorithm).toBe('sha256');
    expect(createInput.terms).toMatchObject({ noOverwrite: true, tags: { owner: 'acmek1' }, metadata: { via: 'backend' } });
    const { uploadId, partSize } = created.body;
    const decl = { key: 'big.pdf', uploadId, contentLength: 12 * MiB, partSize };

    const noSums = await call(multipartPartsRoute, '/v1/uploads/multipart/parts', { ...decl, partNumbers: [1, 2] });
    expect({ status: noSums.res.statusCode, code: noSums.body.error?.code }).toEqual({ status: 400, code: 'invalid_request' });
    const wrongCount = await call(multipartPartsRoute, '/v1/uploads/multipart/parts', { ...decl, partNumbers: [1, 2], checksums: [sha256('a')] });
    expect(wrongCount.res.statusCode).toBe(400);
    const signed = await call(multipartPartsRoute, '/v1/uploads/multipart/parts', { ...decl, partNumbers: [1, 2], checksums: [sha256('a'), sha256('b')] });
    expect(signed.res.statusCode).toBe(200);
    expect(signed.body.parts.map((p: { headers: Record<string, string> }) => p.headers['x-amz-checksum-sha256'])).toEqual([sha256('a'), sha256('b')]);

    const parts = multipart.uploads.get(uploadId)!.parts;
    parts.set(1, { partNumber: 1, size: partSize, etag: '"e1"', checksum: sha256('a') });
    parts.set(2, { partNumber: 2, size: 12 * MiB - partSize, etag: '"e2"' });
    const sent = [{ partNumber: 1, etag: '"e1"' }, { partNumber: 2, etag: '"e2"' }];
    const missing = await call(multipartCompleteRoute, '/v1/uploads/multipart/complete', { ...decl, parts: sent });
    expect({ status: missing.res.statusCode, code: missing.body.error?.code }).toEqual({ status: 400, code: 'upload_mismatch' });
    expect(missing.body.error.message).toMatch(/no sha256 checksum for part 2/);
    parts.set(2, { partNumber: 2, size: 12 * MiB - partSize, etag: '"e2"', checksum: sha256('b') });
    const differ = await call(multipartCompleteRoute, '/v1/uploads/multipart/complete', { ...decl, parts: [{ ...sent[0]!, checksum: sha256('x') }, sent[1]!] });
    expect(differ.body.error?.message).toMatch(/differs from the one sent for part 1/);
    const done = await call(multipartCompleteRoute, '/v1/uploads/multipart/complete', { ...decl, parts: sent });
    expect(done.res.statusCode).toBe(200);
    const completeInput = multipart.calls.filter((c) => c.op === 'complete').at(-1)!.input as unknown as Record<string, unknown>;
    expect(completeInput).toMatchObject({ noOverwrite: true, checksumAlgorithm: 'sha256', parts: [{ partNumber: 1, etag: '"e1"', checksum: sha256('a') }, { partNumber: 2, etag: '"e2"', checksum: sha256('b') }] });
  });

  it('multipart crc32c: create asks for FULL_OBJECT\'s algorithm; complete passes the whole object\'s crc32c; sha256 refuses one', async () => {
    const { multipart, call } = setup({ integrity: 'crc32c' });
    const created = await call(multipartCreateRoute, '/v1/uploads/multipart', { key: 'big.pdf', contentType: 'application/pdf', contentLength: 12 * MiB });
    expect(created.res.statusCode).toBe(200);
    expect((multipart.calls[0]!.input as unknown as { checksumAlgorithm: string }).checksumAlgorithm).toBe('crc32c');
    const { uploadId, partSize } = created.body;
    const decl = { key: 'big.pdf', uploadId, contentLength: 12 * MiB, partSize };
    const parts = multipart.uploads.get(uploadId)!.parts;
    parts.set(1, { partNumber: 1, size: partSize, etag: '"e1"', checksum: 'AAAAAA==' });
    parts.set(2, { partNumber: 2, size: 12 * MiB - partSize, etag: '"e2"', checksum: 'AAAAAQ==' });
    const sent = [{ partNumber: 1, etag: '"e1"' }, { partNumber: 2, etag: '"e2"' }];

    const malformed = await call(multipartCompleteRoute, '/v1/uploads/multipart/complete', { ...decl, parts: sent, checksum: { algorithm: 'crc32c', value: 'nope' } });
    expect({ status: malformed.res.statusCode, code: malformed.body.error?.code }).toEqual({ status: 400, code: 'invalid_request' });
    expect(multipart.calls.filter((c) => c.op === 'complete')).toHaveLength(0);

    const done = await call(multipartCompleteRoute, '/v1/uploads/multipart/complete', { ...decl, parts: sent, checksum: { algorithm: 'crc32c', value: 'mnG7TA==' } });
    expect(done.res.statusCode).toBe(200);
    const completeInput = multipart.calls.filter((c) => c.op === 'complete').at(-1)!.input as unknown as Record<string, unknown>;
    expect(completeInput).toMatchObject({ checksumAlgorithm: 'crc32c', fullObjectCrc32c: 'mnG7TA==', parts: [{ partNumber: 1, checksum: 'AAAAAA==' }, { partNumber: 2, checksum: 'AAAAAQ==' }] });

    const sha = setup({ integrity: 'sha256' });
    const shaCreated = await sha.call(multipartCreateRoute, '/v1/uploads/multipart', { key: 'big.pdf', contentType: 'application/pdf', contentLength: 12 * MiB });
    const shaDecl = { key: 'big.pdf', uploadId: shaCreated.body.uploadId, contentLength: 12 * MiB, partSize: shaCreated.body.partSize };
    const refused = await sha.call(multipartCompleteRoute, '/v1/uploads/multipart/complete', { ...shaDecl, parts: sent, checksum: { algorithm: 'sha256', value: sha256('hello') } });
    expect({ status: refused.res.statusCode, code: refused.body.error?.code }).toEqual({ status: 400, code: 'invalid_request' });
    expect(refused.body.error.message).toMatch(/only for CRC algorithms \(checksum type FULL_OBJECT\); sha256 and md5 uploads are checked per part/);
    expect(sha.multipart.calls.filter((c) => c.op === 'complete')).toHaveLength(0);
  });

  it('no contract: a checksum is refused, parts without checksums are signed as before', async () => {
    const { call } = setup(undefined);
    const res = await call(uploadsRoute, '/v1/uploads', { method: 'PUT', key: 'a.pdf', contentType: 'application/pdf', contentLength: 5, checksum: { algorithm: 'md5', value: md5('hello') } });
    expect({ status: res.res.statusCode, code: res.body.error?.code }).toEqual({ status: 400, code: 'invalid_request' });
  });
});
