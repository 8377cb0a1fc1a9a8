import { ERROR_CODE_STATUS, type BrokerErrorCode } from './generated/contract.js';

/**
 * `unexpected_response`: the answer was not the broker's error shape, e.g. API Gateway's own bodies
 * (`429 {"message":"Too Many Requests"}`, `404 {"message":"Not Found"}`, `413`), a proxy's HTML page, or a code
 * this client version does not know (kept in `rawCode`).
 */
export type BrokerErrorCodeOrUnexpected = BrokerErrorCode | 'unexpected_response';

/** The broker answered with an error: `{ "error": { "code", "message", "requestId" } }` and an HTTP status. */
export class BrokerError extends Error {
  override readonly name = 'BrokerError';
  readonly status: number;
  readonly code: BrokerErrorCodeOrUnexpected;
  /** The broker's request id (body `error.requestId`, else the `X-Request-Id` header): quote it when asking for help. */
  readonly requestId: string | undefined;
  /** Seconds the broker asked to wait (`Retry-After`), when it said so. */
  readonly retryAfterSeconds: number | undefined;
  /** The code exactly as received, when it is not one this client knows. */
  readonly rawCode: string | undefined;

  constructor(init: {
    status: number;
    code: BrokerErrorCodeOrUnexpected;
    message: string;
    requestId?: string | undefined;
    retryAfterSeconds?: number | undefined;
    rawCode?: string | undefined;
  }) {
    super(init.message);
    this.status = init.status;
    this.code = init.code;
    this.requestId = init.requestId;
    this.retryAfterSeconds = init.retryAfterSeconds;
    this.rawCode = init.rawCode;
  }
}

/** S3 (through a presigned URL or form) refused or failed an upload, a part, or a download. */
export class S3Error extends Error {
  override readonly name: string = 'S3Error';
  /** HTTP status of S3's answer; 0 when S3 answered but something required was missing (e.g. no ETag). */
  readonly status: number;
  /** S3's error code (`<Code>` of its XML body, e.g. `AccessDenied`, `SignatureDoesNotMatch`, `EntityTooLarge`), or `MissingETag`. */
  readonly code: string;
  /** S3's request id (`x-amz-request-id`), when present. */
  readonly requestId: string | undefined;
  /** The multipart part number, for a part PUT. */
  readonly partNumber: number | undefined;

  constructor(init: { status: number; code: string; message: string; requestId?: string | undefined; partNumber?: number | undefined }) {
    super(init.message);
    this.status = init.status;
    this.code = init.code;
    this.requestId = init.requestId;
    this.partNumber = init.partNumber;
  }
}

/** S3 refused or failed an upload (single PUT, form POST, or a multipart part). */
export class S3UploadError extends S3Error {
  override readonly name = 'S3UploadError';
}

/**
 * The upload contract requires a checksum this environment cannot compute (md5 in a browser, or sha256 where Web
 * Crypto is unavailable). Nothing was sent: change the client's contract (browsers: integrity sha256).
 */
export class ChecksumUnavailableError extends Error {
  override readonly name = 'ChecksumUnavailableError';
  readonly algorithm: 'md5' | 'sha256' | 'crc32c';

  constructor(algorithm: 'md5' | 'sha256' | 'crc32c', message: string) {
    super(message);
    this.algorithm = algorithm;
  }
}

export function isKnownErrorCode(code: unknown): code is BrokerErrorCode {
  return typeof code === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CODE_STATUS, code);
}

/** Seconds from a Retry-After header (delta-seconds or an HTTP date), or undefined. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, Math.ceil((date - now) / 1000));
}

/** A BrokerError from a non-2xx broker response (reads the body). */
export async function brokerErrorFrom(response: Response): Promise<BrokerError> {
  const headerRequestId = response.headers.get('x-request-id') ?? undefined;
  const retryAfterSeconds = parseRetryAfter(response.headers.get('retry-after'));
  let text = '';
  try {
    text = await response.text();
  } catch {
    // the body could not be read; the status still says enough
  }
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  const error = (parsed as { error?: { code?: unknown; message?: unknown; requestId?: unknown } } | undefined)?.error;
  if (error && typeof error === 'object' && typeof error.code === 'string') {
    const known = isKnownErrorCode(error.code);
    return new BrokerError({
      status: response.status,
      code: known ? (error.code as BrokerErrorCode) : 'unexpected_response',
      rawCode: known ? undefined : error.code,
      message: typeof error.message === 'string' ? error.message : `${error.code} (HTTP ${response.status})`,
      requestId: typeof error.requestId === 'string' ? error.requestId : headerRequestId,
      retryAfterSeconds,
    });
  }
  const gatewayMessage = (parsed as { message?: unknown } | undefined)?.message;
  return new BrokerError({
    status: response.status,
    code: 'unexpected_response',
    message: typeof gatewayMessage === 'string'
      ? `HTTP ${response.status}: ${gatewayMessage}`
      : `HTTP ${response.status} ${response.statusText}`.trim(),
    requestId: headerRequestId,
    retryAfterSeconds,
  });
}

function xmlTag(text: string, tag: string): string | undefined {
  const m = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(text);
  return m?.[1];
}

/** An S3 error from a non-2xx S3 response (reads the XML body). */
export async function s3ErrorFrom(
  response: Response,
  kind: 'upload' | 'download',
  partNumber?: number,
): Promise<S3Error> {
  let text = '';
  try {
    text = await response.text();
  } catch {
    // ignore
  }
  const code = xmlTag(text, 'Code') ?? `Http${response.status}`;
  const message = xmlTag(text, 'Message') ?? `S3 answered HTTP ${response.status}`;
  const init = {
    status: response.status,
    code,
    message: partNumber === undefined ? `${code}: ${message}` : `part ${partNumber}: ${code}: ${message}`,
    requestId: response.headers.get('x-amz-request-id') ?? xmlTag(text, 'RequestId'),
    partNumber,
  };
  return kind === 'upload' ? new S3UploadError(init) : new S3Error(init);
}
