/**
 * `npm run bench [-- --quick]`: the broker's performance, every figure a ratio against a floor
 * measured side by side in the same run (absolute numbers from one machine mean little; ratios
 * travel). Prints a table, then one JSON line.
 *
 *   1. presign.ts      warm presigns through the bundled handlers (PUT, POST form and download for JWT and API key;
 *                      100 parts) vs the signing floor (auth check + the SDK's SignatureV4.presign, or one form);
 *                      median of three runs; strict-floor lines against the broker's own signer. Goals ≤ 1.5× JWT,
 *                      ≤ 2× API key, ≤ 1.5× parts.
 *   2. stsCalls.ts     STS calls over two simulated hours vs the theoretical minimum, 1 and 4 containers.
 *                      Goal ≤ 1.2× the minimum and ≤ 1% of requests.
 *   3. vend.ts         POST /v1/credentials vs the same AssumeRole replayed on the same warm STSClient. Goal ≤ 1.1×.
 *   4. coldStart.ts    each function's bundle and a fresh process's import + init + first invocation vs
 *                      an SDK-only bundle making the same calls (baselines/). Goal ≤ 1.25×. Plus
 *                      credentials packaged with the DynamoDB grant store (local dynalite) vs an SDK-only
 *                      bundle with the DynamoDB client making the same first reads.
 *   5. throughput.ts   single-process throughput of the presign handler: requests/s, p50, p99.
 *   6. observability.ts cold-start cost of metrics and of the tracing flag; audit line and metric flush per request.
 *   7. grantStore.ts   the DynamoDB grant store on the local dynalite (10,000 partners, 100,000 keys):
 *                      cache hits vs the YAML store, table reads per 1,000 requests (goal ≤ 10),
 *                      revocation delay across 4 containers (goal ≤ the bound), memory per cached grant.
 *
 * setup.ts brings up the environment, harness.ts times, report.ts prints. Needs the local S3 + STS
 * (scripts/local-aws): reuses one serving in $TMPDIR/sts-broker-bench-aws (127.0.0.1:17580, monitor
 * 13410) or starts it there and stops it at the end. `--quick` runs every section with few iterations
 * (the simulation is deterministic and cheap, so it runs in full); CI runs it, and it fails only if
 * the benchmark breaks, never on timing.
 */
import { S3Presigner } from '../../src/adapters/aws/s3Presigner.js';
import { lambdaHandler } from '../../src/http/lambdaHandler.js';
import { uploadsRoute } from '../../src/routes/uploads.js';
import { coldStart } from '../../src/wiring/withAws.js';
import { runCli, UsageError, type CliSpec } from '../lib/cli.js';
import { bundlesAndColdStarts } from './coldStart.js';
import { grantStoreBench, withGrantStoreSection } from './grantStore.js';
import { observabilityCost, withObservability } from './observability.js';
import { now, type Handler } from './harness.js';
import { presignVsFloor } from './presign.js';
import { report } from './report.js';
import { runs as runsFor, type Runs } from './settings.js';
import { setUp, tearDown, type Bench } from './setup.js';
import { stsCallsSimulation } from './stsCalls.js';
import { presignThroughput } from './throughput.js';
import { vendVsSts } from './vend.js';

const CLI: CliSpec = {
  name: 'bench',
  usage: 'npm run bench [-- --quick]',
  summary: [
    "Measures the broker against floors measured side by side in the same run, and prints a table per",
    'section (each goal met or missed), then one JSON line. Uses the local S3 + STS (scripts/local-aws):',
    'reuses the one serving in $TMPDIR/sts-broker-bench-aws or starts it there and stops it at the end.',
  ],
  positionals: [],
  options: {
    quick: { type: 'boolean', description: 'few iterations, rough figures (the smoke run in CI: it fails only if the benchmark breaks, never on timing)' },
  },
  footer: ['Exit status: 0 done (whatever the figures), 1 the benchmark broke, 2 a usage error.'],
};

async function bench(runs: Runs): Promise<number> {
  const started = now();
  const bench: Partial<Bench> = {};
  // Interrupted: still stop the local AWS this run started (and nothing else).
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stderr.write(`bench: ${signal}, cleaning up\n`);
      void tearDown(bench).finally(() => process.exit(130));
    });
  }
  let notes: string[] = [];
  const timings: string[] = [];
  let output = '';
  try {
    Object.assign(bench, await setUp());
    const b = bench as Bench;

    // The uploads handler's own wiring (handlers/uploads.ts), in this process. Its sessions come
    // from the local STS; its URLs are AWS's own (no BROKER_S3_ENDPOINT: presigning never leaves
    // the process), so the measured path is the production one.
    const { BROKER_S3_ENDPOINT: _local, ...presignEnv } = b.env;
    const uploadsDeps = coldStart({ presigner: new S3Presigner(), env: presignEnv });
    const uploadsHandler = lambdaHandler(uploadsRoute, () => uploadsDeps) as unknown as Handler;

    const timed = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
      const t = now();
      try {
        return await fn();
      } finally {
        timings.push(`${name} ${((now() - t) / 1000).toFixed(1)} s`);
      }
    };
    const presign = await timed('1', () => presignVsFloor(b, uploadsDeps, runs));
    const sim = await timed('2', () => stsCallsSimulation(runs));
    const vend = await timed('3', () => vendVsSts(b, runs));
    const functions = await timed('4', () => bundlesAndColdStarts(b, runs));
    const rps = await timed('5', () => presignThroughput(b, uploadsHandler, runs));
    const observability = await timed('6', () => observabilityCost(b, runs));
    const grants = await timed('7', () => grantStoreBench(runs.quick));
    output = withGrantStoreSection(withObservability(report({ presign, sim, vend, functions, rps }, runs), observability), grants);
  } finally {
    notes = await tearDown(bench);
  }
  process.stderr.write(`${notes.join('\n')}\ntook ${((now() - started) / 1000).toFixed(1)} s (sections: ${timings.join(', ')})\n\n`);
  process.stdout.write(output);
  return 0;
}

runCli(CLI, process.argv.slice(2), ({ values, positionals }) => {
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);
  return bench(runsFor(values.quick === true));
}).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
  },
);
