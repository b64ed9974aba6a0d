import { describe, expect, it } from 'vitest';
import {
  CLOUDFRONT_EGRESS_GB_USD,
  CLOUDFRONT_HTTPS_PER_10K_USD,
  conventionalMonthlyCost,
  DEFAULT_TRAFFIC,
  ELASTICACHE_VALKEY_NODE_HOUR_USD,
  estimateMonthlyCost,
  FARGATE_GB_HOUR_USD,
  FARGATE_VCPU_HOUR_USD,
  HOURS_PER_MONTH,
  PUBLIC_IPV4_HOUR_USD,
  RDS_POSTGRES_HOUR_USD,
  SECRET_MONTH_USD,
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
      cost.compute +
        cost.database +
        cost.cache +
        cost.loadBalancer +
        cost.natGateways +
        cost.publicIpv4 +
        cost.cloudFront +
        cost.secrets +
        cost.cloudWatch,
      6,
    );
  });

  it('prices a public IPv4 address per NAT gateway, CloudFront by traffic, and three secrets', () => {
    const fleet = sizeFleet({ peakConcurrentFlows: 10 });
    const traffic = { requestsPerMonth: 2_000_000, egressGbPerMonth: 50, logsGbPerMonth: 1 };

    const cost = estimateMonthlyCost(fleet, SMALLEST, traffic);

    expect(cost.publicIpv4).toBeCloseTo(2 * PUBLIC_IPV4_HOUR_USD * HOURS_PER_MONTH, 6);
    expect(cost.cloudFront).toBeCloseTo(
      200 * CLOUDFRONT_HTTPS_PER_10K_USD + 50 * CLOUDFRONT_EGRESS_GB_USD,
      6,
    );
    expect(cost.secrets).toBeCloseTo(3 * SECRET_MONTH_USD, 6);
    // AND logs move the CloudWatch line at $0.50 per GB
    const moreLogs = estimateMonthlyCost(fleet, SMALLEST, { ...traffic, logsGbPerMonth: 11 });
    expect(moreLogs.cloudWatch - cost.cloudWatch).toBeCloseTo(5, 6);
    expect(estimateMonthlyCost(fleet, SMALLEST).cloudFront).toBeCloseTo(
      (DEFAULT_TRAFFIC.requestsPerMonth / 10_000) * CLOUDFRONT_HTTPS_PER_10K_USD +
        DEFAULT_TRAFFIC.egressGbPerMonth * CLOUDFRONT_EGRESS_GB_USD,
      6,
    );
  });

  it('prices ARM64 APP tasks about 20% below x86_64', () => {
    const fleet = sizeFleet({ peakConcurrentFlows: 10 });
    const x86 = estimateMonthlyCost(fleet, SMALLEST);
    const arm = estimateMonthlyCost(fleet, { ...SMALLEST, appArchitecture: 'arm64' });

    expect(arm.apps / x86.apps).toBeCloseTo(0.8, 2);
    expect(arm.spotWorkers).toBe(x86.spotWorkers);
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
