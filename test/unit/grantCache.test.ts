import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { GrantCache } from '../../src/rules/grantCache.js';

/** A store whose version and items the test controls, counting every read; a clock the test moves. */
function fixture(options: { bound?: number; maxEntries?: number; maxNegativeEntries?: number } = {}) {
  let now = 1_000_000;
  let version = 1;
  const items = new Map<string, string>();
  const reads = { version: 0, items: 0 };
  let failVersion = false;
  const cache = new GrantCache(async () => {
    reads.version += 1;
    if (failVersion) throw new Error('table unreachable');
    return version;
  }, { maxStalenessMs: options.bound ?? 10_000, clock: () => now, maxEntries: options.maxEntries ?? 100, maxNegativeEntries: options.maxNegativeEntries ?? 100 });
  const get = (key: string) => cache.get(key, async () => {
    reads.items += 1;
    return items.get(key);
  });
  return {
    cache, get, items, reads,
    advance: (ms: number) => { now += ms; },
    write: (key: string, value: string | undefined) => {
      if (value === undefined) items.delete(key); else items.set(key, value);
      version += 1;
    },
    failVersionReads: (fail: boolean) => { failVersion = fail; },
  };
}

describe('GrantCache', () => {
  it('answers from the cache within the bound: one version read and one item read for many requests', async () => {
    const f = fixture();
    f.items.set('k', 'v1');
    for (let i = 0; i < 50; i += 1) {
      expect(await f.get('k')).toBe('v1');
      f.advance(100); // 50 requests over 5 s, bound 10 s
    }
    expect(f.reads).toEqual({ version: 1, items: 1 });
    expect(f.cache.cachedVersion()).toBe(1);
  });

  it('reports each lookup to its metrics: a miss per load, a hit with the age of the confirming version read', async () => {
    let now = 0;
    const seen: string[] = [];
    const cache = new GrantCache(async () => 7, {
      maxStalenessMs: 10_000, clock: () => now, maxEntries: 10, maxNegativeEntries: 10,
      metrics: { hit: () => seen.push('hit'), miss: () => seen.push('miss'), staleness: (s) => seen.push(`staleness ${s}`) },
    });
    const load = async () => 'v';
    await cache.get('k', load);
    now = 2_500;
    await cache.get('k', load);
    await cache.get('absent', async () => undefined);
    now = 4_000;
    await cache.get('absent', async () => undefined);
    expect(seen).toEqual(['miss', 'hit', 'staleness 2.5', 'miss', 'hit', 'staleness 4']);
  });

  it('serves a change after the bound and not before', async () => {
    const f = fixture();
    f.items.set('k', 'old');
    expect(await f.get('k')).toBe('old');
    f.write('k', 'new');
    f.advance(9_999);
    expect(await f.get('k')).toBe('old'); // within the bound: the cached answer
    f.advance(1);
    expect(await f.get('k')).toBe('new'); // bound reached: version re-read, changed, flushed
    expect(f.reads.version).toBe(2);
    expect(f.cache.cachedVersion()).toBe(2);
  });

  it('keeps entries when the version did not change', async () => {
    const f = fixture();
    f.items.set('k', 'v');
    await f.get('k');
    f.advance(25_000);
    await f.get('k');
    expect(f.reads).toEqual({ version: 2, items: 1 });
  });

  it('caches absence and drops it on a version change (a new key works within the bound)', async () => {
    const f = fixture();
    expect(await f.get('new')).toBeUndefined();
    expect(await f.get('new')).toBeUndefined();
    expect(f.reads.items).toBe(1);
    expect(f.cache.stats().negativeHits).toBe(1);
    f.write('new', 'created');
    f.advance(10_000);
    expect(await f.get('new')).toBe('created');
  });

  it('fails closed: a failed version read fails the request, never answering from an entry past the bound', async () => {
    const f = fixture();
    f.items.set('k', 'v');
    await f.get('k');
    f.advance(10_000);
    f.failVersionReads(true);
    await expect(f.get('k')).rejects.toThrow('table unreachable');
    await expect(f.get('k')).rejects.toThrow('table unreachable'); // not cached as confirmed
    f.failVersionReads(false);
    expect(await f.get('k')).toBe('v');
  });

  it('a failed load caches nothing', async () => {
    const f = fixture();
    let fail = true;
    const load = async () => {
      if (fail) throw new Error('throttled');
      return 'ok';
    };
    await expect(f.cache.get('k', load)).rejects.toThrow('throttled');
    fail = false;
    expect(await f.cache.get('k', load)).toBe('ok');
  });

  it('single flight: concurrent requests share one version read and one load per key', async () => {
    const f = fixture();
    f.items.set('a', '1');
    const answers = await Promise.all([f.get('a'), f.get('a'), f.get('a'), f.get('b'), f.get('b')]);
    expect(answers).toEqual(['1', '1', '1', undefined, undefined]);
    expect(f.reads).toEqual({ version: 1, items: 2 });
  });

  it('a load started before a flush does not insert its older answer after it', async () => {
    let now = 0;
    let version = 1;
    let release: ((value: string) => void) | undefined;
    const cache = new GrantCache(async () => version, { maxStalenessMs: 10, clock: () => now, maxEntries: 10, maxNegativeEntries: 10 });
    const slow = cache.get('k', () => new Promise<string>((resolve) => { release = resolve; }));
    while (release === undefined) await new Promise((resolve) => setImmediate(resolve)); // the load has started
    // Another request confirms a new version while the load is in flight
    version = 2;
    now = 10;
    expect(await cache.get('other', async () => 'x')).toBe('x');
    release('stale');
    expect(cache.stats().flushes).toBe(1);
    expect(await slow).toBe('stale'); // its own caller gets what it read ...
    expect(await cache.get('k', async () => 'fresh')).toBe('fresh'); // ... but it is not cached
  });

  it('bounds the negative entries (LRU) without evicting positive ones', async () => {
    const f = fixture({ maxNegativeEntries: 3 });
    f.items.set('real', 'v');
    await f.get('real');
    for (const id of ['n1', 'n2', 'n3', 'n4']) await f.get(id);
    expect(f.cache.stats()).toMatchObject({ entries: 1, negativeEntries: 3 });
    const before = f.reads.items;
    await f.get('n4'); // newest: still cached
    await f.get('real');
    expect(f.reads.items).toBe(before);
    await f.get('n1'); // evicted: read again
    expect(f.reads.items).toBe(before + 1);
  });

  it('evicts the least recently used positive entry', async () => {
    const f = fixture({ maxEntries: 2 });
    for (const k of ['a', 'b', 'c']) f.items.set(k, k);
    await f.get('a');
    await f.get('b');
    await f.get('a'); // a is now more recent than b
    await f.get('c'); // evicts b
    const before = f.reads.items;
    await f.get('a');
    expect(f.reads.items).toBe(before);
    await f.get('b');
    expect(f.reads.items).toBe(before + 1);
  });

  it('re-confirms when the clock went backwards', async () => {
    const f = fixture();
    await f.get('k');
    f.advance(-1);
    await f.get('k');
    expect(f.reads.version).toBe(2);
  });

  it('refuses invalid bounds and a non-integer version', async () => {
    expect(() => new GrantCache(async () => 1, { maxStalenessMs: 0, clock: () => 0, maxEntries: 1, maxNegativeEntries: 1 })).toThrow(/maxStalenessMs/);
    expect(() => new GrantCache(async () => 1, { maxStalenessMs: 1, clock: () => 0, maxEntries: 1, maxNegativeEntries: 0.5 })).toThrow(/maxNegativeEntries/);
    const cache = new GrantCache(async () => Number.NaN, { maxStalenessMs: 1, clock: () => 0, maxEntries: 1, maxNegativeEntries: 1 });
    await expect(cache.get('k', async () => 'v')).rejects.toThrow(/non-negative integer/);
  });

  it('property: whatever the interleaving, an answer is never older than the bound', async () => {
    // Model: writes bump the version; a read at time t must return a value written at or after
    // the last write committed before t − bound.
    await fc.assert(fc.asyncProperty(
      fc.array(fc.record({ op: fc.constantFrom('read', 'write'), dt: fc.integer({ min: 0, max: 4_000 }) }), { minLength: 1, maxLength: 60 }),
      async (steps) => {
        const f = fixture({ bound: 5_000 });
        let now = 0;
        let serial = 0;
        const history: Array<{ at: number; value: string }> = [{ at: -Infinity, value: 'v0' }];
        f.items.set('k', 'v0');
        for (const step of steps) {
          f.advance(step.dt);
          now += step.dt;
          if (step.op === 'write') {
            serial += 1;
            f.write('k', `v${serial}`);
            history.push({ at: now, value: `v${serial}` });
          } else {
            const got = await f.get('k');
            const acceptable = history.filter((h, i) => i === history.length - 1 || history[i + 1]!.at > now - 5_000).map((h) => h.value);
            expect(acceptable).toContain(got);
          }
        }
      },
    ), { numRuns: 200 });
  });
});
