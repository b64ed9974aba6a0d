import { describe, expect, it } from 'vitest';
import { sizeFleet } from '../../lib/sizing';

describe('sizeFleet', () => {
  it.each([
    // peak, apps, max apps, on-demand, spot, database, max_connections, pool, cache node
    [1, 2, 4, 1, 0, 't4g.micro', 80, 6, 'cache.t4g.micro'],
    [10, 2, 4, 1, 9, 't4g.micro', 80, 2, 'cache.t4g.micro'],
    [50, 5, 10, 1, 49, 't4g.medium', 400, 3, 'cache.t4g.small'],
    [200, 20, 40, 1, 199, 'm7g.xlarge', 1600, 3, 'cache.t4g.medium'],
  ])(
    'sizes peak %i: %i to %i apps, %i on-demand + %i Spot workers, db.%s',
    (peak, apps, maxApps, onDemand, spot, instanceType, maxConnections, pool, cacheNodeType) => {
      // GIVEN a peak of concurrent flows
      // WHEN the fleet is sized
      const fleet = sizeFleet({ peakConcurrentFlows: peak });

      // THEN one worker runs each flow, apps = max(2, ceil(workers / 10)), scaling to twice that
      expect(fleet).toMatchObject({
        workers: peak,
        apps,
        maxApps,
        onDemandWorkers: onDemand,
        spotWorkers: spot,
        database: { instanceType, maxConnections },
        dbPoolSize: pool,
        cacheNodeType,
      });
      // AND every pool, with the APP tier at its maximum and old and new tasks side by side in
      // a deployment, fits
      expect(2 * (fleet.maxApps + fleet.workers) * fleet.dbPoolSize).toBeLessThan(maxConnections);
    },
  );

  it('keeps the on-demand base it is given and puts the rest on Spot', () => {
    const fleet = sizeFleet({ peakConcurrentFlows: 50, onDemandWorkerBase: 5 });

    expect(fleet).toMatchObject({ workers: 50, onDemandWorkers: 5, spotWorkers: 45 });
  });

  it('doubles cache nodes and NAT gateways only when Multi-AZ', () => {
    expect(sizeFleet({ peakConcurrentFlows: 10 })).toMatchObject({ cacheNodes: 2, natGateways: 2 });
    expect(sizeFleet({ peakConcurrentFlows: 10, multiAz: false })).toMatchObject({
      cacheNodes: 1,
      natGateways: 1,
    });
  });

  it.each([0, -5, 2.5, Number.NaN])('rejects peakConcurrentFlows %s, naming the prop', (peak) => {
    expect(() => sizeFleet({ peakConcurrentFlows: peak })).toThrow(
      `peakConcurrentFlows must be a positive integer (got ${peak})`,
    );
  });

  it('rejects an on-demand base above the peak', () => {
    expect(() => sizeFleet({ peakConcurrentFlows: 3, onDemandWorkerBase: 4 })).toThrow(
      'onDemandWorkerBase must be at most peakConcurrentFlows 3 (got 4)',
    );
  });

  it.each([-1, 1.5])('rejects onDemandWorkerBase %s', (base) => {
    expect(() => sizeFleet({ peakConcurrentFlows: 3, onDemandWorkerBase: base })).toThrow(
      `onDemandWorkerBase must be a non-negative integer (got ${base})`,
    );
  });

  it('rejects a peak no single database can serve', () => {
    expect(() => sizeFleet({ peakConcurrentFlows: 5000 })).toThrow(
      'peakConcurrentFlows is too large for one database (got 5000)',
    );
  });
});
