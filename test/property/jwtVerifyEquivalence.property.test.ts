/**
 * auth/jwsVerify.ts (node:crypto signature, jose's checks mirrored) against jose's own jwtVerify,
 * given the same token, the same key resolver and the same options: the outcome must be identical.
 * Accepted by both with the same payload, or refused by both with the same error class and, for
 * claim errors, the same claim and reason: exactly what toBrokerError turns into the API's 401
 * message, so equal outcomes mean equal API answers.
 *
 * Generated: keys of every algorithm family (RSA PKCS#1 and PSS, P-256/384/521, Ed25519, plus a
 * 1024-bit RSA key jose refuses), claims (valid, expired, not yet valid, wrong or missing iss/aud,
 * missing and non-numeric exp/iat/nbf, huge and infinite values, boundaries at the clock skew),
 * headers (alg not matching the key, typ variants, unknown kid), options (audience, typ,
 * maxTokenAge, skew, required claims, allowed algorithms) and mutations (flipped, truncated,
 * lengthened or empty signature, re-encoded payload, signature from another key, PSS with another
 * salt length, non-canonical base64url tail, CryptoKeys of the wrong algorithm or private).
 *
 * Not generated: a `crit` header (the JwtVerifier refuses it before verification, and jwsVerify.ts
 * refuses it where jose would accept `crit: ["b64"]`) and segments with padding or whitespace
 * (refused by the JwtVerifier's compact-JWS check first; jose's atob would skip them).
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { constants, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import fc from 'fast-check';
import { createLocalJWKSet, errors, importJWK, jwtVerify, type JWK, type JWTVerifyGetKey, type JWTVerifyOptions } from 'jose';
import { verifyJwt, type JwtCheckOptions } from '../../src/auth/jwsVerify.js';
import { JWT_ALGORITHMS, type JwtAlgorithm } from '../../src/domain/model.js';

const RUNS = { numRuns: 600 };
const NOW = 1_800_000_000;
const ISSUER = 'https://idp.example';
const AUDIENCE = 'acme-app';

type Family = 'rsa' | 'rsa1024' | 'p256' | 'p384' | 'p521' | 'ed25519';
const FAMILY_OF: Record<JwtAlgorithm, Family> = {
  RS256: 'rsa', RS384: 'rsa', RS512: 'rsa', PS256: 'rsa', PS384: 'rsa', PS512: 'rsa',
  ES256: 'p256', ES384: 'p384', ES512: 'p521', EdDSA: 'ed25519',
};
const FAMILIES: Family[] = ['rsa', 'rsa1024', 'p256', 'p384', 'p521', 'ed25519'];

interface KeyPair { privateKey: KeyObject; publicJwk: JWK }
/** Two key pairs per family: `own` is published in the JWKS under kid = family, `stranger` is not. */
const keys = {} as Record<Family, { own: KeyPair; stranger: KeyPair }>;
/** CryptoKeys a hostile or broken key source could hand back, for every algorithm, right or wrong. */
const cryptoKeys: { name: string; key: Awaited<ReturnType<typeof importJWK>> }[] = [];
let jwks: JWTVerifyGetKey;

function pair(family: Family): KeyPair {
  const generated = family === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 })
    : family === 'rsa1024' ? generateKeyPairSync('rsa', { modulusLength: 1024 })
      : family === 'ed25519' ? generateKeyPairSync('ed25519')
        : generateKeyPairSync('ec', { namedCurve: { p256: 'P-256', p384: 'P-384', p521: 'P-521' }[family] });
  return { privateKey: generated.privateKey, publicJwk: generated.publicKey.export({ format: 'jwk' }) as JWK };
}

beforeAll(async () => {
  for (const family of FAMILIES) keys[family] = { own: pair(family), stranger: pair(family) };
  jwks = createLocalJWKSet({ keys: FAMILIES.map((family) => ({ ...keys[family].own.publicJwk, kid: family })) });
  for (const alg of [...JWT_ALGORITHMS, 'RS256-with-1024'] as const) {
    const realAlg = alg === 'RS256-with-1024' ? 'RS256' : alg;
    const family = alg === 'RS256-with-1024' ? 'rsa1024' : FAMILY_OF[alg];
    cryptoKeys.push({ name: `${alg} public`, key: await importJWK({ ...keys[family].own.publicJwk }, realAlg) });
  }
  const privateJwk = keys.p256.own.privateKey.export({ format: 'jwk' }) as JWK;
  cryptoKeys.push({ name: 'ES256 private', key: await importJWK(privateJwk, 'ES256') });
}, 60_000);

/** A claim's raw JSON text, so values JSON.stringify cannot write (1e400 is Infinity when parsed) are possible. */
const raw = (value: unknown) => JSON.stringify(value);
const absent = fc.constant(undefined);
/** Either side of every clock skew the options use (0, 5, 30 s), and fractions. */
const SKEW_EDGES = [0, 1, -1, 4, 5, 6, -4, -5, -6, 29, 30, 31, -29, -30, -31, 0.5, -0.5];
const timeAround = (center: number) => fc.oneof(
  fc.integer({ min: -4000, max: 4000 }).map((d) => raw(center + d)),
  fc.constantFrom(...SKEW_EDGES).map((d) => raw(center + d)),
);
const weird = fc.constantFrom('"1800000000"', 'null', 'true', '[1800000000]', '{}', '1e400', '-1e400', '1e21', '-0', '9007199254740993');

const claimsArb = fc.record({
  iss: fc.oneof({ weight: 8, arbitrary: fc.constant(raw(ISSUER)) }, fc.constantFrom(raw(`${ISSUER}/`), raw('https://evil.example'), '42', raw([ISSUER])), absent),
  aud: fc.oneof({ weight: 6, arbitrary: fc.constant(raw(AUDIENCE)) }, fc.constantFrom(raw([AUDIENCE, 'x']), raw(['x']), raw([]), raw('other'), '7', raw([7, AUDIENCE])), absent),
  sub: fc.oneof({ weight: 8, arbitrary: fc.constant(raw('alice')) }, fc.constantFrom('42', raw('')), absent),
  email: fc.oneof(absent, fc.constant(raw('a@example.com'))),
  exp: fc.oneof({ weight: 6, arbitrary: timeAround(NOW + 300) }, timeAround(NOW), weird, absent),
  nbf: fc.oneof({ weight: 4, arbitrary: absent }, timeAround(NOW), weird),
  iat: fc.oneof({ weight: 3, arbitrary: timeAround(NOW - 60) }, timeAround(NOW - 600), timeAround(NOW), weird, absent),
});

const algArb = fc.constantFrom(...JWT_ALGORITHMS);
const headerArb = fc.record({
  typ: fc.oneof({ weight: 3, arbitrary: fc.constant(raw('JWT')) }, fc.constantFrom(raw('at+jwt'), raw('AT+JWT'), raw('application/at+jwt'), raw('Application/At+Jwt'), raw('application/jwt'), raw('jwt+at'), '5', 'null'), absent),
  /** Which kid the header names: the signing key's family (usual), another family, or an unknown one. */
  kid: fc.oneof({ weight: 8, arbitrary: fc.constant('own' as const) }, fc.constant('other' as const), fc.constant('unknown' as const), fc.constant('none' as const)),
  /** The header's alg, when it differs from the algorithm that signed. */
  alg: fc.oneof({ weight: 8, arbitrary: absent }, algArb, fc.constantFrom('HS256', 'none', 'ES256K', 'RS1')),
  extra: fc.oneof({ weight: 4, arbitrary: absent }, fc.constantFrom('"b64":false', '"x5t":"abc"', '"cty":"JWT"')),
});

const mutationArb = fc.oneof(
  { weight: 10, arbitrary: fc.constant('none' as const) },
  fc.constantFrom('flipByte', 'truncate', 'lengthen', 'empty', 'reencodePayload', 'strangerKey', 'otherFamilyKey', 'pssSalt', 'nonCanonicalTail', 'swapHeader'),
);

const optionsArb = fc.record({
  audience: fc.oneof({ weight: 3, arbitrary: fc.constant<string | string[] | undefined>(AUDIENCE) }, fc.constant([ 'web', AUDIENCE ] as string[]), fc.constant([ 'web' ] as string[]), absent),
  typ: fc.oneof({ weight: 3, arbitrary: absent }, fc.constantFrom('at+jwt', 'application/at+jwt', 'JWT')),
  maxTokenAge: fc.oneof({ weight: 3, arbitrary: absent }, fc.constantFrom(0, 30, 600)),
  clockTolerance: fc.constantFrom(0, 5, 30),
  requiredClaims: fc.constantFrom<string[]>(['exp', 'sub'], ['exp', 'email'], ['exp']),
  /** Allowed algorithms: all, or a random subset (may exclude the token's). */
  algorithms: fc.oneof(fc.constant<JwtAlgorithm[]>([...JWT_ALGORITHMS]), fc.subarray<JwtAlgorithm>([...JWT_ALGORITHMS], { minLength: 1 })),
  /** How keys are found: the JWKS (jose's selection), or a source that hands back one fixed CryptoKey. */
  keySource: fc.oneof({ weight: 4, arbitrary: fc.constant<number | 'jwks'>('jwks') }, fc.nat({ max: JWT_ALGORITHMS.length + 1 })),
});

/** PSS salt lengths other than the digest's (32/48/64): none, SHA-1's, and one byte either side. */
const saltArb = fc.constantFrom(0, 20, 31, 33, 47, 49, 63, 65);

const b64 = (text: string | Buffer) => Buffer.from(text).toString('base64url');

function signWith(alg: JwtAlgorithm, key: KeyObject, input: string, saltLength?: number): Buffer {
  const bits = alg === 'EdDSA' ? null : `sha${alg.slice(2)}`;
  if (alg.startsWith('PS')) return sign(bits, Buffer.from(input), { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: saltLength ?? Number(alg.slice(2)) / 8 });
  if (alg.startsWith('ES')) return sign(bits, Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  return sign(bits, Buffer.from(input), key);
}

type Case = {
  signAlg: JwtAlgorithm;
  claims: Record<string, string | undefined>;
  header: { typ: string | undefined; kid: 'own' | 'other' | 'unknown' | 'none'; alg: string | undefined; extra: string | undefined };
  mutation: string;
  options: { audience: string | string[] | undefined; typ: string | undefined; maxTokenAge: number | undefined; clockTolerance: number; requiredClaims: string[]; algorithms: JwtAlgorithm[]; keySource: number | 'jwks' };
  otherFamily: Family;
  short: boolean;
  /** The PSS salt length the pssSalt mutation signs with (never the digest length). */
  salt: number;
};

function tokenFor(c: Case): string {
  // a 1024-bit key cannot carry PS512's 64-byte salt; every other RSA algorithm can sign with it
  const family = c.short && FAMILY_OF[c.signAlg] === 'rsa' && c.signAlg !== 'PS512' ? 'rsa1024' : FAMILY_OF[c.signAlg];
  const kid = c.header.kid === 'own' ? family : c.header.kid === 'other' ? c.otherFamily : c.header.kid === 'unknown' ? 'nope' : undefined;
  const headerFields = [`"alg":${raw(c.header.alg ?? c.signAlg)}`, ...(kid === undefined ? [] : [`"kid":${raw(kid)}`]),
    ...(c.header.typ === undefined ? [] : [`"typ":${c.header.typ}`]), ...(c.header.extra === undefined ? [] : [c.header.extra])];
  const payloadText = `{${Object.entries(c.claims).filter(([, v]) => v !== undefined).map(([k, v]) => `${raw(k)}:${v}`).join(',')}}`;
  const header = b64(`{${headerFields.join(',')}}`);
  const payload = b64(payloadText);
  const input = `${header}.${payload}`;
  const signer = c.mutation === 'strangerKey' ? keys[family].stranger : c.mutation === 'otherFamilyKey' ? keys[c.otherFamily].own : keys[family].own;
  const signingAlg = c.mutation === 'otherFamilyKey' ? algOfFamily(c.otherFamily) : c.signAlg;
  let signature = signWith(signingAlg, signer.privateKey, input, c.mutation === 'pssSalt' ? c.salt : undefined);
  let encodedPayload = payload;
  let encodedHeader = header;
  switch (c.mutation) {
    case 'flipByte': { const at = signature.length >> 1; signature.writeUInt8(signature.readUInt8(at) ^ 0x01, at); break; }
    case 'truncate': signature = signature.subarray(0, signature.length - 1); break;
    case 'lengthen': signature = Buffer.concat([signature, Buffer.from([0])]); break;
    case 'empty': signature = Buffer.alloc(0); break;
    case 'reencodePayload': encodedPayload = b64(` ${payloadText}`); break;
    case 'swapHeader': encodedHeader = b64(`{${headerFields.join(', ')}}`); break;
    default: break;
  }
  let encodedSignature = b64(signature);
  if (c.mutation === 'nonCanonicalTail') encodedSignature = withNonCanonicalTail(encodedSignature);
  return `${encodedHeader}.${encodedPayload}.${encodedSignature}`;
}

function algOfFamily(family: Family): JwtAlgorithm {
  return ({ rsa: 'RS256', rsa1024: 'RS256', p256: 'ES256', p384: 'ES384', p521: 'ES512', ed25519: 'EdDSA' } as const)[family];
}

/** Sets an unused low bit of the last character (when the length leaves any): same bytes, other text. */
function withNonCanonicalTail(encoded: string): string {
  const spareBits = (encoded.length * 6) % 8;
  if (spareBits === 0) return encoded;
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const last = alphabet.indexOf(encoded.slice(-1));
  return `${encoded.slice(0, -1)}${alphabet.charAt(last ^ 1)}`;
}

const randomCase: fc.Arbitrary<Case> = fc.record({
  signAlg: algArb,
  claims: claimsArb,
  header: headerArb,
  mutation: mutationArb,
  options: optionsArb,
  otherFamily: fc.constantFrom(...FAMILIES),
  short: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, fc.constant(true)),
  salt: saltArb,
});

/** A token both should accept: the base that single perturbations start from. */
function validCase(signAlg: JwtAlgorithm, clockTolerance: number): Case {
  return {
    signAlg,
    claims: { iss: raw(ISSUER), aud: raw(AUDIENCE), sub: raw('alice'), email: raw('a@example.com'), exp: raw(NOW + 300), nbf: undefined, iat: raw(NOW - 10) },
    header: { typ: raw('JWT'), kid: 'own', alg: undefined, extra: undefined },
    mutation: 'none',
    options: { audience: AUDIENCE, typ: undefined, maxTokenAge: undefined, clockTolerance, requiredClaims: ['exp', 'sub'], algorithms: [...JWT_ALGORITHMS], keySource: 'jwks' },
    otherFamily: 'p256',
    short: false,
    salt: 0,
  };
}

/** Every field a perturbation may take from a random case; one at a time finds the boundary each check draws. */
const FIELDS = [
  ...['iss', 'aud', 'sub', 'email', 'exp', 'nbf', 'iat'].map((f) => ['claims', f]),
  ...['typ', 'kid', 'alg', 'extra'].map((f) => ['header', f]),
  ...['audience', 'typ', 'maxTokenAge', 'requiredClaims', 'algorithms', 'keySource'].map((f) => ['options', f]),
  ['mutation'], ['short'], ['otherFamily'],
] as readonly (readonly string[])[];

/** A valid token with at most one field taken from a random case. */
const nearValidCase: fc.Arbitrary<Case> = fc.tuple(randomCase, fc.nat({ max: FIELDS.length })).map(([random, k]) => {
  const base = validCase(random.signAlg, random.options.clockTolerance) as unknown as Record<string, Record<string, unknown>>;
  const from = random as unknown as Record<string, Record<string, unknown>>;
  const [group, field] = FIELDS[k] ?? [];
  if (group !== undefined && field !== undefined) base[group]![field] = from[group]![field];
  else if (group !== undefined) (base as Record<string, unknown>)[group] = from[group];
  return base as unknown as Case;
});

/** A valid token whose signature, key or key source goes wrong: every mutation equally likely. */
const MUTATIONS = ['none', 'flipByte', 'truncate', 'lengthen', 'empty', 'reencodePayload', 'strangerKey', 'otherFamilyKey', 'pssSalt', 'nonCanonicalTail', 'swapHeader'] as const;
const signatureCase: fc.Arbitrary<Case> = fc.record({
  random: randomCase,
  mutation: fc.constantFrom(...MUTATIONS),
  signAlg: fc.oneof(algArb, fc.constantFrom<JwtAlgorithm>('PS256', 'PS384', 'PS512')),
}).map(({ random, mutation, signAlg }) => {
  const base = validCase(signAlg, random.options.clockTolerance);
  return { ...base, mutation, short: random.short, otherFamily: random.otherFamily, salt: random.salt, header: { ...base.header, kid: random.header.kid === 'none' ? 'none' : 'own' },
    options: { ...base.options, keySource: random.options.keySource } };
});

/** A valid token whose exp, nbf and iat sit at the edges of the skew and of maxTokenAge. */
const timeCase: fc.Arbitrary<Case> = fc.record({
  random: randomCase,
  exp: fc.oneof(timeAround(NOW), timeAround(NOW + 300), absent),
  nbf: fc.oneof(timeAround(NOW), absent),
  iat: fc.oneof(timeAround(NOW), timeAround(NOW - 30), timeAround(NOW - 600), absent),
  /** Then one claim put exactly on (or a second or half a second off) the edge its check draws. */
  edge: fc.option(fc.record({ claim: fc.constantFrom('exp', 'nbf', 'iatOld', 'iatFuture'), offset: fc.constantFrom(-1, -0.5, 0, 0.5, 1) }), { nil: undefined }),
}).map(({ random, exp, nbf, iat, edge }) => {
  const tolerance = random.options.clockTolerance;
  const base = validCase('ES256', tolerance);
  if (edge === undefined) return { ...base, claims: { ...base.claims, exp, nbf, iat }, options: { ...base.options, maxTokenAge: random.options.maxTokenAge } };
  // the other claims stay valid, so only this edge decides; the iat edges exist only with maxTokenAge
  const maxTokenAge = edge.claim.startsWith('iat') ? random.options.maxTokenAge ?? 600 : random.options.maxTokenAge;
  const claims = { ...base.claims };
  if (edge.claim === 'exp') claims.exp = raw(NOW - tolerance + edge.offset);
  if (edge.claim === 'nbf') claims.nbf = raw(NOW + tolerance + edge.offset);
  if (edge.claim === 'iatOld') claims.iat = raw(NOW - (maxTokenAge ?? 600) - tolerance + edge.offset);
  if (edge.claim === 'iatFuture') claims.iat = raw(NOW + tolerance + edge.offset);
  return { ...base, claims, options: { ...base.options, maxTokenAge } };
});

const caseArb = fc.oneof(randomCase, nearValidCase, signatureCase, timeCase);

type Outcome = { accepted: unknown } | { refused: { name: string; claim?: unknown; reason?: unknown } };

async function outcome(run: () => Promise<unknown>): Promise<Outcome> {
  try {
    return { accepted: await run() };
  } catch (err) {
    if (err instanceof errors.JWTClaimValidationFailed || err instanceof errors.JWTExpired) {
      return { refused: { name: err.constructor.name, claim: err.claim, reason: err.reason } };
    }
    if (err instanceof errors.JOSEError || err instanceof TypeError) return { refused: { name: err.constructor.name } };
    throw err;
  }
}

function optionsOf(c: Case): JwtCheckOptions {
  const o = c.options;
  return {
    issuer: ISSUER,
    ...(o.audience === undefined ? {} : { audience: o.audience }),
    algorithms: o.algorithms,
    clockTolerance: o.clockTolerance,
    requiredClaims: o.requiredClaims,
    ...(o.typ === undefined ? {} : { typ: o.typ }),
    ...(o.maxTokenAge === undefined ? {} : { maxTokenAge: o.maxTokenAge }),
    currentDate: new Date(NOW * 1000 + 400),
  };
}

function resolverOf(c: Case): JWTVerifyGetKey {
  const source = c.options.keySource;
  if (source === 'jwks') return jwks;
  const fixed = cryptoKeys[source % cryptoKeys.length]?.key;
  if (fixed === undefined) throw new Error('no such key');
  return async () => fixed;
}

describe('verifyJwt (node:crypto) equals jose jwtVerify', () => {
  it('accepts exactly when jose accepts, with the same payload, and refuses with the same error', async () => {
    const seen = { accepted: 0, refused: 0 };
    await fc.assert(fc.asyncProperty(caseArb, async (c) => {
      const token = tokenFor(c);
      const options = optionsOf(c);
      const resolver = resolverOf(c);
      const reference = await outcome(async () => (await jwtVerify(token, resolver, options as JWTVerifyOptions)).payload);
      const candidate = await outcome(() => verifyJwt(token, resolver, options));
      expect(candidate).toEqual(reference);
      seen['accepted' in reference ? 'accepted' : 'refused'] += 1;
    }), RUNS);
    // the generator must reach both sides, or equality proves little
    expect(seen.accepted).toBeGreaterThan(RUNS.numRuns / 10);
    expect(seen.refused).toBeGreaterThan(RUNS.numRuns / 10);
  }, 120_000);

  it('a valid token of every algorithm is accepted by both (the control)', async () => {
    for (const alg of JWT_ALGORITHMS) {
      const c: Case = {
        signAlg: alg,
        claims: { iss: raw(ISSUER), aud: raw(AUDIENCE), sub: raw('alice'), exp: raw(NOW + 300), iat: raw(NOW - 10) },
        header: { typ: raw('JWT'), kid: 'own', alg: undefined, extra: undefined },
        mutation: 'none',
        options: { audience: AUDIENCE, typ: undefined, maxTokenAge: undefined, clockTolerance: 5, requiredClaims: ['exp', 'sub'], algorithms: [...JWT_ALGORITHMS], keySource: 'jwks' },
        otherFamily: 'p256',
        short: false,
        salt: 0,
      };
      const token = tokenFor(c);
      await expect(verifyJwt(token, jwks, optionsOf(c))).resolves.toMatchObject({ sub: 'alice' });
      await expect(jwtVerify(token, jwks, optionsOf(c) as JWTVerifyOptions)).resolves.toBeDefined();
    }
  }, 60_000);
});
