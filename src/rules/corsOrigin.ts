/**
 * The one rule for a CORS origin a client lists: the config check (config/crossChecks.ts), the
 * partner documents (rules/partnerSetup.ts, the bucket CORS rule) and `npm start` all ask it, so an
 * origin the broker would answer is never one the bucket rule was built without, or the reverse.
 */
import { isLoopbackHost } from './loopback.js';

/**
 * Why `value` is not a CORS origin the broker can match, or undefined. Browsers send `Origin` as
 * scheme://host[:port], lowercase, default port omitted: anything else would never match (or, for
 * `*` and `null`, match far too much), so it is refused rather than silently dead.
 */
export function corsOriginProblem(value: string, allowInsecureLoopbackHttp: boolean): string | undefined {
  if (value.includes('*')) return 'must not contain "*" (no wildcard origins): list each allowed origin, like https://app.example.com';
  if (value.toLowerCase() === 'null') return 'must not be "null": sandboxed frames, file: pages and redirects all send it, so it names no one';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an origin: scheme://host[:port], like https://app.example.com';
  }
  if (url.username !== '' || url.password !== '') return 'must not carry credentials (user:password@)';
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must be an https origin, like https://app.example.com';
  if (url.protocol === 'http:') {
    if (!isLoopbackHost(url.hostname)) return 'must be an https origin (http only for 127.0.0.0/8, localhost or [::1] with allowInsecureLoopbackHttp: true)';
    if (!allowInsecureLoopbackHttp) return 'http is allowed only on loopback (127.0.0.0/8, localhost, [::1]) with allowInsecureLoopbackHttp: true';
  }
  if (url.search !== '' || value.includes('?')) return 'must not have a query: an origin is scheme://host[:port] only';
  if (url.hash !== '' || value.includes('#')) return 'must not have a fragment: an origin is scheme://host[:port] only';
  if (url.pathname !== '/' || value.endsWith('/')) return 'must not have a path or a trailing "/": an origin is scheme://host[:port] only';
  if (value !== url.origin) return `must be written as browsers send it: "${url.origin}"`;
  return undefined;
}
