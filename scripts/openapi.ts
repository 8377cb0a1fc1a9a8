/** `npm run openapi`: writes openapi.json from the route schemas (`--check` fails if it is stale). */
import { readFileSync, writeFileSync } from 'node:fs';
import { openApiDocument } from '../src/http/openapi.js';
import { contractRoutes } from '../src/routes/index.js';
import { openapiRoute } from '../src/routes/openapi.js';
import { runCli, UsageError } from './lib/cli.js';

const SPEC = {
  name: 'openapi',
  usage: 'npm run openapi [-- --check]',
  summary: ['Writes openapi.json from the route schemas; with --check, writes nothing and exits 1 when it is stale.'],
  positionals: [],
  options: { check: { type: 'boolean' as const, description: 'exit 1 if openapi.json differs from what the routes generate' } },
};

process.exitCode = await runCli(SPEC, process.argv.slice(2), ({ values, positionals }) => {
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  const text = `${JSON.stringify(openApiDocument([...contractRoutes, openapiRoute], pkg.version), null, 2)}\n`;
  const file = new URL('../openapi.json', import.meta.url);
  if (values.check !== true) {
    writeFileSync(file, text);
    console.log('wrote openapi.json');
    return 0;
  }
  let current = '';
  try { current = readFileSync(file, 'utf8'); } catch { /* missing counts as stale */ }
  if (current !== text) {
    process.stderr.write('openapi.json is stale: run `npm run openapi` and commit it\n');
    return 1;
  }
  console.log('openapi.json is up to date');
  return 0;
});
