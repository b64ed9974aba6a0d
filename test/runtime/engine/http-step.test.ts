import { createServer } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createFlowRunner } from '../../../runtime/engine';
import { failure, flowOf, later, triggerOf } from './flow-fixtures';
import { type StubServer, startStubServer } from './stub-server';

const httpStep = (fields: Record<string, unknown>) => ({
  id: 'call',
  type: 'http',
  method: 'GET',
  ...fields,
});

describe('http steps against a local stub (allowPrivateNetwork)', () => {
  const runner = createFlowRunner({ allowPrivateNetwork: true, httpTimeoutMs: 2000 });
  let stub: StubServer;

  beforeAll(async () => {
    stub = await startStubServer((request, response) => {
      const path = new URL(request.url, 'http://stub').pathname;
      if (path === '/json') {
        response.setHeader('content-type', 'application/json; charset=utf-8');
        response.setHeader('x-stub', 'yes');
        response.end(JSON.stringify({ hello: 'world', n: 3 }));
      } else if (path === '/echo') {
        response.setHeader('content-type', 'application/json');
        response.end(
          JSON.stringify({ method: request.method, headers: request.headers, body: request.body }),
        );
      } else if (path === '/text') {
        response.setHeader('content-type', 'text/plain');
        response.end('just text');
      } else if (path === '/missing') {
        response.statusCode = 404;
        response.end('no such thing');
      } else if (path === '/redirect') {
        response.statusCode = 302;
        response.setHeader('location', '/json');
        response.end();
      } else if (path === '/slow') {
        // never answers
      } else if (path === '/endless') {
        response.setHeader('content-type', 'text/plain');
        const chunk = Buffer.alloc(16 * 1024, 'x');
        const pump = () => {
          while (response.write(chunk)) {}
        };
        response.on('drain', pump);
        pump();
      } else {
        response.end('ok');
      }
    });
  });
  afterEach(() => {
    stub.received.length = 0;
  });
  afterAll(async () => {
    runner.dispose();
    await stub.close();
  });

  it('returns status, headers and the parsed JSON body', async () => {
    const outcome = await runner.run(
      flowOf([httpStep({ url: `${stub.origin}/json` })]),
      triggerOf(null),
      later(),
    );
    expect(outcome.status).toBe('succeeded');
    expect(outcome.status === 'succeeded' && outcome.response.body).toEqual({
      status: 200,
      headers: expect.objectContaining({
        'x-stub': 'yes',
        'content-type': 'application/json; charset=utf-8',
      }),
      body: { hello: 'world', n: 3 },
    });
  });

  it('sends the method, headers and a templated JSON body', async () => {
    const flow = flowOf([
      httpStep({
        method: 'POST',
        url: `${stub.origin}/echo`,
        headers: { 'x-order': '{{trigger.body.order}}' },
        body: { order: '{{trigger.body.order}}', items: '{{trigger.body.items}}' },
      }),
      { id: 'reply', type: 'respond', body: '{{call.body}}' },
    ]);
    const outcome = await runner.run(flow, triggerOf({ order: 'o-1', items: [1, 2] }), later());
    expect(outcome.status).toBe('succeeded');
    const echoed =
      outcome.status === 'succeeded'
        ? (outcome.response.body as {
            method?: string;
            headers: Record<string, string>;
            body?: string;
          })
        : { headers: {} };
    expect(echoed.method).toBe('POST');
    expect(echoed.headers['x-order']).toBe('o-1');
    expect(echoed.headers['content-type']).toBe('application/json');
    expect(JSON.parse(echoed.body ?? '')).toEqual({ order: 'o-1', items: [1, 2] });
  });

  it('returns a non-JSON body as text', async () => {
    const outcome = await runner.run(
      flowOf([httpStep({ url: `${stub.origin}/text` })]),
      triggerOf(null),
      later(),
    );
    expect(
      outcome.status === 'succeeded' && (outcome.response.body as { body: unknown }).body,
    ).toBe('just text');
  });

  it('fails the step on a status of 400 or more, naming the status', async () => {
    const outcome = failure(
      await runner.run(
        flowOf([httpStep({ url: `${stub.origin}/missing?token=secret` })]),
        triggerOf(null),
        later(),
      ),
    );
    expect(outcome.status).toBe('failed');
    expect(outcome.failedStep).toBe('call');
    expect(outcome.error).toBe(`GET ${stub.origin}/missing answered 404: no such thing`);
    expect(outcome.error).not.toContain('secret');
  });

  it('does not follow redirects', async () => {
    const outcome = await runner.run(
      flowOf([httpStep({ url: `${stub.origin}/redirect` })]),
      triggerOf(null),
      later(),
    );
    expect(outcome.status === 'succeeded' && outcome.response.body).toMatchObject({
      status: 302,
      headers: { location: '/json' },
    });
    expect(stub.received.map((request) => request.url)).toEqual(['/redirect']);
  });

  it('fails the step when the server does not answer within timeoutMs', async () => {
    const started = Date.now();
    const outcome = failure(
      await runner.run(
        flowOf([httpStep({ url: `${stub.origin}/slow`, timeoutMs: 200 })]),
        triggerOf(null),
        later(),
      ),
    );
    expect(outcome.status).toBe('failed');
    expect(outcome.error).toContain('request timed out after 200 ms');
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('times the flow out when the deadline comes before the http timeout', async () => {
    const outcome = failure(
      await runner.run(
        flowOf([httpStep({ url: `${stub.origin}/slow` })]),
        triggerOf(null),
        later(200),
      ),
    );
    expect(outcome.status).toBe('timed_out');
    expect(outcome.failedStep).toBe('call');
  });

  it('stops waiting for the server when the signal aborts', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    const outcome = failure(
      await runner.run(flowOf([httpStep({ url: `${stub.origin}/slow` })]), triggerOf(null), {
        ...later(),
        signal: controller.signal,
      }),
    );
    expect(outcome.status).toBe('timed_out');
    expect(outcome.error).toMatch(/^flow aborted/);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('stops reading a response past httpMaxResponseBytes', async () => {
    const small = createFlowRunner({ allowPrivateNetwork: true, httpMaxResponseBytes: 100_000 });
    const started = Date.now();
    const outcome = failure(
      await small.run(
        flowOf([httpStep({ url: `${stub.origin}/endless` })]),
        triggerOf(null),
        later(),
      ),
    );
    small.dispose();
    expect(outcome.status).toBe('limit_exceeded');
    expect(outcome.error).toContain('httpMaxResponseBytes (100000 bytes)');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('refuses a response whose declared length is over httpMaxResponseBytes', async () => {
    const small = createFlowRunner({ allowPrivateNetwork: true, httpMaxResponseBytes: 10 });
    const outcome = failure(
      await small.run(flowOf([httpStep({ url: `${stub.origin}/json` })]), triggerOf(null), later()),
    );
    small.dispose();
    expect(outcome.status).toBe('limit_exceeded');
  });

  it('refuses a templated url with a scheme other than http or https', async () => {
    const outcome = failure(
      await runner.run(
        flowOf([httpStep({ url: '{{trigger.body.url}}' })]),
        triggerOf({ url: 'file:///etc/passwd' }),
        later(),
      ),
    );
    expect(outcome.status).toBe('failed');
    expect(outcome.error).toContain('url must use http: or https: (got file:)');
  });

  it('fails the step, without sending, when a templated header value has a line break', async () => {
    const flow = flowOf([
      httpStep({ url: `${stub.origin}/json`, headers: { 'x-name': '{{trigger.body.name}}' } }),
    ]);
    const outcome = failure(await runner.run(flow, triggerOf({ name: 'a\r\nx-evil: 1' }), later()));
    expect(outcome.status).toBe('failed');
    expect(outcome.error).toContain('Invalid character in header content');
    expect(stub.received).toEqual([]);
  });

  it('still refuses link-local metadata addresses', async () => {
    const outcome = failure(
      await runner.run(
        flowOf([httpStep({ url: 'http://169.254.169.254/latest/meta-data/' })]),
        triggerOf(null),
        later(),
      ),
    );
    expect(outcome.error).toContain('refused to connect to 169.254.169.254 (metadata address)');
  });

  it.each([
    ['without asking to', {}],
    ['when the step asked to', { upgrade: 'websocket', connection: 'Upgrade' }],
  ])(
    'fails the step at once, naming it, when the server switches protocols %s',
    async (_when, headers) => {
      const switching = await startRawServer(
        'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
      );
      const started = Date.now();
      const outcome = failure(
        await runner.run(
          flowOf([httpStep({ url: `${switching.origin}/`, headers, timeoutMs: 5000 })]),
          triggerOf(null),
          later(),
        ),
      );
      await switching.close();
      expect(outcome.status).toBe('failed');
      expect(outcome.error).toContain('the server answered 101 Switching Protocols');
      // Before, the step waited out its whole timeoutMs.
      expect(Date.now() - started).toBeLessThan(1500);
    },
  );

  it('fails the step when nothing listens on the port', async () => {
    const closed = await startStubServer(() => {});
    await closed.close();
    const outcome = failure(
      await runner.run(flowOf([httpStep({ url: `${closed.origin}/` })]), triggerOf(null), later()),
    );
    expect(outcome.status).toBe('failed');
    expect(outcome.error).toContain('ECONNREFUSED');
  });
});

describe('http steps with the default address guard', () => {
  const runner = createFlowRunner();
  let stub: StubServer;

  beforeAll(async () => {
    stub = await startStubServer((_request, response) => response.end('reached'));
  });
  afterAll(async () => {
    runner.dispose();
    await stub.close();
  });

  async function refusal(url: string) {
    const outcome = failure(
      await runner.run(flowOf([httpStep({ url })]), triggerOf(null), later()),
    );
    expect(outcome.status).toBe('failed');
    expect(outcome.failedStep).toBe('call');
    return outcome.error;
  }

  it('refuses 127.0.0.1', async () => {
    expect(await refusal(`${stub.origin}/`)).toContain(
      'refused to connect to 127.0.0.1 (loopback address)',
    );
    expect(stub.received).toEqual([]);
  });

  it('refuses localhost, a name that resolves to loopback', async () => {
    expect(await refusal(`http://localhost:${stub.port}/`)).toMatch(
      /refused to connect to localhost at (127\.0\.0\.1|::1) \(loopback address\)/,
    );
    expect(stub.received).toEqual([]);
  });

  it('refuses [::1]', async () => {
    expect(await refusal(`http://[::1]:${stub.port}/`)).toContain(
      'refused to connect to ::1 (loopback address)',
    );
  });

  it('refuses 169.254.169.254 instance metadata', async () => {
    expect(await refusal('http://169.254.169.254/latest/api/token')).toContain('metadata address');
  });

  it('refuses 169.254.170.2 task credentials endpoint', async () => {
    expect(await refusal('http://169.254.170.2/v2/credentials/abc')).toContain('metadata address');
  });

  it('refuses fd00:ec2::254 IPv6 instance metadata', async () => {
    expect(await refusal('http://[fd00:ec2::254]/latest/meta-data/')).toContain('metadata address');
  });

  it('refuses 10.0.0.1', async () => {
    expect(await refusal('http://10.0.0.1/')).toContain('private address');
  });

  it('refuses IPv4-mapped IPv6 loopback', async () => {
    expect(await refusal(`http://[::ffff:127.0.0.1]:${stub.port}/`)).toContain('loopback address');
    expect(stub.received).toEqual([]);
  });

  it('refuses loopback written as a decimal number', async () => {
    expect(await refusal(`http://2130706433:${stub.port}/`)).toContain('loopback address');
  });

  it('refuses 0.0.0.0', async () => {
    expect(await refusal(`http://0.0.0.0:${stub.port}/`)).toContain('unspecified address');
  });
});

/** A TCP server on 127.0.0.1 that answers every request with the same raw bytes. */
async function startRawServer(answer: string) {
  const server = createServer((socket) => {
    socket.on('error', () => undefined);
    socket.once('data', () => socket.write(answer));
  });
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  const { port } = server.address() as { port: number };
  return {
    origin: `http://127.0.0.1:${port}`,
    // The step's side destroys its socket, so close() has no connection left to wait for.
    close: () => new Promise<void>((closed) => server.close(() => closed())),
  };
}
