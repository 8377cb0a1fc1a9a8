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
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { runCli, UsageError, type CliSpec } from './lib/cli.js';
import { corsOriginProblem } from '../src/config/crossChecks.js';
import type { StartOptions } from './lib/startWorker.js';

const SPEC: CliSpec = {
  name: 'npm start',
  usage: 'npm start [-- [--store yaml|dynamodb] [--origin <origins>] [--max-upload-bytes <n>] [--config <file>]]',
  summary: [
    'Runs the broker on 127.0.0.1 against a real local S3 + STS (Ceph RADOS Gateway, installed with apt-get on',
    'first use), writes a demo config, and prints commands to try. Ctrl-C stops what this run started (a local',
    'AWS stack that was already serving is left running). For browser work it also serves a demo page (uploads',
    'through the client package and through Uppy, signed in by a loopback OIDC issuer), applies the bucket CORS',
    'rule, and puts the broker\'s own CORS in force (serverless-offline\'s is removed). Settings come from the',
    'options below and the environment:',
  ],
  positionals: [],
  options: {
    origin: {
      type: 'string', value: '<origins>',
      description: 'more browser origins (comma-separated, e.g. http://localhost:5173) for the demo web client\'s CORS and the bucket\'s',
    },
    'max-upload-bytes': { type: 'string', value: '<n>', description: 'maxUploadBytes of the demo clients (default 10 MiB for backend, 1 GiB for web)' },
    config: { type: 'string', value: '<file>', description: 'serve this broker config against the local stack instead of the demo config (no demo page)' },
    store: {
      type: 'string', value: 'yaml|dynamodb',
      description: 'where the broker reads grants: the YAML config (default) or a local DynamoDB table (dynalite on 127.0.0.1, the grants imported into it; prints admin commands to try)',
    },
  },
  footer: [
    'environment:',
    '  BROKER_HTTP_PORT, BROKER_LAMBDA_PORT   the API\'s ports (default 4340, 4342)',
    '  BROKER_DEMO_PORT                       the demo page\'s port (default BROKER_HTTP_PORT + 4)',
    '  LOCAL_AWS_PORT, LOCAL_AWS_MON_PORT     the gateway\'s and monitor\'s ports (default 7480, 3310)',
    '  LOCAL_AWS_DIR                          the local AWS data folder (default $TMPDIR/sts-broker-local-aws)',
    '  LOCAL_AWS_MEMSTORE_BYTES               the in-memory object store\'s size (default 1 GiB)',
    '  LOCAL_DYNAMODB_PORT                    the local DynamoDB\'s port with --store dynamodb (default 4569)',
  ],
};

const options: StartOptions = { origins: [] };
const code = await runCli(SPEC, process.argv.slice(2), ({ positionals, values }) => {
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  if (typeof values.origin === 'string') {
    for (const origin of values.origin.split(',').map((o) => o.trim()).filter((o) => o !== '')) {
      // the rule the broker's config applies (http only on loopback: the local config allows it)
      const problem = corsOriginProblem(origin, true);
      if (problem) throw new UsageError(`--origin ${JSON.stringify(origin)}: ${problem}`);
      options.origins.push(origin);
    }
    if (options.origins.length === 0) throw new UsageError('--origin needs at least one origin, like http://localhost:5173');
  }
  if (typeof values['max-upload-bytes'] === 'string') {
    const raw = values['max-upload-bytes'];
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < 1 || n > 5 * 1024 ** 4) throw new UsageError(`--max-upload-bytes must be a whole number of bytes from 1 to ${5 * 1024 ** 4}, got ${JSON.stringify(raw)}`);
    options.maxUploadBytes = n;
  }
  if (typeof values.config === 'string') {
    const file = resolve(values.config);
    if (!existsSync(file)) throw new UsageError(`--config ${JSON.stringify(values.config)}: no such file`);
    if (options.maxUploadBytes !== undefined) throw new UsageError('--max-upload-bytes applies to the demo config only: set maxUploadBytes in your --config file');
    options.configFile = file;
  }
  if (typeof values.store === 'string') {
    if (values.store !== 'yaml' && values.store !== 'dynamodb') throw new UsageError(`--store must be yaml or dynamodb, got ${JSON.stringify(values.store)}`);
    options.store = values.store;
  }
  return -1; // go on below
});
if (code !== -1) process.exit(code);

const worker = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), fileURLToPath(new URL('./lib/startWorker.ts', import.meta.url)), JSON.stringify(options)], {
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
