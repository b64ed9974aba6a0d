import { Redis } from 'ioredis';
import { type RedisConfig, redisOptions } from './redis-options';
import { type ReplyBus, type RunReply, replyChannel } from './reply-bus';
import { createReplyWaiters } from './reply-waiters';

/**
 * Sync replies over Redis pub/sub. Each APP instance subscribes only to its own channel, so
 * a reply reaches exactly the instance holding the HTTP request. `subscribe` is false for
 * workers, which only publish.
 */
export async function createRedisReplyBus(
  config: RedisConfig,
  instanceId: string,
  { subscribe }: { subscribe: boolean },
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
