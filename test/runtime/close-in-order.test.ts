import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { closeInOrder } from '../../runtime/close-in-order';

function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'info' },
    { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  return { logger, lines };
}

describe('closeInOrder', () => {
  it('closes every part in order, each after the one before has settled', async () => {
    const { logger, lines } = capturingLogger();
    const events: string[] = [];
    const part = (name: string, ms: number) => ({
      name,
      close: async () => {
        events.push(`${name} start`);
        await new Promise((resolve) => setTimeout(resolve, ms));
        events.push(`${name} end`);
      },
    });

    const closed = await closeInOrder([part('worker', 20), part('queue', 0)], logger);

    expect(closed).toBe(true);
    expect(events).toEqual(['worker start', 'worker end', 'queue start', 'queue end']);
    expect(lines).toEqual([]);
  });

  it('goes on past a part that rejects or throws, names it in the log, and reports it', async () => {
    const { logger, lines } = capturingLogger();
    const closedParts: string[] = [];
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const closed = await closeInOrder(
        [
          {
            name: 'http server',
            close: () => Promise.reject(new Error('Server is not running.')),
          },
          { name: 'worker', close: () => closedParts.push('worker') },
          {
            name: 'reply bus',
            close: () => {
              throw new Error('Connection is closed.');
            },
          },
          { name: 'skipped by nothing', close: () => undefined },
          { name: 'database', close: async () => closedParts.push('database') },
        ],
        logger,
      );
      await new Promise((resolve) => setImmediate(resolve));

      expect(closed).toBe(false);
      expect(closedParts).toEqual(['worker', 'database']);
      expect(
        lines.map((line) => [line.part, line.msg, (line.err as { message: string }).message]),
      ).toEqual([
        ['http server', 'shutdown: could not close a part', 'Server is not running.'],
        ['reply bus', 'shutdown: could not close a part', 'Connection is closed.'],
      ]);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
