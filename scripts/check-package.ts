/**
 * After `npm run package`: proves the packaged CloudFormation template's security and operations
 * properties (scripts/lib/templateChecks.ts lists them) and that every function's artifact exists.
 * Prints what passed and each bundle's size; on a finding, lists every one and exits 1.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { runCli, UsageError } from './lib/cli.js';
import { checkTemplate, type Json } from './lib/templateChecks.js';
import { zipEntries } from './lib/zipEntries.js';

const DEFAULT_TEMPLATE = '.serverless/cloudformation-template-update-stack.json';
/**
 * A string only the X-Ray SDK puts in a bundle (the name of an environment variable it reads): present
 * in a bundle built with STS_BROKER_TRACING=true, absent from every default bundle.
 */
const XRAY_MARKER = 'AWS_XRAY_CONTEXT_MISSING';
/**
 * A string only the SDK's default credential chain (@aws-sdk/credential-provider-node) puts in a bundle:
 * serverless.yml's esbuild `alias` replaces that chain with src/wiring/lambdaCredentials.ts (the
 * environment only), so finding it means the alias did not reach the build.
 */
const DEFAULT_CHAIN_MARKER = 'AWS_PROFILE is set, skipping fromEnv provider';

const SPEC = {
  name: 'check-package',
  usage: 'bash scripts/check-package [--template <file>]',
  summary: [
    'Checks the template `npm run package` wrote: the execution role assumes only partner roles (never a bare "*";',
    'with the DynamoDB store only arn:<partition>:iam::<account>:role/sts-broker/*) and is trusted by Lambda and at most',
    'one operators\' role (BROKER_DOCTOR_PRINCIPAL_ARN, never an account or "*"), reads the grant table with named',
    'actions only, the grant table\'s settings, every variable passed through to every function, JSON logs at a level',
    'that keeps the audit lines, tracing as flagged, HTTP API access logs, the alarms and the outputs; and that each',
    'function\'s artifact exists beside the template, carries the X-Ray SDK exactly when tracing is on, and never the',
    'SDK\'s default credential chain (the bundles read credentials from the environment only).',
  ],
  positionals: [],
  options: {
    template: { type: 'string' as const, value: '<file>', description: `the packaged template (default ${DEFAULT_TEMPLATE}); artifacts are looked up beside it` },
  },
  footer: ['Exit status: 0 every check passed, 1 a finding (each one listed), 2 a usage error.'],
};

process.exitCode = await runCli(SPEC, process.argv.slice(2), ({ values, positionals }) => {
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const file = typeof values.template === 'string' ? values.template : DEFAULT_TEMPLATE;
  if (!existsSync(file)) {
    process.stderr.write(`check-package: ${file} does not exist: run \`npm run package\` first\n`);
    return 1;
  }
  let template: Json;
  try {
    template = JSON.parse(readFileSync(file, 'utf8')) as Json;
  } catch (err) {
    process.stderr.write(`check-package: ${file} is not JSON: ${(err as Error).message}\n`);
    return 1;
  }
  const { problems, summary } = checkTemplate(template);
  const artifacts = functionArtifacts(template, dirname(file));
  problems.push(...artifacts.filter((a) => a.bytes === undefined).map((a) => `${a.fn}: artifact ${a.file} is missing`));
  problems.push(...tracingInBundles(artifacts, dirname(file), tracingFlag(template)));
  if (problems.length > 0) {
    process.stderr.write(`check-package: ${problems.length} finding(s) in ${file}:\n${problems.map((p) => `  ${p}\n`).join('')}`);
    return 1;
  }
  for (const line of summary) process.stdout.write(`${line}\n`);
  process.stdout.write(`tracing: X-Ray SDK in ${tracingFlag(template) ? 'the traced bundles' : 'no bundle'}\n`);
  process.stdout.write('credentials: no bundle carries the SDK\'s default chain\n');
  for (const a of artifacts) process.stdout.write(`artifact ${a.file}: ${a.bytes} bytes (zip)\n`);
  return 0;
});

/** STS_BROKER_TRACING as the functions receive it (checkTemplate reports functions that disagree). */
function tracingFlag(template: Json): boolean {
  const resources = (template as { Resources?: Record<string, { Type?: string; Properties?: { Environment?: { Variables?: Record<string, unknown> } } }> }).Resources ?? {};
  return Object.values(resources).some((r) => r.Type === 'AWS::Lambda::Function' && r.Properties?.Environment?.Variables?.STS_BROKER_TRACING === 'true');
}

/**
 * The package-time tracing flag reached the bundles: with it off no bundle carries the X-Ray SDK
 * (esbuild dropped the guarded import), with it on at least one does (the STS functions'). And the
 * credential alias did: no bundle carries the SDK's default credential chain.
 */
function tracingInBundles(artifacts: Array<{ fn: string; file: string; bytes?: number }>, dir: string, tracing: boolean): string[] {
  const problems: string[] = [];
  const withXray: string[] = [];
  for (const a of artifacts) {
    if (a.bytes === undefined) continue;
    try {
      const code = zipEntries(readFileSync(join(dir, a.file)), a.file).filter((e) => /\.(mjs|cjs|js)$/.test(e.name));
      if (code.length === 0) problems.push(`${a.fn}: ${a.file} holds no JavaScript bundle`);
      if (code.some((e) => e.data.includes(XRAY_MARKER))) withXray.push(a.file);
      if (code.some((e) => e.data.includes(DEFAULT_CHAIN_MARKER))) problems.push(`${a.fn}: ${a.file} carries the SDK's default credential chain (serverless.yml's esbuild alias to src/wiring/lambdaCredentials.ts did not reach the build)`);
    } catch (err) {
      problems.push(`${a.fn}: ${(err as Error).message}`);
    }
  }
  if (!tracing && withXray.length > 0) problems.push(`tracing is off but the X-Ray SDK is in ${withXray.join(', ')}`);
  if (tracing && withXray.length === 0 && artifacts.some((a) => a.bytes !== undefined)) problems.push('tracing is on but no bundle carries the X-Ray SDK (did the STS_BROKER_TRACING define reach the build?)');
  return problems;
}

/** Each function's zip (the S3 key's last segment), looked up in the template's folder. */
function functionArtifacts(template: Json, dir: string): Array<{ fn: string; file: string; bytes?: number }> {
  const resources = typeof template === 'object' && template !== null && !Array.isArray(template) ? template.Resources : undefined;
  if (typeof resources !== 'object' || resources === null || Array.isArray(resources)) return [];
  return Object.entries(resources).flatMap(([id, r]) => {
    const res = r as { Type?: string; Properties?: { Code?: { S3Key?: unknown } } };
    if (res.Type !== 'AWS::Lambda::Function') return [];
    const key = res.Properties?.Code?.S3Key;
    const file = typeof key === 'string' ? basename(key) : '(no S3Key)';
    const path = join(dir, file);
    return [{ fn: id, file, bytes: typeof key === 'string' && existsSync(path) ? statSync(path).size : undefined }];
  }).sort((a, b) => a.file.localeCompare(b.file));
}
