import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../../support/stack';

let stack: TestStack;
const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

beforeAll(async () => {
  stack = await startTestStack(
    {
      SLUICE_QUEUE_UI: 'true',
      SLUICE_QUEUE_UI_USER: 'ops',
      SLUICE_QUEUE_UI_PASSWORD: 'correct-horse-battery',
    },
    { worker: false },
  );
});
afterAll(() => stack.close());

describe('Bull Board at /admin/queues', () => {
  it('asks for basic auth and refuses a wrong password', async () => {
    const none = await stack.api.request('/admin/queues');
    expect(none.status).toBe(401);
    const wrong = await stack.api.request('/admin/queues', {
      headers: { authorization: basic('ops', 'nope') },
    });
    expect(wrong.status).toBe(401);
  });

  it('shows the run queue to the configured user', async () => {
    const page = await stack.api.request('/admin/queues', {
      headers: { authorization: basic('ops', 'correct-horse-battery') },
    });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const api = await stack.api.request('/admin/queues/api/queues', {
      headers: { authorization: basic('ops', 'correct-horse-battery') },
    });
    expect(api.status).toBe(200);
    const body = (await api.json()) as { queues: { name: string }[] };
    expect(body.queues.map((queue) => queue.name)).toEqual(['runs']);
  });

  it('is absent unless SLUICE_QUEUE_UI is true', async () => {
    const plain = await startTestStack({}, { worker: false });
    try {
      expect((await plain.api.request('/admin/queues')).status).toBe(404);
    } finally {
      await plain.close();
    }
  });
});
