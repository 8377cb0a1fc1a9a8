/**
 * auth/jwsVerify.ts's KeyObject cache follows the key set: keys are cached per CryptoKey, never per
 * kid, so a refetched (rotated) JWKS brings its own keys and a rotated-out key stops verifying, over
 * a real JWKS served on loopback. Also: key sources that do not yield a public CryptoKey, and the
 * `crit` header, are refused.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createLocalJWKSet, createRemoteJWKSet, errors, SignJWT, type JWK } from 'jose';
import { verifyJwt, type JwtCheckOptions } from '../../src/auth/jwsVerify.js';
import { caught } from '../support/authFakes.js';
import { serve, type TestServer } from '../support/loopbackServer.js';

const ISSUER = 'https://idp.example';
const options: JwtCheckOptions = { issuer: ISSUER, audience: 'app', algorithms: ['ES256'], clockTolerance: 5, requiredClaims: ['exp', 'sub'] };

interface Key { privateKey: KeyObject; jwk: JWK }
function es256(kid: string): Key {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, jwk: { ...(publicKey.export({ format: 'jwk' }) as JWK), kid, alg: 'ES256', use: 'sig' } };
}

async function token(key: Key, header: Record<string, unknown> = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: ISSUER, aud: 'app', sub: 'alice', exp: now + 300 })
    .setProtectedHeader({ alg: 'ES256', kid: key.jwk.kid!, ...header })
    .sign(key.privateKey);
}

let published: JWK[] = [];
let idp: TestServer;

beforeAll(async () => {
  idp = await serve((_req, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: published })));
});

afterAll(async () => {
  await idp.close();
});

describe('verifyJwt: keys follow the key set', () => {
  it('after a refetch, a key rotated under the same kid verifies and the rotated-out key no longer does', async () => {
    const before = es256('k1');
    const after = es256('k1');
    published = [before.jwk];
    const jwks = createRemoteJWKSet(new URL(`${idp.url}/keys`));
    await expect(verifyJwt(await token(before), jwks, options)).resolves.toMatchObject({ sub: 'alice' });
    await expect(caught(async () => verifyJwt(await token(after), jwks, options))).resolves.toBeInstanceOf(errors.JWSSignatureVerificationFailed);

    published = [after.jwk];
    await jwks.reload();
    expect(idp.requests()).toBe(2);
    await expect(verifyJwt(await token(after), jwks, options)).resolves.toMatchObject({ sub: 'alice' });
    await expect(caught(async () => verifyJwt(await token(before), jwks, options))).resolves.toBeInstanceOf(errors.JWSSignatureVerificationFailed);
  }, 20_000);

  it('two key sets naming the same kid never share a cached key', async () => {
    const a = es256('same');
    const b = es256('same');
    const setA = createLocalJWKSet({ keys: [a.jwk] });
    const setB = createLocalJWKSet({ keys: [b.jwk] });
    const tokenA = await token(a);
    await expect(verifyJwt(tokenA, setA, options)).resolves.toMatchObject({ sub: 'alice' });
    await expect(caught(() => verifyJwt(tokenA, setB, options))).resolves.toBeInstanceOf(errors.JWSSignatureVerificationFailed);
    await expect(verifyJwt(await token(b), setB, options)).resolves.toMatchObject({ sub: 'alice' });
  });
});

describe('verifyJwt: what the key source must yield', () => {
  it('refuses a key source that hands back a JWK, a KeyObject or bytes instead of a CryptoKey', async () => {
    const key = es256('k');
    const jwt = await token(key);
    for (const wrong of [key.jwk, key.privateKey, new Uint8Array(32)]) {
      const err = await caught(() => verifyJwt(jwt, async () => wrong, options));
      expect(err).toBeInstanceOf(TypeError);
      expect(err.message).toBe('Key for the ES256 algorithm must be a CryptoKey from the JWKS key source');
    }
  });

  it('refuses a crit header, even one jose would understand', async () => {
    const key = es256('k');
    const err = await caught(async () => verifyJwt(await token(key, { crit: ['b64'], b64: true }), createLocalJWKSet({ keys: [key.jwk] }), options));
    expect(err).toBeInstanceOf(errors.JOSENotSupported);
  });
});
