/**
 * Timing and the in-process Lambda stand-in: clock, interleaved batches, nearest-rank percentiles,
 * a seeded PRNG, the log sink, and the API Gateway events and Lambda context the handlers get.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { performance } from 'node:perf_hooks';
import type { HttpResponse } from '../../src/http/responses.js';
import { apiEvent } from '../lib/apiEvent.js';
import { PRESIGN_EXPIRES_IN, UPLOAD_BYTES, UPLOAD_TYPE } from './settings.js';

export const now = (): number => performance.now();
const sorted = (xs: readonly number[]): number[] => [...xs].sort((a, b) => a - b);
/** Nearest-rank percentile of `xs` (p in 0..100). */
export function pct(xs: readonly number[], p: number): number {
  const s = sorted(xs);
  if (s.length === 0) throw new Error('percentile of no samples');
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}
export const median = (xs: readonly number[]): number => pct(xs, 50);

/** A seeded PRNG (mulberry32), so the simulation is the same on every run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Times `a` and `b` in interleaved batches (a b, b a, a b, …) so drift (JIT, GC, a noisy neighbour)
 * lands on both sides. Each call gets a running index.
 */
export async function interleaved(batches: number, size: number, a: (i: number) => Promise<unknown>, b: (i: number) => Promise<unknown>): Promise<{ a: number[]; b: number[] }> {
  const times = { a: [] as number[], b: [] as number[] };
  let ia = 0;
  let ib = 0;
  const runA = async () => { for (let k = 0; k < size; k += 1) { const t = now(); await a(ia++); times.a.push(now() - t); } };
  const runB = async () => { for (let k = 0; k < size; k += 1) { const t = now(); await b(ib++); times.b.push(now() - t); } };
  for (let batch = 0; batch < batches; batch += 1) {
    if (batch % 2 === 0) { await runA(); await runB(); } else { await runB(); await runA(); }
  }
  return times;
}

/**
 * While measuring, the broker's log lines (Powertools writes JSON to process.stdout) go to a sink
 * that counts them: the logger still builds and serialises every line, nothing reaches the terminal.
 */
export class LogSink {
  lines = 0;
  bytes = 0;
  private original: typeof process.stdout.write | undefined;

  async around<T>(fn: () => Promise<T>): Promise<T> {
    this.original = process.stdout.write;
    process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      this.bytes += text.length;
      for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) this.lines += 1;
      const callback = rest.find((r): r is () => void => typeof r === 'function');
      if (callback) queueMicrotask(callback);
      return true;
    }) as typeof process.stdout.write;
    try {
      return await fn();
    } finally {
      process.stdout.write = this.original;
    }
  }
}

/** An API Gateway HTTP API (payload v2) event from the benchmark (apiId and user agent `bench`). */
export function benchEvent(method: 'GET' | 'POST' | 'OPTIONS', path: string, headers: Record<string, string>, body?: unknown): APIGatewayProxyEventV2 {
  return apiEvent({ method, path, headers, body, apiId: 'bench', userAgent: 'bench' });
}

export const lambdaContext = {
  callbackWaitsForEmptyEventLoop: false, functionName: 'bench', functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:bench', memoryLimitInMB: '512',
  awsRequestId: 'bench', logGroupName: 'bench', logStreamName: 'bench', getRemainingTimeInMillis: () => 10_000,
  done: () => undefined, fail: () => undefined, succeed: () => undefined,
};

export type Handler = (event: APIGatewayProxyEventV2, context: typeof lambdaContext) => Promise<HttpResponse>;

export function expectOk(res: HttpResponse, what: string): HttpResponse {
  if (res.statusCode !== 200) throw new Error(`${what} answered ${res.statusCode}: ${res.body ?? ''}`);
  return res;
}

/** POST /v1/uploads for a PUT URL, authorised by `token`; `n` makes the key distinct. */
export const uploadEvent = (token: string, n: number): APIGatewayProxyEventV2 => benchEvent('POST', '/v1/uploads', { authorization: `Bearer ${token}` }, {
  method: 'PUT', key: `bench/${n}.jpg`, contentType: UPLOAD_TYPE, contentLength: UPLOAD_BYTES, expiresIn: PRESIGN_EXPIRES_IN,
});
