/**
 * For ANY filename a caller sends (arbitrary Unicode, lone surrogates included), the download's
 * Content-Disposition parses with a strict RFC 6266 parser (content-disposition 0.5.4 throws on a
 * broken quoted string, on trailing junk and on a duplicated parameter), has exactly one `filename`
 * and one `filename*`, a fallback made only of the safe ASCII set, and a `filename*` that decodes
 * to exactly the sanitised name.
 */
import { describe, expect, it } from '@jest/globals';
import { parse } from 'content-disposition';
import fc from 'fast-check';
import { attachmentDisposition, sanitiseFilename } from '../../src/rules/contentDisposition.js';

const RUNS = 3000;
const SAFE_FALLBACK = /^[A-Za-z0-9 ._+,()@~[\]-]+$/;
const HEADER = /^attachment; filename="([^"]*)"; filename\*=UTF-8''([A-Za-z0-9!#$&+\-.^_`|~%]+)$/;

/** Characters NFKD maps onto ASCII syntax, and syntax itself: the interesting neighbourhood. */
const hostileChar = fc.constantFrom('＂', '；', '＼', '％', '／', '＝', '"', ';', '\\', '%', '/', '=', '*', "'", ' ', '\u202E', '\uD800', '\uDFFF', '．', 'ﬁ', '…', '\r', '\n');
const filenames = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.string({ unit: 'grapheme', maxLength: 60 }),
  fc.array(fc.oneof(hostileChar, fc.string({ unit: 'binary-ascii', maxLength: 3 })), { maxLength: 40 }).map((parts) => parts.join('')),
);

describe('attachmentDisposition (property)', () => {
  it(`parses strictly, with one filename, a safe fallback, and filename* = the sanitised name (${RUNS} runs)`, () => {
    fc.assert(fc.property(filenames, (name) => {
      const header = attachmentDisposition(name);
      const m = HEADER.exec(header);
      expect(m).not.toBeNull();
      const [, fallback, encoded] = m as unknown as [string, string, string];
      expect(fallback).toMatch(SAFE_FALLBACK);
      expect(fallback.startsWith('.')).toBe(false);
      // strict parse: throws on a broken quoted string, trailing junk or a duplicated parameter
      const parsed = parse(header);
      expect(parsed.type).toBe('attachment');
      // exactly one filename and one filename* (HEADER above; a duplicate would have thrown): the
      // parser decodes filename* and lets it win over the fallback, as RFC 6266 says a reader should
      expect(Object.keys(parsed.parameters)).toEqual(['filename']);
      const clean = sanitiseFilename(name);
      expect(parsed.parameters['filename']).toBe(clean);
      expect(decodeURIComponent(encoded)).toBe(clean);
      // the fallback alone (as an old client reads it) parses too
      expect(parse(`attachment; filename="${fallback}"`).parameters['filename']).toBe(fallback);
    }), { numRuns: RUNS });
  });
});
