import { describe, expect, it } from 'vitest';
import {
  conventionalMonthlyCost,
  ELASTICACHE_VALKEY_NODE_HOUR_USD,
  estimateMonthlyCost,
  FARGATE_GB_HOUR_USD,
  FARGATE_VCPU_HOUR_USD,
  HOURS_PER_MONTH,
  RDS_POSTGRES_HOUR_USD,
} from '../../lib/pricing';
import { CACHE_NODE_TYPES, DATABASE_SIZES, sizeFleet } from '../../lib/sizing';

const SMALLEST = { workerCpu: 256, workerMemoryMiB: 512, appCpu: 512, appMemoryMiB: 1024 };

describe('estimateMonthlyCost', () => {
  it('has a price for every database and cache size that sizing can pick', () => {
    for (const size of DATABASE_SIZES)
      expect(RDS_POSTGRES_HOUR_USD[size.instanceType]).toBeGreaterThan(0);
    for (const tier of CACHE_NODE_TYPES) {
      expect(ELASTICACHE_VALKEY_NODE_HOUR_USD[tier.nodeType]).toBeGreaterThan(0);
    }
  });

  it('prices on-demand workers at the Fargate rate and Spot workers below it', () => {
    // GIVEN one on-demand and 9 Spot workers of 0.25 vCPU / 0.5 GB
    const fleet = sizeFleet({ peakConcurrentFlows: 10 });

    // WHEN the month is priced
    const cost = estimateMonthlyCost(fleet, SMALLEST);

    // THEN the on-demand worker costs exactly the list price for 730 hours
    const onDemandHour = 0.25 * FARGATE_VCPU_HOUR_USD + 0.5 * FARGATE_GB_HOUR_USD;
    expect(cost.onDemandWorkers).toBeCloseTo(onDemandHour * HOURS_PER_MONTH, 6);
    // AND a Spot worker costs less than an on-demand one
    expect(cost.spotWorkers / 9).toBeLessThan(cost.onDemandWorkers);
    expect(cost.total).toBeCloseTo(
      cost.compute + cost.database + cost.cache + cost.loadBalancer + cost.natGateways,
      6,
    );
  });

  it('doubles the database when Multi-AZ', () => {
    const multiAz = estimateMonthlyCost(sizeFleet({ peakConcurrentFlows: 10 }), SMALLEST);
    const singleAz = estimateMonthlyCost(
      sizeFleet({ peakConcurrentFlows: 10, multiAz: false }),
      SMALLEST,
    );

    expect(multiAz.database).toBeCloseTo(2 * singleAz.database, 6);
  });
});

describe('conventionalMonthlyCost', () => {
  it('runs every worker on-demand at 0.5 vCPU / 1 GB and one 1 vCPU / 1 GB app per 10', () => {
    const cost = conventionalMonthlyCost(50);

    const workerHour = 0.5 * FARGATE_VCPU_HOUR_USD + 1 * FARGATE_GB_HOUR_USD;
    const appHour = FARGATE_VCPU_HOUR_USD + FARGATE_GB_HOUR_USD;
    expect(cost.workers).toBeCloseTo(50 * workerHour * HOURS_PER_MONTH, 6);
    expect(cost.apps).toBeCloseTo(5 * appHour * HOURS_PER_MONTH, 6);
  });
});
