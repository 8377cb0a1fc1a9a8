/**
 * Every command-line tool of the project answers `--help` with exit 0 and its usage, and refuses an
 * unknown option with exit 2, naming it (and starts nothing: `npm start --help` must not start the
 * local stack).
 */
import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../', import.meta.url));

const TOOLS: Array<[string, string[]]> = [
  ['keygen', ['npx', 'tsx', 'scripts/keygen.ts']],
  ['admin', ['npx', 'tsx', 'scripts/admin.ts']],
  ['partner-policy', ['npx', 'tsx', 'scripts/partner-policy.ts']],
  ['doctor', ['npx', 'tsx', 'scripts/doctor.ts']],
  ['check-config', ['npx', 'tsx', 'scripts/check-config.ts']],
  ['lint:imports', ['npx', 'tsx', 'scripts/lint-imports.ts']],
  ['openapi', ['npx', 'tsx', 'scripts/openapi.ts']],
  ['check-logs', ['npx', 'tsx', 'scripts/check-logs.ts']],
  ['npm start', ['npx', 'tsx', 'scripts/start.ts']],
  ['bench', ['npx', 'tsx', 'scripts/bench/index.ts']],
  ['local-dynamodb', ['bash', 'scripts/local-dynamodb']],
  ['sts-broker-credentials', ['node', 'bin/sts-broker-credentials']],
  ['check-package', ['bash', 'scripts/check-package']],
];

function run(command: string[], arg: string) {
  const [bin, ...args] = command;
  const out = spawnSync(bin!, [...args, arg], { cwd: repo, encoding: 'utf8', timeout: 60_000, env: { ...process.env, LOG_CAPTURE_DIR: '' } });
  return { status: out.status, stdout: out.stdout, text: `${out.stdout}${out.stderr}` };
}

describe('every CLI', () => {
  it.each(TOOLS)('%s: --help exits 0 with a usage line and lists options', (_name, command) => {
    const help = run(command, '--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^usage: |\nUsage: |^Usage: /);
    expect(help.stdout).toContain('--help');
  }, 90_000);

  it.each(TOOLS)('%s: an unknown option exits 2 and names it', (_name, command) => {
    const bad = run(command, '--no-such-option');
    expect(bad.status).toBe(2);
    expect(bad.text).toContain('--no-such-option');
  }, 90_000);
});
