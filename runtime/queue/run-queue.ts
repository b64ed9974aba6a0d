/** What a worker needs to start a run; everything else is in the run row (the outbox). */
export interface RunJob {
  runId: string;
  /** Reply channel of the APP instance waiting on a sync webhook, or null for async runs. */
  replyTo: string | null;
  /** Set by the queue driver when it enqueues: epoch milliseconds with sub-millisecond digits. */
  enqueuedAt?: number;
  /**
   * A copy of what the claim would return, carried by sync runs with a small trigger (a caller
   * is waiting): the worker starts the flow while its claim is in flight. The run row stays
   * the record; jobs made by the reconciler carry no copy and start after the claim.
   */
  start?: {
    flowVersionId: string;
    trigger: unknown;
    /**
     * The run's project, so a flow with no side effects can run and be recorded in one fenced
     * statement, with no claim first (see finishQueuedRun). Absent from older jobs.
     */
    projectId?: string;
  };
}

/** Wall-clock time with the sub-millisecond digits Date.now() drops. */
export const preciseNow = () => performance.timeOrigin + performance.now();

/** The job as a driver enqueues it: stamped now, for the worker's dispatch figure. */
export const stampedForEnqueue = (job: RunJob): RunJob => ({ ...job, enqueuedAt: preciseNow() });

export interface RunQueue {
  /** Idempotent per run: the job id is the run id, so a run never has two live jobs. */
  enqueue(job: RunJob): Promise<void>;
  /** The ids among `runIds` that have a live job: waiting, delayed or active. */
  liveJobIds(runIds: readonly string[]): Promise<Set<string>>;
  /**
   * For a queue whose running jobs are live while their worker's session holds them (SQS):
   * how long a live worker's hold may be missing (its session replaced, the hold not yet
   * taken back), so the reconciler waits this long before counting the worker as lost.
   * @default - 0: a running run without a live job is lost at once
   */
  readonly lostJobGraceMs?: number;
  /**
   * For a queue that cannot see its messages (SQS): the queued runs among `runIds` to leave
   * for a later pass, so that a backlog that is merely waiting is not re-sent every pass.
   */
  deferredResends?(runIds: readonly string[]): Set<string>;
  /** Enqueues again, first dropping a dead (failed or completed) job that holds the run id. */
  requeue(job: RunJob): Promise<void>;
  /**
   * The service `ping` checks, named as /v1/health/ready reports it; null for a queue that
   * lives in this process and has nothing to check.
   */
  readonly dependency: 'redis' | 'sqs' | null;
  ping(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * Runs one job. It throws UnknownRunError for a run its database does not know: the driver then
 * leaves the job for another consumer (with a delay) instead of acknowledging it.
 */
export type RunProcessor = (job: RunJob) => Promise<void>;

export interface RunConsumer {
  /** Stops taking jobs and resolves once the jobs in hand have finished. */
  close(): Promise<void>;
  /**
   * Drain deadline: stops taking jobs, puts the jobs in hand back at the head of the queue so
   * another worker takes them at once, and returns their run ids. Their flows still run here
   * until the process exits, which the caller does next.
   */
  handOver(): Promise<string[]>;
  /**
   * Publishes a sync reply over the consumer's own connection, for a driver whose replies and
   * jobs share a server (BullMQ: Redis), so that the reply and the job's completion go out
   * together. Drivers without one leave it out, and replies take the reply bus.
   */
  publishReply?(channel: string, message: string): Promise<void>;
}

export interface QueueDriver {
  readonly kind: 'bullmq' | 'sqs' | 'in-process';
  readonly queue: RunQueue;
  consume(processor: RunProcessor, concurrency: number): RunConsumer;
}

export const RUN_QUEUE_NAME = 'runs';
