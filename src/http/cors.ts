import type { BrokerDeps } from '../usecases/deps.js';
import type { Caller } from '../ports/ports.js';

/**
 * CORS is per client (see docs/security.md): once the caller is known, only its client's origins are echoed.
 * Before authentication (a 401, a preflight) the union of all clients' origins applies, so a
 * browser can still read why it was refused. @middy/http-cors takes one static origin list, hence
 * this small function.
 */
export function corsHeaders(origin: string | undefined, deps: Pick<BrokerDeps, 'store' | 'corsOrigins'>, caller?: Caller): Record<string, string> {
  if (!origin) return {};
  const allowed = caller
    ? deps.store.partner(caller.partnerId)?.clients[caller.clientId]?.cors.origins.includes(origin) ?? false
    : deps.corsOrigins.has(origin);
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
