import { Redis } from 'ioredis';
import { type RedisConfig, redisOptions } from './redis-options';
import { type ReplyBus, type RunReply, replyChannel } from './reply-bus';
import { createReplyWaiters } from './reply-waiters';

/**
 * Sync replies over Redis pub/sub. Each APP instance subscribes only to its own channel, so
 * a reply reaches exactly the instance holding the HTTP request. `subscribe` is false for
 * workers, which only publish.
 *
 * Pub/sub keeps nothing for a subscriber that is not connected: a reply published while the
 * subscriber reconnects is lost. Once subscribed again, the waits of runs that `endedAmong`
 * says have ended are ended, so their callers read the run row now, not at their timeout.
 */
export async function createRedisReplyBus(
  config: RedisConfig,
  instanceId: string,
  {
    subscribe,
    endedAmong,
  }: { subscribe: boolean; endedAmong?: (runIds: string[]) => Promise<string[]> },
): Promise<ReplyBus> {
  const channel = replyChannel(instanceId);
  const waiters = createReplyWaiters();
  // Opened at the first publish: with BullMQ a worker sends its replies on its queue
  // connection (RunConsumer.publishReply), and an APP only listens, so most never publish here.
  let publisher: Redis | undefined;
  const publisherConnection = () => {
    if (publisher === undefined) {
      publisher = new Redis(redisOptions(config, 'request'));
      publisher.on('error', () => undefined);
    }
    return publisher;
  };
  let subscriber: Redis | undefined;
  if (subscribe) {
    subscriber = new Redis(redisOptions(config, 'blocking'));
    subscriber.on('error', () => undefined);
    subscriber.on('message', (_channel: string, message: string) => {
      try {
        waiters.deliver(JSON.parse(message) as RunReply);
      } catch {
        // A malformed message can only come from outside Sluice; the waiter times out.
      }
    });
    // ioredis re-subscribes by itself after a reconnect.
    await subscriber.subscribe(channel);
    const resubscribed = subscriber;
    resubscribed.on('ready', () => {
      if (endedAmong === undefined) return;
      // Subscribed again first (a second SUBSCRIBE answers once the channel is live), so a run
      // that ends after the read sends a reply that arrives. Closed or cut again: these waiters
      // read the row at their timeout, or at the next ready.
      resubscribed
        .subscribe(channel)
        .then(() => waiters.wakeEnded(endedAmong))
        .catch(() => undefined);
    });
  }
  return {
    channel,
    async publish(to, reply) {
      await publisherConnection().publish(to, JSON.stringify(reply));
    },
    waitFor: waiters.waitFor,
    endWaits: waiters.cancelAll,
    async close() {
      waiters.cancelAll();
      subscriber?.disconnect();
      publisher?.disconnect();
    },
  };
}
