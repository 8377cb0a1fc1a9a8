/**
 * The production JwtKeySource: a client's keys from its `jwksUri`, else from the `jwks_uri` of its
 * issuer's OIDC discovery document (./oidcDiscovery.ts). Both fetches are bounded the same way
 * (./jwks.ts) and share the request's deadline. One jose remote key set per URI, so its cache and
 * refetch cooldown are shared by every client that names the URI. It yields jose's CryptoKeys;
 * auth/jwsVerify.ts checks them as jose would and verifies with their KeyObjects, cached per
 * CryptoKey, so a refetch (which imports the set anew) brings fresh keys.
 */
import { createRemoteJWKSet, customFetch, type JWTVerifyGetKey } from 'jose';
import type { JwtClientSettings } from '../domain/model.js';
import type { JwtKeySource } from '../ports/ports.js';
import { boundedFetch, checkedUrl, guardKeyResolver } from './jwks.js';
import { OidcDiscovery } from './oidcDiscovery.js';

/** After a successful fetch, an unknown `kid` may trigger a refetch only this often. */
const JWKS_COOLDOWN_MS = 30_000;
/** Keys (and discovered jwks_uris) are refetched at least this often, so a rotated-out key stops working. */
const JWKS_CACHE_MAX_AGE_MS = 10 * 60_000;

export interface RemoteJwksOptions {
  /** Total time allowed for one fetch (JWKS or discovery document), body included. */
  timeoutMs: number;
  /** The largest body accepted; the download is aborted past it. */
  maxBytes: number;
  /** Allow `http:` JWKS URIs and issuers (discovery) on loopback hosts: local development only. */
  allowInsecureLoopbackHttp: boolean;
  /** Injected for tests; the global fetch otherwise. */
  fetch?: typeof fetch;
}

export class RemoteJwksKeySource implements JwtKeySource {
  private readonly jwksByUri = new Map<string, JWTVerifyGetKey>();
  private readonly discovery: OidcDiscovery;

  constructor(private readonly options: RemoteJwksOptions) {
    this.discovery = new OidcDiscovery({
      timeoutMs: options.timeoutMs,
      maxBytes: options.maxBytes,
      allowInsecureLoopbackHttp: options.allowInsecureLoopbackHttp,
      cacheMaxAgeMs: JWKS_CACHE_MAX_AGE_MS,
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
  }

  /** The client's key resolver, created once per URI. */
  async keysFor(jwt: JwtClientSettings): Promise<JWTVerifyGetKey> {
    const url = jwt.jwksUri === undefined
      ? await this.discovery.jwksUri(jwt.issuer)
      : checkedUrl(jwt.jwksUri, 'JWKS URI', this.options.allowInsecureLoopbackHttp);
    const cached = this.jwksByUri.get(url.href);
    if (cached) return cached;
    const remote = createRemoteJWKSet(url, {
      timeoutDuration: this.options.timeoutMs,
      cooldownDuration: JWKS_COOLDOWN_MS,
      cacheMaxAge: JWKS_CACHE_MAX_AGE_MS,
      [customFetch]: boundedFetch({
        maxBytes: this.options.maxBytes,
        timeoutMs: this.options.timeoutMs,
        fetch: this.options.fetch ?? fetch,
      }),
    });
    const resolver = guardKeyResolver(remote);
    this.jwksByUri.set(url.href, resolver);
    return resolver;
  }
}
