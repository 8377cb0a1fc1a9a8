import { Logger } from '@aws-lambda-powertools/logger';
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { loggerLogLevel } from '../config/settings.js';

/**
 * One structured JSON logger per container. What is logged is chosen field by field at each call
 * site (never whole events, headers or SDK errors), so no secret reaches a log line by accident.
 * Its level is LOG_LEVEL as config/settings.ts validates it (INFO when unset; an invalid value
 * logs at INFO until readSettings refuses to start, naming the variable).
 */
export function createLogger(serviceName = 'sts-broker', env: Record<string, string | undefined> = process.env): Logger {
  return new Logger({ serviceName, logLevel: loggerLogLevel(env) });
}

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

export type { Logger };
