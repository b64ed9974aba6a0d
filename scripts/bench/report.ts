import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

const machine = () =>
  `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ` +
  'PostgreSQL, Redis and s3rver on the same machine (loopback)';

const cell = (value: unknown) => (value === undefined ? '' : String(value));

/** bench-results/<date>.json keeps every run; docs/benchmarks.md shows the latest. */
export function writeReports(
  figures: Record<string, unknown>[],
  settings: { workers: number; durationS: number; smoke: boolean },
) {
  const date = new Date().toISOString().slice(0, 10);
  mkdirSync('bench-results', { recursive: true });
  const record = { date: new Date().toISOString(), machine: machine(), settings, figures };
  writeFileSync(`bench-results/${date}.json`, `${JSON.stringify(record, null, 2)}\n`);
  if (settings.smoke) return;

  const load = figures.filter(
    (f) => f.scenario !== 'micro' && f.scenario !== 'async-drain' && f.scenario !== 'dispatch-idle',
  );
  const idle = figures.find((f) => f.scenario === 'dispatch-idle');
  const drain = figures.find((f) => f.scenario === 'async-drain');
  const micro = figures.find((f) => f.scenario === 'micro') ?? {};
  const rows = load.map((f) =>
    [
      f.scenario,
      f.connections,
      f.workers,
      f.req_per_s,
      f.p50_ms,
      f.p95_ms,
      f.p99_ms,
      f.non2xx,
      f.errors,
      f.succeeded,
      f.app_cpu_s,
      f.workers_cpu_s,
      f.app_peak_rss_mb,
      f.workers_peak_rss_mb,
      f.dispatch_p50_ms,
      f.dispatch_p99_ms,
    ]
      .map(cell)
      .join(' | '),
  );
  const doc = `# Benchmarks

Produced by \`npm run bench\` (${settings.workers} workers, ${settings.durationS} s per run) on ${date}.
Machine: ${machine()}. Raw figures: \`bench-results/${date}.json\`.

| scenario | conns | workers | req/s | p50 ms | p95 ms | p99 ms | non-2xx | errors | runs succeeded | app CPU s | workers CPU s | app peak RSS MB | worker peak RSS MB | dispatch p50 ms | dispatch p99 ms |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
${rows.map((row) => `| ${row} |`).join('\n')}

Dispatch latency on idle workers (enqueue → first step start, one sync request at a time, ${cell(idle?.requests)} runs): p50 ${cell(idle?.dispatch_p50_ms)} ms, p99 ${cell(idle?.dispatch_p99_ms)} ms; the whole sync request p50 ${cell(idle?.p50_ms)} ms, p99 ${cell(idle?.p99_ms)} ms. Under load the dispatch columns above also count the time a run waits behind others.

Async drain: ${cell(drain?.runs)} queued runs finished in ${cell(drain?.drain_s)} s (${cell(drain?.runs_per_s)} runs/s) with ${settings.workers} workers.

| figure | value |
|---|---|
| app start to ready (median of 5) | ${cell(micro.app_start_to_ready_ms)} ms |
| worker start to ready (median of 5) | ${cell(micro.worker_start_to_ready_ms)} ms |
| worker idle RSS | ${cell(micro.worker_idle_rss_mb)} MB |
| bundle size (dist/main.mjs + chunks) | ${cell(micro.bundle_bytes)} bytes |
`;
  mkdirSync('docs', { recursive: true });
  writeFileSync('docs/benchmarks.md', doc);
}
