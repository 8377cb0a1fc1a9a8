/**
 * Content-Disposition for downloads: the reported attacks, each checked with a real RFC 6266 parser
 * (content-disposition 0.5.4, which throws on a broken quoted string, trailing junk or a duplicated
 * parameter), plus the exact header for a few names.
 */
import { describe, expect, it } from '@jest/globals';
import { parse } from 'content-disposition';
import { asciiFallback, attachmentDisposition, sanitiseFilename } from '../../src/rules/contentDisposition.js';

/** The header's parameters, split by hand (to count them: the parser would merge or refuse duplicates). */
const parameterNames = (header: string) => [...header.matchAll(/;\s*([^=;\s]+)=/g)].map((m) => m[1]!.toLowerCase());

describe('attachmentDisposition: fullwidth syntax characters cannot reach the ASCII fallback', () => {
  it('refuses the parameter injection invoice＂； filename=invoice.html； x=＂.pdf', () => {
    const header = attachmentDisposition('invoice＂； filename=invoice.html； x=＂.pdf');
    expect(parameterNames(header)).toEqual(['filename', 'filename*']);
    const parsed = parse(header);
    expect(parsed.type).toBe('attachment');
    // the parser prefers filename*; the exact name round-trips
    expect(parsed.parameters['filename']).toBe('invoice＂； filename=invoice.html； x=＂.pdf');
    expect(header).toBe(
      'attachment; filename="invoice__ filename_invoice.html_ x__.pdf"; '
      + "filename*=UTF-8''invoice%EF%BC%82%EF%BC%9B%20filename%3Dinvoice.html%EF%BC%9B%20x%3D%EF%BC%82.pdf",
    );
  });

  it('a trailing fullwidth backslash cannot escape the closing quote', () => {
    const header = attachmentDisposition('report＼');
    expect(header.startsWith('attachment; filename="report_"; ')).toBe(true);
    expect(parse(header).parameters['filename']).toBe('report＼');
  });

  it.each(['＂', '；', '＼', '％', '／', '＝'])('%s becomes "_" in the fallback, never its ASCII form', (ch) => {
    expect(asciiFallback(`a${ch}b`)).toBe('a_b');
  });

  it('keeps accented Latin readable (NFKD, marks dropped) and replaces the rest', () => {
    expect(asciiFallback('Café résumé.pdf')).toBe('Cafe resume.pdf');
    expect(asciiFallback('日本.pdf')).toBe('__.pdf');
    expect(asciiFallback('．．．hidden')).toBe('hidden');
    expect(asciiFallback('．')).toBe('download');
  });
});

describe('sanitiseFilename', () => {
  it('drops lone surrogates (encodeURIComponent would throw on them), keeping real pairs', () => {
    expect(sanitiseFilename('report\uD800.pdf')).toBe('report.pdf');
    expect(sanitiseFilename('\uDC00😀.pdf')).toBe('😀.pdf');
    expect(() => attachmentDisposition('report\uD800.pdf')).not.toThrow();
  });

  it('keeps only the last path segment, without controls, quotes, bidi overrides or leading dots', () => {
    expect(sanitiseFilename('../../etc/"passwd"\r\n.pdf')).toBe('passwd.pdf');
    expect(sanitiseFilename('a\u202Efdp.exe')).toBe('afdp.exe');
    expect(sanitiseFilename('..\\..\\.env')).toBe('env');
    expect(sanitiseFilename('')).toBe('download');
  });
});
