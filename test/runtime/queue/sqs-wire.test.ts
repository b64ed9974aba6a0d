import { createHash } from 'node:crypto';
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSqsWire, SqsWireError } from '../../../runtime/queue/sqs-wire';
import { FAUXQS_CREDENTIALS, type RunningFauxqs, startFauxqsServer } from '../../support/fauxqs';
import { type HttpStub, type StubResponse, startHttpStub } from '../../support/http-stub';
import { signedAt } from '../../support/sigv4-verifier';
import { startSilentServer } from '../../support/silent-server';

let fauxqs: RunningFauxqs;
const cleanups: (() => unknown)[] = [];

beforeAll(async () => {
  fauxqs = await startFauxqsServer();
});
afterAll(async () => {
  await fauxqs?.close();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function clientAndWire(endpoint: string, queueUrl: string, clockOffsetMs = 0) {
  const client = new SQSClient({ region: 'us-east-1', endpoint, credentials: FAUXQS_CREDENTIALS });
  // What the SDK's own calls set when SQS answers that the signature's time is off.
  Object.assign(client.config, { systemClockOffset: clockOffsetMs });
  const wire = createSqsWire(client, queueUrl);
  cleanups.push(() => {
    wire.close();
    client.destroy();
  });
  return { client, wire };
}

const wireTo = (endpoint: string, queueUrl: string, clockOffsetMs = 0) =>
  clientAndWire(endpoint, queueUrl, clockOffsetMs).wire;

const hourAhead = 3600_000;
const clientOffset = (client: SQSClient) =>
  (client.config as unknown as { systemClockOffset: number }).systemClockOffset;

/**
 * SQS with its clock an hour ahead of this machine's (`driftPerAnswerMs` moves it further at
 * each answer): a request signed more than five minutes off its clock is refused, as AWS does,
 * and every answer carries its clock in the Date header.
 */
async function serviceAhead(driftPerAnswerMs = 0, code = 'SignatureDoesNotMatch') {
  let answers = 0;
  const stub = await startHttpStub((request) => {
    const serviceNow = Date.now() + hourAhead + driftPerAnswerMs * answers++;
    const date = new Date(serviceNow).toUTCString();
    if (Math.abs(signedAt(request) - serviceNow) > 300_000) {
      const refusal = sqsError(400, code, 'Signature expired: the request time is too skewed');
      return { ...refusal, headers: { ...refusal.headers, date } };
    }
    return { status: 200, headers: { date }, body: '{"MessageId":"m"}' };
  });
  cleanups.push(stub.close);
  return stub;
}

async function stubbed(answer: (call: number) => StubResponse): Promise<HttpStub> {
  let calls = 0;
  const stub = await startHttpStub(() => answer(++calls));
  cleanups.push(stub.close);
  return stub;
}

const sqsError = (status: number, code: string, message: string): StubResponse => ({
  status,
  headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-query-error': `${code};Sender` },
  body: JSON.stringify({ __type: `com.amazonaws.sqs#${code}`, message }),
});

describe('the SQS wire, against fauxqs', () => {
  it('sends, receives and deletes a message', async () => {
    const queueUrl = fauxqs.createQueue();
    const wire = wireTo(fauxqs.endpoint, queueUrl);
    await wire.sendMessage('{"runId":"r1"}');
    const [message, ...rest] = await wire.receiveMessage({ waitTimeS: 1, visibilityTimeoutS: 30 });
    expect(rest).toEqual([]);
    expect(message?.Body).toBe('{"runId":"r1"}');
    await wire.deleteMessage(message?.ReceiptHandle ?? '');
    expect(await wire.receiveMessage({ waitTimeS: 0, visibilityTimeoutS: 30 })).toEqual([]);
    const view = fauxqs.server.inspectQueue(queueUrl.split('/').at(-1) ?? '');
    expect(view?.messages.inflight.length).toBe(0);
  });

  it('hides a received message for the visibility timeout it asked for', async () => {
    const queueUrl = fauxqs.createQueue();
    const wire = wireTo(fauxqs.endpoint, queueUrl);
    await wire.sendMessage('hidden');
    expect(await wire.receiveMessage({ waitTimeS: 1, visibilityTimeoutS: 1 })).toHaveLength(1);
    expect(await wire.receiveMessage({ waitTimeS: 0, visibilityTimeoutS: 1 })).toEqual([]);
    const again = await wire.receiveMessage({ waitTimeS: 3, visibilityTimeoutS: 30 });
    expect(again.map((m) => m.Body)).toEqual(['hidden']);
  });

  it("names SQS's error code for a queue that does not exist", async () => {
    const wire = wireTo(fauxqs.endpoint, `${fauxqs.endpoint}/000000000000/no-such-queue`);
    const failure = await wire.sendMessage('x').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(SqsWireError);
    expect((failure as SqsWireError).name).toMatch(/NonExistentQueue|QueueDoesNotExist/);
    expect((failure as SqsWireError).status).toBe(400);
  });
});

describe('the SQS wire, against a stub', () => {
  it('signs each call with SigV4 for sqs in the client region, and names the action', async () => {
    const stub = await stubbed(() => ({ status: 200, body: '{}' }));
    const wire = wireTo(stub.url, `${stub.url}/000000000000/runs`);
    await wire.deleteMessage('handle-1');
    const [request] = stub.requests;
    expect(request?.method).toBe('POST');
    expect(request?.path).toBe('/');
    expect(request?.headers['x-amz-target']).toBe('AmazonSQS.DeleteMessage');
    expect(request?.headers['content-type']).toBe('application/x-amz-json-1.0');
    expect(request?.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=fauxqs\/\d{8}\/us-east-1\/sqs\/aws4_request, SignedHeaders=[^,]*x-amz-target[^,]*, Signature=[0-9a-f]{64}$/,
    );
    expect(JSON.parse(request?.body ?? '')).toEqual({
      QueueUrl: `${stub.url}/000000000000/runs`,
      ReceiptHandle: 'handle-1',
    });
  });

  it("signs with the SDK client's clock-skew correction", async () => {
    const stub = await stubbed(() => ({ status: 200, body: '{}' }));
    await wireTo(stub.url, `${stub.url}/000000000000/runs`, hourAhead).deleteMessage('h');
    expect(Math.abs(signedAt(stub.requests[0]) - (Date.now() + hourAhead))).toBeLessThan(60_000);
  });

  it("signs a call refused for its time again with SQS's clock, and the client keeps it", async () => {
    const stub = await serviceAhead();
    const { client, wire } = clientAndWire(stub.url, `${stub.url}/000000000000/runs`);
    await wire.sendMessage('x');
    expect(stub.requests).toHaveLength(2);
    expect(Math.abs(signedAt(stub.requests[1]) - (Date.now() + hourAhead))).toBeLessThan(60_000);
    // The SDK client's own calls (GetQueueAttributes, …) sign with the same correction.
    expect(Math.abs(clientOffset(client) - hourAhead)).toBeLessThan(60_000);
    await wire.deleteMessage('h');
    expect(stub.requests).toHaveLength(3);
  });

  it("takes SQS's clock from an accepted answer too, as the SDK does", async () => {
    const stub = await stubbed(() => ({
      status: 200,
      headers: { date: new Date(Date.now() + hourAhead).toUTCString() },
      body: '{}',
    }));
    const { client, wire } = clientAndWire(stub.url, `${stub.url}/000000000000/runs`);
    await wire.deleteMessage('h');
    expect(Math.abs(clientOffset(client) - hourAhead)).toBeLessThan(60_000);
    await wire.deleteMessage('h');
    expect(Math.abs(signedAt(stub.requests[1]) - (Date.now() + hourAhead))).toBeLessThan(60_000);
  });

  it('does not sign again a refusal whose answer agrees with this clock, or has no clock', async () => {
    for (const date of [new Date().toUTCString(), undefined, 'not a date']) {
      const stub = await stubbed(() => {
        const refusal = sqsError(400, 'SignatureDoesNotMatch', 'bad signature');
        return date === undefined ? refusal : { ...refusal, headers: { ...refusal.headers, date } };
      });
      const { client, wire } = clientAndWire(stub.url, `${stub.url}/000000000000/runs`);
      await expect(wire.sendMessage('x')).rejects.toMatchObject({ name: 'SignatureDoesNotMatch' });
      expect(stub.requests).toHaveLength(1);
      expect(clientOffset(client)).toBe(0);
    }
  });

  it('gives up after three attempts when the clock it is told keeps moving', async () => {
    const stub = await serviceAhead(3600_000, 'RequestExpired');
    const wire = wireTo(stub.url, `${stub.url}/000000000000/runs`);
    await expect(wire.sendMessage('x')).rejects.toMatchObject({ name: 'RequestExpired' });
    expect(stub.requests).toHaveLength(3);
  });

  it('retries a 500 and a throttled answer, then succeeds', async () => {
    const stub = await stubbed((call) =>
      call === 1
        ? { status: 500, body: '{}' }
        : call === 2
          ? sqsError(400, 'RequestThrottled', 'slow down')
          : { status: 200, body: '{"MessageId":"m"}' },
    );
    const wire = wireTo(stub.url, `${stub.url}/000000000000/runs`);
    await wire.sendMessage('x');
    expect(stub.requests).toHaveLength(3);
  });

  it('gives up after three attempts at a call that keeps failing', async () => {
    const stub = await stubbed(() => ({ status: 503, body: 'unavailable' }));
    const wire = wireTo(stub.url, `${stub.url}/000000000000/runs`);
    await expect(wire.sendMessage('x')).rejects.toMatchObject({
      name: 'HTTP 503',
      message: 'an answer that is not JSON',
    });
    expect(stub.requests).toHaveLength(3);
  });

  it('does not retry a refusal, and names its code', async () => {
    const stub = await stubbed(() =>
      sqsError(400, 'AccessDenied', 'User is not authorized to perform: sqs:sendmessage'),
    );
    const wire = wireTo(stub.url, `${stub.url}/000000000000/runs`);
    await expect(wire.sendMessage('x')).rejects.toMatchObject({
      name: 'AccessDenied',
      message: 'User is not authorized to perform: sqs:sendmessage',
    });
    expect(stub.requests).toHaveLength(1);
  });

  it('takes the code from the body when the answer has no query-error header', async () => {
    const stub = await stubbed(() => ({
      status: 400,
      body: JSON.stringify({ __type: 'com.amazonaws.sqs#InvalidAddress', message: 'bad url' }),
    }));
    const wire = wireTo(stub.url, `${stub.url}/000000000000/runs`);
    await expect(wire.deleteMessage('h')).rejects.toMatchObject({ name: 'InvalidAddress' });
  });

  it('refuses a received message whose body does not match its MD5', async () => {
    const message = (body: string, md5: string) => ({
      status: 200,
      body: JSON.stringify({
        Messages: [{ MessageId: 'm1', ReceiptHandle: 'h', Body: body, MD5OfBody: md5 }],
      }),
    });
    const md5 = (text: string) => createHash('md5').update(text, 'utf8').digest('hex');
    const good = await stubbed(() => message('{"runId":"é"}', md5('{"runId":"é"}')));
    const received = await wireTo(good.url, `${good.url}/0/runs`).receiveMessage({
      waitTimeS: 0,
      visibilityTimeoutS: 30,
    });
    expect(received.map((m) => m.Body)).toEqual(['{"runId":"é"}']);

    const bad = await stubbed(() => message('{"runId":"x"}', md5('{"runId":"y"}')));
    await expect(
      wireTo(bad.url, `${bad.url}/0/runs`).receiveMessage({ waitTimeS: 0, visibilityTimeoutS: 30 }),
    ).rejects.toMatchObject({ name: 'InvalidChecksum' });
  });

  it('stops a long poll at once when its signal aborts, without retrying', async () => {
    const silent = await startSilentServer();
    cleanups.push(silent.close);
    const url = `http://127.0.0.1:${silent.port}`;
    const wire = wireTo(url, `${url}/000000000000/runs`);
    const stop = new AbortController();
    const polling = wire.receiveMessage({ waitTimeS: 20, visibilityTimeoutS: 30 }, stop.signal);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const startedAt = Date.now();
    stop.abort(new Error('stopping'));
    await expect(polling).rejects.toThrow('stopping');
    expect(Date.now() - startedAt).toBeLessThan(1000);
    expect(silent.accepted()).toBe(1);
  });
});
