/**
 * API keys: `sbk_<id>_<secret>`. The id is for lookup, audit and revocation; the secret is at least
 * 32 random bytes in base64url. The config stores only the SHA-256 of the whole key, so a leaked
 * config grants nothing (see docs/security.md).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { UnauthenticatedError } from '../domain/errors.js';
import type { GrantStore } from '../ports/ports.js';
import { API_KEY_ID, API_KEY_ID_CHARS, BASE32_ALPHABET } from '../rules/identifiers.js';

export const API_KEY_PREFIX = 'sbk_';
/** Lookup ids: the same rule as the config schema's `apiKeys[].id`. */
export { API_KEY_ID };
/** 43 base64url chars carry 32 bytes; the upper bound only stops absurd inputs before hashing. */
const API_KEY = new RegExp(`^${API_KEY_PREFIX}(${API_KEY_ID_CHARS})_([A-Za-z0-9_-]{43,256})$`);
const SECRET_BYTES = 32;
const GENERATED_ID_LENGTH = 12;
/** Hashed when the id is unknown, so both failure paths do the same work. */
const DUMMY_HASH = Buffer.alloc(32);

/** The one message for "no such id" and "wrong secret": a caller cannot probe which ids exist. */
const UNKNOWN_OR_INVALID = 'unknown or invalid API key';

export interface GeneratedApiKey {
  /** The full key: shown once to its owner, never stored. */
  key: string;
  id: string;
  /** SHA-256 (hex) of `key`: what the config stores. */
  sha256: string;
}

export interface VerifiedApiKey {
  partnerId: string;
  clientId: string;
  keyId: string;
}

/** Makes a new API key with 32 random bytes of secret; `id` defaults to 12 random base32 chars. */
export function generateApiKey(id: string = randomId()): GeneratedApiKey {
  if (!API_KEY_ID.test(id)) throw new RangeError('API key id must be 1–32 letters or digits');
  const key = `${API_KEY_PREFIX}${id}_${randomBytes(SECRET_BYTES).toString('base64url')}`;
  return { key, id, sha256: hashApiKey(key) };
}

/** SHA-256 (hex) of the whole key string, as stored in the config. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Whether `value` has the shape of an API key (used to route `Authorization: Bearer sbk_…`). */
export function looksLikeApiKey(value: string): boolean {
  return value.startsWith(API_KEY_PREFIX);
}

/**
 * Authenticates a presented API key against the store. Throws UnauthenticatedError; no message
 * ever contains the key or any part of its secret.
 */
export async function verifyApiKey(store: Pick<GrantStore, 'findApiKey'>, presented: string, now: Date): Promise<VerifiedApiKey> {
  const id = parseKeyId(presented);
  const found = await store.findApiKey(id);
  const expected = found ? storedDigest(found.key) : DUMMY_HASH;
  const actual = createHash('sha256').update(presented, 'utf8').digest();
  // timingSafeEqual throws on unequal lengths; a malformed stored hash is simply a mismatch.
  const matches = expected.length === actual.length && timingSafeEqual(expected, actual);
  if (!found || !matches) throw new UnauthenticatedError(UNKNOWN_OR_INVALID);
  // Status is checked only after the secret matched, so only the key's owner learns it.
  if (found.key.disabled === true) throw new UnauthenticatedError('API key is disabled');
  if (found.key.expires !== undefined && found.key.expires.getTime() <= now.getTime()) {
    throw new UnauthenticatedError('API key expired');
  }
  return { partnerId: found.partnerId, clientId: found.clientId, keyId: id };
}

/** The `<id>` of a well-formed key; anything else is refused before any lookup. */
/** The stored SHA-256 as bytes, decoded once per config key object (a reload brings new objects). */
const digests = new WeakMap<object, Buffer>();
function storedDigest(key: { sha256: string }): Buffer {
  let digest = digests.get(key);
  if (digest === undefined) {
    digest = Buffer.from(key.sha256, 'hex');
    digests.set(key, digest);
  }
  return digest;
}

function parseKeyId(presented: string): string {
  const match = API_KEY.exec(presented);
  if (!match?.[1]) throw new UnauthenticatedError('malformed API key');
  return match[1];
}

function randomId(): string {
  return Array.from(randomBytes(GENERATED_ID_LENGTH), (b) => BASE32_ALPHABET[b & 31]).join('');
}
