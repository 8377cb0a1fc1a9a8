/**
 * `npm run check-config -- <file> [--json]`: checks a broker config file exactly as the broker does
 * at cold start (YAML, schema, cross-field rules), without starting anything, and prints every
 * finding with its dotted field path, one per line. A valid config gets a short summary (partners,
 * clients) and any notices the checks report.
 *
 * Exit codes: 0 valid (or --help), 1 invalid or unreadable, 2 usage error.
 */
import { readFileSync } from 'node:fs';
import { checkConfigText, type ConfigIssue } from '../src/config/load.js';
import type { BrokerConfig } from '../src/config/schema.js';
import { runCli, UsageError, type CliSpec } from './lib/cli.js';

const SPEC: CliSpec = {
  name: 'check-config',
  usage: 'npm run check-config -- <file> [--json]',
  summary: [
    'Checks a broker config file as the broker does at cold start, without starting it, and prints',
    'every problem with its field path (partners.acme.clients.app.prefix: …), one per line.',
  ],
  positionals: [
    { name: '<file>', description: 'the YAML config to check, e.g. config/broker.yaml' },
  ],
  options: {
    json: { type: 'boolean', description: 'print one JSON object instead: { file, valid, issues: [{ path, message }], notices: [{ path, message }], and when valid partners: [name], clients: [{ partner, client, auth }] }' },
  },
  footer: [
    'Exit status: 0 valid, 1 invalid (or the file cannot be read), 2 usage error.',
  ],
};

/** C0 (tab and line breaks become spaces), DEL, C1 and bidi controls: config text must not drive the terminal. */
function printable(text: string): string {
  return text.replace(/[\t\n\v\f\r\u2028\u2029]/g, ' ').replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '');
}

interface Summary {
  partners: string[];
  clients: Array<{ partner: string; client: string; auth: 'apiKeys' | 'jwt' }>;
}

function summarize(config: BrokerConfig): Summary {
  const entries = Object.entries(config.partners);
  return {
    partners: entries.map(([id]) => id),
    clients: entries.flatMap(([partner, p]) => Object.entries(p.clients).map(([client, c]) => ({ partner, client, auth: c.apiKeys ? 'apiKeys' as const : 'jwt' as const }))),
  };
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const line = (issue: ConfigIssue) => `  ${printable(issue.path)}: ${printable(issue.message)}`;

process.exitCode = await runCli(SPEC, process.argv.slice(2), ({ values, positionals }) => {
  if (positionals.length !== 1) throw new UsageError(`name exactly one config file (got ${positionals.length} arguments)`);
  const file = positionals[0]!;
  const json = values.json === true;

  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const issue = { path: '(file)', message: `cannot read the file (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})` };
    if (json) process.stdout.write(`${JSON.stringify({ file, valid: false, issues: [issue], notices: [] })}\n`);
    else process.stdout.write(`${printable(file)}: INVALID: ${issue.message}\n`);
    return 1;
  }

  const { issues, notices, config } = checkConfigText(text);
  const summary = config === undefined ? undefined : summarize(config);
  if (json) {
    process.stdout.write(`${JSON.stringify({ file, valid: config !== undefined, issues, notices, ...summary })}\n`);
    return config === undefined ? 1 : 0;
  }
  const out: string[] = [];
  if (config === undefined || summary === undefined) {
    out.push(`${printable(file)}: INVALID, ${plural(issues.length, 'issue')}:`, ...issues.map(line));
  } else {
    out.push(`${printable(file)}: valid: ${plural(summary.partners.length, 'partner')} (${summary.partners.join(', ')}), `
      + `${plural(summary.clients.length, 'client')} (${summary.clients.map((c) => `${c.partner}/${c.client}: ${c.auth === 'jwt' ? 'JWT' : 'API keys'}`).join(', ')})`);
  }
  if (notices.length > 0) out.push(`${plural(notices.length, 'notice')}:`, ...notices.map(line));
  process.stdout.write(`${out.join('\n')}\n`);
  return config === undefined ? 1 : 0;
});
