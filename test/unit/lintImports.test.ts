/**
 * `npm run lint:imports` really fails on each boundary it guards: run on a fixture tree that plants
 * one violation of every rule, it names each; on a clean fixture it passes. (.ci/run runs it on the
 * repository itself.)
 */
import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const fixtures = 'test/fixtures/importBoundary';

function lint(...args: string[]) {
  const run = spawnSync('npx', ['tsx', 'scripts/lint-imports.ts', ...args], { cwd: repo, encoding: 'utf8', timeout: 90_000 });
  return { status: run.status, out: `${run.stdout}${run.stderr}` };
}

describe('lint:imports', () => {
  it('fails on a planted import of each kind and names the rule and the file', () => {
    const { status, out } = lint('--root', `${fixtures}/planted`);
    expect(status).toBe(1);
    expect(out).toMatch(/core-imports-aws-sdk: src\/rules\/sdk\.ts -> .*@aws-sdk\/client-sts/);
    expect(out).toContain('core-imports-adapter: src/rules/sdk.ts -> src/adapters/keys.ts');
    expect(out).toMatch(/core-imports-node-http: src\/rules\/sdk\.ts -> (node:)?https/);
    expect(out).toContain('core-calls-fetch: src/rules/sdk.ts:7');
    expect(out).toContain('src-imports-scripts-or-test: src/rules/usesScripts.ts -> scripts/tool.ts');
    expect(out).toContain('scripts-import-test: scripts/tool.ts -> test/fixture.ts');
    expect(out).toContain('module-cycle: src/rules/a.ts -> src/rules/b.ts -> src/rules/a.ts');
    expect(out).toMatch(/folder-cycle: src\/usecases -> src\/domain/);
  }, 120_000);

  it('passes a tree whose adapters use the SDK, node:https and fetch behind the boundary', () => {
    const { status, out } = lint('--root', `${fixtures}/clean`);
    expect(out).toContain('no boundary violated');
    expect(status).toBe(0);
  }, 120_000);

  it('--help exits 0 and lists its option; an unknown option exits 2 naming it', () => {
    const help = lint('--help');
    expect(help.status).toBe(0);
    expect(help.out).toContain('--root <dir>');
    const bad = lint('--nope');
    expect(bad.status).toBe(2);
    expect(bad.out).toContain('--nope');
  }, 120_000);
});
