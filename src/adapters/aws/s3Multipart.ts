import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, ListPartsCommand, S3Client,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import {
  BrokerError, DeadlineExceededError, GrantViolationError, S3AccessDeniedError, S3UnavailableError, S3UpstreamError, UploadMismatchError, UploadNotFoundError,
} from '../../domain/errors.js';
import { currentDeadline, MIN_UPSTREAM_ATTEMPT_MS } from '../../ports/deadline.js';
import type { IntegrityAlgorithm, MultipartCall, UploadedPart, UploadTerms } from '../../domain/model.js';
import type { MultipartStore } from '../../ports/ports.js';
import { MAX_MULTIPART_PARTS } from '../../rules/limits.js';
import { clientConfig, commandFields } from './s3Presigner.js';
import { guardAttempts } from './sts.js';
import { isNetworkFailure, isThrottling, isTimeout, readFacts } from './stsErrors.js';

export interface S3MultipartStoreOptions {
  /** Per-attempt bound on connecting and on waiting for S3's answer. */
  timeoutMs: number;
  /** Total attempts including the first (the SDK's standard retry mode, jittered). */
  maxAttempts: number;
}

/**
 * What the multipart handlers wire: three attempts of at most 5 s each fit the functions' 29 s
 * timeout (serverless.yml) with room for STS. A completion's long assembly is not cut short: S3
 * keeps the connection alive while it works, and the timeout is per idle socket.
 */
export const MULTIPART_STORE_DEFAULTS: S3MultipartStoreOptions = { timeoutMs: 5000, maxAttempts: 3 };

/** S3's error codes that say the part list does not fit the upload: the client's problem, told plainly. */
const MISMATCH_NAMES = new Set(['InvalidPart', 'InvalidPartOrder', 'EntityTooSmall', 'EntityTooLarge', 'BadDigest', 'InvalidDigest']);
/** A write-once completion (If-None-Match: *) on a key that exists (412), or raced by another writer (409). */
const EXISTS_NAMES = new Set(['PreconditionFailed', 'ConditionalRequestConflict']);
/**
 * The operations on an existing upload: on an unknown or aborted upload AWS answers NoSuchUpload, and
 * Ceph RGW (the local gateway) NoSuchKey (docs/local-aws.md); both are the caller's 404 there.
 */
const UPLOAD_OPERATIONS = new Set(['ListParts', 'CompleteMultipartUpload', 'AbortMultipartUpload']);
const DENIED_NAMES = new Set(['AccessDenied', 'AllAccessDisabled']);
/** 403s about the signing session itself: a broker fault, not the partner's policy. */
const SESSION_NAMES = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken', 'InvalidToken', 'TokenRefreshRequired']);

/**
 * The multipart calls S3 makes the broker do itself (create, list, complete, abort), signed with the
 * caller's scoped session. Each call gets its own S3Client, for the reason given in ./s3.ts (the
 * credentials live on the client); unlike a presign, these clients do send, so they share one
 * keep-alive agent per protocol: a new client costs no new connection.
 */
export class S3MultipartStore implements MultipartStore {
  private readonly httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 50 });
  private readonly httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 50 });

  constructor(private readonly options: S3MultipartStoreOptions) {
    if (!Number.isInteger(options.timeoutMs) || options.timeoutMs <= 0) throw new TypeError('timeoutMs must be a positive integer');
    if (!Number.isInteger(options.maxAttempts) || options.maxAttempts < 1) throw new TypeError('maxAttempts must be an integer ≥ 1');
  }

  /**
   * CreateMultipartUpload with the object's Content-Type and the contract's tags, metadata and SSE;
   * a flexible-checksum contract names the upload's checksum algorithm, so S3 records (and
   * ListParts reports) each part's checksum. crc32c also sets ChecksumType FULL_OBJECT: S3 then
   * keeps a CRC32C of the whole object (not one of the parts' checksums) and verifies the one a
   * completion declares. SHA-256 can only be COMPOSITE for multipart, so sha256 stays per part.
   * If-None-Match belongs to the completion, not here.
   */
  async create(input: MultipartCall & { contentType: string; terms?: UploadTerms | undefined; checksumAlgorithm?: IntegrityAlgorithm | undefined }): Promise<{ uploadId: string }> {
    const { IfNoneMatch: _ifNoneMatch, ContentMD5: _md5, ChecksumSHA256: _sha, ChecksumCRC32C: _crc, ...fields } = commandFields(input.terms);
    const algorithm = input.checksumAlgorithm;
    const out = await this.send(input, 'CreateMultipartUpload', (s3, o) => s3.send(new CreateMultipartUploadCommand({
      Bucket: input.target.bucket, Key: input.key, ContentType: input.contentType, ...fields,
      ...(algorithm === 'sha256' ? { ChecksumAlgorithm: 'SHA256' } : algorithm === 'crc32c' ? { ChecksumAlgorithm: 'CRC32C', ChecksumType: 'FULL_OBJECT' } : {}),
    }), o));
    if (typeof out.UploadId !== 'string' || out.UploadId === '') throw new S3UpstreamError('S3 answered CreateMultipartUpload without an UploadId');
    return { uploadId: out.UploadId };
  }

  /** Every part S3 holds for the upload, following ListParts' pages (1000 parts each). */
  async listParts(input: MultipartCall & { uploadId: string }): Promise<UploadedPart[]> {
    const parts: UploadedPart[] = [];
    let marker: string | undefined;
    // 10000 parts at ≥ 1 per page bounds the loop even if S3 kept answering IsTruncated.
    for (let page = 0; page <= MAX_MULTIPART_PARTS; page++) {
      const out = await this.send(input, 'ListParts', (s3, o) => s3.send(new ListPartsCommand({
        Bucket: input.target.bucket, Key: input.key, UploadId: input.uploadId, ...(marker === undefined ? {} : { PartNumberMarker: marker }),
      }), o));
      for (const p of out.Parts ?? []) {
        if (typeof p.PartNumber !== 'number' || typeof p.Size !== 'number' || typeof p.ETag !== 'string') {
          throw new S3UpstreamError('S3 answered ListParts with an incomplete part');
        }
        const checksum = p.ChecksumSHA256 ?? p.ChecksumCRC32C;
        parts.push({ partNumber: p.PartNumber, size: p.Size, etag: p.ETag, ...(checksum === undefined ? {} : { checksum }) });
      }
      const next = out.NextPartNumberMarker;
      if (out.IsTruncated !== true || next === undefined || next === marker) break;
      marker = next;
    }
    return parts.sort((a, b) => a.partNumber - b.partNumber);
  }

  /**
   * CompleteMultipartUpload with exactly `parts`, ascending (with their checksums), If-None-Match: *
   * when write-once, and the whole object's declared CRC32C with ChecksumType FULL_OBJECT (the type
   * create set), which S3 compares with the CRC32C it computes over the assembled object.
   */
  async complete(input: MultipartCall & {
    uploadId: string;
    parts: ReadonlyArray<{ partNumber: number; etag: string; checksum?: string | undefined }>;
    checksumAlgorithm?: 'sha256' | 'crc32c' | undefined;
    fullObjectCrc32c?: string | undefined;
    noOverwrite?: boolean | undefined;
  }): Promise<{ etag: string }> {
    const field = input.checksumAlgorithm === 'sha256' ? 'ChecksumSHA256' : input.checksumAlgorithm === 'crc32c' ? 'ChecksumCRC32C' : undefined;
    const parts = [...input.parts].sort((a, b) => a.partNumber - b.partNumber).map((p) => ({
      PartNumber: p.partNumber, ETag: p.etag, ...(field === undefined || p.checksum === undefined ? {} : { [field]: p.checksum }),
    }));
    const out = await this.send(input, 'CompleteMultipartUpload', (s3, o) => s3.send(new CompleteMultipartUploadCommand({
      Bucket: input.target.bucket, Key: input.key, UploadId: input.uploadId, MultipartUpload: { Parts: parts },
      ...(input.noOverwrite === true ? { IfNoneMatch: '*' } : {}),
      ...(input.fullObjectCrc32c === undefined ? {} : { ChecksumCRC32C: input.fullObjectCrc32c, ChecksumType: 'FULL_OBJECT' as const }),
    }), o));
    // The object exists now: a missing ETag must not turn success into an error (a retry would only
    // find NoSuchUpload). Ceph RGW 16 answers `<ETag></ETag>`; its stored ETag, like S3's, is the
    // multipart convention computed below (the e2e suite checks it against the owner's listing).
    return { etag: typeof out.ETag === 'string' && out.ETag !== '' ? out.ETag : multipartEtag(parts.map((p) => p.ETag)) };
  }

  /** AbortMultipartUpload. */
  async abort(input: MultipartCall & { uploadId: string }): Promise<void> {
    await this.send(input, 'AbortMultipartUpload', (s3, o) =>
      s3.send(new AbortMultipartUploadCommand({ Bucket: input.target.bucket, Key: input.key, UploadId: input.uploadId }), o));
  }

  /**
   * One S3 call within the request deadline (if any): refused before it starts when too little time
   * is left, aborted (retries and backoff included) when the deadline passes; both are 504
   * deadline_exceeded, never a 500 from Lambda's own timeout.
   */
  private async send<T>(call: MultipartCall, operation: string, fn: (s3: S3Client, options: { abortSignal?: AbortSignal }) => Promise<T>): Promise<T> {
    const deadline = currentDeadline();
    const outOfTime = (cause?: unknown) => new DeadlineExceededError(`S3 ${operation} did not finish within the request's time budget`, { cause });
    if (deadline !== undefined && deadline.remainingMs() < MIN_UPSTREAM_ATTEMPT_MS) throw outOfTime();
    try {
      return await fn(this.client(call), deadline === undefined ? {} : { abortSignal: deadline.signal });
    } catch (err) {
      if (err instanceof DeadlineExceededError || (deadline !== undefined && deadline.remainingMs() < MIN_UPSTREAM_ATTEMPT_MS)) throw outOfTime(err);
      throw mapS3Error(err, operation);
    }
  }

  private client({ target, credentials }: MultipartCall): S3Client {
    const client = new S3Client({
      ...clientConfig(target, credentials, 0),
      maxAttempts: this.options.maxAttempts,
      retryMode: 'standard',
      // The options-object form builds the SDK's own NodeHttpHandler (see ./sts.ts) around the shared agents.
      requestHandler: {
        httpAgent: this.httpAgent,
        httpsAgent: this.httpsAgent,
        connectionTimeout: this.options.timeoutMs,
        requestTimeout: this.options.timeoutMs,
        throwOnRequestTimeout: true,
      },
    });
    guardAttempts(client);
    return client;
  }
}

/**
 * S3's ETag for a multipart object: the MD5 of the parts' binary MD5s, then "-" and the part count,
 * quoted. Empty when a part's ETag is not a plain MD5 (SSE-KMS or SSE-C objects), where no rule applies.
 */
export function multipartEtag(partEtags: readonly string[]): string {
  const digests = partEtags.map((e) => e.replace(/^"(.*)"$/, '$1'));
  if (digests.length === 0 || !digests.every((d) => /^[0-9a-f]{32}$/i.test(d))) return '';
  const md5 = createHash('md5').update(Buffer.concat(digests.map((d) => Buffer.from(d, 'hex')))).digest('hex');
  return `"${md5}-${digests.length}"`;
}

/** Maps an S3 failure to a BrokerError; the SDK error stays in `cause`, never in the message. */
export function mapS3Error(err: unknown, operation: string): BrokerError {
  if (err instanceof BrokerError) return err;
  const facts = readFacts(err);
  const cause = { cause: err };
  if (facts.name === 'NoSuchUpload' || (facts.name === 'NoSuchKey' && UPLOAD_OPERATIONS.has(operation))) {
    return new UploadNotFoundError('no such multipart upload for this key: it was never created, or was completed, aborted or expired', cause);
  }
  if (isTimeout(facts) || isNetworkFailure(facts)) return new S3UnavailableError(`S3 could not be reached for ${operation}`, { ...cause, retryAfterSeconds: 2 });
  if (isThrottling(facts) || facts.name === 'ServiceUnavailable' || facts.name === 'InternalError' || (facts.status !== undefined && facts.status >= 500)) {
    return new S3UnavailableError(`S3 is unavailable for ${operation}`, { ...cause, retryAfterSeconds: 2 });
  }
  if (EXISTS_NAMES.has(facts.name) || (operation === 'CompleteMultipartUpload' && (facts.status === 412 || facts.status === 409))) {
    return new GrantViolationError(
      'the key already exists (or another upload to it finished first), and this client\'s upload contract sets overwrite: false: S3 kept the existing object; '
      + 'abort this upload, or upload under another key', cause);
  }
  if (facts.name === 'BadDigest' && operation === 'CompleteMultipartUpload') {
    return new UploadMismatchError(
      'S3 refused the completion (BadDigest): the declared whole-object checksum, or a part\'s checksum, does not match the uploaded bytes; '
      + 'check the checksum against the file, upload any changed parts again and retry', cause);
  }
  if (MISMATCH_NAMES.has(facts.name)) {
    return new UploadMismatchError(`S3 refused the part list (${facts.name}): upload the listed parts again and retry`, cause);
  }
  if (SESSION_NAMES.has(facts.name)) return new S3UpstreamError(`S3 refused the signing session for ${operation} (${facts.name})`, cause);
  if (DENIED_NAMES.has(facts.name) || facts.status === 403) {
    return new S3AccessDeniedError(`S3 denied ${operation} for this key: the partner's role or bucket policy does not allow it`, cause);
  }
  return new S3UpstreamError(`S3 rejected ${operation} (${facts.name})`, cause);
}
