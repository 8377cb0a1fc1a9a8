import { MAX_SINGLE_PUT_BYTES } from './limits.js';
import { GrantViolationError, TooLargeError } from '../domain/errors.js';
import type { Grant } from '../domain/model.js';

/** What an empty content type (a browser's File.type for an unknown file) stands for. */
export const EMPTY_CONTENT_TYPE_MEANS = 'application/octet-stream';

/**
 * The content type must be one the client's grant lists (compared without parameters, case-insensitively).
 * An empty one is application/octet-stream, allowed only where the grant lists that.
 */
export function assertContentTypeAllowed(grant: Grant, contentType: string): string {
  const allowed = grant.client.contentTypes.map((t) => t.toLowerCase());
  if (contentType === '') {
    if (allowed.includes(EMPTY_CONTENT_TYPE_MEANS)) return EMPTY_CONTENT_TYPE_MEANS;
    throw new GrantViolationError(`an empty content type means ${EMPTY_CONTENT_TYPE_MEANS}, which is not allowed for this client (allowed: ${allowed.join(', ')})`);
  }
  const normalised = contentType.split(';')[0]!.trim().toLowerCase();
  if (!allowed.includes(normalised)) {
    throw new GrantViolationError(`content type "${normalised}" is not allowed for this client (allowed: ${allowed.join(', ')})`);
  }
  return normalised;
}

/** A declared upload size must fit the grant, and a single PUT must fit S3's 5 GiB limit. */
export function assertUploadSize(grant: Grant, contentLength: number): void {
  if (contentLength > grant.client.maxUploadBytes) {
    throw new TooLargeError(`contentLength ${contentLength} exceeds this client's maxUploadBytes ${grant.client.maxUploadBytes}`);
  }
  if (contentLength > MAX_SINGLE_PUT_BYTES) {
    throw new TooLargeError(`contentLength ${contentLength} exceeds S3's single PUT limit of ${MAX_SINGLE_PUT_BYTES} bytes; use a multipart upload`);
  }
}
