import type { Grant } from '../domain/model.js';
import type { GrantStore } from '../ports/ports.js';

/**
 * CORS is per client (see docs/security.md): once the caller is known, only its client's origins
 * are echoed, read from the grant the request already resolved. Before authentication (a 401, a
 * preflight) any client's origin applies (GrantStore.isOriginAllowed), so a browser can still read
 * why it was refused. A caller whose grant could not be resolved gets no origin. @middy/http-cors
 * takes one static origin list, hence this small function.
 */
export async function corsHeaders(
  origin: string | undefined,
  store: Pick<GrantStore, 'isOriginAllowed'>,
  who: { authenticated: false } | { authenticated: true; grant: Grant | undefined },
): Promise<Record<string, string>> {
  if (!origin) return {};
  const allowed = who.authenticated
    ? who.grant?.client.cors.origins.includes(origin) ?? false
    : await store.isOriginAllowed(origin);
  if (!allowed) return { vary: 'Origin' };
  return {
    'access-control-allow-origin': origin,
    'access-control-expose-headers': 'x-request-id, retry-after',
    vary: 'Origin',
  };
}

/** Preflight answer headers for an allowed origin. */
export const PREFLIGHT_HEADERS = {
  'access-control-allow-methods': 'GET, POST, OPTIONS',
  'access-control-allow-headers': 'authorization, content-type, x-api-key',
  'access-control-max-age': '600',
} as const;
