/**
 * Serves the demo page (demo/index.html, demo/main.ts bundled here with esbuild, in memory) on
 * 127.0.0.1 for `npm start` and the browser e2e test; never deployed. Routes:
 *   GET /             the page
 *   GET /demo.js, /demo.css   the bundle (the client package from clients/js/src, Uppy)
 *   GET /config.json  the broker URL and the page's settings
 *   GET /token        a fresh token from the loopback OIDC issuer (scripts/lib/localIssuer.ts) for `subject`
 * The page's Content-Security-Policy lets it talk to its own origin, the broker and the bucket (the S3
 * shim), and read `data:` URLs (brokerUppy answers Uppy's multipart control requests that way).
 */
import { build } from 'esbuild';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { LocalIssuer } from './localIssuer.js';

const DEMO_DIR = fileURLToPath(new URL('../../demo/', import.meta.url));

export interface DemoServerOptions {
  brokerUrl: string;
  /** Where presigned URLs point (the S3 shim), for the page's connect-src. */
  s3Url: string;
  issuer: LocalIssuer;
  subject: string;
  port?: number;
  /** Files above this go multipart (default 16 MiB). */
  multipartThreshold?: number;
  /** Part PUTs in flight for the client package's multipart uploads (default 4). */
  concurrency?: number;
}

export interface DemoBundle { js: string; css: string }

/** demo/main.ts bundled for the browser (ESM, minified), with Uppy's CSS. */
export async function bundleDemo(): Promise<DemoBundle> {
  const result = await build({
    entryPoints: [`${DEMO_DIR}main.ts`],
    bundle: true, format: 'esm', platform: 'browser', target: 'es2022', minify: true,
    write: false, outdir: '/demo-out', logLevel: 'silent', legalComments: 'none',
  });
  const js = result.outputFiles.find((f) => f.path.endsWith('.js'))?.text;
  const css = result.outputFiles.find((f) => f.path.endsWith('.css'))?.text ?? '';
  if (!js) throw new Error('esbuild produced no JavaScript for demo/main.ts');
  return { js, css };
}

export interface RunningDemo { url: string; port: number; close(): Promise<void> }

export async function startDemoServer(options: DemoServerOptions, bundle?: DemoBundle): Promise<RunningDemo> {
  const { js, css } = bundle ?? await bundleDemo();
  const html = readFileSync(`${DEMO_DIR}index.html`, 'utf8');
  const config = JSON.stringify({
    brokerUrl: options.brokerUrl,
    multipartThreshold: options.multipartThreshold ?? 16 * 1024 * 1024,
    concurrency: options.concurrency ?? 4,
  });
  const csp = [
    "default-src 'self'",
    `connect-src 'self' ${options.brokerUrl} ${options.s3Url} data:`,
    "img-src 'self' data: blob:",
    "style-src 'self' 'unsafe-inline'",
    "script-src 'self'",
  ].join('; ');
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, type: string, body: string, extra: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...extra });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain', 'GET only\n');
    if (path === '/' || path === '/index.html') return send(200, 'text/html; charset=utf-8', html, { 'content-security-policy': csp });
    if (path === '/demo.js') return send(200, 'text/javascript; charset=utf-8', js);
    if (path === '/demo.css') return send(200, 'text/css; charset=utf-8', css);
    if (path === '/config.json') return send(200, 'application/json', config);
    if (path === '/token') {
      void options.issuer.mint(options.subject, 900).then(
        (token) => send(200, 'application/json', JSON.stringify({ token, subject: options.subject, expiresIn: 900 })),
        (err: Error) => send(500, 'text/plain', `cannot mint a token: ${err.message}\n`),
      );
      return;
    }
    return send(404, 'text/plain', 'not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => { server.off('error', reject); resolve(); });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`, port,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
