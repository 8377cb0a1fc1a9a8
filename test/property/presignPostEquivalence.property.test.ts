/**
 * The fast POST-form signer (src/adapters/aws/sigv4Post.ts through SigV4Presigner.presignPost)
 * against the SDK's createPresignedPost, called with the same Bucket, Key, Conditions, Fields and
 * Expires the S3 adapter passes: for the same credentials and signing instant the fields (names,
 * order and values, signature included), the decoded policy (text, not just structure) and the
 * form's URL must be identical, for random keys (Unicode, spaces, `+`, `%`, `${filename}`),
 * upload contracts, targets, regions, endpoints, expiries and signing instants.
 *
 * createPresignedPost has no signing-date option: it signs at Date.now() + the client's
 * systemClockOffset. Date.now is pinned to the instant for its call, so both sign at exactly the
 * same millisecond (X-Amz-Date and the policy's expiration depend on it).
 */
import { describe, expect, it, jest } from '@jest/globals';
import { S3Client } from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { getSigningKey } from '@smithy/signature-v4';
import fc from 'fast-check';
import { clientConfig, postContractFields, S3Presigner } from '../../src/adapters/aws/s3Presigner.js';
import { SigV4Presigner } from '../../src/adapters/aws/sigv4Presign.js';
import { deriveSigningKey } from '../../src/adapters/aws/sigv4Post.js';
import type { S3Target, TemporaryCredentials, UploadTerms } from '../../src/domain/model.js';

const RUNS = { numRuns: 300 };

const keyUnit = fc.oneof(
  fc.constantFrom('a', 'Z', '0', '/', ' ', '+', '%', '%2F', '&', '=', '?', '#', '!', "'", '(', ')', '*', '~', '.', '-', '_', ':', '@', ',', ';', '$', '[', ']', '"', '\\', '<', '>', '\n', '\t', '\u2028'),
  fc.constantFrom('é', 'e\u0301', '€', '😀', '日本', '\u00a0', 'ß', '\ud800'),
);
const objectKey = fc.oneof(
  fc.string({ unit: keyUnit, minLength: 1, maxLength: 60 }),
  fc.string({ unit: keyUnit, maxLength: 30 }).map((prefix) => `${prefix}\${filename}`),
);
const target = fc.constantFrom<S3Target>(
  { bucket: 'partner-bucket', region: 'eu-central-1', forcePathStyle: false },
  { bucket: 'partner-bucket', region: 'us-east-1', forcePathStyle: false },
  { bucket: 'bucket.with.dots', region: 'us-west-2', forcePathStyle: false },
  { bucket: 'cn-bucket', region: 'cn-north-1', forcePathStyle: false },
  { bucket: 'gov-bucket', region: 'us-gov-west-1', forcePathStyle: false },
  { bucket: 'local-bucket', region: 'us-east-1', endpoint: 'http://127.0.0.1:17580', forcePathStyle: true },
  { bucket: 'local-bucket', region: 'eu-west-1', endpoint: 'https://s3.example.test', forcePathStyle: false },
  { bucket: 'local-bucket', region: 'eu-west-1', endpoint: 'https://s3.example.test:8443/base', forcePathStyle: true },
);
const text = fc.string({ unit: keyUnit, minLength: 1, maxLength: 20 });
// Tag values are configured text: well-formed Unicode (a lone surrogate cannot be URL-encoded into the tagging header).
const tagText = fc.string({ unit: fc.oneof(fc.constantFrom('a', ' ', '+', '%', '&', '=', '/', '<', '"'), fc.constantFrom('é', '€', '😀', '日本')), minLength: 1, maxLength: 20 });
const base64of = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((b) => Buffer.from(b).toString('base64'));
const checksum = fc.oneof(
  fc.constant(undefined),
  base64of(16).map((value) => ({ algorithm: 'md5' as const, value })),
  base64of(32).map((value) => ({ algorithm: 'sha256' as const, value })),
  base64of(4).map((value) => ({ algorithm: 'crc32c' as const, value })),
);
// Forms never carry write-once contracts (the adapter refuses them first).
const terms: fc.Arbitrary<UploadTerms | undefined> = fc.option(fc.record({
  checksum,
  noOverwrite: fc.constant(false),
  tags: fc.dictionary(fc.stringMatching(/^[a-zA-Z0-9 _.:/=+@-]{1,12}$/), tagText, { maxKeys: 3 }),
  metadata: fc.dictionary(fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,10}$/), fc.stringMatching(/^[ -~]{0,20}$/), { maxKeys: 3 }),
  encryption: fc.option(fc.oneof(
    fc.constant({ type: 'AES256' as const }),
    fc.constant({ type: 'aws:kms' as const, keyId: 'arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab' }),
  ), { nil: undefined }),
}), { nil: undefined });
const contentType = fc.oneof(fc.stringMatching(/^[a-z]+\/[a-z0-9.+-]{1,20}$/), fc.constant('text/plain; charset="utf-8"'));
const maxBytes = fc.oneof(fc.integer({ min: 1, max: 1024 }), fc.integer({ min: 1, max: 5 * 1024 ** 3 }));
const expires = fc.integer({ min: 1, max: 43_200 });
// Any millisecond: X-Amz-Date keeps the second, the expiration drops the milliseconds after adding.
const signingDate = fc.integer({ min: Date.UTC(2024, 0, 1), max: Date.UTC(2030, 0, 1) }).map((ms) => new Date(ms));
const credentials = fc.record({
  accessKeyId: fc.stringMatching(/^ASIA[A-Z0-9]{16}$/),
  secretAccessKey: fc.stringMatching(/^[A-Za-z0-9/+]{40}$/),
  sessionToken: fc.stringMatching(/^[A-Za-z0-9/+=]{20,80}$/),
}).map((c): TemporaryCredentials => ({ ...c, expiration: new Date(Date.UTC(2100, 0, 1)) }));

/** createPresignedPost at exactly `instant` (its only clock read is Date.now()). */
async function sdkPost(t: S3Target, c: TemporaryCredentials, instant: Date, input: Parameters<typeof createPresignedPost>[1]) {
  const client = new S3Client(clientConfig(t, c, 0));
  const clock = jest.spyOn(Date, 'now').mockReturnValue(instant.getTime());
  try {
    return await createPresignedPost(client, input);
  } finally {
    clock.mockRestore();
    client.destroy();
  }
}

function decodePolicy(fields: Record<string, string>): string {
  return Buffer.from(fields.Policy ?? '', 'base64').toString('utf8');
}

describe('POST forms: identical to createPresignedPost', () => {
  it('the S3 adapter\'s forms (key, Content-Type, bucket, size range, every contract field, session token): fields in order, policy text, URL', async () => {
    const adapter = new S3Presigner();
    await fc.assert(fc.asyncProperty(target, objectKey, terms, contentType, maxBytes, expires, signingDate, credentials,
      async (t, key, uploadTerms, type, max, expiresIn, date, creds) => {
        const contract = postContractFields(uploadTerms);
        // Exactly what S3Presigner.presignPost hands its signer.
        const sdk = await sdkPost(t, creds, date, {
          Bucket: t.bucket,
          Key: key,
          Conditions: [
            ['eq', '$key', key],
            ['eq', '$Content-Type', type],
            { bucket: t.bucket },
            ['content-length-range', 1, max],
            ...Object.entries(contract).map(([k, v]): ['eq', string, string] => ['eq', `$${k}`, v]),
          ],
          Fields: { 'Content-Type': type, ...contract },
          Expires: expiresIn,
        });
        const ours = await adapter.presignPost({
          credentials: creds, target: t, key, contentType: type, maxBytes: max, terms: uploadTerms, expiresInSeconds: expiresIn, signingDate: date,
        });
        expect(ours.url).toBe(sdk.url);
        expect(decodePolicy(ours.fields)).toBe(decodePolicy(sdk.fields));
        // Same names in the same order with the same values (toEqual alone ignores order).
        expect(Object.entries(ours.fields)).toEqual(Object.entries(sdk.fields));
      }), RUNS);
  }, 180_000);

  it('arbitrary conditions and fields, with and without a session token, duplicated conditions kept once', async () => {
    const fast = new SigV4Presigner(clientConfig);
    const fieldName = fc.oneof(fc.constantFrom('Content-Type', 'acl', 'success_action_status', 'x-amz-meta-a', 'tagging', 'bucket', 'key'), fc.stringMatching(/^[a-z-]{1,8}$/));
    const condition = fc.oneof(
      fc.tuple(fc.constant('eq'), fieldName.map((n) => `$${n}`), text),
      fc.tuple(fc.constant('starts-with'), fieldName.map((n) => `$${n}`), fc.string({ unit: keyUnit, maxLength: 10 })),
      fc.tuple(fc.constant('content-length-range'), fc.nat(1000), fc.integer({ min: 1000, max: 2 ** 40 })),
      fc.dictionary(fieldName, text, { minKeys: 1, maxKeys: 1 }),
    );
    await fc.assert(fc.asyncProperty(target, objectKey, fc.array(condition, { maxLength: 6 }), fc.dictionary(fieldName, text, { maxKeys: 4 }), expires, signingDate, credentials, fc.boolean(),
      async (t, key, conditions, extra, expiresIn, date, creds, withToken) => {
        // Duplicates on purpose: the same condition twice, and one equal to a signing field.
        const all = conditions.length === 0 ? conditions : [...conditions, conditions[0]!, { bucket: t.bucket }];
        const used = withToken ? creds : { ...creds, sessionToken: '' };
        const sdk = await sdkPost(t, used, date, { Bucket: t.bucket, Key: key, Conditions: all as never, Fields: extra, Expires: expiresIn });
        const ours = await fast.presignPost(used, t, { key, conditions: all, fields: extra, expiresInSeconds: expiresIn, signingDate: date });
        expect(ours.url).toBe(sdk.url);
        expect(decodePolicy(ours.fields)).toBe(decodePolicy(sdk.fields));
        expect(Object.entries(ours.fields)).toEqual(Object.entries(sdk.fields));
      }), RUNS);
  }, 180_000);

  it('the signing key is the SDK\'s (getSigningKey with the S3 client\'s sha256, as createPresignedPost calls it) for any secret, day and region', async () => {
    const client = new S3Client(clientConfig({ bucket: 'b', region: 'eu-central-1', forcePathStyle: false }, { accessKeyId: 'A', secretAccessKey: 'S', sessionToken: 'T', expiration: new Date(8.64e15) }, 0));
    const sha256 = client.config.sha256;
    client.destroy();
    await fc.assert(fc.asyncProperty(fc.stringMatching(/^[A-Za-z0-9/+]{40}$/), signingDate, fc.constantFrom('eu-central-1', 'us-east-1', 'cn-north-1'), fc.constantFrom('s3', 'sts'),
      async (secret, date, region, service) => {
        const day = date.toISOString().slice(0, 10).replace(/-/g, '');
        const sdk = await getSigningKey(sha256, { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: secret }, day, region, service);
        expect(deriveSigningKey(secret, day, region, service).toString('hex')).toBe(Buffer.from(sdk).toString('hex'));
      }), { numRuns: 100 });
  }, 60_000);
});
