import { once } from 'node:events';
import type { ChaosCluster } from './cluster';

/**
 * One JSON line per scenario. fault_hits must be above 0 (else the fault did not happen and
 * nothing was tested); lost, stuck and refused_ran must be 0.
 */
export interface ChaosLine {
  scenario: string;
  /**
   * Evidence that the fault took effect, seen from outside the injector: runs that needed a
   * second attempt (worker-kill), webhooks answered 503 while the dependency was down
   * (redis-restart, postgres-restart), side effects in progress when every worker got SIGTERM
   * (spot-drain), connections to S3 left unanswered (slow-s3).
   */
  fault_hits: number;
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
  /** How many times the fault observably hit, judged once the runs have settled. */
  faultHits(seen: FaultSeen): number;
}

interface LoadState {
  flowId: string;
  done: boolean;
  accepted: Map<string, string>;
  /** When each webhook answered 503 was sent. */
  unavailableAt: number[];
  /** The dependency outage, as the fault recorded it. */
  outage?: { from: number; until: number };
  /** Side effects in progress at the instant the fault struck (spot-drain). */
  inFlightAtFault: number;
}

interface FaultSeen {
  load: LoadState;
  /** Every run of the scenario's flow after settling. */
  rows: Map<string, { status: string; attempt: number }>;
  cluster: ChaosCluster;
}

/** 503s to webhooks sent while the dependency was down. */
const refusedDuringOutage = ({ load }: FaultSeen) =>
  load.unavailableAt.filter(
    (at) => load.outage !== undefined && at >= load.outage.from && at <= load.outage.until,
  ).length;

/**
 * Polls until `ready()` holds, then strikes in the same tick; false if it never held within
 * `timeoutMs`. Without it a fault meant "mid-run" may land between runs and test nothing.
 */
async function strikeWhen(ready: () => boolean, strike: () => void, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (Date.now() > deadline) return false;
    await new Promise((done) => setImmediate(done));
  }
  strike();
  return true;
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
      const sentAt = Date.now();
      try {
        const res = await fetch(`${cluster.base}/v1/webhooks/${flowId}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          // Every other run's log outgrows SLUICE_INLINE_LOG_MAX_BYTES (see cluster.ts), so both
          // homes of a run log, the run row and S3, take each fault.
          body: JSON.stringify(i % 2 === 1 ? { seq, pad: 'x'.repeat(4096) } : { seq }),
          signal: AbortSignal.timeout(10_000),
        });
        const body = (await res.json()) as { runId?: string };
        if (res.status === 202 && body.runId !== undefined) state.accepted.set(body.runId, seq);
        else refused.push(seq);
        if (res.status === 503 && res.headers.get('retry-after') !== null) {
          state.unavailableAt.push(sentAt);
        }
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
  const state: LoadState = {
    flowId,
    done: false,
    accepted: new Map(),
    unavailableAt: [],
    inFlightAtFault: 0,
  };
  const [{ refused }] = await Promise.all([
    submit(cluster, flowId, scenario, state),
    scenario.fault(cluster, state),
  ]);
  const faultEnded = Date.now();

  let rows = new Map<string, { status: string; attempt: number }>();
  let statuses = new Map<string, string>();
  let settledAt: number | null = null;
  const deadline = faultEnded + settleTimeoutMs;
  while (Date.now() < deadline) {
    rows = await cluster.runAttempts(flowId).catch(() => rows);
    statuses = new Map([...rows].map(([id, row]) => [id, row.status]));
    if (statuses.size > 0 && unfinished(statuses, state.accepted.keys()) === 0) {
      settledAt = Date.now();
      break;
    }
    await sleep(200);
  }

  const line: ChaosLine = {
    scenario: scenario.name,
    fault_hits: scenario.faultHits({ load: state, rows, cluster }),
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
      // From the first accepted run, and then every 2 s until the backlog is gone: SIGKILL a
      // random worker while every worker is inside a run's HTTP step (so the victim dies
      // mid-flow), and start a replacement. The first strike comes at once: a small run's
      // backlog drains in a few seconds, and a strike that waited could find no flow to break.
      async fault(cluster, load) {
        while (load.accepted.size === 0 && !load.done) await sleep(10);
        let landed = false;
        for (;;) {
          // After a strike, the next in 2 s; after a miss, try again at once.
          if (landed) await sleep(2000);
          const statuses = await cluster.runStatuses(load.flowId);
          const queued = [...statuses.values()].filter((s) => s === 'queued').length;
          if (load.done && queued === 0) return;
          const victim = Math.floor(Math.random() * cluster.workers.length);
          const [killed] = cluster.workers.splice(victim, 1);
          if (killed === undefined) continue;
          landed = await strikeWhen(
            () => cluster.stubInFlight() >= cluster.workers.length + 1,
            () => killed.child.kill('SIGKILL'),
            2000,
          );
          if (!landed) {
            // No moment with every worker mid-flow: spare this one rather than kill it idle.
            cluster.workers.push(killed);
            continue;
          }
          await killed.stop('SIGKILL');
          cluster.workers.push(await cluster.startWorker());
        }
      },
      // A run whose worker died mid-flow is claimed again (attempt 2) or fails worker_lost.
      faultHits: ({ load, rows }) =>
        [...load.accepted.keys()].filter((id) => (rows.get(id)?.attempt ?? 0) >= 2).length,
    },
    queue === 'bullmq'
      ? {
          name: 'redis-restart',
          runs: counts.runs,
          // Faster than the workers drain, so a backlog of jobs is in Redis when it dies.
          ratePerS: counts.ratePerS * 3,
          async fault(cluster, load) {
            await sleep(midway(counts.runs) / 3);
            const from = Date.now();
            await cluster.redis?.stop(); // no persistence: every job is gone
            await sleep(1000);
            await cluster.redis?.start();
            load.outage = { from, until: Date.now() };
          },
          faultHits: refusedDuringOutage,
        }
      : {
          name: 'sqs-outage',
          runs: counts.runs,
          ratePerS: counts.ratePerS,
          // The SQS server is killed mid-load and comes back with the messages it had, as SQS
          // does after an outage; accepts in between are refused, runs in flight lose their
          // visibility heartbeat.
          async fault(cluster, load) {
            await sleep(midway(counts.runs) / 2);
            const from = Date.now();
            await cluster.sqs?.kill();
            await sleep(counts.sqsOutageMs);
            await cluster.sqs?.start();
            load.outage = { from, until: Date.now() };
          },
          faultHits: refusedDuringOutage,
        },
    {
      name: 'postgres-restart',
      runs: counts.runs,
      ratePerS: counts.ratePerS,
      async fault(cluster, load) {
        await sleep(midway(counts.runs));
        const from = Date.now();
        await cluster.postgres.stop();
        await sleep(2000);
        await cluster.postgres.start();
        load.outage = { from, until: Date.now() };
      },
      faultHits: refusedDuringOutage,
    },
    {
      name: 'spot-drain',
      runs: counts.runs,
      ratePerS: counts.ratePerS,
      // SIGTERM every worker at an instant when a run's side effect is in progress, so at least
      // one worker drains with a flow in hand (there are no other workers to run it).
      async fault(cluster, load) {
        await sleep(midway(counts.runs));
        const draining = cluster.workers.splice(0);
        await strikeWhen(
          () => cluster.stubInFlight() > 0,
          () => {
            load.inFlightAtFault = cluster.stubInFlight();
            for (const worker of draining) worker.child.kill('SIGTERM');
          },
          5000,
        );
        await Promise.all(draining.map((worker) => worker.stop('SIGTERM')));
        // 'exit' can come before the last lines: read each worker's stdout to its end.
        await Promise.all(
          draining.map(({ child }) =>
            child.stdout === null || child.stdout.closed ? null : once(child.stdout, 'close'),
          ),
        );
        // Only a drain that really happened counts: each worker logged its SIGTERM and stopped.
        const drained = draining.filter((worker) => {
          const output = worker.output();
          return output.includes('"signal":"SIGTERM"') && output.includes('"msg":"stopped"');
        });
        if (drained.length < draining.length) load.inFlightAtFault = 0;
        cluster.workers.push(...(await Promise.all(draining.map(() => cluster.startWorker()))));
      },
      faultHits: ({ load }) => load.inFlightAtFault,
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
      // Clients (the run log writer's PUTs) that found S3 unreachable during the outage.
      faultHits: ({ cluster }) => cluster.s3.blackholed,
    },
  ];
}
