/**
 * `${sub}` → exactly one safe path segment (docs/security.md, "Authorization: the grant"). The segment feeds the grant
 * prefix, RoleSessionName, SourceIdentity and the `subject` session tag.
 *
 * Decision: subjects are NOT Unicode-normalised. OIDC compares `sub` as an exact string, and
 * folding NFC/NFD variants together would let two distinct principals share one folder (the
 * classic username-canonicalisation account takeover). Every distinct raw string therefore gets
 * its own segment; segments themselves are ASCII, so no normalisation question remains downstream.
 */
import { createHash } from 'node:crypto';
import { BASE32_ALPHABET } from './identifiers.js';

/** The shape every subject segment has: one S3 path segment, also valid in session names and tags. */
export const SUBJECT_SEGMENT = /^[A-Za-z0-9._-]{1,64}$/;
/** The longest a subject segment can be (SUBJECT_SEGMENT's upper bound). */
export const SUBJECT_SEGMENT_MAX_CHARS = 64;
/** Marks encoded segments; raw subjects starting with it are encoded too, so the namespaces never meet. */
export const ENCODED_PREFIX = 'h-';
/** 52 base32 chars carry 260 bits ≥ SHA-256's 256: the whole digest, so no truncation collisions. */
const ENCODED_DIGEST_CHARS = 52;

/** RFC 4648 base32, lowercase, without padding. */
export function base32(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += BASE32_ALPHABET[(buffer >>> bits) & 31];
    }
    buffer &= (1 << bits) - 1; // keep only the unread bits so the accumulator never overflows
  }
  if (bits > 0) out += BASE32_ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}

/** Whether `sub` may be used verbatim: a safe segment, not `.`/`..`, outside the encoded namespace. */
export function isVerbatimSubject(sub: string): boolean {
  return SUBJECT_SEGMENT.test(sub) && sub !== '.' && sub !== '..' && !sub.startsWith(ENCODED_PREFIX);
}

/**
 * The bytes that identify a subject. Well-formed text hashes as UTF-8 (reproducible in any
 * language); text with lone surrogates, which UTF-8 would replace with U+FFFD and so merge,
 * hashes as 0xFF + UTF-16LE code units. 0xFF never occurs in UTF-8, so the two domains are disjoint.
 */
function subjectBytes(sub: string): Buffer {
  if (!/\p{Cs}/u.test(sub)) return Buffer.from(sub, 'utf8');
  return Buffer.concat([Buffer.from([0xff]), Buffer.from(sub, 'utf16le')]);
}

/** Encodes a raw subject as one safe path segment; deterministic and injective over raw strings. */
export function encodeSubject(sub: string): string {
  if (isVerbatimSubject(sub)) return sub;
  const digest = createHash('sha256').update(subjectBytes(sub)).digest();
  return ENCODED_PREFIX + base32(digest).slice(0, ENCODED_DIGEST_CHARS);
}
