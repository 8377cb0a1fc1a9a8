/**
 * Builds one bundle per function exactly as `osls package` does (serverless-esbuild with
 * serverless.yml's `custom.esbuild`), with esbuild's JS API, so the benchmark can measure and
 * inspect the same bytes Lambda runs.
 *
 * Only the esbuild options are taken from `custom.esbuild`; the keys that only steer the plugin
 * (packager, exclude, outputWorkFolder, outputFileExtension) map to what the plugin does with them.
 */
import { build, type BuildOptions, type Metafile } from 'esbuild';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** Keys of custom.esbuild that configure serverless-esbuild itself, not esbuild. */
const PLUGIN_ONLY_KEYS = new Set(['packager', 'exclude', 'outputWorkFolder', 'outputFileExtension', 'packagerOptions', 'watch', 'installExtraArgs', 'keepOutputDirectory', 'nativeZip', 'zipConcurrency', 'concurrency', 'disableIncremental', 'config']);

/**
 * Names only the S3 client (or its presigners) carries: finding one means S3 is bundled. Minified
 * ES module builds rename classes (PutObjectCommand disappears), but the client's name and service
 * id stay as strings ("S3Client", "AmazonS3").
 */
export const S3_ONLY_SYMBOLS = ['S3Client', 'AmazonS3', 'PutObjectCommand', 'createPresignedPost'] as const;

export interface FunctionEntry {
  /** The function's name in serverless.yml. */
  name: string;
  /** Source file relative to the repo root, e.g. handlers/uploads.ts. */
  entry: string;
  /** Exported handler name, e.g. handler. */
  exportName: string;
}

export interface BuiltBundle extends FunctionEntry {
  /** Absolute path of the .mjs bundle. */
  file: string;
  bytes: number;
  metafile: Metafile;
}

interface ServerlessYml {
  custom: { esbuild: Record<string, unknown> };
  functions: Record<string, { handler: string }>;
}

function readServerlessYml(root = repoRoot): ServerlessYml {
  return parse(readFileSync(join(root, 'serverless.yml'), 'utf8')) as ServerlessYml;
}

/** Every function in serverless.yml with its source entry (handlers/x.handler → handlers/x.ts). */
export function functionEntries(root = repoRoot): FunctionEntry[] {
  const { functions } = readServerlessYml(root);
  return Object.entries(functions).map(([name, fn]) => {
    const dot = fn.handler.lastIndexOf('.');
    return { name, entry: `${fn.handler.slice(0, dot)}.ts`, exportName: fn.handler.slice(dot + 1) };
  });
}

/**
 * A `${file(./x.cjs):name}` value resolved as the framework does for these options (the named export
 * called with no arguments, so it reads the packaging environment); any other value as it is.
 */
function resolveFileVariable(value: unknown, root: string): unknown {
  if (typeof value !== 'string') return value;
  const match = /^\$\{file\((\.\/[^)]+\.cjs)\):(\w+)\}$/.exec(value);
  if (!match) return value;
  const exported = (createRequire(join(root, 'package.json'))(join(root, match[1]!)) as Record<string, unknown>)[match[2]!];
  if (typeof exported !== 'function') throw new Error(`serverless.yml: ${match[1]} has no export ${match[2]}`);
  return (exported as () => unknown)();
}

/** esbuild options from serverless.yml's custom.esbuild (plugin-only keys translated or dropped). */
export function esbuildOptionsFromServerlessYml(root = repoRoot): BuildOptions {
  const { esbuild } = readServerlessYml(root).custom;
  const options: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(esbuild)) if (!PLUGIN_ONLY_KEYS.has(key)) options[key] = resolveFileVariable(value, root);
  const extension = typeof esbuild.outputFileExtension === 'string' ? esbuild.outputFileExtension : '.js';
  const exclude = Array.isArray(esbuild.exclude) ? (esbuild.exclude as string[]) : [];
  return { ...(options as BuildOptions), outExtension: { '.js': extension }, external: exclude };
}

/**
 * Builds each function's bundle into `outDir/<name>/`, one esbuild run per function (as with
 * package.individually); `only` limits it to some function names.
 */
export async function buildFunctionBundles(outDir: string, options: { only?: readonly string[]; root?: string } = {}): Promise<BuiltBundle[]> {
  const root = options.root ?? repoRoot;
  const esbuildOptions = esbuildOptionsFromServerlessYml(root);
  const built: BuiltBundle[] = [];
  const entries = functionEntries(root);
  const missing = (options.only ?? []).filter((name) => !entries.some((fn) => fn.name === name));
  if (missing.length > 0) throw new Error(`serverless.yml has no function ${missing.join(', ')}`);
  for (const fn of entries.filter((f) => options.only === undefined || options.only.includes(f.name))) {
    const dir = join(outDir, fn.name);
    mkdirSync(dir, { recursive: true });
    const result = await build({ ...esbuildOptions, absWorkingDir: root, entryPoints: [join(root, fn.entry)], outdir: dir, metafile: true, logLevel: 'silent', write: true });
    const outputs = Object.keys(result.metafile.outputs).filter((o) => o.endsWith(String(esbuildOptions.outExtension?.['.js'] ?? '.js')));
    if (outputs.length !== 1) throw new Error(`esbuild produced ${outputs.length} outputs for ${fn.entry}`);
    const file = join(root, outputs[0]!);
    built.push({ ...fn, file, bytes: statSync(file).size, metafile: result.metafile });
  }
  return built;
}

/**
 * Builds ad-hoc TypeScript source (e.g. an SDK-only baseline) into `outFile` with the same options
 * as the functions; its imports resolve from the repo root, so it bundles the same packages.
 */
export async function buildSourceWithServerlessOptions(source: string, outFile: string, root = repoRoot): Promise<{ file: string; bytes: number }> {
  const esbuildOptions = esbuildOptionsFromServerlessYml(root);
  const { outExtension: _unused, ...rest } = esbuildOptions;
  await build({
    ...rest,
    absWorkingDir: root,
    stdin: { contents: source, resolveDir: root, sourcefile: 'baseline.ts', loader: 'ts' },
    outfile: outFile,
    logLevel: 'silent',
    write: true,
  });
  return { file: outFile, bytes: statSync(outFile).size };
}

/** Which S3-only symbols a bundle's text contains, and which input files from the S3 packages it holds. */
export function s3Footprint(bundle: BuiltBundle): { symbols: string[]; s3Inputs: string[] } {
  const text = readFileSync(bundle.file, 'utf8');
  const symbols = S3_ONLY_SYMBOLS.filter((s) => text.includes(s));
  const s3Inputs = Object.keys(bundle.metafile.inputs).filter((i) => /@aws-sdk\/(client-s3|s3-request-presigner|s3-presigned-post)\//.test(i));
  return { symbols, s3Inputs };
}

/** The AWS SDK clients a bundle holds, from its esbuild metafile: e.g. ['sts'], ['s3', 'sts'], []. */
export function sdkClients(bundle: BuiltBundle): string[] {
  const clients = new Set<string>();
  for (const input of Object.keys(bundle.metafile.inputs)) {
    const match = /@aws-sdk\/client-([a-z0-9-]+)\//.exec(input);
    if (match) clients.add(match[1]!);
  }
  return [...clients].sort();
}

/** Whether a bundle holds any AWS SDK or Smithy code at all. */
export function holdsSdk(bundle: BuiltBundle): boolean {
  return Object.keys(bundle.metafile.inputs).some((i) => /node_modules\/(@aws-sdk|@smithy)\//.test(i));
}
