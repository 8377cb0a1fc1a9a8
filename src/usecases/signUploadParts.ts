/** POST /v1/uploads/multipart/parts: presigned part URLs, each signing its part's exact length. */
import type { Authorised, DeclaredChecksum } from '../domain/model.js';
import { checkPartNumbers, partLength, planForGrant } from '../rules/multipartPlan.js';
import { relativeKeyOf, scopeForObject, type ObjectKeyRef } from '../rules/scope.js';
import { checkedChecksum } from '../rules/uploadContract.js';
import { InvalidRequestError } from '../domain/errors.js';
import { auditIssuance } from './audit.js';
import type { BrokerDeps } from './deps.js';
import { presignSigning } from './session.js';

export interface SignPartsRequest extends ObjectKeyRef {
  uploadId: string;
  partNumbers: number[];
  contentLength: number;
  partSize: number;
  expiresIn: number;
  /** One base64 checksum per entry of partNumbers, same order: required under an integrity contract, refused without one. */
  checksums?: string[] | undefined;
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
  const checksums = partChecksums(grant.client.upload?.integrity ?? 'none', input);
  const { base, expiresAt, sessionName, accessKeyId, scope } = await presignSigning(deps, caller, grant, { request, expiresIn: input.expiresIn });
  // One call for the batch: the adapter checks the shared inputs once and signs each part without a promise of its own.
  const signed = await deps.presigner.presignUploadParts(Object.assign({}, base, {
    uploadId: input.uploadId,
    parts: input.partNumbers.map((n, i) => {
      const checksum = checksums[i];
      return { partNumber: n, contentLength: partLength(plan, n), ...(checksum === undefined ? {} : { checksum }) };
    }),
  }));
  if (signed.length !== input.partNumbers.length) throw new TypeError(`the presigner signed ${signed.length} of ${input.partNumbers.length} parts`);
  const parts = signed.map((s, i) => ({ partNumber: input.partNumbers[i]!, url: s.url, headers: s.headers, expiresAt }));
  auditIssuance(deps.logger, {
    requestId, caller, action: 'multipart:parts', scope, key, sessionName, accessKeyId, expiresAt, cachedSession: true,
    details: { uploadId: input.uploadId, partNumbers: input.partNumbers, contentLength: plan.contentLength, partSize: plan.partSize },
  });
  return parts;
}

/**
 * The checksum each part URL signs (S3 then refuses a part whose bytes differ): one per part number
 * under an integrity contract, in the contract's algorithm; none without one.
 */
function partChecksums(integrity: 'md5' | 'sha256' | 'crc32c' | 'none', input: SignPartsRequest): Array<DeclaredChecksum | undefined> {
  if (integrity === 'none') {
    if (input.checksums !== undefined) throw new InvalidRequestError('checksums are only accepted for a client whose upload contract sets integrity (this client\'s is none)');
    return input.partNumbers.map(() => undefined);
  }
  if (input.checksums === undefined) {
    throw new InvalidRequestError(`checksums are required: this client's upload contract requires integrity ${integrity}; send one base64 ${integrity} digest per part number, in the same order`);
  }
  if (input.checksums.length !== input.partNumbers.length) {
    throw new InvalidRequestError(`checksums must have one entry per part number (${input.partNumbers.length}), in the same order; got ${input.checksums.length}`);
  }
  return input.checksums.map((value, i) => checkedChecksum({ integrity, overwrite: true, tags: {}, metadata: {} }, { algorithm: integrity, value }, `checksums[${i}]`));
}
