/**
 * Request → Scope: the only input the session policy is built from. Everything here narrows the
 * grant or refuses; nothing widens it, and nothing is silently adjusted (docs/security.md, "Authorization: the grant").
 */
import { MIN_SESSION_SECONDS } from './limits.js';
import { GrantViolationError, InvalidDurationError, InvalidRequestError } from '../domain/errors.js';
import { assertKeyLength, joinKey, validateSubPrefix } from './objectKey.js';
import type { Grant, ObjectScope, Scope } from '../domain/model.js';
import { ACTIONS, type Action } from '../domain/actions.js';

/** What a credentials request may narrow; every field defaults to the whole grant. */
export interface CredentialsRequest {
  actions?: readonly Action[] | undefined;
  /** Relative to the grant prefix; must end with "/". */
  prefix?: string | undefined;
  durationSeconds?: number | undefined;
}

/** Requested actions in ACTIONS order, deduplicated; GrantViolationError names any outside the grant. */
function grantedActions(grant: Grant, requested: readonly Action[]): Action[] {
  const outside = [...new Set(requested.filter((a) => !grant.client.actions.includes(a)))];
  if (outside.length > 0) {
    throw new GrantViolationError(`action${outside.length > 1 ? 's' : ''} outside the grant: ${outside.join(', ')} (granted: ${grant.client.actions.join(', ')})`);
  }
  // A fixed order keeps the policy (and the session cache key built from it) stable.
  return ACTIONS.filter((a) => requested.includes(a));
}

/** Refuses, never clamps: a caller who asked for 899 s or 2 h must learn they did not get it. */
function checkedDuration(grant: Grant, requested: number | undefined): number {
  const seconds = requested ?? grant.maxDurationSeconds;
  if (!Number.isInteger(seconds)) throw new InvalidDurationError('durationSeconds must be a whole number of seconds');
  if (seconds < MIN_SESSION_SECONDS) {
    throw new InvalidDurationError(`durationSeconds must be at least ${MIN_SESSION_SECONDS} (the AssumeRole floor)`);
  }
  if (seconds > grant.maxDurationSeconds) {
    throw new GrantViolationError(`durationSeconds must be at most ${grant.maxDurationSeconds} for this client`);
  }
  return seconds;
}

/** Scope and lifetime for a credentials request, narrowed from the grant or refused. */
export function scopeForCredentials(grant: Grant, request: CredentialsRequest = {}): { scope: Scope; durationSeconds: number } {
  const actions = grantedActions(grant, request.actions ?? grant.client.actions);
  if (actions.length === 0) throw new InvalidRequestError('actions must not be empty');
  const prefix = request.prefix === undefined ? grant.prefix : grant.prefix + validateSubPrefix(request.prefix);
  assertKeyLength(prefix, 'full prefix');
  const durationSeconds = checkedDuration(grant, request.durationSeconds);
  return { scope: { partition: grant.partition, bucket: grant.partner.bucket, prefix, actions }, durationSeconds };
}

/** What one presign or multipart request is authorised for: one full key, one granted action. */
export function scopeForObject(grant: Grant, request: { action: 'read' | 'write'; relativeKey: string }): ObjectScope {
  grantedActions(grant, [request.action]);
  return {
    partition: grant.partition,
    bucket: grant.partner.bucket,
    prefix: grant.prefix,
    action: request.action,
    objectKey: joinKey(grant.prefix, request.relativeKey),
  };
}

/**
 * How a multipart follow-up (parts, complete, abort, list) names its object: `key` relative to the
 * grant prefix, or `fullKey` exactly as create returned it; exactly one. Nothing is guessed from
 * `key`: a key that happens to start with the prefix is a legitimate relative key (prefix `a/`, key
 * `a/x` is `a/a/x`), so only the field the caller chose says which it is.
 */
export interface ObjectKeyRef {
  key?: string | undefined;
  fullKey?: string | undefined;
}

/** The relative key an ObjectKeyRef names; `fullKey` must lie under the caller's grant prefix (the key rules apply after, in joinKey). */
export function relativeKeyOf(grant: Grant, ref: ObjectKeyRef): string {
  if ((ref.key === undefined) === (ref.fullKey === undefined)) {
    throw new InvalidRequestError('send exactly one of key (relative to the grant prefix) and fullKey (the full key create returned)');
  }
  if (ref.key !== undefined) return ref.key;
  const fullKey = ref.fullKey!;
  if (!fullKey.startsWith(grant.prefix)) {
    throw new GrantViolationError(`fullKey must start with this caller's grant prefix "${grant.prefix}"`);
  }
  return fullKey.slice(grant.prefix.length);
}

/** The key a response's `relativeKey` states: the full key less the grant prefix, what the caller sends back as `key`. */
export function relativeKeyFor(grant: Grant, objectKey: string): string {
  return objectKey.slice(grant.prefix.length);
}

/**
 * The scope of the session that signs (or makes the S3 call) for an object request: the whole
 * grant prefix, the one action. Deliberately wider than the request: one cached session then
 * serves every URL of that caller and action (a per-key session would be one AssumeRole per URL),
 * while each URL's signature still binds its one key and method. The audit line states this scope
 * and the key apart (usecases/audit.ts), so it never claims a narrower session than was issued.
 */
export function sessionScopeFor(request: ObjectScope): Scope {
  return { partition: request.partition, bucket: request.bucket, prefix: request.prefix, actions: [request.action] };
}
