/**
 * SDK-only baseline (section 4) for `credentials` built with the DynamoDB grant store: the same
 * first table reads the broker's store makes on a container's first request, then the same
 * AssumeRole as ./sts.ts.
 *
 * The store's first request (src/adapters/dynamo/dynamoGrantStore.ts behind src/rules/grantCache.ts)
 * reads, one after the other, each a strongly consistent GetItem through the document client:
 * the version item (the cache confirms it before any lookup), the API key's pointer item, then the
 * partner item the pointer names. The client is made as src/adapters/dynamo/client.ts makes it (its
 * defaults: 1000 ms per attempt, 2 attempts, standard retries) but without the broker's deadline
 * guard, so what differs is the broker's own code. The table and endpoint come from the same
 * variables the function reads (BROKER_GRANT_TABLE, BROKER_DYNAMODB_ENDPOINT).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { assumer, type BaselineResponse, type BaselineTarget } from './sts.js';

/** The partition keys to read, in order (made by ../coldStart.ts with the item codec's key functions). */
export interface DynamoBaselineTarget extends BaselineTarget { readKeys: string[] }

export function makeHandler(target: DynamoBaselineTarget): () => Promise<BaselineResponse> {
  const table = process.env.BROKER_GRANT_TABLE;
  if (table === undefined || table === '') throw new Error('BROKER_GRANT_TABLE is not set');
  const documents = DynamoDBDocumentClient.from(new DynamoDBClient({
    ...(process.env.BROKER_DYNAMODB_ENDPOINT === undefined ? {} : { endpoint: process.env.BROKER_DYNAMODB_ENDPOINT }),
    maxAttempts: 2,
    retryMode: 'standard',
    requestHandler: { connectionTimeout: 1000, requestTimeout: 1000, throwOnRequestTimeout: true },
  }), { marshallOptions: { removeUndefinedValues: true } });
  const assume = assumer(target);
  return async () => {
    for (const pk of target.readKeys) {
      const out = await documents.send(new GetCommand({ TableName: table, Key: { pk }, ConsistentRead: true }));
      // the broker would refuse the request without each of these items: so does the baseline
      if (out.Item === undefined) throw new Error(`grant table ${table} has no item ${pk}`);
    }
    const c = await assume();
    return { statusCode: 200, body: JSON.stringify({ expiration: c.Expiration }) };
  };
}
