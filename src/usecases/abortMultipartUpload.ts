/** POST /v1/uploads/multipart/abort: AbortMultipartUpload with the caller's scoped write session. */
import type { Authorised } from '../domain/model.js';
import { relativeKeyOf, scopeForObject, type ObjectKeyRef } from '../rules/scope.js';
import { auditIssuance } from './audit.js';
import type { BrokerDeps } from './deps.js';
import { multipartCall } from './session.js';

export async function abortMultipartUpload(
  deps: BrokerDeps,
  { caller, grant }: Authorised,
  input: ObjectKeyRef & { uploadId: string },
  requestId: string,
): Promise<void> {
  const request = scopeForObject(grant, { action: 'write', relativeKey: relativeKeyOf(grant, input) });
  const { call, sessionName, accessKeyId, expiresAt, scope } = await multipartCall(deps, caller, grant, request);
  await deps.multipart.abort({ ...call, uploadId: input.uploadId });
  auditIssuance(deps.logger, {
    requestId, caller, action: 'multipart:abort', scope, key: request.objectKey, sessionName, accessKeyId, expiresAt, cachedSession: true,
    details: { uploadId: input.uploadId },
  });
}
