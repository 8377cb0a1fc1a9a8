/**
 * OIDC / JWT verification (see docs/security.md, "JWTs"): jose's checks, with the signature verified
 * synchronously by node:crypto (./jwsVerify.ts). The token's header and payload
 * are read untrusted only to pick the client by (issuer, audience) and to refuse hostile headers
 * (including a `typ` the client does not accept); only then are the client's keys asked for and the
 * signature and claims verified.
 *
 * Verification only: the keys come through the JwtKeySource port. The production source
 * (adapters/jwksKeySource.ts) fetches the client's `jwksUri`, else the `jwks_uri` of the issuer's
 * OIDC discovery document, both bounded and under the request's deadline.
 */
import {
  decodeJwt,
  decodeProtectedHeader,
  errors,
  type JWTPayload,
  type JWTVerifyGetKey,
  type ProtectedHeaderParameters,
} from 'jose';
import { BrokerError, UnauthenticatedError } from '../domain/errors.js';
import type { Client, JwtClientSettings } from '../domain/model.js';
import type { GrantStore, JwtKeySource, TokenVerifier } from '../ports/ports.js';
import { isUnusableIssuerKey, verifyJwt, type JwtCheckOptions } from './jwsVerify.js';

/** Far above any real ID/access token (typically 1–2 KiB); stops decoding and hashing huge input. */
export const MAX_TOKEN_BYTES = 8 * 1024;
/** Header parameters that point at keys chosen by the token's author: never honoured. */
const KEY_REFERENCE_HEADERS = ['jku', 'x5u', 'jwk', 'x5c'] as const;
/** Three base64url segments: a compact JWS (a JWE has five and is refused here). */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export interface JwtVerificationOptions {
  /** Skew tolerated on `exp`, `nbf` and `iat`. */
  clockToleranceSeconds: number;
  /** Where each client's verification keys come from. */
  keys: JwtKeySource;
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
  jwt: JwtClientSettings;
}

/** Verifies bearer JWTs against the clients in a GrantStore. */
export class JwtVerifier implements TokenVerifier {
  constructor(
    private readonly store: Pick<GrantStore, 'findJwtClients'>,
    private readonly options: JwtVerificationOptions,
  ) {}

  /** Verifies `token`; throws UnauthenticatedError (401) or JwksUnavailableError (503). */
  async verify(token: string): Promise<VerifiedJwt> {
    const { header, payload } = decodeUntrusted(token);
    refuseHostileHeader(header);
    const match = await selectClient(this.store, payload);
    if (!match.jwt.algorithms.includes(header.alg as JwtClientSettings['algorithms'][number])) {
      throw new UnauthenticatedError('token algorithm is not allowed for this client');
    }
    refuseWrongTyp(header, match.jwt);
    const keys = await this.options.keys.keysFor(match.jwt);
    const verified = await this.verifySignatureAndClaims(token, keys, match.jwt);
    refuseFutureIat(verified, this.nowSeconds(), this.options.clockToleranceSeconds);
    return { partnerId: match.partnerId, clientId: match.clientId, subject: subjectOf(verified, match.jwt.subjectClaim) };
  }

  /** jose's jwtVerify checks, with a synchronous node:crypto signature check (./jwsVerify.ts says why). */
  private async verifySignatureAndClaims(token: string, keys: JWTVerifyGetKey, jwt: JwtClientSettings): Promise<JWTPayload> {
    try {
      return await verifyJwt(token, keys, jwtCheckOptions(jwt, this.options.clockToleranceSeconds, this.options.now?.()));
    } catch (err) {
      throw toBrokerError(err, jwt);
    }
  }

  private nowSeconds(): number {
    return Math.floor((this.options.now ? this.options.now() : new Date()).getTime() / 1000);
  }
}

/** The signature and claim checks a client's settings ask for, as jose's jwtVerify options name them. */
export function jwtCheckOptions(jwt: JwtClientSettings, clockToleranceSeconds: number, currentDate?: Date): JwtCheckOptions {
  return {
    issuer: jwt.issuer,
    // `null` is the config's explicit opt-out of the audience check (an omitted audience is a config error).
    ...(jwt.audience === null ? {} : { audience: jwt.audience }),
    algorithms: jwt.algorithms,
    clockTolerance: clockToleranceSeconds,
    requiredClaims: ['exp', jwt.subjectClaim],
    // also checked before any fetch (refuseWrongTyp); compared the same way (RFC 8725 3.11)
    ...(jwt.requireTyp === undefined ? {} : { typ: jwt.requireTyp }),
    // then iat is required, refused older than this (plus skew) and in the future
    ...(jwt.maxTokenAgeSeconds === undefined ? {} : { maxTokenAge: jwt.maxTokenAgeSeconds }),
    ...(currentDate === undefined ? {} : { currentDate }),
  };
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
async function selectClient(store: Pick<GrantStore, 'findJwtClients'>, payload: JWTPayload): Promise<JwtClientMatch> {
  // Made only when thrown: an Error captures a stack trace, a measurable cost on every accepted token.
  const noClient = () => new UnauthenticatedError('no client accepts this issuer and audience');
  if (typeof payload.iss !== 'string' || payload.iss === '') throw noClient();
  const tokenAudiences = audiencesOf(payload.aud);
  const candidates = (await store.findJwtClients(payload.iss))
    .filter((c): c is { partnerId: string; clientId: string; client: Client & { jwt: JwtClientSettings } } => c.client.jwt !== undefined)
    .map((c) => ({ partnerId: c.partnerId, clientId: c.clientId, jwt: c.client.jwt }))
    .filter((c) => c.jwt.issuer === payload.iss);
  const specific = candidates.filter((c) => c.jwt.audience !== null && audiencesOf(c.jwt.audience).some((a) => tokenAudiences.includes(a)));
  const pool = specific.length > 0 ? specific : candidates.filter((c) => c.jwt.audience === null);
  if (pool.length > 1) throw new UnauthenticatedError('token matches more than one client; use a distinct audience');
  const [only] = pool;
  if (!only) throw noClient();
  return only;
}

function audiencesOf(aud: unknown): string[] {
  if (typeof aud === 'string') return [aud];
  return Array.isArray(aud) ? aud.filter((a): a is string => typeof a === 'string') : [];
}

/**
 * `jwt.requireTyp`: the JOSE `typ` header must name that type. Compared as RFC 8725 (3.11) and
 * RFC 9068 (2.1) say: case-insensitively, with or without the `application/` prefix.
 */
function refuseWrongTyp(header: ProtectedHeaderParameters, jwt: JwtClientSettings): void {
  if (jwt.requireTyp === undefined) return;
  if (typeof header.typ !== 'string' || normalizeTyp(header.typ) !== normalizeTyp(jwt.requireTyp)) {
    throw new UnauthenticatedError(`token type (JOSE typ header) must be "${jwt.requireTyp}"`);
  }
}

/** `at+JWT`, `application/at+jwt` → `application/at+jwt`. */
function normalizeTyp(typ: string): string {
  const lower = typ.toLowerCase();
  return lower.includes('/') ? lower : `application/${lower}`;
}

/** An `iat` in the future (beyond the clock skew) is refused for every client: such a token was not issued by a sane clock. */
function refuseFutureIat(payload: JWTPayload, nowSeconds: number, toleranceSeconds: number): void {
  if (typeof payload.iat === 'number' && payload.iat > nowSeconds + toleranceSeconds) {
    throw new UnauthenticatedError('token issued in the future (iat)');
  }
}

/** The subject claim's value; it must be a non-empty string to become a path segment. */
function subjectOf(payload: JWTPayload, claim: string): string {
  const value = payload[claim];
  if (typeof value !== 'string' || value === '') {
    throw new UnauthenticatedError(`token subject claim "${claim}" must be a non-empty string`);
  }
  return value;
}

/** Maps jose's verification errors (jose's classes, also thrown by ./jwsVerify.ts) to a 401 with a clear message; never echoes the token. */
function toBrokerError(err: unknown, jwt: JwtClientSettings): Error {
  if (err instanceof BrokerError) return err;
  if (isUnusableIssuerKey(err)) {
    // The issuer published a key that cannot verify this token (an RSA key under 2048 bits, say).
    return new UnauthenticatedError(`the issuer's key for this token is not usable: ${(err as Error).message}`, { cause: { name: 'TypeError', code: 'ERR_UNUSABLE_ISSUER_KEY' } });
  }
  if (!(err instanceof errors.JOSEError)) return err instanceof Error ? err : new Error(String(err));
  // jose errors carry the decoded payload; keep only their name and code for logs.
  const cause = { name: err.name, code: err.code };
  return new UnauthenticatedError(messageFor(err, jwt), { cause });
}

function messageFor(err: errors.JOSEError, jwt: JwtClientSettings): string {
  if (err instanceof errors.JWTExpired) {
    return err.claim === 'exp' ? 'token expired' : `token too old: issued more than ${jwt.maxTokenAgeSeconds} s ago (maxTokenAgeSeconds)`;
  }
  if (err instanceof errors.JWTClaimValidationFailed) return claimMessage(err, jwt);
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'token signature invalid';
  if (err instanceof errors.JOSEAlgNotAllowed) return 'token algorithm is not allowed for this client';
  if (err instanceof errors.JWKSNoMatchingKey) return 'no key in the issuer\'s JWKS matches the token (unknown kid)';
  if (err instanceof errors.JWKSMultipleMatchingKeys) return 'more than one key in the issuer\'s JWKS matches the token';
  if (err instanceof errors.JOSENotSupported) return 'token algorithm or key type not supported';
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) return 'malformed token';
  return 'token invalid';
}

/** `claim` is one of the names jose checks (iss, aud, nbf, …): safe to name in a message. */
function claimMessage(err: errors.JWTClaimValidationFailed, jwt: JwtClientSettings): string {
  if (err.claim === 'iat' && err.reason === 'missing') return 'token has no "iat" claim, which this client requires (maxTokenAgeSeconds)';
  if (err.reason === 'missing') return `token is missing the required "${err.claim}" claim`;
  if (err.claim === 'iat' && err.reason === 'check_failed') return 'token issued in the future (iat)';
  if (err.claim === 'typ') return `token type (JOSE typ header) must be "${jwt.requireTyp}"`;
  if (err.claim === 'nbf' && err.reason === 'check_failed') return 'token not yet valid';
  if (err.claim === 'iss' || err.claim === 'aud') return 'token issuer/audience mismatch';
  return `token claim "${err.claim}" is invalid`;
}
