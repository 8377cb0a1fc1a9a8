/**
 * Expiry against the real gateway: its shortest session is 900 s, so this suite waits ~15.5 minutes
 * (`npm run test:slow`; `.ci/run` runs it, `npm test` does not). One wait covers every check:
 * credentials, broker-issued URLs capped at the session's expiry, and a URL that its own
 * X-Amz-Expires would keep alive for an hour, all die with the session that signed them. acme/short
 * writes with raw credentials, which it may only because test/e2e/support/stack.ts opts it in
 * (rawWriteCredentials: true).
 */
import { describe, expect, it } from '@jest/globals';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { randomBytes } from 'node:crypto';
import { api, get, put, s3WithVended, vend } from '../e2e/support/helpers.js';
import { readStack } from '../e2e/support/stack.js';

const stack = readStack();
const bucket = stack.aws.PARTNER_BUCKET!;
const sleepUntil = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms - Date.now())));
const fetchStatus = async (url: string, init?: RequestInit) => (await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) })).status;

describe('sessions end when they say they end', () => {
  it('credentials, capped URLs and a long-lived URL signed with them all die at the session expiry', async () => {
    const key = stack.keys.acme.short;
    const name = `slow/${randomBytes(4).toString('hex')}.txt`;
    const body = 'expires with its session';

    // t0: a 900 s session (the client's cap) and everything signed with it
    const vended = await vend(stack, key, {});
    const credentialsExpire = Date.parse(vended.credentials.expiration);
    expect(credentialsExpire - Date.now()).toBeLessThanOrEqual(900_000 + 2_000);
    expect(credentialsExpire - Date.now()).toBeGreaterThan(880_000);
    const s3 = s3WithVended(stack, vended.credentials);
    expect((await put(s3, bucket, `acme/${name}`, body)).status).toBe(200);
    // signed by us with the vended credentials: X-Amz-Expires alone would keep it valid for an hour
    const hourUrl = await getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: `acme/${name}` }), { expiresIn: 3600 });

    const download = async (expiresIn: number) => {
      const res = await api(stack, '/v1/downloads', { key, body: { key: name, expiresIn } });
      expect(res.status).toBe(200);
      return res.body as { url: string; expiresAt: string };
    };
    const minute = await download(60);
    const capped = await download(3600);
    const upload = await api(stack, '/v1/uploads', { key, body: { method: 'PUT', key: `${name}.2`, contentType: 'text/plain', contentLength: body.length, expiresIn: 3600 } });
    expect(upload.status).toBe(200);
    // the broker states the real lifetime: the signing session's end, not the hour asked for
    const sessionEnds = Date.parse(capped.expiresAt);
    expect(sessionEnds - Date.now()).toBeLessThanOrEqual(900_000 + 2_000);
    expect(Date.parse(upload.body.expiresAt)).toBeLessThanOrEqual(sessionEnds + 1_000);
    expect(Number(new URL(capped.url).searchParams.get('X-Amz-Expires'))).toBeLessThanOrEqual(900);

    // +65 s: the 60 s URL is dead, the rest still work
    await sleepUntil(Date.parse(minute.expiresAt) + 5_000);
    expect(await fetchStatus(minute.url)).toBe(403);
    expect(await fetchStatus(capped.url)).toBe(200);
    expect(await fetchStatus(hourUrl)).toBe(200);

    // just before the end: everything signed with the sessions still works
    const lastEnd = Math.max(credentialsExpire, sessionEnds);
    await sleepUntil(Math.min(credentialsExpire, sessionEnds) - 30_000);
    expect((await get(s3, bucket, `acme/${name}`)).status).toBe(200);
    expect(await fetchStatus(hourUrl)).toBe(200);
    expect(await fetchStatus(capped.url)).toBe(200);

    // after the end (+20 s for clock granularity): all refused by the server
    await sleepUntil(lastEnd + 20_000);
    expect((await get(s3, bucket, `acme/${name}`)).status).toBe(403);
    expect((await put(s3, bucket, `acme/${name}`, 'late')).status).toBe(403);
    expect(await fetchStatus(hourUrl)).toBe(403);
    expect(await fetchStatus(capped.url)).toBe(403);
    expect(await fetchStatus(upload.body.url, { method: 'PUT', headers: upload.body.headers, body })).toBe(403);
  }, 20 * 60_000);
});
