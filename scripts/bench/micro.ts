import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { createFlowRunner, parseFlowDefinition } from '../../runtime/engine';
import { startSluice } from '../../test/support/processes';
import { rssMb } from './proc-stats';

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
};

/** Enqueue to flow start (its first step starts within microseconds), as the worker recorded it. */
export async function dispatchLatency(sql: pg.Client, flowId: string) {
  const { rows } = await sql.query<{ p50: number | null; p99: number | null; n: string }>(
    `select percentile_cont(0.5) within group (order by dispatch_ms) as p50,
            percentile_cont(0.99) within group (order by dispatch_ms) as p99,
            count(*) as n
       from runs where flow_id = $1 and dispatch_ms is not null`,
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

const ROLES = ['app', 'worker'] as const;

function startRole(env: Record<string, string>, role: (typeof ROLES)[number]) {
  return startSluice({ ...env, SLUICE_ROLE: role, PORT: '0', HOST: '127.0.0.1' });
}

/**
 * Process start to "ready" for each role, median of `times`, as `env` runs them (the deployment's
 * env: as the image, without the module compile cache); and a worker's idle RSS, the median of
 * one sample per worker start, taken 2 s after it was ready.
 */
export async function startupFigures(env: Record<string, string>, times: number) {
  const figures: Record<string, number> = {};
  const idleRss: number[] = [];
  for (const role of ROLES) {
    const samples: number[] = [];
    for (let i = 0; i < times; i++) {
      const started = performance.now();
      const process = await startRole(env, role);
      samples.push(performance.now() - started);
      if (role === 'worker') {
        await new Promise((resolve) => setTimeout(resolve, 2000));
        idleRss.push(rssMb(process.child.pid ?? 0));
      }
      await process.stop('SIGKILL');
    }
    figures[`${role}_start_to_ready_ms`] = Math.round(median(samples));
  }
  figures.worker_idle_rss_mb = median(idleRss);
  return figures;
}

/**
 * Start to "ready" with a warm module compile cache, as `npm start`, the tests and any restart
 * on the same machine run: one start per role fills a new cache (runtime/main.ts turns it on,
 * start.ts writes it once ready), then the median of `times`.
 */
export async function cachedStartupFigures(env: Record<string, string>, times: number) {
  const { NODE_DISABLE_COMPILE_CACHE: _off, ...rest } = env;
  const cacheDir = mkdtempSync(join(tmpdir(), 'sluice-bench-compile-cache-'));
  const cached = { ...rest, NODE_COMPILE_CACHE: cacheDir };
  const figures: Record<string, number> = {};
  try {
    for (const role of ROLES) {
      await (await startRole(cached, role)).stop('SIGKILL');
      const samples: number[] = [];
      for (let i = 0; i < times; i++) {
        const started = performance.now();
        const process = await startRole(cached, role);
        samples.push(performance.now() - started);
        await process.stop('SIGKILL');
      }
      figures[`${role}_start_to_ready_cached_ms`] = Math.round(median(samples));
    }
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
  return figures;
}

/** dist/main.mjs plus the chunks it loads (source maps excluded). */
export const bundleBytes = () =>
  ['main.mjs', ...readdirSync('dist/chunks').map((name) => `chunks/${name}`)]
    .filter((name) => name.endsWith('.mjs'))
    .reduce((sum, name) => sum + statSync(`dist/${name}`).size, 0);

/**
 * The engine alone, in this process: the standard flow run `times` times back to back after a
 * warm-up. CPU counts every thread, so the isolate's own thread is in it (a worker's V8
 * profile shows only its main thread).
 */
export async function engineFigures(definition: unknown, times: number) {
  const parsed = parseFlowDefinition(definition);
  if (!parsed.ok) throw new Error('the standard flow does not parse');
  const runner = createFlowRunner();
  const trigger = { body: { a: 1, b: 2 }, headers: {}, query: {} };
  const runOnce = async () => {
    const outcome = await runner.run(parsed.value, trigger, { deadline: Date.now() + 10_000 });
    if (outcome.status !== 'succeeded') throw new Error(`standard flow ${outcome.status}`);
  };
  try {
    for (let i = 0; i < Math.min(200, times); i++) await runOnce();
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    for (let i = 0; i < times; i++) await runOnce();
    const wallMs = performance.now() - started;
    const cpu = process.cpuUsage(cpuBefore);
    const round = (n: number) => Math.round(n * 1000) / 1000;
    return {
      engine_cpu_ms_per_run: round((cpu.user + cpu.system) / 1000 / times),
      engine_wall_ms_per_run: round(wallMs / times),
    };
  } finally {
    runner.dispose();
  }
}
