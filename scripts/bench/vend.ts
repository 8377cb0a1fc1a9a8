/**
 * Section 3: POST /v1/credentials through the handler vs the same AssumeRoleCommand input replayed
 * on the same warm STSClient, both against the local STS. Goal ≤ 1.1×.
 */
import { AssumeRoleCommand, type AssumeRoleCommandInput, STSClient } from '@aws-sdk/client-sts';
import { VendRateLimiter } from '../../src/rules/vendRate.js';
import { setVendRateLimiter } from '../../src/usecases/vendCredentials.js';
import { lambdaHandler } from '../../src/http/lambdaHandler.js';
import { credentialsRoute } from '../../src/routes/credentials.js';
import { coldStart, noPresigner } from '../../src/wiring/withAws.js';
import { benchEvent, expectOk, interleaved, lambdaContext, LogSink, median, pct, type Handler } from './harness.js';
import type { Bench } from './setup.js';
import type { Runs } from './settings.js';

export interface VendResult { handlerMedian: number; stsMedian: number; ratio: number; overheadMs: number; handlerP99: number; stsP99: number; pairs: number }

export async function vendVsSts(bench: Bench, runs: Runs): Promise<VendResult> {
  // The credentials handler's own wiring (handlers/credentials.ts), kept here to reach its STS client.
  const deps = coldStart({ presigner: noPresigner });
  // The benchmark vends in a tight loop on purpose: lift the per-client vend rate limit for it.
  setVendRateLimiter(deps, new VendRateLimiter({ burst: 1_000_000, perSecond: 1_000_000 }, deps.clock));
  const handler = lambdaHandler(credentialsRoute, () => deps) as unknown as Handler;
  const event = () => benchEvent('POST', '/v1/credentials', { 'x-api-key': bench.apiKey }, { durationSeconds: 900 });
  const sink = new LogSink();
  return sink.around(async () => {
    // The issuer is wrapped (metrics), so its STS client is not reachable from deps: note the client
    // that sends the first vend's AssumeRole instead (the prototype patch lasts for that one call).
    const seen = new Set<STSClient>();
    const send = STSClient.prototype.send;
    STSClient.prototype.send = function (this: STSClient, ...args: Parameters<STSClient['send']>) {
      seen.add(this);
      return (send as (...a: unknown[]) => unknown).apply(this, args);
    } as STSClient['send'];
    try {
      expectOk(await handler(event(), lambdaContext), 'POST /v1/credentials');
    } finally {
      STSClient.prototype.send = send;
    }
    if (seen.size !== 1) throw new Error(`expected one STS client to send the first vend's AssumeRole, saw ${seen.size}`);
    const client = [...seen][0]!;
    // Capture the exact input the handler sends, once, then take the hook out again.
    let captured: AssumeRoleCommandInput | undefined;
    client.middlewareStack.add((next) => async (args) => {
      captured = structuredClone(args.input as AssumeRoleCommandInput);
      return next(args);
    }, { step: 'initialize', name: 'benchCaptureAssumeRoleInput' });
    expectOk(await handler(event(), lambdaContext), 'POST /v1/credentials');
    client.middlewareStack.remove('benchCaptureAssumeRoleInput');
    if (captured === undefined || captured.Policy === undefined) throw new Error('did not capture the AssumeRole input');
    const input = captured;
    const raw = async () => {
      const out = await client.send(new AssumeRoleCommand(input));
      if (!out.Credentials?.SessionToken) throw new Error('AssumeRole answered without credentials');
    };
    const vend = async () => { expectOk(await handler(event(), lambdaContext), 'POST /v1/credentials'); };
    for (let i = 0; i < runs.vendWarmup; i += 1) { await vend(); await raw(); }
    // Pairs, alternating which goes first.
    const times = await interleaved(runs.vendPairs, 1, vend, raw);
    const handlerMedian = median(times.a);
    const stsMedian = median(times.b);
    return {
      handlerMedian, stsMedian, ratio: handlerMedian / stsMedian, overheadMs: handlerMedian - stsMedian,
      handlerP99: pct(times.a, 99), stsP99: pct(times.b, 99), pairs: times.a.length,
    };
  });
}
