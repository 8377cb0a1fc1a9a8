/**
 * The admin commands (scripts/admin/) against both stores: the YAML file (edits keep comments and
 * formatting, every write validated and audited, the file lock) and a real DynamoDB-compatible
 * server (dynalite on 127.0.0.1, in this process): the lock, the version compare-and-swap, pointer
 * items, audit items, and two conflicting writers at once of which exactly one wins. The broker's
 * own reader (DynamoGrantStore) reads what the admin wrote.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import dynalite from 'dynalite';
import { GetCommand, ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createGrantTable, localDynamoClient } from '../../scripts/lib/localDynamo.js';
import { DynamoAdminStore } from '../../scripts/admin/dynamoStore.js';
import { YamlAdminStore } from '../../scripts/admin/yamlStore.js';
import { ConflictError, AdminError, type Snapshot } from '../../scripts/admin/store.js';
import * as cmd from '../../scripts/admin/commands.js';
import { runAdmin } from '../../scripts/admin/cli.js';
import { DynamoGrantStore } from '../../src/adapters/dynamo/dynamoGrantStore.js';
import { hashApiKey } from '../../src/auth/apiKey.js';
import { checkConfigText } from '../../src/config/load.js';
import { configYaml, FIXTURE_API_KEYS } from '../support/configFixture.js';

const dir = mkdtempSync(join(tmpdir(), 'admin-test-'));
const T0 = Date.parse('2026-11-30T12:00:00Z');

/** Runs the CLI in-process, capturing its output. */
async function admin(args: string[], now = () => T0) {
  let out = '';
  let err = '';
  const status = await runAdmin(args, { out: (t) => { out += t; }, err: (t) => { err += t; }, now }, {});
  return { status, out, err };
}

describe('admin on the YAML file', () => {
  const commented = [
    '# top comment stays',
    'partners:',
    '  acme:   # partner comment stays',
    '    roleArn: arn:aws:iam::111111111111:role/Role-A',
    '    externalId: acme-3f9c',
    '    bucket: partner-bucket',
    '    region: ap-northeast-1',
    '    clients:',
    '      backend:',
    '        apiKeys:',
    '          # key comment stays',
    `          - { id: acmek1, sha256: "${hashApiKey(FIXTURE_API_KEYS.acmeBackend.key)}" }`,
    '        prefix: "acme/"',
    '        actions: [read, write]',
    '        maxUploadBytes: 1048576',
    '        contentTypes: ["image/png"]',
    '',
  ].join('\n');

  it('key create adds one line in the list\'s own style, keeps every comment, prints the key once, audits without hashes', async () => {
    const file = join(dir, 'a.yaml');
    writeFileSync(file, commented);
    const r = await admin(['key', 'create', 'acme', 'backend', '--config', file, '--reason', 'new integration', '--json']);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.out) as Record<string, string>;
    expect(out.apiKey).toMatch(/^sbk_/);
    const text = readFileSync(file, 'utf8');
    const added = text.split('\n').filter((l) => !commented.split('\n').includes(l));
    expect(added).toEqual([`          - {id: ${out.keyId}, sha256: ${hashApiKey(out.apiKey!)}}`]);
    expect(text).not.toContain(out.apiKey);
    const audit = readFileSync(`${file}.audit.jsonl`, 'utf8');
    expect(JSON.parse(audit.trim())).toMatchObject({ action: 'key.create', reason: 'new integration', by: expect.stringMatching(/^os-user:/) });
    expect(audit).not.toMatch(/[0-9a-f]{64}/);
    expect(audit).not.toContain(out.apiKey);
    expect(checkConfigText(text).config).toBeDefined();
  });

  it('a change that breaks a whole-store invariant is refused naming it, and the file is untouched', async () => {
    const file = join(dir, 'b.yaml');
    writeFileSync(file, commented);
    // a second client whose prefix is inside backend's: storeInvariants / crossChecks must refuse or accept per rules;
    // a duplicate JWT issuer+audience is refused for sure:
    const jwt = ['--jwt-issuer', 'https://issuer.example', '--jwt-audience', 'a', '--prefix', 'x/${sub}/', '--actions', 'read', '--content-types', 'image/png', '--max-upload-bytes', '10'];
    expect((await admin(['client', 'add', 'acme', 'one', ...jwt, '--config', file])).status).toBe(0);
    const before = readFileSync(file, 'utf8');
    const r = await admin(['client', 'add', 'acme', 'two', ...jwt.slice(0, 5), 'y/${sub}/', ...jwt.slice(6), '--config', file]);
    expect(r.status).toBe(1);
    expect(r.err).toMatch(/refused: client\.add acme\/two .*issuer "https:\/\/issuer\.example" with an overlapping audience/);
    expect(readFileSync(file, 'utf8')).toBe(before);
  });

  it('a held lock refuses the write clearly; an expired one is taken over', async () => {
    const file = join(dir, 'c.yaml');
    writeFileSync(file, commented);
    writeFileSync(`${file}.lock`, JSON.stringify({ owner: 'os-user:someone@host#1#ab', expiresAt: Date.now() + 60_000 }));
    const store = new YamlAdminStore(file);
    await expect(store.commit((s) => cmd.partnerSetDisabled(s, 'acme', true))).rejects.toThrow(/another write holds the lock .*someone@host/);
    writeFileSync(`${file}.lock`, JSON.stringify({ owner: 'dead', expiresAt: Date.now() - 1 }));
    await expect(store.commit((s) => cmd.partnerSetDisabled(s, 'acme', true))).resolves.toMatchObject({ change: { action: 'partner.disable' } });
    expect(existsSync(`${file}.lock`)).toBe(false);
    expect(readFileSync(file, 'utf8')).toContain('disabled: true');
  });

  it('usage errors exit 2 naming the problem; unknown names exit 1', async () => {
    const file = join(dir, 'd.yaml');
    writeFileSync(file, commented);
    expect(await admin(['frobnicate', '--config', file])).toMatchObject({ status: 2, err: expect.stringContaining('unknown command "frobnicate"') });
    expect(await admin(['key', 'rotate', 'acmek1', '--config', file])).toMatchObject({ status: 2, err: expect.stringContaining('--grace') });
    expect(await admin(['key', 'rotate', 'acmek1', '--grace', '2 days', '--config', file])).toMatchObject({ status: 2 });
    expect(await admin(['revoke', 'nobody', '--config', file])).toMatchObject({ status: 1, err: expect.stringContaining('no partner "nobody"') });
    expect(await admin(['revoke', 'acme', '--subject', 'alice', '--config', file])).toMatchObject({ status: 1, err: expect.stringContaining('--subject needs --client') });
    expect(await admin(['--help'])).toMatchObject({ status: 0, out: expect.stringContaining('key rotate <keyId> --grace <duration>') });
  });

  it('partner add: a new random ExternalId per partner, the first key once, the partner-setup documents from the one generator (--json)', async () => {
    const file = join(dir, 'f.yaml');
    writeFileSync(file, commented);
    const args = (p: string, bucket: string) => ['partner', 'add', p, '--config', file, '--json', '--role-arn', `arn:aws:iam::222222222222:role/${p}`,
      '--bucket', bucket, '--bucket-region', 'eu-west-1', '--client', 'backend', '--prefix', `${p}/`, '--actions', 'read,list',
      '--content-types', 'text/csv', '--max-upload-bytes', '1000'];
    const a = JSON.parse((await admin(args('globex', 'globex-data'))).out) as Record<string, any>;
    const b = JSON.parse((await admin(args('initech', 'initech-data'))).out) as Record<string, any>;
    expect(a.externalId).toMatch(/^sts-broker-globex-[A-Za-z0-9]{32}$/);
    expect(b.externalId).not.toBe(a.externalId);
    expect(a.apiKey).toMatch(/^sbk_/);
    expect(a.setup.roleTrustPolicy.Statement[0].Condition.StringEquals['sts:ExternalId']).toBe(a.externalId);
    expect(a.setup.rolePermissionPolicy.Statement[0].Resource).toEqual(['arn:aws:s3:::globex-data/globex/*']);
    const again = await admin(args('globex', 'globex-data'));
    expect(again).toMatchObject({ status: 1, err: expect.stringContaining('partner "globex" already exists') });
    expect(readFileSync(file, 'utf8')).toContain('# partner comment stays');
  });

  it('client update changes only the given fields; an invalid value is refused naming the field; import needs the table', async () => {
    const file = join(dir, 'g.yaml');
    writeFileSync(file, commented);
    expect((await admin(['client', 'update', 'acme', 'backend', '--actions', 'read', '--config', file])).status).toBe(0);
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('actions: [read]');
    expect(text).toContain('contentTypes: ["image/png"]');
    const bad = await admin(['client', 'update', 'acme', 'backend', '--prefix', '/abs/', '--config', file]);
    expect(bad).toMatchObject({ status: 1, err: expect.stringContaining('partners.acme.clients.backend.prefix') });
    expect(await admin(['import', file, '--config', file])).toMatchObject({ status: 2, err: expect.stringContaining('--store dynamodb') });
  });

  it('rotate: a new key, the old one expires at now + grace; revoke and --lift record who and why', async () => {
    const file = join(dir, 'e.yaml');
    writeFileSync(file, commented);
    const r = await admin(['key', 'rotate', 'acmek1', '--grace', '2h', '--config', file, '--json']);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ oldKeyId: 'acmek1', oldKeyExpires: '2026-11-30T14:00:00.000Z' });
    const rv = await admin(['revoke', 'acme', '--key', 'acmek1', '--reason', 'leaked', '--config', file, '--json']);
    expect(JSON.parse(rv.out)).toMatchObject({ action: 'revoke', at: '2026-11-30T12:00:00Z', target: 'acme/backend/key:acmek1' });
    expect(readFileSync(file, 'utf8')).toMatch(/reason: leaked\n\s+by: os-user:/);
    expect((await admin(['revoke', 'acme', '--key', 'acmek1', '--lift', '--config', file])).status).toBe(0);
    expect((await admin(['revoke', 'acme', '--key', 'acmek1', '--lift', '--config', file])).err).toContain('no active revocation');
  });
});

describe('admin on a DynamoDB-compatible server (dynalite on 127.0.0.1)', () => {
  let server: Server;
  let endpoint: string;
  let client: DynamoDBDocumentClient;
  let tableN = 0;

  beforeAll(async () => {
    server = dynalite({ createTableMs: 0, deleteTableMs: 0 });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    client = localDynamoClient(endpoint);
  }, 30_000);

  afterAll(async () => {
    client.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  async function freshTable(): Promise<string> {
    const table = `grants-${++tableN}`;
    await createGrantTable(client, table);
    return table;
  }

  const store = (table: string, extra: Partial<ConstructorParameters<typeof DynamoAdminStore>[0]> = {}) =>
    new DynamoAdminStore({ client, table, identity: async () => 'arn:aws:iam::123456789012:user/ops', allowInsecureLoopbackHttp: false, ...extra });

  async function importFixture(table: string): Promise<void> {
    const file = join(dir, `fixture-${table}.yaml`);
    writeFileSync(file, configYaml());
    const raw = (await import('yaml')).parse(configYaml()) as { partners: Snapshot['partners'] };
    await store(table).commit((s) => cmd.importPartners(s, raw.partners, 'test import'));
  }

  it('import writes partner, pointer, version and audit items; check is clean; the broker\'s reader serves them', async () => {
    const table = await freshTable();
    await importFixture(table);
    const items = (await client.send(new ScanCommand({ TableName: table }))).Items ?? [];
    const pks = items.map((i) => String(i.pk)).sort();
    expect(pks.filter((p) => !p.startsWith('AUDIT#'))).toEqual([
      'APIKEY#acmek1', 'APIKEY#globexk1', 'ISSUER#https://issuer.example', 'META#version', 'ORIGIN#https://app.acme.example', 'PARTNER#acme', 'PARTNER#globex',
    ]);
    const audit = items.find((i) => String(i.pk).startsWith('AUDIT#'))!;
    expect(audit).toMatchObject({ kind: 'audit', by: 'arn:aws:iam::123456789012:user/ops', action: 'import', reason: 'test import' });
    expect(JSON.stringify(audit)).not.toMatch(/[0-9a-f]{64}/);
    expect((await client.send(new GetCommand({ TableName: table, Key: { pk: 'META#version' } }))).Item).toMatchObject({ version: 2 });
    expect(items.some((i) => i.pk === 'META#lock')).toBe(false);

    const checked = await admin(['check', '--store', 'dynamodb', '--table', table, '--endpoint', endpoint, '--json']);
    expect(checked.err).toBe('');
    expect(JSON.parse(checked.out)).toMatchObject({ valid: true, issues: [] });

    const reader = new DynamoGrantStore({ client, tableName: table, maxStalenessMs: 1, maxEntries: 100, maxNegativeEntries: 100, clock: Date.now, logger: { warn: () => {}, error: () => {} } });
    expect(await reader.findApiKey('acmek1')).toMatchObject({ partnerId: 'acme', clientId: 'backend' });

    const created = await store(table).commit((s) => cmd.keyCreate(s, 'acme', 'backend'));
    const keyId = String(created.change.result?.keyId);
    expect(await reader.findApiKey(keyId)).toMatchObject({ clientId: 'backend', key: { id: keyId } });
    await store(table).commit((s) => cmd.keyDelete(s, keyId));
    expect(await reader.findApiKey(keyId)).toBeUndefined();
    expect((await client.send(new GetCommand({ TableName: table, Key: { pk: `APIKEY#${keyId}` } }))).Item).toBeUndefined();
  }, 30_000);

  it('two conflicting writers at once: exactly one wins, the other is told another write holds the lock, and wrote nothing', async () => {
    const table = await freshTable();
    await importFixture(table);
    // Both give the same new key id to different clients: together they would break "one key id, one client".
    const generated = { key: `sbk_dupkey_${'c'.repeat(43)}`, id: 'dupkey', sha256: hashApiKey(`sbk_dupkey_${'c'.repeat(43)}`) };
    const outcomes = await Promise.allSettled([
      store(table).commit((s) => cmd.keyCreate(s, 'acme', 'backend', { generated })),
      store(table).commit((s) => cmd.keyCreate(s, 'globex', 'backend', { generated })),
    ]);
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0]!.reason).toBeInstanceOf(ConflictError);
    expect(String(lost[0]!.reason.message)).toMatch(/another write holds the lock \(arn:aws:iam::123456789012:user\/ops until .*\): nothing was written/);
    const version = (await client.send(new GetCommand({ TableName: table, Key: { pk: 'META#version' } }))).Item;
    expect(version).toMatchObject({ version: 4 });
    const check = await admin(['check', '--store', 'dynamodb', '--table', table, '--endpoint', endpoint, '--json']);
    expect(JSON.parse(check.out)).toMatchObject({ valid: true });
    // And the loser, retried on what is there now, is refused by the whole-store invariant.
    await expect(store(table).commit((s) => cmd.keyCreate(s, 'globex', 'backend', { generated }))).rejects.toThrow(AdminError);
  }, 30_000);

  it('a broken lease (a writer paused past it): the version compare-and-swap lets exactly one commit; the paused one wrote nothing', async () => {
    const table = await freshTable();
    await importFixture(table);
    let now = Date.now();
    let release!: () => void;
    const paused = new Promise<void>((r) => { release = r; });
    let reachedClaim!: () => void;
    const atClaim = new Promise<void>((r) => { reachedClaim = r; });
    const slow = store(table, { clock: () => now, beforeClaim: async () => { reachedClaim(); await paused; } })
      .commit((s) => cmd.partnerSetDisabled(s, 'globex', true, 'slow writer'));
    await atClaim;
    now += 60_000; // the slow writer's lease has expired
    await store(table, { clock: () => now }).commit((s) => cmd.clientSetDisabled(s, 'acme', 'app', true, 'fast writer'));
    release();
    await expect(slow).rejects.toThrow(/version changed since it was read .*nothing was written/);
    const globex = (await client.send(new GetCommand({ TableName: table, Key: { pk: 'PARTNER#globex' } }))).Item!;
    expect(globex.partner.disabled).toBeUndefined();
    const acme = (await client.send(new GetCommand({ TableName: table, Key: { pk: 'PARTNER#acme' } }))).Item!;
    expect(acme.partner.clients.app.disabled).toBe(true);
  }, 30_000);

  it('CLI against the table: key create --json prints the key once; revoke --print-policy; export round-trips through check-config', async () => {
    const table = await freshTable();
    await importFixture(table);
    const base = ['--store', 'dynamodb', '--table', table, '--endpoint', endpoint, '--aws-region', 'us-east-1', '--sts-endpoint', 'http://127.0.0.1:9'];
    process.env.AWS_ACCESS_KEY_ID ??= 'local';
    process.env.AWS_SECRET_ACCESS_KEY ??= 'local';
    const created = await admin(['key', 'create', 'acme', 'backend', ...base, '--json']);
    expect(created.status).toBe(0);
    const out = JSON.parse(created.out) as Record<string, string>;
    expect(out.by).toMatch(/^local:os-user:/);
    const listed = await admin(['key', 'list', 'acme', ...base]);
    expect(listed.out).toContain(`acme/backend ${out.keyId} active`);
    expect(listed.out).not.toContain(out.apiKey);
    const revoked = await admin(['revoke', 'acme', '--client', 'app', '--subject', 'alice', '--reason', 'stolen phone', '--print-policy', ...base, '--json']);
    expect(revoked.status).toBe(0);
    const r = JSON.parse(revoked.out) as Record<string, any>;
    expect(r.policy.Statement[0].Condition.StringEquals['aws:SourceIdentity']).toBe('sb.acme.app.alice');
    expect(r.apply).toContain('put-role-policy --role-name Role-A --policy-name sts-broker-revocations');
    const exported = await admin(['export', ...base]);
    const check = checkConfigText(exported.out);
    expect(check.issues).toEqual([]);
    expect(check.config?.partners.acme?.revocations?.[0]).toMatchObject({ target: { kind: 'subject', subject: 'alice' }, active: true, reason: 'stolen phone' });
  }, 30_000);
});
