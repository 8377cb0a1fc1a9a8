import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { BrokerError, fromStsBroker } from '../src/index.js';
import { startFake, type FakeBroker } from './support/fakeBroker.js';

const T = { timeout: 15_000 };
const T0 = Date.parse('2030-01-01T00:00:00Z');

describe('fromStsBroker', T, () => {
  let fake: FakeBroker;
  before(async () => {
    fake = await startFake();
    let n = 0;
    // credentials that expire 900 s after the injected clock's start
    fake.override('POST /v1/credentials', (req) => {
      if (req.json?.actions?.includes('write')) return undefined; // the default route refuses write (outside_grant)
      n++;
      return {
        json: {
          credentials: { accessKeyId: `ASIA${n}`, secretAccessKey: 's', sessionToken: `t${n}`, expiration: new Date(T0 + n * 900_000).toISOString() },
          bucket: 'b', region: 'r', prefix: 'p/', actions: req.json?.actions ?? ['read'], sessionName: 's',
        },
      };
    });
  });
  after(() => fake.close());

  test('single flight: 10 concurrent calls make one broker request and share its answer', T, async () => {
    const before = fake.calls('/v1/credentials').length;
    const provider = fromStsBroker({ url: fake.url, apiKey: 'sbk_test_secret', actions: ['read', 'list'], prefix: 'in/', durationSeconds: 900, now: () => T0 });
    const all = await Promise.all(Array.from({ length: 10 }, () => provider()));
    assert.equal(fake.calls('/v1/credentials').length - before, 1);
    assert.ok(all.every((c) => c === all[0]));
    assert.deepEqual(fake.calls('/v1/credentials').at(-1)!.json, { actions: ['read', 'list'], prefix: 'in/', durationSeconds: 900 });
    const c = all[0]!;
    assert.equal(typeof c.accessKeyId, 'string');
    assert.equal(c.secretAccessKey, 's');
    assert.ok(c.expiration instanceof Date);
  });

  test('cached until expiry minus the margin, then refreshed (injected clock)', T, async () => {
    let clock = T0;
    const provider = fromStsBroker({ url: fake.url, token: 'good-token', refreshMarginSeconds: 300, now: () => clock });
    const before = fake.calls('/v1/credentials').length;
    const first = await provider();
    const expiresAt = first.expiration.getTime();
    clock = expiresAt - 301_000;
    assert.equal(await provider(), first, 'still cached 301 s before expiry');
    assert.equal(fake.calls('/v1/credentials').length - before, 1);
    clock = expiresAt - 299_000;
    const second = await provider();
    assert.notEqual(second.accessKeyId, first.accessKeyId, 'refreshed inside the margin, before expiry');
    assert.equal(fake.calls('/v1/credentials').length - before, 2);
    assert.equal(fake.calls('/v1/credentials').at(-1)!.headers.authorization, 'Bearer good-token');
    assert.notEqual(await provider({ forceRefresh: true }), second);
  });

  test('a refusal surfaces as the typed BrokerError (write without rawWriteCredentials: 403 outside_grant)', T, async () => {
    const provider = fromStsBroker({ url: fake.url, apiKey: 'sbk_test_secret', actions: ['write'] });
    const results = await Promise.allSettled([provider(), provider()]);
    for (const r of results) {
      assert.equal(r.status, 'rejected');
      const error = (r as PromiseRejectedResult).reason;
      assert.ok(error instanceof BrokerError);
      assert.equal(error.code, 'outside_grant');
      assert.equal(error.status, 403);
      assert.ok(error.requestId);
    }
    // the failure is not cached: the next call asks again
    const before = fake.calls('/v1/credentials').length;
    await provider().catch(() => undefined);
    assert.equal(fake.calls('/v1/credentials').length - before, 1);
  });

  test('needs an API key or a token', () => {
    assert.throws(() => fromStsBroker({ url: fake.url } as never), TypeError);
  });
});
