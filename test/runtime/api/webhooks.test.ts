import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flows } from '../../../runtime/db/schema';
import { codeFlow, doubleFlow, slowFlow, throwingFlow } from '../../support/flows';
import { querySql } from '../../support/sql';
import { startTestStack, type TestStack } from '../../support/stack';
import { signedHeaders } from '../../support/webhook-signing';

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({
    SLUICE_WEBHOOK_TIMEOUT_S: '1',
    SLUICE_MAX_WEBHOOK_PAYLOAD_MB: '1',
  });
});
afterAll(() => stack.close());

async function createFlow(definition: unknown): Promise<string> {
  const res = await stack.call('POST', '/v1/flows', definition);
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

const post = (path: string, body: string, headers: Record<string, string> = {}) =>
  stack.api.request(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });

async function waitForRun(runId: string, until: (status: string) => boolean) {
  for (let i = 0; i < 100; i++) {
    const res = await stack.call('GET', `/v1/runs/${runId}`);
    const run = (await res.json()) as { status: string };
    if (until(run.status)) return run as Record<string, unknown>;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`run ${runId} did not reach the expected status`);
}

describe('POST /v1/webhooks/:flowId/sync', () => {
  it("answers with the respond step's status and body", async () => {
    const flowId = await createFlow(doubleFlow);
    const res = await post(`/v1/webhooks/${flowId}/sync`, JSON.stringify({ n: 21 }));
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({ doubled: 42 });
  });

  it('answers 500 with the failed step as soon as the run fails', async () => {
    const flowId = await createFlow(throwingFlow);
    const started = Date.now();
    const res = await post(`/v1/webhooks/${flowId}/sync`, '{}');
    expect(Date.now() - started).toBeLessThan(1000);
    expect(res.status).toBe(500);
    const body = (await res.json()) as { runId: string; error: string; failedStep: string };
    expect(body.failedStep).toBe('main');
    expect(body.error).toContain('boom');
    expect(body.runId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers 504 with the run id after the webhook timeout, and the run goes on', async () => {
    const flowId = await createFlow(slowFlow(1500));
    const res = await post(`/v1/webhooks/${flowId}/sync`, '{}');
    expect(res.status).toBe(504);
    const { runId } = (await res.json()) as { runId: string };
    const run = await waitForRun(runId, (status) => status === 'succeeded');
    expect(run.response).toEqual({ slept: 1500 });
  });
});

describe('POST /v1/webhooks/:flowId', () => {
  it('answers 202 with a run id once the run is committed, and the run succeeds', async () => {
    const flowId = await createFlow(doubleFlow);
    const res = await post(`/v1/webhooks/${flowId}?source=test`, JSON.stringify({ n: 2 }));
    expect(res.status).toBe(202);
    const { runId } = (await res.json()) as { runId: string };
    const run = await waitForRun(runId, (status) => status === 'succeeded');
    expect(run).toMatchObject({ responseStatus: 201, response: { doubled: 4 }, attempt: 1 });
  });

  it('accepts an empty body as null', async () => {
    const flowId = await createFlow({
      name: 'echo',
      trigger: { type: 'webhook' },
      steps: [{ id: 'reply', type: 'respond', body: { got: '{{trigger.body}}' } }],
    });
    const res = await stack.api.request(`/v1/webhooks/${flowId}/sync`, { method: 'POST' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ got: null });
  });
});

describe('webhooks with bad input', () => {
  it('answers 400 naming the problem for malformed JSON, and keeps serving', async () => {
    const flowId = await createFlow(doubleFlow);
    const res = await post(`/v1/webhooks/${flowId}`, '{"n": ');
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid_json');
    const after = await post(`/v1/webhooks/${flowId}/sync`, '{"n": 1}');
    expect(after.status).toBe(201);
  });

  it('answers 415 for a body that is not JSON', async () => {
    const flowId = await createFlow(doubleFlow);
    const res = await post(`/v1/webhooks/${flowId}`, 'n=1', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(res.status).toBe(415);
    expect(await res.json()).toMatchObject({ error: { code: 'unsupported_media_type' } });
  });

  it('answers 413 for a declared body over the limit without reading it', async () => {
    const flowId = await createFlow(doubleFlow);
    let pulled = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++;
        controller.enqueue(new Uint8Array(64 * 1024).fill(32));
      },
    });
    const res = await stack.api.request(`/v1/webhooks/${flowId}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: endless,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: { code: 'payload_too_large' } });
    // 1 MiB limit in 64 KiB chunks: the stream is abandoned soon after the limit.
    expect(pulled).toBeLessThan(40);
  });

  it('answers 400 for a NUL character PostgreSQL cannot store, and other runs go on', async () => {
    const flowId = await createFlow(doubleFlow);
    const [body, query, fine] = await Promise.all([
      post(`/v1/webhooks/${flowId}`, '{"n":1,"note":"a\\u0000b"}'),
      post(`/v1/webhooks/${flowId}?q=%00`, '{"n":1}'),
      post(`/v1/webhooks/${flowId}`, '{"n":1,"note":"a\\\\u0000b"}'),
    ]);
    expect(body.status).toBe(400);
    expect(await body.json()).toMatchObject({ error: { code: 'invalid_json' } });
    expect(query.status).toBe(400);
    // An escaped backslash followed by "u0000" is ordinary text.
    expect(fine.status).toBe(202);
  });

  it('records a run whose output holds a NUL, with U+FFFD in the stored copy', async () => {
    const flowId = await createFlow(codeFlow('export default () => ({ s: "a\\u0000b" })'));
    const res = await post(`/v1/webhooks/${flowId}/sync`, '{}');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ s: 'a\u0000b' });
    const { runId } = (await (await post(`/v1/webhooks/${flowId}`, '{}')).json()) as {
      runId: string;
    };
    const run = await waitForRun(runId, (status) => status === 'succeeded');
    expect(run.response).toEqual({ s: 'a\ufffdb' });
  });

  it('answers 400 for a flow definition holding a NUL', async () => {
    const res = await stack.call('POST', '/v1/flows', { ...doubleFlow, name: 'a\u0000b' });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 'invalid_request' } });
  });

  it('answers 404 for an unknown flow', async () => {
    const res = await post('/v1/webhooks/flw_doesnotexist', '{}');
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: 'flow_not_found' } });
  });

  it('answers 409 for a disabled flow', async () => {
    const flowId = await createFlow(doubleFlow);
    expect((await stack.call('POST', `/v1/flows/${flowId}/disable`)).status).toBe(200);
    const res = await post(`/v1/webhooks/${flowId}`, '{}');
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ error: { code: 'flow_disabled' } });
    expect((await stack.call('POST', `/v1/flows/${flowId}/enable`)).status).toBe(200);
    expect((await post(`/v1/webhooks/${flowId}`, '{"n":1}')).status).toBe(202);
  });

  it('answers 409 flow_changed, starting no run, when the flow changes under every try to insert the run', async () => {
    const flowId = await createFlow(doubleFlow);
    const url = stack.database.url;
    // Stands in for other instances changing the flow between each read of it and the guarded
    // insert: the insert inserts nothing, while every read still finds the flow accepting.
    await querySql(
      url,
      'create function refuse_run() returns trigger language plpgsql as $$ begin return null; end $$',
    );
    await querySql(
      url,
      `create trigger flow_keeps_changing before insert on runs for each row
         when (new.flow_id = '${flowId}') execute function refuse_run()`,
    );
    try {
      const res = await post(`/v1/webhooks/${flowId}`, '{"n":1}');
      expect(res.status).toBe(409);
      expect(await res.json()).toEqual({
        error: {
          code: 'flow_changed',
          message: `flow ${flowId} changed during the request; retry`,
        },
      });
    } finally {
      await querySql(url, 'drop trigger flow_keeps_changing on runs');
      await querySql(url, 'drop function refuse_run()');
    }
    expect(await querySql(url, 'select id from runs where flow_id = $1', [flowId])).toEqual([]);
    expect((await post(`/v1/webhooks/${flowId}`, '{"n":1}')).status).toBe(202);
  });

  it('requires a valid signature when the flow has a webhook secret', async () => {
    const secret = 'a-long-webhook-secret-1234';
    const flowId = await createFlow({ ...doubleFlow, webhookSecret: secret });
    const body = JSON.stringify({ n: 5 });
    expect((await post(`/v1/webhooks/${flowId}/sync`, body)).status).toBe(401);
    const wrong = await post(
      `/v1/webhooks/${flowId}/sync`,
      body,
      signedHeaders('another-secret-entirely', body),
    );
    expect(wrong.status).toBe(401);
    const signed = await post(`/v1/webhooks/${flowId}/sync`, body, signedHeaders(secret, body));
    expect(signed.status).toBe(201);
    expect(await signed.json()).toEqual({ doubled: 10 });
  });

  // The app remembers enabled flows' targets; these check a remembered target is never trusted.
  describe('after the flow was remembered by an earlier webhook', () => {
    it('answers 409 as soon as the flow is disabled, and 202 once it is enabled again', async () => {
      const flowId = await createFlow(doubleFlow);
      expect((await post(`/v1/webhooks/${flowId}`, '{"n":1}')).status).toBe(202);
      expect((await stack.call('POST', `/v1/flows/${flowId}/disable`)).status).toBe(200);
      const res = await post(`/v1/webhooks/${flowId}`, '{"n":1}');
      expect(res.status).toBe(409);
      expect(await res.json()).toMatchObject({ error: { code: 'flow_disabled' } });
      expect((await stack.call('POST', `/v1/flows/${flowId}/enable`)).status).toBe(200);
      expect((await post(`/v1/webhooks/${flowId}`, '{"n":1}')).status).toBe(202);
    });

    it('answers 404 once the flow is deleted', async () => {
      const flowId = await createFlow(doubleFlow);
      expect((await post(`/v1/webhooks/${flowId}`, '{"n":1}')).status).toBe(202);
      expect((await stack.call('DELETE', `/v1/flows/${flowId}`)).status).toBe(204);
      expect((await post(`/v1/webhooks/${flowId}`, '{"n":1}')).status).toBe(404);
    });

    it('runs the newest version', async () => {
      const flowId = await createFlow(doubleFlow);
      expect((await post(`/v1/webhooks/${flowId}/sync`, '{"n":1}')).status).toBe(201);
      const tripled = {
        ...doubleFlow,
        steps: [{ id: 'reply', type: 'respond', status: 200, body: { v: 2 } }],
      };
      expect((await stack.call('PUT', `/v1/flows/${flowId}`, tripled)).status).toBe(200);
      const res = await post(`/v1/webhooks/${flowId}/sync`, '{"n":1}');
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ v: 2 });
    });

    it('checks signatures against a webhook secret changed by another instance', async () => {
      const body = '{"n":3}';
      const flowId = await createFlow({ ...doubleFlow, webhookSecret: 'first-secret-0123456789' });
      const sign = (secret: string) => signedHeaders(secret, body);
      expect(
        (await post(`/v1/webhooks/${flowId}`, body, sign('first-secret-0123456789'))).status,
      ).toBe(202);
      // As another APP task would see it: the row changed, this process was not told.
      await stack.database.handle.db
        .update(flows)
        .set({ webhookSecret: 'second-secret-0123456789' })
        .where(eq(flows.id, flowId));
      expect(
        (await post(`/v1/webhooks/${flowId}`, body, sign('first-secret-0123456789'))).status,
      ).toBe(401);
      expect((await post(`/v1/webhooks/${flowId}`, body)).status).toBe(401);
      expect(
        (await post(`/v1/webhooks/${flowId}`, body, sign('second-secret-0123456789'))).status,
      ).toBe(202);
      await stack.database.handle.db
        .update(flows)
        .set({ webhookSecret: null })
        .where(eq(flows.id, flowId));
      expect((await post(`/v1/webhooks/${flowId}`, body)).status).toBe(202);
    });
  });
});
