/**
 * What one invocation knows about itself, for its log lines, metrics and audit line: the API
 * Gateway request id (the correlation id), the route, and the partner and client once
 * authentication has named them. Held in an AsyncLocalStorage that `runInvocation` opens afresh
 * for every invocation, so nothing of one request (a partner, a client, a metric) can reach the
 * lines of the next, even when a local emulator runs several requests in one process at once.
 * Adapters (STS, S3, JWKS) never see it: the logger reads it for every line they write.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** One metric data point, kept until the invocation's single flush (./metrics.ts). */
export interface MetricPoint {
  name: string;
  unit: 'Count' | 'Milliseconds' | 'Seconds';
  value: number;
  /** Dimensions besides `service` (Powertools' default dimension). Never a partner unless enabled, never a subject or key. */
  dimensions: Readonly<Record<string, string>>;
}

export interface InvocationContext {
  /** API Gateway's request id (or a fresh UUID locally): the `correlation_id` of every line. */
  readonly requestId: string;
  /** The route's operation id (`presignUpload`, `vendCredentials`, …): a metric dimension. */
  readonly route: string;
  partner?: string;
  client?: string;
  /** The issuance action of the last audit line (`upload:PUT`, …), for the request's outcome metric. */
  action?: string;
  readonly metrics: MetricPoint[];
}

const storage = new AsyncLocalStorage<InvocationContext>();

/** Runs `fn` as one invocation with a fresh context (no partner, client or metric yet). */
export function runInvocation<T>(init: { requestId: string; route: string }, fn: () => T): T {
  return storage.run({ requestId: init.requestId, route: init.route, metrics: [] }, fn);
}

/** The running invocation's context; undefined outside one (cold start, scripts, direct use-case tests). */
export function currentInvocation(): InvocationContext | undefined {
  return storage.getStore();
}

/** Names the authenticated caller on every later line (and metric) of this invocation only. */
export function setInvocationCaller(partner: string, client: string): void {
  const context = storage.getStore();
  if (context === undefined) return;
  context.partner = partner;
  context.client = client;
}
