/**
 * The tracing flag is a package-time choice: built with STS_BROKER_TRACING="false" (the default
 * bundles), a credentials function holds neither the Powertools Tracer nor the X-Ray SDK; built with
 * "true", it holds both. Proven on the bundler's own list of inputs, with serverless.yml's options.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, type BuildOptions } from 'esbuild';
import { esbuildOptionsFromServerlessYml, repoRoot } from '../../scripts/lib/bundles.js';

async function inputsOf(tracing: 'true' | 'false', outDir: string): Promise<string[]> {
  const { outExtension: _ext, define, ...options } = esbuildOptionsFromServerlessYml() as BuildOptions & { define?: unknown };
  const defines = typeof define === 'object' && define !== null ? (define as Record<string, string>) : {};
  const result = await build({
    ...options,
    define: { ...defines, 'process.env.STS_BROKER_TRACING': JSON.stringify(tracing) },
    absWorkingDir: repoRoot,
    entryPoints: [join(repoRoot, 'handlers/credentials.ts')],
    outfile: join(outDir, `credentials-${tracing}.mjs`),
    metafile: true,
    logLevel: 'silent',
    write: true,
  });
  return Object.keys(result.metafile.inputs);
}

describe('STS_BROKER_TRACING at package time', () => {
  let dir: string;
  let off: string[];
  let on: string[];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sts-broker-tracing-'));
    off = await inputsOf('false', dir);
    on = await inputsOf('true', dir);
  }, 120_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const tracer = (inputs: string[]) => inputs.filter((i) => i.includes('@aws-lambda-powertools/tracer/') || i.includes('aws-xray-sdk-core/') || i.endsWith('src/wiring/tracing.ts'));

  it('"false" (the default bundles): no Tracer, no X-Ray SDK, no tracing glue', () => {
    expect(off.some((i) => i.endsWith('src/wiring/withAws.ts'))).toBe(true);
    expect(tracer(off)).toEqual([]);
  });

  it('"true": the Tracer, the X-Ray SDK and the glue are in the bundle', () => {
    expect(on.some((i) => i.endsWith('src/wiring/tracing.ts'))).toBe(true);
    expect(on.some((i) => i.includes('@aws-lambda-powertools/tracer/'))).toBe(true);
    expect(on.some((i) => i.includes('aws-xray-sdk-core/'))).toBe(true);
  });
});
