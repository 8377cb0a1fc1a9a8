/**
 * The grant table reader is in a bundle only when the package-time store is dynamodb: the bundler's
 * `define` makes the choice a constant and the dynamic import of the DynamoDB client disappears from
 * yaml bundles (every function of a yaml deployment stays as lean as before).
 */
import { describe, expect, it } from '@jest/globals';
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

async function bundleInputs(store: 'yaml' | 'dynamodb'): Promise<string[]> {
  const result = await build({
    absWorkingDir: root,
    entryPoints: ['src/wiring/grantTableChoice.ts'],
    bundle: true, platform: 'node', format: 'esm', target: 'node22', minify: true, write: false, metafile: true, logLevel: 'silent',
    define: { 'process.env.BROKER_GRANT_STORE': JSON.stringify(store) },
  });
  return Object.keys(result.metafile.inputs);
}

describe('grant table choice at package time', () => {
  it('a yaml bundle carries no DynamoDB client', async () => {
    const inputs = await bundleInputs('yaml');
    expect(inputs.filter((i) => i.includes('@aws-sdk/') || i.includes('adapters/dynamo'))).toEqual([]);
  }, 60_000);

  it('a dynamodb bundle carries the table reader and the DynamoDB client (the scan finds it when it is there)', async () => {
    const inputs = await bundleInputs('dynamodb');
    expect(inputs.some((i) => i.includes('@aws-sdk/client-dynamodb/'))).toBe(true);
    expect(inputs.some((i) => i.endsWith('src/adapters/dynamo/dynamoGrantStore.ts'))).toBe(true);
  }, 60_000);

  it('unbundled, the environment decides when the module is first imported', async () => {
    const { grantTable } = await import('../../src/wiring/grantTableChoice.js');
    expect(grantTable === undefined).toBe(process.env.BROKER_GRANT_STORE !== 'dynamodb');
  });
});
