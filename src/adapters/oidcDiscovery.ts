/**
 * OIDC discovery (OpenID Connect Discovery 1.0, section 4): where an issuer publishes its keys,
 * for clients whose config omits `jwksUri`. Providers differ (Google, Entra ID, Okta and Keycloak
 * do not serve `<issuer>/.well-known/jwks.json`), so the location is read from the issuer's own
 * `<issuer>/.well-known/openid-configuration`, fetched exactly as bounded as the keys themselves.
 *
 * The document is accepted only when its `issuer` equals the configured issuer exactly (a document
 * served for another issuer, say through a shared host or a misconfigured proxy, is refused) and
 * its `jwks_uri` passes the loopback rule (https; http only on loopback with
 * allowInsecureLoopbackHttp). Results are cached per issuer for as long as a key set is; failures
 * are not cached, and every failure is 503 jwks_unavailable (504 when the request's budget ran out).
 */
import { BrokerError, JwksUnavailableError } from '../domain/errors.js';
import { boundedFetch, checkedUrl } from './jwks.js';

export interface OidcDiscoveryOptions {
  timeoutMs: number;
  maxBytes: number;
  allowInsecureLoopbackHttp: boolean;
  /** How long a discovered jwks_uri is reused before the document is fetched again. */
  cacheMaxAgeMs: number;
  fetch?: typeof fetch;
}

interface Discovered {
  jwksUri: URL;
  fetchedAt: number;
}

/** `<issuer>/.well-known/openid-configuration`, the issuer's trailing slashes removed (OIDC Discovery 1.0, 4). */
export function discoveryUrl(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
}

export class OidcDiscovery {
  private readonly cache = new Map<string, Discovered>();
  private readonly pending = new Map<string, Promise<URL>>();

  constructor(private readonly options: OidcDiscoveryOptions) {}

  /** The issuer's jwks_uri, from cache when fresh; concurrent misses share one fetch. */
  async jwksUri(issuer: string): Promise<URL> {
    const cached = this.cache.get(issuer);
    if (cached !== undefined && performance.now() - cached.fetchedAt < this.options.cacheMaxAgeMs) return cached.jwksUri;
    const inflight = this.pending.get(issuer);
    if (inflight !== undefined) return inflight;
    const started = this.discover(issuer).finally(() => this.pending.delete(issuer));
    this.pending.set(issuer, started);
    return started;
  }

  private async discover(issuer: string): Promise<URL> {
    const url = checkedUrl(discoveryUrl(issuer), 'OIDC discovery URL', this.options.allowInsecureLoopbackHttp);
    const fetchBounded = boundedFetch({
      maxBytes: this.options.maxBytes,
      timeoutMs: this.options.timeoutMs,
      fetch: this.options.fetch ?? fetch,
      label: 'OIDC discovery document',
    });
    const response = await fetchBounded(url.href, { method: 'GET', redirect: 'manual', headers: { accept: 'application/json' } });
    let document: unknown;
    try {
      document = JSON.parse(await response.text());
    } catch (cause) {
      throw new JwksUnavailableError('OIDC discovery document is not JSON', { cause });
    }
    const jwksUri = jwksUriOf(document, issuer, this.options.allowInsecureLoopbackHttp);
    this.cache.set(issuer, { jwksUri, fetchedAt: performance.now() });
    return jwksUri;
  }
}

/** The document's jwks_uri, once the document is known to be the configured issuer's. */
function jwksUriOf(document: unknown, issuer: string, allowInsecureLoopbackHttp: boolean): URL {
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw new JwksUnavailableError('OIDC discovery document is not a JSON object');
  }
  const { issuer: claimed, jwks_uri: jwksUri } = document as Record<string, unknown>;
  if (claimed !== issuer) {
    throw new JwksUnavailableError(`OIDC discovery document names issuer ${String(JSON.stringify(claimed)).slice(0, 200)}, not the configured ${JSON.stringify(issuer)}`);
  }
  if (typeof jwksUri !== 'string' || jwksUri === '') throw new JwksUnavailableError('OIDC discovery document has no jwks_uri');
  try {
    return checkedUrl(jwksUri, 'OIDC discovery jwks_uri', allowInsecureLoopbackHttp);
  } catch (err) {
    if (err instanceof BrokerError) throw err;
    throw new JwksUnavailableError('OIDC discovery jwks_uri is not a valid URL', { cause: err });
  }
}
