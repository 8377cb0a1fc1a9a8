/**
 * `Content-Disposition: attachment` for a download, built from a sanitised filename (never raw
 * input): an ASCII fallback in `filename="…"` and the exact UTF-8 name in `filename*` (RFC 6266 /
 * RFC 8187).
 *
 * The fallback is built in two steps, in this order: transform (NFKD, combining marks dropped),
 * then filter to FALLBACK_SAFE. Filtering first would be unsafe: NFKD turns fullwidth and other
 * compatibility characters into ASCII syntax (`＂` → `"`, `；` → `;`, `＼` → `\`, `％` → `%`, `／`
 * → `/`, `＝` → `=`), which could close the quoted string, escape its closing quote or inject
 * parameters. Whatever NFKD produces, only characters of the whitelist reach the header.
 */

/** Characters the `filename="…"` fallback may contain: no quote, backslash, `;`, `=`, `%`, `/` or control. */
const FALLBACK_UNSAFE = /[^A-Za-z0-9 ._+,()@~[\]-]/gu;
const MAX_FILENAME_CHARS = 200;

export function attachmentDisposition(filename: string): string {
  const clean = sanitiseFilename(filename);
  return `attachment; filename="${asciiFallback(clean)}"; filename*=UTF-8''${encodeExtended(clean)}`;
}

/** The last path segment, without control, format (bidi), quote, `;`, `%` or separator characters, ≤ 200 characters. */
export function sanitiseFilename(name: string): string {
  // Lone surrogates first: they are not characters, and encodeURIComponent throws on them.
  const base = name.replace(/\p{Cs}/gu, '').split(/[\\/]/).pop() ?? '';
  const cleaned = base
    .normalize('NFC')
    .replace(/[\p{Cc}\p{Cf}"\\;%]/gu, '')
    .trim()
    .replace(/^\.+/, '');
  return [...cleaned].slice(0, MAX_FILENAME_CHARS).join('') || 'download';
}

/** The ASCII fallback: transformed first, then filtered to the whitelist, then tidied (never empty, no leading dot). */
export function asciiFallback(clean: string): string {
  const filtered = clean
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .replace(FALLBACK_UNSAFE, '_')
    .trim()
    .replace(/^\.+/, '');
  return filtered === '' ? 'download' : filtered;
}

/** RFC 8187 value-chars: percent-encoded UTF-8, with the few characters encodeURIComponent keeps that are not attr-char. */
function encodeExtended(clean: string): string {
  return encodeURIComponent(clean).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
