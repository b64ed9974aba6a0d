import { pino } from 'pino';

/** JSON lines on stdout: CloudWatch Logs and `docker logs` read them as they are. */
export const createLogger = (level: string, base: Record<string, string>) =>
  pino({ level, base, timestamp: pino.stdTimeFunctions.isoTime });
