/**
 * The grant table reader, only where it can be used: with BROKER_GRANT_STORE=dynamodb this is
 * ./withGrantTable.ts `dynamoGrantTable`, otherwise undefined. The store is a package-time choice
 * (serverless.yml): the bundler replaces `process.env.BROKER_GRANT_STORE` with a literal (esbuild
 * `define`, like STS_BROKER_TRACING in ./withAws.ts), so in a yaml bundle the condition is constant,
 * the import is dropped, and no DynamoDB client is in the bundle. Unbundled (tests, tsx) it is read
 * from the environment when this module is first imported.
 *
 * Handlers that read grants pass it to cold start (`grantTable`); health and openapi do not import it.
 */
import type { GrantTableFactory } from './coldStart.js';

export const grantTable: GrantTableFactory | undefined = process.env.BROKER_GRANT_STORE === 'dynamodb'
  ? (await import('./withGrantTable.js')).dynamoGrantTable
  : undefined;
