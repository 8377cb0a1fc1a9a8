/**
 * Section 5: single-process throughput of the presign handler, one request at a time (as a Lambda
 * container serves them): requests per second, p50 and p99.
 */
import { expectOk, lambdaContext, LogSink, median, now, pct, uploadEvent, type Handler } from './harness.js';
import type { Bench } from './setup.js';
import type { Runs } from './settings.js';

export interface ThroughputResult { rps: number; p50: number; p99: number; requests: number }

export async function presignThroughput(bench: Bench, handler: Handler, runs: Runs): Promise<ThroughputResult> {
  const tokens = await bench.idp.mint(runs.rpsWarmup + runs.rpsRequests);
  const events = tokens.map((t, n) => uploadEvent(t, n));
  const sink = new LogSink();
  return sink.around(async () => {
    for (let i = 0; i < runs.rpsWarmup; i += 1) expectOk(await handler(events[i]!, lambdaContext), 'POST /v1/uploads');
    const latencies: number[] = [];
    const start = now();
    for (let i = runs.rpsWarmup; i < events.length; i += 1) {
      const t = now();
      expectOk(await handler(events[i]!, lambdaContext), 'POST /v1/uploads');
      latencies.push(now() - t);
    }
    const elapsed = now() - start;
    return { rps: (latencies.length / elapsed) * 1000, p50: median(latencies), p99: pct(latencies, 99), requests: latencies.length };
  });
}
