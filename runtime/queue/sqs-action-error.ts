/**
 * A failed SQS call, named by its action so that a missing IAM permission reads in the log as
 * "sqs:ChangeMessageVisibility ... AccessDenied" rather than as a bare SDK error.
 */
export class SqsActionError extends Error {
  readonly action: string;
  constructor(action: string, cause: unknown) {
    const reason = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    super(`sqs:${action} failed: ${reason}`, { cause });
    this.name = 'SqsActionError';
    this.action = action;
  }
}

/** Runs one SQS call, wrapping its failure in an SqsActionError that names the action. */
export async function sqsAction<T>(action: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw new SqsActionError(action, error);
  }
}
