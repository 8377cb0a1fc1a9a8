/**
 * Section 1: warm presigns through the whole handler vs the signing floor, measured side by side.
 *
 * The handler is the exported `handler` of handlers/uploads.ts (PUT URL and POST form),
 * handlers/downloads.ts and handlers/multipartParts.ts, bundled as deployed (scripts/lib/bundles.ts, serverless.yml's esbuild options), invoked with API
 * Gateway v2 events (headers, JSON body); its audit lines are written to process.stdout, which the
 * LogSink counts (Powertools builds and serialises every line; nothing reaches the terminal).
 *
 * The floor is what a request cannot avoid:
 *   - JWT:     jose `jwtVerify` with the already-imported public key (no fetch) + one presign;
 *   - API key: SHA-256 of the key + `timingSafeEqual` against the configured digest + one presign;
 *   - parts:   one API-key check + 100 synchronous presigns (the handler signs 100 part URLs in one call);
 * where "one presign" is, as the issue defines it, one `SignatureV4.presign` from the SDK's signer built
 * once per session (./sdkFloor.ts), for the same method, key, signed headers and expiry the handler
 * signs: checked byte-identical to the broker's URL before timing. For a POST form it is one form by
 * the SDK's own steps (SdkFloorSigner.presignPost): what createPresignedPost does (policy JSON, its
 * base64, getSigningKey, one HMAC) minus client construction and endpoint resolution per form, the
 * same rule as the URL floor (a signer built once, no client per URL); over the same conditions (key,
 * Content-Type, bucket, 1..maxBytes) and fields the handler signs, and checked field for field
 * (Policy and signature included) against the broker's form signer (src/adapters/aws/sigv4Post.ts)
 * before timing. The broker's form signer (synchronous, signing key cached per session) is cheaper
 * still: the API-key form line is also printed against it as a strict floor.
 * Downloads (POST /v1/downloads) sign a GET with the same response-content-disposition the handler signs.
 * The broker's own URL signer (src/adapters/aws/sigv4Presign.ts, synchronous, signing key cached per
 * session) is faster than the SDK's; the "strict floor" lines time the same handler samples against it.
 * The old floor (jwtVerify + getSignedUrl with a new S3Client per URL) stays as a labelled second
 * line: it is several times what signing costs, so it flatters the handler.
 *
 * Each line interleaves its sides in batches (drift lands on all of them); the section runs three
 * times and reports the median ratio and the spread. Goals: JWT ≤ 1.5×, API key ≤ 2× (PUT, POST form
 * and download alike), parts ≤ 1.5×.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { jwtVerify } from 'jose';
import { clientConfig } from '../../src/adapters/aws/s3Presigner.js';
import { SigV4Presigner, type PresignRequest } from '../../src/adapters/aws/sigv4Presign.js';
import type { S3Target, TemporaryCredentials } from '../../src/domain/model.js';
import { resolveGrant } from '../../src/usecases/resolveGrant.js';
import type { BrokerDeps } from '../../src/usecases/deps.js';
import { signingSession } from '../../src/usecases/session.js';
import { scopeForObject } from '../../src/rules/scope.js';
import { encodeSubject } from '../../src/rules/subject.js';
import { buildFunctionBundles } from '../lib/bundles.js';
import { SdkFloorSigner, type PostFormRequest } from './sdkFloor.js';
import { benchEvent, lambdaContext, LogSink, median, now, pct, uploadEvent, type Handler } from './harness.js';
import type { Bench } from './setup.js';
import { AUDIENCE, GOALS, SUBJECT, PRESIGN_EXPIRES_IN, PUT_SIGNED_HEADERS, UPLOAD_BYTES, UPLOAD_TYPE, type Runs } from './settings.js';

/** Parts per `parts` call: the route's maximum. */
export const PARTS_PER_CALL = 100;
const PART_BYTES = 5 * 1024 * 1024;
const FULL_RUNS = 3;
/** The filename every download asks for (the handler sanitises it into the signed Content-Disposition). */
const DOWNLOAD_FILENAME = 'bench photo.jpg';

export interface LineResult { handlerP50: number; handlerP99: number; floorP50: number; floorP99: number; ratio: number; samples: number }
export type LineName = 'jwt' | 'apiKey' | 'postJwt' | 'postApiKey' | 'downloadJwt' | 'downloadApiKey' | 'parts' | 'jwtOldFloor' | StrictLineName;
/** The same handler samples against the strict floor: the broker's own signer (faster than the SDK's), no goal. */
export type StrictLineName = 'jwtStrict' | 'apiKeyStrict' | 'postApiKeyStrict' | 'downloadApiKeyStrict' | 'partsStrict';
export const STRICT_LINES = ['jwtStrict', 'apiKeyStrict', 'postApiKeyStrict', 'downloadApiKeyStrict', 'partsStrict'] as const satisfies readonly StrictLineName[];
/** Every line with a goal, in report order. */
export const GOAL_LINES = ['jwt', 'apiKey', 'postJwt', 'postApiKey', 'downloadJwt', 'downloadApiKey', 'parts'] as const satisfies readonly LineName[];
export interface LineSummary { ratio: number; min: number; max: number; handlerP50: number; floorP50: number; samples: number; goal?: number }
export interface PresignResult {
  runs: Record<LineName, LineResult>[];
  lines: Record<LineName, LineSummary>;
  cores: number;
  cpuModel: string;
  node: string;
  logLines: number;
  jwksFetches: number;
  handlerBytes: Record<string, number>;
}

export const PRESIGN_GOALS: Partial<Record<LineName, number>> = {
  jwt: GOALS.presignJwtVsFloor, apiKey: GOALS.presignApiKeyVsFloor,
  postJwt: GOALS.presignJwtVsFloor, postApiKey: GOALS.presignApiKeyVsFloor,
  downloadJwt: GOALS.presignJwtVsFloor, downloadApiKey: GOALS.presignApiKeyVsFloor,
  parts: GOALS.partsVsFloor,
};

/** Times each side in turn, batch by batch, rotating which side starts (a b c, b c a, c a b, …). */
async function interleavedSides(batches: number, size: number, sides: readonly ((i: number) => Promise<unknown>)[]): Promise<number[][]> {
  const times = sides.map(() => [] as number[]);
  const next = sides.map(() => 0);
  for (let batch = 0; batch < batches; batch += 1) {
    for (let s = 0; s < sides.length; s += 1) {
      const side = (batch + s) % sides.length;
      for (let k = 0; k < size; k += 1) {
        const t = now();
        await sides[side]!(next[side]!++);
        times[side]!.push(now() - t);
      }
    }
  }
  return times;
}

const line = (handler: number[], floor: number[]): LineResult => {
  const r = { handlerP50: median(handler), handlerP99: pct(handler, 99), floorP50: median(floor), floorP99: pct(floor, 99) };
  return { ...r, ratio: r.handlerP50 / r.floorP50, samples: handler.length };
};

/** Imports a bundle; the caller has set process.env as Lambda would (the handler reads it at import and per request). */
async function importBundle(file: string): Promise<Handler> {
  const mod = await import(pathToFileURL(file).href) as { handler?: Handler };
  if (typeof mod.handler !== 'function') throw new Error(`${file} exports no handler`);
  return mod.handler;
}

/** Runs `fn` with `env` in process.env (its SDK clients read credentials and region lazily), then restores process.env. */
async function withEnv<T>(env: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  // Presigning never leaves the process: sign for AWS's endpoint, as in production.
  delete process.env.BROKER_S3_ENDPOINT;
  try {
    return await fn();
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
}

export function presignVsFloor(bench: Bench, deps: BrokerDeps, runs: Runs): Promise<PresignResult> {
  return withEnv(bench.env, () => measure(bench, deps, runs));
}

async function measure(bench: Bench, deps: BrokerDeps, runs: Runs): Promise<PresignResult> {
  const { idp } = bench;
  const outDir = mkdtempSync(join(bench.tmp, 'presign-bundles-'));
  let uploads: Handler;
  let parts: Handler;
  let downloads: Handler;
  const handlerBytes: Record<string, number> = {};
  try {
    const built = await buildFunctionBundles(outDir, { only: ['uploads', 'multipartParts', 'downloads'] });
    for (const b of built) handlerBytes[b.name] = b.bytes;
    uploads = await importBundle(built.find((b) => b.name === 'uploads')!.file);
    parts = await importBundle(built.find((b) => b.name === 'multipartParts')!.file);
    downloads = await importBundle(built.find((b) => b.name === 'downloads')!.file);
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }

  // The floor signs as the handler does: AWS's endpoint (no BROKER_S3_ENDPOINT), the bench bucket and region.
  const target: S3Target = { bucket: bench.bucket, region: bench.region, forcePathStyle: false };
  const fast = new SigV4Presigner(clientConfig);
  const configuredDigest = createHash('sha256').update(bench.apiKey).digest();
  const apiKeyCheck = (key: string) => {
    if (!timingSafeEqual(createHash('sha256').update(key).digest(), configuredDigest)) throw new Error('API key floor: digest mismatch');
  };
  const putRequest = (key: string): Omit<PresignRequest, 'target'> => ({
    operation: 'PutObject', key, expiresInSeconds: PRESIGN_EXPIRES_IN, signingDate: new Date(),
    headers: { 'content-type': UPLOAD_TYPE, 'content-length': String(UPLOAD_BYTES) }, signableHeaders: PUT_SIGNED_HEADERS, unhoistableHeaders: new Set(),
  });
  const strictPut = (credentials: TemporaryCredentials, key: string) => fast.presignUrl(credentials, { ...putRequest(key), target });
  const partRequest = (key: string, partNumber: number): PresignRequest => ({
    operation: 'UploadPart', target, key, expiresInSeconds: PRESIGN_EXPIRES_IN, signingDate: new Date(),
    query: { partNumber: String(partNumber), uploadId: 'bench-upload-id' },
    headers: { 'content-length': String(PART_BYTES) }, signableHeaders: new Set(['content-length']), unhoistableHeaders: new Set(),
  });
  // The minimum for a part: the synchronous signature (no promise) once the endpoint is resolved, as S3Presigner.presignUploadParts signs.
  const strictPart = async (credentials: TemporaryCredentials, key: string, partNumber: number) =>
    fast.presignUrlNow(credentials, partRequest(key, partNumber)) ?? await fast.presignUrl(credentials, partRequest(key, partNumber));
  // Real session credentials from the local STS, as the handler signs with (the floor never calls STS).
  const credentials = await sessionCredentials(deps);
  // The floor the issue defines: the SDK's SignatureV4.presign from a signer built once (./sdkFloor.ts).
  const sdk = new SdkFloorSigner(credentials, target.bucket, target.region);
  const signPut = (key: string) => sdk.presign(putRequest(key));
  const getRequest = (key: string, disposition: string): Omit<PresignRequest, 'target'> => ({
    operation: 'GetObject', key, expiresInSeconds: PRESIGN_EXPIRES_IN, signingDate: new Date(), query: { 'response-content-disposition': disposition },
  });
  const broker = (request: Omit<PresignRequest, 'target'>) => fast.presignUrl(credentials, { ...request, target });
  /** A POST form as the adapter builds it (src/adapters/aws/s3Presigner.ts presignPost, no contract fields: the bench grant sets none). */
  const postRequest = (key: string, maxBytes: number): PostFormRequest => ({
    key,
    conditions: [['eq', '$key', key], ['eq', '$Content-Type', UPLOAD_TYPE], { bucket: target.bucket }, ['content-length-range', 1, maxBytes]],
    fields: { 'Content-Type': UPLOAD_TYPE },
    expiresInSeconds: PRESIGN_EXPIRES_IN, signingDate: new Date(),
  });
  const brokerPost = (request: PostFormRequest) => fast.presignPost(credentials, target, request);
  const signPost = (key: string, maxBytes: number) => sdk.presignPost(postRequest(key, maxBytes));
  const strictPost = (key: string, maxBytes: number) => brokerPost(postRequest(key, maxBytes));
  const strictGet = (key: string, disposition: string) => fast.presignUrl(credentials, { ...getRequest(key, disposition), target });
  const signGet = (key: string, disposition: string) => sdk.presign(getRequest(key, disposition));

  const ok = async (handler: Handler, event: Parameters<Handler>[0], what: string) => {
    const res = await handler(event, lambdaContext);
    if (res.statusCode !== 200) throw new Error(`${what} answered ${res.statusCode}: ${res.body ?? ''}`);
    return res;
  };
  const keyEvent = (n: number) => benchEvent('POST', '/v1/uploads', { 'x-api-key': bench.apiKey }, {
    method: 'PUT', key: `bench-${n}.jpg`, contentType: UPLOAD_TYPE, contentLength: UPLOAD_BYTES, expiresIn: PRESIGN_EXPIRES_IN,
  });
  const partNumbers = Array.from({ length: PARTS_PER_CALL }, (_, i) => i + 1);
  // A fresh event per call, built before timing: the middleware stack parses the body in place.
  const partsEvent = () => benchEvent('POST', '/v1/uploads/multipart/parts', { 'x-api-key': bench.apiKey }, {
    key: 'parts-bench.bin', uploadId: 'bench-upload-id', partNumbers, contentLength: PART_BYTES * PARTS_PER_CALL, partSize: PART_BYTES, expiresIn: PRESIGN_EXPIRES_IN,
  });
  const partsBatch = Math.max(2, Math.round(runs.presignBatchSize / 25));
  const postBody = (key: string) => ({ method: 'POST', key, contentType: UPLOAD_TYPE, expiresIn: PRESIGN_EXPIRES_IN });
  // One filename for every download: the handler then signs the same Content-Disposition each time, which the floor signs too.
  const downloadBody = (key: string) => ({ key, expiresIn: PRESIGN_EXPIRES_IN, filename: DOWNLOAD_FILENAME });

  const sink = new LogSink();
  const perRun: Record<LineName, LineResult>[] = [];
  await sink.around(async () => {
    // What the handler pins (the grant's maxBytes) and signs (the sanitised disposition), read from one answer of each before timing.
    const postProbe = JSON.parse((await ok(uploads, benchEvent('POST', '/v1/uploads', { 'x-api-key': bench.apiKey }, postBody('bench/probe.jpg')), 'POST /v1/uploads (POST form)')).body ?? '{}') as { maxBytes?: number; fields?: Record<string, string> };
    const maxBytes = postProbe.maxBytes;
    if (typeof maxBytes !== 'number' || postProbe.fields?.Policy === undefined) throw new Error('POST /v1/uploads (POST form) answered without maxBytes and a policy');
    // The floor signs the same policy shape: same conditions, in order, apart from the instant-, session- and key-bound values.
    const shape = (policy: string) => (JSON.parse(Buffer.from(policy, 'base64').toString('utf8')) as { conditions: unknown[] }).conditions.map((c) => (Array.isArray(c) ? `${String(c[0])} ${String(c[1])}` : Object.keys(c as object).join()));
    const floorShape = shape((await signPost('bench/probe.jpg', maxBytes)).fields.Policy!);
    if (shape(postProbe.fields.Policy).join('|') !== floorShape.join('|')) throw new Error(`the POST floor signs other conditions than the handler: [${floorShape.join(', ')}] vs [${shape(postProbe.fields.Policy).join(', ')}]`);
    const downloadProbe = JSON.parse((await ok(downloads, benchEvent('POST', '/v1/downloads', { 'x-api-key': bench.apiKey }, downloadBody('bench/probe.jpg')), 'POST /v1/downloads')).body ?? '{}') as { url?: string };
    const disposition = downloadProbe.url === undefined ? null : new URL(downloadProbe.url).searchParams.get('response-content-disposition');
    if (disposition === null) throw new Error('POST /v1/downloads answered without a signed response-content-disposition');
    // The SDK floor signs byte for byte what the broker signs (same request, same instant), or the section stops.
    await sdk.assertSameUrl(putRequest('bench/users/alice/probe ü+%.jpg'), broker, 'a PUT');
    await sdk.assertSameUrl(getRequest('bench/probe.jpg', disposition), broker, 'a GET');
    await sdk.assertSameUrl(partRequest('bench/parts-bench.bin', 7), broker, 'a part');
    await sdk.assertSameForm(postRequest('bench/users/alice/probe ü+%.jpg', maxBytes), brokerPost, 'a POST form');
    const repetitions = runs.quick ? 1 : FULL_RUNS;
    for (let rep = 0; rep < repetitions; rep += 1) {
      const total = runs.presignWarmup + runs.presignBatches * runs.presignBatchSize;
      const [handlerTokens, floorTokens, oldTokens, strictTokens] = await Promise.all([idp.mint(total), idp.mint(total), idp.mint(total), idp.mint(total)]);
      const handlerEvents = handlerTokens.map((t, n) => uploadEvent(t, n));
      const keyEvents = Array.from({ length: total }, (_, n) => keyEvent(n));
      const jwtHandler = (i: number) => ok(uploads, handlerEvents[i]!, 'POST /v1/uploads (JWT)');
      const jwtFloor = async (i: number) => {
        await jwtVerify(floorTokens[i]!, idp.publicKey, { issuer: idp.url, audience: AUDIENCE, algorithms: ['ES256'] });
        await signPut(`bench/users/alice/bench/${i}.jpg`);
      };
      const oldFloor = async (i: number) => {
        await jwtVerify(oldTokens[i]!, idp.publicKey, { issuer: idp.url, audience: AUDIENCE, algorithms: ['ES256'] });
        const client = new S3Client(clientConfig(target, credentials, 0));
        const command = new PutObjectCommand({ Bucket: bench.bucket, Key: `bench/users/alice/bench/${i}.jpg`, ContentType: UPLOAD_TYPE, ContentLength: UPLOAD_BYTES });
        await getSignedUrl(client, command, { expiresIn: PRESIGN_EXPIRES_IN, signableHeaders: PUT_SIGNED_HEADERS, signingDate: new Date() });
      };
      const keyHandler = (i: number) => ok(uploads, keyEvents[i]!, 'POST /v1/uploads (API key)');
      const keyFloor = async (i: number) => { apiKeyCheck(bench.apiKey); await signPut(`bench/bench-${i}.jpg`); };
      const jwtStrict = async (i: number) => {
        await jwtVerify(strictTokens[i]!, idp.publicKey, { issuer: idp.url, audience: AUDIENCE, algorithms: ['ES256'] });
        await strictPut(credentials, `bench/users/alice/bench/${i}.jpg`);
      };
      const keyStrict = async (i: number) => { apiKeyCheck(bench.apiKey); await strictPut(credentials, `bench/bench-${i}.jpg`); };
      // POST forms and downloads: the same pairs (handler vs floor) per caller kind.
      const [postTokens, postFloorTokens, getTokens, getFloorTokens] = await Promise.all([idp.mint(total), idp.mint(total), idp.mint(total), idp.mint(total)]);
      const jwtVerifyOnly = (token: string) => jwtVerify(token, idp.publicKey, { issuer: idp.url, audience: AUDIENCE, algorithms: ['ES256'] });
      const postJwtEvents = postTokens.map((t, n) => benchEvent('POST', '/v1/uploads', { authorization: `Bearer ${t}` }, postBody(`bench/${n}.jpg`)));
      const postKeyEvents = Array.from({ length: total }, (_, n) => benchEvent('POST', '/v1/uploads', { 'x-api-key': bench.apiKey }, postBody(`bench-${n}.jpg`)));
      const getJwtEvents = getTokens.map((t, n) => benchEvent('POST', '/v1/downloads', { authorization: `Bearer ${t}` }, downloadBody(`bench/${n}.jpg`)));
      const getKeyEvents = Array.from({ length: total }, (_, n) => benchEvent('POST', '/v1/downloads', { 'x-api-key': bench.apiKey }, downloadBody(`bench-${n}.jpg`)));
      const postJwtHandler = (i: number) => ok(uploads, postJwtEvents[i]!, 'POST /v1/uploads (POST form, JWT)');
      const postJwtFloor = async (i: number) => { await jwtVerifyOnly(postFloorTokens[i]!); await signPost(`bench/users/alice/bench/${i}.jpg`, maxBytes); };
      const postKeyHandler = (i: number) => ok(uploads, postKeyEvents[i]!, 'POST /v1/uploads (POST form, API key)');
      const postKeyFloor = async (i: number) => { apiKeyCheck(bench.apiKey); await signPost(`bench/bench-${i}.jpg`, maxBytes); };
      const postKeyStrict = async (i: number) => { apiKeyCheck(bench.apiKey); await strictPost(`bench/bench-${i}.jpg`, maxBytes); };
      const getJwtHandler = (i: number) => ok(downloads, getJwtEvents[i]!, 'POST /v1/downloads (JWT)');
      const getJwtFloor = async (i: number) => { await jwtVerifyOnly(getFloorTokens[i]!); await signGet(`bench/users/alice/bench/${i}.jpg`, disposition); };
      const getKeyHandler = (i: number) => ok(downloads, getKeyEvents[i]!, 'POST /v1/downloads (API key)');
      const getKeyFloor = async (i: number) => { apiKeyCheck(bench.apiKey); await signGet(`bench/bench-${i}.jpg`, disposition); };
      const getKeyStrict = async (i: number) => { apiKeyCheck(bench.apiKey); await strictGet(`bench/bench-${i}.jpg`, disposition); };
      const partsWarmup = Math.max(3, runs.presignWarmup / 25);
      const partsEvents = Array.from({ length: partsWarmup + runs.presignBatches * partsBatch }, partsEvent);
      const partsHandler = async (i: number) => {
        const res = await ok(parts, partsEvents[i]!, 'POST /v1/uploads/multipart/parts');
        if ((JSON.parse(res.body ?? '{}') as { parts?: unknown[] }).parts?.length !== PARTS_PER_CALL) throw new Error(`parts answered without ${PARTS_PER_CALL} URLs`);
      };
      // The floor: one key check and 100 SignatureV4.presign calls, one after the other.
      const partsFloor = async () => {
        apiKeyCheck(bench.apiKey);
        for (const n of partNumbers) await sdk.presign(partRequest('bench/parts-bench.bin', n));
      };
      // The strict floor: the broker's own synchronous signature per part (no promise), as S3Presigner.presignUploadParts signs.
      const partsStrict = async () => {
        apiKeyCheck(bench.apiKey);
        for (const n of partNumbers) {
          const request = { ...partRequest('bench/parts-bench.bin', n), target };
          if (fast.presignUrlNow(credentials, request) === undefined) await strictPart(credentials, 'bench/parts-bench.bin', n);
        }
      };

      // Warm: JWKS fetched, sessions assumed (local STS) and cached, the JIT warm on every side.
      for (let i = 0; i < runs.presignWarmup; i += 1) {
        await jwtHandler(i); await jwtFloor(i); await oldFloor(i); await keyHandler(i); await keyFloor(i); await jwtStrict(i); await keyStrict(i); await getKeyStrict(i);
        await postJwtHandler(i); await postJwtFloor(i); await postKeyHandler(i); await postKeyFloor(i); await postKeyStrict(i);
        await getJwtHandler(i); await getJwtFloor(i); await getKeyHandler(i); await getKeyFloor(i);
      }
      for (let i = 0; i < partsWarmup; i += 1) { await partsHandler(i); await partsFloor(); await partsStrict(); }

      const offset = runs.presignWarmup;
      const at = (fn: (i: number) => Promise<unknown>) => (i: number) => fn(offset + i);
      // The old floor interleaves with its own handler samples, so the JWT line's handler samples stay comparable across runs.
      const [jh, jf, js] = await interleavedSides(runs.presignBatches, runs.presignBatchSize, [at(jwtHandler), at(jwtFloor), at(jwtStrict)]);
      const [kh, kf, ks] = await interleavedSides(runs.presignBatches, runs.presignBatchSize, [at(keyHandler), at(keyFloor), at(keyStrict)]);
      const [pjh, pjf] = await interleavedSides(runs.presignBatches, runs.presignBatchSize, [at(postJwtHandler), at(postJwtFloor)]);
      const [pkh, pkf, pks] = await interleavedSides(runs.presignBatches, runs.presignBatchSize, [at(postKeyHandler), at(postKeyFloor), at(postKeyStrict)]);
      const [gjh, gjf] = await interleavedSides(runs.presignBatches, runs.presignBatchSize, [at(getJwtHandler), at(getJwtFloor)]);
      const [gkh, gkf, gks] = await interleavedSides(runs.presignBatches, runs.presignBatchSize, [at(getKeyHandler), at(getKeyFloor), at(getKeyStrict)]);
      const [ph, pf, ps] = await interleavedSides(runs.presignBatches, partsBatch, [(i) => partsHandler(partsWarmup + i), partsFloor, partsStrict]);
      // The old line times the handler again with fresh tokens (a token seen before could hit a cache).
      const moreTokens = await idp.mint(runs.presignBatches * runs.presignBatchSize);
      const moreEvents = moreTokens.map((t, n) => uploadEvent(t, total + n));
      const [oh, of] = await interleavedSides(runs.presignBatches, runs.presignBatchSize, [(i) => ok(uploads, moreEvents[i]!, 'POST /v1/uploads (JWT)'), at(oldFloor)]);
      perRun.push({
        jwt: line(jh!, jf!), apiKey: line(kh!, kf!),
        postJwt: line(pjh!, pjf!), postApiKey: line(pkh!, pkf!), downloadJwt: line(gjh!, gjf!), downloadApiKey: line(gkh!, gkf!),
        parts: line(ph!, pf!), jwtOldFloor: line(oh!, of!),
        jwtStrict: line(jh!, js!), apiKeyStrict: line(kh!, ks!), postApiKeyStrict: line(pkh!, pks!), downloadApiKeyStrict: line(gkh!, gks!), partsStrict: line(ph!, ps!),
      });
    }
  });
  const summarise = (name: LineName): LineSummary => {
    const ratios = perRun.map((r) => r[name].ratio);
    const goal = PRESIGN_GOALS[name];
    return {
      ratio: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios),
      handlerP50: median(perRun.map((r) => r[name].handlerP50)), floorP50: median(perRun.map((r) => r[name].floorP50)),
      samples: perRun.reduce((n, r) => n + r[name].samples, 0),
      ...(goal === undefined ? {} : { goal }),
    };
  };
  const lines = Object.fromEntries([...GOAL_LINES, 'jwtOldFloor' as const, ...STRICT_LINES].map((name) => [name, summarise(name)])) as Record<LineName, LineSummary>;
  return {
    runs: perRun, lines, cores: availableParallelism(), cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version,
    logLines: sink.lines, jwksFetches: idp.fetches(), handlerBytes,
  };
}

/** The JWT caller's cached signing session, from the broker's own use case (one AssumeRole on the local STS). */
async function sessionCredentials(deps: BrokerDeps): Promise<TemporaryCredentials> {
  const caller = { partnerId: 'bench', clientId: 'app', method: 'jwt' as const, subject: SUBJECT, subjectSegment: encodeSubject(SUBJECT) };
  const grant = await resolveGrant(deps.store, caller);
  return (await signingSession(deps, caller, grant, scopeForObject(grant, { action: 'write', relativeKey: 'bench/floor.jpg' }), PRESIGN_EXPIRES_IN)).credentials;
}
