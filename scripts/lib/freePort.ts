import { createServer } from 'node:net';

/**
 * A TCP port on 127.0.0.1 that nobody listens on right now (the kernel picks it), for a local
 * server the caller is about to start. Another process may take it before the caller binds it, so
 * callers that can bind port 0 themselves should.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (address !== null && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
