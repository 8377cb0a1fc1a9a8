/**
 * The hostile-input matrix, each case through the real handler stack (or, for config, through
 * coldStart) with the exact status and error code asserted: authentication (API keys, and JWTs
 * against a REAL JwtVerifier and a loopback JWKS), request bodies on every POST route, and every
 * config shape that must stop the broker from starting, naming the field.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { serve, type Handler, type TestServer } from '../support/loopbackServer.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, UnsecuredJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { generateApiKey } from '../../src/auth/apiKey.js';
import { remoteJwtVerifier } from '../../src/wiring/jwtVerifier.js';
import type { BrokerDeps } from '../../src/usecases/deps.js';
import type { BrokerConfig } from '../../src/config/schema.js';
import { ConfigError } from '../../src/domain/errors.js';
import type { Route } from '../../src/http/route.js';
import { createLogger } from '../../src/observability/logger.js';
import { preflightHandler } from '../../src/http/preflight.js';
import { credentialsRoute } from '../../src/routes/credentials.js';
import { credentialsProcessRoute } from '../../src/routes/credentialsProcess.js';
import { multipartCompleteRoute } from '../../src/routes/multipartComplete.js';
import { multipartCreateRoute } from '../../src/routes/multipartCreate.js';
import { downloadsRoute } from '../../src/routes/downloads.js';
import { uploadsRoute } from '../../src/routes/uploads.js';
import { whoamiRoute } from '../../src/routes/whoami.js';
import { coldStart, noPresigner } from '../../src/wiring/withAws.js';
import { apiEvent } from '../support/apiEvent.js';
import { testDeps } from '../support/brokerDeps.js';
import { captureLogs } from '../support/captureLogs.js';
import { brokerConfig, configYaml, FIXTURE_API_KEYS, sha256Hex, type Overrides } from '../support/configFixture.js';
import { simulate } from '../support/iamSim.js';
import { invokeRoute } from '../support/invokeRoute.js';
import { recordSecrets } from '../../scripts/lib/logScan.js';

const ACME_KEY = FIXTURE_API_KEYS.acmeBackend.key;
const GLOBEX_KEY = FIXTURE_API_KEYS.globexBackend.key;
const JWKS_TIMEOUT_MS = 400;

function setup(config: BrokerConfig = brokerConfig()) {
  const { deps, issuer } = testDeps(config);
  return { deps, issuer, invoke: <I>(route: Route<I>, event: ReturnType<typeof apiEvent>) => invokeRoute(route, deps, event) };
}

const post = (path: string, body: unknown, headers: Record<string, string> = { 'x-api-key': ACME_KEY }) => apiEvent({ method: 'POST', path, body, headers });

// ---- API keys ------------------------------------------------------------------------------

describe('API-key authentication through the handler', () => {
  const stale = generateApiKey('acmeold');
  const off = generateApiKey('acmeoff');
  recordSecrets(stale.key, off.key);
  const config = brokerConfig({
    partners: {
      acme: {
        clients: {
          backend: {
            apiKeys: [
              { id: FIXTURE_API_KEYS.acmeBackend.id, sha256: sha256Hex(ACME_KEY) },
              { id: stale.id, sha256: stale.sha256, expires: '2020-06-30' },
              { id: off.id, sha256: off.sha256, disabled: true },
            ],
          },
        },
      },
    },
  });

  it.each<[string, Record<string, string>, string]>([
    ['no credential', {}, 'missing credentials: send X-Api-Key or Authorization: Bearer <token>'],
    ['a malformed key', { 'x-api-key': 'not-a-key' }, 'malformed API key'],
    ['a key with a short secret', { 'x-api-key': 'sbk_acmek1_short' }, 'malformed API key'],
    ['an unknown key id', { 'x-api-key': `sbk_nobody_${'c3'.repeat(32)}` }, 'unknown or invalid API key'],
    ['a known id with the wrong secret', { 'x-api-key': `sbk_acmek1_${'c3'.repeat(32)}` }, 'unknown or invalid API key'],
    ['another partner\'s id with acme\'s secret', { 'x-api-key': ACME_KEY.replace('acmek1', 'globexk1') }, 'unknown or invalid API key'],
    ['an expired key', { 'x-api-key': stale.key }, 'API key expired'],
    ['a disabled key', { 'x-api-key': off.key }, 'API key is disabled'],
    ['two credentials at once', { 'x-api-key': ACME_KEY, authorization: 'Bearer x.y.z' }, 'send one credential, not both'],
    ['an unsupported scheme', { authorization: `Basic ${Buffer.from('acme:pw').toString('base64')}` }, 'unsupported Authorization scheme: send Authorization: Bearer <token>'],
    ['an empty bearer', { authorization: 'Bearer ' }, 'missing bearer token'],
  ])('refuses %s with 401 unauthenticated before STS', async (_name, headers, message) => {
    const { invoke, issuer } = setup(config);
    const event = post('/v1/credentials', {}, headers);
    const { res, body } = await invoke(credentialsRoute, event);
    expect([res.statusCode, body]).toEqual([401, { error: { code: 'unauthenticated', message, requestId: event.requestContext.requestId } }]);
    expect(issuer.requests).toHaveLength(0);
    // a refusal never echoes what was presented
    for (const value of Object.values(headers)) if (value.length >= 8) expect(res.body).not.toContain(value.split('_').pop()!);
  });

  it('accepts the live key (as X-Api-Key and as Bearer), so the refusals above are about the key', async () => {
    const { invoke } = setup(config);
    expect((await invoke(credentialsRoute, post('/v1/credentials', {}))).res.statusCode).toBe(200);
    expect((await invoke(credentialsRoute, post('/v1/credentials', {}, { authorization: `Bearer ${ACME_KEY}` }))).res.statusCode).toBe(200);
  });
});

describe('a partner\'s key never reaches another partner', () => {
  it('an acme key gets acme\'s bucket and prefix, and a policy that denies globex\'s bucket', async () => {
    const { invoke, issuer } = setup();
    const { res, body } = await invoke(credentialsRoute, post('/v1/credentials', {}));
    expect(res.statusCode).toBe(200);
    expect([body.bucket, body.prefix]).toEqual(['partner-bucket', 'acme/']);
    const policy = issuer.requests[0]!.policy;
    expect(issuer.requests[0]!.roleArn).toBe('arn:aws:iam::111111111111:role/Role-A');
    expect(await simulate(policy, 's3:GetObject', 'arn:aws:s3:::globex-bucket/globex/report.csv')).not.toBe('Allowed');
    expect(await simulate(policy, 's3:GetObject', 'arn:aws:s3:::partner-bucket/globex/report.csv')).not.toBe('Allowed');
    expect(await simulate(policy, 's3:ListBucket', 'arn:aws:s3:::globex-bucket', { 's3:prefix': 'globex/' })).not.toBe('Allowed');
  });

  it.each<[string, Record<string, unknown>, number, string, string]>([
    ['naming globex\'s bucket', { bucket: 'globex-bucket' }, 400, 'invalid_request', 'body: Unrecognized key: "bucket"'],
    ['naming a role', { roleArn: 'arn:aws:iam::222222222222:role/Role-G' }, 400, 'invalid_request', 'body: Unrecognized key: "roleArn"'],
    ['narrowing to ../globex/', { prefix: '../globex/' }, 400, 'invalid_key', 'prefix must not contain "." or ".." segments'],
    ['narrowing to *', { prefix: '*' }, 400, 'invalid_key', 'prefix must end with "/"'],
    ['narrowing to */', { prefix: '*/' }, 400, 'invalid_key', 'prefix must not contain "*", "?" or "$" (IAM wildcards and variables: the Polaris CVE-2026-42810 class)'],
    ['narrowing to /globex/', { prefix: '/globex/' }, 400, 'invalid_key', 'prefix must not start with "/"'],
    ['narrowing to ${aws:username}/', { prefix: '${aws:username}/' }, 400, 'invalid_key', 'prefix must not contain "*", "?" or "$" (IAM wildcards and variables: the Polaris CVE-2026-42810 class)'],
    ['asking for an action globex\'s grant lacks, with a globex key', { actions: ['write'], key: GLOBEX_KEY }, 403, 'outside_grant', 'action outside the grant: write (granted: read, list)'],
  ])('refuses %s before STS', async (_name, change, status, code, message) => {
    const { invoke, issuer } = setup();
    const { key, ...request } = change;
    const { res, body } = await invoke(credentialsRoute, post('/v1/credentials', request, { 'x-api-key': (key as string | undefined) ?? ACME_KEY }));
    expect([res.statusCode, body.error.code, body.error.message]).toEqual([status, code, message]);
    expect(issuer.requests).toHaveLength(0);
  });

  it.each<[string, string]>([
    ['../../globex/x.csv', 'key must not contain "." or ".." segments'],
    ['../globex-bucket/x.csv', 'key must not contain "." or ".." segments'],
    ['*', 'key must not contain "*", "?" or "$" (IAM wildcards and variables: the Polaris CVE-2026-42810 class)'],
  ])('refuses a download of %j with 400 invalid_key', async (key, message) => {
    const { invoke, issuer } = setup();
    const { res, body } = await invoke(downloadsRoute, post('/v1/downloads', { key }));
    expect([res.statusCode, body.error.code, body.error.message]).toEqual([400, 'invalid_key', message]);
    expect(issuer.requests).toHaveLength(0);
  });
});

// ---- JWTs, with a real verifier --------------------------------------------------------------


const jsonHandler = (body: unknown): Handler => (_req, res) => { res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body)); };

describe('JWT authentication through the handler, with a real JwtVerifier and a loopback JWKS', () => {
  let es256: { privateKey: CryptoKey; publicJwk: JWK };
  let rsaPem: string;
  let rsaJwk: JWK;
  let idp: TestServer;
  let attacker: TestServer;
  const servers: TestServer[] = [];

  beforeAll(async () => {
    const ec = await generateKeyPair('ES256', { extractable: true });
    es256 = { privateKey: ec.privateKey, publicJwk: { ...(await exportJWK(ec.publicKey)), kid: 'es-1', alg: 'ES256', use: 'sig' } };
    const rsa = await generateKeyPair('RS256', { extractable: true });
    rsaPem = await exportSPKI(rsa.publicKey);
    rsaJwk = { ...(await exportJWK(rsa.publicKey)), kid: 'rs-1', alg: 'RS256', use: 'sig' };
    // an OIDC provider: discovery document first, keys at its jwks_uri
    idp = await serve((req, res) => {
      if (req.url === '/.well-known/openid-configuration') return jsonHandler({ issuer: idp.url, jwks_uri: `${idp.url}/jwks` })(req, res);
      if (req.url === '/jwks') return jsonHandler({ keys: [es256.publicJwk, rsaJwk] })(req, res);
      res.writeHead(404).end();
    });
    attacker = await serve(jsonHandler({ keys: [] }));
    servers.push(idp, attacker);
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });

  /** acme/app trusts `issuer` (and its JWKS at `jwksUri`, else where OIDC discovery says); the verifier is fresh. */
  function jwtSetup(options: { issuer?: string; jwksUri?: string } = {}) {
    const issuer = options.issuer ?? idp.url;
    const config = brokerConfig({
      allowInsecureLoopbackHttp: true,
      partners: { acme: { clients: { app: { jwt: { issuer, algorithms: ['ES256', 'RS256'], ...(options.jwksUri ? { jwksUri: options.jwksUri } : {}) } } } } },
    });
    const { deps: base, issuer: sts } = testDeps(config);
    const deps: BrokerDeps = {
      ...base,
      jwt: remoteJwtVerifier(base.store, { jwksTimeoutMs: JWKS_TIMEOUT_MS, jwksMaxBytes: 65536, clockToleranceSeconds: 30, allowInsecureLoopbackHttp: true }),
    };
    const invoke = async (token: string, route: Route<any> = credentialsRoute) => {
      recordSecrets(token);
      const event = route === whoamiRoute
        ? apiEvent({ method: 'GET', path: '/v1/whoami', headers: { authorization: `Bearer ${token}` } })
        : post('/v1/credentials', {}, { authorization: `Bearer ${token}` });
      const result = await invokeRoute(route, deps, event);
      // no refusal or error body ever carries the token or any part of it
      for (const part of token.split('.')) if (part.length >= 8) expect(result.res.body).not.toContain(part);
      return { ...result, sts, event };
    };
    return { invoke, issuer };
  }

  const now = () => Math.floor(Date.now() / 1000);
  const sign = (claims: JWTPayload = {}, header: Record<string, unknown> = {}) =>
    new SignJWT({ iss: idp.url, aud: 'acme-app', sub: 'alice', iat: now(), exp: now() + 300, ...claims })
      .setProtectedHeader({ alg: 'ES256', kid: 'es-1', typ: 'JWT', ...header })
      .sign(es256.privateKey);

  it('accepts a good token and puts the caller under its own folder (the control)', async () => {
    const { invoke } = jwtSetup();
    const { res, body, sts } = await invoke(await sign());
    expect(res.statusCode).toBe(200);
    expect(body.prefix).toBe('acme/users/alice/');
    expect(sts.requests).toHaveLength(1);
    const unsafe = await invoke(await sign({ sub: 'alice/x' }), whoamiRoute);
    expect(unsafe.body.grant.prefix).toMatch(/^acme\/users\/h-[a-z2-7]{52}\/$/);
  });

  it('refuses alg none with 401', async () => {
    const { invoke } = jwtSetup();
    const unsigned = new UnsecuredJWT({ sub: 'alice', aud: 'acme-app', exp: now() + 300 }).setIssuer(idp.url).encode();
    const { res, body, sts } = await invoke(unsigned);
    expect([res.statusCode, body.error.code, body.error.message]).toEqual([401, 'unauthenticated', 'unsigned token (alg none) is not accepted']);
    expect(sts.requests).toHaveLength(0);
  });

  it('refuses HS256 signed with the RSA public key (algorithm confusion) with 401, fetching no keys', async () => {
    const jwks = await serve(jsonHandler({ keys: [rsaJwk] }));
    servers.push(jwks);
    const { invoke } = jwtSetup({ jwksUri: `${jwks.url}/keys` });
    const confused = await new SignJWT({ iss: idp.url, aud: 'acme-app', sub: 'admin', exp: now() + 300 })
      .setProtectedHeader({ alg: 'HS256', kid: 'rs-1' })
      .sign(new TextEncoder().encode(rsaPem));
    const { res, body } = await invoke(confused);
    expect([res.statusCode, body.error.code, body.error.message]).toEqual([401, 'unauthenticated', 'token algorithm is not allowed for this client']);
    expect(jwks.requests()).toBe(0);
  });

  it('refuses an expired token with 401', async () => {
    const { invoke } = jwtSetup();
    const { res, body } = await invoke(await sign({ exp: now() - 600 }));
    expect([res.statusCode, body.error.code, body.error.message]).toEqual([401, 'unauthenticated', 'token expired']);
  });

  it('refuses a wrong audience with 401, before any JWKS fetch', async () => {
    const { invoke } = jwtSetup();
    const before = idp.requests();
    const { res, body } = await invoke(await sign({ aud: 'globex-app' }));
    expect([res.statusCode, body.error.code, body.error.message]).toEqual([401, 'unauthenticated', 'no client accepts this issuer and audience']);
    expect(idp.requests()).toBe(before);
  });

  it('refuses an empty subject with 401', async () => {
    const { invoke } = jwtSetup();
    const { res, body } = await invoke(await sign({ sub: '' }));
    expect([res.statusCode, body.error.code, body.error.message]).toEqual([401, 'unauthenticated', 'token subject claim "sub" must be a non-empty string']);
  });

  it.each(['jku', 'x5u', 'jwk'])('refuses a %s header with 401 and never contacts the server it names', async (name) => {
    const { invoke } = jwtSetup();
    const before = { attacker: attacker.requests(), idp: idp.requests() };
    const header = name === 'jwk' ? { jwk: es256.publicJwk } : { [name]: `${attacker.url}/jwks.json` };
    const { res, body } = await invoke(await sign({}, header));
    expect([res.statusCode, body.error.code, body.error.message]).toEqual([401, 'unauthenticated', 'token header jku/x5u/jwk is not accepted']);
    expect(attacker.requests()).toBe(before.attacker);
    expect(idp.requests()).toBe(before.idp);
  });

  it('answers 503 jwks_unavailable at once when the JWKS endpoint is down', async () => {
    const down = await serve(jsonHandler({}));
    await down.close();
    const { invoke } = jwtSetup({ jwksUri: `${down.url}/keys` });
    const started = performance.now();
    const { res, body, sts } = await invoke(await sign());
    expect([res.statusCode, body.error.code]).toEqual([503, 'jwks_unavailable']);
    expect(body.error.message).toBe(`the broker could not complete the request (jwks_unavailable); quote request id ${body.error.requestId}`);
    expect(performance.now() - started).toBeLessThan(JWKS_TIMEOUT_MS + 1000);
    expect(sts.requests).toHaveLength(0);
  });

  it('answers 503 jwks_unavailable within the JWKS timeout when the endpoint never answers (no hang)', async () => {
    const silent = await serve(() => undefined);
    servers.push(silent);
    const { invoke } = jwtSetup({ jwksUri: `${silent.url}/keys` });
    const token = await sign();
    const started = performance.now();
    const { res, body } = await invoke(token);
    const elapsed = performance.now() - started;
    expect([res.statusCode, body.error.code]).toEqual([503, 'jwks_unavailable']);
    expect(silent.requests()).toBe(1);
    expect(elapsed).toBeGreaterThanOrEqual(JWKS_TIMEOUT_MS - 50);
    expect(elapsed).toBeLessThan(JWKS_TIMEOUT_MS + 1000);
  });
});

// ---- request bodies on every POST route ----------------------------------------------------

const POST_ROUTES: ReadonlyArray<{ name: string; route: Route<any>; path: string; valid: Record<string, unknown>; wrongType: [string, unknown] }> = [
  { name: 'credentials', route: credentialsRoute, path: '/v1/credentials', valid: { actions: ['read'] }, wrongType: ['durationSeconds', '900'] },
  { name: 'uploads', route: uploadsRoute, path: '/v1/uploads', valid: { method: 'PUT', key: 'a.pdf', contentType: 'application/pdf', contentLength: 10 }, wrongType: ['contentLength', '10'] },
  { name: 'downloads', route: downloadsRoute, path: '/v1/downloads', valid: { key: 'a.pdf' }, wrongType: ['key', 5] },
];

const JSON_TYPE = { 'content-type': 'application/json' };

describe.each(POST_ROUTES)('POST $path: hostile bodies', ({ route, path, valid, wrongType: [field, wrongValue] }) => {
  const raw = (rawBody: string, headers: Record<string, string> = JSON_TYPE) =>
    apiEvent({ method: 'POST', path, rawBody, headers: { 'x-api-key': ACME_KEY, ...headers } });

  it('accepts the valid body (the control), also with a charset parameter', async () => {
    const { invoke } = setup();
    expect((await invoke(route, raw(JSON.stringify(valid)))).res.statusCode).toBe(200);
    expect((await invoke(route, raw(JSON.stringify(valid), { 'content-type': 'application/json; charset=utf-8' }))).res.statusCode).toBe(200);
  });

  it.each<[string, number, string, string, () => ReturnType<typeof apiEvent>]>([
    ['malformed JSON', 400, 'invalid_request', 'the body is not valid JSON', () => raw(`${JSON.stringify(valid).slice(0, -1)}`)],
    ['a text/plain body', 415, 'unsupported_media_type', 'send the body as Content-Type: application/json', () => raw(JSON.stringify(valid), { 'content-type': 'text/plain' })],
    ['a form-encoded body', 415, 'unsupported_media_type', 'send the body as Content-Type: application/json', () => raw('key=a.pdf', { 'content-type': 'application/x-www-form-urlencoded' })],
    ['no content type', 415, 'unsupported_media_type', 'send the body as Content-Type: application/json', () => raw(JSON.stringify(valid), {})],
    ['an empty body', 400, 'invalid_request', 'a JSON body is required', () => raw('')],
    ['a JSON array', 400, 'invalid_request', 'body: Invalid input', () => raw('[]')],
    ['JSON null', 400, 'invalid_request', 'body: Invalid input', () => raw('null')],
    ['a JSON string', 400, 'invalid_request', 'body: Invalid input', () => raw('"a.pdf"')],
    [`a wrong type for ${field}`, 400, 'invalid_request', `body.${field}: Invalid input`, () => raw(JSON.stringify({ ...valid, [field]: wrongValue }))],
    ['an unknown field', 400, 'invalid_request', 'body: Unrecognized key: "bucket"', () => raw(JSON.stringify({ ...valid, bucket: 'globex-bucket' }))],
    ['an oversized body', 413, 'too_large', 'the limit is 16384', () => raw(JSON.stringify({ ...valid, pad: 'x'.repeat(17 * 1024) }))],
    ['a top-level __proto__ key', 400, 'invalid_request', 'the body contains a forbidden key (__proto__ or constructor.prototype)', () => raw(`{"__proto__":{"admin":true},${JSON.stringify(valid).slice(1)}`)],
    ['a nested __proto__ key', 400, 'invalid_request', 'the body contains a forbidden key (__proto__ or constructor.prototype)', () => raw(JSON.stringify({ ...valid, x: 1 }).replace('"x":1', '"x":{"__proto__":{"admin":true}}'))],
    ['a constructor.prototype key', 400, 'invalid_request', 'the body contains a forbidden key (__proto__ or constructor.prototype)', () => raw(JSON.stringify({ ...valid, constructor: { prototype: { admin: true } } }))],
    ['a plain constructor key', 400, 'invalid_request', 'body: Unrecognized key: "constructor"', () => raw(JSON.stringify({ ...valid, constructor: 1 }))],
  ])('refuses %s with %i %s before STS', async (_name, status, code, message, event) => {
    const { invoke, issuer } = setup();
    const { res, body } = await invoke(route, event());
    expect([res.statusCode, body.error.code]).toEqual([status, code]);
    expect(body.error.message).toContain(message);
    expect(issuer.requests).toHaveLength(0);
    // nothing reached Object.prototype
    expect(({} as Record<string, unknown>)['admin']).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('admin');
  });
});

describe('POST /v1/uploads: a duplicated JSON key is read as its last value and validated', () => {
  it('refuses {"key":"a.pdf","key":"../x.pdf"} with 400 invalid_key', async () => {
    const { invoke, issuer } = setup();
    const rawBody = '{"method":"PUT","key":"a.pdf","key":"../x.pdf","contentType":"application/pdf","contentLength":1}';
    const { res, body } = await invoke(uploadsRoute, apiEvent({ method: 'POST', path: '/v1/uploads', rawBody, headers: { 'x-api-key': ACME_KEY, ...JSON_TYPE } }));
    expect([res.statusCode, body.error.code, body.error.message]).toEqual([400, 'invalid_key', 'key must not contain "." or ".." segments']);
    expect(issuer.requests).toHaveLength(0);
  });
});

// ---- lone surrogates: refused in every field, before any upstream call -----------------------

describe('a lone surrogate (ill-formed UTF-16) in any field is 400 invalid_request, before STS', () => {
  const ALL_POST: ReadonlyArray<[Route<any>, string, Record<string, unknown>, string]> = [
    [downloadsRoute, '/v1/downloads', { key: 'a.pdf', filename: 'report\uD800.pdf' }, 'body.filename'],
    [downloadsRoute, '/v1/downloads', { key: 'a\uDC00.pdf' }, 'body.key'],
    [uploadsRoute, '/v1/uploads', { method: 'PUT', key: 'a.pdf', contentType: 'application/pdf\uD83D', contentLength: 1 }, 'body.contentType'],
    [credentialsRoute, '/v1/credentials', { prefix: 'x\uDFFF/' }, 'body.prefix'],
    [credentialsRoute, '/v1/credentials', { actions: ['read\uD800'] }, 'body.actions.0'],
    [multipartCreateRoute, '/v1/uploads/multipart', { key: '\uD800', contentType: 'application/pdf', contentLength: 10 }, 'body.key'],
    [multipartCompleteRoute, '/v1/uploads/multipart/complete', { key: 'a.pdf', uploadId: 'u', contentLength: 10, partSize: 5242880, parts: [{ partNumber: 1, etag: '"\uDBFF"' }] }, 'body.parts.0.etag'],
  ];

  it.each(ALL_POST.map(([route, path, body, field]) => [path, field, route, body] as const))('%s: %s', async (path, field, route, body) => {
    const { invoke, issuer } = setup();
    const { res, body: answer } = await invoke(route, post(path, body));
    expect([res.statusCode, answer.error.code]).toEqual([400, 'invalid_request']);
    expect(answer.error.message).toBe(`${field}: must be well-formed Unicode (a lone surrogate is not a character)`);
    expect(issuer.requests).toHaveLength(0);
  });

  it('in a field name too (refused before the unknown-key check could echo it)', async () => {
    const { invoke, issuer } = setup();
    const { res, body } = await invoke(downloadsRoute, post('/v1/downloads', { key: 'a.pdf', ['x\uD800']: 1 }));
    expect([res.statusCode, body.error.message]).toEqual([400, 'body: a field name is not well-formed Unicode (a lone surrogate is not a character)']);
    expect(issuer.requests).toHaveLength(0);
  });

  it('in a query parameter of a GET route', async () => {
    const { invoke, issuer } = setup();
    const event = apiEvent({ method: 'GET', path: '/v1/credentials/process', query: { prefix: 'a\uD800/' }, headers: { 'x-api-key': ACME_KEY } });
    const { res, body } = await invoke(credentialsProcessRoute, event);
    expect([res.statusCode, body.error.code, body.error.message]).toEqual([400, 'invalid_request', 'query.prefix: must be well-formed Unicode (a lone surrogate is not a character)']);
    expect(issuer.requests).toHaveLength(0);
  });

  it('a well-formed surrogate pair (an emoji) is fine (the control)', async () => {
    const { invoke } = setup();
    const { res, body } = await invoke(downloadsRoute, post('/v1/downloads', { key: 'a.pdf', filename: 'report \uD83D\uDE00.pdf' }));
    expect(res.statusCode).toBe(200);
    expect(new URL(body.url).searchParams.get('response-content-disposition')).toBe("attachment; filename=\"report _.pdf\"; filename*=UTF-8''report%20%F0%9F%98%80.pdf");
  });
});

// ---- X-Request-Id on every response, preflights included ------------------------------------

describe('every response carries X-Request-Id', () => {
  it('a CORS preflight, allowed or not, carries API Gateway\'s request id', async () => {
    const { deps } = setup();
    const handler = preflightHandler(() => deps);
    for (const origin of ['https://app.acme.example', 'https://evil.example', undefined]) {
      const event = apiEvent({ method: 'OPTIONS', path: '/v1/uploads', headers: origin ? { origin } : {} });
      const res = await handler(event);
      expect(res.statusCode).toBe(204);
      expect(res.headers['x-request-id']).toBe(event.requestContext.requestId);
    }
  });

  it('a preflight under serverless-offline (placeholder request id) gets a fresh UUID', async () => {
    const { deps } = setup();
    const event = apiEvent({ method: 'OPTIONS', path: '/v1/uploads' });
    event.requestContext.requestId = 'offlineContext_resourceId';
    const res = await preflightHandler(() => deps)(event);
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('success and error answers of a route carry it too', async () => {
    const { invoke } = setup();
    for (const event of [post('/v1/downloads', { key: 'a.pdf' }), post('/v1/downloads', { key: 'a.pdf' }, {}), post('/v1/downloads', { key: 5 })]) {
      const { res } = await invoke(downloadsRoute, event);
      expect(res.headers['x-request-id']).toBe(event.requestContext.requestId);
    }
  });
});

// ---- LOG_LEVEL: the logger uses the level config/settings.ts validates --------------------

describe('the logger level is LOG_LEVEL as settings validates it', () => {
  it.each<[string | undefined, string]>([['debug', 'DEBUG'], ['Warn', 'WARN'], [undefined, 'INFO'], ['', 'INFO'], ['verbose', 'INFO']])('LOG_LEVEL=%j logs at %s', (value, level) => {
    expect(createLogger('level-test', value === undefined ? {} : { LOG_LEVEL: value }).getLevelName()).toBe(level);
  });
});

// ---- config: the broker refuses to start, naming the field ---------------------------------

describe('coldStart refuses every invalid config, naming the field', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sts-broker-hostile-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  const write = (text: string) => {
    const path = join(dir, `broker-${(n += 1)}.yaml`);
    writeFileSync(path, text);
    return path;
  };

  /** coldStart with this config text and extra env; the ConfigError it throws, and what it logged. */
  async function refusal(text: string, env: Record<string, string> = {}): Promise<{ err: unknown; lines: string[] }> {
    const path = write(text);
    const { result, lines } = await captureLogs(async () => {
      try {
        coldStart({ presigner: noPresigner, env: { BROKER_CONFIG: path, ...env } });
      } catch (err) {
        return err;
      }
      throw new Error('coldStart accepted an invalid config');
    });
    return { err: result, lines };
  }

  const sub = '${sub}';
  const acmeApp = (jwt: Overrides) => ({ partners: { acme: { clients: { app: { jwt } } } } });
  it.each<[string, string, string]>([
    ['an unknown top-level key', configYaml({ partner: {} }), 'partner: unrecognized key'],
    ['an unknown partner key', configYaml({ partners: { acme: { bucktt: 'x' } } }), 'partners.acme.bucktt: unrecognized key'],
    ['an unknown client key', configYaml({ partners: { acme: { clients: { backend: { prefixx: 'acme/' } } } } }), 'partners.acme.clients.backend.prefixx: unrecognized key'],
    ['a prefix without a trailing "/"', configYaml({ partners: { acme: { clients: { backend: { prefix: 'acme' } } } } }), 'partners.acme.clients.backend.prefix: must end with "/"'],
    ['a prefix with a wildcard', configYaml({ partners: { acme: { clients: { backend: { prefix: 'acme/*/' } } } } }), 'partners.acme.clients.backend.prefix: must not contain "*", "?" or "$"'],
    ['a prefix with ".."', configYaml({ partners: { acme: { clients: { backend: { prefix: 'acme/../globex/' } } } } }), 'partners.acme.clients.backend.prefix: must not contain "." or ".." segments'],
    ['${sub} in an API-key client\'s prefix', configYaml({ partners: { acme: { clients: { backend: { prefix: `acme/${sub}/` } } } } }), 'partners.acme.clients.backend.prefix: ${sub} is only for JWT clients'],
    ['${sub} inside a segment', configYaml({ partners: { acme: { clients: { app: { prefix: `acme/u-${sub}/` } } } } }), 'partners.acme.clients.app.prefix: ${sub} must be a whole path segment'],
    ['an http issuer', configYaml(acmeApp({ issuer: 'http://issuer.example' })), 'partners.acme.clients.app.jwt.issuer: must be an https URL'],
    ['an http JWKS URI', configYaml(acmeApp({ jwksUri: 'http://issuer.example/jwks.json' })), 'partners.acme.clients.app.jwt.jwksUri: must be an https URL'],
    ['a missing audience', configYaml(acmeApp({ audience: undefined })), 'partners.acme.clients.app.jwt.audience: required'],
    ['an algorithm outside the list (HS256)', configYaml(acmeApp({ algorithms: ['HS256'] })), 'partners.acme.clients.app.jwt.algorithms.0'],
    ['a partner duration of 899', configYaml({ partners: { acme: { maxDurationSeconds: 899 } } }), 'partners.acme.maxDurationSeconds: Too small'],
    ['a partner duration of 3601', configYaml({ partners: { acme: { maxDurationSeconds: 3601 } } }), 'partners.acme.maxDurationSeconds: Too big'],
    ['a client duration over its partner\'s', configYaml({ partners: { globex: { clients: { backend: { maxDurationSeconds: 1800 } } } } }), 'partners.globex.clients.backend.maxDurationSeconds: must not exceed the partner\'s maxDurationSeconds (900)'],
    ['a duplicate API key hash', configYaml({ partners: { globex: { clients: { backend: { apiKeys: [{ id: 'globexk1', sha256: sha256Hex(ACME_KEY) }] } } } } }), 'partners.globex.clients.backend.apiKeys.0.sha256: duplicate API key hash (also partners.acme.clients.backend.apiKeys.0)'],
    ['a duplicate API key id', configYaml({ partners: { globex: { clients: { backend: { apiKeys: [{ id: 'acmek1', sha256: sha256Hex(GLOBEX_KEY) }] } } } } }), 'partners.globex.clients.backend.apiKeys.0.id: duplicate API key id "acmek1"'],
    ['a duplicate (issuer, audience)', configYaml({ partners: { globex: { clients: { app: { jwt: { issuer: 'https://issuer.example', audience: 'acme-app', algorithms: ['ES256'] }, prefix: `globex/${sub}/`, actions: ['read'], maxUploadBytes: 1, contentTypes: ['image/png'] } } } } }), 'partners.globex.clients.app.jwt.audience: issuer "https://issuer.example" with an overlapping audience is also configured for partners.acme.clients.app'],
    ['a client with both apiKeys and jwt', configYaml({ partners: { acme: { clients: { app: { apiKeys: [{ id: 'k9', sha256: 'a'.repeat(64) }] } } } } }), 'partners.acme.clients.app: a client has exactly one way in: either apiKeys or jwt'],
    ['a bad role ARN', configYaml({ partners: { acme: { roleArn: 'arn:aws:iam::111111111111:user/Role-A' } } }), 'partners.acme.roleArn: must be an IAM role ARN'],
    ['a bad bucket name', configYaml({ partners: { acme: { bucket: 'Partner_Bucket' } } }), 'partners.acme.bucket: must be a valid S3 bucket name'],
    ['a bad API key hash', configYaml({ partners: { acme: { clients: { backend: { apiKeys: [{ id: 'acmek1', sha256: 'xyz' }] } } } } }), 'partners.acme.clients.backend.apiKeys.0.sha256: must be 64 lowercase hex characters'],
    ['a duplicate YAML key', 'partners:\n  acme:\n    bucket: a\n    bucket: b\n', 'partners.acme.bucket: duplicate key (line 4, column 5)'],
  ])('refuses %s', async (_name, text, named) => {
    const { err, lines } = await refusal(text);
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as ConfigError).message;
    expect(message).toMatch(/^invalid config .*broker-\d+\.yaml: /);
    expect(message).toContain(named);
    // and the log line that explains the refusal names it too
    expect(lines.some((l) => l.includes('refusing to start') && l.includes(named.replace(/"/g, '\\"')))).toBe(true);
  });

  it.each<[string, Record<string, string>, string]>([
    ['BROKER_STS_TIMEOUT_MS=abc', { BROKER_STS_TIMEOUT_MS: 'abc' }, 'BROKER_STS_TIMEOUT_MS: Invalid input: expected number, received NaN'],
    ['BROKER_STS_TIMEOUT_MS=10 (below 100)', { BROKER_STS_TIMEOUT_MS: '10' }, 'BROKER_STS_TIMEOUT_MS: Too small'],
    ['BROKER_STS_MAX_ATTEMPTS=0', { BROKER_STS_MAX_ATTEMPTS: '0' }, 'BROKER_STS_MAX_ATTEMPTS: Too small'],
    ['BROKER_JWKS_TIMEOUT_MS=1.5', { BROKER_JWKS_TIMEOUT_MS: '1.5' }, 'BROKER_JWKS_TIMEOUT_MS'],
    ['BROKER_STS_ENDPOINT not a URL', { BROKER_STS_ENDPOINT: 'sts.local' }, 'BROKER_STS_ENDPOINT'],
  ])('refuses the environment %s, naming the variable', async (_name, env, named) => {
    const { err } = await refusal(configYaml(), env);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toMatch(/^invalid environment: /);
    expect((err as ConfigError).message).toContain(named);
  });

  it('refuses a missing BROKER_CONFIG and an unreadable file, naming them', async () => {
    const missing = await captureLogs(async () => {
      try {
        coldStart({ presigner: noPresigner, env: {} });
      } catch (err) {
        return err as Error;
      }
      throw new Error('started without a config');
    });
    expect(missing.result).toBeInstanceOf(ConfigError);
    expect(missing.result.message).toContain('BROKER_CONFIG');
    const absent = join(dir, 'absent.yaml');
    const unreadable = await captureLogs(async () => {
      try {
        coldStart({ presigner: noPresigner, env: { BROKER_CONFIG: absent } });
      } catch (err) {
        return err as Error;
      }
      throw new Error('started without a readable config');
    });
    expect(unreadable.result).toBeInstanceOf(ConfigError);
    expect(unreadable.result.message).toBe(`invalid config ${absent}: cannot read the file (ENOENT)`);
  });

  it('starts on the valid fixture (the control)', async () => {
    const path = write(configYaml());
    const { result: deps } = await captureLogs(async () => coldStart({ presigner: noPresigner, env: { BROKER_CONFIG: path, BROKER_STS_TIMEOUT_MS: '1000' } }));
    expect((await deps.store.partner('acme'))?.bucket).toBe('partner-bucket');
  });
});
