import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';

/**
 * Node closes an idle keep-alive socket after 5 s by default, while the ALB keeps its side
 * open for its idle timeout and may send the next request down a socket Node has just closed:
 * the client gets a 502. Node must outlast the ALB, so the ALB is always the one that closes.
 */
export const keepAliveTimeoutMs = (albIdleTimeoutS: number) => (albIdleTimeoutS + 5) * 1000;
/** Above keepAliveTimeout, or a reused socket's next request can be cut off mid-headers. */
export const headersTimeoutMs = (albIdleTimeoutS: number) =>
  keepAliveTimeoutMs(albIdleTimeoutS) + 1000;

export interface RunningHttpServer {
  port: number;
  /** Stops accepting connections and resolves when in-flight requests have finished. */
  close(): Promise<void>;
}

/**
 * Serves `fetch` with @hono/node-server, with keep-alive timeouts set for an ALB in front whose
 * idle timeout is `albIdleTimeoutS` (SLUICE_ALB_IDLE_TIMEOUT_S, ALB_IDLE_TIMEOUT_S by default).
 */
export function listenHttp(
  fetch: (request: Request) => Response | Promise<Response>,
  { port, hostname, albIdleTimeoutS }: { port: number; hostname: string; albIdleTimeoutS: number },
): Promise<RunningHttpServer> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, port, hostname }, (info: AddressInfo) => {
      server.off('error', reject);
      resolve({
        port: info.port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            // Keep-alive sockets with no request in flight would hold close() open.
            if ('closeIdleConnections' in server) server.closeIdleConnections();
          }),
      });
    }) as Server;
    // A port in use or a host that is not this machine's: the caller names the setting.
    server.once('error', reject);
    server.keepAliveTimeout = keepAliveTimeoutMs(albIdleTimeoutS);
    server.headersTimeout = headersTimeoutMs(albIdleTimeoutS);
  });
}
