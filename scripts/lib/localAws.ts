// Local AWS (Ceph RADOS Gateway: S3 + STS + IAM on 127.0.0.1) for the end-to-end suite and `npm start`.
// ensureLocalAws() reuses a stack already serving in opts.dir, else runs `scripts/local-aws start`
// (which installs the Debian packages when missing). A stack that cannot start is an error carrying
// the script's own explanation: the e2e suite fails loudly, it never skips.
//
// The script runs in its own process group: a terminal's Ctrl-C signals every process of the
// terminal's group, and a `stop` cut short by it would leave daemons running or a data folder
// behind. The caller decides instead: opts.signal aborts a start (the script's own trap stops the
// daemons it had started, then `stop` removes the folder), and stop() always runs to its end.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const LOCAL_AWS_SCRIPT = fileURLToPath(new URL('../local-aws', import.meta.url));

export interface LocalAwsOptions {
  /** data/log/pid directory of the stack (LOCAL_AWS_DIR) */
  dir: string;
  /** gateway HTTP port (LOCAL_AWS_PORT) */
  port: number;
  /** monitor port (LOCAL_AWS_MON_PORT) */
  monPort: number;
  /** RAM the memstore OSD may hold objects in (LOCAL_AWS_MEMSTORE_BYTES; the script's default: 1 GiB) */
  memstoreBytes?: number;
  /** receives the start script's output as it comes (its progress lines: apt install, each daemon up) */
  onOutput?: (text: string) => void;
  /** aborts a start in progress: what it had started is stopped, opts.dir removed, the call rejects */
  signal?: AbortSignal;
}

export interface LocalAws {
  /** contents of $dir/env.sh: LOCAL_AWS_ENDPOINT, BROKER_ACCESS_KEY_ID, PARTNER_ROLE_ARN, ... */
  env: Record<string, string>;
  /** true when this call started the stack (and stop() will stop it) */
  startedByUs: boolean;
  /** stops the stack if this call started it; a no-op otherwise. Calls after the first share its promise. */
  stop: () => Promise<void>;
}

/** Names env.sh always defines (checked after reading it). */
export const LOCAL_AWS_ENV_KEYS = [
  'LOCAL_AWS_DIR', 'LOCAL_AWS_ENDPOINT', 'LOCAL_AWS_REGION',
  'BROKER_ACCESS_KEY_ID', 'BROKER_SECRET_ACCESS_KEY',
  'OWNER_ACCESS_KEY_ID', 'OWNER_SECRET_ACCESS_KEY',
  'ADMIN_ACCESS_KEY_ID', 'ADMIN_SECRET_ACCESS_KEY',
  'PARTNER_ROLE_ARN', 'PARTNER_BUCKET', 'PARTNER2_ROLE_ARN', 'PARTNER2_BUCKET',
  'CEPH_CONF',
] as const;

const START_TIMEOUT_MS = 10 * 60_000; // includes apt-get install on a bare machine
const SHORT_TIMEOUT_MS = 60_000;

interface RunResult { code: number; stdout: string; stderr: string; error?: Error }

/** Parses `export NAME=value` lines (value bare, '...' or "..."); ignores comments and blank lines. */
export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) continue;
    const name = m[1] as string;
    let value = m[2] as string;
    if (value.length >= 2 && ((value.startsWith("'") && value.endsWith("'")) || (value.startsWith('"') && value.endsWith('"')))) {
      value = value.slice(1, -1);
    }
    env[name] = value;
  }
  return env;
}

function scriptEnv(opts: LocalAwsOptions): NodeJS.ProcessEnv {
  // only what the script needs: nothing else of the caller's environment leaks into the daemons
  return {
    PATH: process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    LC_ALL: 'C',
    LOCAL_AWS_DIR: opts.dir,
    LOCAL_AWS_PORT: String(opts.port),
    LOCAL_AWS_MON_PORT: String(opts.monPort),
    ...(opts.memstoreBytes !== undefined ? { LOCAL_AWS_MEMSTORE_BYTES: String(opts.memstoreBytes) } : {}),
    ...(process.env.TMPDIR ? { TMPDIR: process.env.TMPDIR } : {}),
  };
}

const MAX_KEPT_OUTPUT = 1024 * 1024;

/**
 * Runs `scripts/local-aws <args>` as the leader of its own process group (see the file comment).
 * On timeout or abort the whole group gets SIGTERM (the script's traps clean up), SIGKILL 15 s later.
 */
function run(args: string[], opts: LocalAwsOptions, timeout: number, live?: { onOutput?: (text: string) => void; signal?: AbortSignal }): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn('bash', [LOCAL_AWS_SCRIPT, ...args], { env: scriptEnv(opts), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    let why: string | undefined;
    child.stdout.on('data', (b: Buffer) => { const t = b.toString(); stdout = (stdout + t).slice(-MAX_KEPT_OUTPUT); live?.onOutput?.(t); });
    child.stderr.on('data', (b: Buffer) => { const t = b.toString(); stderr = (stderr + t).slice(-MAX_KEPT_OUTPUT); live?.onOutput?.(t); });
    let killTimer: NodeJS.Timeout | undefined;
    const terminate = (reason: string) => {
      if (why !== undefined || child.exitCode !== null || child.signalCode !== null) return;
      why = reason;
      signalGroup(child.pid, 'SIGTERM');
      killTimer = setTimeout(() => signalGroup(child.pid, 'SIGKILL'), 15_000);
    };
    const timer = setTimeout(() => terminate(`timed out after ${timeout} ms`), timeout);
    const onAbort = () => terminate('aborted');
    if (live?.signal?.aborted) onAbort();
    live?.signal?.addEventListener('abort', onAbort, { once: true });
    const finish = (code: number, error?: Error) => {
      clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      live?.signal?.removeEventListener('abort', onAbort);
      resolve({ code, stdout, stderr, ...(error ? { error } : why ? { error: new Error(why) } : {}) });
    };
    child.once('error', (error) => finish(-1, error));
    child.once('close', (code, signal) => finish(why !== undefined || code === null ? -1 : code, signal ? new Error(why ?? `killed by ${signal}`) : undefined));
  });
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try { process.kill(-pid, signal); } catch { /* already gone */ }
}

const tail = (text: string, lines = 25): string => text.trimEnd().split('\n').slice(-lines).join('\n');

async function readEnv(dir: string): Promise<Record<string, string>> {
  const file = join(dir, 'env.sh');
  const env = parseEnvFile(await readFile(file, 'utf8'));
  const missing = LOCAL_AWS_ENV_KEYS.filter((k) => !env[k]);
  if (missing.length > 0) throw new Error(`local AWS env file ${file} lacks ${missing.join(', ')}`);
  return env;
}

function validate(opts: LocalAwsOptions): void {
  if (!opts.dir) throw new Error('ensureLocalAws: opts.dir is required');
  for (const [name, port] of [['port', opts.port], ['monPort', opts.monPort]] as const) {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`ensureLocalAws: invalid ${name} ${port}`);
  }
}

/**
 * Returns a serving local AWS stack in opts.dir: the one already running there (startedByUs=false,
 * stop is a no-op) or a new one started by `scripts/local-aws start` (stop runs `scripts/local-aws stop`,
 * which also deletes opts.dir). Throws with the script's stderr when the stack cannot be started.
 */
export async function ensureLocalAws(opts: LocalAwsOptions): Promise<LocalAws> {
  validate(opts);
  const aborted = () => new Error('local AWS start aborted', { cause: opts.signal?.reason });
  if (opts.signal?.aborted) throw aborted();
  const status = await run(['status'], opts, SHORT_TIMEOUT_MS);
  if (status.code === 0) {
    return { env: await readEnv(opts.dir), startedByUs: false, stop: async () => {} };
  }
  if (opts.signal?.aborted) throw aborted();

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= run(['stop'], opts, SHORT_TIMEOUT_MS).then((r) => {
      if (r.code !== 0) throw new Error(`scripts/local-aws stop failed with exit ${r.code}:\n${tail(r.stderr)}`);
    });
    return stopping;
  };

  const started = await run(['start'], opts, START_TIMEOUT_MS, {
    ...(opts.onOutput ? { onOutput: opts.onOutput } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  if (opts.signal?.aborted) {
    // the script's trap has stopped the daemons it started; `stop` also removes opts.dir (only when
    // the script created it: it carries the script's marker). A failing stop is the error to report.
    await stop();
    throw aborted();
  }
  if (started.code !== 0) {
    const why = started.error && started.code === -1 ? ` (${started.error.message.split('\n')[0]})` : '';
    throw new Error(
      `scripts/local-aws start failed with exit ${started.code}${why} ` +
      `(LOCAL_AWS_DIR=${opts.dir} LOCAL_AWS_PORT=${opts.port} LOCAL_AWS_MON_PORT=${opts.monPort}).\n` +
      `--- stderr (tail) ---\n${tail(started.stderr)}\n--- stdout (tail) ---\n${tail(started.stdout, 10)}`,
    );
  }

  try {
    return { env: await readEnv(opts.dir), startedByUs: true, stop };
  } catch (e) {
    await stop().catch(() => {});
    throw e;
  }
}
