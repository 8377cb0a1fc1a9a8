// npm pack → an empty temp project → npm install <tarball> (nothing else) → a .ts consumer type-checks with tsc and
// the package imports at run time.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

const consumer = `
import { createBrokerClient, fromStsBroker, BrokerError, S3UploadError, type MultipartState, type BrokerErrorCode } from '@sts-broker/client';

// the AWS SDK v3's AwsCredentialIdentityProvider, as @smithy/types declares it (no SDK installed here)
type AwsCredentialIdentity = { accessKeyId: string; secretAccessKey: string; sessionToken?: string; credentialScope?: string; accountId?: string; expiration?: Date };
type AwsCredentialIdentityProvider = (identityProperties?: Record<string, any>) => Promise<AwsCredentialIdentity>;
interface S3ClientConfigLike { region?: string; credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider }

const config: S3ClientConfigLike = {
  region: 'eu-west-1',
  credentials: fromStsBroker({ url: 'https://broker.example', apiKey: 'sbk_x_y', actions: ['read', 'list'], refreshMarginSeconds: 120 }),
};
const viaToken = fromStsBroker({ url: 'https://broker.example', token: async () => 'jwt' });

export async function main(file: Blob): Promise<string> {
  const client = createBrokerClient({ url: 'https://broker.example', auth: { apiKey: 'sbk_x_y' }, retries: { maxAttempts: 4 } });
  const me = await client.whoami();
  const rawWrite: boolean = me.grant.rawWriteCredentials;
  const creds = await client.credentials({ actions: ['read'], durationSeconds: 900 });
  const expiry: string = creds.credentials.expiration;
  const put = await client.upload(file, { key: 'a.txt', contentType: 'text/plain', onProgress: (sent: number, total: number) => void [sent, total] });
  let saved: MultipartState | undefined;
  const big = await client.uploadMultipart(new Uint8Array(10), {
    key: 'big.bin', contentType: 'application/octet-stream', concurrency: 4, onState: (s) => (saved = s), signal: new AbortController().signal,
  });
  if (saved) await client.uploadMultipart(file, { key: saved.key, contentType: 'application/octet-stream', resume: saved });
  const link = await client.download('a.txt', { filename: 'A.txt', fetchBody: true });
  const bytes: Uint8Array | undefined = link.body;
  try {
    await client.whoami();
  } catch (e) {
    if (e instanceof BrokerError) {
      const code: BrokerErrorCode | 'unexpected_response' = e.code;
      if (e.code === 'rate_limited') return String(e.retryAfterSeconds);
      // @ts-expect-error: the code is a union of string literals
      if (e.code === 'not_a_broker_code') return 'never';
      return code + e.status + e.requestId;
    }
    if (e instanceof S3UploadError) return e.code;
  }
  await viaToken();
  return [config.region, rawWrite, expiry, put.key, big.etag, bytes?.length].join();
}
`;

test('npm pack installs into an empty project with no other dependency and type-checks there', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'sts-broker-client-pack-'));
  try {
    const packed = JSON.parse(execFileSync(npm, ['pack', '--json', '--pack-destination', dir], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
    const info = packed[0];
    const files: string[] = info.files.map((f: { path: string }) => f.path);
    assert.ok(files.includes('dist/index.js') && files.includes('dist/index.d.ts') && files.includes('README.md'), files.join(' '));
    assert.ok(files.every((f) => f.startsWith('dist/') || f === 'README.md' || f === 'package.json'), files.join(' '));
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    assert.equal(manifest.dependencies, undefined, 'no runtime dependencies');

    const project = join(dir, 'consumer');
    execFileSync('mkdir', [project]);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    execFileSync(npm, ['install', '--no-audit', '--no-fund', '--ignore-scripts', join(dir, info.filename)], { cwd: project, stdio: ['ignore', 'pipe', 'pipe'] });
    const installed = JSON.parse(readFileSync(join(project, 'package-lock.json'), 'utf8'));
    assert.deepEqual(Object.keys(installed.packages).sort(), ['', 'node_modules/@sts-broker/client']);

    writeFileSync(join(project, 'main.ts'), consumer);
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2022', 'DOM'], types: [], strict: true, noEmit: true },
      files: ['main.ts'],
    }));
    try {
      execFileSync(process.execPath, [tsc, '-p', project], { cwd: project, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      assert.fail(`tsc --noEmit failed in the consumer:\n${(error as { stdout?: string }).stdout ?? error}`);
    }
    const runtime = execFileSync(process.execPath, ['--input-type=module', '-e',
      "const m = await import('@sts-broker/client'); console.log(typeof m.createBrokerClient, typeof m.fromStsBroker, m.BROKER_ERROR_CODES.length)"],
    { cwd: project, encoding: 'utf8' });
    assert.match(runtime, /^function function \d+/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
