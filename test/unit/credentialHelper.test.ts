/**
 * bin/sts-broker-credentials, run as the AWS CLI runs a credential_process (a child process; stdout
 * is the credentials, anything else a failure), against a loopback server that imitates the broker:
 * its configuration sources, the request it sends, and a clear stderr line and a non-zero exit for
 * every failure, never with the API key in it.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { recordSecrets } from '../../scripts/lib/logScan.js';
import { serve } from '../support/loopbackServer.js';

const HELPER = fileURLToPath(new URL('../../bin/sts-broker-credentials', import.meta.url));
const KEY = `sbk_helperk1_${'Zk9'.repeat(15)}`;
const CREDENTIALS = {
  Version: 1,
  AccessKeyId: 'ASIAHELPEREXAMPLE',
  SecretAccessKey: 'helper-secret-access-key-0123456789',
  SessionToken: 'helper-session-token-0123456789abcdef',
  Expiration: '2030-01-01T00:15:00.000Z',
};

let server: Server;
let base: string;
let dir: string;
let keyFile: string;
let seen: Array<{ path: string; headers: IncomingMessage['headers'] }>;
/** How the fake broker answers the next requests. */
let answer: (req: IncomingMessage, res: ServerResponse) => void;

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
};
/** Like the broker: the process-format credentials for the right key, 401 in the one error shape otherwise. */
const brokerLike = (req: IncomingMessage, res: ServerResponse) => {
  if (req.headers['x-api-key'] !== KEY) {
    json(res, 401, { error: { code: 'unauthenticated', message: 'missing, malformed or unknown credentials', requestId: 'req-401' } });
    return;
  }
  json(res, 200, CREDENTIALS);
};

beforeAll(async () => {
  // the end-of-run log check (scripts/check-logs.ts) proves none of these reached a log
  recordSecrets(KEY, CREDENTIALS.SecretAccessKey, CREDENTIALS.SessionToken);
  server = createServer((req, res) => {
    seen.push({ path: req.url ?? '', headers: req.headers });
    answer(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  dir = mkdtempSync(join(tmpdir(), 'sts-broker-helper-'));
  keyFile = join(dir, 'key');
  writeFileSync(keyFile, `${KEY}\n`, { mode: 0o600 });
});
beforeEach(() => {
  seen = [];
  answer = brokerLike;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

interface Run { code: number; stdout: string; stderr: string }

let runs = 0;
/**
 * Runs the helper with only these variables (plus PATH), as a credential_process would, each run
 * with an empty cache folder of its own (XDG_CACHE_HOME) so that every run asks the broker: the
 * cache itself is tested in credentialHelperCache.test.ts.
 */
function helper(args: string[], env: Record<string, string> = {}): Promise<Run> {
  runs += 1;
  const cacheHome = join(dir, `cache-${runs}`);
  return new Promise((resolve) => {
    execFile(process.execPath, [HELPER, ...args], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', XDG_CACHE_HOME: cacheHome, ...env }, timeout: 20_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

/** Every run of 8 characters of the key: none may ever be printed. */
const KEY_WINDOWS = Array.from({ length: KEY.length - 7 }, (_, i) => KEY.slice(i, i + 8));
/** C0 but the final newline, DEL, C1, and the bidirectional controls. */
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/;

function expectNoKeyFragment(text: string) {
  expect(KEY_WINDOWS.filter((w) => text.includes(w))).toEqual([]);
}

/** A failure: non-zero exit, nothing on stdout, one line on stderr containing `message`, and never the key or a fragment of it. */
function expectFailure(run: Run, message: string, code = 1) {
  expect({ code: run.code, stdout: run.stdout }).toEqual({ code, stdout: '' });
  expect(run.stderr).toMatch(/^sts-broker-credentials: [^\n]+\n$/);
  expect(run.stderr).toContain(message);
  expect(run.stderr).not.toContain(KEY);
  expectNoKeyFragment(run.stderr);
  expect(run.stderr.slice(0, -1)).not.toMatch(CONTROL);
}

/** Spawning node on a busy 2-core machine can take seconds: above the unit project's 5 s default. */
const SLOW = 60_000;

describe('sts-broker-credentials: success', () => {
  it('STS_BROKER_URL + STS_BROKER_API_KEY: GETs /v1/credentials/process with X-Api-Key and prints the credential_process JSON', async () => {
    const run = await helper([], { STS_BROKER_URL: base, STS_BROKER_API_KEY: KEY });
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(run.stdout)).toEqual(CREDENTIALS);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.path).toBe('/v1/credentials/process');
    expect(seen[0]!.headers['x-api-key']).toBe(KEY);
    expect(seen[0]!.headers.authorization).toBeUndefined();
  });

  it('--url, --key-file (trailing newline trimmed) and the narrowing flags become the query string', async () => {
    const run = await helper(['--url', base, '--key-file', keyFile, '--actions', 'read,list', '--prefix', 'reports/2026/', '--duration', '900']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual(CREDENTIALS);
    expect(seen[0]!.path).toBe('/v1/credentials/process?actions=read%2Clist&prefix=reports%2F2026%2F&durationSeconds=900');
  });

  it('STS_BROKER_API_KEY_FILE, and --flag=value syntax', async () => {
    const run = await helper([`--url=${base}`, '--duration=1800'], { STS_BROKER_API_KEY_FILE: keyFile });
    expect(run.code).toBe(0);
    expect(seen[0]!.path).toBe('/v1/credentials/process?durationSeconds=1800');
  });

  it('keeps a base path (an API stage) and ignores a trailing slash', async () => {
    const run = await helper(['--url', `${base}/prod/`, '--key-file', keyFile]);
    expect(run.code).toBe(0);
    expect(seen[0]!.path).toBe('/prod/v1/credentials/process');
  });

  it('prints only the credential_process fields', async () => {
    answer = (_req, res) => json(res, 200, { ...CREDENTIALS, Extra: 'x' });
    const run = await helper(['--url', base, '--key-file', keyFile]);
    expect(JSON.parse(run.stdout)).toEqual(CREDENTIALS);
  });

  it('--help prints the usage and exits 0 without calling the broker', async () => {
    const run = await helper(['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Usage: sts-broker-credentials');
    for (const option of ['--url URL', '--key-file PATH', '--actions LIST', '--prefix PREFIX', '--duration SECONDS', '--timeout SECONDS', '--cache-dir DIR', '--no-cache', '--cache-margin SECONDS', '--port PORT', 'serve', '-h, --help']) {
      expect(run.stdout).toContain(option);
    }
    expect(seen).toHaveLength(0);
    expect((await helper(['-h'])).stdout).toBe(run.stdout);
  }, SLOW);
});

describe('sts-broker-credentials: every failure is a clear stderr line and a non-zero exit', () => {
  it('the broker\'s refusal: status, code, message and request id', async () => {
    const run = await helper(['--url', base], { STS_BROKER_API_KEY: `sbk_helperk1_${'x'.repeat(45)}` });
    expectFailure(run, 'the broker refused: HTTP 401 unauthenticated: missing, malformed or unknown credentials (request id req-401)');
  });

  it('a 403 outside the grant', async () => {
    answer = (_req, res) => json(res, 403, { error: { code: 'outside_grant', message: 'action outside the grant: delete (granted: read, list)', requestId: 'r2' } });
    expectFailure(await helper(['--url', base, '--key-file', keyFile, '--actions', 'delete']), 'HTTP 403 outside_grant: action outside the grant: delete');
  });

  it('API Gateway\'s own bodies (throttling, no Retry-After): retried after 0.5 s, then the 1 s wait would pass --timeout 1', async () => {
    answer = (_req, res) => json(res, 429, { message: 'Too Many Requests' });
    const run = await helper(['--url', base, '--key-file', keyFile, '--timeout', '1']);
    expectFailure(run, 'the broker answered HTTP 429: Too Many Requests; retrying after 1 s would pass --timeout 1 s (2 attempts)');
    expect(seen).toHaveLength(2);
  }, SLOW);

  it('a 5xx without a JSON body', async () => {
    answer = (_req, res) => { res.writeHead(502, { 'content-type': 'text/html' }); res.end('<html>Bad Gateway</html>'); };
    expectFailure(await helper(['--url', base, '--key-file', keyFile]), 'the broker answered HTTP 502: <html>Bad Gateway</html>');
  });

  it('a refusal that echoes the key is redacted', async () => {
    answer = (req, res) => json(res, 400, { error: { code: 'invalid_request', message: `bad ${String(req.headers['x-api-key'])}`, requestId: 'r3' } });
    const run = await helper(['--url', base, '--key-file', keyFile]);
    expectFailure(run, 'HTTP 400 invalid_request: bad [redacted]');
  });

  it.each([
    ['not JSON', (res: ServerResponse) => { res.writeHead(200); res.end('<html>'); }, 'the broker\'s answer is not valid JSON'],
    ['JSON without a SessionToken', (res: ServerResponse) => json(res, 200, { ...CREDENTIALS, SessionToken: undefined }), 'not in the credential_process format (missing SessionToken)'],
    ['the wrong Version', (res: ServerResponse) => json(res, 200, { ...CREDENTIALS, Version: 2 }), 'not in the credential_process format (Version is not 1)'],
    ['an unreadable Expiration', (res: ServerResponse) => json(res, 200, { ...CREDENTIALS, Expiration: 'soon' }), 'not in the credential_process format (missing a valid Expiration)'],
  ])('an unusable 200: %s', async (_label, respond, message) => {
    answer = (_req, res) => respond(res);
    expectFailure(await helper(['--url', base, '--key-file', keyFile]), message);
  });

  it('nothing listening', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    expectFailure(await helper(['--url', `http://127.0.0.1:${port}`, '--key-file', keyFile]), `could not reach the broker at http://127.0.0.1:${port}: ECONNREFUSED`);
  });

  it('a broker that never answers, within --timeout', async () => {
    answer = () => { /* silence */ };
    const started = Date.now();
    const run = await helper(['--url', base, '--key-file', keyFile, '--timeout', '0.5']);
    expectFailure(run, `no answer from the broker at ${base} within 0.5 s`);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it.each([
    ['no URL', [], { STS_BROKER_API_KEY: KEY }, 'no broker URL: pass --url or set STS_BROKER_URL'],
    ['no key', ['--url', 'https://broker.example'], {}, 'no API key: pass --key-file, or set STS_BROKER_API_KEY_FILE or STS_BROKER_API_KEY'],
    ['both key variables', ['--url', 'https://broker.example'], { STS_BROKER_API_KEY: KEY, STS_BROKER_API_KEY_FILE: '/x' }, 'both STS_BROKER_API_KEY and STS_BROKER_API_KEY_FILE are set'],
    ['a missing key file', ['--url', 'https://broker.example', '--key-file', '/nonexistent/key'], {}, 'cannot read the API key file /nonexistent/key: ENOENT'],
    ['plain http off loopback', ['--url', 'http://broker.example', '--key-file', '/x'], {}, 'refusing to send the API key to http://broker.example: use https'],
    ['credentials in the URL', ['--url', 'https://u:p@broker.example', '--key-file', '/x'], {}, 'must not carry credentials, a query or a fragment'],
    ['an invalid URL', ['--url', 'broker'], {}, 'the broker URL is not a valid URL: "broker"'],
    ['an unknown flag', ['--key', KEY], {}, 'unknown argument "--key" (see --help)'],
    ['an unknown flag with its value attached', [`--key=${KEY}`], {}, 'unknown argument "--key" (see --help)'],
    ['a stray argument (never echoed: it may be a key)', [KEY], {}, 'unexpected argument: this helper takes only --options'],
    ['a flag followed by another flag', ['--url', '--key-file', '/x'], {}, '--url needs a value'],
    ['a flag without its value', ['--url'], {}, '--url needs a value'],
    ['a non-numeric duration', ['--url', 'https://broker.example', '--duration', '15m'], { STS_BROKER_API_KEY: KEY }, '--duration must be a whole number of seconds (got "15m")'],
  ])('configuration: %s (exit 2, no request)', async (_label, args, env, message) => {
    expectFailure(await helper(args, env), message, 2);
    expect(seen).toHaveLength(0);
  });

  it('an empty or multi-line key file', async () => {
    const empty = join(dir, 'empty');
    writeFileSync(empty, '\n');
    expectFailure(await helper(['--url', base, '--key-file', empty]), `the API key file ${empty} is empty`, 2);
    const twoLines = join(dir, 'two');
    writeFileSync(twoLines, `${KEY}\nsecond line\n`);
    expectFailure(await helper(['--url', base, '--key-file', twoLines]), 'does not hold a single-line API key', 2);
    expect(seen).toHaveLength(0);
  });
});

describe('sts-broker-credentials: the key goes to the configured broker only', () => {
  it.each([
    ['//host', (evil: string) => `//${evil}`],
    ['/\\host', (evil: string) => `/\\${evil}`],
    ['/prod//host', (evil: string) => `/prod//${evil}`],
  ])('a base path of the %s form does not become another host', async (_form, path) => {
    const evil = await serve((_req, res) => { res.writeHead(200, { 'content-type': 'application/json' }); res.end(JSON.stringify(CREDENTIALS)); });
    try {
      const evilHost = new URL(evil.url).host;
      const run = await helper(['--url', `${base}${path(evilHost)}`, '--key-file', keyFile]);
      expect(evil.requests()).toBe(0);
      // it went to the configured origin, the odd path kept as a path
      expect(run.code).toBe(0);
      expect(seen).toHaveLength(1);
      expect(seen[0]!.path).toBe(`${path(evilHost).replace('\\', '/')}/v1/credentials/process`);
    } finally {
      await evil.close();
    }
  }, SLOW);

  it('uses the broker\'s one loopback rule (src/rules/loopback.js), not a copy of its own', () => {
    const source = readFileSync(HELPER, 'utf8');
    expect(source).toContain("import { isLoopbackHost } from '../src/rules/loopback.js';");
    expect(source).not.toMatch(/function isLoopback\b/);
  });
});

describe('sts-broker-credentials: nothing the broker says can leak the key or drive the terminal', () => {
  it('a non-JSON page that echoes the key past the old 200-character cut: redacted before it is cut, and only a short excerpt', async () => {
    answer = (req, res) => { res.writeHead(502, { 'content-type': 'text/html' }); res.end(`<html>${'x'.repeat(164)}${String(req.headers['x-api-key'])}</html>`); };
    const run = await helper(['--url', base, '--key-file', keyFile]);
    expectFailure(run, 'the broker answered HTTP 502: <html>xxx');
    expect(run.stderr.length).toBeLessThan(200);
  }, SLOW);

  it('fragments of the key (8 characters or more) are redacted wherever they appear', async () => {
    answer = (req, res) => {
      const key = String(req.headers['x-api-key']);
      json(res, 400, { error: { code: 'invalid_request', message: `got ${key.slice(20, 28)} and ${key.slice(30)}`, requestId: key.slice(5, 40) } });
    };
    const run = await helper(['--url', base, '--key-file', keyFile]);
    expectFailure(run, 'HTTP 400 invalid_request: got [redacted] and [redacted] (request id [redacted])');
  }, SLOW);

  it('escape sequences, C1 and bidi controls in the broker\'s message are stripped', async () => {
    answer = (_req, res) => json(res, 403, { error: { code: 'outside_grant\u001b[2J', message: 'a \u001b[31mred\u001b[0m \u202eevil\u202c \u009b2J \u0007bell\nnext line', requestId: 'r\u2066x' } });
    const run = await helper(['--url', base, '--key-file', keyFile]);
    expectFailure(run, 'HTTP 403 outside_grant[2J: a [31mred[0m evil 2J bell next line (request id rx)');
  }, SLOW);

  it('property: any refusal embedding random slices of the key, in any form, prints no fragment of it and no control character', async () => {
    const slice = fc.tuple(fc.nat({ max: KEY.length - 8 }), fc.integer({ min: 8, max: KEY.length })).map(([start, len]) => KEY.slice(start, start + len));
    const noise = fc.oneof(
      fc.string({ unit: 'binary-ascii', maxLength: 120 }),
      fc.string({ unit: 'grapheme', maxLength: 40 }),
      fc.constantFrom('\u001b[31m', '\u202e', '\u009b', '\r\n', '\u0000', ' '.repeat(300), 'x'.repeat(190)),
    );
    const body = fc.array(fc.oneof(slice, noise), { minLength: 1, maxLength: 8 }).map((parts) => parts.join(''));
    const form = fc.constantFrom('text', 'broker-error', 'gateway-message');
    await fc.assert(fc.asyncProperty(body, form, fc.constantFrom(400, 403, 429, 500, 502), async (text, shape, status) => {
      answer = (_req, res) => {
        // a 429 asks for a retry far beyond --timeout, so it fails at once (retries: credentialHelperCache.test.ts)
        if (status === 429) res.setHeader('retry-after', '3600');
        if (shape === 'text') {
          res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
          res.end(text);
        } else {
          json(res, status, shape === 'broker-error' ? { error: { code: 'x', message: text, requestId: text.slice(0, 50) } } : { message: text });
        }
      };
      const run = await helper(['--url', base, '--key-file', keyFile]);
      expectFailure(run, `HTTP ${status}`);
      expect(run.stderr.length).toBeLessThan(800);
    }), { numRuns: 25 });
  }, 180_000);
});
