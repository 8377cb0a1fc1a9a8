/**
 * The GrantStore over the bundled YAML config: an in-memory index built once at cold start from
 * the validated config (config/load.ts has already run the whole-store invariants), answering each
 * capability with one map lookup, as a database keyed the same way would.
 */
import { configHash, partnersOf } from '../config/load.js';
import type { BrokerConfig } from '../config/schema.js';
import { ConfigError } from '../domain/errors.js';
import type { ApiKey, Client, Partner } from '../domain/model.js';
import type { GrantStore } from '../ports/ports.js';

type ApiKeyOwner = { partnerId: string; clientId: string; key: ApiKey };
type JwtClient = { partnerId: string; clientId: string; client: Client };

/**
 * GrantStore over a BrokerConfig: API keys indexed by id, JWT clients by exact issuer, origins in one
 * set. Partners, clients and keys are answered with their `disabled` flags and revocations as
 * configured; deciding what they refuse is the use cases' (auth/apiKey.ts, usecases/resolveGrant.ts).
 */
export class YamlGrantStore implements GrantStore {
  readonly #version: string;
  // Maps, not the config's plain objects: a partner or key id named "constructor" must not reach
  // Object.prototype.
  readonly #partners: ReadonlyMap<string, Partner>;
  readonly #apiKeys = new Map<string, ApiKeyOwner>();
  readonly #jwtClients = new Map<string, JwtClient[]>();
  readonly #origins = new Set<string>();

  constructor(config: BrokerConfig) {
    this.#version = configHash(config);
    this.#partners = partnersOf(config);
    for (const [partnerId, partner] of this.#partners) {
      for (const [clientId, client] of Object.entries(partner.clients)) this.#index(partnerId, partner, clientId, client);
    }
  }

  #index(partnerId: string, partner: Partner, clientId: string, client: Client): void {
    for (const key of client.apiKeys ?? []) {
      // The loader refuses duplicates already; a store built from an unchecked object must too,
      // or one key id would silently pick one of two clients.
      if (this.#apiKeys.has(key.id)) throw new ConfigError(`duplicate API key id "${key.id}"`);
      this.#apiKeys.set(key.id, { partnerId, clientId, key });
    }
    if (client.jwt) {
      const list = this.#jwtClients.get(client.jwt.issuer) ?? [];
      list.push({ partnerId, clientId, client });
      this.#jwtClients.set(client.jwt.issuer, list);
    }
    // Disabled partners and clients keep their keys and issuers (the caller is then refused with
    // 403 access_revoked once known, usecases/resolveGrant.ts) but lend no origin to answers given
    // before the caller is known: the same rule as the DynamoDB store (adapters/dynamo).
    if (partner.disabled === true || client.disabled === true) return;
    for (const origin of client.cors.origins) this.#origins.add(origin);
  }

  async findApiKey(id: string): Promise<ApiKeyOwner | undefined> {
    return this.#apiKeys.get(id);
  }

  /** A fresh array: a caller that changes it changes nothing here. */
  async findJwtClients(issuer: string): Promise<JwtClient[]> {
    return [...(this.#jwtClients.get(issuer) ?? [])];
  }

  async partner(partnerId: string): Promise<Partner | undefined> {
    return this.#partners.get(partnerId);
  }

  async isOriginAllowed(origin: string): Promise<boolean> {
    return this.#origins.has(origin);
  }

  /** The config hash: equal configs, equal versions. */
  async version(): Promise<string> {
    return this.#version;
  }
}
