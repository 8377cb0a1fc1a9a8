/**
 * `npm run admin -- <command> …` (bin: sts-broker-admin): the grant store's admin commands, for the
 * YAML file (`--store yaml --config <file>`) or the DynamoDB table (`--store dynamodb --table <name>`).
 * See `--help`. Importable: runAdmin(argv) for the CLI, openStore() and importYaml() for scripts
 * (`npm start -- --store dynamodb` imports the demo config with importYaml).
 *
 * Exit codes: 0 done (or --help), 1 the command was refused (invalid change, unknown partner, lock
 * held, store unreachable), 2 usage error.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { checkConfigText } from '../../src/config/load.js';
import { ROLE_ARN } from '../../src/config/schema.js';
import { API_KEY_ID, NAME } from '../../src/rules/identifiers.js';
import { isLoopbackHost } from '../../src/rules/loopback.js';
import { partnerSetup } from '../../src/rules/partnerSetup.js';
import { REVOCATION_POLICY_NAME, revocationPolicy } from '../../src/rules/revocation.js';
import type { Revocation } from '../../src/domain/model.js';
import { helpText, parseCli, UsageError, type CliSpec, type OptionSpec } from '../lib/cli.js';
import * as cmd from './commands.js';
import { AdminError, configIssues, type AdminStore, type Change, type Committed, type Snapshot } from './store.js';
import { YamlAdminStore } from './yamlStore.js';

const NAME_OF_TOOL = 'admin';
const PLACEHOLDER_ROLE_ARN = 'arn:aws:iam::<BROKER_ACCOUNT_ID>:role/sts-broker-<stage>-<region>-lambdaRole';

const STORE_OPTIONS: Record<string, OptionSpec> = {
  'store': { type: 'string', value: 'yaml|dynamodb', description: 'which store to work on (default: $BROKER_GRANT_STORE, else yaml)' },
  'config': { type: 'string', value: '<file>', description: 'yaml store: the config file (default: $BROKER_CONFIG, else config/broker.yaml)' },
  'table': { type: 'string', value: '<name>', description: 'dynamodb store: the table (default: $BROKER_GRANT_TABLE)' },
  'endpoint': { type: 'string', value: '<url>', description: 'dynamodb store: endpoint override, loopback http only (default: $BROKER_DYNAMODB_ENDPOINT), e.g. the local dynalite' },
  'aws-region': { type: 'string', value: '<region>', description: 'dynamodb store: the table\'s Region (default: the SDK\'s: $AWS_REGION, profile)' },
  'sts-endpoint': { type: 'string', value: '<url>', description: 'dynamodb store: STS endpoint for GetCallerIdentity, who the audit names (default: the SDK\'s)' },
  'allow-insecure-loopback-http': { type: 'boolean', description: 'dynamodb store: the deployment\'s allowInsecureLoopbackHttp, for validation (the table does not hold it)' },
  'json': { type: 'boolean', description: 'print one JSON object (for scripts) instead of text' },
  'reason': { type: 'string', value: '<text>', description: 'why: recorded in the audit entry (and in a revocation)' },
};

const CLIENT_OPTIONS: Record<string, OptionSpec> = {
  'prefix': { type: 'string', value: '<prefix>', description: 'client: key prefix, ends with "/" (may hold one ${sub} segment for JWT clients)' },
  'actions': { type: 'string', value: '<list>', description: 'client: comma-separated actions: read,write,list,delete' },
  'content-types': { type: 'string', value: '<list>', description: 'client: comma-separated media types, e.g. image/png,application/pdf' },
  'max-upload-bytes': { type: 'string', value: '<n>', description: 'client: largest upload in bytes' },
  'origins': { type: 'string', value: '<list>', description: 'client: comma-separated browser origins (https://app.example.com); "" for none' },
  'client-max-duration-seconds': { type: 'string', value: '<n>', description: 'client: cap on credential lifetime (900–3600, ≤ the partner\'s)' },
  'raw-write-credentials': { type: 'string', value: 'true|false', description: 'client: allow raw credentials that can write' },
  'jwt-issuer': { type: 'string', value: '<url>', description: 'client: a JWT client (no API keys) with this issuer' },
  'jwt-audience': { type: 'string', value: '<list>', description: 'client: comma-separated audiences, or "none" to skip the audience check' },
  'jwt-algorithms': { type: 'string', value: '<list>', description: 'client: comma-separated algorithms (default ES256,RS256)' },
  'jwks-uri': { type: 'string', value: '<url>', description: 'client: the issuer\'s JWKS URL (default: OIDC discovery)' },
};

const OPTIONS: Record<string, OptionSpec> = {
  ...STORE_OPTIONS,
  'client': { type: 'string', value: '<client>', description: 'partner add: the first client\'s name; revoke: the client (with --subject, or alone to revoke the whole client)' },
  'key': { type: 'string', value: '<keyId>', description: 'revoke: one API key id' },
  'subject': { type: 'string', value: '<sub>', description: 'revoke: one user (JWT subject) of --client' },
  'lift': { type: 'boolean', description: 'revoke: lift (re-enable) the target\'s active revocation instead' },
  'print-policy': { type: 'boolean', description: 'revoke: also print the Deny for the partner\'s role (as `policy` does)' },
  'grace': { type: 'string', value: '<duration>', description: 'key rotate: how long the old key stays valid, like 15m, 24h, 7d' },
  'expires': { type: 'string', value: '<instant>', description: 'key create: ISO 8601 instant after which the key is refused' },
  'role-arn': { type: 'string', value: '<arn>', description: 'partner add: the partner\'s role the broker assumes' },
  'bucket': { type: 'string', value: '<name>', description: 'partner add: the partner\'s bucket' },
  'bucket-region': { type: 'string', value: '<region>', description: 'partner add: the bucket\'s Region' },
  'external-id': { type: 'string', value: '<id>', description: 'partner add: use this ExternalId (default: a new random one, as AWS advises)' },
  'max-duration-seconds': { type: 'string', value: '<n>', description: 'partner add: cap on session lifetime, 900–3600 (default 900)' },
  'partner-sts-endpoint': { type: 'string', value: '<url>', description: 'partner add: the partner\'s STS endpoint' },
  'partner-s3-endpoint': { type: 'string', value: '<url>', description: 'partner add: the partner\'s S3 endpoint' },
  'broker-role-arn': { type: 'string', value: '<arn>', description: 'partner add / policy: the broker\'s execution role ARN for the partner documents' },
  'out': { type: 'string', value: '<dir>', description: 'partner add: the folder partner-policy writes its files to (default ./partner-setup-<partner>)' },
  ...CLIENT_OPTIONS,
};

const COMMANDS: Array<[string, string]> = [
  ['partner list', 'partners with their clients and flags'],
  ['partner show <partner>', 'one partner (key hashes left out)'],
  ['partner add <partner> --role-arn … --bucket … --bucket-region … --client <c> <client options>', 'a new partner with its first client and a new ExternalId; prints what partner-policy prints (and the first API key, once)'],
  ['partner disable|enable <partner>', 'stop (or resume) issuing to every client of the partner'],
  ['client add <partner> <client> <client options>', 'a new client (API keys unless --jwt-issuer; the first key is printed once)'],
  ['client update <partner> <client> <client options>', 'change the given fields only'],
  ['client disable|enable <partner> <client>', 'stop (or resume) issuing to one client'],
  ['key create <partner> <client> [--expires <instant>]', 'a new API key, printed ONCE (npm run keygen is the print-only form)'],
  ['key list [<partner> [<client>]]', 'key ids with expiry and flags (never hashes)'],
  ['key disable|enable <keyId>', 'refuse (or accept again) one key'],
  ['key rotate <keyId> --grace <duration>', 'a new key for the same client; the old one expires after the grace'],
  ['key delete <keyId>', 'remove a key (not the client\'s last one)'],
  ['revoke <partner> [--client <c>] [--key <id>] [--subject <sub> --client <c>] [--lift] [--print-policy]', 'stop issuing to the partner, a client, a key or one user now; the broker also drops sessions it cached before; --lift re-enables'],
  ['policy <partner> [--broker-role-arn <arn>]', 'the Deny for the partner\'s role covering sessions issued before each revocation'],
  ['import <file.yaml>', 'make the table\'s partners exactly the file\'s (dynamodb store)'],
  ['export', 'print the store as a YAML config'],
  ['check', 'the config check (as npm run check-config) of the file or the table, plus the table\'s items and pointers'],
];

export const ADMIN_SPEC: CliSpec = {
  name: NAME_OF_TOOL,
  usage: 'npm run admin -- <command> [arguments] [--store yaml|dynamodb] [options]',
  summary: [
    'Edits the broker\'s grants (partners, clients, API keys, revocations) in the YAML config or the',
    'DynamoDB grant table. Every write is validated item by item and against the whole store under a',
    'lock, and audited (who: your AWS identity, or your OS user for the YAML file; what; when; --reason).',
    'Nothing secret is printed except a newly created API key, once.',
    '',
    'Commands:',
    ...COMMANDS.map(([c, d]) => `  ${c}\n      ${d}`),
  ],
  positionals: [{ name: '<command>', description: 'one of the commands above, then its arguments' }],
  options: OPTIONS,
  footer: [
    'Exit status: 0 done, 1 refused (invalid change, unknown name, lock held by another write, store unreachable), 2 usage error.',
  ],
};

type Values = Record<string, string | boolean | undefined>;

export interface StoreChoice {
  store: 'yaml' | 'dynamodb';
  config?: string;
  table?: string;
  endpoint?: string;
  awsRegion?: string;
  stsEndpoint?: string;
  allowInsecureLoopbackHttp?: boolean;
}

/** Opens the chosen store. DynamoDB: the operator's credentials (SDK chain); who = STS GetCallerIdentity. */
export async function openStore(choice: StoreChoice): Promise<AdminStore> {
  if (choice.store === 'yaml') {
    if (choice.config === undefined) throw new UsageError('--config <file> is required for the yaml store');
    return new YamlAdminStore(choice.config);
  }
  if (choice.table === undefined || choice.table === '') throw new UsageError('--table <name> (or $BROKER_GRANT_TABLE) is required for the dynamodb store');
  const local = choice.endpoint !== undefined;
  if (local) {
    let url: URL;
    try {
      url = new URL(choice.endpoint!);
    } catch {
      throw new UsageError(`--endpoint must be a URL (got ${JSON.stringify(choice.endpoint)})`);
    }
    if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) throw new UsageError('--endpoint: plain http only on loopback (127.0.0.0/8, localhost, [::1])');
  }
  // Loaded only for the table: the YAML path never needs the SDK.
  const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb');
  const { DynamoDBDocumentClient } = await import('@aws-sdk/lib-dynamodb');
  const { DynamoAdminStore } = await import('./dynamoStore.js');
  const base = new DynamoDBClient({
    ...(choice.endpoint === undefined ? {} : { endpoint: choice.endpoint }),
    // A loopback table (dynalite) checks no Region or signature: defaults so a bare shell works.
    ...(choice.awsRegion !== undefined ? { region: choice.awsRegion } : local && process.env.AWS_REGION === undefined ? { region: 'us-east-1' } : {}),
    ...(local && process.env.AWS_ACCESS_KEY_ID === undefined && process.env.AWS_PROFILE === undefined ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
    maxAttempts: 3,
  });
  const client = DynamoDBDocumentClient.from(base, { marshallOptions: { removeUndefinedValues: true } });
  return new DynamoAdminStore({
    client: Object.assign(client, { destroy: () => base.destroy() }),
    table: choice.table,
    allowInsecureLoopbackHttp: choice.allowInsecureLoopbackHttp === true,
    identity: () => callerIdentity(choice, local),
  });
}

/** The operator's AWS identity ARN; against a loopback table without a reachable STS, the OS user marked local. */
async function callerIdentity(choice: StoreChoice, localTable: boolean): Promise<string> {
  const { STSClient, GetCallerIdentityCommand } = await import('@aws-sdk/client-sts');
  const sts = new STSClient({
    ...(choice.stsEndpoint === undefined ? {} : { endpoint: choice.stsEndpoint }),
    ...(choice.awsRegion !== undefined ? { region: choice.awsRegion } : localTable && process.env.AWS_REGION === undefined ? { region: 'us-east-1' } : {}),
    maxAttempts: 2,
  });
  try {
    const out = await sts.send(new GetCallerIdentityCommand({}));
    if (out.Arn) return out.Arn;
    throw new Error('GetCallerIdentity returned no Arn');
  } catch (err) {
    if (localTable) {
      const { osUser } = await import('./yamlStore.js');
      return `local:${osUser()}`;
    }
    throw new AdminError(`cannot tell who you are (STS GetCallerIdentity failed: ${(err as Error).message}); every write records the caller's AWS identity, so nothing was written`);
  } finally {
    sts.destroy();
  }
}

/** Loads a YAML config into the table (partners added, replaced and removed to match). For scripts. */
export async function importYaml(file: string, choice: StoreChoice, reason = `import ${file}`): Promise<Committed> {
  const check = checkConfigText(readFileSync(file, 'utf8'));
  if (check.config === undefined) throw new AdminError(`${file} is invalid: ${check.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
  const { parse } = await import('yaml');
  const raw = parse(readFileSync(file, 'utf8')) as { partners: Record<string, Record<string, any>>; allowInsecureLoopbackHttp?: boolean };
  const store = await openStore({ ...choice, allowInsecureLoopbackHttp: choice.allowInsecureLoopbackHttp ?? raw.allowInsecureLoopbackHttp === true });
  try {
    return await store.commit((snap) => cmd.importPartners(snap, JSON.parse(JSON.stringify(raw.partners)) as Record<string, Record<string, any>>, reason));
  } finally {
    await store.close();
  }
}

// ---- argument helpers ----

const list = (v: string) => v.split(',').map((s) => s.trim()).filter((s) => s !== '');

function str(values: Values, name: string): string | undefined {
  const v = values[name];
  if (v === '') throw new UsageError(`--${name} needs a value`);
  return typeof v === 'string' ? v : undefined;
}

function int(values: Values, name: string): number | undefined {
  const v = str(values, name);
  if (v === undefined) return undefined;
  if (!/^\d{1,15}$/.test(v)) throw new UsageError(`--${name} must be a whole number (got ${JSON.stringify(v)})`);
  return Number(v);
}

function name(kind: string, value: string | undefined): string {
  if (value === undefined) throw new UsageError(`missing <${kind}>`);
  if (!NAME.test(value)) throw new UsageError(`invalid ${kind} name ${JSON.stringify(value)}: 1–32 of [a-z0-9-], starting with a letter or digit`);
  return value;
}

function keyId(value: string | undefined): string {
  if (value === undefined) throw new UsageError('missing <keyId>');
  if (!API_KEY_ID.test(value)) throw new UsageError(`invalid key id ${JSON.stringify(value)}: 1–32 letters or digits`);
  return value;
}

/** Client fields from the options; `forUpdate` leaves absent ones undefined (unchanged). */
function clientFields(values: Values, forUpdate: boolean): Record<string, unknown> {
  const origins = values.origins;
  const audience = str(values, 'jwt-audience');
  const raw = str(values, 'raw-write-credentials');
  if (raw !== undefined && raw !== 'true' && raw !== 'false') throw new UsageError('--raw-write-credentials must be true or false');
  const issuer = str(values, 'jwt-issuer');
  const jwt = issuer === undefined ? undefined : {
    issuer,
    audience: audience === undefined ? undefined : audience === 'none' ? null : (list(audience).length === 1 ? list(audience)[0] : list(audience)),
    algorithms: list(str(values, 'jwt-algorithms') ?? 'ES256,RS256'),
    ...(str(values, 'jwks-uri') === undefined ? {} : { jwksUri: str(values, 'jwks-uri') }),
  };
  if (jwt !== undefined && jwt.audience === undefined) throw new UsageError('--jwt-issuer needs --jwt-audience <list> (or "none" to skip the audience check, explicitly)');
  const fields: Record<string, unknown> = {
    prefix: str(values, 'prefix'),
    actions: values.actions === undefined ? undefined : list(String(values.actions)),
    maxUploadBytes: int(values, 'max-upload-bytes'),
    contentTypes: values['content-types'] === undefined ? undefined : list(String(values['content-types'])),
    cors: typeof origins === 'string' ? { origins: list(origins) } : undefined,
    maxDurationSeconds: int(values, 'client-max-duration-seconds'),
    rawWriteCredentials: raw === undefined ? undefined : raw === 'true',
    jwt,
  };
  if (!forUpdate) {
    for (const [k, flag] of [['prefix', 'prefix'], ['actions', 'actions'], ['maxUploadBytes', 'max-upload-bytes'], ['contentTypes', 'content-types']] as const) {
      if (fields[k] === undefined) throw new UsageError(`a new client needs --${flag}`);
    }
  }
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
}

// ---- output ----

interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  now: () => number;
}

const defaultIo: Io = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t), now: Date.now };

function print(io: Io, json: boolean, object: Record<string, unknown>, text: string): void {
  io.out(json ? `${JSON.stringify(object)}\n` : `${text}\n`);
}

function committedText(c: Committed): string {
  return `done: ${c.change.action} ${c.change.target} (store version ${c.version}, by ${c.by}, at ${c.at})`;
}

function committedJson(c: Committed, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { ok: true, action: c.change.action, target: c.change.target, version: c.version, by: c.by, at: c.at, ...(c.change.reason === undefined ? {} : { reason: c.change.reason }), ...c.change.result, ...extra };
}

function newKeyText(partnerId: string, clientId: string, key: string): string {
  return [
    `New API key for ${partnerId}/${clientId}. It is shown ONCE: store it now (a secret manager), it cannot be recovered.`,
    '',
    `  ${key}`,
    '',
  ].join('\n');
}

function redactedPartner(p: Record<string, any>): Record<string, any> {
  const copy = JSON.parse(JSON.stringify(p)) as Record<string, any>;
  for (const c of Object.values((copy.clients ?? {}) as Record<string, any>)) {
    if (Array.isArray(c.apiKeys)) c.apiKeys = c.apiKeys.map(({ sha256: _s, ...rest }: Record<string, unknown>) => rest);
  }
  return copy;
}

/** The revocation Deny for one partner, sized next to its permission policy. */
function policyOutput(partnerId: string, snap: Snapshot, brokerRoleArn: string, now: number) {
  const valid = configIssues({ allowInsecureLoopbackHttp: snap.allowInsecureLoopbackHttp, partners: { [partnerId]: cmd.partnerOf(snap, partnerId) } }).config;
  if (valid === undefined) throw new AdminError(`partner "${partnerId}" is invalid: run admin check`);
  const partner = valid.partners[partnerId]!;
  const permissions = partnerSetup(partnerId, partner, brokerRoleArn).rolePermissionPolicy;
  const reserved = JSON.stringify(permissions).length;
  const policy = revocationPolicy(partnerId, partner, now, { reservedChars: reserved });
  const role = partner.roleArn.split('/').pop()!;
  const apply = policy.document === undefined
    ? `aws iam delete-role-policy --role-name ${role} --policy-name ${REVOCATION_POLICY_NAME}   # nothing left to deny (or never applied)`
    : `aws iam put-role-policy --role-name ${role} --policy-name ${REVOCATION_POLICY_NAME} --policy-document file://revocations.json`;
  return { policy, apply, role, reserved };
}

function policyText(out: ReturnType<typeof policyOutput>): string {
  const { policy, apply } = out;
  const lines = [
    `Deny for the partner's role: ${policy.covered.length} revocation(s), ${policy.chars} of the role's ${10_240 - out.reserved} remaining inline-policy characters.`,
    'It denies S3 to the matched broker sessions issued before each revocation instant (aws:TokenIssueTime), presigned URLs they signed included.',
    'Entries drop out once no session from before them can be alive (the partner\'s longest session, at most 1 h, plus 5 min).',
  ];
  if (policy.leftOut.length > 0) {
    lines.push(`WARNING: ${policy.leftOut.length} revocation(s) do not fit the role's inline-policy budget: ${policy.leftOut.map((r) => `${r.target.kind} at ${r.at}`).join(', ')}.`,
      'Revoke the whole partner (one statement) or use the console\'s "Revoke active sessions" on the role for those.');
  }
  if (policy.document !== undefined) lines.push('', 'revocations.json:', JSON.stringify(policy.document, null, 2));
  lines.push('', 'Apply (the partner\'s admin, in their account):', `  ${apply}`);
  return lines.join('\n');
}

/** `partner-policy`'s own output for this partner: the store exported to a private temp config, then the tool run on it. */
function runPartnerPolicy(io: Io, partnerId: string, snap: Snapshot, values: Values): number {
  const dir = mkdtempSync(join(tmpdir(), 'sts-broker-admin-'));
  try {
    const file = join(dir, 'config.yaml');
    writeFileSync(file, stringify({ allowInsecureLoopbackHttp: snap.allowInsecureLoopbackHttp, partners: snap.partners }), { mode: 0o600 });
    const script = fileURLToPath(new URL('../partner-policy.ts', import.meta.url));
    const args = ['--import', 'tsx', script, partnerId, '--config', file];
    const arn = str(values, 'broker-role-arn');
    if (arn !== undefined) args.push('--broker-role-arn', arn);
    const out = str(values, 'out');
    if (out !== undefined) args.push('--out', out);
    const run = spawnSync(process.execPath, args, { encoding: 'utf8' });
    io.out(run.stdout ?? '');
    // its first stderr line names the temporary config: say which store it came from instead
    io.err((run.stderr ?? '').split('\n').filter((l) => !l.includes(dir)).join('\n'));
    return run.status ?? 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- the commands ----

const COMMAND_NAMES = new Set(['partner', 'client', 'key', 'revoke', 'policy', 'import', 'export', 'check']);

export async function runAdmin(argv: readonly string[], io: Io = defaultIo, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let store: AdminStore | undefined;
  try {
    const parsed = parseCli(ADMIN_SPEC, argv);
    if (parsed.help) {
      io.out(helpText(ADMIN_SPEC));
      return 0;
    }
    const { values, positionals } = parsed;
    const [group, ...rest] = positionals;
    if (group === undefined) throw new UsageError('name a command (see --help)');
    if (!COMMAND_NAMES.has(group)) throw new UsageError(`unknown command ${JSON.stringify(group)} (see --help)`);
    const json = values.json === true;
    const reason = str(values, 'reason');
    const storeName = str(values, 'store') ?? env.BROKER_GRANT_STORE ?? 'yaml';
    if (storeName !== 'yaml' && storeName !== 'dynamodb') throw new UsageError(`--store must be yaml or dynamodb (got ${JSON.stringify(storeName)})`);
    const choice: StoreChoice = {
      store: storeName,
      config: str(values, 'config') ?? env.BROKER_CONFIG ?? 'config/broker.yaml',
      ...(storeName === 'dynamodb' ? {
        table: str(values, 'table') ?? env.BROKER_GRANT_TABLE,
        endpoint: str(values, 'endpoint') ?? env.BROKER_DYNAMODB_ENDPOINT,
        awsRegion: str(values, 'aws-region'),
        stsEndpoint: str(values, 'sts-endpoint'),
        allowInsecureLoopbackHttp: values['allow-insecure-loopback-http'] === true,
      } : {}),
    } as StoreChoice;
    for (const k of Object.keys(choice) as Array<keyof StoreChoice>) if (choice[k] === undefined) delete choice[k];

    if (group === 'import') {
      if (rest.length !== 1) throw new UsageError('import takes exactly one <file.yaml>');
      if (choice.store !== 'dynamodb') throw new UsageError('import loads a YAML file into the table: use --store dynamodb (the yaml store IS the file)');
      const committed = await importYaml(rest[0]!, choice, reason ?? `import ${rest[0]}`);
      print(io, json, committedJson(committed), committedText(committed));
      return 0;
    }

    store = await openStore(choice);
    const commit = (plan: (s: Snapshot) => Change) => store!.commit(plan);
    const now = io.now;
    const [verb, a, b] = rest;
    const arity = (n: number, usage: string) => {
      if (rest.length !== n) throw new UsageError(`usage: ${usage}`);
    };

    switch (group) {
      case 'export': {
        arity(0, 'export');
        const snap = await store.read();
        io.out(stringify({ allowInsecureLoopbackHttp: snap.allowInsecureLoopbackHttp, partners: snap.partners }));
        return 0;
      }
      case 'check':
        arity(0, 'check');
        return await check(io, json, store);
      case 'policy': {
        arity(1, 'policy <partner>');
        const partnerId = name('partner', verb);
        const out = policyOutput(partnerId, await store.read(), str(values, 'broker-role-arn') ?? PLACEHOLDER_ROLE_ARN, now());
        print(io, json, { partner: partnerId, document: out.policy.document ?? null, chars: out.policy.chars, covered: out.policy.covered.length, leftOut: out.policy.leftOut, apply: out.apply }, policyText(out));
        return 0;
      }
      case 'revoke': {
        arity(1, 'revoke <partner> [--client <c>] [--key <id>] [--subject <sub> --client <c>] [--lift] [--print-policy]');
        const partnerId = name('partner', verb);
        const client = values.client === undefined ? undefined : name('client', str(values, 'client'));
        const key = values.key === undefined ? undefined : keyId(str(values, 'key'));
        const subject = str(values, 'subject');
        if (key !== undefined && subject !== undefined) throw new UsageError('revoke one target: --key or --subject, not both');
        const by = await store.by();
        const committed = await commit((snap) => {
          const target = cmd.revokeTarget(snap, partnerId, { ...(client === undefined ? {} : { client }), ...(key === undefined ? {} : { key }), ...(subject === undefined ? {} : { subject }) });
          return cmd.revoke(snap, partnerId, target, { now: now(), by, ...(reason === undefined ? {} : { reason }), lift: values.lift === true });
        });
        const lines = [committedText(committed)];
        if (values.lift !== true) {
          lines.push('The broker refuses this target from now (within the store\'s staleness bound) and never signs with a session it cached before;',
            'sessions and URLs already handed out stay valid until they expire unless the partner applies the Deny (admin policy / --print-policy).');
        }
        const extra: Record<string, unknown> = {};
        if (values['print-policy'] === true) {
          const out = policyOutput(partnerId, await store.read(), str(values, 'broker-role-arn') ?? PLACEHOLDER_ROLE_ARN, now());
          lines.push('', policyText(out));
          Object.assign(extra, { policy: out.policy.document ?? null, policyChars: out.policy.chars, policyLeftOut: out.policy.leftOut, apply: out.apply });
        }
        print(io, json, committedJson(committed, extra), lines.join('\n'));
        return 0;
      }
      case 'partner': {
        switch (verb) {
          case 'list': {
            arity(1, 'partner list');
            const snap = await store.read();
            const rows = Object.entries(snap.partners).map(([id, p]) => ({
              partner: id, disabled: p.disabled === true, bucket: p.bucket, roleArn: p.roleArn,
              clients: Object.entries((p.clients ?? {}) as Record<string, any>).map(([cid, c]) => ({ client: cid, auth: c.jwt ? 'jwt' : 'apiKeys', disabled: c.disabled === true })),
              activeRevocations: ((p.revocations ?? []) as Revocation[]).filter((r) => r.active).length,
            }));
            print(io, json, { store: store.name, partners: rows }, rows.map((r) => `${r.partner}${r.disabled ? ' (DISABLED)' : ''}: ${r.bucket}, ${r.roleArn}; clients ${r.clients.map((c) => `${c.client} (${c.auth}${c.disabled ? ', DISABLED' : ''})`).join(', ')}${r.activeRevocations > 0 ? `; ${r.activeRevocations} active revocation(s)` : ''}`).join('\n') || '(no partners)');
            return 0;
          }
          case 'show': {
            arity(2, 'partner show <partner>');
            const partnerId = name('partner', a);
            const p = redactedPartner(cmd.partnerOf(await store.read(), partnerId));
            print(io, json, { partner: partnerId, ...p }, stringify({ [partnerId]: p }).trimEnd());
            return 0;
          }
          case 'add': {
            arity(2, 'partner add <partner> --role-arn <arn> --bucket <name> --bucket-region <region> --client <client> <client options>');
            const partnerId = name('partner', a);
            const clientId = name('client', str(values, 'client'));
            const roleArn = str(values, 'role-arn');
            if (roleArn === undefined || !ROLE_ARN.test(roleArn)) throw new UsageError('--role-arn must be an IAM role ARN like arn:aws:iam::123456789012:role/<name>');
            const bucket = str(values, 'bucket');
            const region = str(values, 'bucket-region');
            if (bucket === undefined || region === undefined) throw new UsageError('partner add needs --bucket and --bucket-region');
            const fields = clientFields(values, false);
            const firstKey = fields.jwt === undefined ? (await import('../../src/auth/apiKey.js')).generateApiKey() : undefined;
            const client = firstKey === undefined ? fields : { apiKeys: [{ id: firstKey.id, sha256: firstKey.sha256 }], ...fields };
            const committed = await commit((snap) => cmd.partnerAdd(snap, partnerId, {
              roleArn, bucket, region, externalId: str(values, 'external-id'), maxDurationSeconds: int(values, 'max-duration-seconds'),
              stsEndpoint: str(values, 'partner-sts-endpoint'), s3Endpoint: str(values, 'partner-s3-endpoint'),
            }, clientId, client, reason));
            const snap = await store.read();
            if (json) {
              const valid = configIssues({ allowInsecureLoopbackHttp: snap.allowInsecureLoopbackHttp, partners: { [partnerId]: snap.partners[partnerId] } }).config!;
              const setup = partnerSetup(partnerId, valid.partners[partnerId]!, str(values, 'broker-role-arn') ?? PLACEHOLDER_ROLE_ARN, { allowInsecureLoopbackHttp: snap.allowInsecureLoopbackHttp });
              print(io, true, committedJson(committed, { externalId: snap.partners[partnerId]!.externalId, ...(firstKey ? { apiKey: firstKey.key, keyId: firstKey.id } : {}), setup }), '');
              return 0;
            }
            io.out(`${committedText(committed)}\n\n`);
            if (firstKey) io.out(`${newKeyText(partnerId, clientId, firstKey.key)}\n`);
            return runPartnerPolicy(io, partnerId, snap, values);
          }
          case 'disable':
          case 'enable': {
            arity(2, `partner ${verb} <partner>`);
            const partnerId = name('partner', a);
            const committed = await commit((snap) => cmd.partnerSetDisabled(snap, partnerId, verb === 'disable', reason));
            print(io, json, committedJson(committed), committedText(committed));
            return 0;
          }
          default:
            throw new UsageError('partner: list, show, add, disable or enable');
        }
      }
      case 'client': {
        switch (verb) {
          case 'add': {
            arity(3, 'client add <partner> <client> <client options>');
            const partnerId = name('partner', a);
            const clientId = name('client', b);
            const fields = clientFields(values, false);
            const firstKey = fields.jwt === undefined ? (await import('../../src/auth/apiKey.js')).generateApiKey() : undefined;
            const client = firstKey === undefined ? fields : { apiKeys: [{ id: firstKey.id, sha256: firstKey.sha256 }], ...fields };
            const committed = await commit((snap) => cmd.clientAdd(snap, partnerId, clientId, client, reason));
            print(io, json, committedJson(committed, firstKey ? { apiKey: firstKey.key, keyId: firstKey.id } : {}),
              [committedText(committed), ...(firstKey ? ['', newKeyText(partnerId, clientId, firstKey.key)] : [])].join('\n'));
            return 0;
          }
          case 'update': {
            arity(3, 'client update <partner> <client> <client options>');
            const partnerId = name('partner', a);
            const clientId = name('client', b);
            const fields = clientFields(values, true);
            const committed = await commit((snap) => cmd.clientUpdate(snap, partnerId, clientId, fields, reason));
            print(io, json, committedJson(committed), committedText(committed));
            return 0;
          }
          case 'disable':
          case 'enable': {
            arity(3, `client ${verb} <partner> <client>`);
            const partnerId = name('partner', a);
            const clientId = name('client', b);
            const committed = await commit((snap) => cmd.clientSetDisabled(snap, partnerId, clientId, verb === 'disable', reason));
            print(io, json, committedJson(committed), committedText(committed));
            return 0;
          }
          default:
            throw new UsageError('client: add, update, disable or enable');
        }
      }
      case 'key': {
        switch (verb) {
          case 'create': {
            arity(3, 'key create <partner> <client> [--expires <instant>]');
            const partnerId = name('partner', a);
            const clientId = name('client', b);
            const expires = str(values, 'expires');
            if (expires !== undefined && !Number.isFinite(Date.parse(expires))) throw new UsageError(`--expires must be an ISO 8601 instant (got ${JSON.stringify(expires)})`);
            let secret = '';
            const committed = await commit((snap) => {
              const change = cmd.keyCreate(snap, partnerId, clientId, { ...(expires === undefined ? {} : { expires: new Date(expires).toISOString() }), ...(reason === undefined ? {} : { reason }) });
              secret = change.key.key;
              return change;
            });
            print(io, json, committedJson(committed, { apiKey: secret }), `${committedText(committed)}\n\n${newKeyText(partnerId, clientId, secret)}`);
            return 0;
          }
          case 'list': {
            if (rest.length > 3) throw new UsageError('usage: key list [<partner> [<client>]]');
            const snap = await store.read();
            const partnerId = a === undefined ? undefined : name('partner', a);
            const clientId = b === undefined ? undefined : name('client', b);
            if (partnerId !== undefined) cmd.partnerOf(snap, partnerId);
            if (partnerId !== undefined && clientId !== undefined) cmd.clientOf(snap, partnerId, clientId);
            const t = now();
            const rows = Object.entries(snap.partners).filter(([p]) => partnerId === undefined || p === partnerId).flatMap(([p, partner]) =>
              Object.entries((partner.clients ?? {}) as Record<string, any>).filter(([c]) => clientId === undefined || c === clientId).flatMap(([c, client]) =>
                ((client.apiKeys ?? []) as Array<Record<string, any>>).map((k) => ({
                  partner: p, client: c, keyId: k.id as string, expires: (k.expires as string | undefined) ?? null, disabled: k.disabled === true,
                  status: k.disabled === true ? 'disabled' : k.expires !== undefined && Date.parse(String(k.expires)) <= t ? 'expired' : 'active',
                }))));
            print(io, json, { keys: rows }, rows.map((r) => `${r.partner}/${r.client} ${r.keyId} ${r.status}${r.expires ? ` (expires ${r.expires})` : ''}`).join('\n') || '(no API keys)');
            return 0;
          }
          case 'disable':
          case 'enable':
          case 'delete': {
            arity(2, `key ${verb} <keyId>`);
            const id = keyId(a);
            const committed = await commit((snap) => (verb === 'delete' ? cmd.keyDelete(snap, id, reason) : cmd.keySetDisabled(snap, id, verb === 'disable', reason)));
            print(io, json, committedJson(committed), committedText(committed));
            return 0;
          }
          case 'rotate': {
            arity(2, 'key rotate <keyId> --grace <duration>');
            const id = keyId(a);
            const grace = str(values, 'grace');
            if (grace === undefined) throw new UsageError('key rotate needs --grace <duration> (how long the old key keeps working, e.g. 24h; 0s ends it now)');
            let seconds: number;
            try {
              seconds = cmd.parseDuration(grace);
            } catch (err) {
              throw new UsageError(`--grace: ${(err as Error).message}`);
            }
            let secret = '';
            let target = '';
            const committed = await commit((snap) => {
              const change = cmd.keyRotate(snap, id, seconds, now(), reason);
              secret = change.key.key;
              target = change.target.split('/key:')[0]!;
              return change;
            });
            const [p, c] = target.split('/');
            print(io, json, committedJson(committed, { apiKey: secret }),
              `${committedText(committed)}\nThe old key ${id} stays valid until ${String(committed.change.result?.oldKeyExpires)}.\n\n${newKeyText(p!, c!, secret)}`);
            return 0;
          }
          default:
            throw new UsageError('key: create, list, disable, enable, rotate or delete');
        }
      }
      default:
        throw new UsageError(`unknown command ${JSON.stringify(group)}`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`${NAME_OF_TOOL}: ${err.message}\nusage: ${ADMIN_SPEC.usage}\n(see --help for every command and option)\n`);
      return 2;
    }
    if (err instanceof AdminError) {
      io.err(`${NAME_OF_TOOL}: ${err.message}\n`);
      return 1;
    }
    const e = err as { name?: string; message?: string };
    io.err(`${NAME_OF_TOOL}: ${e.name ?? 'Error'}: ${e.message ?? String(err)}\n`);
    return 1;
  } finally {
    await store?.close();
  }
}

/** `check`: the config check of the whole store; for the table also every item and pointer. */
async function check(io: Io, json: boolean, store: AdminStore): Promise<number> {
  const problems: Array<{ path: string; message: string }> = [];
  let notices: Array<{ path: string; message: string }> = [];
  const { DynamoAdminStore } = store instanceof YamlAdminStore ? { DynamoAdminStore: undefined } : await import('./dynamoStore.js');
  let snap: Snapshot | undefined;
  if (DynamoAdminStore !== undefined && store instanceof DynamoAdminStore) {
    const state = await store.state();
    problems.push(...state.invalid.map((i) => ({ path: i.pk, message: `invalid item: ${i.reason}` })));
    snap = { allowInsecureLoopbackHttp: false, partners: Object.fromEntries([...state.partnerItems].map(([id, item]) => [id, item.partner])), version: String(state.version) };
    const found = configIssues({ allowInsecureLoopbackHttp: store.allowInsecureLoopbackHttp, partners: snap.partners });
    if (found.config !== undefined) {
      const { pointerItemsFor } = await import('../../src/adapters/dynamo/items.js');
      const { partnersOf } = await import('../../src/config/load.js');
      const wanted = new Map(pointerItemsFor(partnersOf(found.config)).map((p) => [p.pk, p]));
      for (const [pk, p] of wanted) {
        if (JSON.stringify(state.pointers.get(pk) ?? null) !== JSON.stringify(p)) problems.push({ path: pk, message: state.pointers.has(pk) ? 'pointer item differs from its partner items' : 'pointer item missing' });
      }
      for (const pk of state.pointers.keys()) if (!wanted.has(pk)) problems.push({ path: pk, message: 'orphaned pointer item (no partner holds it)' });
    }
    problems.push(...found.issues);
    notices = found.notices;
  } else if (store instanceof YamlAdminStore) {
    // Exactly `npm run check-config`'s check of the file: every finding on its own line.
    const found = checkConfigText(readFileSync(store.file, 'utf8'));
    problems.push(...found.issues);
    notices = found.notices;
    if (found.config !== undefined) snap = await store.read();
  } else {
    try {
      snap = await store.read();
      const found = configIssues({ allowInsecureLoopbackHttp: snap.allowInsecureLoopbackHttp, partners: snap.partners });
      problems.push(...found.issues);
      notices = found.notices;
    } catch (err) {
      problems.push({ path: store.name, message: (err as Error).message });
    }
  }
  const valid = problems.length === 0;
  print(io, json, { store: store.name, valid, version: snap?.version ?? null, issues: problems, notices },
    [`${store.name}: ${valid ? `valid (${Object.keys(snap?.partners ?? {}).length} partners, version ${snap?.version})` : `INVALID, ${problems.length} issue(s):`}`,
      ...problems.map((p) => `  ${p.path}: ${p.message}`),
      ...(notices.length > 0 ? [`${notices.length} notice(s):`, ...notices.map((n) => `  ${n.path}: ${n.message}`)] : [])].join('\n'));
  return valid ? 0 : 1;
}
