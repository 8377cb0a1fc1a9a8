/**
 * jest `setupFilesAfterEnv` module of the slow project (see ./e2e.ts for why the timeout is set
 * here and not in jest.config.js). The gateway's shortest session is 900 s, so the expiry test waits
 * ~15.5 minutes; 20 minutes bounds it. test/slow/timeouts.test.ts proves it is in force.
 */
import { jest } from '@jest/globals';

export const SLOW_TEST_TIMEOUT_MS = 20 * 60_000;
jest.setTimeout(SLOW_TEST_TIMEOUT_MS);
