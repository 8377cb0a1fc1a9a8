/** POST /v1/uploads/multipart: checks the declaration against the grant, then CreateMultipartUpload. */
import type { Authorised } from '../domain/model.js';
import { planForGrant } from '../rules/multipartPlan.js';
import { relativeKeyFor, scopeForObject } from '../rules/scope.js';
import { uploadTerms } from '../rules/uploadContract.js';
import { assertContentTypeAllowed } from '../rules/uploadRules.js';
import { contractAudit } from './presignUpload.js';
import { auditIssuance } from './audit.js';
import type { BrokerDeps } from './deps.js';
import { multipartCall } from './session.js';

export interface CreateMultipartRequest {
  key: string;
  contentType: string;
  contentLength: number;
  partSize?: number | undefined;
}

/** Every refusal (key, content type, size, part layout) comes before any STS or S3 call. */
export async function createMultipartUpload(
  deps: BrokerDeps,
  { caller, grant }: Authorised,
  input: CreateMultipartRequest,
  requestId: string,
): Promise<{ uploadId: string; key: string; relativeKey: string; partSize: number; partCount: number }> {
  const request = scopeForObject(grant, { action: 'write', relativeKey: input.key });
  const key = request.objectKey;
  const contentType = assertContentTypeAllowed(grant, input.contentType);
  const plan = planForGrant(grant, input);
  const { call, sessionName, accessKeyId, expiresAt, scope } = await multipartCall(deps, caller, grant, request);
  // The upload's tags, metadata and SSE are fixed here; checksums come per part (parts) and
  // If-None-Match with the completion (S3 takes no conditional header on create or on parts).
  const contract = grant.client.upload;
  const terms = uploadTerms(contract, caller, requestId);
  const integrity = contract?.integrity ?? 'none';
  const { uploadId } = await deps.multipart.create({
    ...call, contentType,
    ...(terms === undefined ? {} : { terms }),
    ...(integrity === 'sha256' || integrity === 'crc32c' ? { checksumAlgorithm: integrity } : {}),
  });
  auditIssuance(deps.logger, {
    requestId, caller, action: 'multipart:create', scope, key, sessionName, accessKeyId, expiresAt, cachedSession: true,
    details: {
      uploadId, contentType, contentLength: plan.contentLength, partSize: plan.partSize, partCount: plan.partCount,
      ...(terms === undefined ? {} : contractAudit({ ...terms, ...(integrity === 'none' ? {} : { checksum: { algorithm: integrity, value: '' } }) })),
    },
  });
  return { uploadId, key, relativeKey: relativeKeyFor(grant, key), partSize: plan.partSize, partCount: plan.partCount };
}
