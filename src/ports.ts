/**
 * The small interfaces the pure core depends on (STYLE.md 2). `src/aws/` implements them against
 * the AWS SDK; tests inject fakes through the same shapes. Nothing here talks to the network.
 */
import type { Action } from './grants/actions.js';
import type { ApiKeyEntry, ClientConfig, PartnerConfig } from './config/schema.js';

/** Who is calling, after authentication. `subject` is raw; `subjectSegment` is its safe encoding. */
export interface Caller {
  partnerId: string;
  clientId: string;
  method: 'api-key' | 'jwt';
  /** API-key clients: the key id; JWT clients: the token's subject claim (raw, untrusted charset). */
  subject: string;
  /** `subject` as exactly one safe path segment (see grants/subject.ts). Feeds ${sub}, session name, tags. */
  subjectSegment: string;
}

/** A caller's resolved grant: the partner's role and bucket plus the client's limits, `${sub}` expanded. */
export interface Grant {
  partnerId: string;
  clientId: string;
  partner: PartnerConfig;
  client: ClientConfig;
  /** `arn:<partition>:...` partition, taken from the role ARN. */
  partition: 'aws' | 'aws-cn' | 'aws-us-gov';
  /** The client's prefix with `${sub}` replaced by the caller's subject segment; ends with "/". */
  prefix: string;
  /** Effective cap on credential lifetime: min(client, partner, role-chaining limit). */
  maxDurationSeconds: number;
}

/** Exactly what one request may do: the only input the session policy is built from. */
export interface Scope {
  partition: Grant['partition'];
  bucket: string;
  /** Full prefix (grant prefix, optionally narrowed), ends with "/". */
  prefix: string;
  actions: readonly Action[];
  /** For presign routes: the one full object key the URL binds. Object statements then name only it. */
  objectKey?: string;
}

export interface TemporaryCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
}

export interface SessionTag {
  key: string;
  value: string;
}

/** Everything AssumeRole needs; built by the core, sent verbatim by the STS adapter. */
export interface AssumeRoleRequest {
  partnerId: string;
  roleArn: string;
  roleSessionName: string;
  sourceIdentity: string;
  externalId?: string;
  /** Session policy JSON, already size-checked. Never absent: no unscoped sessions. */
  policy: string;
  durationSeconds: number;
  tags: SessionTag[];
  region: string;
  /** Regional or VPC endpoint; the SDK default for `region` when absent. */
  stsEndpoint?: string;
}

export interface CredentialIssuer {
  /** Calls STS AssumeRole; maps every failure to a BrokerError. */
  assumeRole(request: AssumeRoleRequest): Promise<TemporaryCredentials>;
}

/** Where objects live for one partner. */
export interface S3Target {
  bucket: string;
  region: string;
  endpoint?: string;
  /** Path-style addressing (always with a custom endpoint such as the local gateway). */
  forcePathStyle: boolean;
}

export interface PresignBase {
  credentials: TemporaryCredentials;
  target: S3Target;
  /** Full object key (prefix + key), already validated. */
  key: string;
  expiresInSeconds: number;
  /** The signing instant (X-Amz-Date); `expiresAt` is computed from the same instant. */
  signingDate: Date;
}

export interface Presigner {
  /** PUT URL that signs Content-Type and Content-Length, so the size limit binds. */
  presignPut(input: PresignBase & { contentType: string; contentLength: number }): Promise<{ url: string; headers: Record<string, string> }>;
  /** GET URL; `contentDisposition` is signed as response-content-disposition. */
  presignGet(input: PresignBase & { contentDisposition?: string }): Promise<{ url: string }>;
  /** Browser form upload: policy pins key, Content-Type, bucket and content-length-range 1..maxBytes. */
  presignPost(input: PresignBase & { contentType: string; maxBytes: number }): Promise<{ url: string; fields: Record<string, string> }>;
  /** PUT URL for one part of a multipart upload, signing its exact Content-Length. */
  presignUploadPart(input: PresignBase & { uploadId: string; partNumber: number; contentLength: number }): Promise<{ url: string; headers: Record<string, string> }>;
}

/** One S3 multipart call, made by the broker with the caller's scoped session credentials. */
export interface MultipartCall {
  credentials: TemporaryCredentials;
  target: S3Target;
  /** Full object key (prefix + key), already validated. */
  key: string;
}

/** A part as S3 has it (ListParts). `etag` is S3's, quotes included. */
export interface UploadedPart {
  partNumber: number;
  size: number;
  etag: string;
}

/**
 * Multipart upload calls against S3 (the presigned part PUTs go straight from the client to S3).
 * Every failure becomes a BrokerError: an unknown upload id is UploadNotFoundError.
 */
export interface MultipartStore {
  /** CreateMultipartUpload; the object gets `contentType`. */
  create(input: MultipartCall & { contentType: string }): Promise<{ uploadId: string }>;
  /** Every uploaded part (all ListParts pages), in part-number order. */
  listParts(input: MultipartCall & { uploadId: string }): Promise<UploadedPart[]>;
  /** CompleteMultipartUpload with exactly these parts, in ascending part-number order. */
  complete(input: MultipartCall & { uploadId: string; parts: ReadonlyArray<{ partNumber: number; etag: string }> }): Promise<{ etag: string }>;
  /** AbortMultipartUpload: S3 frees the parts. */
  abort(input: MultipartCall & { uploadId: string }): Promise<void>;
}

/** Where grants come from: the bundled YAML file today, a DynamoDB table later. */
export interface GrantStore {
  /** The API-key entry with this id, with its owner; undefined when no such id exists. */
  findApiKey(id: string): { partnerId: string; clientId: string; entry: ApiKeyEntry } | undefined;
  /** JWT clients whose issuer matches exactly; chosen before any JWKS fetch. */
  findJwtClients(issuer: string): Array<{ partnerId: string; clientId: string; client: ClientConfig }>;
  partner(partnerId: string): PartnerConfig | undefined;
  /** Stable hash of the loaded config, reported by /health. */
  readonly configHash: string;
}

/** Presign routes reuse sessions: see aws/sessionCache.ts. */
export interface SessionProvider {
  /**
   * Credentials for `request` that stay valid for at least `minRemainingSeconds` more, from cache
   * when possible. `cacheKey` never spans subjects.
   */
  getSession(cacheKey: string, request: AssumeRoleRequest, minRemainingSeconds: number): Promise<TemporaryCredentials>;
}

/** Injected so tests control time. */
export type Clock = () => number;
