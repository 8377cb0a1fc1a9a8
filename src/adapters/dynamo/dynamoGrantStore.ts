/**
 * The GrantStore over the DynamoDB grant table (docs/grant-store.md): each capability is at most a
 * couple of GetItems on a miss (a pointer item, then the partner item that holds the truth) and
 * none on a hit, behind the per-container cache with bounded staleness (rules/grantCache.ts).
 *
 * Fail closed, everywhere:
 * - a read that fails (unreachable, throttled, timed out, table missing, access denied) is a
 *   GrantStoreUnavailableError (503 with Retry-After), never an answer from an unconfirmed cache;
 * - an item that does not validate is treated as absent and logged with the reason (never widens a
 *   grant): a bad partner item refuses that partner, a bad pointer refuses that key/issuer/origin;
 * - a pointer is only a hint: the answer always comes from the partner item (the key id, the
 *   issuer, the origin must be there, in the client the pointer names).
 * Every read is strongly consistent: after the version item says "changed", an eventually
 * consistent item read could still return the old item and pin it in the cache past the bound.
 */
import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { GrantStoreUnavailableError } from '../../domain/errors.js';
import type { ApiKey, Client, Partner } from '../../domain/model.js';
import { currentDeadline, MIN_UPSTREAM_ATTEMPT_MS } from '../../ports/deadline.js';
import type { GrantStore } from '../../ports/ports.js';
import { GrantCache, type GrantCacheMetrics, type GrantCacheStats } from '../../rules/grantCache.js';
import { API_KEY_ID, NAME } from '../../rules/identifiers.js';
import { describeSdkError } from '../aws/sdkError.js';
import {
  apiKeyKey, decodeApiKeyItem, decodeIssuerItem, decodeOriginItem, decodePartnerItem, decodeVersionItem, issuerKey,
  MAX_PK_BYTES, originKey, partnerKey, VERSION_PK, type ClientRef, type Decoded,
} from './items.js';

/** The slice of a structured logger the store uses; Powertools' Logger satisfies it. */
export interface GrantStoreLogger {
  warn(message: string, attributes: Record<string, unknown>): void;
  error(message: string, attributes: Record<string, unknown>): void;
}

export interface DynamoGrantStoreOptions {
  client: Pick<DynamoDBDocumentClient, 'send'>;
  tableName: string;
  /** BROKER_GRANT_STORE_MAX_STALENESS_SECONDS, in ms. */
  maxStalenessMs: number;
  maxEntries: number;
  maxNegativeEntries: number;
  clock: () => number;
  logger: GrantStoreLogger;
  /** Sent as Retry-After with a 503; default 2 s (throttling and blips clear within seconds). */
  retryAfterSeconds?: number;
  /** Cache hits, misses and staleness per lookup (the GrantStore* metrics). */
  metrics?: GrantCacheMetrics | undefined;
}

type ApiKeyOwner = { partnerId: string; clientId: string; key: ApiKey };
type JwtClient = { partnerId: string; clientId: string; client: Client };

/** Distinct invalid-item reasons remembered so each is logged once per container (bounded). */
const MAX_LOGGED_REASONS = 1000;
/** Before the first version read: /health reports this instead of reading the table. */
export const UNCONFIRMED_VERSION = 'dynamodb:unconfirmed';

export class DynamoGrantStore implements GrantStore {
  readonly #options: DynamoGrantStoreOptions;
  readonly #cache: GrantCache;
  readonly #logged = new Set<string>();

  constructor(options: DynamoGrantStoreOptions) {
    this.#options = options;
    this.#cache = new GrantCache(() => this.#readVersion(), {
      maxStalenessMs: options.maxStalenessMs,
      clock: options.clock,
      maxEntries: options.maxEntries,
      maxNegativeEntries: options.maxNegativeEntries,
      metrics: options.metrics,
    });
  }

  async findApiKey(id: string): Promise<ApiKeyOwner | undefined> {
    // Ids that could not be stored are answered without a read (and without filling the negative cache).
    if (!API_KEY_ID.test(id)) return undefined;
    return this.#cache.get(`apikey\n${id}`, async () => {
      const pointer = await this.#pointer(apiKeyKey(id), (raw) => decodeApiKeyItem(id, raw));
      if (pointer === undefined) return undefined;
      const client = await this.#client(pointer, apiKeyKey(id));
      const key = client?.apiKeys?.find((k) => k.id === id);
      if (key === undefined) {
        this.#invalid(apiKeyKey(id), `the pointer names ${pointer.partnerId}/${pointer.clientId}, which holds no API key with this id`);
        return undefined;
      }
      return { partnerId: pointer.partnerId, clientId: pointer.clientId, key };
    });
  }

  async findJwtClients(issuer: string): Promise<JwtClient[]> {
    if (!fitsKey(issuer)) return [];
    const found = await this.#cache.get(`issuer\n${issuer}`, async () => {
      const pointer = await this.#pointer(issuerKey(issuer), (raw) => decodeIssuerItem(issuer, raw));
      if (pointer === undefined) return undefined;
      const clients: JwtClient[] = [];
      for (const ref of pointer.clients) {
        const client = await this.#client(ref, issuerKey(issuer));
        if (client?.jwt?.issuer === issuer) clients.push({ partnerId: ref.partnerId, clientId: ref.clientId, client });
        else if (client !== undefined) this.#invalid(issuerKey(issuer), `the pointer names ${ref.partnerId}/${ref.clientId}, which is not a JWT client of this issuer`);
      }
      return clients.length > 0 ? clients : undefined;
    });
    // A fresh array: a caller that changes it changes nothing in the cache.
    return [...(found ?? [])];
  }

  async partner(partnerId: string): Promise<Partner | undefined> {
    if (!NAME.test(partnerId)) return undefined;
    return this.#partner(partnerId);
  }

  /**
   * A disabled partner's or client's origins are not allowed before the caller is known. When the
   * table cannot be read the answer is "not allowed" (already logged by the read): this question is
   * asked for CORS headers only, also while an error answer is being built (a 401, the 503 of this very
   * outage), and must neither widen anything nor turn that answer into a 500. A preflight then gets no
   * CORS headers, which a browser treats exactly like a failed preflight.
   */
  async isOriginAllowed(origin: string): Promise<boolean> {
    if (!fitsKey(origin)) return false;
    try {
      return await this.#originAllowed(origin);
    } catch (err) {
      if (err instanceof GrantStoreUnavailableError) return false;
      throw err;
    }
  }

  async #originAllowed(origin: string): Promise<boolean> {
    const allowed = await this.#cache.get(`origin\n${origin}`, async () => {
      const pointer = await this.#pointer(originKey(origin), (raw) => decodeOriginItem(origin, raw));
      if (pointer === undefined) return undefined;
      for (const ref of pointer.clients) {
        const partner = await this.#partner(ref.partnerId);
        const client = partner !== undefined && Object.hasOwn(partner.clients, ref.clientId) ? partner.clients[ref.clientId] : undefined;
        if (partner?.disabled !== true && client !== undefined && client.disabled !== true && client.cors.origins.includes(origin)) return true;
      }
      return undefined;
    });
    return allowed === true;
  }

  /** The version this container last confirmed, as a string; never reads the table. */
  async version(): Promise<string> {
    const version = this.#cache.cachedVersion();
    return version === undefined ? UNCONFIRMED_VERSION : `dynamodb:${version}`;
  }

  /** Cache counters, for the benchmark and tests. */
  cacheStats(): GrantCacheStats {
    return this.#cache.stats();
  }

  #partner(partnerId: string): Promise<Partner | undefined> {
    return this.#cache.get(`partner\n${partnerId}`, async () => {
      const pk = partnerKey(partnerId);
      const raw = await this.#read(pk);
      if (raw === undefined) return undefined;
      const decoded = decodePartnerItem(partnerId, raw);
      if (!decoded.ok) {
        this.#invalid(pk, decoded.reason);
        return undefined;
      }
      return decoded.value.partner;
    });
  }

  async #client(ref: ClientRef, via: string): Promise<Client | undefined> {
    const partner = await this.#partner(ref.partnerId);
    if (partner === undefined) {
      this.#invalid(via, `the pointer names partner ${ref.partnerId}, which is absent or invalid`);
      return undefined;
    }
    // Object.hasOwn: a client id such as "constructor" must not resolve through the prototype.
    if (!Object.hasOwn(partner.clients, ref.clientId)) {
      this.#invalid(via, `the pointer names client ${ref.partnerId}/${ref.clientId}, which the partner item does not hold`);
      return undefined;
    }
    return partner.clients[ref.clientId];
  }

  async #pointer<T>(pk: string, decode: (raw: unknown) => Decoded<T>): Promise<T | undefined> {
    const raw = await this.#read(pk);
    if (raw === undefined) return undefined;
    const decoded = decode(raw);
    if (decoded.ok) return decoded.value;
    this.#invalid(pk, decoded.reason);
    return undefined;
  }

  async #readVersion(): Promise<number> {
    const raw = await this.#read(VERSION_PK);
    // No version item yet: an empty table, nothing written; every lookup answers "absent".
    if (raw === undefined) return 0;
    const decoded = decodeVersionItem(raw);
    if (decoded.ok) return decoded.value.version;
    // Without a valid version the bound cannot be kept: refuse to answer at all.
    this.#invalid(VERSION_PK, decoded.reason);
    throw this.#unavailable('the grant table\'s version item is invalid');
  }

  /** One strongly consistent GetItem; every failure is a GrantStoreUnavailableError. */
  async #read(pk: string): Promise<Record<string, unknown> | undefined> {
    const deadline = currentDeadline();
    if (deadline !== undefined && deadline.remainingMs() < MIN_UPSTREAM_ATTEMPT_MS) {
      throw this.#unavailable('no time left in the request\'s budget for a grant table read');
    }
    try {
      const output = await this.#options.client.send(
        new GetCommand({ TableName: this.#options.tableName, Key: { pk }, ConsistentRead: true }),
        deadline === undefined ? {} : { abortSignal: deadline.signal },
      );
      return output.Item;
    } catch (err) {
      this.#options.logger.warn('grant table read failed', { table: this.#options.tableName, kind: pk.slice(0, pk.indexOf('#')), ...describeSdkError(err) });
      throw this.#unavailable('the grant table could not be read', err);
    }
  }

  #unavailable(message: string, cause?: unknown): GrantStoreUnavailableError {
    return new GrantStoreUnavailableError(message, { cause, retryAfterSeconds: this.#options.retryAfterSeconds ?? 2 });
  }

  /** Logs an invalid item once per (item, reason) per container; the caller treats it as absent. */
  #invalid(pk: string, reason: string): void {
    const entry = `${pk}\n${reason}`;
    if (this.#logged.has(entry)) return;
    if (this.#logged.size >= MAX_LOGGED_REASONS) this.#logged.clear();
    this.#logged.add(entry);
    // The item key names a partner, key id, issuer or origin: identifiers, never secrets.
    this.#options.logger.error('invalid grant table item refused', { table: this.#options.tableName, item: pk.slice(0, 300), reason: reason.slice(0, 1000) });
  }
}

/** Issuers and origins too long for a partition key cannot be stored: answered without a read. */
function fitsKey(value: string): boolean {
  return value.length > 0 && Buffer.byteLength(value, 'utf8') <= MAX_PK_BYTES - 16;
}

