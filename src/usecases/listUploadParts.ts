/** POST /v1/uploads/multipart/list: S3's ListParts (every page) with the caller's scoped write session. */
import type { Authorised, UploadedPart } from '../domain/model.js';
import { relativeKeyOf, scopeForObject, type ObjectKeyRef } from '../rules/scope.js';
import { auditIssuance } from './audit.js';
import type { BrokerDeps } from './deps.js';
import { multipartCall } from './session.js';

/** Every part S3 holds for the upload, in part-number order; the key is refused before any STS or S3 call. */
export async function listUploadParts(
  deps: BrokerDeps,
  { caller, grant }: Authorised,
  input: ObjectKeyRef & { uploadId: string },
  requestId: string,
): Promise<UploadedPart[]> {
  const request = scopeForObject(grant, { action: 'write', relativeKey: relativeKeyOf(grant, input) });
  const { call, sessionName, accessKeyId, expiresAt, scope } = await multipartCall(deps, caller, grant, request);
  const parts = await deps.multipart.listParts({ ...call, uploadId: input.uploadId });
  auditIssuance(deps.logger, {
    requestId, caller, action: 'multipart:list', scope, key: request.objectKey, sessionName, accessKeyId, expiresAt, cachedSession: true,
    details: { uploadId: input.uploadId, uploadedParts: parts.length },
  });
  return [...parts].sort((a, b) => a.partNumber - b.partNumber).map((p) => ({ partNumber: p.partNumber, size: p.size, etag: p.etag }));
}
