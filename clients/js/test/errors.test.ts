import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { BROKER_ERROR_CODES, BrokerError, createBrokerClient, ERROR_CODE_STATUS } from '../src/index.js';
import { errorReply, startFake, type FakeBroker } from './support/fakeBroker.js';

const T = { timeout: 15_000 };

describe('broker errors', T, () => {
  let fake: FakeBroker;
  before(async () => {
    fake = await startFake();
  });
  after(() => fake.close());

  test('every error code maps to a BrokerError with its code, status, message and request id', T, async () => {
    assert.ok(BROKER_ERROR_CODES.length >= 20);
    const client = createBrokerClient({ url: fake.url, auth: { apiKey: 'sbk_test_secret' }, retries: 0 });
    for (const code of BROKER_ERROR_CODES) {
      const status = ERROR_CODE_STATUS[code];
      fake.override('GET /v1/whoami', () => errorReply(status, code, `message for ${code}`));
      const error = await client.whoami().then(() => undefined, (e: unknown) => e);
      assert.ok(error instanceof BrokerError, `${code}: ${String(error)}`);
      assert.equal(error.code, code);
      assert.equal(error.status, status);
      assert.equal(error.message, `message for ${code}`);
      assert.equal(error.requestId, 'body-request-id');
      assert.equal(error.name, 'BrokerError');
    }
  });

  test('the request id falls back to X-Request-Id; Retry-After is read', T, async () => {
    const client = createBrokerClient({ url: fake.url, auth: { apiKey: 'sbk_test_secret' }, retries: 0 });
    fake.override('GET /v1/whoami', () => ({ status: 503, headers: { 'retry-after': '7' }, json: { error: { code: 'sts_throttled', message: 'm' } } }));
    const error = await client.whoami().catch((e: BrokerError) => e);
    assert.ok(error instanceof BrokerError);
    assert.equal(error.code, 'sts_throttled');
    assert.match(String(error.requestId), /^req-\d+$/);
    assert.equal(error.retryAfterSeconds, 7);
  });

  test('API Gateway bodies and unknown codes become unexpected_response, keeping status and raw code', T, async () => {
    const client = createBrokerClient({ url: fake.url, auth: { apiKey: 'sbk_test_secret' }, retries: 0 });
    fake.override('GET /v1/whoami', () => ({ status: 429, json: { message: 'Too Many Requests' } }));
    const gateway = await client.whoami().catch((e: BrokerError) => e);
    assert.ok(gateway instanceof BrokerError);
    assert.equal(gateway.code, 'unexpected_response');
    assert.equal(gateway.status, 429);
    assert.match(gateway.message, /Too Many Requests/);

    fake.override('GET /v1/whoami', () => errorReply(418, 'brand_new_code', 'new'));
    const unknown = await client.whoami().catch((e: BrokerError) => e);
    assert.ok(unknown instanceof BrokerError);
    assert.equal(unknown.code, 'unexpected_response');
    assert.equal(unknown.rawCode, 'brand_new_code');
  });

  test('auth: an API key goes in X-Api-Key, a token (or token function) in Authorization: Bearer', T, async () => {
    fake.overrides.delete('GET /v1/whoami');
    const byKey = createBrokerClient({ url: fake.url, auth: { apiKey: 'sbk_test_secret' } });
    assert.equal((await byKey.whoami()).client, 'client');
    let asked = 0;
    const byToken = createBrokerClient({ url: `${fake.url}/`, auth: { token: async () => { asked++; return 'good-token'; } } });
    assert.equal((await byToken.whoami()).grant.rawWriteCredentials, false);
    assert.equal(asked, 1);
    const bad = createBrokerClient({ url: fake.url, auth: { token: 'bad' } });
    const error = await bad.whoami().catch((e: BrokerError) => e);
    assert.ok(error instanceof BrokerError);
    assert.equal(error.code, 'unauthenticated');
    assert.equal(error.status, 401);
  });
});
