import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';

export interface LoopbackServer {
  /** http://127.0.0.1:<port> */
  base: string;
  close(): Promise<void>;
}

/**
 * Serves an in-process app (`createApi(...)`) on a free loopback port through
 * @hono/node-server, as the app role does: what a client sees over a real socket.
 */
export function serveOnLoopback(fetch: (request: Request) => Response | Promise<Response>) {
  return new Promise<LoopbackServer>((ready) => {
    const server = serve({ fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) =>
      ready({
        base: `http://127.0.0.1:${info.port}`,
        close: () =>
          new Promise<void>((closed) => {
            server.close(() => closed());
            // Clients keep sockets alive; a test's server goes with its connections.
            if ('closeAllConnections' in server) server.closeAllConnections();
          }),
      }),
    );
  });
}
