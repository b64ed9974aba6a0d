import { describe, expect, it } from 'vitest';
import { CONNECTIONS_PER_ACU, sizeServerlessFleet } from '../../lib/serverless-sizing';
import { DEPLOYMENT_TASK_FACTOR, RESERVED_DB_CONNECTIONS } from '../../lib/sizing';

describe('sizeServerlessFleet', () => {
  it('rests at one APP task and sizes one ACU for a small peak', () => {
    expect(sizeServerlessFleet({ peakConcurrentFlows: 10 })).toEqual({
      workers: 10,
      minApps: 1,
      apps: 1,
      maxApps: 2,
      databaseMaxAcu: 1,
      maxConnections: CONNECTIONS_PER_ACU,
      dbPoolSize: 8,
    });
  });

  it.each([1, 10, 50, 200, 1000])(
    'keeps every pool under max_connections with the APP tier at its maximum (peak %i)',
    (peakConcurrentFlows) => {
      const fleet = sizeServerlessFleet({ peakConcurrentFlows });
      const tasks = (fleet.maxApps + fleet.workers) * DEPLOYMENT_TASK_FACTOR;
      expect(tasks * fleet.dbPoolSize).toBeLessThanOrEqual(
        fleet.maxConnections - RESERVED_DB_CONNECTIONS - 1,
      );
      expect(fleet.dbPoolSize).toBeGreaterThanOrEqual(2);
      expect(fleet.databaseMaxAcu).toBeGreaterThanOrEqual(Math.ceil(peakConcurrentFlows / 25));
    },
  );

  it('rejects a databaseMaxAcu too small for the pools, naming what fits', () => {
    expect(() => sizeServerlessFleet({ peakConcurrentFlows: 200, databaseMaxAcu: 1 })).toThrow(
      'databaseMaxAcu leaves each task a pool under 2 connections (got 1; at least 8 fits 200 peak flows)',
    );
  });

  it('rejects a peak beyond one writer', () => {
    expect(() => sizeServerlessFleet({ peakConcurrentFlows: 20_000 })).toThrow(
      /peakConcurrentFlows is too large for one Aurora Serverless v2 writer \(got 20000\)/,
    );
  });
});
