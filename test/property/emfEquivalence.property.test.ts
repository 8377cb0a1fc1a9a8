/**
 * The broker writes its EMF metric lines itself (src/observability/metrics.ts) because Powertools
 * Metrics' per-invocation stores cost more than signing a URL. CloudWatch must not be able to tell:
 * for any invocation's data points, dimension sets, partner and client, with or without the partner
 * dimension, the broker's lines are exactly what Powertools Metrics' `publishStoredMetrics` writes for
 * the same points (the reference below is the broker's former flush, verbatim), byte for byte once
 * the timestamp is set aside, in the same order.
 */
import { describe, expect, it, jest } from '@jest/globals';
import fc from 'fast-check';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { InvocationContext, MetricPoint } from '../../src/observability/invocation.js';
import { flushInvocationMetrics, METRIC, METRICS_NAMESPACE, resetMetricsSettingsForTests, type MetricsOptions } from '../../src/observability/metrics.js';
import { captureLogs } from '../support/captureLogs.js';

const UNIT: Record<MetricPoint['unit'], (typeof MetricUnit)[keyof typeof MetricUnit]> = {
  Count: MetricUnit.Count,
  Milliseconds: MetricUnit.Milliseconds,
  Seconds: MetricUnit.Seconds,
};

/** The broker's flush as it was, through one Powertools Metrics instance. */
function powertoolsFlush(metrics: Metrics, context: InvocationContext, options: MetricsOptions): void {
  if (context.metrics.length === 0) return;
  const groups = new Map<string, { dimensions: Record<string, string>; points: MetricPoint[] }>();
  for (const point of context.metrics.splice(0)) {
    const dimensions: Record<string, string> = { ...point.dimensions };
    if (options.partnerDimension && context.partner !== undefined && (point.name === METRIC.issuances || point.name === METRIC.refusals)) {
      dimensions.partner = context.partner;
    }
    const key = JSON.stringify(Object.entries(dimensions).sort(([a], [b]) => (a < b ? -1 : 1)));
    const group = groups.get(key) ?? { dimensions, points: [] };
    group.points.push(point);
    groups.set(key, group);
  }
  for (const { dimensions, points } of groups.values()) {
    for (const [name, value] of Object.entries(dimensions)) metrics.addDimension(name, value);
    for (const point of points) metrics.addMetric(point.name, UNIT[point.unit], point.value);
    metrics.addMetadata('requestId', context.requestId);
    if (context.partner !== undefined) metrics.addMetadata('partner', context.partner);
    if (context.client !== undefined) metrics.addMetadata('client', context.client);
    metrics.publishStoredMetrics();
  }
}

// Each metric name has one unit, as in the broker; dimension sets drawn from the ones it records.
const UNIT_OF: Record<string, MetricPoint['unit']> = {
  [METRIC.issuances]: 'Count', [METRIC.refusals]: 'Count', [METRIC.stsLatency]: 'Milliseconds', [METRIC.stsErrors]: 'Count',
  [METRIC.sessionCacheHits]: 'Count', [METRIC.sessionCacheMisses]: 'Count', [METRIC.grantStoreCacheHits]: 'Count',
  [METRIC.grantStoreCacheMisses]: 'Count', [METRIC.grantStoreStaleness]: 'Seconds', [METRIC.coldStarts]: 'Count',
};
// Never blank: Powertools drops a blank dimension (with a warning) and the broker records none (routes, actions and codes are fixed identifiers).
const text = fc.stringMatching(/^[A-Za-z0-9_:.\-\u00e9\u4e2d"\\ ]{0,11}[A-Za-z0-9\u00e9\u4e2d"\\]$/);
const dimensions = fc.oneof(
  fc.constant({}),
  fc.record({ route: text }),
  fc.record({ route: text, action: text, outcome: fc.constantFrom('issued', 'refused', 'failed') }),
  fc.record({ route: text, ErrorCode: text }),
  fc.record({ ErrorCode: text }),
);
const point = fc.record({
  name: fc.constantFrom(...Object.keys(UNIT_OF)),
  value: fc.oneof(fc.constant(1), fc.double({ min: 0, max: 1e6, noNaN: true }), fc.integer({ min: 0, max: 100_000 })),
  dimensions,
}).map((p): MetricPoint => ({ ...p, unit: UNIT_OF[p.name]! }));
const invocation = fc.record({
  requestId: text,
  route: text,
  partner: fc.option(text, { nil: undefined }),
  client: fc.option(text, { nil: undefined }),
  points: fc.array(point, { minLength: 0, maxLength: 12 }),
  partnerDimension: fc.boolean(),
});

const withoutTimestamp = (line: string): string => {
  const parsed = JSON.parse(line) as { _aws: { Timestamp?: number } };
  expect(typeof parsed._aws.Timestamp).toBe('number');
  delete parsed._aws.Timestamp;
  return JSON.stringify(parsed);
};
const emfLines = (lines: string[]): string[] => lines.filter((l) => l.startsWith('{"_aws"')).map(withoutTimestamp);

describe('EMF lines: byte-identical to Powertools Metrics', () => {
  it('for any invocation, the same lines in the same order (timestamp aside)', async () => {
    const reference = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'sts-broker' });
    await fc.assert(fc.asyncProperty(invocation, async (inv) => {
      const context = (): InvocationContext => ({
        requestId: inv.requestId, route: inv.route, metrics: inv.points.map((p) => ({ ...p })),
        ...(inv.partner === undefined ? {} : { partner: inv.partner }),
        ...(inv.client === undefined ? {} : { client: inv.client }),
      });
      const options = { partnerDimension: inv.partnerDimension };
      const ours = await captureLogs(async () => flushInvocationMetrics(context(), options));
      const theirs = await captureLogs(async () => powertoolsFlush(reference, context(), options));
      expect(emfLines(ours.lines)).toEqual(emfLines(theirs.lines));
      expect(emfLines(ours.lines).length).toBe(ours.lines.length); // nothing else written (no warning either)
    }), { numRuns: 300 });
  });

  it('writes nothing when POWERTOOLS_METRICS_DISABLED or POWERTOOLS_DEV says so, as Powertools does', async () => {
    const saved = { disabled: process.env.POWERTOOLS_METRICS_DISABLED, dev: process.env.POWERTOOLS_DEV };
    const run = async (): Promise<number> => {
      resetMetricsSettingsForTests();
      const context: InvocationContext = { requestId: 'r', route: 'x', metrics: [{ name: METRIC.issuances, unit: 'Count', value: 1, dimensions: {} }] };
      return (await captureLogs(async () => flushInvocationMetrics(context, { partnerDimension: false }))).lines.length;
    };
    try {
      for (const [disabledValue, dev, expected] of [
        [undefined, undefined, 1], ['true', undefined, 0], ['1', undefined, 0], ['false', undefined, 1],
        [undefined, 'true', 0], ['false', 'true', 1], [undefined, 'false', 1],
      ] as const) {
        if (disabledValue === undefined) delete process.env.POWERTOOLS_METRICS_DISABLED; else process.env.POWERTOOLS_METRICS_DISABLED = disabledValue;
        if (dev === undefined) delete process.env.POWERTOOLS_DEV; else process.env.POWERTOOLS_DEV = dev;
        const powertools = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'sts-broker' });
        expect({ disabledValue, dev, lines: await run() }).toEqual({ disabledValue, dev, lines: expected });
        // Powertools itself, same environment: writes a line exactly when the broker does
        // (in development mode it writes through the global console rather than its own)
        const viaConsole = jest.spyOn(console, 'log').mockImplementation(() => undefined);
        try {
          const reference = await captureLogs(async () => { powertools.addMetric(METRIC.issuances, MetricUnit.Count, 1); powertools.publishStoredMetrics(); });
          const written = reference.lines.filter((l) => l.startsWith('{"_aws"')).length
            + viaConsole.mock.calls.filter(([line]) => typeof line === 'string' && line.startsWith('{"_aws"')).length;
          expect(written).toBe(expected);
        } finally {
          viaConsole.mockRestore();
        }
      }
    } finally {
      if (saved.disabled === undefined) delete process.env.POWERTOOLS_METRICS_DISABLED; else process.env.POWERTOOLS_METRICS_DISABLED = saved.disabled;
      if (saved.dev === undefined) delete process.env.POWERTOOLS_DEV; else process.env.POWERTOOLS_DEV = saved.dev;
      resetMetricsSettingsForTests();
    }
  });
});
