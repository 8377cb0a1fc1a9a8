import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { BrokerDeps } from '../usecases/deps.js';
import { corsHeaders, PREFLIGHT_HEADERS } from './cors.js';
import { requestIdOf } from './requestId.js';
import type { HttpResponse } from './responses.js';

/**
 * Answers CORS preflight requests: allowed origins (any client's) get the methods and headers.
 * Like every other response, each carries `X-Request-Id`.
 */
export function preflightHandler(getDeps: () => Pick<BrokerDeps, 'store'>) {
  return async (event: APIGatewayProxyEventV2): Promise<HttpResponse> => {
    const origin = Object.entries(event.headers ?? {}).find(([k]) => k.toLowerCase() === 'origin')?.[1];
    const cors = await corsHeaders(origin, getDeps().store, { authenticated: false });
    const allowed = 'access-control-allow-origin' in cors;
    return {
      statusCode: 204,
      headers: { 'x-request-id': requestIdOf(event), 'x-content-type-options': 'nosniff', ...cors, ...(allowed ? PREFLIGHT_HEADERS : {}) },
      body: '',
    };
  };
}
