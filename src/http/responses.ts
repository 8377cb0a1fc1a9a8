import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { BrokerError } from '../domain/errors.js';

export type HttpResponse = APIGatewayProxyStructuredResultV2 & { headers: Record<string, string> };

/** A JSON response; `noStore` marks bodies that carry credentials or signed URLs. */
export function jsonResponse(statusCode: number, body: unknown, options: { noStore?: boolean } = {}): HttpResponse {
  return {
    statusCode,
    headers: {
      'content-type': 'application/json; charset=utf-8',
      ...(options.noStore ? { 'cache-control': 'no-store', pragma: 'no-cache' } : {}),
    },
    body: JSON.stringify(body),
  };
}

/** The one error shape: `{ error: { code, message, requestId } }`; 5xx messages are generic. */
export function errorResponse(err: BrokerError, requestId: string): HttpResponse {
  const message = err.expose ? err.message : `the broker could not complete the request (${err.code}); quote request id ${requestId}`;
  const response = jsonResponse(err.status, { error: { code: err.code, message, requestId } }, { noStore: true });
  if (err.retryAfterSeconds !== undefined) response.headers['retry-after'] = String(err.retryAfterSeconds);
  return response;
}
