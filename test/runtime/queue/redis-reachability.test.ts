import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertRedisAnswers } from '../../../runtime/queue/redis-reachability';
import { freePort } from '../../support/processes';

/** A TCP server on loopback that `answer`s each connection; resolves with its port. */
async function tcpServer(
  answer: (socket: Socket) => void,
): Promise<{ port: number; server: Server }> {
  const server = createServer(answer);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { port: address.port, server };
}

const failureOf = (promise: Promise<unknown>) =>
  promise.then(
    () => 'answered',
    (error: Error) => `${error.name}: ${error.message}`,
  );

describe('the start-up check that Redis answers', () => {
  let passwordPort: number;
  let passwordRedis: ChildProcess;
  const servers: Server[] = [];

  beforeAll(async () => {
    passwordPort = await freePort();
    passwordRedis = spawn(
      'redis-server',
      [
        '--port',
        String(passwordPort),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--requirepass',
        's3cret',
      ],
      { stdio: 'ignore' },
    );
    const deadline = Date.now() + 10_000;
    for (;;) {
      const probe = new Redis({
        port: passwordPort,
        password: 's3cret',
        lazyConnect: true,
        retryStrategy: () => null,
      });
      probe.on('error', () => undefined);
      const up = await probe.connect().then(
        () => true,
        () => false,
      );
      probe.disconnect();
      if (up) break;
      if (Date.now() > deadline)
        throw new Error('the password-protected redis-server did not start');
      await new Promise((done) => setTimeout(done, 100));
    }
  });

  afterAll(() => {
    passwordRedis.kill('SIGKILL');
    for (const server of servers) server.close();
  });

  it('passes when Redis answers PING, with and without a password', async () => {
    await expect(assertRedisAnswers({ url: 'redis://127.0.0.1:6379' })).resolves.toBeUndefined();
    await expect(
      assertRedisAnswers({ url: `redis://127.0.0.1:${passwordPort}`, password: 's3cret' }),
    ).resolves.toBeUndefined();
  });

  it('names REDIS_URL, the address and the reason, and never the password', async () => {
    const closed = await freePort();
    const silent = await tcpServer(() => undefined);
    const http = await tcpServer((socket) => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
    const hangsUp = await tcpServer((socket) => socket.destroy());
    servers.push(silent.server, http.server, hangsUp.server);
    const cases: [string, Promise<unknown>][] = [
      [
        `RedisUnreachableError: cannot reach the Redis REDIS_URL names (127.0.0.1:${closed}): ECONNREFUSED, nothing listens there`,
        assertRedisAnswers({ url: `redis://127.0.0.1:${closed}` }),
      ],
      [
        'RedisUnreachableError: cannot reach the Redis REDIS_URL names (no-such-host.invalid:6379): ENOTFOUND, the host does not resolve',
        assertRedisAnswers({ url: 'redis://no-such-host.invalid' }),
      ],
      [
        `RedisUnreachableError: cannot reach the Redis REDIS_URL names (127.0.0.1:${passwordPort}): Redis needs a password (NOAUTH): set SLUICE_REDIS_PASSWORD`,
        assertRedisAnswers({ url: `redis://127.0.0.1:${passwordPort}` }),
      ],
      [
        `RedisUnreachableError: cannot reach the Redis REDIS_URL names (127.0.0.1:${passwordPort}): the user or password was refused (WRONGPASS)`,
        assertRedisAnswers({ url: `redis://:wrong-one@127.0.0.1:${passwordPort}` }),
      ],
      [
        `RedisUnreachableError: cannot reach the Redis REDIS_URL names (127.0.0.1:${http.port}): what answered there is not Redis`,
        assertRedisAnswers({ url: `redis://127.0.0.1:${http.port}` }),
      ],
      [
        `RedisUnreachableError: cannot reach the Redis REDIS_URL names (127.0.0.1:${hangsUp.port}): the connection closed before Redis answered`,
        assertRedisAnswers({ url: `redis://127.0.0.1:${hangsUp.port}` }),
      ],
      [
        `RedisUnreachableError: cannot reach the Redis REDIS_URL names (127.0.0.1:${silent.port}): ETIMEDOUT, no answer (rediss:// needs a server that speaks TLS)`,
        assertRedisAnswers({ url: `rediss://127.0.0.1:${silent.port}` }),
      ],
      [
        `RedisUnreachableError: cannot reach the Redis REDIS_SENTINELS names (127.0.0.1:${closed}): no Sentinel there gave the address of master "sluice", or that master did not answer`,
        assertRedisAnswers({
          sentinels: [{ host: '127.0.0.1', port: closed }],
          sentinelMaster: 'sluice',
        }),
      ],
      [
        // A Redis that is not a Sentinel cannot name a master.
        'RedisUnreachableError: cannot reach the Redis REDIS_SENTINELS names (127.0.0.1:6379): no Sentinel there gave the address of master "mymaster", or that master did not answer',
        assertRedisAnswers({ sentinels: [{ host: '127.0.0.1', port: 6379 }] }),
      ],
    ];
    const failures = await Promise.all(cases.map(([, check]) => failureOf(check)));
    expect(failures).toEqual(cases.map(([expected]) => expected));
    expect(failures.join('\n')).not.toContain('wrong-one');
  }, 20_000);

  it('names a server that accepts the connection and never answers, within its bound', async () => {
    const silent = await tcpServer(() => undefined);
    servers.push(silent.server);
    const startedAt = performance.now();
    const failure = await failureOf(
      assertRedisAnswers({ url: `redis://127.0.0.1:${silent.port}` }),
    );
    expect(failure).toBe(
      `RedisUnreachableError: cannot reach the Redis REDIS_URL names (127.0.0.1:${silent.port}): it took the connection but did not answer`,
    );
    expect(performance.now() - startedAt).toBeLessThan(8000);
  }, 20_000);
});
