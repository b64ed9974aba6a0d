import { sql } from 'drizzle-orm';
import { Hono } from 'hono';
import { requestId } from 'hono/request-id';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApi } from '../../../runtime/api/app';
import { consoleErrorPages } from '../../../runtime/api/console-error-page';
import { errorHandler } from '../../../runtime/api/on-error';
import { MAX_DIFF_EDITS } from '../../../runtime/console/pages/flow-page';
import { SHOW_AT_MOST } from '../../../runtime/console/pages/json-view';
import { MAX_SHOWN_LOG_BYTES } from '../../../runtime/console/step-details';
import { connectPostgres } from '../../../runtime/db/client';
import { createFileStore, createQueueDriver, createReplyBus } from '../../../runtime/parts';
import { storageKey } from '../../../runtime/storage';
import { csrfTokenOf, signIn } from '../../support/console-session';
import { doubleFlow } from '../../support/flows';
import { type LoopbackServer, serveOnLoopback } from '../../support/loopback-server';
import { testSecretStore } from '../../support/secrets';
import { startTestStack, type TestStack } from '../../support/stack';

let stack: TestStack;
let first: LoopbackServer;

beforeAll(async () => {
  stack = await startTestStack({}, { worker: false });
  first = await serveOnLoopback(stack.api.fetch);
});
afterAll(async () => {
  await first?.close();
  await stack?.close();
});

/** A second APP instance: its own pool, queue and reply bus on the same database. */
async function startAnotherApp() {
  const database = connectPostgres({ url: stack.database.url, poolSize: 2, idleTimeoutMs: 1000 });
  const logger = pino({ level: 'silent' });
  const driver = await createQueueDriver(stack.env, logger, database.db);
  const replies = await createReplyBus(stack.env, 'console-test-2', {
    subscribe: false,
    db: database.db,
  });
  const { store, localStore } = createFileStore(stack.env);
  const api = createApi({
    env: stack.env,
    secrets: testSecretStore(database.db),
    database,
    queue: driver.queue,
    replies,
    store,
    localStore,
    logger,
  });
  const server = await serveOnLoopback(api.fetch);
  return {
    base: server.base,
    async close() {
      await server.close();
      await replies.close();
      await driver.queue.close();
      await database.close();
    },
  };
}

describe('console sessions', () => {
  it('live in PostgreSQL: a session opened on one APP instance works on another', async () => {
    const cookie = await signIn(first.base, stack.apiKey);
    const other = await startAnotherApp();
    try {
      const page = await fetch(`${other.base}/console/flows`, { headers: { cookie } });
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<h1>Flows</h1>');
      expect(await csrfTokenOf(other.base, cookie)).toBe(await csrfTokenOf(first.base, cookie));
    } finally {
      await other.close();
    }
  });

  it('end at their expiry', async () => {
    const cookie = await signIn(first.base, stack.apiKey);
    await stack.database.handle.db.execute(
      "update console_sessions set expires_at = now() - interval '1 second'",
    );
    expect((await fetch(`${first.base}/v1/flows`, { headers: { cookie } })).status).toBe(401);
  });

  it('set a cookie marked Secure when the browser came over HTTPS', async () => {
    const res = await fetch(`${first.base}/console/sign-in`, {
      method: 'POST',
      redirect: 'manual',
      headers: {
        origin: 'https://console.example',
        'x-forwarded-host': 'console.example',
        'x-forwarded-proto': 'https',
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ apiKey: stack.apiKey }),
    });
    expect(res.status).toBe(303);
    const cookie = res.headers.get('set-cookie') ?? '';
    // __Host-: the browser keeps it only with Secure, Path=/ and no Domain.
    expect(cookie).toMatch(
      /^__Host-sluice_session=[^;]+; Path=\/; Expires=[^;]+; HttpOnly; Secure; SameSite=Strict$/,
    );
    expect(cookie).not.toMatch(/Domain=/i);
  });

  it('over HTTPS read only the __Host- cookie, so a plain-named one planted by a sibling subdomain is ignored', async () => {
    const https = { 'x-forwarded-proto': 'https' };
    const plain = await signIn(first.base, stack.apiKey);
    const token = plain.split('=')[1];
    const planted = await fetch(`${first.base}/v1/flows`, { headers: { ...https, cookie: plain } });
    expect(planted.status).toBe(401);
    const hosted = await fetch(`${first.base}/v1/flows`, {
      headers: { ...https, cookie: `__Host-sluice_session=${token}` },
    });
    expect(hosted.status).toBe(200);
    const page = await fetch(`${first.base}/console/flows`, {
      redirect: 'manual',
      headers: { ...https, cookie: plain },
    });
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe('/console/sign-in');
  });

  it('on sign-out over HTTPS clear the __Host- cookie', async () => {
    const https = { 'x-forwarded-proto': 'https' };
    const token = (await signIn(first.base, stack.apiKey)).split('=')[1];
    const cookie = `__Host-sluice_session=${token}`;
    const csrf = /<meta name="csrf-token" content="([^"]+)"/.exec(
      await (await fetch(`${first.base}/console/flows`, { headers: { ...https, cookie } })).text(),
    )?.[1];
    const out = await fetch(`${first.base}/console/sign-out`, {
      method: 'POST',
      redirect: 'manual',
      headers: {
        ...https,
        cookie,
        origin: first.base,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ csrf: csrf ?? '' }),
    });
    expect(out.status).toBe(303);
    expect(out.headers.get('set-cookie')).toMatch(
      /^__Host-sluice_session=; Max-Age=0; Path=\/; Secure/,
    );
    expect((await fetch(`${first.base}/v1/flows`, { headers: { ...https, cookie } })).status).toBe(
      401,
    );
  });
});

describe('console pages', () => {
  it('redirects / to /console, and a visitor without a session to sign in', async () => {
    const root = await fetch(`${first.base}/`, { redirect: 'manual' });
    expect(root.headers.get('location')).toBe('/console');
    for (const method of ['GET', 'HEAD']) {
      const flows = await fetch(`${first.base}/console/flows`, { method, redirect: 'manual' });
      expect(flows.status).toBe(303);
      expect(flows.headers.get('location')).toBe('/console/sign-in');
    }
  });

  it('serves its bundled assets under content hashes with a year-long immutable cache', async () => {
    const html = await (await fetch(`${first.base}/console/sign-in`)).text();
    const paths = [...html.matchAll(/(?:src|href)="(\/console\/assets\/[^"]+)"/g)].map((m) => m[1]);
    expect(paths).toHaveLength(2);
    for (const path of paths) {
      expect(path).toMatch(/-[A-Z0-9]{8}\.(js|css)$/);
      const res = await fetch(`${first.base}${path}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    }
    expect((await fetch(`${first.base}/console/assets/..%2Fmain.mjs`)).status).toBe(404);
  });

  it('answers a bad filter with 400 naming it, as a page', async () => {
    const cookie = await signIn(first.base, stack.apiKey);
    const res = await fetch(`${first.base}/console/runs?since=yesterday`, { headers: { cookie } });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await res.text()).toContain('invalid query: since: not a date and time');
  });
});

describe('console error pages', () => {
  it('answer a browser with an HTML page in the console layout, while /v1 keeps JSON', async () => {
    const cookie = await signIn(first.base, stack.apiKey);
    for (const path of ['/console/flows/no-such-flow', '/console/runs/%3Cb%3Ex', '/console/nope']) {
      const res = await fetch(`${first.base}${path}`, { headers: { cookie } });
      expect(res.status, path).toBe(404);
      expect(res.headers.get('content-type'), path).toMatch(/^text\/html/);
      expect(res.headers.get('cache-control'), path).toBe('no-store');
      expect(res.headers.get('content-security-policy'), path).toContain("script-src 'self'");
      const html = await res.text();
      expect(html, path).toMatch(/^<!doctype html>/);
      expect(html, path).toContain('<h1>Not found</h1>');
      // Signed in: the page keeps its navigation.
      expect(html, path).toContain('href="/console/runs"');
    }
    const run = await (
      await fetch(`${first.base}/console/runs/%3Cb%3Ex`, { headers: { cookie } })
    ).text();
    expect(run).toContain('run &lt;b&gt;x not found');
    const api = await fetch(`${first.base}/v1/flows/no-such-flow`, {
      headers: { authorization: `Bearer ${stack.apiKey}` },
    });
    expect(api.status).toBe(404);
    expect(await api.json()).toMatchObject({ error: { code: 'not_found' } });
  });

  it('show a 500 as its fixed text and request id, never the internal message', async () => {
    const app = new Hono();
    app.onError(consoleErrorPages(errorHandler(pino({ level: 'silent' }))));
    app.use(requestId());
    app.get('/console/boom', () => {
      throw new Error('select secret_column from internals');
    });
    const res = await app.request('/console/boom');
    expect(res.status).toBe(500);
    const html = await res.text();
    expect(html).toContain('Something went wrong');
    expect(html).toContain('internal error');
    expect(html).toMatch(/Request id <code>[\w-]+<\/code>/);
    expect(html).not.toContain('secret_column');
    expect(html).toContain('href="/console/sign-in"');
  });
});

describe('the System page', () => {
  const workersTile = (html: string) =>
    /Workers seen<strong>([^<]*)<\/strong>/.exec(html)?.[1] ?? 'no tile';

  it('says that no worker is running when BullMQ sees none, and counts one once it runs', async () => {
    const cookie = await signIn(first.base, stack.apiKey);
    const idle = await (
      await fetch(`${first.base}/console/system`, { headers: { cookie } })
    ).text();
    expect(workersTile(idle)).toBe('0');
    expect(idle).toContain('No worker is running');

    // A worker on the same queue: BullMQ lists its connection.
    const withWorker = await startTestStack({ SLUICE_QUEUE_PREFIX: stack.env.SLUICE_QUEUE_PREFIX });
    try {
      await vi.waitFor(
        async () => {
          const html = await (
            await fetch(`${first.base}/console/system`, { headers: { cookie } })
          ).text();
          expect(workersTile(html)).toBe('1');
          expect(html).not.toContain('No worker is running');
        },
        { timeout: 10_000, interval: 100 },
      );
    } finally {
      await withWorker.close();
    }
  });
});

describe('the Run page', () => {
  it("shows each step's input and output from the run log, even one too big for the run row, markup in it as text", async () => {
    const ran = await startTestStack({});
    const server = await serveOnLoopback(ran.api.fetch);
    try {
      const created = await ran.call('POST', '/v1/flows', {
        name: 'outputs',
        trigger: { type: 'webhook' },
        steps: [
          {
            id: 'shout',
            type: 'code',
            // Over the run row's 4 KiB: only the run log holds this output.
            code: 'export default ({ trigger }) => ({ said: "<b>" + trigger.body.word + "</b>", pad: "x".repeat(5000) })',
          },
          // The reply is this step's: the first step's output shows only in its timeline row.
          { id: 'done', type: 'code', code: 'export default () => "ok"' },
        ],
      });
      const flowId = ((await created.json()) as { id: string }).id;
      const reply = await ran.call('POST', `/v1/webhooks/${flowId}/sync`, { word: 'hi' });
      expect(reply.status).toBe(200);
      const runs = (await (await ran.call('GET', `/v1/runs?flowId=${flowId}`)).json()) as {
        runs: { id: string }[];
      };
      const runId = runs.runs[0]?.id ?? '';
      const cookie = await signIn(server.base, ran.apiKey);
      // The worker writes the log just after the run ends: wait for the page to show it.
      await vi.waitFor(
        async () => {
          const html = await (
            await fetch(`${server.base}/console/runs/${runId}`, { headers: { cookie } })
          ).text();
          expect(html).toContain('&lt;b&gt;hi&lt;/b&gt;');
          expect(html).not.toContain('<b>hi</b>');
          // Each step's input beside its output: `done` was given the trigger and shout's output.
          const done = html.slice(html.indexOf('data-step="done"'));
          expect(done).toContain('<h3>Input</h3>');
          expect(done.slice(0, done.indexOf('<h3>Output</h3>'))).toContain(
            '<span class="j-key">&quot;shout&quot;</span>',
          );
        },
        { timeout: 10_000, interval: 100 },
      );
    } finally {
      await server.close();
      await ran.close();
    }
  });
});

describe('values too large to show whole', () => {
  it('shows the beginning of a large webhook body on the Run page, not a page as large as the body', async () => {
    const created = await stack.call('POST', '/v1/flows', {
      name: 'big body',
      trigger: { type: 'webhook' },
      steps: [{ id: 'c', type: 'code', code: 'export default () => 1' }],
    });
    const flowId = ((await created.json()) as { id: string }).id;
    // 2 MB of JSON, about 1 M tokens: a page with a span per token would be about 40 MB.
    const body = JSON.stringify({ a: new Array(1_000_000).fill(0) });
    const accepted = await fetch(`${first.base}/v1/webhooks/${flowId}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(accepted.status).toBe(202);
    const { runId } = (await accepted.json()) as { runId: string };
    const cookie = await signIn(first.base, stack.apiKey);
    const page = await fetch(`${first.base}/console/runs/${runId}`, { headers: { cookie } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toMatch(/trigger: 2,\d{3},\d{3} characters, too large to show whole/);
    expect(html).toContain('too large to show whole (the first 100,000, show)');
    expect(html.length).toBeLessThan(SHOW_AT_MOST * 30);
  });

  it('links to a stored run log too large to read whole, and neither reads nor shows it', async () => {
    const created = await stack.call('POST', '/v1/flows', {
      name: 'big log',
      trigger: { type: 'webhook' },
      steps: [{ id: 'c', type: 'code', code: 'export default () => 1' }],
    });
    const flowId = ((await created.json()) as { id: string }).id;
    const accepted = await stack.call('POST', `/v1/webhooks/${flowId}`, {});
    const { runId } = (await accepted.json()) as { runId: string };
    // A log just over what the page reads, as a worker stores one (SLUICE_MAX_RUN_LOG_MB allows 50 MB).
    const logKey = storageKey(stack.projectId, 'RUN_LOG', runId);
    const log = [
      { stepId: 'c', path: 'c', type: 'code', status: 'succeeded', output: 'read-whole' },
    ];
    const body = JSON.stringify({
      runId,
      status: 'succeeded',
      log,
      pad: 'x'.repeat(MAX_SHOWN_LOG_BYTES),
    });
    await createFileStore(stack.env).store.put(logKey, body, { contentType: 'application/json' });
    await stack.database.handle.db.execute(sql`
      update runs set status = 'succeeded', attempt = 1, started_at = now(), finished_at = now(),
        steps = '[{"stepId":"c","type":"code","status":"succeeded"}]'::jsonb, log_key = ${logKey}
      where id = ${runId}`);
    const cookie = await signIn(first.base, stack.apiKey);

    const page = await fetch(`${first.base}/console/runs/${runId}`, { headers: { cookie } });

    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).not.toContain('read-whole');
    expect(html).toContain(
      `The log is ${Buffer.byteLength(body).toLocaleString('en')} bytes, too large`,
    );
    expect(html).toContain('Open the full log');
    // Nothing more will come: the page stops refreshing.
    expect(html).toContain('data-live="off"');
  });

  it('says two versions differ too much to compare instead of diffing them on the event loop', async () => {
    const definition = (prefix: string) => ({
      name: 'many lines',
      trigger: { type: 'webhook' },
      steps: [
        {
          id: 'r',
          type: 'respond',
          body: { lines: Array.from({ length: 3 * MAX_DIFF_EDITS }, (_, n) => `${prefix}-${n}`) },
        },
      ],
    });
    const created = await stack.call('POST', '/v1/flows', definition('a'));
    const flowId = ((await created.json()) as { id: string }).id;
    expect((await stack.call('PUT', `/v1/flows/${flowId}`, definition('b'))).status).toBe(200);
    const cookie = await signIn(first.base, stack.apiKey);
    const page = await fetch(`${first.base}/console/flows/${flowId}?from=1&to=2`, {
      headers: { cookie },
    });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('Version 1 → version 2');
    expect(html).toContain('These versions differ in more than 1,000 lines');
    expect(html).not.toContain('diff-del');
    // A small change is still shown as a difference.
    const small = await stack.call('POST', '/v1/flows', doubleFlow);
    const smallId = ((await small.json()) as { id: string }).id;
    await stack.call('PUT', `/v1/flows/${smallId}`, { ...doubleFlow, name: 'renamed' });
    const shown = await (
      await fetch(`${first.base}/console/flows/${smallId}?from=1&to=2`, { headers: { cookie } })
    ).text();
    expect(shown).toContain('class="diff-del"');
    expect(shown).toContain('class="diff-add"');
  });
});
