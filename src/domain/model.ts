/**
 * The broker's model: who calls, what they were granted, what one request may do, and what the
 * ports exchange. Independent of where grants are stored: the YAML loader (config/load.ts) maps its
 * schema onto these types, and a database-backed GrantStore would map its rows onto the same ones.
 */
import type { Action } from './actions.js';

/** An API key as a store holds it: never the key itself, only the SHA-256 of the whole key string. */
export interface ApiKey {
  /** Lookup id: the `<id>` in `sbk_<id>_<secret>`. */
  id: string;
  /** SHA-256 (hex) of the whole key string. */
  sha256: string;
  expires?: Date | undefined;
  disabled?: boolean | undefined;
}

export const JWT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

/** How a JWT client's tokens are verified. */
export interface JwtClientSettings {
  issuer: string;
  /** `null` opts out of the audience check (explicitly: an omitted audience is a config error). */
  audience: string | string[] | null;
  /** The key set; OIDC discovery from `issuer` when absent. */
  jwksUri?: string | undefined;
  algorithms: JwtAlgorithm[];
  /** Which claim names the subject (`sub` by default). */
  subjectClaim: string;
  /** Require this JOSE `typ` header (e.g. `at+jwt`). */
  requireTyp?: string | undefined;
  /** Refuse tokens whose `iat` is older than this (and tokens without `iat`). */
  maxTokenAgeSeconds?: number | undefined;
}

/** A token bucket: `burst` vends at once, refilled at `perSecond`. */
export interface VendRate {
  burst: number;
  perSecond: number;
}

/** One client of a partner: exactly one way in (API keys or JWT) and the limits of its grant. */
export interface Client {
  apiKeys?: ApiKey[] | undefined;
  jwt?: JwtClientSettings | undefined;
  /** Ends with "/"; may hold one `${sub}` segment (JWT clients only). */
  prefix: string;
  actions: Action[];
  maxUploadBytes: number;
  contentTypes: string[];
  cors: { origins: string[] };
  /** Raw credentials may include write (escaping maxUploadBytes and contentTypes): off unless set. */
  rawWriteCredentials?: boolean | undefined;
  vendRate?: VendRate | undefined;
  /** Clients of the same partner whose `${sub}` folders are deliberately this client's. */
  sharesSubjectFoldersWith?: string[] | undefined;
  maxDurationSeconds?: number | undefined;
  /** Set by `admin client disable` / `admin revoke --client`: nothing is issued to this client. */
  disabled?: boolean | undefined;
  /** What every upload of this client is held to by S3 itself (docs/upload-contracts.md); none when absent. */
  upload?: UploadContract | undefined;
}

/** The checksum an upload contract requires: Content-MD5, or an S3 flexible checksum (x-amz-checksum-*). */
export type IntegrityAlgorithm = 'md5' | 'sha256' | 'crc32c';

/** Server-side encryption an upload contract pins: SSE-KMS with one key (full key ARN), or SSE-S3. */
export type UploadEncryption = { type: 'aws:kms'; keyId: string } | { type: 'AES256' };

/**
 * A client's upload contract: what every presigned upload and broker-made multipart call signs, so
 * S3 refuses a request that departs from it. Tag and metadata values are templates: `${sub}` (the
 * caller's subject segment), `${client}`, `${partner}` and `${requestId}` (per request).
 */
export interface UploadContract {
  integrity: IntegrityAlgorithm | 'none';
  /** false: uploads carry `If-None-Match: *` (S3 answers 412 when the key exists); POST forms are refused. */
  overwrite: boolean;
  tags: Record<string, string>;
  metadata: Record<string, string>;
  encryption?: UploadEncryption | undefined;
}

/** A declared checksum: base64 of the digest, as S3's Content-MD5 and x-amz-checksum-* headers carry it. */
export interface DeclaredChecksum {
  algorithm: IntegrityAlgorithm;
  value: string;
}

/** A contract rendered for one request (templates filled in): what one URL, form or S3 call binds. */
export interface UploadTerms {
  checksum?: DeclaredChecksum | undefined;
  /** Send `If-None-Match: *`. */
  noOverwrite: boolean;
  tags: Record<string, string>;
  metadata: Record<string, string>;
  encryption?: UploadEncryption | undefined;
}

/**
 * What an operator revoked, and when. A revocation stops issuance while `active`, and for as long
 * as it is kept (at least the longest session the partner allows after `at`) it also makes every
 * cached session issued before `at` unusable, and feeds the Deny that `admin revoke --print-policy`
 * generates for sessions already handed out. Re-enabling sets `active: false` but keeps the entry.
 */
export interface Revocation {
  /** What is revoked: the whole partner, one client, one API key of a client, or one subject of a client. */
  target:
    | { kind: 'partner' }
    | { kind: 'client'; clientId: string }
    | { kind: 'key'; clientId: string; keyId: string }
    | { kind: 'subject'; clientId: string; subject: string };
  /** The revocation instant (ISO 8601, UTC): sessions issued before it are revoked. */
  at: string;
  /** Whether issuance is still refused; false once re-enabled (the entry stays until pruned). */
  active: boolean;
  reason?: string | undefined;
  /** Who revoked (the operator's AWS identity ARN, or the OS user for a YAML edit). */
  by?: string | undefined;
}

/** A partner: the role the broker assumes and the bucket it serves, with its clients. */
export interface Partner {
  roleArn: string;
  externalId?: string | undefined;
  bucket: string;
  region: string;
  stsEndpoint?: string | undefined;
  s3Endpoint?: string | undefined;
  maxDurationSeconds: number;
  clients: Record<string, Client>;
  /** Set by `admin partner disable`: nothing is issued to any of its clients. */
  disabled?: boolean | undefined;
  /** Operator revocations, newest last; see Revocation. */
  revocations?: Revocation[] | undefined;
}

/** An IAM partition, as the role ARN names it. */
export type Partition = 'aws' | 'aws-cn' | 'aws-us-gov';

/** Who is calling, after authentication. `subject` is raw; `subjectSegment` is its safe encoding. */
export interface Caller {
  partnerId: string;
  clientId: string;
  method: 'api-key' | 'jwt';
  /** API-key clients: the key id; JWT clients: the token's subject claim (raw, untrusted charset). */
  subject: string;
  /** `subject` as exactly one safe path segment (see rules/subject.ts). Feeds ${sub}, session name, tags. */
  subjectSegment: string;
}

/** A caller's resolved grant: the partner's role and bucket plus the client's limits, `${sub}` expanded. */
export interface Grant {
  partnerId: string;
  clientId: string;
  partner: Partner;
  client: Client;
  /** `arn:<partition>:...` partition, taken from the role ARN. */
  partition: Partition;
  /** The client's prefix with `${sub}` replaced by the caller's subject segment; ends with "/". */
  prefix: string;
  /** Effective cap on credential lifetime: min(client, partner, role-chaining limit). */
  maxDurationSeconds: number;
}

/** An authenticated caller with its resolved grant: what every use case starts from. */
export interface Authorised {
  caller: Caller;
  grant: Grant;
}

/** Exactly what one session may do: the only input the session policy is built from. */
export interface Scope {
  partition: Partition;
  bucket: string;
  /** Full prefix (grant prefix, optionally narrowed), ends with "/". */
  prefix: string;
  actions: readonly Action[];
}

/**
 * What one presign or multipart request is authorised for: one full key and one action inside the
 * grant prefix. The session that signs for it is wider on purpose (rules/scope.ts, sessionScopeFor):
 * the URL's signature binds the key, the session's policy binds the prefix and the action.
 */
export interface ObjectScope {
  partition: Partition;
  bucket: string;
  /** The grant prefix, ends with "/". */
  prefix: string;
  action: 'read' | 'write';
  /** The full key (prefix + validated relative key). */
  objectKey: string;
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
  /** The part's flexible checksum as S3 reports it (base64), when the upload was created with one. */
  checksum?: string | undefined;
}
