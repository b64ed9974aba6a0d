/**
 * The worker scaling policy as plain numbers: lib/constructs/queue-scaling.ts deploys it and
 * scripts/simulate-scaling.ts simulates it, so the policy in code is the one simulated.
 * No imports, no side effects.
 */

/** One step of the burst policy: when QueueWaiting >= `waitingAtLeast`, add `addWorkers`. */
export interface ScalingStep {
  readonly waitingAtLeast: number;
  readonly addWorkers: number;
}

/** The period of the depth metrics and of the burst alarm (high resolution). */
export const METRIC_PERIOD_SECONDS = 10;

/** Target tracking: (waiting + active) / workers, one slot per waiting or active flow. */
export const DEFAULT_BACKLOG_PER_WORKER_TARGET = 1.0;

/** Burst alarm: one 10-second datapoint of QueueWaiting >= 1 invokes the step policy. */
export const BURST_ALARM_EVALUATION_PERIODS = 1;
export const BURST_ALARM_THRESHOLD = 1;

/**
 * Burst steps, on the waiting count in one 10 s datapoint. Steps are sized so one invocation
 * roughly covers what waits; target tracking then trims to the exact need.
 */
export const BURST_STEPS: readonly ScalingStep[] = [
  { waitingAtLeast: 1, addWorkers: 1 },
  { waitingAtLeast: 3, addWorkers: 3 },
  { waitingAtLeast: 10, addWorkers: 10 },
  { waitingAtLeast: 30, addWorkers: 30 },
];

/**
 * Step policy cooldown. Application Auto Scaling counts capacity added during a scale-out
 * cooldown towards the next step, so a still-growing queue adds only the difference; 30 s is
 * about one task start, so a second burst step waits for the first tasks to begin taking jobs.
 */
export const BURST_COOLDOWN_SECONDS = 30;

/** Target tracking scale-out cooldown: it is the slow path; the burst policy leads. */
export const TARGET_SCALE_OUT_COOLDOWN_SECONDS = 60;

/**
 * Target tracking scale-in cooldown. Scale-in never kills a running flow (workers hold ECS task
 * protection while busy), so this only damps flapping between bursts.
 */
export const TARGET_SCALE_IN_COOLDOWN_SECONDS = 300;

/**
 * How target tracking's own alarms judge the metric (fixed by AWS for 1-minute metrics): scale
 * out after 3 of 3 one-minute datapoints above target, scale in after 15 of 15 below 90% of it.
 */
export const TARGET_TRACKING_SCALE_OUT_DATAPOINTS = 3;
export const TARGET_TRACKING_SCALE_IN_DATAPOINTS = 15;

/** Time from a desired-count change to a Fargate task taking jobs (image pull, boot). */
export const DEFAULT_TASK_START_SECONDS = 45;

/** The workers a burst step adds for `waiting` jobs (0 below the alarm threshold). */
export function burstStepFor(waiting: number): number {
  let add = 0;
  for (const step of BURST_STEPS) if (waiting >= step.waitingAtLeast) add = step.addWorkers;
  return add;
}

/**
 * SQS publishes its queue metrics (AWS/SQS) once a minute, and they may lag a little more
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html):
 * the serverless profile's AWS-side policies see the queue through 1-minute datapoints.
 */
export const SQS_METRIC_PERIOD_SECONDS = 60;

/**
 * The serverless profile's step scaling from 0 on ApproximateNumberOfMessagesVisible: one
 * 1-minute datapoint with a visible message invokes BURST_STEPS.
 */
export const SQS_BURST_ALARM_EVALUATION_PERIODS = 1;
