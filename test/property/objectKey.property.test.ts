import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { InvalidKeyError } from '../../src/domain/errors.js';
import { joinKey, validateRelativeKey } from '../../src/rules/objectKey.js';

const NUM_RUNS = 2000;

const prefix = fc.constantFrom('acme/', 'acme/users/alice/', 'acme/users/h-zvfuipkd7lzn7sxbgerj7n746m3m5ksriixyrbpk25tsa6jmmf4q/', `${'p'.repeat(1000)}/`);
/** Mostly legal units, with the traps NFC sets: combining marks, Å vs U+212B ANGSTROM, multi-byte characters. */
const cleanUnit = fc.constantFrom('a', 'b', 'a', 'b', '/', '.', '-', '_', 'é', 'e\u0301', '\u0301', 'Å', '\u212b', '€', '😀', '日', '\u00a0');
/** Units the rules must refuse wherever they land, plus arbitrary code points. */
const hostileUnit = fc.oneof(
  fc.constantFrom('*', '?', '$', '\\', '\u0000', '\n', '\u007f', '\u0085', '\u009f', '\ud800', '\udc00'),
  // line/paragraph separators and format characters (category Cf: bidi controls, zero-width, BOM, tags)
  fc.constantFrom('\u2028', '\u2029', '\u200e', '\u200f', '\u202a', '\u202e', '\u2066', '\u2069', '\ufeff', '\u200b', '\u200d', '\u00ad', '\u{E0001}'),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 2 }),
);
const hostileKey = fc.oneof(
  fc.string({ unit: cleanUnit, maxLength: 40 }),
  fc.string({ unit: cleanUnit, minLength: 250, maxLength: 420 }), // crosses 1024 bytes with multi-byte units or a long prefix
  fc.tuple(fc.string({ unit: cleanUnit, maxLength: 20 }), hostileUnit, fc.string({ unit: cleanUnit, maxLength: 20 })).map((parts) => parts.join('')),
);

describe('validateRelativeKey + joinKey (properties)', () => {
  it('either refuse with InvalidKeyError or return a key inside the prefix that obeys every rule', () => {
    fc.assert(fc.property(prefix, hostileKey, (p, key) => {
      let full: string;
      try {
        full = joinKey(p, validateRelativeKey(key));
      } catch (err) {
        expect(err).toBeInstanceOf(InvalidKeyError);
        return;
      }
      expect(full.startsWith(p)).toBe(true);
      const segments = full.split('/');
      expect(segments.every((s) => s !== '' && s !== '.' && s !== '..')).toBe(true);
      expect(full).not.toMatch(/[*?$\\]/);
      expect(full).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
      expect(full).not.toMatch(/\p{Cs}/u);
      expect(full).not.toMatch(/[\p{Cf}\u2028\u2029]/u);
      expect(Buffer.byteLength(full, 'utf8')).toBeLessThanOrEqual(1024);
      expect(full.normalize('NFC')).toBe(full);
    }), { numRuns: NUM_RUNS });
  });

  it('is idempotent: a validated key validates to itself', () => {
    fc.assert(fc.property(hostileKey, (key) => {
      let once: string;
      try {
        once = validateRelativeKey(key);
      } catch {
        return;
      }
      expect(validateRelativeKey(once)).toBe(once);
    }), { numRuns: NUM_RUNS });
  });

  it('refuses every key with a U+2028/U+2029 or Cf character, wherever it lands (allowed inside, denied outside)', () => {
    const invisible = fc.oneof(
      fc.constantFrom('\u2028', '\u2029', '\u200e', '\u200f', '\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069', '\ufeff'),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }).filter((c) => /\p{Cf}/u.test(c)),
      fc.integer({ min: 0xe0000, max: 0xe007f }).map((cp) => String.fromCodePoint(cp)).filter((c) => /\p{Cf}/u.test(c)),
    );
    const clean = fc.string({ unit: cleanUnit, maxLength: 20 });
    fc.assert(fc.property(prefix, clean, invisible, clean, (p, before, ch, after) => {
      expect(() => joinKey(p, before + ch + after)).toThrow(InvalidKeyError);
    }), { numRuns: NUM_RUNS });
  });

  it('accepts every well-formed key that fits (the rules refuse only what they name)', () => {
    const segment = fc.stringMatching(/^[A-Za-z0-9_\-][A-Za-z0-9._\- éü日😀]{0,30}$/u);
    fc.assert(fc.property(prefix, fc.array(segment, { minLength: 1, maxLength: 8 }), (p, segments) => {
      const key = segments.join('/');
      fc.pre(Buffer.byteLength(p + key) <= 1024);
      expect(joinKey(p, key)).toBe(p + key.normalize('NFC'));
    }), { numRuns: NUM_RUNS });
  });
});
