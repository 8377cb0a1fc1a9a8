import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { BrokerError, createBrokerClient, type FetchLike } from '../src/index.js';
import { errorReply, startFake, type FakeBroker } from './support/fakeBroker.js';

const T = { timeout: 20_000 };

describe('retries', T, () => {
  let fake: FakeBroker;
  before(async () => {
    fake = await startFake();
  });
  after(() => fake.close());

  test('429 with Retry-After: 1 is retried after at least 1 s, then succeeds', T, async () => {
    const before = fake.calls('/v1/credentials').length;
    let n = 0;
    fake.override('POST /v1/credentials', () => (++n === 1 ? errorReply(429, 'rate_limited', 'slow down', { 'retry-after': '1' }) : undefined));
    const client = createBrokerClient({ url: fake.url, auth: { apiKey: 'sbk_test_secret' } });
    const started = Date.now();
    const answer = await client.credentials({ actions: ['read'] });
    const calls = fake.calls('/v1/credentials').slice(before);
    assert.equal(answer.credentials.accessKeyId, 'ASIA1');
    assert.equal(calls.length, 2);
    assert.ok(calls[1]!.at - calls[0]!.at >= 1000, `second attempt ${calls[1]!.at - calls[0]!.at} ms after the first`);
    assert.ok(Date.now() - started >= 1000);
    fake.overrides.delete('POST /v1/credentials');
  });

  test('attempts are bounded: a 503 that never ends is tried maxAttempts times, then thrown with its Retry-After', T, async () => {
    const before = fake.calls('/v1/whoami').length;
    fake.override('GET /v1/whoami', () => errorReply(503, 'sts_unavailable', 'down', { 'retry-after': '1' }));
    const client = createBrokerClient({ url: fake.url, auth: { apiKey: 'sbk_test_secret' }, retries: { maxAttempts: 3 } });
    const error = await client.whoami().catch((e: unknown) => e);
    assert.ok(error instanceof BrokerError);
    assert.equal(error.code, 'sts_unavailable');
    assert.equal(error.retryAfterSeconds, 1);
    assert.equal(fake.calls('/v1/whoami').length - before, 3);
    fake.overrides.delete('GET /v1/whoami');
  });

  test('a Retry-After beyond the elapsed budget is not waited for', T, async () => {
    const before = fake.calls('/v1/whoami').length;
    fake.override('GET /v1/whoami', () => errorReply(429, 'rate_limited', 'later', { 'retry-after': '120' }));
    const client = createBrokerClient({ url: fake.url, auth: { apiKey: 'sbk_test_secret' }, retries: { maxAttempts: 5, maxElapsedMs: 5_000 } });
    const error = await client.whoami().catch((e: unknown) => e);
    assert.ok(error instanceof BrokerError);
    assert.equal(error.retryAfterSeconds, 120);
    assert.equal(fake.calls('/v1/whoami').length - before, 1);
    fake.overrides.delete('GET /v1/whoami');
  });

  test('other statuses (400, 403, 500, 502, 504) are not retried', T, async () => {
    const client = createBrokerClient({ url: fake.url, auth: { apiKey: 'sbk_test_secret' } });
    for (const [status, code] of [[400, 'invalid_request'], [403, 'outside_grant'], [500, 'internal_error'], [502, 'sts_error'], [504, 'sts_timeout']] as const) {
      const before = fake.calls('/v1/whoami').length;
      fake.override('GET /v1/whoami', () => errorReply(status, code, 'no'));
      const error = await client.whoami().catch((e: unknown) => e);
      assert.ok(error instanceof BrokerError && error.code === code);
      assert.equal(fake.calls('/v1/whoami').length - before, 1, code);
    }
    fake.overrides.delete('GET /v1/whoami');
  });

  test('network errors are retried on idempotent calls only', T, async () => {
    let failures = 0;
    const flaky: FetchLike = async (input, init) => {
      if (failures < 1) {
        failures++;
        throw new TypeError('fetch failed');
      }
      return fetch(input, init);
    };
    // integrity given: otherwise the first upload asks whoami first, and the flaky first call would hit that
    const client = createBrokerClient({ url: fake.url, auth: { apiKey: 'sbk_test_secret' }, fetch: flaky, retries: { baseDelayMs: 10 }, integrity: 'none' });
    assert.equal((await client.whoami()).client, 'client');
    assert.equal(failures, 1);

    failures = 0;
    const before = fake.calls('/v1/uploads/multipart').length;
    const create = await client.uploadMultipart(new Uint8Array(10), { key: 'a.bin', contentType: 'application/octet-stream' }).catch((e: unknown) => e);
    assert.ok(create instanceof TypeError, 'creating a multipart upload is not idempotent: not retried');
    assert.equal(fake.calls('/v1/uploads/multipart').length - before, 0);
  });

  test('an abort during the Retry-After wait stops the retries', T, async () => {
    const before = fake.calls('/v1/whoami').length;
    fake.override('GET /v1/whoami', () => errorReply(429, 'rate_limited', 'later', { 'retry-after': '5' }));
    const client = createBrokerClient({ url: fake.url, auth: { apiKey: 'sbk_test_secret' } });
    const controller = new AbortController();
    const pending = client.whoami({ signal: controller.signal });
    setTimeout(() => controller.abort(), 200);
    const error = await pending.catch((e: unknown) => e);
    assert.equal((error as Error).name, 'AbortError');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(fake.calls('/v1/whoami').length - before, 1);
    fake.overrides.delete('GET /v1/whoami');
  });
});
