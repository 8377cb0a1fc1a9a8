/**
 * Lean bundles: each function is bundled on its own (serverless.yml's custom.esbuild options); a
 * handler that only vends credentials never carries the S3 client, and one that calls no AWS API
 * carries no SDK at all. The uploads bundle is the positive control: the scan must find S3 there.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildFunctionBundles, functionEntries, holdsSdk, s3Footprint, sdkClients, type BuiltBundle } from '../../scripts/lib/bundles.js';

const CREDENTIAL_ONLY = ['credentials', 'credentialsProcess', 'credentialsContainer'] as const;
const NO_AWS_CALL = ['health', 'openapi', 'preflight', 'whoami'] as const;

describe('per-function bundles', () => {
  let dir: string;
  let bundles: BuiltBundle[];
  const bundle = (name: string): BuiltBundle => {
    const found = bundles.find((b) => b.name === name);
    if (!found) throw new Error(`no bundle for ${name}`);
    return found;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sts-broker-bundles-'));
    bundles = await buildFunctionBundles(dir, { only: [...CREDENTIAL_ONLY, ...NO_AWS_CALL, 'uploads', 'multipartCreate'] });
  }, 60_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('serverless.yml names one source entry per function', () => {
    const entries = functionEntries();
    expect(entries.map((e) => e.name)).toEqual(expect.arrayContaining([...CREDENTIAL_ONLY, ...NO_AWS_CALL, 'uploads', 'downloads']));
    expect(new Set(entries.map((e) => e.name)).size).toBe(entries.length);
  });

  it.each(CREDENTIAL_ONLY)('%s carries STS but not the S3 client', (name) => {
    expect(s3Footprint(bundle(name))).toEqual({ symbols: [], s3Inputs: [] });
    expect(sdkClients(bundle(name))).toEqual(['sts']);
  });

  it.each(NO_AWS_CALL)('%s carries no AWS SDK at all', (name) => {
    expect(holdsSdk(bundle(name))).toBe(false);
    expect(s3Footprint(bundle(name)).symbols).toEqual([]);
  });

  it.each(['uploads', ...CREDENTIAL_ONLY])('%s carries only the environment credential provider, not the SDK default chain', (name) => {
    const inputs = Object.keys(bundle(name).metafile.inputs);
    expect(inputs.filter((i) => /@aws-sdk\/(credential-provider-(?!env\/)|nested-clients\/|token-providers\/)|@smithy\/credential-provider-imds\//.test(i))).toEqual([]);
    expect(inputs.some((i) => i.includes('@aws-sdk/credential-provider-env/'))).toBe(true); // the SDK's own environment provider
    expect(inputs).toContain('src/wiring/lambdaCredentials.ts');
  });

  it('a route schema no route of the function uses is not built (routes/schemas.ts @__PURE__)', () => {
    // partSize's own message: multipart create uses it (the positive control), credentials and uploads do not.
    const partSizeMessage = "S3's 5 MiB minimum for every part but the last";
    expect(readFileSync(bundle('multipartCreate').file, 'utf8')).toContain(partSizeMessage);
    for (const name of ['credentials', 'uploads']) expect(readFileSync(bundle(name).file, 'utf8')).not.toContain(partSizeMessage);
  });

  it('uploads carries the S3 client (the scan finds it when it is there)', () => {
    const footprint = s3Footprint(bundle('uploads'));
    expect(footprint.symbols).toEqual(expect.arrayContaining(['S3Client', 'AmazonS3']));
    expect(footprint.s3Inputs.length).toBeGreaterThan(0);
    expect(sdkClients(bundle('uploads'))).toEqual(['s3', 'sts']);
  });
});
