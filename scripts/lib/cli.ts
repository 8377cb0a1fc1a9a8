/**
 * The one way the project's TypeScript command-line tools read their arguments: `node:util`
 * `parseArgs` in strict mode, plus a `--help` (`-h`) that lists every option and exits 0.
 *
 * Exit statuses shared by every tool: 0 done (or `--help`), 1 the tool ran and found a problem
 * (an invalid config, an unknown partner), 2 a usage error: an unknown option, a missing or
 * invalid value, the wrong number of arguments. A usage error names the offending argument.
 */
import { parseArgs } from 'node:util';

export interface OptionSpec {
  type: 'string' | 'boolean';
  /** Placeholder shown in the help for a string option's value, e.g. `<file>`. */
  value?: string;
  description: string;
}

export interface CliSpec {
  /** The tool's name, the prefix of every error line (`keygen: …`). */
  name: string;
  /** The usage line, e.g. `npm run keygen -- <partner> <client> [options]`. */
  usage: string;
  /** One or more lines that say what the tool does. */
  summary: string[];
  /** Positional arguments, in order, with what they mean. */
  positionals: Array<{ name: string; description: string }>;
  options: Record<string, OptionSpec>;
  /** Lines after the option list: exit statuses, defaults, warnings. */
  footer?: string[];
}

/** A bad command line: the message names the argument; the caller exits 2 with the usage line. */
export class UsageError extends Error {}

export type Parsed = { help: true } | {
  help: false;
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
};

/** The full `--help` text: summary, usage, positionals, every option (and --help itself), footer. */
export function helpText(spec: CliSpec): string {
  const rows: Array<[string, string]> = [
    ...spec.positionals.map((p): [string, string] => [p.name, p.description]),
    ...Object.entries(spec.options).map(([name, o]): [string, string] =>
      [`--${name}${o.type === 'string' ? ` ${o.value ?? '<value>'}` : ''}`, o.description]),
    ['-h, --help', 'print this help and exit 0'],
  ];
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  return [
    `usage: ${spec.usage}`,
    '',
    ...spec.summary,
    '',
    ...rows.map(([left, right]) => `  ${left.padEnd(width)}${right}`),
    ...(spec.footer === undefined ? [] : ['', ...spec.footer]),
    '',
  ].join('\n');
}

/** Parses `argv` strictly against `spec`; throws UsageError naming the bad argument. */
export function parseCli(spec: CliSpec, argv: readonly string[]): Parsed {
  const options = Object.fromEntries(Object.entries(spec.options).map(([name, o]) => [name, { type: o.type }]));
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  if (parsed.values.help === true) return { help: true };
  const { help: _help, ...values } = parsed.values;
  return { help: false, values: values as Record<string, string | boolean | undefined>, positionals: parsed.positionals };
}

/**
 * Runs a tool: parses, prints the help (exit 0) or a usage error with the usage line (exit 2),
 * else returns what `main` returns. `main` throws UsageError for arguments it validates itself.
 */
export async function runCli(spec: CliSpec, argv: readonly string[], main: (parsed: Extract<Parsed, { help: false }>) => Promise<number> | number): Promise<number> {
  try {
    const parsed = parseCli(spec, argv);
    if (parsed.help) {
      process.stdout.write(helpText(spec));
      return 0;
    }
    return await main(parsed);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${spec.name}: ${err.message}\nusage: ${spec.usage}\n(see --help for every option)\n`);
    return 2;
  }
}
