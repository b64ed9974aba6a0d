import { type ReplyBus, replyChannel } from './reply-bus';
import { createReplyWaiters } from './reply-waiters';

/** Embedded mode: the worker and the waiting request share one process. */
export function createInProcessReplyBus(instanceId: string): ReplyBus {
  const waiters = createReplyWaiters();
  return {
    channel: replyChannel(instanceId),
    async publish(_to, reply) {
      waiters.deliver(reply);
    },
    waitFor: waiters.waitFor,
    endWaits: waiters.cancelAll,
    async close() {
      waiters.cancelAll();
    },
  };
}
