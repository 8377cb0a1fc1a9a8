/**
 * `scripts/local-dynamodb start|stop|status|env`: the local DynamoDB (dynalite) for the grant store,
 * on 127.0.0.1 only, next to the local S3 + STS of scripts/local-aws. See scripts/lib/localDynamo.ts.
 *
 * Exit codes: 0 done (status/env: serving), 1 failed to start, 2 usage error, 3 not running (status/env).
 */
import { runCli, UsageError, type CliSpec } from './lib/cli.js';
import {
  LOCAL_DYNAMO_DEFAULT_DIR, LOCAL_DYNAMO_DEFAULT_PORT, localDynamoStatus, startLocalDynamo, stopLocalDynamo,
} from './lib/localDynamo.js';

const SPEC: CliSpec = {
  name: 'local-dynamodb',
  usage: 'scripts/local-dynamodb start|stop|status|env [options]',
  summary: [
    'A local DynamoDB (dynalite from node_modules, LevelDB or in memory) on 127.0.0.1 for the grant store.',
    '  start   start the server unless ours already serves on the port (idempotent)',
    '  stop    stop it (by pid file) and delete its folder unless --keep',
    '  status  exit 0 and print the endpoint when serving, exit 3 when not',
    '  env     print export lines (eval "$(scripts/local-dynamodb env)"), exit 3 when not serving',
  ],
  positionals: [{ name: '<command>', description: 'start, stop, status or env' }],
  options: {
    port: { type: 'string', value: '<n>', description: `127.0.0.1 port (LOCAL_DYNAMODB_PORT, default ${LOCAL_DYNAMO_DEFAULT_PORT})` },
    dir: { type: 'string', value: '<folder>', description: `data, log and pid folder (LOCAL_DYNAMODB_DIR, default ${LOCAL_DYNAMO_DEFAULT_DIR})` },
    memory: { type: 'boolean', description: 'start: keep tables in memory instead of LevelDB (they vanish on stop)' },
    keep: { type: 'boolean', description: 'stop: keep the folder (the LevelDB data survives for the next start)' },
  },
  footer: ['Exit status: 0 done / serving, 1 could not start, 2 usage error, 3 not running (status, env).'],
};

function portOf(value: string | undefined): number | undefined {
  const text = value ?? process.env.LOCAL_DYNAMODB_PORT;
  if (text === undefined || text === '') return undefined;
  const port = Number(text);
  if (!/^\d+$/.test(text) || port < 1 || port > 65535) throw new UsageError(`--port must be a TCP port (1–65535), got ${JSON.stringify(text)}`);
  return port;
}

const code = await runCli(SPEC, process.argv.slice(2), async ({ values, positionals }) => {
  if (positionals.length !== 1) throw new UsageError(`expected exactly one command (start, stop, status or env), got ${positionals.length}`);
  const command = positionals[0];
  const port = portOf(values.port as string | undefined);
  const dir = (values.dir as string | undefined) ?? (process.env.LOCAL_DYNAMODB_DIR || undefined);
  const opts = { ...(port === undefined ? {} : { port }), ...(dir === undefined ? {} : { dir }) };
  if (values.memory === true && command !== 'start') throw new UsageError('--memory applies to start only');
  if (values.keep === true && command !== 'stop') throw new UsageError('--keep applies to stop only');
  switch (command) {
    case 'start': {
      try {
        const started = await startLocalDynamo({ ...opts, inMemory: values.memory === true });
        process.stdout.write(`local-dynamodb: ${started.startedByUs ? 'started' : 'already serving'} on ${started.endpoint} (pid ${started.pid})\n`);
        return 0;
      } catch (err) {
        process.stderr.write(`local-dynamodb: ${err instanceof Error ? err.message : String(err)}\n`);
        return 1;
      }
    }
    case 'stop': {
      const wasRunning = await stopLocalDynamo({ ...opts, keep: values.keep === true });
      process.stdout.write(`local-dynamodb: ${wasRunning ? 'stopped' : 'was not running'}\n`);
      return 0;
    }
    case 'status': {
      const status = await localDynamoStatus(opts);
      if (!status.running) {
        process.stdout.write(`local-dynamodb: not running (${status.endpoint}, ${status.dir})\n`);
        return 3;
      }
      process.stdout.write(`local-dynamodb: serving on ${status.endpoint} (pid ${status.pid}, ${status.storage}, ${status.dir})\n`);
      return 0;
    }
    case 'env': {
      const status = await localDynamoStatus(opts);
      if (!status.running) {
        process.stderr.write(`local-dynamodb: not running on ${status.endpoint}: start it first\n`);
        return 3;
      }
      process.stdout.write(`export BROKER_DYNAMODB_ENDPOINT=${status.endpoint}\nexport LOCAL_DYNAMODB_ENDPOINT=${status.endpoint}\n`);
      return 0;
    }
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}: expected start, stop, status or env`);
  }
});
process.exitCode = code;
