import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  BURST_ALARM_EVALUATION_PERIODS,
  BURST_COOLDOWN_SECONDS,
  DEFAULT_TASK_START_SECONDS,
  METRIC_PERIOD_SECONDS,
  SQS_METRIC_PERIOD_SECONDS,
  TARGET_SCALE_IN_COOLDOWN_SECONDS,
  TARGET_SCALE_OUT_COOLDOWN_SECONDS,
} from '../../lib/scaling-policy';
import {
  DEFAULT_SETTINGS,
  POLICIES,
  renderTable,
  SERVERLESS_POLICIES,
  simulate,
} from '../../scripts/scaling-sim/model';
import { PROFILES } from '../../scripts/scaling-sim/profiles';

const burst = Object.fromEntries(
  POLICIES.map((policy) => [policy, simulate(PROFILES.burst, policy)]),
);

describe('scaling simulator', () => {
  it('simulates the constants the CDK construct deploys', () => {
    expect(DEFAULT_SETTINGS).toMatchObject({
      metricPeriodS: METRIC_PERIOD_SECONDS,
      alarmEvaluationPeriods: BURST_ALARM_EVALUATION_PERIODS,
      taskStartS: DEFAULT_TASK_START_SECONDS,
      burstCooldownS: BURST_COOLDOWN_SECONDS,
      targetScaleOutCooldownS: TARGET_SCALE_OUT_COOLDOWN_SECONDS,
      targetScaleInCooldownS: TARGET_SCALE_IN_COOLDOWN_SECONDS,
    });
  });

  describe('for the burst profile', () => {
    it('gives the deployed policy a lower p95 wait than CPU target tracking', () => {
      expect(burst.deployed?.p95WaitS).toBeLessThan(burst['cpu-target-tracking']?.p95WaitS ?? 0);
    });

    it('gives the deployed policy fewer worker-hours than a static peak fleet', () => {
      expect(burst.deployed?.workerHours).toBeLessThan(burst['static-peak']?.workerHours ?? 0);
    });

    it('produces these exact deterministic figures', () => {
      expect(burst).toEqual({
        deployed: {
          policy: 'deployed',
          flows: 420,
          p50WaitS: 55,
          p95WaitS: 61,
          maxWaitS: 63,
          peakWorkers: 50,
          workerHours: 15.41,
          flowsKilled: 0,
        },
        'cpu-target-tracking': {
          policy: 'cpu-target-tracking',
          flows: 420,
          p50WaitS: 468,
          p95WaitS: 552,
          maxWaitS: 558,
          peakWorkers: 50,
          workerHours: 14.98,
          flowsKilled: 1,
        },
        'static-peak': {
          policy: 'static-peak',
          flows: 420,
          p50WaitS: 0,
          p95WaitS: 1,
          maxWaitS: 2,
          peakWorkers: 50,
          workerHours: 50,
          flowsKilled: 0,
        },
      });
    });
  });

  it('never kills a flow on scale-in under the deployed policy, unlike CPU tracking', () => {
    const daily = POLICIES.map((policy) => simulate(PROFILES.daily, policy));
    expect(daily.map((r) => [r.policy, r.flowsKilled])).toEqual([
      ['deployed', 0],
      ['cpu-target-tracking', 28],
      ['static-peak', 0],
    ]);
  });

  it('prints the table from npm run simulate:scaling -- --profile burst', () => {
    const printed = execFileSync(
      process.execPath,
      ['--import', 'tsx', 'scripts/simulate-scaling.ts', '--profile', 'burst'],
      { encoding: 'utf8' },
    );
    expect(printed.trim()).toBe(renderTable(PROFILES.burst, Object.values(burst)));
  });
});

describe('scaling simulator, serverless profile', () => {
  const run = (policy: (typeof SERVERLESS_POLICIES)[number], settings = DEFAULT_SETTINGS) =>
    simulate(PROFILES.burst, policy, settings);

  it('waits for SQS metrics a minute after their 1-minute period by default', () => {
    expect(DEFAULT_SETTINGS.sqsMetricDelayS).toBe(SQS_METRIC_PERIOD_SECONDS);
  });

  it('scales on AWS/SQS metrics alone, slower than the 10-second fast path but far ahead of CPU tracking', () => {
    const sqsOnly = run('sqs-metrics-only');
    const fastPath = run('sqs-metrics+app-fast-path');
    const cpu = run('cpu-target-tracking');
    expect(fastPath.p95WaitS).toBeLessThan(sqsOnly.p95WaitS);
    expect(sqsOnly.p95WaitS).toBeLessThan(cpu.p95WaitS);
    expect(sqsOnly.flowsKilled).toBe(0);
    expect(sqsOnly.peakWorkers).toBeLessThanOrEqual(DEFAULT_SETTINGS.maxWorkers);
  });

  it('waits longer when SQS metrics arrive later', () => {
    const prompt = run('sqs-metrics-only', { ...DEFAULT_SETTINGS, sqsMetricDelayS: 0 });
    const late = run('sqs-metrics-only', { ...DEFAULT_SETTINGS, sqsMetricDelayS: 180 });
    expect(late.p95WaitS).toBeGreaterThan(prompt.p95WaitS);
  });

  it('wakes a sleeping fleet (minWorkers 0) from the SQS visible-messages alarm alone', () => {
    const asleep = run('sqs-metrics-only', { ...DEFAULT_SETTINGS, minWorkers: 0 });
    expect(asleep.flows).toBe(420);
    // The first flow waits for a datapoint (up to 2 minutes) and a task start (45 s).
    expect(asleep.maxWaitS).toBeGreaterThan(DEFAULT_SETTINGS.taskStartS);
  });

  it('prints the serverless table from the CLI', () => {
    const table = execFileSync(
      process.execPath,
      [
        '--import',
        'tsx',
        'scripts/simulate-scaling.ts',
        '--profile',
        'burst',
        '--deployment',
        'serverless',
      ],
      { encoding: 'utf8' },
    );
    for (const policy of SERVERLESS_POLICIES) expect(table).toContain(`| ${policy} | 420 |`);
  });
});
