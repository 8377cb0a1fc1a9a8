/**
 * The per-client vend rate limit: a token bucket per partner/client per broker instance, so one
 * caller cannot spend the account's AssumeRole budget for every partner. Time is an injected clock.
 */
import { describe, expect, it } from '@jest/globals';
import { setVendRateLimiter, vendRateLimiter } from '../../src/usecases/vendCredentials.js';
import { DEFAULT_VEND_RATE, VendRateLimiter } from '../../src/rules/vendRate.js';
import { RateLimitedError } from '../../src/domain/errors.js';
import { errorResponse } from '../../src/http/responses.js';
import { credentialsRoute } from '../../src/routes/credentials.js';
import { credentialsContainerRoute } from '../../src/routes/credentialsContainer.js';
import { credentialsProcessRoute } from '../../src/routes/credentialsProcess.js';
import { apiEvent } from '../support/apiEvent.js';
import { testDeps } from '../support/brokerDeps.js';
import { brokerConfig, FIXTURE_API_KEYS } from '../support/configFixture.js';
import { invokeRoute } from '../support/invokeRoute.js';

const START = Date.parse('2030-01-01T00:00:00Z');
const ACME_KEY = FIXTURE_API_KEYS.acmeBackend.key;
const GLOBEX_KEY = FIXTURE_API_KEYS.globexBackend.key;

function clock() {
  let now = START;
  return { now: () => now, advance: (ms: number) => { now += ms; } };
}

/** What take() threw, or undefined when it granted a token. */
function refusal(limiter: VendRateLimiter, partner = 'acme', client = 'backend'): RateLimitedError | undefined {
  try {
    limiter.take(partner, client);
    return undefined;
  } catch (err) {
    if (err instanceof RateLimitedError) return err;
    throw err;
  }
}

describe('VendRateLimiter (token bucket, injected clock)', () => {
  it('allows a burst, then refuses with 429 rate_limited and the whole seconds until the next token', () => {
    const t = clock();
    const limiter = new VendRateLimiter({ burst: 10, perSecond: 2 }, t.now);
    for (let i = 0; i < 10; i += 1) expect(refusal(limiter)).toBeUndefined();
    const err = refusal(limiter)!;
    expect(err).toBeInstanceOf(RateLimitedError);
    expect({ status: err.status, code: err.code, retryAfterSeconds: err.retryAfterSeconds }).toEqual({ status: 429, code: 'rate_limited', retryAfterSeconds: 1 });
    expect(err.message).toContain('acme/backend');
    expect(err.message).toContain('retry after 1 s');
  });

  it('refills at perSecond: one more token after 500 ms at 2/s, not before', () => {
    const t = clock();
    const limiter = new VendRateLimiter({ burst: 10, perSecond: 2 }, t.now);
    for (let i = 0; i < 10; i += 1) limiter.take('acme', 'backend');
    t.advance(499);
    expect(refusal(limiter)).toBeDefined();
    t.advance(1);
    expect(refusal(limiter)).toBeUndefined();
    expect(refusal(limiter)).toBeDefined();
  });

  it('never holds more than the burst, however long it was idle', () => {
    const t = clock();
    const limiter = new VendRateLimiter({ burst: 3, perSecond: 1 }, t.now);
    limiter.take('acme', 'backend');
    t.advance(3_600_000);
    for (let i = 0; i < 3; i += 1) expect(refusal(limiter)).toBeUndefined();
    expect(refusal(limiter)).toBeDefined();
  });

  it('Retry-After rounds up for slow rates', () => {
    const t = clock();
    const limiter = new VendRateLimiter({ burst: 1, perSecond: 0.25 }, t.now);
    limiter.take('acme', 'backend');
    expect(refusal(limiter)!.retryAfterSeconds).toBe(4);
    t.advance(1_500);
    expect(refusal(limiter)!.retryAfterSeconds).toBe(3);
  });

  it('keeps one bucket per partner and client: one client spending its burst leaves the others theirs', () => {
    const t = clock();
    const limiter = new VendRateLimiter({ burst: 2, perSecond: 1 }, t.now);
    limiter.take('acme', 'backend');
    limiter.take('acme', 'backend');
    expect(refusal(limiter, 'acme', 'backend')).toBeDefined();
    expect(refusal(limiter, 'acme', 'app')).toBeUndefined();
    expect(refusal(limiter, 'globex', 'backend')).toBeUndefined();
  });

  it('a clock that steps back refills nothing', () => {
    const t = clock();
    const limiter = new VendRateLimiter({ burst: 1, perSecond: 1 }, t.now);
    limiter.take('acme', 'backend');
    t.advance(-60_000);
    expect(refusal(limiter)).toBeDefined();
    t.advance(60_000 + 900);
    expect(refusal(limiter)).toBeDefined();
    t.advance(100); // 0.9 + 0.1 tokens: exactly one, despite floating point
    expect(refusal(limiter)).toBeUndefined();
  });

  it('refuses a nonsensical rate', () => {
    expect(() => new VendRateLimiter({ burst: 0, perSecond: 1 }, Date.now)).toThrow('burst');
    expect(() => new VendRateLimiter({ burst: 1.5, perSecond: 1 }, Date.now)).toThrow('burst');
    expect(() => new VendRateLimiter({ burst: 1, perSecond: 0 }, Date.now)).toThrow('perSecond');
    expect(() => new VendRateLimiter({ burst: 1, perSecond: Number.NaN }, Date.now)).toThrow('perSecond');
  });

  it('the default is 10 at once, then 2 per second', () => {
    expect(DEFAULT_VEND_RATE).toEqual({ burst: 10, perSecond: 2 });
  });
});

describe('the error mapping sends 429 with Retry-After', () => {
  it('errorResponse emits the status, code, message and header', () => {
    const res = errorResponse(new RateLimitedError('too many credential requests for client acme/backend', { retryAfterSeconds: 3 }), 'req-1');
    expect(res.statusCode).toBe(429);
    expect(res.headers['retry-after']).toBe('3');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(JSON.parse(res.body!)).toEqual({ error: { code: 'rate_limited', message: 'too many credential requests for client acme/backend', requestId: 'req-1' } });
  });
});

describe('vends through the handlers', () => {
  const post = (key: string, body: unknown = {}) => apiEvent({ method: 'POST', path: '/v1/credentials', body, headers: { 'x-api-key': key } });

  it('the 11th vend of one client within a second is 429 with Retry-After and no AssumeRole; another client is unaffected; time heals', async () => {
    const t = clock();
    const { deps, issuer } = testDeps(brokerConfig(), { now: t.now });
    for (let i = 0; i < DEFAULT_VEND_RATE.burst; i += 1) {
      expect((await invokeRoute(credentialsRoute, deps, post(ACME_KEY))).res.statusCode).toBe(200);
    }
    const limited = await invokeRoute(credentialsRoute, deps, post(ACME_KEY));
    expect(limited.res.statusCode).toBe(429);
    expect(limited.res.headers['retry-after']).toBe('1');
    expect(limited.body.error.code).toBe('rate_limited');
    expect(limited.body.error.message).toContain('acme/backend');
    expect(limited.lines.some((l) => l.includes('"request refused"') && l.includes('rate_limited'))).toBe(true);
    expect(issuer.requests).toHaveLength(DEFAULT_VEND_RATE.burst);

    expect((await invokeRoute(credentialsRoute, deps, post(GLOBEX_KEY))).res.statusCode).toBe(200);

    t.advance(500);
    expect((await invokeRoute(credentialsRoute, deps, post(ACME_KEY))).res.statusCode).toBe(200);
    expect((await invokeRoute(credentialsRoute, deps, post(ACME_KEY))).res.statusCode).toBe(429);
  });

  it("a client's configured vendRate replaces the default: burst 2 at 0.5/s means the third vend waits 2 s", async () => {
    const t = clock();
    const config = brokerConfig({ partners: { acme: { clients: { backend: { vendRate: { burst: 2, perSecond: 0.5 } } } } } });
    const { deps, issuer } = testDeps(config, { now: t.now });
    expect((await invokeRoute(credentialsRoute, deps, post(ACME_KEY))).res.statusCode).toBe(200);
    expect((await invokeRoute(credentialsRoute, deps, post(ACME_KEY))).res.statusCode).toBe(200);
    const limited = await invokeRoute(credentialsRoute, deps, post(ACME_KEY));
    expect(limited.res.statusCode).toBe(429);
    expect(limited.res.headers['retry-after']).toBe('2');
    expect(limited.body.error.message).toContain('at most 2 at once, then 0.5 per second');
    expect(issuer.requests).toHaveLength(2);
    // globex has no vendRate: the default burst still applies to it
    for (let i = 0; i < DEFAULT_VEND_RATE.burst; i += 1) {
      expect((await invokeRoute(credentialsRoute, deps, post(GLOBEX_KEY))).res.statusCode).toBe(200);
    }
    t.advance(2_000);
    expect((await invokeRoute(credentialsRoute, deps, post(ACME_KEY))).res.statusCode).toBe(200);
  });

  it('credential_process and container vends draw on the same client bucket', async () => {
    const t = clock();
    const { deps } = testDeps(brokerConfig(), { now: t.now });
    setVendRateLimiter(deps, new VendRateLimiter({ burst: 2, perSecond: 1 }, t.now));
    const process = apiEvent({ method: 'GET', path: '/v1/credentials/process', headers: { 'x-api-key': ACME_KEY } });
    const container = apiEvent({ method: 'GET', path: '/v1/credentials/container', headers: { authorization: ACME_KEY } });
    expect((await invokeRoute(credentialsProcessRoute, deps, process)).res.statusCode).toBe(200);
    expect((await invokeRoute(credentialsContainerRoute, deps, container)).res.statusCode).toBe(200);
    const third = await invokeRoute(credentialsRoute, deps, post(ACME_KEY));
    expect({ status: third.res.statusCode, retryAfter: third.res.headers['retry-after'] }).toEqual({ status: 429, retryAfter: '1' });
  });

  it('a request refused for what it asks spends no token (nothing reached STS)', async () => {
    const t = clock();
    const { deps, issuer } = testDeps(brokerConfig(), { now: t.now });
    setVendRateLimiter(deps, new VendRateLimiter({ burst: 1, perSecond: 1 }, t.now));
    for (let i = 0; i < 5; i += 1) {
      expect((await invokeRoute(credentialsRoute, deps, post(ACME_KEY, { durationSeconds: 899 }))).res.statusCode).toBe(400);
      expect((await invokeRoute(credentialsRoute, deps, post(ACME_KEY, { actions: ['write'] }))).res.statusCode).toBe(403);
    }
    expect((await invokeRoute(credentialsRoute, deps, post(ACME_KEY))).res.statusCode).toBe(200);
    expect(issuer.requests).toHaveLength(1);
  });

  it('each wired dependency set (one per container) has its own limiter on its own clock', () => {
    const t = clock();
    const a = testDeps(brokerConfig(), { now: t.now }).deps;
    const b = testDeps(brokerConfig(), { now: t.now }).deps;
    expect(vendRateLimiter(a)).toBe(vendRateLimiter(a));
    expect(vendRateLimiter(a)).not.toBe(vendRateLimiter(b));
    expect(vendRateLimiter(a).rate).toEqual(DEFAULT_VEND_RATE);
  });
});
