/**
 * The grant store contract: one suite run against BOTH stores, the YAML store built from a config
 * object and the DynamoDB store against a real dynalite on 127.0.0.1 (started here, items written
 * with the table codec). Then what only a remote store has: invalid items, bounded staleness with an
 * injected clock, the negative-cache bound, fail-closed when the table stops, and no Scan on the
 * request path (every command counted through the client's middleware stack).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoGrantStore, UNCONFIRMED_VERSION } from '../../src/adapters/dynamo/dynamoGrantStore.js';
import { encodePartnerItem, encodeVersionItem, partnerKey, pointerItemsFor } from '../../src/adapters/dynamo/items.js';
import { YamlGrantStore } from '../../src/adapters/yamlGrantStore.js';
import { verifyApiKey } from '../../src/auth/apiKey.js';
import { partnersOf } from '../../src/config/load.js';
import type { BrokerConfig } from '../../src/config/schema.js';
import { GrantStoreUnavailableError, UnauthenticatedError } from '../../src/domain/errors.js';
import type { Partner } from '../../src/domain/model.js';
import { deadlineIn, runWithDeadline } from '../../src/ports/deadline.js';
import type { GrantStore } from '../../src/ports/ports.js';
import { createGrantTable, ensureLocalDynamo, localDynamoClient, type LocalDynamo } from '../../scripts/lib/localDynamo.js';
import { brokerConfig, FIXTURE_API_KEYS, FIXTURE_ISSUER, sha256Hex } from '../support/configFixture.js';
import { freePort } from '../../scripts/lib/freePort.js';

const KEYS = {
  acme: FIXTURE_API_KEYS.acmeBackend,
  disabledKey: { id: 'oldk1', key: `sbk_oldk1_${'c3'.repeat(32)}` },
  expiredKey: { id: 'expk1', key: `sbk_expk1_${'d4'.repeat(32)}` },
  disabledClient: { id: 'offk1', key: `sbk_offk1_${'e5'.repeat(32)}` },
  disabledPartner: FIXTURE_API_KEYS.globexBackend,
} as const;
const APP_ORIGIN = 'https://app.acme.example';
const OFF_ORIGIN = 'https://off.acme.example';
const GLOBEX_ORIGIN = 'https://globex.example';
const NOW = new Date('2026-11-30T12:00:00Z');
const REVOCATION = { target: { kind: 'subject', clientId: 'app', subject: 'mallory' }, at: '2026-11-30T11:00:00Z', active: true, reason: 'phished', by: 'arn:aws:iam::111111111111:user/ops' } as const;

const apiKeyClient = (prefix: string, key: { id: string; key: string }, extra: Record<string, unknown> = {}) => ({
  apiKeys: [{ id: key.id, sha256: sha256Hex(key.key), ...extra }],
  prefix, actions: ['read'], maxUploadBytes: 1024, contentTypes: ['text/plain'],
});

/** acme: a good key, a disabled key, an expired key, a disabled client; globex: a disabled partner. */
function contractConfig(): BrokerConfig {
  return brokerConfig({
    allowInsecureLoopbackHttp: false,
    partners: {
      acme: {
        revocations: [REVOCATION],
        clients: {
          old: apiKeyClient('old/', KEYS.disabledKey, { disabled: true }),
          exp: apiKeyClient('exp/', KEYS.expiredKey, { expires: '2020-01-01' }),
          off: { ...apiKeyClient('off/', KEYS.disabledClient), disabled: true, cors: { origins: [OFF_ORIGIN] } },
        },
      },
      globex: { disabled: true, clients: { backend: { cors: { origins: [GLOBEX_ORIGIN] } } } },
    },
  });
}

// ---- the local table ----

let dynamo: LocalDynamo;
let dir: string;
let tableSerial = 0;

/** A client that records the name of every command it sends (the request path must only GetItem). */
function countingClient(endpoint: string): { client: DynamoDBDocumentClient; commands: string[] } {
  const client = localDynamoClient(endpoint);
  const commands: string[] = [];
  client.middlewareStack.add((next, context) => async (args) => {
    commands.push(String(context.commandName));
    return next(args);
  }, { step: 'initialize', name: 'countCommands' });
  return { client, commands };
}

/** A fresh table holding `partners` as the admin writer would write them (codec items, version 1). */
async function tableWith(partners: ReadonlyMap<string, Partner>, version = 1): Promise<string> {
  tableSerial += 1;
  const table = `grants-contract-${tableSerial}`;
  const writer = localDynamoClient(dynamo.endpoint);
  await createGrantTable(writer, table);
  await writeAll(writer, table, partners, version);
  writer.destroy();
  return table;
}

async function writeAll(writer: Pick<DynamoDBDocumentClient, 'send'>, table: string, partners: ReadonlyMap<string, Partner>, version: number) {
  const meta = { updatedAt: NOW, updatedBy: 'arn:aws:iam::111111111111:user/contract-test' };
  for (const [id, partner] of partners) await writer.send(new PutCommand({ TableName: table, Item: encodePartnerItem(id, partner, meta) }));
  for (const item of pointerItemsFor(partners)) await writer.send(new PutCommand({ TableName: table, Item: item }));
  await writer.send(new PutCommand({ TableName: table, Item: encodeVersionItem(version, NOW) }));
}

interface Built {
  store: DynamoGrantStore;
  commands: string[];
  errors: Array<Record<string, unknown>>;
  advance: (ms: number) => void;
  table: string;
  client: DynamoDBDocumentClient;
}

function dynamoStore(table: string, options: { boundMs?: number; maxNegativeEntries?: number } = {}): Built {
  let now = 0;
  const { client, commands } = countingClient(dynamo.endpoint);
  const errors: Array<Record<string, unknown>> = [];
  const store = new DynamoGrantStore({
    client, tableName: table, maxStalenessMs: options.boundMs ?? 10_000, maxEntries: 1000,
    maxNegativeEntries: options.maxNegativeEntries ?? 1000, clock: () => now,
    logger: { warn: () => undefined, error: (message, attributes) => errors.push({ message, ...attributes }) },
  });
  return { store, commands, errors, advance: (ms) => { now += ms; }, table, client };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'grant-contract-'));
  dynamo = await ensureLocalDynamo({ dir, port: await freePort(), inMemory: true });
}, 60_000);

afterAll(async () => {
  await dynamo?.stop();
  rmSync(dir, { recursive: true, force: true });
}, 30_000);

// ---- the contract, both stores ----

const STORES: Array<[string, (config: BrokerConfig) => Promise<GrantStore>]> = [
  ['yaml', async (config) => new YamlGrantStore(config)],
  ['dynamodb', async (config) => dynamoStore(await tableWith(partnersOf(config))).store],
];

describe.each(STORES)('grant store contract: %s', (_name, build) => {
  let store: GrantStore;
  beforeAll(async () => {
    store = await build(contractConfig());
  }, 30_000);

  it('finds an API key by id with its owner; an unknown or impossible id is absent', async () => {
    expect(await store.findApiKey(KEYS.acme.id)).toEqual({ partnerId: 'acme', clientId: 'backend', key: { id: KEYS.acme.id, sha256: sha256Hex(KEYS.acme.key) } });
    expect(await store.findApiKey('nope')).toBeUndefined();
    expect(await store.findApiKey('constructor')).toBeUndefined();
    expect(await store.findApiKey('not valid!')).toBeUndefined();
  });

  it('authenticates the good key and refuses the disabled and the expired key', async () => {
    await expect(verifyApiKey(store, KEYS.acme.key, NOW)).resolves.toEqual({ partnerId: 'acme', clientId: 'backend', keyId: KEYS.acme.id });
    await expect(verifyApiKey(store, KEYS.disabledKey.key, NOW)).rejects.toThrow(new UnauthenticatedError('API key is disabled'));
    await expect(verifyApiKey(store, KEYS.expiredKey.key, NOW)).rejects.toThrow(new UnauthenticatedError('API key expired'));
    await expect(verifyApiKey(store, `sbk_nope_${'f6'.repeat(32)}`, NOW)).rejects.toThrow(UnauthenticatedError);
  });

  it('answers disabled clients and partners with their flags (the use cases refuse them with 403)', async () => {
    const off = await store.findApiKey(KEYS.disabledClient.id);
    expect(off?.clientId).toBe('off');
    expect((await store.partner('acme'))?.clients.off?.disabled).toBe(true);
    expect((await store.partner('globex'))?.disabled).toBe(true);
    expect((await store.findApiKey(KEYS.disabledPartner.id))?.partnerId).toBe('globex');
  });

  it('answers revocations exactly as stored (the use cases match them against the caller)', async () => {
    expect((await store.partner('acme'))?.revocations).toEqual([REVOCATION]);
    expect((await store.partner('globex'))?.revocations).toBeUndefined();
  });

  it('finds JWT clients by exact issuer only, as a fresh list', async () => {
    const found = await store.findJwtClients(FIXTURE_ISSUER);
    expect(found.map((c) => [c.partnerId, c.clientId, c.client.jwt?.issuer])).toEqual([['acme', 'app', FIXTURE_ISSUER]]);
    found.pop();
    expect(await store.findJwtClients(FIXTURE_ISSUER)).toHaveLength(1);
    expect(await store.findJwtClients(`${FIXTURE_ISSUER}/`)).toEqual([]);
    expect(await store.findJwtClients('constructor')).toEqual([]);
  });

  it('finds partners by id, never through the prototype', async () => {
    const acme = await store.partner('acme');
    expect(acme?.bucket).toBe('partner-bucket');
    expect(acme?.maxDurationSeconds).toBe(3600);
    expect(await store.partner('nope')).toBeUndefined();
    expect(await store.partner('constructor')).toBeUndefined();
    expect(await store.partner('__proto__')).toBeUndefined();
  });

  it('allows the origins of enabled clients only', async () => {
    expect(await store.isOriginAllowed(APP_ORIGIN)).toBe(true);
    expect(await store.isOriginAllowed(OFF_ORIGIN)).toBe(false); // client disabled
    expect(await store.isOriginAllowed(GLOBEX_ORIGIN)).toBe(false); // partner disabled
    expect(await store.isOriginAllowed('https://evil.example')).toBe(false);
    expect(await store.isOriginAllowed('constructor')).toBe(false);
  });

  it('reports a version', async () => {
    expect(await store.version()).toMatch(/\S/);
  });
});

// ---- what only the remote store has ----

describe('DynamoDB store against dynalite', () => {
  it('an invalid item fails closed: that partner is absent, the reason logged once, other partners unaffected', async () => {
    const table = await tableWith(partnersOf(contractConfig()));
    const writer = localDynamoClient(dynamo.endpoint);
    // a partner item with a wildcard prefix: the schema refuses it on read
    const acme = structuredClone(partnersOf(contractConfig()).get('acme')!);
    const item = encodePartnerItem('acme', acme, { updatedAt: NOW, updatedBy: 'test' }) as unknown as { partner: { clients: Record<string, { prefix: string }> } };
    item.partner.clients.backend!.prefix = '*/';
    await writer.send(new PutCommand({ TableName: table, Item: item as unknown as Record<string, unknown> }));
    writer.destroy();
    const { store, errors } = dynamoStore(table);
    expect(await store.partner('acme')).toBeUndefined();
    expect(await store.findApiKey(KEYS.acme.id)).toBeUndefined(); // the key's partner is refused too
    await expect(verifyApiKey(store, KEYS.acme.key, NOW)).rejects.toThrow(UnauthenticatedError);
    expect(await store.isOriginAllowed(APP_ORIGIN)).toBe(false);
    expect(await store.partner('globex')).toBeDefined();
    const refusals = errors.filter((e) => e.item === partnerKey('acme'));
    expect(refusals).toEqual([expect.objectContaining({ message: 'invalid grant table item refused', reason: expect.stringContaining('partner.clients.backend.prefix') })]);
  }, 30_000);

  it('a pointer that names a client without that key grants nothing', async () => {
    const table = await tableWith(partnersOf(contractConfig()));
    const writer = localDynamoClient(dynamo.endpoint);
    // APIKEY#forged → acme/backend, whose partner item holds no key "forged"
    await writer.send(new PutCommand({ TableName: table, Item: { pk: 'APIKEY#forged', kind: 'apikey', keyId: 'forged', partnerId: 'acme', clientId: 'backend' } }));
    writer.destroy();
    const { store, errors } = dynamoStore(table);
    expect(await store.findApiKey('forged')).toBeUndefined();
    expect(errors.map((e) => e.item)).toEqual(['APIKEY#forged']);
  }, 30_000);

  it('picks up a change after the bound and not before (injected clock); nothing is served from an unconfirmed cache', async () => {
    const partners = partnersOf(contractConfig());
    const table = await tableWith(partners, 1);
    const built = dynamoStore(table, { boundMs: 10_000 });
    expect(await built.store.version()).toBe(UNCONFIRMED_VERSION); // /health before any request: no read
    expect(built.commands).toEqual([]);
    await expect(verifyApiKey(built.store, KEYS.acme.key, NOW)).resolves.toBeDefined();
    expect(await built.store.version()).toBe('dynamodb:1');
    // the operator disables the key: partner item rewritten, version bumped
    const changed = new Map(partners);
    const acme = structuredClone(partners.get('acme')!);
    acme.clients.backend!.apiKeys![0]!.disabled = true;
    changed.set('acme', acme);
    const writer = localDynamoClient(dynamo.endpoint);
    await writeAll(writer, table, changed, 2);
    writer.destroy();
    built.advance(9_999);
    await expect(verifyApiKey(built.store, KEYS.acme.key, NOW)).resolves.toBeDefined(); // within the bound: cached
    built.advance(1);
    await expect(verifyApiKey(built.store, KEYS.acme.key, NOW)).rejects.toThrow('API key is disabled');
    expect(await built.store.version()).toBe('dynamodb:2');
  }, 30_000);

  it('a hit costs no read; a miss at most a pointer and a partner item; only GetItem, never a Scan or Query', async () => {
    const table = await tableWith(partnersOf(contractConfig()));
    const built = dynamoStore(table);
    await built.store.findApiKey(KEYS.acme.id);
    expect(built.commands).toEqual(['GetItemCommand', 'GetItemCommand', 'GetItemCommand']); // version, APIKEY#, PARTNER#
    const afterMiss = built.commands.length;
    for (let i = 0; i < 100; i += 1) {
      await built.store.findApiKey(KEYS.acme.id);
      await built.store.partner('acme');
      await built.store.findJwtClients(FIXTURE_ISSUER);
      await built.store.isOriginAllowed(APP_ORIGIN);
      built.advance(10);
    }
    // 100 rounds within the bound: one ISSUER# and one ORIGIN# read (their partner is cached)
    expect(built.commands.length - afterMiss).toBe(2);
    expect(new Set(built.commands)).toEqual(new Set(['GetItemCommand']));
  }, 30_000);

  it('bounds the negative cache: a flood of random ids is cached up to the bound, repeats cost nothing', async () => {
    const table = await tableWith(partnersOf(contractConfig()));
    const built = dynamoStore(table, { maxNegativeEntries: 5 });
    for (let i = 0; i < 20; i += 1) expect(await built.store.findApiKey(`rnd${i}`)).toBeUndefined();
    expect(built.store.cacheStats().negativeEntries).toBe(5);
    const reads = built.commands.length;
    for (let i = 15; i < 20; i += 1) await built.store.findApiKey(`rnd${i}`); // the 5 newest: cached
    expect(built.commands.length).toBe(reads);
    await built.store.findApiKey('rnd0'); // evicted: read again
    expect(built.commands.length).toBe(reads + 1);
    expect(await built.store.findApiKey(KEYS.acme.id)).toBeDefined(); // a real key still resolves
  }, 30_000);

  it('no time left in the request budget: 503 before any read', async () => {
    const table = await tableWith(partnersOf(contractConfig()));
    const built = dynamoStore(table);
    const refused = runWithDeadline(deadlineIn(50), () => built.store.findApiKey(KEYS.acme.id));
    await expect(refused).rejects.toThrow(GrantStoreUnavailableError);
    expect(built.commands).toEqual([]);
  }, 30_000);

  // Last: it stops the server.
  it('table stopped: answers from the cache within the bound, then 503 grant_store_unavailable with Retry-After, never a stale answer', async () => {
    const table = await tableWith(partnersOf(contractConfig()));
    const built = dynamoStore(table);
    expect(await built.store.findApiKey(KEYS.acme.id)).toBeDefined();
    await dynamo.stop();
    built.advance(5_000);
    expect(await built.store.findApiKey(KEYS.acme.id)).toBeDefined(); // confirmed 5 s ago
    built.advance(5_000);
    const failure = await built.store.findApiKey(KEYS.acme.id).then(() => undefined, (err: unknown) => err);
    expect(failure).toBeInstanceOf(GrantStoreUnavailableError);
    expect(failure).toMatchObject({ status: 503, code: 'grant_store_unavailable', retryAfterSeconds: 2 });
    // CORS before the caller is known: "not allowed" (no headers), never a throw that would turn the 503 into a 500
    await expect(built.store.isOriginAllowed(APP_ORIGIN)).resolves.toBe(false);
    // /health still answers from what was confirmed, without a read
    expect(await built.store.version()).toBe('dynamodb:1');
  }, 30_000);
});

describe('YAML store: an invalid partner fails closed at load', () => {
  it('refuses the whole config (the broker does not start)', () => {
    expect(() => brokerConfig({ partners: { acme: { clients: { backend: { prefix: '*/' } } } } })).toThrow(/prefix/);
  });
});
