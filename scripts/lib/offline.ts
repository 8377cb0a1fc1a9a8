/**
 * Runs the real API locally: serverless-offline serving the same handlers and serverless.yml as
 * production, with a broker config that points at the local S3 + STS. Used by `npm start` and by
 * the end-to-end suite.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export interface OfflineOptions {
  /** Path of the broker YAML config to serve. */
  configFile: string;
  /** Local AWS env (from scripts/local-aws env). */
  localAws: Record<string, string>;
  httpPort: number;
  lambdaPort: number;
  /** Where serverless-offline's output goes (a file path), so failures can be shown. */
  onOutput?: (chunk: string) => void;
  extraEnv?: Record<string, string>;
  /** aborts a start in progress: serverless-offline's process group is stopped and the call rejects */
  signal?: AbortSignal;
}

export interface RunningOffline {
  url: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Starts `osls offline` and resolves once GET /health answers 200 (or rejects with its output). */
export async function startOffline(options: OfflineOptions): Promise<RunningOffline> {
  const { localAws } = options;
  const env: Record<string, string> = {
    ...filteredEnv(),
    BROKER_CONFIG_FILE: options.configFile,
    BROKER_LOCAL_AWS: '1',
    BROKER_HTTP_PORT: String(options.httpPort),
    BROKER_LAMBDA_PORT: String(options.lambdaPort),
    // its own esbuild work folder, so two local APIs (npm start, the e2e suite) never share bundles
    BROKER_ESBUILD_DIR: `.esbuild-${options.httpPort}`,
    BROKER_STS_ENDPOINT: required(localAws, 'LOCAL_AWS_ENDPOINT'),
    BROKER_S3_ENDPOINT: required(localAws, 'LOCAL_AWS_ENDPOINT'),
    // the broker's own identity at the local gateway (in AWS: the Lambda execution role)
    AWS_ACCESS_KEY_ID: required(localAws, 'BROKER_ACCESS_KEY_ID'),
    AWS_SECRET_ACCESS_KEY: required(localAws, 'BROKER_SECRET_ACCESS_KEY'),
    AWS_REGION: required(localAws, 'LOCAL_AWS_REGION'),
    AWS_EC2_METADATA_DISABLED: 'true',
    ...options.extraEnv,
  };
  delete env.AWS_SESSION_TOKEN;
  delete env.AWS_PROFILE;
  const bin = `${repoRoot}node_modules/.bin/osls`;
  const child = spawn(bin, ['offline', 'start', '--stage', 'local'], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  const collect = (b: Buffer) => { const s = b.toString(); output = (output + s).slice(-20000); options.onOutput?.(s); };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const url = `http://127.0.0.1:${options.httpPort}`;
  const stop = () => stopProcessGroup(child);
  try {
    await waitForHealth(url, child, 90_000, options.signal);
  } catch (err) {
    await stop();
    if (options.signal?.aborted) throw new Error('serverless-offline start aborted', { cause: options.signal.reason });
    throw new Error(`serverless-offline did not come up: ${(err as Error).message}\n--- its output ---\n${output.slice(-4000)}`);
  }
  return { url, process: child, stop };
}

async function waitForHealth(url: string, child: ChildProcess, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (signal?.aborted) throw new Error('aborted');
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`it exited (${child.exitCode ?? child.signalCode})`);
    let body: { status?: unknown; errorMessage?: unknown } | undefined;
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) });
      body = await res.json() as typeof body;
    } catch { /* not yet listening */ }
    // serverless-offline answers a handler that threw at cold start (an invalid config) with 200 and
    // { errorMessage, stackTrace }: only the broker's own { status: "ok" } means it is serving.
    if (body?.status === 'ok') return;
    if (typeof body?.errorMessage === 'string') throw new Error(`the broker refused to start: ${body.errorMessage}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`GET ${url}/health did not answer 200 within ${timeoutMs} ms`);
}

const stopping = new WeakMap<ChildProcess, Promise<void>>();

/**
 * Stops serverless-offline and its worker processes (it was started as a process group leader):
 * SIGTERM to the group, SIGKILL to whatever of the group is left 5 s later. Resolves once the
 * leader has exited and no process of the group remains. Calls after the first share its promise.
 */
export function stopProcessGroup(child: ChildProcess): Promise<void> {
  let p = stopping.get(child);
  if (!p) {
    p = stopGroup(child);
    stopping.set(child, p);
  }
  return p;
}

async function stopGroup(child: ChildProcess): Promise<void> {
  const pgid = child.pid;
  if (pgid === undefined) return;
  const leaderExited = child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>((resolve) => child.once('exit', () => resolve()));
  if (!signalGroup(pgid, 'SIGTERM')) return leaderExited; // no process of the group is left
  const deadline = Date.now() + 5000;
  let killed = false;
  // the leader's exit does not end its workers: wait until the whole group is gone
  while (groupAlive(pgid)) {
    if (!killed && Date.now() >= deadline) { signalGroup(pgid, 'SIGKILL'); killed = true; }
    if (killed && Date.now() >= deadline + 5000) throw new Error(`process group ${pgid} (serverless-offline) survived SIGKILL`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await leaderExited;
}

function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try { process.kill(-pgid, signal); return true; } catch { return false; }
}

/** True while a process of the group exists (a zombie leader not yet reaped by us counts). */
function groupAlive(pgid: number): boolean {
  return signalGroup(pgid, 0);
}

function required(env: Record<string, string>, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`local AWS env lacks ${name}`);
  return value;
}

/** The parent's environment without variables that would confuse the child's AWS SDK. */
function filteredEnv(): Record<string, string> {
  return Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined && !e[0].startsWith('AWS_')));
}

export interface LocalPartner { name: string; roleArn: string; bucket: string; prefix: string }

export interface LocalClient {
  sha256: string;
  keyId: string;
  actions?: string[];
  prefix?: string;
  maxUploadBytes?: number;
  contentTypes?: string[];
  maxDurationSeconds?: number;
  /**
   * Vend raw credentials that can write (they escape maxUploadBytes and contentTypes: see
   * docs/security.md). Off unless set; `why` is written above it as a YAML comment.
   */
  rawWriteCredentials?: { why: string };
}

/** A broker config for local AWS: one API-key client per partner, plus extra YAML per client. */
export function writeLocalConfig(path: string, options: {
  region: string;
  partners: Array<LocalPartner & { clients: Record<string, LocalClient> }>;
  extraClientsYaml?: Record<string, string>;
}): void {
  const lines = ['# generated for local AWS: do not deploy', 'allowInsecureLoopbackHttp: true', 'partners:'];
  for (const p of options.partners) {
    lines.push(`  ${p.name}:`, `    roleArn: ${JSON.stringify(p.roleArn)}`, `    bucket: ${p.bucket}`, `    region: ${options.region}`, '    maxDurationSeconds: 3600', '    clients:');
    for (const [name, c] of Object.entries(p.clients)) {
      lines.push(
        `      ${name}:`,
        `        apiKeys: [{ id: ${c.keyId}, sha256: "${c.sha256}" }]`,
        `        prefix: ${JSON.stringify(c.prefix ?? p.prefix)}`,
        `        actions: ${JSON.stringify(c.actions ?? ['read', 'write', 'list', 'delete'])}`,
        `        maxUploadBytes: ${c.maxUploadBytes ?? 10 * 1024 * 1024}`,
        `        contentTypes: ${JSON.stringify(c.contentTypes ?? ['text/plain', 'application/octet-stream', 'image/png', 'application/pdf'])}`,
      );
      if (c.maxDurationSeconds !== undefined) lines.push(`        maxDurationSeconds: ${c.maxDurationSeconds}`);
      if (c.rawWriteCredentials) {
        for (const line of c.rawWriteCredentials.why.split('\n')) lines.push(`        # ${line}`);
        lines.push('        rawWriteCredentials: true');
      }
    }
    if (options.extraClientsYaml?.[p.name]) lines.push(options.extraClientsYaml[p.name]!);
  }
  writeFileSync(path, lines.join('\n') + '\n');
}
