/** `npm run openapi`: writes openapi.json from the route schemas (`--check` fails if it is stale). */
import { readFileSync, writeFileSync } from 'node:fs';
import { openApiDocument } from '../src/http/openapi.js';
import { contractRoutes } from '../src/routes/index.js';
import { openapiRoute } from '../src/routes/openapi.js';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
const text = `${JSON.stringify(openApiDocument([...contractRoutes, openapiRoute], pkg.version), null, 2)}\n`;
const file = new URL('../openapi.json', import.meta.url);
if (process.argv.includes('--check')) {
  let current = '';
  try { current = readFileSync(file, 'utf8'); } catch { /* missing counts as stale */ }
  if (current !== text) {
    process.stderr.write('openapi.json is stale: run `npm run openapi` and commit it\n');
    process.exit(1);
  }
  console.log('openapi.json is up to date');
} else {
  writeFileSync(file, text);
  console.log('wrote openapi.json');
}
