/** POST /v1/uploads/multipart/complete: S3's ListParts must match the declaration before CompleteMultipartUpload. */
import type { Authorised, DeclaredChecksum, UploadedPart } from '../domain/model.js';
import { UploadMismatchError } from '../domain/errors.js';
import { checkCompletionList, checkUploadedParts, planForGrant, ranges } from '../rules/multipartPlan.js';
import { relativeKeyFor, relativeKeyOf, scopeForObject, type ObjectKeyRef } from '../rules/scope.js';
import { fullObjectChecksum } from '../rules/uploadContract.js';
import { auditIssuance } from './audit.js';
import type { BrokerDeps } from './deps.js';
import { multipartCall } from './session.js';

export interface CompleteMultipartRequest extends ObjectKeyRef {
  uploadId: string;
  contentLength: number;
  partSize: number;
  parts: Array<{ partNumber: number; etag: string; checksum?: string | undefined }>;
  /** The whole object's checksum (integrity crc32c only; S3 verifies it at completion). */
  checksum?: DeclaredChecksum | undefined;
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
  const fullObjectCrc32c = fullObjectChecksum(grant.client.upload, input.checksum);
  const { call, sessionName, accessKeyId, expiresAt, scope } = await multipartCall(deps, caller, grant, request);
  const uploaded = await deps.multipart.listParts({ ...call, uploadId: input.uploadId });
  checkUploadedParts(plan, input.parts, uploaded);
  const contract = grant.client.upload;
  const integrity = contract?.integrity ?? 'none';
  const flexible = integrity === 'sha256' || integrity === 'crc32c' ? integrity : undefined;
  if (flexible !== undefined) checkPartChecksums(flexible, input.parts, uploaded);
  // S3's own ETags, now known equal to the client's: if a part were replaced after ListParts, its
  // ETag would change and S3 would refuse the completion (InvalidPart), so the check cannot be raced.
  // Write-once: If-None-Match: * on the completion is the one place a multipart upload can carry it.
  const { etag } = await deps.multipart.complete({
    ...call, uploadId: input.uploadId,
    parts: uploaded.map((p) => ({ partNumber: p.partNumber, etag: p.etag, ...(flexible === undefined || p.checksum === undefined ? {} : { checksum: p.checksum }) })),
    ...(flexible === undefined ? {} : { checksumAlgorithm: flexible }),
    ...(contract !== undefined && !contract.overwrite ? { noOverwrite: true } : {}),
    ...(fullObjectCrc32c === undefined ? {} : { fullObjectCrc32c }),
  });
  auditIssuance(deps.logger, {
    requestId, caller, action: 'multipart:complete', scope, key, sessionName, accessKeyId, expiresAt, cachedSession: true,
    details: {
      uploadId: input.uploadId, contentLength: plan.contentLength, partSize: plan.partSize, partCount: plan.partCount,
      ...(fullObjectCrc32c === undefined ? {} : { fullObjectChecksum: 'crc32c' }),
    },
  });
  return { key, relativeKey: relativeKeyFor(grant, key), etag };
}

/**
 * Under a sha256 or crc32c contract every part URL signed its part's checksum, so S3 must report one
 * for every part (a part without one did not come through those URLs); a checksum the client sends
 * here must equal S3's.
 */
function checkPartChecksums(
  algorithm: 'sha256' | 'crc32c',
  sent: ReadonlyArray<{ partNumber: number; checksum?: string | undefined }>,
  uploaded: readonly UploadedPart[],
): void {
  const problems: string[] = [];
  const missing = uploaded.filter((p) => p.checksum === undefined).map((p) => p.partNumber);
  if (missing.length > 0) problems.push(`S3 recorded no ${algorithm} checksum for part${missing.length > 1 ? 's' : ''} ${ranges(missing)}`);
  const byNumber = new Map(uploaded.map((p) => [p.partNumber, p.checksum]));
  const differ = sent.filter((p) => p.checksum !== undefined && byNumber.get(p.partNumber) !== undefined && byNumber.get(p.partNumber) !== p.checksum)
    .map((p) => p.partNumber);
  if (differ.length > 0) problems.push(`the ${algorithm} checksum S3 recorded differs from the one sent for part${differ.length > 1 ? 's' : ''} ${ranges(differ)}`);
  if (problems.length > 0) {
    throw new UploadMismatchError(`${problems.join('; ')}: upload those parts again through checksum-signed part URLs and retry`);
  }
}
