/** POST /v1/uploads: one presigned PUT (size, type and upload contract signed) or browser POST form for one key. */
import type { Authorised, DeclaredChecksum, UploadTerms } from '../domain/model.js';
import { relativeKeyFor, scopeForObject } from '../rules/scope.js';
import { assertPostAllowed, checkedChecksum, uploadTerms } from '../rules/uploadContract.js';
import { assertContentTypeAllowed, assertUploadSize } from '../rules/uploadRules.js';
import { auditIssuance } from './audit.js';
import type { BrokerDeps } from './deps.js';
import { presignSigning } from './session.js';

export type UploadRequest =
  | { method: 'PUT'; key: string; contentType: string; contentLength: number; expiresIn: number; checksum?: DeclaredChecksum | undefined }
  | { method: 'POST'; key: string; contentType: string; expiresIn: number; checksum?: DeclaredChecksum | undefined };

export type PresignedUpload =
  | { method: 'PUT'; url: string; headers: Record<string, string>; key: string; relativeKey: string; expiresAt: Date }
  | { method: 'POST'; url: string; fields: Record<string, string>; key: string; relativeKey: string; maxBytes: number; expiresAt: Date };

/**
 * Every refusal (key, content type, size, the upload contract's checksum and form rules) comes
 * before the session; the audit line after the URL exists. Without a contract the URL is exactly
 * what it was before contracts existed.
 */
export async function presignUpload(deps: BrokerDeps, { caller, grant }: Authorised, input: UploadRequest, requestId: string): Promise<PresignedUpload> {
  const request = scopeForObject(grant, { action: 'write', relativeKey: input.key });
  const key = request.objectKey;
  const relativeKey = relativeKeyFor(grant, key);
  const contentType = assertContentTypeAllowed(grant, input.contentType);
  if (input.method === 'PUT') assertUploadSize(grant, input.contentLength);
  const contract = grant.client.upload;
  if (input.method === 'POST') assertPostAllowed(contract);
  const checksum = checkedChecksum(contract, input.checksum);
  const terms = uploadTerms(contract, caller, requestId, checksum);

  const { base, expiresAt, sessionName, accessKeyId, scope } = await presignSigning(deps, caller, grant, { request, expiresIn: input.expiresIn });
  let result: PresignedUpload;
  if (input.method === 'PUT') {
    // Object.assign, not `{ ...base, more }`: on Node 20 a spread followed by new keys takes a slow
    // path (about 2 µs, a measurable share of a warm presign).
    const signed = await deps.presigner.presignPut(Object.assign({}, base, { contentType, contentLength: input.contentLength }, terms === undefined ? {} : { terms }));
    result = { method: 'PUT', url: signed.url, headers: signed.headers, key, relativeKey, expiresAt };
  } else {
    const maxBytes = grant.client.maxUploadBytes;
    const signed = await deps.presigner.presignPost(Object.assign({}, base, { contentType, maxBytes }, terms === undefined ? {} : { terms }));
    result = { method: 'POST', url: signed.url, fields: signed.fields, key, relativeKey, maxBytes, expiresAt };
  }
  auditIssuance(deps.logger, {
    requestId, caller, action: `upload:${input.method}`, scope, key, sessionName, accessKeyId, expiresAt, cachedSession: true,
    ...(terms === undefined ? {} : { details: contractAudit(terms) }),
  });
  return result;
}

/** What the audit line records of a contract, as one string: which elements were signed (tag and metadata keys; the values are the config's). */
export function contractAudit(terms: UploadTerms): { contract: string } {
  const parts = [
    ...(terms.checksum === undefined ? [] : [`checksum:${terms.checksum.algorithm}`]),
    ...(terms.noOverwrite ? ['write-once'] : []),
    ...(Object.keys(terms.tags).length === 0 ? [] : [`tags:${Object.keys(terms.tags).join(',')}`]),
    ...(Object.keys(terms.metadata).length === 0 ? [] : [`metadata:${Object.keys(terms.metadata).join(',')}`]),
    ...(terms.encryption === undefined ? [] : [`sse:${terms.encryption.type}`]),
  ];
  return { contract: parts.length === 0 ? 'none' : parts.join(' ') };
}
