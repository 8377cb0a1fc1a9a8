/**
 * A real-shaped API Gateway HTTP API (payload v2) event and a Lambda context, for anything that
 * invokes the handlers in-process: the benchmark (scripts/bench/) and the tests
 * (test/support/apiEvent.ts re-exports it).
 */
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { randomUUID } from 'node:crypto';

export interface ApiEventOptions {
  method: 'GET' | 'POST' | 'OPTIONS';
  path: string;
  headers?: Record<string, string>;
  /** JSON-encoded into the body, with `content-type: application/json` (unless `headers` sets it). */
  body?: unknown;
  /** The body as is, without a content-type. */
  rawBody?: string;
  query?: Record<string, string>;
  /** requestContext.apiId; `api` unless set. */
  apiId?: string;
  /** requestContext.http.userAgent; `test` unless set. */
  userAgent?: string;
}

/** A real-shaped API Gateway HTTP API (payload v2) event. */
export function apiEvent(options: ApiEventOptions): APIGatewayProxyEventV2 {
  const body = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  const headers = { ...(body !== undefined && options.rawBody === undefined ? { 'content-type': 'application/json' } : {}), ...options.headers };
  const requestId = randomUUID();
  return {
    version: '2.0',
    routeKey: `${options.method} ${options.path}`,
    rawPath: options.path,
    rawQueryString: new URLSearchParams(options.query ?? {}).toString(),
    headers,
    ...(options.query ? { queryStringParameters: options.query } : {}),
    requestContext: {
      accountId: '123456789012',
      apiId: options.apiId ?? 'api',
      domainName: 'broker.example',
      domainPrefix: 'broker',
      http: { method: options.method, path: options.path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.9', userAgent: options.userAgent ?? 'test' },
      requestId,
      routeKey: `${options.method} ${options.path}`,
      stage: '$default',
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
    },
    ...(body === undefined ? {} : { body }),
    isBase64Encoded: false,
  };
}

export const lambdaContext = {
  callbackWaitsForEmptyEventLoop: false,
  functionName: 'test',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:test',
  memoryLimitInMB: '512',
  awsRequestId: 'ctx',
  logGroupName: 'g',
  logStreamName: 's',
  getRemainingTimeInMillis: () => 10000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
} as unknown as Context;
