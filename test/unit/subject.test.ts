import { describe, expect, it } from '@jest/globals';
import { base32, encodeSubject, isVerbatimSubject, SUBJECT_SEGMENT } from '../../src/rules/subject.js';

/** Valid everywhere the segment is used: S3 path segment, RoleSessionName/SourceIdentity charset. */
function expectSafe(segment: string): void {
  expect(segment).toMatch(SUBJECT_SEGMENT);
  expect(segment).toMatch(/^[\w+=,.@-]+$/);
  expect(segment).not.toBe('.');
  expect(segment).not.toBe('..');
}

describe('base32', () => {
  it.each([
    ['', ''], ['f', 'my'], ['fo', 'mzxq'], ['foo', 'mzxw6'], ['foob', 'mzxw6yq'], ['fooba', 'mzxw6ytb'], ['foobar', 'mzxw6ytboi'],
  ])('matches the RFC 4648 test vector for %j (lowercase, no padding)', (input, expected) => {
    expect(base32(Buffer.from(input))).toBe(expected);
  });
});

describe('encodeSubject', () => {
  it.each(['alice', 'user_42', 'a.b-c', 'A', '...', 'x'.repeat(64), 'H-upper-is-not-the-marker', '00000000-0000-4000-8000-000000000000'])(
    'keeps the safe segment %j as is', (sub) => {
      expect(encodeSubject(sub)).toBe(sub);
    },
  );

  it.each([
    ['empty', ''],
    ['"."', '.'],
    ['".."', '..'],
    ['a slash', 'alice/x'],
    ['65 characters', 'x'.repeat(65)],
    ['the encoded marker "h-"', 'h-abc'],
    ['a wildcard', 'a*'],
    ['a variable', '${aws:username}'],
    ['an email address', 'alice@example.com'],
    ['unicode', 'jos\u00e9'],
    ['a pipe (Auth0 style)', 'auth0|1234'],
    ['a space', 'alice smith'],
  ])('encodes %s as h- + 52 base32 characters', (_name, sub) => {
    const segment = encodeSubject(sub);
    expect(segment).toMatch(/^h-[a-z2-7]{52}$/);
    expectSafe(segment);
  });

  it('is pinned: folder names live in S3, so the encoding must never change silently', () => {
    expect(encodeSubject('alice/x')).toBe('h-zvfuipkd7lzn7sxbgerj7n746m3m5ksriixyrbpk25tsa6jmmf4q');
  });

  it('keeps alice/x out of alice/', () => {
    expect(encodeSubject('alice/x').startsWith('alice')).toBe(false);
    expect(encodeSubject('alice/x')).not.toContain('/');
  });

  it('does not Unicode-normalise: NFC and NFD forms are distinct subjects with distinct segments', () => {
    const nfc = 'jos\u00e9';
    const nfd = 'jose\u0301';
    expect(encodeSubject(nfc)).not.toBe(encodeSubject(nfd));
  });

  it('keeps a lone surrogate distinct from U+FFFD, which UTF-8 encoding would merge it with', () => {
    expect(encodeSubject('a\ud800')).not.toBe(encodeSubject('a\ufffd'));
    expectSafe(encodeSubject('a\ud800'));
  });

  it('keeps "h-…" subjects apart from the encodings of other subjects', () => {
    const encoded = encodeSubject('alice/x');
    expect(encodeSubject(encoded)).not.toBe(encoded);
  });
});

describe('isVerbatimSubject', () => {
  it.each([['alice', true], ['.', false], ['..', false], ['h-x', false], ['', false], ['a/b', false]])('%j → %p', (sub, expected) => {
    expect(isVerbatimSubject(sub)).toBe(expected);
  });
});
