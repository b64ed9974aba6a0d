import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenHttp, type RunningHttpServer } from '../../runtime/roles/http-server';
import { startTestStack, type TestStack } from '../support/stack';

/**
 * Requests refused before the API sees them (by Node's parser, by @hono/node-server while it
 * builds the web Request, or a method Node does not route) still get the API's answer: a 4xx
 * with `{ error: { code, message } }` naming the fault and an X-Request-Id, over the real server.
 */
let stack: TestStack;
let server: RunningHttpServer;

beforeAll(async () => {
  stack = await startTestStack({}, { worker: false });
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

interface Exchange {
  status: number;
  headers: string;
  body: string;
  closed: boolean;
}

/** Writes `bytes` on a new connection; what came back within 3 s, and whether it closed. */
function exchange(bytes: string): Promise<Exchange> {
  return new Promise((resolve) => {
    const socket = connect(server.port, '127.0.0.1');
    let received = '';
    let closed = false;
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      const [headers = '', body = ''] = received.split('\r\n\r\n');
      resolve({ status: Number(headers.slice(9, 12)), headers, body, closed });
    };
    const timer = setTimeout(done, 3000);
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      const length = /content-length: (\d+)/i.exec(received)?.[1];
      const body = received.split('\r\n\r\n')[1];
      // A kept-alive answer is whole once its body is; a refused one also closes.
      if (length !== undefined && body !== undefined && body.length >= Number(length)) {
        setTimeout(() => done(), 200);
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      closed = true;
      done();
    });
    socket.on('connect', () => socket.write(bytes));
  });
}

const webhook = (headers: string, body = '') =>
  `POST /v1/webhooks/flw_unknown HTTP/1.1\r\nHost: sluice.test\r\nContent-Type: application/json\r\n${headers}\r\n${body}`;

function expectApiError(answer: Exchange, status: number, code: string) {
  expect(answer.status).toBe(status);
  expect(answer.headers).toMatch(/\r\ncontent-type: application\/json/i);
  expect(answer.headers).toMatch(/\r\nx-request-id: [0-9a-f-]{36}/i);
  const { error } = JSON.parse(answer.body) as { error: { code: string; message: string } };
  expect(error.code).toBe(code);
  expect(error.message.length).toBeGreaterThan(10);
  return error.message;
}

describe('requests Node’s parser refuses', () => {
  it.each([
    [
      'Content-Length with Transfer-Encoding (request smuggling)',
      webhook('Content-Length: 5\r\nTransfer-Encoding: chunked\r\n', '0\r\n\r\n'),
      'invalid_framing',
      /Transfer-Encoding/,
    ],
    [
      'two Content-Length headers',
      webhook('Content-Length: 2\r\nContent-Length: 3\r\n', '{}'),
      'invalid_framing',
      /Content-Length/,
    ],
    [
      'a chunk size that is not hexadecimal',
      webhook('Transfer-Encoding: chunked\r\n', 'zz\r\n{}\r\n0\r\n\r\n'),
      'invalid_framing',
      /chunk size/,
    ],
    ['TLS sent to the plain port', '\x16\x03\x01\x00\xa5\x01\x00\x00', 'bad_request', /method/],
  ])(
    'answers %s with a JSON 400 naming it, and closes the connection',
    async (_, bytes, code, named) => {
      const answer = await exchange(bytes);
      expect(expectApiError(answer, 400, code)).toMatch(named);
      expect(answer.headers).toMatch(/\r\nconnection: close/i);
      expect(answer.closed).toBe(true);
    },
  );

  it('answers 10,000 headers or a 20 KB URL with a JSON 431', async () => {
    const headers = Array.from({ length: 10_000 }, (_, i) => `x-h${i}: 1\r\n`).join('');
    for (const bytes of [
      `GET /v1/health HTTP/1.1\r\nHost: sluice.test\r\n${headers}\r\n`,
      `GET /v1/health?${'a'.repeat(20_000)} HTTP/1.1\r\nHost: sluice.test\r\n\r\n`,
    ]) {
      const answer = await exchange(bytes);
      expectApiError(answer, 431, 'headers_too_large');
      expect(answer.closed).toBe(true);
    }
  });

  it('refuses CONNECT with a JSON 405 instead of dropping the connection', async () => {
    const answer = await exchange(
      'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n',
    );
    expectApiError(answer, 405, 'method_not_allowed');
  });

  it('answers an Expect other than 100-continue with a JSON 417', async () => {
    const answer = await exchange(webhook('Content-Length: 2\r\nExpect: 200-ok\r\n', '{}'));
    expectApiError(answer, 417, 'expectation_failed');
  });

  it('refuses a body too large for its route before inviting it with 100 Continue', async () => {
    const answer = await exchange(webhook('Content-Length: 999999999\r\nExpect: 100-continue\r\n'));
    // The final answer comes first: a client waiting for 100 never sends the body.
    expect(answer.headers).not.toMatch(/^HTTP\/1\.1 100/);
    expectApiError(answer, 413, 'payload_too_large');
    // The client may still send the body it was not invited to send: nothing more is read.
    expect(answer.headers).toMatch(/\r\nconnection: close/i);
  });

  it('invites a body its route reads with 100 Continue, then answers it', async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(server.port, '127.0.0.1');
      let received = '';
      const timer = setTimeout(() => reject(new Error(`no whole answer: ${received}`)), 3000);
      socket.on('connect', () =>
        socket.write(
          `POST /v1/flows HTTP/1.1\r\nHost: sluice.test\r\nAuthorization: Bearer ${stack.apiKey}\r\n` +
            'Content-Type: application/json\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n',
        ),
      );
      socket.on('data', (chunk: Buffer) => {
        received += chunk.toString('latin1');
        // The body goes only once it was invited, as curl and Node's client send it.
        if (received === 'HTTP/1.1 100 Continue\r\n\r\n') socket.write('{}');
        if (received.endsWith('}')) {
          clearTimeout(timer);
          socket.destroy();
          resolve(received);
        }
      });
    });
    expect(answer.startsWith('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 400 ')).toBe(true);
    // The flow was judged on the body sent after the invitation: `{}` names no flow.
    expect(answer).toMatch(/"path":"name"/);
  });

  it('still serves the next connection', async () => {
    const answer = await exchange('GET /v1/health HTTP/1.1\r\nHost: sluice.test\r\n\r\n');
    expect(answer.status).toBe(200);
  });
});

describe('requests no web Request can be built from', () => {
  it.each([
    [
      'a Host that is not a host name',
      'GET /v1/health HTTP/1.1\r\nHost: a b\r\n\r\n',
      /Host header and the request target/,
    ],
    [
      'a backslash in the path',
      'GET /v1\\health HTTP/1.1\r\nHost: sluice.test\r\n\r\n',
      /Host header and the request target/,
    ],
    [
      'the asterisk form',
      'OPTIONS * HTTP/1.1\r\nHost: sluice.test\r\n\r\n',
      /Host header and the request target/,
    ],
    [
      'a malformed absolute form',
      'GET http://[zz/v1/health HTTP/1.1\r\nHost: x\r\n\r\n',
      /Host header and the request target/,
    ],
  ])('answers %s with a JSON 400 naming it', async (_, bytes, named) => {
    const answer = await exchange(bytes);
    expect(expectApiError(answer, 400, 'invalid_request')).toMatch(named);
  });
});
