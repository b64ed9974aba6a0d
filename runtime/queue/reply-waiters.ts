import type { ReplyBus, RunReply } from './reply-bus';

/** Pending sync-webhook waits of one APP instance, keyed by run id. */
export function createReplyWaiters() {
  const waiting = new Map<string, (reply: RunReply | null) => void>();
  return {
    /** Waits pending now. */
    get size() {
      return waiting.size;
    },
    /**
     * Ends the waits of the runs `endedAmong` says have ended: after a reply channel was down,
     * their replies went to nobody, and their callers read the run row now, not at their timeout.
     */
    async wakeEnded(endedAmong: (runIds: string[]) => Promise<string[]>): Promise<void> {
      if (waiting.size === 0) return;
      for (const runId of await endedAmong([...waiting.keys()])) waiting.get(runId)?.(null);
    },
    has: (runId: string) => waiting.has(runId),
    waitFor(runId: string, timeoutMs: number): ReturnType<ReplyBus['waitFor']> {
      let settle: (reply: RunReply | null) => void = () => {};
      const reply = new Promise<RunReply | null>((resolve) => {
        const timer = setTimeout(() => settle(null), timeoutMs);
        settle = (value) => {
          clearTimeout(timer);
          waiting.delete(runId);
          resolve(value);
        };
        waiting.set(runId, settle);
      });
      return { reply, cancel: () => settle(null) };
    },
    deliver(reply: RunReply) {
      waiting.get(reply.runId)?.(reply);
    },
    /** Ends the wait for `runId` now without a reply: the caller reads the run row instead. */
    wake(runId: string) {
      waiting.get(runId)?.(null);
    },
    cancelAll() {
      for (const settle of [...waiting.values()]) settle(null);
    },
  };
}
