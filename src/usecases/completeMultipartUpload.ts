/** POST /v1/uploads/multipart/complete: S3's ListParts must match the declaration before CompleteMultipartUpload. */
import type { Authorised } from '../domain/model.js';
import { checkCompletionList, checkUploadedParts, planForGrant } from '../rules/multipartPlan.js';
import { relativeKeyFor, relativeKeyOf, scopeForObject, type ObjectKeyRef } from '../rules/scope.js';
import { auditIssuance } from './audit.js';
import type { BrokerDeps } from './deps.js';
import { multipartCall } from './session.js';

export interface CompleteMultipartRequest extends ObjectKeyRef {
  uploadId: string;
  contentLength: number;
  partSize: number;
  parts: Array<{ partNumber: number; etag: string }>;
}

export async function completeMultipartUpload(
  deps: BrokerDeps,
  { caller, grant }: Authorised,
  input: CompleteMultipartRequest,
  requestId: string,
): Promise<{ key: string; relativeKey: string; etag: string }> {
  const request = scopeForObject(grant, { action: 'write', relativeKey: relativeKeyOf(grant, input) });
  const key = request.objectKey;
  const plan = planForGrant(grant, input);
  checkCompletionList(plan, input.parts);
  const { call, sessionName, accessKeyId, expiresAt, scope } = await multipartCall(deps, caller, grant, request);
  const uploaded = await deps.multipart.listParts({ ...call, uploadId: input.uploadId });
  checkUploadedParts(plan, input.parts, uploaded);
  // S3's own ETags, now known equal to the client's: if a part were replaced after ListParts, its
  // ETag would change and S3 would refuse the completion (InvalidPart), so the check cannot be raced.
  const { etag } = await deps.multipart.complete({
    ...call, uploadId: input.uploadId, parts: uploaded.map((p) => ({ partNumber: p.partNumber, etag: p.etag })),
  });
  auditIssuance(deps.logger, {
    requestId, caller, action: 'multipart:complete', scope, key, sessionName, accessKeyId, expiresAt, cachedSession: true,
    details: { uploadId: input.uploadId, contentLength: plan.contentLength, partSize: plan.partSize, partCount: plan.partCount },
  });
  return { key, relativeKey: relativeKeyFor(grant, key), etag };
}
