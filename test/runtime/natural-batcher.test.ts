import { describe, expect, it } from 'vitest';
import { naturalBatcher } from '../../runtime/natural-batcher';

/** A send whose batches stay out until released, recording what each batch held. */
function controlledSend() {
  const batches: number[][] = [];
  const releases: (() => void)[] = [];
  const send = (items: number[]) => {
    batches.push(items);
    return new Promise<number[]>((resolve) => {
      releases.push(() => resolve(items.map((n) => n * 10)));
    });
  };
  return { batches, send, releaseNext: () => releases.shift()?.() };
}

describe('naturalBatcher', () => {
  it('sends at once while batches are free, and groups what arrives meanwhile', async () => {
    const { batches, send, releaseNext } = controlledSend();
    const submit = naturalBatcher<number, number>({ send, maxInFlight: 1, maxItems: 10 });
    const first = submit(1);
    expect(batches).toEqual([[1]]); // no waiting for company when idle
    const rest = [submit(2), submit(3), submit(4)];
    expect(batches).toEqual([[1]]);
    releaseNext();
    expect(await first).toBe(10);
    await new Promise((resolve) => setImmediate(resolve));
    expect(batches).toEqual([[1], [2, 3, 4]]);
    releaseNext();
    expect(await Promise.all(rest)).toEqual([20, 30, 40]);
  });

  it('caps a batch by items and by weight, and sends an overweight item alone', async () => {
    const { batches, send, releaseNext } = controlledSend();
    const submit = naturalBatcher<number, number>({
      send,
      maxInFlight: 1,
      maxItems: 3,
      maxWeight: 10,
      weight: (n) => n,
    });
    const all = [submit(1), submit(2), submit(2), submit(2), submit(2), submit(50), submit(1)];
    for (let i = 0; i < 5; i++) {
      releaseNext();
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(all);
    expect(batches).toEqual([[1], [2, 2, 2], [2], [50], [1]]);
  });

  it('fails every item of a failed batch and keeps serving', async () => {
    let fail = true;
    const submit = naturalBatcher<number, number>({
      send: async (items) => {
        if (fail) throw new Error('down');
        return items;
      },
      maxInFlight: 2,
      maxItems: 10,
    });
    await expect(submit(1)).rejects.toThrow('down');
    fail = false;
    expect(await submit(2)).toBe(2);
  });

  it('sends each item of a refused batch again alone, so one bad item fails only itself', async () => {
    const batches: number[][] = [];
    const submit = naturalBatcher<number, number>({
      send: async (items) => {
        batches.push(items);
        if (items.includes(13)) throw new Error('refused 13');
        return items.map((n) => n * 10);
      },
      maxInFlight: 1,
      maxItems: 10,
      retryAlone: (error) => (error as Error).message.startsWith('refused'),
    });
    const first = submit(1);
    const rest = [submit(2), submit(13), submit(4)];
    expect(await first).toBe(10);
    const settled = await Promise.allSettled(rest);
    expect(settled.map((s) => (s.status === 'fulfilled' ? s.value : 'rejected'))).toEqual([
      20,
      'rejected',
      40,
    ]);
    expect(batches).toEqual([[1], [2, 13, 4], [2], [13], [4]]);
  });

  it('fails a whole batch without retrying alone when the failure is not a refusal', async () => {
    let sends = 0;
    const submit = naturalBatcher<number, number>({
      send: async () => {
        sends++;
        throw new Error('connection lost');
      },
      maxInFlight: 1,
      maxItems: 10,
      retryAlone: (error) => (error as Error).message.startsWith('refused'),
    });
    const all = [submit(1), submit(2), submit(3)];
    for (const item of all) await expect(item).rejects.toThrow('connection lost');
    expect(sends).toBe(2); // [1], then [2, 3]: never one by one
  });

  it('fails the items waiting behind a batch that failed on an outage, with it', async () => {
    const releases: ((error: Error) => void)[] = [];
    const batches: number[][] = [];
    const submit = naturalBatcher<number, number>({
      send: (items) => {
        batches.push(items);
        return new Promise((_, reject) => releases.push(reject));
      },
      maxInFlight: 1,
      maxItems: 10,
      retryAlone: (error) => (error as Error).message.startsWith('refused'),
      failsWaiting: (error) => !(error as Error).message.startsWith('refused'),
    });
    const first = submit(1);
    const waiting = [submit(2), submit(3)];
    releases.shift()?.(new Error('query timed out'));
    await expect(first).rejects.toThrow('query timed out');
    for (const item of waiting) await expect(item).rejects.toThrow('query timed out');
    expect(batches).toEqual([[1]]); // the waiting items were never sent to wait a bound of their own
  });

  it('keeps the waiting items when a batch fails on a refusal of its own', async () => {
    const { batches, send, releaseNext } = controlledSend();
    let refuse = true;
    const submit = naturalBatcher<number, number>({
      send: (items) => {
        if (refuse) {
          refuse = false;
          batches.push(items);
          return Promise.reject(new Error('refused: bad row'));
        }
        return send(items);
      },
      maxInFlight: 1,
      maxItems: 10,
      retryAlone: (error) => (error as Error).message.startsWith('refused'),
      failsWaiting: (error) => !(error as Error).message.startsWith('refused'),
    });
    const first = submit(1);
    const later = submit(2);
    await expect(first).rejects.toThrow('refused');
    releaseNext();
    expect(await later).toBe(20);
    expect(batches).toEqual([[1], [2]]);
  });
});
