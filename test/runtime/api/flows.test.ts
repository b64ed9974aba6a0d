import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProjectWithKey, generateApiKey } from '../../../runtime/db/project-store';
import { doubleFlow } from '../../support/flows';
import { querySql } from '../../support/sql';
import { startTestStack, type TestStack } from '../../support/stack';

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({}, { worker: false });
});
afterAll(() => stack.close());

type ErrorBody = { error: { code: string; message: string; details?: { path: string }[] } };

describe('flows API', () => {
  it('creates a flow and returns its ids and webhook URLs', async () => {
    const res = await stack.call('POST', '/v1/flows', doubleFlow);
    expect(res.status).toBe(201);
    const body = (await res.json()) as Record<string, string>;
    expect(body.id).toMatch(/^flw_[A-Za-z0-9_-]{22}$/);
    expect(body).toMatchObject({
      version: 1,
      webhookUrl: `http://sluice.test/v1/webhooks/${body.id}`,
      syncWebhookUrl: `http://sluice.test/v1/webhooks/${body.id}/sync`,
    });
  });

  it('creates an immutable new version on PUT and lists versions newest first', async () => {
    const { id, versionId } = (await (
      await stack.call('POST', '/v1/flows', doubleFlow)
    ).json()) as {
      id: string;
      versionId: string;
    };
    const renamed = { ...doubleFlow, name: 'double-v2' };
    const put = await stack.call('PUT', `/v1/flows/${id}`, renamed);
    expect(put.status).toBe(200);
    const v2 = (await put.json()) as { versionId: string; version: number };
    expect(v2.version).toBe(2);
    expect(v2.versionId).not.toBe(versionId);

    const flow = (await (await stack.call('GET', `/v1/flows/${id}`)).json()) as Record<
      string,
      unknown
    >;
    expect(flow).toMatchObject({ name: 'double-v2', version: 2, currentVersionId: v2.versionId });
    expect(flow.definition).toMatchObject({ name: 'double-v2' });

    const versions = (await (await stack.call('GET', `/v1/flows/${id}/versions`)).json()) as {
      versions: { version: number }[];
    };
    expect(versions.versions.map((v) => v.version)).toEqual([2, 1]);
  });

  it('lists, disables, enables and deletes flows', async () => {
    const { id } = (await (await stack.call('POST', '/v1/flows', doubleFlow)).json()) as {
      id: string;
    };
    const disabled = (await (await stack.call('POST', `/v1/flows/${id}/disable`)).json()) as {
      status: string;
    };
    expect(disabled.status).toBe('disabled');
    const list = (await (await stack.call('GET', '/v1/flows')).json()) as {
      flows: { id: string }[];
    };
    expect(list.flows.map((f) => f.id)).toContain(id);
    expect((await stack.call('DELETE', `/v1/flows/${id}`)).status).toBe(204);
    expect((await stack.call('GET', `/v1/flows/${id}`)).status).toBe(404);
    expect((await stack.call('DELETE', `/v1/flows/${id}`)).status).toBe(404);
  });

  it.each([
    [
      'an unknown step type',
      { ...doubleFlow, steps: [{ id: 'x', type: 'teleport' }] },
      'steps[0].type',
    ],
    [
      'duplicate step ids',
      {
        ...doubleFlow,
        steps: [
          { id: 'a', type: 'code', code: 'export default () => 1' },
          { id: 'a', type: 'code', code: 'export default () => 2' },
        ],
      },
      'steps[1].id',
    ],
    [
      'a template that names a later step',
      {
        ...doubleFlow,
        steps: [
          { id: 'reply', type: 'respond', body: { n: '{{calc.n}}' } },
          { id: 'calc', type: 'code', code: 'export default () => ({ n: 1 })' },
        ],
      },
      'steps[0].body',
    ],
    [
      'a loop without items',
      { ...doubleFlow, steps: [{ id: 'each', type: 'loop', steps: [] }] },
      'steps[0].items',
    ],
    [
      'a retry with too many attempts',
      {
        ...doubleFlow,
        steps: [
          { id: 'calc', type: 'code', code: 'export default () => 1', retry: { attempts: 50 } },
        ],
      },
      'steps[0].retry.attempts',
    ],
    [
      'an unknown retry backoff',
      {
        ...doubleFlow,
        steps: [
          {
            id: 'call',
            type: 'http',
            method: 'GET',
            url: 'https://example.com',
            retry: { attempts: 2, backoff: 'linear' },
          },
        ],
      },
      'steps[0].retry.backoff',
    ],
    ['a missing name', { trigger: { type: 'webhook' }, steps: [] }, 'name'],
  ])('answers 400 naming the JSON path for %s', async (_case, definition, path) => {
    const res = await stack.call('POST', '/v1/flows', definition);
    expect(res.status).toBe(400);
    const body = (await res.json()) as ErrorBody;
    expect(body.error.code).toBe('invalid_request');
    expect(body.error.message).toContain(path);
    expect(body.error.details?.some((d) => d.path.startsWith(path))).toBe(true);
  });

  it('answers 400 for malformed JSON and 415 for a non-JSON body', async () => {
    const malformed = await stack.call('POST', '/v1/flows', '{"name": ');
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as ErrorBody).error.code).toBe('invalid_json');
    const text = await stack.call('POST', '/v1/flows', 'name=x', { 'content-type': 'text/plain' });
    expect(text.status).toBe(415);
  });

  it('answers 401 for a missing or wrong API key', async () => {
    const missing = await stack.api.request('/v1/flows');
    expect(missing.status).toBe(401);
    expect(((await missing.json()) as ErrorBody).error.code).toBe('unauthorized');
    const wrong = await stack.api.request('/v1/flows', {
      headers: { authorization: 'Bearer sk_not_a_real_key' },
    });
    expect(wrong.status).toBe(401);
  });

  it("answers 404 for another project's flow", async () => {
    const { id } = (await (await stack.call('POST', '/v1/flows', doubleFlow)).json()) as {
      id: string;
    };
    const otherKey = generateApiKey();
    await createProjectWithKey(stack.database.handle.db, { name: 'other', apiKey: otherKey });
    const asOther = { authorization: `Bearer ${otherKey}` };
    expect((await stack.api.request(`/v1/flows/${id}`, { headers: asOther })).status).toBe(404);
    const put = await stack.api.request(`/v1/flows/${id}`, {
      method: 'PUT',
      headers: { ...asOther, 'content-type': 'application/json' },
      body: JSON.stringify(doubleFlow),
    });
    expect(put.status).toBe(404);
    expect(
      (await stack.api.request(`/v1/flows/${id}`, { method: 'DELETE', headers: asOther })).status,
    ).toBe(404);
  });

  it('answers 404 JSON for an unknown endpoint', async () => {
    const res = await stack.api.request('/v1/nope');
    expect(res.status).toBe(404);
    expect(((await res.json()) as ErrorBody).error.code).toBe('not_found');
  });

  it('serves an OpenAPI document covering every route', async () => {
    const res = await stack.api.request('/v1/openapi.json');
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/v1/health',
        '/v1/health/ready',
        '/v1/webhooks/{flowId}',
        '/v1/webhooks/{flowId}/sync',
        '/v1/flows',
        '/v1/flows/{id}',
        '/v1/flows/{id}/versions',
        '/v1/flows/{id}/disable',
        '/v1/flows/{id}/enable',
        '/v1/runs',
        '/v1/runs/{id}',
        '/v1/runs/{id}/cancel',
        '/v1/runs/{id}/replay',
        '/v1/runs/replay',
        '/v1/files',
        '/v1/files/{id}',
      ]),
    );
  });
});

describe('webhook secret on PUT /v1/flows/:id', () => {
  type FlowBody = {
    hasWebhookSecret: boolean;
    previousWebhookSecretExpiresAt: string | null;
    version: number;
  };
  const create = async (webhookSecret?: string) => {
    const res = await stack.call('POST', '/v1/flows', { ...doubleFlow, webhookSecret });
    expect(res.status).toBe(201);
    return ((await res.json()) as { id: string }).id;
  };
  const put = (id: string, change: { webhookSecret?: unknown }) =>
    stack.call('PUT', `/v1/flows/${id}`, { ...doubleFlow, ...change });
  const read = async (id: string) => {
    const res = await stack.call('GET', `/v1/flows/${id}`);
    const text = await res.text();
    return { text, flow: JSON.parse(text) as FlowBody };
  };
  const stored = async (id: string) => {
    const [row] = await querySql<{
      webhook_secret: string | null;
      previous_webhook_secret: string | null;
      previous_webhook_secret_expires_at: Date | null;
    }>(
      stack.database.url,
      'select webhook_secret, previous_webhook_secret, previous_webhook_secret_expires_at from flows where id = $1',
      [id],
    );
    return row;
  };

  it('sets a secret on a flow that had none, and answers only that it has one', async () => {
    const id = await create();
    expect((await put(id, { webhookSecret: 'a-brand-new-secret-0123' })).status).toBe(200);
    const { text, flow } = await read(id);
    expect(flow).toMatchObject({ hasWebhookSecret: true, previousWebhookSecretExpiresAt: null });
    expect(text).not.toContain('a-brand-new-secret-0123');
    const list = await (await stack.call('GET', '/v1/flows')).text();
    expect(list).not.toContain('a-brand-new-secret-0123');
    expect(await stored(id)).toMatchObject({ webhook_secret: 'a-brand-new-secret-0123' });
  });

  it('rotates the secret, keeping the replaced one for SLUICE_WEBHOOK_SECRET_OVERLAP_S', async () => {
    const id = await create('the-first-secret-0123');
    const before = Date.now();
    expect((await put(id, { webhookSecret: 'the-second-secret-012' })).status).toBe(200);
    const { text, flow } = await read(id);
    expect(text).not.toContain('the-first-secret-0123');
    const expiresAt = Date.parse(flow.previousWebhookSecretExpiresAt ?? '');
    const overlapMs = stack.env.SLUICE_WEBHOOK_SECRET_OVERLAP_S * 1000;
    expect(overlapMs).toBe(900_000);
    expect(expiresAt).toBeGreaterThanOrEqual(before + overlapMs - 2_000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + overlapMs + 2_000);
    expect(await stored(id)).toMatchObject({
      webhook_secret: 'the-second-secret-012',
      previous_webhook_secret: 'the-first-secret-0123',
    });
  });

  it('leaves the secret and its overlap as they are when the field is absent', async () => {
    const id = await create('an-untouched-secret-01');
    await put(id, { webhookSecret: 'an-untouched-secret-02' });
    const before = await stored(id);
    const res = await put(id, {});
    expect(res.status).toBe(200);
    expect(((await res.json()) as { version: number }).version).toBe(3);
    expect(await stored(id)).toEqual(before);
  });

  it('clears the secret and the overlap with null', async () => {
    const id = await create('a-cleared-secret-0123');
    await put(id, { webhookSecret: 'a-cleared-secret-4567' });
    expect((await put(id, { webhookSecret: null })).status).toBe(200);
    expect((await read(id)).flow).toMatchObject({
      hasWebhookSecret: false,
      previousWebhookSecretExpiresAt: null,
    });
    expect(await stored(id)).toEqual({
      webhook_secret: null,
      previous_webhook_secret: null,
      previous_webhook_secret_expires_at: null,
    });
  });

  it.each([
    ['shorter than 16 characters', 'x'.repeat(15)],
    ['longer than 256 characters', 'x'.repeat(257)],
    ['holding a NUL', `nul-secret-0123456\u0000`],
    ['holding an unpaired surrogate', `surrogate-secret-0123\ud800`],
    ['not a string', 1234567890123456],
  ])('refuses a secret %s, on create and on PUT, naming the field', async (_case, secret) => {
    const created = await stack.call('POST', '/v1/flows', { ...doubleFlow, webhookSecret: secret });
    expect(created.status).toBe(400);
    expect(((await created.json()) as ErrorBody).error.message).toContain('webhookSecret');
    const id = await create('a-valid-secret-012345');
    const before = await stored(id);
    const res = await put(id, { webhookSecret: secret });
    expect(res.status).toBe(400);
    expect(((await res.json()) as ErrorBody).error.message).toContain('webhookSecret');
    expect(await stored(id)).toEqual(before);
    expect((await read(id)).flow.version).toBe(1);
  });
});
