/**
 * Simulates worker scaling for an arrival profile under the deployed policy, CPU target
 * tracking and a static peak fleet, and prints a markdown table:
 *   npm run simulate:scaling -- --profile burst [--flow-duration 20] [--metric-period 10]
 *     [--alarm-evaluation 1] [--task-start 45] [--burst-cooldown 30]
 *     [--scale-out-cooldown 60] [--scale-in-cooldown 300] [--min-workers 1] [--max-workers 50]
 */
import { parseArgs } from 'node:util';
import {
  DEFAULT_SETTINGS,
  POLICIES,
  renderTable,
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
};

function main(): void {
  const { values } = parseArgs({
    options: {
      profile: { type: 'string', default: 'burst' },
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
  const profile = PROFILES[name as ProfileName];
  const results = POLICIES.map((policy) => simulate(profile, policy, settings));
  process.stdout.write(`${renderTable(profile, results)}\n`);
}

try {
  main();
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(1);
}
