/**
 * `sts-broker-credentials serve`: the loopback container-credentials endpoint, run as a real child
 * process against a loopback imitation of the broker that counts requests. It prints exactly the two
 * lines to export (the token nowhere else), answers only requests with the per-run token and a
 * loopback Host naming its port, serves GET <url>/v1/credentials/container through the same cache
 * as credential_process, is accepted by the JS SDK's container provider, and stops cleanly on
 * SIGINT and SIGTERM.
 */
import { fromHttp } from '@aws-sdk/credential-provider-http';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { recordSecrets } from '../../scripts/lib/logScan.js';
import { sendJson, startHelperBroker, type HelperBroker } from '../support/helperBroker.js';

const HELPER = fileURLToPath(new URL('../../bin/sts-broker-credentials', import.meta.url));
const KEY = `sbk_servek1_${'Vw5'.repeat(15)}`;
const SECRET_ACCESS_KEY = 'serve-secret-access-key-0123456789';
const SESSION_TOKEN = 'serve-session-token-0123456789abcdef';

let broker: HelperBroker;
let base: string;
let dir: string;
let keyFile: string;
let seen: string[];
let lifetimeMs: number;
let answer: (req: IncomingMessage, res: ServerResponse) => void;

const json = sendJson;
/** The broker: process or container format by path, a new AccessKeyId per vend, 401 for another key. */
const vend = (req: IncomingMessage, res: ServerResponse) => {
  if (req.headers['x-api-key'] !== KEY) {
    json(res, 401, { error: { code: 'unauthenticated', message: 'unknown or invalid API key', requestId: 'req-401' } });
    return;
  }
  const base = { AccessKeyId: `ASIASERVE${String(seen.length).padStart(8, '0')}`, SecretAccessKey: SECRET_ACCESS_KEY, Expiration: new Date(Date.now() + lifetimeMs).toISOString() };
  json(res, 200, (req.url ?? '').includes('/v1/credentials/container') ? { ...base, Token: SESSION_TOKEN } : { Version: 1, ...base, SessionToken: SESSION_TOKEN });
};

beforeAll(async () => {
  recordSecrets(KEY, SECRET_ACCESS_KEY, SESSION_TOKEN);
  broker = await startHelperBroker('sts-broker-helper-serve-', KEY, (req, res) => {
    seen.push(req.url ?? '');
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

interface Serving {
  child: ChildProcess;
  url: string;
  port: number;
  token: string;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}
const running: Serving[] = [];
afterEach(() => {
  for (const s of running.splice(0)) if (s.child.exitCode === null) s.child.kill('SIGKILL');
});

const env = () => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', XDG_CACHE_HOME: cacheHome });

/** Starts `serve` and waits for its two export lines (or its exit). */
function startServe(args: string[] = []): Promise<Serving> {
  const child = spawn(process.execPath, [HELPER, 'serve', '--url', base, '--key-file', keyFile, ...args], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const check = () => {
      const url = /^export AWS_CONTAINER_CREDENTIALS_FULL_URI=(\S+)\n/m.exec(out)?.[1];
      const token = /^export AWS_CONTAINER_AUTHORIZATION_TOKEN=(\S+)\n/m.exec(out)?.[1];
      // both streams: the start line on stderr comes first, but through another pipe
      if (url && token && err.includes('serving credentials')) {
        const serving = { child, url, port: Number(new URL(url).port), token, stdout: () => out, stderr: () => err, exited };
        running.push(serving);
        resolve(serving);
      }
    };
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); check(); });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); check(); });
    void exited.then((code) => reject(Object.assign(new Error(`serve exited ${code}: ${err}`), { code, stdout: out, stderr: err })));
  });
}

interface Reply { status: number; body: Record<string, string> }

/** One GET (or `method`) with exactly these headers; Host defaults to the URL's. */
function call(url: string, headers: Record<string, string>, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent: false }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => { text += d.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, string> }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Whether anything accepts connections on 127.0.0.1:port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.on('connect', () => { socket.destroy(); resolve(true); });
    socket.on('error', () => resolve(false));
  });
}

const SLOW = 120_000;

describe('serve: what it prints, and a good request', () => {
  it('prints exactly the two export lines, a 127.0.0.1 URL and a fresh 256-bit token; the token is nowhere on stderr', async () => {
    const a = await startServe();
    expect(a.stdout()).toBe(`export AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:${a.port}/v1/credentials\nexport AWS_CONTAINER_AUTHORIZATION_TOKEN=${a.token}\n`);
    expect(a.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a.stderr()).toContain(`serving credentials from ${base}`);
    expect(a.stderr()).not.toContain(a.token);
    const b = await startServe();
    expect(b.token).not.toBe(a.token);
  }, SLOW);

  it('a GET with the token: the container format from GET <url>/v1/credentials/container; later GETs ask the broker nothing', async () => {
    const s = await startServe(['--actions', 'read,list']);
    const first = await call(s.url, { authorization: s.token });
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ AccessKeyId: expect.stringMatching(/^ASIASERVE/), SecretAccessKey: SECRET_ACCESS_KEY, Token: SESSION_TOKEN, Expiration: expect.any(String) });
    for (const host of [`localhost:${s.port}`, `[::1]:${s.port}`, `127.0.0.1:${s.port}`]) {
      expect(await call(s.url, { authorization: s.token, host })).toEqual(first);
    }
    // one vend, at start (which checks the key before printing anything)
    expect(seen).toEqual(['/v1/credentials/container?actions=read%2Clist']);
  }, SLOW);

  it('the same cache as credential_process: credentials a credential_process run cached are served with no broker request', async () => {
    const run = await new Promise<string>((resolve) => {
      execFile(process.execPath, [HELPER, '--url', base, '--key-file', keyFile], { env: env(), timeout: 30_000 }, (_e, stdout) => resolve(stdout));
    });
    const cached = JSON.parse(run) as { AccessKeyId: string };
    const s = await startServe();
    expect((await call(s.url, { authorization: s.token })).body.AccessKeyId).toBe(cached.AccessKeyId);
    expect(seen).toEqual(['/v1/credentials/process']);
  }, SLOW);

  it('the JS SDK\'s container provider (fromHttp) accepts the printed URL and token', async () => {
    const s = await startServe();
    const credentials = await fromHttp({ awsContainerCredentialsFullUri: s.url, awsContainerAuthorizationToken: s.token, maxRetries: 0 })();
    expect(credentials).toMatchObject({ secretAccessKey: SECRET_ACCESS_KEY, sessionToken: SESSION_TOKEN });
    expect(credentials.expiration!.getTime()).toBeGreaterThan(Date.now());
  }, SLOW);
});

describe('serve: everything else is refused', () => {
  it('no token 401; a wrong token, a token of another length, or "Bearer <token>" 403; and no credentials in any of them', async () => {
    const s = await startServe();
    const refusals = [
      [{}, 401, 'unauthenticated'],
      [{ authorization: 'x'.repeat(s.token.length) }, 403, 'forbidden'],
      [{ authorization: `${s.token}x` }, 403, 'forbidden'],
      [{ authorization: s.token.slice(0, -1) }, 403, 'forbidden'],
      [{ authorization: `Bearer ${s.token}` }, 403, 'forbidden'],
    ] as const;
    for (const [headers, status, code] of refusals) {
      const reply = await call(s.url, headers);
      expect({ status: reply.status, code: reply.body.code }).toEqual({ status, code });
      expect(JSON.stringify(reply.body)).not.toContain(SECRET_ACCESS_KEY);
      expect(JSON.stringify(reply.body)).not.toContain(s.token);
    }
  }, SLOW);

  it('a Host that is not this loopback port (DNS rebinding, another name or port) is refused even with the token', async () => {
    const s = await startServe();
    for (const host of ['evil.example', `evil.example:${s.port}`, `127.0.0.1.nip.io:${s.port}`, `127.0.0.1:${s.port + 1}`, '127.0.0.1', `10.0.0.1:${s.port}`, `localhost:${s.port}@evil.example`, `256.0.0.1:${s.port}`]) {
      const reply = await call(s.url, { authorization: s.token, host });
      expect({ host, status: reply.status, code: reply.body.code }).toEqual({ host, status: 403, code: 'bad_host' });
    }
  }, SLOW);

  it('a request from a web page (Origin) is refused even with the token; other paths 404; other methods 405', async () => {
    const s = await startServe();
    expect((await call(s.url, { authorization: s.token, origin: `http://127.0.0.1:${s.port}` })).status).toBe(403);
    expect((await call(`http://127.0.0.1:${s.port}/`, { authorization: s.token })).status).toBe(404);
    expect((await call(`${s.url}/x`, { authorization: s.token })).status).toBe(404);
    expect((await call(s.url, { authorization: s.token }, 'POST')).status).toBe(405);
    // nothing of this reached the broker beyond the start's vend
    expect(seen).toHaveLength(1);
  }, SLOW);
});

describe('serve: failures and stopping', () => {
  it('a key the broker refuses: exit 1 at start with the refusal, nothing on stdout (no token printed)', async () => {
    answer = (_req, res) => json(res, 401, { error: { code: 'unauthenticated', message: 'unknown or invalid API key', requestId: 'r' } });
    const failure = await startServe().then(() => undefined, (e: { code: number; stdout: string; stderr: string }) => e);
    expect(failure).toMatchObject({ code: 1, stdout: '' });
    expect(failure!.stderr).toContain('the broker refused: HTTP 401 unauthenticated');
    expect(failure!.stderr).not.toContain(KEY);
  }, SLOW);

  it('credentials within the margin are fetched again; a broker failure then is a 502 naming it, without the key', async () => {
    lifetimeMs = 120_000; // below the 5-minute margin: every request asks the broker
    const s = await startServe();
    expect((await call(s.url, { authorization: s.token })).status).toBe(200);
    expect(seen).toHaveLength(2);
    answer = (req, res) => json(res, 403, { error: { code: 'outside_grant', message: `not for ${String(req.headers['x-api-key'])}`, requestId: 'r9' } });
    const reply = await call(s.url, { authorization: s.token });
    expect(reply.status).toBe(502);
    expect(reply.body.message).toBe('the broker refused: HTTP 403 outside_grant: not for [redacted] (request id r9)');
    expect(s.stderr()).toContain('HTTP 403 outside_grant');
    expect(s.stderr()).not.toContain(KEY);
  }, SLOW);

  it('--port: listens on that port; a port in use is exit 1 naming it; --port without serve is a usage error', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as AddressInfo).port;
    try {
      const failure = await startServe(['--port', String(port)]).then(() => undefined, (e: { code: number; stderr: string }) => e);
      expect(failure).toMatchObject({ code: 1 });
      expect(failure!.stderr).toContain(`cannot listen on 127.0.0.1:${port}: EADDRINUSE`);
    } finally {
      await new Promise<void>((resolve) => busy.close(() => resolve()));
    }
    const s = await startServe(['--port', String(port)]);
    expect(s.port).toBe(port);
    const usage = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(process.execPath, [HELPER, '--port', '1'], { env: env(), timeout: 30_000 }, (e, _o, stderr) => resolve({ code: e ? (e.code as number) : 0, stderr }));
    });
    expect(usage).toEqual({ code: 2, stderr: 'sts-broker-credentials: --port is for serve mode only (see --help)\n' });
  }, SLOW);

  it.each(['SIGINT', 'SIGTERM'] as const)('%s: exits 0 and the port is closed', async (signal) => {
    const s = await startServe();
    expect((await call(s.url, { authorization: s.token })).status).toBe(200);
    s.child.kill(signal);
    expect(await s.exited).toBe(0);
    expect(s.stderr()).toContain(`${signal}: stopping`);
    expect(await listening(s.port)).toBe(false);
  }, SLOW);
});
