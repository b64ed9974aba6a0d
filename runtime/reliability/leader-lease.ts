import type { Redis } from 'ioredis';

/** Lets one process out of many do a periodic job. */
export interface LeaderLease {
  /** Takes the lease, or extends it when this holder already has it. False: someone else has it. */
  acquire(): Promise<boolean>;
  release(): Promise<void>;
  /**
   * Gives the lease up and closes the connection that held it, while the holder rests (see
   * idle-watch); the next `acquire` opens it again. Absent where a lease holds nothing open.
   */
  rest?(): Promise<void>;
}

/**
 * KEYS[1] lease key; ARGV[1] holder, ARGV[2] ttl ms. Returns 1 when the caller holds the lease
 * afterwards (extended, or taken with SET NX PX), else 0.
 */
const ACQUIRE = `
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0`;

/** KEYS[1] lease key; ARGV[1] holder. Deletes the key only if the caller holds it. */
const RELEASE = `
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0`;

/** A lease in Redis that expires `ttlMs` after its last renewal, so a dead holder frees it. */
export function createRedisLease(
  redis: Redis,
  key: string,
  holder: string,
  ttlMs: number,
): LeaderLease {
  return {
    async acquire() {
      return (await redis.eval(ACQUIRE, 1, key, holder, ttlMs)) === 1;
    },
    async release() {
      await redis.eval(RELEASE, 1, key, holder);
    },
  };
}

/** Embedded mode: the only process is always the leader. */
export const soleLease: LeaderLease = {
  acquire: async () => true,
  release: async () => {},
};
