/** The embedded GrantStore: an in-memory index over the validated YAML config. */
import { configHash } from '../config/load.js';
import type { ApiKeyEntry, BrokerConfig, ClientConfig, PartnerConfig } from '../config/schema.js';
import { ConfigError } from '../domain/errors.js';
import type { GrantStore } from '../ports/ports.js';

type ApiKeyOwner = { partnerId: string; clientId: string; entry: ApiKeyEntry };
type JwtClient = { partnerId: string; clientId: string; client: ClientConfig };

/** GrantStore over a BrokerConfig: API keys indexed by id, JWT clients by exact issuer. */
export class ConfigGrantStore implements GrantStore {
  readonly configHash: string;
  // Maps, not the config's plain objects: a partner or key id named "constructor" must not reach
  // Object.prototype.
  readonly #partners: ReadonlyMap<string, PartnerConfig>;
  readonly #apiKeys = new Map<string, ApiKeyOwner>();
  readonly #jwtClients = new Map<string, JwtClient[]>();

  constructor(config: BrokerConfig) {
    this.configHash = configHash(config);
    this.#partners = new Map(Object.entries(config.partners));
    for (const [partnerId, partner] of this.#partners) {
      for (const [clientId, client] of Object.entries(partner.clients)) this.#index(partnerId, clientId, client);
    }
  }

  #index(partnerId: string, clientId: string, client: ClientConfig): void {
    for (const entry of client.apiKeys ?? []) {
      // parseConfig refuses duplicates already; a store built from an unchecked object must too,
      // or one key id would silently pick one of two clients.
      if (this.#apiKeys.has(entry.id)) throw new ConfigError(`duplicate API key id "${entry.id}"`);
      this.#apiKeys.set(entry.id, { partnerId, clientId, entry });
    }
    if (client.jwt) {
      const list = this.#jwtClients.get(client.jwt.issuer) ?? [];
      list.push({ partnerId, clientId, client });
      this.#jwtClients.set(client.jwt.issuer, list);
    }
  }

  /** The API-key entry with this id and its owner, or undefined. */
  findApiKey(id: string): ApiKeyOwner | undefined {
    return this.#apiKeys.get(id);
  }

  /** JWT clients whose configured issuer equals `issuer` exactly (a fresh array). */
  findJwtClients(issuer: string): JwtClient[] {
    return [...(this.#jwtClients.get(issuer) ?? [])];
  }

  /** The partner's config, or undefined. */
  partner(partnerId: string): PartnerConfig | undefined {
    return this.#partners.get(partnerId);
  }
}
