/** The benchmark's output: one table per section with each goal met or missed, then one JSON line. */
import type { FunctionResult } from './coldStart.js';
import { GOAL_LINES, PARTS_PER_CALL, STRICT_LINES, type LineSummary, type PresignResult } from './presign.js';
import { GOALS, type Runs } from './settings.js';
import { SIM, type SimOutcome } from './stsCalls.js';
import type { ThroughputResult } from './throughput.js';
import type { VendResult } from './vend.js';

export interface Results {
  presign: PresignResult;
  sim: SimOutcome[];
  vend: VendResult;
  functions: FunctionResult[];
  rps: ThroughputResult;
}

const round = (x: number, digits = 2): number => Number(x.toFixed(digits));
const ms = (x: number): string => `${x.toFixed(x < 10 ? 3 : 1)} ms`;
const ratio = (x: number): string => `${x.toFixed(2)}×`;
const verdict = (value: number, goal: number): string => (value <= goal ? `ok (≤ ${goal}×)` : `MISSES ≤ ${goal}×`);

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd()).join('\n');
}

/** The whole report: the tables, a blank line, the JSON line. */
export function report({ presign, sim, vend, functions, rps }: Results, runs: Runs): string {
  const single = sim[0]!;
  const lines: string[] = [];
  lines.push(`sts-broker benchmark${runs.quick ? ' (--quick: few iterations, figures are rough)' : ''} — node ${presign.node}, ${process.platform}/${process.arch}, ${presign.cores} cores (${presign.cpuModel})`);
  lines.push('');
  const reps = presign.runs.length;
  lines.push(`1. warm presign through the bundled handlers vs the signing floor (auth check + one SDK SignatureV4.presign from a signer built once, or one form by createPresignedPost's steps without a client); ${reps === 1 ? 'one run' : `median of ${reps} runs, spread min–max`}`);
  const l = presign.lines;
  const row = (label: string, floor: string, s: LineSummary): string[] => [
    label, floor, ms(s.handlerP50), ms(s.floorP50), ratio(s.ratio), reps === 1 ? '' : `${ratio(s.min)}–${ratio(s.max)}`,
    s.goal === undefined ? '(for comparison: no goal)' : verdict(s.ratio, s.goal), String(s.samples),
  ];
  lines.push(table([
    ['line', 'floor', 'handler p50', 'floor p50', 'ratio', 'spread', 'goal', 'samples'],
    row('POST /v1/uploads PUT, JWT', 'jwtVerify (imported key) + 1 presign', l.jwt),
    row('POST /v1/uploads PUT, API key', 'SHA-256 + timingSafeEqual + 1 presign', l.apiKey),
    row('POST /v1/uploads POST form, JWT', 'jwtVerify (imported key) + 1 SDK form (policy + getSigningKey + 1 HMAC)', l.postJwt),
    row('POST /v1/uploads POST form, API key', 'SHA-256 + timingSafeEqual + 1 SDK form', l.postApiKey),
    row('POST /v1/downloads, JWT', 'jwtVerify (imported key) + 1 GET presign', l.downloadJwt),
    row('POST /v1/downloads, API key', 'SHA-256 + timingSafeEqual + 1 GET presign', l.downloadApiKey),
    row(`POST /v1/uploads/multipart/parts, ${PARTS_PER_CALL} parts, API key`, `key check + ${PARTS_PER_CALL} presigns`, l.parts),
    row('POST /v1/uploads PUT, JWT (old line)', 'jwtVerify + getSignedUrl, new S3Client per URL', l.jwtOldFloor),
    row('POST /v1/uploads PUT, JWT (strict floor)', "jwtVerify + 1 URL from the broker's own signer", l.jwtStrict),
    row('POST /v1/uploads PUT, API key (strict floor)', "SHA-256 + timingSafeEqual + 1 URL, broker's signer", l.apiKeyStrict),
    row('POST /v1/uploads POST form, API key (strict floor)', "SHA-256 + timingSafeEqual + 1 form, broker's signer", l.postApiKeyStrict),
    row('POST /v1/downloads, API key (strict floor)', "SHA-256 + timingSafeEqual + 1 GET, broker's signer", l.downloadApiKeyStrict),
    row(`parts, ${PARTS_PER_CALL} parts, API key (strict floor)`, `key check + ${PARTS_PER_CALL} synchronous URLs, broker's signer`, l.partsStrict),
  ]));
  lines.push("   floor: the SDK's SignatureV4.presign (a signer built once per session), checked byte-identical to the broker's URL before timing; for a form,");
  lines.push("   createPresignedPost's steps with the SDK's pieces (no client, no endpoint resolution per form), checked field for field against the broker's form;");
  lines.push("   the broker's own signers (src/adapters/aws/sigv4Presign.ts, sigv4Post.ts) are faster than the SDK's, so the strict-floor lines show the same handler");
  lines.push('   samples against them.');
  lines.push(`   handlers: handlers/uploads.ts, handlers/downloads.ts and handlers/multipartParts.ts bundled as deployed (${Object.entries(presign.handlerBytes).map(([n, b]) => `${n} ${b.toLocaleString('en')} B`).join(', ')}); v2 events with headers and JSON body;`);
  lines.push(`   distinct token per JWT request on every side; sides interleaved in batches of ${runs.presignBatchSize}; ${presign.logLines} log lines written to stdout and counted in the sink; JWKS fetched ${presign.jwksFetches}×`);
  lines.push(`   goals (JWT ≤ ${GOALS.presignJwtVsFloor}×, API key ≤ ${GOALS.presignApiKeyVsFloor}×, parts ≤ ${GOALS.partsVsFloor}×): ${GOAL_LINES.map((n) => `${n} ${l[n].ratio <= l[n].goal! ? 'met' : 'MISSED'}`).join(', ')}`);
  lines.push('');
  lines.push(`2. STS calls: ${single.requests.toLocaleString('en')} presigns over ${SIM.hours} simulated hours, ${SIM.partners} partners × ${SIM.subjectsPerPartner} subjects, expiries ${SIM.minExpires}–${SIM.maxExpires} s, ${Math.round(SIM.writeShare * 100)}% uploads / ${Math.round((1 - SIM.writeShare) * 100)}% downloads, sessions ${SIM.sessionSeconds} s (warm-up counted)`);
  lines.push(table([
    ['', 'STS calls', 'minimum (scopes × sessions)', 'vs minimum', 'per 1000 req', 'URLs shortened'],
    ...sim.map((o) => [
      o.label, String(o.stsCalls), `${o.minimum} (${o.scopes} × ${(o.minimum / o.scopes).toFixed(2)})`,
      `${ratio(o.stsCalls / o.minimum)} ${verdict(o.stsCalls / o.minimum, GOALS.stsVsMinimum)}`,
      `${(o.stsCalls / o.requests * 1000).toFixed(2)} ${o.stsCalls / o.requests <= GOALS.stsShareOfRequests ? '(≤ 1%)' : '(> 1%)'}`, String(o.shortened),
    ]),
  ]));
  lines.push('   minimum: per container and scope (partner, client, subject, action), a session issued at the first request it serves, replaced only when a URL would outlive it;');
  lines.push('   separate caches cannot share sessions, so the 4-container minimum is ~4× the single one (a scope needs its own sessions in every container it reaches)');
  lines.push('');
  lines.push('3. vend (POST /v1/credentials, API key) vs the same AssumeRoleCommand input on the same warm STSClient, local STS');
  lines.push(table([
    ['', 'median', 'p99', 'pairs'],
    ['handler', ms(vend.handlerMedian), ms(vend.handlerP99), String(vend.pairs)],
    ['raw AssumeRole', ms(vend.stsMedian), ms(vend.stsP99), String(vend.pairs)],
    ['ratio', ratio(vend.ratio), '', `${verdict(vend.ratio, GOALS.vendVsSts)}; overhead ${ms(vend.overheadMs)}`],
  ]));
  lines.push('');
  lines.push(`4. bundles (serverless.yml custom.esbuild: bundle, minify, node22, esm, createRequire banner) and a fresh process: import + init + first invocation (median of ${runs.processReps})`);
  lines.push(table([
    ['function', 'bytes', 'SDK clients', 'first call', 'handler', '(import + call)', 'SDK-only', 'bytes', 'ratio', ''],
    ...functions.map((f) => [
      f.label ?? f.name, f.bytes.toLocaleString('en'), f.sdk.length > 0 ? f.sdk.join('+') : 'none', f.scenario ?? '(import only)',
      f.handler ? ms(f.handler.totalMs) : '', f.handler ? `(${f.handler.importMs.toFixed(1)} + ${f.handler.invokeMs.toFixed(1)})` : '',
      f.baseline ? `${ms(f.baseline.totalMs)} (${f.baseline.importMs.toFixed(1)} + ${f.baseline.invokeMs.toFixed(1)})` : '',
      f.baselineBytes === undefined ? '' : f.baselineBytes.toLocaleString('en'),
      f.ratio === undefined ? '' : ratio(f.ratio),
      f.ratio === undefined ? '' : f.baselineKind === 'none' ? '(vs a bare handler: no SDK floor)' : verdict(f.ratio, GOALS.importVsSdk),
    ]),
  ]));
  const dynamo = functions.find((f) => f.baselineKind === 'sts+dynamodb');
  if (dynamo !== undefined) {
    lines.push(`   ${dynamo.label ?? dynamo.name}: packaged with BROKER_GRANT_STORE=dynamodb, the bench partner and key in a table on the local dynalite; its SDK-only`);
    lines.push('   baseline (sts+dynamodb, baselines/stsDynamo.ts) bundles the DynamoDB document client too and makes the same first reads (version, key pointer, partner) before the AssumeRole');
  }
  lines.push('');
  lines.push('5. presign handler throughput, one process, one request at a time (as a Lambda container serves them)');
  lines.push(table([
    ['requests/s', 'p50', 'p99', 'requests'],
    [rps.rps.toFixed(0), ms(rps.p50), ms(rps.p99), String(rps.requests)],
  ]));
  const json = {
    presignJwtVsFloor: round(presign.lines.jwt.ratio),
    presignApiKeyVsFloor: round(presign.lines.apiKey.ratio),
    partsVsFloor: round(presign.lines.parts.ratio),
    postJwtVsFloor: round(presign.lines.postJwt.ratio),
    postApiKeyVsFloor: round(presign.lines.postApiKey.ratio),
    downloadJwtVsFloor: round(presign.lines.downloadJwt.ratio),
    downloadApiKeyVsFloor: round(presign.lines.downloadApiKey.ratio),
    presignJwtVsOldFloor: round(presign.lines.jwtOldFloor.ratio),
    strictFloor: Object.fromEntries(STRICT_LINES.map((n) => [n, round(presign.lines[n].ratio)])),
    presignSpread: Object.fromEntries(GOAL_LINES.map((n) => [n, [round(presign.lines[n].min), round(presign.lines[n].max)]])),
    stsCallsPer1000: round(single.stsCalls / single.requests * 1000),
    vendVsSts: round(vend.ratio),
    vendMedianMs: round(vend.handlerMedian),
    importVsSdk: Object.fromEntries(functions.filter((f) => f.ratio !== undefined).map((f) => [f.name, round(f.ratio!)])),
    bundleBytes: Object.fromEntries(functions.map((f) => [f.name, f.bytes])),
    presignRps: Math.round(rps.rps),
    presignP99Ms: round(rps.p99, 3),
  };
  return `${lines.join('\n')}\n\n${JSON.stringify(json)}\n`;
}
