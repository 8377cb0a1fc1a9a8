import {
  BrokerError, PartnerRoleNotAssumableError, PolicyTooLargeError, StsThrottledError, StsTimeoutError,
  StsUnavailableError, StsUpstreamError,
} from '../../domain/errors.js';

/**
 * What an SDK (or Node network) error tells us, read defensively: the shape is not typed across
 * protocols, and the local gateway answers STS calls S3-style, so the SDK names them 'Unknown' and
 * only `$metadata.httpStatusCode` is reliable (see docs/local-aws.md).
 */
export interface ErrorFacts {
  /** The service error code or JS error name (`Throttling`, `AccessDenied`, `TimeoutError`). */
  name: string;
  /** Node system error codes (`ECONNREFUSED`), including those inside an AggregateError. */
  codes: string[];
  status: number | undefined;
  message: string;
}

const THROTTLING_NAMES = new Set(['Throttling', 'ThrottlingException', 'RequestLimitExceeded', 'TooManyRequestsException', 'SlowDown']);
const TIMEOUT_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'AbortError']);
const TIMEOUT_CODES = ['ETIMEDOUT', 'ESOCKETTIMEDOUT'];
const NETWORK_CODES = ['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE'];
const ROLE_NAMES = new Set(['AccessDenied', 'AccessDeniedException', 'NoSuchEntity', 'NoSuchEntityException']);
/** 403s about the broker's own credentials: no partner trust-policy change would fix them. */
const BROKER_AUTH_NAMES = new Set(['InvalidClientTokenId', 'ExpiredToken', 'ExpiredTokenException', 'SignatureDoesNotMatch', 'IncompleteSignature']);
const UNAVAILABLE_NAMES = new Set(['InternalFailure', 'InternalError', 'ServiceUnavailable', 'ServiceUnavailableException']);

/** Maps any AssumeRole failure to a BrokerError; the original stays in `cause`, never in the message. */
export function mapStsError(err: unknown, partnerId: string): BrokerError {
  if (err instanceof BrokerError) return err;
  const facts = readFacts(err);
  const partner = JSON.stringify(partnerId);
  const cause = { cause: err };
  // Order matters: STS throttling arrives as HTTP 400, and timeouts carry no status at all.
  if (isTimeout(facts)) return new StsTimeoutError(`STS did not answer in time for partner ${partner}`, cause);
  if (isNetworkFailure(facts)) {
    return new StsUnavailableError(`STS could not be reached for partner ${partner}`, { ...cause, retryAfterSeconds: 2 });
  }
  if (isThrottling(facts)) {
    // Jittered so callers throttled together do not come back together.
    return new StsThrottledError(`STS is throttling AssumeRole for partner ${partner}`, { ...cause, retryAfterSeconds: 1 + Math.round(Math.random()) });
  }
  // The wire code is PackedPolicyTooLarge; the SDK's modeled class names it …Exception.
  if (facts.name === 'PackedPolicyTooLarge' || facts.name === 'PackedPolicyTooLargeException') {
    return new PolicyTooLargeError('the session policy and session tags exceed STS\'s packed size limit: request a narrower prefix or fewer actions', cause);
  }
  // Both arrive as 403, which below would read as the partner's trust policy refusing us.
  if (facts.name === 'RegionDisabledException') return new StsUpstreamError(`STS is not activated in partner ${partner}'s region`, cause);
  if (BROKER_AUTH_NAMES.has(facts.name)) return new StsUpstreamError(`STS refused the broker's own credentials (${facts.name})`, cause);
  if (ROLE_NAMES.has(facts.name) || facts.status === 403 || facts.status === 404) {
    return new PartnerRoleNotAssumableError(
      `partner ${partner} role could not be assumed: check the role trust policy names the broker role, the ExternalId, sts:TagSession and sts:SetSourceIdentity`,
      cause,
    );
  }
  if (UNAVAILABLE_NAMES.has(facts.name) || (facts.status !== undefined && facts.status >= 500)) {
    return new StsUnavailableError(`STS is unavailable for partner ${partner}`, { ...cause, retryAfterSeconds: 2 });
  }
  // ValidationError, MalformedPolicyDocument, other 400s: the broker built a bad request, not the caller.
  return new StsUpstreamError(`STS rejected AssumeRole for partner ${partner} (${facts.name})`, cause);
}

/** Codes are also looked for in the message: see isNetworkFailure. */
export function isTimeout(facts: ErrorFacts): boolean {
  return TIMEOUT_NAMES.has(facts.name) || TIMEOUT_CODES.some((c) => facts.codes.includes(c) || facts.message.includes(c));
}

export function isNetworkFailure(facts: ErrorFacts): boolean {
  // The SDK's retry layer rewraps a thrown value that is not `instanceof Error` (a Node error from
  // another realm, as under jest's VM modules) as "AWS SDK error wrapper for Error: connect
  // ECONNREFUSED …", dropping `code`: the message is then the only place the code survives.
  return NETWORK_CODES.some((c) => facts.codes.includes(c) || facts.message.includes(c));
}

export function isThrottling(facts: ErrorFacts): boolean {
  return THROTTLING_NAMES.has(facts.name) || facts.status === 429 || /rate exceeded/i.test(facts.message);
}

/** Reads an SDK or Node error defensively (also used by the S3 multipart adapter). */
export function readFacts(err: unknown): ErrorFacts {
  if (typeof err !== 'object' || err === null) return { name: 'Unknown', codes: [], status: undefined, message: String(err) };
  const metadata = field(err, '$metadata');
  const status = typeof metadata === 'object' && metadata !== null ? field(metadata, 'httpStatusCode') : undefined;
  const nested = field(err, 'errors');
  const codes = [field(err, 'code'), ...(Array.isArray(nested) ? nested.map((e: unknown) => field(e, 'code')) : [])];
  return {
    name: safeName(field(err, 'name')),
    codes: codes.filter((c): c is string => typeof c === 'string'),
    status: typeof status === 'number' ? status : undefined,
    message: typeof field(err, 'message') === 'string' ? String(field(err, 'message')) : '',
  };
}

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? Reflect.get(value, key) : undefined;
}

/** Error names end up in messages: keep only what looks like an error code. */
function safeName(name: unknown): string {
  return typeof name === 'string' && /^[A-Za-z][A-Za-z0-9]{0,63}$/.test(name) ? name : 'Unknown';
}
