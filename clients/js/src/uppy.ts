/**
 * An adapter that makes Uppy's `@uppy/aws-s3` (6.x) upload through the broker:
 *
 *   const broker = brokerUppy({ url, auth: { token: getToken } });
 *   uppy.use(AwsS3, broker.awsS3Options);
 *   uppy.on('file-added', (file) => broker.restore(uppy, file));   // resume after a page reload
 *
 * How it maps. `@uppy/aws-s3` 6 has one hook, `signRequest(request)`, and then sends the request itself
 * (XMLHttpRequest) to the URL it returns:
 * - object PUT and part PUT: the adapter asks the broker for the presigned URL (POST /v1/uploads, POST
 *   /v1/uploads/multipart/parts) and returns it with the signed headers, less the ones a browser may not
 *   set (Content-Length: the browser sets it from the body, which has exactly the signed size). With
 *   `singleUpload: 'POST'` the object goes as the broker's presigned form instead.
 * - create, list parts, complete and abort: Uppy 6 expects presigned S3 URLs for these. The broker does not
 *   presign S3's control requests; it performs them itself behind its JSON routes, each checked against the
 *   grant (and completion against the declared size). So the adapter calls those routes inside
 *   `signRequest` and hands Uppy a `data:` URL holding S3's XML answer, which Uppy's request reads back
 *   without touching the network. (XMLHttpRequest reads `data:` URLs for any method, per the Fetch
 *   standard; a page whose Content-Security-Policy sets `connect-src` must allow `data:`.) Completion lists
 *   the parts from the broker (POST /v1/uploads/multipart/list) and completes with what S3 holds; Uppy's
 *   own part list is not needed.
 * - the broker keeps no state, so every multipart call re-sends the declaration made at create (size and
 *   part size). The adapter remembers it per upload id, in `storage` (localStorage by default) so that a
 *   reloaded page can resume; the record holds no secret (key, upload id, sizes, a file fingerprint).
 * - Uppy's chunk size must equal the broker's part size (a part of any other length is refused by its
 *   signature). `getChunkSize` answers the broker's plan for the size (8 MiB, or what keeps the upload
 *   within 10000 parts) and create sends that part size explicitly; an answer with another one is an error.
 * - keys: create answers the full key (with the grant's prefix): Uppy reports that one; follow-up calls send
 *   the relative key recorded at create back to the broker.
 *
 * Uppy's `getCredentials` mode is deliberately not supported: it puts raw credentials in the browser and
 * bypasses the grant's size and content-type limits.
 *
 * No Uppy import: the types below are structural, so this module costs apps without Uppy nothing.
 */
import type { BrokerAuth, FetchLike } from './transport.js';
import { Transport } from './transport.js';
import { resolveRetry, type RetryOptions } from './retry.js';
import { computeChecksum } from './checksum.js';
import { headersToSend } from './s3.js';

/** What `@uppy/aws-s3` 6 passes to `signRequest` (its PresignableRequest). */
export type UppySignRequest =
  | { method: 'PUT'; key: string; contentType?: string; expiresIn?: number }
  | { method: 'PUT'; key: string; uploadId: string; partNumber: number; expiresIn?: number }
  | { method: 'POST'; key: string; expiresIn?: number }
  | { method: 'POST'; key: string; uploadId: string; expiresIn?: number }
  | { method: 'GET'; key: string; uploadId: string; expiresIn?: number }
  | { method: 'DELETE'; key: string; uploadId?: string; expiresIn?: number };

/** What `signRequest` returns (its PresignedResponse). */
export interface UppySignedRequest {
  url: string;
  key?: string;
  headers?: Record<string, string>;
  fields?: Record<string, string>;
}

/** The parts of an Uppy file the adapter reads. */
export interface UppyFileLike {
  id: string;
  name?: string | undefined;
  size: number | null;
  type?: string | undefined;
  data?: { lastModified?: number } | Blob | unknown;
  s3Multipart?: { uploadId: string; key: string } | undefined;
}

/** The part of an Uppy instance `restore` uses. */
export interface UppyLike {
  setFileState(fileId: string, state: { s3Multipart: { uploadId: string; key: string } }): void;
}

/** A Web Storage subset (localStorage, sessionStorage, or your own). */
export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export interface BrokerUppyOptions {
  /** The broker's base URL. */
  url: string;
  auth: BrokerAuth;
  fetch?: FetchLike;
  retries?: number | RetryOptions;
  /** How a file that does not go multipart is sent: one presigned PUT (default) or the presigned POST form. */
  singleUpload?: 'PUT' | 'POST';
  /** Files larger than this many bytes go multipart (resumable); default 16 MiB. Or decide per file. */
  multipartThreshold?: number | ((file: UppyFileLike) => boolean);
  /** The object key for a file, relative to the grant's prefix; default `<random uuid>-<file name>`. */
  keyFor?: (file: UppyFileLike) => string;
  /** Where multipart declarations are kept for resuming after a reload; default localStorage when there is one. `null`: memory only. */
  storage?: StorageLike | null;
  /** Requested lifetime of each presigned URL in seconds (broker default 300). */
  expiresIn?: number;
  /**
   * The grant's upload contract integrity (whoami `grant.upload.integrity`): sha256 or crc32c make the adapter
   * compute each file's (or part's) checksum from Uppy's `file.data` and declare it, so the URL signs it and the
   * returned headers carry it; sha256 and crc32c parts are also declared on complete. md5 is refused (browsers
   * cannot compute it: give browser clients integrity sha256). Default none.
   */
  integrity?: 'sha256' | 'crc32c' | 'none';
}

/** The options to pass to `uppy.use(AwsS3, …)`. */
export interface BrokerAwsS3Options {
  signRequest: (request: UppySignRequest) => Promise<UppySignedRequest>;
  getChunkSize: (file: { size: number }) => number;
  shouldUseMultipart: (file: UppyFileLike) => boolean;
  generateObjectKey: (file: UppyFileLike) => string;
}

export interface BrokerUppy {
  awsS3Options: BrokerAwsS3Options;
  /**
   * When `file` is one whose multipart upload a previous page started (same name, size, type and
   * modification time), points Uppy at it (`s3Multipart`), so the upload resumes from the parts S3
   * holds (the broker's part listing) instead of starting over. Returns whether it did.
   */
  restore(uppy: UppyLike, file: UppyFileLike): boolean;
  /** The saved multipart uploads (for a page that shows them). */
  saved(): SavedUpload[];
  /** Forgets a saved upload (it stays open in S3 until aborted or expired by the bucket's lifecycle rule). */
  forget(uploadId: string): void;
}

/** What the adapter remembers about one multipart upload: its declaration and where it goes. */
export interface SavedUpload {
  uploadId: string;
  /** The full key create answered (what Uppy uses). */
  key: string;
  /** The key relative to the grant's prefix (what the broker's follow-up calls take). */
  relativeKey: string;
  contentLength: number;
  partSize: number;
  contentType: string;
  fingerprint: string;
  /** The object's URL without a query, once a part URL showed it. */
  location?: string;
  savedAt: number;
}

const MiB = 1024 * 1024;
/** The broker's default part size and S3's limits: the same plan the broker derives (rules/multipartPlan). */
const DEFAULT_PART_BYTES = 8 * MiB;
const MAX_PARTS = 10_000;
const MAX_PART_BYTES = 5 * 1024 * MiB;
const STORAGE_KEY = 'sts-broker-uppy-uploads';
const MAX_SAVED = 100;
/** Part URLs asked for per broker call (Uppy sends one part at a time per file). */
const PART_URL_BATCH = 4;
const URL_MARGIN_MS = 30_000;

/** The part size the broker picks for an object of `size` bytes when the client names none. */
export function brokerPartSize(size: number): number {
  return Math.min(MAX_PART_BYTES, Math.max(DEFAULT_PART_BYTES, Math.ceil(size / MAX_PARTS)));
}

function escapeXml(value: string): string {
  return value.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A `data:` URL answering Uppy's request with S3's XML, without a network round trip. */
function xmlAnswer(xml: string): string {
  return `data:application/xml;charset=utf-8,${encodeURIComponent(`<?xml version="1.0" encoding="UTF-8"?>${xml}`)}`;
}

function fingerprintOf(file: UppyFileLike, size: number, type: string): string {
  const data = file.data as { lastModified?: unknown } | undefined;
  const modified = typeof data?.lastModified === 'number' ? data.lastModified : 0;
  return JSON.stringify([file.name ?? '', size, type, modified]);
}

function defaultStorage(): StorageLike | null {
  try {
    const g = globalThis as { localStorage?: StorageLike };
    return g.localStorage ?? null;
  } catch {
    return null; // a sandboxed frame or disabled storage throws on access
  }
}

function randomId(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (c?.randomUUID) return c.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

export function brokerUppy(options: BrokerUppyOptions): BrokerUppy {
  if (!options || !options.auth) throw new TypeError('brokerUppy: auth ({ apiKey } or { token }) is required');
  const fetchFn: FetchLike = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const transport = new Transport(options.url, options.auth, fetchFn, resolveRetry(options.retries));
  const storage = options.storage === undefined ? defaultStorage() : options.storage;
  const single = options.singleUpload ?? 'PUT';
  if (single !== 'PUT' && single !== 'POST') throw new TypeError(`singleUpload must be 'PUT' or 'POST', got ${String(single)}`);
  const threshold = options.multipartThreshold ?? 2 * DEFAULT_PART_BYTES;
  const expires = options.expiresIn === undefined ? {} : { expiresIn: options.expiresIn };
  const integrity = options.integrity === undefined || options.integrity === 'none' ? undefined : options.integrity;
  if (integrity !== undefined && integrity !== 'sha256' && integrity !== 'crc32c') {
    throw new TypeError(`brokerUppy: integrity must be sha256, crc32c or none (browsers cannot compute md5), got ${String(options.integrity)}`);
  }
  /** The files' bytes (Uppy's file.data) by key and by upload id: under integrity each checksum is computed from them. */
  const dataByKey = new Map<string, Blob>();
  const dataByUpload = new Map<string, Blob>();
  function checksumOf(data: Blob | undefined, start: number, end: number): Promise<string> {
    if (!data) {
      return Promise.reject(new Error('brokerUppy: the upload contract needs a checksum, computed from the file\'s bytes (Uppy\'s file.data Blob), which this file lacks'));
    }
    return computeChecksum(integrity!, data.slice(start, end), true);
  }

  /**
   * Files by the key generateObjectKey gave them: signRequest learns a file's size and type from its key. Kept
   * after use: Uppy signs the same key again when a paused or failed single upload is resumed or retried.
   */
  const files = new Map<string, { size: number; type: string; fingerprint: string }>();
  /** Multipart uploads by upload id (mirrored in storage). */
  const uploads = new Map<string, SavedUpload>();
  /** Part URLs fetched ahead, by upload id and part number. */
  const partUrls = new Map<string, { url: string; headers: Record<string, string>; expiresAtMs: number }>();

  function readStored(): SavedUpload[] {
    if (!storage) return [];
    try {
      const parsed = JSON.parse(storage.getItem(STORAGE_KEY) ?? '[]') as unknown;
      return Array.isArray(parsed) ? (parsed as SavedUpload[]).filter((u) => u && typeof u.uploadId === 'string') : [];
    } catch {
      return [];
    }
  }
  function writeStored(list: SavedUpload[]): void {
    if (!storage) return;
    try {
      storage.setItem(STORAGE_KEY, JSON.stringify(list.slice(-MAX_SAVED)));
    } catch { /* storage full or disabled: resuming after a reload is then not possible, uploading still is */ }
  }
  function save(upload: SavedUpload): void {
    uploads.set(upload.uploadId, upload);
    writeStored([...readStored().filter((u) => u.uploadId !== upload.uploadId && u.fingerprint !== upload.fingerprint), upload]);
  }
  function forget(uploadId: string): void {
    uploads.delete(uploadId);
    for (const k of [...partUrls.keys()]) if (k.startsWith(`${uploadId}\n`)) partUrls.delete(k);
    const list = readStored();
    if (list.some((u) => u.uploadId === uploadId)) writeStored(list.filter((u) => u.uploadId !== uploadId));
  }
  function uploadFor(request: { key: string; uploadId: string }): SavedUpload {
    const found = uploads.get(request.uploadId) ?? readStored().find((u) => u.uploadId === request.uploadId);
    if (!found) {
      throw new Error(
        `brokerUppy: no declaration saved for upload ${request.uploadId} (the broker needs the size and part size sent at create); `
        + 'was it started by another browser, or was the storage cleared?',
      );
    }
    if (found.key !== request.key) throw new Error(`brokerUppy: upload ${request.uploadId} is for key ${JSON.stringify(found.key)}, not ${JSON.stringify(request.key)}`);
    uploads.set(found.uploadId, found);
    return found;
  }
  function fileFor(key: string): { size: number; type: string; fingerprint: string } {
    const file = files.get(key);
    if (!file) {
      throw new Error(`brokerUppy: unknown key ${JSON.stringify(key)}: keys must come from awsS3Options.generateObjectKey (pass keyFor to choose them)`);
    }
    return file;
  }

  async function putObject(request: { key: string; contentType?: string }): Promise<UppySignedRequest> {
    const file = fileFor(request.key);
    // the broker maps an empty type (what browsers give unknown files) to application/octet-stream when the grant allows it
    const contentType = file.type || request.contentType || '';
    if (single === 'POST') {
      const checksum = integrity === undefined ? {} : { checksum: { algorithm: integrity, value: await checksumOf(dataByKey.get(request.key), 0, file.size) } };
      const presigned = await transport.call('presignUpload', { body: { method: 'POST', key: request.key, contentType, ...expires, ...checksum } });
      if (presigned.method !== 'POST') throw new Error('brokerUppy: the broker answered a POST presign with a PUT');
      return { url: presigned.url, fields: presigned.fields, key: presigned.key };
    }
    const checksum = integrity === undefined ? {} : { checksum: { algorithm: integrity, value: await checksumOf(dataByKey.get(request.key), 0, file.size) } };
    const presigned = await transport.call('presignUpload', {
      body: { method: 'PUT', key: request.key, contentType, contentLength: file.size, ...expires, ...checksum },
    });
    if (presigned.method !== 'PUT') throw new Error('brokerUppy: the broker answered a PUT presign with a POST');
    return { url: presigned.url, headers: headersToSend(presigned.headers, true), key: presigned.key };
  }

  async function createMultipart(request: { key: string }): Promise<UppySignedRequest> {
    const file = fileFor(request.key);
    const partSize = brokerPartSize(file.size);
    const created = await transport.call('createMultipartUpload', {
      body: { key: request.key, contentType: file.type, contentLength: file.size, partSize },
    });
    if (created.partSize !== partSize) {
      // Uppy cuts the file in getChunkSize's parts; a part of another length would fail its signature
      throw new Error(`brokerUppy: the broker planned parts of ${created.partSize} bytes, Uppy cuts ${partSize}`);
    }
    const data = dataByKey.get(request.key);
    if (data) dataByUpload.set(created.uploadId, data);
    save({
      uploadId: created.uploadId, key: created.key, relativeKey: created.relativeKey, contentLength: file.size, partSize,
      contentType: file.type, fingerprint: file.fingerprint, savedAt: Date.now(),
    });
    return {
      url: xmlAnswer(`<InitiateMultipartUploadResult><Key>${escapeXml(created.key)}</Key><UploadId>${escapeXml(created.uploadId)}</UploadId></InitiateMultipartUploadResult>`),
      key: created.key,
    };
  }

  async function uploadPart(request: { key: string; uploadId: string; partNumber: number }): Promise<UppySignedRequest> {
    const upload = uploadFor(request);
    const n = request.partNumber;
    const partCount = Math.ceil(upload.contentLength / upload.partSize);
    const id = (m: number) => `${upload.uploadId}\n${m}`;
    let cached = partUrls.get(id(n));
    partUrls.delete(id(n));
    if (!cached || cached.expiresAtMs - Date.now() < URL_MARGIN_MS) {
      const numbers: number[] = [];
      for (let m = n; m <= partCount && numbers.length < PART_URL_BATCH; m++) numbers.push(m);
      const partChecksums = integrity === undefined ? {} : {
        checksums: await Promise.all(numbers.map((m) => checksumOf(dataByUpload.get(upload.uploadId), (m - 1) * upload.partSize, Math.min(m * upload.partSize, upload.contentLength)))),
      };
      const answer = await transport.call('presignMultipartParts', {
        body: { key: upload.relativeKey, uploadId: upload.uploadId, partNumbers: numbers, contentLength: upload.contentLength, partSize: upload.partSize, ...expires, ...partChecksums },
      });
      for (const p of answer.parts) partUrls.set(id(p.partNumber), { url: p.url, headers: p.headers, expiresAtMs: Date.parse(p.expiresAt) });
      cached = partUrls.get(id(n));
      partUrls.delete(id(n));
      if (!cached) throw new Error(`brokerUppy: the broker returned no URL for part ${n}`);
    }
    if (upload.location === undefined) {
      const location = cached.url.split('?')[0];
      if (location) save({ ...upload, location });
    }
    return { url: cached.url, headers: headersToSend(cached.headers, true) };
  }

  async function listed(upload: SavedUpload) {
    const answer = await transport.call('listMultipartParts', { body: { key: upload.relativeKey, uploadId: upload.uploadId } });
    const partCount = Math.ceil(upload.contentLength / upload.partSize);
    const expected = (n: number) => (n < partCount ? upload.partSize : upload.contentLength - upload.partSize * (partCount - 1));
    // a part of the wrong length (another plan) is left out, so Uppy sends it again
    return answer.parts.filter((p) => p.partNumber >= 1 && p.partNumber <= partCount && p.size === expected(p.partNumber));
  }

  async function listParts(request: { key: string; uploadId: string }): Promise<UppySignedRequest> {
    const parts = await listed(uploadFor(request));
    const xml = parts.map((p) => `<Part><PartNumber>${p.partNumber}</PartNumber><ETag>${escapeXml(p.etag)}</ETag><Size>${p.size}</Size></Part>`).join('');
    return { url: xmlAnswer(`<ListPartsResult>${xml}</ListPartsResult>`) };
  }

  async function complete(request: { key: string; uploadId: string }): Promise<UppySignedRequest> {
    const upload = uploadFor(request);
    const parts = await Promise.all((await listed(upload)).map(async (p) => ({
      partNumber: p.partNumber,
      etag: p.etag,
      ...(integrity === undefined ? {} : {
        checksum: await checksumOf(dataByUpload.get(upload.uploadId), (p.partNumber - 1) * upload.partSize, Math.min(p.partNumber * upload.partSize, upload.contentLength)),
      }),
    })));
    const done = await transport.call('completeMultipartUpload', {
      body: { key: upload.relativeKey, uploadId: upload.uploadId, contentLength: upload.contentLength, partSize: upload.partSize, parts },
    });
    forget(upload.uploadId);
    dataByUpload.delete(upload.uploadId);
    const location = upload.location ?? done.key;
    return {
      url: xmlAnswer(
        `<CompleteMultipartUploadResult><Location>${escapeXml(location)}</Location><Key>${escapeXml(done.key)}</Key>`
        + `<ETag>${escapeXml(done.etag)}</ETag></CompleteMultipartUploadResult>`,
      ),
    };
  }

  async function abort(request: { key: string; uploadId: string }): Promise<UppySignedRequest> {
    const upload = uploadFor(request);
    await transport.call('abortMultipartUpload', { body: { key: upload.relativeKey, uploadId: upload.uploadId } });
    forget(upload.uploadId);
    dataByUpload.delete(upload.uploadId);
    return { url: xmlAnswer('<AbortMultipartUploadResult/>') };
  }

  const awsS3Options: BrokerAwsS3Options = {
    async signRequest(request) {
      if (!request || typeof request.key !== 'string') throw new TypeError('brokerUppy: signRequest needs a request with a key');
      const r = request as { method: string; key: string; uploadId?: string; partNumber?: number; contentType?: string };
      if (r.method === 'PUT' && r.uploadId === undefined) return putObject(r);
      if (r.method === 'PUT' && r.uploadId !== undefined && typeof r.partNumber === 'number') return uploadPart({ key: r.key, uploadId: r.uploadId, partNumber: r.partNumber });
      if (r.method === 'POST' && r.uploadId === undefined) return createMultipart(r);
      if (r.method === 'POST' && r.uploadId !== undefined) return complete({ key: r.key, uploadId: r.uploadId });
      if (r.method === 'GET' && r.uploadId !== undefined) return listParts({ key: r.key, uploadId: r.uploadId });
      if (r.method === 'DELETE' && r.uploadId !== undefined) return abort({ key: r.key, uploadId: r.uploadId });
      if (r.method === 'DELETE') throw new Error('brokerUppy: the broker does not delete objects through Uppy (ask for delete credentials instead)');
      throw new TypeError(`brokerUppy: unsupported request ${r.method} ${JSON.stringify(r.key)}`);
    },
    getChunkSize: (file) => brokerPartSize(file.size),
    shouldUseMultipart: (file) => (typeof threshold === 'function' ? threshold(file) : (file.size ?? 0) > threshold),
    generateObjectKey(file) {
      const size = file.size ?? 0;
      const type = file.type ?? '';
      const key = options.keyFor ? options.keyFor(file) : `${randomId()}-${file.name ?? 'file'}`;
      if (typeof key !== 'string' || key === '') throw new TypeError('brokerUppy: keyFor must return a non-empty key');
      files.set(key, { size, type, fingerprint: fingerprintOf(file, size, type) });
      if (integrity !== undefined && file.data instanceof Blob) dataByKey.set(key, file.data);
      return key;
    },
  };

  return {
    awsS3Options,
    restore(uppy, file) {
      if (file.s3Multipart) return false;
      const size = file.size ?? 0;
      const fingerprint = fingerprintOf(file, size, file.type ?? '');
      const found = readStored().find((u) => u.fingerprint === fingerprint && u.contentLength === size);
      if (!found) return false;
      uploads.set(found.uploadId, found);
      if (integrity !== undefined && file.data instanceof Blob) dataByUpload.set(found.uploadId, file.data);
      uppy.setFileState(file.id, { s3Multipart: { uploadId: found.uploadId, key: found.key } });
      return true;
    },
    saved: () => readStored(),
    forget,
  };
}
