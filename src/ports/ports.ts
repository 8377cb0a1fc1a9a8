/**
 * The small interfaces the core depends on. `src/adapters/` implements them (the AWS SDK, the YAML
 * grant store, the JWKS fetcher); tests inject fakes through the same shapes. Nothing here talks to
 * the network.
 */
import type { JWTVerifyGetKey } from 'jose';
import type {
  ApiKey, AssumeRoleRequest, Client, DeclaredChecksum, IntegrityAlgorithm, JwtClientSettings, MultipartCall, Partner, PresignBase, TemporaryCredentials,
  UploadedPart, UploadTerms,
} from '../domain/model.js';

export interface CredentialIssuer {
  /** Calls STS AssumeRole; maps every failure to a BrokerError. */
  assumeRole(request: AssumeRoleRequest): Promise<TemporaryCredentials>;
}

export interface Presigner {
  /**
   * PUT URL that signs Content-Type and Content-Length, so the size limit binds, and every header of
   * the upload contract's `terms` (never hoisted into the query); `headers` lists every signed header.
   */
  presignPut(input: PresignBase & { contentType: string; contentLength: number; terms?: UploadTerms | undefined }): Promise<{ url: string; headers: Record<string, string> }>;
  /** GET URL; `contentDisposition` is signed as response-content-disposition. */
  presignGet(input: PresignBase & { contentDisposition?: string }): Promise<{ url: string }>;
  /**
   * Browser form upload: policy pins key, Content-Type, bucket and content-length-range 1..maxBytes,
   * and (`eq`) every field of the contract's `terms` (tagging, metadata, SSE, checksum).
   */
  presignPost(input: PresignBase & { contentType: string; maxBytes: number; terms?: UploadTerms | undefined }): Promise<{ url: string; fields: Record<string, string> }>;
  /** PUT URL for one part of a multipart upload, signing its exact Content-Length and, when declared, its checksum. */
  presignUploadPart(input: PresignBase & { uploadId: string; partNumber: number; contentLength: number; checksum?: DeclaredChecksum | undefined }): Promise<{ url: string; headers: Record<string, string> }>;
  /** Many parts of one upload in one call, in order; each URL exactly what presignUploadPart signs for that part. */
  presignUploadParts(input: PresignBase & { uploadId: string; parts: readonly { partNumber: number; contentLength: number; checksum?: DeclaredChecksum | undefined }[] }): Promise<{ url: string; headers: Record<string, string> }[]>;
}

/**
 * Multipart upload calls against S3 (the presigned part PUTs go straight from the client to S3).
 * Every failure becomes a BrokerError: an unknown upload id is UploadNotFoundError.
 */
export interface MultipartStore {
  /**
   * CreateMultipartUpload; the object gets `contentType` and the contract's tags, metadata and SSE
   * (`terms`); `checksumAlgorithm` sha256 or crc32c makes S3 record each part's checksum (md5 needs
   * nothing here: each part URL signs its Content-MD5).
   */
  create(input: MultipartCall & { contentType: string; terms?: UploadTerms | undefined; checksumAlgorithm?: IntegrityAlgorithm | undefined }): Promise<{ uploadId: string }>;
  /** Every uploaded part (all ListParts pages), in part-number order. */
  listParts(input: MultipartCall & { uploadId: string }): Promise<UploadedPart[]>;
  /**
   * CompleteMultipartUpload with exactly these parts, in ascending part-number order (with each
   * part's checksum when the upload has a checksum algorithm); `noOverwrite` sends If-None-Match: *
   * (an existing key is then GrantViolationError); `fullObjectCrc32c` is the whole object's declared
   * CRC32C (an upload created with crc32c has checksum type FULL_OBJECT), which S3 verifies.
   */
  complete(input: MultipartCall & {
    uploadId: string;
    parts: ReadonlyArray<{ partNumber: number; etag: string; checksum?: string | undefined }>;
    checksumAlgorithm?: 'sha256' | 'crc32c' | undefined;
    fullObjectCrc32c?: string | undefined;
    noOverwrite?: boolean | undefined;
  }): Promise<{ etag: string }>;
  /** AbortMultipartUpload: S3 frees the parts. */
  abort(input: MultipartCall & { uploadId: string }): Promise<void>;
}

/**
 * Where grants come from: the bundled YAML file today (adapters/yamlGrantStore.ts), a database
 * later. Every capability is one key lookup, never a listing of the store, so a table keyed by
 * key id, issuer, partner id and origin can answer each. Whole-store invariants (unique key ids
 * and hashes, issuer/audience uniqueness, `${sub}` folders) are the writer's to keep: the YAML
 * loader runs rules/storeInvariants.ts, and a database writer must run the same function.
 */
export interface GrantStore {
  /** The API key with this id, with its owner; undefined when no such id exists. */
  findApiKey(id: string): Promise<{ partnerId: string; clientId: string; key: ApiKey } | undefined>;
  /** JWT clients whose issuer matches exactly; chosen before any JWKS fetch. */
  findJwtClients(issuer: string): Promise<Array<{ partnerId: string; clientId: string; client: Client }>>;
  /** The partner (role, bucket and its clients), or undefined. */
  partner(partnerId: string): Promise<Partner | undefined>;
  /**
   * Whether any client allows this browser origin: for answers given before the caller is known
   * (a preflight, a 401). Once the caller is known, its own grant's origins apply instead.
   */
  isOriginAllowed(origin: string): Promise<boolean>;
  /** Identifies the grants being served (the YAML store: a hash of the config), reported by /health. */
  version(): Promise<string>;
}

export interface SessionLookupOptions {
  notBefore?: number;
  onAssume?: () => void;
}

/** Presign routes reuse sessions: see rules/sessionCache.ts. */
export interface SessionProvider {
  /**
   * Credentials for `request` that stay valid for at least `minRemainingSeconds` more, from cache
   * when possible. `cacheKey` never spans subjects. A session issued before `notBefore` (ms since
   * the epoch: the caller's latest revocation, rules/revocation.ts) is never returned.
   * `onAssume` is called when this lookup itself starts an AssumeRole (a miss; joining one another
   * lookup started is not), so metrics can tell hits from misses without request-scoped state.
   */
  getSession(cacheKey: string, request: AssumeRoleRequest, minRemainingSeconds: number, options?: SessionLookupOptions): Promise<TemporaryCredentials>;
}

/**
 * The verification keys of a JWT client (its `jwksUri`, else the issuer's OIDC discovery). The
 * adapter (adapters/jwks.ts) does the bounded fetching; auth/jwt.ts only verifies. The resolver must
 * yield public CryptoKeys, as jose's key sets do (auth/jwsVerify.ts refuses anything else).
 */
export interface JwtKeySource {
  keysFor(jwt: JwtClientSettings): Promise<JWTVerifyGetKey>;
}

/** Who a verified bearer token names (auth/jwt.ts implements it). */
export interface TokenVerifier {
  /** Throws UnauthenticatedError (401) or JwksUnavailableError (503). */
  verify(token: string): Promise<{ partnerId: string; clientId: string; subject: string }>;
}

/** Injected so tests control time. */
export type Clock = () => number;
