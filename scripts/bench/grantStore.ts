/**
 * Section 7 of `npm run bench`: the DynamoDB grant store (docs/grant-store.md) at scale, on the local
 * dynalite (scripts/lib/localDynamo.ts; reused on 127.0.0.1:17569 or started in memory and stopped).
 *
 * Full: 10,000 partners and 100,000 API keys loaded with batch writes; `--quick`: 100 and 1,000.
 * At the default bound (10 s) and 50 requests/s per container, on a virtual clock (the cache's
 * clock is injected; the table and the code are real):
 *   a. warm request (cache hit): verifyApiKey + the partner lookup, p50/p99, DynamoDB store vs the
 *      YAML store holding the same partners, interleaved batches;
 *   b. table reads per 1,000 requests at steady state, one container for 60 s (quick: 10 s) over a
 *      working set of keys it has already cached (a warm container). Goal ≤ 10;
 *   c. revocation delay p100 across 4 containers: a key is disabled (partner item rewritten, version
 *      bumped) at a random instant while every container keeps presenting it; the delay is the
 *      virtual time until each container refuses it. Goal ≤ the bound;
 *   d. memory per cached grant (an API key answer plus its partner), heap delta over N grants.
 * Ratios and counts; the quick run never fails on timing.
 */
import { BatchWriteCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { DynamoGrantStore } from '../../src/adapters/dynamo/dynamoGrantStore.js';
import { encodePartnerItem, encodeVersionItem, pointerItemsFor } from '../../src/adapters/dynamo/items.js';
import { YamlGrantStore } from '../../src/adapters/yamlGrantStore.js';
import { verifyApiKey } from '../../src/auth/apiKey.js';
import type { BrokerConfig } from '../../src/config/schema.js';
import { UnauthenticatedError } from '../../src/domain/errors.js';
import type { Partner } from '../../src/domain/model.js';
import type { GrantStore } from '../../src/ports/ports.js';
import { createGrantTable, deleteGrantTable, ensureLocalDynamo, localDynamoClient } from '../lib/localDynamo.js';
import { interleaved, now, pct, prng } from './harness.js';

export const GRANT_BENCH = {
  dir: join(tmpdir(), 'sts-broker-bench-dynamodb'),
  port: 17569,
  table: 'bench-grants',
  boundMs: 10_000,
  rps: 50,
  containers: 4,
  goalReadsPer1000: 10,
} as const;

interface Scale {
  partners: number;
  keysPerPartner: number;
  seconds: number;
  workingSet: number;
  revocations: number;
  hitBatches: number;
  hitBatchSize: number;
  memoryGrants: number;
}

const SCALE: Record<'quick' | 'full', Scale> = {
  quick: { partners: 100, keysPerPartner: 10, seconds: 10, workingSet: 50, revocations: 3, hitBatches: 4, hitBatchSize: 100, memoryGrants: 500 },
  full: { partners: 10_000, keysPerPartner: 10, seconds: 60, workingSet: 500, revocations: 20, hitBatches: 20, hitBatchSize: 500, memoryGrants: 5_000 },
};

export interface GrantStoreResult {
  partners: number;
  apiKeys: number;
  items: number;
  loadSeconds: number;
  hit: { dynamoP50: number; dynamoP99: number; yamlP50: number; yamlP99: number; ratioP50: number; ratioP99: number; samples: number; readsDuring: number };
  steady: { requests: number; reads: number; readsPer1000: number; seconds: number };
  revocation: { trials: number; containers: number; p100Ms: number; p50Ms: number; boundMs: number };
  memory: { grants: number; bytesPerGrant: number; gcExposed: boolean; cachedEntries: number };
}

const partnerId = (p: number) => `p${String(p).padStart(5, '0')}`;
const keyId = (p: number, k: number) => `k${p}x${k}`;
/** Deterministic 43-char base64url secrets: the bench needs the plaintext of any key it presents. */
const keyText = (p: number, k: number) => `sbk_${keyId(p, k)}_${createHash('sha256').update(`bench-${p}-${k}`).digest('base64url')}`;
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

function partnerOf(p: number, keysPerPartner: number, disabledKey?: number): Partner {
  return {
    roleArn: `arn:aws:iam::111111111111:role/partner-${p}`,
    bucket: `bench-bucket-${p}`,
    region: 'eu-west-1',
    maxDurationSeconds: 900,
    clients: {
      api: {
        apiKeys: Array.from({ length: keysPerPartner }, (_, k) => ({ id: keyId(p, k), sha256: sha256(keyText(p, k)), ...(k === disabledKey ? { disabled: true } : {}) })),
        prefix: `p${p}/`,
        actions: ['read', 'write'],
        maxUploadBytes: 10_485_760,
        contentTypes: ['image/jpeg'],
        cors: { origins: [] },
      },
    },
  };
}

const META = { updatedAt: new Date('2026-11-30T12:00:00Z'), updatedBy: 'arn:aws:iam::111111111111:user/bench' };

/** Loads the table with batch writes (25 items per call, 8 calls in flight). */
async function load(client: DynamoDBDocumentClient, scale: Scale): Promise<number> {
  const items: Array<Record<string, unknown>> = [];
  const partners = new Map<string, Partner>();
  for (let p = 0; p < scale.partners; p += 1) partners.set(partnerId(p), partnerOf(p, scale.keysPerPartner));
  for (const [id, partner] of partners) items.push(encodePartnerItem(id, partner, META));
  items.push(...pointerItemsFor(partners));
  items.push(encodeVersionItem(1, META.updatedAt));
  const batches: Array<Array<Record<string, unknown>>> = [];
  for (let i = 0; i < items.length; i += 25) batches.push(items.slice(i, i + 25));
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      let pending = batches[next++]!;
      for (let attempt = 0; pending.length > 0; attempt += 1) {
        if (attempt > 20) throw new Error('batch write kept returning unprocessed items');
        const out = await client.send(new BatchWriteCommand({ RequestItems: { [GRANT_BENCH.table]: pending.map((Item) => ({ PutRequest: { Item } })) } }));
        pending = (out.UnprocessedItems?.[GRANT_BENCH.table] ?? []).flatMap((r) => (r.PutRequest?.Item ? [r.PutRequest.Item] : []));
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return items.length;
}

/** A store on a virtual clock, counting the table reads it makes. */
function dynamoStore(endpoint: string, clock: () => number): { store: DynamoGrantStore; reads: () => number } {
  const client = localDynamoClient(endpoint);
  let reads = 0;
  client.middlewareStack.add((next) => async (args) => {
    reads += 1;
    return next(args);
  }, { step: 'initialize', name: 'benchCountReads' });
  const store = new DynamoGrantStore({
    client, tableName: GRANT_BENCH.table, maxStalenessMs: GRANT_BENCH.boundMs, maxEntries: 20_000, maxNegativeEntries: 10_000, clock,
    logger: { warn: () => undefined, error: () => undefined },
  });
  return { store, reads: () => reads };
}

/** One request's grant work: authenticate the key, then resolve its partner (the same on both stores). */
async function grantRequest(store: GrantStore, key: string, at: Date): Promise<boolean> {
  try {
    const caller = await verifyApiKey(store, key, at);
    return (await store.partner(caller.partnerId)) !== undefined;
  } catch (err) {
    // refused (unknown, disabled): false; anything else (the table failing) breaks the bench
    if (err instanceof UnauthenticatedError) return false;
    throw err;
  }
}

function gcFunction(): (() => void) | undefined {
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
}

export async function grantStoreBench(quick: boolean): Promise<GrantStoreResult> {
  const scale = SCALE[quick ? 'quick' : 'full'];
  const dynamo = await ensureLocalDynamo({ dir: GRANT_BENCH.dir, port: GRANT_BENCH.port, inMemory: true });
  const writer = localDynamoClient(dynamo.endpoint);
  try {
    await deleteGrantTable(writer, GRANT_BENCH.table);
    await createGrantTable(writer, GRANT_BENCH.table);
    const loadStart = now();
    const items = await load(writer, scale);
    const loadSeconds = (now() - loadStart) / 1000;
    const random = prng(13);
    const pick = () => {
      const p = Math.floor(random() * scale.partners);
      return { p, k: Math.floor(random() * scale.keysPerPartner) };
    };
    const at = new Date();

    // a. warm hits, DynamoDB vs YAML on the same keys
    const partners: Record<string, Partner> = {};
    for (let p = 0; p < scale.partners; p += 1) partners[partnerId(p)] = partnerOf(p, scale.keysPerPartner);
    const yaml = new YamlGrantStore({ allowInsecureLoopbackHttp: false, partners } as BrokerConfig);
    const frozen = dynamoStore(dynamo.endpoint, () => 0);
    const warmKeys = Array.from({ length: scale.workingSet }, () => pick()).map(({ p, k }) => keyText(p, k));
    for (const key of warmKeys) if (!(await grantRequest(frozen.store, key, at))) throw new Error('bench key refused while warming');
    const readsBefore = frozen.reads();
    const times = await interleaved(scale.hitBatches, scale.hitBatchSize,
      (i) => grantRequest(frozen.store, warmKeys[i % warmKeys.length]!, at),
      (i) => grantRequest(yaml, warmKeys[i % warmKeys.length]!, at));
    const hit = {
      dynamoP50: pct(times.a, 50), dynamoP99: pct(times.a, 99), yamlP50: pct(times.b, 50), yamlP99: pct(times.b, 99),
      ratioP50: pct(times.a, 50) / pct(times.b, 50), ratioP99: pct(times.a, 99) / pct(times.b, 99),
      samples: times.a.length, readsDuring: frozen.reads() - readsBefore,
    };

    // b. steady state: one container, 50 requests/s for `seconds`, a working set of keys
    let clock = 0;
    const steadyStore = dynamoStore(dynamo.endpoint, () => clock);
    const working = Array.from({ length: scale.workingSet }, () => pick()).map(({ p, k }) => keyText(p, k));
    const step = 1000 / GRANT_BENCH.rps;
    // Warm-up (not counted): the working set's keys once each, as a container that has been serving.
    for (const key of working) await grantRequest(steadyStore.store, key, at);
    const steadyReadsBefore = steadyStore.reads();
    let steadyRequests = 0;
    for (let t = step; t <= scale.seconds * 1000; t += step) {
      clock = t;
      await grantRequest(steadyStore.store, working[Math.floor(random() * working.length)]!, at);
      steadyRequests += 1;
    }
    const steadyReads = steadyStore.reads() - steadyReadsBefore;
    const steady = { requests: steadyRequests, reads: steadyReads, readsPer1000: (steadyReads / steadyRequests) * 1000, seconds: scale.seconds };

    // c. revocation delay across 4 containers (staggered, so their confirmations are out of phase)
    const delays: number[] = [];
    let vclock = 0;
    let version = 1;
    const containers = Array.from({ length: GRANT_BENCH.containers }, () => dynamoStore(dynamo.endpoint, () => vclock));
    // Containers warmed 2.5 s apart: their version checks stay out of phase, as in a real fleet.
    for (let c = 0; c < containers.length; c += 1) {
      vclock = c * (GRANT_BENCH.boundMs / containers.length);
      await grantRequest(containers[c]!.store, keyText(0, 0), at);
    }
    vclock += step;
    for (let trial = 0; trial < scale.revocations; trial += 1) {
      const { p, k } = pick();
      const key = keyText(p, k);
      const revokeAfter = 2_000 + Math.floor(random() * GRANT_BENCH.boundMs);
      const refusedAt: Array<number | undefined> = containers.map(() => undefined);
      let revokedAt: number | undefined;
      const start = vclock;
      // every container presents the key at 50 requests/s, each offset within the 20 ms step
      for (let t = 0; refusedAt.some((r) => r === undefined); t += step) {
        if (t > revokeAfter + 3 * GRANT_BENCH.boundMs) throw new Error('a container still accepts a key revoked 3 bounds ago');
        if (revokedAt === undefined && t >= revokeAfter) {
          vclock = start + t;
          version += 1;
          await writer.send(new PutCommand({ TableName: GRANT_BENCH.table, Item: encodePartnerItem(partnerId(p), partnerOf(p, scale.keysPerPartner, k), META) }));
          await writer.send(new PutCommand({ TableName: GRANT_BENCH.table, Item: encodeVersionItem(version, META.updatedAt) }));
          revokedAt = vclock;
        }
        for (let c = 0; c < containers.length; c += 1) {
          if (refusedAt[c] !== undefined) continue;
          vclock = start + t + (c * step) / containers.length;
          const ok = await grantRequest(containers[c]!.store, key, at);
          if (!ok && revokedAt !== undefined) refusedAt[c] = vclock;
          else if (!ok) throw new Error('key refused before it was revoked');
        }
      }
      for (const r of refusedAt) delays.push(r! - revokedAt!);
      // restore the key for later trials
      version += 1;
      await writer.send(new PutCommand({ TableName: GRANT_BENCH.table, Item: encodePartnerItem(partnerId(p), partnerOf(p, scale.keysPerPartner), META) }));
      await writer.send(new PutCommand({ TableName: GRANT_BENCH.table, Item: encodeVersionItem(version, META.updatedAt) }));
      vclock += 2 * GRANT_BENCH.boundMs;
    }
    const revocation = { trials: scale.revocations, containers: GRANT_BENCH.containers, p100Ms: Math.max(...delays), p50Ms: pct(delays, 50), boundMs: GRANT_BENCH.boundMs };

    // d. memory per cached grant: N keys of N distinct partners (an API key answer + a partner each)
    const gc = gcFunction();
    const memStore = dynamoStore(dynamo.endpoint, () => 0);
    const grants = Math.min(scale.memoryGrants, scale.partners);
    await grantRequest(memStore.store, keyText(0, 0), at); // version read and code paths warmed
    const collect = () => { for (let i = 0; i < 3; i += 1) gc?.(); };
    collect();
    const heapBefore = process.memoryUsage().heapUsed;
    for (let p = 1; p < grants; p += 1) await grantRequest(memStore.store, keyText(p, 0), at);
    collect();
    const heapAfter = process.memoryUsage().heapUsed;
    // memStore is used below, so the collection above cannot free the cache being measured
    const cached = memStore.store.cacheStats().entries;
    const memory = { grants: grants - 1, bytesPerGrant: Math.max(0, (heapAfter - heapBefore) / (grants - 1)), gcExposed: gc !== undefined, cachedEntries: cached };

    return { partners: scale.partners, apiKeys: scale.partners * scale.keysPerPartner, items, loadSeconds, hit, steady, revocation, memory };
  } finally {
    writer.destroy();
    await dynamo.stop();
  }
}

const ms = (x: number): string => `${x.toFixed(x < 10 ? 3 : 1)} ms`;
const round = (x: number, digits = 2): number => Number(x.toFixed(digits));

/** The section's table lines, for the report. */
export function grantStoreLines(r: GrantStoreResult): string[] {
  return [
    `7. grant store: DynamoDB (local dynalite) with ${r.partners.toLocaleString('en')} partners and ${r.apiKeys.toLocaleString('en')} API keys (${r.items.toLocaleString('en')} items loaded in ${r.loadSeconds.toFixed(1)} s), bound ${r.revocation.boundMs / 1000} s, ${GRANT_BENCH.rps} requests/s per container (virtual clock)`,
    `   warm request (verifyApiKey + partner, cache hit): DynamoDB p50 ${ms(r.hit.dynamoP50)} p99 ${ms(r.hit.dynamoP99)} vs YAML p50 ${ms(r.hit.yamlP50)} p99 ${ms(r.hit.yamlP99)}: ${r.hit.ratioP50.toFixed(2)}× at p50, ${r.hit.ratioP99.toFixed(2)}× at p99 (${r.hit.samples} samples each, ${r.hit.readsDuring} table reads during)`,
    `   table reads at steady state: ${r.steady.reads} over ${r.steady.requests} requests = ${r.steady.readsPer1000.toFixed(2)} per 1,000 ${r.steady.readsPer1000 <= GRANT_BENCH.goalReadsPer1000 ? `ok (≤ ${GRANT_BENCH.goalReadsPer1000})` : `MISSES ≤ ${GRANT_BENCH.goalReadsPer1000}`} (one container, ${r.steady.seconds} s after its working set was cached)`,
    `   revocation delay across ${r.revocation.containers} containers, ${r.revocation.trials} revocations: p100 ${(r.revocation.p100Ms / 1000).toFixed(2)} s, p50 ${(r.revocation.p50Ms / 1000).toFixed(2)} s ${r.revocation.p100Ms <= r.revocation.boundMs ? `ok (≤ the ${r.revocation.boundMs / 1000} s bound)` : 'MISSES the bound'}`,
    `   memory per cached grant (API key answer + its partner): ~${Math.round(r.memory.bytesPerGrant).toLocaleString('en')} bytes over ${r.memory.grants.toLocaleString('en')} grants (${r.memory.cachedEntries.toLocaleString('en')} cache entries)${r.memory.gcExposed ? '' : ' (no forced GC: rough)'}`,
  ];
}

/** The section's figures for the JSON line. */
export function grantStoreJson(r: GrantStoreResult): Record<string, number> {
  return {
    grantHitVsYamlP50: round(r.hit.ratioP50),
    grantHitVsYamlP99: round(r.hit.ratioP99),
    grantReadsPer1000: round(r.steady.readsPer1000),
    revocationDelayP100Ms: Math.round(r.revocation.p100Ms),
    bytesPerCachedGrant: Math.round(r.memory.bytesPerGrant),
  };
}

/**
 * Adds the section to the report of sections 1–5: its lines before the JSON line, its figures in it
 * (so the output keeps exactly one JSON line).
 */
export function withGrantStoreSection(output: string, r: GrantStoreResult): string {
  const trimmed = output.trimEnd();
  const cut = trimmed.lastIndexOf('\n');
  const jsonText = trimmed.slice(cut + 1);
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(jsonText) as Record<string, unknown>;
  } catch {
    return `${trimmed}\n\n${grantStoreLines(r).join('\n')}\n\n${JSON.stringify(grantStoreJson(r))}\n`;
  }
  const body = trimmed.slice(0, cut).trimEnd();
  return `${body}\n\n${grantStoreLines(r).join('\n')}\n\n${JSON.stringify({ ...json, grantStore: grantStoreJson(r) })}\n`;
}
