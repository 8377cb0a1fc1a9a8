/**
 * The small interfaces the pure core depends on (see docs/architecture.md). `src/aws/` implements
 * them against the AWS SDK; tests inject fakes through the same shapes. Nothing here talks to the
 * network. The request deadline (at the end) is the one piece of request-scoped state that the
 * adapters read.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Action } from '../domain/actions.js';
import type { ApiKeyEntry, ClientConfig, PartnerConfig } from '../config/schema.js';

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

// ---- the request deadline ------------------------------------------------------------------

/**
 * A request's time budget: the function's remaining time less a margin, so the broker answers an
 * honest 504 before Lambda kills it. Every upstream call of the request (JWKS and OIDC discovery
 * fetches, STS attempts, S3 multipart calls) waits at most min(its own timeout, `remainingMs()`),
 * and starts no new attempt when less than MIN_UPSTREAM_ATTEMPT_MS is left.
 */
export interface Deadline {
  /** Milliseconds left (negative once passed); monotonic, unaffected by a mocked Date. */
  remainingMs(): number;
  /** Aborts when the budget runs out: pass it to every upstream call. */
  readonly signal: AbortSignal;
}

/** Subtracted from the function's remaining time: room to map the error, log and answer. */
export const DEADLINE_MARGIN_MS = 1000;
/** An upstream attempt with less time than this left is not started: it could not succeed. */
export const MIN_UPSTREAM_ATTEMPT_MS = 200;

/** A deadline `budgetMs` from now (≤ 0: already passed). */
export function deadlineIn(budgetMs: number): Deadline {
  const end = performance.now() + budgetMs;
  const signal = budgetMs > 0 ? AbortSignal.timeout(Math.ceil(budgetMs)) : AbortSignal.abort(new DOMException('request deadline passed', 'TimeoutError'));
  return { remainingMs: () => end - performance.now(), signal };
}

/**
 * The request deadline lives in an AsyncLocalStorage so that it reaches the adapters through the
 * core (vendCredentials, the session cache, the JWT verifier) without every signature carrying it;
 * the handler sets it once per invocation (http/lambdaHandler.ts).
 */
const requestDeadline = new AsyncLocalStorage<Deadline | undefined>();

/** Runs `fn` with `deadline` as the current request's deadline (undefined: the adapters' own timeouts alone apply). */
export function runWithDeadline<T>(deadline: Deadline | undefined, fn: () => Promise<T>): Promise<T> {
  return requestDeadline.run(deadline, fn);
}

/** The current request's deadline, if the handler set one. */
export function currentDeadline(): Deadline | undefined {
  return requestDeadline.getStore();
}

/**
 * How long an upstream attempt may take now: min(`settingMs`, time left). Throws `onExhausted()`
 * when less than MIN_UPSTREAM_ATTEMPT_MS is left, so no attempt starts that could not finish.
 */
export function attemptTimeoutMs(settingMs: number, onExhausted: () => Error): number {
  const deadline = currentDeadline();
  if (deadline === undefined) return settingMs;
  const left = Math.floor(deadline.remainingMs());
  if (left < MIN_UPSTREAM_ATTEMPT_MS) throw onExhausted();
  return Math.min(settingMs, left);
}
