/**
 * Local-only loopback proxies that let a browser use the local stack the way it uses AWS. Used by
 * `npm start` (scripts/lib/startWorker.ts) and the browser e2e test; never packaged, never deployed
 * (nothing under handlers/ or src/ imports this file). Neither changes or drops anything that is
 * signed: requests go upstream byte for byte, with their query and headers.
 *
 * 1. startS3PreflightShim, in front of the local gateway (Ceph RGW 16.2). A browser sends a CORS
 *    preflight (OPTIONS, no credentials, no Content-Length or Content-Type) to the exact presigned URL
 *    before a PUT. AWS S3 answers a preflight from the bucket's CORS rules alone; RGW 16.2 also checks
 *    the presigned signature in the query, which cannot match an OPTIONS request, and answers
 *    `403 SignatureDoesNotMatch` without CORS headers, so the browser never sends the PUT (fixed
 *    upstream later: ceph#55458). The shim forwards OPTIONS to the same path WITHOUT the query, so the
 *    gateway answers from the bucket's CORS rules as S3 does. Every other request passes through
 *    unchanged, Host header included (the signature covers it: the broker signs for the shim's
 *    address, BROKER_S3_ENDPOINT). docs/local-aws.md, quirks 14 and 16.
 *    For tests it can also hold each part PUT back (`partDelayMs`) before forwarding it, which slows
 *    multipart uploads deterministically, and it records what passed (`log`).
 *
 * 2. startBrokerCorsProxy, in front of serverless-offline. serverless-offline 14 adds CORS headers to
 *    every answer to a request with an Origin (it echoes any origin, with Allow-Credentials: true) and
 *    answers every preflight as allowed; it has no switch to stop that short of `provider.httpApi.cors`,
 *    which would make API Gateway answer preflights itself in production. The broker's own per-client
 *    CORS (src/http/cors.ts) marks every answer it allows with its Access-Control-Expose-Headers value;
 *    the proxy keeps the CORS headers of those answers (they are the broker's: offline's own are
 *    overridden by the handler's) and strips every Access-Control-* header from the rest, plus the
 *    Allow-Credentials the broker never sends. So a page on an unlisted origin is refused locally
 *    exactly as behind API Gateway.
 */
import { createServer, request as httpRequest, Agent, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { corsHeaders } from '../../src/http/cors.js';

export interface ProxyLogEntry {
  method: string;
  /** Path and query as the client sent them. */
  url: string;
  status: number;
  /** When the upstream answer ended (Date.now()). */
  at: number;
}

export interface RunningProxy {
  /** http://127.0.0.1:<port> */
  url: string;
  port: number;
  /** Requests answered so far, oldest first (method, path+query, status). */
  readonly log: ProxyLogEntry[];
  close(): Promise<void>;
}

export interface RunningS3Shim extends RunningProxy {
  /** Each part PUT (a PUT with partNumber in its query) waits this long before going upstream (default 0). */
  partDelayMs: number;
}

interface ProxyOptions {
  upstream: string;
  port?: number;
  /** Where the request goes: its path and query, possibly changed. */
  target?: (req: IncomingMessage) => string;
  /** Response headers, possibly changed. */
  responseHeaders?: (req: IncomingMessage, headers: IncomingHttpHeaders) => IncomingHttpHeaders;
  /** Awaited before the request goes upstream. */
  hold?: (req: IncomingMessage) => Promise<void> | void;
}

async function startProxy(options: ProxyOptions): Promise<RunningProxy & { server: Server }> {
  const up = new URL(options.upstream);
  if (up.protocol !== 'http:') throw new Error(`the local proxy forwards to http only, got ${options.upstream}`);
  const agent = new Agent({ keepAlive: true });
  const log: ProxyLogEntry[] = [];
  const server = createServer((req, res) => void forward(req, res));

  async function forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      await options.hold?.(req);
    } catch {
      res.statusCode = 502;
      res.end();
      return;
    }
    // the client gave up while the request was held (a paused upload, a page reload): nothing to forward
    if (res.destroyed || req.destroyed) return;
    const path = options.target ? options.target(req) : (req.url ?? '/');
    const upstreamReq = httpRequest({
      host: up.hostname, port: up.port || 80, method: req.method, path, agent,
      headers: req.headers, // verbatim, Host included: the signature covers it
    }, (upstreamRes) => {
      const headers = options.responseHeaders ? options.responseHeaders(req, upstreamRes.headers) : upstreamRes.headers;
      res.writeHead(upstreamRes.statusCode ?? 502, headers);
      upstreamRes.pipe(res);
      upstreamRes.once('end', () => log.push({ method: req.method ?? '', url: req.url ?? '', status: upstreamRes.statusCode ?? 0, at: Date.now() }));
    });
    upstreamReq.once('error', (err) => {
      if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`local proxy: upstream ${options.upstream} failed: ${err.message}\n`);
      } else {
        res.destroy(err);
      }
    });
    // the client went away (a cancelled upload, a page reload): cancel the upstream request too
    res.once('close', () => { if (!res.writableFinished) upstreamReq.destroy(); });
    req.pipe(upstreamReq);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => { server.off('error', reject); resolve(); });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    server, url: `http://127.0.0.1:${port}`, port, log,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      agent.destroy();
      server.close(() => resolve());
    }),
  };
}

/** The S3 side: OPTIONS without its query (the gateway's signed-preflight defect), all else verbatim. */
export async function startS3PreflightShim(options: { upstream: string; port?: number; partDelayMs?: number }): Promise<RunningS3Shim> {
  const shim = {} as { partDelayMs: number };
  shim.partDelayMs = options.partDelayMs ?? 0;
  const proxy = await startProxy({
    upstream: options.upstream,
    ...(options.port !== undefined ? { port: options.port } : {}),
    target: (req) => (req.method === 'OPTIONS' ? (req.url ?? '/').split('?')[0]! : (req.url ?? '/')),
    hold: async (req) => {
      if (shim.partDelayMs > 0 && req.method === 'PUT' && /[?&]partNumber=/.test(req.url ?? '')) {
        await new Promise((r) => setTimeout(r, shim.partDelayMs));
      }
    },
  });
  const { server: _server, ...rest } = proxy;
  return Object.assign(shim, rest) as RunningS3Shim;
}

/** The broker's mark on an answer it allows for an origin: its Access-Control-Expose-Headers value. */
export async function brokerCorsMark(): Promise<string> {
  const allowed = await corsHeaders('http://127.0.0.1', { isOriginAllowed: async () => true }, { authenticated: false });
  const mark = allowed['access-control-expose-headers'];
  if (!mark) throw new Error('src/http/cors.ts no longer marks allowed answers with Access-Control-Expose-Headers: update scripts/lib/preflightShim.ts');
  return mark;
}

/** The broker side: serverless-offline's own CORS headers removed, the broker's kept. */
export async function startBrokerCorsProxy(options: { upstream: string; port?: number }): Promise<RunningProxy> {
  const mark = await brokerCorsMark();
  const proxy = await startProxy({
    upstream: options.upstream,
    ...(options.port !== undefined ? { port: options.port } : {}),
    responseHeaders: (_req, headers) => {
      const out: IncomingHttpHeaders = { ...headers };
      delete out['access-control-allow-credentials']; // the broker never sends it; offline always does
      if (out['access-control-expose-headers'] !== mark) {
        for (const name of Object.keys(out)) if (name.startsWith('access-control-')) delete out[name];
      }
      return out;
    },
  });
  const { server: _server, ...rest } = proxy;
  return rest;
}
