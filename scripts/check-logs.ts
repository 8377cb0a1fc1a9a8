/**
 * `npm test`'s last step: fails when any log a test run captured contains a secret the run
 * minted (API keys, JWTs, STS credentials, presigned signatures) or a secret-shaped string.
 * Reads the capture directory described in test/support/logScan.ts; prints where, never what.
 *
 * usage: tsx scripts/check-logs.ts [<capture dir>]   (default: $LOG_CAPTURE_DIR)
 */
import { LOG_CAPTURE_ENV, readCapture, scanForSecrets } from './lib/logScan.js';

const dir = process.argv[2] ?? process.env[LOG_CAPTURE_ENV];
if (!dir) {
  process.stderr.write(`check-logs: name the capture directory (argument or ${LOG_CAPTURE_ENV})\n`);
  process.exit(2);
}

const { logs, secrets } = readCapture(dir);
const lines = logs.reduce((n, l) => n + l.text.split('\n').length - 1, 0);
// A check that read nothing proves nothing: no log file or no secret means the capture is not wired
// (every unit worker creates its log file and records the fixture's keys when it starts).
if (logs.length === 0 || secrets.length === 0) {
  process.stderr.write(`check-logs: nothing to check in ${dir} (${logs.length} log files, ${secrets.length} secrets): is the capture wired?\n`);
  process.exit(1);
}

const findings = scanForSecrets(logs, secrets);
if (findings.length > 0) {
  process.stderr.write(`check-logs: ${findings.length} secret(s) in the logs of this run (${dir}):\n`);
  for (const f of findings.slice(0, 50)) process.stderr.write(`  ${f.file}:${f.line}: ${f.what}\n`);
  process.exit(1);
}
process.stdout.write(`check-logs: no secret in ${lines} log lines (${logs.length} files), ${secrets.length} secrets checked\n`);
