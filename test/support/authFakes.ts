/**
 * Builders for the auth tests: a GrantStore fake (an object literal through the port, so these
 * tests never depend on the real store) and client configs. Every call returns fresh objects.
 */
import type { ApiKey as ApiKeyEntry, Client as ClientConfig, JwtClientSettings as JwtClientConfig } from '../../src/domain/model.js';
import type { GrantStore } from '../../src/ports/ports.js';

export interface FakeApiKey {
  partnerId: string;
  clientId: string;
  key: ApiKeyEntry;
}

export interface FakeJwtClient {
  partnerId: string;
  clientId: string;
  client: ClientConfig;
}

/** A GrantStore holding exactly these API keys and JWT clients. */
export function fakeStore(contents: { apiKeys?: FakeApiKey[]; jwtClients?: FakeJwtClient[] }): GrantStore {
  const apiKeys = contents.apiKeys ?? [];
  const jwtClients = contents.jwtClients ?? [];
  return {
    findApiKey: async (id) => apiKeys.find((k) => k.key.id === id),
    findJwtClients: async (issuer) => jwtClients.filter((c) => c.client.jwt?.issuer === issuer),
    partner: async () => undefined,
    isOriginAllowed: async () => false,
    version: async () => 'test',
  };
}

const grantFields = {
  prefix: 'acme/',
  actions: ['read', 'write'],
  maxUploadBytes: 1024,
  contentTypes: ['image/png'],
  cors: { origins: [] },
} satisfies Omit<ClientConfig, 'apiKeys' | 'jwt'>;

/** A JWT client config; `audience` defaults to "acme-app", algorithms to ES256 and RS256. */
export function jwtClient(jwt: Partial<JwtClientConfig> & { issuer: string }): ClientConfig {
  return {
    ...grantFields,
    prefix: 'acme/users/${sub}/',
    jwt: { audience: 'acme-app', algorithms: ['ES256', 'RS256'], subjectClaim: 'sub', ...jwt },
  };
}

/** An API-key client config holding these entries. */
export function apiKeyClient(entries: ApiKeyEntry[]): ClientConfig {
  return { ...grantFields, apiKeys: entries };
}

/** What `run` threw (or rejected with); fails the test when it succeeded. */
export async function caught(run: () => unknown): Promise<Error> {
  try {
    await run();
  } catch (err) {
    if (err instanceof Error) return err;
    throw new Error(`threw a non-Error: ${String(err)}`);
  }
  throw new Error('expected an error, but the call succeeded');
}
