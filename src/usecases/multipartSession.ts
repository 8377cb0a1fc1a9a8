import { resolveGrant } from './resolveGrant.js';
import { scopeForObject } from '../rules/scope.js';
import type { Caller, Grant, MultipartCall, Scope } from '../ports/ports.js';
import { s3Target } from './assumeRoleRequest.js';
import type { BrokerDeps } from './deps.js';
import { presignSession } from './session.js';

/** Seconds a session must have left to carry one S3 call (its retries included). */
export const S3_CALL_SESSION_SECONDS = 120;

/** Grant, write scope and full key of a multipart request: every refusal here comes before any STS call. */
export function multipartScope(deps: Pick<BrokerDeps, 'store'>, caller: Caller, relativeKey: string): { grant: Grant; scope: Scope; key: string } {
  const grant = resolveGrant(deps.store, caller);
  const scope = scopeForObject(grant, { action: 'write', relativeKey });
  return { grant, scope, key: scope.objectKey! };
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
  key: string,
  minRemainingSeconds = S3_CALL_SESSION_SECONDS,
): Promise<{ call: MultipartCall; sessionName: string; accessKeyId: string; expiresAt: Date }> {
  const session = await presignSession(deps, caller, grant, 'write', minRemainingSeconds);
  return {
    call: { credentials: session.credentials, target: s3Target(deps, grant), key },
    sessionName: session.sessionName,
    // for the audit line: the session that makes the S3 call, as CloudTrail will name it
    accessKeyId: session.credentials.accessKeyId,
    expiresAt: session.credentials.expiration,
  };
}
