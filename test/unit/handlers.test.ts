/**
 * Every route, driven by real API Gateway v2 events through the full request pipeline (lambdaHandler). Only STS is
 * faked (RecordingIssuer); grants, policies, the session cache and presigning are the real code.
 */
import { describe, expect, it } from '@jest/globals';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { StsThrottledError } from '../../src/domain/errors.js';
import { lambdaHandler } from '../../src/http/lambdaHandler.js';
import { preflightHandler } from '../../src/http/preflight.js';
import type { HttpResponse } from '../../src/http/responses.js';
import type { Route } from '../../src/http/route.js';
import { credentialsRoute } from '../../src/routes/credentials.js';
import { credentialsContainerRoute } from '../../src/routes/credentialsContainer.js';
import { credentialsProcessRoute } from '../../src/routes/credentialsProcess.js';
import { downloadsRoute } from '../../src/routes/downloads.js';
import { healthRoute } from '../../src/routes/health.js';
import { uploadsRoute } from '../../src/routes/uploads.js';
import { whoamiRoute } from '../../src/routes/whoami.js';
import { apiEvent, lambdaContext } from '../support/apiEvent.js';
import { testDeps } from '../support/brokerDeps.js';
import { captureLogs } from '../support/captureLogs.js';
import { brokerConfig, FIXTURE_API_KEYS, rawWriteOptIn, type Overrides } from '../support/configFixture.js';

const ACME_KEY = FIXTURE_API_KEYS.acmeBackend.key;
const GLOBEX_KEY = FIXTURE_API_KEYS.globexBackend.key;

function setup(options: Parameters<typeof testDeps>[1] & { config?: Overrides } = {}) {
  const { config, ...depsOptions } = options;
  const { deps, issuer } = testDeps(brokerConfig(config ?? {}), depsOptions);
  const invoke = async <I>(route: Route<I>, event: APIGatewayProxyEventV2) => {
    const { result, lines } = await captureLogs(() => lambdaHandler(route, () => deps)(event, lambdaContext) as Promise<HttpResponse>);
    return { res: result, body: JSON.parse(result.body ?? 'null') as Record<string, any>, lines };
  };
  return { deps, issuer, invoke };
}

const post = (path: string, body: unknown, headers: Record<string, string> = { 'x-api-key': ACME_KEY }) =>
  apiEvent({ method: 'POST', path, body, headers });
const get = (path: string, headers: Record<string, string> = { 'x-api-key': ACME_KEY }, query?: Record<string, string>) =>
  apiEvent({ method: 'GET', path, headers, ...(query ? { query } : {}) });

describe('POST /v1/credentials', () => {
  it('vends credentials for the whole grant (write included: the client opts in) and sends STS exactly the scoped request', async () => {
    const { invoke, issuer } = setup({ config: rawWriteOptIn('acme', 'backend') });
    const event = post('/v1/credentials', {});
    const { res, body } = await invoke(credentialsRoute, event);

    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['x-request-id']).toBe(event.requestContext.requestId);
    expect(body).toEqual({
      credentials: {
        accessKeyId: issuer.issued[0]!.accessKeyId,
        secretAccessKey: issuer.issued[0]!.secretAccessKey,
        sessionToken: issuer.issued[0]!.sessionToken,
        expiration: issuer.issued[0]!.expiration.toISOString(),
      },
      bucket: 'partner-bucket',
      region: 'ap-northeast-1',
      prefix: 'acme/',
      actions: ['read', 'write', 'list', 'delete'],
      sessionName: issuer.requests[0]!.roleSessionName,
    });
    const sent = issuer.requests[0]!;
    expect(sent).toMatchObject({
      roleArn: 'arn:aws:iam::111111111111:role/Role-A',
      externalId: 'acme-3f9c',
      durationSeconds: 3600,
      region: 'ap-northeast-1',
    });
    expect(sent.sourceIdentity).toMatch(/^[\w+=,.@-]{2,64}$/);
    expect(sent.tags).toEqual(expect.arrayContaining([{ key: 'partner', value: 'acme' }, { key: 'subject', value: 'acmek1' }]));
    const policy = JSON.parse(sent.policy);
    expect(policy.Version).toBe('2012-10-17');
    expect(JSON.stringify(policy)).toContain('arn:aws:s3:::partner-bucket/acme/*');
  });

  it('narrows to the actions and sub-prefix asked for', async () => {
    const { invoke, issuer } = setup();
    const { res, body } = await invoke(credentialsRoute, post('/v1/credentials', { actions: ['read'], prefix: 'reports/', durationSeconds: 900 }));
    expect(res.statusCode).toBe(200);
    expect(body.prefix).toBe('acme/reports/');
    expect(body.actions).toEqual(['read']);
    const policy = JSON.parse(issuer.requests[0]!.policy);
    expect(policy.Statement).toEqual([{ Sid: 'Objects', Effect: 'Allow', Action: ['s3:GetObject'], Resource: 'arn:aws:s3:::partner-bucket/acme/reports/*' }]);
    expect(issuer.requests[0]!.durationSeconds).toBe(900);
  });

  it('refuses a duration below the AssumeRole floor with a 400 naming it (never silently lengthened)', async () => {
    const { invoke, issuer } = setup();
    const { res, body } = await invoke(credentialsRoute, post('/v1/credentials', { durationSeconds: 899 }));
    expect(res.statusCode).toBe(400);
    expect(body.error.code).toBe('invalid_duration');
    expect(body.error.message).toContain('900');
    expect(issuer.requests).toHaveLength(0);
  });

  it('refuses actions outside the grant with 403', async () => {
    const { invoke, issuer } = setup();
    const { res, body } = await invoke(credentialsRoute, post('/v1/credentials', { actions: ['read'] }, { 'x-api-key': GLOBEX_KEY }));
    expect(res.statusCode).toBe(200);
    const denied = await invoke(credentialsRoute, post('/v1/credentials', { actions: ['write'] }, { 'x-api-key': GLOBEX_KEY }));
    expect(denied.res.statusCode).toBe(403);
    expect(denied.body.error.code).toBe('outside_grant');
    expect(body.bucket).toBe('globex-bucket');
    expect(issuer.requests).toHaveLength(1);
  });

  it.each([
    ['no credentials', {}, 401, 'unauthenticated'],
    ['an unknown key', { 'x-api-key': `sbk_nobody_${'c3'.repeat(32)}` }, 401, 'unauthenticated'],
    ['a bare Authorization key (only the container route accepts it)', { authorization: ACME_KEY }, 401, 'unauthenticated'],
  ])('answers %s with %i %s in the one error shape', async (_name, headers, status, code) => {
    const { invoke, issuer } = setup();
    const event = post('/v1/credentials', {}, headers as Record<string, string>);
    const { res, body } = await invoke(credentialsRoute, event);
    expect(res.statusCode).toBe(status);
    expect(body).toEqual({ error: { code, message: expect.any(String), requestId: event.requestContext.requestId } });
    expect(issuer.requests).toHaveLength(0);
  });

  it.each([
    ['malformed JSON', { rawBody: '{"actions":', headers: { 'content-type': 'application/json' } }, 400, 'invalid_request', 'not valid JSON'],
    ['a non-JSON content type', { rawBody: 'actions=read', headers: { 'content-type': 'application/x-www-form-urlencoded' } }, 415, 'unsupported_media_type', 'application/json'],
    ['an unknown field', { body: { actions: ['read'], bucket: 'other' } }, 400, 'invalid_request', 'body: Unrecognized key: "bucket"'],
    ['a wrong type', { body: { durationSeconds: '900' } }, 400, 'invalid_request', 'body.durationSeconds'],
    ['a __proto__ key', { rawBody: '{"__proto__":{"admin":true}}', headers: { 'content-type': 'application/json' } }, 400, 'invalid_request', 'forbidden key'],
    ['a constructor.prototype key', { rawBody: '{"constructor":{"prototype":{"admin":true}}}', headers: { 'content-type': 'application/json' } }, 400, 'invalid_request', 'forbidden key'],
    ['an oversized body', { rawBody: JSON.stringify({ prefix: 'a'.repeat(20000) }), headers: { 'content-type': 'application/json' } }, 413, 'too_large', 'limit is 16384'],
  ])('refuses %s with %i %s', async (_name, shape, status, code, message) => {
    const { invoke, issuer } = setup();
    const headers = { 'x-api-key': ACME_KEY, ...('headers' in shape ? shape.headers : {}) };
    const event = 'rawBody' in shape
      ? apiEvent({ method: 'POST', path: '/v1/credentials', rawBody: shape.rawBody, headers })
      : post('/v1/credentials', shape.body);
    const { res, body } = await invoke(credentialsRoute, event);
    expect(res.statusCode).toBe(status);
    expect(body.error.code).toBe(code);
    expect(body.error.message).toContain(message);
    expect(issuer.requests).toHaveLength(0);
  });

  it('maps STS throttling to 503 with Retry-After and a generic message', async () => {
    const { invoke, issuer } = setup();
    issuer.failWith = new StsThrottledError('Throttling: Rate exceeded for arn:aws:iam::111111111111:role/Role-A', { retryAfterSeconds: 2 });
    const event = post('/v1/credentials', {});
    const { res, body, lines } = await invoke(credentialsRoute, event);
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('2');
    expect(body.error.code).toBe('sts_throttled');
    expect(body.error.message).not.toContain('arn:');
    expect(body.error.message).toContain(event.requestContext.requestId);
    expect(lines.some((l) => l.includes('"request failed"') && l.includes('sts_throttled'))).toBe(true);
  });

  it('turns an unexpected error into a 500 that reveals nothing', async () => {
    const { invoke, issuer } = setup();
    issuer.failWith = new Error('socket hang up at /var/task/secret-internal-path.js');
    const { res, body } = await invoke(credentialsRoute, post('/v1/credentials', {}));
    expect(res.statusCode).toBe(500);
    expect(body.error.code).toBe('internal_error');
    expect(JSON.stringify(body)).not.toContain('secret-internal-path');
  });
});

/** Every S3 action a vended session policy allows (any statement). */
const allowedS3Actions = (policy: string): string[] =>
  (JSON.parse(policy) as { Statement: Array<{ Action: string[] }> }).Statement.flatMap((s) => s.Action).sort();
const WRITE_S3_ACTIONS = ['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'];
const JWT_ALICE = { jwtSubject: { partnerId: 'acme', clientId: 'app', subject: 'alice' } };
const BEARER = { authorization: 'Bearer eyJhbGciOiJFUzI1NiJ9.e30.sig' };

describe('raw write credentials are opt-in (rawWriteCredentials)', () => {
  it('a JWT client with [read, write] and upload limits gets read-only credentials for {} and the response says so', async () => {
    const { invoke, issuer } = setup(JWT_ALICE);
    // the same client's presigned uploads are held to its limits ...
    const html = await invoke(uploadsRoute, post('/v1/uploads', { method: 'PUT', key: 'x.html', contentType: 'text/html', contentLength: 10 }, BEARER));
    expect(html.res.statusCode).toBe(403);
    const huge = await invoke(uploadsRoute, post('/v1/uploads', { method: 'PUT', key: 'x.jpg', contentType: 'image/jpeg', contentLength: 5 * 1024 ** 3 }, BEARER));
    expect(huge.res.statusCode).toBe(413);
    // ... so its raw credentials must not be able to write at all
    const { res, body } = await invoke(credentialsRoute, post('/v1/credentials', {}, BEARER));
    expect(res.statusCode).toBe(200);
    expect(body.actions).toEqual(['read']);
    expect(body.prefix).toBe('acme/users/alice/');
    expect(issuer.requests).toHaveLength(1);
    expect(allowedS3Actions(issuer.requests[0]!.policy)).toEqual(['s3:GetObject']);
  });

  it('asking for write without the opt-in is 403 outside_grant naming the reason and the option, before STS', async () => {
    const { invoke, issuer } = setup(JWT_ALICE);
    for (const actions of [['write'], ['read', 'write']]) {
      const { res, body } = await invoke(credentialsRoute, post('/v1/credentials', { actions }, BEARER));
      expect({ actions, status: res.statusCode, code: body.error.code }).toEqual({ actions, status: 403, code: 'outside_grant' });
      expect(body.error.message).toContain('rawWriteCredentials: true');
      expect(body.error.message).toContain('maxUploadBytes and contentTypes');
      expect(body.error.message).toContain('POST /v1/uploads');
    }
    expect(issuer.requests).toHaveLength(0);
  });

  it('credential_process and container routes follow the same rule', async () => {
    const { invoke, issuer } = setup();
    const process = await invoke(credentialsProcessRoute, get('/v1/credentials/process'));
    expect(process.res.statusCode).toBe(200);
    const container = await invoke(credentialsContainerRoute, get('/v1/credentials/container', { authorization: ACME_KEY }));
    expect(container.res.statusCode).toBe(200);
    expect(issuer.requests).toHaveLength(2);
    for (const request of issuer.requests) {
      expect(allowedS3Actions(request.policy)).toEqual(['s3:DeleteObject', 's3:GetObject', 's3:ListBucket']);
    }
    const askedProcess = await invoke(credentialsProcessRoute, get('/v1/credentials/process', { 'x-api-key': ACME_KEY }, { actions: 'read,write' }));
    const askedContainer = await invoke(credentialsContainerRoute, get('/v1/credentials/container', { authorization: ACME_KEY }, { actions: 'write' }));
    for (const asked of [askedProcess, askedContainer]) {
      expect({ status: asked.res.statusCode, code: asked.body.error.code }).toEqual({ status: 403, code: 'outside_grant' });
      expect(asked.body.error.message).toContain('rawWriteCredentials: true');
    }
    expect(issuer.requests).toHaveLength(2);
  });

  it('an API-key client without the opt-in gets its grant less write when actions is omitted', async () => {
    const { invoke, issuer } = setup();
    const { res, body } = await invoke(credentialsRoute, post('/v1/credentials', {}));
    expect(res.statusCode).toBe(200);
    expect(body.actions).toEqual(['read', 'list', 'delete']);
    const allowed = allowedS3Actions(issuer.requests[0]!.policy);
    for (const action of WRITE_S3_ACTIONS) expect(allowed).not.toContain(action);
  });

  it('a write-only client without the opt-in is refused 403 outside_grant with the reason, before STS', async () => {
    const { invoke, issuer } = setup({ config: { partners: { acme: { clients: { backend: { actions: ['write'] } } } } } });
    const { res, body } = await invoke(credentialsRoute, post('/v1/credentials', {}));
    expect({ status: res.statusCode, code: body.error.code }).toEqual({ status: 403, code: 'outside_grant' });
    expect(body.error.message).toContain('only action is write');
    expect(body.error.message).toContain('rawWriteCredentials: true');
    expect(issuer.requests).toHaveLength(0);
  });

  it('a reader asking for write still hears that write is outside its grant (not about the opt-in)', async () => {
    const { invoke } = setup();
    const { body } = await invoke(credentialsRoute, post('/v1/credentials', { actions: ['write'] }, { 'x-api-key': GLOBEX_KEY }));
    expect(body.error.message).toContain('outside the grant: write');
    expect(body.error.message).not.toContain('rawWriteCredentials');
  });

  it('with rawWriteCredentials: true the client gets write, by default and when asked', async () => {
    const { invoke, issuer } = setup({ ...JWT_ALICE, config: rawWriteOptIn('acme', 'app') });
    const all = await invoke(credentialsRoute, post('/v1/credentials', {}, BEARER));
    expect(all.body.actions).toEqual(['read', 'write']);
    const asked = await invoke(credentialsRoute, post('/v1/credentials', { actions: ['write'] }, BEARER));
    expect(asked.body.actions).toEqual(['write']);
    expect(allowedS3Actions(issuer.requests[1]!.policy)).toEqual([...WRITE_S3_ACTIONS].sort());
  });

  it('whoami says whether raw write credentials are on', async () => {
    const off = await setup().invoke(whoamiRoute, get('/v1/whoami'));
    expect(off.body.grant.rawWriteCredentials).toBe(false);
    const on = await setup({ config: rawWriteOptIn() }).invoke(whoamiRoute, get('/v1/whoami'));
    expect(on.body.grant.rawWriteCredentials).toBe(true);
  });
});

describe('credential_process and container formats', () => {
  it('GET /v1/credentials/process answers in the credential_process shape', async () => {
    const { invoke, issuer } = setup();
    const { res, body } = await invoke(credentialsProcessRoute, get('/v1/credentials/process', { 'x-api-key': ACME_KEY }, { actions: 'read,list' }));
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const c = issuer.issued[0]!;
    expect(body).toEqual({ Version: 1, AccessKeyId: c.accessKeyId, SecretAccessKey: c.secretAccessKey, SessionToken: c.sessionToken, Expiration: c.expiration.toISOString() });
    expect(JSON.parse(issuer.requests[0]!.policy).Statement.flatMap((s: { Action: string[] }) => s.Action).sort()).toEqual(['s3:GetObject', 's3:ListBucket']);
  });

  it.each([
    ['the bare key the SDKs send', { authorization: ACME_KEY }],
    ['Bearer <key>', { authorization: `Bearer ${ACME_KEY}` }],
    ['X-Api-Key', { 'x-api-key': ACME_KEY }],
  ])('GET /v1/credentials/container accepts %s', async (_name, headers) => {
    const { invoke, issuer } = setup();
    const { res, body } = await invoke(credentialsContainerRoute, get('/v1/credentials/container', headers));
    expect(res.statusCode).toBe(200);
    const c = issuer.issued[0]!;
    expect(body).toEqual({ AccessKeyId: c.accessKeyId, SecretAccessKey: c.secretAccessKey, Token: c.sessionToken, Expiration: c.expiration.toISOString() });
  });
});

describe('header names', () => {
  it('are read whatever their case (a direct invocation or another front door may not lower-case them)', async () => {
    const { invoke } = setup();
    const event = apiEvent({
      method: 'POST', path: '/v1/uploads', rawBody: JSON.stringify({ method: 'PUT', key: 'a.pdf', contentType: 'application/pdf', contentLength: 1, expiresIn: 60 }),
      headers: { 'X-API-Key': ACME_KEY, 'Content-Type': 'application/json', Origin: 'https://nowhere.example' },
    });
    const { res, body } = await invoke(uploadsRoute, event);
    expect(res.statusCode).toBe(200);
    expect(body.key).toBe('acme/a.pdf');
    // the origin was read too (an unlisted one: answered with Vary and no allow-origin)
    expect(res.headers.vary).toBe('Origin');
    expect(event.headers).toEqual({ 'x-api-key': ACME_KEY, 'content-type': 'application/json', origin: 'https://nowhere.example' });
  });

  it('refuses a mixed-case wrong key like a lower-case one (the later of two same-named headers wins)', async () => {
    const { invoke } = setup();
    const { res, body } = await invoke(uploadsRoute, apiEvent({
      method: 'POST', path: '/v1/uploads', rawBody: JSON.stringify({ method: 'PUT', key: 'a.pdf', contentType: 'application/pdf', contentLength: 1, expiresIn: 60 }),
      headers: { 'x-api-key': ACME_KEY, 'X-Api-Key': 'sbk_nobody_' + 'c3'.repeat(32), 'content-type': 'application/json' },
    }));
    expect(res.statusCode).toBe(401);
    expect(body.error.code).toBe('unauthenticated');
  });
});

describe('POST /v1/uploads', () => {
  it('PUT: signs content-type and content-length, states the full key and an honest expiresAt', async () => {
    const { invoke, issuer } = setup();
    const { res, body } = await invoke(uploadsRoute, post('/v1/uploads', { method: 'PUT', key: 'invoices/2026/a.pdf', contentType: 'application/pdf', contentLength: 1234, expiresIn: 600 }));
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(body.key).toBe('acme/invoices/2026/a.pdf');
    expect(body.headers).toEqual({ 'Content-Type': 'application/pdf', 'Content-Length': '1234' });
    const url = new URL(body.url);
    expect(url.pathname).toBe('/acme/invoices/2026/a.pdf');
    expect(url.searchParams.get('X-Amz-SignedHeaders')).toBe('content-length;content-type;host');
    expect(url.searchParams.get('X-Amz-Expires')).toBe('600');
    expect(url.searchParams.get('X-Amz-Security-Token')).toBe(issuer.issued[0]!.sessionToken);
    const amzDate = url.searchParams.get('X-Amz-Date')!;
    const signedAt = Date.parse(`${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`);
    expect(Date.parse(body.expiresAt)).toBe(signedAt + 600_000);
    // the signing session is limited to PutObject (and multipart housekeeping) under the grant prefix
    const actions = JSON.parse(issuer.requests[0]!.policy).Statement.flatMap((s: { Action: string[] }) => s.Action);
    expect(actions).not.toContain('s3:GetObject');
    expect(actions).not.toContain('s3:DeleteObject');
  });

  it('caps expiresAt at the signing credentials\' expiry', async () => {
    const { invoke, issuer } = setup();
    const { body } = await invoke(uploadsRoute, post('/v1/uploads', { method: 'PUT', key: 'a.pdf', contentType: 'application/pdf', contentLength: 1, expiresIn: 604800 }));
    const expiry = issuer.issued[0]!.expiration.getTime();
    expect(Date.parse(body.expiresAt)).toBeLessThanOrEqual(expiry);
    const url = new URL(body.url);
    expect(Number(url.searchParams.get('X-Amz-Expires'))).toBeLessThanOrEqual(3600);
  });

  it('POST: a form policy pinning key, Content-Type, bucket and size, with the session token', async () => {
    const { invoke, issuer } = setup();
    const { res, body } = await invoke(uploadsRoute, post('/v1/uploads', { method: 'POST', key: 'scan.png', contentType: 'image/png' }));
    expect(res.statusCode).toBe(200);
    expect(body).toMatchObject({ method: 'POST', key: 'acme/scan.png', maxBytes: 104857600 });
    expect(body.fields.key).toBe('acme/scan.png');
    expect(body.fields['Content-Type']).toBe('image/png');
    expect(body.fields['X-Amz-Security-Token']).toBe(issuer.issued[0]!.sessionToken);
    const policy = JSON.parse(Buffer.from(body.fields.Policy, 'base64').toString());
    expect(policy.conditions).toEqual(expect.arrayContaining([
      ['eq', '$key', 'acme/scan.png'], ['eq', '$Content-Type', 'image/png'], { bucket: 'partner-bucket' }, ['content-length-range', 1, 104857600],
    ]));
    expect(Date.parse(policy.expiration)).toBe(Date.parse(body.expiresAt));
  });

  it('reuses one cached session for one caller\'s uploads (one AssumeRole)', async () => {
    const { invoke, issuer } = setup();
    for (const key of ['a.pdf', 'b.pdf', 'c.pdf']) {
      const { res } = await invoke(uploadsRoute, post('/v1/uploads', { method: 'PUT', key, contentType: 'application/pdf', contentLength: 10 }));
      expect(res.statusCode).toBe(200);
    }
    expect(issuer.requests).toHaveLength(1);
  });

  it.each([
    ['a key escaping the prefix', { key: '../acme2/x.pdf' }, 400, 'invalid_key'],
    ['a wildcard key (CVE-2026-42810 class)', { key: 'x*.pdf' }, 400, 'invalid_key'],
    ['a leading slash', { key: '/x.pdf' }, 400, 'invalid_key'],
    ['a content type outside the grant', { contentType: 'text/html' }, 403, 'outside_grant'],
    ['a size above maxUploadBytes', { contentLength: 104857601 }, 413, 'too_large'],
    ['a missing contentLength', { contentLength: undefined }, 400, 'invalid_request'],
  ])('refuses %s before any signing', async (_name, change, status, code) => {
    const { invoke, issuer } = setup();
    const request = { method: 'PUT', key: 'x.pdf', contentType: 'application/pdf', contentLength: 10, ...change };
    const { res, body } = await invoke(uploadsRoute, post('/v1/uploads', request));
    expect(res.statusCode).toBe(status);
    expect(body.error.code).toBe(code);
    expect(issuer.requests).toHaveLength(0);
  });

  it('puts a JWT caller under its own ${sub} segment, encoding an unsafe subject', async () => {
    const { invoke } = setup({ jwtSubject: { partnerId: 'acme', clientId: 'app', subject: 'alice/x' } });
    const { res, body } = await invoke(uploadsRoute, post('/v1/uploads', { method: 'PUT', key: 'me.jpg', contentType: 'image/jpeg', contentLength: 5 }, { authorization: 'Bearer eyJhbGciOiJFUzI1NiJ9.e30.sig' }));
    expect(res.statusCode).toBe(200);
    expect(body.key).toMatch(/^acme\/users\/h-[a-z2-7]+\/me\.jpg$/);
    expect(body.key.startsWith('acme/users/alice/')).toBe(false);
  });
});

describe('POST /v1/downloads', () => {
  it('signs a GET served as an attachment with a sanitised filename, limited to GetObject', async () => {
    const { invoke, issuer } = setup();
    const { res, body } = await invoke(downloadsRoute, post('/v1/downloads', { key: 'reports/q3.pdf', filename: '../../etc/"passwd"\r\n.pdf', expiresIn: 120 }));
    expect(res.statusCode).toBe(200);
    expect(body.key).toBe('acme/reports/q3.pdf');
    const url = new URL(body.url);
    expect(url.searchParams.get('X-Amz-Expires')).toBe('120');
    const disposition = url.searchParams.get('response-content-disposition')!;
    expect(disposition).toBe('attachment; filename="passwd.pdf"; filename*=UTF-8\'\'passwd.pdf');
    const policy = JSON.parse(issuer.requests[0]!.policy);
    expect(policy.Statement).toEqual([{ Sid: 'Objects', Effect: 'Allow', Action: ['s3:GetObject'], Resource: 'arn:aws:s3:::partner-bucket/acme/*' }]);
  });

  it('refuses a caller without read in its grant', async () => {
    const { invoke } = setup();
    const config = brokerConfig({ partners: { globex: { clients: { backend: { actions: ['list'] } } } } });
    const { deps } = testDeps(config);
    const { result } = await captureLogs(() => lambdaHandler(downloadsRoute, () => deps)(post('/v1/downloads', { key: 'a.csv' }, { 'x-api-key': GLOBEX_KEY }), lambdaContext) as Promise<HttpResponse>);
    expect(result.statusCode).toBe(403);
    expect(JSON.parse(result.body!).error.code).toBe('outside_grant');
    expect(invoke).toBeDefined();
  });
});

describe('GET /v1/whoami and /health', () => {
  it('whoami shows partner, client, subject and grant, and no secret', async () => {
    const { invoke } = setup();
    const { res, body } = await invoke(whoamiRoute, get('/v1/whoami'));
    expect(res.statusCode).toBe(200);
    expect(body).toMatchObject({ partner: 'acme', client: 'backend', method: 'api-key', subject: 'acmek1', grant: { bucket: 'partner-bucket', prefix: 'acme/', maxDurationSeconds: 3600 } });
    expect(res.body).not.toContain(ACME_KEY.split('_')[2]!);
    expect(res.body).not.toMatch(/sha256|[0-9a-f]{64}/);
  });

  it('health needs no credentials and reports version and config hash', async () => {
    const { invoke, deps } = setup();
    const { res, body } = await invoke(healthRoute, get('/health', {}));
    expect(res.statusCode).toBe(200);
    expect(body).toEqual({ status: 'ok', version: '9.9.9-test', configHash: await deps.store.version() });
  });

  it('health refuses unexpected query parameters', async () => {
    const { invoke } = setup();
    const { res } = await invoke(healthRoute, get('/health', {}, { debug: '1' }));
    expect(res.statusCode).toBe(400);
  });
});

describe('CORS per client', () => {
  it('echoes an origin only for the client that lists it', async () => {
    const { invoke } = setup({ jwtSubject: { partnerId: 'acme', clientId: 'app', subject: 'alice' } });
    const app = await invoke(whoamiRoute, get('/v1/whoami', { authorization: 'Bearer a.b.c', origin: 'https://app.acme.example' }));
    expect(app.res.headers['access-control-allow-origin']).toBe('https://app.acme.example');
    const backend = await invoke(whoamiRoute, get('/v1/whoami', { 'x-api-key': ACME_KEY, origin: 'https://app.acme.example' }));
    expect(backend.res.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('answers preflight for a configured origin and not for others', async () => {
    const { deps } = setup();
    const handler = preflightHandler(() => deps);
    const ok = await handler(apiEvent({ method: 'OPTIONS', path: '/v1/uploads', headers: { Origin: 'https://app.acme.example' } }));
    expect(ok.statusCode).toBe(204);
    expect(ok.headers).toMatchObject({ 'access-control-allow-origin': 'https://app.acme.example', 'access-control-allow-headers': 'authorization, content-type, x-api-key' });
    const evil = await handler(apiEvent({ method: 'OPTIONS', path: '/v1/uploads', headers: { Origin: 'https://evil.example' } }));
    expect(evil.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('audit log', () => {
  it('writes one issuance line with who, what and until when, and no secret', async () => {
    const { invoke, issuer } = setup();
    const event = post('/v1/uploads', { method: 'PUT', key: 'a.pdf', contentType: 'application/pdf', contentLength: 3 });
    const { body, lines } = await invoke(uploadsRoute, event);
    const audit = lines.map((l) => JSON.parse(l)).filter((l) => l.audit === true);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      message: 'issued', requestId: event.requestContext.requestId, partner: 'acme', client: 'backend', subject: 'acmek1',
      action: 'upload:PUT', bucket: 'partner-bucket', key: 'acme/a.pdf', expiresAt: body.expiresAt,
    });
    const all = lines.join('\n');
    const c = issuer.issued[0]!;
    for (const secret of [c.secretAccessKey, c.sessionToken, ACME_KEY, new URL(body.url).searchParams.get('X-Amz-Signature')!]) {
      expect(all).not.toContain(secret);
    }
  });

  it('names the AccessKeyId of the vended session (an identifier that CloudTrail records), never its secret or token', async () => {
    const { invoke, issuer } = setup();
    const first = await invoke(credentialsRoute, post('/v1/credentials', {}));
    const second = await invoke(credentialsRoute, post('/v1/credentials', {}));
    const audits = [...first.lines, ...second.lines].map((l) => JSON.parse(l)).filter((l) => l.audit === true);
    expect(audits.map((a) => a.accessKeyId)).toEqual([first.body.credentials.accessKeyId, second.body.credentials.accessKeyId]);
    // same subject, same session name: only the AccessKeyId tells the two sessions apart
    expect(audits[0].sessionName).toBe(audits[1].sessionName);
    expect(audits[0].accessKeyId).not.toBe(audits[1].accessKeyId);
    const all = [...first.lines, ...second.lines].join('\n');
    for (const c of issuer.issued) for (const secret of [c.secretAccessKey, c.sessionToken]) expect(all).not.toContain(secret);
  });
});
