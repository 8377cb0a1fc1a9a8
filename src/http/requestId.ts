import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';

/** serverless-offline gives every event this one id; locally each request still deserves its own. */
const OFFLINE_PLACEHOLDER_ID = 'offlineContext_resourceId';

/**
 * The id that ties a response (its `X-Request-Id` header, every error body) to the log lines:
 * API Gateway's request id (it also appears in API Gateway's access logs), else a fresh UUID.
 */
export function requestIdOf(event: Pick<APIGatewayProxyEventV2, 'requestContext'>): string {
  const id = event.requestContext?.requestId;
  return id && id !== OFFLINE_PLACEHOLDER_ID ? id : randomUUID();
}
