import { describe, expect, it } from 'vitest';
import {
  ALB_HOUR_USD,
  AURORA_ACU_HOUR_USD,
  HOURS_PER_MONTH,
  NAT_GATEWAY_HOUR_USD,
  PUBLIC_IPV4_HOUR_USD,
} from '../../lib/pricing';
import {
  DEFAULT_COST_ASSUMPTIONS,
  LINE_ITEMS,
  serverlessMonths,
  standardMonths,
} from '../../lib/profile-cost';
import { renderProfileComparison, SERVERLESS_IDLE_TARGET_USD } from '../../lib/profile-report';
import { sizeServerlessFleet } from '../../lib/serverless-sizing';
import { sizeFleet } from '../../lib/sizing';

const serverlessSizes = {
  workerCpu: 256,
  workerMemoryMiB: 512,
  appCpu: 256,
  appMemoryMiB: 512,
  appArchitecture: 'arm64' as const,
};
const standardSizes = {
  ...serverlessSizes,
  appCpu: 512,
  appMemoryMiB: 1024,
  appArchitecture: 'x86_64' as const,
};
const listPrice = { ...DEFAULT_COST_ASSUMPTIONS, cloudWatchFreeTier: false };

describe('serverlessMonths', () => {
  const fleet = sizeServerlessFleet({ peakConcurrentFlows: 50 });

  it(`idles under $${SERVERLESS_IDLE_TARGET_USD} with one warm Spot worker and a paused Aurora`, () => {
    const { idle } = serverlessMonths(fleet, serverlessSizes, 0);
    expect(idle.total).toBeLessThanOrEqual(SERVERLESS_IDLE_TARGET_USD);
    expect(idle.items['NAT gateways']).toBe(0);
    expect(idle.items.ElastiCache).toBe(0);
    expect(idle.items['database compute']).toBe(0);
    // One public IPv4 per task: the APP and the warm worker.
    expect(idle.items['public IPv4']).toBeCloseTo(2 * PUBLIC_IPV4_HOUR_USD * HOURS_PER_MONTH);
    expect(idle.items.ALB).toBeCloseTo(ALB_HOUR_USD * HOURS_PER_MONTH);
  });

  it('prices a warm Aurora at 0.5 ACU around the clock', () => {
    const { idle } = serverlessMonths(fleet, serverlessSizes, 0.5);
    expect(idle.items['database compute']).toBeCloseTo(0.5 * AURORA_ACU_HOUR_USD * HOURS_PER_MONTH);
  });

  it('states the CloudWatch free tier as its own credit, never hidden in the CloudWatch line', () => {
    const free = serverlessMonths(fleet, serverlessSizes, 0).idle;
    const list = serverlessMonths(fleet, serverlessSizes, 0, listPrice).idle;
    expect(free.items.CloudWatch).toBe(list.items.CloudWatch);
    expect(free.items['CloudWatch free tier']).toBeLessThan(0);
    expect(list.items['CloudWatch free tier']).toBe(0);
    expect(list.total - free.total).toBeCloseTo(-free.items['CloudWatch free tier']);
  });

  it('prices SQS at the peak rate: more flows a month cost more requests', () => {
    const short = serverlessMonths(fleet, serverlessSizes, 0, {
      ...DEFAULT_COST_ASSUMPTIONS,
      flowDurationSeconds: 10,
    }).peak;
    const long = serverlessMonths(fleet, serverlessSizes, 0).peak;
    expect(short.items['SQS requests']).toBeGreaterThan(long.items['SQS requests']);
    expect(long.items['database compute']).toBeCloseTo(
      fleet.databaseMaxAcu * AURORA_ACU_HOUR_USD * HOURS_PER_MONTH,
    );
  });
});

describe('standardMonths', () => {
  it('idles with the data tier, the NAT gateways and the APP minimum running', () => {
    const fleet = sizeFleet({ peakConcurrentFlows: 10 });
    const { idle, peak } = standardMonths(fleet, standardSizes);
    expect(idle.items['NAT gateways']).toBeCloseTo(2 * NAT_GATEWAY_HOUR_USD * HOURS_PER_MONTH);
    expect(idle.items.ElastiCache).toBeGreaterThan(0);
    expect(idle.total).toBeGreaterThan(150);
    expect(peak.total).toBeGreaterThan(idle.total);
  });
});

describe('renderProfileComparison', () => {
  it('prints every priced line for both profiles, idle and peak, and the target verdict', () => {
    const report = renderProfileComparison({
      standard: { fleet: sizeFleet({ peakConcurrentFlows: 50 }), sizes: standardSizes },
      serverless: {
        fleet: sizeServerlessFleet({ peakConcurrentFlows: 50 }),
        sizes: serverlessSizes,
        databaseMinAcu: 0,
      },
    });
    expect(report).toMatch(/serverless idle +serverless peak +standard idle +standard peak/);
    for (const item of [
      'ALB',
      'public IPv4',
      'CloudFront',
      'SQS requests',
      'Secrets Manager',
      'database compute',
      'database storage',
    ]) {
      expect(report).toMatch(
        new RegExp(`\\n  ${item} +(-?\\$\\d+\\.\\d\\d +){3}-?\\$\\d+\\.\\d\\d`),
      );
    }
    expect(report).toMatch(/\n {2}total +(\$\d+\.\d\d +){3}\$\d+\.\d\d/);
    expect(report).toMatch(
      /Serverless idle \$3\d\.\d\d meets the \$40 target \(\$\d+\.\d\d at list price/,
    );
    expect(LINE_ITEMS).toContain('CloudWatch free tier');
  });
});
