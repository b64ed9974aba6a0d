import { Redis } from 'ioredis';
import { type RedisConfig, redisOptions } from './redis-options';
import { RedisUnreachableError } from './redis-unreachable-error';

/**
 * How long the start-up check waits for Redis to answer, connection included. Longer than
 * redisOptions' connect timeout, so that a host that never answers is named as ETIMEDOUT.
 */
const ANSWER_WITHIN_MS = 5000;

const CONNECTION_REASONS: Record<string, string> = {
  ECONNREFUSED: 'ECONNREFUSED, nothing listens there',
  ENOTFOUND: 'ENOTFOUND, the host does not resolve',
  EAI_AGAIN: 'EAI_AGAIN, the host does not resolve',
  ETIMEDOUT: 'ETIMEDOUT, no answer',
  EHOSTUNREACH: 'EHOSTUNREACH, the host is unreachable',
  ENETUNREACH: 'ENETUNREACH, the network is unreachable',
  ECONNRESET: 'ECONNRESET, the connection was reset',
};

/**
 * Connects once, as the queue's clients will, and asks for PING. Without this, ioredis would
 * retry for ever and the process would sit unready with nothing said; with it, a REDIS_URL (or
 * REDIS_SENTINELS) that cannot work stops start-up with one line. A later outage is not this
 * check's business: the clients reconnect by themselves.
 */
export async function assertRedisAnswers(config: RedisConfig): Promise<void> {
  const redis = new Redis({
    ...redisOptions(config, 'request'),
    lazyConnect: true,
    retryStrategy: () => null,
    sentinelRetryStrategy: () => null,
    enableOfflineQueue: false,
  });
  // ioredis rejects connect() with "Connection is closed."; the cause arrives as an event.
  let cause: unknown;
  redis.on('error', (error: unknown) => {
    cause ??= error;
  });
  let timer: NodeJS.Timeout | undefined;
  const tooLate = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('no answer')), ANSWER_WITHIN_MS);
  });
  try {
    await Promise.race([redis.connect().then(() => redis.ping()), tooLate]);
  } catch (error) {
    cause ??= error;
    throw unreachable(config, cause);
  } finally {
    clearTimeout(timer);
    redis.disconnect();
  }
}

function unreachable(config: RedisConfig, cause: unknown): RedisUnreachableError {
  if (config.sentinels !== undefined) {
    const where = config.sentinels.map(({ host, port }) => `${host}:${port}`).join(', ');
    return new RedisUnreachableError(
      'REDIS_SENTINELS',
      where,
      `no Sentinel there gave the address of master "${config.sentinelMaster ?? 'mymaster'}", or that master did not answer`,
    );
  }
  const url = new URL(config.url ?? 'redis://127.0.0.1:6379');
  const tls = url.protocol === 'rediss:';
  return new RedisUnreachableError(
    'REDIS_URL',
    `${url.hostname}:${url.port || '6379'}`,
    why(cause) + (tls ? ' (rediss:// needs a server that speaks TLS)' : ''),
  );
}

/** The reason, from the connection's code or Redis's reply; never the error's own text. */
function why(cause: unknown): string {
  if (!(cause instanceof Error)) return 'the connection closed before Redis answered';
  const code = (cause as { code?: unknown }).code;
  if (typeof code === 'string' && code in CONNECTION_REASONS)
    return CONNECTION_REASONS[code] ?? code;
  if (cause.name === 'ReplyError') {
    const word = /^[A-Z]+/.exec(cause.message)?.[0] ?? 'ERR';
    if (word === 'WRONGPASS') return 'the user or password was refused (WRONGPASS)';
    if (word === 'NOAUTH') return 'Redis needs a password (NOAUTH): set SLUICE_REDIS_PASSWORD';
    if (word === 'NOPERM') return "this user may not run Sluice's commands (NOPERM)";
    return `Redis refused the connection's first commands (${word})`;
  }
  if (cause.message === 'no answer') return `no answer within ${ANSWER_WITHIN_MS / 1000} s`;
  if (cause.message === 'Command timed out') return 'it took the connection but did not answer';
  if (cause.message.startsWith('Unknown RESP type')) return 'what answered there is not Redis';
  return 'the connection closed before Redis answered';
}
