import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface TestServer {
  url: string;
  /** Requests received so far: proves what was (or was never) fetched. */
  requests: () => number;
  close: () => Promise<void>;
}

/** A real HTTP server on 127.0.0.1 (ephemeral port) answering with `handler`. */
export async function serve(handler: Handler): Promise<TestServer> {
  let count = 0;
  const server: Server = createServer((req, res) => {
    count += 1;
    // A client that aborts mid-body makes writes fail; that is the point of some tests.
    res.on('error', () => undefined);
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => count,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
