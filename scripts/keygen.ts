/**
 * `npm run keygen -- <partner> <client> [--config <file>]`: makes a new API key, prints it once,
 * and prints the entry to paste under `partners.<partner>.clients.<client>.apiKeys`, indented as in
 * config/broker.example.yaml. The config stores only the hash, so a key that is not saved now is
 * gone: make another and replace the entry. With `--config`, first checks that the file is valid and
 * has that partner and API-key client.
 *
 * Exit codes: 0 done (or --help), 1 the config check failed, 2 usage error.
 */
import { generateApiKey } from '../src/auth/apiKey.js';
import { NAME } from '../src/rules/identifiers.js';
import { runCli, UsageError, type CliSpec } from './lib/cli.js';

/** Partner and client names: the config schema's rule. */

/**
 * Indentation of an `apiKeys` list item in config/broker.example.yaml (partners → partner →
 * clients → client → apiKeys → item: five levels of two spaces). A sequence item indented less
 * than its `apiKeys:` key breaks the YAML, so the printed entry uses the file's own depth.
 */
export const API_KEY_ITEM_INDENT = ' '.repeat(10);

const SPEC: CliSpec = {
  name: 'keygen',
  usage: 'npm run keygen -- <partner> <client> [--config <file>]',
  summary: [
    'Makes a new API key for an API-key client, prints it ONCE, and prints the config entry (id and',
    'SHA-256 of the key) to paste under partners.<partner>.clients.<client>.apiKeys. The config never',
    'holds the key itself: a key not stored now cannot be recovered (make a new one).',
  ],
  positionals: [
    { name: '<partner>', description: 'partner name: 1–32 of [a-z0-9-], starting with a letter or digit' },
    { name: '<client>', description: 'client name under that partner, same rule' },
  ],
  options: {
    config: { type: 'string', value: '<file>', description: 'first check that this config file is valid and has this partner and API-key client (exit 1 if not)' },
  },
  footer: [
    `The entry is indented ${API_KEY_ITEM_INDENT.length} spaces, as the apiKeys items of config/broker.example.yaml:`,
    'paste it as a new line of that list (same indentation as its other "- { id: … }" lines).',
    'To create the key AND write it into the store in one validated, audited step (the YAML file or the',
    'DynamoDB grant table), use: npm run admin -- key create <partner> <client> (see npm run admin -- --help).',
    'Exit status: 0 done, 1 the --config check failed, 2 usage error.',
  ],
};

interface KeygenArgs {
  partner: string;
  client: string;
  config?: string;
}

function validated(values: Record<string, string | boolean | undefined>, positionals: string[]): KeygenArgs {
  const [partner, client, ...rest] = positionals;
  if (partner === undefined || client === undefined || rest.length > 0) throw new UsageError('expected exactly <partner> and <client>');
  if (!NAME.test(partner)) throw new UsageError(`invalid partner name "${partner}"`);
  if (!NAME.test(client)) throw new UsageError(`invalid client name "${client}"`);
  const config = values.config;
  if (config === '') throw new UsageError('--config needs a file name');
  return { partner, client, ...(typeof config === 'string' ? { config } : {}) };
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

process.exitCode = await runCli(SPEC, process.argv.slice(2), async ({ values, positionals }) => {
  const args = validated(values, positionals);
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
    `Paste under partners.${args.partner}.clients.${args.client}.apiKeys: as a new item of that list, this line as it is`,
    '(indented as in config/broker.example.yaml):',
    '',
    `${API_KEY_ITEM_INDENT}- { id: ${id}, sha256: "${sha256}" }`,
    '',
  ].join('\n'));
  return 0;
});
