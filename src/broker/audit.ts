import type { Logger } from '../http/logger.js';
import type { Caller, Scope } from '../ports.js';

/** What one issuance log line holds: who, what, for how long. Never a credential or signature. */
export interface Issuance {
  requestId: string;
  caller: Caller;
  /** `credentials`, `upload:PUT`, `upload:POST`, `download`, `multipart:create`, `multipart:parts`, … */
  action: string;
  scope: Scope;
  sessionName: string;
  expiresAt: Date;
  /** Whether a cached session signed it (presign routes). */
  cachedSession?: boolean;
  /** Operation facts worth tracing (a multipart upload id, part numbers, declared size); never a secret. */
  details?: Record<string, string | number | readonly number[]>;
}

/** One structured audit line per issuance (DESIGN.md invariant 4). */
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
    ...(scope.objectKey === undefined ? {} : { key: scope.objectKey }),
    sessionName: issuance.sessionName,
    expiresAt: issuance.expiresAt.toISOString(),
    ...(issuance.cachedSession === undefined ? {} : { cachedSession: issuance.cachedSession }),
  });
}
