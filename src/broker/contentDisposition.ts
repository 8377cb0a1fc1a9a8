/**
 * `Content-Disposition: attachment` for a download, built from a sanitised filename (never raw
 * input): path separators, quotes, control and bidi characters removed; an ASCII fallback in
 * `filename="…"` and the exact UTF-8 name in `filename*` (RFC 6266 / RFC 8187).
 */
export function attachmentDisposition(filename: string): string {
  const clean = sanitiseFilename(filename);
  const ascii = clean.normalize('NFKD').replace(/[^\x20-\x7e]/g, '_') || 'download';
  const encoded = encodeURIComponent(clean).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

/** The last path segment, without control, bidi-override, quote or separator characters, ≤ 200 characters. */
export function sanitiseFilename(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? '';
  const cleaned = base
    .normalize('NFC')
    .replace(/[\p{Cc}\p{Cf}"\\;%]/gu, '')
    .trim()
    .replace(/^\.+/, '');
  return [...cleaned].slice(0, 200).join('') || 'download';
}
