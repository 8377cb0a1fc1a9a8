import type { Action } from '../domain/actions.js';
import type { Caller, Grant, PresignBase, Scope, TemporaryCredentials } from '../ports/ports.js';
import { assumeRoleRequest, s3Target } from './assumeRoleRequest.js';
import type { BrokerDeps } from './deps.js';
import { presignWindow } from '../rules/presignWindow.js';

/** Seconds of headroom a cached session must keep beyond the URL it signs. */
const SESSION_HEADROOM_SECONDS = 60;

/**
 * The session that signs presigned URLs for one caller and one action. Its policy is the grant's
 * prefix for that single action (so it can be cached and shared by that caller's requests); the
 * URL's signature still binds one key and one method, and the caller never sees the secret key.
 * Cache keys include the subject, so CloudTrail's SourceIdentity always names the real caller.
 */
export async function presignSession(
  deps: BrokerDeps,
  caller: Caller,
  grant: Grant,
  action: Action,
  minRemainingSeconds: number,
): Promise<{ credentials: TemporaryCredentials; scope: Scope; sessionName: string }> {
  const scope: Scope = { partition: grant.partition, bucket: grant.partner.bucket, prefix: grant.prefix, actions: [action] };
  const request = assumeRoleRequest(deps, caller, grant, scope, grant.maxDurationSeconds);
  const cacheKey = [caller.partnerId, caller.clientId, caller.subjectSegment, action, request.policy].join('\u0000');
  const need = Math.min(minRemainingSeconds, grant.maxDurationSeconds - SESSION_HEADROOM_SECONDS);
  const credentials = await deps.sessions.getSession(cacheKey, request, need);
  return { credentials, scope, sessionName: request.roleSessionName };
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
  options: { action: Action; key: string; expiresIn: number },
): Promise<{ base: PresignBase; expiresAt: Date; sessionName: string; accessKeyId: string }> {
  const session = await presignSession(deps, caller, grant, options.action, options.expiresIn);
  const signingTime = deps.clock();
  const window = presignWindow(signingTime, options.expiresIn, session.credentials.expiration);
  return {
    base: {
      credentials: session.credentials,
      target: s3Target(deps, grant),
      key: options.key,
      expiresInSeconds: window.expiresInSeconds,
      signingDate: new Date(signingTime),
    },
    expiresAt: window.expiresAt,
    sessionName: session.sessionName,
    // for the audit line: the session that signed this URL, as CloudTrail will name it
    accessKeyId: session.credentials.accessKeyId,
  };
}
