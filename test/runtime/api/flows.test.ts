import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProjectWithKey, generateApiKey } from '../../../runtime/db/project-store';
import { doubleFlow } from '../../support/flows';
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
        '/v1/files',
        '/v1/files/{id}',
      ]),
    );
  });
});
