import { describe, expect, it } from '@jest/globals';
import { S3Presigner } from '../../src/adapters/aws/s3Presigner.js';
import type { PresignBase, S3Target, TemporaryCredentials } from '../../src/domain/model.js';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const signingDate = new Date(NOW);
const credentials: TemporaryCredentials = {
  accessKeyId: 'ASIAEXAMPLESESSION',
  secretAccessKey: 'session-secret',
  sessionToken: 'session/token+with=chars',
  expiration: new Date(NOW + 3600_000),
};
const local: S3Target = { bucket: 'partner-bucket', region: 'ap-northeast-1', endpoint: 'http://127.0.0.1:7480', forcePathStyle: true };
const aws: S3Target = { bucket: 'partner-bucket', region: 'ap-northeast-1', forcePathStyle: false };

function base(target: S3Target = local, overrides: Partial<PresignBase> = {}): PresignBase {
  return { credentials, target, key: 'acme/reports/q1 2026.pdf', expiresInSeconds: 300, signingDate, ...overrides };
}

function query(url: string): URLSearchParams {
  return new URL(url).searchParams;
}

describe('S3Presigner.presignPut', () => {
  const input = { ...base(), contentType: 'application/pdf', contentLength: 1234 };

  it('signs content-length and content-type, path-style on the endpoint, for exactly expiresInSeconds', async () => {
    const { url, headers } = await new S3Presigner().presignPut(input);
    const parsed = new URL(url);
    expect(`${parsed.origin}${parsed.pathname}`).toBe('http://127.0.0.1:7480/partner-bucket/acme/reports/q1%202026.pdf');
    const q = query(url);
    expect(q.get('X-Amz-SignedHeaders')).toBe('content-length;content-type;host');
    expect(q.get('X-Amz-Expires')).toBe('300');
    expect(q.get('X-Amz-Date')).toBe('20260301T120000Z');
    expect(q.get('X-Amz-Credential')).toBe('ASIAEXAMPLESESSION/20260301/ap-northeast-1/s3/aws4_request');
    expect(q.get('X-Amz-Security-Token')).toBe(credentials.sessionToken);
    expect(q.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    expect(headers).toEqual({ 'Content-Type': 'application/pdf', 'Content-Length': '1234' });
  });

  it('keeps no checksum parameters in the URL (WHEN_REQUIRED)', async () => {
    const { url } = await new S3Presigner().presignPut(input);
    expect([...query(url).keys()].filter((k) => /checksum/i.test(k))).toEqual([]);
  });

  it('uses virtual-hosted style on real S3', async () => {
    const { url } = await new S3Presigner().presignPut({ ...input, target: aws });
    const parsed = new URL(url);
    expect(`${parsed.origin}${parsed.pathname}`).toBe('https://partner-bucket.s3.ap-northeast-1.amazonaws.com/acme/reports/q1%202026.pdf');
  });

  it('ignores endpoint URLs configured in the environment: the endpoint comes from the broker config only', async () => {
    const saved = { s3: process.env.AWS_ENDPOINT_URL_S3, all: process.env.AWS_ENDPOINT_URL };
    process.env.AWS_ENDPOINT_URL_S3 = 'http://attacker.example:9000';
    process.env.AWS_ENDPOINT_URL = 'http://attacker.example:9001';
    try {
      const { url } = await new S3Presigner().presignPut({ ...input, target: aws });
      expect(new URL(url).origin).toBe('https://partner-bucket.s3.ap-northeast-1.amazonaws.com');
    } finally {
      for (const [name, value] of [['AWS_ENDPOINT_URL_S3', saved.s3], ['AWS_ENDPOINT_URL', saved.all]] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });

  it('signs each call with its own credentials (no client or credential reuse across calls)', async () => {
    const presigner = new S3Presigner();
    const other: TemporaryCredentials = { ...credentials, accessKeyId: 'ASIAOTHERSESSION', sessionToken: 'other-token' };
    const first = query((await presigner.presignPut(input)).url);
    const second = query((await presigner.presignPut({ ...input, credentials: other })).url);
    const third = query((await presigner.presignPut(input)).url);
    expect(second.get('X-Amz-Credential')).toMatch(/^ASIAOTHERSESSION\//);
    expect(second.get('X-Amz-Security-Token')).toBe('other-token');
    expect(third.get('X-Amz-Credential')).toMatch(/^ASIAEXAMPLESESSION\//);
    expect(third.get('X-Amz-Signature')).toBe(first.get('X-Amz-Signature'));
  });

  it('signs the declared length: another length gives another signature', async () => {
    const presigner = new S3Presigner();
    const a = query((await presigner.presignPut(input)).url).get('X-Amz-Signature');
    const b = query((await presigner.presignPut({ ...input, contentLength: 1235 })).url).get('X-Amz-Signature');
    expect(a).not.toBe(b);
  });

  it.each([0, 604801, 1.5])('refuses expiresInSeconds %p', async (expiresInSeconds) => {
    await expect(new S3Presigner().presignPut({ ...input, expiresInSeconds })).rejects.toThrow('expiresInSeconds must be an integer in 1..604800');
  });

  it('refuses an invalid signingDate', async () => {
    await expect(new S3Presigner().presignPut({ ...input, signingDate: new Date('nope') })).rejects.toThrow('signingDate must be a valid date');
  });

  it('signs at the given signingDate, not at the wall clock', async () => {
    const later = new Date(NOW + 86_400_000);
    const q = query((await new S3Presigner().presignPut({ ...input, signingDate: later })).url);
    expect(q.get('X-Amz-Date')).toBe('20260302T120000Z');
  });

  it('accepts both expiry bounds', async () => {
    const presigner = new S3Presigner();
    expect(query((await presigner.presignPut({ ...input, expiresInSeconds: 1 })).url).get('X-Amz-Expires')).toBe('1');
    expect(query((await presigner.presignPut({ ...input, expiresInSeconds: 604800 })).url).get('X-Amz-Expires')).toBe('604800');
  });
});

describe('S3Presigner.presignGet', () => {
  it('signs response-content-disposition when given', async () => {
    const disposition = 'attachment; filename="q1 2026.pdf"; filename*=UTF-8\'\'q1%202026.pdf';
    const { url } = await new S3Presigner().presignGet({ ...base(), expiresInSeconds: 120, contentDisposition: disposition });
    const q = query(url);
    expect(q.get('response-content-disposition')).toBe(disposition);
    expect(q.get('X-Amz-Expires')).toBe('120');
    expect(q.get('X-Amz-SignedHeaders')).toBe('host');
    expect(q.get('X-Amz-Security-Token')).toBe(credentials.sessionToken);
    expect(new URL(url).pathname).toBe('/partner-bucket/acme/reports/q1%202026.pdf');
  });

  it('adds no response-content-disposition when none is given', async () => {
    const { url } = await new S3Presigner().presignGet(base());
    expect(query(url).has('response-content-disposition')).toBe(false);
  });
});

describe('S3Presigner.presignPost', () => {
  const input = { ...base(), contentType: 'image/png', maxBytes: 26214400 };

  function decodePolicy(fields: Record<string, string>): { expiration: string; conditions: unknown[] } {
    return JSON.parse(Buffer.from(fields.Policy ?? '', 'base64').toString('utf8')) as { expiration: string; conditions: unknown[] };
  }

  it('posts to the bucket URL, path-style on the endpoint', async () => {
    const { url } = await new S3Presigner().presignPost(input);
    expect(url).toBe('http://127.0.0.1:7480/partner-bucket');
  });

  it('returns the form fields, including the session token', async () => {
    const { fields } = await new S3Presigner().presignPost(input);
    expect(fields).toEqual({
      'Content-Type': 'image/png',
      bucket: 'partner-bucket',
      'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
      'X-Amz-Credential': 'ASIAEXAMPLESESSION/20260301/ap-northeast-1/s3/aws4_request',
      'X-Amz-Date': '20260301T120000Z',
      'X-Amz-Security-Token': credentials.sessionToken,
      key: 'acme/reports/q1 2026.pdf',
      Policy: expect.any(String),
      'X-Amz-Signature': expect.stringMatching(/^[0-9a-f]{64}$/),
    });
  });

  it('pins key, Content-Type, bucket, 1..maxBytes and the token in the policy, expiring after expiresInSeconds', async () => {
    const { fields } = await new S3Presigner().presignPost(input);
    expect(decodePolicy(fields)).toEqual({
      expiration: '2026-03-01T12:05:00Z',
      conditions: [
        ['eq', '$key', 'acme/reports/q1 2026.pdf'],
        ['eq', '$Content-Type', 'image/png'],
        { bucket: 'partner-bucket' },
        ['content-length-range', 1, 26214400],
        { 'Content-Type': 'image/png' },
        { 'X-Amz-Algorithm': 'AWS4-HMAC-SHA256' },
        { 'X-Amz-Credential': 'ASIAEXAMPLESESSION/20260301/ap-northeast-1/s3/aws4_request' },
        { 'X-Amz-Date': '20260301T120000Z' },
        { 'X-Amz-Security-Token': credentials.sessionToken },
        { key: 'acme/reports/q1 2026.pdf' },
      ],
    });
  });

  it('uses virtual-hosted style on real S3', async () => {
    const { url } = await new S3Presigner().presignPost({ ...input, target: aws });
    expect(url).toBe('https://partner-bucket.s3.ap-northeast-1.amazonaws.com/');
  });

  it.each([0, -1, 2.5])('refuses maxBytes %p', async (maxBytes) => {
    await expect(new S3Presigner().presignPost({ ...input, maxBytes })).rejects.toThrow('maxBytes must be a positive integer');
  });
});

describe('S3Presigner.presignUploadPart', () => {
  const input = { ...base(), uploadId: '2~upload/id+x', partNumber: 3, contentLength: 5242880 };

  it('signs content-length for that upload id and part number, path-style on the endpoint', async () => {
    const { url, headers } = await new S3Presigner().presignUploadPart(input);
    const parsed = new URL(url);
    expect(`${parsed.origin}${parsed.pathname}`).toBe('http://127.0.0.1:7480/partner-bucket/acme/reports/q1%202026.pdf');
    const q = query(url);
    expect(q.get('uploadId')).toBe('2~upload/id+x');
    expect(q.get('partNumber')).toBe('3');
    expect(q.get('X-Amz-SignedHeaders')).toBe('content-length;host');
    expect(q.get('X-Amz-Expires')).toBe('300');
    expect(q.get('X-Amz-Date')).toBe('20260301T120000Z');
    expect(q.get('X-Amz-Security-Token')).toBe(credentials.sessionToken);
    expect([...q.keys()].filter((k) => /checksum/i.test(k))).toEqual([]);
    expect(headers).toEqual({ 'Content-Length': '5242880' });
  });

  it('binds the length, the part number and the upload id: changing any gives another signature', async () => {
    const presigner = new S3Presigner();
    const signature = async (change: Partial<typeof input>) => query((await presigner.presignUploadPart({ ...input, ...change })).url).get('X-Amz-Signature');
    const original = await signature({});
    expect(await signature({})).toBe(original);
    for (const change of [{ contentLength: 5242881 }, { partNumber: 4 }, { uploadId: '2~other' }]) {
      expect(await signature(change)).not.toBe(original);
    }
  });

  it.each([
    ['part 0', { partNumber: 0 }, 'partNumber must be an integer in 1..10000'],
    ['part 10001', { partNumber: 10001 }, 'partNumber must be an integer in 1..10000'],
    ['an empty part', { contentLength: 0 }, 'contentLength must be an integer in 1..5368709120'],
    ['a part over 5 GiB', { contentLength: 5 * 1024 ** 3 + 1 }, 'contentLength must be an integer in 1..5368709120'],
    ['an empty upload id', { uploadId: '' }, 'uploadId must not be empty'],
  ])('refuses %s (a wiring bug: the routes validate first)', async (_label, change, message) => {
    await expect(new S3Presigner().presignUploadPart({ ...input, ...change })).rejects.toThrow(message);
  });
  it('presignUploadParts: one URL per part, in order, each the one presignUploadPart gives (checksums included)', async () => {
    const parts = [
      { partNumber: 1, contentLength: 5242880 },
      { partNumber: 2, contentLength: 5242880, checksum: { algorithm: 'sha256' as const, value: Buffer.alloc(32, 7).toString('base64') } },
      { partNumber: 3, contentLength: 17 },
    ];
    // A fresh presigner: the first part resolves the endpoint, the rest sign synchronously.
    const batch = await new S3Presigner().presignUploadParts({ ...base(), uploadId: input.uploadId, parts });
    const single = new S3Presigner();
    const one = await Promise.all(parts.map((part) => single.presignUploadPart({ ...base(), uploadId: input.uploadId, ...part })));
    expect(batch).toEqual(one);
    expect(query(batch[1]!.url).get('X-Amz-SignedHeaders')).toBe('content-length;host;x-amz-checksum-sha256');
    await expect(new S3Presigner().presignUploadParts({ ...base(), uploadId: input.uploadId, parts: [parts[0]!, { partNumber: 10001, contentLength: 1 }] }))
      .rejects.toThrow('partNumber must be an integer in 1..10000');
  });
});
