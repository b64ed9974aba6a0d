import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { docSection } from './doc-section';
import { recoverySection } from './recovery-report';
import { writeNewResultsFile } from './results-file';
import { sandboxRecoverySection } from './sandbox-report';
import { sqsSectionOf } from './sqs-section';

const machine = () =>
  `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ` +
  'PostgreSQL, Redis and s3rver (its files on tmpfs) on the same machine (loopback)';

const cell = (value: unknown) => (value === undefined ? '' : String(value));

type Figure = Record<string, unknown>;

export interface BenchRecord {
  date: string;
  machine: string;
  settings: { workers: number; durationS: number; smoke: boolean };
  figures: Figure[];
  /** The box's 1-minute load average when the run started and ended: others share it. */
  loadAverage?: { start: number; end: number };
  /** The bench-results file this run is shown beside (`--baseline`), if any. */
  baseline?: string;
}

/**
 * Each run's raw figures go to a new bench-results file (results-file.ts); docs/benchmarks.md
 * shows the latest run, beside the run in `baseline` (a bench-results file) when one is given.
 */
export function writeReports(
  figures: Figure[],
  settings: BenchRecord['settings'],
  { baseline, loadAtStart }: { baseline?: string | undefined; loadAtStart: number },
) {
  const round = (n: number) => Math.round(n * 100) / 100;
  const record: BenchRecord = {
    date: new Date().toISOString(),
    machine: machine(),
    settings,
    figures,
    loadAverage: { start: round(loadAtStart), end: round(loadavg()[0] ?? 0) },
    ...(baseline === undefined ? {} : { baseline }),
  };
  const rawFile = writeNewResultsFile(record);
  if (settings.smoke) return;
  mkdirSync('docs', { recursive: true });
  const previous = existsSync('docs/benchmarks.md')
    ? readFileSync('docs/benchmarks.md', 'utf8')
    : '';
  const before =
    baseline === undefined
      ? undefined
      : (JSON.parse(readFileSync(baseline, 'utf8')) as BenchRecord);
  writeFileSync('docs/benchmarks.md', renderBenchmarksDoc(record, rawFile, previous, before));
}

const num = (value: unknown) => (typeof value === 'number' ? value : Number.NaN);

/**
 * A load figure's `field` per request, times `scale` (1000 for seconds to ms), to two places;
 * undefined when the figure has no such field (another driver's, or a run from before it).
 */
export function perRequest(f: Figure, field: string, scale = 1): number | undefined {
  const value = f[field];
  if (typeof value !== 'number') return undefined;
  return Math.round((value / num(f.requests ?? f.runs)) * (scale * 100)) / 100;
}

/** The issue's targets next to what this run measured. */
function targetRows(figures: Figure[]): string[] {
  const find = (scenario: string, connections?: number) =>
    figures.find(
      (f) =>
        f.scenario === scenario && (connections === undefined || f.connections === connections),
    ) ?? {};
  const sync = find('sync', 50);
  const accept = find('async-accept', 50);
  const idle = find('dispatch-idle');
  const micro = find('micro');
  const row = (figure: string, target: string, value: string, met: boolean) =>
    `| ${figure} | ${target} | ${value} | ${met ? 'met' : 'not met'} |`;
  return [
    row(
      'sync, c=50',
      '≥ 1,000 req/s, p99 ≤ 50 ms, 0 errors',
      `${cell(sync.req_per_s)} req/s, p99 ${cell(sync.p99_ms)} ms, ${num(sync.non2xx) + num(sync.errors)} errors`,
      num(sync.req_per_s) >= 1000 &&
        num(sync.p99_ms) <= 50 &&
        num(sync.non2xx) + num(sync.errors) === 0,
    ),
    row(
      'async-accept, c=50',
      '≥ 3,000 req/s, p99 ≤ 20 ms',
      `${cell(accept.req_per_s)} req/s, p99 ${cell(accept.p99_ms)} ms`,
      num(accept.req_per_s) >= 3000 && num(accept.p99_ms) <= 20,
    ),
    row(
      'dispatch latency (idle workers)',
      'p50 ≤ 2 ms, p99 ≤ 10 ms',
      `p50 ${cell(idle.dispatch_p50_ms)} ms, p99 ${cell(idle.dispatch_p99_ms)} ms`,
      num(idle.dispatch_p50_ms) <= 2 && num(idle.dispatch_p99_ms) <= 10,
    ),
    row(
      'worker idle RSS',
      '≤ 80 MB',
      `${cell(micro.worker_idle_rss_mb)} MB`,
      num(micro.worker_idle_rss_mb) <= 80,
    ),
    row(
      'app / worker start to ready',
      '≤ 300 ms',
      `${cell(micro.app_start_to_ready_ms)} / ${cell(micro.worker_start_to_ready_ms)} ms`,
      num(micro.app_start_to_ready_ms) <= 300 && num(micro.worker_start_to_ready_ms) <= 300,
    ),
  ];
}

/** CPU ms per request for the c=50 load runs: where the time goes, process by process. */
function cpuRows(figures: Figure[]): string[] {
  return figures
    .filter((f) => typeof f.postgres_cpu_s === 'number' && f.connections === 50)
    .map((f) => {
      const ms = cpuMsParts(f);
      const total = sum(ms);
      const kernel = Math.round((num(f.workers_system_cpu_s) / num(f.workers_cpu_s)) * 100);
      return `| ${f.scenario} | ${[...ms, total, Number.isFinite(kernel) ? `${kernel}%` : ''].join(' | ')} |`;
    });
}

/**
 * System calls and waits per request for the c=50 load runs, process by process: counts, which
 * the host's speed does not move (runs from before these were counted are left out).
 */
function countRows(figures: Figure[]): string[] {
  const parts = ['app', 'workers', 'postgres', 'redis'];
  return figures
    .filter((f) => typeof f.app_io_calls === 'number' && f.connections === 50)
    .map((f) => {
      const cells = parts.flatMap((part) => [
        perRequest(f, `${part}_io_calls`) ?? '',
        perRequest(f, `${part}_waits`) ?? '',
      ]);
      return `| ${f.scenario} | ${cells.join(' | ')} |`;
    });
}

/** CPU ms per request of one load figure, process by process (rounded as the table shows them). */
function cpuMsParts(f: Figure): number[] {
  const parts = ['app_cpu_s', 'workers_cpu_s', 'postgres_cpu_s', 'redis_cpu_s', 's3rver_cpu_s'];
  return parts.map((part) => perRequest(f, part, 1000) ?? Number.NaN);
}

const sum = (values: number[]) => Math.round(values.reduce((a, b) => a + b, 0) * 100) / 100;

/** Why the sync figure sits where it does, from this run's own numbers. */
function ceilingParagraph(figures: Figure[], micro: Figure): string {
  const sync = figures.find((f) => f.scenario === 'sync' && f.connections === 50);
  if (sync === undefined) return '';
  const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;
  const cores = cpus().length;
  const [, worker = 0, ...serviceParts] = cpuMsParts(sync);
  const total = sum(cpuMsParts(sync));
  const services = sum(serviceParts);
  const engine = num(micro.engine_cpu_ms_per_run);
  const kernel = (num(sync.workers_system_cpu_s) / num(sync.workers_cpu_s)) * 100;
  return `A sync run costs ${round(total)} ms of CPU across the processes above, so ${cores} cores
cannot serve more than about ${Math.round((cores * 1000) / total)} of them per second; this run
served ${cell(sync.req_per_s)}/s, and the load generator shares the same cores. The 1,000/s
target needs ${round((cores * 1000) / 1000)} ms per run for everything. PostgreSQL, Redis and s3rver
alone take ${round(services)} ms per run: even if the app and the workers cost nothing, they would
cap this box at about ${Math.round((cores * 1000) / services)} runs/s. The run's path is fixed by
the design's guarantees: the app commits the run row (the outbox) and enqueues the job; the
worker takes it from BullMQ, runs the flow in a V8 context of the run's own, and (the bench
flow has no http step) claims and records it in one fenced statement, with its small log in the
row; then it publishes the reply (a log over 64 KiB would go to S3 after it). Of the worker's
${round(worker)} ms, the engine alone (measured in process: the run's context, cached compile,
call) is ${cell(micro.engine_cpu_ms_per_run)} ms, ${round((engine / worker) * 100, 0)}%; the kernel's
share (socket I/O to PostgreSQL and Redis) is ${round(kernel, 0)}%; the rest is the
BullMQ and node-postgres work around each of those round trips. PostgreSQL,
Redis and s3rver are test stand-ins running on the same two cores: on AWS their share
is not on the app's or the workers' CPUs, so one worker at 0.25 vCPU is bounded by its own
${round(worker)} ms per run, about ${Math.round(250 / worker)} runs/s.`;
}

/** The load runs a comparison table shows, one row each: scenario and connections. */
export const COMPARED_LOADS = [
  ['sync', 10],
  ['sync', 50],
  ['async-accept', 10],
  ['async-accept', 50],
  ['sync-http-loop', 50],
] as const;

/**
 * Sections a bullmq run does not write, kept from the previous doc: the opt-in console and
 * pruning scenarios', the Redis command counts, and the CPU-per-run history.
 */
const CARRIED_SECTIONS = [
  '## CPU per sync run, before and after',
  '## Console page times',
  '## Retention pruning',
  '## Redis commands per sync run',
];

const nodeOf = (box: string) => /Node (v[\d.]+)/.exec(box)?.[1] ?? 'unknown Node';

/** This run's main figures beside the baseline run's, one row per figure. */
function comparisonSection(record: BenchRecord, baseline: BenchRecord | undefined): string {
  if (baseline === undefined) return '';
  const pick = (figures: Figure[], scenario: string, connections?: number) =>
    figures.find(
      (f) =>
        f.scenario === scenario && (connections === undefined || f.connections === connections),
    ) ?? {};
  const rows: [string, (figures: Figure[]) => string][] = [];
  for (const [scenario, c] of COMPARED_LOADS) {
    rows.push([
      `${scenario}, c=${c}: req/s, p99 ms`,
      (figures) => {
        const f = pick(figures, scenario, c);
        return `${cell(f.req_per_s)}, ${cell(f.p99_ms)}`;
      },
    ]);
  }
  rows.push(
    [
      'sync, c=50: CPU ms per run, all processes (workers)',
      (figures) => {
        const f = pick(figures, 'sync', 50);
        if (f.requests === undefined) return '';
        const parts = cpuMsParts(f);
        return `${sum(parts)} (${parts[1]})`;
      },
    ],
    ['async drain: runs/s', (figures) => cell(pick(figures, 'async-drain').runs_per_s)],
    [
      'dispatch latency, idle workers: p50, p99 ms',
      (figures) => {
        const f = pick(figures, 'dispatch-idle');
        return `${cell(f.dispatch_p50_ms)}, ${cell(f.dispatch_p99_ms)}`;
      },
    ],
    [
      'app / worker start to ready, as the image (ms)',
      (figures) => {
        const f = pick(figures, 'micro');
        return `${cell(f.app_start_to_ready_ms)} / ${cell(f.worker_start_to_ready_ms)}`;
      },
    ],
    [
      'app / worker start to ready, warm compile cache (ms)',
      (figures) => {
        const f = pick(figures, 'micro');
        return f.app_start_to_ready_cached_ms === undefined
          ? 'n/a'
          : `${cell(f.app_start_to_ready_cached_ms)} / ${cell(f.worker_start_to_ready_cached_ms)}`;
      },
    ],
    ['worker idle RSS (MB)', (figures) => cell(pick(figures, 'micro').worker_idle_rss_mb)],
    [
      'engine alone: CPU ms per run',
      (figures) => cell(pick(figures, 'micro').engine_cpu_ms_per_run),
    ],
  );
  const load = ({ loadAverage }: BenchRecord) =>
    loadAverage === undefined
      ? 'load not recorded'
      : `1-minute load average ${loadAverage.start} at the start, ${loadAverage.end} at the end`;
  // Named by Node versions when they differ, else by the baseline's file (a before/after run).
  const sameNode = nodeOf(record.machine) === nodeOf(baseline.machine);
  const title = sameNode
    ? `This run beside ${record.baseline}`
    : `${nodeOf(record.machine)} beside ${nodeOf(baseline.machine)}`;
  return `## ${title}

This run (${load(record)}) beside \`${record.baseline}\` (${baseline.date.slice(0, 10)},
${nodeOf(baseline.machine)}, ${baseline.settings.workers} workers, ${baseline.settings.durationS} s per run, ${load(baseline)}), on the same
machine. The load average lags by about a minute and counts the benchmark's own processes (a
run alone takes it to about 4 or 5), so it shows only whether others were busy too. Others'
work shares the two cores, so throughput and latency move with it: a figure that moves by less
than about 15% between two runs has not moved, and the CPU per run is the steadier comparison.

| figure | ${sameNode ? 'baseline' : nodeOf(baseline.machine)} | ${sameNode ? 'this run' : nodeOf(record.machine)} |
|---|---|---|
${rows.map(([name, value]) => `| ${name} | ${value(baseline.figures)} | ${value(record.figures)} |`).join('\n')}

`;
}

/** The whole benchmarks page for `record`, whose raw figures are in `rawFile`. */
export function renderBenchmarksDoc(
  record: BenchRecord,
  rawFile: string,
  previousDoc = '',
  baseline?: BenchRecord,
): string {
  const { date: at, machine: box, settings, figures } = record;
  const date = at.slice(0, 10);

  // The load runs: the figures with a request rate (not micro, drain, dispatch or sandbox).
  const load = figures.filter((f) => typeof f.req_per_s === 'number');
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
      f.succeeded ?? f.committed,
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
Machine: ${box}${record.loadAverage === undefined ? '' : `; 1-minute load average ${record.loadAverage.start} at the start, ${record.loadAverage.end} at the end (the box is shared)`}. Raw figures: \`${rawFile}\`.

| scenario | conns | workers | req/s | p50 ms | p95 ms | p99 ms | non-2xx | errors | runs succeeded (accept: committed) | app CPU s | workers CPU s | app peak RSS MB | worker peak RSS MB | dispatch p50 ms | dispatch p99 ms |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
${rows.map((row) => `| ${row} |`).join('\n')}

\`async-accept\` runs with the run queue paused (BullMQ's pause), so it measures the 202 path alone while the workers take nothing; every 202 is checked against a committed run row ("committed"), and that backlog is then discarded rather than run (async-drain measures the workers).

Dispatch latency on idle workers (enqueue → flow start as the worker records it in \`runs.dispatch_ms\`, one sync request at a time, ${cell(idle?.requests)} runs): p50 ${cell(idle?.dispatch_p50_ms)} ms, p99 ${cell(idle?.dispatch_p99_ms)} ms; the whole sync request p50 ${cell(idle?.p50_ms)} ms, p99 ${cell(idle?.p99_ms)} ms. Under load the dispatch columns above also count the time a run waits behind others.

Async drain: ${cell(drain?.runs)} runs queued while the workers were paused finished in ${cell(drain?.drain_s)} s once they resumed (${cell(drain?.runs_per_s)} runs/s) with ${settings.workers} workers.

| figure | value |
|---|---|
| app start to ready (median of 5), as the image runs it: no module compile cache | ${cell(micro.app_start_to_ready_ms)} ms |
| worker start to ready (median of 5), as the image runs it | ${cell(micro.worker_start_to_ready_ms)} ms |
| app start to ready (median of 5), warm module compile cache (\`npm start\`, tests, restarts) | ${cell(micro.app_start_to_ready_cached_ms)} ms |
| worker start to ready (median of 5), warm module compile cache | ${cell(micro.worker_start_to_ready_cached_ms)} ms |
| worker idle RSS (median of 5, 2 s after ready) | ${cell(micro.worker_idle_rss_mb)} MB |
| bundle size (dist/main.mjs + chunks) | ${cell(micro.bundle_bytes)} bytes |

${comparisonSection(record, baseline)}## Targets

| figure | target | measured | |
|---|---|---|---|
${targetRows(figures).join('\n')}

## Where the CPU goes

CPU milliseconds per request, by process, measured from \`/proc\` over the load runs above
(the load generator itself is not counted):

| scenario | app | workers | PostgreSQL | Redis | s3rver | total | workers' CPU in the kernel |
|---|---|---|---|---|---|---|---|
${cpuRows(figures).join('\n')}

${ceilingParagraph(figures, micro)}

The same runs counted per request rather than timed, which a slower or busier host does not
change: read- and write-type system calls (\`/proc/<pid>/io\`: read, write, readv, writev,
pread, pwrite; not the send and recv calls PostgreSQL uses on its sockets, so its column is its
file I/O, mostly the WAL), and waits (voluntary context switches, summed over each process's
threads: the times it stopped until a socket, a lock or another thread woke it; on this VM each
one passes through the hypervisor):

| scenario | app I/O calls | app waits | workers I/O calls | workers waits | PostgreSQL file I/O calls | PostgreSQL waits | Redis I/O calls | Redis waits |
|---|---|---|---|---|---|---|---|---|
${countRows(figures).join('\n')}

Start to ready is CPU-bound, with no waiting on I/O worth naming: Node's own bootstrap, which for
a worker runs without Node's startup snapshot (isolated-vm needs \`--no-node-snapshot\` on
Node 20 and later, still with isolated-vm 7, so Node compiles its internals at every start), then
compiling the bundle's modules and initialising the bundled CommonJS packages (BullMQ, ioredis,
pg). The app keeps the snapshot. On this shared box the median of 5 moves by about ±40 ms between
runs.

The module compile cache (Node 22.1 and later; runtime/main.ts turns it on with
\`module.enableCompileCache()\`, start.ts writes it once the process is ready) saves compiling the
bundle's modules again on a later start from the same cache: the "warm module compile cache"
figures, which is how \`npm start\`, the tests and a restart on one machine run. The image turns
it off (\`NODE_DISABLE_COMPILE_CACHE=1\` in the Dockerfile): every task starts in a new container,
where the cache is empty, and an empty cache saves nothing. What a warm cache saves grows with
how busy the two cores are: in the runs of 2026-12-03, from nothing measurable on a quiet box to
about 100 ms per start while other work ran. Measured that day with 31 alternating starts of
each kind (medians, app / worker): no cache 281 / 357 ms, an empty cache 306 / 349 ms, a warm
cache 259 / 336 ms; and a cache filled while building the image, by importing every chunk, made
the app start slower (279 against 253 ms without a cache), since it holds the chunks' top-level
code only.

Of a worker's idle RSS, about 46 MB is Node 24 itself (a bare \`node --no-node-snapshot\`; 42 MB
on Node 20); most of the rest is V8's heap, about 16 MB in use (21 MB on Node 20; the bundle's
code and sources). Workers run with a 2 MiB young generation (\`--max-semi-space-size=2\`,
runtime/limits.ts), which V8 would otherwise grow with the allocations of start-up.

Profiles: \`npm run bench -- --scenarios sync --profile /tmp/prof\` writes a V8 CPU profile per
app and worker process.
`;
  const sections = [
    sandboxRecoverySection(figures, previousDoc),
    recoverySection(figures, previousDoc),
    // The sqs run's comparison is written by `--queue sqs` and kept across bullmq runs.
    sqsSectionOf(previousDoc),
    // Sections other scenarios and runs write, carried over as they are.
    ...CARRIED_SECTIONS.map((heading) => docSection(previousDoc, heading)),
  ].filter((section) => section !== '');
  return [doc, ...sections].join('\n');
}
