/**
 * bin/sts-broker-credentials' cache and its `serve` mode with the real AWS CLI, the real broker
 * (serverless-offline) and the real local S3. The helper reaches the broker through a loopback
 * relay that counts requests, so "no vend" is measured, not assumed:
 *  - credential_process with the cache: the second `aws` command makes no broker request (without
 *    the cache, every command is one vend, as the AWS CLI keeps nothing between runs);
 *  - serve: the AWS CLI with AWS_CONTAINER_CREDENTIALS_FULL_URI + AWS_CONTAINER_AUTHORIZATION_TOKEN
 *    as printed lists and gets an object (one vend, at start); a wrong token gets nothing.
 * acme/backend is used for reading only here.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { awsCliSandbox, randomBinary, seed, unique, type AwsCliSandbox } from './support/helpers.js';
import { readStack, type StackState } from './support/stack.js';

const HELPER = fileURLToPath(new URL('../../bin/sts-broker-credentials', import.meta.url));

let stack: StackState;
let cli: AwsCliSandbox;
let keyFile: string;
let relay: Server;
let relayUrl: string;
/** Vend requests the helper sent to the broker (through the relay). */
let vends: string[] = [];
let folder: string;
const bytes = randomBinary(5000);

beforeAll(async () => {
  stack = readStack();
  cli = await awsCliSandbox(stack, 'credential-helper');
  keyFile = join(cli.dir, 'acme-backend.key');
  writeFileSync(keyFile, `${stack.keys.acme.backend}\n`, { mode: 0o600 });
  folder = `acme/${unique(stack, 'helper-cache')}/`;
  await seed(stack, stack.bucket, `${folder}object.bin`, bytes);

  // A plain relay to the broker on 127.0.0.1: it counts, and passes everything through unchanged.
  const target = new URL(stack.url);
  relay = createServer((req, res) => {
    vends.push(req.url ?? '');
    const upstream = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => { res.writeHead(502); res.end(); });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  relayUrl = `http://127.0.0.1:${(relay.address() as AddressInfo).port}`;
}, 120_000);
afterAll(async () => {
  relay.closeAllConnections();
  await new Promise<void>((resolve) => relay.close(() => resolve()));
  cli.cleanup();
});

/** A config file whose one profile runs the helper as credential_process with `args`. */
function profile(name: string, args: string[]): string {
  const path = join(cli.dir, `config-${name}`);
  writeFileSync(path, `[profile broker]\ncredential_process = node ${HELPER} --url ${relayUrl} --key-file ${keyFile} ${args.join(' ')}\n`, { mode: 0o600 });
  return path;
}

/** `aws s3 ls` of the folder, then `aws s3 cp` of its object to a file: both must work, the bytes must match. */
async function listAndGet(env: NodeJS.ProcessEnv, label: string): Promise<void> {
  const ls = await cli.aws(env, ['s3', 'ls', `s3://${stack.bucket}/${folder}`]);
  expect({ step: `${label}: ls`, code: ls.code, stderr: ls.code === 0 ? '' : ls.stderr }).toEqual({ step: `${label}: ls`, code: 0, stderr: '' });
  expect(ls.stdout).toContain('object.bin');
  const local = join(cli.dir, `${label}.bin`);
  const cp = await cli.aws(env, ['s3', 'cp', `s3://${stack.bucket}/${folder}object.bin`, local]);
  expect({ step: `${label}: cp`, code: cp.code, stderr: cp.code === 0 ? '' : cp.stderr }).toEqual({ step: `${label}: cp`, code: 0, stderr: '' });
  expect(readFileSync(local).equals(bytes)).toBe(true);
}

describe('credential_process with the cache', () => {
  test('two AWS CLI commands, one vend; with --no-cache, one vend per command', async () => {
    vends = [];
    const cached = cli.env({ AWS_CONFIG_FILE: profile('cached', ['--cache-dir', join(cli.dir, 'cache'), '--actions', 'read,list']), AWS_PROFILE: 'broker' });
    await listAndGet(cached, 'cached');
    expect(vends).toEqual(['/v1/credentials/process?actions=read%2Clist']);
    await listAndGet(cached, 'cached-again');
    expect(vends).toHaveLength(1);

    vends = [];
    const uncached = cli.env({ AWS_CONFIG_FILE: profile('uncached', ['--no-cache', '--actions', 'read,list']), AWS_PROFILE: 'broker' });
    const first = await cli.aws(uncached, ['s3', 'ls', `s3://${stack.bucket}/${folder}`]);
    const second = await cli.aws(uncached, ['s3', 'ls', `s3://${stack.bucket}/${folder}`]);
    expect([first.code, second.code]).toEqual([0, 0]);
    expect(vends.length).toBeGreaterThanOrEqual(2);
  }, 300_000);
});

describe('serve: the AWS CLI through AWS_CONTAINER_CREDENTIALS_FULL_URI', () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
  });

  test('lists and gets an object with the printed URL and token: one vend (at start) for every command; a wrong token gets nothing; SIGTERM stops it', async () => {
    vends = [];
    child = spawn(process.execPath, [HELPER, 'serve', '--url', relayUrl, '--key-file', keyFile, '--cache-dir', join(cli.dir, 'serve-cache'), '--actions', 'read,list'], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cli.dir }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    const proc = child;
    let out = '';
    let err = '';
    const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
    const lines = await new Promise<Record<string, string>>((resolve, reject) => {
      proc.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const found = Object.fromEntries([...out.matchAll(/^export (AWS_CONTAINER_[A-Z_]+)=(\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
        if (Object.keys(found).length === 2) resolve(found);
      });
      proc.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
      void exited.then((code) => reject(new Error(`serve exited ${code}: ${err}`)));
    });
    expect(Object.keys(lines).sort()).toEqual(['AWS_CONTAINER_AUTHORIZATION_TOKEN', 'AWS_CONTAINER_CREDENTIALS_FULL_URI']);
    expect(lines.AWS_CONTAINER_CREDENTIALS_FULL_URI).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1\/credentials$/);

    const env = cli.env(lines);
    await listAndGet(env, 'serve');
    await listAndGet(env, 'serve-again');
    expect(vends).toEqual(['/v1/credentials/container?actions=read%2Clist']);

    const wrong = await cli.aws(cli.env({ ...lines, AWS_CONTAINER_AUTHORIZATION_TOKEN: 'not-the-token' }), ['s3', 'ls', `s3://${stack.bucket}/${folder}`]);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stdout).toBe('');

    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(err).not.toContain(lines.AWS_CONTAINER_AUTHORIZATION_TOKEN);
    expect(vends).toHaveLength(1);
  }, 300_000);
});
