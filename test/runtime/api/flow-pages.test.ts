import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProjectWithKey, generateApiKey } from '../../../runtime/db/project-store';
import { signIn } from '../../support/console-session';
import { doubleFlow } from '../../support/flows';
import { acceptRunOverHttp, createFlowOverHttp } from '../../support/flows-over-http';
import { type LoopbackServer, serveOnLoopback } from '../../support/loopback-server';
import { querySql } from '../../support/sql';
import { startTestStack, type TestStack } from '../../support/stack';

/**
 * `GET /v1/flows` and `GET /v1/flows/:id/versions` answer in pages, as `GET /v1/runs` does:
 * a bounded first page, `limit` and an opaque `cursor`, and `nextCursor` null on the last page.
 * Over a real socket, with rows that share one created time, so only the id breaks ties.
 */
let stack: TestStack;
let server: LoopbackServer;
let otherKey: string;
/** Every flow of the stack's project, in the order created. */
const flowIds: string[] = [];
/** A flow with MANY versions, and one with two. */
let versioned: string;
let twoVersions: string;

const MANY = 55;
const SAME_INSTANT = '2020-01-02T03:04:05.678Z';

type FlowPage = { flows: { id: string }[]; nextCursor: string | null };
type VersionPage = { versions: { id: string; version: number }[]; nextCursor: string | null };
type ErrorBody = { error: { code: string; message: string } };

const key = (apiKey = stack.apiKey) => ({
  authorization: `Bearer ${apiKey}`,
  'content-type': 'application/json',
});
const get = (path: string, apiKey?: string) =>
  fetch(`${server.base}${path}`, { headers: key(apiKey) });

async function page<T>(path: string, apiKey?: string): Promise<T> {
  const res = await get(path, apiKey);
  const text = await res.text();
  expect(res.status, text).toBe(200);
  return JSON.parse(text) as T;
}

async function newFlow(apiKey?: string) {
  const id = await createFlowOverHttp(server.base, key(apiKey), doubleFlow);
  if (apiKey === undefined) flowIds.push(id);
  return id;
}

async function newVersion(id: string) {
  const res = await fetch(`${server.base}/v1/flows/${id}`, {
    method: 'PUT',
    headers: key(),
    body: JSON.stringify(doubleFlow),
  });
  expect(res.status).toBe(200);
}

/** Follows nextCursor from the first page; `between` runs after each page but the last. */
async function pageThrough<T extends { nextCursor: string | null }>(
  path: string,
  rowsOf: (page: T) => string[],
  between: (pageNumber: number) => Promise<void> = async () => {},
) {
  const seen: string[] = [];
  const sizes: number[] = [];
  let cursor: string | null = null;
  for (let n = 0; n < 100; n++) {
    const separator = path.includes('?') ? '&' : '?';
    const query: string = cursor === null ? '' : `${separator}cursor=${cursor}`;
    const current: T = await page<T>(`${path}${query}`);
    seen.push(...rowsOf(current));
    sizes.push(rowsOf(current).length);
    expect(current.nextCursor).not.toBeUndefined();
    cursor = current.nextCursor;
    if (cursor === null) return { seen, sizes };
    await between(n);
  }
  throw new Error(`${path}: still a nextCursor after 100 pages`);
}

const flowRows = (p: FlowPage) => p.flows.map((f) => f.id);
const versionRows = (p: VersionPage) => p.versions.map((v) => String(v.version));

beforeAll(async () => {
  stack = await startTestStack({}, { worker: false });
  server = await serveOnLoopback(stack.api.fetch);
  for (let n = 0; n < MANY; n++) await newFlow();
  versioned = await newFlow();
  for (let n = 1; n < MANY; n++) await newVersion(versioned);
  twoVersions = await newFlow();
  await newVersion(twoVersions);
  // One created time for every row: the order rests on the tie-breaker alone.
  await querySql(stack.database.url, 'update flows set created_at = $1 where project_id = $2', [
    SAME_INSTANT,
    stack.projectId,
  ]);
  await querySql(stack.database.url, 'update flow_versions set created_at = $1', [SAME_INSTANT]);
  otherKey = generateApiKey();
  await createProjectWithKey(stack.database.handle.db, { name: 'other', apiKey: otherKey });
  await newFlow(otherKey);
  await newFlow(otherKey);
}, 120_000);
afterAll(async () => {
  await server?.close();
  await stack?.close();
});

describe('GET /v1/flows', () => {
  it('answers a bounded first page and a nextCursor when no limit is given', async () => {
    const first = await page<FlowPage>('/v1/flows');
    expect(flowIds.length).toBeGreaterThan(50);
    expect(first.flows).toHaveLength(50);
    expect(first.nextCursor).toEqual(expect.any(String));
  });

  it('pages through flows that share a created time without repeating or skipping one', async () => {
    const { seen, sizes } = await pageThrough<FlowPage>('/v1/flows?limit=7', flowRows);
    expect(sizes.slice(0, -1).every((size) => size === 7)).toBe(true);
    expect(seen).toHaveLength(flowIds.length);
    expect(new Set(seen)).toEqual(new Set(flowIds));
    const whole = await page<FlowPage>('/v1/flows?limit=200');
    expect(whole.nextCursor).toBeNull();
    expect(seen).toEqual(flowRows(whole));
  });

  it('neither repeats nor skips a flow when flows are added between pages', async () => {
    const before = flowRows(await page<FlowPage>('/v1/flows?limit=200'));
    const added: string[] = [];
    const { seen } = await pageThrough<FlowPage>('/v1/flows?limit=9', flowRows, async (n) => {
      if (n < 3) added.push(await newFlow());
    });
    expect(added).toHaveLength(3);
    expect(seen).toEqual(before);
  });

  it('answers nextCursor null on a last page that is exactly full', async () => {
    const count = flowIds.length;
    const all = await page<FlowPage>(`/v1/flows?limit=${count}`);
    expect(all.flows).toHaveLength(count);
    expect(all.nextCursor).toBeNull();
    const short = await page<FlowPage>(`/v1/flows?limit=${count - 1}`);
    expect(short.nextCursor).toEqual(expect.any(String));
    const last = await page<FlowPage>(`/v1/flows?limit=${count - 1}&cursor=${short.nextCursor}`);
    expect(last.flows).toHaveLength(1);
    expect(last.nextCursor).toBeNull();
  });

  it("lists only the caller's project, first page and next", async () => {
    const first = await page<FlowPage>('/v1/flows?limit=1', otherKey);
    expect(first.flows).toHaveLength(1);
    const next = await page<FlowPage>(`/v1/flows?limit=1&cursor=${first.nextCursor}`, otherKey);
    expect(next.flows).toHaveLength(1);
    expect(next.nextCursor).toBeNull();
    for (const id of [...flowRows(first), ...flowRows(next)]) expect(flowIds).not.toContain(id);
  });
});

describe('GET /v1/flows/:id/versions', () => {
  it('answers a bounded first page and a nextCursor when no limit is given', async () => {
    const first = await page<VersionPage>(`/v1/flows/${versioned}/versions`);
    expect(first.versions).toHaveLength(50);
    expect(first.versions[0]?.version).toBe(MANY);
    expect(first.nextCursor).toEqual(expect.any(String));
  });

  it('pages through versions that share a created time, newest first, each once', async () => {
    const { seen, sizes } = await pageThrough<VersionPage>(
      `/v1/flows/${versioned}/versions?limit=6`,
      versionRows,
    );
    expect(sizes.slice(0, -1).every((size) => size === 6)).toBe(true);
    expect(seen).toEqual(Array.from({ length: MANY }, (_, i) => String(MANY - i)));
  });

  it('neither repeats nor skips a version when versions are added between pages', async () => {
    const before = versionRows(
      await page<VersionPage>(`/v1/flows/${versioned}/versions?limit=200`),
    );
    const { seen } = await pageThrough<VersionPage>(
      `/v1/flows/${versioned}/versions?limit=8`,
      versionRows,
      async (n) => {
        if (n < 2) await newVersion(versioned);
      },
    );
    expect(seen).toEqual(before);
  });

  it('answers nextCursor null on the last page', async () => {
    const last = await page<VersionPage>(`/v1/flows/${twoVersions}/versions?limit=2`);
    expect(last.versions.map((v) => v.version)).toEqual([2, 1]);
    expect(last.nextCursor).toBeNull();
  });

  it("answers 404 for another project's flow, whatever the page", async () => {
    const res = await get(`/v1/flows/${versioned}/versions?limit=1`, otherKey);
    expect(res.status).toBe(404);
  });
});

describe('a bad limit', () => {
  const lists = () => ['/v1/flows', `/v1/flows/${versioned}/versions`];
  it.each([
    ['zero', 'limit=0'],
    ['negative', 'limit=-1'],
    ['past the maximum', 'limit=201'],
    ['huge', 'limit=1e9'],
    ['not a number', 'limit=abc'],
    ['not whole', 'limit=1.5'],
    ['empty', 'limit='],
    ['repeated', 'limit=5&limit=6'],
  ])('answers a limit that is %s with 400 naming limit', async (_what, query) => {
    for (const path of lists()) {
      const res = await get(`${path}?${query}`);
      const text = await res.text();
      expect(res.status, `${path}?${query}: ${text}`).toBe(400);
      const { error } = JSON.parse(text) as ErrorBody;
      expect(error.code).toBe('invalid_request');
      expect(error.message).toMatch(/^invalid query: limit: /);
    }
  });

  it('takes the largest limit, 200', async () => {
    for (const path of lists()) expect((await get(`${path}?limit=200`)).status).toBe(200);
  });
});

describe('a cursor nextCursor did not write for this list', () => {
  const NOT_OURS = 'invalid query: cursor: not a cursor from nextCursor';
  const decoded = (cursor: string) => Buffer.from(cursor, 'base64url').toString();
  const encoded = (text: string) => Buffer.from(text).toString('base64url');
  /** The cursor a page of `path` (as `apiKey`) answers. */
  const cursorOf = async (path: string, apiKey?: string) => {
    const res = (await page<{ nextCursor: string | null }>(path, apiKey)).nextCursor;
    expect(res).toEqual(expect.any(String));
    return res ?? '';
  };
  /** Our own cursor with its last part replaced. */
  const altered = (cursor: string, last: string) =>
    encoded(decoded(cursor).replace(/[^|]*$/, last));

  async function expectRefused(path: string, cursor: string, apiKey?: string) {
    const res = await get(`${path}${path.includes('?') ? '&' : '?'}cursor=${cursor}`, apiKey);
    const text = await res.text();
    expect(res.status, text).toBe(400);
    const { error } = JSON.parse(text) as ErrorBody;
    expect(error).toEqual({ code: 'invalid_request', message: NOT_OURS });
  }

  it('refuses garbage on both lists', async () => {
    for (const path of ['/v1/flows', `/v1/flows/${versioned}/versions`]) {
      for (const cursor of ['garbage', '%7B%7D', encoded('a|b|c|d'), encoded('')]) {
        await expectRefused(path, cursor);
      }
    }
  });

  it("refuses another project's flows cursor, so its place is never read", async () => {
    const theirs = await cursorOf('/v1/flows?limit=1', otherKey);
    await expectRefused('/v1/flows', theirs);
    const ours = await cursorOf('/v1/flows?limit=1');
    await expectRefused('/v1/flows', ours, otherKey);
  });

  it("refuses another flow's versions cursor", async () => {
    const theirs = await cursorOf(`/v1/flows/${twoVersions}/versions?limit=1`);
    await expectRefused(`/v1/flows/${versioned}/versions`, theirs);
  });

  it("refuses a runs cursor, and each list's cursor on the other", async () => {
    await acceptRunOverHttp(server.base, flowIds[0] ?? '');
    await acceptRunOverHttp(server.base, flowIds[0] ?? '');
    const runs = await cursorOf('/v1/runs?limit=1');
    const flows = await cursorOf('/v1/flows?limit=1');
    const versions = await cursorOf(`/v1/flows/${versioned}/versions?limit=1`);
    await expectRefused('/v1/flows', runs);
    await expectRefused(`/v1/flows/${versioned}/versions`, runs);
    await expectRefused('/v1/flows', versions);
    await expectRefused(`/v1/flows/${versioned}/versions`, flows);
    expect((await get(`/v1/runs?cursor=${flows}`)).status).toBe(400);
  });

  it('refuses our own cursor altered to hold what PostgreSQL would refuse', async () => {
    const flows = await cursorOf('/v1/flows?limit=1');
    for (const last of ['a\u0000b', '']) {
      await expectRefused('/v1/flows', altered(flows, last));
    }
    const versions = await cursorOf(`/v1/flows/${versioned}/versions?limit=1`);
    for (const last of ['99999999999', '-1', '0', '1.5', '1e3', ' 7', '']) {
      await expectRefused(`/v1/flows/${versioned}/versions`, altered(versions, last));
    }
  });

  it('refuses a repeated cursor with 400 naming cursor', async () => {
    const flows = await cursorOf('/v1/flows?limit=1');
    const res = await get(`/v1/flows?cursor=${flows}&cursor=${flows}`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as ErrorBody).error.message).toMatch(/^invalid query: cursor: /);
  });
});

describe('the console, with more flows and versions than a page shows', () => {
  let cookie: string;
  let bulkFlowIds: string[];
  let manyVersions: string;
  const BULK = 201;
  const VERSIONS = 250;

  beforeAll(async () => {
    const apiKey = generateApiKey();
    const { projectId } = await createProjectWithKey(stack.database.handle.db, {
      name: 'console',
      apiKey,
    });
    manyVersions = await newFlow(apiKey);
    await querySql(
      stack.database.url,
      `insert into flow_versions (id, flow_id, version, definition)
       select gen_random_uuid()::text, $1, g, $2::jsonb from generate_series(2, $3::int) g`,
      [manyVersions, JSON.stringify(doubleFlow), VERSIONS],
    );
    const bulk = await querySql<{ id: string }>(
      stack.database.url,
      `insert into flows (id, project_id, name, created_at)
       select 'flw_bulk_' || g, $1, 'bulk ' || g, $2 from generate_series(1, $3::int) g
       returning id`,
      [projectId, SAME_INSTANT, BULK],
    );
    bulkFlowIds = [manyVersions, ...bulk.map((row) => row.id)];
    cookie = await signIn(server.base, apiKey);
  });

  const html = async (path: string) => {
    const res = await fetch(`${server.base}${path}`, { headers: { cookie } });
    const text = await res.text();
    expect(res.status, text.slice(0, 500)).toBe(200);
    return text;
  };
  const linkedFlows = (page: string) =>
    [...page.matchAll(/<a href="\/console\/flows\/(flw_[^"]+)"/g)].map((m) => m[1] ?? '');

  it('lists flows 50 at a time, and "Older flows →" leads through every one once', async () => {
    const seen: string[] = [];
    let path: string | undefined = '/console/flows';
    for (let pages = 0; path !== undefined && pages < 20; pages++) {
      const page = await html(path);
      const listed = linkedFlows(page);
      expect(listed.length).toBeLessThanOrEqual(50);
      seen.push(...listed);
      path = /<a href="(\/console\/flows\?cursor=[^"]+)">Older flows/
        .exec(page)?.[1]
        ?.replaceAll('&amp;', '&');
    }
    expect(path).toBeUndefined();
    expect(seen).toHaveLength(bulkFlowIds.length);
    expect(new Set(seen)).toEqual(new Set(bulkFlowIds));
  });

  it('answers a cursor it did not write with a 400 page naming it', async () => {
    const res = await fetch(`${server.base}/console/flows?cursor=garbage`, { headers: { cookie } });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await res.text()).toContain('cursor: not a cursor from nextCursor');
  });

  it("offers the newest 200 flows in the Runs page's filter", async () => {
    const page = await html('/console/runs');
    expect([...page.matchAll(/<option value="flw_/g)]).toHaveLength(200);
  });

  it('offers the newest 200 versions to compare, and still compares older ones by number', async () => {
    const page = await html(`/console/flows/${manyVersions}?from=1&to=${VERSIONS}`);
    const options = [...page.matchAll(/<option value="(\d+)"/g)].map((m) => Number(m[1]));
    expect(options).toHaveLength(2 * 200);
    expect(Math.max(...options)).toBe(VERSIONS);
    expect(options).not.toContain(1);
    expect(page).toContain(`Version 1 → version ${VERSIONS}`);
    const missing = await fetch(`${server.base}/console/flows/${manyVersions}?from=1&to=999`, {
      headers: { cookie },
    });
    expect(missing.status).toBe(400);
    expect(await missing.text()).toContain('to: no such version');
  });
});
