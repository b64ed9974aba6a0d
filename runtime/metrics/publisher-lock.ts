import type { Redis } from 'ioredis';

/** Elects the one APP instance that publishes queue depth. */
export interface PublisherLock {
  /** Takes the lock if free, or renews it if this instance holds it; true while held. */
  hold(): Promise<boolean>;
  /** Gives the lock up at once, so another instance takes over without waiting out the TTL. */
  release(): Promise<void>;
}

/**
 * KEYS[1] lock key; ARGV[1] owner id, ARGV[2] ttl ms.
 * Returns 1 when the caller holds the lock afterwards (taken or renewed), else 0.
 */
const HOLD_SCRIPT = `
local owner = redis.call('GET', KEYS[1])
if owner == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not owner then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`;

/** KEYS[1] lock key; ARGV[1] owner id. Deletes the key only if the caller owns it. */
const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

export function createRedisPublisherLock(
  redis: Redis,
  key: string,
  ownerId: string,
  ttlMs: number,
): PublisherLock {
  return {
    async hold() {
      return (await redis.eval(HOLD_SCRIPT, 1, key, ownerId, String(ttlMs))) === 1;
    },
    async release() {
      await redis.eval(RELEASE_SCRIPT, 1, key, ownerId);
    },
  };
}
