import { describe, expect, it } from '@jest/globals';
import {
  MAX_CHAINED_SESSION_SECONDS, MAX_OBJECT_KEY_BYTES, MAX_PRESIGN_SECONDS, MAX_SESSION_NAME_LENGTH,
  MAX_SESSION_POLICY_CHARS, MAX_SINGLE_PUT_BYTES, MIN_PRESIGN_SECONDS, MIN_SESSION_SECONDS,
  SESSION_NAME_PATTERN, TAG_VALUE_PATTERN,
} from '../../src/rules/limits.js';

describe('AWS limits: the numbers', () => {
  it('match the documented AWS values', () => {
    expect(MIN_SESSION_SECONDS).toBe(900);
    expect(MAX_CHAINED_SESSION_SECONDS).toBe(3600);
    expect(MAX_SESSION_POLICY_CHARS).toBe(2048);
    expect(MAX_SESSION_NAME_LENGTH).toBe(64);
    expect(MAX_OBJECT_KEY_BYTES).toBe(1024);
    expect(MIN_PRESIGN_SECONDS).toBe(1);
    expect(MAX_PRESIGN_SECONDS).toBe(7 * 24 * 3600);
    expect(MAX_SINGLE_PUT_BYTES).toBe(5 * 1024 * 1024 * 1024);
  });
});

describe('SESSION_NAME_PATTERN (RoleSessionName, SourceIdentity): 2–64 of [\\w+=,.@-]', () => {
  it.each([
    ['1 character', 'a', false],
    ['2 characters', 'ab', true],
    ['64 characters', 'a'.repeat(64), true],
    ['65 characters', 'a'.repeat(65), false],
    ['MAX_SESSION_NAME_LENGTH characters', 'x'.repeat(MAX_SESSION_NAME_LENGTH), true],
    ['empty', '', false],
    ['every allowed punctuation', 'A_z0+=,.@-', true],
  ])('%s', (_label, name, ok) => {
    expect(SESSION_NAME_PATTERN.test(name)).toBe(ok);
  });

  it.each([' ', '/', ':', '*', '?', '$', '{', '"', '\\', 'é', 'ß', '\u0000'])('refuses %j', (ch) => {
    expect(SESSION_NAME_PATTERN.test(`ab${ch}cd`)).toBe(false);
  });

  it('cannot be fooled by a trailing newline or a leading one', () => {
    expect(SESSION_NAME_PATTERN.test('abc\n')).toBe(false);
    expect(SESSION_NAME_PATTERN.test('\nabc')).toBe(false);
  });
});

describe('TAG_VALUE_PATTERN: ≤ 256 of letters, spaces, digits and _.:/=+-@', () => {
  it.each([
    ['empty', '', true],
    ['256 characters', 'v'.repeat(256), true],
    ['257 characters', 'v'.repeat(257), false],
    ['256 non-ASCII letters (counted as characters)', 'é'.repeat(256), true],
    ['every allowed punctuation', 'a_b.c:d/e=f+g-h@i', true],
    ['Unicode letters, digits and spaces', 'Zoë 東京 ٣', true],
  ])('%s', (_label, value, ok) => {
    expect(TAG_VALUE_PATTERN.test(value)).toBe(ok);
  });

  it.each([',', '*', '?', '$', '"', '#', '!', '\n', '😀'])('refuses %j', (ch) => {
    expect(TAG_VALUE_PATTERN.test(`ab${ch}cd`)).toBe(false);
  });
});
