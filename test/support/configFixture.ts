/**
 * A valid broker config for tests, as a plain object, YAML text or parsed BrokerConfig. Two
 * partners: `acme` (API-key client `backend`, JWT client `app` with a `${sub}` prefix) and
 * `globex` (API-key client `backend`). Every call builds fresh objects, so tests never share
 * mutable fixtures; pass `overrides` to change any part.
 *
 * Overrides merge deeply: objects merge key by key, arrays and scalars replace, and a key whose
 * override is `undefined` is deleted (so `{ partners: { globex: undefined } }` drops globex).
 */
import { createHash } from 'node:crypto';
import { stringify } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import type { BrokerConfig } from '../../src/config/schema.js';

/** Plaintext API keys matching the fixture's hashes, for authentication tests. */
export const FIXTURE_API_KEYS = {
  acmeBackend: { id: 'acmek1', key: `sbk_acmek1_${'a1'.repeat(32)}` },
  globexBackend: { id: 'globexk1', key: `sbk_globexk1_${'b2'.repeat(32)}` },
} as const;

export const FIXTURE_ISSUER = 'https://issuer.example';
export const FIXTURE_AUDIENCE = 'acme-app';
export const FIXTURE_SOURCE = 'fixture.yaml';

/** SHA-256 hex of a whole API key, as stored in the config. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Anything a test may put into the raw config. */
export type Overrides = { [key: string]: unknown };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date);
}

/** Deep merge per the rules in the module comment; returns a new object. */
export function mergeOverrides(base: Record<string, unknown>, overrides: Overrides): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete out[key];
    else if (isPlainObject(value) && isPlainObject(out[key])) out[key] = mergeOverrides(out[key] as Record<string, unknown>, value);
    else out[key] = value;
  }
  return out;
}

/** The raw (pre-validation) config object. */
export function configObject(overrides: Overrides = {}): Record<string, unknown> {
  const base = {
    partners: {
      acme: {
        roleArn: 'arn:aws:iam::111111111111:role/Role-A',
        externalId: 'acme-3f9c',
        bucket: 'partner-bucket',
        region: 'ap-northeast-1',
        maxDurationSeconds: 3600,
        clients: {
          backend: {
            apiKeys: [{ id: FIXTURE_API_KEYS.acmeBackend.id, sha256: sha256Hex(FIXTURE_API_KEYS.acmeBackend.key) }],
            prefix: 'acme/',
            actions: ['read', 'write', 'list', 'delete'],
            maxUploadBytes: 104857600,
            contentTypes: ['application/pdf', 'image/png', 'image/jpeg'],
            cors: { origins: [] },
          },
          app: {
            jwt: { issuer: FIXTURE_ISSUER, audience: FIXTURE_AUDIENCE, algorithms: ['ES256'] },
            prefix: 'acme/users/${sub}/',
            actions: ['read', 'write'],
            maxUploadBytes: 26214400,
            contentTypes: ['image/jpeg'],
            cors: { origins: ['https://app.acme.example'] },
            maxDurationSeconds: 900,
          },
        },
      },
      globex: {
        roleArn: 'arn:aws:iam::222222222222:role/Role-G',
        bucket: 'globex-bucket',
        region: 'eu-west-1',
        clients: {
          backend: {
            apiKeys: [{ id: FIXTURE_API_KEYS.globexBackend.id, sha256: sha256Hex(FIXTURE_API_KEYS.globexBackend.key) }],
            prefix: 'globex/',
            actions: ['read', 'list'],
            maxUploadBytes: 1048576,
            contentTypes: ['text/csv'],
          },
        },
      },
    },
  };
  return mergeOverrides(base, overrides);
}

/** The config as YAML text. */
export function configYaml(overrides: Overrides = {}): string {
  return stringify(configObject(overrides));
}

/** The config parsed and validated exactly as the broker does at cold start. */
export function brokerConfig(overrides: Overrides = {}): BrokerConfig {
  return parseConfig(configYaml(overrides), FIXTURE_SOURCE);
}

/**
 * Overrides that opt one client in to raw write credentials (`rawWriteCredentials: true`): without
 * it POST /v1/credentials and its twins never vend `write` (IAM cannot carry maxUploadBytes or
 * contentTypes). Tests that vend write say so explicitly with this; merge it with other overrides
 * through mergeOverrides.
 */
export function rawWriteOptIn(partner = 'acme', client = 'backend'): Overrides {
  return { partners: { [partner]: { clients: { [client]: { rawWriteCredentials: true } } } } };
}
