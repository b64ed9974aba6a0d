import { describe, expect, it } from 'vitest';
import { runChaos } from '../../scripts/chaos/run-chaos';

describe.each([
  ['bullmq', 'redis-restart'],
  ['sqs', 'sqs-outage'],
] as const)(
  'npm run chaos --small --queue %s (app + 3 workers on throwaway PostgreSQL and the queue service)',
  (queue, queueFault) => {
    it('loses no accepted run, leaves none stuck, and never runs a refused one, whatever breaks', async () => {
      const lines = await runChaos({ small: true, queue });
      expect(lines.map((line) => line.scenario)).toEqual([
        'worker-kill',
        queueFault,
        'postgres-restart',
        'spot-drain',
        'slow-s3',
      ]);
      for (const line of lines) {
        // First that the fault happened: a scenario whose fault missed proves nothing below.
        expect(line.fault_hits, `${line.scenario}: the fault took effect`).toBeGreaterThan(0);
        expect(line, line.scenario).toMatchObject({ lost: 0, stuck: 0, refused_ran: 0 });
        expect(line.accepted, line.scenario).toBeGreaterThan(0);
        expect(line.succeeded + line.failed, line.scenario).toBe(line.accepted);
      }
    }, 120_000);
  },
);
