import type { RedisOptions } from 'ioredis';

export interface RedisConfig {
  url?: string | undefined;
  password?: string | undefined;
  sentinels?: { host: string; port: number }[] | undefined;
  sentinelMaster?: string | undefined;
}

/**
 * - `request`: the APP's request path. Commands fail within about a second when Redis is
 *   down, so webhooks answer 503 instead of hanging.
 * - `blocking`: BullMQ workers and subscribers. They wait for Redis forever, as BullMQ
 *   requires (`maxRetriesPerRequest: null`), and reconnect with back-off.
 */
export type RedisPurpose = 'request' | 'blocking';

export function redisOptions(config: RedisConfig, purpose: RedisPurpose): RedisOptions {
  const base: RedisOptions = {
    connectTimeout: 2000,
    retryStrategy: (times) => Math.min(100 * 2 ** times, 2000),
    ...(config.password === undefined ? {} : { password: config.password }),
    ...(purpose === 'request'
      ? { maxRetriesPerRequest: 1, commandTimeout: 1000 }
      : { maxRetriesPerRequest: null }),
  };
  if (config.sentinels !== undefined) {
    return {
      ...base,
      sentinels: config.sentinels,
      name: config.sentinelMaster ?? 'mymaster',
      ...(config.password === undefined ? {} : { sentinelPassword: config.password }),
    };
  }
  const url = new URL(config.url ?? 'redis://127.0.0.1:6379');
  const password = config.password ?? (url.password ? decodeURIComponent(url.password) : undefined);
  return {
    ...base,
    host: url.hostname,
    port: Number(url.port || 6379),
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(password === undefined ? {} : { password }),
    ...(url.pathname.length > 1 ? { db: Number(url.pathname.slice(1)) } : {}),
    ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}
