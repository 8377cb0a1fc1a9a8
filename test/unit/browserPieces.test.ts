/**
 * The local-only browser pieces of scripts/lib, against loopback stand-ins (the real gateway, broker
 * and browser are test/e2e/browser.test.ts): the S3 preflight shim drops only an OPTIONS request's
 * query and passes everything else byte for byte (Host included, since signatures cover it); the CORS
 * proxy keeps the broker's CORS answers and strips serverless-offline's; the loopback issuer's tokens
 * verify against its own discovery and JWKS; the bucket CORS rule allows what the broker signs.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { uploadCorsRule } from '../../scripts/lib/bucketCors.js';
import { jwtClientYaml, startLocalIssuer } from '../../scripts/lib/localIssuer.js';
import { brokerCorsMark, startBrokerCorsProxy, startS3PreflightShim } from '../../scripts/lib/preflightShim.js';

interface Seen { method: string; url: string; headers: IncomingHttpHeaders; body: string }

/** An upstream that records each request and answers with `answer(request)`'s headers. */
async function upstream(answer: (seen: Seen) => Record<string, string> = () => ({})): Promise<{ url: string; seen: Seen[]; server: Server }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const s = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() };
      seen.push(s);
      res.writeHead(200, answer(s));
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server };
}

/** A raw request (fetch would not let us set Host), answering status and headers. */
function send(url: string, method: string, headers: Record<string, string>, body?: string): Promise<{ status: number; headers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.once('error', reject);
    req.end(body);
  });
}

describe('S3 preflight shim', () => {
  let up: Awaited<ReturnType<typeof upstream>>;
  let shim: Awaited<ReturnType<typeof startS3PreflightShim>>;
  beforeAll(async () => {
    up = await upstream();
    shim = await startS3PreflightShim({ upstream: up.url });
  });
  afterAll(async () => {
    await shim.close();
    up.server.close();
  });

  test('an OPTIONS preflight goes upstream without its query; its CORS request headers are kept', async () => {
    const path = '/partner-bucket/a%20b.bin?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=abc';
    const res = await send(shim.url + path, 'OPTIONS', { origin: 'http://127.0.0.1:4344', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'content-type' });
    expect(res.status).toBe(200);
    const s = up.seen.at(-1)!;
    expect({ method: s.method, url: s.url, origin: s.headers.origin, acrm: s.headers['access-control-request-method'] })
      .toEqual({ method: 'OPTIONS', url: '/partner-bucket/a%20b.bin', origin: 'http://127.0.0.1:4344', acrm: 'PUT' });
  }, 20_000);

  test('every other request passes verbatim: method, path, query, Host and body', async () => {
    const path = '/partner-bucket/k?partNumber=2&uploadId=u1&X-Amz-Signature=abc';
    await send(shim.url + path, 'PUT', { host: 'signed-host.example:1234', 'content-type': 'application/octet-stream', 'content-length': '5' }, 'hello');
    const s = up.seen.at(-1)!;
    expect({ method: s.method, url: s.url, host: s.headers.host, body: s.body, type: s.headers['content-type'] })
      .toEqual({ method: 'PUT', url: path, host: 'signed-host.example:1234', body: 'hello', type: 'application/octet-stream' });
    expect(shim.log.at(-1)).toMatchObject({ method: 'PUT', url: path, status: 200 });
  }, 20_000);

  test('partDelayMs holds part PUTs (and only those) before they go upstream', async () => {
    shim.partDelayMs = 2_000; // far longer than a loopback request takes, so the order below is not a race
    const before = up.seen.length;
    const part = send(`${shim.url}/b/k?partNumber=1&uploadId=u`, 'PUT', { 'content-length': '1' }, 'x');
    await send(`${shim.url}/b/other`, 'PUT', { 'content-length': '1' }, 'y'); // not a part: not held
    expect(up.seen.slice(before).map((s) => s.url)).toEqual(['/b/other']);
    await part;
    expect(up.seen.slice(before).map((s) => s.url)).toEqual(['/b/other', '/b/k?partNumber=1&uploadId=u']);
    shim.partDelayMs = 0;
  }, 20_000);
});

describe('CORS proxy in front of serverless-offline', () => {
  const offlineHeaders = (s: Seen): Record<string, string> => ({
    // what serverless-offline adds to every answer to a request with an Origin
    'access-control-allow-origin': String(s.headers.origin ?? ''),
    'access-control-allow-credentials': 'true',
    'x-request-id': 'r1',
  });
  let mark: string;
  let up: Awaited<ReturnType<typeof upstream>>;
  let proxy: Awaited<ReturnType<typeof startBrokerCorsProxy>>;
  beforeAll(async () => {
    mark = await brokerCorsMark();
    up = await upstream((s) => (s.headers.origin === 'http://listed.test'
      // the broker allowed it: its own headers (which override offline's) carry its mark
      ? { ...offlineHeaders(s), 'access-control-expose-headers': mark, 'access-control-allow-methods': 'GET, POST, OPTIONS', vary: 'Origin' }
      : { ...offlineHeaders(s), vary: 'Origin' }));
    proxy = await startBrokerCorsProxy({ upstream: up.url });
  });
  afterAll(async () => {
    await proxy.close();
    up.server.close();
  });

  test('the broker\'s mark is its Access-Control-Expose-Headers value', () => {
    expect(mark).toBe('x-request-id, retry-after');
  });

  test('an answer the broker allowed keeps its CORS headers, less Allow-Credentials', async () => {
    const res = await send(`${proxy.url}/v1/whoami`, 'GET', { origin: 'http://listed.test' });
    expect(res.headers['access-control-allow-origin']).toBe('http://listed.test');
    expect(res.headers['access-control-allow-methods']).toBe('GET, POST, OPTIONS');
    expect(res.headers['access-control-allow-credentials']).toBeUndefined();
  }, 20_000);

  test('any other answer loses every Access-Control-* header; other headers stay', async () => {
    for (const method of ['GET', 'OPTIONS']) {
      const res = await send(`${proxy.url}/v1/uploads`, method, { origin: 'http://unlisted.test' });
      expect(Object.keys(res.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
      expect(res.headers['x-request-id']).toBe('r1');
      expect(res.headers.vary).toBe('Origin');
    }
  }, 20_000);
});

describe('loopback OIDC issuer', () => {
  test('its tokens verify against its own discovery document and JWKS, for its audience only', async () => {
    const issuer = await startLocalIssuer({ audience: 'demo-aud' });
    try {
      const discovery = (await (await fetch(`${issuer.issuer}/.well-known/openid-configuration`)).json()) as { issuer: string; jwks_uri: string };
      expect(discovery).toMatchObject({ issuer: issuer.issuer, jwks_uri: issuer.jwksUri });
      const token = await issuer.mint('alice', 60);
      const keys = createRemoteJWKSet(new URL(discovery.jwks_uri));
      const { payload, protectedHeader } = await jwtVerify(token, keys, { issuer: issuer.issuer, audience: 'demo-aud' });
      expect({ sub: payload.sub, alg: protectedHeader.alg, lifetime: payload.exp! - payload.iat! }).toEqual({ sub: 'alice', alg: 'ES256', lifetime: 60 });
      await expect(jwtVerify(token, keys, { issuer: issuer.issuer, audience: 'other' })).rejects.toThrow(/aud/);
      expect(jwtClientYaml('web', issuer, { prefix: 'demo/web/', origins: ['http://127.0.0.1:4344'], maxUploadBytes: 10, contentTypes: ['text/plain'] }))
        .toContain(`jwksUri: ${JSON.stringify(issuer.jwksUri)}`);
    } finally {
      await issuer.close();
    }
  }, 20_000);
});

describe('bucket CORS rule', () => {
  test('allows the page\'s origins, the upload and download methods, Content-Type, and exposes ETag', () => {
    expect(uploadCorsRule(['http://127.0.0.1:4344'])).toEqual({
      AllowedOrigins: ['http://127.0.0.1:4344'], AllowedMethods: ['PUT', 'POST', 'GET', 'HEAD'],
      AllowedHeaders: ['content-type'], ExposeHeaders: ['ETag'], MaxAgeSeconds: 600,
    });
  });
});
