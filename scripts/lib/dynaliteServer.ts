/**
 * The local DynamoDB process started by scripts/lib/localDynamo.ts (`scripts/local-dynamodb start`):
 * dynalite (DynamoDB's API over LevelDB, from node_modules) on 127.0.0.1 only.
 *
 *   node --import tsx scripts/lib/dynaliteServer.ts --port <n> [--path <leveldb dir>]
 *
 * Without --path the tables live in memory and vanish with the process. Table changes take effect
 * at once (createTableMs 0) so tests and the bench never wait for CREATING → ACTIVE.
 */
import dynalite from 'dynalite';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { port: { type: 'string' }, path: { type: 'string' } }, strict: true });
const port = Number(values.port);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  process.stderr.write('dynalite-server: --port must be a TCP port number\n');
  process.exit(2);
}

const server = dynalite({
  ...(values.path === undefined ? {} : { path: values.path }),
  createTableMs: 0,
  deleteTableMs: 0,
  updateTableMs: 0,
});

server.on('error', (err: Error) => {
  process.stderr.write(`dynalite-server: ${err.message}\n`);
  process.exit(1);
});

server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`dynalite-server: listening on http://127.0.0.1:${port} (${values.path === undefined ? 'in memory' : `LevelDB at ${values.path}`})\n`);
});

// LevelDB flushes on close: stop cleanly on SIGTERM / SIGINT, and never hang past 5 s.
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    setTimeout(() => process.exit(0), 5000).unref();
    server.close(() => process.exit(0));
  });
}
