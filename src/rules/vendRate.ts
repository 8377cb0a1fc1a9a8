/**
 * The vend rate limit: a token bucket per client. Pure (the clock is injected); one limiter lives
 * per wired dependency set, so per Lambda container (usecases/vendCredentials.ts).
 */
import { RateLimitedError } from '../domain/errors.js';
import type { VendRate } from '../domain/model.js';

export type { VendRate } from '../domain/model.js';

/** Milliseconds since the epoch, like Date.now. */
type Clock = () => number;

/**
 * Per client, per broker instance (one Lambda container of one credentials function): 10 at once,
 * then 2 a second, unless the client's config sets `vendRate`. Every vend is one AssumeRole, and STS's AssumeRole budget is shared by the
 * whole account and Region, so one client must not be able to spend it for every other partner.
 */
export const DEFAULT_VEND_RATE: VendRate = { burst: 10, perSecond: 2 };

const TOKEN_EPSILON = 1e-9;

/**
 * Token buckets keyed by partner and client. The keys come from the loaded config (a caller can
 * never mint a new one), so the map is bounded by the number of configured clients.
 */
export class VendRateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(readonly rate: VendRate, private readonly clock: Clock) {
    if (!(Number.isInteger(rate.burst) && rate.burst >= 1)) throw new TypeError('vend rate burst must be an integer ≥ 1');
    if (!(Number.isFinite(rate.perSecond) && rate.perSecond > 0)) throw new TypeError('vend rate perSecond must be a number > 0');
  }

  /**
   * Takes one token for this client, or throws RateLimitedError with the whole seconds until one is
   * back. `clientRate` (the client's configured `vendRate`) replaces the limiter's default rate.
   */
  take(partnerId: string, clientId: string, clientRate?: VendRate): void {
    const rate = clientRate ?? this.rate;
    const key = `${partnerId}\u0000${clientId}`;
    const now = this.clock();
    const bucket = this.buckets.get(key) ?? { tokens: rate.burst, at: now };
    // A clock that steps back refills nothing (and never drains the bucket).
    const elapsedSeconds = Math.max(0, now - bucket.at) / 1000;
    bucket.tokens = Math.min(rate.burst, bucket.tokens + elapsedSeconds * rate.perSecond);
    bucket.at = Math.max(bucket.at, now);
    this.buckets.set(key, bucket);
    // The epsilon absorbs floating-point drift from refilling in small steps (0.9 + 0.1 < 1).
    if (bucket.tokens >= 1 - TOKEN_EPSILON) {
      bucket.tokens = Math.max(0, bucket.tokens - 1);
      return;
    }
    const retryAfterSeconds = Math.max(1, Math.ceil((1 - bucket.tokens) / rate.perSecond));
    throw new RateLimitedError(
      `too many credential requests for client ${partnerId}/${clientId}: at most ${rate.burst} at once, then `
      + `${rate.perSecond} per second; retry after ${retryAfterSeconds} s`,
      { retryAfterSeconds },
    );
  }
}

