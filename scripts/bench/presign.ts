/**
 * Section 1: a warm presign through the full handler stack (API Gateway v2 event in, JSON out, JWT
 * auth by a real JwtVerifier against a loopback JWKS, cached session, audit logging into a counting
 * sink) vs the floor: one jose jwtVerify (ES256, local key) + one getSignedUrl (a new S3Client per
 * URL, as the adapter does; AWS URLs, as in production). Distinct tokens on both sides, batches
 * interleaved. Goal ≤ 2.0× at p50.
 */
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { jwtVerify } from 'jose';
import { clientConfig } from '../../src/adapters/aws/s3Presigner.js';
import type { BrokerDeps } from '../../src/usecases/deps.js';
import { signingSession } from '../../src/usecases/session.js';
import { scopeForObject } from '../../src/rules/scope.js';
import { resolveGrant } from '../../src/usecases/resolveGrant.js';
import { encodeSubject } from '../../src/rules/subject.js';
import type { TemporaryCredentials } from '../../src/domain/model.js';
import { interleaved, lambdaContext, LogSink, median, pct, uploadEvent, type Handler } from './harness.js';
import type { Bench } from './setup.js';
import { AUDIENCE, PRESIGN_EXPIRES_IN, PUT_SIGNED_HEADERS, SUBJECT, UPLOAD_BYTES, UPLOAD_TYPE, type Runs } from './settings.js';

export interface PresignResult { handlerP50: number; handlerP99: number; floorP50: number; floorP99: number; ratioP50: number; ratioP99: number; samples: number; logLines: number; jwksFetches: number }

export async function presignVsFloor(bench: Bench, deps: BrokerDeps, handler: Handler, runs: Runs): Promise<PresignResult> {
  const { idp } = bench;
  const total = runs.presignWarmup + runs.presignBatches * runs.presignBatchSize;
  const handlerTokens = await idp.mint(total);
  const floorTokens = await idp.mint(total);
  // Events are built before timing (API Gateway builds them, not the handler).
  const handlerEvents = handlerTokens.map((t, n) => uploadEvent(t, n));
  const grant = await resolveGrant(deps.store, { partnerId: 'bench', clientId: 'app', method: 'jwt', subject: SUBJECT, subjectSegment: encodeSubject(SUBJECT) });
  const key = `${grant.prefix}bench/floor.jpg`;

  const handlerCall = async (i: number) => {
    const res = await handler(handlerEvents[i]!, lambdaContext);
    if (res.statusCode !== 200) throw new Error(`presign handler answered ${res.statusCode}: ${res.body ?? ''}`);
  };
  let credentials: TemporaryCredentials | undefined;
  const floorCall = async (i: number) => {
    await jwtVerify(floorTokens[i]!, idp.publicKey, { issuer: idp.url, audience: AUDIENCE, algorithms: ['ES256'] });
    // The adapter's own client settings and pattern (a new client per URL), AWS's endpoint as in production.
    const client = new S3Client(clientConfig({ bucket: bench.bucket, region: bench.region, forcePathStyle: false }, credentials!, 0));
    const command = new PutObjectCommand({ Bucket: bench.bucket, Key: key, ContentType: UPLOAD_TYPE, ContentLength: UPLOAD_BYTES });
    await getSignedUrl(client, command, { expiresIn: PRESIGN_EXPIRES_IN, signableHeaders: PUT_SIGNED_HEADERS, signingDate: new Date() });
  };

  const sink = new LogSink();
  const times = await sink.around(async () => {
    // Warm: the JWKS is fetched, the session assumed (local STS) and cached, the JIT warm.
    await handlerCall(0);
    credentials = (await signingSession(deps, { partnerId: 'bench', clientId: 'app', method: 'jwt', subject: SUBJECT, subjectSegment: encodeSubject(SUBJECT) }, grant, scopeForObject(grant, { action: 'write', relativeKey: 'bench/floor.jpg' }), PRESIGN_EXPIRES_IN)).credentials;
    for (let i = 1; i < runs.presignWarmup; i += 1) { await handlerCall(i); await floorCall(i); }
    const offset = runs.presignWarmup;
    return interleaved(runs.presignBatches, runs.presignBatchSize, (i) => handlerCall(offset + i), (i) => floorCall(offset + i));
  });
  if (sink.lines < total) throw new Error(`expected at least ${total} audit lines in the log sink, counted ${sink.lines}`);
  const r = {
    handlerP50: median(times.a), handlerP99: pct(times.a, 99), floorP50: median(times.b), floorP99: pct(times.b, 99),
  };
  return { ...r, ratioP50: r.handlerP50 / r.floorP50, ratioP99: r.handlerP99 / r.floorP99, samples: times.a.length, logLines: sink.lines, jwksFetches: idp.fetches() };
}
