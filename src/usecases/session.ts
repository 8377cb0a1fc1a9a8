/**
 * The cached signing session of a presign or multipart request. Its scope is the request's, widened
 * by rules/scope.ts `sessionScopeFor` to the grant prefix and the one action, so it can be cached
 * and shared by that caller's requests; the URL's signature still binds one key and one method, and
 * the caller never sees the secret key. Cache keys include the subject, so CloudTrail's
 * SourceIdentity always names the real caller.
 */
import type { AssumeRoleRequest, Caller, Grant, MultipartCall, ObjectScope, PresignBase, Scope, TemporaryCredentials } from '../domain/model.js';
import { presignWindow } from '../rules/presignWindow.js';
import { sessionNotBefore } from '../rules/revocation.js';
import { sessionScopeFor } from '../rules/scope.js';
import { assumeRoleRequest, s3Target } from './assumeRoleRequest.js';
import type { BrokerDeps } from './deps.js';

/** Seconds of headroom a cached session must keep beyond the URL it signs. */
const SESSION_HEADROOM_SECONDS = 60;
/** Seconds a session must have left to carry one S3 call (its retries included). */
export const S3_CALL_SESSION_SECONDS = 120;

export interface SigningSession {
  credentials: TemporaryCredentials;
  /** What the session's policy allows: the audit line states this. */
  scope: Scope;
  sessionName: string;
}

/**
 * A signing session's AssumeRole input and cache key are a pure function of the settings, the
 * partner's and client's config objects, the caller and the scope. Building them (the session
 * policy's JSON, the identity and tags) is about a tenth of a presign served from a cached session,
 * so they are kept per config object: a config or grant-store reload makes new objects and starts
 * afresh (WeakMaps, nothing pinned). At most MEMO_ENTRIES_PER_CLIENT per client (one per subject
 * and action): past that the client's memo is cleared, never grown. The shared request is frozen:
 * nothing downstream may change what a later request would send.
 */
const MEMO_ENTRIES_PER_CLIENT = 1024;
type SessionRequest = { assume: AssumeRoleRequest; cacheKey: string };
const sessionRequests = new WeakMap<object, WeakMap<object, WeakMap<object, Map<string, SessionRequest>>>>();

function sessionRequest(deps: BrokerDeps, caller: Caller, grant: Grant, scope: Scope): SessionRequest {
  const byPartner = getOrCreate(sessionRequests, deps.settings, () => new WeakMap<object, WeakMap<object, Map<string, SessionRequest>>>());
  const byClient = getOrCreate(byPartner, grant.partner, () => new WeakMap<object, Map<string, SessionRequest>>());
  const memo = getOrCreate(byClient, grant.client, () => new Map<string, SessionRequest>());
  // Everything assumeRoleRequest reads besides the three objects above.
  const key = [caller.partnerId, caller.clientId, caller.method, caller.subject, caller.subjectSegment,
    scope.partition, scope.bucket, scope.prefix, scope.actions.join(','), grant.maxDurationSeconds].join('\u0000');
  const known = memo.get(key);
  if (known !== undefined) return known;
  const assume = deepFreeze(assumeRoleRequest(deps, caller, grant, scope, grant.maxDurationSeconds));
  const made = { assume, cacheKey: [caller.partnerId, caller.clientId, caller.subjectSegment, scope.actions.join(','), assume.policy].join('\u0000') };
  if (memo.size >= MEMO_ENTRIES_PER_CLIENT) memo.clear();
  memo.set(key, made);
  return made;
}

function getOrCreate<K extends object, V>(map: WeakMap<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

/** The cached session for `request`, with at least `minRemainingSeconds` left (capped by the grant's lifetime). */
export async function signingSession(
  deps: BrokerDeps,
  caller: Caller,
  grant: Grant,
  request: ObjectScope,
  minRemainingSeconds: number,
): Promise<SigningSession> {
  const scope = sessionScopeFor(request);
  const { assume, cacheKey } = sessionRequest(deps, caller, grant, scope);
  const need = Math.min(minRemainingSeconds, grant.maxDurationSeconds - SESSION_HEADROOM_SECONDS);
  // A session cached before the caller's latest revocation (even one lifted since) is never used.
  const notBefore = sessionNotBefore(grant.partner, caller, deps.clock());
  const credentials = await deps.sessions.getSession(cacheKey, assume, need, notBefore === undefined ? {} : { notBefore });
  return { credentials, scope, sessionName: assume.roleSessionName };
}

/**
 * Everything one presigned URL needs, from one signing instant: the cached session, the honest
 * window (min(requested, session's remaining life)), the adapter's signing input, and the signing
 * session's AccessKeyId for the audit line (an identifier, not a secret).
 */
export async function presignSigning(
  deps: BrokerDeps,
  caller: Caller,
  grant: Grant,
  options: { request: ObjectScope; expiresIn: number },
): Promise<{ base: PresignBase; expiresAt: Date; sessionName: string; accessKeyId: string; scope: Scope }> {
  const session = await signingSession(deps, caller, grant, options.request, options.expiresIn);
  const signingTime = deps.clock();
  const window = presignWindow(signingTime, options.expiresIn, session.credentials.expiration);
  return {
    base: {
      credentials: session.credentials,
      target: s3Target(deps, grant),
      key: options.request.objectKey,
      expiresInSeconds: window.expiresInSeconds,
      signingDate: new Date(signingTime),
    },
    expiresAt: window.expiresAt,
    sessionName: session.sessionName,
    // for the audit line: the session that signed this URL, as CloudTrail will name it
    accessKeyId: session.credentials.accessKeyId,
    scope: session.scope,
  };
}

/**
 * The caller's cached `write` session (the same one that signs upload URLs) as the context of a
 * broker-made S3 call: its policy allows PutObject, AbortMultipartUpload and ListMultipartUploadParts
 * under the grant prefix only, so the broker can never touch another caller's keys on their behalf.
 */
export async function multipartCall(
  deps: BrokerDeps,
  caller: Caller,
  grant: Grant,
  request: ObjectScope,
  minRemainingSeconds = S3_CALL_SESSION_SECONDS,
): Promise<{ call: MultipartCall; sessionName: string; accessKeyId: string; expiresAt: Date; scope: Scope }> {
  const session = await signingSession(deps, caller, grant, request, minRemainingSeconds);
  return {
    call: { credentials: session.credentials, target: s3Target(deps, grant), key: request.objectKey },
    sessionName: session.sessionName,
    // for the audit line: the session that makes the S3 call, as CloudTrail will name it
    accessKeyId: session.credentials.accessKeyId,
    expiresAt: session.credentials.expiration,
    scope: session.scope,
  };
}
