import { GrantViolationError, RateLimitedError } from '../domain/errors.js';
import { ACTIONS, type Action } from '../domain/actions.js';
import { resolveGrant } from './resolveGrant.js';
import { scopeForCredentials } from '../rules/scope.js';
import type { Caller, Clock, Grant, Scope, TemporaryCredentials } from '../ports/ports.js';
import { assumeRoleRequest } from './assumeRoleRequest.js';
import { auditIssuance } from './audit.js';
import type { BrokerDeps } from './deps.js';

export interface VendRequest {
  actions?: readonly Action[] | undefined;
  prefix?: string | undefined;
  durationSeconds?: number | undefined;
}

export interface Vended {
  credentials: TemporaryCredentials;
  grant: Grant;
  scope: Scope;
  sessionName: string;
}

/** Why `write` is not vended by default; every refusal names it and the option that lifts it. */
const RAW_WRITE_REASON =
  'raw credentials that can write escape this client\'s maxUploadBytes and contentTypes (IAM has no condition key for object size '
  + 'or Content-Type, so no session policy can carry them): upload through POST /v1/uploads or /v1/uploads/multipart, '
  + 'or set rawWriteCredentials: true on the client in the broker config to accept that';

/**
 * The actions a raw-credentials request gets. Upload limits (maxUploadBytes, contentTypes) bind
 * only presigned uploads, so `write` is vended only to a client whose config says
 * `rawWriteCredentials: true`. Without it an omitted `actions` means the grant's actions less
 * `write`, and asking for `write` is refused. Actions outside the grant are left for
 * scopeForCredentials to refuse with its usual message; nothing here widens the grant.
 */
export function vendableActions(grant: Grant, requested: readonly Action[] | undefined): readonly Action[] {
  const granted = grant.client.actions;
  if (grant.client.rawWriteCredentials === true) return requested ?? granted;
  if (requested === undefined) {
    const withoutWrite = ACTIONS.filter((a) => a !== 'write' && granted.includes(a));
    if (withoutWrite.length === 0) {
      throw new GrantViolationError(`this client's only action is write, and raw write credentials are off: ${RAW_WRITE_REASON}`);
    }
    return withoutWrite;
  }
  if (requested.includes('write') && granted.includes('write')) {
    throw new GrantViolationError(`write is not vended as raw credentials for this client: ${RAW_WRITE_REASON}`);
  }
  return requested;
}

// ---- vend rate limit ------------------------------------------------------------------------

/** A token bucket: `burst` vends at once, refilled at `perSecond`. */
export interface VendRate {
  burst: number;
  perSecond: number;
}

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

/** One limiter per wired dependency set (one per container: handlers wire deps once at cold start). */
const limiters = new WeakMap<BrokerDeps, VendRateLimiter>();

/** The vend limiter of `deps`: DEFAULT_VEND_RATE on `deps.clock` unless one was set with setVendRateLimiter. */
export function vendRateLimiter(deps: BrokerDeps): VendRateLimiter {
  let limiter = limiters.get(deps);
  if (limiter === undefined) {
    limiter = new VendRateLimiter(DEFAULT_VEND_RATE, deps.clock);
    limiters.set(deps, limiter);
  }
  return limiter;
}

/** Replaces the vend limiter of `deps` (a benchmark that vends in a tight loop, a test with its own rate). */
export function setVendRateLimiter(deps: BrokerDeps, limiter: VendRateLimiter): void {
  limiters.set(deps, limiter);
}

// ---- vending --------------------------------------------------------------------------------

/**
 * Vends fresh credentials: one AssumeRole per request (never cached: each vend is a distinct,
 * separately audited session whose lifetime the caller chose). Order: the grant, the scope (every
 * refusal of the request itself), the client's vend rate, then STS; a refused request spends no
 * token and no AssumeRole.
 */
export async function vendCredentials(deps: BrokerDeps, caller: Caller, request: VendRequest, requestId: string): Promise<Vended> {
  const grant = resolveGrant(deps.store, caller);
  const actions = vendableActions(grant, request.actions);
  const { scope, durationSeconds } = scopeForCredentials(grant, { ...request, actions });
  const assume = assumeRoleRequest(deps, caller, grant, scope, durationSeconds);
  vendRateLimiter(deps).take(caller.partnerId, caller.clientId, grant.client.vendRate);
  const credentials = await deps.issuer.assumeRole(assume);
  auditIssuance(deps.logger, {
    requestId,
    caller,
    action: 'credentials',
    scope,
    sessionName: assume.roleSessionName,
    accessKeyId: credentials.accessKeyId,
    expiresAt: credentials.expiration,
  });
  return { credentials, grant, scope, sessionName: assume.roleSessionName };
}
