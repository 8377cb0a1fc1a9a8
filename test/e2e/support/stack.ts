/**
 * The end-to-end stack, shared by every e2e test file through jest's globalSetup/globalTeardown
 * (see globalSetup.mjs and globalTeardown.mjs beside this file, which load it with tsx).
 *
 * globalSetup: a real local S3 + STS (Ceph RGW, its own directory and ports, so `npm test` works
 * while `npm start` runs on 7480/3310), fresh API keys for three partners, a broker config written
 * with writeLocalConfig, and the real API served by serverless-offline on 4350/4352. It writes a
 * state file (mode 0600: it holds API keys and local AWS secrets) that the tests read with
 * readStack(). Failures throw with the reason: the suite never skips.
 *
 * globalTeardown: stops serverless-offline, then local AWS only when this run started it, and
 * removes the state directory.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { generateApiKey, type GeneratedApiKey } from '../../../src/auth/apiKey.js';
import { repoRoot, startOffline, writeLocalConfig, type RunningOffline } from '../../../scripts/lib/offline.js';
import { LOG_CAPTURE_ENV, recordSecrets } from '../../../scripts/lib/logScan.js';
import { ensureLocalAws, LOCAL_AWS_SCRIPT, type LocalAws } from '../../../scripts/lib/localAws.js';

/** Local AWS for the suite: not the `npm start` stack (7480/3310, sts-broker-local-aws). */
export const E2E_LOCAL_AWS = { dir: join(tmpdir(), 'sts-broker-e2e-aws'), port: 17480, monPort: 13310 } as const;
/** serverless-offline for the suite: not the `npm start` ports (4340/4342). */
export const E2E_HTTP_PORT = 4350;
export const E2E_LAMBDA_PORT = 4352;
/** Config, state file and offline log live here (never inside the local AWS directory, which its script owns). */
export const E2E_STACK_DIR = join(tmpdir(), 'sts-broker-e2e-stack');
/** The tests find the state file through this variable, else at the default path. */
export const STATE_ENV = 'STS_BROKER_E2E_STATE';
export const DEFAULT_STATE_FILE = join(E2E_STACK_DIR, 'state.json');

/** API keys (full `sbk_…` strings) by partner and client. */
export interface StackKeys {
  /** `short`: sessions capped at 900 s, for the slow expiry suite (test/slow). */
  /** `kms`: an SSE-KMS upload contract with the gateway's test KMS key (test/e2e/uploadEncryption.test.ts). */
  acme: { backend: string; reader: string; small: string; short: string; contract: string; kms: string };
  /** Same bucket and role as acme, sibling prefix `acme2/`: the classic prefix-isolation trap. */
  acme2: { backend: string };
  globex: { backend: string };
}

export interface StackState {
  /** Base URL of the API (serverless-offline). */
  url: string;
  keys: StackKeys;
  /** Contents of the local AWS env.sh: LOCAL_AWS_ENDPOINT, OWNER_ACCESS_KEY_ID, PARTNER_BUCKET, … */
  aws: Record<string, string>;
  endpoint: string;
  region: string;
  /** acme's and acme2's bucket (PARTNER_BUCKET) and globex's (PARTNER2_BUCKET). */
  bucket: string;
  bucket2: string;
  configFile: string;
  startedLocalAws: boolean;
  /** Unique per run: tests put it in object keys so reruns on a reused stack never see old objects. */
  runId: string;
}

/** Handles that must survive from globalSetup to globalTeardown (same process, maybe another module instance). */
interface Running { offline?: RunningOffline; localAws?: LocalAws; exitHook?: () => void }
const RUNNING = Symbol.for('sts-broker.e2e.running');
const running = (): Running => {
  const g = globalThis as unknown as Record<symbol, Running | undefined>;
  return (g[RUNNING] ??= {});
};

/** jest globalSetup: starts everything, writes the state file, sets STATE_ENV for the test workers. */
export async function globalSetup(): Promise<void> {
  const t0 = Date.now();
  const log = (msg: string) => process.stderr.write(`[e2e stack +${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}\n`);
  const state = running();

  await assertPortFree(E2E_HTTP_PORT, 'serverless-offline HTTP');
  await assertPortFree(E2E_LAMBDA_PORT, 'serverless-offline Lambda');

  rmSync(E2E_STACK_DIR, { recursive: true, force: true });
  mkdirSync(E2E_STACK_DIR, { recursive: true, mode: 0o700 });
  installExitHook(state);

  try {
    log(`local AWS: reusing or starting ${E2E_LOCAL_AWS.dir} on 127.0.0.1:${E2E_LOCAL_AWS.port}`);
    const aws = await ensureLocalAws({ ...E2E_LOCAL_AWS });
    state.localAws = aws;
    log(aws.startedByUs ? 'local AWS started' : 'local AWS already running: reused (it stays up afterwards)');
    const env = aws.env;
    const region = need(env, 'LOCAL_AWS_REGION');

    const key = (): GeneratedApiKey => generateApiKey();
    const k = {
      acmeBackend: key(), acmeReader: key(), acmeSmall: key(), acmeShort: key(), acme2Backend: key(), globexBackend: key(), acmeContract: key(), acmeKms: key(),
    };
    const entry = (g: GeneratedApiKey) => ({ keyId: g.id, sha256: g.sha256 });
    const configFile = join(E2E_STACK_DIR, 'broker.e2e.yaml');
    writeLocalConfig(configFile, {
      region,
      partners: [
        {
          name: 'acme', roleArn: need(env, 'PARTNER_ROLE_ARN'), bucket: need(env, 'PARTNER_BUCKET'), prefix: 'acme/',
          clients: {
            // 64 MiB: room for the 20 MiB multipart upload (test/e2e/multipart.test.ts)
            backend: { ...entry(k.acmeBackend), actions: ['read', 'write', 'list', 'delete'], maxUploadBytes: 64 * 1024 * 1024 },
            reader: { ...entry(k.acmeReader), actions: ['read', 'list'] },
            small: { ...entry(k.acmeSmall), maxUploadBytes: 1024, contentTypes: ['text/plain'] },
            short: { ...entry(k.acmeShort), maxDurationSeconds: 900 },
            // its own prefix; its upload contract is added below (test/e2e/uploadContract.test.ts)
            contract: { ...entry(k.acmeContract), prefix: 'acme-contract/', actions: ['read', 'write', 'list'], maxUploadBytes: 64 * 1024 * 1024 },
            // SSE-KMS contract with the gateway's test KMS key, added below (test/e2e/uploadEncryption.test.ts)
            kms: { ...entry(k.acmeKms), prefix: 'acme-kms/', actions: ['read', 'write', 'list'], maxUploadBytes: 64 * 1024 * 1024 },
          },
        },
        {
          name: 'acme2', roleArn: need(env, 'PARTNER_ROLE_ARN'), bucket: need(env, 'PARTNER_BUCKET'), prefix: 'acme2/',
          clients: { backend: entry(k.acme2Backend) },
        },
        {
          name: 'globex', roleArn: need(env, 'PARTNER2_ROLE_ARN'), bucket: need(env, 'PARTNER2_BUCKET'), prefix: 'globex/',
          clients: { backend: entry(k.globexBackend) },
        },
      ],
    });
    // These clients write with vended credentials (credentials, isolation, multipart, AWS CLI and
    // credential-helper suites; acme/short in the slow expiry suite), so they opt in explicitly.
    // acme/small and acme/reader keep the default: raw credentials without write.
    optInRawWrite(configFile, { acme: ['backend', 'short'], acme2: ['backend'], globex: ['backend'] });
    addUploadContract(configFile, 'acme', 'contract', {
      integrity: 'md5', overwrite: false,
      tags: { owner: '${sub}', request: '${requestId}' },
      metadata: { 'uploaded-by': '${sub}', via: '${client}' },
    });
    // scripts/local-aws configures the gateway's test KMS with this key; a stack started before it did lacks it
    if (!env.LOCAL_AWS_KMS_KEY_ARN) throw new Error(`local AWS env lacks LOCAL_AWS_KMS_KEY_ARN: the running stack predates its test KMS; stop it (LOCAL_AWS_DIR=${E2E_LOCAL_AWS.dir} ${LOCAL_AWS_SCRIPT} stop) and rerun`);
    addUploadContract(configFile, 'acme', 'kms', { integrity: 'md5', encryption: { type: 'aws:kms', keyId: env.LOCAL_AWS_KMS_KEY_ARN } });

    // `npm test` (scripts/test-all) scans every captured log for secrets the run minted
    // (scripts/lib/logScan.ts): the broker's own log lines, as served by offline, take part.
    const captureDir = process.env[LOG_CAPTURE_ENV];
    const logFiles = [join(E2E_STACK_DIR, 'offline.log'), ...(captureDir ? [join(captureDir, 'e2e-offline.log')] : [])];
    if (captureDir) {
      recordSecrets(...Object.values(k).flatMap((g) => [g.key, g.key.slice(`sbk_${g.id}_`.length)]));
      recordSecrets(env.BROKER_SECRET_ACCESS_KEY, env.OWNER_SECRET_ACCESS_KEY, env.ADMIN_SECRET_ACCESS_KEY);
    }
    for (const f of logFiles) writeFileSync(f, '', { flag: 'a' });

    log(`serverless-offline on 127.0.0.1:${E2E_HTTP_PORT} (esbuild first)`);
    const offline = await startOffline({
      configFile,
      localAws: env,
      httpPort: E2E_HTTP_PORT,
      lambdaPort: E2E_LAMBDA_PORT,
      onOutput: (chunk) => { for (const f of logFiles) writeFileSync(f, chunk, { flag: 'a' }); },
    });
    state.offline = offline;
    await assertBrokerHealthy(offline.url);
    log(`API serving ${offline.url}`);

    const stackState: StackState = {
      url: offline.url,
      keys: {
        acme: { backend: k.acmeBackend.key, reader: k.acmeReader.key, small: k.acmeSmall.key, short: k.acmeShort.key, contract: k.acmeContract.key, kms: k.acmeKms.key },
        acme2: { backend: k.acme2Backend.key },
        globex: { backend: k.globexBackend.key },
      },
      aws: env,
      endpoint: need(env, 'LOCAL_AWS_ENDPOINT'),
      region,
      bucket: need(env, 'PARTNER_BUCKET'),
      bucket2: need(env, 'PARTNER2_BUCKET'),
      configFile,
      startedLocalAws: aws.startedByUs,
      runId: `r${Date.now().toString(36)}`,
    };
    writeFileSync(DEFAULT_STATE_FILE, JSON.stringify(stackState, null, 2), { mode: 0o600 });
    chmodSync(DEFAULT_STATE_FILE, 0o600);
    process.env[STATE_ENV] = DEFAULT_STATE_FILE;
    log('ready');
  } catch (err) {
    // jest does not run globalTeardown when globalSetup throws: clean up here, then fail loudly.
    await globalTeardown().catch((e: unknown) => log(`cleanup after failed setup also failed: ${String(e)}`));
    throw new Error(`e2e stack could not start (the suite fails rather than skips): ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Sets `rawWriteCredentials: true` on these clients of a written config (writeLocalConfig has no
 * option for it); throws if a named client is missing, so a renamed client cannot silently lose it.
 */
function optInRawWrite(configFile: string, clients: Record<string, string[]>): void {
  const config = parse(readFileSync(configFile, 'utf8')) as { partners: Record<string, { clients: Record<string, Record<string, unknown>> }> };
  for (const [partner, names] of Object.entries(clients)) {
    for (const name of names) {
      const client = config.partners[partner]?.clients[name];
      if (!client) throw new Error(`e2e config has no client ${partner}/${name} to opt in to rawWriteCredentials`);
      client.rawWriteCredentials = true;
    }
  }
  writeFileSync(configFile, `# generated for local AWS: do not deploy\n${stringify(config)}`);
}

/** Gives a client of a written config an upload contract (writeLocalConfig has no option for it). */
function addUploadContract(configFile: string, partner: string, name: string, upload: Record<string, unknown>): void {
  const config = parse(readFileSync(configFile, 'utf8')) as { partners: Record<string, { clients: Record<string, Record<string, unknown>> }> };
  const client = config.partners[partner]?.clients[name];
  if (!client) throw new Error(`e2e config has no client ${partner}/${name} to give an upload contract`);
  client.upload = upload;
  writeFileSync(configFile, `# generated for local AWS: do not deploy\n${stringify(config)}`);
}

/** jest globalTeardown: offline first, then local AWS if (and only if) this run started it. */
export async function globalTeardown(): Promise<void> {
  const state = running();
  const errors: string[] = [];
  if (state.offline) {
    await state.offline.stop().catch((e: unknown) => errors.push(`stopping serverless-offline: ${String(e)}`));
    state.offline = undefined;
  }
  if (state.localAws) {
    // a no-op for a stack that was already running before the suite
    await state.localAws.stop().catch((e: unknown) => errors.push(`stopping local AWS: ${String(e)}`));
    state.localAws = undefined;
  }
  if (state.exitHook) {
    process.removeListener('exit', state.exitHook);
    state.exitHook = undefined;
  }
  rmSync(E2E_STACK_DIR, { recursive: true, force: true });
  if (errors.length > 0) throw new Error(`e2e teardown: ${errors.join('; ')}`);
}

/** The stack the tests run against; throws (never skips) when globalSetup has not run. */
export function readStack(): StackState {
  const file = process.env[STATE_ENV] ?? DEFAULT_STATE_FILE;
  if (!existsSync(file)) {
    throw new Error(`no e2e stack state at ${file}: run the suite with \`npm run test:e2e\` (jest's e2e project runs test/e2e/support/globalSetup.mjs)`);
  }
  return JSON.parse(readFileSync(file, 'utf8')) as StackState;
}

/**
 * Last resort if jest exits without teardown (a crash, process.exit): kill offline's process group
 * and stop a local AWS stack this run started, synchronously. Never touches anything else.
 */
function installExitHook(state: Running): void {
  if (state.exitHook) return;
  const hook = () => {
    const pid = state.offline?.process.pid;
    if (pid !== undefined && state.offline?.process.exitCode === null) {
      try { process.kill(-pid, 'SIGKILL'); } catch { /* already gone */ }
    }
    if (state.localAws?.startedByUs) {
      try {
        execFileSync('bash', [LOCAL_AWS_SCRIPT, 'stop'], {
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', LOCAL_AWS_DIR: E2E_LOCAL_AWS.dir, LOCAL_AWS_PORT: String(E2E_LOCAL_AWS.port), LOCAL_AWS_MON_PORT: String(E2E_LOCAL_AWS.monPort) },
          stdio: 'ignore', timeout: 60_000,
        });
      } catch { /* nothing more can be done while exiting */ }
    }
    rmSync(E2E_STACK_DIR, { recursive: true, force: true }); // it holds API keys
  };
  state.exitHook = hook;
  process.once('exit', hook);
}

/**
 * startOffline waits for GET /health to answer 200, but serverless-offline answers a handler that
 * threw at cold start (an invalid config: the broker refusing to start) with 200 and a Lambda error
 * body. Only `{ status: "ok" }` means the broker is up; anything else fails setup with its reason.
 */
async function assertBrokerHealthy(url: string): Promise<void> {
  const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  let body: { status?: unknown; configHash?: unknown; errorMessage?: unknown } = {};
  try { body = JSON.parse(text) as typeof body; } catch { /* reported below */ }
  if (res.status !== 200 || body.status !== 'ok' || typeof body.configHash !== 'string') {
    const why = typeof body.errorMessage === 'string' ? body.errorMessage : `${res.status} ${text.slice(0, 500)}`;
    throw new Error(`the broker did not start: GET /health answered ${why}`);
  }
}

/** A stale server on our port would answer /health for some other config: refuse instead of testing it. */
async function assertPortFree(port: number, what: string): Promise<void> {
  const inUse = await new Promise<boolean>((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
    socket.setTimeout(1000, () => { socket.destroy(); resolve(false); });
  });
  if (inUse) {
    throw new Error(`port ${port} (${what}) is already in use on 127.0.0.1: another e2e run or a leftover \`osls offline\` `
      + `(find it with \`ss -ltnp 'sport = :${port}'\`); the suite needs it free (repo ${repoRoot})`);
  }
}

function need(env: Record<string, string>, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`local AWS env lacks ${name}`);
  return value;
}
