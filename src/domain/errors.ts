/**
 * One errors module: every failure the broker can report is a BrokerError subclass with a stable
 * `code`, an honest HTTP `status`, and an optional `cause` kept for logs only. Only errors below
 * 500 expose their message to the caller; 5xx bodies say a generic message and the request id.
 */
export abstract class BrokerError extends Error {
  abstract readonly status: number;
  abstract readonly code: string;
  /** Seconds a client should wait before retrying (sent as Retry-After), where it helps. */
  readonly retryAfterSeconds?: number;

  constructor(message: string, options?: { cause?: unknown; retryAfterSeconds?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    if (options?.retryAfterSeconds !== undefined) this.retryAfterSeconds = options.retryAfterSeconds;
  }

  /** Whether the message may be shown to the caller (the http-errors convention: `expose = status < 500`). */
  get expose(): boolean {
    return this.status < 500;
  }
}

// ---- 400: the request itself is wrong ----------------------------------------------------
export class InvalidRequestError extends BrokerError {
  readonly status = 400;
  readonly code = 'invalid_request';
}
export class InvalidKeyError extends BrokerError {
  readonly status = 400;
  readonly code = 'invalid_key';
}
export class InvalidDurationError extends BrokerError {
  readonly status = 400;
  readonly code = 'invalid_duration';
}
export class UnsupportedMediaTypeError extends BrokerError {
  readonly status = 415;
  readonly code = 'unsupported_media_type';
}
export class PolicyTooLargeError extends BrokerError {
  readonly status = 400;
  readonly code = 'policy_too_large';
}
/** A multipart completion whose uploaded parts (S3's ListParts) differ from the client's declaration. */
export class UploadMismatchError extends BrokerError {
  readonly status = 400;
  readonly code = 'upload_mismatch';
}

// ---- 401: we do not know who is calling --------------------------------------------------
export class UnauthenticatedError extends BrokerError {
  readonly status = 401;
  readonly code = 'unauthenticated';
}

// ---- 403: we know who, and the answer is no ----------------------------------------------
export class GrantViolationError extends BrokerError {
  readonly status = 403;
  readonly code = 'outside_grant';
}
/** S3 itself refused a call the session policy allows: the partner's role or bucket policy is narrower. */
export class S3AccessDeniedError extends BrokerError {
  readonly status = 403;
  readonly code = 's3_access_denied';
}

// ---- 404 --------------------------------------------------------------------------------
/** No multipart upload with this id for this key (never created, completed, aborted, or expired by lifecycle). */
export class UploadNotFoundError extends BrokerError {
  readonly status = 404;
  readonly code = 'upload_not_found';
}

// ---- 413: too large ------------------------------------------------------------------------
export class TooLargeError extends BrokerError {
  readonly status = 413;
  readonly code = 'too_large';
}

/** The caller's partner, client, key or subject was disabled or revoked by an operator (`admin revoke`, `… disable`). */
export class AccessRevokedError extends BrokerError {
  readonly status = 403;
  readonly code = 'access_revoked';
}

// ---- 5xx: upstream trouble, never the caller's fault ---------------------------------------
/** The partner's role could not be assumed (trust policy, ExternalId, missing role). */
export class PartnerRoleNotAssumableError extends BrokerError {
  readonly status = 502;
  readonly code = 'partner_role_not_assumable';
}
/** STS answered with something we cannot use. */
/** One client asked for more credentials than its vend rate allows; pass `retryAfterSeconds` (sent as Retry-After). */
export class RateLimitedError extends BrokerError {
  readonly status = 429;
  readonly code = 'rate_limited';
}
/** The request's time budget (the function's remaining time less a margin) ran out before an upstream answered. */
export class DeadlineExceededError extends BrokerError {
  readonly status = 504;
  readonly code = 'deadline_exceeded';
}
export class StsUpstreamError extends BrokerError {
  readonly status = 502;
  readonly code = 'sts_error';
}
export class StsThrottledError extends BrokerError {
  readonly status = 503;
  readonly code = 'sts_throttled';
}
export class StsUnavailableError extends BrokerError {
  readonly status = 503;
  readonly code = 'sts_unavailable';
}
export class StsTimeoutError extends BrokerError {
  readonly status = 504;
  readonly code = 'sts_timeout';
}
export class S3UpstreamError extends BrokerError {
  readonly status = 502;
  readonly code = 's3_error';
}
/** S3 could not be reached, timed out, throttled, or answered 5xx. */
export class S3UnavailableError extends BrokerError {
  readonly status = 503;
  readonly code = 's3_unavailable';
}
/** The grant store (the DynamoDB table) could not be read within the request's budget; pass `retryAfterSeconds`. Fail closed: never answered from a stale cache. */
export class GrantStoreUnavailableError extends BrokerError {
  readonly status = 503;
  readonly code = 'grant_store_unavailable';
}
/** The identity provider's JWKS could not be fetched in time or was unusable. */
export class JwksUnavailableError extends BrokerError {
  readonly status = 503;
  readonly code = 'jwks_unavailable';
}
/** The broker's own configuration is invalid: raised at cold start, never per request. */
export class ConfigError extends BrokerError {
  readonly status = 500;
  readonly code = 'config_invalid';
}
export class InternalError extends BrokerError {
  readonly status = 500;
  readonly code = 'internal_error';
}
