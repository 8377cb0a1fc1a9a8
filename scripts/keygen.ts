/**
 * `npm run keygen -- <partner> <client> [--config <file>]`: makes a new API key, prints it once,
 * and prints the line to paste under `partners.<partner>.clients.<client>.apiKeys`. The config
 * stores only the hash, so a key that is not saved now is gone: make another and replace the line.
 * With `--config`, first checks that the file is valid and has that partner and API-key client.
 *
 * Exit codes: 0 done, 1 the config check failed, 2 usage error.
 */
import { parseArgs as parseNodeArgs } from 'node:util';
import { generateApiKey } from '../src/auth/apiKey.js';

/** Partner and client names: the config schema's rule. */
const NAME = /^[a-z0-9][a-z0-9-]{0,31}$/;
const USAGE = [
  'usage: npm run keygen -- <partner> <client> [--config <file>]',
  '  names are 1–32 of [a-z0-9-], starting with a letter or digit',
  '  --config  check that the config file has this partner and API-key client first',
].join('\n');

class UsageError extends Error {}

interface KeygenArgs {
  partner: string;
  client: string;
  config?: string;
}

/** Parses `<partner> <client> [--config <file>]`; anything else is a usage error. */
function parseArgs(argv: readonly string[]): KeygenArgs {
  let parsed: ReturnType<typeof parseCli>;
  try {
    parsed = parseCli(argv);
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const [partner, client, ...rest] = parsed.positionals;
  if (partner === undefined || client === undefined || rest.length > 0) throw new UsageError('expected exactly <partner> and <client>');
  if (!NAME.test(partner)) throw new UsageError(`invalid partner name "${partner}"`);
  if (!NAME.test(client)) throw new UsageError(`invalid client name "${client}"`);
  return { partner, client, ...(parsed.values.config === undefined ? {} : { config: parsed.values.config }) };
}

function parseCli(argv: readonly string[]) {
  return parseNodeArgs({ args: [...argv], options: { config: { type: 'string' } }, allowPositionals: true, strict: true });
}

/** Why the config cannot take a key for this client, or undefined when it can. */
async function configProblem(args: KeygenArgs & { config: string }): Promise<string | undefined> {
  // Loaded only when asked for: the config stack (yaml, zod) doubles the plain run's start-up time.
  const { loadConfigFile } = await import('../src/config/load.js');
  let config;
  try {
    config = loadConfigFile(args.config);
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
  const partner = config.partners[args.partner];
  if (!partner) return `partner "${args.partner}" is not in ${args.config}`;
  const client = partner.clients[args.client];
  if (!client) return `client "${args.client}" is not under partners.${args.partner}.clients in ${args.config}`;
  if (!client.apiKeys) return `client ${args.partner}/${args.client} authenticates with JWT, not API keys`;
  return undefined;
}

async function main(argv: readonly string[]): Promise<number> {
  let args: KeygenArgs;
  try {
    args = parseArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`keygen: ${err.message}\n${USAGE}\n`);
    return 2;
  }
  const problem = args.config === undefined ? undefined : await configProblem({ ...args, config: args.config });
  if (problem !== undefined) {
    process.stderr.write(`keygen: ${problem}\n`);
    return 1;
  }
  const { key, id, sha256 } = generateApiKey();
  process.stdout.write([
    `New API key for ${args.partner}/${args.client}. It is shown ONCE: store it now (a secret manager), it cannot be recovered.`,
    '',
    `  ${key}`,
    '',
    `Paste under partners.${args.partner}.clients.${args.client}.apiKeys:`,
    '',
    `      - { id: ${id}, sha256: "${sha256}" }`,
    '',
  ].join('\n'));
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
