/**
 * `npm run doctor -- <partner> [--client <id>]… [--json] [--config <file>]`
 *
 * Checks a partner's setup for real: assumes the partner's role as the broker does (ExternalId,
 * SourceIdentity, session tags, a session policy) and reports, per client, what works and what is
 * missing: trust (AccessDenied decoded into its likely causes), list / read / write / delete on the
 * client's prefix, the bucket's CORS rules against the clients' origins, the lifecycle rule that
 * aborts incomplete multipart uploads, and the bucket policy. Run it with the broker's execution
 * role's credentials (docs/doctor.md says how, and what that role's trust becomes).
 *
 * Exit codes: 0 nothing failed (warnings and "not checked" allowed), 1 a check failed,
 * 2 usage error, 3 doctor could not run (invalid config, unknown partner or client, bad endpoint).
 */
import { existsSync } from 'node:fs';
import { diagnosePartner } from '../src/adapters/aws/partnerProbe.js';
import { loadConfigFileWithNotices } from '../src/config/load.js';
import { endpointOverrideIssues, readSettings } from '../src/config/settings.js';
import type { Partner } from '../src/domain/model.js';
import { createLogger } from '../src/observability/logger.js';
import { NAME } from '../src/rules/identifiers.js';
import { DOCTOR_EXIT, diagnosticStatement, renderReport } from '../src/rules/partnerDiagnosis.js';
import { chooseStore } from '../src/wiring/coldStart.js';
import { dynamoGrantTable } from '../src/wiring/withGrantTable.js';
import { runCli, UsageError, type CliSpec } from './lib/cli.js';

const SPEC: CliSpec = {
  name: 'doctor',
  usage: 'npm run doctor -- <partner> [--client <id>[,<id>…]] [--json] [--config <file>]',
  summary: [
    'Checks a partner\'s setup against the broker config, for real: assumes the partner\'s role as the broker does',
    '(ExternalId, SourceIdentity, session tags, a session policy per client) and probes each client\'s prefix:',
    'ListObjectsV2 MaxKeys=1, a read, and a test object that follows the client\'s upload contract, written and',
    'deleted only where the grant allows write and delete. Then the bucket\'s CORS rules against the clients\'',
    'origins, the lifecycle rule that aborts incomplete multipart uploads, and the bucket policy ("not checked"',
    'unless the role has the optional statement doctor prints). AccessDenied is decoded into its likely causes.',
    '',
    'Run it with the broker\'s execution role\'s AWS credentials (e.g. a profile that assumes that role): the',
    'partner\'s trust policy names that role. Endpoints: BROKER_STS_ENDPOINT / BROKER_S3_ENDPOINT override the',
    'partner\'s, as for the broker. With BROKER_GRANT_STORE=dynamodb the partner is read from the grant table',
    '(BROKER_GRANT_TABLE, BROKER_DYNAMODB_ENDPOINT), as the broker reads it. Nothing secret is printed.',
  ],
  positionals: [{ name: '<partner>', description: 'the partner\'s name in the config' }],
  options: {
    client: { type: 'string', value: '<id>[,<id>…]', description: 'check only these clients, comma-separated (default: every client of the partner)' },
    json: { type: 'boolean', description: 'print the report as JSON on stdout (the same findings; notes still go to stderr)' },
    config: {
      type: 'string', value: '<file>',
      description: 'the broker config (default: $BROKER_CONFIG, else $BROKER_CONFIG_FILE, else config/broker.yaml; stderr says which was read)',
    },
    'print-statement': { type: 'boolean', description: 'print only the optional statement (s3:GetBucketCORS, s3:GetLifecycleConfiguration, s3:GetBucketPolicy on the bucket) and exit 0' },
  },
  footer: [
    'Each finding is OK, WARN (works, worth fixing), FAIL (callers of that client will be refused) or SKIP (not checked, with why).',
    'Exit status: 0 nothing failed (warnings and not-checked allowed), 1 at least one check failed, 2 usage error,',
    '3 doctor could not run (invalid config, unknown partner or client, an endpoint the config does not allow).',
    'See docs/doctor.md.',
  ],
};

/** --config, else $BROKER_CONFIG, else $BROKER_CONFIG_FILE, else config/broker.yaml (never the example: doctor checks a real setup). */
function chooseConfig(explicit: string | undefined, env: NodeJS.ProcessEnv): { path: string; why: string } | undefined {
  if (explicit !== undefined) return { path: explicit, why: '--config' };
  if (env.BROKER_CONFIG) return { path: env.BROKER_CONFIG, why: '$BROKER_CONFIG' };
  if (env.BROKER_CONFIG_FILE) return { path: env.BROKER_CONFIG_FILE, why: '$BROKER_CONFIG_FILE' };
  if (existsSync('config/broker.yaml')) return { path: 'config/broker.yaml', why: 'the default' };
  return undefined;
}

process.exitCode = await runCli(SPEC, process.argv.slice(2), async ({ values, positionals }) => {
  if (positionals.length !== 1) throw new UsageError(`name exactly one partner (got ${positionals.length} arguments)`);
  const partnerId = positionals[0]!;
  if (!NAME.test(partnerId)) throw new UsageError(`invalid partner name ${JSON.stringify(partnerId)}: 1–32 of [a-z0-9-], starting with a letter or digit`);
  const configOption = values.config as string | undefined;
  if (configOption === '') throw new UsageError('--config needs a file name');
  // parseArgs keeps only the last of a repeated option: refuse a repeat rather than drop clients.
  if (process.argv.slice(2).filter((a) => a === '--client' || a.startsWith('--client=')).length > 1) {
    throw new UsageError('give --client once, with the clients comma-separated (--client a,b)');
  }
  const clientOption = values.client as string | undefined;
  const requested = clientOption === undefined ? [] : [...new Set(clientOption.split(',').map((v) => v.trim()))];
  if (requested.some((c) => c === '')) throw new UsageError('--client needs a client id (or a comma-separated list)');
  const bad = requested.find((c) => !NAME.test(c));
  if (bad !== undefined) throw new UsageError(`invalid client name ${JSON.stringify(bad)}: 1–32 of [a-z0-9-], starting with a letter or digit`);

  const choice = chooseConfig(configOption, process.env);
  if (choice === undefined) {
    process.stderr.write('doctor: no config: pass --config <file>, or set $BROKER_CONFIG (config/broker.yaml does not exist)\n');
    return DOCTOR_EXIT.cannotRun;
  }
  process.stderr.write(`doctor: reading ${choice.path} (${choice.why})\n`);
  let config;
  let partner: Partner | undefined;
  try {
    // The broker's own settings and store: with BROKER_GRANT_STORE=dynamodb the partner is in the table.
    const settings = readSettings({ ...process.env, BROKER_CONFIG: choice.path });
    config = loadConfigFileWithNotices(choice.path, { grantStore: settings.BROKER_GRANT_STORE }).config;
    // Silent: the store's own log lines would mix with the report on stdout; its failures throw.
    const store = chooseStore(settings, config, createLogger('sts-broker-doctor', { LOG_LEVEL: 'SILENT' }), Date.now, dynamoGrantTable);
    partner = await store.partner(partnerId);
    if (partner === undefined) {
      const where = settings.BROKER_GRANT_STORE === 'yaml'
        ? `${choice.path} (partners: ${Object.keys(config.partners).join(', ')})`
        : `the grant table ${settings.BROKER_GRANT_TABLE ?? ''}`;
      process.stderr.write(`doctor: no partner "${partnerId}" in ${where}\n`);
      return DOCTOR_EXIT.cannotRun;
    }
  } catch (err) {
    process.stderr.write(`doctor: ${(err as Error).message}\n`);
    return DOCTOR_EXIT.cannotRun;
  }
  if (values['print-statement'] === true) {
    process.stdout.write(`${JSON.stringify(diagnosticStatement(partner), null, 2)}\n`);
    return DOCTOR_EXIT.ok;
  }
  const unknown = requested.filter((c) => !Object.hasOwn(partner.clients, c));
  if (unknown.length > 0) {
    process.stderr.write(`doctor: partner "${partnerId}" has no client ${unknown.map((c) => `"${c}"`).join(', ')} (clients: ${Object.keys(partner.clients).join(', ')})\n`);
    return DOCTOR_EXIT.cannotRun;
  }
  const clientIds = requested.length > 0 ? requested : Object.keys(partner.clients);

  // The same endpoint rules as the broker: loopback http only with allowInsecureLoopbackHttp.
  const endpoints = { BROKER_STS_ENDPOINT: process.env.BROKER_STS_ENDPOINT || undefined, BROKER_S3_ENDPOINT: process.env.BROKER_S3_ENDPOINT || undefined };
  const endpointIssues = endpointOverrideIssues(endpoints, config.allowInsecureLoopbackHttp);
  if (endpointIssues.length > 0) {
    process.stderr.write(`doctor: ${endpointIssues.join('; ')} (allowInsecureLoopbackHttp is ${config.allowInsecureLoopbackHttp} in ${choice.path})\n`);
    return DOCTOR_EXIT.cannotRun;
  }

  const report = await diagnosePartner(partnerId, partner, clientIds, { stsEndpoint: endpoints.BROKER_STS_ENDPOINT, s3Endpoint: endpoints.BROKER_S3_ENDPOINT });
  process.stdout.write(values.json === true ? `${JSON.stringify({ ...report, optionalStatement: diagnosticStatement(partner) }, null, 2)}\n` : renderReport(report));
  return report.exitCode;
});
