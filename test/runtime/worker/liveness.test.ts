import { afterEach, describe, expect, it } from 'vitest';
import { CodeSandbox, DISPOSAL_CONFIRM_MS } from '../../../runtime/engine/code-sandbox';
import {
  ISOLATE_GRACE_MS,
  type Liveness,
  LOOP_STALL_MS,
  watchLiveness,
} from '../../../runtime/worker/liveness';

let liveness: Liveness | undefined;
afterEach(() => liveness?.stop());

describe('worker liveness', () => {
  it('is healthy while the loop turns and no code step overstays', async () => {
    liveness = watchLiveness({
      loopStallMs: LOOP_STALL_MS,
      isolateStuckMs: 1000,
      isolateBusyForMs: () => 999,
    });
    expect(await liveness.verdict()).toEqual({ healthy: true });
  });

  it('reports the event loop stalled when its heartbeat is older than the limit', async () => {
    let now = 0;
    liveness = watchLiveness({
      loopStallMs: LOOP_STALL_MS,
      isolateStuckMs: 1000,
      isolateBusyForMs: () => 0,
      // The heartbeat timer never fires within the test: the clock alone moves.
      heartbeatMs: 3_600_000,
      now: () => now,
    });
    now = LOOP_STALL_MS;
    expect((await liveness.verdict()).healthy).toBe(true);
    now = LOOP_STALL_MS + 1;
    expect(await liveness.verdict()).toEqual({
      healthy: false,
      reason: 'event_loop_stalled',
      forMs: LOOP_STALL_MS + 1,
    });
  });

  it('gives a stuck isolate longer than the sandbox takes to give up on it itself', () => {
    expect(ISOLATE_GRACE_MS).toBeGreaterThan(DISPOSAL_CONFIRM_MS);
  });

  it('reports the isolate stuck while a real code step holds it past the limit, and recovers', async () => {
    const sandbox = new CodeSandbox(32);
    liveness = watchLiveness({
      loopStallMs: LOOP_STALL_MS,
      isolateStuckMs: 300,
      isolateBusyForMs: () => sandbox.busyForMs(),
    });
    try {
      expect(sandbox.busyForMs()).toBe(0);
      const running = sandbox.run('export default () => { for (;;) {} }', '{}', {
        timeoutMs: 1500,
        maxOutputLength: 1000,
      });
      // The loop is free while the isolate thread spins, so the verdict can be polled.
      const deadline = Date.now() + 1400;
      let verdict = await liveness.verdict();
      while (verdict.healthy && Date.now() < deadline) {
        await new Promise((done) => setTimeout(done, 20));
        verdict = await liveness.verdict();
      }
      expect(verdict).toMatchObject({ healthy: false, reason: 'isolate_stuck' });

      expect(await running).toMatchObject({ ok: false, reason: 'timeout' });
      expect(sandbox.busyForMs()).toBe(0);
      expect(await liveness.verdict()).toEqual({ healthy: true });
    } finally {
      await sandbox.dispose();
    }
  });

  it('asks a free isolate to run a trivial step, and is healthy when a real one answers', async () => {
    const sandbox = new CodeSandbox(32);
    liveness = watchLiveness({
      loopStallMs: LOOP_STALL_MS,
      isolateStuckMs: 1000,
      isolateBusyForMs: () => sandbox.busyForMs(),
      isolateAnswers: (timeoutMs) => sandbox.answers(timeoutMs),
    });
    try {
      expect(await liveness.verdict()).toEqual({ healthy: true });
      expect(sandbox.isolatesCreated).toBe(1);
    } finally {
      await sandbox.dispose();
    }
  });

  it('reports an isolate that does not answer, unless a flow’s step took it meanwhile', async () => {
    let busyMs = 0;
    liveness = watchLiveness({
      loopStallMs: LOOP_STALL_MS,
      isolateStuckMs: 60_000,
      isolateBusyForMs: () => busyMs,
      isolateAnswers: async () => false,
    });
    expect(await liveness.verdict()).toMatchObject({
      healthy: false,
      reason: 'isolate_unresponsive',
    });

    liveness.stop();
    let asked = 0;
    liveness = watchLiveness({
      loopStallMs: LOOP_STALL_MS,
      isolateStuckMs: 60_000,
      isolateBusyForMs: () => busyMs,
      isolateAnswers: async () => {
        asked += 1;
        busyMs = 5; // a flow's step took the isolate while the check waited for its turn
        return false;
      },
    });
    expect(await liveness.verdict()).toEqual({ healthy: true });
    expect(asked).toBe(1);
    // A step running now is the isolate answering: it is not asked again.
    expect(await liveness.verdict()).toEqual({ healthy: true });
    expect(asked).toBe(1);
  });

  it('reports an isolate whose check throws as not answering, rather than rejecting', async () => {
    liveness = watchLiveness({
      loopStallMs: LOOP_STALL_MS,
      isolateStuckMs: 60_000,
      isolateBusyForMs: () => 0,
      isolateAnswers: async () => {
        throw new Error('Isolate creation failed');
      },
    });
    expect(await liveness.verdict()).toMatchObject({
      healthy: false,
      reason: 'isolate_unresponsive',
    });
  });
});
