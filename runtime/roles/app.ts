import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { createApi } from '../api/app';
import type { ApiDeps } from '../api/deps';

export interface RunningApp {
  port: number;
  /** Stops accepting connections and resolves when in-flight requests have finished. */
  close(): Promise<void>;
}

export function startApp(deps: ApiDeps): Promise<RunningApp> {
  const api = createApi(deps);
  return new Promise((resolve) => {
    const server = serve(
      { fetch: api.fetch, port: deps.env.PORT, hostname: deps.env.HOST },
      (info: AddressInfo) => {
        resolve({
          port: info.port,
          close: () =>
            new Promise<void>((done) => {
              server.close(() => done());
              // Keep-alive sockets with no request in flight would hold close() open.
              if ('closeIdleConnections' in server) server.closeIdleConnections();
            }),
        });
      },
    );
  });
}
