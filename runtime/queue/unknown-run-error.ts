/**
 * A job names a run this worker's database does not know: another deployment shares the queue
 * (the same Redis and queue prefix, another database), or the run's row is gone. The processor
 * throws it after saying so; the driver leaves the job for a consumer that may own it instead of
 * acknowledging it.
 */
export class UnknownRunError extends Error {
  constructor(
    readonly runId: string,
    readonly queuePrefix: string,
  ) {
    super(`run ${runId} from queue ${queuePrefix} is unknown to this database`);
    this.name = 'UnknownRunError';
  }
}
