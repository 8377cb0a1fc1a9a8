/**
 * The bench's SDK form floor (scripts/bench/sdkFloor.ts SdkFloorSigner.presignPost) signs the form
 * the SDK's real createPresignedPost signs, and the form the broker's own signer
 * (SigV4Presigner.presignPost) signs: same action URL, same field names in the same order, same
 * values (Policy base64 and signature included), for the bench's conditions and a few awkward keys.
 * And assertSameForm, the check the bench runs before timing, refuses a form that differs.
 *
 * createPresignedPost has no signing-date option: it signs at Date.now() + the client's
 * systemClockOffset (0 here), so Date.now is pinned to the instant for its call.
 */
import { describe, expect, it, jest } from '@jest/globals';
import { S3Client } from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { SdkFloorSigner, type PostFormRequest } from '../../scripts/bench/sdkFloor.js';
import { clientConfig } from '../../src/adapters/aws/s3Presigner.js';
import { SigV4Presigner } from '../../src/adapters/aws/sigv4Presign.js';
import type { S3Target, TemporaryCredentials } from '../../src/domain/model.js';

// Milliseconds on purpose: X-Amz-Date keeps the second, the expiration drops the milliseconds after adding.
const INSTANT = new Date(Date.UTC(2026, 10, 30, 23, 59, 59, 987));
const credentials: TemporaryCredentials = {
  accessKeyId: 'ASIABENCHFLOOR000001',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYBENCHFLOOR1',
  sessionToken: 'FwoGZXIvYXdzEBench+Session/Token==',
  expiration: new Date(Date.UTC(2100, 0, 1)),
};
const KEYS = ['bench/users/alice/photo.jpg', 'bench/users/alice/my holiday photo.jpg', 'bench/ü/日本 😀 e\u0301+%2F&=.jpg', 'bench/uploads/${filename}'];
const TARGETS: S3Target[] = [
  { bucket: 'bench-bucket', region: 'eu-central-1', forcePathStyle: false },
  { bucket: 'partner-bucket', region: 'us-east-1', forcePathStyle: false },
];

/** The bench's form: the conditions and fields the S3 adapter hands its signer for an uploads POST form. */
const form = (t: S3Target, key: string): PostFormRequest => ({
  key,
  conditions: [['eq', '$key', key], ['eq', '$Content-Type', 'image/jpeg'], { bucket: t.bucket }, ['content-length-range', 1, 10 * 1024 * 1024]],
  fields: { 'Content-Type': 'image/jpeg' },
  expiresInSeconds: 900,
  signingDate: INSTANT,
});

/** createPresignedPost at exactly `INSTANT` (its only clock read is Date.now()). */
async function sdkPost(t: S3Target, request: PostFormRequest) {
  const client = new S3Client(clientConfig(t, credentials, 0));
  const clock = jest.spyOn(Date, 'now').mockReturnValue(INSTANT.getTime());
  try {
    return await createPresignedPost(client, {
      Bucket: t.bucket, Key: request.key, Conditions: request.conditions as never, Fields: { ...request.fields }, Expires: request.expiresInSeconds,
    });
  } finally {
    clock.mockRestore();
    client.destroy();
  }
}

describe('bench SDK form floor', () => {
  it('signs the form createPresignedPost signs and the broker signs: URL, field order, values, Policy, signature', async () => {
    const broker = new SigV4Presigner(clientConfig);
    for (const t of TARGETS) {
      const floor = new SdkFloorSigner(credentials, t.bucket, t.region);
      for (const key of KEYS) {
        const request = form(t, key);
        const [ours, sdk, fast] = await Promise.all([floor.presignPost(request), sdkPost(t, request), broker.presignPost(credentials, t, request)]);
        expect(ours.url).toBe(sdk.url);
        // Same names in the same order with the same values (toEqual alone ignores order).
        expect(Object.entries(ours.fields)).toEqual(Object.entries(sdk.fields));
        expect(ours.url).toBe(fast.url);
        expect(Object.entries(ours.fields)).toEqual(Object.entries(fast.fields));
        // Not vacuous: the form is signed at the pinned instant, with the token and the key's condition.
        expect(ours.fields['X-Amz-Date']).toBe('20261130T235959Z');
        expect(ours.fields['X-Amz-Security-Token']).toBe(credentials.sessionToken);
        const policy = JSON.parse(Buffer.from(ours.fields.Policy!, 'base64').toString('utf8')) as { expiration: string; conditions: unknown[] };
        expect(policy.expiration).toBe('2026-12-01T00:14:59Z');
        expect(policy.conditions.at(-1)).toEqual(key.endsWith('${filename}') ? ['starts-with', '$key', 'bench/uploads/'] : { key });
      }
    }
  });

  it('assertSameForm passes the broker\'s own form and stops on any difference, without printing the session token', async () => {
    const t = TARGETS[0]!;
    const floor = new SdkFloorSigner(credentials, t.bucket, t.region);
    const broker = new SigV4Presigner(clientConfig);
    const real = (request: PostFormRequest) => broker.presignPost(credentials, t, request);
    await expect(floor.assertSameForm(form(t, KEYS[2]!), real, 'a POST form')).resolves.toBeUndefined();

    // A policy one condition off (another size range): the Policy and so the signature differ.
    const otherRange = (request: PostFormRequest) => real({ ...request, conditions: [...request.conditions.slice(0, 3), ['content-length-range', 1, 5]] });
    const error = await floor.assertSameForm(form(t, KEYS[0]!), otherRange, 'a POST form').then(() => undefined, (e: unknown) => e as Error);
    expect(error?.message).toMatch(/another POST form than the broker for a POST form/);
    expect(error?.message).toMatch(/Policy differs/);
    expect(error?.message).toMatch(/X-Amz-Signature differs/);
    expect(error?.message).not.toContain(credentials.sessionToken);

    // Same values, another field order.
    const reordered = async (request: PostFormRequest) => {
      const { url, fields } = await real(request);
      const { bucket, ...rest } = fields;
      return { url, fields: { ...rest, bucket: bucket! } };
    };
    await expect(floor.assertSameForm(form(t, KEYS[0]!), reordered, 'a POST form')).rejects.toThrow(/field names\/order/);

    // Another action URL.
    const elsewhere = async (request: PostFormRequest) => ({ ...(await real(request)), url: 'https://bench-bucket.s3.eu-west-1.amazonaws.com/' });
    await expect(floor.assertSameForm(form(t, KEYS[0]!), elsewhere, 'a POST form')).rejects.toThrow(/action URL/);
  });
});
