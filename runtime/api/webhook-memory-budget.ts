import { getHeapStatistics } from 'node:v8';
import { ApiError } from './errors';

/**
 * Heap and buffer bytes one byte of webhook body costs while its request is handled: the bytes
 * read, their text, the parsed value of a long string, and the JSON the INSERT sends.
 */
const BYTES_PER_BODY_BYTE = 4;
/**
 * What parsing builds per JSON value, at most: measured on Node 24, about 34 bytes per counted
 * value for an array of empty objects, 42 for the members of a wide object, 10 for numbers.
 */
const BYTES_PER_JSON_VALUE = 48;
/** The share of the heap webhook bodies in flight may hold; the rest serves everything else. */
const HEAP_SHARE = 0.5;

/** What handling a webhook body of `bodyBytes` with `jsonValues` values costs, at most. */
export const webhookBodyCost = (bodyBytes: number, jsonValues = 0) =>
  bodyBytes * BYTES_PER_BODY_BYTE + jsonValues * BYTES_PER_JSON_VALUE;

/** A webhook's share of the budget, from admission until its body is no longer held. */
export interface BodyMemoryHold {
  /** Sets the hold to `bytes`; throws 413 or 503 (the hold unchanged) when it cannot grow. */
  resize(bytes: number): void;
  release(): void;
}

/**
 * The memory all webhook bodies in flight on this APP may cost together. A 25 MiB body costs
 * about 100 MB while handled, and a dense one (`[{},{},…]`) over 500 MB; unbounded, a few at
 * once, or one dense one, ran the default APP task's heap out and killed it with every sync
 * caller it held. A body that does not fit beside those in flight is answered 503 with
 * Retry-After; one that could never fit, 413.
 */
export function createWebhookMemoryBudget(
  totalBytes = getHeapStatistics().heap_size_limit * HEAP_SHARE,
) {
  let held = 0;
  const refuse = (bytes: number, othersHold: number) => {
    if (bytes > totalBytes) {
      throw new ApiError(
        413,
        'payload_too_large',
        'the body would need more memory than this server gives one request (it is very large, or holds very many small values)',
      );
    }
    if (othersHold + bytes > totalBytes) {
      throw new ApiError(
        503,
        'overloaded',
        'the server is busy with other large webhook bodies; retry',
        undefined,
        { 'Retry-After': '1' },
      );
    }
  };
  return {
    /** Bytes held now by webhooks in flight. */
    get held() {
      return held;
    },
    /** Admits a webhook holding `bytes`; throws 413 or 503 when it cannot. */
    hold(bytes: number): BodyMemoryHold {
      let mine = 0;
      const hold: BodyMemoryHold = {
        resize(bytes) {
          if (bytes > mine) refuse(bytes, held - mine);
          held += bytes - mine;
          mine = bytes;
        },
        release() {
          hold.resize(0);
        },
      };
      hold.resize(bytes);
      return hold;
    },
  };
}
