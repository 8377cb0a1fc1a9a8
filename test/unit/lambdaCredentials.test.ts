/**
 * The environment-only credential provider the bundles carry in place of the SDK's default chain
 * (serverless.yml esbuild `alias`): the SDK's own environment provider, wired so that a real SDK
 * client resolves it as its default, reading the variables when asked and never naming a value.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { STSClient } from '@aws-sdk/client-sts';
import fc from 'fast-check';
import { credentialsTreatedAsExpired, credentialsWillNeedRefresh, defaultProvider } from '../../src/wiring/lambdaCredentials.js';

const LAMBDA_ENV = { AWS_ACCESS_KEY_ID: 'ASIAEXAMPLEKEY', AWS_SECRET_ACCESS_KEY: 'example-secret', AWS_SESSION_TOKEN: 'example-token' };
const VARIABLES = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_CREDENTIAL_EXPIRATION', 'AWS_CREDENTIAL_SCOPE', 'AWS_ACCOUNT_ID', 'AWS_PROFILE', 'AWS_CONFIG_FILE', 'AWS_SHARED_CREDENTIALS_FILE'];
const saved = Object.fromEntries(VARIABLES.map((k) => [k, process.env[k]]));
/** Only `env`'s credential variables set, the rest of the process environment untouched. */
function useEnv(env: Record<string, string | undefined>): void {
  for (const k of VARIABLES) delete process.env[k];
  for (const [k, v] of Object.entries(env)) if (v !== undefined) process.env[k] = v;
}
afterEach(() => useEnv(saved));

describe('the bundles\' credential provider', () => {
  it('returns what Lambda puts in the environment', async () => {
    useEnv(LAMBDA_ENV);
    await expect(defaultProvider()()).resolves.toMatchObject({ accessKeyId: 'ASIAEXAMPLEKEY', secretAccessKey: 'example-secret', sessionToken: 'example-token' });
  });

  it('reads the environment when asked, not when built', async () => {
    useEnv({});
    const provider = defaultProvider();
    useEnv(LAMBDA_ENV);
    await expect(provider()).resolves.toMatchObject({ accessKeyId: 'ASIAEXAMPLEKEY' });
  });

  it('refuses a missing or empty key or secret without naming any value', async () => {
    await fc.assert(fc.asyncProperty(
      fc.record({ AWS_ACCESS_KEY_ID: fc.constantFrom(undefined, '', 'ASIAKEYVALUE'), AWS_SECRET_ACCESS_KEY: fc.constantFrom(undefined, '', 'secret-value') })
        .filter((e) => !(e.AWS_ACCESS_KEY_ID && e.AWS_SECRET_ACCESS_KEY)),
      async (env) => {
        useEnv({ ...env, AWS_SESSION_TOKEN: 'token-value', AWS_PROFILE: 'dev' });
        const failure = await defaultProvider()().then(() => undefined, (e: unknown) => e as Error);
        expect(failure).toBeInstanceOf(Error);
        expect(failure?.message).not.toMatch(/ASIAKEYVALUE|secret-value|token-value/);
      },
    ));
  });

  it('has the shape of the SDK package it stands in for', () => {
    expect(credentialsWillNeedRefresh()).toBe(false);
    expect(credentialsTreatedAsExpired()).toBe(false);
    expect(typeof defaultProvider({})).toBe('function');
  });

  it('is what an SDK client resolves when it is the client\'s default provider', async () => {
    // A profile makes the SDK's own chain skip the environment (and fail here, with no such
    // profile): resolving the environment's key proves this module answered, not the chain.
    useEnv({ ...LAMBDA_ENV, AWS_PROFILE: 'sts-broker-test-no-such-profile', AWS_CONFIG_FILE: '/nonexistent/config', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials' });
    const client = new STSClient({ region: 'eu-west-1', credentialDefaultProvider: defaultProvider });
    await expect(client.config.credentials()).resolves.toMatchObject({ accessKeyId: 'ASIAEXAMPLEKEY', sessionToken: 'example-token' });
    client.destroy();
  });
});
