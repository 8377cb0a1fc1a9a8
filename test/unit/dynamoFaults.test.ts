/**
 * The DynamoDB store against a table endpoint that misbehaves (a real HTTP server on 127.0.0.1):
 * silent, throttling, or refusing. Every case is a 503 grant_store_unavailable with Retry-After,
 * and retries stay inside the request's deadline.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { createGrantTableClient, GrantTableDeadlineError } from '../../src/adapters/dynamo/client.js';
import { DynamoGrantStore } from '../../src/adapters/dynamo/dynamoGrantStore.js';
import { GrantStoreUnavailableError } from '../../src/domain/errors.js';
import { deadlineIn, runWithDeadline } from '../../src/ports/deadline.js';
import { serve, type TestServer } from '../support/loopbackServer.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function storeAt(url: string, options: { timeoutMs: number; maxAttempts: number }) {
  const warnings: Array<Record<string, unknown>> = [];
  const client = createGrantTableClient({ endpoint: url, ...options, region: 'eu-west-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const store = new DynamoGrantStore({
    client, tableName: 'grants', maxStalenessMs: 10_000, maxEntries: 10, maxNegativeEntries: 10, clock: () => 0,
    logger: { warn: (message, attributes) => warnings.push({ message, ...attributes }), error: () => undefined },
  });
  return { store, warnings };
}

describe('DynamoDB store faults', () => {
  it('a silent endpoint: each attempt is cut at the timeout, then 503 with Retry-After', async () => {
    server = await serve(() => undefined); // accepts, never answers
    const { store, warnings } = storeAt(server.url, { timeoutMs: 300, maxAttempts: 2 });
    const failure = await store.findApiKey('k1').then(() => undefined, (err: unknown) => err);
    expect(failure).toBeInstanceOf(GrantStoreUnavailableError);
    expect(failure).toMatchObject({ status: 503, code: 'grant_store_unavailable', retryAfterSeconds: 2 });
    expect(server.requests()).toBe(2);
    expect(warnings).toEqual([expect.objectContaining({ message: 'grant table read failed', table: 'grants', kind: 'META' })]);
  }, 30_000);

  it('a silent endpoint under a request deadline: the deadline aborts the attempt, no retry follows', async () => {
    server = await serve(() => undefined);
    // per-attempt timeout far beyond the deadline: the deadline's abort ends the first attempt
    const { store } = storeAt(server.url, { timeoutMs: 5_000, maxAttempts: 5 });
    const refused = runWithDeadline(deadlineIn(700), () => store.partner('acme'));
    await expect(refused).rejects.toThrow(GrantStoreUnavailableError);
    expect(server.requests()).toBe(1);
  }, 30_000);

  it('the client starts no attempt with less than the minimum attempt time left (the guard in its retry loop)', async () => {
    server = await serve(() => undefined);
    const client = createGrantTableClient({ endpoint: server.url, timeoutMs: 5_000, maxAttempts: 5, region: 'eu-west-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    const send = runWithDeadline(deadlineIn(150), () => client.send(new GetCommand({ TableName: 'grants', Key: { pk: 'META#version' } })));
    await expect(send).rejects.toThrow(GrantTableDeadlineError);
    expect(server.requests()).toBe(0);
    client.destroy();
  }, 30_000);

  it('throttling answers (400 ThrottlingException) are retried, then 503, never a 500', async () => {
    server = await serve((_req, res) => {
      const body = JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#ThrottlingException', message: 'Rate of requests exceeds the allowed throughput.' });
      res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0', 'content-length': Buffer.byteLength(body) }).end(body);
    });
    const { store } = storeAt(server.url, { timeoutMs: 1_000, maxAttempts: 3 });
    await expect(store.findApiKey('k1')).rejects.toThrow(GrantStoreUnavailableError);
    expect(server.requests()).toBe(3);
    // CORS before the caller is known: no origin rather than a throw (the request itself gets the 503)
    await expect(store.isOriginAllowed('https://app.example')).resolves.toBe(false);
  }, 30_000);

  it('access denied or a missing table is also 503 (logged), not an empty answer', async () => {
    server = await serve((_req, res) => {
      const body = JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#ResourceNotFoundException', message: 'Requested resource not found' });
      res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0', 'content-length': Buffer.byteLength(body) }).end(body);
    });
    const { store, warnings } = storeAt(server.url, { timeoutMs: 1_000, maxAttempts: 2 });
    await expect(store.findJwtClients('https://issuer.example')).rejects.toThrow(GrantStoreUnavailableError);
    expect(warnings[0]).toMatchObject({ errorName: 'ResourceNotFoundException' });
  }, 30_000);
});
