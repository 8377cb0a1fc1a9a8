/**
 * Small clients for the e2e tests: the broker's HTTP API (global fetch), S3 as a given identity,
 * curl and the AWS CLI via execFile. Every helper returns what happened (status, bytes, exit code)
 * so the tests assert behaviour, not messages.
 */
import {
  DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client,
} from '@aws-sdk/client-s3';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOG_CAPTURE_ENV, recordResponseSecrets } from '../../../scripts/lib/logScan.js';
import type { StackState } from './stack.js';

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/** Calls the broker with an API key in X-Api-Key (or the given headers instead). */
export async function api<T = any>(
  stack: StackState,
  path: string,
  options: { key?: string; method?: 'GET' | 'POST'; body?: unknown; headers?: Record<string, string> } = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...(options.key ? { 'x-api-key': options.key } : {}), ...options.headers };
  const method = options.method ?? (options.body === undefined ? 'GET' : 'POST');
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${stack.url}${path}`, {
    method,
    headers,
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let body: unknown = text;
  try { body = JSON.parse(text); } catch { /* not JSON: keep the text for the assertion message */ }
  // under `npm test`, every credential and signature the broker hands out is checked against the logs
  if (process.env[LOG_CAPTURE_ENV]) recordResponseSecrets(body);
  return { status: res.status, headers: res.headers, body: body as T };
}

export interface VendedCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: string;
}

/** POST /v1/credentials; fails the test with the broker's answer unless it is 200. */
export async function vend(stack: StackState, key: string, request: Record<string, unknown> = {}): Promise<{ credentials: VendedCredentials; bucket: string; prefix: string; actions: string[] }> {
  const res = await api(stack, '/v1/credentials', { key, body: request });
  if (res.status !== 200) throw new Error(`POST /v1/credentials ${JSON.stringify(request)} → ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** An S3 client for the local gateway (path style, and no flexible checksums, which the local gateway refuses: docs/local-aws.md). */
export function s3For(stack: StackState, credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }): S3Client {
  return new S3Client({
    endpoint: stack.endpoint,
    region: stack.region,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    credentials,
    maxAttempts: 1,
  });
}

/** The buckets' owner (partner-owner): seeds objects outside every grant and checks what was stored. */
export function ownerS3(stack: StackState): S3Client {
  return s3For(stack, { accessKeyId: stack.aws.OWNER_ACCESS_KEY_ID!, secretAccessKey: stack.aws.OWNER_SECRET_ACCESS_KEY! });
}

export function s3WithVended(stack: StackState, c: VendedCredentials): S3Client {
  return s3For(stack, { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken });
}

export interface S3Outcome { status: number; code?: string; body?: Buffer; keys?: string[] }

/** Runs an S3 call and reports the HTTP status the server gave (and the error code, if any). */
export async function outcome(promise: Promise<{ $metadata: { httpStatusCode?: number } }>): Promise<S3Outcome> {
  try {
    const out = await promise;
    return { status: out.$metadata.httpStatusCode ?? -1 };
  } catch (e) {
    const err = e as { $metadata?: { httpStatusCode?: number }; name?: string; Code?: string };
    const status = err.$metadata?.httpStatusCode;
    if (status === undefined) throw e; // not an answer from the server: a broken test, not a denial
    return { status, code: err.Code ?? err.name };
  }
}

export const put = (s3: S3Client, Bucket: string, Key: string, Body: string | Uint8Array) =>
  outcome(s3.send(new PutObjectCommand({ Bucket, Key, Body })));

export async function get(s3: S3Client, Bucket: string, Key: string): Promise<S3Outcome> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket, Key }));
    return { status: out.$metadata.httpStatusCode ?? -1, body: Buffer.from(await out.Body!.transformToByteArray()) };
  } catch (e) {
    return outcome(Promise.reject(e));
  }
}

export const del = (s3: S3Client, Bucket: string, Key: string) => outcome(s3.send(new DeleteObjectCommand({ Bucket, Key })));

export async function list(s3: S3Client, Bucket: string, Prefix: string): Promise<S3Outcome> {
  try {
    const out = await s3.send(new ListObjectsV2Command({ Bucket, Prefix }));
    return { status: out.$metadata.httpStatusCode ?? -1, keys: (out.Contents ?? []).map((o) => o.Key!) };
  } catch (e) {
    return outcome(Promise.reject(e));
  }
}

/**
 * Whether `Key` exists, by the owner's ListObjectsV2. HeadObject cannot tell: the owner gets 403
 * on objects written through a role (a local gateway quirk: docs/local-aws.md).
 */
export async function ownerSees(stack: StackState, Bucket: string, Key: string): Promise<boolean> {
  const res = await list(ownerS3(stack), Bucket, Key);
  if (res.status !== 200) throw new Error(`owner ListObjectsV2 ${Bucket}/${Key} → ${res.status}`);
  return res.keys!.includes(Key);
}

/** Seeds an object as the bucket owner (so reads outside a grant hit an existing key: quirk 8). */
export async function seed(stack: StackState, Bucket: string, Key: string, Body: string | Uint8Array = 'seeded by the owner'): Promise<void> {
  const res = await put(ownerS3(stack), Bucket, Key, Body);
  if (res.status !== 200) throw new Error(`owner PutObject ${Bucket}/${Key} → ${res.status} ${res.code ?? ''}`);
}

export interface ExecResult { code: number; stdout: string; stderr: string }

/** execFile that never throws on a non-zero exit: the exit code is the result. */
export function run(file: string, args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env: options.env ?? process.env, timeout: options.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          reject(new Error(`${file} could not run: ${error.message}`));
          return;
        }
        resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
      });
  });
}

/** Writes `bytes` to a fresh file in `dir` (for curl's -T / -F file=@) and returns its path. */
export function bodyFile(dir: string, bytes: Buffer): string {
  const path = join(dir, `body-${Math.random().toString(36).slice(2)}`);
  writeFileSync(path, bytes);
  return path;
}

/** PUT `bytes` to a presigned URL with exactly `headers`, through curl (a file body: curl sets Content-Length from it). */
export function curlPut(dir: string, url: string, bytes: Buffer, headers: Record<string, string>): ReturnType<typeof curl> {
  return curl(['-X', 'PUT', '-T', bodyFile(dir, bytes), ...Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]), url]);
}

/** curl with `-sS -o <file> -D <file> -w %{http_code}`: returns the status, the final response's headers (lower-cased) and the exact body bytes. */
export async function curl(args: string[]): Promise<{ status: number; body: Buffer; headers: Record<string, string> }> {
  const dir = mkdtempSync(join(tmpdir(), 'sts-broker-e2e-curl-'));
  try {
    const out = join(dir, 'body');
    const head = join(dir, 'headers');
    const r = await run('curl', ['-sS', '-o', out, '-D', head, '-w', '%{http_code}', ...args]);
    if (r.code !== 0) throw new Error(`curl exited ${r.code}: ${r.stderr}`);
    let body: Buffer;
    try { body = readFileSync(out); } catch { body = Buffer.alloc(0); }
    const headers: Record<string, string> = {};
    let raw = '';
    try { raw = readFileSync(head, 'utf8'); } catch { /* no headers written */ }
    // with 100-continue there are several header blocks: keep the last one
    const blocks = raw.split(/\r?\n\r?\n/).filter((b) => b.trim() !== '');
    for (const line of (blocks.at(-1) ?? '').split(/\r?\n/).slice(1)) {
      const i = line.indexOf(':');
      if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    return { status: Number(r.stdout.trim()), body, headers };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The S3 error code in an XML error body (`<Code>AccessDenied</Code>`), for diagnostics and codes that matter. */
export function xmlCode(body: Buffer): string | undefined {
  return /<Code>([^<]+)<\/Code>/.exec(body.toString('utf8'))?.[1];
}

export const randomBinary = (n: number): Buffer => randomBytes(n);

/** A unique key suffix per test run (reruns on a reused stack never collide). */
export const unique = (stack: StackState, name: string): string => `${stack.runId}-${randomBytes(3).toString('hex')}-${name}`;

/** `sbk_<id>_<secret>` split at the first two "_" only (a base64url secret may itself contain "_"). */
export function splitKey(key: string): { id: string; secret: string } {
  const m = /^sbk_([A-Za-z0-9]+)_(.+)$/.exec(key);
  if (!m) throw new Error('not an API key');
  return { id: m[1]!, secret: m[2]! };
}

/** A well-formed key with a real id and a wrong secret: only the hash comparison can refuse it. */
export const withWrongSecret = (key: string): string => `sbk_${splitKey(key).id}_${'A'.repeat(43)}`;

/** A scratch directory for real AWS CLI runs, with a child environment that sees no ambient AWS setting. */
export interface AwsCliSandbox {
  dir: string;
  /** An empty file, for AWS config and credentials files that must hold nothing. */
  emptyFile: string;
  /** The parent's env minus every AWS_* and STS_BROKER_* variable, static keys blank, no ~/.aws file, plus `extra`. */
  env(extra: Record<string, string>): NodeJS.ProcessEnv;
  /** `aws --endpoint-url <local> --region <stack's> …args` in `env`. */
  aws(env: NodeJS.ProcessEnv, args: string[]): Promise<ExecResult>;
  cleanup(): void;
}

/** Checks the AWS CLI is installed (failing loudly if not: never skip) and prepares a sandbox for it. */
export async function awsCliSandbox(stack: StackState, label: string): Promise<AwsCliSandbox> {
  const version = await run('aws', ['--version']).catch((e: Error) => ({ code: -1, stdout: '', stderr: e.message }));
  if (version.code !== 0) {
    throw new Error(`the AWS CLI is required for this suite but \`aws --version\` failed (${version.stderr.trim()}): install it with \`apt-get install awscli\``);
  }
  const dir = mkdtempSync(join(tmpdir(), `sts-broker-e2e-${label}-`));
  const emptyFile = join(dir, 'empty');
  writeFileSync(emptyFile, '');
  return {
    dir,
    emptyFile,
    env: (extra) => ({
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_') && !k.startsWith('STS_BROKER_'))),
      AWS_ACCESS_KEY_ID: '',
      AWS_SECRET_ACCESS_KEY: '',
      AWS_SESSION_TOKEN: '',
      AWS_SECURITY_TOKEN: '',
      AWS_SHARED_CREDENTIALS_FILE: emptyFile,
      AWS_CONFIG_FILE: emptyFile,
      AWS_EC2_METADATA_DISABLED: 'true',
      // the local gateway refuses flexible-checksum streaming uploads, which newer botocore sends by default (docs/local-aws.md)
      AWS_REQUEST_CHECKSUM_CALCULATION: 'when_required',
      AWS_RESPONSE_CHECKSUM_VALIDATION: 'when_required',
      // the credential helper caches by default: keep its cache inside the sandbox, never in the tester's home
      XDG_CACHE_HOME: join(dir, 'cache'),
      ...extra,
    }),
    aws: (env, args) => run('aws', ['--endpoint-url', stack.endpoint, '--region', stack.region, ...args], { env, timeoutMs: 90_000 }),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
