import { createServer, type IncomingHttpHeaders } from 'node:http';
import { gunzipSync } from 'node:zlib';

export interface StubRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

export interface StubResponse {
  /** 0 drops the connection without an answer; -1 holds the request open, never answered. */
  status: number;
  headers?: Record<string, string>;
  body: string;
}

export interface HttpStub {
  url: string;
  requests: StubRequest[];
  /** What the stub answers from now on. */
  respond(next: (request: StubRequest) => StubResponse): void;
  close(): Promise<void>;
}

/**
 * A local HTTP server standing in for an AWS control plane (CloudWatch, the ECS agent): it
 * records every request, gunzipping compressed bodies, and answers as told (or never).
 */
export async function startHttpStub(
  initial: (request: StubRequest) => StubResponse = () => ({ status: 200, body: '{}' }),
  { host = '127.0.0.1' }: { host?: string } = {},
): Promise<HttpStub> {
  let answer = initial;
  const requests: StubRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
      const request: StubRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: body.toString('utf8'),
        at: Date.now(),
      };
      requests.push(request);
      const reply = answer(request);
      if (reply.status === 0) {
        req.socket.destroy();
        return;
      }
      // A hung control plane: the connection stays open until the client gives up.
      if (reply.status === -1) return;
      res.writeHead(reply.status, reply.headers ?? { 'content-type': 'application/json' });
      res.end(reply.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    requests,
    respond(next) {
      answer = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
