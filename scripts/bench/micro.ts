import { readdirSync, statSync } from 'node:fs';
import type pg from 'pg';
import { startSluice } from '../../test/support/processes';
import { rssMb } from './proc-stats';

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
};

/** Enqueue (run row committed) to first step start, from timestamps the worker records. */
export async function dispatchLatency(sql: pg.Client, flowId: string) {
  const { rows } = await sql.query<{ p50: number | null; p99: number | null; n: string }>(
    `select percentile_cont(0.5) within group (order by ms) as p50,
            percentile_cont(0.99) within group (order by ms) as p99,
            count(*) as n
       from (select extract(epoch from ((steps->0->>'startedAt')::timestamptz - created_at)) * 1000 as ms
               from runs where flow_id = $1 and steps->0 is not null) as latencies`,
    [flowId],
  );
  const row = rows[0];
  const round = (n: number | null | undefined) => Math.round((n ?? 0) * 100) / 100;
  return {
    dispatch_p50_ms: round(row?.p50),
    dispatch_p99_ms: round(row?.p99),
    runs: Number(row?.n ?? 0),
  };
}

/** Process start to "ready" for each role, median of `times`; and a worker's idle RSS. */
export async function startupFigures(env: Record<string, string>, times: number) {
  const figures: Record<string, number> = {};
  for (const role of ['app', 'worker'] as const) {
    const samples: number[] = [];
    for (let i = 0; i < times; i++) {
      const started = performance.now();
      const process = await startSluice({
        ...env,
        SLUICE_ROLE: role,
        PORT: '0',
        HOST: '127.0.0.1',
      });
      samples.push(performance.now() - started);
      if (role === 'worker' && i === times - 1) {
        await new Promise((resolve) => setTimeout(resolve, 2000));
        figures.worker_idle_rss_mb = rssMb(process.child.pid ?? 0);
      }
      await process.stop('SIGKILL');
    }
    figures[`${role}_start_to_ready_ms`] = Math.round(median(samples));
  }
  return figures;
}

/** dist/main.mjs plus the chunks it loads (source maps excluded). */
export const bundleBytes = () =>
  ['main.mjs', ...readdirSync('dist/chunks').map((name) => `chunks/${name}`)]
    .filter((name) => name.endsWith('.mjs'))
    .reduce((sum, name) => sum + statSync(`dist/${name}`).size, 0);
