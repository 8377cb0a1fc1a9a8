import { createHash } from 'node:crypto';
import { StsThrottledError, StsTimeoutError, StsUnavailableError } from '../domain/errors.js';
import type { AssumeRoleRequest, TemporaryCredentials } from '../domain/model.js';
import type { Clock, CredentialIssuer, SessionLookupOptions, SessionProvider } from '../ports/ports.js';

export interface SessionCacheOptions {
  /** Upper bound on cached sessions; the least recently used one is evicted beyond it. */
  maxEntries: number;
  /** Milliseconds since the epoch, like Date.now. */
  clock: Clock;
  /** Extra seconds a cached session must keep beyond what the caller asks, for skew and latency. Default 5. */
  refreshMarginSeconds?: number;
}

const DEFAULT_REFRESH_MARGIN_SECONDS = 5;

interface CachedSession {
  credentials: TemporaryCredentials;
  /** Clock reading when the AssumeRole that made it was sent (≤ the session's issue time). */
  requestedAt: number;
}

/**
 * Bounded LRU of AssumeRole sessions with single-flight refresh: however many requests miss at
 * once for one session, STS sees one AssumeRole (its budget is per account and Region, so a burst
 * of presigns must not become a burst of AssumeRoles). Failures are never cached.
 */
export class SessionCache implements SessionProvider {
  /** Map iteration order is insertion order: re-inserting on use keeps the oldest-used entry first. */
  private readonly entries = new Map<string, CachedSession>();
  /** The key last moved to the end of `entries` (the most recently used): a hit on it needs no move. */
  private newest: string | undefined;
  private readonly inflight = new Map<string, { started: number; promise: Promise<TemporaryCredentials> }>();
  private readonly marginSeconds: number;

  constructor(private readonly issuer: CredentialIssuer, private readonly options: SessionCacheOptions) {
    if (!Number.isInteger(options.maxEntries) || options.maxEntries < 1) throw new TypeError('maxEntries must be an integer ≥ 1');
    this.marginSeconds = options.refreshMarginSeconds ?? DEFAULT_REFRESH_MARGIN_SECONDS;
    if (!(this.marginSeconds >= 0)) throw new TypeError('refreshMarginSeconds must be ≥ 0');
  }

  /**
   * Cached credentials valid for `minRemainingSeconds` + margin, else one shared AssumeRole. A fresh
   * session is returned as STS issued it, even if its duration is shorter than the need: callers cap
   * `expiresAt` at the credentials' expiry (and should ask for no more than duration − margin, or
   * every call misses).
   *
   * `notBefore` (ms since the epoch) drops a cached session requested before it, and a shared
   * AssumeRole still in flight that started before it is not joined: after a revocation (even one
   * lifted since) the next request gets a session made after it.
   */
  async getSession(cacheKey: string, request: AssumeRoleRequest, minRemainingSeconds: number, options: SessionLookupOptions = {}): Promise<TemporaryCredentials> {
    const key = entryKey(cacheKey, request);
    const notBefore = options.notBefore;
    const cached = this.lookup(key, notBefore);
    if (cached !== undefined && this.remainingSeconds(cached) >= minRemainingSeconds + this.marginSeconds) return cached;
    try {
      return await this.refresh(key, request, notBefore, options.onAssume);
    } catch (err) {
      // STS trouble should not fail a request that the session in hand still serves (without the margin).
      if (cached !== undefined && isTransient(err) && this.remainingSeconds(cached) >= minRemainingSeconds) return cached;
      throw err;
    }
  }

  /** Number of cached sessions (for tests and metrics). */
  get size(): number {
    return this.entries.size;
  }

  private lookup(key: string, notBefore: number | undefined): TemporaryCredentials | undefined {
    const cached = this.entries.get(key);
    if (cached === undefined) return undefined;
    // Expired, or revoked since it was made: dropped for good, never a fallback on STS trouble either.
    if (this.remainingSeconds(cached.credentials) <= 0 || (notBefore !== undefined && cached.requestedAt < notBefore)) {
      this.entries.delete(key);
      if (this.newest === key) this.newest = undefined;
      return undefined;
    }
    // Least-recently-used order: a hit moves its entry to the end, unless it is there already (the
    // common case of one busy caller, where the move was a measurable share of a warm presign).
    if (this.newest !== key) {
      this.entries.delete(key);
      this.entries.set(key, cached);
      this.newest = key;
    }
    return cached.credentials;
  }

  private refresh(key: string, request: AssumeRoleRequest, notBefore: number | undefined, onAssume: (() => void) | undefined): Promise<TemporaryCredentials> {
    const pending = this.inflight.get(key);
    if (pending !== undefined && (notBefore === undefined || pending.started >= notBefore)) return pending.promise;
    onAssume?.();
    // The request time, not the answer's: STS issued the session after it, so "requested before
    // notBefore" may drop a session made just after (harmless) but never keeps one made before.
    const started = this.options.clock();
    const promise = this.issuer
      .assumeRole(request)
      .then((credentials) => {
        this.store(key, { credentials, requestedAt: started });
        return credentials;
      })
      .finally(() => {
        if (this.inflight.get(key)?.promise === promise) this.inflight.delete(key);
      });
    this.inflight.set(key, { started, promise });
    return promise;
  }

  private store(key: string, session: CachedSession): void {
    const current = this.entries.get(key);
    // A slower, older AssumeRole must not replace a session requested after it.
    if (current !== undefined && current.requestedAt > session.requestedAt) return;
    this.entries.delete(key);
    this.entries.set(key, session);
    this.newest = key;
    while (this.entries.size > this.options.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.entries.delete(oldest.value);
      if (this.newest === oldest.value) this.newest = undefined;
    }
  }

  private remainingSeconds(credentials: TemporaryCredentials): number {
    return (credentials.expiration.getTime() - this.options.clock()) / 1000;
  }
}

function isTransient(err: unknown): boolean {
  return err instanceof StsThrottledError || err instanceof StsUnavailableError || err instanceof StsTimeoutError;
}

/**
 * The caller's key plus what the session can do and whom CloudTrail names: a caller reusing a cache
 * key for a different policy or identity gets a different session, never someone else's. Hashed so
 * entries stay small however long the policy.
 */
function entryKey(cacheKey: string, request: AssumeRoleRequest): string {
  // The use cases pass one frozen request object per (caller, scope) (usecases/session.ts): its key is worked out once.
  const known = entryKeys.get(request);
  if (known !== undefined && known.cacheKey === cacheKey) return known.key;
  const key = hashedEntryKey(cacheKey, request);
  if (Object.isFrozen(request)) entryKeys.set(request, { cacheKey, key });
  return key;
}

const entryKeys = new WeakMap<AssumeRoleRequest, { cacheKey: string; key: string }>();

function hashedEntryKey(cacheKey: string, request: AssumeRoleRequest): string {
  const identity = [cacheKey, request.roleArn, request.policy, request.sourceIdentity, request.externalId ?? '', request.region, request.stsEndpoint ?? ''];
  return createHash('sha256').update(JSON.stringify(identity)).digest('base64url');
}
