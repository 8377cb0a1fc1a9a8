/**
 * OIDC / JWT verification with jose (DESIGN.md security invariant 3). The token's header and
 * payload are read untrusted only to pick the client by (issuer, audience) and to refuse hostile
 * headers; only then are the client's keys fetched and the signature and claims verified.
 *
 * JWKS location: the client's `jwksUri`, else `${issuer}/.well-known/jwks.json` (the convention of
 * most OIDC providers, e.g. Auth0 and Cognito). OIDC discovery is deliberately not used: one fewer
 * fetch per cold start, and the keys' location comes from the config, never from the network.
 */
import {
  createRemoteJWKSet,
  customFetch,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
  type ProtectedHeaderParameters,
} from 'jose';
import type { ClientConfig, JwtClientConfig } from '../config/schema.js';
import { BrokerError, JwksUnavailableError, UnauthenticatedError } from '../errors.js';
import type { GrantStore } from '../ports.js';

/** Far above any real ID/access token (typically 1–2 KiB); stops decoding and hashing huge input. */
export const MAX_TOKEN_BYTES = 8 * 1024;
/** After a successful fetch, an unknown `kid` may trigger a refetch only this often. */
const JWKS_COOLDOWN_MS = 30_000;
/** Keys are refetched at least this often, so a rotated-out key stops working. */
const JWKS_CACHE_MAX_AGE_MS = 10 * 60_000;
/** Header parameters that point at keys chosen by the token's author: never honoured. */
const KEY_REFERENCE_HEADERS = ['jku', 'x5u', 'jwk', 'x5c'] as const;
/** Three base64url segments: a compact JWS (a JWE has five and is refused here). */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export interface JwtVerifierOptions {
  /** Total time allowed for one JWKS fetch, body included. */
  jwksTimeoutMs: number;
  /** The largest JWKS body accepted; the download is aborted past it. */
  jwksMaxBytes: number;
  /** Skew tolerated on `exp` and `nbf`. */
  clockToleranceSeconds: number;
  /** Allow `http:` JWKS URIs on loopback hosts: local development only. */
  allowInsecureLoopbackHttp: boolean;
  /** Injected for tests; the global fetch otherwise. */
  fetch?: typeof fetch;
  /** Injected for tests; the wall clock otherwise. */
  now?: () => Date;
}

export interface VerifiedJwt {
  partnerId: string;
  clientId: string;
  /** The client's subject claim (`sub` by default): raw, untrusted charset. */
  subject: string;
}

interface JwtClientMatch {
  partnerId: string;
  clientId: string;
  jwt: JwtClientConfig;
}

/** Verifies bearer JWTs against the clients in a GrantStore; caches one JWKS per URI. */
export class JwtVerifier {
  private readonly jwksByUri = new Map<string, JWTVerifyGetKey>();

  constructor(
    private readonly store: GrantStore,
    private readonly options: JwtVerifierOptions,
  ) {}

  /** Verifies `token`; throws UnauthenticatedError (401) or JwksUnavailableError (503). */
  async verify(token: string): Promise<VerifiedJwt> {
    const { header, payload } = decodeUntrusted(token);
    refuseHostileHeader(header);
    const match = selectClient(this.store, payload);
    if (!match.jwt.algorithms.includes(header.alg as JwtClientConfig['algorithms'][number])) {
      throw new UnauthenticatedError('token algorithm is not allowed for this client');
    }
    const keys = this.jwksFor(match.jwt);
    const verified = await this.verifySignatureAndClaims(token, keys, match.jwt);
    return { partnerId: match.partnerId, clientId: match.clientId, subject: subjectOf(verified, match.jwt.subjectClaim) };
  }

  private async verifySignatureAndClaims(token: string, keys: JWTVerifyGetKey, jwt: JwtClientConfig): Promise<JWTPayload> {
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: jwt.issuer,
        // `null` is the config's explicit opt-out of the audience check (STYLE.md 7).
        ...(jwt.audience === null ? {} : { audience: jwt.audience }),
        algorithms: jwt.algorithms,
        clockTolerance: this.options.clockToleranceSeconds,
        requiredClaims: ['exp', jwt.subjectClaim],
        ...(this.options.now ? { currentDate: this.options.now() } : {}),
      });
      return payload;
    } catch (err) {
      throw toBrokerError(err);
    }
  }

  /** The client's key resolver, created once per URI so its cache and cooldown are shared. */
  private jwksFor(jwt: JwtClientConfig): JWTVerifyGetKey {
    const url = jwksUrl(jwt, this.options.allowInsecureLoopbackHttp);
    const cached = this.jwksByUri.get(url.href);
    if (cached) return cached;
    const remote = createRemoteJWKSet(url, {
      timeoutDuration: this.options.jwksTimeoutMs,
      cooldownDuration: JWKS_COOLDOWN_MS,
      cacheMaxAge: JWKS_CACHE_MAX_AGE_MS,
      [customFetch]: boundedFetch({
        maxBytes: this.options.jwksMaxBytes,
        timeoutMs: this.options.jwksTimeoutMs,
        fetch: this.options.fetch ?? fetch,
      }),
    });
    const resolver = guardKeyResolver(remote);
    this.jwksByUri.set(url.href, resolver);
    return resolver;
  }
}

/** Decodes header and payload without verifying anything; refuses oversized and malformed tokens. */
function decodeUntrusted(token: string): { header: ProtectedHeaderParameters & { alg: string }; payload: JWTPayload } {
  if (Buffer.byteLength(token, 'utf8') > MAX_TOKEN_BYTES) throw new UnauthenticatedError('token too large');
  if (!COMPACT_JWS.test(token)) throw new UnauthenticatedError('malformed token');
  let header: ProtectedHeaderParameters;
  let payload: JWTPayload;
  try {
    header = decodeProtectedHeader(token);
    payload = decodeJwt(token);
  } catch {
    throw new UnauthenticatedError('malformed token');
  }
  if (typeof header.alg !== 'string') throw new UnauthenticatedError('malformed token');
  return { header: { ...header, alg: header.alg }, payload };
}

/** Refuses header parameters that would let the token choose its own key or change the rules. */
function refuseHostileHeader(header: ProtectedHeaderParameters & { alg: string }): void {
  if (header.alg.toLowerCase() === 'none') throw new UnauthenticatedError('unsigned token (alg none) is not accepted');
  if (KEY_REFERENCE_HEADERS.some((name) => Object.hasOwn(header, name))) {
    throw new UnauthenticatedError('token header jku/x5u/jwk is not accepted');
  }
  // `crit` names extensions the verifier must understand (e.g. b64: false); we understand none.
  if (Object.hasOwn(header, 'crit')) throw new UnauthenticatedError('token header crit is not accepted');
}

/**
 * The one client that accepts this token's (iss, aud). A client with a specific audience wins over
 * one that opted out of the audience check; more than one candidate is refused, never guessed.
 */
function selectClient(store: GrantStore, payload: JWTPayload): JwtClientMatch {
  const noClient = new UnauthenticatedError('no client accepts this issuer and audience');
  if (typeof payload.iss !== 'string' || payload.iss === '') throw noClient;
  const tokenAudiences = audiencesOf(payload.aud);
  const candidates = store.findJwtClients(payload.iss)
    .filter((c): c is { partnerId: string; clientId: string; client: ClientConfig & { jwt: JwtClientConfig } } => c.client.jwt !== undefined)
    .map((c) => ({ partnerId: c.partnerId, clientId: c.clientId, jwt: c.client.jwt }))
    .filter((c) => c.jwt.issuer === payload.iss);
  const specific = candidates.filter((c) => c.jwt.audience !== null && audiencesOf(c.jwt.audience).some((a) => tokenAudiences.includes(a)));
  const pool = specific.length > 0 ? specific : candidates.filter((c) => c.jwt.audience === null);
  if (pool.length > 1) throw new UnauthenticatedError('token matches more than one client; use a distinct audience');
  const [only] = pool;
  if (!only) throw noClient;
  return only;
}

function audiencesOf(aud: unknown): string[] {
  if (typeof aud === 'string') return [aud];
  return Array.isArray(aud) ? aud.filter((a): a is string => typeof a === 'string') : [];
}

/** The client's JWKS URL; https only, except loopback http when explicitly allowed. */
export function jwksUrl(jwt: JwtClientConfig, allowInsecureLoopbackHttp: boolean): URL {
  const raw = jwt.jwksUri ?? `${jwt.issuer.replace(/\/+$/, '')}/.well-known/jwks.json`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch (cause) {
    throw new JwksUnavailableError('JWKS URI is not a valid URL', { cause });
  }
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:' && allowInsecureLoopbackHttp && isLoopbackHost(url.hostname)) return url;
  // A config problem, not the caller's: a 5xx whose message is logged, never shown.
  throw new JwksUnavailableError('JWKS URI must use https (http only on loopback with allowInsecureLoopbackHttp)');
}

function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/**
 * Wraps jose's remote key set so that every failure to obtain usable keys (network, timeout, size
 * cap, not JSON, not a JWKS, unimportable key) is a 503; only "no key matches" stays a 401, since
 * that one is the token's fault.
 */
function guardKeyResolver(remote: JWTVerifyGetKey): JWTVerifyGetKey {
  return async (header, token) => {
    try {
      return await remote(header, token);
    } catch (err) {
      if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) throw err;
      if (err instanceof BrokerError) throw err;
      throw new JwksUnavailableError(err instanceof errors.JWKSTimeout ? 'JWKS fetch timed out' : 'JWKS could not be fetched or used', { cause: err });
    }
  };
}

/** A fetch that enforces the JWKS size cap by reading the body itself, and its own deadline. */
export function boundedFetch(options: { maxBytes: number; timeoutMs: number; fetch: typeof fetch }) {
  return async (url: string, init: { headers: Headers; method: 'GET'; redirect: 'manual'; signal: AbortSignal }): Promise<Response> => {
    const signal = AbortSignal.any([init.signal, AbortSignal.timeout(options.timeoutMs)]);
    let response: Response;
    try {
      response = await options.fetch(url, { ...init, signal });
    } catch (cause) {
      throw new JwksUnavailableError(signal.aborted ? 'JWKS fetch timed out' : 'JWKS endpoint unreachable', { cause });
    }
    if (response.status !== 200) {
      await response.body?.cancel().catch(() => undefined);
      throw new JwksUnavailableError(`JWKS endpoint answered HTTP ${response.status}`);
    }
    const body = await readCapped(response, options.maxBytes, signal);
    return new Response(body, { status: 200, headers: { 'content-type': 'application/json' } });
  };
}

/** Reads a body up to `maxBytes`, cancelling the download the moment it goes past. */
async function readCapped(response: Response, maxBytes: number, signal: AbortSignal): Promise<Uint8Array> {
  const tooLarge = () => new JwksUnavailableError(`JWKS response exceeds ${maxBytes} bytes`);
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw tooLarge();
  }
  if (!response.body) return new Uint8Array();
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw tooLarge();
      }
      chunks.push(value);
    }
  } catch (cause) {
    if (cause instanceof JwksUnavailableError) throw cause;
    throw new JwksUnavailableError(signal.aborted ? 'JWKS fetch timed out' : 'JWKS response could not be read', { cause });
  }
  return Buffer.concat(chunks);
}

/** The subject claim's value; it must be a non-empty string to become a path segment. */
function subjectOf(payload: JWTPayload, claim: string): string {
  const value = payload[claim];
  if (typeof value !== 'string' || value === '') {
    throw new UnauthenticatedError(`token subject claim "${claim}" must be a non-empty string`);
  }
  return value;
}

/** Maps jose's verification errors to a 401 with a clear message; never echoes the token. */
function toBrokerError(err: unknown): Error {
  if (err instanceof BrokerError) return err;
  if (!(err instanceof errors.JOSEError)) return err instanceof Error ? err : new Error(String(err));
  // jose errors carry the decoded payload; keep only their name and code for logs.
  const cause = { name: err.name, code: err.code };
  return new UnauthenticatedError(messageFor(err), { cause });
}

function messageFor(err: errors.JOSEError): string {
  if (err instanceof errors.JWTExpired) return err.claim === 'exp' ? 'token expired' : 'token too old';
  if (err instanceof errors.JWTClaimValidationFailed) return claimMessage(err);
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'token signature invalid';
  if (err instanceof errors.JOSEAlgNotAllowed) return 'token algorithm is not allowed for this client';
  if (err instanceof errors.JWKSNoMatchingKey) return 'no key in the issuer\'s JWKS matches the token (unknown kid)';
  if (err instanceof errors.JWKSMultipleMatchingKeys) return 'more than one key in the issuer\'s JWKS matches the token';
  if (err instanceof errors.JOSENotSupported) return 'token algorithm or key type not supported';
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) return 'malformed token';
  return 'token invalid';
}

/** `claim` is one of the names jose checks (iss, aud, nbf, …): safe to name in a message. */
function claimMessage(err: errors.JWTClaimValidationFailed): string {
  if (err.reason === 'missing') return `token is missing the required "${err.claim}" claim`;
  if (err.claim === 'nbf' && err.reason === 'check_failed') return 'token not yet valid';
  if (err.claim === 'iss' || err.claim === 'aud') return 'token issuer/audience mismatch';
  return `token claim "${err.claim}" is invalid`;
}
