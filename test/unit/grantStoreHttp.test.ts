/**
 * The DynamoDB store's outage through the real middleware stack: an authenticated route answers
 * 503 grant_store_unavailable with Retry-After (never a 500, even with an Origin header whose CORS
 * check needs the same unreadable table), a preflight answers without CORS headers, and /health
 * answers from what the container knows without reading the table.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createGrantTableClient } from '../../src/adapters/dynamo/client.js';
import { DynamoGrantStore, UNCONFIRMED_VERSION } from '../../src/adapters/dynamo/dynamoGrantStore.js';
import { preflightHandler } from '../../src/http/preflight.js';
import { healthRoute } from '../../src/routes/health.js';
import { whoamiRoute } from '../../src/routes/whoami.js';
import { apiEvent } from '../support/apiEvent.js';
import { testDeps } from '../support/brokerDeps.js';
import { brokerConfig, FIXTURE_API_KEYS } from '../support/configFixture.js';
import { invokeRoute } from '../support/invokeRoute.js';
import { serve, type TestServer } from '../support/loopbackServer.js';

let table: TestServer;
let store: DynamoGrantStore;

beforeAll(async () => {
  // A table endpoint that throttles every request.
  table = await serve((_req, res) => {
    const body = JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#ThrottlingException', message: 'Rate exceeded' });
    res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0', 'content-length': Buffer.byteLength(body) }).end(body);
  });
  store = new DynamoGrantStore({
    client: createGrantTableClient({ endpoint: table.url, timeoutMs: 1000, maxAttempts: 2, region: 'eu-west-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }),
    tableName: 'grants', maxStalenessMs: 10_000, maxEntries: 100, maxNegativeEntries: 100, clock: Date.now,
    logger: { warn: () => undefined, error: () => undefined },
  });
});

afterAll(async () => {
  await table.close();
});

const depsWith = () => ({ ...testDeps(brokerConfig()).deps, store });

describe('grant table outage through the handler stack', () => {
  it('/health answers the unconfirmed version without reading the table', async () => {
    const { res, body } = await invokeRoute(healthRoute, depsWith(), apiEvent({ method: 'GET', path: '/health' }));
    expect(res.statusCode).toBe(200);
    expect(body.configHash).toBe(UNCONFIRMED_VERSION);
    expect(table.requests()).toBe(0);
  }, 30_000);

  it('an authenticated route answers 503 grant_store_unavailable with Retry-After, also with an Origin header', async () => {
    const event = apiEvent({ method: 'GET', path: '/v1/whoami', headers: { authorization: `Bearer ${FIXTURE_API_KEYS.acmeBackend.key}`, origin: 'https://app.acme.example' } });
    const { res, body } = await invokeRoute(whoamiRoute, depsWith(), event);
    expect(res.statusCode).toBe(503);
    expect(body.error).toMatchObject({ code: 'grant_store_unavailable' });
    expect(res.headers?.['retry-after']).toBe('2');
    expect(res.headers?.['access-control-allow-origin']).toBeUndefined();
    expect(table.requests()).toBeGreaterThan(0);
  }, 30_000);

  it('a preflight answers without CORS headers (a failed preflight to the browser), not a 500', async () => {
    const res = await preflightHandler(() => depsWith())(apiEvent({ method: 'OPTIONS', path: '/v1/uploads', headers: { origin: 'https://app.acme.example' } }));
    expect(res.statusCode).toBe(204);
    expect(res.headers?.['access-control-allow-origin']).toBeUndefined();
  }, 30_000);
});
