/**
 * The DynamoDB grant table reader (BROKER_GRANT_STORE=dynamodb), for the functions that read grants:
 * every authenticated route (through ./withAws.ts) and, without STS or S3, whoami and the CORS
 * preflight (`coldStartWithGrantTable`). Health and openapi never read grants: they wire from
 * ./coldStart.ts and carry no SDK. With the yaml store the factory is never called, so a function
 * wired here reads no table and makes no DynamoDB client.
 */
import { createGrantTableClient } from '../adapters/dynamo/client.js';
import { DynamoGrantStore } from '../adapters/dynamo/dynamoGrantStore.js';
import { ConfigError } from '../domain/errors.js';
import { grantStoreCacheMetrics } from '../observability/metrics.js';
import type { BrokerDeps } from '../usecases/deps.js';
import { noIssuer, noPresigner, wire, type GrantTableFactory } from './coldStart.js';

/** Builds the DynamoDB GrantStore from the validated settings. */
export const dynamoGrantTable: GrantTableFactory = (settings, logger, clock) => {
  // readSettings requires the table with the dynamodb store; this guards a direct call.
  if (settings.BROKER_GRANT_TABLE === undefined) throw new ConfigError('invalid environment: BROKER_GRANT_TABLE: required when BROKER_GRANT_STORE is dynamodb');
  return new DynamoGrantStore({
    client: createGrantTableClient({
      endpoint: settings.BROKER_DYNAMODB_ENDPOINT,
      timeoutMs: settings.BROKER_DYNAMODB_TIMEOUT_MS,
      maxAttempts: settings.BROKER_DYNAMODB_MAX_ATTEMPTS,
    }),
    tableName: settings.BROKER_GRANT_TABLE,
    maxStalenessMs: settings.BROKER_GRANT_STORE_MAX_STALENESS_SECONDS * 1000,
    maxEntries: settings.BROKER_GRANT_CACHE_ENTRIES,
    maxNegativeEntries: settings.BROKER_GRANT_NEGATIVE_CACHE_ENTRIES,
    clock,
    logger,
    metrics: grantStoreCacheMetrics,
  });
};

/** Cold start for functions that read grants but call no other AWS API (whoami, preflight). */
export function coldStartWithGrantTable(options: { env?: Record<string, string | undefined> } = {}): BrokerDeps {
  return wire({ ...options, presigner: noPresigner, issuer: () => noIssuer, grantTable: dynamoGrantTable });
}
