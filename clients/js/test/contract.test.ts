import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BROKER_ERROR_CODES, ERROR_CODE_STATUS, DOCUMENTED_ERROR_CODES } from '../src/generated/contract.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const script = join(root, 'scripts', 'generate-types.mjs');

test('src/generated/contract.ts is what the generator writes from openapi.json', { timeout: 20_000 }, () => {
  const out = execFileSync(process.execPath, [script, '--check'], { encoding: 'utf8' });
  assert.match(out, /up to date/);
});

test('--check fails on a stale file', { timeout: 20_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'sts-broker-contract-'));
  try {
    const copy = join(dir, 'contract.ts');
    copyFileSync(join(root, 'src', 'generated', 'contract.ts'), copy);
    appendFileSync(copy, '// edited by hand\n');
    const r = spawnSync(process.execPath, [script, '--check', '--out', copy], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /stale/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every code openapi.json documents is in the union, with a 4xx/5xx status', () => {
  for (const code of DOCUMENTED_ERROR_CODES) assert.ok(BROKER_ERROR_CODES.includes(code), code);
  for (const code of BROKER_ERROR_CODES) assert.ok(ERROR_CODE_STATUS[code] >= 400 && ERROR_CODE_STATUS[code] < 600, code);
  assert.ok(DOCUMENTED_ERROR_CODES.includes('rate_limited'));
});
