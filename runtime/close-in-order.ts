import type { Logger } from 'pino';

/** A part of the process that shutdown closes, named for the log. */
export interface ClosingPart {
  name: string;
  close(): Promise<unknown> | unknown;
}

/**
 * Closes `parts` one after another, in the order given (the worker before the queue and the
 * database it finishes its runs with). A part that fails to close is logged and the rest still
 * close: one connection erroring at shutdown must neither keep the worker from draining nor end
 * the process on an unhandled rejection. Resolves with whether every part closed.
 */
export async function closeInOrder(
  parts: readonly ClosingPart[],
  logger: Logger,
): Promise<boolean> {
  let allClosed = true;
  for (const part of parts) {
    try {
      await part.close();
    } catch (error) {
      allClosed = false;
      logger.error({ err: error, part: part.name }, 'shutdown: could not close a part');
    }
  }
  return allClosed;
}
