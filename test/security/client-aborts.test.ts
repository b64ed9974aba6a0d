import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenHttp, type RunningHttpServer } from '../../runtime/roles/http-server';
import { withPgClient } from '../support/database';
import { startTestStack, type TestStack } from '../support/stack';

/**
 * A caller that closes its connection part-way through the body, over the real server: its
 * request starts nothing (the run row is the outbox), and it is not taken for an outage.
 */
let stack: TestStack;
let server: RunningHttpServer;
const logged: { level: number; msg: string; code?: string }[] = [];

beforeAll(async () => {
  const sink = new Writable({
    write(line, _encoding, done) {
      logged.push(JSON.parse(line.toString()));
      done();
    },
  });
  stack = await startTestStack({}, { worker: false, logger: pino({ level: 'info' }, sink) });
  server = await listenHttp(stack.api.fetch, {
    port: 0,
    hostname: '127.0.0.1',
    albIdleTimeoutS: 60,
  });
});
afterAll(async () => {
  await server?.close();
  await stack?.close();
});

/** Sends the head and part of the body, then closes the connection. */
function abandonBody(path: string, headers: string, partialBody: string): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect(server.port, '127.0.0.1');
    socket.on('error', () => {});
    socket.on('connect', () => {
      socket.write(
        `POST ${path} HTTP/1.1\r\nHost: sluice.test\r\nAuthorization: Bearer ${stack.apiKey}\r\n${headers}\r\n${partialBody}`,
      );
      setTimeout(() => {
        socket.destroy();
        resolve();
      }, 100);
    });
  });
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

describe('a caller that closes before its body is complete', () => {
  it('starts no run and is logged as the caller’s doing, not as a dependency outage', async () => {
    const saved = await stack.call('POST', '/v1/flows', {
      name: 'aborted',
      trigger: { type: 'webhook' },
      steps: [{ id: 'reply', type: 'respond', body: { ok: true } }],
    });
    const { id } = (await saved.json()) as { id: string };
    const json = 'Content-Type: application/json\r\n';
    await abandonBody(`/v1/webhooks/${id}`, `${json}Content-Length: 100\r\n`, '{"a":1');
    await abandonBody(
      `/v1/webhooks/${id}/sync`,
      `${json}Transfer-Encoding: chunked\r\n`,
      '6\r\n{"a":1\r\n',
    );
    await abandonBody('/v1/files?name=a', 'Content-Length: 1000\r\n', 'partial');
    await settle();

    const runs = (await (await stack.call('GET', `/v1/runs?flowId=${id}`)).json()) as {
      runs: unknown[];
    };
    expect(runs.runs).toEqual([]);
    const files = await withPgClient(stack.database.url, (client) =>
      client.query<{ n: number }>('select count(*)::int as n from files'),
    );
    expect(files.rows).toEqual([{ n: 0 }]);
    expect(logged.filter((entry) => entry.level >= 40)).toEqual([]);
    expect(
      logged.filter((entry) => entry.msg === 'the caller closed before sending its body'),
    ).toHaveLength(3);
  });
});
