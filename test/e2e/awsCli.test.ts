/**
 * Real AWS clients taking their credentials from the broker, with no static keys anywhere:
 *  - the AWS CLI (`aws` on PATH) through `credential_process` (GET /v1/credentials/process via curl),
 *  - the AWS CLI through AWS_CONTAINER_CREDENTIALS_FULL_URI (GET /v1/credentials/container, bare
 *    API key in AWS_CONTAINER_AUTHORIZATION_TOKEN; botocore allows http on loopback),
 *  - the JS SDK's container provider: fromHttp explicitly, and the default Node chain from the env.
 * For each: copy a file into acme/, list it, and fail outside acme/. The CLI's message for a denied
 * upload is odd against RGW ("argument of type 'NoneType' is not iterable"), so denial is asserted
 * by the exit status and by the object's absence, never by the text. acme/backend writes with raw
 * credentials, which it may only because test/e2e/support/stack.ts sets rawWriteCredentials: true on it.
 */
import { ListObjectsV2Command, PutObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { fromHttp } from '@aws-sdk/credential-provider-http';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { awsCliSandbox, get, outcome, ownerSees, randomBinary, s3WithVended, seed, unique, vend, withWrongSecret, type AwsCliSandbox } from './support/helpers.js';
import { readStack, type StackState } from './support/stack.js';

let stack: StackState;
let dir: string;
let cli: AwsCliSandbox;

beforeAll(async () => {
  stack = readStack();
  cli = await awsCliSandbox(stack, 'cli');
  dir = cli.dir;
  // `aws s3 ls` also exits non-zero when nothing matches: seed acme2/ so its failure there can only be a denial
  await seed(stack, stack.bucket, `acme2/${unique(stack, 'cli-seed.txt')}`);
});
afterAll(() => cli.cleanup());



/** cp in, ls shows it, the bytes are right, cp to other/ fails and stores nothing. */
async function exerciseCli(env: NodeJS.ProcessEnv, label: string): Promise<void> {
  const folder = `acme/${unique(stack, label)}/`;
  const bytes = randomBinary(3000);
  const local = join(dir, `${label}.bin`);
  writeFileSync(local, bytes);

  const cp = await cli.aws(env, ['s3', 'cp', local, `s3://${stack.bucket}/${folder}${basename(local)}`]);
  expect({ step: 'cp into acme/', code: cp.code, stderr: cp.code === 0 ? '' : cp.stderr }).toEqual({ step: 'cp into acme/', code: 0, stderr: '' });

  const ls = await cli.aws(env, ['s3', 'ls', `s3://${stack.bucket}/${folder}`]);
  expect({ step: 'ls acme/…', code: ls.code }).toEqual({ step: 'ls acme/…', code: 0 });
  expect(ls.stdout).toContain(basename(local));

  const check = s3WithVended(stack, (await vend(stack, stack.keys.acme.backend, { actions: ['read'] })).credentials);
  const got = await get(check, stack.bucket, `${folder}${basename(local)}`);
  expect(got.status).toBe(200);
  expect(got.body!.equals(bytes)).toBe(true);

  const outsideKey = `other/${unique(stack, label)}.bin`;
  const denied = await cli.aws(env, ['s3', 'cp', local, `s3://${stack.bucket}/${outsideKey}`]);
  expect({ step: 'cp into other/', failed: denied.code !== 0 }).toEqual({ step: 'cp into other/', failed: true });
  expect(await ownerSees(stack, stack.bucket, outsideKey)).toBe(false);

  // acme2/ holds an object (seeded above), so a non-zero exit here is the server's denial, not an empty listing
  const lsOutside = await cli.aws(env, ['s3', 'ls', `s3://${stack.bucket}/acme2/`]);
  expect({ step: 'ls acme2/', failed: lsOutside.code !== 0, stdout: lsOutside.stdout }).toEqual({ step: 'ls acme2/', failed: true, stdout: '' });
}

describe('AWS CLI', () => {
  test('credential_process = curl … /v1/credentials/process: cp into acme/, ls shows it; cp to other/ fails', async () => {
    const config = join(dir, 'config-process');
    writeFileSync(config, [
      '[profile broker]',
      `credential_process = curl -sf -H "X-Api-Key: ${stack.keys.acme.backend}" ${stack.url}/v1/credentials/process`,
      '',
    ].join('\n'), { mode: 0o600 });
    await exerciseCli(cli.env({ AWS_CONFIG_FILE: config, AWS_PROFILE: 'broker' }), 'cli-process');
  });

  test('credential_process with a wrong key: every command fails (curl -f turns the 401 into a failure)', async () => {
    const config = join(dir, 'config-bad');
    writeFileSync(config, `[profile broker]\ncredential_process = curl -sf -H "X-Api-Key: ${withWrongSecret(stack.keys.acme.backend)}" ${stack.url}/v1/credentials/process\n`);
    const ls = await cli.aws(cli.env({ AWS_CONFIG_FILE: config, AWS_PROFILE: 'broker' }), ['s3', 'ls', `s3://${stack.bucket}/acme/`]);
    expect(ls.code).not.toBe(0);
  });

  test('AWS_CONTAINER_CREDENTIALS_FULL_URI=…/v1/credentials/container + bare key token: cp into acme/, ls; other/ fails', async () => {
    await exerciseCli(cli.env({
      AWS_CONTAINER_CREDENTIALS_FULL_URI: `${stack.url}/v1/credentials/container`,
      AWS_CONTAINER_AUTHORIZATION_TOKEN: stack.keys.acme.backend,
    }), 'cli-container');
  });
});

describe('JS SDK container-credentials provider', () => {
  async function exerciseSdk(s3: S3Client, label: string): Promise<void> {
    const key = `acme/${unique(stack, label)}.txt`;
    expect((await outcome(s3.send(new PutObjectCommand({ Bucket: stack.bucket, Key: key, Body: label })))).status).toBe(200);
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: stack.bucket, Prefix: key }));
    expect((listed.Contents ?? []).map((o) => o.Key)).toEqual([key]);
    for (const outsideKey of [`other/${unique(stack, label)}.txt`, `acme2/${unique(stack, label)}.txt`]) {
      expect(await outcome(s3.send(new PutObjectCommand({ Bucket: stack.bucket, Key: outsideKey, Body: label })))).toEqual({ status: 403, code: 'AccessDenied' });
      expect(await ownerSees(stack, stack.bucket, outsideKey)).toBe(false);
    }
  }

  const s3With = (credentials?: S3ClientConfig['credentials']) => new S3Client({
    endpoint: stack.endpoint, region: stack.region, forcePathStyle: true, maxAttempts: 1,
    requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED',
    ...(credentials ? { credentials } : {}),
  });

  test('fromHttp({ awsContainerCredentialsFullUri, awsContainerAuthorizationToken: <bare key> }) → working, scoped credentials', async () => {
    const provider = fromHttp({
      awsContainerCredentialsFullUri: `${stack.url}/v1/credentials/container`,
      awsContainerAuthorizationToken: stack.keys.acme.backend,
      maxRetries: 0,
    });
    const creds = await provider();
    expect(creds.sessionToken).toMatch(/\S/);
    expect(creds.expiration!.getTime()).toBeGreaterThan(Date.now() + 800_000);
    await exerciseSdk(s3With(provider), 'sdk-fromhttp');
  });

  test('fromHttp with a wrong key rejects (401), so no credentials', async () => {
    const provider = fromHttp({
      awsContainerCredentialsFullUri: `${stack.url}/v1/credentials/container`,
      awsContainerAuthorizationToken: withWrongSecret(stack.keys.acme.backend),
      maxRetries: 0,
    });
    await expect(provider()).rejects.toThrow();
  });

  test('the default Node provider chain, configured only by AWS_CONTAINER_CREDENTIALS_FULL_URI / _AUTHORIZATION_TOKEN', async () => {
    const saved = { ...process.env };
    try {
      for (const k of Object.keys(process.env)) if (k.startsWith('AWS_')) delete process.env[k];
      Object.assign(process.env, {
        AWS_CONFIG_FILE: cli.emptyFile,
        AWS_SHARED_CREDENTIALS_FILE: cli.emptyFile,
        AWS_EC2_METADATA_DISABLED: 'true',
        AWS_CONTAINER_CREDENTIALS_FULL_URI: `${stack.url}/v1/credentials/container`,
        AWS_CONTAINER_AUTHORIZATION_TOKEN: stack.keys.acme.backend,
      });
      const s3 = s3With();
      const creds = await s3.config.credentials();
      expect(creds.sessionToken).toMatch(/\S/);
      await exerciseSdk(s3, 'sdk-chain');
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    }
  });
});
