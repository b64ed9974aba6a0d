/** An SQS message that is not a run job Sluice wrote: it is logged and deleted, never retried. */
export class MalformedRunMessageError extends Error {
  constructor(reason: string) {
    super(`malformed run message: ${reason}`);
    this.name = 'MalformedRunMessageError';
  }
}
