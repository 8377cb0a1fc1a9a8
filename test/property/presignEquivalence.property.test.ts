/**
 * The fast presigner (src/adapters/aws/sigv4Presign.ts) against the SDK's getSignedUrl, called the
 * way the S3 adapter calls it (same commands, signableHeaders, unhoistableHeaders, pinned client
 * settings): for the same credentials, signing instant and expiry the URL must be byte-identical,
 * for random keys (Unicode, spaces, `+`, `%`, reserved characters), operations, contract headers,
 * targets and expiries. Byte identity is the claim, so the comparison is string equality.
 */
import { describe, expect, it } from '@jest/globals';
import { GetObjectCommand, PutObjectCommand, S3Client, UploadPartCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import fc from 'fast-check';
import { clientConfig, commandFields } from '../../src/adapters/aws/s3Presigner.js';
import { SigV4Presigner } from '../../src/adapters/aws/sigv4Presign.js';
import type { S3Target, TemporaryCredentials, UploadTerms } from '../../src/domain/model.js';
import { CHECKSUM_HEADER, contractHeaders } from '../../src/rules/uploadContract.js';

const RUNS = { numRuns: 300 };

const keyUnit = fc.oneof(
  fc.constantFrom('a', 'Z', '0', '/', ' ', '+', '%', '%2F', '&', '=', '?', '#', '!', "'", '(', ')', '*', '~', '.', '-', '_', ':', '@', ',', ';', '$', '[', ']'),
  fc.constantFrom('é', 'e\u0301', '€', '😀', '日本', '\u00a0', 'ß'),
);
const objectKey = fc.string({ unit: keyUnit, minLength: 1, maxLength: 60 });
const target = fc.constantFrom<S3Target>(
  { bucket: 'partner-bucket', region: 'eu-central-1', forcePathStyle: false },
  { bucket: 'partner-bucket', region: 'us-east-1', forcePathStyle: false },
  { bucket: 'bucket.with.dots', region: 'us-west-2', forcePathStyle: false },
  { bucket: 'cn-bucket', region: 'cn-north-1', forcePathStyle: false },
  { bucket: 'local-bucket', region: 'us-east-1', endpoint: 'http://127.0.0.1:17580', forcePathStyle: true },
  { bucket: 'local-bucket', region: 'eu-west-1', endpoint: 'https://s3.example.test', forcePathStyle: false },
);
const text = fc.string({ unit: keyUnit, minLength: 1, maxLength: 20 });
const base64of = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((b) => Buffer.from(b).toString('base64'));
const checksum = fc.oneof(
  fc.constant(undefined),
  base64of(16).map((value) => ({ algorithm: 'md5' as const, value })),
  base64of(32).map((value) => ({ algorithm: 'sha256' as const, value })),
  base64of(4).map((value) => ({ algorithm: 'crc32c' as const, value })),
);
const terms: fc.Arbitrary<UploadTerms | undefined> = fc.option(fc.record({
  checksum,
  noOverwrite: fc.boolean(),
  tags: fc.dictionary(fc.stringMatching(/^[a-zA-Z0-9 _.:/=+@-]{1,12}$/), text, { maxKeys: 3 }),
  metadata: fc.dictionary(fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,10}$/), fc.stringMatching(/^[ -~]{0,20}$/), { maxKeys: 3 }),
  encryption: fc.option(fc.oneof(
    fc.constant({ type: 'AES256' as const }),
    fc.constant({ type: 'aws:kms' as const, keyId: 'arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab' }),
  ), { nil: undefined }),
}), { nil: undefined });
const expires = fc.integer({ min: 1, max: 43_200 });
const signingDate = fc.integer({ min: Date.UTC(2024, 0, 1), max: Date.UTC(2030, 0, 1) }).map((ms) => new Date(ms));
const credentials = fc.record({
  accessKeyId: fc.stringMatching(/^ASIA[A-Z0-9]{16}$/),
  secretAccessKey: fc.stringMatching(/^[A-Za-z0-9/+]{40}$/),
  sessionToken: fc.stringMatching(/^[A-Za-z0-9/+=]{20,80}$/),
}).map((c): TemporaryCredentials => ({ ...c, expiration: new Date(Date.UTC(2100, 0, 1)) }));

const sdkClient = (t: S3Target, c: TemporaryCredentials) => new S3Client(clientConfig(t, c, 0));

describe('SigV4Presigner: byte-identical to getSignedUrl', () => {
  const fast = new SigV4Presigner(clientConfig);

  it('PUT object URLs with content-type, content-length and every contract header', async () => {
    await fc.assert(fc.asyncProperty(target, objectKey, terms, fc.stringMatching(/^[a-z]+\/[a-z0-9.+-]{1,20}$/), fc.nat(5e12), expires, signingDate, credentials,
      async (t, key, uploadTerms, contentType, contentLength, expiresIn, date, creds) => {
        const contract = contractHeaders(uploadTerms);
        const names = new Set(['content-type', 'content-length', ...Object.keys(contract)]);
        const unhoistable = new Set(Object.keys(contract));
        const sdk = await getSignedUrl(sdkClient(t, creds), new PutObjectCommand({
          Bucket: t.bucket, Key: key, ContentType: contentType, ContentLength: contentLength, ...commandFields(uploadTerms),
        }), { expiresIn, signableHeaders: names, unhoistableHeaders: unhoistable, signingDate: date });
        const ours = await fast.presignUrl(creds, {
          operation: 'PutObject', target: t, key, expiresInSeconds: expiresIn, signingDate: date,
          headers: { 'content-type': contentType, 'content-length': String(contentLength), ...contract },
          signableHeaders: names, unhoistableHeaders: unhoistable,
        });
        expect(ours).toBe(sdk);
      }), RUNS);
  }, 120_000);

  it('UploadPart URLs with the part checksum as a signed header', async () => {
    await fc.assert(fc.asyncProperty(target, objectKey, fc.integer({ min: 1, max: 10_000 }), fc.stringMatching(/^[A-Za-z0-9._~+/=-]{1,60}$/), fc.integer({ min: 1, max: 5 * 1024 ** 3 }), checksum, expires, signingDate, credentials,
      async (t, key, partNumber, uploadId, contentLength, sum, expiresIn, date, creds) => {
        const contract = sum === undefined ? {} : { [CHECKSUM_HEADER[sum.algorithm]]: sum.value };
        const names = new Set(['content-length', ...Object.keys(contract)]);
        const unhoistable = new Set(Object.keys(contract));
        const sdk = await getSignedUrl(sdkClient(t, creds), new UploadPartCommand({
          Bucket: t.bucket, Key: key, UploadId: uploadId, PartNumber: partNumber, ContentLength: contentLength,
          ...(sum === undefined ? {} : commandFields({ checksum: sum, noOverwrite: false, tags: {}, metadata: {} })),
        }), { expiresIn, signableHeaders: names, unhoistableHeaders: unhoistable, signingDate: date });
        const ours = await fast.presignUrl(creds, {
          operation: 'UploadPart', target: t, key, expiresInSeconds: expiresIn, signingDate: date,
          query: { partNumber: String(partNumber), uploadId },
          headers: { 'content-length': String(contentLength), ...contract },
          signableHeaders: names, unhoistableHeaders: unhoistable,
        });
        expect(ours).toBe(sdk);
      }), RUNS);
  }, 120_000);

  it('GET URLs, with and without a signed response-content-disposition', async () => {
    await fc.assert(fc.asyncProperty(target, objectKey, fc.option(fc.string({ unit: keyUnit, maxLength: 40 }).map((n) => `attachment; filename="${n}"`), { nil: undefined }), expires, signingDate, credentials,
      async (t, key, disposition, expiresIn, date, creds) => {
        const sdk = await getSignedUrl(sdkClient(t, creds), new GetObjectCommand({
          Bucket: t.bucket, Key: key, ...(disposition === undefined ? {} : { ResponseContentDisposition: disposition }),
        }), { expiresIn, signingDate: date });
        const ours = await fast.presignUrl(creds, {
          operation: 'GetObject', target: t, key, expiresInSeconds: expiresIn, signingDate: date,
          ...(disposition === undefined ? {} : { query: { 'response-content-disposition': disposition } }),
        });
        expect(ours).toBe(sdk);
      }), RUNS);
  }, 120_000);
});
