/** POST /v1/uploads: one presigned PUT (size and type signed) or browser POST form for one key. */
import type { Authorised } from '../domain/model.js';
import { relativeKeyFor, scopeForObject } from '../rules/scope.js';
import { assertContentTypeAllowed, assertUploadSize } from '../rules/uploadRules.js';
import { auditIssuance } from './audit.js';
import type { BrokerDeps } from './deps.js';
import { presignSigning } from './session.js';

export type UploadRequest =
  | { method: 'PUT'; key: string; contentType: string; contentLength: number; expiresIn: number }
  | { method: 'POST'; key: string; contentType: string; expiresIn: number };

export type PresignedUpload =
  | { method: 'PUT'; url: string; headers: Record<string, string>; key: string; relativeKey: string; expiresAt: Date }
  | { method: 'POST'; url: string; fields: Record<string, string>; key: string; relativeKey: string; maxBytes: number; expiresAt: Date };

/** Every refusal (key, content type, size) comes before the session; the audit line after the URL exists. */
export async function presignUpload(deps: BrokerDeps, { caller, grant }: Authorised, input: UploadRequest, requestId: string): Promise<PresignedUpload> {
  const request = scopeForObject(grant, { action: 'write', relativeKey: input.key });
  const key = request.objectKey;
  const relativeKey = relativeKeyFor(grant, key);
  const contentType = assertContentTypeAllowed(grant, input.contentType);
  if (input.method === 'PUT') assertUploadSize(grant, input.contentLength);

  const { base, expiresAt, sessionName, accessKeyId, scope } = await presignSigning(deps, caller, grant, { request, expiresIn: input.expiresIn });
  let result: PresignedUpload;
  if (input.method === 'PUT') {
    const signed = await deps.presigner.presignPut({ ...base, contentType, contentLength: input.contentLength });
    result = { method: 'PUT', url: signed.url, headers: signed.headers, key, relativeKey, expiresAt };
  } else {
    const maxBytes = grant.client.maxUploadBytes;
    const signed = await deps.presigner.presignPost({ ...base, contentType, maxBytes });
    result = { method: 'POST', url: signed.url, fields: signed.fields, key, relativeKey, maxBytes, expiresAt };
  }
  auditIssuance(deps.logger, { requestId, caller, action: `upload:${input.method}`, scope, key, sessionName, accessKeyId, expiresAt, cachedSession: true });
  return result;
}
