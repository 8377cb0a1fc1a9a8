import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { encodeSubject, SUBJECT_SEGMENT } from '../../src/rules/subject.js';

const NUM_RUNS = 2000;
const SESSION_CHARSET = /^[\w+=,.@-]+$/;

/** Subjects built to collide if anything could: tiny alphabets, the h- marker, dots, slashes, combining marks, surrogates. */
const trickyUnit = fc.constantFrom('a', 'A', 'h', '-', '.', '/', '_', 'é', 'e\u0301', '\u0301', '\ud800', '\udc00', '\ufffd', '😀', '*', '$', ' ', '\u0000');
const subject = fc.oneof(
  fc.string({ unit: trickyUnit, maxLength: 8 }),
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((n) => String.fromCharCode(n)), maxLength: 20 }), // lone surrogates too
  fc.stringMatching(/^h-[a-z2-7]{0,60}$/),
  fc.stringMatching(/^[A-Za-z0-9._-]{1,70}$/),
);

describe('encodeSubject (properties)', () => {
  it('is deterministic and always one safe segment, never "." or ".."', () => {
    fc.assert(fc.property(subject, (sub) => {
      const segment = encodeSubject(sub);
      expect(encodeSubject(sub)).toBe(segment);
      expect(segment).toMatch(SUBJECT_SEGMENT);
      expect(segment).toMatch(SESSION_CHARSET);
      expect(segment).not.toBe('.');
      expect(segment).not.toBe('..');
    }), { numRuns: NUM_RUNS });
  });

  it('is injective over distinct subjects (distinct raw strings, so distinct NFC forms too)', () => {
    fc.assert(fc.property(fc.uniqueArray(subject, { minLength: 2, maxLength: 30 }), (subs) => {
      expect(new Set(subs.map(encodeSubject)).size).toBe(subs.length);
    }), { numRuns: NUM_RUNS });
  });

  it('keeps NFC and NFD spellings of one text apart (no normalisation)', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 10 }), (text) => {
      const nfc = text.normalize('NFC');
      const nfd = text.normalize('NFD');
      fc.pre(nfc !== nfd);
      expect(encodeSubject(nfc)).not.toBe(encodeSubject(nfd));
    }), { numRuns: NUM_RUNS });
  });

  it('never lets one subject\'s folder contain another\'s: alice/x stays out of alice/', () => {
    const safe = fc.stringMatching(/^[A-Za-z0-9._-]{1,20}$/);
    fc.assert(fc.property(safe, fc.string({ maxLength: 20 }), (name, rest) => {
      const folder = (sub: string) => `acme/users/${encodeSubject(sub)}/`;
      const child = `${name}/${rest}`;
      expect(folder(child).startsWith(folder(name))).toBe(false);
      expect(encodeSubject(child).startsWith(`${name}/`)).toBe(false);
    }), { numRuns: NUM_RUNS });
  });

  it('gives distinct subjects folders where neither contains the other', () => {
    fc.assert(fc.property(subject, subject, (a, b) => {
      fc.pre(a !== b);
      const fa = `p/${encodeSubject(a)}/`;
      const fb = `p/${encodeSubject(b)}/`;
      expect(fa.startsWith(fb) || fb.startsWith(fa)).toBe(false);
    }), { numRuns: NUM_RUNS });
  });
});
