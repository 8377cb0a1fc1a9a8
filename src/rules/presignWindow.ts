import { StsUpstreamError } from '../domain/errors.js';

/**
 * A presigned URL dies with its signing credentials, so the honest lifetime is
 * min(requested, seconds the credentials have left). Returns the X-Amz-Expires value and the
 * matching `expiresAt`, both from the same signing instant.
 */
export function presignWindow(signingTimeMs: number, requestedSeconds: number, credentialsExpiration: Date): { expiresInSeconds: number; expiresAt: Date } {
  const left = Math.floor((credentialsExpiration.getTime() - signingTimeMs) / 1000);
  const expiresInSeconds = Math.min(requestedSeconds, left);
  if (expiresInSeconds < 1) throw new StsUpstreamError('signing credentials are already expired');
  return { expiresInSeconds, expiresAt: new Date(Math.floor(signingTimeMs / 1000) * 1000 + expiresInSeconds * 1000) };
}
