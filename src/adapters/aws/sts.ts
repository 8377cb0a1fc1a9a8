import { AssumeRoleCommand, type AssumeRoleCommandInput, type Credentials, STSClient } from '@aws-sdk/client-sts';
import { currentDeadline, MIN_UPSTREAM_ATTEMPT_MS } from '../../ports/deadline.js';
import type { AssumeRoleRequest, TemporaryCredentials } from '../../domain/model.js';
import type { CredentialIssuer } from '../../ports/ports.js';
import { DeadlineExceededError, StsTimeoutError, StsUpstreamError } from '../../domain/errors.js';
import { mapStsError } from './stsErrors.js';
import { describeSdkError } from './sdkError.js';

/** The slice of a structured logger the adapter uses; Powertools' Logger satisfies it. */
export interface StsLogger {
  warn(message: string, attributes: Record<string, unknown>): void;
}

export interface StsCredentialIssuerOptions {
  /** Builds the client for one (region, endpoint); tests inject their own. Default: see `defaultClient`. */
  clientFor?: (region: string, endpoint?: string) => STSClient;
  /** Per-attempt bound on connecting and on waiting for an answer. */
  timeoutMs: number;
  /** Total attempts including the first; the SDK's standard mode backs off with jitter between them. */
  maxAttempts: number;
  logger?: StsLogger;
}

/** CredentialIssuer over STS AssumeRole, one lazily created client per (region, endpoint). */
export class StsCredentialIssuer implements CredentialIssuer {
  private readonly clients = new Map<string, STSClient>();
  private readonly clientFor: (region: string, endpoint?: string) => STSClient;

  constructor(private readonly options: StsCredentialIssuerOptions) {
    if (!Number.isInteger(options.timeoutMs) || options.timeoutMs <= 0) throw new TypeError('timeoutMs must be a positive integer');
    if (!Number.isInteger(options.maxAttempts) || options.maxAttempts < 1) throw new TypeError('maxAttempts must be an integer ≥ 1');
    this.clientFor = options.clientFor ?? ((region, endpoint) => defaultClient(region, endpoint, options));
  }

  /** AssumeRole with exactly the request's fields; every failure becomes a BrokerError. */
  async assumeRole(request: AssumeRoleRequest): Promise<TemporaryCredentials> {
    // Secure by default: an AssumeRole without a session policy would hand out the whole role.
    if (request.policy.length === 0) throw new TypeError('refusing AssumeRole without a session policy');
    let credentials: Credentials | undefined;
    // The request deadline (if any) aborts the call, retries and backoff included, when it passes;
    // the guard in `client` starts no attempt that has less than MIN_UPSTREAM_ATTEMPT_MS left.
    const deadline = currentDeadline();
    try {
      if (deadline !== undefined && deadline.remainingMs() < MIN_UPSTREAM_ATTEMPT_MS) throw new DeadlineExceededError('no time left for STS');
      const output = await this.client(request.region, request.stsEndpoint)
        .send(new AssumeRoleCommand(toInput(request)), deadline === undefined ? {} : { abortSignal: deadline.signal });
      credentials = output.Credentials;
    } catch (err) {
      const outOfTime = err instanceof DeadlineExceededError || (deadline !== undefined && deadline.remainingMs() < MIN_UPSTREAM_ATTEMPT_MS);
      const mapped = outOfTime
        ? new StsTimeoutError(`STS did not answer within the request's time budget for partner ${JSON.stringify(request.partnerId)}`, { cause: err })
        : mapStsError(err, request.partnerId);
      this.options.logger?.warn('sts AssumeRole failed', { partnerId: request.partnerId, code: mapped.code, ...describeSdkError(err) });
      throw mapped;
    }
    return toTemporaryCredentials(credentials, request.partnerId);
  }

  private client(region: string, endpoint: string | undefined): STSClient {
    const key = `${region}\n${endpoint ?? ''}`;
    let client = this.clients.get(key);
    if (client === undefined) {
      client = this.clientFor(region, endpoint);
      guardAttempts(client);
      this.clients.set(key, client);
    }
    return client;
  }
}

/** The slice of an SDK v3 client that `guardAttempts` touches (STS and S3 clients both have it). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the SDK's overloads per step do not unify across clients
type AnyMiddlewareAdd = (...args: any[]) => void;
interface WithMiddlewareStack {
  middlewareStack: { add: AnyMiddlewareAdd };
}
type Next = (args: unknown) => Promise<unknown>;

/**
 * Runs inside the SDK's retry loop (finalizeRequest step, after the retry middleware), once per
 * attempt: an attempt that would start with less than MIN_UPSTREAM_ATTEMPT_MS of the request's time
 * budget left is not made. DeadlineExceededError is not retryable for the SDK, so the loop ends there.
 * (The in-flight attempt itself is cut at the deadline by the abortSignal each call passes.)
 */
export function guardAttempts(client: WithMiddlewareStack): void {
  client.middlewareStack.add((next: Next) => async (args: unknown) => {
    const deadline = currentDeadline();
    if (deadline !== undefined && deadline.remainingMs() < MIN_UPSTREAM_ATTEMPT_MS) {
      throw new DeadlineExceededError('the request\'s time budget leaves no room for another attempt');
    }
    return next(args);
  }, { step: 'finalizeRequest', priority: 'low', name: 'brokerDeadlineGuard', override: true });
}

/**
 * A client whose retries (standard mode: throttling and transient errors, jittered) and timeouts are
 * explicit. Exported for wiring that wraps the default client (src/wiring/withAws.ts: tracing).
 */
export function defaultClient(region: string, endpoint: string | undefined, options: StsCredentialIssuerOptions): STSClient {
  return new STSClient({
    region,
    ...(endpoint === undefined ? {} : { endpoint }),
    maxAttempts: options.maxAttempts,
    retryMode: 'standard',
    // The options-object form builds the SDK's own NodeHttpHandler without importing
    // @smithy/node-http-handler (not a declared dependency). Without throwOnRequestTimeout the SDK
    // only logs a warning when requestTimeout passes and keeps waiting on a silent endpoint.
    requestHandler: { connectionTimeout: options.timeoutMs, requestTimeout: options.timeoutMs, throwOnRequestTimeout: true },
  });
}

/** The command input: exactly these fields, ExternalId only when the partner has one. */
function toInput(request: AssumeRoleRequest): AssumeRoleCommandInput {
  return {
    RoleArn: request.roleArn,
    RoleSessionName: request.roleSessionName,
    SourceIdentity: request.sourceIdentity,
    ...(request.externalId === undefined ? {} : { ExternalId: request.externalId }),
    Policy: request.policy,
    DurationSeconds: request.durationSeconds,
    Tags: request.tags.map((tag) => ({ Key: tag.key, Value: tag.value })),
  };
}

function toTemporaryCredentials(credentials: Credentials | undefined, partnerId: string): TemporaryCredentials {
  const { AccessKeyId, SecretAccessKey, SessionToken, Expiration } = credentials ?? {};
  if (!AccessKeyId || !SecretAccessKey || !SessionToken || !(Expiration instanceof Date) || Number.isNaN(Expiration.getTime())) {
    throw new StsUpstreamError(`STS answered AssumeRole for partner ${JSON.stringify(partnerId)} without complete credentials`);
  }
  return { accessKeyId: AccessKeyId, secretAccessKey: SecretAccessKey, sessionToken: SessionToken, expiration: Expiration };
}

