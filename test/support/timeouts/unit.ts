/**
 * jest `setupFilesAfterEnv` module of the unit project (see ./e2e.ts for why timeouts are set here
 * and not in jest.config.js). Most unit tests take milliseconds, but some spawn a CLI through tsx,
 * start loopback servers or run thousands of property cases; on a busy 2-core machine those take
 * seconds, so the bound is generous. A hung test still fails, with a clear message, after a minute.
 */
import { jest } from '@jest/globals';

export const UNIT_TEST_TIMEOUT_MS = 60_000;
jest.setTimeout(UNIT_TEST_TIMEOUT_MS);
