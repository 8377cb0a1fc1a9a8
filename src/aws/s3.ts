import { GetObjectCommand, PutObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { MAX_PRESIGN_SECONDS, MIN_PRESIGN_SECONDS } from './limits.js';
import type { Clock, PresignBase, Presigner, S3Target, TemporaryCredentials } from '../ports.js';

export interface S3PresignerOptions {
  /** Signing time source (ms since the epoch); default Date.now. The route's expiresAt should use the same clock. */
  clock?: Clock;
}

/** Headers a PUT URL signs besides host: the client must send exactly these values. */
const PUT_SIGNED_HEADERS = new Set(['content-type', 'content-length']);

/**
 * Presigns S3 requests with the caller's session credentials. Presigning is local computation: no
 * request leaves the process.
 *
 * Why a short-lived S3Client per call: getSignedUrl and createPresignedPost take the signing
 * credentials from `client.config.credentials` only (no per-call override), and the SDK memoizes a
 * credentials provider until shortly before expiry, so one shared client cannot sign for many
 * sessions, and a client cached per credential set grows with callers. A client that never sends
 * holds no sockets and is garbage once the URL exists; measured here, it adds well under a
 * millisecond per URL once the settings the SDK would otherwise load from the environment and
 * ~/.aws files for every new client are pinned (see `clientConfig`).
 */
export class S3Presigner implements Presigner {
  private readonly clock: Clock;

  constructor(options: S3PresignerOptions = {}) {
    this.clock = options.clock ?? Date.now;
  }

  /** PUT URL signing Content-Type and Content-Length, so the size limit binds. */
  async presignPut(input: PresignBase & { contentType: string; contentLength: number }): Promise<{ url: string; headers: Record<string, string> }> {
    assertExpiry(input.expiresInSeconds);
    if (!Number.isSafeInteger(input.contentLength) || input.contentLength < 0) throw new TypeError('contentLength must be a non-negative integer');
    const command = new PutObjectCommand({
      Bucket: input.target.bucket,
      Key: input.key,
      ContentType: input.contentType,
      ContentLength: input.contentLength,
    });
    // The presigner treats content-type as unsignable by default; signableHeaders overrides that.
    const url = await getSignedUrl(this.client(input.target, input.credentials), command, {
      expiresIn: input.expiresInSeconds,
      signableHeaders: PUT_SIGNED_HEADERS,
      signingDate: new Date(this.clock()),
    });
    return { url, headers: { 'Content-Type': input.contentType, 'Content-Length': String(input.contentLength) } };
  }

  /** GET URL; `contentDisposition` is signed as response-content-disposition. */
  async presignGet(input: PresignBase & { contentDisposition?: string }): Promise<{ url: string }> {
    assertExpiry(input.expiresInSeconds);
    const command = new GetObjectCommand({
      Bucket: input.target.bucket,
      Key: input.key,
      ...(input.contentDisposition === undefined ? {} : { ResponseContentDisposition: input.contentDisposition }),
    });
    const url = await getSignedUrl(this.client(input.target, input.credentials), command, {
      expiresIn: input.expiresInSeconds,
      signingDate: new Date(this.clock()),
    });
    return { url };
  }

  /** Browser form upload whose policy pins key, Content-Type, bucket and 1..maxBytes; carries the session token. */
  async presignPost(input: PresignBase & { contentType: string; maxBytes: number }): Promise<{ url: string; fields: Record<string, string> }> {
    assertExpiry(input.expiresInSeconds);
    if (!Number.isSafeInteger(input.maxBytes) || input.maxBytes < 1) throw new TypeError('maxBytes must be a positive integer');
    // createPresignedPost adds the signing fields (and X-Amz-Security-Token for session credentials)
    // to both the form and the policy conditions itself.
    return createPresignedPost(this.client(input.target, input.credentials), {
      Bucket: input.target.bucket,
      Key: input.key,
      Conditions: [
        ['eq', '$key', input.key],
        ['eq', '$Content-Type', input.contentType],
        { bucket: input.target.bucket },
        ['content-length-range', 1, input.maxBytes],
      ],
      Fields: { 'Content-Type': input.contentType },
      Expires: input.expiresInSeconds,
    });
  }

  private client(target: S3Target, credentials: TemporaryCredentials): S3Client {
    return new S3Client(clientConfig(target, credentials, this.clock() - Date.now()));
  }
}

/** Configuration of one presigning client; everything that shapes the URL is explicit. */
function clientConfig(target: S3Target, credentials: TemporaryCredentials, systemClockOffset: number): S3ClientConfig {
  return {
    region: target.region,
    ...(target.endpoint === undefined ? {} : { endpoint: target.endpoint }),
    forcePathStyle: target.forcePathStyle,
    credentials: {
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      sessionToken: credentials.sessionToken,
      expiration: credentials.expiration,
    },
    // The local gateway refuses flexible checksums on streaming PUTs (411); real S3 accepts either.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // Only createPresignedPost reads it (getSignedUrl gets an explicit signingDate): keeps POST on our clock.
    systemClockOffset,
    // Pinned so the URL never depends on ambient AWS_* variables or ~/.aws/config (and so each new
    // client skips those loaders, which cost more than the presign itself).
    useFipsEndpoint: false,
    useDualstackEndpoint: false,
    useArnRegion: false,
    disableS3ExpressSessionAuth: true,
    disableMultiregionAccessPoints: true,
    sigv4aSigningRegionSet: [],
    authSchemePreference: [],
    defaultsMode: 'standard',
    retryMode: 'standard',
    maxAttempts: 1,
  };
}

function assertExpiry(seconds: number): void {
  if (!Number.isInteger(seconds) || seconds < MIN_PRESIGN_SECONDS || seconds > MAX_PRESIGN_SECONDS) {
    throw new TypeError(`expiresInSeconds must be an integer in ${MIN_PRESIGN_SECONDS}..${MAX_PRESIGN_SECONDS}`);
  }
}
