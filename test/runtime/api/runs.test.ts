import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRunLogUrls } from '../../../runtime/api/run-log-url';
import { findRun, findRunOutcome, listRuns } from '../../../runtime/db/run-store';
import { doubleFlow, throwingFlow } from '../../support/flows';
import { startTestStack, type TestStack } from '../../support/stack';

let stack: TestStack;
let flowId: string;
let otherFlowId: string;

type RunList = {
  runs: { id: string; status: string; flowId: string }[];
  nextCursor: string | null;
};

beforeAll(async () => {
  stack = await startTestStack();
  flowId = ((await (await stack.call('POST', '/v1/flows', doubleFlow)).json()) as { id: string })
    .id;
  otherFlowId = (
    (await (await stack.call('POST', '/v1/flows', throwingFlow)).json()) as { id: string }
  ).id;
  for (let n = 0; n < 5; n++) {
    const res = await stack.api.request(`/v1/webhooks/${flowId}/sync`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ n }),
    });
    expect(res.status).toBe(201);
  }
  await stack.api.request(`/v1/webhooks/${otherFlowId}/sync`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
});
afterAll(() => stack.close());

describe('GET /v1/runs', () => {
  it('filters by flow and status', async () => {
    const res = await stack.call('GET', `/v1/runs?flowId=${flowId}&status=succeeded`);
    const body = (await res.json()) as RunList;
    expect(body.runs).toHaveLength(5);
    expect(body.runs.every((run) => run.flowId === flowId && run.status === 'succeeded')).toBe(
      true,
    );
    const none = (await (
      await stack.call('GET', `/v1/runs?flowId=${flowId}&status=failed`)
    ).json()) as RunList;
    expect(none.runs).toHaveLength(0);
  });

  it('pages with a cursor without repeating or skipping runs', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor === null ? '' : `&cursor=${cursor}`;
      const page = (await (
        await stack.call('GET', `/v1/runs?flowId=${flowId}&limit=2${query}`)
      ).json()) as RunList;
      seen.push(...page.runs.map((run) => run.id));
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(seen).toHaveLength(5);
    expect(new Set(seen).size).toBe(5);
  });

  it('answers nextCursor null on a last page that is exactly full', async () => {
    const first = (await (
      await stack.call('GET', `/v1/runs?flowId=${flowId}&limit=4`)
    ).json()) as RunList;
    expect(first.runs).toHaveLength(4);
    expect(first.nextCursor).not.toBeNull();
    const last = (await (
      await stack.call('GET', `/v1/runs?flowId=${flowId}&limit=1&cursor=${first.nextCursor}`)
    ).json()) as RunList;
    expect(last.runs).toHaveLength(1);
    expect(last.nextCursor).toBeNull();
    const whole = (await (
      await stack.call('GET', `/v1/runs?flowId=${flowId}&limit=5`)
    ).json()) as RunList;
    expect(whole.runs).toHaveLength(5);
    expect(whole.nextCursor).toBeNull();
  });

  it('lists runs newest first, and pages through them in the same order', async () => {
    const flow = (await (await stack.call('POST', '/v1/flows', doubleFlow)).json()) as {
      id: string;
    };
    const created: string[] = [];
    for (let n = 0; n < 4; n++) {
      const res = await stack.api.request(`/v1/webhooks/${flow.id}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ n }),
      });
      created.push(((await res.json()) as { runId: string }).runId);
    }
    const newestFirst = [...created].reverse();

    const all = (await (await stack.call('GET', `/v1/runs?flowId=${flow.id}`)).json()) as RunList;
    expect(all.runs.map((run) => run.id)).toEqual(newestFirst);

    const paged: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor === null ? '' : `&cursor=${cursor}`;
      const page = (await (
        await stack.call('GET', `/v1/runs?flowId=${flow.id}&limit=3${query}`)
      ).json()) as RunList;
      paged.push(...page.runs.map((run) => run.id));
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(paged).toEqual(newestFirst);
  });

  it('answers 400 naming the field for a bad filter', async () => {
    const status = await stack.call('GET', '/v1/runs?status=exploded');
    expect(status.status).toBe(400);
    expect(((await status.json()) as { error: { message: string } }).error.message).toContain(
      'status',
    );
    const limit = await stack.call('GET', '/v1/runs?limit=100000');
    expect(limit.status).toBe(400);
    const cursor = await stack.call('GET', '/v1/runs?cursor=garbage');
    expect(cursor.status).toBe(400);
  });
});

describe('listRuns', () => {
  it('reads no trigger, response or step summary, which can weigh megabytes per run', async () => {
    const rows = await listRuns(stack.database.handle.db, { projectId: stack.projectId, limit: 3 });
    expect(rows).toHaveLength(3);
    for (const row of rows) {
      expect(row).not.toHaveProperty('trigger');
      expect(row).not.toHaveProperty('response');
      expect(row).not.toHaveProperty('steps');
      expect(row).toMatchObject({ projectId: stack.projectId, status: expect.any(String) });
    }
  });
});

describe('findRunOutcome', () => {
  it('reads a run with its response and steps but not its trigger, which the API never shows', async () => {
    const [listed] = await listRuns(stack.database.handle.db, {
      projectId: stack.projectId,
      flowId,
      limit: 1,
    });
    const id = listed?.id ?? '';
    const outcome = await findRunOutcome(stack.database.handle.db, stack.projectId, id);
    const whole = await findRun(stack.database.handle.db, stack.projectId, id);
    expect(outcome).not.toHaveProperty('trigger');
    expect(whole).toHaveProperty('trigger');
    const { trigger: _trigger, ...rest } = whole ?? {};
    expect(outcome).toEqual(rest);
    expect(outcome).toMatchObject({ status: 'succeeded', response: expect.anything() });
  });
});

describe('GET /v1/runs/:id', () => {
  it('includes per-step results and a pre-signed log URL that can be read', async () => {
    const list = (await (
      await stack.call('GET', `/v1/runs?flowId=${flowId}&limit=1`)
    ).json()) as RunList;
    const runId = list.runs[0]?.id;
    const res = await stack.call('GET', `/v1/runs/${runId}`);
    expect(res.status).toBe(200);
    const run = (await res.json()) as {
      steps: { stepId: string; status: string; output?: unknown }[];
      logUrl: string;
      dispatchMs: number | null;
    };
    // Enqueue to flow start, as the worker measured it: a real, small duration.
    expect(run.dispatchMs).toBeGreaterThan(0);
    expect(run.dispatchMs).toBeLessThan(10_000);
    expect(run.steps.map((step) => [step.stepId, step.status])).toEqual([
      ['calc', 'succeeded'],
      ['reply', 'succeeded'],
    ]);
    // The local driver's URL points at the app's public URL; ask the app for its path.
    const url = new URL(run.logUrl);
    // The log is written just after the run is recorded.
    let log = await stack.api.request(`${url.pathname}${url.search}`);
    for (let i = 0; i < 50 && log.status === 404; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      log = await stack.api.request(`${url.pathname}${url.search}`);
    }
    expect(log.status).toBe(200);
    const body = (await log.json()) as { runId: string; status: string; log: { stepId: string }[] };
    expect(body).toMatchObject({ runId, status: 'succeeded' });
    expect(body.log.map((entry) => entry.stepId)).toEqual(['calc', 'reply']);
  });

  it('records the failed step and error of a failed run', async () => {
    const list = (await (await stack.call('GET', '/v1/runs?status=failed')).json()) as RunList;
    expect(list.runs.map((run) => run.flowId)).toEqual([otherFlowId]);
    const run = (await (await stack.call('GET', `/v1/runs/${list.runs[0]?.id}`)).json()) as Record<
      string,
      unknown
    >;
    expect(run).toMatchObject({ status: 'failed', failedStep: 'main', attempt: 1 });
    expect(run.error).toContain('boom');
    expect(run.finishedAt).not.toBeNull();
  });

  it('answers 404 for an unknown run', async () => {
    const res = await stack.call('GET', '/v1/runs/00000000-0000-0000-0000-000000000000');
    expect(res.status).toBe(404);
  });
});

describe('GET /v1/run-logs/:id (a log kept in its run row)', () => {
  const firstRun = async () => {
    const list = (await (await stack.call('GET', `/v1/runs?flowId=${flowId}`)).json()) as RunList;
    const runId = list.runs[0]?.id ?? '';
    const run = (await (await stack.call('GET', `/v1/runs/${runId}`)).json()) as {
      logUrl: string;
    };
    return { runId, url: new URL(run.logUrl) };
  };
  const fetchLog = (path: string) => stack.api.request(path);

  it('hands out a URL to this API, served with no API key, and never lists the log', async () => {
    const { runId, url } = await firstRun();
    expect(url.pathname).toBe(`/v1/run-logs/${runId}`);
    const served = await fetchLog(`${url.pathname}${url.search}`);
    expect(served.status).toBe(200);
    expect(served.headers.get('cache-control')).toBe('private, no-store');
    expect(served.headers.get('x-content-type-options')).toBe('nosniff');
    const listed = await (await stack.call('GET', `/v1/runs?flowId=${flowId}`)).text();
    expect(listed).not.toContain('"log"');
    expect(listed).not.toMatch(/logBody|hasInlineLog/);
  });

  it.each([
    ['no signature', (_: URL) => '', 'invalid_signature'],
    [
      'a pushed expiry',
      (u: URL) => u.search.replace(/expires=(\d+)/, (_, n) => `expires=${Number(n) + 60}`),
      'invalid_signature',
    ],
    ['another run id', (u: URL) => `${u.search}`, 'invalid_signature'],
    [
      'a parameter the signature does not cover',
      (u: URL) => `${u.search}&x=1`,
      'invalid_signature',
    ],
    [
      'a repeated signature',
      (u: URL) => `${u.search}&sig=${u.searchParams.get('sig')}`,
      'invalid_signature',
    ],
    [
      'an expiry written with a leading zero (the same number, another URL)',
      (u: URL) => u.search.replace(/expires=(\d+)/, 'expires=0$1'),
      'invalid_signature',
    ],
  ])('answers 403 for %s', async (name, query, code) => {
    const { url } = await firstRun();
    const path =
      name === 'another run id'
        ? `/v1/run-logs/00000000-0000-0000-0000-000000000000${query(url)}`
        : `${url.pathname}${query(url)}`;
    const refused = await fetchLog(path);
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ error: { code } });
  });

  it('answers 403 url_expired for a URL past its expiry, and 404 for a run with no inline log', async () => {
    const { runId } = await firstRun();
    const expiredUrls = createRunLogUrls(stack.database.handle.db, {
      publicUrl: 'http://sluice.test',
      ttlSeconds: -5,
    });
    const expired = new URL(await expiredUrls.url(runId));
    const refused = await fetchLog(`${expired.pathname}${expired.search}`);
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ error: { code: 'url_expired' } });

    const urls = createRunLogUrls(stack.database.handle.db, {
      publicUrl: 'http://sluice.test',
      ttlSeconds: 60,
    });
    const unknown = new URL(await urls.url('00000000-0000-0000-0000-000000000000'));
    const missing = await fetchLog(`${unknown.pathname}${unknown.search}`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 'not_found' } });
  });
});
