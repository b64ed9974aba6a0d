import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

/** Runs the bench in its smoke size with `args` added, and returns the figures it printed. */
async function smokeFigures(args: string[], timeout: number) {
  const { stdout } = await run(
    process.execPath,
    [
      '--no-node-snapshot',
      '--import',
      'tsx',
      'scripts/bench/main.ts',
      '--smoke',
      '--no-write',
      '--no-build',
      ...args,
    ],
    { timeout, maxBuffer: 10 * 1024 * 1024 },
  );
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** `npm run bench` in its smoke size (W=1, 2 s): checks the figures' shape, not their values. */
describe('bench harness (smoke)', () => {
  it('prints every figure; sync 2xx equals the runs that succeeded, accept 2xx the rows committed', async () => {
    const figures = await smokeFigures([], 120_000);
    const byScenario = new Map(figures.map((figure) => [figure.scenario, figure]));
    // The one-at-a-time figures first, on a quiet box, then the loads.
    expect([...byScenario.keys()]).toEqual([
      'micro',
      'dispatch-idle',
      'sync',
      'async-accept',
      'async-drain',
      'sync-http-loop',
    ]);

    const loadFields = [
      'connections',
      'workers',
      'req_per_s',
      'p50_ms',
      'p95_ms',
      'p99_ms',
      'non2xx',
      'app_cpu_s',
      'workers_cpu_s',
      'workers_system_cpu_s',
      'postgres_cpu_s',
      'redis_cpu_s',
      's3rver_cpu_s',
      'app_peak_rss_mb',
      'workers_peak_rss_mb',
    ];
    for (const scenario of ['sync', 'async-accept', 'sync-http-loop']) {
      const figure = byScenario.get(scenario) ?? {};
      for (const field of loadFields)
        expect(typeof figure[field], `${scenario}.${field}`).toBe('number');
      expect(figure.ok_2xx as number).toBeGreaterThan(0);
      expect(figure.non2xx).toBe(0);
    }
    for (const scenario of ['sync', 'sync-http-loop']) {
      const figure = byScenario.get(scenario) ?? {};
      expect(figure.succeeded).toBe(figure.ok_2xx);
      // Counted from /proc: every run is read from and written to sockets by the app and a worker.
      for (const part of ['app', 'workers', 'postgres', 'redis']) {
        expect(typeof figure[`${part}_io_calls`], `${scenario}.${part}_io_calls`).toBe('number');
        expect(typeof figure[`${part}_waits`], `${scenario}.${part}_waits`).toBe('number');
      }
      expect(figure.app_io_calls as number).toBeGreaterThanOrEqual(figure.ok_2xx as number);
      expect(figure.workers_io_calls as number).toBeGreaterThanOrEqual(figure.succeeded as number);
      expect(figure.workers_waits as number).toBeGreaterThan(0);
      expect(typeof figure.dispatch_p50_ms).toBe('number');
      expect(typeof figure.dispatch_p99_ms).toBe('number');
    }
    // Every 202 stands for a committed run row.
    const accept = byScenario.get('async-accept') ?? {};
    expect(accept.committed).toBe(accept.ok_2xx);
    expect(byScenario.get('async-drain')).toMatchObject({ runs: 20, succeeded: 20 });
    expect(byScenario.get('dispatch-idle')).toMatchObject({ requests: 20, runs: 20 });
    const micro = byScenario.get('micro') ?? {};
    for (const field of [
      'app_start_to_ready_ms',
      'worker_start_to_ready_ms',
      'app_start_to_ready_cached_ms',
      'worker_start_to_ready_cached_ms',
      'worker_idle_rss_mb',
      'engine_cpu_ms_per_run',
      'engine_wall_ms_per_run',
      'bundle_bytes',
    ]) {
      expect(micro[field] as number, field).toBeGreaterThan(0);
    }
  }, 150_000);

  it('runs the opt-in sync-respond-only scenario (no code step) only when named', async () => {
    const flow = JSON.parse(readFileSync('scripts/bench/flows/respond-only.json', 'utf8'));
    expect(flow.steps.map((step: { type: string }) => step.type)).toEqual(['respond']);
    const figures = await smokeFigures(['--scenarios', 'sync-respond-only'], 60_000);
    expect(figures.map((figure) => figure.scenario)).toEqual(['sync-respond-only']);
    const [figure = {}] = figures;
    expect(figure.ok_2xx as number).toBeGreaterThan(0);
    expect(figure.non2xx).toBe(0);
    expect(figure.errors).toBe(0);
    expect(figure.succeeded).toBe(figure.ok_2xx);
    expect(figure.workers_cpu_s as number).toBeGreaterThan(0);
  }, 90_000);
});
