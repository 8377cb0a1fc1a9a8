/** The JWT verifier as production wires it: auth/jwt.ts verification over the remote JWKS key source. */
import { RemoteJwksKeySource } from '../adapters/jwksKeySource.js';
import { JwtVerifier } from '../auth/jwt.js';
import type { GrantStore } from '../ports/ports.js';

export interface JwtVerifierOptions {
  /** Total time allowed for one JWKS (or discovery) fetch, body included. */
  jwksTimeoutMs: number;
  /** The largest JWKS body accepted; the download is aborted past it. */
  jwksMaxBytes: number;
  /** Skew tolerated on `exp`, `nbf` and `iat`. */
  clockToleranceSeconds: number;
  /** Allow `http:` JWKS URIs and issuers (discovery) on loopback hosts: local development only. */
  allowInsecureLoopbackHttp: boolean;
  /** Injected for tests; the global fetch otherwise. */
  fetch?: typeof fetch;
  /** Injected for tests; the wall clock otherwise. */
  now?: () => Date;
}

export function remoteJwtVerifier(store: Pick<GrantStore, 'findJwtClients'>, options: JwtVerifierOptions): JwtVerifier {
  const keys = new RemoteJwksKeySource({
    timeoutMs: options.jwksTimeoutMs,
    maxBytes: options.jwksMaxBytes,
    allowInsecureLoopbackHttp: options.allowInsecureLoopbackHttp,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  return new JwtVerifier(store, {
    clockToleranceSeconds: options.clockToleranceSeconds,
    keys,
    ...(options.now ? { now: options.now } : {}),
  });
}
