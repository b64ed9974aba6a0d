/**
 * Redis could not be reached, or refused the login, at start-up: a setting to fix, so its
 * message is one line naming the variable, where it points and the reason, for the start-up log.
 */
export class RedisUnreachableError extends Error {
  constructor(variable: string, where: string, reason: string) {
    super(`cannot reach the Redis ${variable} names (${where}): ${reason}`);
    this.name = 'RedisUnreachableError';
  }
}
