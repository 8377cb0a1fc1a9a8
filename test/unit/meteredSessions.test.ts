/**
 * SessionCacheHits / SessionCacheMisses (src/wiring/instrumented.ts): a lookup is a miss only when
 * it started an AssumeRole itself; one that joins an AssumeRole already in flight (the cache's single
 * flight) is a hit, and so is one served from the cache. Counted per invocation.
 */
import { describe, expect, it } from '@jest/globals';
import type { AssumeRoleRequest, TemporaryCredentials } from '../../src/domain/model.js';
import { runInvocation, currentInvocation } from '../../src/observability/invocation.js';
import { SessionCache } from '../../src/rules/sessionCache.js';
import { meteredSessions } from '../../src/wiring/instrumented.js';

const request: AssumeRoleRequest = {
  partnerId: 'acme', roleArn: 'arn:aws:iam::123456789012:role/R', roleSessionName: 'sb.acme.app.alice', sourceIdentity: 'alice',
  policy: '{}', durationSeconds: 900, tags: [], region: 'eu-west-1',
};

describe('session cache hits and misses', () => {
  it('counts the lookup that starts an AssumeRole as the one miss; joiners and later lookups are hits', async () => {
    let release!: (c: TemporaryCredentials) => void;
    let calls = 0;
    const issuer = { assumeRole: () => { calls += 1; return new Promise<TemporaryCredentials>((resolve) => { release = resolve; }); } };
    const sessions = meteredSessions(new SessionCache(issuer, { maxEntries: 10, clock: Date.now }));
    const lookup = () => runInvocation({ requestId: `r${Math.random()}`, route: 'presignUpload' }, async () => {
      await sessions.getSession('k', request, 60);
      return currentInvocation()!.metrics.map((m) => m.name);
    });
    const first = lookup();
    const second = lookup(); // joins the AssumeRole the first one started
    await new Promise((r) => setImmediate(r));
    release({ accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 's', sessionToken: 't', expiration: new Date(Date.now() + 900_000) });
    expect(await first).toEqual(['SessionCacheMisses']);
    expect(await second).toEqual(['SessionCacheHits']);
    expect(await lookup()).toEqual(['SessionCacheHits']); // from the cache
    expect(calls).toBe(1);
  });

  it('a failed AssumeRole is still a miss for the lookup that started it, and the caller\'s own onAssume runs', async () => {
    const issuer = { assumeRole: async (): Promise<TemporaryCredentials> => { throw new Error('boom'); } };
    const sessions = meteredSessions(new SessionCache(issuer, { maxEntries: 10, clock: Date.now }));
    let told = 0;
    const names = await runInvocation({ requestId: 'r', route: 'presignUpload' }, async () => {
      await expect(sessions.getSession('k', request, 60, { onAssume: () => { told += 1; } })).rejects.toThrow('boom');
      return currentInvocation()!.metrics.map((m) => m.name);
    });
    expect(names).toEqual(['SessionCacheMisses']);
    expect(told).toBe(1);
  });
});
