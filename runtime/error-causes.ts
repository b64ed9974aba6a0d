/** How many links of a cause chain are looked at; real chains are two or three long. */
const MAX_CAUSE_DEPTH = 8;

/**
 * `error` and the errors on its `cause` chain, outermost first (drizzle wraps the driver's
 * error, and ours wrap both). Stops at the first link that is not an Error.
 */
export function* errorCauses(error: unknown): Generator<Error & Record<string, unknown>> {
  let current: unknown = error;
  for (let depth = 0; depth <= MAX_CAUSE_DEPTH && current instanceof Error; depth++) {
    yield current as Error & Record<string, unknown>;
    current = current.cause;
  }
}
