/**
 * POST /v1/credentials and its process and container forms: the whole sequence of a raw-credentials
 * vend (authorised scope → rate → STS → audit) lives here.
 */
import { ACTIONS, type Action } from '../domain/actions.js';
import { GrantViolationError } from '../domain/errors.js';
import type { Authorised, Grant, Scope, TemporaryCredentials } from '../domain/model.js';
import { scopeForCredentials } from '../rules/scope.js';
import { DEFAULT_VEND_RATE, VendRateLimiter } from '../rules/vendRate.js';
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
 * The reason, naming the upload-contract elements raw credentials escape too. Their session policy
 * carries what IAM can bind (write-once, per-caller tag values, SSE algorithm and key: see
 * rules/sessionPolicy.ts); a checksum and metadata have no condition key, so they are limits of
 * the same kind as size and type.
 */
function rawWriteReason(grant: Grant): string {
  const u = grant.client.upload;
  const escaped = [...(u !== undefined && u.integrity !== 'none' ? [`its upload contract's integrity ${u.integrity}`] : []),
    ...(u !== undefined && Object.keys(u.metadata).length > 0 ? ['its upload contract\'s metadata'] : [])];
  if (escaped.length === 0) return RAW_WRITE_REASON;
  return RAW_WRITE_REASON.replace('maxUploadBytes and contentTypes (IAM has no condition key for object size or Content-Type,',
    `maxUploadBytes, contentTypes and ${escaped.join(' and ')} (IAM has no condition key for object size, Content-Type, checksums or metadata,`);
}

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
      throw new GrantViolationError(`this client's only action is write, and raw write credentials are off: ${rawWriteReason(grant)}`);
    }
    return withoutWrite;
  }
  if (requested.includes('write') && granted.includes('write')) {
    throw new GrantViolationError(`write is not vended as raw credentials for this client: ${rawWriteReason(grant)}`);
  }
  return requested;
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

/**
 * Vends fresh credentials: one AssumeRole per request (never cached: each vend is a distinct,
 * separately audited session whose lifetime the caller chose). Order: the scope (every
 * refusal of the request itself), the client's vend rate, then STS; a refused request spends no
 * token and no AssumeRole.
 */
export async function vendCredentials(deps: BrokerDeps, { caller, grant }: Authorised, request: VendRequest, requestId: string): Promise<Vended> {
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
