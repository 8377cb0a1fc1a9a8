import { computeChecksum, isIntegrityOption, type ChecksumAlgorithm, type IntegrityOption } from './checksum.js';
import { s3ErrorFrom } from './errors.js';
import type {
  ListMultipartPartsResponse,
  PresignDownloadResponse,
  VendCredentialsRequest,
  VendCredentialsResponse,
  WhoamiResponse,
  HealthResponse,
} from './generated/contract.js';
import { uploadMultipart, type MultipartOptions, type MultipartResult } from './multipart.js';
import { resolveRetry, type RetryOptions } from './retry.js';
import { detectBrowser, postFormToS3, putToS3, sizeOf, type UploadBody } from './s3.js';
import { Transport, type BrokerAuth, type FetchLike } from './transport.js';

export interface BrokerClientOptions {
  /** The broker's base URL, e.g. `https://abc123.execute-api.eu-west-1.amazonaws.com` (a stage path is kept). */
  url: string;
  auth: BrokerAuth;
  /** A fetch to use instead of the global one (tests, proxies, instrumentation). */
  fetch?: FetchLike;
  /** Retries after the first attempt (a number), or the full policy. Only 429/503 (and network errors on idempotent calls) are retried. */
  retries?: number | RetryOptions;
  /** Whether to behave as in a browser (drop headers a browser may not set). Detected when absent. */
  browser?: boolean;
  /**
   * The checksum uploads must declare (the grant's upload contract, whoami `grant.upload.integrity`). When absent,
   * the client asks `whoami` once (on the first upload; the answer is kept for this client instance). Give it to
   * spare that call; `none` sends no checksum. Under md5/sha256/crc32c, `upload()` and `uploadMultipart()` compute
   * the checksum of the exact bytes (per part for multipart) and send it; browsers can compute only sha256 (and
   * crc32c), so md5 fails there with a ChecksumUnavailableError before anything is sent.
   */
  integrity?: IntegrityOption;
}

export interface UploadOptions {
  /** Object key relative to the grant's prefix. */
  key: string;
  /** Media type, one of the grant's contentTypes; signed into the URL or form. */
  contentType: string;
  /** PUT (default): a URL signing the exact size. POST: a form whose policy bounds the size by the grant's maxUploadBytes. */
  method?: 'PUT' | 'POST';
  /** Requested URL lifetime in seconds (broker default 300). */
  expiresIn?: number;
  signal?: AbortSignal;
  /** Called with (0, total) before sending and (total, total) once S3 accepted it (fetch reports no finer upload progress; use uploadMultipart for that). */
  onProgress?: (bytesSent: number, total: number) => void;
}

export interface UploadResult {
  /** The full key (with the grant's prefix). */
  key: string;
  /** S3's ETag, when the answer shows it (browsers need the bucket's CORS to expose it). */
  etag: string | undefined;
  /** When the presigned URL or form expired (or expires). */
  expiresAt: string;
}

export interface DownloadOptions {
  /** Name offered to the browser (Content-Disposition: attachment); sanitised by the broker. */
  filename?: string;
  /** Requested URL lifetime in seconds (broker default 300). */
  expiresIn?: number;
  /** Also GET the object and return its bytes. */
  fetchBody?: boolean;
  signal?: AbortSignal;
}

export interface DownloadResult extends PresignDownloadResponse {
  /** The object's bytes, with `fetchBody: true`. */
  body?: Uint8Array;
  /** The object's Content-Type, with `fetchBody: true`. */
  contentType?: string | undefined;
}

export interface BrokerClient {
  /** GET /v1/whoami: who the broker thinks you are and your grant. */
  whoami(options?: { signal?: AbortSignal }): Promise<WhoamiResponse>;
  /** GET /health (no auth). */
  health(options?: { signal?: AbortSignal }): Promise<HealthResponse>;
  /** POST /v1/credentials: temporary AWS credentials (write only for a client with rawWriteCredentials). */
  credentials(request?: VendCredentialsRequest, options?: { signal?: AbortSignal }): Promise<VendCredentialsResponse>;
  /** Presign (POST /v1/uploads) and upload one object with a single PUT or form POST. */
  upload(file: UploadBody, options: UploadOptions): Promise<UploadResult>;
  /** Multipart upload over the v1 multipart routes: bounded parallel part PUTs, just-in-time part URLs, resumable. */
  uploadMultipart(file: UploadBody, options: MultipartOptions): Promise<MultipartResult>;
  /** POST /v1/uploads/multipart/list: the parts S3 holds for an open multipart upload (`key` relative to the grant's prefix). */
  listParts(key: string, uploadId: string, options?: { signal?: AbortSignal }): Promise<ListMultipartPartsResponse>;
  /** POST /v1/downloads: a presigned GET URL (served as an attachment), and the bytes with `fetchBody: true`. */
  download(key: string, options?: DownloadOptions): Promise<DownloadResult>;
}

function globalFetch(): FetchLike {
  if (typeof globalThis.fetch !== 'function') throw new TypeError('no global fetch: pass options.fetch');
  return (input, init) => globalThis.fetch(input, init);
}

export function createBrokerClient(options: BrokerClientOptions): BrokerClient {
  if (!options || !options.auth) throw new TypeError('createBrokerClient: auth ({ apiKey } or { token }) is required');
  const transport = new Transport(options.url, options.auth, options.fetch ?? globalFetch(), resolveRetry(options.retries));
  const browser = options.browser ?? detectBrowser();
  if (options.integrity !== undefined && !isIntegrityOption(options.integrity)) {
    throw new TypeError(`createBrokerClient: integrity must be one of md5, sha256, crc32c, none (got ${JSON.stringify(options.integrity)})`);
  }
  // the contract's algorithm: the explicit option, else whoami's answer, asked once (a failed ask is not kept)
  let integrityAsked: Promise<ChecksumAlgorithm | undefined> | undefined;
  const integrity = (signal: AbortSignal | undefined): Promise<ChecksumAlgorithm | undefined> => {
    if (options.integrity !== undefined) return Promise.resolve(options.integrity === 'none' ? undefined : options.integrity);
    integrityAsked ??= transport.call('whoami', { signal }).then(
      (who) => {
        const algorithm = who.grant.upload?.integrity;
        return algorithm === undefined || algorithm === 'none' ? undefined : algorithm;
      },
      (error: unknown) => {
        integrityAsked = undefined;
        throw error;
      },
    );
    return integrityAsked;
  };

  return {
    whoami: (o) => transport.call('whoami', { signal: o?.signal }),
    health: (o) => transport.call('health', { signal: o?.signal }),
    credentials: (request, o) => transport.call('vendCredentials', { body: request ?? {}, signal: o?.signal }),

    async upload(file, o) {
      const total = sizeOf(file);
      const method = o.method ?? 'PUT';
      const expires = o.expiresIn === undefined ? {} : { expiresIn: o.expiresIn };
      const algorithm = await integrity(o.signal);
      // computed before presigning: the checksum is signed into the URL (or pinned in the form's policy)
      const checksum = algorithm === undefined ? {} : { checksum: { algorithm, value: await computeChecksum(algorithm, file, browser) } };
      o.onProgress?.(0, total);
      const presigned = await transport.call('presignUpload', {
        body: method === 'PUT'
          ? { method: 'PUT', key: o.key, contentType: o.contentType, contentLength: total, ...expires, ...checksum }
          : { method: 'POST', key: o.key, contentType: o.contentType, ...expires, ...checksum },
        signal: o.signal,
      });
      let etag: string | undefined;
      if (presigned.method === 'PUT') {
        etag = await putToS3(transport.fetch, presigned.url, presigned.headers, file, { browser, signal: o.signal });
      } else {
        etag = await postFormToS3(transport.fetch, presigned.url, presigned.fields, file, o.contentType, { signal: o.signal });
      }
      o.onProgress?.(total, total);
      return { key: presigned.key, etag, expiresAt: presigned.expiresAt };
    },

    uploadMultipart: async (file, o) => uploadMultipart(transport, browser, file, o, await integrity(o.signal)),

    listParts: (key, uploadId, o) => transport.call('listMultipartParts', { body: { key, uploadId }, signal: o?.signal }),

    async download(key, o = {}) {
      const presigned = await transport.call('presignDownload', {
        body: {
          key,
          ...(o.filename === undefined ? {} : { filename: o.filename }),
          ...(o.expiresIn === undefined ? {} : { expiresIn: o.expiresIn }),
        },
        signal: o.signal,
      });
      if (!o.fetchBody) return presigned;
      const init: RequestInit = { method: 'GET' };
      if (o.signal) init.signal = o.signal;
      const response = await transport.fetch(presigned.url, init);
      if (!response.ok) throw await s3ErrorFrom(response, 'download');
      const body = new Uint8Array(await response.arrayBuffer());
      return { ...presigned, body, contentType: response.headers.get('content-type') ?? undefined };
    },
  };
}
