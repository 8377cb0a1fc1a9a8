/**
 * Object-key rules (security invariant 2 in docs/security.md). Keys arrive relative to a grant prefix; they
 * are refused, never repaired, when they could escape it, reach another prefix through an IAM
 * wildcard or variable, or exceed S3's 1024-byte limit once joined.
 */
import { IAM_SPECIAL } from './identifiers.js';
import { MAX_OBJECT_KEY_BYTES } from './limits.js';
import { InternalError, InvalidKeyError } from '../domain/errors.js';

// A lone surrogate is the one code point of category Cs a `u` regex can see; paired surrogates
// form a supplementary code point. (String#isWellFormed is not in the ES2023 lib we compile for.)
const LONE_SURROGATE = /\p{Cs}/u;
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
/**
 * Invisible characters that change how a key reads without changing how it looks: the line and
 * paragraph separators U+2028/U+2029 (line breaks in logs, JavaScript and JSON-in-HTML), and every
 * format character (category Cf: bidi controls U+200E/F, U+202A–202E, U+2066–2069, zero-width
 * U+200B–200D, U+2060, the BOM U+FEFF, soft hyphen U+00AD, tag characters …). A key with U+202E
 * (`invoice` + U+202E + `fdp.exe`) prints as `invoiceexe.pdf`; two keys that print alike are two objects.
 */
const FORMAT = /[\p{Cf}\u2028\u2029]/u;

/**
 * The first rule `path` breaks (segments separated by "/", no trailing "/"), as a message
 * fragment such as `must not contain a backslash`; undefined when it breaks none. Run on NFC text.
 */
export function pathRuleViolation(path: string): string | undefined {
  if (CONTROL.test(path)) return 'must not contain control characters (C0, DEL or C1)';
  if (FORMAT.test(path)) {
    return 'must not contain invisible format characters (U+2028/U+2029 line and paragraph separators, bidi controls, zero-width characters: Unicode category Cf)';
  }
  if (path.startsWith('/')) return 'must not start with "/"';
  const segments = path.split('/');
  if (segments.some((s) => s === '')) return 'must not contain an empty segment ("//" or a trailing "/")';
  if (segments.some((s) => s === '.' || s === '..')) return 'must not contain "." or ".." segments';
  if (IAM_SPECIAL.test(path)) {
    return 'must not contain "*", "?" or "$" (IAM wildcards and variables: the Polaris CVE-2026-42810 class)';
  }
  if (path.includes('\\')) return 'must not contain a backslash';
  return undefined;
}

/** Shared front of both validators: type, well-formedness, then NFC (rules run on what S3 stores). */
function normalised(value: unknown, what: string): string {
  if (typeof value !== 'string' || value === '') throw new InvalidKeyError(`${what} must be a non-empty string`);
  if (LONE_SURROGATE.test(value)) throw new InvalidKeyError(`${what} must be well-formed Unicode (no lone surrogates)`);
  return value.normalize('NFC');
}

/** Validates a key relative to a grant prefix; returns it NFC-normalised or throws InvalidKeyError. */
export function validateRelativeKey(key: string): string {
  const nfc = normalised(key, 'key');
  const problem = pathRuleViolation(nfc);
  if (problem !== undefined) throw new InvalidKeyError(`key ${problem}`);
  return nfc;
}

/** Validates a narrowing prefix relative to a grant prefix (same rules, must end with "/"); returns it NFC. */
export function validateSubPrefix(prefix: string): string {
  const nfc = normalised(prefix, 'prefix');
  if (!nfc.endsWith('/')) throw new InvalidKeyError('prefix must end with "/"');
  // Checked before the trailing "/" is cut, so "/" itself reads as a leading "/", not an empty segment.
  if (nfc.startsWith('/')) throw new InvalidKeyError('prefix must not start with "/"');
  const problem = pathRuleViolation(nfc.slice(0, -1));
  if (problem !== undefined) throw new InvalidKeyError(`prefix ${problem}`);
  return nfc;
}

/** UTF-8 length, the unit of S3's key limit. */
export function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** Throws InvalidKeyError when `text` is over S3's key limit, naming the byte count and the limit. */
export function assertKeyLength(text: string, what: 'full key' | 'full prefix'): void {
  const bytes = utf8Bytes(text);
  if (bytes > MAX_OBJECT_KEY_BYTES) {
    throw new InvalidKeyError(`${what} is ${bytes} bytes of UTF-8; the limit is ${MAX_OBJECT_KEY_BYTES}`);
  }
}

/** The full key for `relativeKey` under a grant prefix; validates the key and the 1024-byte limit. */
export function joinKey(prefix: string, relativeKey: string): string {
  // The prefix comes from a validated grant; one without "/" here is a wiring bug, not bad input.
  if (!prefix.endsWith('/')) throw new InternalError('grant prefix must end with "/"');
  const full = prefix + validateRelativeKey(relativeKey);
  assertKeyLength(full, 'full key');
  return full;
}
