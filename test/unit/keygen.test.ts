/** The keygen CLI, run as users run it (tsx), end to end: the printed key verifies against the printed line. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { hashApiKey, verifyApiKey } from '../../src/auth/apiKey.js';
import { parseConfig } from '../../src/config/load.js';
import { fakeStore } from '../support/authFakes.js';

const run = promisify(execFile);
const TSX = 'node_modules/.bin/tsx';

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

async function keygen(...args: string[]): Promise<Outcome> {
  try {
    const { stdout, stderr } = await run(TSX, ['scripts/keygen.ts', ...args], { timeout: 50_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/** Spawning tsx on a busy 2-core machine takes seconds: well above the unit project's 5 s default. */
const SLOW = 60_000;

/** The key and the YAML entry from keygen's output. */
function parseOutput(stdout: string): { key: string; id: string; sha256: string } {
  const keys = stdout.match(/sbk_[A-Za-z0-9]+_[A-Za-z0-9_-]{43,}/g) ?? [];
  const entry = /^ *- \{ id: ([A-Za-z0-9]+), sha256: "([0-9a-f]{64})" \}$/m.exec(stdout);
  expect(keys).toHaveLength(1);
  expect(entry).not.toBeNull();
  return { key: keys[0]!, id: entry![1]!, sha256: entry![2]! };
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keygen-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('npm run keygen', () => {
  it('prints a new key once, with a warning, and the line to paste; the key verifies against it', async () => {
    const { code, stdout, stderr } = await keygen('acme', 'backend');
    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(stdout).toContain('shown ONCE: store it now');
    expect(stdout).toContain('Paste under partners.acme.clients.backend.apiKeys:');
    const { key, id, sha256 } = parseOutput(stdout);
    expect(key.startsWith(`sbk_${id}_`)).toBe(true);
    expect(hashApiKey(key)).toBe(sha256);
    const store = fakeStore({ apiKeys: [{ partnerId: 'acme', clientId: 'backend', key: { id, sha256 } }] });
    expect(await verifyApiKey(store, key, new Date())).toEqual({ partnerId: 'acme', clientId: 'backend', keyId: id });
  }, SLOW);

  it('--help lists every option and exits 0 without making a key', async () => {
    const { code, stdout, stderr } = await keygen('--help');
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toContain('usage: npm run keygen -- <partner> <client>');
    for (const option of ['<partner>', '<client>', '--config <file>', '--help']) expect(stdout).toContain(option);
    expect(stdout).not.toMatch(/sbk_/);
    expect((await keygen('-h')).stdout).toBe(stdout);
  }, SLOW);

  describe('the printed entry pastes into config/broker.example.yaml', () => {
    const example = readFileSync('config/broker.example.yaml', 'utf8');
    /** `example` with `entry` pasted verbatim as a new item of acme/backend's apiKeys list, `where` in it. */
    const pasted = (entry: string, where: 'first' | 'last') => {
      const lines = example.split('\n');
      const backend = lines.findIndex((l) => l.trim() === 'backend:');
      const apiKeys = lines.findIndex((l, i) => i > backend && l.trim() === 'apiKeys:');
      expect(apiKeys).toBeGreaterThan(0);
      let at = apiKeys + 1;
      if (where === 'last') while (/^\s*(#|- )/.test(lines[at]!)) at += 1;
      lines.splice(at, 0, entry);
      return lines.join('\n');
    };

    it.each(['first', 'last'] as const)('as the %s item: valid YAML, and the broker\'s loader accepts it with the new key', async (where) => {
      const { stdout } = await keygen('acme', 'backend');
      const entryLine = stdout.split('\n').find((l) => /^ *- \{ id: /.test(l))!;
      const { key, id, sha256 } = parseOutput(stdout);
      const text = pasted(entryLine, where);
      const raw = parseYaml(text) as { partners: { acme: { clients: { backend: { apiKeys: unknown[] } } } } };
      expect(raw.partners.acme.clients.backend.apiKeys).toContainEqual({ id, sha256 });
      const config = parseConfig(text, 'broker.example.yaml+pasted');
      const entries = config.partners.acme!.clients.backend!.apiKeys!;
      expect(entries).toHaveLength(2);
      expect(entries).toContainEqual({ id, sha256 });
      expect(hashApiKey(key)).toBe(sha256);
    }, SLOW);

    it('(the old 6-space entry did not: the YAML breaks)', () => {
      const old = `      - { id: k2, sha256: "${'1'.repeat(64)}" }`;
      expect(() => parseConfig(pasted(old, 'first'), 'old.yaml')).toThrow(/invalid config old\.yaml/);
    });
  });

  it.concurrent.each([
    [[], 'expected exactly <partner> and <client>'],
    [['acme'], 'expected exactly <partner> and <client>'],
    [['acme', 'backend', 'extra'], 'expected exactly <partner> and <client>'],
    [['Acme', 'backend'], 'invalid partner name "Acme"'],
    [['acme', 'back_end'], 'invalid client name "back_end"'],
    [['-acme', 'backend'], 'Unknown option'],
    [['acme', 'x'.repeat(33)], 'invalid client name'],
    [['acme', 'backend', '--verbose'], "Unknown option '--verbose'"],
    [['acme', 'backend', '--config'], "Option '--config <value>' argument missing"],
  ])('exits 2 with usage on bad arguments %j', async (args, message) => {
    const { code, stdout, stderr } = await keygen(...args);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(message);
    expect(stderr).toContain('usage: npm run keygen -- <partner> <client>');
  }, SLOW);

  describe('--config', () => {
    const config = (clients: string) => `
partners:
  acme:
    roleArn: arn:aws:iam::111111111111:role/Role-A
    bucket: partner-bucket
    region: ap-northeast-1
    clients:
${clients}`;
    const backend = `      backend:
        apiKeys: [{ id: k1, sha256: "${'0'.repeat(64)}" }]
        prefix: "acme/"
        actions: [read]
        maxUploadBytes: 1024
        contentTypes: ["image/png"]
`;
    const app = `      app:
        jwt: { issuer: "https://issuer.example", audience: "acme-app", algorithms: [RS256] }
        prefix: "acme/users/\${sub}/"
        actions: [read]
        maxUploadBytes: 1024
        contentTypes: ["image/png"]
`;

    async function configFile(text: string): Promise<string> {
      const path = join(dir, `config-${Math.random().toString(36).slice(2)}.yaml`);
      await writeFile(path, text);
      return path;
    }

    it('makes a key when the config has that API-key client', async () => {
      const path = await configFile(config(backend + app));
      const { code, stdout } = await keygen('acme', 'backend', '--config', path);
      expect(code).toBe(0);
      parseOutput(stdout);
    }, SLOW);

    it.concurrent.each([
      ['an unknown partner', ['other', 'backend'], 'partner "other" is not in'],
      ['an unknown client', ['acme', 'mobile'], 'client "mobile" is not under partners.acme.clients in'],
      ['a JWT client', ['acme', 'app'], 'client acme/app authenticates with JWT, not API keys'],
    ])('exits 1 without a key for %s', async (_name, args, message) => {
      const path = await configFile(config(backend + app));
      const { code, stdout, stderr } = await keygen(...args, '--config', path);
      expect(code).toBe(1);
      expect(stdout).toBe('');
      expect(stderr).toContain(message);
    }, SLOW);

    it('exits 1 naming the problem when the config is invalid or missing', async () => {
      const invalid = await configFile(config(backend).replace('bucket:', 'buckett:'));
      const bad = await keygen('acme', 'backend', '--config', invalid);
      expect(bad.code).toBe(1);
      expect(bad.stdout).toBe('');
      expect(bad.stderr).toContain('partners.acme.buckett: unrecognized key');
      const missing = await keygen('acme', 'backend', '--config', join(dir, 'nope.yaml'));
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('cannot read the file (ENOENT)');
    }, SLOW);
  });
});
