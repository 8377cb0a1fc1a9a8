/**
 * `npm run check-config`, run as users run it (tsx): every finding with its field path on its own
 * line, a summary for a valid config, --json for scripts, and the exit statuses.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configYaml } from '../support/configFixture.js';

/** Spawning tsx on a busy 2-core machine takes seconds: well above the unit project's 5 s default. */
const SLOW = 60_000;

interface Run { code: number; stdout: string; stderr: string }

function checkConfig(...args: string[]): Promise<Run> {
  return new Promise((done) => {
    execFile('node_modules/.bin/tsx', ['scripts/check-config.ts', ...args], { timeout: 50_000 }, (error, stdout, stderr) => {
      done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

let dir: string;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'check-config-')); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** Schema findings in two partners at once: each must be listed, not just the first. */
const INVALID = `
partners:
  acme:
    roleArn: nope
    bucket: B
    region: eu-west-1
    colour: blue
    clients:
      backend:
        apiKeys: [{ id: k1, sha256: "${'0'.repeat(64)}" }]
        prefix: "acme/"
        actions: [read, fly]
        maxUploadBytes: 1024
        contentTypes: ["image/png"]
  globex:
    roleArn: arn:aws:iam::222222222222:role/Role-G
    bucket: globex-bucket
    region: somewhere
    clients:
      backend:
        apiKeys: [{ id: k2, sha256: "${'1'.repeat(64)}" }]
        prefix: "globex/"
        actions: [read]
        maxUploadBytes: 1024
        contentTypes: ["image/png"]
`;

describe('npm run check-config', () => {
  it('--help lists every option and exits 0', async () => {
    const run = await checkConfig('--help');
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    for (const option of ['usage: npm run check-config -- <file>', '<file>', '--json', '--help', 'Exit status']) expect(run.stdout).toContain(option);
  }, SLOW);

  it.each([
    [[], 'name exactly one config file (got 0 arguments)'],
    [['a.yaml', 'b.yaml'], 'name exactly one config file (got 2 arguments)'],
    [['a.yaml', '--verbose'], "Unknown option '--verbose'"],
    [['a.yaml', '--json=yes'], "Option '--json' does not take an argument"],
  ])('%j exits 2 naming the problem', async (args, message) => {
    const run = await checkConfig(...args);
    expect({ code: run.code, stdout: run.stdout }).toEqual({ code: 2, stdout: '' });
    expect(run.stderr).toContain(message);
    expect(run.stderr).toContain('usage: npm run check-config -- <file>');
  }, SLOW);

  it('a valid config: exit 0 with a summary of partners and clients', async () => {
    const run = await checkConfig(file('valid.yaml', configYaml()));
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/valid\.yaml: valid: 2 partners \(acme, globex\), 3 clients \(acme\/backend: API keys, acme\/app: JWT, globex\/backend: API keys\)/);
  }, SLOW);

  it('the example config is valid, and its notices are printed with their paths', async () => {
    const run = await checkConfig('config/broker.example.yaml');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('config/broker.example.yaml: valid: 1 partner (acme)');
    const json = await checkConfig('config/broker.example.yaml', '--json');
    const parsed = JSON.parse(json.stdout) as { valid: boolean; notices: Array<{ path: string; message: string }> };
    expect(parsed.valid).toBe(true);
    for (const notice of parsed.notices) expect(run.stdout).toContain(`  ${notice.path}: ${notice.message}`);
  }, SLOW);

  it('an invalid config: exit 1 and EVERY issue on its own line with its field path', async () => {
    const run = await checkConfig(file('invalid.yaml', INVALID));
    expect(run.code).toBe(1);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/invalid\.yaml: INVALID, 5 issues:$/);
    expect(lines.slice(1)).toHaveLength(5);
    expect(lines.slice(1)).toEqual(expect.arrayContaining([
      expect.stringMatching(/^ {2}partners\.acme\.roleArn: must be an IAM role ARN/),
      expect.stringMatching(/^ {2}partners\.acme\.bucket: must be a valid S3 bucket name/),
      expect.stringMatching(/^ {2}partners\.acme\.colour: unrecognized key/),
      expect.stringMatching(/^ {2}partners\.acme\.clients\.backend\.actions\.1: /),
      expect.stringMatching(/^ {2}partners\.globex\.region: must be an AWS region/),
    ]));
  }, SLOW);

  it('cross-field findings are listed the same way', async () => {
    const text = configYaml({ partners: { globex: { clients: { backend: { apiKeys: [{ id: 'acmek1', sha256: 'f'.repeat(64) }] } } } } });
    const run = await checkConfig(file('cross.yaml', text));
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('  partners.globex.clients.backend.apiKeys.0.id: duplicate API key id "acmek1"');
  }, SLOW);

  it('--json: one object with every issue, for scripts', async () => {
    const run = await checkConfig(file('invalid2.yaml', INVALID), '--json');
    expect(run.code).toBe(1);
    const parsed = JSON.parse(run.stdout) as { valid: boolean; issues: Array<{ path: string; message: string }> };
    expect(parsed.valid).toBe(false);
    expect(parsed.issues.map((i) => i.path).sort()).toEqual([
      'partners.acme.bucket', 'partners.acme.clients.backend.actions.1', 'partners.acme.colour', 'partners.acme.roleArn', 'partners.globex.region',
    ]);
    const valid = JSON.parse((await checkConfig(file('valid2.yaml', configYaml()), '--json')).stdout) as Record<string, unknown>;
    expect(valid).toMatchObject({ valid: true, issues: [], partners: ['acme', 'globex'], clients: expect.arrayContaining([{ partner: 'acme', client: 'app', auth: 'jwt' }]) });
  }, SLOW);

  it('YAML errors and a missing file: exit 1, named', async () => {
    const dup = await checkConfig(file('dup.yaml', 'partners:\n  acme: {}\n  acme: {}\n'));
    expect(dup.code).toBe(1);
    expect(dup.stdout).toContain('  partners.acme: duplicate key (line 3, column 3)');
    const missing = await checkConfig(join(dir, 'absent.yaml'));
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain('absent.yaml: INVALID: cannot read the file (ENOENT)');
  }, SLOW);

  it('control characters from the file never reach the terminal', async () => {
    const run = await checkConfig(file('ctl.yaml', configYaml().replace('partners:', 'partners:\n  "evil\\u001b[2J\\u202e": 1')));
    expect(run.code).toBe(1);
    expect(run.stdout).not.toMatch(/[\u001b\u202e]/);
    expect(run.stdout).toContain('evil[2J');
  }, SLOW);
});
