/**
 * The per-container cache in front of a remote grant store (adapters/dynamo), with bounded
 * staleness. Pure: no I/O of its own (the store passes its reads in), the clock is injected, and no
 * timer ever runs (Lambda freezes a container between invocations, so a timer would not fire when
 * it matters): every check happens when a request asks.
 *
 * - Staleness: the store's version (one small item) is confirmed at most once per `maxStalenessMs`,
 *   at request time. Nothing is answered from the cache unless the version was confirmed less than
 *   `maxStalenessMs` ago, counted from the moment that confirming read STARTED (a write committed
 *   while the read was in flight is then still within the bound). A changed version flushes every
 *   entry, positive and negative. A version read that fails fails the request (fail closed): the
 *   cache never answers past the bound.
 * - Single flight: concurrent requests for one key share one load, and one version read.
 * - Negative entries ("no such key id / issuer / origin / partner") are cached too, in their own
 *   LRU bounded by count, so repeating an unknown id costs one read per bound, and a flood of
 *   distinct random ids cannot grow memory past the bound or evict the positive entries.
 * - A load that started before a flush never inserts its (possibly older) answer after it.
 */

export interface GrantCacheOptions {
  /** The staleness bound: a change is served by every container at most this long after it committed. */
  maxStalenessMs: number;
  /** Milliseconds, monotonic enough for intervals (Date.now in production, a fake in tests). */
  clock: () => number;
  /** Positive entries kept (least recently used evicted first). */
  maxEntries: number;
  /** Negative ("absent") entries kept, least recently used evicted first. */
  maxNegativeEntries: number;
  /** Told of every lookup (observability/metrics.ts GrantStoreCacheMetrics has this shape); optional. */
  metrics?: GrantCacheMetrics | undefined;
}

/** What the cache reports per lookup: answered from the cache (with the age of the version it relies on), or loaded. */
export interface GrantCacheMetrics {
  hit(): void;
  miss(): void;
  /** Seconds since the version read that confirms the cache started: at most the staleness bound. */
  staleness(ageSeconds: number): void;
}

export interface GrantCacheStats {
  hits: number;
  negativeHits: number;
  loads: number;
  versionReads: number;
  flushes: number;
  entries: number;
  negativeEntries: number;
}

/** Marks an absent value in the negative map (undefined is a valid "not found" answer). */
const ABSENT = Symbol('absent');

export class GrantCache {
  readonly #readVersion: () => Promise<number>;
  readonly #options: GrantCacheOptions;
  /** Insertion order is recency order: a hit re-inserts, eviction takes the first key. */
  readonly #positive = new Map<string, unknown>();
  readonly #negative = new Map<string, typeof ABSENT>();
  readonly #inflight = new Map<string, Promise<unknown>>();
  #version: number | undefined;
  /** When the last successful version read started (clock ms). */
  #confirmedAt: number | undefined;
  #versionRead: Promise<void> | undefined;
  /** Bumped by every flush: a load started under an older generation does not insert. */
  #generation = 0;
  readonly #stats = { hits: 0, negativeHits: 0, loads: 0, versionReads: 0, flushes: 0 };

  constructor(readVersion: () => Promise<number>, options: GrantCacheOptions) {
    for (const name of ['maxStalenessMs', 'maxEntries', 'maxNegativeEntries'] as const) {
      if (!Number.isInteger(options[name]) || options[name] < 1) throw new RangeError(`${name} must be a positive integer`);
    }
    this.#readVersion = readVersion;
    this.#options = options;
  }

  /**
   * The value for `key`: from the cache when the version is confirmed within the bound, else from
   * `load` (one load per key at a time). `load` answers undefined for "absent", which is cached in
   * the negative map. Rejects when the version read or the load rejects; nothing is cached then.
   */
  async get<T>(key: string, load: () => Promise<T | undefined>): Promise<T | undefined> {
    await this.#confirm();
    if (this.#positive.has(key)) {
      const value = this.#positive.get(key);
      this.#touch(this.#positive, key, value);
      this.#stats.hits += 1;
      this.#reportHit();
      return value as T;
    }
    if (this.#negative.has(key)) {
      this.#touch(this.#negative, key, ABSENT);
      this.#stats.negativeHits += 1;
      this.#reportHit();
      return undefined;
    }
    this.#options.metrics?.miss();
    const pending = this.#inflight.get(key);
    if (pending !== undefined) return pending as Promise<T | undefined>;
    const generation = this.#generation;
    this.#stats.loads += 1;
    const loading = load().then((value) => {
      if (generation === this.#generation) this.#insert(key, value);
      return value;
    });
    this.#inflight.set(key, loading);
    // Settled either way: the next request for this key loads again (a failure is not cached).
    const settle = () => {
      if (this.#inflight.get(key) === loading) this.#inflight.delete(key);
    };
    loading.then(settle, settle);
    return loading;
  }

  #reportHit(): void {
    const metrics = this.#options.metrics;
    if (metrics === undefined) return;
    metrics.hit();
    if (this.#confirmedAt !== undefined) metrics.staleness(Math.max(0, this.#options.clock() - this.#confirmedAt) / 1000);
  }

  /** The version last confirmed (undefined before the first read): for /health, never a read. */
  cachedVersion(): number | undefined {
    return this.#version;
  }

  /** Whether a request now would be answered without a version read. */
  isFresh(): boolean {
    if (this.#confirmedAt === undefined) return false;
    const age = this.#options.clock() - this.#confirmedAt;
    // A clock that went backwards proves nothing about freshness: re-confirm.
    return age >= 0 && age < this.#options.maxStalenessMs;
  }

  stats(): GrantCacheStats {
    return { ...this.#stats, entries: this.#positive.size, negativeEntries: this.#negative.size };
  }

  /** Drops every entry (a version change does this itself). */
  flush(): void {
    this.#positive.clear();
    this.#negative.clear();
    this.#inflight.clear();
    this.#generation += 1;
    this.#stats.flushes += 1;
  }

  async #confirm(): Promise<void> {
    if (this.isFresh()) return;
    this.#versionRead ??= this.#readAndCompare().finally(() => {
      this.#versionRead = undefined;
    });
    return this.#versionRead;
  }

  async #readAndCompare(): Promise<void> {
    const startedAt = this.#options.clock();
    this.#stats.versionReads += 1;
    const version = await this.#readVersion();
    if (!Number.isInteger(version) || version < 0) throw new RangeError(`the store version must be a non-negative integer, got ${String(version)}`);
    if (this.#version !== undefined && version !== this.#version) this.flush();
    // A first read needs no flush: nothing was cached under an unconfirmed version (every get waits
    // for the first confirmation), and loads start only after it.
    this.#version = version;
    this.#confirmedAt = startedAt;
  }

  #insert(key: string, value: unknown): void {
    if (value === undefined) {
      this.#touch(this.#negative, key, ABSENT);
      evict(this.#negative, this.#options.maxNegativeEntries);
    } else {
      this.#negative.delete(key);
      this.#touch(this.#positive, key, value);
      evict(this.#positive, this.#options.maxEntries);
    }
  }

  #touch<V>(map: Map<string, V>, key: string, value: V): void {
    map.delete(key);
    map.set(key, value);
  }
}

function evict(map: Map<string, unknown>, max: number): void {
  while (map.size > max) {
    const oldest = map.keys().next();
    if (oldest.done === true) return;
    map.delete(oldest.value);
  }
}
