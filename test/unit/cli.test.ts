/** scripts/lib/cli.ts: the shared parseArgs wrapper every TypeScript tool uses (strict, with a real --help). */
import { describe, expect, it } from '@jest/globals';
import { helpText, parseCli, UsageError, type CliSpec } from '../../scripts/lib/cli.js';

const SPEC: CliSpec = {
  name: 'demo',
  usage: 'npm run demo -- <thing> [--out <dir>] [--force]',
  summary: ['Does a demo thing.'],
  positionals: [{ name: '<thing>', description: 'what to demo' }],
  options: {
    out: { type: 'string', value: '<dir>', description: 'where to write' },
    force: { type: 'boolean', description: 'overwrite' },
  },
  footer: ['Exit status: 0 done.'],
};

describe('scripts/lib/cli', () => {
  it('the help names the usage, every positional, every option (with its value) and --help itself', () => {
    const text = helpText(SPEC);
    expect(text.startsWith('usage: npm run demo -- <thing>')).toBe(true);
    for (const part of ['Does a demo thing.', '<thing>', 'what to demo', '--out <dir>', 'where to write', '--force', 'overwrite', '-h, --help', 'Exit status: 0 done.']) {
      expect(text).toContain(part);
    }
  });

  it.each([[['--help']], [['-h']], [['x', '--out', 'd', '--help']]])('%j asks for the help', (argv) => {
    expect(parseCli(SPEC, argv)).toEqual({ help: true });
  });

  it('parses values and positionals', () => {
    expect(parseCli(SPEC, ['x', '--out', 'd', '--force'])).toEqual({ help: false, values: { out: 'd', force: true }, positionals: ['x'] });
    expect(parseCli(SPEC, ['--out=d', 'x'])).toEqual({ help: false, values: { out: 'd' }, positionals: ['x'] });
  });

  it.each([
    [['--bogus'], "Unknown option '--bogus'"],
    [['-x'], "Unknown option '-x'"],
    [['--out'], "Option '--out <value>' argument missing"],
    [['--out', '--force'], "Option '--out' argument is ambiguous"],
    [['--force=yes'], "Option '--force' does not take an argument"],
  ])('%j is a usage error naming the option', (argv, message) => {
    expect(() => parseCli(SPEC, argv)).toThrow(UsageError);
    expect(() => parseCli(SPEC, argv)).toThrow(message);
  });
});
