import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFlow } from '../../runtime/db/flow-store';
import { createProjectWithKey } from '../../runtime/db/project-store';
import { runs } from '../../runtime/db/schema';
import { createTestDatabase, randomQueuePrefix, type TestDatabase } from '../support/database';
import { type SluiceProcess, startSluice } from '../support/processes';
import { signedHeaders } from '../support/webhook-signing';

/**
 * Two projects on one APP and one worker (real processes, PostgreSQL and Redis). Project A's
 * callers sign with a secret and send marked bodies; an anonymous caller who knows project B's
 * webhook URL sends, at the same time, input PostgreSQL cannot store. Before the fix, such a
 * body failed the shared batched INSERT and every request in the batch got a 503 quoting the
 * SQL with the others' bodies and webhook secrets.
 */
const API_KEY_A = 'sk_security_project_a_0123456789abcdef';
const API_KEY_B = 'sk_security_project_b_0123456789abcdef';
const SECRET_A = 'whsec-project-a-NEVER-LEAK-0123456789';

let database: TestDatabase;
let app: SluiceProcess;
let worker: SluiceProcess;
let base: string;
let flowA: string;
let flowB: string;

beforeAll(async () => {
  database = await createTestDatabase();
  const shared = {
    DATABASE_URL: database.url,
    REDIS_URL: 'redis://127.0.0.1:6379',
    SLUICE_QUEUE_PREFIX: randomQueuePrefix(),
  };
  [app, worker] = await Promise.all([
    startSluice({
      ...shared,
      SLUICE_ROLE: 'app',
      PORT: '0',
      HOST: '127.0.0.1',
      SLUICE_API_KEY: API_KEY_A,
    }),
    startSluice({ ...shared, SLUICE_ROLE: 'worker', SLUICE_WORKER_CONCURRENCY: '4' }),
  ]);
  base = `http://127.0.0.1:${app.port}`;
  const db = database.handle.db;
  const projectA = (await db.query.projects.findFirst())?.id ?? '';
  const { projectId: projectB } = await createProjectWithKey(db, { name: 'b', apiKey: API_KEY_B });
  const doubler = {
    name: 'doubler',
    trigger: { type: 'webhook' },
    steps: [
      {
        id: 'calc',
        type: 'code',
        code: 'export default ({ trigger }) => ({ n: trigger.body.n * 2 })',
      },
      {
        id: 'reply',
        type: 'respond',
        status: 200,
        body: { n: '{{calc.n}}', marker: '{{trigger.body.marker}}' },
      },
    ],
  };
  ({ id: flowA } = await createFlow(db, {
    projectId: projectA,
    name: 'a',
    definition: doubler,
    webhookSecret: SECRET_A,
  }));
  ({ id: flowB } = await createFlow(db, {
    projectId: projectB,
    name: 'b',
    definition: doubler,
    webhookSecret: null,
  }));
}, 60_000);

afterAll(async () => {
  await Promise.all([app, worker].filter(Boolean).map((p) => p.stop('SIGKILL')));
  await database?.drop();
});

/** Bodies (raw JSON text) and queries PostgreSQL cannot store, each a variant of one class. */
const hostile: { what: string; body: string; query?: string }[] = [
  { what: 'a lone high surrogate', body: '{"n":1,"a":"\\ud800"}' },
  { what: 'a lone low surrogate', body: '{"n":1,"a":"x\\udfff"}' },
  { what: 'a lone surrogate in a key', body: '{"n":1,"\\ud83d":1}' },
  { what: 'a lone surrogate deep in an array', body: '{"n":1,"a":["x",{"b":"ok\\udbff"}]}' },
  { what: 'two high surrogates', body: '{"n":1,"a":"\\ud800\\ud800"}' },
  { what: 'a pair in the wrong order', body: '{"n":1,"a":"\\ude00\\ud83d"}' },
  { what: 'a top-level lone surrogate', body: '"\\ud800"' },
  { what: 'a NUL', body: '{"n":1,"a":"\\u0000"}' },
  { what: 'a NUL in the query', body: '{"n":1}', query: '?q=%00' },
  { what: 'arrays nested 5000 deep', body: `${'['.repeat(5000)}${']'.repeat(5000)}` },
  { what: 'objects nested 200 deep', body: `${'{"a":'.repeat(200)}1${'}'.repeat(200)}` },
];

const INTERNAL_TEXT =
  /insert into|select |params:|failed query|drizzle|postgres|node_modules|\bat \w+ \(/i;

describe('two projects under concurrent load', () => {
  it('answers each hostile request alone with 400, and commits and runs every good one', async () => {
    const good = Array.from({ length: 150 }, (_, i) => {
      const body = JSON.stringify({ n: i, marker: `A-MARKER-${i}` });
      const sync = i % 5 === 0;
      return fetch(`${base}/v1/webhooks/${flowA}${sync ? '/sync' : ''}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-a-private': `A-HEADER-${i}`,
          ...signedHeaders(SECRET_A, body),
        },
        body,
      }).then(async (res) => ({ i, sync, status: res.status, text: await res.text() }));
    });
    const bad = Array.from({ length: 6 }, () => hostile)
      .flat()
      .map(({ what, body, query }) =>
        fetch(`${base}/v1/webhooks/${flowB}${query ?? ''}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        }).then(async (res) => ({ what, status: res.status, text: await res.text() })),
      );
    // Interleaved, so hostile rows land in the same INSERT batches as good ones.
    const [goodAnswers, badAnswers] = await Promise.all([Promise.all(good), Promise.all(bad)]);

    for (const answer of badAnswers) {
      expect(answer.status, answer.what).toBe(400);
      const { error } = JSON.parse(answer.text) as { error: { code: string; message: string } };
      expect(error.code, answer.what).toMatch(/^invalid_(json|query|request)$/);
      expect(answer.text, answer.what).not.toMatch(INTERNAL_TEXT);
      expect(answer.text).not.toContain('A-MARKER');
      expect(answer.text).not.toContain('A-HEADER');
      expect(answer.text).not.toContain(SECRET_A);
    }
    for (const answer of goodAnswers) {
      if (answer.sync) {
        expect(answer.status).toBe(200);
        // Each caller gets its own run's answer, never a neighbour's.
        expect(JSON.parse(answer.text)).toEqual({
          n: answer.i * 2,
          marker: `A-MARKER-${answer.i}`,
        });
      } else {
        expect(answer.status).toBe(202);
        expect(Object.keys(JSON.parse(answer.text))).toEqual(['runId']);
      }
    }

    const db = database.handle.db;
    const deadline = Date.now() + 30_000;
    let rowsA: { status: string }[] = [];
    while (Date.now() < deadline) {
      rowsA = await db.select({ status: runs.status }).from(runs).where(eq(runs.flowId, flowA));
      if (rowsA.length === 150 && rowsA.every((row) => row.status === 'succeeded')) break;
      await new Promise((done) => setTimeout(done, 200));
    }
    expect(rowsA).toHaveLength(150);
    expect(rowsA.every((row) => row.status === 'succeeded')).toBe(true);
    expect(await db.select().from(runs).where(eq(runs.flowId, flowB))).toEqual([]);

    // Still serving, and nothing secret went to the log.
    expect((await fetch(`${base}/v1/health`)).status).toBe(200);
    for (const output of [app.output(), worker.output()]) {
      expect(output).not.toContain(SECRET_A);
      expect(output).not.toContain(API_KEY_A);
      expect(output).not.toContain(API_KEY_B);
    }
  });

  it("never shows one project another's flows or runs", async () => {
    const asB = { authorization: `Bearer ${API_KEY_B}` };
    expect((await fetch(`${base}/v1/flows/${flowA}`, { headers: asB })).status).toBe(404);
    const listed = (await (await fetch(`${base}/v1/runs?limit=100`, { headers: asB })).json()) as {
      runs: unknown[];
    };
    expect(listed.runs).toEqual([]);
    const flows = (await (await fetch(`${base}/v1/flows`, { headers: asB })).json()) as {
      flows: { id: string }[];
    };
    expect(flows.flows.map((flow) => flow.id)).toEqual([flowB]);
  });
});
