import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Liveness } from '../worker/liveness';

/** The worker's liveness path; dist/health-probe.mjs asks it. */
export const LIVENESS_PATH = '/healthz';

export interface LivenessServer {
  port: number;
  close(): Promise<void>;
}

/**
 * `GET /healthz` on loopback only (the container health check runs inside the task): 200
 * `{status: "ok"}`, or 503 `{status: "unhealthy", reason, forMs}` (see worker/liveness.ts).
 * Plain node:http, so a worker loads no HTTP framework; a wedged event loop cannot answer at
 * all, which the probe's timeout turns into unhealthy.
 */
export function serveLiveness(liveness: Liveness, port: number): Promise<LivenessServer> {
  const server = createServer((request, response) => {
    const send = (status: number, body: unknown) => {
      response.writeHead(status, {
        'content-type': 'application/json',
        'cache-control': 'no-store',
      });
      response.end(JSON.stringify(body));
    };
    if (request.method !== 'GET' || request.url !== LIVENESS_PATH) {
      send(404, {
        error: { code: 'not_found', message: `only GET ${LIVENESS_PATH} is served here` },
      });
      return;
    }
    void liveness.verdict().then((verdict) => {
      if (verdict.healthy) send(200, { status: 'ok' });
      else {
        send(503, {
          status: 'unhealthy',
          reason: verdict.reason,
          forMs: Math.round(verdict.forMs),
        });
      }
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
