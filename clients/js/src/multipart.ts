import { computeChecksum, type ChecksumAlgorithm } from './checksum.js';
import { S3Error } from './errors.js';
import { abortReason, isAbortError, isRetryable, sleep, withRetry } from './retry.js';
import { missingEtag, putToS3, sizeOf, slice, type UploadBody } from './s3.js';
import type { Transport } from './transport.js';

/** What it takes to resume a multipart upload later (persist it as JSON, e.g. in localStorage or a file). */
export interface MultipartState {
  /** The key as the caller gave it (relative to the grant's prefix): the multipart routes take it this way. */
  key: string;
  uploadId: string;
  partSize: number;
  /** The whole object's size declared at create; a resume with a file of another size is refused. */
  contentLength: number;
  /** Parts S3 has accepted, with the ETag each PUT answered. */
  parts: MultipartPartState[];
}

export interface MultipartPartState {
  partNumber: number;
  etag: string;
  size: number;
}

export interface MultipartOptions {
  /** Object key relative to the grant's prefix. */
  key: string;
  /** Media type, one of the grant's contentTypes. */
  contentType: string;
  /** Bytes per part (5 MiB to 5 GiB); the broker picks 8 MiB, or what keeps the upload within 10000 parts, when absent. */
  partSize?: number;
  /** Part PUTs in flight at once (default 4). */
  concurrency?: number;
  /** Aborting stops the upload: in-flight part PUTs are cancelled and no further part is sent. */
  signal?: AbortSignal;
  /** Called after each accepted part with the bytes S3 holds so far and the total. */
  onProgress?: (bytesSent: number, total: number) => void;
  /** Called with a fresh copy of the resumable state after create and after each accepted part: persist it to resume. */
  onState?: (state: MultipartState) => void;
  /** A state saved from an earlier attempt: only the parts it lacks are sent. */
  resume?: MultipartState;
  /**
   * With `resume`: ask the broker which parts S3 holds (POST /v1/uploads/multipart/list) instead of trusting
   * `resume.parts`, so a state saved right after create (say before a page reload) is enough to resume.
   */
  resumeFromListing?: boolean;
  /**
   * On failure or abort, leave the S3 upload open so it can be resumed from the last state (default: false, unless
   * `resume` or `onState` is given). When false, the client aborts the upload (S3 frees its parts) before throwing.
   */
  keepOnFailure?: boolean;
  /** Requested lifetime of each part URL in seconds (broker default 300); URLs are asked for just in time anyway. */
  expiresIn?: number;
}

export interface MultipartResult {
  /** The full key (with the grant's prefix). */
  key: string;
  etag: string;
  /** The final state (every part), e.g. to log. */
  state: MultipartState;
}

interface PartUrl {
  url: string;
  headers: Record<string, string>;
  expiresAtMs: number;
}

/** A URL is not used with less than this much life left. */
const URL_MARGIN_MS = 30_000;
const MAX_URLS_PER_CALL = 100;

function cloneState(state: MultipartState): MultipartState {
  return { ...state, parts: state.parts.map((p) => ({ ...p })) };
}

function linkSignal(controller: AbortController, signal: AbortSignal | undefined): () => void {
  if (!signal) return () => {};
  if (signal.aborted) {
    controller.abort(abortReason(signal));
    return () => {};
  }
  const onAbort = () => controller.abort(abortReason(signal));
  signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}

export async function uploadMultipart(
  transport: Transport,
  browser: boolean,
  file: UploadBody,
  options: MultipartOptions,
  integrity?: ChecksumAlgorithm,
): Promise<MultipartResult> {
  const total = sizeOf(file);
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 4));
  const signal = options.signal;
  const keep = options.keepOnFailure ?? (options.resume !== undefined || options.onState !== undefined);
  if (signal?.aborted) throw abortReason(signal);

  let state: MultipartState;
  if (options.resume) {
    const saved = options.resume;
    if (saved.key !== options.key) throw new TypeError(`resume state is for key ${JSON.stringify(saved.key)}, not ${JSON.stringify(options.key)}`);
    if (saved.contentLength !== undefined && saved.contentLength !== total) {
      throw new TypeError(`resume state declares ${saved.contentLength} bytes but the file has ${total}`);
    }
    state = cloneState({ ...saved, contentLength: total });
    if (options.resumeFromListing) {
      const listed = await transport.call('listMultipartParts', { body: { key: state.key, uploadId: state.uploadId }, signal });
      state.parts = listed.parts.map((p) => ({ partNumber: p.partNumber, etag: p.etag, size: p.size }));
    }
  } else {
    const created = await transport.call('createMultipartUpload', {
      body: { key: options.key, contentType: options.contentType, contentLength: total, ...(options.partSize === undefined ? {} : { partSize: options.partSize }) },
      signal,
    });
    state = { key: options.key, uploadId: created.uploadId, partSize: created.partSize, contentLength: total, parts: [] };
    options.onState?.(cloneState(state));
  }

  const { partSize, uploadId } = state;
  const partCount = Math.max(1, Math.ceil(total / partSize));
  const sizeOfPart = (n: number) => (n < partCount ? partSize : total - partSize * (partCount - 1));

  // parts already accepted (with the right size) are kept; any other entry is dropped and sent again
  const done = new Map<number, MultipartPartState>();
  for (const p of state.parts) {
    if (p.partNumber >= 1 && p.partNumber <= partCount && p.size === sizeOfPart(p.partNumber) && p.etag) done.set(p.partNumber, p);
  }
  state.parts = [...done.values()];
  const pending: number[] = [];
  for (let n = 1; n <= partCount; n++) if (!done.has(n)) pending.push(n);

  let sent = [...done.values()].reduce((sum, p) => sum + p.size, 0);
  options.onProgress?.(sent, total);

  const controller = new AbortController();
  const unlink = linkSignal(controller, signal);
  const inner = controller.signal;

  // just-in-time part URLs: fetched in small batches for the next parts to send, never all at once
  const urls = new Map<number, PartUrl>();
  const inflight = new Map<number, Promise<void>>();
  const batchSize = Math.min(MAX_URLS_PER_CALL, concurrency * 2);

  // under an integrity contract each part URL signs that part's checksum, so it is computed before the URL is asked
  // for (once per part: a retry with a fresh URL reuses it); sha256/crc32c ones are also sent again on complete
  const checksums = new Map<number, Promise<string>>();
  function checksumOf(n: number, algorithm: ChecksumAlgorithm): Promise<string> {
    let known = checksums.get(n);
    if (!known) {
      const start = (n - 1) * partSize;
      known = computeChecksum(algorithm, slice(file, start, start + sizeOfPart(n)), browser);
      known.catch(() => checksums.delete(n));
      checksums.set(n, known);
    }
    return known;
  }

  async function fetchUrls(numbers: number[]): Promise<void> {
    const promise = (async () => {
      const declared = integrity === undefined ? {} : { checksums: await Promise.all(numbers.map((n) => checksumOf(n, integrity))) };
      const answer = await transport.call('presignMultipartParts', {
        body: {
          key: state.key, uploadId, partNumbers: numbers, contentLength: total, partSize,
          ...(options.expiresIn === undefined ? {} : { expiresIn: options.expiresIn }),
          ...declared,
        },
        signal: inner,
      });
      for (const p of answer.parts) {
        urls.set(p.partNumber, { url: p.url, headers: p.headers, expiresAtMs: Date.parse(p.expiresAt) });
      }
    })();
    for (const n of numbers) inflight.set(n, promise);
    try {
      await promise;
    } finally {
      for (const n of numbers) if (inflight.get(n) === promise) inflight.delete(n);
    }
  }

  async function urlFor(n: number): Promise<PartUrl> {
    for (let round = 0; ; round++) {
      const cached = urls.get(n);
      if (cached && cached.expiresAtMs - Date.now() > URL_MARGIN_MS) {
        urls.delete(n);
        return cached;
      }
      urls.delete(n);
      const waiting = inflight.get(n);
      if (waiting && round === 0) {
        await waiting;
        continue;
      }
      const fresh = (m: number) => !inflight.has(m) && !(urls.get(m) && urls.get(m)!.expiresAtMs - Date.now() > URL_MARGIN_MS);
      const batch = [n, ...pending.filter(fresh).slice(0, batchSize - 1)];
      await fetchUrls(batch);
      const got = urls.get(n);
      if (!got) throw new TypeError(`the broker returned no URL for part ${n}`);
      urls.delete(n);
      return got;
    }
  }

  async function sendPart(n: number): Promise<void> {
    const start = (n - 1) * partSize;
    const body = slice(file, start, start + sizeOfPart(n));
    const etag = await withRetry(
      async () => {
        const url = await urlFor(n);
        const tag = await putToS3(transport.fetch, url.url, url.headers, body, { browser, signal: inner, partNumber: n });
        if (!tag) throw missingEtag(n);
        return tag;
      },
      {
        retry: transport.retry,
        idempotent: true,
        signal: inner,
        // a part PUT is idempotent: retry network errors and S3's 5xx (with a fresh URL), never 4xx but 429
        retryable: (error) => (error instanceof S3Error ? error.status >= 500 || error.status === 429 : isRetryable(error, true)),
      },
    );
    const part = { partNumber: n, etag, size: sizeOfPart(n) };
    done.set(n, part);
    state.parts.push(part);
    sent += part.size;
    options.onProgress?.(sent, total);
    options.onState?.(cloneState(state));
  }

  let failure: { error: unknown } | undefined;
  async function worker(): Promise<void> {
    while (!failure && !inner.aborted) {
      const n = pending.shift();
      if (n === undefined) return;
      try {
        await sendPart(n);
      } catch (error) {
        if (!failure) failure = { error: inner.aborted && signal?.aborted ? abortReason(signal) : error };
        // stop every other in-flight part at once
        if (!inner.aborted) controller.abort(error);
        return;
      }
    }
  }

  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(1, pending.length)) }, () => worker()));
    if (!failure && signal?.aborted) failure = { error: abortReason(signal) };
    if (failure) throw failure.error;

    // S3 records sha256/crc32c part checksums and the broker compares the ones sent here (a resumed part's is
    // computed from the file now); md5 is no S3 part checksum, so Content-MD5 only guards each part's PUT
    const completeWith = integrity === 'sha256' || integrity === 'crc32c' ? integrity : undefined;
    const parts = await Promise.all([...done.values()].sort((a, b) => a.partNumber - b.partNumber).map(async (p) => ({
      partNumber: p.partNumber,
      etag: p.etag,
      ...(completeWith === undefined ? {} : { checksum: await checksumOf(p.partNumber, completeWith) }),
    })));
    const completed = await transport.call('completeMultipartUpload', {
      body: { key: state.key, uploadId, contentLength: total, partSize, parts },
      signal,
    });
    state.parts.sort((a, b) => a.partNumber - b.partNumber);
    return { key: completed.key, etag: completed.etag, state: cloneState(state) };
  } catch (error) {
    if (!keep) {
      // best effort, and not under the caller's (possibly aborted) signal
      await transport.call('abortMultipartUpload', { body: { key: state.key, uploadId } }).catch(() => undefined);
    }
    throw isAbortError(error) && signal?.aborted ? abortReason(signal) : error;
  } finally {
    unlink();
  }
}
