/**
 * Drives one route through the real request pipeline (lambdaHandler) with a real API Gateway v2 event,
 * capturing its log lines and recording every secret in the response for the end-of-run log scan.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { BrokerDeps } from '../../src/usecases/deps.js';
import { lambdaHandler } from '../../src/http/lambdaHandler.js';
import type { HttpResponse } from '../../src/http/responses.js';
import type { Route } from '../../src/http/route.js';
import { lambdaContext } from './apiEvent.js';
import { captureLogs } from './captureLogs.js';
import { recordResponseSecrets } from '../../scripts/lib/logScan.js';

export interface Invoked {
  res: HttpResponse;
  /** The parsed JSON body (`any`: tests read arbitrary response shapes). */
  body: Record<string, any>;
  lines: string[];
}

/** Runs `event` through `route`'s handler wired to `deps`. */
export async function invokeRoute<I>(route: Route<I>, deps: BrokerDeps, event: APIGatewayProxyEventV2): Promise<Invoked> {
  const { result, lines } = await captureLogs(() => lambdaHandler(route, () => deps)(event, lambdaContext) as Promise<HttpResponse>);
  const body = JSON.parse(result.body ?? 'null') as Record<string, any>;
  recordResponseSecrets(body);
  return { res: result, body, lines };
}

/** `20300101T000000Z` (SigV4's X-Amz-Date) as milliseconds since the epoch. */
export function parseAmzDate(amzDate: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!m) throw new Error(`not an X-Amz-Date: ${amzDate}`);
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}
