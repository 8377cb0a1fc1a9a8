/**
 * The worker of `npm start` (scripts/start.ts starts it, and only that): starts local AWS unless it
 * is already running, writes a demo config whose partner points at the local role and bucket, serves
 * the API with serverless-offline (the production handlers and serverless.yml), prints a fresh demo
 * API key and three commands to try, and on a stop request stops what it started, and only that.
 *
 * What a run owns, and removes on stop:
 * - a private demo folder (mkdtemp, mode 0700) holding the demo config and every file the printed
 *   commands write (hello.txt, upload.json, the AWS CLI profile), so nothing lands in the working
 *   directory or at a predictable name in the shared temp folder;
 * - serverless-offline's process group;
 * - local AWS (its daemons and LOCAL_AWS_DIR), but only when this run started it. A stack that was
 *   already serving in LOCAL_AWS_DIR (another `npm start`, the e2e suite) is used and left running.
 *
 * It runs in its own process group, so a terminal's Ctrl-C never reaches it directly: scripts/start.ts
 * forwards every SIGINT/SIGTERM/SIGHUP it gets as SIGTERM, and when scripts/start.ts is gone (its IPC
 * channel closes: killed, even by SIGKILL) this worker stops too. Stopping is idempotent: the first
 * request starts the one shutdown; later ones neither start another nor cut the first short.
 *
 * For browser work it also runs, in this process (all loopback, all stopped with it): a loopback OIDC
 * issuer (./localIssuer.ts) whose tokens the demo config's `web` client accepts; the demo page
 * (./demoServer.ts, demo/) on BROKER_DEMO_PORT (BROKER_HTTP_PORT + 4); the bucket CORS rule for the
 * page's origin and every `--origin` (./bucketCors.ts); and the two local-only proxies of
 * ./preflightShim.ts: the API's URL (BROKER_HTTP_PORT) is the CORS proxy in front of serverless-offline
 * (which listens on a free internal port), so the broker's own per-client CORS answers browsers, and
 * presigned URLs point at the S3 preflight shim in front of the gateway (docs/local-aws.md, quirks 14 and 16).
 * Options arrive from scripts/start.ts as one JSON argument (StartOptions).
 *
 * Settings (environment): BROKER_HTTP_PORT (4340), BROKER_LAMBDA_PORT (4342), BROKER_DEMO_PORT, LOCAL_AWS_DIR
 * (${TMPDIR:-/tmp}/sts-broker-local-aws), LOCAL_AWS_PORT (7480), LOCAL_AWS_MON_PORT (3310),
 * LOCAL_AWS_MEMSTORE_BYTES (the script's default). See docs/local-aws.md.
 */
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateApiKey } from '../../src/auth/apiKey.js';
import { ensureLocalAws, type LocalAws } from './localAws.js';
import { repoRoot, startOffline, writeLocalConfig, type RunningOffline } from './offline.js';
import { applyBucketCors } from './bucketCors.js';
import { startDemoServer, type RunningDemo } from './demoServer.js';
import { jwtClientYaml, startLocalIssuer, type LocalIssuer } from './localIssuer.js';
import { startBrokerCorsProxy, startS3PreflightShim, type RunningProxy } from './preflightShim.js';
import { createGrantTable, ensureLocalDynamo, localDynamoClient, LOCAL_DYNAMO_DEFAULT_PORT, type LocalDynamo } from './localDynamo.js';
import { importYaml } from '../admin/cli.js';
import { freePort } from './freePort.js';

/** The demo's grant table in the local DynamoDB (`--store dynamodb`). */
const DEMO_TABLE = 'sts-broker-demo-grants';

/** What scripts/start.ts passes (its options, validated there). */
export interface StartOptions {
  /** Extra browser origins for the demo `web` client and the bucket's CORS rule. */
  origins: string[];
  /** maxUploadBytes of the demo clients (default: 10 MiB for `backend`, 1 GiB for `web`). */
  maxUploadBytes?: number;
  /** Serve this broker config instead of the generated demo config (no demo page then). */
  configFile?: string;
  /** Where the broker reads grants: the YAML config (default) or a local DynamoDB table the grants are imported into. */
  store?: 'yaml' | 'dynamodb';
}

const startOptions: StartOptions = (() => {
  const raw = process.argv[2];
  if (!raw) return { origins: [] };
  const parsed = JSON.parse(raw) as StartOptions;
  return { ...parsed, origins: parsed.origins ?? [] };
})();

const t0 = Date.now();
const elapsed = () => `${Math.round((Date.now() - t0) / 1000)} s`;

// ---- shutdown: installed before anything starts, so a Ctrl-C at any moment stops what has started
const abort = new AbortController();
let shuttingDown: Promise<void> | undefined;
let toldAlreadyStopping = false;
let startup: Promise<void> = Promise.resolve();
let demoDir: string | undefined;
let aws: LocalAws | undefined;
let awsDir: string | undefined;
let awsStarting = false;
let api: RunningOffline | undefined;
let dynamo: LocalDynamo | undefined;
/** The browser pieces (issuer, proxies, demo page): closed on stop, after the API. */
const closers: Array<{ what: string; close: () => Promise<void> }> = [];

/** The rejection of a step that this run's own stop aborted (not a failure to report). */
const abortedByUs = (err: unknown) => abort.signal.aborted && err instanceof Error && err.cause === abort.signal.reason;
let startupFailure: unknown; // already printed

function shutdown(exitCode: number): Promise<void> {
  if (shuttingDown) {
    if (!toldAlreadyStopping) {
      toldAlreadyStopping = true;
      console.log('  (already shutting down: let it finish)');
    }
    return shuttingDown;
  }
  stopHeartbeat();
  console.log('\nstopping…');
  abort.abort();
  shuttingDown = (async () => {
    let failed = false;
    // once aborted, every step of the startup ends promptly, stopping what it had itself begun
    let interrupted = false;
    await startup.catch((err: unknown) => {
      if (abortedByUs(err)) interrupted = true;
      else if (err === startupFailure) failed = true;
      else { failed = true; console.error(`  ${(err as Error).message}`); }
    });
    if (interrupted && awsStarting && !aws) {
      console.log(`  local AWS: its start was interrupted; what it had started is stopped${existsSync(awsDir!) ? '' : `, ${awsDir} removed`}`);
    }
    if (api) {
      const pgid = api.process.pid;
      await api.stop().then(
        () => console.log(`  API (serverless-offline, process group ${pgid}): stopped`),
        (e: unknown) => { failed = true; console.error(`  API (serverless-offline, process group ${pgid}): ${(e as Error).message}`); },
      );
    }
    for (const c of closers.reverse()) {
      await c.close().catch((e: unknown) => { failed = true; console.error(`  ${c.what}: ${(e as Error).message}`); });
    }
    if (closers.length > 0) console.log(`  ${closers.map((c) => c.what).join(', ')}: stopped`);
    if (dynamo?.startedByUs) {
      await dynamo.stop().then(
        () => console.log(`  local DynamoDB (${dynamo!.endpoint}): stopped`),
        (e: unknown) => { failed = true; console.error(`  local DynamoDB: ${(e as Error).message}`); },
      );
    } else if (dynamo) {
      console.log(`  local DynamoDB ${dynamo.endpoint}: left running (it was serving before this run began)`);
    }
    if (aws?.startedByUs) {
      await aws.stop().then(
        () => console.log(`  local AWS: stopped, ${awsDir} removed`),
        (e: unknown) => { failed = true; console.error(`  local AWS: ${(e as Error).message}`); },
      );
    } else if (aws) {
      console.log(`  local AWS in ${awsDir}: left running (it was serving before this run began)`);
    }
    if (demoDir) {
      rmSync(demoDir, { recursive: true, force: true });
      console.log(`  demo folder ${demoDir}: removed`);
    }
    console.log(failed ? 'stopped, with the errors above' : 'stopped');
    process.exit(failed ? 1 : exitCode);
  })();
  return shuttingDown;
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void shutdown(0));
// scripts/start.ts is gone (npm start's process killed, even by SIGKILL): nobody is left to ask for the stop
process.on('disconnect', () => void shutdown(0));
// the reader of our output may be gone (a pipe to `tee`, killed by the same Ctrl-C): the stop must still finish
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => { /* nowhere left to write */ });

// ---- progress: a line at least every 10 s, so a slow first start never looks hung
let phase = 'starting';
let lastLine = Date.now();
const say = (line: string) => { lastLine = Date.now(); console.log(line); };
const heartbeat = setInterval(() => {
  if (Date.now() - lastLine >= 9_500) say(`  … still ${phase} (${elapsed()} since npm start)`);
}, 1000);
function stopHeartbeat() { clearInterval(heartbeat); }

// ---- settings
function intSetting(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < min || n > max) throw new Error(`${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  return n;
}

/** A word for a POSIX shell: bare when it is plain, else single-quoted. */
function shQuote(value: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

async function hasAwsCli(): Promise<boolean> {
  return new Promise((resolve) => execFile('aws', ['--version'], { timeout: 30_000 }, (err) => resolve(!err)));
}

async function start(): Promise<void> {
  const httpPort = intSetting('BROKER_HTTP_PORT', 4340, 1, 65535);
  const lambdaPort = intSetting('BROKER_LAMBDA_PORT', 4342, 1, 65535);
  const demoPort = intSetting('BROKER_DEMO_PORT', Math.min(65535, httpPort + 4), 1, 65535);
  const awsPort = intSetting('LOCAL_AWS_PORT', 7480, 1, 65535);
  const monPort = intSetting('LOCAL_AWS_MON_PORT', 3310, 1, 65535);
  const memstore = process.env.LOCAL_AWS_MEMSTORE_BYTES ? intSetting('LOCAL_AWS_MEMSTORE_BYTES', 0, 64 * 1024 * 1024, 2 ** 40) : undefined;
  const dir = process.env.LOCAL_AWS_DIR || join(tmpdir(), 'sts-broker-local-aws');
  awsDir = dir;

  demoDir = mkdtempSync(join(tmpdir(), 'sts-broker-demo-'));
  chmodSync(demoDir, 0o700); // mkdtemp's own mode, said out loud: the folder is this user's only
  const awsCli = hasAwsCli();

  phase = 'starting local AWS';
  say(`starting local S3 + STS (Ceph RADOS Gateway on 127.0.0.1:${awsPort}, data in ${dir})…`);
  say('  (the first run installs Ceph with apt-get: about a minute; progress follows)');
  let partial = '';
  awsStarting = true;
  aws = await ensureLocalAws({
    dir, port: awsPort, monPort,
    ...(memstore !== undefined ? { memstoreBytes: memstore } : {}),
    signal: abort.signal,
    // the script's progress lines ("[local-aws 12.3s] …"); its closing summary is not for this audience
    onOutput: (text) => {
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (line.startsWith('[local-aws')) say(`  ${line}`);
    },
  });
  awsStarting = false;
  if (abort.signal.aborted) return;
  say(aws.startedByUs
    ? `local AWS started in ${dir} (${elapsed()})`
    : `reusing local AWS already serving in ${dir} (it stays running when this stops)`);

  // the browser pieces: the issuer, the S3 shim (presigned URLs point at it), the API's CORS proxy
  phase = 'starting the browser pieces';
  const apiUrl = `http://127.0.0.1:${httpPort}`;
  const offlinePort = await freePort();
  const issuer: LocalIssuer = await startLocalIssuer({ audience: 'sts-broker-demo' });
  closers.push({ what: `OIDC issuer ${issuer.issuer}`, close: () => issuer.close() });
  const shim = await startS3PreflightShim({ upstream: aws.env.LOCAL_AWS_ENDPOINT! });
  closers.push({ what: `S3 preflight shim ${shim.url}`, close: () => shim.close() });
  const proxy: RunningProxy = await startBrokerCorsProxy({ upstream: `http://127.0.0.1:${offlinePort}`, port: httpPort });
  closers.push({ what: `CORS proxy ${proxy.url}`, close: () => proxy.close() });
  let demo: RunningDemo | undefined;
  const demoOrigin = `http://127.0.0.1:${demoPort}`;
  const origins = startOptions.configFile ? startOptions.origins : [demoOrigin, ...startOptions.origins];
  if (!startOptions.configFile) {
    say(`bundling the demo page (esbuild) for ${demoOrigin}…`);
    demo = await startDemoServer({ brokerUrl: apiUrl, s3Url: shim.url, issuer, subject: 'demo-user', port: demoPort });
    closers.push({ what: `demo page ${demo.url}`, close: () => demo!.close() });
  }
  // the SDK's Node 20 notice (README, "Node.js") is not news at every start (AWS_* never reaches offline)
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  if (origins.length > 0) await applyBucketCors(aws.env, aws.env.PARTNER_BUCKET!, origins);
  if (abort.signal.aborted) return;

  const key = generateApiKey();
  const configFile = startOptions.configFile ?? join(demoDir, 'broker.demo.yaml');
  // The demo client keeps raw write credentials off (no `rawWriteCredentials`): the printed commands
  // write only through a presigned upload URL, which enforces maxUploadBytes and contentTypes; the
  // vended credentials (command 1, the AWS CLI profile of command 3) read, list and delete. See
  // docs/security.md for why raw write credentials are an explicit opt-in.
  // The `web` client is the demo page's: JWTs from the loopback issuer, its own folder, the page's
  // origin (and every --origin) for CORS, room for browser-sized files.
  if (!startOptions.configFile) {
    writeLocalConfig(configFile, {
      region: aws.env.LOCAL_AWS_REGION ?? 'us-east-1',
      partners: [{
        name: 'demo', roleArn: aws.env.PARTNER_ROLE_ARN!, bucket: aws.env.PARTNER_BUCKET!, prefix: 'demo/',
        clients: {
          backend: { keyId: key.id, sha256: key.sha256, ...(startOptions.maxUploadBytes ? { maxUploadBytes: startOptions.maxUploadBytes } : {}) },
        },
      }],
      extraClientsYaml: {
        demo: jwtClientYaml('web', issuer, {
          prefix: 'demo/web/', origins, maxUploadBytes: startOptions.maxUploadBytes ?? 1024 ** 3,
          contentTypes: ['application/octet-stream', 'text/plain', 'image/png', 'image/jpeg', 'application/pdf', 'video/mp4'],
        }),
      },
    });
  }

  // --store dynamodb: the grants live in a local table (imported from the config above, as an operator
  // would with `npm run admin -- import`); the broker's own config keeps only its deployment settings.
  let brokerConfigFile = configFile;
  const storeEnv: Record<string, string> = {};
  if (startOptions.store === 'dynamodb') {
    phase = 'starting the local DynamoDB';
    const dynamoPort = intSetting('LOCAL_DYNAMODB_PORT', LOCAL_DYNAMO_DEFAULT_PORT, 1, 65535);
    dynamo = await ensureLocalDynamo({ port: dynamoPort, dir: join(demoDir, 'dynamodb'), inMemory: true });
    say(`${dynamo.startedByUs ? 'started' : 'reusing'} local DynamoDB (dynalite) on ${dynamo.endpoint}`);
    const client = localDynamoClient(dynamo.endpoint);
    try {
      await createGrantTable(client, DEMO_TABLE);
    } finally {
      client.destroy();
    }
    const imported = await importYaml(configFile, { store: 'dynamodb', table: DEMO_TABLE, endpoint: dynamo.endpoint, allowInsecureLoopbackHttp: true }, 'npm start: demo grants');
    say(`imported the grants of ${configFile} into table ${DEMO_TABLE} (version ${imported.version})`);
    brokerConfigFile = join(demoDir, 'broker.settings.yaml');
    writeFileSync(brokerConfigFile, 'allowInsecureLoopbackHttp: true\npartners: {}\n', { mode: 0o600 });
    Object.assign(storeEnv, { BROKER_GRANT_STORE: 'dynamodb', BROKER_GRANT_TABLE: DEMO_TABLE, BROKER_DYNAMODB_ENDPOINT: dynamo.endpoint });
  }
  if (abort.signal.aborted) return;

  phase = 'starting the API';
  say('starting the API (serverless-offline bundles the handlers with esbuild first)…');
  api = await startOffline({
    configFile: brokerConfigFile, localAws: aws.env, httpPort: offlinePort, lambdaPort, signal: abort.signal,
    // presigned URLs (and the broker's own S3 calls) go through the shim: the signature covers its address
    extraEnv: { BROKER_S3_ENDPOINT: shim.url, ...storeEnv },
  });
  if (abort.signal.aborted) return;
  api.process.once('exit', (code, signal) => {
    if (shuttingDown) return;
    console.error(`\nserverless-offline exited by itself (${code ?? signal}); stopping the rest`);
    void shutdown(1);
  });
  stopHeartbeat();

  const endpoint = aws.env.LOCAL_AWS_ENDPOINT!;
  const hasAws = await awsCli;
  const q = shQuote;
  console.log(`
sts-broker is serving ${apiUrl} (ready after ${elapsed()}; config: ${configFile}, repo: ${repoRoot.replace(/\/$/, '')})
local AWS: ${endpoint} in ${dir}${aws.startedByUs ? '' : ' (already running before this run: left running on stop)'}

Your demo folder, private to this run (mode 0700, removed on Ctrl-C): ${demoDir}
${startOptions.configFile ? `Serving your config ${configFile}: the demo API key below is NOT in it, so the commands need one of your
clients' keys in BROKER_API_KEY (and its partner's bucket and prefix) instead.
` : ''}Paste these into a shell; the demo API key is shown once and valid while this runs:
  export BROKER_URL=${q(apiUrl)}
  export BROKER_API_KEY=${q(key.key)}
  export DEMO_DIR=${q(demoDir)}

1) vend credentials for the demo partner's prefix "demo/" (read, list, delete: raw credentials
   that write are an explicit per-client opt-in, see docs/security.md; uploads go through step 2):
  curl -s -X POST "$BROKER_URL/v1/credentials" -H "X-Api-Key: $BROKER_API_KEY" -H 'content-type: application/json' -d '{"durationSeconds": 900}' -w '\\n'

2) get an upload URL and upload a file with curl:
  echo 'hello from sts-broker' > "$DEMO_DIR/hello.txt"
  curl -s -X POST "$BROKER_URL/v1/uploads" -H "X-Api-Key: $BROKER_API_KEY" -H 'content-type: application/json' \\
    -d "{\\"method\\":\\"PUT\\",\\"key\\":\\"hello.txt\\",\\"contentType\\":\\"text/plain\\",\\"contentLength\\":$(wc -c < "$DEMO_DIR/hello.txt")}" > "$DEMO_DIR/upload.json"
  curl -s -X PUT -T "$DEMO_DIR/hello.txt" -H 'Content-Type: text/plain' "$(node -p 'require(process.argv[1]).url' "$DEMO_DIR/upload.json")" -w '%{http_code}\\n'

3) list the prefix with the AWS CLI${hasAws ? '' : ' (install it first: apt-get install awscli)'}, using the broker as its credential source:
  cat > "$DEMO_DIR/aws-config" <<'CFG'
[profile broker-demo]
credential_process = sh -c 'curl -sf -H "X-Api-Key: $BROKER_API_KEY" "$BROKER_URL/v1/credentials/process"'
CFG
  AWS_CONFIG_FILE="$DEMO_DIR/aws-config" aws --profile broker-demo --region ${q(aws.env.LOCAL_AWS_REGION ?? 'us-east-1')} --endpoint-url ${q(endpoint)} s3 ls s3://${q(aws.env.PARTNER_BUCKET!)}/demo/

${demo ? `Browser uploads: open ${demo.url} (the demo page: the client package and Uppy, signed in with a token from
the loopback OIDC issuer ${issuer.issuer}). ` : ''}Browser origins allowed (broker CORS and bucket CORS): ${origins.join(', ') || 'none'}
(serverless-offline listens on 127.0.0.1:${offlinePort}; ${apiUrl} is its CORS proxy and presigned URLs go to the S3 shim ${shim.url}: docs/local-aws.md, quirks 14 and 16)

${dynamo ? `Grants are read from the local DynamoDB table ${DEMO_TABLE} (${dynamo.endpoint}); a change reaches the broker within 10 s.
Try the admin commands against it (in this repo, in another shell; the demo's loopback http issuer needs the last flag):
  export BROKER_GRANT_STORE=dynamodb BROKER_GRANT_TABLE=${DEMO_TABLE} BROKER_DYNAMODB_ENDPOINT=${q(dynamo.endpoint)}
  npm run admin -- partner list
  npm run admin -- key create demo backend --reason 'a second key' --allow-insecure-loopback-http
  npm run admin -- revoke demo --client backend --reason 'trying revocation' --allow-insecure-loopback-http
  (within 10 s command 1 above answers 403 access_revoked; the same revoke with --lift re-enables the client)

` : ''}Ctrl-C stops the API${aws.startedByUs ? ' and local AWS' : ''}${dynamo?.startedByUs ? ', the local DynamoDB' : ''} and removes the demo folder.`);
}

startup = start();
startup.catch((err: unknown) => {
  if (abort.signal.aborted) return; // a stop during startup: shutdown() reports it and exits
  startupFailure = err;
  console.error(`\nnpm start failed: ${(err as Error).message}`);
  void shutdown(1);
});
