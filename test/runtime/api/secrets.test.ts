import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { withPgClient } from '../../support/database';
import { startTestStack, type TestStack } from '../../support/stack';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(() => stack.close());

type Listing = { name: string; createdAt: string; updatedAt: string };

const echoFlow = (name: string) => ({
  name: 'echo-secret',
  trigger: { type: 'webhook' },
  steps: [
    {
      id: 'code',
      type: 'code',
      code: `export default ({ secrets }) => ({ n: secrets.${name}.length })`,
    },
    { id: 'reply', type: 'respond', body: { value: `{{secrets.${name}}}`, n: '{{code.n}}' } },
  ],
});

const sync = (flowId: string) =>
  stack.api.request(`/v1/webhooks/${flowId}/sync`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });

describe('/v1/secrets', () => {
  it('creates a secret and answers with its name and timestamps, never the value', async () => {
    const res = await stack.call('POST', '/v1/secrets', { name: 'API_TOKEN', value: 'v-1234567' });
    expect(res.status).toBe(201);
    const body = (await res.json()) as Listing;
    expect(Object.keys(body).sort()).toEqual(['createdAt', 'name', 'updatedAt']);
    const list = await (await stack.call('GET', '/v1/secrets')).text();
    expect(list).toContain('API_TOKEN');
    expect(list).not.toContain('v-1234567');
  });

  it('answers 409 to a name already taken', async () => {
    await stack.call('POST', '/v1/secrets', { name: 'TAKEN', value: 'a' });
    const res = await stack.call('POST', '/v1/secrets', { name: 'TAKEN', value: 'b' });
    expect(res.status).toBe(409);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('conflict');
  });

  it.each([
    ['a name that starts with a digit', { name: '1ABC', value: 'x' }, 'body: name'],
    ['a name of 65 characters', { name: `A${'b'.repeat(64)}`, value: 'x' }, 'body: name'],
    ['an empty value', { name: 'EMPTY', value: '' }, 'body: value'],
    ['a value over 64 KiB', { name: 'HUGE', value: 'x'.repeat(64 * 1024 + 1) }, 'body: value'],
  ])('refuses %s with a 400 naming the field', async (_case, input, field) => {
    const res = await stack.call('POST', '/v1/secrets', input);
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as { error: { code: string; message: string } };
    expect(error.message).toContain(field.replace('body: ', ''));
    expect(error.message).not.toContain('xxxxxxxx');
  });

  it('takes a value of exactly 64 KiB', async () => {
    const res = await stack.call('POST', '/v1/secrets', { name: 'MAX', value: 'y'.repeat(65536) });
    expect(res.status).toBe(201);
  });

  it('answers 404 to PUT and DELETE of an unknown secret', async () => {
    expect((await stack.call('PUT', '/v1/secrets/NOPE', { value: 'x' })).status).toBe(404);
    expect((await stack.call('DELETE', '/v1/secrets/NOPE')).status).toBe(404);
  });

  it('needs an API key', async () => {
    const res = await stack.api.request('/v1/secrets');
    expect(res.status).toBe(401);
  });

  it('is in the OpenAPI document', async () => {
    const doc = (await (await stack.api.request('/v1/openapi.json')).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    expect(Object.keys(doc.paths['/v1/secrets'] ?? {}).sort()).toEqual(['get', 'post']);
    expect(Object.keys(doc.paths['/v1/secrets/{name}'] ?? {}).sort()).toEqual(['delete', 'put']);
  });
});

describe('flows that read secrets', () => {
  it('refuses a flow naming a secret that does not exist, with a 400 naming it', async () => {
    const res = await stack.call('POST', '/v1/flows', echoFlow('NOT_THERE'));
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as { error: { message: string } };
    expect(error.message).toBe(
      'invalid flow definition: steps[0].code: secret "NOT_THERE" does not exist',
    );
  });

  it('refuses a secret template with a path past the name', async () => {
    await stack.call('POST', '/v1/secrets', { name: 'SHAPED', value: 'x' });
    const res = await stack.call('POST', '/v1/flows', {
      name: 'shaped',
      trigger: { type: 'webhook' },
      steps: [{ id: 'reply', type: 'respond', body: { v: '{{secrets.SHAPED.length}}' } }],
    });
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as { error: { message: string } };
    expect(error.message).toContain('a secret is read as {{secrets.NAME}}');
  });

  it('refuses a step named secrets', async () => {
    const res = await stack.call('POST', '/v1/flows', {
      name: 'x',
      trigger: { type: 'webhook' },
      steps: [{ id: 'secrets', type: 'code', code: 'export default () => 1' }],
    });
    expect(res.status).toBe(400);
  });

  it('gives runs that start after a PUT the new value', async () => {
    await stack.call('POST', '/v1/secrets', { name: 'ROTATING', value: 'first-value' });
    const { id } = (await (await stack.call('POST', '/v1/flows', echoFlow('ROTATING'))).json()) as {
      id: string;
    };
    expect(await (await sync(id)).json()).toEqual({ value: 'first-value', n: 11 });
    expect((await stack.call('PUT', '/v1/secrets/ROTATING', { value: 'second' })).status).toBe(200);
    expect(await (await sync(id)).json()).toEqual({ value: 'second', n: 6 });
  });

  it('fails the step, naming the secret, once it is deleted', async () => {
    await stack.call('POST', '/v1/secrets', { name: 'GOING', value: 'soon-gone' });
    const { id } = (await (await stack.call('POST', '/v1/flows', echoFlow('GOING'))).json()) as {
      id: string;
    };
    expect((await stack.call('DELETE', '/v1/secrets/GOING')).status).toBe(204);
    const res = await sync(id);
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({
      failedStep: 'code',
      error: 'secret "GOING" does not exist (deleted after this flow version was saved)',
    });
  });

  it('fails a templated read of a deleted secret, naming it', async () => {
    await stack.call('POST', '/v1/secrets', { name: 'GONE_TOO', value: 'v' });
    const { id } = (await (
      await stack.call('POST', '/v1/flows', {
        name: 't',
        trigger: { type: 'webhook' },
        steps: [{ id: 'reply', type: 'respond', body: '{{secrets.GONE_TOO}}' }],
      })
    ).json()) as { id: string };
    await stack.call('DELETE', '/v1/secrets/GONE_TOO');
    const res = await sync(id);
    expect(await res.json()).toMatchObject({
      failedStep: 'reply',
      error:
        'template {{secrets.GONE_TOO}}: secret "GONE_TOO" does not exist (deleted after this flow version was saved)',
    });
  });

  it('fails a run at once, naming the secret, when its stored value cannot be decrypted', async () => {
    await stack.call('POST', '/v1/secrets', { name: 'DAMAGED', value: 'damaged-value' });
    const { id } = (await (await stack.call('POST', '/v1/flows', echoFlow('DAMAGED'))).json()) as {
      id: string;
    };
    // One byte of the ciphertext flipped, as a damaged row or a bad restore leaves it.
    await withPgClient(stack.database.url, (client) =>
      client.query(
        `update secrets set ciphertext = encode(set_byte(decode(ciphertext, 'base64'), 20,
           get_byte(decode(ciphertext, 'base64'), 20) # 1), 'base64')
         where project_id = $1 and name = 'DAMAGED'`,
        [stack.projectId],
      ),
    );
    const accepted = await stack.api.request(`/v1/webhooks/${id}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    const { runId } = (await accepted.json()) as { runId: string };
    const run = await vi.waitFor(
      async () => {
        const found = (await (await stack.call('GET', `/v1/runs/${runId}`)).json()) as {
          status: string;
          error: string | null;
        };
        if (found.status === 'queued' || found.status === 'running') throw new Error(found.status);
        return found;
      },
      { timeout: 10_000, interval: 100 },
    );
    expect(run).toMatchObject({
      status: 'failed',
      error:
        'secret "DAMAGED" cannot be decrypted: its stored value is damaged or was not written for this name; set it again with PUT /v1/secrets/DAMAGED',
    });
    expect(JSON.stringify(run)).not.toContain('damaged-value');
  });
});
