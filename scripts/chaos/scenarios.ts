import type { ChaosCluster } from './cluster';

/** One JSON line per scenario. lost, stuck and refused_ran must be 0. */
export interface ChaosLine {
  scenario: string;
  /** Webhooks answered 202: the runs Sluice promised to execute. */
  accepted: number;
  succeeded: number;
  /** Accepted runs that ended in a final status other than succeeded (e.g. worker_lost). */
  failed: number;
  /** Accepted runs with no row, or canceled. */
  lost: number;
  /** Accepted runs still queued or running when the scenario's settle time ran out. */
  stuck: number;
  /** Accepted runs whose side effect (the stub call) happened more than once: at-least-once. */
  duplicates: number;
  /** Seconds from the end of the fault until every accepted run had a final status. */
  recovery_s: number;
  /** Webhooks answered 503 (or not at all) during the fault: refused, never run. */
  refused: number;
  /** Refused webhooks whose run executed anyway: must be 0. */
  refused_ran: number;
}

export interface Scenario {
  name: string;
  runs: number;
  ratePerS: number;
  /** Breaks something while the load flows; resolves when the fault is over. */
  fault(cluster: ChaosCluster, load: LoadState): Promise<void>;
}

interface LoadState {
  flowId: string;
  done: boolean;
  accepted: Map<string, string>;
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** Sends `runs` async webhooks at about `ratePerS`, 32 at most in flight. */
async function submit(
  cluster: ChaosCluster,
  flowId: string,
  scenario: Scenario,
  state: LoadState,
): Promise<{ refused: string[] }> {
  const refused: string[] = [];
  const started = Date.now();
  let next = 0;
  const sender = async () => {
    for (;;) {
      const i = next++;
      if (i >= scenario.runs) return;
      const due = started + (i * 1000) / scenario.ratePerS;
      if (due > Date.now()) await sleep(due - Date.now());
      const seq = `${scenario.name}-${i}`;
      try {
        const res = await fetch(`${cluster.base}/v1/webhooks/${flowId}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ seq }),
          signal: AbortSignal.timeout(10_000),
        });
        const body = (await res.json()) as { runId?: string };
        if (res.status === 202 && body.runId !== undefined) state.accepted.set(body.runId, seq);
        else refused.push(seq);
      } catch {
        refused.push(seq);
      }
    }
  };
  await Promise.all(Array.from({ length: 32 }, sender));
  state.done = true;
  return { refused };
}

const unfinished = (statuses: Map<string, string>, ids: Iterable<string>) => {
  let n = 0;
  for (const id of ids) {
    const status = statuses.get(id);
    if (status === 'queued' || status === 'running') n++;
  }
  return n;
};

export async function runScenario(
  cluster: ChaosCluster,
  scenario: Scenario,
  settleTimeoutMs: number,
): Promise<ChaosLine> {
  const flowId = await cluster.createFlow(`chaos-${scenario.name}`);
  const state: LoadState = { flowId, done: false, accepted: new Map() };
  const [{ refused }] = await Promise.all([
    submit(cluster, flowId, scenario, state),
    scenario.fault(cluster, state),
  ]);
  const faultEnded = Date.now();

  let statuses = new Map<string, string>();
  let settledAt: number | null = null;
  const deadline = faultEnded + settleTimeoutMs;
  while (Date.now() < deadline) {
    statuses = await cluster.runStatuses(flowId).catch(() => statuses);
    if (statuses.size > 0 && unfinished(statuses, state.accepted.keys()) === 0) {
      settledAt = Date.now();
      break;
    }
    await sleep(200);
  }

  const line: ChaosLine = {
    scenario: scenario.name,
    accepted: state.accepted.size,
    succeeded: 0,
    failed: 0,
    lost: 0,
    stuck: 0,
    duplicates: 0,
    recovery_s: settledAt === null ? -1 : Math.round((settledAt - faultEnded) / 100) / 10,
    refused: refused.length,
    refused_ran: refused.filter((seq) => (cluster.hits.get(seq) ?? 0) > 0).length,
  };
  for (const [runId, seq] of state.accepted) {
    const status = statuses.get(runId);
    if (status === undefined || status === 'canceled') line.lost++;
    else if (status === 'queued' || status === 'running') line.stuck++;
    else if (status === 'succeeded') line.succeeded++;
    else line.failed++;
    if ((cluster.hits.get(seq) ?? 0) > 1) line.duplicates++;
  }
  return line;
}

export interface ScenarioCounts {
  workerKillRuns: number;
  runs: number;
  ratePerS: number;
  s3OutageMs: number;
  /** How long the SQS server stays dead in sqs-outage. */
  sqsOutageMs: number;
}

/**
 * Worker kill, the queue's own fault (redis-restart for bullmq, sqs-outage for sqs),
 * PostgreSQL restart, Spot drain and slow S3, in that order.
 */
export function scenarios(counts: ScenarioCounts, queue: 'bullmq' | 'sqs' = 'bullmq'): Scenario[] {
  const midway = (runs: number) => (0.4 * runs * 1000) / counts.ratePerS;
  return [
    {
      name: 'worker-kill',
      runs: counts.workerKillRuns,
      ratePerS: counts.ratePerS * 2,
      // SIGKILL a random worker every 2 s (and start a replacement) until the backlog is gone.
      async fault(cluster, load) {
        for (;;) {
          await sleep(2000);
          const statuses = await cluster.runStatuses(load.flowId);
          const queued = [...statuses.values()].filter((s) => s === 'queued').length;
          if (load.done && queued === 0) return;
          const victim = Math.floor(Math.random() * cluster.workers.length);
          const [killed] = cluster.workers.splice(victim, 1);
          await killed?.stop('SIGKILL');
          cluster.workers.push(await cluster.startWorker());
        }
      },
    },
    queue === 'bullmq'
      ? {
          name: 'redis-restart',
          runs: counts.runs,
          // Faster than the workers drain, so a backlog of jobs is in Redis when it dies.
          ratePerS: counts.ratePerS * 3,
          async fault(cluster) {
            await sleep(midway(counts.runs) / 3);
            await cluster.redis?.stop(); // no persistence: every job is gone
            await sleep(1000);
            await cluster.redis?.start();
          },
        }
      : {
          name: 'sqs-outage',
          runs: counts.runs,
          ratePerS: counts.ratePerS,
          // The SQS server is killed mid-load and comes back with the messages it had, as SQS
          // does after an outage; accepts in between are refused, runs in flight lose their
          // visibility heartbeat.
          async fault(cluster) {
            await sleep(midway(counts.runs) / 2);
            await cluster.sqs?.kill();
            await sleep(counts.sqsOutageMs);
            await cluster.sqs?.start();
          },
        },
    {
      name: 'postgres-restart',
      runs: counts.runs,
      ratePerS: counts.ratePerS,
      async fault(cluster) {
        await sleep(midway(counts.runs));
        await cluster.postgres.stop();
        await sleep(2000);
        await cluster.postgres.start();
      },
    },
    {
      name: 'spot-drain',
      runs: counts.runs,
      ratePerS: counts.ratePerS,
      async fault(cluster) {
        await sleep(midway(counts.runs));
        const draining = cluster.workers.splice(0);
        await Promise.all(draining.map((worker) => worker.stop('SIGTERM')));
        cluster.workers.push(...(await Promise.all(draining.map(() => cluster.startWorker()))));
      },
    },
    {
      name: 'slow-s3',
      runs: counts.runs,
      ratePerS: counts.ratePerS,
      async fault(cluster) {
        await sleep(midway(counts.runs) / 2);
        cluster.s3.pause();
        await sleep(counts.s3OutageMs);
        cluster.s3.resume();
      },
    },
  ];
}
