import {
  BURST_ALARM_EVALUATION_PERIODS,
  BURST_ALARM_THRESHOLD,
  BURST_COOLDOWN_SECONDS,
  burstStepFor,
  DEFAULT_BACKLOG_PER_WORKER_TARGET,
  DEFAULT_TASK_START_SECONDS,
  METRIC_PERIOD_SECONDS,
  SQS_BURST_ALARM_EVALUATION_PERIODS,
  SQS_METRIC_PERIOD_SECONDS,
  TARGET_SCALE_IN_COOLDOWN_SECONDS,
  TARGET_SCALE_OUT_COOLDOWN_SECONDS,
  TARGET_TRACKING_SCALE_IN_DATAPOINTS,
  TARGET_TRACKING_SCALE_OUT_DATAPOINTS,
} from '../../lib/scaling-policy';
import type { ArrivalProfile } from './profiles';

export const POLICIES = ['deployed', 'cpu-target-tracking', 'static-peak'] as const;
/**
 * The serverless profile's policies: AWS/SQS metrics alone (the APP tier down or not
 * publishing), and with the APP's 10-second QueueWaiting burst alarm as the fast path.
 */
export const SERVERLESS_POLICIES = [
  'sqs-metrics-only',
  'sqs-metrics+app-fast-path',
  'cpu-target-tracking',
  'static-peak',
] as const;
export type PolicyName = (typeof POLICIES)[number] | (typeof SERVERLESS_POLICIES)[number];

export interface SimulationSettings {
  flowDurationS: number;
  metricPeriodS: number;
  alarmEvaluationPeriods: number;
  taskStartS: number;
  burstCooldownS: number;
  targetScaleOutCooldownS: number;
  targetScaleInCooldownS: number;
  backlogPerWorkerTarget: number;
  /** The peers' default: ECS service CPU target tracking at this average utilisation. */
  cpuTargetPercent: number;
  minWorkers: number;
  maxWorkers: number;
  /**
   * Seconds from the end of an SQS metric's 1-minute period to its datapoint being in
   * CloudWatch: SQS pushes its metrics once a minute, so a datapoint arrives after its period.
   */
  sqsMetricDelayS: number;
}

/** Every default is the constant the CDK construct deploys (lib/scaling-policy.ts). */
export const DEFAULT_SETTINGS: SimulationSettings = {
  flowDurationS: 20,
  metricPeriodS: METRIC_PERIOD_SECONDS,
  alarmEvaluationPeriods: BURST_ALARM_EVALUATION_PERIODS,
  taskStartS: DEFAULT_TASK_START_SECONDS,
  burstCooldownS: BURST_COOLDOWN_SECONDS,
  targetScaleOutCooldownS: TARGET_SCALE_OUT_COOLDOWN_SECONDS,
  targetScaleInCooldownS: TARGET_SCALE_IN_COOLDOWN_SECONDS,
  backlogPerWorkerTarget: DEFAULT_BACKLOG_PER_WORKER_TARGET,
  cpuTargetPercent: 70,
  minWorkers: 1,
  maxWorkers: 50,
  sqsMetricDelayS: 60,
};

export interface SimulationResult {
  policy: PolicyName;
  flows: number;
  p50WaitS: number;
  p95WaitS: number;
  maxWaitS: number;
  peakWorkers: number;
  /** Task-hours billed over the profile's horizon, starting tasks included. */
  workerHours: number;
  /** Flows stopped mid-run by scale-in (and run again). */
  flowsKilled: number;
}

interface Task {
  readyAt: number;
  busyUntil: number;
  startedAt: number;
  /** Arrival time of the flow it runs, for a kill to put it back. */
  running: number | null;
}

/**
 * A discrete-time model, one step per second, of one profile under one policy:
 * arrivals join a FIFO queue; a ready idle worker takes the oldest; the depth metrics are
 * sampled every metric period; the policy sets the desired count; new tasks take
 * `taskStartS` to become ready. Target tracking follows AWS's fixed alarms: 1-minute
 * datapoints, 3 above target to scale out, 15 below 90% of it to scale in, new capacity
 * ceil(capacity × metric / target). Under the deployed policy busy workers are scale-in
 * protected; under CPU tracking scale-in stops the newest tasks, busy or not.
 */
export function simulate(
  profile: ArrivalProfile,
  policy: PolicyName,
  settings: SimulationSettings = DEFAULT_SETTINGS,
): SimulationResult {
  const s = settings;
  const queue: number[] = [];
  const waits: number[] = [];
  const tasks: Task[] = [];
  const newTask = (t: number, readyAt = t + s.taskStartS): Task => ({
    readyAt,
    busyUntil: 0,
    startedAt: 0,
    running: null,
  });
  let desired = policy === 'static-peak' ? s.maxWorkers : s.minWorkers;
  for (let i = 0; i < desired; i++) tasks.push(newTask(0, 0));

  let owed = 0;
  let arrived = 0;
  let workerSeconds = 0;
  let peakWorkers = tasks.length;
  let flowsKilled = 0;
  let cursor = 0;
  const samples: { backlogPerWorker: number; cpu: number | null }[] = [];
  const minuteDatapoints: (number | null)[] = [];
  let scaleOutAllowedAt = 0;
  let scaleInAllowedAt = 0;

  const trackTarget = (metric: number | null, target: number, t: number) => {
    minuteDatapoints.push(metric);
    const last = (n: number) => minuteDatapoints.slice(-n);
    const above = last(TARGET_TRACKING_SCALE_OUT_DATAPOINTS);
    const below = last(TARGET_TRACKING_SCALE_IN_DATAPOINTS);
    if (metric === null) return;
    const wanted = Math.ceil((desired * metric) / target);
    if (
      above.length === TARGET_TRACKING_SCALE_OUT_DATAPOINTS &&
      above.every((m) => m !== null && m > target) &&
      t >= scaleOutAllowedAt &&
      wanted > desired
    ) {
      desired = Math.min(s.maxWorkers, wanted);
      scaleOutAllowedAt = t + s.targetScaleOutCooldownS;
    } else if (
      below.length === TARGET_TRACKING_SCALE_IN_DATAPOINTS &&
      below.every((m) => m !== null && m < 0.9 * target) &&
      t >= scaleInAllowedAt &&
      wanted < desired
    ) {
      desired = Math.max(s.minWorkers, wanted);
      scaleInAllowedAt = t + s.targetScaleInCooldownS;
    }
  };

  /** A step policy on one alarm: its own datapoints and cooldown, as in Application Auto Scaling. */
  const stepPolicy = (evaluationPeriods: number) => {
    const datapoints: number[] = [];
    let cooldownUntil = -1;
    let base = 0;
    return (waiting: number, t: number) => {
      datapoints.push(waiting);
      const recent = datapoints.slice(-evaluationPeriods);
      if (recent.length < evaluationPeriods || !recent.every((w) => w >= BURST_ALARM_THRESHOLD)) {
        return;
      }
      const step = burstStepFor(waiting);
      // During a cooldown only the part of a bigger step beyond the last one is added.
      if (t < cooldownUntil) {
        desired = Math.max(desired, Math.min(s.maxWorkers, base + step));
        return;
      }
      base = desired;
      desired = Math.min(s.maxWorkers, desired + step);
      cooldownUntil = t + s.burstCooldownS;
    };
  };
  const burst = stepPolicy(s.alarmEvaluationPeriods);
  const sqsStep = stepPolicy(SQS_BURST_ALARM_EVALUATION_PERIODS);
  const serverless = policy === 'sqs-metrics-only' || policy === 'sqs-metrics+app-fast-path';
  /** SQS datapoints (visible, in flight, running tasks) waiting to reach CloudWatch. */
  const sqsPending: { availableAt: number; visible: number; inflight: number; tasks: number }[] =
    [];

  for (let t = 0; ; t++) {
    const arriving = t < profile.horizonS;
    if (!arriving && queue.length === 0 && tasks.every((task) => task.busyUntil <= t)) break;
    if (arriving) {
      owed += profile.rate(t);
      const n = Math.floor(owed + 1e-9);
      owed -= n;
      arrived += n;
      for (let i = 0; i < n; i++) queue.push(t);
    }
    for (const task of tasks) if (task.running !== null && task.busyUntil <= t) task.running = null;
    // Idle workers poll in turn (round robin), as BullMQ workers blocking on the same list do.
    const start = cursor;
    for (let k = 0; k < tasks.length && queue.length > 0; k++) {
      const index = (start + k) % tasks.length;
      const task = tasks[index] as Task;
      if (task.running === null && task.readyAt <= t) {
        cursor = index + 1;
        const arrival = queue.shift() as number;
        waits.push(t - arrival);
        task.running = arrival;
        task.startedAt = t;
        task.busyUntil = t + s.flowDurationS;
      }
    }

    if (serverless) {
      if (t % SQS_METRIC_PERIOD_SECONDS === 0 && t > 0) {
        const ready = tasks.filter((task) => task.readyAt <= t);
        sqsPending.push({
          availableAt: t + s.sqsMetricDelayS,
          visible: queue.length,
          inflight: ready.filter((task) => task.running !== null).length,
          tasks: ready.length,
        });
      }
      while (sqsPending.length > 0 && (sqsPending[0]?.availableAt ?? Infinity) <= t) {
        const point = sqsPending.shift() as (typeof sqsPending)[number];
        sqsStep(point.visible, t);
        // No running task: the math has no denominator and no datapoint, as in CloudWatch.
        trackTarget(
          point.tasks === 0 ? null : (point.visible + point.inflight) / point.tasks,
          s.backlogPerWorkerTarget,
          t,
        );
      }
      if (policy === 'sqs-metrics+app-fast-path' && t % s.metricPeriodS === 0) {
        burst(queue.length, t);
      }
    } else if (policy !== 'static-peak' && t % s.metricPeriodS === 0) {
      const ready = tasks.filter((task) => task.readyAt <= t);
      const busy = ready.filter((task) => task.running !== null).length;
      samples.push({
        backlogPerWorker: (queue.length + busy) / Math.max(ready.length, 1),
        cpu: ready.length === 0 ? null : (100 * busy) / ready.length,
      });
      if (policy === 'deployed') burst(queue.length, t);
      if (t % 60 === 0 && t > 0) {
        const minute = samples.slice(-Math.round(60 / s.metricPeriodS));
        if (policy === 'deployed') {
          const mean = minute.reduce((sum, x) => sum + x.backlogPerWorker, 0) / minute.length;
          trackTarget(mean, s.backlogPerWorkerTarget, t);
        } else {
          const cpus = minute.flatMap((x) => (x.cpu === null ? [] : [x.cpu]));
          const mean = cpus.length === 0 ? null : cpus.reduce((a, b) => a + b, 0) / cpus.length;
          trackTarget(mean, s.cpuTargetPercent, t);
        }
      }
    }

    while (tasks.length < desired) tasks.push(newTask(t));
    if (tasks.length > desired) {
      // Tasks still starting go first. Protected (deployed): then idle ones, never busy ones.
      // Unprotected: ECS does not know which task is busy, so the newest go, busy or not.
      const protectedTasks = policy === 'deployed' || serverless;
      const order = tasks
        .map((task, index) => ({ task, index }))
        .sort(
          (a, b) =>
            rank(a.task, t, protectedTasks) - rank(b.task, t, protectedTasks) || b.index - a.index,
        );
      for (const { task } of order) {
        if (tasks.length <= desired) break;
        if (task.running !== null && protectedTasks) continue;
        if (task.running !== null && task.busyUntil > t) {
          // The flow runs again from the start: its wait is counted at its next start.
          flowsKilled++;
          waits.splice(waits.indexOf(task.startedAt - task.running), 1);
          queue.unshift(task.running);
        }
        tasks.splice(tasks.indexOf(task), 1);
      }
    }
    if (t < profile.horizonS) workerSeconds += tasks.length;
    peakWorkers = Math.max(peakWorkers, tasks.length);
  }

  const sorted = [...waits].sort((a, b) => a - b);
  const percentile = (p: number) => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? 0;
  return {
    policy,
    flows: arrived,
    p50WaitS: percentile(0.5),
    p95WaitS: percentile(0.95),
    maxWaitS: sorted.at(-1) ?? 0,
    peakWorkers,
    workerHours: Math.round((workerSeconds / 3600) * 100) / 100,
    flowsKilled,
  };
}

function rank(task: Task, t: number, busyLast: boolean): number {
  if (task.readyAt > t) return 0;
  return busyLast && task.running !== null ? 2 : 1;
}

/** The README table: one row per policy. */
export function renderTable(profile: ArrivalProfile, results: SimulationResult[]): string {
  const header = `| policy (${profile.name}) | flows | p50 wait (s) | p95 wait (s) | max wait (s) | peak workers | worker-hours | flows killed by scale-in |`;
  const rule = '|---|---:|---:|---:|---:|---:|---:|---:|';
  const rows = results.map(
    (r) =>
      `| ${r.policy} | ${r.flows} | ${r.p50WaitS} | ${r.p95WaitS} | ${r.maxWaitS} | ${r.peakWorkers} | ${r.workerHours.toFixed(2)} | ${r.flowsKilled} |`,
  );
  return [header, rule, ...rows].join('\n');
}
