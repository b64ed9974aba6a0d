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
});
