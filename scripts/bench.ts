/**
 * `npm run bench [-- --quick]`: the broker's performance, every figure a ratio against a floor
 * measured side by side in the same run (absolute numbers from one machine mean little; ratios
 * travel). Prints a table, then one JSON line.
 *
 *   1. warm presign through the full handler stack (API Gateway v2 event in, JSON out, JWT auth by a
 *      real JwtVerifier against a loopback JWKS, cached session, audit logging into a counting sink)
 *      vs the floor: one jose jwtVerify (ES256, local key) + one getSignedUrl (new S3Client per URL,
 *      as the adapter does; AWS URLs, as in production); distinct tokens on both sides, batches
 *      interleaved. Goal ≤ 2.0× at p50.
 *   2. STS calls over two simulated hours: 100,000 presigns from 10 partners × 10 subjects, expiries
 *      60–900 s, through presignSession + SessionCache with a counting issuer and a fake clock, beside
 *      the theoretical minimum; one container, then 4 with separate caches. Goal ≤ 1.2× the minimum
 *      and ≤ 1% of requests.
 *   3. POST /v1/credentials through the handler vs the same AssumeRoleCommand input replayed on the
 *      same warm STSClient, both against the local STS. Goal ≤ 1.1×.
 *   4. each function's bundle (serverless.yml's esbuild options) and a fresh process's import + init +
 *      first invocation vs a bundle holding only the SDK clients the handler uses, making the same
 *      calls (local STS; S3 presigning is local). Goal ≤ 1.25×.
 *   5. single-process throughput of the presign handler (one request at a time, as a Lambda
 *      container serves them): requests per second, p50 and p99.
 *
 * Needs the local S3 + STS (scripts/local-aws): reuses one serving in $TMPDIR/sts-broker-bench-aws
 * (127.0.0.1:17580, monitor 13410) or starts it there and stops it at the end.
 * `--quick` runs every section with few iterations (the simulation is deterministic and cheap, so it
 * runs in full); CI runs it, and it fails only if the benchmark breaks, never on timing.
 */
import { AssumeRoleCommand, type AssumeRoleCommandInput, type STSClient } from '@aws-sdk/client-sts';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { exportJWK, generateKeyPair, jwtVerify, SignJWT, type CryptoKey } from 'jose';
import { generateApiKey } from '../src/auth/apiKey.js';
import { clientConfig, S3Presigner } from '../src/aws/s3.js';
import { SessionCache } from '../src/aws/sessionCache.js';
import type { BrokerDeps } from '../src/broker/deps.js';
import { presignSession } from '../src/broker/presignSession.js';
import { parseConfig } from '../src/config/load.js';
import { ConfigGrantStore } from '../src/grants/grantStore.js';
import { resolveGrant } from '../src/grants/resolveGrant.js';
import { encodeSubject } from '../src/grants/subject.js';
import { lambdaHandler } from '../src/http/lambdaHandler.js';
import type { HttpResponse } from '../src/http/responses.js';
import type { AssumeRoleRequest, Caller, CredentialIssuer, TemporaryCredentials } from '../src/ports.js';
import { credentialsRoute } from '../src/routes/credentials.js';
import { setVendRateLimiter, VendRateLimiter } from '../src/broker/vendCredentials.js';
import { uploadsRoute } from '../src/routes/uploads.js';
import { coldStart, noPresigner } from '../src/wiring.js';
import { ensureLocalAws, type LocalAws } from '../test/e2e/support/localAws.js';
import { buildFunctionBundles, buildSourceWithServerlessOptions, s3Footprint, sdkClients, type BuiltBundle } from './lib/bundles.js';

// ---- settings ---------------------------------------------------------------------------------

const QUICK = process.argv.includes('--quick');
const RUNS = QUICK
  ? { presignWarmup: 30, presignBatches: 4, presignBatchSize: 25, simRequests: 100_000, vendWarmup: 3, vendPairs: 10, processReps: 1, rpsWarmup: 50, rpsRequests: 300 }
  : { presignWarmup: 500, presignBatches: 20, presignBatchSize: 250, simRequests: 100_000, vendWarmup: 20, vendPairs: 200, processReps: 5, rpsWarmup: 500, rpsRequests: 5_000 };

const LOCAL_AWS = { dir: join(tmpdir(), 'sts-broker-bench-aws'), port: 17580, monPort: 13410 } as const;
const GOALS = { presignVsFloor: 2.0, stsVsMinimum: 1.2, stsShareOfRequests: 0.01, vendVsSts: 1.1, importVsSdk: 1.25 } as const;
const AUDIENCE = 'bench-app';
const SUBJECT = 'alice';
const PRESIGN_EXPIRES_IN = 600;
const UPLOAD_TYPE = 'image/jpeg';
const UPLOAD_BYTES = 1024;
/** The headers the adapter signs into a PUT URL (src/aws/s3.ts). */
const PUT_SIGNED_HEADERS = new Set(['content-type', 'content-length']);

// ---- small helpers ------------------------------------------------------------------------------

const now = (): number => performance.now();
const sorted = (xs: readonly number[]): number[] => [...xs].sort((a, b) => a - b);
/** Nearest-rank percentile of `xs` (p in 0..100). */
function pct(xs: readonly number[], p: number): number {
  const s = sorted(xs);
  if (s.length === 0) throw new Error('percentile of no samples');
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}
const median = (xs: readonly number[]): number => pct(xs, 50);
const round = (x: number, digits = 2): number => Number(x.toFixed(digits));
const ms = (x: number): string => `${x.toFixed(x < 10 ? 3 : 1)} ms`;
const ratio = (x: number): string => `${x.toFixed(2)}×`;
const verdict = (value: number, goal: number): string => (value <= goal ? `ok (≤ ${goal}×)` : `MISSES ≤ ${goal}×`);

/** A seeded PRNG (mulberry32), so the simulation is the same on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * While measuring, the broker's log lines (Powertools writes JSON to process.stdout) go to a sink
 * that counts them: the logger still builds and serialises every line, nothing reaches the terminal.
 */
class LogSink {
  lines = 0;
  bytes = 0;
  private original: typeof process.stdout.write | undefined;

  async around<T>(fn: () => Promise<T>): Promise<T> {
    this.original = process.stdout.write;
    process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      this.bytes += text.length;
      for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) this.lines += 1;
      const callback = rest.find((r): r is () => void => typeof r === 'function');
      if (callback) queueMicrotask(callback);
      return true;
    }) as typeof process.stdout.write;
    try {
      return await fn();
    } finally {
      process.stdout.write = this.original;
    }
  }
}

/** Loopback JWKS for one ES256 key, and tokens it verifies. */
async function startIdp(): Promise<{ url: string; jwksUri: string; publicKey: CryptoKey; mint: (count: number, subject?: string) => Promise<string[]>; server: Server; fetches: () => number }> {
  const kid = 'bench-es256';
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }] });
  let fetches = 0;
  const server = createServer((req, res) => {
    if (req.url === '/jwks.json') {
      fetches += 1;
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(jwks) }).end(jwks);
    } else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('JWKS server has no port');
  const url = `http://127.0.0.1:${address.port}`;
  const mint = async (count: number, subject = SUBJECT): Promise<string[]> => {
    const iat = Math.floor(Date.now() / 1000);
    return Promise.all(Array.from({ length: count }, () => new SignJWT({ sub: subject, jti: randomUUID() })
      .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
      .setIssuer(url).setAudience(AUDIENCE).setIssuedAt(iat).setExpirationTime(iat + 3600)
      .sign(privateKey)));
  };
  return { url, jwksUri: `${url}/jwks.json`, publicKey, mint, server, fetches: () => fetches };
}

/** A real-shaped API Gateway HTTP API (payload v2) event. */
function apiEvent(method: 'GET' | 'POST' | 'OPTIONS', path: string, headers: Record<string, string>, body?: unknown): APIGatewayProxyEventV2 {
  const text = body === undefined ? undefined : JSON.stringify(body);
  return {
    version: '2.0',
    routeKey: `${method} ${path}`,
    rawPath: path,
    rawQueryString: '',
    headers: { ...(text === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    requestContext: {
      accountId: '123456789012', apiId: 'bench', domainName: 'broker.example', domainPrefix: 'broker',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.9', userAgent: 'bench' },
      requestId: randomUUID(), routeKey: `${method} ${path}`, stage: '$default', time: new Date().toISOString(), timeEpoch: Date.now(),
    },
    ...(text === undefined ? {} : { body: text }),
    isBase64Encoded: false,
  };
}

const lambdaContext = {
  callbackWaitsForEmptyEventLoop: false, functionName: 'bench', functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:bench', memoryLimitInMB: '512',
  awsRequestId: 'bench', logGroupName: 'bench', logStreamName: 'bench', getRemainingTimeInMillis: () => 10_000,
  done: () => undefined, fail: () => undefined, succeed: () => undefined,
};

type Handler = (event: APIGatewayProxyEventV2, context: typeof lambdaContext) => Promise<HttpResponse>;

function expectOk(res: HttpResponse, what: string): HttpResponse {
  if (res.statusCode !== 200) throw new Error(`${what} answered ${res.statusCode}: ${res.body ?? ''}`);
  return res;
}

const uploadEvent = (token: string, n: number) => apiEvent('POST', '/v1/uploads', { authorization: `Bearer ${token}` }, {
  method: 'PUT', key: `bench/${n}.jpg`, contentType: UPLOAD_TYPE, contentLength: UPLOAD_BYTES, expiresIn: PRESIGN_EXPIRES_IN,
});

/**
 * Times `a` and `b` in interleaved batches (a b, b a, a b, …) so drift (JIT, GC, a noisy neighbour)
 * lands on both sides. Each call gets a running index.
 */
async function interleaved(batches: number, size: number, a: (i: number) => Promise<unknown>, b: (i: number) => Promise<unknown>): Promise<{ a: number[]; b: number[] }> {
  const times = { a: [] as number[], b: [] as number[] };
  let ia = 0;
  let ib = 0;
  const runA = async () => { for (let k = 0; k < size; k += 1) { const t = now(); await a(ia++); times.a.push(now() - t); } };
  const runB = async () => { for (let k = 0; k < size; k += 1) { const t = now(); await b(ib++); times.b.push(now() - t); } };
  for (let batch = 0; batch < batches; batch += 1) {
    if (batch % 2 === 0) { await runA(); await runB(); } else { await runB(); await runA(); }
  }
  return times;
}

// ---- the broker's environment -------------------------------------------------------------------

interface Bench {
  tmp: string;
  aws: LocalAws;
  idp: Awaited<ReturnType<typeof startIdp>>;
  configFile: string;
  apiKey: string;
  /** The broker's environment (in Lambda: the function's variables and execution role). */
  env: Record<string, string>;
  region: string;
  bucket: string;
  roleArn: string;
  endpoint: string;
}

function writeBenchConfig(file: string, aws: Record<string, string>, idp: { url: string; jwksUri: string }, apiKeySha256: string): void {
  const yaml = `# generated by scripts/bench.ts for the local S3 + STS: do not deploy
allowInsecureLoopbackHttp: true
partners:
  bench:
    roleArn: ${JSON.stringify(aws.PARTNER_ROLE_ARN)}
    bucket: ${aws.PARTNER_BUCKET}
    region: ${aws.LOCAL_AWS_REGION}
    maxDurationSeconds: 3600
    clients:
      backend:
        apiKeys: [{ id: benchk1, sha256: "${apiKeySha256}" }]
        prefix: "bench/"
        actions: [read, write, list, delete]
        maxUploadBytes: 10485760
        contentTypes: ["${UPLOAD_TYPE}", "application/octet-stream"]
        cors: { origins: ["https://app.bench.example"] }
      app:
        jwt: { issuer: "${idp.url}", audience: "${AUDIENCE}", jwksUri: "${idp.jwksUri}", algorithms: [ES256] }
        prefix: "bench/users/\${sub}/"
        actions: [read, write]
        maxUploadBytes: 10485760
        contentTypes: ["${UPLOAD_TYPE}"]
        cors: { origins: ["https://app.bench.example"] }
`;
  writeFileSync(file, yaml);
}

function need(env: Record<string, string>, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`local AWS env lacks ${name}`);
  return value;
}

async function setUp(): Promise<Bench> {
  const tmp = mkdtempSync(join(tmpdir(), 'sts-broker-bench-'));
  const aws = await ensureLocalAws({ ...LOCAL_AWS });
  const idp = await startIdp();
  const key = generateApiKey('benchk1');
  const configFile = join(tmp, 'broker.bench.yaml');
  writeBenchConfig(configFile, aws.env, idp, key.sha256);
  const endpoint = need(aws.env, 'LOCAL_AWS_ENDPOINT');
  const region = need(aws.env, 'LOCAL_AWS_REGION');
  const env: Record<string, string> = {
    BROKER_CONFIG: configFile,
    BROKER_STS_ENDPOINT: endpoint,
    BROKER_S3_ENDPOINT: endpoint,
    BROKER_VERSION: 'bench',
    POWERTOOLS_SERVICE_NAME: 'sts-broker',
    AWS_ACCESS_KEY_ID: need(aws.env, 'BROKER_ACCESS_KEY_ID'),
    AWS_SECRET_ACCESS_KEY: need(aws.env, 'BROKER_SECRET_ACCESS_KEY'),
    AWS_REGION: region,
    AWS_EC2_METADATA_DISABLED: 'true',
  };
  // This process plays the Lambda container for sections 1, 3 and 5.
  for (const name of Object.keys(process.env)) if (name.startsWith('AWS_') || name.startsWith('BROKER_')) delete process.env[name];
  Object.assign(process.env, env);
  return { tmp, aws, idp, configFile, apiKey: key.key, env, region, bucket: need(aws.env, 'PARTNER_BUCKET'), roleArn: need(aws.env, 'PARTNER_ROLE_ARN'), endpoint };
}

async function tearDown(bench: Partial<Bench>): Promise<string[]> {
  const notes: string[] = [];
  if (bench.idp) await new Promise<void>((resolve) => bench.idp!.server.close(() => resolve()));
  if (bench.aws?.startedByUs) {
    await bench.aws.stop();
    notes.push(`local AWS: started for this run and stopped (${LOCAL_AWS.dir})`);
  } else if (bench.aws) notes.push(`local AWS: reused the one serving in ${LOCAL_AWS.dir} (left running)`);
  if (bench.tmp) rmSync(bench.tmp, { recursive: true, force: true });
  return notes;
}

// ---- 1. warm presign vs floor -------------------------------------------------------------------

interface PresignResult { handlerP50: number; handlerP99: number; floorP50: number; floorP99: number; ratioP50: number; ratioP99: number; samples: number; logLines: number; jwksFetches: number }

async function presignVsFloor(bench: Bench, deps: BrokerDeps, handler: Handler): Promise<PresignResult> {
  const { idp } = bench;
  const total = RUNS.presignWarmup + RUNS.presignBatches * RUNS.presignBatchSize;
  const handlerTokens = await idp.mint(total);
  const floorTokens = await idp.mint(total);
  // Events are built before timing (API Gateway builds them, not the handler).
  const handlerEvents = handlerTokens.map((t, n) => uploadEvent(t, n));
  const grant = resolveGrant(deps.store, { partnerId: 'bench', clientId: 'app', method: 'jwt', subject: SUBJECT, subjectSegment: encodeSubject(SUBJECT) });
  const key = `${grant.prefix}bench/floor.jpg`;

  const handlerCall = async (i: number) => {
    const res = await handler(handlerEvents[i]!, lambdaContext);
    if (res.statusCode !== 200) throw new Error(`presign handler answered ${res.statusCode}: ${res.body ?? ''}`);
  };
  let credentials: TemporaryCredentials | undefined;
  const floorCall = async (i: number) => {
    await jwtVerify(floorTokens[i]!, idp.publicKey, { issuer: idp.url, audience: AUDIENCE, algorithms: ['ES256'] });
    // The adapter's own client settings and pattern (a new client per URL), AWS's endpoint as in production.
    const client = new S3Client(clientConfig({ bucket: bench.bucket, region: bench.region, forcePathStyle: false }, credentials!, 0));
    const command = new PutObjectCommand({ Bucket: bench.bucket, Key: key, ContentType: UPLOAD_TYPE, ContentLength: UPLOAD_BYTES });
    await getSignedUrl(client, command, { expiresIn: PRESIGN_EXPIRES_IN, signableHeaders: PUT_SIGNED_HEADERS, signingDate: new Date() });
  };

  const sink = new LogSink();
  const times = await sink.around(async () => {
    // Warm: the JWKS is fetched, the session assumed (local STS) and cached, the JIT warm.
    await handlerCall(0);
    credentials = (await presignSession(deps, { partnerId: 'bench', clientId: 'app', method: 'jwt', subject: SUBJECT, subjectSegment: encodeSubject(SUBJECT) }, grant, 'write', PRESIGN_EXPIRES_IN)).credentials;
    for (let i = 1; i < RUNS.presignWarmup; i += 1) { await handlerCall(i); await floorCall(i); }
    const offset = RUNS.presignWarmup;
    return interleaved(RUNS.presignBatches, RUNS.presignBatchSize, (i) => handlerCall(offset + i), (i) => floorCall(offset + i));
  });
  if (sink.lines < total) throw new Error(`expected at least ${total} audit lines in the log sink, counted ${sink.lines}`);
  const r = {
    handlerP50: median(times.a), handlerP99: pct(times.a, 99), floorP50: median(times.b), floorP99: pct(times.b, 99),
  };
  return { ...r, ratioP50: r.handlerP50 / r.floorP50, ratioP99: r.handlerP99 / r.floorP99, samples: times.a.length, logLines: sink.lines, jwksFetches: idp.fetches() };
}

// ---- 2. STS calls over two simulated hours ------------------------------------------------------

interface SimRequest { t: number; caller: number; action: 'read' | 'write'; expiresIn: number }
interface SimOutcome { label: string; containers: number; stsCalls: number; minimum: number; scopes: number; requests: number; shortened: number }

const SIM = { partners: 10, subjectsPerPartner: 10, hours: 2, minExpires: 60, maxExpires: 900, writeShare: 0.7, sessionSeconds: 3600 } as const;

function simConfigYaml(): string {
  const lines = ['partners:'];
  for (let p = 0; p < SIM.partners; p += 1) {
    lines.push(
      `  p${p}:`,
      `    roleArn: "arn:aws:iam::${String(100000000000 + p)}:role/Role-P${p}"`,
      `    bucket: partner-${p}-bucket`,
      '    region: eu-west-1',
      `    maxDurationSeconds: ${SIM.sessionSeconds}`,
      '    clients:',
      '      app:',
      `        jwt: { issuer: "https://idp-${p}.example", audience: "app-${p}", algorithms: [ES256] }`,
      `        prefix: "p${p}/users/\${sub}/"`,
      '        actions: [read, write]',
      '        maxUploadBytes: 10485760',
      '        contentTypes: ["image/jpeg"]',
    );
  }
  return `${lines.join('\n')}\n`;
}

function simRequests(count: number, callers: number, seed: number): SimRequest[] {
  const random = prng(seed);
  const span = SIM.hours * 3600 * 1000;
  const times = Array.from({ length: count }, () => Math.floor(random() * span)).sort((a, b) => a - b);
  return times.map((t) => ({
    t,
    caller: Math.floor(random() * callers),
    action: random() < SIM.writeShare ? 'write' : 'read',
    expiresIn: SIM.minExpires + Math.floor(random() * (SIM.maxExpires - SIM.minExpires + 1)),
  }));
}

/**
 * The fewest AssumeRoles any cache could make for this stream: per (container, scope), a session
 * issued at the first request it serves lasts `sessionSeconds`, and serves a later request only if it
 * outlives that request's URL. Starting a session as late as possible is optimal (greedy).
 */
function minimumSessions(requests: readonly SimRequest[], containerOf: (i: number) => number, sessionMs: number): { sessions: number; scopes: number } {
  const sessionStart = new Map<string, number>();
  let sessions = 0;
  requests.forEach((r, i) => {
    const scope = `${containerOf(i)}\u0000${r.caller}\u0000${r.action}`;
    const start = sessionStart.get(scope);
    const needMs = Math.min(r.expiresIn * 1000, sessionMs);
    if (start === undefined || r.t + needMs > start + sessionMs) {
      sessionStart.set(scope, r.t);
      sessions += 1;
    }
  });
  return { sessions, scopes: sessionStart.size };
}

async function stsCallsSimulation(): Promise<SimOutcome[]> {
  const config = parseConfig(simConfigYaml(), 'bench-sim.yaml');
  const store = new ConfigGrantStore(config);
  const callers: Caller[] = [];
  for (let p = 0; p < SIM.partners; p += 1) {
    for (let s = 0; s < SIM.subjectsPerPartner; s += 1) {
      const subject = `user-${s}`;
      callers.push({ partnerId: `p${p}`, clientId: 'app', method: 'jwt', subject, subjectSegment: encodeSubject(subject) });
    }
  }
  const grants = callers.map((c) => resolveGrant(store, c));
  const requests = simRequests(RUNS.simRequests, callers.length, 20260301);
  const random = prng(7);
  const randomContainer = requests.map(() => Math.floor(random() * 4));
  const scenarios: Array<{ label: string; containers: number; containerOf: (i: number) => number }> = [
    { label: '1 container', containers: 1, containerOf: () => 0 },
    { label: '4 containers, round-robin', containers: 4, containerOf: (i) => i % 4 },
    { label: '4 containers, random', containers: 4, containerOf: (i) => randomContainer[i]! },
  ];
  const outcomes: SimOutcome[] = [];
  for (const scenario of scenarios) {
    let clock = Date.parse('2026-03-01T00:00:00Z');
    const start = clock;
    let stsCalls = 0;
    const issuer: CredentialIssuer = {
      assumeRole: async (request: AssumeRoleRequest) => {
        stsCalls += 1;
        const n = String(stsCalls);
        return { accessKeyId: `ASIA${n}`, secretAccessKey: `s${n}`, sessionToken: `t${n}`, expiration: new Date(clock + request.durationSeconds * 1000) };
      },
    };
    const containers = Array.from({ length: scenario.containers }, () => ({
      settings: { BROKER_STS_ENDPOINT: undefined, BROKER_S3_ENDPOINT: undefined, BROKER_VERSION: 'bench' },
      sessions: new SessionCache(issuer, { maxEntries: 500, clock: () => clock }),
    }) as unknown as BrokerDeps);
    let shortened = 0;
    for (let i = 0; i < requests.length; i += 1) {
      const r = requests[i]!;
      clock = start + r.t;
      const session = await presignSession(containers[scenario.containerOf(i)]!, callers[r.caller]!, grants[r.caller]!, r.action, r.expiresIn);
      // presignWindow would cap the URL at the session's expiry: count it if that ever happens
      if (session.credentials.expiration.getTime() - clock < r.expiresIn * 1000) shortened += 1;
    }
    const minimum = minimumSessions(requests, scenario.containerOf, SIM.sessionSeconds * 1000);
    outcomes.push({
      label: scenario.label,
      containers: scenario.containers,
      stsCalls,
      minimum: minimum.sessions,
      scopes: minimum.scopes,
      requests: requests.length,
      shortened,
    });
  }
  return outcomes;
}

// ---- 3. vend vs raw AssumeRole ------------------------------------------------------------------

interface VendResult { handlerMedian: number; stsMedian: number; ratio: number; overheadMs: number; handlerP99: number; stsP99: number; pairs: number }

async function vendVsSts(bench: Bench): Promise<VendResult> {
  // The credentials handler's own wiring (handlers/credentials.ts), kept here to reach its STS client.
  const deps = coldStart({ presigner: noPresigner });
  // The benchmark vends in a tight loop on purpose: lift the per-client vend rate limit for it.
  setVendRateLimiter(deps, new VendRateLimiter({ burst: 1_000_000, perSecond: 1_000_000 }, deps.clock));
  const handler = lambdaHandler(credentialsRoute, () => deps) as unknown as Handler;
  const event = () => apiEvent('POST', '/v1/credentials', { 'x-api-key': bench.apiKey }, { durationSeconds: 900 });
  const sink = new LogSink();
  return sink.around(async () => {
    expectOk(await handler(event(), lambdaContext), 'POST /v1/credentials');
    const clients = Reflect.get(deps.issuer, 'clients') as unknown;
    if (!(clients instanceof Map) || clients.size !== 1) throw new Error('expected the STS issuer to hold exactly one client after the first vend (src/aws/sts.ts changed?)');
    const client = [...clients.values()][0] as STSClient;
    // Capture the exact input the handler sends, once, then take the hook out again.
    let captured: AssumeRoleCommandInput | undefined;
    client.middlewareStack.add((next) => async (args) => {
      captured = structuredClone(args.input as AssumeRoleCommandInput);
      return next(args);
    }, { step: 'initialize', name: 'benchCaptureAssumeRoleInput' });
    expectOk(await handler(event(), lambdaContext), 'POST /v1/credentials');
    client.middlewareStack.remove('benchCaptureAssumeRoleInput');
    if (captured === undefined || captured.Policy === undefined) throw new Error('did not capture the AssumeRole input');
    const input = captured;
    const raw = async () => {
      const out = await client.send(new AssumeRoleCommand(input));
      if (!out.Credentials?.SessionToken) throw new Error('AssumeRole answered without credentials');
    };
    const vend = async () => { expectOk(await handler(event(), lambdaContext), 'POST /v1/credentials'); };
    for (let i = 0; i < RUNS.vendWarmup; i += 1) { await vend(); await raw(); }
    // Pairs, alternating which goes first.
    const times = await interleaved(RUNS.vendPairs, 1, vend, raw);
    const handlerMedian = median(times.a);
    const stsMedian = median(times.b);
    return {
      handlerMedian, stsMedian, ratio: handlerMedian / stsMedian, overheadMs: handlerMedian - stsMedian,
      handlerP99: pct(times.a, 99), stsP99: pct(times.b, 99), pairs: times.a.length,
    };
  });
}

// ---- 4. bundles and fresh processes -------------------------------------------------------------

type Baseline = 'sts' | 'sts+put' | 'sts+get' | 'none';
interface Scenario { event: APIGatewayProxyEventV2; baseline: Baseline; what: string; status?: number }
interface ProcessRun { totalMs: number; importMs: number; invokeMs: number; bootMs: number; status: number }
interface FunctionResult { name: string; bytes: number; s3Symbols: string[]; sdk: string[]; scenario?: string; handler?: ProcessRun; baseline?: ProcessRun; baselineKind?: Baseline; baselineBytes?: number; ratio?: number }

function scenarios(bench: Bench): Record<string, Scenario> {
  const key = { 'x-api-key': bench.apiKey };
  return {
    credentials: { event: apiEvent('POST', '/v1/credentials', key, {}), baseline: 'sts', what: 'AssumeRole' },
    credentialsProcess: { event: apiEvent('GET', '/v1/credentials/process', key), baseline: 'sts', what: 'AssumeRole' },
    credentialsContainer: { event: apiEvent('GET', '/v1/credentials/container', { authorization: bench.apiKey }), baseline: 'sts', what: 'AssumeRole' },
    uploads: {
      event: apiEvent('POST', '/v1/uploads', key, { method: 'PUT', key: 'cold/a.jpg', contentType: UPLOAD_TYPE, contentLength: UPLOAD_BYTES, expiresIn: PRESIGN_EXPIRES_IN }),
      baseline: 'sts+put', what: 'AssumeRole + presign PUT',
    },
    downloads: { event: apiEvent('POST', '/v1/downloads', key, { key: 'cold/a.jpg', expiresIn: PRESIGN_EXPIRES_IN }), baseline: 'sts+get', what: 'AssumeRole + presign GET' },
    whoami: { event: apiEvent('GET', '/v1/whoami', key), baseline: 'none', what: 'no AWS call' },
    openapi: { event: apiEvent('GET', '/v1/openapi.json', {}), baseline: 'none', what: 'no AWS call' },
    health: { event: apiEvent('GET', '/health', {}), baseline: 'none', what: 'no AWS call' },
    preflight: { event: apiEvent('OPTIONS', '/v1/uploads', { origin: 'https://app.bench.example', 'access-control-request-method': 'POST' }), baseline: 'none', what: 'no AWS call', status: 204 },
  };
}

/**
 * A handler that holds only the SDK clients the broker's handler uses and makes the same calls:
 * the same STSClient settings as src/aws/sts.ts, a comparable session policy, and for presigns the
 * adapter's S3Client settings and a fresh client per URL.
 */
function baselineSource(kind: Baseline, bench: Bench): string {
  const stsPart = `
import { STSClient, AssumeRoleCommand } from '@aws-sdk/client-sts';
const sts = new STSClient({ region: ${JSON.stringify(bench.region)}, endpoint: process.env.BROKER_STS_ENDPOINT, maxAttempts: 3, retryMode: 'standard',
  requestHandler: { connectionTimeout: 3000, requestTimeout: 3000, throwOnRequestTimeout: true } });
const policy = JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: 'Objects', Effect: 'Allow', Action: ['s3:PutObject', 's3:GetObject'], Resource: 'arn:aws:s3:::${bench.bucket}/bench/*' }] });
async function assume() {
  const out = await sts.send(new AssumeRoleCommand({ RoleArn: ${JSON.stringify(bench.roleArn)}, RoleSessionName: 'sbk-bench-baseline', SourceIdentity: 'bench.baseline',
    Policy: policy, DurationSeconds: 900, Tags: [{ Key: 'partner', Value: 'bench' }] }));
  return out.Credentials;
}`;
  const s3Part = (command: 'PutObjectCommand' | 'GetObjectCommand') => `
import { S3Client, ${command} } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
async function presign(c) {
  const client = new S3Client({ region: ${JSON.stringify(bench.region)}, endpoint: process.env.BROKER_S3_ENDPOINT, forcePathStyle: true,
    credentials: { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: c.Expiration },
    requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED', systemClockOffset: 0,
    useFipsEndpoint: false, useDualstackEndpoint: false, useArnRegion: false, disableS3ExpressSessionAuth: true, disableMultiregionAccessPoints: true,
    sigv4aSigningRegionSet: [], authSchemePreference: [], defaultsMode: 'standard', retryMode: 'standard', maxAttempts: 1 });
  return getSignedUrl(client, new ${command}({ Bucket: ${JSON.stringify(bench.bucket)}, Key: 'bench/cold/a.jpg'${command === 'PutObjectCommand' ? `, ContentType: '${UPLOAD_TYPE}', ContentLength: ${UPLOAD_BYTES}` : ''} }),
    { expiresIn: ${PRESIGN_EXPIRES_IN}${command === 'PutObjectCommand' ? ", signableHeaders: new Set(['content-type', 'content-length'])" : ''} });
}`;
  switch (kind) {
    case 'sts':
      return `${stsPart}\nexport async function handler() { const c = await assume(); return { statusCode: 200, body: JSON.stringify({ expiration: c.Expiration }) }; }\n`;
    case 'sts+put':
    case 'sts+get':
      return `${stsPart}\n${s3Part(kind === 'sts+put' ? 'PutObjectCommand' : 'GetObjectCommand')}\nexport async function handler() { const url = await presign(await assume()); return { statusCode: 200, body: JSON.stringify({ url }) }; }\n`;
    case 'none':
      return `export async function handler() { return { statusCode: 200, body: JSON.stringify({ status: 'ok' }) }; }\n`;
  }
}

/** The runner: a fresh `node --input-type=module -e` process that imports a bundle and invokes it once. */
function runnerSource(bundleFile: string, event: APIGatewayProxyEventV2 | undefined): string {
  return `
const t0 = performance.now();
const mod = await import(${JSON.stringify(pathToFileURL(bundleFile).href)});
const t1 = performance.now();
let status = 0;
${event === undefined ? '' : `const res = await mod.handler(${JSON.stringify(event)}, ${JSON.stringify({ ...lambdaContext, getRemainingTimeInMillis: undefined })});
status = res.statusCode;`}
const t2 = performance.now();
process.stderr.write('BENCH_RESULT ' + JSON.stringify({ bootMs: t0, importMs: t1 - t0, invokeMs: t2 - t1, totalMs: t2 - t0, status }) + '\\n');
`;
}

function runFresh(bench: Bench, bundleFile: string, event: APIGatewayProxyEventV2 | undefined): Promise<ProcessRun> {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', ...bench.env };
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', runnerSource(bundleFile, event)], { env, cwd: bench.tmp, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (error, _stdout, stderr) => {
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

async function bundlesAndColdStarts(bench: Bench): Promise<FunctionResult[]> {
  const outDir = join(bench.tmp, 'bundles');
  const bundles: BuiltBundle[] = await buildFunctionBundles(outDir);
  const byScenario = scenarios(bench);
  const baselines = new Map<Baseline, { file: string; bytes: number }>();
  for (const kind of new Set(Object.values(byScenario).map((s) => s.baseline))) {
    mkdirSync(join(outDir, 'baselines'), { recursive: true });
    baselines.set(kind, await buildSourceWithServerlessOptions(baselineSource(kind, bench), join(outDir, 'baselines', `${kind.replace('+', '-')}.mjs`)));
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
    const baseline = baselines.get(scenario.baseline)!;
    const handlerRuns: ProcessRun[] = [];
    const baselineRuns: ProcessRun[] = [];
    for (let rep = 0; rep < RUNS.processReps; rep += 1) {
      const order = rep % 2 === 0 ? ['handler', 'baseline'] : ['baseline', 'handler'];
      for (const side of order) {
        if (side === 'handler') {
          const run = await runFresh(bench, bundle.file, scenario.event);
          if (run.status !== (scenario.status ?? 200)) throw new Error(`${bundle.name} bundle answered ${run.status} on its first invocation`);
          handlerRuns.push(run);
        } else {
          baselineRuns.push(await runFresh(bench, baseline.file, scenario.event));
        }
      }
    }
    result.scenario = scenario.what;
    result.handler = medianRun(handlerRuns);
    result.baseline = medianRun(baselineRuns);
    result.baselineKind = scenario.baseline;
    result.baselineBytes = baseline.bytes;
    result.ratio = result.handler.totalMs / result.baseline.totalMs;
    results.push(result);
  }
  return results;
}

// ---- 5. throughput ------------------------------------------------------------------------------

interface ThroughputResult { rps: number; p50: number; p99: number; requests: number }

async function presignThroughput(bench: Bench, handler: Handler): Promise<ThroughputResult> {
  const tokens = await bench.idp.mint(RUNS.rpsWarmup + RUNS.rpsRequests);
  const events = tokens.map((t, n) => uploadEvent(t, n));
  const sink = new LogSink();
  return sink.around(async () => {
    for (let i = 0; i < RUNS.rpsWarmup; i += 1) expectOk(await handler(events[i]!, lambdaContext), 'POST /v1/uploads');
    const latencies: number[] = [];
    const start = now();
    for (let i = RUNS.rpsWarmup; i < events.length; i += 1) {
      const t = now();
      expectOk(await handler(events[i]!, lambdaContext), 'POST /v1/uploads');
      latencies.push(now() - t);
    }
    const elapsed = now() - start;
    return { rps: (latencies.length / elapsed) * 1000, p50: median(latencies), p99: pct(latencies, 99), requests: latencies.length };
  });
}

// ---- report -------------------------------------------------------------------------------------

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd()).join('\n');
}

async function main(): Promise<void> {
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
    const presign = await timed('1', () => presignVsFloor(b, uploadsDeps, uploadsHandler));
    const sim = await timed('2', () => stsCallsSimulation());
    const vend = await timed('3', () => vendVsSts(b));
    const functions = await timed('4', () => bundlesAndColdStarts(b));
    const rps = await timed('5', () => presignThroughput(b, uploadsHandler));

    const single = sim[0]!;
    const lines: string[] = [];
    lines.push(`sts-broker benchmark${QUICK ? ' (--quick: few iterations, figures are rough)' : ''} — node ${process.version}, ${process.platform}/${process.arch}`);
    lines.push('');
    lines.push('1. warm presign (POST /v1/uploads PUT) through the full handler stack vs floor (jose jwtVerify ES256 local key + getSignedUrl, new S3Client per URL)');
    lines.push(table([
      ['', 'p50', 'p99', 'samples'],
      ['handler (JWT via JwtVerifier + loopback JWKS, cached session, audit log)', ms(presign.handlerP50), ms(presign.handlerP99), String(presign.samples)],
      ['floor (jwtVerify + getSignedUrl)', ms(presign.floorP50), ms(presign.floorP99), String(presign.samples)],
      ['ratio', ratio(presign.ratioP50), ratio(presign.ratioP99), verdict(presign.ratioP50, GOALS.presignVsFloor) + ' at p50'],
    ]));
    lines.push(`   distinct token per request on both sides; batches of ${RUNS.presignBatchSize} interleaved; ${presign.logLines} log lines counted in the sink; JWKS fetched ${presign.jwksFetches}×`);
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
    lines.push(`4. bundles (serverless.yml custom.esbuild: bundle, minify, node22, esm, createRequire banner) and a fresh process: import + init + first invocation (median of ${RUNS.processReps})`);
    lines.push(table([
      ['function', 'bytes', 'SDK clients', 'first call', 'handler', '(import + call)', 'SDK-only', 'bytes', 'ratio', ''],
      ...functions.map((f) => [
        f.name, f.bytes.toLocaleString('en'), f.sdk.length > 0 ? f.sdk.join('+') : 'none', f.scenario ?? '(import only)',
        f.handler ? ms(f.handler.totalMs) : '', f.handler ? `(${f.handler.importMs.toFixed(1)} + ${f.handler.invokeMs.toFixed(1)})` : '',
        f.baseline ? `${ms(f.baseline.totalMs)} (${f.baseline.importMs.toFixed(1)} + ${f.baseline.invokeMs.toFixed(1)})` : '',
        f.baselineBytes === undefined ? '' : f.baselineBytes.toLocaleString('en'),
        f.ratio === undefined ? '' : ratio(f.ratio),
        f.ratio === undefined ? '' : f.baselineKind === 'none' ? '(vs a bare handler: no SDK floor)' : verdict(f.ratio, GOALS.importVsSdk),
      ]),
    ]));
    lines.push('');
    lines.push('5. presign handler throughput, one process, one request at a time (as a Lambda container serves them)');
    lines.push(table([
      ['requests/s', 'p50', 'p99', 'requests'],
      [rps.rps.toFixed(0), ms(rps.p50), ms(rps.p99), String(rps.requests)],
    ]));
    const json = {
      presignVsFloor: round(presign.ratioP50),
      stsCallsPer1000: round(single.stsCalls / single.requests * 1000),
      vendVsSts: round(vend.ratio),
      vendMedianMs: round(vend.handlerMedian),
      importVsSdk: Object.fromEntries(functions.filter((f) => f.ratio !== undefined).map((f) => [f.name, round(f.ratio!)])),
      bundleBytes: Object.fromEntries(functions.map((f) => [f.name, f.bytes])),
      presignRps: Math.round(rps.rps),
      presignP99Ms: round(rps.p99, 3),
    };
    output = `${lines.join('\n')}\n\n${JSON.stringify(json)}\n`;
  } finally {
    notes = await tearDown(bench);
  }
  process.stderr.write(`${notes.join('\n')}\ntook ${((now() - started) / 1000).toFixed(1)} s (sections: ${timings.join(', ')})\n\n`);
  process.stdout.write(output);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
  },
);
