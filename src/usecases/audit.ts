import type { Caller, Scope } from '../domain/model.js';
import { writeAuditLine } from '../observability/auditLog.js';
import type { Logger } from '../observability/logger.js';
import { recordIssuance } from '../observability/metrics.js';

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
 * One audit line per issuance (docs/observability.md, "Audit lines"; docs/security.md, "Audit"):
 * who, what and until when, and the AccessKeyId that joins it to CloudTrail. `prefix` and `actions`
 * are the session's real scope, `key` the object the URL or call binds. Never a secret key, session
 * token or signature. Written by the audit channel (observability/auditLog.ts), not the logger, so
 * no log level can drop it; `logger` stays in the signature for the call sites and is not used.
 * Also counts the issuance (Issuances{route, action, outcome=issued}).
 */
export function auditIssuance(_logger: Logger, issuance: Issuance): void {
  const { caller, scope } = issuance;
  writeAuditLine('issued', {
    requestId: issuance.requestId,
    partner: caller.partnerId,
    client: caller.clientId,
    method: caller.method,
    subject: caller.subjectSegment,
    action: issuance.action,
    bucket: scope.bucket,
    prefix: scope.prefix,
    actions: scope.actions,
    key: issuance.key,
    sessionName: issuance.sessionName,
    accessKeyId: issuance.accessKeyId,
    expiresAt: issuance.expiresAt.toISOString(),
    cachedSession: issuance.cachedSession,
  }, issuance.details);
  recordIssuance(issuance.action);
}

/** What one refusal audit line holds: the authenticated caller, the route, and the error answered. */
export interface Refusal {
  requestId: string;
  caller: Caller;
  /** The route's operation id (`presignUpload`, …). */
  route: string;
  /** The error body's `code` (`outside_grant`, `partner_role_not_assumable`, …) and the HTTP status. */
  code: string;
  status: number;
}

/**
 * One audit line per error answered to an authenticated caller (4xx and 5xx alike): a refused or
 * failed attempt is part of the trail. Unauthenticated requests get none (nobody to name; they are
 * counted in Refusals{ErrorCode=unauthenticated}).
 */
export function auditRefusal(refusal: Refusal): void {
  const { caller } = refusal;
  writeAuditLine('refused', {
    requestId: refusal.requestId,
    partner: caller.partnerId,
    client: caller.clientId,
    method: caller.method,
    subject: caller.subjectSegment,
    route: refusal.route,
    code: refusal.code,
    status: refusal.status,
  });
}
