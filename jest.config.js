/** @type {import('jest').Config} */
const shared = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  // source imports use NodeNext-style "./x.js" specifiers; map them back to the .ts files
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['@swc/jest', {
      jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
      module: { type: 'es6' },
      sourceMaps: 'inline',
    }],
  },
};

export default {
  projects: [
    {
      ...shared,
      displayName: 'unit',
      roots: ['<rootDir>/test/unit', '<rootDir>/test/property'],
      testMatch: ['**/*.test.ts'],
      // tees every worker's log output into $LOG_CAPTURE_DIR for scripts/check-logs.ts (no secret in any log)
      setupFiles: ['<rootDir>/test/support/logCaptureSetup.ts'],
      // Jest ignores `testTimeout` inside a project: the setup file applies it (see the file)
      setupFilesAfterEnv: ['<rootDir>/test/support/timeouts/unit.ts'],
    },
    {
      ...shared,
      displayName: 'e2e',
      roots: ['<rootDir>/test/e2e'],
      testMatch: ['**/*.test.ts'],
      // Jest ignores `testTimeout` inside a project: the setup file applies it (see the file)
      setupFilesAfterEnv: ['<rootDir>/test/support/timeouts/e2e.ts'],
      // one real stack (local S3 + STS, serverless-offline) for every e2e file: see test/e2e/support/stack.ts
      globalSetup: '<rootDir>/test/e2e/support/globalSetup.mjs',
      globalTeardown: '<rootDir>/test/e2e/support/globalTeardown.mjs',
    },
    {
      ...shared,
      displayName: 'slow',
      roots: ['<rootDir>/test/slow'],
      testMatch: ['**/*.test.ts'],
      // the gateway's shortest session is 900 s: expiry is proven by waiting for it (~15.5 min);
      // Jest ignores `testTimeout` inside a project: the setup file applies it (see the file)
      setupFilesAfterEnv: ['<rootDir>/test/support/timeouts/slow.ts'],
      globalSetup: '<rootDir>/test/e2e/support/globalSetup.mjs',
      globalTeardown: '<rootDir>/test/e2e/support/globalTeardown.mjs',
    },
  ],
};
