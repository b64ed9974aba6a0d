import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { getRequestListener, RequestError } from '@hono/node-server';
import type { Logger } from 'pino';
import { refusalForClientError, refuseOnSocket } from './http-refusals';

/**
 * Node closes an idle keep-alive socket after 5 s by default, while the ALB keeps its side
 * open for its idle timeout and may send the next request down a socket Node has just closed:
 * the client gets a 502. Node must outlast the ALB, so the ALB is always the one that closes.
 */
export const keepAliveTimeoutMs = (albIdleTimeoutS: number) => (albIdleTimeoutS + 5) * 1000;
/** Above keepAliveTimeout, or a reused socket's next request can be cut off mid-headers. */
export const headersTimeoutMs = (albIdleTimeoutS: number) =>
  keepAliveTimeoutMs(albIdleTimeoutS) + 1000;

/**
 * Node answers 408 to a connection that began a request and stalls in its headers, and closes
 * an idle keep-alive one, but keeps for good a connection that never sends a byte: enough of
 * them would hold every file descriptor. One that has not begun a request within this long
 * (the headers timeout) is closed.
 */
function closeSilentConnections(server: Server, afterMs: number) {
  const spoken = new WeakSet<Socket>();
  server.on('connection', (socket: Socket) => {
    const timer = setTimeout(() => {
      if (!spoken.has(socket)) socket.destroy();
    }, afterMs);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  });
  return (request: IncomingMessage) => {
    spoken.add(request.socket);
  };
}

/**
 * Node answers `Expect: 100-continue` with 100 before the API has seen the request, so a
 * client invited to send a body the API then refuses (too large for its route, no such flow,
 * a wrong key) sends it first. Here the invitation goes out only when something starts reading
 * the body; an answer that comes first is final, and Node closes the connection after it,
 * since the client may send the body anyway.
 */
function inviteBodyOnFirstRead(
  handle: (request: IncomingMessage, response: ServerResponse) => unknown,
) {
  return (request: IncomingMessage, response: ServerResponse) => {
    const read = request._read;
    request._read = function readAfterInviting(size) {
      request._read = read;
      if (!response.headersSent) response.writeContinue();
      return read.call(this, size);
    };
    return handle(request, response);
  };
}

/** How often a closing server closes the keep-alive connections whose last response has ended. */
const CLOSE_SWEEP_MS = 100;

export interface RunningHttpServer {
  port: number;
  /** Stops accepting connections and resolves when in-flight requests have finished. */
  close(): Promise<void>;
}

const jsonError = (status: number, code: string, message: string, requestId: string) =>
  Response.json(
    { error: { code, message, ...(status >= 500 ? { requestId } : {}) } },
    { status, headers: { 'X-Request-Id': requestId } },
  );

/**
 * @hono/node-server builds the web Request before the API runs; a request it cannot build one
 * from (a Host that is no host, a backslash in the path, `OPTIONS *`) would get its bare 400
 * with no body. Its texts are not ours to send, so the API's shape and words are used instead.
 */
function requestNotBuilt(logger: Pick<Logger, 'error'> | undefined) {
  return (error: unknown) => {
    const requestId = randomUUID();
    if (error instanceof RequestError) {
      return jsonError(
        400,
        'invalid_request',
        'the Host header and the request target do not form a valid URL',
        requestId,
      );
    }
    logger?.error({ err: error, requestId }, 'unhandled error outside the API');
    return jsonError(500, 'internal', 'internal error', requestId);
  };
}

/**
 * Serves `fetch` with @hono/node-server, with keep-alive timeouts set for an ALB in front whose
 * idle timeout is `albIdleTimeoutS` (SLUICE_ALB_IDLE_TIMEOUT_S, ALB_IDLE_TIMEOUT_S by default).
 * Requests Node refuses before the API sees them are answered in the API's error shape.
 */
export function listenHttp(
  fetch: (request: Request) => Response | Promise<Response>,
  {
    port,
    hostname,
    albIdleTimeoutS,
    logger,
    silentConnectionMs = headersTimeoutMs(albIdleTimeoutS),
  }: {
    port: number;
    hostname: string;
    albIdleTimeoutS: number;
    logger?: Pick<Logger, 'error'>;
    /** How long a new connection may stay silent; the headers timeout unless a test says. */
    silentConnectionMs?: number;
  },
): Promise<RunningHttpServer> {
  return new Promise((resolve, reject) => {
    const listener = getRequestListener(fetch, { hostname, errorHandler: requestNotBuilt(logger) });
    const handle = (request: IncomingMessage, response: ServerResponse) => {
      spoke(request);
      return listener(request, response);
    };
    const server = createServer(handle);
    server.on('checkContinue', inviteBodyOnFirstRead(handle));
    const spoke = closeSilentConnections(server, silentConnectionMs);
    server.keepAliveTimeout = keepAliveTimeoutMs(albIdleTimeoutS);
    server.headersTimeout = headersTimeoutMs(albIdleTimeoutS);
    // Node's own answers to these are a bare status line with no body and no X-Request-Id.
    server.on('clientError', (error: { code?: unknown }, socket) =>
      refuseOnSocket(socket, refusalForClientError(error)),
    );
    // Unheard, CONNECT gets its connection dropped without an answer.
    server.on('connect', (_request, socket) =>
      refuseOnSocket(socket, {
        status: 405,
        code: 'method_not_allowed',
        message: 'CONNECT is not allowed: this is not a proxy',
      }),
    );
    server.on('checkExpectation', (_request, response) => {
      const body = JSON.stringify({
        error: { code: 'expectation_failed', message: 'Expect may only be 100-continue' },
      });
      response.writeHead(417, {
        'Content-Type': 'application/json',
        'Content-Length': Buffer.byteLength(body),
        'X-Request-Id': randomUUID(),
      });
      response.end(body);
    });
    // A port in use or a host that is not this machine's: the caller names the setting.
    server.once('error', reject);
    server.listen(port, hostname, () => {
      server.off('error', reject);
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((done) => {
            // Keep-alive sockets with no request in flight would hold close() open, and so
            // would one whose request was in flight: it goes idle when its response ends, and
            // Node then waits for the client (the ALB: up to its idle timeout). Each is closed
            // once idle.
            const sweep = setInterval(() => server.closeIdleConnections(), CLOSE_SWEEP_MS);
            server.close(() => {
              clearInterval(sweep);
              done();
            });
            server.closeIdleConnections();
          }),
      });
    });
  });
}
