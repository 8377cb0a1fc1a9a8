/**
 * Browser uploads in a real browser: Debian's Chromium (installed by scripts/install-browser, driven by
 * playwright-core; never a browser download) loads the demo page (demo/, served by
 * scripts/lib/demoServer.ts) from its own origin and uploads through the client package and through Uppy
 * (Dashboard + @uppy/aws-s3 6 over brokerUppy) to the suite's local S3, via a broker instance of this
 * file's own: serverless-offline on 4380/4382 with a config whose `web` client authenticates with JWTs
 * from a loopback OIDC issuer (scripts/lib/localIssuer.ts) and lists only the demo page's origin.
 *
 * In front of that broker sits the CORS proxy and in front of the gateway the preflight shim, both from
 * scripts/lib/preflightShim.ts, exactly as `npm start` runs them: the broker's own per-client CORS
 * answers (serverless-offline's is removed), and the gateway's signed-preflight defect is avoided
 * without touching what is signed (docs/local-aws.md, quirks 14 and 16). The shim also holds each part PUT
 * back while a test wants an upload slow enough to pause or reload in the middle of it; the tests then
 * wait for events (a part accepted, an element shown), never for an amount of time.
 *
 * Every uploaded object is read back through a presigned GET from the broker and compared byte for byte.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { applyBucketCors } from '../../scripts/lib/bucketCors.js';
import { bundleDemo, startDemoServer, type RunningDemo } from '../../scripts/lib/demoServer.js';
import { jwtClientYaml, startLocalIssuer, type LocalIssuer } from '../../scripts/lib/localIssuer.js';
import { repoRoot, startOffline, writeLocalConfig, type RunningOffline } from '../../scripts/lib/offline.js';
import { startBrokerCorsProxy, startS3PreflightShim, type RunningProxy, type RunningS3Shim } from '../../scripts/lib/preflightShim.js';
import { readStack, type StackState } from './support/stack.js';

/** serverless-offline of this file: not 4340/4342 (npm start), 4350/4352 (the suite), 4360-4372 (startStop). */
const HTTP_PORT = 4380;
const LAMBDA_PORT = 4382;
const MiB = 1024 * 1024;
const SUBJECT = 'browser-e2e';
const SETUP_TIMEOUT_MS = 420_000; // apt-get install chromium on a fresh machine, then esbuild of every handler
const TEST_TIMEOUT_MS = 240_000;
/** How long each part PUT is held while a test pauses or reloads mid-upload. */
const SLOW_PART_MS = 2_000;

const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  // without these the closed network of a CI machine turns Chromium's background fetches into connection storms
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

let stack: StackState;
let work: string;
let issuer: LocalIssuer;
let shim: RunningS3Shim;
let proxy: RunningProxy;
let listed: RunningDemo;
let unlisted: RunningDemo;
let offline: RunningOffline | undefined;
let context: BrowserContext;
let page: Page;
let prefix: string;
const pageErrors: string[] = [];

/** What the tests touch in the page (the root tsconfig has no DOM types; these run in the browser). */
interface PageGlobals {
  document: { getElementById(id: string): { textContent: string | null } | null; querySelectorAll(selector: string): { length: number } };
  demo: { uppy: { pauseAll(): void; resumeAll(): void }; broker: { saved(): unknown[] } };
}

function installBrowser(): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('bash', [join(repoRoot, 'scripts/install-browser')], { timeout: 600_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`scripts/install-browser failed: ${err.message}\n${stdout}\n${stderr}`));
      else resolve();
    });
  });
}

beforeAll(async () => {
  stack = readStack();
  await installBrowser();
  work = mkdtempSync(join(tmpdir(), 'browser-e2e-'));
  prefix = `browser/${stack.runId}/`;
  issuer = await startLocalIssuer({ audience: 'sts-broker-browser-e2e' });
  shim = await startS3PreflightShim({ upstream: stack.endpoint });
  proxy = await startBrokerCorsProxy({ upstream: `http://127.0.0.1:${HTTP_PORT}` });
  const bundle = await bundleDemo();
  const demo = { brokerUrl: proxy.url, s3Url: shim.url, issuer, subject: SUBJECT, multipartThreshold: 8 * MiB, concurrency: 1 };
  listed = await startDemoServer(demo, bundle);
  unlisted = await startDemoServer(demo, bundle);

  const configFile = join(work, 'broker.browser.yaml');
  writeLocalConfig(configFile, {
    region: stack.region,
    partners: [{ name: 'demo', roleArn: stack.aws.PARTNER_ROLE_ARN!, bucket: stack.bucket, prefix, clients: {} }],
    extraClientsYaml: {
      demo: jwtClientYaml('web', issuer, {
        prefix, origins: [listed.url], maxUploadBytes: 64 * MiB, contentTypes: ['application/octet-stream', 'text/plain', 'image/png'], actions: ['read', 'write', 'list'],
      }),
    },
  });
  await applyBucketCors(stack.aws, stack.bucket, [listed.url]);
  offline = await startOffline({
    configFile, localAws: stack.aws, httpPort: HTTP_PORT, lambdaPort: LAMBDA_PORT,
    // presigned URLs and the broker's own S3 calls go through the shim (the signature covers its address)
    extraEnv: { BROKER_S3_ENDPOINT: shim.url },
  });

  context = await chromium.launchPersistentContext(join(work, 'profile'), { executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
  page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await openDemo(page, listed.url);
}, SETUP_TIMEOUT_MS);

afterAll(async () => {
  await context?.close().catch(() => undefined);
  await offline?.stop();
  await Promise.all([listed?.close(), unlisted?.close(), proxy?.close(), shim?.close(), issuer?.close()]);
  if (work) rmSync(work, { recursive: true, force: true });
}, 60_000);

async function openDemo(p: Page, url: string): Promise<void> {
  await p.goto(url);
  await p.waitForFunction((s) => (globalThis as unknown as PageGlobals).document.getElementById('who')?.textContent === s, SUBJECT, { timeout: 30_000 });
}

function file(name: string, size: number): { path: string; bytes: Buffer } {
  const bytes = randomBytes(size);
  const path = join(work, name);
  writeFileSync(path, bytes);
  return { path, bytes };
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** The full keys the page lists as uploaded through `via`, once there are `count`. */
async function uploaded(via: 'client' | 'uppy', count: number): Promise<string[]> {
  const selector = `#done li[data-via="${via}"]`;
  await page.waitForFunction(([s, n]) => (globalThis as unknown as PageGlobals).document.querySelectorAll(s as string).length >= (n as number), [selector, count] as const, { timeout: 180_000 });
  return page.$$eval(selector, (els) => els.map((e) => (e as unknown as { dataset: Record<string, string | undefined> }).dataset.key ?? ''));
}

/** The object's bytes, through a presigned GET the broker signs for the page's own client. */
async function download(fullKey: string): Promise<Buffer> {
  expect(fullKey.startsWith(prefix)).toBe(true);
  const token = await issuer.mint(SUBJECT, 300);
  const res = await fetch(`${proxy.url}/v1/downloads`, {
    method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ key: fullKey.slice(prefix.length) }),
  });
  expect(res.status).toBe(200);
  const { url } = (await res.json()) as { url: string };
  const got = await fetch(url);
  expect(got.status).toBe(200);
  return Buffer.from(await got.arrayBuffer());
}

/** Part PUTs the shim passed upstream, by upload id: `${partNumber}:${status}` in order. */
function partPuts(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const e of shim.log) {
    if (e.method !== 'PUT') continue;
    const q = new URLSearchParams(e.url.split('?')[1] ?? '');
    const id = q.get('uploadId');
    if (!id) continue;
    out.set(id, [...(out.get(id) ?? []), `${q.get('partNumber')}:${e.status}`]);
  }
  return out;
}

/** Waits until some upload not in `known` has had part `n` accepted; returns its upload id. */
async function waitForAcceptedPart(known: Set<string>, n: number): Promise<string> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    for (const [id, puts] of partPuts()) if (!known.has(id) && puts.includes(`${n}:200`)) return id;
    if (Date.now() > deadline) throw new Error(`no new upload had part ${n} accepted; part PUTs so far: ${JSON.stringify([...partPuts()])}; page errors: ${pageErrors.join(' | ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const brokerCalls = (path: string) => proxy.log.filter((e) => e.method === 'POST' && e.url === path && e.status === 200).length;

describe('browser uploads through the demo page (Debian Chromium, headless)', () => {
  test('1 MiB by presigned PUT through the client package and through Uppy, byte-identical', async () => {
    const a = file('one-client.bin', MiB);
    await page.setInputFiles('#file', a.path);
    const [clientKey] = await uploaded('client', 1);
    const b = file('one-uppy.bin', MiB);
    await page.setInputFiles('.uppy-Dashboard-input >> nth=0', b.path);
    const [uppyKey] = await uploaded('uppy', 1);

    expect(clientKey).toMatch(new RegExp(`^${prefix}client/\\d+-one-client\\.bin$`));
    expect(uppyKey).toMatch(new RegExp(`^${prefix}uppy/\\d+-one-uppy\\.bin$`));
    expect(sha(await download(clientKey!))).toBe(sha(a.bytes));
    expect(sha(await download(uppyKey!))).toBe(sha(b.bytes));
    // one PUT each, straight to the bucket (through the shim); the preflights went without their query
    const objectPuts = shim.log.filter((e) => e.method === 'PUT' && !e.url.includes('uploadId='));
    expect(objectPuts.map((e) => e.status)).toEqual([200, 200]);
    const preflights = shim.log.filter((e) => e.method === 'OPTIONS');
    expect(preflights.length).toBeGreaterThanOrEqual(1);
    expect(preflights.every((e) => e.status === 200)).toBe(true);
    expect(pageErrors).toEqual([]);
  }, TEST_TIMEOUT_MS);

  test('20 MiB multipart through the client package: the page reloads mid-upload and resumes from the broker\'s part listing', async () => {
    const known = new Set(partPuts().keys());
    const big = file('twenty-client.bin', 20 * MiB);
    shim.partDelayMs = SLOW_PART_MS;
    await page.setInputFiles('#file', big.path);
    const uploadId = await waitForAcceptedPart(known, 1);
    const listsBefore = brokerCalls('/v1/uploads/multipart/list');

    await openDemo(page, listed.url); // a reload: the upload in flight is gone with the page
    await expect(page.textContent('#status')).resolves.toContain('1 unfinished upload(s)');
    shim.partDelayMs = 0;
    await page.setInputFiles('#file', big.path);
    const keys = await uploaded('client', 1);
    expect(keys[0]).toMatch(new RegExp(`^${prefix}client/\\d+-twenty-client\\.bin$`));

    expect(brokerCalls('/v1/uploads/multipart/list')).toBe(listsBefore + 1);
    const puts = partPuts().get(uploadId)!;
    // part 1 was accepted before the reload and never sent again; 8 + 8 + 4 MiB in all
    expect(puts.filter((p) => p === '1:200')).toHaveLength(1);
    expect([...new Set(puts.filter((p) => p.endsWith(':200')))].sort()).toEqual(['1:200', '2:200', '3:200']);
    expect(sha(await download(keys[0]!))).toBe(sha(big.bytes));
  }, TEST_TIMEOUT_MS);

  test('20 MiB multipart through Uppy: paused and resumed, then reloaded mid-upload and resumed from the part listing', async () => {
    const known = new Set(partPuts().keys());
    const big = file('twenty-uppy.bin', 20 * MiB);
    shim.partDelayMs = SLOW_PART_MS;
    await page.setInputFiles('.uppy-Dashboard-input >> nth=0', big.path);
    const uploadId = await waitForAcceptedPart(known, 1);

    // pause (Uppy cancels the part in flight), then resume: Uppy asks for the part list and goes on
    await page.evaluate(() => (globalThis as unknown as PageGlobals).demo.uppy.pauseAll());
    const listsAtPause = brokerCalls('/v1/uploads/multipart/list');
    await page.evaluate(() => (globalThis as unknown as PageGlobals).demo.uppy.resumeAll());
    expect(await waitForAcceptedPart(known, 2)).toBe(uploadId);
    expect(brokerCalls('/v1/uploads/multipart/list')).toBeGreaterThan(listsAtPause);

    // reload with part 3 in flight: the new page's adapter restores the upload from its storage
    await openDemo(page, listed.url);
    shim.partDelayMs = 0;
    await page.setInputFiles('.uppy-Dashboard-input >> nth=0', big.path);
    await expect(page.textContent('#uppy-status')).resolves.toContain('resuming twenty-uppy.bin');
    const keys = await uploaded('uppy', 1);
    expect(keys[0]).toMatch(new RegExp(`^${prefix}uppy/\\d+-twenty-uppy\\.bin$`));

    const puts = partPuts().get(uploadId)!;
    expect(puts.filter((p) => p === '1:200')).toHaveLength(1);
    expect(puts.filter((p) => p === '2:200')).toHaveLength(1);
    expect([...new Set(puts.filter((p) => p.endsWith(':200')))].sort()).toEqual(['1:200', '2:200', '3:200']);
    expect(sha(await download(keys[0]!))).toBe(sha(big.bytes));
    // the adapter forgot the completed upload
    await expect(page.evaluate(() => (globalThis as unknown as PageGlobals).demo.broker.saved().length)).resolves.toBe(0);
  }, TEST_TIMEOUT_MS);

  test('a page on an unlisted origin is refused by the broker\'s CORS; the listed origin is answered', async () => {
    const token = await issuer.mint(SUBJECT, 300);
    const call = (p: Page) => p.evaluate(async ([url, t]) => {
      try {
        const res = await fetch(`${url}/v1/whoami`, { headers: { authorization: `Bearer ${t}` } });
        return `status ${res.status}`;
      } catch (e) {
        return `${(e as Error).name}`;
      }
    }, [proxy.url, token] as const);
    expect(await call(page)).toBe('status 200');
    const other = await context.newPage();
    try {
      await openDemo(other, unlisted.url);
      expect(await call(other)).toBe('TypeError');
    } finally {
      await other.close();
    }
    // the same, as the broker answers a preflight: allowed for the listed origin only
    const preflight = (origin: string) => fetch(`${proxy.url}/v1/uploads`, {
      method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });
    const ok = await preflight(listed.url);
    expect(ok.headers.get('access-control-allow-origin')).toBe(listed.url);
    expect(ok.headers.get('access-control-allow-credentials')).toBeNull();
    const refused = await preflight(unlisted.url);
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
    expect([...refused.headers.keys()].filter((h) => h.startsWith('access-control-'))).toEqual([]);
  }, TEST_TIMEOUT_MS);

  // the README's screenshot: `STS_BROKER_SCREENSHOT=docs/img/demo.png` with this file
  test('the demo page renders (and is photographed on request)', async () => {
    await openDemo(page, listed.url);
    await expect(page.locator('.uppy-Dashboard').count()).resolves.toBeGreaterThan(0);
    const out = process.env.STS_BROKER_SCREENSHOT;
    if (out) {
      await page.setViewportSize({ width: 1100, height: 640 });
      await page.screenshot({ path: join(repoRoot, out), fullPage: false });
    }
  }, TEST_TIMEOUT_MS);
});
