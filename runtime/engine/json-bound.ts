import type { EngineLimits } from './engine-limits';
import { LimitExceededError } from './errors/limit-exceeded-error';
import { jsonCertainlyOver } from './json-size';

/** The most UTF-8 bytes of JSON a resolved value may take, and the limit that sets it. */
export interface JsonBound {
  readonly limit: 'maxRunLogBytes' | 'maxStepOutputBytes';
  readonly maxBytes: number;
}

/**
 * The bound on a step's resolved input: an http step's request (url, headers and body), a
 * branch's condition, a loop's items. Each is serialised whole, to be recorded in the run log
 * and, for a request, to be sent (the same JSON), while templates can repeat one value past any
 * size. The run log's cap (`SLUICE_MAX_RUN_LOG_MB`) is the largest JSON a run is sized to build,
 * and an input larger than the whole log could never be recorded, so it bounds every input.
 * A request body gets no limit of its own: its JSON is that same recorded string, and the
 * default cap (50 MiB) is twice the webhook payload limit, so forwarding a whole webhook body
 * still works.
 */
export function stepInputBound(limits: EngineLimits): JsonBound {
  return { limit: 'maxRunLogBytes', maxBytes: limits.maxRunLogBytes };
}

/** The bound on a respond step's response, which is its output: `maxStepOutputBytes`. */
export function stepOutputBound(limits: EngineLimits): JsonBound {
  return { limit: 'maxStepOutputBytes', maxBytes: limits.maxStepOutputBytes };
}

/**
 * Fails the step by name when `value`'s JSON certainly passes `bound`, judged without
 * serialising it (see jsonCertainlyOver), so nothing that large is ever built.
 */
export function assertJsonWithin(value: unknown, bound: JsonBound, what: string): void {
  if (jsonCertainlyOver(value, bound.maxBytes)) throw overBound(bound, what);
}

export function overBound(bound: JsonBound, what: string): LimitExceededError {
  return new LimitExceededError(
    bound.limit,
    `${what} is over ${bound.limit} (${bound.maxBytes}) before it is serialised`,
  );
}
