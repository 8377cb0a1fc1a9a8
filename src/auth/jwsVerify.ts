/**
 * jose's `jwtVerify`, for exactly the options this broker uses, with the signature checked by a
 * synchronous `node:crypto` `verify()` instead of WebCrypto's `crypto.subtle.verify`.
 *
 * Why: jose 6 verifies through WebCrypto, which is asynchronous and hops to libuv's thread pool for
 * every token; the same OpenSSL check done synchronously costs a fraction of that per request (the
 * measurements are in docs/security.md, "JWTs"). Everything else stays jose's: the key set is still
 * fetched, parsed, filtered (`kid`, `kty`, `crv`, `alg`, `use`, `key_ops`) and imported by jose's
 * remote JWKS; this module only turns the CryptoKey jose hands back into a KeyObject (once per key:
 * cached by the CryptoKey, so a refetched or rotated key set brings new keys) and checks it the way
 * jose checks it before use.
 *
 * Every step mirrors jose 6's `jwtVerify` (lib/jws_verify.js, lib/jwt_claims_set.js, lib/key.js)
 * in jose's order and throws jose's own error classes with the same `claim` and `reason`, so the
 * mapping to API errors (auth/jwt.ts, toBrokerError) is unchanged.
 * test/property/jwtVerifyEquivalence.property.test.ts holds it equal to jose.
 *
 * Deliberately stricter than jose in two places the JwtVerifier already refuses before this point:
 * a segment that is not plain unpadded base64url (jose lets `atob` skip whitespace and padding) and
 * any `crit` header (jose understands `b64`).
 */
import { constants, KeyObject, verify, webcrypto } from 'node:crypto';
import { errors, type JWTHeaderParameters, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { JwtAlgorithm } from '../domain/model.js';

/** The subset of jose's `JWTVerifyOptions` the broker passes, with the same meaning. */
export interface JwtCheckOptions {
  /** `iss` must equal it exactly. */
  issuer: string;
  /** When set, `aud` (a string or an array) must contain one of these; omitted opts out. */
  audience?: string | readonly string[];
  /** The header's `alg` must be one of these. */
  algorithms: readonly JwtAlgorithm[];
  /** Seconds of skew tolerated on `exp`, `nbf` and (with `maxTokenAge`) `iat`. */
  clockTolerance: number;
  /** Claims that must be present (any value; their type is checked elsewhere or below). */
  requiredClaims: readonly string[];
  /** The JOSE `typ` header must match, case-insensitively, `application/` optional. */
  typ?: string;
  /** Seconds; requires `iat`, refuses it older than this (plus skew) or in the future (beyond skew). */
  maxTokenAge?: number;
  /** The wall clock otherwise. */
  currentDate?: Date;
}

/** How each algorithm verifies, and what jose requires of its CryptoKey (lib/jws_algorithms.js). */
interface SignatureAlgorithm {
  /** The digest passed to `verify()`; `null` for Ed25519, which hashes internally. */
  digest: 'sha256' | 'sha384' | 'sha512' | null;
  /** The CryptoKey's `algorithm` as jose's checkCryptoKey demands it. */
  key: { name: string; hash?: string; namedCurve?: string };
  /** RSA-PSS: the salt length, equal to the digest length, as jose signs and verifies. */
  pssSaltLength?: number;
  /** ECDSA: JWS signatures are r‖s (IEEE P1363), not DER. */
  p1363?: true;
  /** RSA: jose refuses a modulus below this. */
  minRsaBits?: number;
}

const rsa = (bits: 256 | 384 | 512): SignatureAlgorithm => ({ digest: `sha${bits}`, key: { name: 'RSASSA-PKCS1-v1_5', hash: `SHA-${bits}` }, minRsaBits: 2048 });
const pss = (bits: 256 | 384 | 512): SignatureAlgorithm => ({ digest: `sha${bits}`, key: { name: 'RSA-PSS', hash: `SHA-${bits}` }, pssSaltLength: bits / 8, minRsaBits: 2048 });
const ecdsa = (bits: 256 | 384 | 512, namedCurve: string): SignatureAlgorithm => ({ digest: `sha${bits}`, key: { name: 'ECDSA', namedCurve }, p1363: true });

const ALGORITHMS: Readonly<Record<JwtAlgorithm, SignatureAlgorithm>> = {
  RS256: rsa(256),
  RS384: rsa(384),
  RS512: rsa(512),
  PS256: pss(256),
  PS384: pss(384),
  PS512: pss(512),
  ES256: ecdsa(256, 'P-256'),
  ES384: ecdsa(384, 'P-384'),
  ES512: ecdsa(512, 'P-521'),
  EdDSA: { digest: null, key: { name: 'Ed25519' } },
};

/** Unpadded base64url, nothing else; a length of 4n+1 cannot encode whole bytes. */
const BASE64URL = /^[A-Za-z0-9_-]*$/;
const NON_ASCII = /[^\x00-\x7f]/;
/** jose decodes JSON with a fatal UTF-8 decoder: invalid UTF-8 is refused, never replaced. */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * One KeyObject per CryptoKey. jose's key set imports each JWK once per algorithm and replaces every
 * CryptoKey when it refetches the set, so a rotated-out key's entry is unreachable and collected.
 */
const keyObjects = new WeakMap<webcrypto.CryptoKey, KeyObject>();

/**
 * Verifies a compact JWS JWT: signature with a key from `keys`, then the claims. Resolves to the
 * payload; throws jose's errors (and jose's TypeError for a key unusable with the algorithm).
 */
export async function verifyJwt(token: string, keys: JWTVerifyGetKey, options: JwtCheckOptions): Promise<JWTPayload> {
  const parts = token.split('.');
  if (parts.length !== 3) throw new errors.JWSInvalid('Invalid Compact JWS');
  const [encodedHeader, encodedPayload, encodedSignature] = parts as [string, string, string];
  const header = parseHeader(encodedHeader);
  const alg = header.alg;
  if (typeof alg !== 'string' || alg === '') throw new errors.JWSInvalid('JWS "alg" (Algorithm) Header Parameter missing or invalid');
  if (!(options.algorithms as readonly string[]).includes(alg)) {
    throw new errors.JOSEAlgNotAllowed('"alg" (Algorithm) Header Parameter value not allowed');
  }
  const resolved: unknown = await keys(header, { payload: encodedPayload, protected: encodedHeader, signature: encodedSignature });
  if (!Object.hasOwn(ALGORITHMS, alg)) throw new errors.JOSENotSupported(`alg ${alg} is not supported`);
  const algorithm = ALGORITHMS[alg as JwtAlgorithm];
  if (NON_ASCII.test(encodedPayload)) throw new errors.JWSInvalid('The payload is not a valid base64url string');
  const signingInput = Buffer.from(`${encodedHeader}.${encodedPayload}`, 'latin1');
  const signature = base64url(encodedSignature, 'signature');
  const key = usableKey(resolved, alg, algorithm);
  checkSignature(algorithm, key, signingInput, signature);
  return validateClaims(header, base64url(encodedPayload, 'payload'), options);
}

/** lib/validate.js parseJoseHeader: base64url, strict UTF-8, a JSON object. */
function parseHeader(encoded: string): JWTHeaderParameters {
  let parsed: unknown;
  try {
    parsed = JSON.parse(strictUtf8.decode(base64url(encoded, 'protected header')));
  } catch (cause) {
    throw new errors.JWSInvalid('JWS Protected Header is invalid', { cause });
  }
  if (!isObject(parsed)) throw new errors.JWSInvalid('JWS Protected Header is invalid');
  // jose would accept `crit: ["b64"]`; the broker understands no extension (see the module comment).
  if (Object.hasOwn(parsed, 'crit')) throw new errors.JOSENotSupported('"crit" (Critical) Header Parameter is not accepted');
  return parsed as JWTHeaderParameters;
}

/**
 * Strict unpadded base64url; jose's message on failure. Bits the last character leaves unused are
 * ignored, as jose's decoder ignores them (same bytes; the signature covers the segments as written).
 */
function base64url(segment: string, label: string): Buffer {
  if (!BASE64URL.test(segment) || segment.length % 4 === 1) throw new errors.JWSInvalid(`Failed to base64url decode the ${label}`);
  return Buffer.from(segment, 'base64url');
}

/** lib/validate.js isObject: a plain object (JSON.parse never builds any other kind). */
function isObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Object.prototype.toString.call(value) !== '[object Object]') return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === null || Object.getPrototypeOf(prototype) === null;
}

/**
 * lib/key.js prepareKey + rawKey (checkCryptoKey) + checkModulusLength, for the CryptoKey the key
 * set resolves to, then its KeyObject. jose throws TypeError here; so does this.
 */
function usableKey(resolved: unknown, alg: string, algorithm: SignatureAlgorithm): KeyObject {
  // jose's isCryptoKey test (the class is not reachable from every realm); KeyObject.from checks it for real.
  // jose would also take a JWK or KeyObject; the broker's key source (jose's JWKS) yields CryptoKeys only.
  if (typeof resolved !== 'object' || resolved === null || (resolved as { [Symbol.toStringTag]?: unknown })[Symbol.toStringTag] !== 'CryptoKey') {
    throw new TypeError(`Key for the ${alg} algorithm must be a CryptoKey from the JWKS key source`);
  }
  const key = resolved as webcrypto.CryptoKey;
  if (key.type !== 'public') throw new TypeError(`CryptoKey instances must be of type "public" for the ${alg} algorithm`);
  const actual = key.algorithm as { name: string; hash?: { name?: string }; namedCurve?: string; modulusLength?: unknown };
  const expected = algorithm.key;
  // From here on the key itself (what the issuer's JWKS published) cannot verify this algorithm.
  if (actual.name !== expected.name) throw unusable(expected.name, 'algorithm.name');
  if (expected.hash !== undefined && actual.hash?.name !== expected.hash) throw unusable(expected.hash, 'algorithm.hash');
  if (expected.namedCurve !== undefined && actual.namedCurve !== expected.namedCurve) throw unusable(expected.namedCurve, 'algorithm.namedCurve');
  if (!key.usages.includes('verify')) throw issuerKeyError('CryptoKey does not support this operation, its usages must include verify.');
  if (algorithm.minRsaBits !== undefined && (typeof actual.modulusLength !== 'number' || actual.modulusLength < algorithm.minRsaBits)) {
    throw issuerKeyError(`${alg} requires key modulusLength to be ${algorithm.minRsaBits} bits or larger`);
  }
  let keyObject = keyObjects.get(key);
  if (keyObject === undefined) {
    keyObject = KeyObject.from(key);
    keyObjects.set(key, keyObject);
  }
  return keyObject;
}

function unusable(value: string, property: string): TypeError {
  return issuerKeyError(`CryptoKey does not support this operation, its ${property} must be ${value}`);
}

/**
 * The TypeErrors (jose's class and message, so the outcome stays jose's) that say the issuer's
 * published key cannot verify the token: an RSA key under 2048 bits, a key for another algorithm or
 * curve, a key not for verifying. A fact about the identity provider's key set, not a fault of the
 * broker: the caller is refused (401), where any other TypeError stays an internal error.
 */
const issuerKeyErrors = new WeakSet<object>();

function issuerKeyError(message: string): TypeError {
  const err = new TypeError(message);
  issuerKeyErrors.add(err);
  return err;
}

/** Whether `err` is one of verifyJwt's "the issuer's key cannot verify this token" errors. */
export function isUnusableIssuerKey(err: unknown): boolean {
  return typeof err === 'object' && err !== null && issuerKeyErrors.has(err);
}

/** The OpenSSL check WebCrypto would run, synchronously; a throw (malformed signature) is a failure too. */
function checkSignature(algorithm: SignatureAlgorithm, key: KeyObject, data: Buffer, signature: Buffer): void {
  let valid: boolean;
  try {
    valid = verify(algorithm.digest, data, {
      key,
      ...(algorithm.p1363 ? { dsaEncoding: 'ieee-p1363' as const } : {}),
      // An explicit salt length: the default (auto) would also accept other salt lengths.
      ...(algorithm.pssSaltLength === undefined ? {} : { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: algorithm.pssSaltLength }),
    }, signature);
  } catch (cause) {
    throw new errors.JWSSignatureVerificationFailed(undefined, { cause });
  }
  if (!valid) throw new errors.JWSSignatureVerificationFailed();
}

const CHECK_FAILED = 'check_failed';

/** lib/jwt_claims_set.js validateClaimsSet, for the options above, in jose's order. */
function validateClaims(header: JWTHeaderParameters, payloadBytes: Buffer, options: JwtCheckOptions): JWTPayload {
  let claims: unknown;
  try {
    claims = JSON.parse(strictUtf8.decode(payloadBytes));
  } catch (cause) {
    throw new errors.JWTInvalid('JWT Claims Set must be a top-level JSON object', { cause });
  }
  if (!isObject(claims)) throw new errors.JWTInvalid('JWT Claims Set must be a top-level JSON object');
  const payload = claims as JWTPayload;
  const failed = (claim: string, message: string) => new errors.JWTClaimValidationFailed(message, payload, claim, CHECK_FAILED);

  if (options.typ !== undefined && (typeof header.typ !== 'string' || normalizeTyp(header.typ) !== normalizeTyp(options.typ))) {
    throw failed('typ', 'unexpected "typ" JWT header value');
  }

  // jose's presence order: iss, aud, iat, then the required claims last to first.
  const presence = [...options.requiredClaims];
  if (options.maxTokenAge !== undefined) presence.push('iat');
  if (options.audience !== undefined) presence.push('aud');
  presence.push('iss');
  for (const claim of new Set(presence.reverse())) {
    if (!Object.hasOwn(payload, claim)) throw new errors.JWTClaimValidationFailed(`missing required "${claim}" claim`, payload, claim, 'missing');
  }
  if (payload.iss !== options.issuer) throw failed('iss', 'unexpected "iss" claim value');
  if (options.audience !== undefined && !audienceMatches(payload.aud, typeof options.audience === 'string' ? [options.audience] : options.audience)) {
    throw failed('aud', 'unexpected "aud" claim value');
  }

  const tolerance = options.clockTolerance;
  if (!Number.isFinite(tolerance)) throw new TypeError('Invalid clockTolerance option input');
  if (tolerance < 0) throw new TypeError('Invalid clockTolerance option input');
  const now = Math.floor((options.currentDate ?? new Date()).getTime() / 1000);
  if (!Number.isFinite(now)) throw new TypeError('Invalid currentDate option input');

  const iat = numericDate(payload, 'iat', options.maxTokenAge !== undefined);
  const nbf = numericDate(payload, 'nbf', false);
  if (nbf !== undefined && nbf > now + tolerance) throw failed('nbf', '"nbf" claim timestamp check failed');
  const exp = numericDate(payload, 'exp', false);
  if (exp !== undefined && exp <= now - tolerance) throw new errors.JWTExpired('"exp" claim timestamp check failed', payload, 'exp', CHECK_FAILED);

  if (options.maxTokenAge !== undefined) {
    // iat is present (checked above) and a number (numericDate)
    const age = now - (iat as number);
    const max = options.maxTokenAge;
    if (!Number.isFinite(max)) throw new TypeError('Invalid maxTokenAge option input');
    if (max < 0) throw new TypeError('Invalid maxTokenAge option input');
    if (age - tolerance > max) throw new errors.JWTExpired('"iat" claim timestamp check failed (too far in the past)', payload, 'iat', CHECK_FAILED);
    if (age < -tolerance) throw failed('iat', '"iat" claim timestamp check failed (it should be in the past)');
  }
  return payload;
}

/** `at+JWT` and `application/at+jwt` are the same type (RFC 8725 3.11); jose's normalisation. */
function normalizeTyp(value: string): string {
  const lower = value.toLowerCase();
  return value.includes('/') ? lower : `application/${lower}`;
}

/** A string `aud` must be one of the accepted audiences; an array must share one with them. */
function audienceMatches(aud: unknown, accepted: readonly string[]): boolean {
  if (typeof aud === 'string') return accepted.includes(aud);
  return Array.isArray(aud) && accepted.some((a) => aud.includes(a));
}

/** lib/jwt_claims_set.js validateNumericDate: absent is fine unless required; present must be a number (JSON's 1e400 is Infinity, as in jose). */
function numericDate(payload: JWTPayload, claim: 'iat' | 'nbf' | 'exp', required: boolean): number | undefined {
  const value: unknown = payload[claim];
  if (value === undefined && !required) return undefined;
  if (typeof value !== 'number') throw new errors.JWTClaimValidationFailed(`"${claim}" claim must be a number`, payload, claim, 'invalid');
  return value;
}
