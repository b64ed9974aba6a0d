import { describe, expect, it } from 'vitest';
import { sizeFleet } from '../../lib/sizing';
import { renderSizingReport } from '../../lib/sizing-report';

describe('renderSizingReport', () => {
  it('prints the fleet, the monthly cost, and the saving against the conventional shape', () => {
    // GIVEN the default task sizes at a peak of 50
    const fleet = sizeFleet({ peakConcurrentFlows: 50 });

    // WHEN the report is rendered
    const report = renderSizingReport(fleet, {
      workerCpu: 256,
      workerMemoryMiB: 512,
      appCpu: 512,
      appMemoryMiB: 1024,
    });

    // THEN it names the shape and the prices' date, and meets the 25% target
    expect(report).toContain('workers   50 x 0.25 vCPU / 0.5 GB: 1 on FARGATE, 49 on FARGATE_SPOT');
    expect(report).toContain('apps      5 x 0.5 vCPU / 1 GB on FARGATE (x86_64), up to 10');
    expect(report).toContain('db.t4g.medium Multi-AZ, max_connections 400, SLUICE_DB_POOL_SIZE 3');
    expect(report).toContain('2025-06, us-east-1');
    for (const line of ['public IPv4', 'CloudFront', 'Secrets Manager', 'CloudWatch']) {
      expect(report).toMatch(new RegExp(`\\n  ${line} +\\$ +\\d+\\.\\d\\d`));
    }
    expect(report).toContain('Conventional shape: 50 on-demand workers x 0.5 vCPU / 1 GB, 5 apps');
    expect(report).toMatch(
      /= 2\d\.\d% of conventional, a saving of 7\d\.\d% \(meets the 25% target\)/,
    );
  });
});
