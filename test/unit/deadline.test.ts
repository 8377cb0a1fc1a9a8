/**
 * The request deadline (Deadline in src/ports/deadline.ts; set per invocation by the Lambda handler from
 * context.getRemainingTimeInMillis() less DEADLINE_MARGIN_MS) bounds every upstream call: a JWKS
 * or OIDC discovery fetch and an S3 multipart call give up when it passes (504 deadline_exceeded)
 * even though their own timeouts are longer, and no attempt starts with too little time left.
 * (STS under a deadline: test/unit/stsFaults.test.ts, through the real handler and a fault proxy.)
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { remoteJwtVerifier } from '../../src/wiring/jwtVerifier.js';
import { S3MultipartStore } from '../../src/adapters/aws/s3Multipart.js';
import { DeadlineExceededError } from '../../src/domain/errors.js';
import { deadlineOf, lambdaHandler } from '../../src/http/lambdaHandler.js';
import type { HttpResponse } from '../../src/http/responses.js';
import { attemptTimeoutMs, currentDeadline, DEADLINE_MARGIN_MS, deadlineIn, MIN_UPSTREAM_ATTEMPT_MS, runWithDeadline } from '../../src/ports/deadline.js';
import { whoamiRoute } from '../../src/routes/whoami.js';
import { apiEvent, lambdaContext } from '../support/apiEvent.js';
import { testDeps } from '../support/brokerDeps.js';
import { captureLogs } from '../support/captureLogs.js';
import { brokerConfig } from '../support/configFixture.js';
import { serve, type TestServer } from '../support/loopbackServer.js';
import { caught, fakeStore, jwtClient } from '../support/authFakes.js';

const servers: TestServer[] = [];
afterAll(async () => { await Promise.all(servers.map((s) => s.close())); });
async function silentServer(): Promise<TestServer> {
  const server = await serve(() => undefined);
  servers.push(server);
  return server;
}

describe('Deadline', () => {
  it('comes from the Lambda context less the margin; none without a context (settings alone apply)', () => {
    const d = deadlineOf({ getRemainingTimeInMillis: () => 5000 });
    expect(d!.remainingMs()).toBeLessThanOrEqual(5000 - DEADLINE_MARGIN_MS);
    expect(d!.remainingMs()).toBeGreaterThan(5000 - DEADLINE_MARGIN_MS - 1000);
    expect(deadlineOf(undefined)).toBeUndefined();
    expect(deadlineOf({} as never)).toBeUndefined();
    expect(deadlineOf({ getRemainingTimeInMillis: () => 500 })!.signal.aborted).toBe(true);
  });

  it('an upstream attempt waits min(its own timeout, time left), and none starts with too little left', async () => {
    expect(attemptTimeoutMs(1500, () => new Error('x'))).toBe(1500);
    await runWithDeadline(deadlineIn(60_000), async () => expect(attemptTimeoutMs(1500, () => new Error('x'))).toBe(1500));
    await runWithDeadline(deadlineIn(800), async () => expect(attemptTimeoutMs(1500, () => new Error('x'))).toBeLessThanOrEqual(800));
    await runWithDeadline(deadlineIn(MIN_UPSTREAM_ATTEMPT_MS - 1), async () => {
      expect(() => attemptTimeoutMs(1500, () => new DeadlineExceededError('no time'))).toThrow(DeadlineExceededError);
    });
  });

  it('the handler sets it for the invocation, from the context it is given', async () => {
    const { deps } = testDeps(brokerConfig());
    let seen: number | undefined;
    const route = { ...whoamiRoute, auth: 'none' as const, handle: async () => { seen = currentDeadline()?.remainingMs(); return {}; } };
    const context = { ...lambdaContext, getRemainingTimeInMillis: () => 4000 };
    await captureLogs(() => lambdaHandler(route, () => deps)(apiEvent({ method: 'GET', path: '/v1/whoami' }), context) as Promise<HttpResponse>);
    expect(seen).toBeLessThanOrEqual(3000);
    expect(seen).toBeGreaterThan(1000);
    expect(currentDeadline()).toBeUndefined();
  });
});

describe('the deadline bounds the identity provider fetches', () => {
  it('a JWKS endpoint that never answers gives 504 deadline_exceeded at the deadline, not after BROKER_JWKS_TIMEOUT_MS', async () => {
    const silent = await silentServer();
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    void (await exportJWK(publicKey));
    const issuer = 'https://issuer.example';
    const verifier = remoteJwtVerifier(
      fakeStore({ jwtClients: [{ partnerId: 'acme', clientId: 'app', client: jwtClient({ issuer, jwksUri: `${silent.url}/keys` }) }] }),
      { jwksTimeoutMs: 10_000, jwksMaxBytes: 65536, clockToleranceSeconds: 5, allowInsecureLoopbackHttp: true },
    );
    const jwt = await new SignJWT({ iss: issuer, aud: 'acme-app', sub: 'alice', exp: Math.floor(Date.now() / 1000) + 300 })
      .setProtectedHeader({ alg: 'ES256', kid: 'k' }).sign(privateKey);
    const started = performance.now();
    const err = await caught(() => runWithDeadline(deadlineIn(500), () => verifier.verify(jwt)));
    expect(err).toBeInstanceOf(DeadlineExceededError);
    expect([(err as DeadlineExceededError).status, (err as DeadlineExceededError).code]).toEqual([504, 'deadline_exceeded']);
    expect(performance.now() - started).toBeLessThan(5000);
    expect(silent.requests()).toBe(1);
  }, 15_000);

  it('OIDC discovery with no time left is not attempted: 504 deadline_exceeded, no request', async () => {
    const silent = await silentServer();
    const verifier = remoteJwtVerifier(
      fakeStore({ jwtClients: [{ partnerId: 'acme', clientId: 'app', client: jwtClient({ issuer: silent.url }) }] }),
      { jwksTimeoutMs: 10_000, jwksMaxBytes: 65536, clockToleranceSeconds: 5, allowInsecureLoopbackHttp: true },
    );
    const { privateKey } = await generateKeyPair('ES256');
    const jwt = await new SignJWT({ iss: silent.url, aud: 'acme-app', sub: 'alice', exp: Math.floor(Date.now() / 1000) + 300 })
      .setProtectedHeader({ alg: 'ES256', kid: 'k' }).sign(privateKey);
    const err = await caught(() => runWithDeadline(deadlineIn(50), () => verifier.verify(jwt)));
    expect(err).toBeInstanceOf(DeadlineExceededError);
    expect(silent.requests()).toBe(0);
  });
});

describe('the deadline bounds S3 multipart calls', () => {
  const credentials = { accessKeyId: 'ASIAEXAMPLESESSION', secretAccessKey: 'session-secret', sessionToken: 'session-token', expiration: new Date('2030-01-01T00:00:00Z') };

  it('a silent S3 gives 504 deadline_exceeded at the deadline, its retries and 5 s timeouts notwithstanding', async () => {
    const silent = await silentServer();
    const store = new S3MultipartStore({ timeoutMs: 5000, maxAttempts: 3 });
    const target = { bucket: 'partner-bucket', region: 'eu-west-1', endpoint: silent.url, forcePathStyle: true };
    const started = performance.now();
    const err = await caught(() => runWithDeadline(deadlineIn(600), () => store.abort({ credentials, target, key: 'acme/x', uploadId: '2~x' })));
    expect(err).toBeInstanceOf(DeadlineExceededError);
    expect(err.message).toBe('S3 AbortMultipartUpload did not finish within the request\'s time budget');
    expect(performance.now() - started).toBeLessThan(5000);
    expect(silent.requests()).toBe(1);
  }, 20_000);

  it('no S3 call starts with too little time left', async () => {
    const silent = await silentServer();
    const store = new S3MultipartStore({ timeoutMs: 5000, maxAttempts: 3 });
    const target = { bucket: 'partner-bucket', region: 'eu-west-1', endpoint: silent.url, forcePathStyle: true };
    const err = await caught(() => runWithDeadline(deadlineIn(MIN_UPSTREAM_ATTEMPT_MS / 2), () => store.create({ credentials, target, key: 'acme/x', contentType: 'application/pdf' })));
    expect(err).toBeInstanceOf(DeadlineExceededError);
    expect(silent.requests()).toBe(0);
  });
});
