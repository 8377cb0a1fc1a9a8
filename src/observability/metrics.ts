/**
 * The broker's CloudWatch metrics, as Embedded Metric Format lines in Powertools Metrics' format: no
 * API call, CloudWatch extracts them from the log lines. Every data point of an invocation is kept
 * in that invocation's context (./invocation.ts) and written once, at its end, by
 * `flushInvocationMetrics`: one EMF line per dimension set. Names, units and dimensions are listed
 * in docs/observability.md, "Metrics"; the alarms in the template use them.
 *
 * Dimensions are the route, the issuance action, the outcome and the error code: a few dozen
 * combinations for the whole fleet. Partner and client are EMF properties (searchable in the log
 * line, not billed as metrics); `BROKER_METRICS_PARTNER_DIMENSION=true` adds the partner as a
 * dimension of Issuances and Refusals for deployments with few partners. A subject or object key
 * never appears in a metric.
 */
import { getBooleanFromEnv, isDevMode } from '@aws-lambda-powertools/commons/utils/env';
import { ConfigError } from '../domain/errors.js';
import { currentInvocation, type InvocationContext, type MetricPoint } from './invocation.js';

export const METRICS_NAMESPACE = 'StsBroker';
const SERVICE = 'sts-broker';

/** Metric names (docs/observability.md): the template's alarms and dashboards use these exact strings. */
export const METRIC = {
  issuances: 'Issuances',
  refusals: 'Refusals',
  stsLatency: 'StsLatency',
  stsErrors: 'StsErrors',
  sessionCacheHits: 'SessionCacheHits',
  sessionCacheMisses: 'SessionCacheMisses',
  grantStoreCacheHits: 'GrantStoreCacheHits',
  grantStoreCacheMisses: 'GrantStoreCacheMisses',
  grantStoreStaleness: 'GrantStoreStaleness',
  coldStarts: 'ColdStarts',
} as const;

export interface MetricsOptions {
  /** Adds `partner` as a dimension of Issuances and Refusals (one billed metric per partner and combination). */
  partnerDimension: boolean;
}

/** Reads BROKER_METRICS_PARTNER_DIMENSION (`true` / `false`, default false); anything else stops the broker, naming it. */
export function readMetricsOptions(env: Record<string, string | undefined> = process.env): MetricsOptions {
  const raw = env.BROKER_METRICS_PARTNER_DIMENSION;
  if (raw === undefined || raw === '' || raw === 'false') return { partnerDimension: false };
  if (raw === 'true') return { partnerDimension: true };
  throw new ConfigError(`invalid environment: BROKER_METRICS_PARTNER_DIMENSION: must be true or false (got ${JSON.stringify(raw.slice(0, 20))})`);
}

function record(point: MetricPoint, context: InvocationContext | undefined = currentInvocation()): void {
  // Outside an invocation (cold start, a script) there is nothing to attribute the point to.
  context?.metrics.push(point);
}

/** One issuance (one audit line): Issuances{route, action, outcome=issued}. */
export function recordIssuance(action: string): void {
  const context = currentInvocation();
  if (context === undefined) return;
  context.action = action;
  record({ name: METRIC.issuances, unit: 'Count', value: 1, dimensions: { route: context.route, action, outcome: 'issued' } }, context);
}

/**
 * One error answer: Refusals{route, ErrorCode}; when a caller was authenticated, also
 * Issuances{route, action, outcome} with outcome `refused` (4xx) or `failed` (5xx) and the action
 * attempted, or `none` when the request failed before its use case named one.
 */
export function recordRefusal(code: string, status: number): void {
  const context = currentInvocation();
  if (context === undefined) return;
  record({ name: METRIC.refusals, unit: 'Count', value: 1, dimensions: { route: context.route, ErrorCode: code } }, context);
  if (context.partner !== undefined) {
    const outcome = status >= 500 ? 'failed' : 'refused';
    record({ name: METRIC.issuances, unit: 'Count', value: 1, dimensions: { route: context.route, action: context.action ?? 'none', outcome } }, context);
  }
}

/** One STS AssumeRole: its latency (success or not), and StsErrors{ErrorCode} when it failed. */
export function recordStsCall(milliseconds: number, errorCode?: string): void {
  const context = currentInvocation();
  record({ name: METRIC.stsLatency, unit: 'Milliseconds', value: milliseconds, dimensions: {} }, context);
  if (errorCode !== undefined) record({ name: METRIC.stsErrors, unit: 'Count', value: 1, dimensions: { ErrorCode: errorCode } }, context);
}

/** One signing-session lookup in the session cache. */
export function recordSessionLookup(hit: boolean): void {
  record({ name: hit ? METRIC.sessionCacheHits : METRIC.sessionCacheMisses, unit: 'Count', value: 1, dimensions: {} });
}

/**
 * The port a caching grant store reports through (wired in src/wiring/; the store needs only this
 * shape, so it imports nothing from here): a lookup answered from the cache, one that went to the
 * backing store, and, for each answer from the cache, how old the store version it relies on is
 * (seconds since the confirming read started: how far behind a write this answer may be, at most
 * the store's staleness bound).
 */
export interface GrantStoreCacheMetrics {
  hit(): void;
  miss(): void;
  staleness(ageSeconds: number): void;
}

export const grantStoreCacheMetrics: GrantStoreCacheMetrics = {
  hit: () => record({ name: METRIC.grantStoreCacheHits, unit: 'Count', value: 1, dimensions: {} }),
  miss: () => record({ name: METRIC.grantStoreCacheMisses, unit: 'Count', value: 1, dimensions: {} }),
  staleness: (ageSeconds) => record({ name: METRIC.grantStoreStaleness, unit: 'Seconds', value: ageSeconds, dimensions: {} }),
};

let coldStartPending = true;

/** ColdStarts{route}: once per container, on its first invocation. */
export function recordColdStartOnce(): void {
  if (!coldStartPending) return;
  const context = currentInvocation();
  if (context === undefined) return;
  coldStartPending = false;
  record({ name: METRIC.coldStarts, unit: 'Count', value: 1, dimensions: { route: context.route } }, context);
}

/**
 * Whether metrics are off, decided once per container as Powertools Metrics decides it:
 * POWERTOOLS_METRICS_DISABLED when set (true/false, or Powertools' extended 1/0, yes/no, on/off),
 * else POWERTOOLS_DEV (development mode writes no metrics). Read with Powertools' own parsers.
 */
let disabled: boolean | undefined;
function metricsDisabled(): boolean {
  if (disabled === undefined) {
    disabled = process.env.POWERTOOLS_METRICS_DISABLED !== undefined
      ? getBooleanFromEnv({ key: 'POWERTOOLS_METRICS_DISABLED', defaultValue: false, extendedParsing: true })
      : isDevMode();
  }
  return disabled;
}

/** Test hook: forget the container's metrics-off decision (the environment changed). */
export function resetMetricsSettingsForTests(): void {
  disabled = undefined;
}

/** Where EMF lines go: stdout (CloudWatch Logs in Lambda), one line per write, as Powertools writes them. */
const writeLine = (line: string): void => { process.stdout.write(`${line}\n`); };

/**
 * Writes the invocation's data points: one EMF line per dimension set, each carrying the request id,
 * partner and client as properties. Synchronous from first to last line, so invocations sharing
 * the process (a local emulator) cannot interleave.
 *
 * Each line is exactly what Powertools Metrics' `publishStoredMetrics` writes for the same points
 * (test/property/emfEquivalence.property.test.ts holds the two equal): the EMF directive with the
 * `service` dimension first, then the properties, the dimension values and the metric values (an
 * array when a metric has several). It is built here rather than through a Powertools instance
 * because that instance's per-invocation stores cost ≈ 25 µs per request, more than signing a URL
 * (`npm run bench`, section 1).
 */
export function flushInvocationMetrics(context: InvocationContext, options: MetricsOptions): void {
  if (context.metrics.length === 0) return;
  const points = context.metrics.splice(0);
  if (metricsDisabled()) return;
  const groups = new Map<string, { dimensions: Record<string, string>; points: MetricPoint[] }>();
  for (const point of points) {
    let dimensions: Record<string, string> = point.dimensions;
    if (options.partnerDimension && context.partner !== undefined && (point.name === METRIC.issuances || point.name === METRIC.refusals)) {
      dimensions = { ...point.dimensions, partner: context.partner };
    }
    const key = dimensionKey(dimensions);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, { dimensions, points: [point] });
    else group.points.push(point);
  }
  const timestamp = Date.now();
  for (const { dimensions, points: grouped } of groups.values()) writeLine(emfLine(context, dimensions, grouped, timestamp));
}

/** A dimension set's identity regardless of key order. */
function dimensionKey(dimensions: Readonly<Record<string, string>>): string {
  const names = Object.keys(dimensions);
  if (names.length === 0) return '';
  return JSON.stringify(names.sort().map((name) => [name, dimensions[name]]));
}

/**
 * The `CloudWatchMetrics` directive of each (dimension names, metric names and units): constant, so
 * serialised once. A few dozen combinations exist; the bound only guards against a bug.
 */
const directives = new Map<string, string>();
const MAX_DIRECTIVES = 512;

function directiveJson(dimensionNames: readonly string[], definitions: ReadonlyArray<{ Name: string; Unit: string }>): string {
  const key = `${dimensionNames.join('\u0000')}\u0001${definitions.map((d) => `${d.Name}\u0000${d.Unit}`).join('\u0001')}`;
  let json = directives.get(key);
  if (json === undefined) {
    json = JSON.stringify([{ Namespace: METRICS_NAMESPACE, Dimensions: [['service', ...dimensionNames]], Metrics: definitions }]);
    if (directives.size < MAX_DIRECTIVES) directives.set(key, json);
  }
  return json;
}

/** One EMF line; key order as Powertools writes it (metadata, then dimensions, then values; a dimension wins over metadata of its name). */
function emfLine(context: InvocationContext, dimensions: Readonly<Record<string, string>>, points: readonly MetricPoint[], timestamp: number): string {
  const definitions: Array<{ Name: string; Unit: string }> = [];
  const values = new Map<string, number | number[]>();
  for (const point of points) {
    const seen = values.get(point.name);
    if (seen === undefined) {
      definitions.push({ Name: point.name, Unit: point.unit });
      values.set(point.name, point.value);
    } else if (Array.isArray(seen)) seen.push(point.value);
    else values.set(point.name, [seen, point.value]);
  }
  const dimensionNames = Object.keys(dimensions);
  const properties: Record<string, unknown> = { requestId: context.requestId };
  if (context.partner !== undefined) properties.partner = context.partner;
  if (context.client !== undefined) properties.client = context.client;
  properties.service = SERVICE;
  for (const name of dimensionNames) properties[name] = dimensions[name];
  for (const [name, value] of values) properties[name] = value;
  // The same text as JSON.stringify({ _aws: { Timestamp, CloudWatchMetrics }, ...properties }).
  return `{"_aws":{"Timestamp":${JSON.stringify(timestamp)},"CloudWatchMetrics":${directiveJson(dimensionNames, definitions)}},${JSON.stringify(properties).slice(1)}`;
}
