/**
 * "No secret is ever logged" (docs/security.md), checked over a whole test run. Identifiers are
 * not secrets: audit lines name the issued session's AccessKeyId on purpose (see ACCESS_KEY_ID).
 *
 * During a run, every jest worker of the unit project tees what it writes to stdout/stderr (where
 * the Powertools logger writes) into `<dir>/unit-<pid>.log`, and tests record every secret they
 * mint (API keys, JWTs, STS credentials, presigned signatures) into `<dir>/secrets-<pid>.txt`,
 * one JSON string per line. After the suites, scripts/check-logs.ts scans every `*.log` in the
 * directory for every recorded secret, and for secret-shaped text no list could name in advance.
 *
 * `<dir>` is $LOG_CAPTURE_DIR, which scripts/test-all sets (to a fresh temporary directory) for
 * the whole `npm test`. Without it nothing is captured: a bare `jest` run in an edit loop leaves no
 * directory behind. Any other producer (the e2e harness's serverless-offline output) takes part by
 * writing a `*.log` file into the same directory and calling recordSecrets for what it mints.
 *
 * This module never imports jest: the check script loads it with tsx.
 */
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const LOG_CAPTURE_ENV = 'LOG_CAPTURE_DIR';
export const LOG_SUFFIX = '.log';
export const SECRETS_PREFIX = 'secrets-';
/** Shorter strings are not secrets worth the false positives (ids, short words). */
export const MIN_SECRET_CHARS = 16;
/** A leaked prefix this long of a longer secret counts as a leak (truncated tokens in logs). */
export const MIN_LEAKED_PREFIX_CHARS = 32;

/** The run's capture directory (created on first use), or undefined when this run captures nothing. */
export function captureDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dir = env[LOG_CAPTURE_ENV];
  if (!dir) return undefined;
  if (!made.has(dir)) {
    if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
    made.add(dir);
  }
  return dir;
}
const made = new Set<string>();

const recorded = new Set<string>();

/**
 * An AWS access key id (`AKIA…` long-term, `ASIA…` STS session). An identifier, not a secret: the
 * audit lines name it on purpose (CloudTrail records it with every S3 data event, and it is what
 * joins an event to its issuance), so it is never recorded as a secret. The session's secret access
 * key and session token stay secrets, and the check still fails on either.
 */
export const ACCESS_KEY_ID = /^(AKIA|ASIA)[A-Z0-9]{12,124}$/;

/** Records secrets a test minted, so the end-of-run check can prove none was logged (access key ids are skipped). */
export function recordSecrets(...values: ReadonlyArray<string | undefined | null>): void {
  const fresh = values.filter((v): v is string => typeof v === 'string' && v.length >= MIN_SECRET_CHARS && !ACCESS_KEY_ID.test(v) && !recorded.has(v));
  const dir = captureDir();
  if (fresh.length === 0 || dir === undefined) return;
  for (const v of fresh) recorded.add(v);
  appendFileSync(join(dir, `${SECRETS_PREFIX}${process.pid}.txt`), fresh.map((v) => `${JSON.stringify(v)}\n`).join(''));
}

/** Response fields that hold secrets. `accessKeyId` / `AccessKeyId` are deliberately absent: see ACCESS_KEY_ID. */
const CREDENTIAL_FIELDS = new Set(['secretAccessKey', 'SecretAccessKey', 'sessionToken', 'SessionToken', 'Token']);
const SIGNATURE_PARAMS = ['X-Amz-Signature', 'X-Amz-Security-Token'];

/**
 * Records the secrets in a broker response body: credentials (every shape the routes answer in),
 * and the signature and session token of every presigned URL or POST form.
 */
export function recordResponseSecrets(body: unknown): void {
  const walk = (value: unknown, key: string | undefined): void => {
    if (typeof value === 'string') {
      if (key !== undefined && (CREDENTIAL_FIELDS.has(key) || SIGNATURE_PARAMS.some((p) => p.toLowerCase() === key.toLowerCase()))) recordSecrets(value);
      if (/^https?:\/\//.test(value) && URL.canParse(value)) {
        const params = new URL(value).searchParams;
        recordSecrets(...SIGNATURE_PARAMS.map((p) => params.get(p)));
      }
      return;
    }
    if (Array.isArray(value)) value.forEach((v) => walk(v, undefined));
    else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) walk(v, k);
  };
  walk(body, undefined);
}

/** Appends text this process wrote (or a test captured) to the run-wide log; '' just creates the file. */
export function appendCapturedLog(text: string): void {
  const dir = captureDir();
  if (dir !== undefined) appendFileSync(join(dir, `unit-${process.pid}${LOG_SUFFIX}`), text);
}

const TEE_INSTALLED = Symbol.for('sts-broker.logTee');

/**
 * Tees process.stdout and process.stderr into the capture file, once per process (a jest worker
 * runs many test files; in band, the streams outlive each file's module registry).
 */
export function installLogTee(): void {
  if (captureDir() === undefined) return;
  // The file exists from the start, so the check can tell "nothing was logged" from "not wired".
  appendCapturedLog('');
  for (const stream of [process.stdout, process.stderr]) {
    const marked = stream as unknown as Record<symbol, boolean>;
    if (marked[TEE_INSTALLED]) continue;
    const original = stream.write.bind(stream);
    const tee = (chunk: unknown, ...rest: unknown[]): boolean => {
      try {
        appendCapturedLog(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
      } catch {
        // A full disk must not turn every test red; the check then finds fewer lines, not fewer secrets.
      }
      return (original as (...args: unknown[]) => boolean)(chunk, ...rest);
    };
    stream.write = tee as typeof stream.write;
    marked[TEE_INSTALLED] = true;
  }
}

// ---- the check ----------------------------------------------------------------------------

export interface LogFile {
  name: string;
  text: string;
}

export interface Finding {
  file: string;
  line: number;
  /** What leaked, never the secret itself: `recorded secret sbk_…(67 chars)` or a pattern name. */
  what: string;
}

/** Secret shapes caught even when no test recorded the value (keys from scripts, tokens from e2e). */
export const SECRET_PATTERNS: ReadonlyArray<{ name: string; pattern: RegExp }> = [
  { name: 'API key', pattern: /sbk_[A-Za-z0-9]{1,32}_[A-Za-z0-9_-]{43,}/ },
  { name: 'signed JWT', pattern: /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}/ },
  { name: 'presigned URL signature', pattern: /X-Amz-Signature(=|"\s*:\s*")[0-9a-f]{64}/i },
  { name: 'session token in a URL or form', pattern: /X-Amz-Security-Token(=|"\s*:\s*")[^&"\s]{16,}/i },
  { name: 'credentials in JSON', pattern: /"(secretAccessKey|SecretAccessKey|sessionToken|SessionToken|aws_secret_access_key)"\s*:\s*"[^"]{16,}"/ },
];

/** `abcd…(40 chars)`: enough to find the secret in the secrets file, useless to anyone else. */
export function redact(secret: string): string {
  return `${secret.slice(0, 4)}…(${secret.length} chars)`;
}

/** The forms a secret takes in a log line: as is, JSON-escaped, URL-encoded. */
function variants(secret: string): string[] {
  return [...new Set([secret, JSON.stringify(secret).slice(1, -1), encodeURIComponent(secret)])];
}

/**
 * Every place a recorded secret (whole, or a prefix of at least MIN_LEAKED_PREFIX_CHARS) or a
 * secret-shaped string occurs in the logs. Linear in the log size: secrets are indexed by their
 * first MIN_SECRET_CHARS characters.
 */
export function scanForSecrets(logs: readonly LogFile[], secrets: readonly string[]): Finding[] {
  const index = new Map<string, Array<{ form: string; secret: string }>>();
  for (const secret of new Set(secrets)) {
    if (secret.length < MIN_SECRET_CHARS) continue;
    for (const form of variants(secret)) {
      const anchor = form.slice(0, MIN_SECRET_CHARS);
      const list = index.get(anchor) ?? [];
      list.push({ form, secret });
      index.set(anchor, list);
    }
  }
  const findings: Finding[] = [];
  for (const { name, text } of logs) {
    const lines = text.split('\n');
    lines.forEach((line, i) => {
      // One finding per secret and line, however many of its forms or positions matched.
      const found = new Set<string>();
      for (const { name: what, pattern } of SECRET_PATTERNS) {
        if (pattern.test(line)) findings.push({ file: name, line: i + 1, what });
      }
      for (let at = 0; at + MIN_SECRET_CHARS <= line.length; at += 1) {
        const candidates = index.get(line.slice(at, at + MIN_SECRET_CHARS));
        if (candidates === undefined) continue;
        for (const { form, secret } of candidates) {
          const leaked = commonPrefixLength(line, at, form);
          if (leaked === form.length || leaked >= MIN_LEAKED_PREFIX_CHARS) found.add(secret);
        }
      }
      for (const secret of found) findings.push({ file: name, line: i + 1, what: `recorded secret ${redact(secret)}` });
    });
  }
  return findings;
}

function commonPrefixLength(text: string, at: number, form: string): number {
  let n = 0;
  while (n < form.length && text[at + n] === form[n]) n += 1;
  return n;
}

/** The logs and recorded secrets of one capture directory. */
export function readCapture(dir: string): { logs: LogFile[]; secrets: string[] } {
  const names = existsSync(dir) ? readdirSync(dir) : [];
  const logs = names.filter((n) => n.endsWith(LOG_SUFFIX)).map((n) => ({ name: n, text: readFileSync(join(dir, n), 'utf8') }));
  const secrets = names
    .filter((n) => n.startsWith(SECRETS_PREFIX))
    .flatMap((n) => readFileSync(join(dir, n), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as string));
  return { logs, secrets };
}
