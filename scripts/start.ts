/**
 * `npm start`: the broker on 127.0.0.1 against a real local S3 + STS, for newcomers. What it does
 * and owns is in scripts/lib/startWorker.ts; this file only starts that worker and relays Ctrl-C.
 *
 * Why a worker in its own process group: a terminal's Ctrl-C signals every process of the
 * terminal's process group at once (npm, sh, tsx and node here), and npm and tsx forward it again.
 * Under `tsx`, two SIGINTs back to back make tsx SIGKILL its child (its signal relay waits 30 ms for
 * the child to acknowledge each signal, and the second signal takes the first one's
 * acknowledgement), which killed the stop halfway, leaving ceph-mon and ceph-osd running with their
 * data folder in place. So the work happens where no terminal signal reaches it: this process
 * forwards every SIGINT/SIGTERM/SIGHUP to the worker as SIGTERM, the worker's one idempotent
 * shutdown ignores the repeats, and if this process dies anyway (even by SIGKILL) the worker sees
 * its IPC channel close and stops everything it started. Exits with the worker's exit code.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runCli, UsageError } from './lib/cli.js';

const SPEC = {
  name: 'npm start',
  usage: 'npm start [-- --help]',
  summary: [
    'Runs the broker on 127.0.0.1 against a real local S3 + STS (Ceph RADOS Gateway, installed with apt-get on',
    'first use), writes a demo config, and prints commands to try. Ctrl-C stops what this run started (a local',
    'AWS stack that was already serving is left running). Settings come from the environment:',
  ],
  positionals: [],
  options: {},
  footer: [
    'environment:',
    '  BROKER_HTTP_PORT, BROKER_LAMBDA_PORT   the API\'s ports (default 4340, 4342)',
    '  LOCAL_AWS_PORT, LOCAL_AWS_MON_PORT     the gateway\'s and monitor\'s ports (default 7480, 3310)',
    '  LOCAL_AWS_DIR                          the local AWS data folder (default $TMPDIR/sts-broker-local-aws)',
    '  LOCAL_AWS_MEMSTORE_BYTES               the in-memory object store\'s size (default 1 GiB)',
  ],
};

const code = await runCli(SPEC, process.argv.slice(2), ({ positionals }) => {
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  return -1; // go on below
});
if (code !== -1) process.exit(code);

const worker = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), fileURLToPath(new URL('./lib/startWorker.ts', import.meta.url))], {
  detached: true,                                   // its own process group: out of the terminal's reach
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],   // writes straight to our stdout/stderr, even after we are gone
});

const relay = () => {
  if (worker.exitCode === null && worker.signalCode === null) worker.kill('SIGTERM');
};
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, relay);

worker.once('error', (err) => {
  console.error(`npm start: cannot start scripts/lib/startWorker.ts: ${err.message}`);
  process.exit(1);
});
worker.once('exit', (code, signal) => {
  process.exit(code ?? (signal ? 1 : 0));
});
