import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { SessionCache } from '../../src/rules/sessionCache.js';
import {
  PartnerRoleNotAssumableError, StsThrottledError, StsTimeoutError, StsUnavailableError, StsUpstreamError,
} from '../../src/domain/errors.js';
import type { AssumeRoleRequest, TemporaryCredentials } from '../../src/domain/model.js';
import type { CredentialIssuer } from '../../src/ports/ports.js';

const START = Date.parse('2026-03-01T12:00:00Z');

/** A controllable clock and an issuer that mints numbered sessions lasting `durationSeconds`. */
function harness(options: { maxEntries?: number; refreshMarginSeconds?: number } = {}) {
  let now = START;
  const calls: AssumeRoleRequest[] = [];
  let next: ((request: AssumeRoleRequest) => Promise<TemporaryCredentials>) | undefined;
  const issuer: CredentialIssuer = {
    assumeRole: (request) => {
      calls.push(request);
      if (next !== undefined) return next(request);
      return Promise.resolve(session(calls.length, now + request.durationSeconds * 1000));
    },
  };
  const cache = new SessionCache(issuer, {
    maxEntries: options.maxEntries ?? 10,
    clock: () => now,
    ...(options.refreshMarginSeconds === undefined ? {} : { refreshMarginSeconds: options.refreshMarginSeconds }),
  });
  return {
    cache,
    calls,
    advance: (seconds: number) => {
      now += seconds * 1000;
    },
    /** Replaces the issuer's behaviour for the following calls (undefined: mint sessions again). */
    failWith: (behaviour: typeof next) => {
      next = behaviour;
    },
  };
}

function session(n: number, expiresAtMs: number): TemporaryCredentials {
  return { accessKeyId: `ASIA${n}`, secretAccessKey: `secret${n}`, sessionToken: `token${n}`, expiration: new Date(expiresAtMs) };
}

function request(overrides: Partial<AssumeRoleRequest> = {}): AssumeRoleRequest {
  return {
    partnerId: 'acme',
    roleArn: 'arn:aws:iam::111111111111:role/Role-A',
    roleSessionName: 'sbk-acme-app-alice',
    sourceIdentity: 'acme.app.alice',
    policy: '{"Version":"2012-10-17","Statement":[{"Sid":"Objects","Effect":"Allow","Action":["s3:GetObject"],"Resource":"arn:aws:s3:::b/acme/*"}]}',
    durationSeconds: 900,
    tags: [],
    region: 'ap-northeast-1',
    ...overrides,
  };
}

describe('SessionCache: single flight', () => {
  it('100 parallel misses for one key make one AssumeRole, and all get its session', async () => {
    const h = harness();
    let release: () => void = () => undefined;
    h.failWith(() => new Promise((resolve) => {
      release = () => resolve(session(1, START + 900_000));
    }));
    const pending = Array.from({ length: 100 }, () => h.cache.getSession('alice:read', request(), 300));
    release();
    const results = await Promise.all(pending);
    expect(h.calls).toHaveLength(1);
    expect(new Set(results.map((r) => r.accessKeyId))).toEqual(new Set(['ASIA1']));
  });

  it('all waiters share one failure, and the failure is not cached', async () => {
    const h = harness();
    const failure = new PartnerRoleNotAssumableError('partner "acme" role could not be assumed');
    h.failWith(() => Promise.reject(failure));
    const outcomes = await Promise.allSettled(Array.from({ length: 10 }, () => h.cache.getSession('alice:read', request(), 300)));
    expect(h.calls).toHaveLength(1);
    expect(outcomes.every((o) => o.status === 'rejected' && o.reason === failure)).toBe(true);
    h.failWith(undefined);
    await expect(h.cache.getSession('alice:read', request(), 300)).resolves.toMatchObject({ accessKeyId: 'ASIA2' });
    expect(h.calls).toHaveLength(2);
    expect(h.cache.size).toBe(1);
  });
});

describe('SessionCache: reuse and refresh', () => {
  it('reuses a session while it covers the need plus the margin', async () => {
    const h = harness({ refreshMarginSeconds: 5 });
    const first = await h.cache.getSession('k', request(), 300);
    h.advance(100);
    await expect(h.cache.getSession('k', request(), 300)).resolves.toBe(first);
    expect(h.calls).toHaveLength(1);
  });

  it('refreshes exactly at the boundary: remaining = need + margin reuses, one second less refreshes', async () => {
    const h = harness({ refreshMarginSeconds: 5 });
    const first = await h.cache.getSession('k', request(), 300);
    h.advance(900 - 305); // remaining 305 = 300 + 5
    await expect(h.cache.getSession('k', request(), 300)).resolves.toBe(first);
    h.advance(1); // remaining 304
    const second = await h.cache.getSession('k', request(), 300);
    expect(second.accessKeyId).toBe('ASIA2');
    expect(h.calls).toHaveLength(2);
    await expect(h.cache.getSession('k', request(), 300)).resolves.toBe(second);
  });

  it('defaults the margin to 5 seconds', async () => {
    const h = harness();
    await h.cache.getSession('k', request(), 0);
    h.advance(895);
    await h.cache.getSession('k', request(), 0);
    expect(h.calls).toHaveLength(1);
    h.advance(1);
    await h.cache.getSession('k', request(), 0);
    expect(h.calls).toHaveLength(2);
  });

  it('different keys get different sessions', async () => {
    const h = harness();
    const alice = await h.cache.getSession('alice:read', request(), 60);
    const bob = await h.cache.getSession('bob:read', request({ sourceIdentity: 'acme.app.bob' }), 60);
    expect(alice.accessKeyId).not.toBe(bob.accessKeyId);
    await expect(h.cache.getSession('alice:read', request(), 60)).resolves.toBe(alice);
    expect(h.calls).toHaveLength(2);
  });

  it('never returns a session assumed with another policy or identity under the same key', async () => {
    const h = harness();
    const read = await h.cache.getSession('same-key', request(), 60);
    const otherPolicy = await h.cache.getSession('same-key', request({ policy: '{"Version":"2012-10-17","Statement":[]}' }), 60);
    const otherIdentity = await h.cache.getSession('same-key', request({ sourceIdentity: 'acme.app.mallory' }), 60);
    const otherRole = await h.cache.getSession('same-key', request({ roleArn: 'arn:aws:iam::111111111111:role/Role-B' }), 60);
    expect(new Set([read, otherPolicy, otherIdentity, otherRole].map((s) => s.accessKeyId)).size).toBe(4);
  });
});

describe('SessionCache: bounded LRU', () => {
  it('evicts the least recently used entry beyond maxEntries', async () => {
    const h = harness({ maxEntries: 2 });
    await h.cache.getSession('a', request(), 60); // ASIA1
    await h.cache.getSession('b', request(), 60); // ASIA2
    await h.cache.getSession('a', request(), 60); // hit: a is now the most recent
    await h.cache.getSession('c', request(), 60); // ASIA3, evicts b
    expect(h.cache.size).toBe(2);
    await expect(h.cache.getSession('a', request(), 60)).resolves.toMatchObject({ accessKeyId: 'ASIA1' });
    await expect(h.cache.getSession('c', request(), 60)).resolves.toMatchObject({ accessKeyId: 'ASIA3' });
    await expect(h.cache.getSession('b', request(), 60)).resolves.toMatchObject({ accessKeyId: 'ASIA4' });
    expect(h.calls).toHaveLength(4);
  });

  it('keeps least-recently-used order over any sequence of lookups (checked against a model LRU)', async () => {
    await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 4 }), fc.array(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), { maxLength: 60 }), async (maxEntries, keys) => {
      const h = harness({ maxEntries });
      const model: string[] = [];
      let misses = 0;
      for (const key of keys) {
        const before = h.calls.length;
        await h.cache.getSession(key, request(), 60);
        const at = model.indexOf(key);
        if (at >= 0) model.splice(at, 1);
        else misses += 1;
        model.push(key);
        while (model.length > maxEntries) model.shift();
        // a hit on the model is a hit on the cache, and a miss assumes exactly once
        expect(h.calls.length - before).toBe(at >= 0 ? 0 : 1);
      }
      expect(h.calls).toHaveLength(misses);
      expect(h.cache.size).toBe(model.length);
    }), { numRuns: 200 });
  });

  it('drops expired sessions when it meets them', async () => {
    const h = harness();
    await h.cache.getSession('a', request(), 60);
    h.advance(901);
    h.failWith(() => Promise.reject(new StsThrottledError('throttled')));
    await expect(h.cache.getSession('a', request(), 0)).rejects.toThrow(StsThrottledError);
    expect(h.cache.size).toBe(0);
  });

  it.each([0, -1, 1.5])('refuses maxEntries %p', (maxEntries) => {
    expect(() => new SessionCache({ assumeRole: () => Promise.reject(new Error('unused')) }, { maxEntries, clock: Date.now })).toThrow('maxEntries must be an integer ≥ 1');
  });
});

describe('SessionCache: STS trouble during a refresh', () => {
  it.each([
    ['throttled', new StsThrottledError('throttled', { retryAfterSeconds: 1 })],
    ['unavailable', new StsUnavailableError('unavailable', { retryAfterSeconds: 2 })],
    ['timed out', new StsTimeoutError('timeout')],
  ])('falls back to the cached session when STS is %s and the session still covers the need without margin', async (_label, failure) => {
    const h = harness({ refreshMarginSeconds: 30 });
    const first = await h.cache.getSession('k', request(), 300);
    h.advance(900 - 310); // remaining 310: short of 300 + 30, enough for 300
    h.failWith(() => Promise.reject(failure));
    await expect(h.cache.getSession('k', request(), 300)).resolves.toBe(first);
    expect(h.calls).toHaveLength(2);
  });

  it('propagates the throttle when the cached session no longer covers the need', async () => {
    const h = harness({ refreshMarginSeconds: 30 });
    await h.cache.getSession('k', request(), 300);
    h.advance(900 - 299);
    h.failWith(() => Promise.reject(new StsThrottledError('throttled')));
    await expect(h.cache.getSession('k', request(), 300)).rejects.toThrow(StsThrottledError);
  });

  it('propagates a non-transient failure even when the cached session would do', async () => {
    const h = harness({ refreshMarginSeconds: 30 });
    await h.cache.getSession('k', request(), 300);
    h.advance(900 - 310);
    h.failWith(() => Promise.reject(new StsUpstreamError('bad request')));
    await expect(h.cache.getSession('k', request(), 300)).rejects.toThrow(StsUpstreamError);
  });

  it('retries on the next call after a failed refresh and caches the new session', async () => {
    const h = harness({ refreshMarginSeconds: 30 });
    await h.cache.getSession('k', request(), 300);
    h.advance(900 - 310);
    h.failWith(() => Promise.reject(new StsThrottledError('throttled')));
    await h.cache.getSession('k', request(), 300);
    h.failWith(undefined);
    await expect(h.cache.getSession('k', request(), 300)).resolves.toMatchObject({ accessKeyId: 'ASIA3' });
    await expect(h.cache.getSession('k', request(), 300)).resolves.toMatchObject({ accessKeyId: 'ASIA3' });
    expect(h.calls).toHaveLength(3);
  });
});

describe('SessionCache: concurrency at the refresh boundary', () => {
  it('100 parallel requests past the boundary share one refresh, and all get the new session', async () => {
    const h = harness({ refreshMarginSeconds: 5 });
    const first = await h.cache.getSession('k', request(), 300);
    h.advance(900 - 304); // remaining 304: one second short of 300 + 5
    let release: () => void = () => undefined;
    h.failWith(() => new Promise((resolve) => {
      release = () => resolve(session(2, START + (900 - 304) * 1000 + 900_000));
    }));
    const pending = Array.from({ length: 100 }, () => h.cache.getSession('k', request(), 300));
    release();
    const results = await Promise.all(pending);
    expect(h.calls).toHaveLength(2);
    expect(results.every((r) => r.accessKeyId === 'ASIA2')).toBe(true);
    expect(results.some((r) => r === first)).toBe(false);
  });

  it('100 parallel requests during a throttled refresh make one AssumeRole and all fall back to the still-valid session', async () => {
    const h = harness({ refreshMarginSeconds: 30 });
    const first = await h.cache.getSession('k', request(), 300);
    h.advance(900 - 310); // remaining 310: short of 300 + 30, enough for 300
    let reject: () => void = () => undefined;
    h.failWith(() => new Promise((_resolve, fail) => {
      reject = () => fail(new StsThrottledError('Rate exceeded', { retryAfterSeconds: 1 }));
    }));
    const pending = Array.from({ length: 100 }, () => h.cache.getSession('k', request(), 300));
    reject();
    const results = await Promise.all(pending);
    expect(h.calls).toHaveLength(2);
    expect(results.every((r) => r === first)).toBe(true);
    // the failure is not cached: the next request tries STS again and keeps what it gets
    h.failWith(undefined);
    await expect(h.cache.getSession('k', request(), 300)).resolves.toMatchObject({ accessKeyId: 'ASIA3' });
    expect(h.calls).toHaveLength(3);
  });

  it('parallel requests that the cached session still serves never wait on a refresh another request started', async () => {
    const h = harness({ refreshMarginSeconds: 5 });
    const first = await h.cache.getSession('k', request(), 60);
    h.advance(900 - 400); // remaining 400: serves a 60 s need, not a 600 s one
    h.failWith(() => new Promise(() => undefined)); // a refresh that never ends
    const long = h.cache.getSession('k', request(), 600);
    const short = await Promise.all(Array.from({ length: 10 }, () => h.cache.getSession('k', request(), 60)));
    expect(short.every((r) => r === first)).toBe(true);
    expect(h.calls).toHaveLength(2);
    void long;
  });

  it('a session evicted while others were cached is assumed again, once, by parallel requests', async () => {
    const h = harness({ maxEntries: 2 });
    await h.cache.getSession('a', request(), 60); // ASIA1
    await h.cache.getSession('b', request(), 60); // ASIA2
    await h.cache.getSession('c', request(), 60); // ASIA3, evicts a
    const again = await Promise.all(Array.from({ length: 50 }, () => h.cache.getSession('a', request(), 60)));
    expect(h.calls).toHaveLength(4);
    expect(new Set(again.map((r) => r.accessKeyId))).toEqual(new Set(['ASIA4']));
    expect(h.cache.size).toBe(2);
  });
});
