import { describe, expect, it } from '@jest/globals';
import { authenticate, type AuthenticateDeps } from '../../src/auth/authenticate.js';
import { generateApiKey } from '../../src/auth/apiKey.js';
import { UnauthenticatedError } from '../../src/domain/errors.js';
import { encodeSubject } from '../../src/rules/subject.js';
import { caught, fakeStore } from '../support/authFakes.js';

const NOW = new Date('2026-05-01T12:00:00Z');
const JWT = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln';

/** Deps with one API key for acme/backend and a JWT fake that records what it was asked to verify. */
function setup(subject = 'alice@example.com') {
  const key = generateApiKey('k1');
  const verified: string[] = [];
  const deps: AuthenticateDeps = {
    store: fakeStore({ apiKeys: [{ partnerId: 'acme', clientId: 'backend', key: { id: key.id, sha256: key.sha256 } }] }),
    jwt: {
      verify: async (token: string) => {
        verified.push(token);
        return { partnerId: 'acme', clientId: 'app', subject };
      },
    },
    now: () => NOW,
  };
  return { key: key.key, deps, verified };
}

const normal = { allowBareAuthorizationApiKey: false };
const container = { allowBareAuthorizationApiKey: true };

const apiKeyCaller = { partnerId: 'acme', clientId: 'backend', method: 'api-key', subject: 'k1', subjectSegment: 'k1' };

async function expectUnauthenticated(run: () => Promise<unknown>, message: string): Promise<void> {
  const err = await caught(run);
  expect(err).toBeInstanceOf(UnauthenticatedError);
  expect(err.message).toBe(message);
}

describe('authenticate', () => {
  it('takes an API key from X-Api-Key; the subject is the key id', async () => {
    const { key, deps, verified } = setup();
    await expect(authenticate({ 'x-api-key': key }, deps, normal)).resolves.toEqual(apiKeyCaller);
    expect(verified).toEqual([]);
  });

  it('takes an API key from Authorization: Bearer sbk_…, any case of the scheme', async () => {
    const { key, deps, verified } = setup();
    await expect(authenticate({ authorization: `Bearer ${key}` }, deps, normal)).resolves.toEqual(apiKeyCaller);
    await expect(authenticate({ authorization: `bearer  ${key}` }, deps, normal)).resolves.toEqual(apiKeyCaller);
    expect(verified).toEqual([]);
  });

  it('takes a JWT from Authorization: Bearer; the subject is the claim, its segment encoded', async () => {
    const { deps, verified } = setup('alice@example.com');
    await expect(authenticate({ authorization: `Bearer ${JWT}` }, deps, normal)).resolves.toEqual({
      partnerId: 'acme', clientId: 'app', method: 'jwt', subject: 'alice@example.com', subjectSegment: encodeSubject('alice@example.com'),
    });
    expect(encodeSubject('alice@example.com')).not.toBe('alice@example.com');
    expect(verified).toEqual([JWT]);
  });

  it('accepts a bare Authorization: sbk_… only on the container-credentials route', async () => {
    const { key, deps } = setup();
    await expect(authenticate({ authorization: key }, deps, container)).resolves.toEqual(apiKeyCaller);
    await expect(authenticate({ authorization: `Bearer ${key}` }, deps, container)).resolves.toEqual(apiKeyCaller);
    await expectUnauthenticated(() => authenticate({ authorization: key }, deps, normal), 'unsupported Authorization scheme: send Authorization: Bearer <token>');
  });

  it('never treats a bare JWT as a credential, even on the container route', async () => {
    const { deps, verified } = setup();
    await expectUnauthenticated(() => authenticate({ authorization: JWT }, deps, container), 'unsupported Authorization scheme: send Authorization: Bearer <token>');
    expect(verified).toEqual([]);
  });

  it('refuses two credentials at once', async () => {
    const { key, deps, verified } = setup();
    await expectUnauthenticated(() => authenticate({ 'x-api-key': key, authorization: `Bearer ${JWT}` }, deps, normal), 'send one credential, not both');
    await expectUnauthenticated(() => authenticate({ 'x-api-key': key, authorization: `Bearer ${key}` }, deps, container), 'send one credential, not both');
    expect(verified).toEqual([]);
  });

  it('refuses a request without credentials', async () => {
    const { deps } = setup();
    await expectUnauthenticated(() => authenticate({ 'content-type': 'application/json', authorization: undefined }, deps, normal),
      'missing credentials: send X-Api-Key or Authorization: Bearer <token>');
  });

  it('refuses other schemes and an empty bearer token', async () => {
    const { key, deps } = setup();
    await expectUnauthenticated(() => authenticate({ authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }, deps, normal), 'unsupported Authorization scheme: send Authorization: Bearer <token>');
    await expectUnauthenticated(() => authenticate({ authorization: `Token ${key}` }, deps, container), 'unsupported Authorization scheme: send Authorization: Bearer <token>');
    await expectUnauthenticated(() => authenticate({ authorization: 'Bearer   ' }, deps, normal), 'missing bearer token');
  });

  it('passes API-key failures through with their own message', async () => {
    const { key, deps } = setup();
    await expectUnauthenticated(() => authenticate({ 'x-api-key': 'sbk_k1_short' }, deps, normal), 'malformed API key');
    await expectUnauthenticated(() => authenticate({ 'x-api-key': '' }, deps, normal), 'malformed API key');
    await expectUnauthenticated(() => authenticate({ authorization: `Bearer ${key.slice(0, -2)}AA` }, deps, normal), 'unknown or invalid API key');
  });

  it('passes JWT failures through unchanged', async () => {
    const { deps } = setup();
    const refusing: AuthenticateDeps = { ...deps, jwt: { verify: () => Promise.reject(new UnauthenticatedError('token expired')) } };
    await expectUnauthenticated(() => authenticate({ authorization: `Bearer ${JWT}` }, refusing, normal), 'token expired');
  });

  it('checks API-key expiry against the injected clock', async () => {
    const key = generateApiKey('k2');
    const deps: AuthenticateDeps = {
      store: fakeStore({ apiKeys: [{ partnerId: 'acme', clientId: 'backend', key: { id: 'k2', sha256: key.sha256, expires: new Date('2026-06-01T00:00:00Z') } }] }),
      jwt: { verify: () => Promise.reject(new Error('not used')) },
      now: () => new Date('2026-06-01T00:00:01Z'),
    };
    await expectUnauthenticated(() => authenticate({ 'x-api-key': key.key }, deps, normal), 'API key expired');
    await expect(authenticate({ 'x-api-key': key.key }, { ...deps, now: () => NOW }, normal)).resolves.toMatchObject({ subject: 'k2' });
  });
});
