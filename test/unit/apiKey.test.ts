import { describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { generateApiKey, hashApiKey, verifyApiKey } from '../../src/auth/apiKey.js';
import type { ApiKeyEntry } from '../../src/config/schema.js';
import { UnauthenticatedError } from '../../src/domain/errors.js';
import { caught, fakeStore } from '../support/authFakes.js';

const NOW = new Date('2026-05-01T12:00:00Z');

/** A store holding one freshly generated key for acme/backend, with extra entry fields. */
function storeWithKey(extra: Partial<ApiKeyEntry> = {}) {
  const generated = generateApiKey('k1');
  const store = fakeStore({
    apiKeys: [{ partnerId: 'acme', clientId: 'backend', key: { id: generated.id, sha256: generated.sha256, ...extra } }],
  });
  return { store, key: generated.key };
}

async function expectUnauthenticated(run: () => unknown, message: string): Promise<void> {
  const err = await caught(run);
  expect(err).toBeInstanceOf(UnauthenticatedError);
  expect(err.message).toBe(message);
}

describe('generateApiKey', () => {
  it('makes sbk_<id>_<secret> with 32 random bytes of base64url secret and a 12-char base32 id', () => {
    const { key, id, sha256 } = generateApiKey();
    expect(id).toMatch(/^[a-z2-7]{12}$/);
    expect(key).toMatch(new RegExp(`^sbk_${id}_[A-Za-z0-9_-]{43}$`));
    expect(Buffer.from(key.split('_').slice(2).join('_'), 'base64url')).toHaveLength(32);
    expect(sha256).toBe(createHash('sha256').update(key).digest('hex'));
  });

  it('never repeats a key or an id', () => {
    const keys = Array.from({ length: 200 }, () => generateApiKey());
    expect(new Set(keys.map((k) => k.key)).size).toBe(200);
    expect(new Set(keys.map((k) => k.id)).size).toBe(200);
  });

  it('uses a given id, and refuses one that is not 1–32 letters or digits', async () => {
    expect(generateApiKey('Backend2026').key).toMatch(/^sbk_Backend2026_/);
    for (const bad of ['', 'a_b', 'a-b', 'x'.repeat(33), 'ключ']) {
      const err = await caught(() => generateApiKey(bad));
      expect(err).toBeInstanceOf(RangeError);
      expect(err.message).toBe('API key id must be 1–32 letters or digits');
    }
  });
});

describe('hashApiKey', () => {
  it('is the SHA-256 hex of the whole key string', () => {
    expect(hashApiKey('sbk_k1_abc')).toBe(createHash('sha256').update('sbk_k1_abc', 'utf8').digest('hex'));
  });
});

describe('verifyApiKey', () => {
  it('accepts the right key and names its owner', async () => {
    const { store, key } = storeWithKey();
    expect(await verifyApiKey(store, key, NOW)).toEqual({ partnerId: 'acme', clientId: 'backend', keyId: 'k1' });
  });

  it('accepts a key whose expiry is still ahead', async () => {
    const { store, key } = storeWithKey({ expires: new Date('2026-05-01T12:00:01Z'), disabled: false });
    expect((await verifyApiKey(store, key, NOW)).keyId).toBe('k1');
  });

  const secret = 'A'.repeat(43);
  it.each([
    ['empty', ''],
    ['prefix only', 'sbk_'],
    ['no secret', 'sbk_k1'],
    ['empty id', `sbk__${secret}`],
    ['id with a dash', `sbk_k-1_${secret}`],
    ['id of 33 chars', `sbk_${'k'.repeat(33)}_${secret}`],
    ['secret of 42 chars', `sbk_k1_${'A'.repeat(42)}`],
    ['secret of 257 chars', `sbk_k1_${'A'.repeat(257)}`],
    ['standard base64 alphabet', `sbk_k1_${'A'.repeat(41)}+/`],
    ['padding', `sbk_k1_${secret}=`],
    ['upper-case prefix', `SBK_k1_${secret}`],
    ['other prefix', `sbx_k1_${secret}`],
    ['leading space', ` sbk_k1_${secret}`],
    ['trailing newline', `sbk_k1_${secret}\n`],
    ['non-ASCII secret', `sbk_k1_${'é'.repeat(43)}`],
    ['a JWT', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln'],
  ])('refuses a malformed key (%s) before any lookup', async (_name, presented) => {
    const store = fakeStore({});
    const lookups: string[] = [];
    const spying = { ...store, findApiKey: (id: string) => { lookups.push(id); return store.findApiKey(id); } };
    await expectUnauthenticated(() => verifyApiKey(spying, presented, NOW), 'malformed API key');
    expect(lookups).toEqual([]);
  });

  it('refuses an unknown id and a wrong secret with the same message', async () => {
    const { store, key } = storeWithKey();
    const otherSecret = generateApiKey('k1').key;
    await expectUnauthenticated(() => verifyApiKey(store, key.replace('sbk_k1_', 'sbk_k2_'), NOW), 'unknown or invalid API key');
    await expectUnauthenticated(() => verifyApiKey(store, otherSecret, NOW), 'unknown or invalid API key');
  });

  it('refuses a key that differs from the stored one in its last character', async () => {
    const { store, key } = storeWithKey();
    const last = key.at(-1) === 'A' ? 'B' : 'A';
    await expectUnauthenticated(() => verifyApiKey(store, key.slice(0, -1) + last, NOW), 'unknown or invalid API key');
  });

  it('refuses a disabled key, but tells only a caller who holds the secret', async () => {
    const { store, key } = storeWithKey({ disabled: true });
    await expectUnauthenticated(() => verifyApiKey(store, key, NOW), 'API key is disabled');
    await expectUnauthenticated(() => verifyApiKey(store, generateApiKey('k1').key, NOW), 'unknown or invalid API key');
  });

  it('refuses an expired key, from its expiry instant on', async () => {
    const past = storeWithKey({ expires: new Date('2026-04-30T00:00:00Z') });
    await expectUnauthenticated(() => verifyApiKey(past.store, past.key, NOW), 'API key expired');
    const exact = storeWithKey({ expires: NOW });
    await expectUnauthenticated(() => verifyApiKey(exact.store, exact.key, NOW), 'API key expired');
    await expectUnauthenticated(() => verifyApiKey(past.store, generateApiKey('k1').key, NOW), 'unknown or invalid API key');
  });

  it('treats a stored hash of the wrong length as a mismatch, not a crash', async () => {
    const { key } = generateApiKey('k1');
    const store = fakeStore({ apiKeys: [{ partnerId: 'acme', clientId: 'backend', key: { id: 'k1', sha256: 'abcd' } }] });
    await expectUnauthenticated(() => verifyApiKey(store, key, NOW), 'unknown or invalid API key');
  });

  it('never puts the key or its secret in the message', async () => {
    const { store, key } = storeWithKey({ disabled: true });
    const secretPart = key.slice('sbk_k1_'.length);
    for (const presented of [key, generateApiKey('k1').key, generateApiKey('zz').key, `${key}!`]) {
      const err = await caught(() => verifyApiKey(store, presented, NOW));
      expect(err.message).not.toContain(presented.slice(7));
      expect(err.message).not.toContain(secretPart);
    }
  });
});
