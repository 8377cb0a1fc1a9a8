/**
 * The local DynamoDB lifecycle (scripts/lib/localDynamo.ts, behind scripts/local-dynamodb): a real
 * dynalite process on 127.0.0.1, idempotent start, reuse without ownership, stop by pid file,
 * and a folder that is not ours is never used or deleted.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { createGrantTable, ensureLocalDynamo, localDynamoClient, localDynamoStatus, stopLocalDynamo } from '../../scripts/lib/localDynamo.js';
import { freePort } from '../../scripts/lib/freePort.js';

const root = mkdtempSync(join(tmpdir(), 'local-dynamo-test-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('local DynamoDB', () => {
  it('starts once, is reused without being owned, keeps LevelDB data across --keep, and stops by pid file', async () => {
    const dir = join(root, 'a');
    const port = await freePort();
    expect(await localDynamoStatus({ dir, port })).toMatchObject({ running: false });
    const first = await ensureLocalDynamo({ dir, port });
    try {
      expect(first.startedByUs).toBe(true);
      expect(first.endpoint).toBe(`http://127.0.0.1:${port}`);
      const second = await ensureLocalDynamo({ dir, port });
      expect(second).toMatchObject({ startedByUs: false, pid: first.pid });
      await second.stop(); // not ours: a no-op
      expect(await localDynamoStatus({ dir, port })).toMatchObject({ running: true, pid: first.pid, storage: 'leveldb' });
      const client = localDynamoClient(first.endpoint);
      await createGrantTable(client, 'grants');
      await createGrantTable(client, 'grants'); // idempotent
      client.destroy();
      // stop --keep, start again: the table survived in LevelDB
      expect(await stopLocalDynamo({ dir, port, keep: true })).toBe(true);
      expect(await localDynamoStatus({ dir, port })).toMatchObject({ running: false });
      const again = await ensureLocalDynamo({ dir, port });
      const reader = localDynamoClient(again.endpoint);
      expect((await reader.send(new ListTablesCommand({}))).TableNames).toEqual(['grants']);
      reader.destroy();
    } finally {
      await stopLocalDynamo({ dir, port });
    }
    expect(existsSync(dir)).toBe(false);
    expect(await stopLocalDynamo({ dir, port })).toBe(false);
  }, 90_000);

  it('refuses a folder that is not its own, and deletes nothing there', async () => {
    const dir = join(root, 'foreign');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    writeFileSync(join(dir, 'precious.txt'), 'keep me');
    await expect(ensureLocalDynamo({ dir, port: await freePort() })).rejects.toThrow(/is not ours/);
    await stopLocalDynamo({ dir });
    expect(existsSync(join(dir, 'precious.txt'))).toBe(true);
  }, 30_000);

  it('reports a server that cannot start with its own log (the port is taken)', async () => {
    const sockets = new Set<import('node:net').Socket>();
    const blocker = createServer((socket) => { sockets.add(socket); });
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const address = blocker.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    try {
      await expect(ensureLocalDynamo({ dir: join(root, 'busy'), port: address.port, inMemory: true })).rejects.toThrow(/did not start on .*\(exit 1\): .*EADDRINUSE/s);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
      await stopLocalDynamo({ dir: join(root, 'busy'), port: address.port });
    }
  }, 60_000);
});
