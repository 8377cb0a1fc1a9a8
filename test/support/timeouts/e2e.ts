/**
 * jest `setupFilesAfterEnv` module of the e2e project. Jest reads `testTimeout` only as a global
 * option: set inside a `projects` entry it is silently ignored and every test runs under the 5 s
 * default. Setting it here, per test file, is what really applies it. The e2e tests spawn the AWS
 * CLI and talk to a real gateway on a possibly busy 2-core machine, so they get a generous bound.
 * test/e2e/timeouts.test.ts proves it is in force.
 */
import { jest } from '@jest/globals';

export const E2E_TEST_TIMEOUT_MS = 120_000;
jest.setTimeout(E2E_TEST_TIMEOUT_MS);
