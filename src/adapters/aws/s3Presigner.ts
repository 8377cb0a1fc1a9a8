import type { S3ClientConfig } from '@aws-sdk/client-s3';
import { MAX_MULTIPART_PARTS, MAX_PART_BYTES, MAX_PRESIGN_SECONDS, MIN_PRESIGN_SECONDS } from '../../rules/limits.js';
import type { DeclaredChecksum, PresignBase, UploadTerms } from '../../domain/model.js';
import type { Presigner } from '../../ports/ports.js';
import { CHECKSUM_HEADER, contractHeaders, taggingXml } from '../../rules/uploadContract.js';
import { SigV4Presigner, type PresignRequest } from './sigv4Presign.js';

/** Headers a PUT URL signs besides host: the client must send exactly these values. */
const PUT_SIGNED_HEADERS = new Set(['content-type', 'content-length']);
/** A part has no Content-Type of its own; its length is what binds the declared size. */
const PART_SIGNED_HEADERS = new Set(['content-length']);

/**
 * Presigns S3 requests with the caller's session credentials. Presigning is local computation: no
 * request leaves the process.
 *
 * PUT, part and GET URLs: ./sigv4Presign.ts, SignatureV4.presign's steps run synchronously with
 * the SDK's own canonicalisation pieces and a signing key derived once per session credentials
 * (dropped when the session expires or is replaced), over a request built as the S3 client
 * serializes it; the URLs are byte-identical to getSignedUrl's with the same settings
 * (test/property/presignEquivalence.property.test.ts). getSignedUrl itself needs a client per
 * session (it signs with `client.config.credentials` only) and spends ~10× the signature on client
 * construction and endpoint resolution per URL.
 *
 * POST forms: ./sigv4Post.ts through the same per-session state, fields and policy identical to
 * createPresignedPost's (test/property/presignPostEquivalence.property.test.ts). createPresignedPost
 * needs an S3Client per session too (credentials from the client) and signs at the client's clock
 * only, with no signing-date option; here the form is signed at `signingDate`, with a signing key
 * derived once per session, day and region.
 */
export class S3Presigner implements Presigner {
  /** URLs (PUT, part, GET) and forms come from one SigV4 signer per session, byte-identical to getSignedUrl's and createPresignedPost's (see ./sigv4Presign.ts). */
  constructor(private readonly signer: SigV4Presigner = new SigV4Presigner(clientConfig)) {}

  /**
   * PUT URL signing Content-Type and Content-Length, so the size limit binds, and every header of the
   * upload contract. The SDK presigner hoists x-amz-* headers (checksum, tagging, metadata, SSE) into
   * the query by default, where a client could simply leave them out (or, for metadata, send them
   * twice): `unhoistableHeaders` keeps each one a signed header the client must send with exactly
   * the returned value. The URL's X-Amz-SignedHeaders is checked against that list before it leaves.
   */
  async presignPut(input: PresignBase & { contentType: string; contentLength: number; terms?: UploadTerms | undefined }): Promise<{ url: string; headers: Record<string, string> }> {
    assertBase(input);
    if (!Number.isSafeInteger(input.contentLength) || input.contentLength < 0) throw new TypeError('contentLength must be a non-negative integer');
    const contract = contractHeaders(input.terms);
    const names = new Set([...PUT_SIGNED_HEADERS, ...Object.keys(contract)]);
    // The presigner treats content-type as unsignable by default; signableHeaders overrides that.
    const url = await this.signer.presignUrl(input.credentials, {
      operation: 'PutObject',
      target: input.target,
      key: input.key,
      headers: { 'content-type': input.contentType, 'content-length': String(input.contentLength), ...contract },
      signableHeaders: names,
      unhoistableHeaders: new Set(Object.keys(contract)),
      expiresInSeconds: input.expiresInSeconds,
      signingDate: input.signingDate,
    });
    assertSignedHeaders(url, names);
    return { url, headers: { 'Content-Type': input.contentType, 'Content-Length': String(input.contentLength), ...displayNames(contract) } };
  }

  /** PUT URL for one part of a multipart upload, signing its exact Content-Length and, when declared, its checksum (a header, never the query). */
  async presignUploadPart(input: PresignBase & { uploadId: string; partNumber: number; contentLength: number; checksum?: DeclaredChecksum | undefined }): Promise<{ url: string; headers: Record<string, string> }> {
    const [signed] = await this.presignUploadParts(Object.assign({}, input, { parts: [input] }));
    return signed!;
  }

  /**
   * Part URLs of one upload, in the order of `parts`: the base (credentials, target, key, expiry,
   * instant) checked once, the endpoint awaited at most once, then every URL signed synchronously
   * (./sigv4Presign.ts presignUrlNow): no promise per part. Each URL is the one presignUploadPart
   * returns for that part.
   */
  async presignUploadParts(input: PresignBase & { uploadId: string; parts: readonly { partNumber: number; contentLength: number; checksum?: DeclaredChecksum | undefined }[] }): Promise<{ url: string; headers: Record<string, string> }[]> {
    assertBase(input);
    if (input.uploadId === '') throw new TypeError('uploadId must not be empty');
    const requests = input.parts.map((part) => {
      if (!Number.isInteger(part.partNumber) || part.partNumber < 1 || part.partNumber > MAX_MULTIPART_PARTS) {
        throw new TypeError(`partNumber must be an integer in 1..${MAX_MULTIPART_PARTS}`);
      }
      if (!Number.isSafeInteger(part.contentLength) || part.contentLength < 1 || part.contentLength > MAX_PART_BYTES) {
        throw new TypeError(`contentLength must be an integer in 1..${MAX_PART_BYTES}`);
      }
      const contract = part.checksum === undefined ? {} : { [CHECKSUM_HEADER[part.checksum.algorithm]]: part.checksum.value };
      const names = new Set([...PART_SIGNED_HEADERS, ...Object.keys(contract)]);
      const request: PresignRequest = {
        operation: 'UploadPart',
        target: input.target,
        key: input.key,
        query: { partNumber: String(part.partNumber), uploadId: input.uploadId },
        headers: { 'content-length': String(part.contentLength), ...contract },
        signableHeaders: names,
        unhoistableHeaders: new Set(Object.keys(contract)),
        expiresInSeconds: input.expiresInSeconds,
        signingDate: input.signingDate,
      };
      return { request, names, headers: { 'Content-Length': String(part.contentLength), ...displayNames(contract) } };
    });
    const signed: { url: string; headers: Record<string, string> }[] = [];
    for (const { request, names, headers } of requests) {
      // The first URL resolves the target's endpoint if no URL has yet; every later one signs without awaiting.
      const url = this.signer.presignUrlNow(input.credentials, request) ?? await this.signer.presignUrl(input.credentials, request);
      assertSignedHeaders(url, names);
      signed.push({ url, headers });
    }
    return signed;
  }

  /** GET URL; `contentDisposition` is signed as response-content-disposition. */
  async presignGet(input: PresignBase & { contentDisposition?: string }): Promise<{ url: string }> {
    assertBase(input);
    const url = await this.signer.presignUrl(input.credentials, {
      operation: 'GetObject',
      target: input.target,
      key: input.key,
      ...(input.contentDisposition === undefined ? {} : { query: { 'response-content-disposition': input.contentDisposition } }),
      expiresInSeconds: input.expiresInSeconds,
      signingDate: input.signingDate,
    });
    return { url };
  }

  /**
   * Browser form upload whose policy pins key, Content-Type, bucket and 1..maxBytes, and with an
   * `eq` condition each field of the upload contract (tagging as S3's XML document, x-amz-meta-*,
   * the SSE fields, the checksum); carries the session token. A write-once contract never reaches
   * here: forms cannot carry If-None-Match (rules/uploadContract.ts refuses them first).
   */
  async presignPost(input: PresignBase & { contentType: string; maxBytes: number; terms?: UploadTerms | undefined }): Promise<{ url: string; fields: Record<string, string> }> {
    assertBase(input);
    if (!Number.isSafeInteger(input.maxBytes) || input.maxBytes < 1) throw new TypeError('maxBytes must be a positive integer');
    if (input.terms?.noOverwrite === true) throw new TypeError('a POST form cannot carry If-None-Match: refuse write-once contracts before presigning');
    const contract = postContractFields(input.terms);
    // The signer adds the signing fields (and X-Amz-Security-Token for session credentials) to both
    // the form and the policy conditions, as createPresignedPost does.
    return this.signer.presignPost(input.credentials, input.target, {
      key: input.key,
      conditions: [
        ['eq', '$key', input.key],
        ['eq', '$Content-Type', input.contentType],
        { bucket: input.target.bucket },
        ['content-length-range', 1, input.maxBytes],
        ...Object.entries(contract).map(([k, v]): ['eq', string, string] => ['eq', `$${k}`, v]),
      ],
      fields: { 'Content-Type': input.contentType, ...contract },
      expiresInSeconds: input.expiresInSeconds,
      signingDate: input.signingDate,
    });
  }
}

/** The SDK command fields for the contract's headers; the values equal contractHeaders' (the unit tests compare). */
export function commandFields(terms: UploadTerms | undefined): {
  ContentMD5?: string; ChecksumSHA256?: string; ChecksumCRC32C?: string; IfNoneMatch?: string; Tagging?: string;
  Metadata?: Record<string, string>; ServerSideEncryption?: 'aws:kms' | 'AES256'; SSEKMSKeyId?: string;
} {
  if (terms === undefined) return {};
  const headers = contractHeaders(terms);
  return {
    ...checksumFields(terms.checksum),
    ...(terms.noOverwrite ? { IfNoneMatch: '*' } : {}),
    ...(headers['x-amz-tagging'] === undefined ? {} : { Tagging: headers['x-amz-tagging'] }),
    ...(Object.keys(terms.metadata).length === 0 ? {} : { Metadata: { ...terms.metadata } }),
    ...(terms.encryption === undefined ? {} : { ServerSideEncryption: terms.encryption.type }),
    ...(terms.encryption?.type === 'aws:kms' ? { SSEKMSKeyId: terms.encryption.keyId } : {}),
  };
}

function checksumFields(checksum: DeclaredChecksum | undefined): { ContentMD5?: string; ChecksumSHA256?: string; ChecksumCRC32C?: string } {
  if (checksum === undefined) return {};
  switch (checksum.algorithm) {
    case 'md5': return { ContentMD5: checksum.value };
    case 'sha256': return { ChecksumSHA256: checksum.value };
    case 'crc32c': return { ChecksumCRC32C: checksum.value };
  }
}

/** The POST form fields of a contract: S3 takes tags there as the XML Tagging document, the rest under the header names. */
export function postContractFields(terms: UploadTerms | undefined): Record<string, string> {
  if (terms === undefined) return {};
  const { 'x-amz-tagging': tagging, 'content-md5': md5, ...rest } = contractHeaders(terms);
  return {
    ...(tagging === undefined ? {} : { tagging: taggingXml(terms.tags) }),
    ...(md5 === undefined ? {} : { 'Content-MD5': md5 }),
    ...rest,
  };
}

/** How the response names the contract's headers: HTTP's usual spelling for the standard ones, x-amz-* as signed. */
function displayNames(headers: Record<string, string>): Record<string, string> {
  const spelled: Record<string, string> = { 'content-md5': 'Content-MD5', 'if-none-match': 'If-None-Match' };
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [spelled[k] ?? k, v]));
}

/**
 * A URL whose signed headers differ from the intended ones (say an SDK update hoisting a header
 * into the query again) would silently drop a contract element: refuse to hand it out.
 */
function assertSignedHeaders(url: string, expected: ReadonlySet<string>): void {
  // The query parameter read directly (a full URL parse per part URL costs more than the check).
  const match = /[?&]X-Amz-SignedHeaders=([^&#]*)/.exec(url);
  const signed = match === null ? [] : decodeURIComponent(match[1]!.replaceAll('+', ' ')).split(';');
  const want = [...expected, 'host'].sort();
  if (signed.join(';') !== want.join(';')) {
    throw new Error(`presigned URL signs [${signed.join(', ')}], expected [${want.join(', ')}]: refusing to hand it out`);
  }
}

/** The pinned client settings; the multipart adapter (./s3Multipart.ts) starts from these too. */
export function clientConfig(target: PresignBase['target'], credentials: PresignBase['credentials'], systemClockOffset: number): S3ClientConfig {
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
    // Clients that send (./s3Multipart.ts) correct for clock skew with this; presigning takes signingDate.
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
    // Without a custom endpoint (i.e. on AWS) every new client would otherwise look for
    // AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL and `endpoint_url` in ~/.aws files at its first
    // presign: the endpoint comes from the broker's config only (BROKER_S3_ENDPOINT, s3Endpoint).
    ignoreConfiguredEndpointUrls: true,
  };
}

/** The routes validate these; a bad value here is a wiring bug, so fail before signing anything. */
function assertBase({ expiresInSeconds, signingDate }: PresignBase): void {
  if (!Number.isInteger(expiresInSeconds) || expiresInSeconds < MIN_PRESIGN_SECONDS || expiresInSeconds > MAX_PRESIGN_SECONDS) {
    throw new TypeError(`expiresInSeconds must be an integer in ${MIN_PRESIGN_SECONDS}..${MAX_PRESIGN_SECONDS}`);
  }
  if (Number.isNaN(signingDate.getTime())) throw new TypeError('signingDate must be a valid date');
}
