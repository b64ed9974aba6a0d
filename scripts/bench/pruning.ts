import { readFileSync, writeFileSync } from 'node:fs';
import { pino } from 'pino';
import { connectPostgres } from '../../runtime/db/client';
import { createRetentionPruner } from '../../runtime/reliability/retention-pruner';
import type { Deployment } from './deployment';
import { docSection } from './doc-section';
import { runLoad } from './load';

type Figure = Record<string, unknown>;

const HEADING = '## Retention pruning';
const DOC = 'docs/benchmarks.md';
const BODY = '{"a":1,"b":2}';

/**
 * Async webhooks (the 202 path, workers paused so they do not compete for the cores) for
 * `durationS` with no pruning, then again while `oldRuns` ended runs 40 days old are pruned by
 * the runtime's own pruner (1,000-row statements, back to back, from this process). Gives the
 * rows deleted per second under that load, and the accept p99 beside the one without pruning.
 */
export async function pruningFigures(
  deployment: Deployment,
  definition: unknown,
  { oldRuns, durationS, connections }: { oldRuns: number; durationS: number; connections: number },
): Promise<Figure[]> {
  const flowId = await deployment.createFlow(definition);
  const url = `${deployment.base}/v1/webhooks/${flowId}`;
  const { rows } = await deployment.sql.query<{ project_id: string; current_version_id: string }>(
    'select project_id, current_version_id from flows where id = $1',
    [flowId],
  );
  const flow = rows[0];
  if (flow === undefined) throw new Error(`flow ${flowId} not found`);
  const database = connectPostgres({
    url: deployment.env.DATABASE_URL ?? '',
    poolSize: 2,
    idleTimeoutMs: 1000,
  });
  await deployment.setWorkersPaused(true);
  try {
    await runLoad({ url, body: BODY, connections, durationS: 2 }); // warm-up
    const without = await runLoad({ url, body: BODY, connections, durationS });

    await deployment.sql.query(
      `insert into runs (id, project_id, flow_id, flow_version_id, status, trigger, created_at)
       select 'bench-old-' || g, $1, $2, $3, 'succeeded', '{"a":1,"b":2}'::jsonb,
              now() - interval '40 days' + make_interval(secs => g)
         from generate_series(1, $4::int) as g`,
      [flow.project_id, flowId, flow.current_version_id, oldRuns],
    );
    await deployment.sql.query('analyze runs');
    const prune = createRetentionPruner({
      db: database.db,
      store: { deleteMany: async () => undefined },
      logger: pino({ level: 'silent' }),
      runRetentionDays: 30,
      fileRetentionDays: 0,
      maxBatchesPerPass: 1,
    });
    let loading = true;
    let deleted = 0;
    const started = performance.now();
    let prunedAllAtS: number | null = null;
    const pruning = (async () => {
      while (loading) {
        const pass = await prune();
        deleted += pass.runs;
        if (pass.runs === 0) {
          prunedAllAtS = (performance.now() - started) / 1000;
          return;
        }
      }
    })();
    const during = await runLoad({ url, body: BODY, connections, durationS });
    loading = false;
    await pruning;
    const pruningS = prunedAllAtS ?? (performance.now() - started) / 1000;
    await deployment.discardQueuedRuns([flowId]);
    return [
      {
        scenario: 'pruning',
        connections,
        old_runs: oldRuns,
        deleted,
        pruning_s: Math.round(pruningS * 100) / 100,
        rows_per_s: Math.round(deleted / pruningS),
        pruned_all_within_load: prunedAllAtS !== null,
        accept_req_per_s_without: without.req_per_s,
        accept_p99_ms_without: without.p99_ms,
        accept_req_per_s_during: during.req_per_s,
        accept_p99_ms_during: during.p99_ms,
        accept_non2xx_during: during.non2xx + during.errors,
      },
    ];
  } finally {
    await deployment.setWorkersPaused(false);
    await database.close();
  }
}

/** The report's section on pruning; a run without it keeps the section it replaces. */
export function pruningSection(figures: Figure[], previousDoc: string): string {
  const rows = figures.filter((f) => f.scenario === 'pruning');
  if (rows.length === 0) return docSection(previousDoc, HEADING);
  return `${HEADING}

\`npm run bench -- --scenarios pruning\` (${new Date().toISOString().slice(0, 10)}): async
webhooks (202, workers paused) against the APP, first alone, then while the retention pruner
deletes ended runs 40 days old, 1,000 rows a statement, back to back (the APP's own pass stops
at 20,000 rows per reconcile interval; this measures the statement rate). Same PostgreSQL and
two cores as everything else here; the APP's own reconciler may prune alongside. The failed
accepts seen so far were 503 \`queue_unavailable\` with Retry-After (Redis, starved of CPU
while PostgreSQL deleted, missed the APP's 700 ms bound): the retryable answer, no run lost
or half-made. Pruning at this statement rate costs the accept path about half its throughput
on two shared cores; the APP's own pass is a 20,000-row burst every reconcile interval.

| connections | old runs | deleted | pruning s | rows/s | accept req/s alone | accept p99 ms alone | accept req/s pruning | accept p99 ms pruning | failed accepts |
|---|---|---|---|---|---|---|---|---|---|
${rows
  .map(
    (f) =>
      `| ${f.connections} | ${f.old_runs} | ${f.deleted} | ${f.pruning_s}${f.pruned_all_within_load ? '' : ' (load ended first)'} | ${f.rows_per_s} | ${f.accept_req_per_s_without} | ${f.accept_p99_ms_without} | ${f.accept_req_per_s_during} | ${f.accept_p99_ms_during} | ${f.accept_non2xx_during} |`,
  )
  .join('\n')}
`;
}

/** Replaces (or appends) only this section of docs/benchmarks.md. */
export function writePruningSection(figures: Figure[]): void {
  const doc = readFileSync(DOC, 'utf8');
  const section = pruningSection(figures, doc);
  const previous = docSection(doc, HEADING);
  const next = previous === '' ? `${doc.trimEnd()}\n\n${section}` : doc.replace(previous, section);
  writeFileSync(DOC, next);
}
