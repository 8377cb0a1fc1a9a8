/**
 * The fast presigner's signer cache, against an injected clock: a refreshed session never signs with
 * the previous session's secret, and no signer outlives its session.
 */
import { describe, expect, it } from '@jest/globals';
import { clientConfig } from '../../src/adapters/aws/s3Presigner.js';
import { SigV4Presigner, type PresignRequest } from '../../src/adapters/aws/sigv4Presign.js';
import type { TemporaryCredentials } from '../../src/domain/model.js';

const T0 = Date.UTC(2026, 0, 1, 12);
const request: PresignRequest = {
  operation: 'PutObject',
  target: { bucket: 'partner-bucket', region: 'eu-central-1', forcePathStyle: false },
  key: 'acme/users/alice/photo.jpg',
  headers: { 'content-type': 'image/jpeg', 'content-length': '1024' },
  signableHeaders: new Set(['content-type', 'content-length']),
  expiresInSeconds: 300,
  signingDate: new Date(T0),
};
const session = (id: string, secret: string, expiresAt: number): TemporaryCredentials =>
  ({ accessKeyId: id, secretAccessKey: secret, sessionToken: `token-${id}-${secret}`, expiration: new Date(expiresAt) });
const param = (url: string, name: string) => new URL(url).searchParams.get(name);

describe('SigV4Presigner signer per session', () => {
  it('a refreshed session signs with its own credentials, and the expired one is dropped', async () => {
    let now = T0;
    const presigner = new SigV4Presigner(clientConfig, () => now);
    const first = session('ASIAFIRST', 'secret-one', T0 + 3_600_000);
    const second = session('ASIASECOND', 'secret-two', T0 + 7_200_000);
    const a = await presigner.presignUrl(first, request);
    expect(param(a, 'X-Amz-Credential')).toMatch(/^ASIAFIRST\//);
    expect(presigner.signerCount).toBe(1);

    now = T0 + 3_600_000; // the first session expires; the cache refreshed it
    const b = await presigner.presignUrl(second, request);
    expect(param(b, 'X-Amz-Credential')).toMatch(/^ASIASECOND\//);
    expect(param(b, 'X-Amz-Security-Token')).toBe(second.sessionToken);
    // Same request, same instant: a different signature proves another secret signed it.
    expect(param(b, 'X-Amz-Signature')).not.toBe(param(a, 'X-Amz-Signature'));
    expect(presigner.signerCount).toBe(1);
  });

  it('the same key id with another secret or token gets a new signer, never the cached one', async () => {
    const presigner = new SigV4Presigner(clientConfig, () => T0);
    const old = session('ASIASAME', 'secret-old', T0 + 3_600_000);
    const renewed = session('ASIASAME', 'secret-new', T0 + 3_600_000);
    const a = await presigner.presignUrl(old, request);
    const b = await presigner.presignUrl(renewed, request);
    expect(param(b, 'X-Amz-Signature')).not.toBe(param(a, 'X-Amz-Signature'));
    expect(param(b, 'X-Amz-Security-Token')).toBe(renewed.sessionToken);
    // And back: the old secret is not remembered under that key id.
    const c = await presigner.presignUrl(old, request);
    expect(param(c, 'X-Amz-Signature')).toBe(param(a, 'X-Amz-Signature'));
    expect(presigner.signerCount).toBe(1);
  });

  it('reuses one signer while the session lives, and keeps none once it has expired', async () => {
    let now = T0;
    const presigner = new SigV4Presigner(clientConfig, () => now);
    const creds = session('ASIAREUSE', 'secret', T0 + 60_000);
    const urls = [await presigner.presignUrl(creds, request), await presigner.presignUrl(creds, { ...request, key: 'acme/other.jpg' })];
    expect(urls[0]).not.toBe(urls[1]);
    expect(presigner.signerCount).toBe(1);
    now = T0 + 60_000;
    // Expired credentials still sign what they are given (as getSignedUrl does), but no signer is kept for them.
    const late = await presigner.presignUrl(creds, request);
    expect(late).toBe(urls[0]);
    expect(presigner.signerCount).toBe(0);
  });

  it('drops every expired signer on the next call, whoever calls', async () => {
    let now = T0;
    const presigner = new SigV4Presigner(clientConfig, () => now);
    for (let i = 0; i < 5; i += 1) await presigner.presignUrl(session(`ASIASHORT${i}`, 's', T0 + 1_000), request);
    expect(presigner.signerCount).toBe(5);
    now = T0 + 1_000;
    await presigner.presignUrl(session('ASIALONG', 's', T0 + 3_600_000), request);
    expect(presigner.signerCount).toBe(1);
  });

  it('does not sign with credentials changed after its signer was built', async () => {
    const presigner = new SigV4Presigner(clientConfig, () => T0);
    const creds = session('ASIAMUTATE', 'secret-a', T0 + 3_600_000);
    const a = await presigner.presignUrl(creds, request);
    creds.secretAccessKey = 'secret-b';
    const b = await presigner.presignUrl(creds, request);
    expect(param(b, 'X-Amz-Signature')).not.toBe(param(a, 'X-Amz-Signature'));
    const fresh = await new SigV4Presigner(clientConfig, () => T0).presignUrl({ ...creds }, request);
    expect(b).toBe(fresh);
  });

  it('a POST form never signs with a key derived for other credentials: renewed secret, and back', async () => {
    const presigner = new SigV4Presigner(clientConfig, () => T0);
    const form = { key: request.key, conditions: [], fields: {}, expiresInSeconds: 300, signingDate: new Date(T0) };
    const old = session('ASIAPOST', 'secret-old', T0 + 3_600_000);
    const renewed = session('ASIAPOST', 'secret-new', T0 + 3_600_000);
    const a = await presigner.presignPost(old, request.target, form);
    const b = await presigner.presignPost(renewed, request.target, form);
    const fresh = await new SigV4Presigner(clientConfig, () => T0).presignPost(renewed, request.target, form);
    expect(b.fields['X-Amz-Signature']).not.toBe(a.fields['X-Amz-Signature']);
    expect(b.fields).toEqual(fresh.fields);
    expect((await presigner.presignPost(old, request.target, form)).fields).toEqual(a.fields);
    expect(presigner.signerCount).toBe(1);
  });

  it('keeps no signing state for a POST form signed with expired credentials', async () => {
    const presigner = new SigV4Presigner(clientConfig, () => T0);
    const expired = session('ASIAOLD', 'secret', T0);
    const form = { key: request.key, conditions: [], fields: {}, expiresInSeconds: 300, signingDate: new Date(T0) };
    const { fields } = await presigner.presignPost(expired, request.target, form);
    expect(fields['X-Amz-Credential']).toMatch(/^ASIAOLD\//);
    expect(presigner.signerCount).toBe(0);
  });

  it('presignUrlNow: nothing before the target\'s endpoint is resolved, then the same URL as presignUrl without a promise', async () => {
    const presigner = new SigV4Presigner(clientConfig, () => T0);
    const creds = session('ASIANOW', 'secret', T0 + 3_600_000);
    expect(presigner.presignUrlNow(creds, request)).toBeUndefined();
    const viaPromise = await presigner.presignUrl(creds, request);
    expect(presigner.presignUrlNow(creds, request)).toBe(viaPromise);
    const part: PresignRequest = { ...request, operation: 'UploadPart', query: { partNumber: '7', uploadId: 'u' }, headers: { 'content-length': '5' }, signableHeaders: new Set(['content-length']) };
    expect(presigner.presignUrlNow(creds, part)).toBe(await presigner.presignUrl(creds, part));
  });
});
