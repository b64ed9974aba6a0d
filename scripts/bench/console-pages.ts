import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { desc, eq, sql } from 'drizzle-orm';
import { openPglite } from '../../runtime/db/client';
import { createFlow } from '../../runtime/db/flow-store';
import { createProjectWithKey } from '../../runtime/db/project-store';
import { runs } from '../../runtime/db/schema';
import { signIn } from '../../test/support/console-session';
import { startSluice } from '../../test/support/processes';
import { BENCH_API_KEY } from './deployment';

const FLOWS = 20;
const PORT = 3951;

/**
 * A data dir with `runs` runs over 20 flows and the last 48 h (one in ten failed, each with
 * three step entries), written straight into PGlite before the APP opens it: the pages are
 * measured, not the time to make 100k runs.
 */
async function seed(dataDir: string, runCount: number) {
  const handle = await openPglite(dataDir);
  try {
    await handle.migrate();
    const { projectId } = await createProjectWithKey(handle.db, {
      name: 'bench',
      apiKey: BENCH_API_KEY,
    });
    const definition = {
      name: 'bench',
      trigger: { type: 'webhook' },
      steps: [{ id: 'calc', type: 'code', code: 'export default () => ({ ok: true })' }],
    };
    const flows = [];
    for (let i = 0; i < FLOWS; i++) {
      flows.push(
        await createFlow(handle.db, {
          projectId,
          name: `flow-${i}`,
          definition,
          webhookSecret: null,
        }),
      );
    }
    const flowIds = sql.raw(`array[${flows.map((f) => `'${f.id}'`).join(',')}]`);
    const versionIds = sql.raw(`array[${flows.map((f) => `'${f.versionId}'`).join(',')}]`);
    await handle.db.execute(sql`
      insert into runs (id, project_id, flow_id, flow_version_id, status, attempt, trigger,
                        created_at, started_at, finished_at, error, failed_step, steps)
      select gen_random_uuid()::text, ${projectId}, (${flowIds})[1 + i % ${FLOWS}],
             (${versionIds})[1 + i % ${FLOWS}],
             case when i % 10 = 0 then 'failed' else 'succeeded' end, 1,
             jsonb_build_object('body', jsonb_build_object('n', i)),
             now() - (i * interval '1.728 seconds'), now() - (i * interval '1.728 seconds'),
             now() - (i * interval '1.728 seconds') + interval '40 ms',
             case when i % 10 = 0 then 'boom' end, case when i % 10 = 0 then 'calc' end,
             jsonb_build_array(
               jsonb_build_object('stepId', 'load', 'type', 'code', 'durationMs', 3.1),
               jsonb_build_object('stepId', 'calc', 'type', 'code', 'durationMs', 12.4),
               jsonb_build_object('stepId', 'reply', 'type', 'respond', 'durationMs', 0.2))
      from generate_series(1, ${runCount}) as i`);
    const [flow] = flows;
    const [run] = await handle.db
      .select({ id: runs.id })
      .from(runs)
      .where(eq(runs.status, 'failed'))
      .orderBy(desc(runs.createdAt))
      .limit(1);
    return { flowId: flow?.id ?? '', runId: run?.id ?? '' };
  } finally {
    await handle.close();
  }
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

/**
 * Each console page on embedded mode (PGlite, `npm start`'s shape) with `runs` runs stored:
 * sequential GETs with a session cookie, timed to the last byte of the HTML.
 */
export async function consolePageTimes({ runs = 100_000, samples = 50 } = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'sluice-bench-console-'));
  const seeded = await seed(dataDir, runs);
  const base = `http://127.0.0.1:${PORT}`;
  const sluice = await startSluice(
    { PORT: String(PORT), HOST: '127.0.0.1', SLUICE_PUBLIC_URL: base, SLUICE_DATA_DIR: dataDir },
    60_000,
  );
  try {
    const cookie = await signIn(base, BENCH_API_KEY);
    const pages: Record<string, string> = {
      flows: '/console/flows',
      flow: `/console/flows/${seeded.flowId}?from=1&to=1`,
      runs: '/console/runs',
      'runs (failed, one flow)': `/console/runs?status=failed&flowId=${seeded.flowId}`,
      'runs (live refresh)': '/console/runs',
      run: `/console/runs/${seeded.runId}`,
      system: '/console/system',
    };
    const figures = [];
    for (const [page, path] of Object.entries(pages)) {
      const headers: Record<string, string> = { cookie };
      if (page.includes('live')) headers['x-console-part'] = 'live';
      const times: number[] = [];
      for (let i = 0; i < samples + 5; i++) {
        const started = performance.now();
        const res = await fetch(`${base}${path}`, { headers });
        await res.text();
        if (res.status !== 200) throw new Error(`${path} answered ${res.status}`);
        if (i >= 5) times.push(performance.now() - started);
      }
      times.sort((a, b) => a - b);
      const round = (n: number) => Math.round(n * 10) / 10;
      figures.push({
        scenario: 'console',
        page,
        runs,
        samples,
        p50_ms: round(percentile(times, 50)),
        p95_ms: round(percentile(times, 95)),
        max_ms: round(times.at(-1) ?? 0),
      });
    }
    return figures;
  } finally {
    await sluice.stop('SIGTERM');
    rmSync(dataDir, { recursive: true, force: true });
  }
}
