import type { VendCredentialsRequest } from './generated/contract.js';
import { resolveRetry, type RetryOptions } from './retry.js';
import { Transport, type FetchLike } from './transport.js';

/** The AWS SDK v3's `AwsCredentialIdentity` shape (no dependency on the SDK). */
export interface AwsCredentialIdentity {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly expiration?: Date;
}

/** The AWS SDK v3's `AwsCredentialIdentityProvider` shape: pass it as `credentials` to any SDK client. */
export type AwsCredentialIdentityProvider = (identityProperties?: Record<string, any>) => Promise<AwsCredentialIdentity>;

/** What fromStsBroker resolves to: always with a session token and an expiration. */
export interface StsBrokerCredentials extends AwsCredentialIdentity {
  readonly sessionToken: string;
  readonly expiration: Date;
}

/** What fromStsBroker returns: assignable to the SDK's AwsCredentialIdentityProvider. */
export type StsBrokerCredentialProvider = (identityProperties?: Record<string, any>) => Promise<StsBrokerCredentials>;

type ProviderAuth =
  | { apiKey: string; token?: undefined }
  | { token: string | (() => Promise<string>); apiKey?: undefined };

export type FromStsBrokerOptions = ProviderAuth & {
  /** The broker's base URL. */
  url: string;
  /** A subset of the grant's actions (write needs the client's rawWriteCredentials opt-in: otherwise a 403 outside_grant). */
  actions?: VendCredentialsRequest['actions'];
  /** A sub-prefix of the grant's prefix, ending in "/". */
  prefix?: string;
  /** 900 up to the grant's maxDurationSeconds; the grant's maximum when absent. */
  durationSeconds?: number;
  /** Fetch new credentials this long before they expire (default 300 s; at most half their lifetime). */
  refreshMarginSeconds?: number;
  fetch?: FetchLike;
  retries?: number | RetryOptions;
  /** The clock, in epoch milliseconds (tests). */
  now?: () => number;
};

/**
 * An AWS SDK v3 credential provider backed by POST /v1/credentials: `new S3Client({ credentials: fromStsBroker(...) })`.
 * Credentials are cached until `expiration - refreshMarginSeconds`; concurrent calls share one request (single flight).
 * A refusal rejects with the typed BrokerError (e.g. 403 outside_grant, 429 rate_limited after the retries).
 */
export function fromStsBroker(options: FromStsBrokerOptions): StsBrokerCredentialProvider {
  const auth = options.apiKey !== undefined ? { apiKey: options.apiKey } : options.token !== undefined ? { token: options.token } : undefined;
  if (!auth) throw new TypeError('fromStsBroker: apiKey or token is required');
  const fetchFn: FetchLike = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const transport = new Transport(options.url, auth, fetchFn, resolveRetry(options.retries));
  const now = options.now ?? Date.now;
  const marginMs = Math.max(0, options.refreshMarginSeconds ?? 300) * 1000;
  const request: VendCredentialsRequest = {};
  if (options.actions !== undefined) request.actions = options.actions;
  if (options.prefix !== undefined) request.prefix = options.prefix;
  if (options.durationSeconds !== undefined) request.durationSeconds = options.durationSeconds;

  let cached: { credentials: StsBrokerCredentials; refreshAt: number } | undefined;
  let inflight: Promise<StsBrokerCredentials> | undefined;

  async function refresh(): Promise<StsBrokerCredentials> {
    const answer = await transport.call('vendCredentials', { body: request });
    const c = answer.credentials;
    const expiration = new Date(c.expiration);
    const fetchedAt = now();
    // never refresh sooner than half the lifetime, so a margin longer than the session cannot loop
    const lifetime = expiration.getTime() - fetchedAt;
    const refreshAt = expiration.getTime() - Math.min(marginMs, Math.max(0, lifetime / 2));
    const credentials: StsBrokerCredentials = {
      accessKeyId: c.accessKeyId,
      secretAccessKey: c.secretAccessKey,
      sessionToken: c.sessionToken,
      expiration,
    };
    cached = { credentials, refreshAt };
    return credentials;
  }

  return (props?: Record<string, any>) => {
    const force = props?.['forceRefresh'] === true;
    if (!force && cached && now() < cached.refreshAt) return Promise.resolve(cached.credentials);
    if (!inflight) {
      inflight = refresh().finally(() => {
        inflight = undefined;
      });
    }
    return inflight;
  };
}
