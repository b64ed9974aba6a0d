import { setImmediate as nextTurn } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { SandboxIsolate } from '../../../runtime/engine/sandbox-isolate';

/**
 * Whether `promise` settles within a few microtasks: a context made on this thread is ready at
 * once, one made asynchronously needs the isolate's thread and a later turn of the event loop.
 */
async function settlesAtOnce(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  promise.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  for (let i = 0; i < 10; i++) await Promise.resolve();
  return settled;
}

describe('SandboxIsolate spare context', () => {
  let slot: SandboxIsolate;
  afterEach(() => {
    if (!slot.isDisposed) slot.isolate.dispose();
  });

  it('makes the spare on this thread, after the current turn, when the isolate is idle', async () => {
    slot = new SandboxIsolate(16, () => undefined);
    slot.prepareSpareContext(() => true);
    await nextTurn();
    const taking = slot.takeContext();
    expect(await settlesAtOnce(taking)).toBe(true);
    expect(await (await taking).eval('1 + 1')).toBe(2);
  });

  it('makes it asynchronously while a step of ours holds the isolate', async () => {
    slot = new SandboxIsolate(16, () => undefined);
    slot.prepareSpareContext(() => false);
    await nextTurn();
    const taking = slot.takeContext();
    expect(await settlesAtOnce(taking)).toBe(false);
    expect(await (await taking).eval('2 + 2')).toBe(4);
  });

  it('has nothing ready before the turn ends: a step that comes first makes its own', async () => {
    slot = new SandboxIsolate(16, () => undefined);
    slot.prepareSpareContext(() => true);
    const taking = slot.takeContext();
    expect(await settlesAtOnce(taking)).toBe(false);
    expect(await (await taking).eval('3 + 3')).toBe(6);
  });

  it('makes none for an isolate disposed before the turn ended', async () => {
    slot = new SandboxIsolate(16, () => undefined);
    slot.prepareSpareContext(() => true);
    slot.isolate.dispose();
    await nextTurn();
    await expect(slot.takeContext()).rejects.toThrow(/disposed/i);
  });
});
