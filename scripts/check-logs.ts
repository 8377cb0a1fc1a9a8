/**
 * `npm test`'s last step: fails when any log a test run captured contains a secret the run
 * minted (API keys, JWTs, STS credentials, presigned signatures) or a secret-shaped string.
 * Reads the capture directory described in scripts/lib/logScan.ts; prints where, never what.
 */
import { runCli, UsageError } from './lib/cli.js';
import { LOG_CAPTURE_ENV, readCapture, scanForSecrets } from './lib/logScan.js';

const SPEC = {
  name: 'check-logs',
  usage: 'tsx scripts/check-logs.ts [<capture dir>]',
  summary: [
    'Fails (exit 1) when a log captured during the test run holds a secret the run minted or a',
    'secret-shaped string; prints the file and line, never the secret. `npm test` runs it last.',
  ],
  positionals: [{ name: '<capture dir>', description: `the run's capture directory (default: $${LOG_CAPTURE_ENV})` }],
  options: {},
};

process.exitCode = await runCli(SPEC, process.argv.slice(2), ({ positionals }) => {
  if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`);
  const dir = positionals[0] ?? process.env[LOG_CAPTURE_ENV];
  if (!dir) throw new UsageError(`name the capture directory (argument or ${LOG_CAPTURE_ENV})`);

  const { logs, secrets } = readCapture(dir);
  const lines = logs.reduce((n, l) => n + l.text.split('\n').length - 1, 0);
  // A check that read nothing proves nothing: no log file or no secret means the capture is not wired
  // (every unit worker creates its log file and records the fixture's keys when it starts).
  if (logs.length === 0 || secrets.length === 0) {
    process.stderr.write(`check-logs: nothing to check in ${dir} (${logs.length} log files, ${secrets.length} secrets): is the capture wired?\n`);
    return 1;
  }
  const findings = scanForSecrets(logs, secrets);
  if (findings.length > 0) {
    process.stderr.write(`check-logs: ${findings.length} secret(s) in the logs of this run (${dir}):\n`);
    for (const f of findings.slice(0, 50)) process.stderr.write(`  ${f.file}:${f.line}: ${f.what}\n`);
    return 1;
  }
  process.stdout.write(`check-logs: no secret in ${lines} log lines (${logs.length} files), ${secrets.length} secrets checked\n`);
  return 0;
});
