/** POST /v1/uploads/multipart/parts: presigned part URLs, each signing its part's exact length. */
import type { Authorised } from '../domain/model.js';
import { checkPartNumbers, partLength, planForGrant } from '../rules/multipartPlan.js';
import { relativeKeyOf, scopeForObject, type ObjectKeyRef } from '../rules/scope.js';
import { auditIssuance } from './audit.js';
import type { BrokerDeps } from './deps.js';
import { presignSigning } from './session.js';

export interface SignPartsRequest extends ObjectKeyRef {
  uploadId: string;
  partNumbers: number[];
  contentLength: number;
  partSize: number;
  expiresIn: number;
}

export interface SignedPart {
  partNumber: number;
  url: string;
  headers: Record<string, string>;
  expiresAt: Date;
}

/** The declaration is re-checked against the grant (the broker keeps no state); part URLs are local computation. */
export async function signUploadParts(deps: BrokerDeps, { caller, grant }: Authorised, input: SignPartsRequest, requestId: string): Promise<SignedPart[]> {
  const request = scopeForObject(grant, { action: 'write', relativeKey: relativeKeyOf(grant, input) });
  const key = request.objectKey;
  const plan = planForGrant(grant, input);
  checkPartNumbers(plan, input.partNumbers);
  const { base, expiresAt, sessionName, accessKeyId, scope } = await presignSigning(deps, caller, grant, { request, expiresIn: input.expiresIn });
  const parts = await Promise.all(input.partNumbers.map(async (n) => {
    const signed = await deps.presigner.presignUploadPart({ ...base, uploadId: input.uploadId, partNumber: n, contentLength: partLength(plan, n) });
    return { partNumber: n, url: signed.url, headers: signed.headers, expiresAt };
  }));
  auditIssuance(deps.logger, {
    requestId, caller, action: 'multipart:parts', scope, key, sessionName, accessKeyId, expiresAt, cachedSession: true,
    details: { uploadId: input.uploadId, partNumbers: input.partNumbers, contentLength: plan.contentLength, partSize: plan.partSize },
  });
  return parts;
}
