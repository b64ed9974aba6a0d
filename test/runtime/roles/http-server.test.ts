import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ALB_IDLE_TIMEOUT_S } from '../../../runtime/limits';
import {
  headersTimeoutMs,
  keepAliveTimeoutMs,
  listenHttp,
  type RunningHttpServer,
} from '../../../runtime/roles/http-server';

/** Node's own keepAliveTimeout, which the ALB's 60 s idle timeout outlasts. */
const NODE_DEFAULT_KEEP_ALIVE_MS = 5000;

let server: RunningHttpServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** Sends one keep-alive GET on `socket` and resolves with the raw response once it is whole. */
function get(socket: Socket, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let raw = '';
    const onData = (chunk: Buffer) => {
      raw += chunk.toString();
      const [head = '', body = ''] = raw.split('\r\n\r\n');
      const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? Number.NaN);
      if (body.length >= length) {
        socket.off('data', onData);
        socket.off('close', onClose);
        resolve(raw);
      }
    };
    const onClose = () => reject(new Error(`socket closed before a response to ${path}`));
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.write(`GET ${path} HTTP/1.1\r\nhost: sluice.test\r\nconnection: keep-alive\r\n\r\n`);
  });
}

describe('the HTTP server behind the ALB', () => {
  it('keeps idle keep-alive sockets open longer than the ALB does', () => {
    for (const idleS of [ALB_IDLE_TIMEOUT_S, 1, 4000]) {
      expect(keepAliveTimeoutMs(idleS)).toBeGreaterThan(idleS * 1000);
      expect(headersTimeoutMs(idleS)).toBeGreaterThan(keepAliveTimeoutMs(idleS));
    }
  });

  it('serves a second request on a keep-alive socket left idle past Node’s 5 s default', async () => {
    server = await listenHttp((request) => new Response(new URL(request.url).pathname), {
      port: 0,
      hostname: '127.0.0.1',
      albIdleTimeoutS: ALB_IDLE_TIMEOUT_S,
    });
    const socket = connect(server.port, '127.0.0.1');
    await new Promise<void>((done) => socket.once('connect', done));
    let closedAt: number | null = null;
    socket.once('close', () => {
      closedAt = Date.now();
    });

    const first = await get(socket, '/first');
    const idleSince = Date.now();
    // Idle, as a pooled ALB connection is between two requests; a close would end this early.
    await new Promise<void>((done) => {
      const timer = setTimeout(done, NODE_DEFAULT_KEEP_ALIVE_MS + 1500);
      socket.once('close', () => {
        clearTimeout(timer);
        done();
      });
    });
    expect(closedAt === null ? null : (closedAt as number) - idleSince).toBeNull();
    const second = await get(socket, '/second');
    socket.destroy();

    expect(first).toMatch(/^HTTP\/1\.1 200/);
    expect(first).toMatch(
      new RegExp(`keep-alive: timeout=${keepAliveTimeoutMs(ALB_IDLE_TIMEOUT_S) / 1000}\r\n`, 'i'),
    );
    expect(second).toMatch(/^HTTP\/1\.1 200/);
    expect(second.endsWith('/second')).toBe(true);
  });

  it('closes a connection that sends nothing, and keeps one that made a request', async () => {
    const silentConnectionMs = 400;
    server = await listenHttp((request) => new Response(new URL(request.url).pathname), {
      port: 0,
      hostname: '127.0.0.1',
      albIdleTimeoutS: ALB_IDLE_TIMEOUT_S,
      silentConnectionMs,
    });
    const silent = connect(server.port, '127.0.0.1');
    const talking = connect(server.port, '127.0.0.1');
    await Promise.all(
      [silent, talking].map((socket) => new Promise((done) => socket.once('connect', done))),
    );
    const closed = (socket: Socket) =>
      new Promise<number>((done) => socket.once('close', () => done(Date.now())));
    const silentClosed = closed(silent);
    const connectedAt = Date.now();
    const answer = await get(talking, '/spoke');

    // Before, Node kept the silent one open for good.
    expect((await silentClosed) - connectedAt).toBeLessThan(silentConnectionMs + 5000);
    await new Promise((done) => setTimeout(done, silentConnectionMs + 200));
    expect(talking.destroyed).toBe(false);
    expect(answer).toMatch(/^HTTP\/1\.1 200/);
    expect(await get(talking, '/again')).toMatch(/^HTTP\/1\.1 200/);
    talking.destroy();
  });

  it('closes, once its response has gone, a keep-alive connection whose request was in flight at close()', async () => {
    let answer!: () => void;
    const answered = new Promise<void>((go) => (answer = go));
    const running = await listenHttp(
      async () => {
        await answered;
        return new Response('done');
      },
      { port: 0, hostname: '127.0.0.1', albIdleTimeoutS: ALB_IDLE_TIMEOUT_S },
    );
    const socket = connect(running.port, '127.0.0.1');
    await new Promise<void>((done) => socket.once('connect', done));
    const response = get(socket, '/slow');
    await new Promise((settle) => setTimeout(settle, 100));
    const closedAt = running.close().then(() => Date.now());
    await new Promise((settle) => setTimeout(settle, 100));
    const answeredAt = Date.now();
    answer();

    expect(await response).toMatch(/^HTTP\/1\.1 200[\s\S]*done$/);
    // Before, close() waited for the client to drop the connection (up to keepAliveTimeout).
    expect((await closedAt) - answeredAt).toBeLessThan(3000);
    socket.destroy();
  });
});
