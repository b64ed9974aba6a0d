export interface NaturalBatcherOptions<I> {
  /** Sends one batch; answers one result per item, in order. */
  send(items: I[]): Promise<unknown[]>;
  /** Batches sent at the same time; more items wait and go together in the next batch. */
  maxInFlight: number;
  maxItems: number;
  /** A batch stops growing past this weight; one item heavier than it goes alone. */
  maxWeight?: number;
  weight?(item: I): number;
  /**
   * Whether a failed batch should be sent again one item at a time, so that an item the
   * receiver refuses fails only itself and the rest go through. Without it, a failed batch
   * fails every item in it (right for an outage, when each alone would fail too).
   */
  retryAlone?(error: unknown): boolean;
  /**
   * Whether a failed batch also fails the items waiting for a batch to come back: an outage,
   * which each would otherwise meet only after a full wait of its own behind the batches out.
   */
  failsWaiting?(error: unknown): boolean;
}

interface Waiting<I> {
  item: I;
  resolve(result: unknown): void;
  reject(error: unknown): void;
}

/**
 * Natural batching (group commit): an item is sent at once while fewer than `maxInFlight`
 * batches are out, so an idle system adds no delay; under load, items that arrive while the
 * batches are out are sent together, one round trip and one commit for many requests.
 * A failed batch fails every item in it, unless `retryAlone` says to send each item again alone,
 * and with `failsWaiting` the items still waiting too.
 */
export function naturalBatcher<I, O>(options: NaturalBatcherOptions<I>): (item: I) => Promise<O> {
  const waiting: Waiting<I>[] = [];
  let inFlight = 0;
  const weigh = options.weight ?? (() => 0);
  const maxWeight = options.maxWeight ?? Number.POSITIVE_INFINITY;

  const takeBatch = (): Waiting<I>[] => {
    let weight = 0;
    let count = 0;
    while (count < waiting.length && count < options.maxItems) {
      const next = weigh((waiting[count] as Waiting<I>).item);
      if (count > 0 && weight + next > maxWeight) break;
      weight += next;
      count++;
    }
    return waiting.splice(0, count);
  };

  /** Settles each entry from its own one-item batch; resolves when all have settled. */
  const sendEachAlone = (batch: Waiting<I>[]) =>
    Promise.allSettled(
      batch.map((entry) =>
        options.send([entry.item]).then(
          (results) => entry.resolve(results[0]),
          (error: unknown) => entry.reject(error),
        ),
      ),
    );

  const pump = () => {
    while (inFlight < options.maxInFlight && waiting.length > 0) {
      const batch = takeBatch();
      inFlight++;
      options
        .send(batch.map((entry) => entry.item))
        .then(
          (results) => {
            batch.forEach((entry, i) => {
              entry.resolve(results[i]);
            });
          },
          (error: unknown) => {
            if (batch.length > 1 && options.retryAlone?.(error)) return sendEachAlone(batch);
            for (const entry of batch) entry.reject(error);
            if (options.failsWaiting?.(error)) {
              for (const entry of waiting.splice(0)) entry.reject(error);
            }
          },
        )
        .finally(() => {
          inFlight--;
          pump();
        });
    }
  };

  return (item) =>
    new Promise<O>((resolve, reject) => {
      waiting.push({ item, resolve: resolve as (result: unknown) => void, reject });
      pump();
    });
}
