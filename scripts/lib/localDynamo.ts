/**
 * A local DynamoDB (dynalite, from node_modules) on 127.0.0.1 for the grant store: its own port
 * (default 4569), data folder, pid file and log, started detached so it outlives the command that
 * started it (`scripts/local-dynamodb start`), and reused when already serving: every start is
 * idempotent. Used by `scripts/local-dynamodb`, the store contract tests, the bench and `npm start`.
 *
 * dynalite's gaps (docs/local-aws.md, "DynamoDB (dynalite)"): no transactions, no TTL, no PITR or
 * deletion protection, no IAM; table names need at least 3 characters. The grant store's design
 * uses none of these on the request path (docs/grant-store.md).
 */
import { CreateTableCommand, DescribeTableCommand, DeleteTableCommand, ListTablesCommand, ResourceInUseException, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createGrantTableClient } from '../../src/adapters/dynamo/client.js';

export const LOCAL_DYNAMO_DEFAULT_PORT = 4569;
export const LOCAL_DYNAMO_DEFAULT_DIR = join(process.env.TMPDIR ?? tmpdir(), 'sts-broker-local-dynamodb');
/** Only a folder holding this file is ever deleted by `stop`. */
const MARKER = '.sts-broker-local-dynamodb';
const SERVER_ENTRY = fileURLToPath(new URL('./dynaliteServer.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const READY_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 5_000;
/** dynalite checks no signature; the SDK still signs, so it needs some credentials. */
export const LOCAL_DYNAMO_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;
export const LOCAL_DYNAMO_REGION = 'us-east-1';

export interface LocalDynamoOptions {
  /** data, log and pid folder (LOCAL_DYNAMODB_DIR) */
  dir?: string;
  /** 127.0.0.1 port (LOCAL_DYNAMODB_PORT) */
  port?: number;
  /** keep tables in memory instead of LevelDB under dir/data (they vanish on stop) */
  inMemory?: boolean;
}

export interface LocalDynamoStatus {
  running: boolean;
  pid?: number;
  endpoint: string;
  dir: string;
  /** the storage of the running server */
  storage?: 'memory' | 'leveldb';
}

export interface LocalDynamo {
  endpoint: string;
  /** BROKER_DYNAMODB_ENDPOINT for a broker reading the local table */
  env: Record<string, string>;
  /** true when this call started the server (and stop() will stop it) */
  startedByUs: boolean;
  pid: number;
  /** stops the server if this call started it; a no-op otherwise */
  stop: () => Promise<void>;
}

function resolved(opts: LocalDynamoOptions): { dir: string; port: number; inMemory: boolean } {
  const port = opts.port ?? LOCAL_DYNAMO_DEFAULT_PORT;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`local DynamoDB port must be 1–65535, got ${String(port)}`);
  return { dir: opts.dir ?? LOCAL_DYNAMO_DEFAULT_DIR, port, inMemory: opts.inMemory ?? false };
}

export const localDynamoEndpoint = (port: number): string => `http://127.0.0.1:${port}`;

const pidFile = (dir: string) => join(dir, 'dynalite.pid');
const logFile = (dir: string) => join(dir, 'dynalite.log');

/** The pid in dir's pid file when it names a live dynalite server of ours on `port` (guards pid reuse). */
function livePid(dir: string, port: number): { pid: number; storage: 'memory' | 'leveldb' } | undefined {
  let text: string;
  try {
    text = readFileSync(pidFile(dir), 'utf8');
  } catch {
    return undefined;
  }
  const [pidText, storage] = text.trim().split(/\s+/);
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return undefined;
  }
  if (!cmdline.includes(SERVER_ENTRY) || !cmdline.includes(`--port ${port}`)) return undefined;
  return { pid, storage: storage === 'memory' ? 'memory' : 'leveldb' };
}

/** A client for the local server (no retries beyond one, short timeouts: it is on this machine). */
export function localDynamoClient(endpoint: string): DynamoDBDocumentClient {
  return createGrantTableClient({ endpoint, timeoutMs: 3000, maxAttempts: 2, region: LOCAL_DYNAMO_REGION, credentials: LOCAL_DYNAMO_CREDENTIALS });
}

async function answers(endpoint: string): Promise<boolean> {
  // one short attempt: a port held by something else that accepts and never answers must not stall the poll
  const client = createGrantTableClient({ endpoint, timeoutMs: 1000, maxAttempts: 1, region: LOCAL_DYNAMO_REGION, credentials: LOCAL_DYNAMO_CREDENTIALS });
  try {
    await client.send(new ListTablesCommand({ Limit: 1 }));
    return true;
  } catch {
    return false;
  } finally {
    client.destroy();
  }
}

export async function localDynamoStatus(opts: LocalDynamoOptions = {}): Promise<LocalDynamoStatus> {
  const { dir, port } = resolved(opts);
  const endpoint = localDynamoEndpoint(port);
  const live = livePid(dir, port);
  if (live === undefined || !(await answers(endpoint))) return { running: false, endpoint, dir };
  return { running: true, pid: live.pid, endpoint, dir, storage: live.storage };
}

/**
 * Starts the server unless ours is already serving from `dir` on `port` (then returns it as is).
 * Rejects with the server's own log when it cannot start (say, the port is taken).
 */
export async function startLocalDynamo(opts: LocalDynamoOptions = {}): Promise<{ endpoint: string; pid: number; startedByUs: boolean }> {
  const { dir, port, inMemory } = resolved(opts);
  const endpoint = localDynamoEndpoint(port);
  const status = await localDynamoStatus({ dir, port });
  if (status.running && status.pid !== undefined) return { endpoint, pid: status.pid, startedByUs: false };
  if (existsSync(dir) && !existsSync(join(dir, MARKER)) && readdirOrEmpty(dir).length > 0) {
    throw new Error(`local DynamoDB: ${dir} exists and is not ours (no ${MARKER} in it): choose another folder`);
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, MARKER), 'sts-broker local DynamoDB data; `scripts/local-dynamodb stop` deletes this folder\n');
  const log = openSync(logFile(dir), 'a');
  const args = ['--import', 'tsx', SERVER_ENTRY, '--port', String(port), ...(inMemory ? [] : ['--path', join(dir, 'data')])];
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    detached: true,
    stdio: ['ignore', log, log],
    // only what the server needs: nothing else of the caller's environment (no AWS credentials)
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', LC_ALL: 'C' },
  });
  closeSync(log);
  if (child.pid === undefined) throw new Error('local DynamoDB: could not spawn the server process');
  writeFileSync(pidFile(dir), `${child.pid} ${inMemory ? 'memory' : 'leveldb'}\n`);
  let exited: number | null | undefined;
  child.once('exit', (code) => { exited = code; });
  child.unref();
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exited !== undefined) break;
    if (await answers(endpoint)) return { endpoint, pid: child.pid, startedByUs: true };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  if (exited === undefined) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch { /* already gone */ }
  }
  rmSync(pidFile(dir), { force: true });
  const tail = readTail(logFile(dir));
  throw new Error(`local DynamoDB did not start on ${endpoint}${exited === undefined ? ` within ${READY_TIMEOUT_MS / 1000} s` : ` (exit ${String(exited)})`}: ${tail}`);
}

/**
 * Stops our server on `port` (SIGTERM, SIGKILL after 5 s) and, unless `keep`, deletes `dir` (only
 * when it holds our marker). Returns whether a server was running.
 */
export async function stopLocalDynamo(opts: LocalDynamoOptions & { keep?: boolean } = {}): Promise<boolean> {
  const { dir, port } = resolved(opts);
  const live = livePid(dir, port);
  if (live !== undefined) {
    try {
      process.kill(live.pid, 'SIGTERM');
    } catch { /* already gone */ }
    const deadline = Date.now() + STOP_TIMEOUT_MS;
    while (Date.now() < deadline && livePid(dir, port) !== undefined) await new Promise((resolve) => setTimeout(resolve, 50));
    if (livePid(dir, port) !== undefined) {
      try {
        process.kill(live.pid, 'SIGKILL');
      } catch { /* already gone */ }
    }
  }
  rmSync(pidFile(dir), { force: true });
  if (opts.keep !== true && existsSync(join(dir, MARKER))) rmSync(dir, { recursive: true, force: true });
  return live !== undefined;
}

/** Reuses the server serving from `dir` on `port`, else starts one; stop() stops only what it started. */
export async function ensureLocalDynamo(opts: LocalDynamoOptions = {}): Promise<LocalDynamo> {
  const { dir, port, inMemory } = resolved(opts);
  const started = await startLocalDynamo({ dir, port, inMemory });
  let stopping: Promise<void> | undefined;
  return {
    endpoint: started.endpoint,
    env: { BROKER_DYNAMODB_ENDPOINT: started.endpoint },
    startedByUs: started.startedByUs,
    pid: started.pid,
    stop: () => {
      stopping ??= started.startedByUs ? stopLocalDynamo({ dir, port }).then(() => undefined) : Promise.resolve();
      return stopping;
    },
  };
}

/**
 * Creates the grant table as the deployment does (partition key `pk` only, on demand), or leaves an
 * existing one as it is. Works against any endpoint; tests, the bench and `npm start` use it locally.
 */
export async function createGrantTable(client: Pick<DynamoDBDocumentClient, 'send'>, tableName: string): Promise<void> {
  try {
    await client.send(new CreateTableCommand({
      TableName: tableName,
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }));
  } catch (err) {
    if (!(err instanceof ResourceInUseException)) throw err;
  }
  for (let i = 0; i < 100; i += 1) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === 'ACTIVE') return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`grant table ${tableName} did not become ACTIVE`);
}

/** Deletes the table if it exists (tests start from an empty table). */
export async function deleteGrantTable(client: Pick<DynamoDBDocumentClient, 'send'>, tableName: string): Promise<void> {
  try {
    await client.send(new DeleteTableCommand({ TableName: tableName }));
  } catch (err) {
    if (!(err instanceof ResourceNotFoundException)) throw err;
  }
}

function readdirOrEmpty(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function readTail(path: string): string {
  try {
    const text = readFileSync(path, 'utf8').trim();
    return text.length === 0 ? '(the server wrote nothing)' : text.slice(-1500);
  } catch {
    return '(no server log)';
  }
}
