/**
 * The slow project's timeout is really applied (test/support/timeouts/slow.ts): this test passes no
 * timeout of its own and runs longer than Jest's 5 s default.
 */
import { describe, expect, it } from '@jest/globals';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('slow test timeout', () => {
  it('a test that takes longer than 5 s passes without a per-test timeout', async () => {
    const started = Date.now();
    await sleep(6_000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(5_500);
  });
});
