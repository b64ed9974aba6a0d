// npm run bench -- [--workers 4] [--worker-concurrency 1] [--duration 15] [--connections 10,50] [--drain 2000]
//                  [--scenarios sync,async-accept,async-drain,dispatch-idle,sync-http-loop,micro]
//                  [--profile <dir>] [--smoke] [--no-write] [--no-build] [--baseline <file>]
//                  [--queue bullmq|sqs]
// `--scenarios console` (not run by default) times each console page on embedded mode with 100k
// runs stored, and writes its own section of docs/benchmarks.md.
// Prints one JSON line per figure, writes bench-results/<date>.json (<date>-2.json and on for a
// day's later runs) and docs/benchmarks.md (only when every default scenario ran). --queue sqs
// runs the same scenarios on fauxqs with no Redis, writes bench-results/<date>-sqs.json (numbered
// the same way) and puts its figures beside the latest bullmq
// run's in docs/benchmarks.md (its "SQS beside BullMQ" section). --profile writes a V8 CPU profile per app and worker
// process; --baseline shows a bench-results file's figures beside this run's in
// docs/benchmarks.md. `--scenarios sandbox-recovery` (not run by default) measures how a worker
// recovers from hostile code steps; `--scenarios recovery` (not run by default) the latency
// promises the tests bound only loosely, and writes its own section of docs/benchmarks.md;
// `--scenarios pruning` (not run by default) the retention pruner's rows/s and the accept p99
// beside it, in its own section; `--scenarios redis-commands` (not run by default) Redis
// commands, scripts and Redis CPU per sync run and per idle second (bullmq, counted);
// `--scenarios sync-respond-only` (not run by default) the sync scenario's path with no code
// step (a flow of one respond step), at the largest --connections: the CPU a run costs
// around its code step, so that `sync` minus it is what the code step and its V8 context cost.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { consolePageTimes } from './console-pages';
import { writeConsoleSection } from './console-report';
import { type Deployment, runCounts, startDeployment, waitForDrain } from './deployment';
import { runLoad } from './load';
import {
  bundleBytes,
  cachedStartupFigures,
  dispatchLatency,
  engineFigures,
  startupFigures,
} from './micro';
import { pruningFigures, writePruningSection } from './pruning';
import { writeSqsReport } from './queue-comparison';
import { recoveryLatencies } from './recovery';
import { writeRecoverySection } from './recovery-report';
import { redisCommandFigures } from './redis-commands';
import { writeReports } from './report';
import { sandboxRecovery } from './sandbox-recovery';

const ALL_SCENARIOS = [
  'sync',
  'async-accept',
  'async-drain',
  'dispatch-idle',
  'sync-http-loop',
  'micro',
] as const;
/** Scenarios that run only when named in --scenarios. */
const OPT_IN_SCENARIOS = [
  'sandbox-recovery',
  'recovery',
  'console',
  'pruning',
  'redis-commands',
  'sync-respond-only',
] as const;
const KNOWN_SCENARIOS: readonly string[] = [...ALL_SCENARIOS, ...OPT_IN_SCENARIOS];

const { values } = parseArgs({
  options: {
    workers: { type: 'string', default: '4' },
    'worker-concurrency': { type: 'string', default: '1' },
    duration: { type: 'string', default: '15' },
    connections: { type: 'string', default: '10,50' },
    drain: { type: 'string', default: '2000' },
    scenarios: { type: 'string', default: ALL_SCENARIOS.join(',') },
    profile: { type: 'string' },
    smoke: { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    'no-build': { type: 'boolean', default: false },
    baseline: { type: 'string' },
    queue: { type: 'string', default: 'bullmq' },
  },
});
if (values.queue !== 'bullmq' && values.queue !== 'sqs') {
  throw new Error(`--queue must be bullmq or sqs (got "${values.queue}")`);
}
const queue = values.queue;

const loadAtStart = loadavg()[0] ?? 0;
const smoke = values.smoke ?? false;
const workers = smoke ? 1 : Number(values.workers);
const workerConcurrency = Number(values['worker-concurrency']);
if (!Number.isInteger(workerConcurrency) || workerConcurrency < 1 || workerConcurrency > 64) {
  throw new Error(
    `--worker-concurrency must be an integer from 1 to 64 (got "${values['worker-concurrency']}")`,
  );
}
const durationS = smoke ? 2 : Number(values.duration);
const warmupS = smoke ? 0.5 : 3;
const connections = smoke ? [10] : (values.connections ?? '').split(',').map(Number);
const drainRuns = smoke ? 20 : Number(values.drain);
const startupSamples = smoke ? 1 : 5;
const scenarios = new Set((values.scenarios ?? '').split(','));
for (const name of scenarios) {
  if (!KNOWN_SCENARIOS.includes(name)) {
    throw new Error(
      `--scenarios: unknown scenario "${name}" (known: ${KNOWN_SCENARIOS.join(', ')})`,
    );
  }
}
const allScenarios = ALL_SCENARIOS.every((name) => scenarios.has(name));

const standard = JSON.parse(readFileSync('scripts/bench/flows/standard.json', 'utf8'));
const httpLoop = JSON.parse(readFileSync('scripts/bench/flows/http-loop.json', 'utf8'));
const respondOnly = JSON.parse(readFileSync('scripts/bench/flows/respond-only.json', 'utf8'));
const figures: Record<string, unknown>[] = [];

function emit(figure: Record<string, unknown>) {
  // Named only when it is not the deployed stack's 1, so earlier results stay comparable.
  if (workerConcurrency !== 1 && 'workers' in figure) figure.worker_concurrency = workerConcurrency;
  figures.push(figure);
  process.stdout.write(`${JSON.stringify(figure)}\n`);
}

function cpuDelta(deployment: Deployment, before: ReturnType<Deployment['usage']>) {
  const after = deployment.usage();
  const round = (n: number) => Math.round(n * 100) / 100;
  const counted: Record<string, number> = {};
  for (const [part, now] of Object.entries(after.counts)) {
    const then = before.counts[part as keyof typeof before.counts];
    if (now === undefined || then === undefined) continue;
    counted[`${part}_io_calls`] = now.ioCalls - then.ioCalls;
    counted[`${part}_waits`] = now.waits - then.waits;
  }
  return {
    app_cpu_s: round(after.app_cpu_s - before.app_cpu_s),
    workers_cpu_s: round(after.workers_cpu_s - before.workers_cpu_s),
    workers_system_cpu_s: round(after.workers_system_cpu_s - before.workers_system_cpu_s),
    postgres_cpu_s: round(after.postgres_cpu_s - before.postgres_cpu_s),
    ...(after.fauxqs_cpu_s === undefined
      ? { redis_cpu_s: round((after.redis_cpu_s ?? 0) - (before.redis_cpu_s ?? 0)) }
      : { fauxqs_cpu_s: round(after.fauxqs_cpu_s - (before.fauxqs_cpu_s ?? 0)) }),
    s3rver_cpu_s: round(after.s3rver_cpu_s - before.s3rver_cpu_s),
    app_peak_rss_mb: after.app_peak_rss_mb,
    workers_peak_rss_mb: after.workers_peak_rss_mb,
    ...counted,
  };
}

/**
 * The warm-up measures the rate; the measured run then sends a fixed number of requests
 * sized to last about `durationS`. Every request completes, so the 2xx count and the runs
 * succeeded in the database must match exactly (a timed stop would cut requests mid-flight).
 */
async function timedAmount(url: string, body: string, c: number): Promise<number> {
  const warmup = await runLoad({ url, body, connections: c, durationS: warmupS });
  return Math.max(c, Math.round(warmup.req_per_s * durationS));
}

async function syncScenario(
  deployment: Deployment,
  scenario: string,
  definition: unknown,
  body: string,
  c: number,
) {
  const warmupFlowId = await deployment.createFlow(definition);
  const amount = await timedAmount(`${deployment.base}/v1/webhooks/${warmupFlowId}/sync`, body, c);
  await waitForDrain(deployment.sql, warmupFlowId);
  const flowId = await deployment.createFlow(definition);
  const before = deployment.usage();
  const load = await runLoad({
    url: `${deployment.base}/v1/webhooks/${flowId}/sync`,
    body,
    connections: c,
    amount,
  });
  const usage = cpuDelta(deployment, before);
  await waitForDrain(deployment.sql, flowId);
  const counts = await runCounts(deployment.sql, flowId);
  emit({
    scenario,
    connections: c,
    workers,
    ...load,
    ...usage,
    succeeded: counts.succeeded ?? 0,
    ...(await dispatchLatency(deployment.sql, flowId)),
  });
}

/**
 * The 202 path alone: the queue is paused, so the app commits and enqueues while the workers
 * take nothing and do not compete for the two cores. Every 202 must have its committed run
 * row; the backlog (tens of thousands of runs) is then discarded rather than run, which
 * async-drain measures on its own.
 */
async function asyncAccept(deployment: Deployment, c: number) {
  const body = '{"a":1,"b":2}';
  await deployment.setWorkersPaused(true);
  try {
    const warmupFlowId = await deployment.createFlow(standard);
    const amount = await timedAmount(`${deployment.base}/v1/webhooks/${warmupFlowId}`, body, c);
    const flowId = await deployment.createFlow(standard);
    const url = `${deployment.base}/v1/webhooks/${flowId}`;
    const before = deployment.usage();
    const load = await runLoad({ url, body, connections: c, amount });
    const usage = cpuDelta(deployment, before);
    const counts = await runCounts(deployment.sql, flowId);
    await deployment.discardQueuedRuns([warmupFlowId, flowId]);
    emit({
      scenario: 'async-accept',
      connections: c,
      workers,
      ...load,
      ...usage,
      committed: counts.queued ?? 0,
    });
  } finally {
    await deployment.setWorkersPaused(false);
  }
}

/**
 * Dispatch latency on idle workers: one request at a time, so no run waits behind another and
 * the figure is the queue hop itself (commit → job → worker → first step), not backlog.
 */
async function idleDispatch(deployment: Deployment) {
  // Warm every process (JIT, pools, cached flow version) so the figure does not depend on
  // which scenarios ran before it.
  const warmupFlowId = await deployment.createFlow(standard);
  await runLoad({
    url: `${deployment.base}/v1/webhooks/${warmupFlowId}/sync`,
    body: '{"a":1,"b":2}',
    connections: 1,
    amount: smoke ? 5 : 200,
  });
  const flowId = await deployment.createFlow(standard);
  const url = `${deployment.base}/v1/webhooks/${flowId}/sync`;
  const load = await runLoad({
    url,
    body: '{"a":1,"b":2}',
    connections: 1,
    amount: smoke ? 20 : 300,
  });
  emit({
    scenario: 'dispatch-idle',
    connections: 1,
    workers,
    requests: load.requests,
    p50_ms: load.p50_ms,
    p99_ms: load.p99_ms,
    ...(await dispatchLatency(deployment.sql, flowId)),
  });
}

/** Time for W workers to finish N runs that are already queued (accepted while paused). */
async function asyncDrain(deployment: Deployment) {
  const flowId = await deployment.createFlow(standard);
  await deployment.setWorkersPaused(true);
  let load: Awaited<ReturnType<typeof runLoad>>;
  try {
    load = await runLoad({
      url: `${deployment.base}/v1/webhooks/${flowId}`,
      body: '{"a":1,"b":2}',
      connections: Math.min(50, drainRuns),
      amount: drainRuns,
    });
  } finally {
    await deployment.setWorkersPaused(false);
  }
  const started = performance.now();
  const before = deployment.usage();
  await waitForDrain(deployment.sql, flowId, 300_000, 50);
  const seconds = (performance.now() - started) / 1000;
  const usage = cpuDelta(deployment, before);
  const counts = await runCounts(deployment.sql, flowId);
  emit({
    scenario: 'async-drain',
    connections: Math.min(50, drainRuns),
    workers,
    runs: drainRuns,
    accepted: load.ok_2xx,
    drain_s: Math.round(seconds * 100) / 100,
    runs_per_s: Math.round((drainRuns / seconds) * 10) / 10,
    ...usage,
    succeeded: counts.succeeded ?? 0,
  });
}

if (!values['no-build']) {
  execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: ['ignore', 'ignore', 'inherit'] });
}
// The console scenario runs embedded mode, a process of its own: no deployment needed for it.
if (scenarios.has('console')) {
  for (const figure of await consolePageTimes({
    samples: smoke ? 5 : 50,
    runs: smoke ? 1000 : 100_000,
  })) {
    emit(figure);
  }
  if (!values['no-write'] && !smoke) writeConsoleSection(figures);
  if (scenarios.size === 1) process.exit(0);
}
// Redis commands per run are counted on a redis-server and a deployment of their own.
if (scenarios.has('redis-commands')) {
  const options = {
    workers,
    runs: smoke ? 50 : 1000,
    connections,
    // One stalled-check interval (SLUICE_STALLED_AFTER_S's default), so every timer shows.
    idleSeconds: smoke ? 2 : 30,
    backlog: smoke ? 2000 : 20_000,
  };
  for (const figure of await redisCommandFigures(options)) emit(figure);
  if (scenarios.size === 1) process.exit(0);
}
const deployment = await startDeployment(workers, {
  profileDir: values.profile,
  queue,
  workerConcurrency,
});
try {
  const standardBody = '{"a":1,"b":2}';
  const httpBody = JSON.stringify({
    a: 1,
    stubUrl: deployment.stubUrl,
    items: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  });
  // The figures taken one at a time come first, on a quiet box: taken after the loads, they
  // moved by up to ±30% between runs of one commit, and read worse on both commits compared.
  if (scenarios.has('micro')) {
    emit({
      scenario: 'micro',
      ...(await startupFigures(deployment.env, startupSamples)),
      ...(await cachedStartupFigures(deployment.env, startupSamples)),
      ...(await engineFigures(standard, smoke ? 100 : 2000)),
      bundle_bytes: bundleBytes(),
    });
  }
  if (scenarios.has('dispatch-idle')) await idleDispatch(deployment);
  if (scenarios.has('sync')) {
    for (const c of connections) await syncScenario(deployment, 'sync', standard, standardBody, c);
  }
  if (scenarios.has('sync-respond-only')) {
    const c = connections.at(-1) ?? 10;
    await syncScenario(deployment, 'sync-respond-only', respondOnly, standardBody, c);
  }
  if (scenarios.has('async-accept')) for (const c of connections) await asyncAccept(deployment, c);
  if (scenarios.has('async-drain')) await asyncDrain(deployment);
  if (scenarios.has('sync-http-loop')) {
    await syncScenario(deployment, 'sync-http-loop', httpLoop, httpBody, connections.at(-1) ?? 10);
  }
  if (scenarios.has('sandbox-recovery')) {
    for (const figure of await sandboxRecovery(deployment)) emit(figure);
  }
  if (scenarios.has('recovery')) {
    for (const figure of await recoveryLatencies(deployment)) emit(figure);
  }
  if (scenarios.has('pruning')) {
    const options = { oldRuns: smoke ? 5000 : 300_000, durationS, connections: 10 };
    for (const figure of await pruningFigures(deployment, standard, options)) emit(figure);
  }
} finally {
  await deployment.close();
}
// A partial run (some scenarios) prints its figures but does not replace the full report, nor
// does a run of another shape than the deployed stack's (one flow per worker process).
if (!values['no-write'] && allScenarios && workerConcurrency === 1) {
  const settings = { workers, durationS, smoke };
  if (queue === 'sqs') writeSqsReport(figures, settings, { loadAtStart });
  else writeReports(figures, settings, { baseline: values.baseline, loadAtStart });
} else if (!values['no-write'] && !smoke && scenarios.has('recovery')) {
  writeRecoverySection(figures);
}
if (!values['no-write'] && !smoke && scenarios.has('pruning')) writePruningSection(figures);
