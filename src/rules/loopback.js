/**
 * The one loopback rule of the broker. Plain `http:` is accepted only for a loopback host, and only
 * when the config's `allowInsecureLoopbackHttp` is true (local development against the local
 * stack): every endpoint that can carry a secret (STS answers carry a secret key, S3, JWKS and
 * OIDC discovery documents, grant stores) is otherwise https only.
 *
 * Plain JavaScript (with ./loopback.d.ts for TypeScript) so that the dependency-free credential
 * helper in bin/ applies the very same rule as the broker.
 *
 * Loopback means the names that cannot leave the machine: `localhost`, any IPv4 address in
 * 127.0.0.0/8, and `[::1]`. A name that merely resolves to 127.0.0.1 today (DNS can change) is not.
 */

/** Whether a URL's `hostname` (as WHATWG URL gives it: IPv6 in brackets) is loopback. */
/** @param {string} hostname @returns {boolean} */
export function isLoopbackHost(hostname) {
  const host = hostname.toLowerCase();
  if (host === 'localhost' || host === '[::1]') return true;
  const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  return m !== null && m.slice(1).every((octet) => Number(octet) <= 255);
}

/**
 * Why `raw` may not be used as an endpoint, or undefined when it may: an absolute https URL, or
 * http on a loopback host when `allowInsecureLoopbackHttp` is true. No credentials in the URL.
 */
/** @param {string} raw @param {boolean} allowInsecureLoopbackHttp @returns {string | undefined} */
export function endpointProblem(raw, allowInsecureLoopbackHttp) {
  let url;
  try {
    url = new URL(raw);
  } catch {
    return 'must be an absolute URL';
  }
  if (url.username !== '' || url.password !== '') return 'must not carry credentials';
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) {
    return allowInsecureLoopbackHttp
      ? undefined
      : 'http is allowed only on loopback (127.0.0.0/8, localhost, [::1]) with allowInsecureLoopbackHttp: true';
  }
  return 'must be an https URL (http only for 127.0.0.0/8, localhost or [::1] with allowInsecureLoopbackHttp: true)';
}
