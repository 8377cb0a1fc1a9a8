import { AssumeRoleCommand, type AssumeRoleCommandInput, type Credentials, STSClient } from '@aws-sdk/client-sts';
import type { AssumeRoleRequest, CredentialIssuer, TemporaryCredentials } from '../ports.js';
import { StsUpstreamError } from '../errors.js';
import { mapStsError } from './stsErrors.js';

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
    try {
      const output = await this.client(request.region, request.stsEndpoint).send(new AssumeRoleCommand(toInput(request)));
      credentials = output.Credentials;
    } catch (err) {
      const mapped = mapStsError(err, request.partnerId);
      this.options.logger?.warn('sts AssumeRole failed', { partnerId: request.partnerId, code: mapped.code, ...describe(err) });
      throw mapped;
    }
    return toTemporaryCredentials(credentials, request.partnerId);
  }

  private client(region: string, endpoint: string | undefined): STSClient {
    const key = `${region}\n${endpoint ?? ''}`;
    let client = this.clients.get(key);
    if (client === undefined) {
      client = this.clientFor(region, endpoint);
      this.clients.set(key, client);
    }
    return client;
  }
}

/** A client whose retries (standard mode: throttling and transient errors, jittered) and timeouts are explicit. */
function defaultClient(region: string, endpoint: string | undefined, options: StsCredentialIssuerOptions): STSClient {
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

/** Log-safe facts about an SDK error: its code, status, request id and STS's own message (no secrets in any). */
function describe(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { errorName: typeof err };
  const metadata: unknown = Reflect.get(err, '$metadata');
  const meta = typeof metadata === 'object' && metadata !== null ? metadata : {};
  return {
    errorName: err.name,
    errorCode: Reflect.get(err, 'code') as unknown,
    httpStatusCode: Reflect.get(meta, 'httpStatusCode') as unknown,
    awsRequestId: Reflect.get(meta, 'requestId') as unknown,
    attempts: Reflect.get(meta, 'attempts') as unknown,
    errorMessage: err.message.slice(0, 300),
  };
}
