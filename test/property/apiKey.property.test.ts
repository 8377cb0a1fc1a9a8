/**
 * Property: nothing but the real key authenticates, and no refusal ever echoes what was presented.
 * The store holds real keys under ids the generators aim at, so well-formed guesses do reach the
 * hash comparison rather than stopping at the parser.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { generateApiKey, verifyApiKey } from '../../src/auth/apiKey.js';
import { UnauthenticatedError } from '../../src/domain/errors.js';
import { fakeStore } from '../support/authFakes.js';

const NOW = new Date('2026-05-01T12:00:00Z');
const RUNS = { numRuns: 1000 };
const REFUSALS = ['malformed API key', 'unknown or invalid API key'];

const real = ['k1', 'A', 'x'.repeat(32)].map((id) => generateApiKey(id));
const store = fakeStore({ apiKeys: real.map((k) => ({ partnerId: 'acme', clientId: 'backend', key: { id: k.id, sha256: k.sha256 } })) });

const BASE64URL = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'];
const ALNUM = BASE64URL.slice(0, 62);
const id = fc.oneof(fc.constantFrom(...real.map((k) => k.id)), fc.string({ unit: fc.constantFrom(...ALNUM), minLength: 1, maxLength: 32 }));
const secret = fc.string({ unit: fc.constantFrom(...BASE64URL), minLength: 43, maxLength: 80 });

/** Garbage of every kind: arbitrary text, well-formed guesses, and near-misses of real keys. */
const presented = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.tuple(id, secret).map(([i, s]) => `sbk_${i}_${s}`),
  fc.tuple(fc.constantFrom(...real.map((k) => k.key)), fc.nat(), fc.constantFrom(...BASE64URL, '', '=', ' ', '\n', 'é'))
    .map(([key, at, ch]) => {
      const i = at % key.length;
      return key.slice(0, i) + ch + key.slice(i + 1);
    })
    .filter((s) => !real.some((k) => k.key === s)),
);

/** What an attacker most wants kept out of logs and bodies: everything after the id. */
function secretPart(s: string): string {
  const match = /^sbk_[^_]*_(.*)$/s.exec(s);
  return match?.[1] ?? s;
}

async function refusal(s: string): Promise<Error> {
  try {
    await verifyApiKey(store, s, NOW);
  } catch (err) {
    return err as Error;
  }
  throw new Error('authenticated a garbage key');
}

describe('verifyApiKey (property)', () => {
  it('authenticates no generated garbage string', async () => {
    await fc.assert(fc.asyncProperty(presented, async (s) => {
      const err = await refusal(s);
      expect(err).toBeInstanceOf(UnauthenticatedError);
      expect(REFUSALS).toContain(err.message);
    }), RUNS);
  });

  it('never echoes the presented secret in a message', async () => {
    await fc.assert(fc.asyncProperty(presented, async (s) => {
      const err = await refusal(s);
      const hidden = secretPart(s);
      // Short fragments occur in any English sentence; four characters and up must never appear.
      if (hidden.length >= 4) expect(err.message).not.toContain(hidden);
      expect(`${err.message} ${String(err.cause ?? '')}`).not.toContain(s.length >= 4 ? s : '\u0000');
    }), RUNS);
  });

  it('still authenticates the real keys (the properties are not vacuous)', async () => {
    for (const k of real) expect((await verifyApiKey(store, k.key, NOW)).keyId).toBe(k.id);
  });
});
