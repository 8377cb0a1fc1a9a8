/**
 * What the credential-helper tests (bin/sts-broker-credentials run as a child process) share: a
 * loopback imitation of the broker whose answer each test can swap, and a temporary folder holding
 * the API key in a 0600 file (the helper refuses a key file others can read).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve, type TestServer } from './loopbackServer.js';

export interface HelperBroker {
  /** The imitation broker's base URL (http://127.0.0.1:<port>). */
  base: string;
  /** The temporary folder (cache homes go below it); removed by `close`. */
  dir: string;
  /** The API key file, mode 0600. */
  keyFile: string;
  close(): Promise<void>;
}

/** Starts the imitation broker (every request goes to `handle`) and writes `key` to a fresh key file under `tmpPrefix`. */
export async function startHelperBroker(tmpPrefix: string, key: string, handle: (req: IncomingMessage, res: ServerResponse) => void): Promise<HelperBroker> {
  const server: TestServer = await serve(handle);
  const dir = mkdtempSync(join(tmpdir(), tmpPrefix));
  const keyFile = join(dir, 'key');
  writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
  return {
    base: server.url,
    dir,
    keyFile,
    close: async () => {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A JSON answer, as the broker writes one. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}
