/**
 * Section 4: each function's bundle (serverless.yml's esbuild options) and a fresh process's import
 * + init + first invocation vs a bundle holding only the SDK clients the handler uses, making the
 * same calls (local STS; S3 presigning is local). Goal ≤ 1.25×.
 *
 * The baselines are built with the functions' own esbuild options, serverless.yml's `alias` included:
 * they carry the same environment-only credential provider (src/wiring/lambdaCredentials.ts), not
 * the SDK's default chain, so the ratio is the broker's overhead over the same SDK clients packaged the
 * same way. Against stock SDK bundles (default chain, ~130 KB more) the ratios would look better.
 *
 * One more line, `credentials (DynamoDB store)` (`credentialsDynamo` in the JSON): `credentials` packaged
 * with BROKER_GRANT_STORE=dynamodb against the local dynalite, vs baselines/stsDynamo.ts (the same
 * first table reads and AssumeRole with the SDK alone). See dynamoCredentials below.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { apiKeyKey, encodePartnerItem, encodeVersionItem, partnerKey, pointerItemsFor, VERSION_PK } from '../../src/adapters/dynamo/items.js';
import { loadConfigFile, partnersOf } from '../../src/config/load.js';
import { buildFunctionBundles, buildSourceWithServerlessOptions, s3Footprint, sdkClients, type BuiltBundle } from '../lib/bundles.js';
import type { BaselineTarget } from './baselines/sts.js';
import type { DynamoBaselineTarget } from './baselines/stsDynamo.js';
import { GRANT_BENCH } from './grantStore.js';
import { createGrantTable, deleteGrantTable, ensureLocalDynamo, localDynamoClient } from '../lib/localDynamo.js';
import { benchEvent, lambdaContext, median } from './harness.js';
import type { Bench } from './setup.js';
import { PRESIGN_EXPIRES_IN, UPLOAD_BYTES, UPLOAD_TYPE, type Runs } from './settings.js';

export type Baseline = 'sts' | 'sts+put' | 'sts+get' | 'sts+dynamodb' | 'none';
interface Scenario { event: APIGatewayProxyEventV2; baseline: Baseline; what: string; status?: number }
export interface ProcessRun { totalMs: number; importMs: number; invokeMs: number; bootMs: number; status: number }
export interface FunctionResult { name: string; label?: string; bytes: number; s3Symbols: string[]; sdk: string[]; scenario?: string; handler?: ProcessRun; baseline?: ProcessRun; baselineKind?: Baseline; baselineBytes?: number; ratio?: number }

/** The SDK-only baselines (baselines/*.ts), each exporting makeHandler(target). */
const BASELINE_SOURCES: Record<Baseline, string> = {
  sts: 'sts.ts',
  'sts+put': 'stsPut.ts',
  'sts+get': 'stsGet.ts',
  'sts+dynamodb': 'stsDynamo.ts',
  none: 'none.ts',
};
/** runner.mjs's text, run with `node -e` (see there why not as a file). */
const RUNNER = readFileSync(new URL('./runner.mjs', import.meta.url), 'utf8');

function scenarios(bench: Bench): Record<string, Scenario> {
  const key = { 'x-api-key': bench.apiKey };
  return {
    credentials: { event: benchEvent('POST', '/v1/credentials', key, {}), baseline: 'sts', what: 'AssumeRole' },
    credentialsProcess: { event: benchEvent('GET', '/v1/credentials/process', key), baseline: 'sts', what: 'AssumeRole' },
    credentialsContainer: { event: benchEvent('GET', '/v1/credentials/container', { authorization: bench.apiKey }), baseline: 'sts', what: 'AssumeRole' },
    uploads: {
      event: benchEvent('POST', '/v1/uploads', key, { method: 'PUT', key: 'cold/a.jpg', contentType: UPLOAD_TYPE, contentLength: UPLOAD_BYTES, expiresIn: PRESIGN_EXPIRES_IN }),
      baseline: 'sts+put', what: 'AssumeRole + presign PUT',
    },
    downloads: { event: benchEvent('POST', '/v1/downloads', key, { key: 'cold/a.jpg', expiresIn: PRESIGN_EXPIRES_IN }), baseline: 'sts+get', what: 'AssumeRole + presign GET' },
    whoami: { event: benchEvent('GET', '/v1/whoami', key), baseline: 'none', what: 'no AWS call' },
    openapi: { event: benchEvent('GET', '/v1/openapi.json', {}), baseline: 'none', what: 'no AWS call' },
    health: { event: benchEvent('GET', '/health', {}), baseline: 'none', what: 'no AWS call' },
    preflight: { event: benchEvent('OPTIONS', '/v1/uploads', { origin: 'https://app.bench.example', 'access-control-request-method': 'POST' }), baseline: 'none', what: 'no AWS call', status: 204 },
  };
}

/**
 * Builds a baseline as the functions are built: its entry is baselines/<kind>.ts's makeHandler,
 * called at import time with this run's region, bucket and role.
 */
async function buildBaseline(kind: Baseline, bench: Bench, outFile: string, extra: Partial<DynamoBaselineTarget> = {}): Promise<{ file: string; bytes: number }> {
  const source = fileURLToPath(new URL(`./baselines/${BASELINE_SOURCES[kind]}`, import.meta.url));
  const target: BaselineTarget = { region: bench.region, bucket: bench.bucket, roleArn: bench.roleArn, ...extra };
  const entry = `import { makeHandler } from ${JSON.stringify(source)};\nexport const handler = makeHandler(${JSON.stringify(target)});\n`;
  return buildSourceWithServerlessOptions(entry, outFile);
}

/**
 * A fresh node process (runner.mjs) that imports a bundle and invokes it once with `event` (none:
 * import only), with the function's environment (bench.env, or `env` in its place); section 6 uses it too.
 */
export function runFresh(bench: Bench, bundleFile: string, event: APIGatewayProxyEventV2 | undefined, functionEnv: Record<string, string> = bench.env): Promise<ProcessRun> {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', ...functionEnv };
  const args = ['--input-type=module', '-e', RUNNER, '--', pathToFileURL(bundleFile).href, ...(event === undefined ? [] : [JSON.stringify(event), JSON.stringify({ ...lambdaContext, getRemainingTimeInMillis: undefined })])];
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { env, cwd: bench.tmp, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (error, _stdout, stderr) => {
      const line = String(stderr).split('\n').find((l) => l.startsWith('BENCH_RESULT '));
      if (error || line === undefined) {
        reject(new Error(`fresh process for ${bundleFile} failed: ${error?.message ?? 'no result line'}\n${String(stderr).slice(-2000)}`));
        return;
      }
      resolve(JSON.parse(line.slice('BENCH_RESULT '.length)) as ProcessRun);
    });
  });
}

const medianRun = (runs: ProcessRun[]): ProcessRun => {
  const pick = (k: keyof ProcessRun) => median(runs.map((r) => r[k]));
  return { totalMs: pick('totalMs'), importMs: pick('importMs'), invokeMs: pick('invokeMs'), bootMs: pick('bootMs'), status: runs[0]!.status };
};

export async function bundlesAndColdStarts(bench: Bench, runs: Runs): Promise<FunctionResult[]> {
  const outDir = join(bench.tmp, 'bundles');
  const bundles: BuiltBundle[] = await buildFunctionBundles(outDir);
  const byScenario = scenarios(bench);
  const baselines = new Map<Baseline, { file: string; bytes: number }>();
  for (const kind of new Set(Object.values(byScenario).map((s) => s.baseline))) {
    mkdirSync(join(outDir, 'baselines'), { recursive: true });
    baselines.set(kind, await buildBaseline(kind, bench, join(outDir, 'baselines', `${kind.replace('+', '-')}.mjs`)));
  }
  const results: FunctionResult[] = [];
  for (const bundle of bundles) {
    const footprint = s3Footprint(bundle);
    if (bundle.name.startsWith('credentials') && footprint.symbols.length + footprint.s3Inputs.length > 0) {
      throw new Error(`${bundle.name} only vends credentials but its bundle carries the S3 client (${footprint.symbols.join(', ')})`);
    }
    const scenario = byScenario[bundle.name];
    const result: FunctionResult = { name: bundle.name, bytes: bundle.bytes, s3Symbols: footprint.symbols, sdk: sdkClients(bundle) };
    if (scenario === undefined) {
      // A function this benchmark has no request for (e.g. added since): its import + init only.
      result.handler = medianRun(await Promise.all([runFresh(bench, bundle.file, undefined)]));
      results.push(result);
      continue;
    }
    results.push(await compared(bench, runs, result, bundle.file, scenario, baselines.get(scenario.baseline)!, bench.env));
  }
  results.push(await dynamoCredentials(bench, runs, outDir, byScenario.credentials!));
  return results;
}

/**
 * `processReps` fresh processes each for the bundle and its baseline, interleaved (the order flips
 * every rep), both with the function's environment `env`; the medians and their ratio.
 */
async function compared(bench: Bench, runs: Runs, result: FunctionResult, bundleFile: string, scenario: Scenario, baseline: { file: string; bytes: number }, env: Record<string, string>): Promise<FunctionResult> {
  const handlerRuns: ProcessRun[] = [];
  const baselineRuns: ProcessRun[] = [];
  for (let rep = 0; rep < runs.processReps; rep += 1) {
    const order = rep % 2 === 0 ? ['handler', 'baseline'] : ['baseline', 'handler'];
    for (const side of order) {
      if (side === 'handler') {
        const run = await runFresh(bench, bundleFile, scenario.event, env);
        if (run.status !== (scenario.status ?? 200)) throw new Error(`${result.label ?? result.name} bundle answered ${run.status} on its first invocation`);
        handlerRuns.push(run);
      } else {
        const run = await runFresh(bench, baseline.file, scenario.event, env);
        if (run.status !== 200) throw new Error(`${scenario.baseline} baseline answered ${run.status}`);
        baselineRuns.push(run);
      }
    }
  }
  const handler = medianRun(handlerRuns);
  const base = medianRun(baselineRuns);
  return { ...result, scenario: scenario.what, handler, baseline: base, baselineKind: scenario.baseline, baselineBytes: baseline.bytes, ratio: handler.totalMs / base.totalMs };
}

/** The grant table section 4 loads (its own name: section 7 deletes and refills GRANT_BENCH.table). */
const COLD_TABLE = 'bench-cold-grants';

/**
 * `credentials` packaged with BROKER_GRANT_STORE=dynamodb (serverless.yml's esbuild `define` bakes the
 * choice in, so the bundle carries the table reader and the DynamoDB client), answering the same
 * POST /v1/credentials with the bench partner and API key loaded into a table on the local dynalite,
 * vs baselines/stsDynamo.ts: the same table reads and AssumeRole with the SDK alone. The function's
 * environment is what the deployed one gets with that store: BROKER_GRANT_STORE, BROKER_GRANT_TABLE,
 * and a config holding the settings but no partners (they come from the table).
 */
async function dynamoCredentials(bench: Bench, runs: Runs, outDir: string, scenario: Scenario): Promise<FunctionResult> {
  const dynamoDir = join(outDir, 'dynamodb');
  const previous = process.env.BROKER_GRANT_STORE;
  let bundle: BuiltBundle;
  try {
    // read by scripts/serverless-settings.cjs's esbuildDefine, as `BROKER_GRANT_STORE=dynamodb npm run package` does
    process.env.BROKER_GRANT_STORE = 'dynamodb';
    [bundle] = await buildFunctionBundles(dynamoDir, { only: ['credentials'] }) as [BuiltBundle];
  } finally {
    if (previous === undefined) delete process.env.BROKER_GRANT_STORE;
    else process.env.BROKER_GRANT_STORE = previous;
  }
  const sdk = sdkClients(bundle);
  if (!sdk.includes('dynamodb')) throw new Error(`credentials built with BROKER_GRANT_STORE=dynamodb carries no DynamoDB client (SDK clients: ${sdk.join(', ') || 'none'})`);

  const partners = partnersOf(loadConfigFile(bench.configFile));
  const keyId = /^sbk_([^_]+)_/.exec(bench.apiKey)?.[1];
  const owner = keyId === undefined ? undefined : [...partners].find(([, p]) => Object.values(p.clients).some((c) => c.apiKeys?.some((k) => k.id === keyId)));
  if (keyId === undefined || owner === undefined) throw new Error('the bench API key names no key of the bench config');
  // The store's first request: the version item, the key's pointer, the partner it names (see baselines/stsDynamo.ts).
  const readKeys = [VERSION_PK, apiKeyKey(keyId), partnerKey(owner[0])];
  const baseline = await buildBaseline('sts+dynamodb', bench, join(outDir, 'baselines', 'sts-dynamodb.mjs'), { readKeys });

  const configFile = join(bench.tmp, 'broker.bench.dynamodb.yaml');
  writeFileSync(configFile, [
    '# generated by scripts/bench/coldStart.ts: the settings only, the partners are in the grant table',
    'allowInsecureLoopbackHttp: true',
    'partners: {}',
    '',
  ].join('\n'));
  const dynamo = await ensureLocalDynamo({ dir: GRANT_BENCH.dir, port: GRANT_BENCH.port, inMemory: true });
  const writer = localDynamoClient(dynamo.endpoint);
  try {
    await deleteGrantTable(writer, COLD_TABLE);
    await createGrantTable(writer, COLD_TABLE);
    const meta = { updatedAt: new Date(), updatedBy: 'arn:aws:iam::111111111111:user/bench' };
    const items = [...[...partners].map(([id, p]) => encodePartnerItem(id, p, meta)), ...pointerItemsFor(partners), encodeVersionItem(1, meta.updatedAt)];
    for (const Item of items) await writer.send(new PutCommand({ TableName: COLD_TABLE, Item }));
    const env = { ...bench.env, BROKER_CONFIG: configFile, BROKER_GRANT_STORE: 'dynamodb', BROKER_GRANT_TABLE: COLD_TABLE, ...dynamo.env };
    const footprint = s3Footprint(bundle);
    const result: FunctionResult = { name: 'credentialsDynamo', label: 'credentials (DynamoDB store)', bytes: bundle.bytes, s3Symbols: footprint.symbols, sdk };
    return await compared(bench, runs, result, bundle.file, { ...scenario, baseline: 'sts+dynamodb', what: 'GetItem ×3 + AssumeRole' }, baseline, env);
  } finally {
    writer.destroy();
    await dynamo.stop();
  }
}
