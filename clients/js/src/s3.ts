import { S3UploadError, s3ErrorFrom } from './errors.js';
import type { FetchLike } from './transport.js';

/** What the client uploads: a Blob (a File in browsers) or bytes. */
export type UploadBody = Blob | Uint8Array;

/**
 * Request headers a browser's fetch refuses to let a script set (the Fetch standard's forbidden request headers).
 * The browser sets Content-Length itself from the body, which has exactly the signed size.
 */
const BROWSER_FORBIDDEN = new Set([
  'accept-charset', 'accept-encoding', 'access-control-request-headers', 'access-control-request-method',
  'connection', 'content-length', 'cookie', 'cookie2', 'date', 'dnt', 'expect', 'host', 'keep-alive', 'origin',
  'referer', 'set-cookie', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'via',
]);

export function isForbiddenInBrowser(name: string): boolean {
  const lower = name.toLowerCase();
  return BROWSER_FORBIDDEN.has(lower) || lower.startsWith('proxy-') || lower.startsWith('sec-');
}

/** Whether this code runs in a browser page or worker (not Node, Deno or Bun). */
export function detectBrowser(): boolean {
  const g = globalThis as { document?: unknown; importScripts?: unknown; process?: { versions?: { node?: string } } };
  if (g.process?.versions?.node) return false;
  return typeof g.document !== 'undefined' || typeof g.importScripts === 'function';
}

/** The presigned headers to send: all of them, less the ones a browser may not set when running in a browser. */
export function headersToSend(signed: Record<string, string>, browser: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(signed)) {
    if (browser && isForbiddenInBrowser(name)) continue;
    out[name] = value;
  }
  return out;
}

export function sizeOf(body: UploadBody): number {
  return body instanceof Uint8Array ? body.byteLength : body.size;
}

export function slice(body: UploadBody, start: number, end: number): UploadBody {
  return body instanceof Uint8Array ? body.subarray(start, end) : body.slice(start, end);
}

/**
 * A fetch body for the bytes (a Uint8Array is a BufferSource; the cast spares older DOM typings' ArrayBuffer
 * generics). Spelled through RequestInit so the file also compiles with Node's typings alone (the broker's e2e tests).
 */
export function asBody(body: UploadBody): NonNullable<RequestInit['body']> {
  return body as unknown as NonNullable<RequestInit['body']>;
}

/** PUTs the body to a presigned URL with the presigned headers; returns the ETag S3 answered with (if visible). */
export async function putToS3(
  fetchFn: FetchLike,
  url: string,
  headers: Record<string, string>,
  body: UploadBody,
  options: { browser: boolean; signal?: AbortSignal | undefined; partNumber?: number },
): Promise<string | undefined> {
  const init: RequestInit = { method: 'PUT', headers: headersToSend(headers, options.browser), body: asBody(body) };
  if (options.signal) init.signal = options.signal;
  const response = await fetchFn(url, init);
  if (!response.ok) throw await s3ErrorFrom(response, 'upload', options.partNumber);
  // drain the (empty) body so the connection can be reused
  await response.arrayBuffer().catch(() => undefined);
  return response.headers.get('etag') ?? undefined;
}

/** POSTs a form upload: the presigned fields first, the file last (S3 ignores fields after it). */
export async function postFormToS3(
  fetchFn: FetchLike,
  url: string,
  fields: Record<string, string>,
  body: UploadBody,
  contentType: string,
  options: { signal?: AbortSignal | undefined },
): Promise<string | undefined> {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  const blob = body instanceof Uint8Array ? new Blob([body] as unknown as ConstructorParameters<typeof Blob>[0], { type: contentType }) : body;
  form.append('file', blob);
  const init: RequestInit = { method: 'POST', body: form };
  if (options.signal) init.signal = options.signal;
  const response = await fetchFn(url, init);
  if (!response.ok) throw await s3ErrorFrom(response, 'upload');
  await response.arrayBuffer().catch(() => undefined);
  return response.headers.get('etag') ?? undefined;
}

export function missingEtag(partNumber: number): S3UploadError {
  return new S3UploadError({
    status: 0,
    code: 'MissingETag',
    partNumber,
    message:
      `part ${partNumber}: S3 accepted the part but its ETag header is not readable; in a browser the bucket's CORS `
      + 'configuration must expose it (ExposeHeaders: ["ETag"])',
  });
}
