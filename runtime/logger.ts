import { type DestinationStream, pino } from 'pino';
import { safeError } from './log-safe-error';

/**
 * JSON lines on stdout: CloudWatch Logs and `docker logs` read them as they are. Errors are
 * logged under `err`, through safeError, so a driver's message never puts data in the log.
 */
export function createLogger(
  level: string,
  base: Record<string, string>,
  destination?: DestinationStream,
) {
  const options = {
    level,
    base,
    timestamp: pino.stdTimeFunctions.isoTime,
    serializers: { err: safeError },
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}
