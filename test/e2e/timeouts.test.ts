/**
 * The e2e project's timeout is really applied: this test runs longer than Jest's 5 s default and
 * passes only because test/support/timeouts/e2e.ts raised the bound (a `testTimeout` inside a
 * `projects` entry of jest.config.js is ignored by Jest, which is how two AWS CLI tests once failed).
 */
import { describe, expect, it } from '@jest/globals';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('e2e test timeout', () => {
  it('a test that takes longer than 5 s passes', async () => {
    const started = Date.now();
    await sleep(6_000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(5_500);
  });
});
