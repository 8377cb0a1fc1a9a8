/**
 * Multipart upload through sts-broker with nothing but `fetch` and `Blob` (browsers, Node ≥ 20,
 * Deno, Bun): create → part URLs in batches, just in time → PUT each part straight to S3, with
 * retries → complete. No AWS SDK and no AWS credentials on the client: the broker signs each part
 * URL for that part's exact length, and checks the parts against the declared size before S3
 * assembles them.
 *
 * The broker keeps no state, so the client does: `UploadState` (plain JSON) holds the upload id,
 * the declaration and the ETag of every finished part. Persist it from `onProgress` and hand it to
 * `resumeUpload` after a crash or a dropped connection: only the missing parts are sent again.
 *
 *   const file = await fs.openAsBlob('video.mp4');            // browsers: an <input type=file> File
 *   const broker = { url: 'https://broker.example', headers: { 'X-Api-Key': key } };
 *   const { key, etag } = await uploadMultipart({ broker, key: 'videos/v.mp4', contentType: 'video/mp4', data: file });
 *
 * Browsers need the bucket's CORS rule to expose the ETag header (`npm run partner-policy` prints it).
 * Exercised end to end against the real local S3 by test/e2e/multipart.test.ts, and under an md5 upload contract
 * by test/e2e/clientsContract.test.ts.
 *
 * Under an upload contract with integrity (whoami: `grant.upload.integrity`), pass `integrity`: each part's
 * checksum is computed (examples/checksum.ts) and declared when its URL is asked for, the URL signs it, and the part
 * PUT carries it among the returned headers, so S3 refuses a part whose bytes changed. Browsers: sha256 only.
 */
import { checksumOf, type Integrity } from './checksum.js';


/** Where the broker is and how to authenticate: `{ 'X-Api-Key': key }` or `{ Authorization: 'Bearer <jwt>' }`. */
export interface Broker {
  url: string;
  headers: Record<string, string>;
}

/** Everything needed to resume an upload; JSON-serialisable. */
export interface UploadState {
  /** The key as sent (relative to the grant's prefix). */
  key: string;
  /** The full key the broker answered with. */
  fullKey: string;
  uploadId: string;
  contentLength: number;
  partSize: number;
  partCount: number;
  /** ETag of every part already uploaded, by part number. */
  etags: Record<number, string>;
}

export interface UploadOptions {
  broker: Broker;
  /** The bytes: a File in browsers, `fs.openAsBlob(path)` or `new Blob([buffer])` in Node. */
  data: Blob;
  /** Parts in flight at once (default 4). */
  concurrency?: number;
  /** Part URLs requested per broker call (default 20, at most 100). */
  batchSize?: number;
  /** Attempts per part PUT (default 4), with exponential backoff. */
  attempts?: number;
  /** Called after each part: persist the state here to be able to resume. */
  onProgress?: (state: UploadState) => void;
  /** The fetch to use (default globalThis.fetch). */
  fetch?: typeof fetch;
  /** The grant's upload contract integrity (whoami `grant.upload.integrity`), when it is not none. */
  integrity?: Integrity;
}

/** A refusal from the broker, with its error code (`upload_mismatch`, `too_large`, …). */
export class BrokerRequestError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(`${status} ${code}: ${message}`);
    this.name = 'BrokerRequestError';
  }
}

/** Some parts could not be uploaded; `state` resumes the upload (see resumeUpload). */
export class MultipartUploadError extends Error {
  constructor(readonly state: UploadState, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MultipartUploadError';
  }
}

interface PartUrl { partNumber: number; url: string; headers: Record<string, string>; expiresAt: string }

/** Create, upload every part, complete. */
export async function uploadMultipart(options: UploadOptions & { key: string; contentType: string; partSize?: number }): Promise<{ key: string; etag: string; state: UploadState }> {
  const state = await createUpload(options);
  return resumeUpload(state, options);
}

/** POST /v1/uploads/multipart: declares the whole object and returns the state to upload it with. */
export async function createUpload(options: Pick<UploadOptions, 'broker' | 'data' | 'fetch'> & { key: string; contentType: string; partSize?: number }): Promise<UploadState> {
  const created = await callBroker<{ uploadId: string; key: string; partSize: number; partCount: number }>(options, '/v1/uploads/multipart', {
    key: options.key,
    contentType: options.contentType,
    contentLength: options.data.size,
    ...(options.partSize === undefined ? {} : { partSize: options.partSize }),
  });
  return {
    key: options.key,
    fullKey: created.key,
    uploadId: created.uploadId,
    contentLength: options.data.size,
    partSize: created.partSize,
    partCount: created.partCount,
    etags: {},
  };
}

/** Uploads the parts `state` lacks, then completes. `data` must be the same bytes as at create. */
export async function resumeUpload(state: UploadState, options: UploadOptions): Promise<{ key: string; etag: string; state: UploadState }> {
  if (options.data.size !== state.contentLength) throw new Error(`data is ${options.data.size} bytes; the upload declared ${state.contentLength}`);
  const batchSize = Math.min(options.batchSize ?? 20, 100);
  const missing = Array.from({ length: state.partCount }, (_, i) => i + 1).filter((n) => state.etags[n] === undefined);
  const failures: Array<{ partNumber: number; error: unknown }> = [];

  for (let i = 0; i < missing.length; i += batchSize) {
    // URLs are signed per batch, just before use, so none expires while earlier batches upload.
    const urls = await partUrls(options, state, missing.slice(i, i + batchSize));
    await pool(urls, options.concurrency ?? 4, async (part) => {
      try {
        state.etags[part.partNumber] = await putPart(options, state, part);
        options.onProgress?.(state);
      } catch (error) {
        failures.push({ partNumber: part.partNumber, error });
      }
    });
  }
  if (failures.length > 0) {
    const numbers = failures.map((f) => f.partNumber).sort((a, b) => a - b);
    throw new MultipartUploadError(state, `part${numbers.length > 1 ? 's' : ''} ${numbers.join(', ')} could not be uploaded; resume with resumeUpload(state, …)`, { cause: failures[0]!.error });
  }

  const done = await callBroker<{ key: string; etag: string }>(options, '/v1/uploads/multipart/complete', {
    key: state.key,
    uploadId: state.uploadId,
    contentLength: state.contentLength,
    partSize: state.partSize,
    parts: await Promise.all(Object.entries(state.etags).map(async ([n, etag]) => ({
      partNumber: Number(n),
      etag,
      // S3 records sha256 part checksums and the broker compares these with them (md5 guards each part PUT only)
      ...(options.integrity === 'sha256' ? { checksum: await checksumOf('sha256', partOf(options.data, state, Number(n))) } : {}),
    }))),
  });
  return { key: done.key, etag: done.etag, state };
}

/** POST /v1/uploads/multipart/abort: S3 frees the parts. */
export async function abortUpload(options: Pick<UploadOptions, 'broker' | 'fetch'>, state: Pick<UploadState, 'key' | 'uploadId'>): Promise<void> {
  await callBroker(options, '/v1/uploads/multipart/abort', { key: state.key, uploadId: state.uploadId });
}

/** POST /v1/uploads/multipart/parts for these part numbers. The declaration goes with it: the broker keeps no state. */
async function partUrls(options: UploadOptions, state: UploadState, partNumbers: number[]): Promise<PartUrl[]> {
  const integrity = options.integrity;
  const { parts } = await callBroker<{ parts: PartUrl[] }>(options, '/v1/uploads/multipart/parts', {
    key: state.key, uploadId: state.uploadId, partNumbers, contentLength: state.contentLength, partSize: state.partSize,
    // one checksum per part number, same order: each URL signs its part's checksum
    ...(integrity ? { checksums: await Promise.all(partNumbers.map((n) => checksumOf(integrity, partOf(options.data, state, n)))) } : {}),
  });
  return parts;
}

/** Part `n`'s bytes. */
function partOf(data: Blob, state: Pick<UploadState, 'partSize' | 'contentLength'>, n: number): Blob {
  const start = (n - 1) * state.partSize;
  return data.slice(start, Math.min(start + state.partSize, state.contentLength));
}

/** PUTs one part with exactly the signed headers; retries network failures, 5xx and 429, and re-signs an expired or refused URL. */
async function putPart(options: UploadOptions, state: UploadState, first: PartUrl): Promise<string> {
  const doFetch = options.fetch ?? fetch;
  const body = partOf(options.data, state, first.partNumber);
  const attempts = options.attempts ?? 4;
  let part = first;
  let lastError: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (attempt > 1) {
      await sleep(Math.min(8000, 250 * 2 ** attempt) * (0.5 + Math.random()));
      // a URL that is about to expire, or that S3 refused, is signed again
      if (Date.parse(part.expiresAt) - Date.now() < 30_000 || isForbidden(lastError)) part = (await partUrls(options, state, [part.partNumber]))[0] ?? part;
    }
    try {
      // exactly the returned headers (a browser sets Content-Length itself and ignores the one given here)
      const res = await doFetch(part.url, { method: 'PUT', headers: part.headers, body });
      const etag = res.headers.get('etag');
      await res.arrayBuffer(); // drain, so the connection is reused
      if (res.ok && etag) return etag;
      lastError = new Error(`S3 answered part ${part.partNumber} with ${res.status}${res.ok ? ' but no ETag header (does the bucket CORS expose ETag?)' : ''}`);
      if (res.status < 500 && res.status !== 429 && res.status !== 403) break;
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

const isForbidden = (error: unknown) => error instanceof Error && / with 403$/.test(error.message);

/** A broker call; any answer other than 200 becomes a BrokerRequestError with the broker's code and message. */
async function callBroker<T>(options: Pick<UploadOptions, 'broker' | 'fetch'>, path: string, body: unknown): Promise<T> {
  const res = await (options.fetch ?? fetch)(`${options.broker.url.replace(/\/+$/, '')}${path}`, {
    method: 'POST',
    headers: { ...options.broker.headers, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown;
  try { json = JSON.parse(text); } catch { json = undefined; }
  if (res.status !== 200) {
    const error = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new BrokerRequestError(res.status, error?.code ?? 'http_error', error?.message ?? text.slice(0, 200));
  }
  return json as T;
}

/** Runs `work` over `items` with at most `limit` in flight. */
async function pool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
