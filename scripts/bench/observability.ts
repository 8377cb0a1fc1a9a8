/**
 * Section 6: what observability costs.
 *
 *  - Cold start: the credentials function (one AssumeRole on its first invocation, local STS) built
 *    three ways with serverless.yml's esbuild options: metrics stubbed out (the logger context and
 *    audit channel stay: they are not optional), as shipped (metrics on, tracing flag off), and with
 *    the package-time tracing flag on (STS_BROKER_TRACING="true": Powertools Tracer + X-Ray SDK).
 *    Bundle bytes, and a fresh process's import + init + first invocation (median of interleaved runs).
 *  - Per request, in this process: one audit line through the audit channel vs the same fields
 *    through the logger (the audit line's former path), and one invocation's metric flush.
 *
 * Outside Lambda the Tracer disables itself (no segment to attach to), so the tracing row measures
 * the import of the Tracer and the X-Ray SDK and the wrapping of the client, not the subsegment's
 * own emission (one UDP datagram to the X-Ray daemon per call, in Lambda).
 */
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { build, type BuildOptions, type Plugin } from 'esbuild';
import { setAuditSink, writeAuditLine } from '../../src/observability/auditLog.js';
import { currentInvocation, runInvocation, setInvocationCaller } from '../../src/observability/invocation.js';
import { createLogger } from '../../src/observability/logger.js';
import { flushInvocationMetrics, recordIssuance, recordSessionLookup, recordStsCall } from '../../src/observability/metrics.js';
import { esbuildOptionsFromServerlessYml, repoRoot } from '../lib/bundles.js';
import { runFresh, type ProcessRun } from './coldStart.js';
import { benchEvent, LogSink, median, now } from './harness.js';
import type { Bench } from './setup.js';
import type { Runs } from './settings.js';

const TRACING_KEY = 'process.env.STS_BROKER_TRACING';

/** A stand-in for src/observability/metrics.ts with the same exports and no Powertools Metrics: the "without metrics" build. */
const METRICS_STUB = `
export const METRICS_NAMESPACE = 'StsBroker';
export const METRIC = {};
export const readMetricsOptions = () => ({ partnerDimension: false });
const none = () => undefined;
export const recordIssuance = none, recordRefusal = none, recordStsCall = none, recordSessionLookup = none, recordColdStartOnce = none, flushInvocationMetrics = none;
export const grantStoreCacheMetrics = { hit: none, miss: none, staleness: none };
`;
const stubMetrics: Plugin = {
  name: 'stub-metrics',
  setup(b) {
    b.onLoad({ filter: /[\\/]src[\\/]observability[\\/]metrics\.ts$/ }, () => ({ contents: METRICS_STUB, loader: 'ts' }));
  },
};

interface Variant { name: string; tracing: boolean; metrics: boolean }
const VARIANTS: Variant[] = [
  { name: 'without metrics (stubbed)', tracing: false, metrics: false },
  { name: 'as shipped (metrics on, tracing off)', tracing: false, metrics: true },
  { name: 'tracing flag on (STS_BROKER_TRACING=true)', tracing: true, metrics: true },
];

export interface ObservabilityResult {
  builds: Array<Variant & { bytes: number; run: Omit<ProcessRun, 'bootMs'> }>;
  auditLineUs: number;
  loggerLineUs: number;
  flushUs: number;
  perRequestSamples: number;
}

async function buildVariant(variant: Variant, outFile: string): Promise<number> {
  const { outExtension: _ext, define, ...options } = esbuildOptionsFromServerlessYml() as BuildOptions & { define?: unknown };
  const defines = typeof define === 'object' && define !== null ? (define as Record<string, string>) : {};
  await build({
    ...options,
    define: { ...defines, [TRACING_KEY]: JSON.stringify(variant.tracing ? 'true' : 'false') },
    plugins: variant.metrics ? [] : [stubMetrics],
    absWorkingDir: repoRoot,
    entryPoints: [join(repoRoot, 'handlers/credentials.ts')],
    outfile: outFile,
    logLevel: 'silent',
    write: true,
  });
  return statSync(outFile).size;
}


const AUDIT_FIELDS = {
  requestId: 'Y3kL0jR8oAMEbXg=', partner: 'bench', client: 'backend', method: 'api-key', subject: 'benchk1', action: 'upload:PUT',
  bucket: 'bench-bucket', prefix: 'bench/', actions: ['write'], key: 'bench/cold/a.jpg', sessionName: 'sbk-bench-backend-benchk1',
  accessKeyId: 'ASIABENCHEXAMPLE0001', expiresAt: '2030-01-01T00:00:00.000Z', cachedSession: true,
};

/** Microseconds per call of `fn`, median of `rounds` rounds of `size` calls. */
function perCallUs(rounds: number, size: number, fn: () => void): number {
  const samples: number[] = [];
  for (let r = 0; r < rounds; r += 1) {
    const t = now();
    for (let i = 0; i < size; i += 1) fn();
    samples.push(((now() - t) * 1000) / size);
  }
  return median(samples);
}

export async function observabilityCost(bench: Bench, runs: Runs): Promise<ObservabilityResult> {
  const dir = join(bench.tmp, 'observability');
  mkdirSync(dir, { recursive: true });
  const files = await Promise.all(VARIANTS.map(async (variant, i) => ({ variant, file: join(dir, `credentials-${i}.mjs`), bytes: await buildVariant(variant, join(dir, `credentials-${i}.mjs`)) })));
  const event = benchEvent('POST', '/v1/credentials', { 'x-api-key': bench.apiKey }, {});
  const runsOf = new Map<number, ProcessRun[]>(files.map((_, i) => [i, []]));
  for (let rep = 0; rep < Math.max(runs.processReps, 3); rep += 1) {
    // rotate the order so drift lands on every variant
    for (let k = 0; k < files.length; k += 1) {
      const i = (rep + k) % files.length;
      const run = await runFresh(bench, files[i]!.file, event);
      if (run.status !== 200) throw new Error(`${files[i]!.variant.name}: first invocation answered ${run.status}`);
      runsOf.get(i)!.push(run);
    }
  }
  const builds = files.map(({ variant, bytes }, i) => {
    const all = runsOf.get(i)!;
    const pick = (k: keyof ProcessRun) => median(all.map((r) => r[k]));
    return { ...variant, bytes, run: { totalMs: pick('totalMs'), importMs: pick('importMs'), invokeMs: pick('invokeMs'), status: 200 } };
  });

  const rounds = runs.quick ? 5 : 25;
  const size = runs.quick ? 2_000 : 10_000;
  // the audit channel, its line built and serialised, the write itself discarded
  const previous = setAuditSink(() => undefined);
  let auditLineUs: number;
  try {
    auditLineUs = perCallUs(rounds, size, () => writeAuditLine('issued', AUDIT_FIELDS));
  } finally {
    setAuditSink(previous);
  }
  // the same fields through the logger, inside an invocation (its keys added), into the counting sink
  const logger = createLogger('sts-broker');
  const sink = new LogSink();
  const { loggerLineUs, flushUs } = await sink.around(async () => runInvocation({ requestId: AUDIT_FIELDS.requestId, route: 'presignUpload' }, () => {
    setInvocationCaller('bench', 'backend');
    const logged = perCallUs(rounds, size, () => logger.info('issued', AUDIT_FIELDS));
    // one presign's metrics: the issuance, a session-cache miss, one STS call; then the flush
    const flushed = perCallUs(rounds, Math.ceil(size / 10), () => {
      recordIssuance('upload:PUT');
      recordSessionLookup(false);
      recordStsCall(12.5);
      flushInvocationMetrics(currentInvocation()!, { partnerDimension: false });
    });
    return Promise.resolve({ loggerLineUs: logged, flushUs: flushed });
  }));
  return { builds, auditLineUs, loggerLineUs, flushUs, perRequestSamples: rounds * size };
}

const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;
const ms = (x: number): string => `${x.toFixed(1)} ms`;
const us = (x: number): string => `${x.toFixed(2)} µs`;

/** Section 6's table, in the report's style. */
export function observabilityReport(result: ObservabilityResult): string {
  const rows = [['credentials function', 'bundle', 'Δ bytes', 'import', 'first invocation', 'total', 'Δ total']];
  const base = result.builds[0]!;
  for (const b of result.builds) {
    rows.push([b.name, kb(b.bytes), b === base ? '' : `+${kb(b.bytes - base.bytes)}`, ms(b.run.importMs), ms(b.run.invokeMs), ms(b.run.totalMs), b === base ? '' : `${b.run.totalMs >= base.run.totalMs ? '+' : ''}${ms(b.run.totalMs - base.run.totalMs)}`]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const table = rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd()).join('\n');
  return [
    '6. observability: cold-start cost of metrics and of the package-time tracing flag (fresh process: import + init + one AssumeRole, local STS; medians)',
    table,
    '   outside Lambda the Tracer disables itself: the tracing row is the Tracer and X-Ray SDK import plus the client wrapping, not subsegment emission',
    `   per request (this process, medians over ${result.perRequestSamples.toLocaleString('en')} calls): audit line ${us(result.auditLineUs)} (audit channel) vs ${us(result.loggerLineUs)} (same fields through the logger); metric flush of one presign ${us(result.flushUs)}`,
    '',
  ].join('\n');
}

/** The report with section 6 inserted before its closing JSON line (which stays last, for scripts that read it). */
export function withObservability(output: string, result: ObservabilityResult): string {
  const section = observabilityReport(result).trimEnd();
  const at = output.lastIndexOf('\n\n{');
  return at < 0 ? `${output}\n${section}\n` : `${output.slice(0, at)}\n\n${section}${output.slice(at)}`;
}
