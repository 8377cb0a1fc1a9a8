import { createHash } from 'node:crypto';
import { StsThrottledError, StsTimeoutError, StsUnavailableError } from '../domain/errors.js';
import type { AssumeRoleRequest, TemporaryCredentials } from '../domain/model.js';
import type { Clock, CredentialIssuer, SessionProvider } from '../ports/ports.js';

export interface SessionCacheOptions {
  /** Upper bound on cached sessions; the least recently used one is evicted beyond it. */
  maxEntries: number;
  /** Milliseconds since the epoch, like Date.now. */
  clock: Clock;
  /** Extra seconds a cached session must keep beyond what the caller asks, for skew and latency. Default 5. */
  refreshMarginSeconds?: number;
}

const DEFAULT_REFRESH_MARGIN_SECONDS = 5;

/**
 * Bounded LRU of AssumeRole sessions with single-flight refresh: however many requests miss at
 * once for one session, STS sees one AssumeRole (its budget is per account and Region, so a burst
 * of presigns must not become a burst of AssumeRoles). Failures are never cached.
 */
export class SessionCache implements SessionProvider {
  /** Map iteration order is insertion order: re-inserting on use keeps the oldest-used entry first. */
  private readonly entries = new Map<string, TemporaryCredentials>();
  private readonly inflight = new Map<string, Promise<TemporaryCredentials>>();
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
   */
  async getSession(cacheKey: string, request: AssumeRoleRequest, minRemainingSeconds: number): Promise<TemporaryCredentials> {
    const key = entryKey(cacheKey, request);
    const cached = this.lookup(key);
    if (cached !== undefined && this.remainingSeconds(cached) >= minRemainingSeconds + this.marginSeconds) return cached;
    try {
      return await this.refresh(key, request);
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

  private lookup(key: string): TemporaryCredentials | undefined {
    const cached = this.entries.get(key);
    if (cached === undefined) return undefined;
    this.entries.delete(key);
    if (this.remainingSeconds(cached) <= 0) return undefined;
    this.entries.set(key, cached);
    return cached;
  }

  private refresh(key: string, request: AssumeRoleRequest): Promise<TemporaryCredentials> {
    const pending = this.inflight.get(key);
    if (pending !== undefined) return pending;
    const started = this.issuer
      .assumeRole(request)
      .then((credentials) => {
        this.store(key, credentials);
        return credentials;
      })
      .finally(() => this.inflight.delete(key));
    this.inflight.set(key, started);
    return started;
  }

  private store(key: string, credentials: TemporaryCredentials): void {
    this.entries.delete(key);
    this.entries.set(key, credentials);
    while (this.entries.size > this.options.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.entries.delete(oldest.value);
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
  const identity = [cacheKey, request.roleArn, request.policy, request.sourceIdentity, request.externalId ?? '', request.region, request.stsEndpoint ?? ''];
  return createHash('sha256').update(JSON.stringify(identity)).digest('base64url');
}
