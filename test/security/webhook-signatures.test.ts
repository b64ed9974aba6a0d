import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signWebhook } from '../../runtime/api/webhook-signature';
import { doubleFlow } from '../support/flows';
import { type LoopbackServer, serveOnLoopback } from '../support/loopback-server';
import { querySql } from '../support/sql';
import { startTestStack, type TestStack } from '../support/stack';
import { signedHeaders } from '../support/webhook-signing';

// The APP over a real socket, on real PostgreSQL and Redis. No worker: a 202 means a run row
// was committed, which is all a forged request must never get.
const TOLERANCE_S = 60;

let stack: TestStack;
let baseUrl: string;
let server: LoopbackServer;

beforeAll(async () => {
  stack = await startTestStack(
    { SLUICE_WEBHOOK_TOLERANCE_S: String(TOLERANCE_S) },
    { worker: false },
  );
  server = await serveOnLoopback(stack.api.fetch);
  baseUrl = server.base;
});
afterAll(async () => {
  await server.close();
  await stack.close();
});

const nowS = () => Math.floor(Date.now() / 1000);
const body = JSON.stringify({ n: 21 });

async function createFlow(webhookSecret?: string): Promise<string> {
  const res = await stack.call('POST', '/v1/flows', { ...doubleFlow, webhookSecret });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

async function putSecret(flowId: string, webhookSecret: string | null) {
  const res = await stack.call('PUT', `/v1/flows/${flowId}`, { ...doubleFlow, webhookSecret });
  expect(res.status).toBe(200);
}

interface Answer {
  status: number;
  code: string | undefined;
  text: string;
}

async function deliver(
  flowId: string,
  headers: Record<string, string>,
  {
    payload = body,
    idempotencyKey,
  }: { payload?: string | Uint8Array; idempotencyKey?: string } = {},
): Promise<Answer> {
  const res = await fetch(`${baseUrl}/v1/webhooks/${flowId}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(idempotencyKey === undefined ? {} : { 'idempotency-key': idempotencyKey }),
      ...headers,
    },
    body: payload,
  });
  const text = await res.text();
  const code =
    res.status === 202 ? undefined : (JSON.parse(text) as { error: { code: string } }).error.code;
  return { status: res.status, code, text };
}

/** A 401 in the standard error shape that does not give away what would have passed. */
function expectRefused(answer: Answer, code: string, secret: string, timestamp = nowS()) {
  expect(answer).toMatchObject({ status: 401, code });
  expect(JSON.parse(answer.text)).toEqual({
    error: { code, message: expect.any(String) },
  });
  const expected = signWebhook(secret, timestamp, body).slice('sha256='.length);
  expect(answer.text).not.toContain(expected);
  expect(answer.text).not.toContain(secret);
}

const SECRET = 'the-flow-secret-0123456789';

describe('webhook signatures', () => {
  it('cover the body as sent, byte for byte, not its text once decoded', async () => {
    const flowId = await createFlow(SECRET);
    const bytesOf = (...parts: (string | number[])[]) =>
      Buffer.concat(parts.map((part) => Buffer.from(part as string)));
    const withBom = bytesOf([0xef, 0xbb, 0xbf], '{"a":1}');
    const notUtf8 = bytesOf('{"a":"', [0xff], '"}');
    for (const payload of [withBom, notUtf8]) {
      const signed = signedHeaders(SECRET, payload);
      expect((await deliver(flowId, signed, { payload })).status).toBe(202);
    }
    // The decoded text signs neither: 0xFE and 0xFF both decode to U+FFFD, and a BOM to nothing.
    const decodedAlike = bytesOf('{"a":"', [0xfe], '"}');
    const signedAsText = signedHeaders(SECRET, '{"a":"\ufffd"}');
    expectRefused(
      await deliver(flowId, signedAsText, { payload: decodedAlike }),
      'invalid_signature',
      SECRET,
    );
    const bomSignedWithout = signedHeaders(SECRET, '{"a":1}');
    expect((await deliver(flowId, bomSignedWithout, { payload: withBom })).status).toBe(401);
  });

  it('accepts a request signed now with the flow secret', async () => {
    const flowId = await createFlow(SECRET);
    expect((await deliver(flowId, signedHeaders(SECRET, body))).status).toBe(202);
  });

  it('accepts a timestamp within the tolerance either way of the server clock', async () => {
    const flowId = await createFlow(SECRET);
    for (const skew of [-(TOLERANCE_S - 5), TOLERANCE_S - 5]) {
      expect((await deliver(flowId, signedHeaders(SECRET, body, nowS() + skew))).status).toBe(202);
    }
  });

  it('refuses a replayed signature older than the tolerance', async () => {
    const flowId = await createFlow(SECRET);
    const captured = signedHeaders(SECRET, body, nowS() - TOLERANCE_S - 5);
    const answer = await deliver(flowId, captured);
    expectRefused(answer, 'stale_timestamp', SECRET);
    expect(answer.text).toMatch(/s old/);
  });

  it('refuses a signature stamped further in the future than the tolerance', async () => {
    const flowId = await createFlow(SECRET);
    const answer = await deliver(flowId, signedHeaders(SECRET, body, nowS() + TOLERANCE_S + 5));
    expectRefused(answer, 'stale_timestamp', SECRET);
    expect(answer.text).toMatch(/in the future/);
  });

  it('refuses a request without a timestamp, even with a valid signature for some timestamp', async () => {
    const flowId = await createFlow(SECRET);
    const { 'x-sluice-signature': signature } = signedHeaders(SECRET, body);
    expectRefused(
      await deliver(flowId, { 'x-sluice-signature': signature ?? '' }),
      'missing_timestamp',
      SECRET,
    );
    expectRefused(await deliver(flowId, {}), 'missing_timestamp', SECRET);
  });

  it.each([
    ['a word', 'soon'],
    ['a fraction', '1700000000.5'],
    ['a negative number', '-1700000000'],
    ['an exponent', '1.7e9'],
    ['a hex number', '0x6553f100'],
    ['a huge number', '99999999999999999999'],
    ['two numbers', '1700000000, 1700000001'],
  ])('refuses a malformed timestamp: %s', async (_what, timestamp) => {
    const flowId = await createFlow(SECRET);
    const headers = {
      'x-sluice-timestamp': timestamp,
      'x-sluice-signature': signWebhook(SECRET, timestamp, body),
    };
    expectRefused(await deliver(flowId, headers), 'invalid_timestamp', SECRET);
  });

  it('refuses the old body-only signature', async () => {
    const flowId = await createFlow(SECRET);
    const bodyOnly = `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;
    expectRefused(
      await deliver(flowId, { 'x-sluice-signature': bodyOnly }),
      'missing_timestamp',
      SECRET,
    );
    expectRefused(
      await deliver(flowId, {
        'x-sluice-signature': bodyOnly,
        'x-sluice-timestamp': String(nowS()),
      }),
      'invalid_signature',
      SECRET,
    );
  });

  it('refuses a signature moved to another timestamp or another body', async () => {
    const flowId = await createFlow(SECRET);
    const signed = signedHeaders(SECRET, body, nowS() - 10);
    const restamped = { ...signed, 'x-sluice-timestamp': String(nowS()) };
    expectRefused(await deliver(flowId, restamped), 'invalid_signature', SECRET);
    const tampered = await deliver(flowId, signed, { payload: JSON.stringify({ n: 1e6 }) });
    expect(tampered).toMatchObject({ status: 401, code: 'invalid_signature' });
  });

  it('refuses a signature made with a wrong secret, or in a wrong format', async () => {
    const flowId = await createFlow(SECRET);
    const ts = String(nowS());
    const good = signWebhook(SECRET, ts, body);
    for (const signature of [
      signWebhook('not-the-flow-secret-0123', ts, body),
      good.replace('sha256=', 'sha1='),
      good.slice(0, -2),
      `${good},${good}`,
      good.replace('sha256=', ''),
    ]) {
      const answer = await deliver(flowId, {
        'x-sluice-timestamp': ts,
        'x-sluice-signature': signature,
      });
      expectRefused(answer, 'invalid_signature', SECRET);
    }
  });

  it('refuses a signature for one flow on another flow (cross-flow reuse)', async () => {
    const flowA = await createFlow('flow-a-secret-0123456789');
    const flowB = await createFlow('flow-b-secret-0123456789');
    const forA = signedHeaders('flow-a-secret-0123456789', body);
    expect((await deliver(flowA, forA)).status).toBe(202);
    expectRefused(await deliver(flowB, forA), 'invalid_signature', 'flow-b-secret-0123456789');
  });
});

describe('webhook secret rotation', () => {
  const OLD = 'old-rotation-secret-0123';
  const NEW = 'new-rotation-secret-0123';

  it('accepts the previous secret within the overlap, alongside the new one', async () => {
    const flowId = await createFlow(OLD);
    expect((await deliver(flowId, signedHeaders(OLD, body))).status).toBe(202); // now cached
    await putSecret(flowId, NEW);
    expect((await deliver(flowId, signedHeaders(OLD, body))).status).toBe(202);
    expect((await deliver(flowId, signedHeaders(NEW, body))).status).toBe(202);
  });

  it('refuses a signature from a rotated-away secret once the overlap has ended', async () => {
    const flowId = await createFlow(OLD);
    await putSecret(flowId, NEW);
    expect((await deliver(flowId, signedHeaders(OLD, body))).status).toBe(202); // cached in overlap
    // The database's clock decides: end the overlap there, behind this instance's cache.
    await querySql(
      stack.database.url,
      "update flows set previous_webhook_secret_expires_at = now() - interval '1 second' where id = $1",
      [flowId],
    );
    expectRefused(await deliver(flowId, signedHeaders(OLD, body)), 'invalid_signature', OLD);
    expectRefused(
      await deliver(flowId, signedHeaders(OLD, body), { idempotencyKey: 'after-overlap' }),
      'invalid_signature',
      OLD,
    );
    expect((await deliver(flowId, signedHeaders(NEW, body))).status).toBe(202);
  });

  it('keeps only the secret just replaced when rotating twice quickly', async () => {
    const flowId = await createFlow('first-rotation-secret-01');
    await putSecret(flowId, 'second-rotation-secret-1');
    await putSecret(flowId, 'third-rotation-secret-01');
    expectRefused(
      await deliver(flowId, signedHeaders('first-rotation-secret-01', body)),
      'invalid_signature',
      'first-rotation-secret-01',
    );
    expect((await deliver(flowId, signedHeaders('second-rotation-secret-1', body))).status).toBe(
      202,
    );
    expect((await deliver(flowId, signedHeaders('third-rotation-secret-01', body))).status).toBe(
      202,
    );
  });

  it('needs no signature once the secret is cleared, and clearing ends the overlap at once', async () => {
    const flowId = await createFlow(OLD);
    await putSecret(flowId, NEW);
    expect((await deliver(flowId, signedHeaders(OLD, body))).status).toBe(202); // cached in overlap
    await putSecret(flowId, null);
    expect((await deliver(flowId, {})).status).toBe(202);
    // Setting a secret again starts with no overlap: neither earlier secret comes back.
    const LATER = 'later-rotation-secret-01';
    await putSecret(flowId, LATER);
    expectRefused(await deliver(flowId, signedHeaders(OLD, body)), 'invalid_signature', OLD);
    expectRefused(await deliver(flowId, signedHeaders(NEW, body)), 'invalid_signature', NEW);
    expectRefused(await deliver(flowId, {}), 'missing_timestamp', LATER);
    expect((await deliver(flowId, signedHeaders(LATER, body))).status).toBe(202);
  });

  it('refuses unsigned requests at once when a secret is set on a flow that had none', async () => {
    const flowId = await createFlow();
    expect((await deliver(flowId, {})).status).toBe(202); // now cached as unsigned
    await putSecret(flowId, NEW);
    expectRefused(await deliver(flowId, {}), 'missing_timestamp', NEW);
    expectRefused(
      await deliver(flowId, {}, { idempotencyKey: 'unsigned-after-set' }),
      'missing_timestamp',
      NEW,
    );
    expect((await deliver(flowId, signedHeaders(NEW, body))).status).toBe(202);
  });

  it('applies the same rules to requests with an Idempotency-Key', async () => {
    const flowId = await createFlow(OLD);
    await putSecret(flowId, NEW);
    const stale = signedHeaders(NEW, body, nowS() - TOLERANCE_S - 5);
    expectRefused(
      await deliver(flowId, stale, { idempotencyKey: 'k-stale' }),
      'stale_timestamp',
      NEW,
    );
    const inOverlap = await deliver(flowId, signedHeaders(OLD, body), { idempotencyKey: 'k-old' });
    expect(inOverlap.status).toBe(202);
    const runs = await querySql(stack.database.url, 'select id from runs where flow_id = $1', [
      flowId,
    ]);
    expect(runs).toHaveLength(1);
  });
});
