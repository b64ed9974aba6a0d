/**
 * Simulates worker scaling for an arrival profile under the deployed policy, CPU target
 * tracking and a static peak fleet, and prints a markdown table:
 *   npm run simulate:scaling -- --profile burst [--deployment standard|serverless]
 *     [--flow-duration 20] [--metric-period 10] [--sqs-metric-delay 60]
 *     [--alarm-evaluation 1] [--task-start 45] [--burst-cooldown 30]
 *     [--scale-out-cooldown 60] [--scale-in-cooldown 300] [--min-workers 1] [--max-workers 50]
 */
import { parseArgs } from 'node:util';
import {
  DEFAULT_SETTINGS,
  POLICIES,
  renderTable,
  SERVERLESS_POLICIES,
  type SimulationSettings,
  simulate,
} from './scaling-sim/model';
import { PROFILE_NAMES, PROFILES, type ProfileName } from './scaling-sim/profiles';

const FLAGS: Record<string, keyof SimulationSettings> = {
  'flow-duration': 'flowDurationS',
  'metric-period': 'metricPeriodS',
  'alarm-evaluation': 'alarmEvaluationPeriods',
  'task-start': 'taskStartS',
  'burst-cooldown': 'burstCooldownS',
  'scale-out-cooldown': 'targetScaleOutCooldownS',
  'scale-in-cooldown': 'targetScaleInCooldownS',
  'min-workers': 'minWorkers',
  'max-workers': 'maxWorkers',
  'sqs-metric-delay': 'sqsMetricDelayS',
};

function main(): void {
  const { values } = parseArgs({
    options: {
      profile: { type: 'string', default: 'burst' },
      deployment: { type: 'string', default: 'standard' },
      ...Object.fromEntries(Object.keys(FLAGS).map((flag) => [flag, { type: 'string' as const }])),
    },
  });
  const name = values.profile as string;
  if (!(PROFILE_NAMES as readonly string[]).includes(name)) {
    throw new Error(`--profile must be one of ${PROFILE_NAMES.join(', ')} (got ${name})`);
  }
  const settings = { ...DEFAULT_SETTINGS };
  for (const [flag, key] of Object.entries(FLAGS)) {
    const raw = (values as Record<string, string | undefined>)[flag];
    if (raw === undefined) continue;
    if (!/^\d+$/.test(raw))
      throw new Error(`--${flag} must be a non-negative integer (got ${raw})`);
    settings[key] = Number(raw);
  }
  const deployment = values.deployment as string;
  if (deployment !== 'standard' && deployment !== 'serverless') {
    throw new Error(`--deployment must be standard or serverless (got ${deployment})`);
  }
  const profile = PROFILES[name as ProfileName];
  // CPU target tracking has no datapoint with no task running, so from 0 it never starts one
  // and the simulation would never end: it is left out, and the table says so.
  const policies = (deployment === 'serverless' ? SERVERLESS_POLICIES : POLICIES).filter(
    (policy) => settings.minWorkers > 0 || policy !== 'cpu-target-tracking',
  );
  const results = policies.map((policy) => simulate(profile, policy, settings));
  process.stdout.write(`${renderTable(profile, results)}\n`);
  if (settings.minWorkers === 0) {
    process.stdout.write('(cpu-target-tracking left out: it cannot scale out from 0 tasks)\n');
  }
}

try {
  main();
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(1);
}
