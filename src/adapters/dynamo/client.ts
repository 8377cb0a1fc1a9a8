/**
 * The DynamoDB document client for the grant table, with explicit timeouts and retries that fit
 * the request deadline (ports/deadline.ts), the same way the STS adapter does: each attempt is
 * bounded by `timeoutMs`, the SDK's standard retry mode backs off with jitter between attempts, and
 * an attempt with less than MIN_UPSTREAM_ATTEMPT_MS of the request's budget left is not started.
 *
 * Only the bundles that read the grant table import this file (src/wiring/withGrantTable.ts).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { currentDeadline, MIN_UPSTREAM_ATTEMPT_MS } from '../../ports/deadline.js';

export interface GrantTableClientOptions {
  /** BROKER_DYNAMODB_ENDPOINT (local dynalite, a VPC endpoint); the SDK's regional endpoint when absent. */
  endpoint?: string | undefined;
  /** Per-attempt bound on connecting and on waiting for an answer. */
  timeoutMs: number;
  /** Total attempts including the first. */
  maxAttempts: number;
  /** Defaults to the SDK's chain (AWS_REGION in Lambda). */
  region?: string | undefined;
  /** Defaults to the SDK's chain (the function's role in Lambda); tests and local tools pass their own. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | undefined;
}

/** Thrown inside the SDK's retry loop when the request's budget leaves no room for another attempt. */
export class GrantTableDeadlineError extends Error {
  override readonly name = 'GrantTableDeadlineError';
}

export function createGrantTableClient(options: GrantTableClientOptions): DynamoDBDocumentClient {
  if (!Number.isInteger(options.timeoutMs) || options.timeoutMs <= 0) throw new TypeError('timeoutMs must be a positive integer');
  if (!Number.isInteger(options.maxAttempts) || options.maxAttempts < 1) throw new TypeError('maxAttempts must be an integer ≥ 1');
  const client = new DynamoDBClient({
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(options.region === undefined ? {} : { region: options.region }),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
    maxAttempts: options.maxAttempts,
    retryMode: 'standard',
    // As in adapters/aws/sts.ts: the options-object form builds the SDK's own NodeHttpHandler;
    // without throwOnRequestTimeout a silent endpoint would only log a warning and keep waiting.
    requestHandler: { connectionTimeout: options.timeoutMs, requestTimeout: options.timeoutMs, throwOnRequestTimeout: true },
  });
  // The same guard as adapters/aws/sts.ts guardAttempts (not imported from there: that module pulls
  // the STS client into bundles that only read the table).
  client.middlewareStack.add((next) => async (args) => {
    const deadline = currentDeadline();
    if (deadline !== undefined && deadline.remainingMs() < MIN_UPSTREAM_ATTEMPT_MS) {
      throw new GrantTableDeadlineError('the request\'s time budget leaves no room for another grant table read');
    }
    return next(args);
  }, { step: 'finalizeRequest', priority: 'low', name: 'brokerDeadlineGuard', override: true });
  // Items are plain JSON-like data; numbers in them are small integers (version, lock expiry).
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}
