/**
 * JwtVerifier against real keys and a real JWKS served over loopback http: the happy paths and the
 * hostile matrix of docs/security.md ("JWTs"). Every refusal asserts the class and message.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import { serve, type Handler, type TestServer } from '../support/loopbackServer.js';
import {
  base64url,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  SignJWT,
  UnsecuredJWT,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from 'jose';
import { MAX_TOKEN_BYTES, type JwtVerifier } from '../../src/auth/jwt.js';
import { remoteJwtVerifier, type JwtVerifierOptions } from '../../src/wiring/jwtVerifier.js';
import type { JwtClientConfig } from '../../src/config/schema.js';
import { JwksUnavailableError, UnauthenticatedError } from '../../src/domain/errors.js';
import { caught, fakeStore, jwtClient } from '../support/authFakes.js';

const JWKS_TIMEOUT_MS = 400;

const json = (body: unknown): Handler => (_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
};

interface SigningKey {
  kid: string;
  alg: 'ES256' | 'RS256';
  privateKey: CryptoKey;
  publicJwk: JWK;
  publicPem: string;
}

async function signingKey(alg: 'ES256' | 'RS256', kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' }, publicPem: await exportSPKI(publicKey) };
}

let es256: SigningKey;
let rs256: SigningKey;
let stranger: SigningKey;
let idp: TestServer;
let attacker: TestServer;
let servers: TestServer[];

beforeAll(async () => {
  [es256, rs256, stranger] = await Promise.all([signingKey('ES256', 'es-1'), signingKey('RS256', 'rs-1'), signingKey('ES256', 'evil-1')]);
  idp = await serve((req, res) => {
    if (req.url === '/.well-known/openid-configuration') return json({ issuer: idp.url, jwks_uri: `${idp.url}/oauth2/keys` })(req, res);
    if (req.url === '/oauth2/keys') return json({ keys: [es256.publicJwk, rs256.publicJwk] })(req, res);
    res.writeHead(404).end();
  });
  attacker = await serve(json({ keys: [stranger.publicJwk] }));
  servers = [idp, attacker];
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

/** An extra server for one test; closed with the rest. */
async function extraServer(handler: Handler): Promise<TestServer> {
  const server = await serve(handler);
  servers.push(server);
  return server;
}

/** A verifier over one JWT client (acme/app) trusting `issuer`; fresh, so its JWKS cache is empty. */
function verifierFor(jwt: Partial<JwtClientConfig> & { issuer: string }, options: Partial<JwtVerifierOptions> = {}): JwtVerifier {
  const store = fakeStore({ jwtClients: [{ partnerId: 'acme', clientId: 'app', client: jwtClient(jwt) }] });
  return remoteJwtVerifier(store, {
    jwksTimeoutMs: JWKS_TIMEOUT_MS,
    jwksMaxBytes: 64 * 1024,
    clockToleranceSeconds: 5,
    allowInsecureLoopbackHttp: true,
    ...options,
  });
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** A token from `key` for the test IdP, audience acme-app, subject alice, valid for 5 minutes. */
async function token(key: SigningKey, claims: JWTPayload = {}, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT({ iss: idp.url, aud: 'acme-app', sub: 'alice', iat: nowSeconds(), exp: nowSeconds() + 300, ...claims })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...header })
    .sign(key.privateKey);
}

/** A compact token with arbitrary header and payload and a junk signature: for header checks. */
function handMade(header: Record<string, unknown>, payload: JWTPayload): string {
  const part = (value: unknown) => base64url.encode(JSON.stringify(value));
  return `${part(header)}.${part(payload)}.${base64url.encode('not-a-signature')}`;
}

async function expectRefusal(promise: Promise<unknown>, errorClass: typeof UnauthenticatedError | typeof JwksUnavailableError, message: string) {
  const err = await caught(() => promise);
  expect(err).toBeInstanceOf(errorClass);
  expect(err.message).toBe(message);
  return err;
}

describe('JwtVerifier: happy paths', () => {
  it('accepts an ES256 token and names the client and subject', async () => {
    const verifier = verifierFor({ issuer: idp.url });
    await expect(verifier.verify(await token(es256))).resolves.toEqual({ partnerId: 'acme', clientId: 'app', subject: 'alice' });
  });

  it('accepts an RS256 token', async () => {
    const verifier = verifierFor({ issuer: idp.url, algorithms: ['RS256'] });
    await expect(verifier.verify(await token(rs256, { sub: 'bob@example.com' }))).resolves.toEqual({ partnerId: 'acme', clientId: 'app', subject: 'bob@example.com' });
  });

  it('fetches the JWKS once per URI and reuses it', async () => {
    const jwks = await extraServer(json({ keys: [es256.publicJwk] }));
    const verifier = verifierFor({ issuer: idp.url, jwksUri: `${jwks.url}/keys` });
    for (let i = 0; i < 3; i += 1) await verifier.verify(await token(es256));
    expect(jwks.requests()).toBe(1);
  });


  it('uses the client\'s subject claim', async () => {
    const verifier = verifierFor({ issuer: idp.url, subjectClaim: 'email' });
    await expect(verifier.verify(await token(es256, { email: 'carol@example.com' }))).resolves.toMatchObject({ subject: 'carol@example.com' });
  });

  it('accepts any audience, or none, when the client explicitly opted out (audience: null)', async () => {
    const verifier = verifierFor({ issuer: idp.url, audience: null });
    await expect(verifier.verify(await token(es256, { aud: 'anything' }))).resolves.toMatchObject({ clientId: 'app' });
    await expect(verifier.verify(await token(es256, { aud: undefined }))).resolves.toMatchObject({ clientId: 'app' });
  });

  it('matches an audience list on either side', async () => {
    const verifier = verifierFor({ issuer: idp.url, audience: ['web', 'acme-app'] });
    await expect(verifier.verify(await token(es256, { aud: ['other', 'acme-app'] }))).resolves.toMatchObject({ clientId: 'app' });
  });

  it('tolerates small clock skew on exp', async () => {
    const verifier = verifierFor({ issuer: idp.url });
    await expect(verifier.verify(await token(es256, { exp: nowSeconds() - 2 }))).resolves.toMatchObject({ subject: 'alice' });
  });
});

describe('JwtVerifier: client selection by (iss, aud) before any fetch', () => {
  it('refuses a wrong issuer without fetching anything', async () => {
    const verifier = verifierFor({ issuer: idp.url });
    const before = idp.requests();
    await expectRefusal(verifier.verify(await token(es256, { iss: 'https://evil.example' })), UnauthenticatedError, 'no client accepts this issuer and audience');
    expect(idp.requests()).toBe(before);
  });

  it('refuses a wrong audience without fetching anything', async () => {
    const verifier = verifierFor({ issuer: idp.url });
    const before = idp.requests();
    await expectRefusal(verifier.verify(await token(es256, { aud: 'other-app' })), UnauthenticatedError, 'no client accepts this issuer and audience');
    await expectRefusal(verifier.verify(await token(es256, { aud: undefined })), UnauthenticatedError, 'no client accepts this issuer and audience');
    expect(idp.requests()).toBe(before);
  });

  it('refuses a token without an issuer', async () => {
    const verifier = verifierFor({ issuer: idp.url });
    await expectRefusal(verifier.verify(await token(es256, { iss: undefined })), UnauthenticatedError, 'no client accepts this issuer and audience');
  });

  it('prefers the client naming the audience over one that opted out, and refuses a tie', async () => {
    const store = fakeStore({
      jwtClients: [
        { partnerId: 'acme', clientId: 'any', client: jwtClient({ issuer: idp.url, audience: null }) },
        { partnerId: 'acme', clientId: 'app', client: jwtClient({ issuer: idp.url, audience: 'acme-app' }) },
        { partnerId: 'acme', clientId: 'web', client: jwtClient({ issuer: idp.url, audience: 'acme-web' }) },
      ],
    });
    const verifier = remoteJwtVerifier(store, { jwksTimeoutMs: JWKS_TIMEOUT_MS, jwksMaxBytes: 65536, clockToleranceSeconds: 5, allowInsecureLoopbackHttp: true });
    await expect(verifier.verify(await token(es256))).resolves.toMatchObject({ clientId: 'app' });
    await expect(verifier.verify(await token(es256, { aud: 'unknown' }))).resolves.toMatchObject({ clientId: 'any' });
    await expectRefusal(verifier.verify(await token(es256, { aud: ['acme-app', 'acme-web'] })), UnauthenticatedError, 'token matches more than one client; use a distinct audience');
  });
});

describe('JwtVerifier: hostile tokens', () => {
  it('refuses alg none', async () => {
    const verifier = verifierFor({ issuer: idp.url });
    const unsigned = new UnsecuredJWT({ sub: 'alice', aud: 'acme-app', exp: nowSeconds() + 300 }).setIssuer(idp.url).encode();
    await expectRefusal(verifier.verify(unsigned), UnauthenticatedError, 'unsigned token (alg none) is not accepted');
    await expectRefusal(verifier.verify(handMade({ alg: 'NONE' }, { iss: idp.url, aud: 'acme-app', sub: 'a' })), UnauthenticatedError, 'unsigned token (alg none) is not accepted');
  });

  it('refuses HS256 signed with the RSA public key (algorithm confusion) without fetching keys', async () => {
    const jwks = await extraServer(json({ keys: [rs256.publicJwk] }));
    const verifier = verifierFor({ issuer: idp.url, jwksUri: `${jwks.url}/keys`, algorithms: ['RS256'] });
    const confused = await new SignJWT({ iss: idp.url, aud: 'acme-app', sub: 'admin', exp: nowSeconds() + 300 })
      .setProtectedHeader({ alg: 'HS256', kid: rs256.kid })
      .sign(new TextEncoder().encode(rs256.publicPem));
    await expectRefusal(verifier.verify(confused), UnauthenticatedError, 'token algorithm is not allowed for this client');
    expect(jwks.requests()).toBe(0);
  });

  it('refuses an algorithm the client does not list, even when the signature is good', async () => {
    const verifier = verifierFor({ issuer: idp.url, algorithms: ['RS256'] });
    await expectRefusal(verifier.verify(await token(es256)), UnauthenticatedError, 'token algorithm is not allowed for this client');
  });

  it('refuses an expired token', async () => {
    const verifier = verifierFor({ issuer: idp.url });
    await expectRefusal(verifier.verify(await token(es256, { exp: nowSeconds() - 60 })), UnauthenticatedError, 'token expired');
  });

  it('refuses a token that is not yet valid (nbf)', async () => {
    const verifier = verifierFor({ issuer: idp.url });
    await expectRefusal(verifier.verify(await token(es256, { nbf: nowSeconds() + 120 })), UnauthenticatedError, 'token not yet valid');
  });

  it('refuses a token without exp or subject', async () => {
    const verifier = verifierFor({ issuer: idp.url });
    await expectRefusal(verifier.verify(await token(es256, { exp: undefined })), UnauthenticatedError, 'token is missing the required "exp" claim');
    await expectRefusal(verifier.verify(await token(es256, { sub: undefined })), UnauthenticatedError, 'token is missing the required "sub" claim');
  });

  it('refuses an empty or non-string subject', async () => {
    const verifier = verifierFor({ issuer: idp.url, subjectClaim: 'uid' });
    await expectRefusal(verifier.verify(await token(es256, { uid: '' })), UnauthenticatedError, 'token subject claim "uid" must be a non-empty string');
    await expectRefusal(verifier.verify(await token(es256, { uid: 42 })), UnauthenticatedError, 'token subject claim "uid" must be a non-empty string');
  });

  it('refuses a token signed by a key the issuer does not publish (unknown kid)', async () => {
    const verifier = verifierFor({ issuer: idp.url });
    await expectRefusal(verifier.verify(await token(stranger)), UnauthenticatedError, 'no key in the issuer\'s JWKS matches the token (unknown kid)');
  });

  it('refuses (401, naming why) a token whose key the issuer published is too weak: an RSA key under 2048 bits', async () => {
    // jose will not sign with such a key either: the token is signed by hand, as a weak IdP would.
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const weakIdp = await extraServer((req, res) => {
      if (req.url === '/.well-known/openid-configuration') return json({ issuer: weakIdp.url, jwks_uri: `${weakIdp.url}/keys` })(req, res);
      if (req.url === '/keys') return json({ keys: [{ ...(publicKey.export({ format: 'jwk' }) as JWK), kid: 'weak-1', alg: 'RS256', use: 'sig' }] })(req, res);
      res.writeHead(404).end();
    });
    const part = (value: unknown) => base64url.encode(JSON.stringify(value));
    const signingInput = `${part({ alg: 'RS256', kid: 'weak-1', typ: 'JWT' })}.${part({ iss: weakIdp.url, aud: 'acme-app', sub: 'alice', iat: nowSeconds(), exp: nowSeconds() + 300 })}`;
    const weakToken = `${signingInput}.${base64url.encode(cryptoSign('sha256', Buffer.from(signingInput), privateKey))}`;
    const verifier = verifierFor({ issuer: weakIdp.url, algorithms: ['RS256'] });
    const err = await expectRefusal(verifier.verify(weakToken), UnauthenticatedError, 'the issuer\'s key for this token is not usable: RS256 requires key modulusLength to be 2048 bits or larger');
    expect((err as UnauthenticatedError).status).toBe(401);
  });

  it('refuses a token signed by another key under a published kid', async () => {
    const verifier = verifierFor({ issuer: idp.url });
    await expectRefusal(verifier.verify(await token({ ...stranger, kid: es256.kid })), UnauthenticatedError, 'token signature invalid');
  });

  it('refuses a tampered payload', async () => {
    const verifier = verifierFor({ issuer: idp.url });
    const [header, payload, signature] = (await token(es256)).split('.') as [string, string, string];
    const claims = JSON.parse(new TextDecoder().decode(base64url.decode(payload))) as JWTPayload;
    const forged = base64url.encode(JSON.stringify({ ...claims, sub: 'admin' }));
    await expectRefusal(verifier.verify(`${header}.${forged}.${signature}`), UnauthenticatedError, 'token signature invalid');
  });

  it('refuses an oversized token before decoding it', async () => {
    const verifier = verifierFor({ issuer: idp.url });
    const big = await token(es256, { padding: 'x'.repeat(MAX_TOKEN_BYTES) });
    await expectRefusal(verifier.verify(big), UnauthenticatedError, 'token too large');
  });

  it.each([
    ['jku', (url: string) => ({ jku: `${url}/jwks.json` })],
    ['x5u', (url: string) => ({ x5u: `${url}/cert.pem` })],
    ['jwk', () => ({ jwk: stranger.publicJwk })],
    ['x5c', () => ({ x5c: ['MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA'] })],
  ])('never honours a %s header, and never contacts the server it names', async (_name, header) => {
    const verifier = verifierFor({ issuer: idp.url });
    const hostile = await token(stranger, {}, header(attacker.url));
    const before = { attacker: attacker.requests(), idp: idp.requests() };
    await expectRefusal(verifier.verify(hostile), UnauthenticatedError, 'token header jku/x5u/jwk is not accepted');
    expect(attacker.requests()).toBe(before.attacker);
    expect(attacker.requests()).toBe(0);
    expect(idp.requests()).toBe(before.idp);
  });

  it('refuses a crit header', async () => {
    const verifier = verifierFor({ issuer: idp.url });
    const critical = handMade({ alg: 'ES256', kid: es256.kid, crit: ['exp'], exp: 1 }, { iss: idp.url, aud: 'acme-app', sub: 'alice' });
    await expectRefusal(verifier.verify(critical), UnauthenticatedError, 'token header crit is not accepted');
  });

  it.each([
    ['not a JWT', 'hello'],
    ['two segments', 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0'],
    ['five segments (a JWE)', 'a.b.c.d.e'],
    ['header not JSON', `${base64url.encode('{nope')}.${base64url.encode('{}')}.c2ln`],
    ['payload not an object', `${base64url.encode('{"alg":"ES256"}')}.${base64url.encode('[1]')}.c2ln`],
    ['alg not a string', `${base64url.encode('{"alg":5}')}.${base64url.encode('{}')}.c2ln`],
    ['whitespace', ' a.b.c'],
  ])('refuses a malformed token (%s)', async (_name, malformed) => {
    const verifier = verifierFor({ issuer: idp.url });
    await expectRefusal(verifier.verify(malformed), UnauthenticatedError, 'malformed token');
  });

  it('never puts the token in an error message', async () => {
    const verifier = verifierFor({ issuer: idp.url });
    const tokens = [await token(stranger), await token(es256, { exp: nowSeconds() - 60 }), await token(es256, { aud: 'x' })];
    for (const t of tokens) {
      const err = await caught(() => verifier.verify(t));
      for (const segment of t.split('.')) expect(err.message).not.toContain(segment);
    }
  });
});

describe('JwtVerifier: JWKS fetch is https-only, time-bounded and size-capped', () => {
  it('refuses an http issuer (discovery) or JWKS URI unless loopback http is explicitly allowed, without fetching', async () => {
    const before = idp.requests();
    const discovering = verifierFor({ issuer: idp.url }, { allowInsecureLoopbackHttp: false });
    const err = await expectRefusal(discovering.verify(await token(es256)), JwksUnavailableError,
      'OIDC discovery URL http is allowed only on loopback (127.0.0.0/8, localhost, [::1]) with allowInsecureLoopbackHttp: true');
    expect((err as JwksUnavailableError).status).toBe(503);
    const explicit = verifierFor({ issuer: idp.url, jwksUri: `${idp.url}/oauth2/keys` }, { allowInsecureLoopbackHttp: false });
    await expectRefusal(explicit.verify(await token(es256)), JwksUnavailableError,
      'JWKS URI http is allowed only on loopback (127.0.0.0/8, localhost, [::1]) with allowInsecureLoopbackHttp: true');
    expect(idp.requests()).toBe(before);
  });

  it('refuses an http JWKS URI on a non-loopback host even with the flag', async () => {
    const verifier = verifierFor({ issuer: idp.url, jwksUri: 'http://example.com/jwks.json' });
    await expectRefusal(verifier.verify(await token(es256)), JwksUnavailableError,
      'JWKS URI must be an https URL (http only for 127.0.0.0/8, localhost or [::1] with allowInsecureLoopbackHttp: true)');
  });

  it('answers 503 when the JWKS endpoint refuses connections', async () => {
    const down = await serve(json({}));
    await down.close();
    const verifier = verifierFor({ issuer: idp.url, jwksUri: `${down.url}/keys` });
    const err = await expectRefusal(verifier.verify(await token(es256)), JwksUnavailableError, 'JWKS endpoint unreachable');
    expect((err as JwksUnavailableError).status).toBe(503);
  });

  it('gives up on a JWKS endpoint that never answers, within the timeout', async () => {
    const slow = await extraServer(() => undefined);
    const verifier = verifierFor({ issuer: idp.url, jwksUri: `${slow.url}/keys` });
    const jwt = await token(es256);
    const started = performance.now();
    await expectRefusal(verifier.verify(jwt), JwksUnavailableError, 'JWKS fetch timed out');
    const elapsed = performance.now() - started;
    expect(slow.requests()).toBe(1);
    expect(elapsed).toBeGreaterThanOrEqual(JWKS_TIMEOUT_MS - 50);
    expect(elapsed).toBeLessThan(JWKS_TIMEOUT_MS + 1000);
  });

  it('gives up on a JWKS body that trickles forever, within the timeout', async () => {
    const trickle = await extraServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"keys":[');
      const timer = setInterval(() => res.write(' '), 50);
      res.on('close', () => clearInterval(timer));
    });
    const verifier = verifierFor({ issuer: idp.url, jwksUri: `${trickle.url}/keys` });
    const jwt = await token(es256);
    const started = performance.now();
    await expectRefusal(verifier.verify(jwt), JwksUnavailableError, 'JWKS fetch timed out');
    expect(performance.now() - started).toBeLessThan(JWKS_TIMEOUT_MS + 1000);
  });

  it('refuses a 10 MiB JWKS declared by Content-Length', async () => {
    const huge = await extraServer((_req, res) => {
      const body = Buffer.alloc(10 * 1024 * 1024, 0x20);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length }).end(body);
    });
    const verifier = verifierFor({ issuer: idp.url, jwksUri: `${huge.url}/keys` });
    await expectRefusal(verifier.verify(await token(es256)), JwksUnavailableError, 'JWKS response exceeds 65536 bytes');
  });

  it('stops reading a 10 MiB chunked JWKS at the cap', async () => {
    let written = 0;
    const huge = await extraServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = () => {
        while (written < 10 * 1024 * 1024 && !res.destroyed) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
    const verifier = verifierFor({ issuer: idp.url, jwksUri: `${huge.url}/keys` });
    await expectRefusal(verifier.verify(await token(es256)), JwksUnavailableError, 'JWKS response exceeds 65536 bytes');
    expect(written).toBeLessThan(10 * 1024 * 1024);
  });

  it.each([
    ['not JSON', (_req: IncomingMessage, res: ServerResponse) => void res.writeHead(200).end('<html>'), 'JWKS could not be fetched or used'],
    ['JSON but not a JWKS', json({ hello: 'world' }), 'JWKS could not be fetched or used'],
    ['an error status', (_req: IncomingMessage, res: ServerResponse) => void res.writeHead(500).end('{}'), 'JWKS endpoint answered HTTP 500'],
  ])('answers 503 when the JWKS is %s', async (_name, handler, message) => {
    const broken = await extraServer(handler);
    const verifier = verifierFor({ issuer: idp.url, jwksUri: `${broken.url}/keys` });
    await expectRefusal(verifier.verify(await token(es256)), JwksUnavailableError, message);
  });

  it('does not follow a JWKS redirect', async () => {
    const redirecting = await extraServer((_req, res) => void res.writeHead(302, { location: `${attacker.url}/jwks.json` }).end());
    const verifier = verifierFor({ issuer: idp.url, jwksUri: `${redirecting.url}/keys` });
    const before = attacker.requests();
    await expectRefusal(verifier.verify(await token(es256)), JwksUnavailableError, 'JWKS endpoint answered HTTP 302');
    expect(attacker.requests()).toBe(before);
  });
});

describe('JwtVerifier: per-client typ and token age, and iat never in the future', () => {
  it.each(['at+jwt', 'AT+JWT', 'application/at+jwt', 'Application/AT+JWT'])('requireTyp at+jwt accepts typ %s (case-insensitive, application/ optional)', async (typ) => {
    const verifier = verifierFor({ issuer: idp.url, requireTyp: 'at+jwt' });
    await expect(verifier.verify(await token(es256, {}, { typ }))).resolves.toMatchObject({ subject: 'alice' });
  });

  it('requireTyp application/at+jwt accepts the short form too', async () => {
    const verifier = verifierFor({ issuer: idp.url, requireTyp: 'application/at+jwt' });
    await expect(verifier.verify(await token(es256, {}, { typ: 'at+jwt' }))).resolves.toMatchObject({ subject: 'alice' });
  });

  it('requireTyp refuses an ID token (typ JWT) and a token without typ, before fetching keys', async () => {
    const jwks = await extraServer(json({ keys: [es256.publicJwk] }));
    const verifier = verifierFor({ issuer: idp.url, jwksUri: `${jwks.url}/keys`, requireTyp: 'at+jwt' });
    await expectRefusal(verifier.verify(await token(es256, {}, { typ: 'JWT' })), UnauthenticatedError, 'token type (JOSE typ header) must be "at+jwt"');
    await expectRefusal(verifier.verify(await token(es256, {}, { typ: undefined })), UnauthenticatedError, 'token type (JOSE typ header) must be "at+jwt"');
    await expectRefusal(verifier.verify(await token(es256, {}, { typ: 'application/jwt+at' })), UnauthenticatedError, 'token type (JOSE typ header) must be "at+jwt"');
    expect(jwks.requests()).toBe(0);
  });

  it('without requireTyp any typ is accepted (the control)', async () => {
    const verifier = verifierFor({ issuer: idp.url });
    await expect(verifier.verify(await token(es256, {}, { typ: 'whatever' }))).resolves.toMatchObject({ subject: 'alice' });
  });

  it('maxTokenAgeSeconds refuses a token issued longer ago, and one without iat', async () => {
    const verifier = verifierFor({ issuer: idp.url, maxTokenAgeSeconds: 600 });
    await expect(verifier.verify(await token(es256, { iat: nowSeconds() - 300 }))).resolves.toMatchObject({ subject: 'alice' });
    await expectRefusal(verifier.verify(await token(es256, { iat: nowSeconds() - 3600 })), UnauthenticatedError,
      'token too old: issued more than 600 s ago (maxTokenAgeSeconds)');
    await expectRefusal(verifier.verify(await token(es256, { iat: undefined })), UnauthenticatedError,
      'token has no "iat" claim, which this client requires (maxTokenAgeSeconds)');
  });

  it('without maxTokenAgeSeconds an old iat, or none, is accepted (the control)', async () => {
    const verifier = verifierFor({ issuer: idp.url });
    await expect(verifier.verify(await token(es256, { iat: nowSeconds() - 30 * 24 * 3600 }))).resolves.toMatchObject({ subject: 'alice' });
    await expect(verifier.verify(await token(es256, { iat: undefined }))).resolves.toMatchObject({ subject: 'alice' });
  });

  it('refuses an iat in the future beyond the clock skew, for every client', async () => {
    for (const extra of [{}, { maxTokenAgeSeconds: 600 }]) {
      const verifier = verifierFor({ issuer: idp.url, ...extra });
      await expectRefusal(verifier.verify(await token(es256, { iat: nowSeconds() + 120 })), UnauthenticatedError, 'token issued in the future (iat)');
      // within the skew (5 s here) is accepted
      await expect(verifier.verify(await token(es256, { iat: nowSeconds() + 2 }))).resolves.toMatchObject({ subject: 'alice' });
    }
  });

  it('refuses a non-numeric iat', async () => {
    const verifier = verifierFor({ issuer: idp.url });
    await expectRefusal(verifier.verify(await token(es256, { iat: 'yesterday' as unknown as number })), UnauthenticatedError, 'token claim "iat" is invalid');
  });
});
