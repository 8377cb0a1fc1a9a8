/**
 * The credential_process helper, bin/sts-broker-credentials, as real clients run it against the
 * real API and the real local S3: the AWS CLI (`aws` on PATH) through a profile whose
 * credential_process is `node <repo>/bin/sts-broker-credentials …`, configured by flags or by
 * environment, narrowed or not; and the JS SDK's default provider chain through the same profile.
 * (The container-credentials route, for the CLI and fromHttp, is covered by awsCli.test.ts.)
 * Denials are asserted by exit status and by the object's absence, never by the CLI's text
 * (its message for a denied upload against RGW is odd: docs/local-aws.md). acme/backend writes with raw
 * credentials, which it may only because test/e2e/support/stack.ts sets rawWriteCredentials: true on it.
 */
import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { awsCliSandbox, get, outcome, ownerSees, randomBinary, run, s3WithVended, seed, unique, vend, withWrongSecret, type ExecResult, type AwsCliSandbox } from './support/helpers.js';
import { readStack, type StackState } from './support/stack.js';

const HELPER = fileURLToPath(new URL('../../bin/sts-broker-credentials', import.meta.url));

let stack: StackState;
let dir: string;
let cli: AwsCliSandbox;
let keyFile: string;

beforeAll(async () => {
  stack = readStack();
  cli = await awsCliSandbox(stack, 'clients');
  dir = cli.dir;
  keyFile = join(dir, 'acme-backend.key');
  writeFileSync(keyFile, `${stack.keys.acme.backend}\n`, { mode: 0o600 });
  // `aws s3 ls` also exits non-zero when nothing matches: seed acme2/ so a failure there can only be a denial
  await seed(stack, stack.bucket, `acme2/${unique(stack, 'clients-seed.txt')}`);
});
afterAll(() => cli.cleanup());

/** A config file with one profile whose credential_process is the helper with `args`. */
function profile(name: string, args: string[]): string {
  const path = join(dir, `config-${name}`);
  writeFileSync(path, `[profile broker]\ncredential_process = node ${HELPER} ${args.join(' ')}\n`, { mode: 0o600 });
  return path;
}



const step = (name: string, r: ExecResult, ok: boolean) => ({ step: name, ok: r.code === 0, ...(r.code !== 0 && ok ? { stderr: r.stderr } : {}) });

describe('AWS CLI with credential_process = node bin/sts-broker-credentials', () => {
  test('--url and --key-file: cp into acme/, ls shows it with the right bytes; cp to other/ and ls acme2/ fail', async () => {
    const env = cli.env({ AWS_CONFIG_FILE: profile('flags', ['--url', stack.url, '--key-file', keyFile]), AWS_PROFILE: 'broker' });
    const folder = `acme/${unique(stack, 'helper-cli')}/`;
    const bytes = randomBinary(4096);
    const local = join(dir, 'helper-cli.bin');
    writeFileSync(local, bytes);

    expect(step('cp into acme/', await cli.aws(env, ['s3', 'cp', local, `s3://${stack.bucket}/${folder}${basename(local)}`]), true)).toEqual({ step: 'cp into acme/', ok: true });
    const ls = await cli.aws(env, ['s3', 'ls', `s3://${stack.bucket}/${folder}`]);
    expect(step('ls acme/…', ls, true)).toEqual({ step: 'ls acme/…', ok: true });
    expect(ls.stdout).toContain(basename(local));
    const check = s3WithVended(stack, (await vend(stack, stack.keys.acme.backend, { actions: ['read'] })).credentials);
    const got = await get(check, stack.bucket, `${folder}${basename(local)}`);
    expect(got.body?.equals(bytes)).toBe(true);

    const outsideKey = `other/${unique(stack, 'helper-cli.bin')}`;
    expect(step('cp into other/', await cli.aws(env, ['s3', 'cp', local, `s3://${stack.bucket}/${outsideKey}`]), false)).toEqual({ step: 'cp into other/', ok: false });
    expect(await ownerSees(stack, stack.bucket, outsideKey)).toBe(false);
    const lsOutside = await cli.aws(env, ['s3', 'ls', `s3://${stack.bucket}/acme2/`]);
    expect({ ...step('ls acme2/', lsOutside, false), stdout: lsOutside.stdout }).toEqual({ step: 'ls acme2/', ok: false, stdout: '' });
  });

  test('configured by STS_BROKER_URL / STS_BROKER_API_KEY_FILE and narrowed with --actions read,list: ls works, cp fails', async () => {
    const folder = `acme/${unique(stack, 'helper-ro')}/`;
    await seed(stack, stack.bucket, `${folder}seeded.txt`);
    const env = cli.env({
      AWS_CONFIG_FILE: profile('env', ['--actions', 'read,list']), AWS_PROFILE: 'broker',
      STS_BROKER_URL: stack.url, STS_BROKER_API_KEY_FILE: keyFile,
    });
    const ls = await cli.aws(env, ['s3', 'ls', `s3://${stack.bucket}/${folder}`]);
    expect(step('ls acme/…', ls, true)).toEqual({ step: 'ls acme/…', ok: true });
    expect(ls.stdout).toContain('seeded.txt');
    const local = join(dir, 'ro.txt');
    writeFileSync(local, 'read-only credentials cannot write this');
    expect(step('cp with read,list', await cli.aws(env, ['s3', 'cp', local, `s3://${stack.bucket}/${folder}ro.txt`]), false)).toEqual({ step: 'cp with read,list', ok: false });
    expect(await ownerSees(stack, stack.bucket, `${folder}ro.txt`)).toBe(false);
  });

  test('a wrong key: the helper fails, so every command fails', async () => {
    const wrong = join(dir, 'wrong.key');
    writeFileSync(wrong, withWrongSecret(stack.keys.acme.backend), { mode: 0o600 });
    const env = cli.env({ AWS_CONFIG_FILE: profile('wrong', ['--url', stack.url, '--key-file', wrong]), AWS_PROFILE: 'broker' });
    const ls = await cli.aws(env, ['s3', 'ls', `s3://${stack.bucket}/acme/`]);
    expect(ls.code).not.toBe(0);
    expect(ls.stdout).toBe('');
  });
});

describe('JS SDK default provider chain through the same profile', () => {
  test('AWS_PROFILE with credential_process = the helper → PutObject and ListObjectsV2 in acme/; elsewhere 403', async () => {
    const saved = { ...process.env };
    try {
      for (const k of Object.keys(process.env)) if (k.startsWith('AWS_')) delete process.env[k];
      Object.assign(process.env, {
        AWS_CONFIG_FILE: profile('sdk', ['--url', stack.url, '--key-file', keyFile]),
        AWS_SHARED_CREDENTIALS_FILE: cli.emptyFile,
        AWS_PROFILE: 'broker',
        AWS_EC2_METADATA_DISABLED: 'true',
      });
      const s3 = new S3Client({
        endpoint: stack.endpoint, region: stack.region, forcePathStyle: true, maxAttempts: 1,
        requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED',
      });
      const creds = await s3.config.credentials();
      expect(creds.sessionToken).toMatch(/\S/);
      const key = `acme/${unique(stack, 'helper-sdk.txt')}`;
      expect((await outcome(s3.send(new PutObjectCommand({ Bucket: stack.bucket, Key: key, Body: 'via credential_process' })))).status).toBe(200);
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: stack.bucket, Prefix: key }));
      expect((listed.Contents ?? []).map((o) => o.Key)).toEqual([key]);
      const outsideKey = `acme2/${unique(stack, 'helper-sdk.txt')}`;
      expect(await outcome(s3.send(new PutObjectCommand({ Bucket: stack.bucket, Key: outsideKey, Body: 'x' })))).toEqual({ status: 403, code: 'AccessDenied' });
      expect(await ownerSees(stack, stack.bucket, outsideKey)).toBe(false);
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    }
  });
});
