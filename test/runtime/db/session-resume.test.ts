import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSessionConnection } from '../../../runtime/db/session-connection';
import { createTestDatabase, type TestDatabase } from '../../support/database';

/**
 * A database that answers a new connection only after `delayMs`, as Aurora Serverless v2 does
 * while it resumes from a pause: a TCP proxy on loopback in front of the real PostgreSQL.
 */
function resumingProxy(delayMs: number): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.pause();
    setTimeout(() => {
      const upstream = tcpConnect(5432, '127.0.0.1', () => {
        client.pipe(upstream).pipe(client);
        client.resume();
      });
      sockets.add(upstream);
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
      client.on('close', () => upstream.destroy());
    }, delayMs);
  });
  return new Promise((ready) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      ready({
        port: typeof address === 'object' && address !== null ? address.port : 0,
        close: () =>
          new Promise((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

let database: TestDatabase;
let proxy: Awaited<ReturnType<typeof resumingProxy>>;
beforeAll(async () => {
  database = await createTestDatabase({ migrate: false });
  proxy = await resumingProxy(3000);
});
afterAll(async () => {
  await proxy.close();
  await database.drop();
});

describe('a session connection after a rest', () => {
  it('waits for a database that takes longer than the usual connect bound to resume', async () => {
    const url = new URL(database.url);
    url.host = `127.0.0.1:${proxy.port}`;
    const session = createSessionConnection({
      access: { url: url.toString() },
      applicationName: 'resume-test',
    });
    try {
      // The usual bound (2 s) gives up on a database that answers in 3 s.
      await expect(session.query('select 1')).rejects.toThrow();
      await session.rest();
      const started = Date.now();
      expect(await session.query<{ one: number }>('select 1 as one')).toEqual([{ one: 1 }]);
      expect(Date.now() - started).toBeGreaterThanOrEqual(2900);
    } finally {
      await session.close();
    }
  }, 20_000);
});
