/**
 * The environment-only credential provider the bundles carry in place of the SDK's default chain
 * (serverless.yml esbuild `alias`): what it reads, what it refuses, and that a real SDK client signs
 * with what it returns.
 */
import { describe, expect, it } from '@jest/globals';
import { STSClient } from '@aws-sdk/client-sts';
import fc from 'fast-check';
import { credentialsTreatedAsExpired, credentialsWillNeedRefresh, defaultProvider, fromEnvironment } from '../../src/wiring/lambdaCredentials.js';

const LAMBDA_ENV = { AWS_ACCESS_KEY_ID: 'ASIAEXAMPLEKEY', AWS_SECRET_ACCESS_KEY: 'example-secret', AWS_SESSION_TOKEN: 'example-token' };

describe('fromEnvironment', () => {
  it('returns what Lambda puts in the environment, and nothing it did not', async () => {
    await expect(fromEnvironment(LAMBDA_ENV)()).resolves.toEqual({ accessKeyId: 'ASIAEXAMPLEKEY', secretAccessKey: 'example-secret', sessionToken: 'example-token' });
  });

  it('reads the optional fields as the SDK environment provider does', async () => {
    const got = await fromEnvironment({ ...LAMBDA_ENV, AWS_CREDENTIAL_EXPIRATION: '2030-01-02T03:04:05Z', AWS_CREDENTIAL_SCOPE: 'eu-west-1', AWS_ACCOUNT_ID: '123456789012' })();
    expect(got.expiration).toEqual(new Date('2030-01-02T03:04:05Z'));
    expect(got).toMatchObject({ credentialScope: 'eu-west-1', accountId: '123456789012' });
  });

  it('reads the environment when asked, not when built', async () => {
    const env: Record<string, string | undefined> = {};
    const provider = fromEnvironment(env);
    Object.assign(env, LAMBDA_ENV);
    await expect(provider()).resolves.toMatchObject({ accessKeyId: 'ASIAEXAMPLEKEY' });
  });

  it('refuses a missing or empty key or secret, naming the variables and never a value', async () => {
    await fc.assert(fc.asyncProperty(
      fc.record({ AWS_ACCESS_KEY_ID: fc.constantFrom(undefined, '', 'ASIAKEYVALUE'), AWS_SECRET_ACCESS_KEY: fc.constantFrom(undefined, '', 'secret-value') })
        .filter((e) => !(e.AWS_ACCESS_KEY_ID && e.AWS_SECRET_ACCESS_KEY)),
      async (env) => {
        const failure = await fromEnvironment({ ...env, AWS_SESSION_TOKEN: 'token-value', AWS_PROFILE: 'dev' })().then(() => undefined, (e: unknown) => e as Error);
        expect(failure?.message).toMatch(/AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set/);
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
    const saved = { ...process.env };
    try {
      // A profile makes the SDK's own chain skip the environment (and fail here, with no such
      // profile): resolving the environment's key proves this module answered, not the chain.
      Object.assign(process.env, LAMBDA_ENV, { AWS_PROFILE: 'sts-broker-test-no-such-profile', AWS_CONFIG_FILE: '/nonexistent/config', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials' });
      const client = new STSClient({ region: 'eu-west-1', credentialDefaultProvider: defaultProvider });
      await expect(client.config.credentials()).resolves.toMatchObject({ accessKeyId: 'ASIAEXAMPLEKEY', sessionToken: 'example-token' });
      client.destroy();
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    }
  });
});
