import { describe, expect, it } from '@jest/globals';
import { InternalError, InvalidKeyError } from '../../src/domain/errors.js';
import { joinKey, validateRelativeKey, validateSubPrefix } from '../../src/rules/objectKey.js';

const POLARIS = 'must not contain "*", "?" or "$" (IAM wildcards and variables: the Polaris CVE-2026-42810 class)';

describe('validateRelativeKey', () => {
  it.each(['a', 'report.pdf', 'dir/sub/file.txt', 'a..b/c.', '.hidden/x', 'ünïcödé/日本.txt', 'emoji😀', 'semi;colon'])('accepts %j', (key) => {
    expect(validateRelativeKey(key)).toBe(key);
  });

  it('returns the NFC form of a decomposed key', () => {
    const nfd = 'cafe\u0301/x';
    expect(validateRelativeKey(nfd)).toBe('caf\u00e9/x');
  });

  it.each<[string, unknown, string]>([
    ['empty', '', 'key must be a non-empty string'],
    ['not a string', 42, 'key must be a non-empty string'],
    ['a lone high surrogate', 'a\ud800b', 'key must be well-formed Unicode (no lone surrogates)'],
    ['a lone low surrogate', '\udc00', 'key must be well-formed Unicode (no lone surrogates)'],
    ['NUL', 'a\u0000b', 'key must not contain control characters (C0, DEL or C1)'],
    ['newline', 'a\nb', 'key must not contain control characters (C0, DEL or C1)'],
    ['DEL', 'a\u007fb', 'key must not contain control characters (C0, DEL or C1)'],
    ['C1 (NEL)', 'a\u0085b', 'key must not contain control characters (C0, DEL or C1)'],
    ['C1 upper bound', 'a\u009fb', 'key must not contain control characters (C0, DEL or C1)'],
    ['a leading "/"', '/etc/passwd', 'key must not start with "/"'],
    ['"//"', 'a//b', 'key must not contain an empty segment ("//" or a trailing "/")'],
    ['a trailing "/"', 'dir/', 'key must not contain an empty segment ("//" or a trailing "/")'],
    ['a ".." segment', 'a/../b', 'key must not contain "." or ".." segments'],
    ['a leading ".." segment', '../other-partner/x', 'key must not contain "." or ".." segments'],
    ['a "." segment', './x', 'key must not contain "." or ".." segments'],
    ['a trailing ".."', 'a/..', 'key must not contain "." or ".." segments'],
    ['"*"', 'a*', `key ${POLARIS}`],
    ['"?"', 'a?b', `key ${POLARIS}`],
    ['"$"', '${aws:username}', `key ${POLARIS}`],
    ['a backslash', 'a\\b', 'key must not contain a backslash'],
  ])('refuses %s', (_name, key, message) => {
    expect(() => validateRelativeKey(key as string)).toThrow(InvalidKeyError);
    expect(() => validateRelativeKey(key as string)).toThrow(message);
  });

  const FORMAT = 'must not contain invisible format characters (U+2028/U+2029 line and paragraph separators, bidi controls, zero-width characters: Unicode category Cf)';
  it.each<[string, string]>([
    ['U+2028 LINE SEPARATOR', '\u2028'], ['U+2029 PARAGRAPH SEPARATOR', '\u2029'],
    ['U+200E LRM', '\u200e'], ['U+200F RLM', '\u200f'],
    ['U+202A LRE', '\u202a'], ['U+202B RLE', '\u202b'], ['U+202C PDF', '\u202c'], ['U+202D LRO', '\u202d'], ['U+202E RLO', '\u202e'],
    ['U+2066 LRI', '\u2066'], ['U+2067 RLI', '\u2067'], ['U+2068 FSI', '\u2068'], ['U+2069 PDI', '\u2069'],
    ['U+FEFF BOM', '\ufeff'], ['U+200B ZWSP', '\u200b'], ['U+200D ZWJ', '\u200d'], ['U+2060 WJ', '\u2060'], ['U+00AD SHY', '\u00ad'],
    ['U+E0041 TAG LATIN CAPITAL A (astral Cf)', '\u{E0041}'],
  ])('refuses %s in a key and in a narrowing prefix', (_name, ch) => {
    expect(() => validateRelativeKey(`invoice${ch}fdp.exe`)).toThrow(InvalidKeyError);
    expect(() => validateRelativeKey(`invoice${ch}fdp.exe`)).toThrow(`key ${FORMAT}`);
    expect(() => validateSubPrefix(`dir${ch}/`)).toThrow(`prefix ${FORMAT}`);
  });

  it('keeps visible neighbours of the refused characters: U+2027, U+202F, U+205F, U+3000', () => {
    for (const ch of ['\u2027', '\u202f', '\u205f', '\u3000']) expect(validateRelativeKey(`a${ch}b`)).toBe(`a${ch}b`);
  });

  it('keeps U+00A0 (not a control character) and refuses U+0080 (C1)', () => {
    expect(validateRelativeKey('a\u00a0b')).toBe('a\u00a0b');
    expect(() => validateRelativeKey('a\u0080b')).toThrow(InvalidKeyError);
  });
});

describe('validateSubPrefix', () => {
  it('accepts a relative prefix ending with "/" and returns it NFC', () => {
    expect(validateSubPrefix('reports/2026/')).toBe('reports/2026/');
    expect(validateSubPrefix('cafe\u0301/')).toBe('caf\u00e9/');
  });

  it.each<[string, string]>([
    ['', 'prefix must be a non-empty string'],
    ['reports', 'prefix must end with "/"'],
    ['/', 'prefix must not start with "/"'],
    ['/reports/', 'prefix must not start with "/"'],
    ['a//', 'prefix must not contain an empty segment ("//" or a trailing "/")'],
    ['../', 'prefix must not contain "." or ".." segments'],
    ['a/./', 'prefix must not contain "." or ".." segments'],
    ['a*/', `prefix ${POLARIS}`],
    ['a\tb/', 'prefix must not contain control characters (C0, DEL or C1)'],
    ['a\\b/', 'prefix must not contain a backslash'],
  ])('refuses %j', (prefix, message) => {
    expect(() => validateSubPrefix(prefix)).toThrow(InvalidKeyError);
    expect(() => validateSubPrefix(prefix)).toThrow(message);
  });
});

describe('joinKey', () => {
  const prefix = 'acme/'; // 5 bytes

  it('joins the grant prefix and the normalised key', () => {
    expect(joinKey('acme/users/alice/', 'cafe\u0301.jpg')).toBe('acme/users/alice/caf\u00e9.jpg');
  });

  it('validates the relative key itself', () => {
    expect(() => joinKey(prefix, '../globex/x')).toThrow(InvalidKeyError);
    expect(() => joinKey(prefix, '../globex/x')).toThrow('key must not contain "." or ".." segments');
  });

  it('accepts a full key of exactly 1024 bytes', () => {
    const key = 'k'.repeat(1024 - 5);
    expect(Buffer.byteLength(joinKey(prefix, key))).toBe(1024);
  });

  it('refuses a full key of 1025 bytes, naming the count and the limit', () => {
    const key = 'k'.repeat(1025 - 5);
    expect(() => joinKey(prefix, key)).toThrow(InvalidKeyError);
    expect(() => joinKey(prefix, key)).toThrow('full key is 1025 bytes of UTF-8; the limit is 1024');
  });

  it.each([
    ['é (2 bytes)', '\u00e9', 2],
    ['€ (3 bytes)', '\u20ac', 3],
    ['😀 (4 bytes)', '\u{1f600}', 4],
  ])('counts bytes, not characters: %s', (_name, ch, width) => {
    // 1019 bytes remain after the prefix; fill them with multi-byte characters and ASCII padding.
    const count = Math.floor(1019 / width);
    const fits = ch.repeat(count) + 'k'.repeat(1019 - count * width);
    expect(Buffer.byteLength(joinKey(prefix, fits))).toBe(1024);
    expect(() => joinKey(prefix, `${fits}${ch}`)).toThrow(`full key is ${1024 + width} bytes of UTF-8; the limit is 1024`);
    expect(() => joinKey(prefix, `${fits}${ch}`)).toThrow(InvalidKeyError);
  });

  it('counts the bytes after NFC normalisation (what S3 stores)', () => {
    // "e" + U+0301 is 3 bytes; its NFC form é is 2, so 510 of them fit where the NFD form would not.
    const key = 'e\u0301'.repeat(509) + 'k';
    expect(Buffer.byteLength(joinKey(prefix, key))).toBe(5 + 1018 + 1);
  });

  it('treats a grant prefix without "/" as a wiring bug', () => {
    expect(() => joinKey('acme', 'x')).toThrow(InternalError);
    expect(() => joinKey('acme', 'x')).toThrow('grant prefix must end with "/"');
  });
});
