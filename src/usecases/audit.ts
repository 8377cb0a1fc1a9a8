import type { Caller, Scope } from '../domain/model.js';
import type { Logger } from '../observability/logger.js';

/** What one issuance log line holds: who, what, for how long. Never a credential or signature. */
export interface Issuance {
  requestId: string;
  caller: Caller;
  /** `credentials`, `upload:PUT`, `upload:POST`, `download`, `multipart:create`, `multipart:parts`, … */
  action: string;
  /** The scope of the STS session that was issued or used: exactly what its policy allows. */
  scope: Scope;
  /** The one full object key a presigned URL or multipart call binds (absent for raw credentials). */
  key?: string;
  sessionName: string;
  /**
   * The AccessKeyId of the STS session that was issued (credentials routes) or that signed the URL
   * or made the S3 call (presign and multipart routes). An identifier, not a secret: CloudTrail names
   * it in every S3 data event, so each event maps to exactly one session and, with the object key and
   * time, to the audit line of the issuance that was used. The session name alone cannot: every
   * session of one subject shares it.
   */
  accessKeyId: string;
  expiresAt: Date;
  /** Whether a cached session signed it (presign routes). */
  cachedSession?: boolean;
  /** Operation facts worth tracing (a multipart upload id, part numbers, declared size); never a secret. */
  details?: Record<string, string | number | readonly number[]>;
}

/**
 * One structured audit line per issuance (docs/security.md, "Audit"): who, what and until when,
 * and the AccessKeyId that joins it to CloudTrail. `prefix` and `actions` are the session's real
 * scope, `key` the object the URL or call binds. Never a secret key, session token or signature.
 */
export function auditIssuance(logger: Logger, issuance: Issuance): void {
  const { caller, scope } = issuance;
  logger.info('issued', {
    // first, so no detail can overwrite the fields below
    ...issuance.details,
    audit: true,
    requestId: issuance.requestId,
    partner: caller.partnerId,
    client: caller.clientId,
    method: caller.method,
    subject: caller.subjectSegment,
    action: issuance.action,
    bucket: scope.bucket,
    prefix: scope.prefix,
    actions: scope.actions,
    ...(issuance.key === undefined ? {} : { key: issuance.key }),
    sessionName: issuance.sessionName,
    accessKeyId: issuance.accessKeyId,
    expiresAt: issuance.expiresAt.toISOString(),
    ...(issuance.cachedSession === undefined ? {} : { cachedSession: issuance.cachedSession }),
  });
}
