/**
 * bin/sts-broker-credentials' private cache and its retries, run as the AWS CLI runs a
 * credential_process (a child process), against a loopback imitation of the broker that counts
 * requests: a second run within the credentials' life (less the margin) makes no broker request;
 * the cache is keyed by URL, key id and narrowing and used only by the key that filled it; the
 * folder is 0700 and the file 0600 and both are refused otherwise; the file never holds the key;
 * writes are atomic. Retries: a 503 or 429 is retried as its Retry-After says, within --timeout.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { recordSecrets } from '../../scripts/lib/logScan.js';
import { sendJson, startHelperBroker, type HelperBroker } from '../support/helperBroker.js';

const HELPER = fileURLToPath(new URL('../../bin/sts-broker-credentials', import.meta.url));
const SECRET = 'Qx7'.repeat(15);
const KEY = `sbk_cachek1_${SECRET}`;
const OTHER_ID_KEY = `sbk_cachek2_${SECRET}`;
const WRONG_SECRET_KEY = `sbk_cachek1_${'Wr0'.repeat(15)}`;
const SECRET_ACCESS_KEY = 'cache-secret-access-key-0123456789';
const SESSION_TOKEN = 'cache-session-token-0123456789abcdef';

let broker: HelperBroker;
let base: string;
let dir: string;
let keyFile: string;
let seen: Array<{ path: string; key: string | undefined }>;
/** Milliseconds from now at which the next credentials expire. */
let lifetimeMs: number;
/** How the fake broker answers; by default like the broker, with a fresh AccessKeyId per vend. */
let answer: (req: IncomingMessage, res: ServerResponse) => void;

const json = sendJson;
const vend = (req: IncomingMessage, res: ServerResponse) => {
  if (req.headers['x-api-key'] !== KEY && req.headers['x-api-key'] !== OTHER_ID_KEY) {
    json(res, 401, { error: { code: 'unauthenticated', message: 'unknown or invalid API key', requestId: 'req-401' } });
    return;
  }
  json(res, 200, {
    Version: 1, AccessKeyId: `ASIACACHE${String(seen.length).padStart(8, '0')}`, SecretAccessKey: SECRET_ACCESS_KEY,
    SessionToken: SESSION_TOKEN, Expiration: new Date(Date.now() + lifetimeMs).toISOString(),
  });
};

beforeAll(async () => {
  recordSecrets(KEY, OTHER_ID_KEY, WRONG_SECRET_KEY, SECRET_ACCESS_KEY, SESSION_TOKEN);
  broker = await startHelperBroker('sts-broker-helper-cache-', KEY, (req, res) => {
    seen.push({ path: req.url ?? '', key: req.headers['x-api-key'] as string | undefined });
    answer(req, res);
  });
  ({ base, dir, keyFile } = broker);
});
let cacheHome: string;
let cases = 0;
beforeEach(() => {
  seen = [];
  lifetimeMs = 3600_000;
  answer = vend;
  cases += 1;
  cacheHome = join(dir, `home-${cases}`);
});
afterAll(async () => {
  await broker.close();
});

interface Run { code: number; stdout: string; stderr: string }

/** The helper with only PATH, XDG_CACHE_HOME (this test's) and `env`, as a credential_process runs. */
function helper(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [HELPER, ...args], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', XDG_CACHE_HOME: cacheHome, ...env }, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}
const withKey = (args: string[] = []) => helper(['--url', base, '--key-file', keyFile, ...args]);

function ok(run: Run): { AccessKeyId: string; Expiration: string } {
  expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
  return JSON.parse(run.stdout) as { AccessKeyId: string; Expiration: string };
}
function refused(run: Run, message: string, code = 2) {
  expect({ code: run.code, stdout: run.stdout }).toEqual({ code, stdout: '' });
  expect(run.stderr).toMatch(/^sts-broker-credentials: [^\n]+\n$/);
  expect(run.stderr).toContain(message);
}

const cacheDir = () => join(cacheHome, 'sts-broker');
const entries = (folder = cacheDir()) => readdirSync(folder).filter((f) => f.endsWith('.json'));
const mode = (path: string) => statSync(path).mode & 0o777;

/** Spawning node on a busy 2-core machine can take seconds each. */
const SLOW = 120_000;

describe('the cache: the second run makes no broker request', () => {
  it('two runs, one request, the same credentials; the folder is 0700, the file 0600, and holds neither the key nor any 8 characters of its secret', async () => {
    const first = ok(await withKey());
    const second = ok(await withKey());
    expect(second).toEqual(first);
    expect(seen).toHaveLength(1);

    expect(mode(cacheDir())).toBe(0o700);
    const files = readdirSync(cacheDir());
    expect(files).toHaveLength(1); // no temporary file left behind
    const file = join(cacheDir(), files[0]!);
    expect(mode(file)).toBe(0o600);
    const text = readFileSync(file, 'utf8');
    expect(text).toContain(SESSION_TOKEN); // it is the credentials' cache…
    expect(text).not.toContain(KEY); // …and never the key's
    const windows = Array.from({ length: SECRET.length - 7 }, (_, i) => SECRET.slice(i, i + 8));
    expect(windows.filter((w) => text.includes(w))).toEqual([]);
  }, SLOW);

  it('keyed by URL, API key id and narrowing: each differs is a miss, each repeated is a hit', async () => {
    const otherIdFile = join(dir, 'other-id');
    writeFileSync(otherIdFile, OTHER_ID_KEY, { mode: 0o600 });
    const variants: string[][] = [
      ['--url', base, '--key-file', keyFile],
      ['--url', `${base}/prod`, '--key-file', keyFile],
      ['--url', base, '--key-file', otherIdFile],
      ['--url', base, '--key-file', keyFile, '--actions', 'read'],
      ['--url', base, '--key-file', keyFile, '--prefix', 'reports/'],
      ['--url', base, '--key-file', keyFile, '--duration', '900'],
    ];
    const firsts = [];
    for (const args of variants) firsts.push(ok(await helper(args)).AccessKeyId);
    expect(seen).toHaveLength(variants.length);
    expect(new Set(firsts).size).toBe(variants.length);
    for (const [i, args] of variants.entries()) expect(ok(await helper(args)).AccessKeyId).toBe(firsts[i]);
    expect(seen).toHaveLength(variants.length);
    expect(entries()).toHaveLength(variants.length);
  }, 240_000);

  it('an entry serves only the key that filled it: a wrong secret under the same id asks the broker (and is refused)', async () => {
    ok(await withKey());
    const wrong = join(dir, 'wrong');
    writeFileSync(wrong, WRONG_SECRET_KEY, { mode: 0o600 });
    const run = await helper(['--url', base, '--key-file', wrong]);
    refused(run, 'the broker refused: HTTP 401 unauthenticated', 1);
    expect(seen.map((s) => s.key)).toEqual([KEY, WRONG_SECRET_KEY]);
  }, SLOW);

  it.each([
    ['10 min left, default margin 5 min: hit', 600_000, [], 1],
    ['4 min left, default margin 5 min: miss', 240_000, [], 2],
    ['10 min left, --cache-margin 900: miss', 600_000, ['--cache-margin', '900'], 2],
    ['10 min left, --cache-margin 0: hit', 600_000, ['--cache-margin', '0'], 1],
  ])('expiry minus the margin: %s', async (_label, lifetime, args, requests) => {
    lifetimeMs = lifetime;
    const first = ok(await withKey(args));
    const second = ok(await withKey(args));
    expect(seen).toHaveLength(requests);
    expect(second.AccessKeyId === first.AccessKeyId).toBe(requests === 1);
  }, SLOW);

  it('--no-cache: every run asks the broker and nothing is written', async () => {
    ok(await withKey(['--no-cache']));
    ok(await withKey(['--no-cache']));
    expect(seen).toHaveLength(2);
    expect(existsSync(cacheHome)).toBe(false);
  }, SLOW);

  it('--cache-dir: a folder of your choice, created 0700 with its parents', async () => {
    const custom = join(dir, `custom-${cases}`, 'nested');
    ok(await withKey(['--cache-dir', custom]));
    ok(await withKey(['--cache-dir', custom]));
    expect(seen).toHaveLength(1);
    expect(mode(custom)).toBe(0o700);
    expect(entries(custom)).toHaveLength(1);
    expect(existsSync(cacheHome)).toBe(false);
  }, SLOW);

  it('a damaged entry is a miss and is replaced', async () => {
    ok(await withKey());
    const file = join(cacheDir(), entries()[0]!);
    writeFileSync(file, '{"format":1,', { mode: 0o600 });
    ok(await withKey());
    expect(seen).toHaveLength(2);
    expect(JSON.parse(readFileSync(file, 'utf8')).format).toBe(1);
  }, SLOW);

  it('a key that is not of the form sbk_<id>_<secret> has no id to key an entry by: nothing is cached', async () => {
    answer = (_req, res) => json(res, 200, { Version: 1, AccessKeyId: 'ASIANOID', SecretAccessKey: SECRET_ACCESS_KEY, SessionToken: SESSION_TOKEN, Expiration: new Date(Date.now() + 3600_000).toISOString() });
    ok(await helper(['--url', base], { STS_BROKER_API_KEY: 'legacy-key-without-an-id-0123456789' }));
    ok(await helper(['--url', base], { STS_BROKER_API_KEY: 'legacy-key-without-an-id-0123456789' }));
    expect(seen).toHaveLength(2);
    expect(existsSync(cacheHome)).toBe(false);
  }, SLOW);

  it('--cache-margin and --cache-dir/--no-cache are checked', async () => {
    refused(await withKey(['--cache-margin', '5m']), '--cache-margin must be a whole number of seconds (got "5m")');
    refused(await withKey(['--cache-dir', join(dir, 'x'), '--no-cache']), '--cache-dir and --no-cache contradict each other');
    expect(seen).toHaveLength(0);
  }, SLOW);
});

describe('the cache: written atomically', () => {
  it('a refresh writes a new file and renames it over the entry: the old file (hard-linked aside) is left whole', async () => {
    lifetimeMs = 60_000; // below the margin: every run refreshes
    const first = ok(await withKey());
    const file = join(cacheDir(), entries()[0]!);
    const aside = join(dir, `aside-${cases}`);
    linkSync(file, aside);
    const before = readFileSync(aside, 'utf8');
    const second = ok(await withKey());
    expect(second.AccessKeyId).not.toBe(first.AccessKeyId);
    // an in-place rewrite would have changed the linked file too; a rename leaves it as it was
    expect(readFileSync(aside, 'utf8')).toBe(before);
    expect(statSync(file).ino).not.toBe(statSync(aside).ino);
    expect(JSON.parse(readFileSync(file, 'utf8')).credentials.AccessKeyId).toBe(second.AccessKeyId);
    expect(readdirSync(cacheDir())).toEqual([entries()[0]]);
  }, SLOW);

  it('six runs at once on an empty cache: each prints whole credentials, one whole entry remains, no temporary file', async () => {
    const runs = await Promise.all(Array.from({ length: 6 }, () => withKey()));
    for (const run of runs) ok(run);
    const files = readdirSync(cacheDir());
    expect(files).toHaveLength(1);
    const entry = JSON.parse(readFileSync(join(cacheDir(), files[0]!), 'utf8'));
    expect(runs.map((r) => JSON.parse(r.stdout).AccessKeyId)).toContain(entry.credentials.AccessKeyId);
  }, SLOW);
});

describe('the cache: a folder or file others could reach is refused, with what to do', () => {
  it('a folder with mode 0755: refused (exit 2) before any request', async () => {
    mkdirSync(cacheDir(), { recursive: true, mode: 0o755 });
    chmodSync(cacheDir(), 0o755);
    refused(await withKey(), `refusing the cache folder ${cacheDir()}: its mode is 0755, so other users can reach the credentials in it; run \`chmod 700 ${cacheDir()}\`, or pass --no-cache`);
    expect(seen).toHaveLength(0);
  }, SLOW);

  it('an entry with mode 0644: refused (exit 2)', async () => {
    ok(await withKey());
    const file = join(cacheDir(), entries()[0]!);
    chmodSync(file, 0o644);
    refused(await withKey(), `refusing the cache file ${file}: its mode is 0644`);
    expect(seen).toHaveLength(1);
  }, SLOW);

  it('a folder that is a symbolic link, and an entry that is one: refused', async () => {
    const real = join(dir, `real-${cases}`);
    mkdirSync(real, { mode: 0o700 });
    mkdirSync(cacheHome);
    symlinkSync(real, cacheDir());
    refused(await withKey(), `refusing the cache folder ${cacheDir()}: it is a symbolic link`);

    const folder = join(dir, `links-${cases}`);
    ok(await withKey(['--cache-dir', folder]));
    const file = join(folder, entries(folder)[0]!);
    rmSync(file);
    const planted = join(dir, `planted-${cases}`);
    writeFileSync(planted, '{}', { mode: 0o600 });
    symlinkSync(planted, file);
    refused(await withKey(['--cache-dir', folder]), `refusing the cache file ${file}: it is a symbolic link`);
  }, SLOW);

  // Giving a folder to another user needs root; elsewhere this case cannot be set up.
  (process.getuid?.() === 0 ? it : it.skip)('a folder or an entry owned by another user: refused', async () => {
    mkdirSync(cacheDir(), { recursive: true, mode: 0o700 });
    chownSync(cacheDir(), 65534, 65534);
    refused(await withKey(), `refusing the cache folder ${cacheDir()}: it belongs to user id 65534, not to you (0)`);
    chownSync(cacheDir(), 0, 0);
    ok(await withKey());
    const file = join(cacheDir(), entries()[0]!);
    chownSync(file, 65534, 65534);
    refused(await withKey(), `refusing the cache file ${file}: it belongs to user id 65534`);
  }, SLOW);
});

describe('retries: 503 and 429 honour Retry-After within --timeout', () => {
  /** Answers `status` with these headers `times` times, then like the broker. */
  const failing = (times: number, status: number, headers: Record<string, string>) => (req: IncomingMessage, res: ServerResponse) => {
    if (seen.length <= times) json(res, status, { error: { code: status === 429 ? 'rate_limited' : 'sts_throttled', message: 'later', requestId: `r${seen.length}` } }, headers);
    else vend(req, res);
  };

  it('a 503 with Retry-After: 1, then credentials: printed, two requests', async () => {
    answer = failing(1, 503, { 'retry-after': '1' });
    ok(await withKey(['--no-cache']));
    expect(seen).toHaveLength(2);
  }, SLOW);

  it('a 429 with Retry-After: 0, twice, then credentials: printed, three requests', async () => {
    answer = failing(2, 429, { 'retry-after': '0' });
    ok(await withKey(['--no-cache']));
    expect(seen).toHaveLength(3);
  }, SLOW);

  it('a Retry-After given as an HTTP date a minute ahead is read as such: beyond --timeout 5, so not waited for', async () => {
    answer = failing(9, 429, { 'retry-after': new Date(Date.now() + 60_000).toUTCString() });
    const run = await withKey(['--no-cache', '--timeout', '5']);
    refused(run, 'HTTP 429 rate_limited: later (request id r1); retrying after ', 1);
    expect(run.stderr).toMatch(/retrying after (5\d|60)(\.\d)? s would pass --timeout 5 s \(1 attempt\)/);
    expect(seen).toHaveLength(1);
  }, SLOW);

  it('a Retry-After beyond --timeout is not waited for: the refusal at once, one request', async () => {
    answer = failing(9, 503, { 'retry-after': '30' });
    refused(await withKey(['--no-cache', '--timeout', '5']), 'the broker refused: HTTP 503 sts_throttled: later (request id r1); retrying after 30 s would pass --timeout 5 s (1 attempt)', 1);
    expect(seen).toHaveLength(1);
  }, SLOW);

  it('a broker that keeps answering 503 (Retry-After: 0): five attempts, then the last refusal', async () => {
    answer = failing(99, 503, { 'retry-after': '0' });
    refused(await withKey(['--no-cache']), 'HTTP 503 sts_throttled: later (request id r5); gave up after 5 attempts', 1);
    expect(seen).toHaveLength(5);
  }, SLOW);

  it('other errors are not retried (500, 403)', async () => {
    answer = failing(9, 500, { 'retry-after': '0' });
    refused(await withKey(['--no-cache']), 'HTTP 500 sts_throttled', 1);
    answer = (_req, res) => json(res, 403, { error: { code: 'outside_grant', message: 'no', requestId: 'x' } }, { 'retry-after': '0' });
    refused(await withKey(['--no-cache']), 'HTTP 403 outside_grant', 1);
    expect(seen).toHaveLength(2);
  }, SLOW);

  it('a retried failure is not cached: the next run asks again', async () => {
    answer = failing(9, 503, { 'retry-after': '30' });
    refused(await withKey(['--timeout', '5']), 'HTTP 503', 1);
    answer = vend;
    ok(await withKey());
    expect(seen).toHaveLength(2);
    expect(entries()).toHaveLength(1);
  }, SLOW);
});
