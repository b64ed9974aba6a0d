import { type Logger, pino } from 'pino';

/**
 * Ends the process at once, after one fatal log line. For a worker that cannot reclaim a
 * code-step isolate's thread: Node's normal exit joins every isolate's thread (isolated-vm's
 * cleanup hook), so process.exit() would never return while that thread is held. SIGKILL does
 * not wait; the exit status is 137 and ECS, or whatever supervises the process, starts a new
 * one. The runs in hand stay `running` until the reaper takes them (as after a crash), so they
 * count against SLUICE_MAX_ATTEMPTS: code that does this every time cannot go round forever.
 */
export function endProcessNow(logger: Logger, message: string, reason?: string): void {
  // Written synchronously, with the logger's own fields: nothing runs after the kill.
  const lastLine = pino(
    { base: logger.bindings(), timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination({ dest: 1, sync: true }),
  );
  lastLine.fatal(reason === undefined ? {} : { reason }, message);
  process.kill(process.pid, 'SIGKILL');
}
