/**
 * OIDC discovery for clients without `jwksUri`, against loopback HTTP servers: the document is
 * fetched as bounded as a JWKS (same timeout and byte cap), accepted only for exactly the
 * configured issuer and an https (or allowed loopback http) jwks_uri, cached per issuer, and every
 * failure is 503 jwks_unavailable.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import type { JwtVerifier } from '../../src/auth/jwt.js';
import { remoteJwtVerifier, type JwtVerifierOptions } from '../../src/wiring/jwtVerifier.js';
import { discoveryUrl } from '../../src/adapters/oidcDiscovery.js';
import type { JwtClientConfig } from '../../src/config/schema.js';
import { JwksUnavailableError } from '../../src/domain/errors.js';
import { serve, type Handler, type TestServer } from '../support/loopbackServer.js';
import { caught, fakeStore, jwtClient } from '../support/authFakes.js';

const TIMEOUT_MS = 400;
const MAX_BYTES = 4096;

let privateKey: CryptoKey;
let publicJwk: JWK;
const servers: TestServer[] = [];

beforeAll(async () => {
  const pair = await generateKeyPair('ES256', { extractable: true });
  privateKey = pair.privateKey;
  publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

const json = (body: unknown): Handler => (_req, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));

/** An IdP whose discovery document is `document(url)` (url: its own base) and whose keys are at /keys; counts requests per path. */
async function idp(document: (url: string) => unknown, extra: Record<string, Handler> = {}) {
  const hits: Record<string, number> = {};
  let base = '';
  const server = await serve((req, res) => {
    const path = req.url ?? '';
    hits[path] = (hits[path] ?? 0) + 1;
    if (extra[path]) return extra[path](req, res);
    if (path.endsWith('/.well-known/openid-configuration')) return json(document(base))(req, res);
    if (path === '/keys') return json({ keys: [publicJwk] })(req, res);
    res.writeHead(404).end();
  });
  base = server.url;
  servers.push(server);
  return { url: server.url, hits };
}

function verifier(jwt: Partial<JwtClientConfig> & { issuer: string }, options: Partial<JwtVerifierOptions> = {}): JwtVerifier {
  return remoteJwtVerifier(fakeStore({ jwtClients: [{ partnerId: 'acme', clientId: 'app', client: jwtClient(jwt) }] }), {
    jwksTimeoutMs: TIMEOUT_MS, jwksMaxBytes: MAX_BYTES, clockToleranceSeconds: 5, allowInsecureLoopbackHttp: true, ...options,
  });
}

const token = (issuer: string) => new SignJWT({ iss: issuer, aud: 'acme-app', sub: 'alice', exp: Math.floor(Date.now() / 1000) + 300 })
  .setProtectedHeader({ alg: 'ES256', kid: 'k1' }).sign(privateKey);

async function refusal(v: JwtVerifier, issuer: string, message: string) {
  const err = await caught(async () => v.verify(await token(issuer)));
  expect(err).toBeInstanceOf(JwksUnavailableError);
  expect((err as JwksUnavailableError).status).toBe(503);
  expect((err as JwksUnavailableError).code).toBe('jwks_unavailable');
  expect(err.message).toBe(message);
}

describe('OIDC discovery', () => {
  it('the discovery URL is <issuer>/.well-known/openid-configuration, trailing slashes removed', () => {
    expect(discoveryUrl('https://login.example/tenant/v2.0/')).toBe('https://login.example/tenant/v2.0/.well-known/openid-configuration');
    expect(discoveryUrl('https://accounts.example')).toBe('https://accounts.example/.well-known/openid-configuration');
  });

  it('a good document: the keys come from its jwks_uri (not <issuer>/.well-known/jwks.json), fetched once per issuer', async () => {
    const server = await idp((url) => ({ issuer: url, jwks_uri: `${url}/keys`, authorization_endpoint: `${url}/authorize` }));
    const v = verifier({ issuer: server.url });
    for (let i = 0; i < 3; i += 1) await expect(v.verify(await token(server.url))).resolves.toMatchObject({ subject: 'alice' });
    expect(server.hits).toEqual({ '/.well-known/openid-configuration': 1, '/keys': 1 });
  });

  it('an issuer with a path and a trailing slash (Entra ID / Keycloak style)', async () => {
    let issuer = '';
    const server = await idp(() => ({ issuer, jwks_uri: `${issuer.replace(/\/$/, '')}/../../keys` }));
    issuer = `${server.url}/realms/acme/`;
    const v = verifier({ issuer });
    await expect(v.verify(await token(issuer))).resolves.toMatchObject({ subject: 'alice' });
    expect(server.hits['/realms/acme/.well-known/openid-configuration']).toBe(1);
  });

  it('refuses a document that names another issuer, and fetches no keys', async () => {
    const server = await idp((url) => ({ issuer: `${url}/other`, jwks_uri: `${url}/keys` }));
    await refusal(verifier({ issuer: server.url }), server.url,
      `OIDC discovery document names issuer "${server.url}/other", not the configured "${server.url}"`);
    expect(server.hits['/keys']).toBeUndefined();
  });

  it('refuses an issuer that differs only by a trailing slash (exact match)', async () => {
    const server = await idp((url) => ({ issuer: `${url}/`, jwks_uri: `${url}/keys` }));
    await refusal(verifier({ issuer: server.url }), server.url, `OIDC discovery document names issuer "${server.url}/", not the configured "${server.url}"`);
  });

  it('refuses an http jwks_uri on a non-loopback host, and a loopback one without allowInsecureLoopbackHttp', async () => {
    const server = await idp((url) => ({ issuer: url, jwks_uri: 'http://keys.example/jwks' }));
    await refusal(verifier({ issuer: server.url }), server.url,
      'OIDC discovery jwks_uri must be an https URL (http only for 127.0.0.0/8, localhost or [::1] with allowInsecureLoopbackHttp: true)');
    expect(server.hits['/.well-known/openid-configuration']).toBe(1);
  });

  it('refuses a document without jwks_uri, one that is not JSON, and one that is not an object', async () => {
    const missing = await idp((url) => ({ issuer: url }));
    await refusal(verifier({ issuer: missing.url }), missing.url, 'OIDC discovery document has no jwks_uri');
    const html = await idp(() => null, { '/.well-known/openid-configuration': (_q, r) => void r.writeHead(200).end('<html>') });
    await refusal(verifier({ issuer: html.url }), html.url, 'OIDC discovery document is not JSON');
    const array = await idp(() => [1, 2]);
    await refusal(verifier({ issuer: array.url }), array.url, 'OIDC discovery document is not a JSON object');
  });

  it(`refuses an oversize document (more than BROKER_JWKS_MAX_BYTES, here ${MAX_BYTES})`, async () => {
    const server = await idp((url) => ({ issuer: url, jwks_uri: `${url}/keys`, padding: 'x'.repeat(MAX_BYTES) }));
    await refusal(verifier({ issuer: server.url }), server.url, `OIDC discovery document response exceeds ${MAX_BYTES} bytes`);
  });

  it('gives up on a server that never answers, within the JWKS timeout', async () => {
    const server = await idp(() => null, { '/.well-known/openid-configuration': () => undefined });
    const v = verifier({ issuer: server.url });
    const jwt = await token(server.url);
    const started = performance.now();
    const err = await caught(() => v.verify(jwt));
    expect(err).toBeInstanceOf(JwksUnavailableError);
    expect(err.message).toBe('OIDC discovery document fetch timed out');
    expect(performance.now() - started).toBeLessThan(TIMEOUT_MS + 2000);
  }, 10_000);

  it('does not follow a redirect, and does not cache a failure', async () => {
    let redirect = true;
    const server = await idp((url) => ({ issuer: url, jwks_uri: `${url}/keys` }), {
      '/.well-known/openid-configuration': (req, res) => {
        if (redirect) return void res.writeHead(302, { location: 'https://evil.example/' }).end();
        return json({ issuer: base(req.headers.host), jwks_uri: `${base(req.headers.host)}/keys` })(req, res);
      },
    });
    const base = (host: string | undefined) => `http://${host}`;
    const v = verifier({ issuer: server.url });
    await refusal(v, server.url, 'OIDC discovery document endpoint answered HTTP 302');
    redirect = false;
    await expect(v.verify(await token(server.url))).resolves.toMatchObject({ subject: 'alice' });
  });

  it('an explicit jwksUri skips discovery entirely (the control)', async () => {
    const server = await idp((url) => ({ issuer: `${url}/wrong`, jwks_uri: 'http://keys.example/jwks' }));
    const v = verifier({ issuer: server.url, jwksUri: `${server.url}/keys` });
    await expect(v.verify(await token(server.url))).resolves.toMatchObject({ subject: 'alice' });
    expect(server.hits['/.well-known/openid-configuration']).toBeUndefined();
  });
});
