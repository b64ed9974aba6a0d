import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { type BenchRecord, COMPARED_LOADS, perRequest } from './report';
import { latestResultsFile, writeNewResultsFile } from './results-file';
import { SQS_SECTION_END as END, SQS_SECTION_START as START, sqsSectionOf } from './sqs-section';

type Figure = Record<string, unknown>;

/** The newest bullmq run in bench-results. */
function latestBullmqRecord(): { file: string; record: BenchRecord } | undefined {
  const file = latestResultsFile();
  if (file === undefined) return undefined;
  return { file, record: JSON.parse(readFileSync(file, 'utf8')) as BenchRecord };
}

const cell = (value: unknown) => (value === undefined ? '' : String(value));
const pick = (figures: Figure[], scenario: string, connections?: number) =>
  figures.find(
    (f) => f.scenario === scenario && (connections === undefined || f.connections === connections),
  ) ?? {};
/** CPU seconds per run, as ms. */
const perRunMs = (f: Figure, key: string) => perRequest(f, key, 1000);
/** A count per run; empty for a run from before counts were recorded. */
const perRun = (f: Figure, key: string) => cell(perRequest(f, key));

/** One row per figure: the bullmq run's value beside the sqs run's. */
function rows(bullmq: Figure[], sqs: Figure[]): string[] {
  const lines: [string, (figures: Figure[]) => string][] = [];
  for (const [scenario, c] of COMPARED_LOADS) {
    lines.push([
      `${scenario}, c=${c}: req/s, p99 ms, errors`,
      (figures) => {
        const f = pick(figures, scenario, c);
        return `${cell(f.req_per_s)}, ${cell(f.p99_ms)}, ${Number(f.non2xx ?? 0) + Number(f.errors ?? 0)}`;
      },
    ]);
  }
  const sync50 = (figures: Figure[]) => pick(figures, 'sync', 50);
  lines.push(
    ['sync, c=50: app CPU ms per run', (f) => cell(perRunMs(sync50(f), 'app_cpu_s'))],
    ['sync, c=50: workers CPU ms per run', (f) => cell(perRunMs(sync50(f), 'workers_cpu_s'))],
    ['sync, c=50: PostgreSQL CPU ms per run', (f) => cell(perRunMs(sync50(f), 'postgres_cpu_s'))],
    [
      'sync, c=50: queue service CPU ms per run (Redis / fauxqs)',
      (f) => cell(perRunMs(sync50(f), 'redis_cpu_s') ?? perRunMs(sync50(f), 'fauxqs_cpu_s')),
    ],
    ['sync, c=50: s3rver CPU ms per run', (f) => cell(perRunMs(sync50(f), 's3rver_cpu_s'))],
    [
      'sync, c=50: waits per run, app / workers / PostgreSQL (counted)',
      (f) =>
        ['app', 'workers', 'postgres']
          .map((part) => perRun(sync50(f), `${part}_waits`))
          .join(' / '),
    ],
    [
      'sync, c=50: read/write system calls per run, app / workers (counted)',
      (f) => ['app', 'workers'].map((part) => perRun(sync50(f), `${part}_io_calls`)).join(' / '),
    ],
    ['async drain: runs/s', (f) => cell(pick(f, 'async-drain').runs_per_s)],
    [
      'dispatch latency, idle workers: p50, p99 ms',
      (f) =>
        `${cell(pick(f, 'dispatch-idle').dispatch_p50_ms)}, ${cell(pick(f, 'dispatch-idle').dispatch_p99_ms)}`,
    ],
    [
      'app / worker start to ready, as the image (ms)',
      (f) =>
        `${cell(pick(f, 'micro').app_start_to_ready_ms)} / ${cell(pick(f, 'micro').worker_start_to_ready_ms)}`,
    ],
    ['worker idle RSS (MB)', (f) => cell(pick(f, 'micro').worker_idle_rss_mb)],
  );
  return lines.map(([name, value]) => `| ${name} | ${value(bullmq)} | ${value(sqs)} |`);
}

function renderSection(
  sqs: BenchRecord,
  sqsFile: string,
  bullmq: { file: string; record: BenchRecord } | undefined,
) {
  const load = (r: BenchRecord) =>
    r.loadAverage === undefined
      ? 'load not recorded'
      : `load ${r.loadAverage.start} → ${r.loadAverage.end}`;
  const sync = pick(sqs.figures, 'sync', 50);
  const fauxqsMs = perRunMs(sync, 'fauxqs_cpu_s');
  return `${START}
## SQS (fauxqs) beside BullMQ

\`npm run bench -- --queue sqs\` runs the same scenarios with \`SLUICE_QUEUE=sqs\` and no Redis:
the queue is [fauxqs](https://www.npmjs.com/package/fauxqs) in a child process on loopback,
sync replies travel over PostgreSQL LISTEN/NOTIFY, and each worker holds the runs it works on
as PostgreSQL advisory locks. sqs run: ${sqs.date.slice(0, 10)} (${load(sqs)}), raw figures
\`${sqsFile}\`; bullmq run: ${bullmq === undefined ? 'none found' : `\`${bullmq.file}\` (${load(bullmq.record)})`}.
Both ${sqs.settings.workers} workers, ${sqs.settings.durationS} s per run, on the same shared two cores.

| figure | bullmq (Redis) | sqs (fauxqs) |
|---|---|---|
${rows(bullmq?.record.figures ?? [], sqs.figures).join('\n')}

**fauxqs is not SQS.** Its CPU (${cell(fauxqsMs)} ms per sync run above) is an emulator in
JavaScript on the same two cores as everything else, taken from the app, the workers and
PostgreSQL; on AWS, SQS costs nothing on our cores. What loopback hides goes the other way:
each SQS call (SendMessage on accept; ReceiveMessage, ChangeMessageVisibility and
DeleteMessage per run) is a network round trip of a few milliseconds to a regional endpoint,
so on AWS the accept and dispatch latencies of \`sqs\` sit above these figures, and above
BullMQ's on an ElastiCache node in the same AZ. The sqs path also costs PostgreSQL more per
run: the hold (one advisory lock round trip per run on the worker's own session) and NOTIFY for
sync replies. SQS has no pause: \`async-accept\` and \`async-drain\` stop the workers instead,
so the sqs drain figure includes starting ${sqs.settings.workers} workers again.

Throughput and latency move with the box's load (the load averages above: others' test runs
share the two cores), so compare CPU per run first. The app's extra CPU per sync run over
BullMQ's is its one SendMessage, and most of the workers' extra is their ReceiveMessage and
DeleteMessage, the hold's two PostgreSQL round trips and the reply's NOTIFY. Each SQS call is an
HTTP/1.1 request signed with SigV4 (\`runtime/queue/sqs-wire.ts\`), about 0.4 ms of CPU here
where a Redis command through ioredis costs a fraction of that (through the SDK's client it
cost about 1 ms: see "CPU per sync run, before and after"); that cost is the same against real
SQS, plus TLS. fauxqs itself served about 250 to 270 SendMessage calls per second here
when sent 200 at once (measured in one process with the SDK, while this benchmark ran), which
also bounds the sqs throughput on this box.
${END}`;
}

/** Writes a new bench-results/<date>-sqs[-n].json and the "SQS beside BullMQ" section of docs/benchmarks.md. */
export function writeSqsReport(
  figures: Figure[],
  settings: BenchRecord['settings'],
  { loadAtStart }: { loadAtStart: number },
) {
  const round = (n: number) => Math.round(n * 100) / 100;
  const record: BenchRecord = {
    date: new Date().toISOString(),
    machine: `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, PostgreSQL, fauxqs and s3rver on the same machine (loopback)`,
    settings,
    figures,
    loadAverage: { start: round(loadAtStart), end: round(loadavg()[0] ?? 0) },
  };
  const rawFile = writeNewResultsFile(record, '-sqs');
  if (settings.smoke) return;
  const doc = existsSync('docs/benchmarks.md') ? readFileSync('docs/benchmarks.md', 'utf8') : '';
  const section = renderSection(record, rawFile, latestBullmqRecord());
  const kept = sqsSectionOf(doc);
  writeFileSync(
    'docs/benchmarks.md',
    kept === '' ? `${doc.trimEnd()}\n\n${section}\n` : doc.replace(kept, section),
  );
}
