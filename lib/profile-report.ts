import { HOURS_PER_MONTH, PRICES_TAKEN_ON } from './pricing';
import {
  type CostAssumptions,
  DEFAULT_COST_ASSUMPTIONS,
  LINE_ITEMS,
  type ProfileMonth,
  type ProfileTaskSizes,
  serverlessMonths,
  standardMonths,
} from './profile-cost';
import type { ServerlessFleetShape } from './serverless-sizing';
import type { FleetShape } from './sizing';

/** The issue 14 promise: the serverless profile idles at or under this a month. */
export const SERVERLESS_IDLE_TARGET_USD = 40;

const usd = (amount: number) =>
  `${amount < 0 ? '-' : ''}$${Math.abs(amount).toFixed(2)}`.padStart(16);

/** Both profiles' shapes for one peak, with the task sizes each is priced at. */
export interface ProfileComparisonInput {
  readonly standard: { readonly fleet: FleetShape; readonly sizes: ProfileTaskSizes };
  readonly serverless: {
    readonly fleet: ServerlessFleetShape;
    readonly sizes: ProfileTaskSizes;
    readonly databaseMinAcu: number;
  };
  readonly assumptions?: CostAssumptions;
}

/** The serverless profile's shape, as `npm run size -- --profile serverless` prints it. */
export function renderServerlessShape(
  fleet: ServerlessFleetShape,
  sizes: ProfileTaskSizes,
  databaseMinAcu: number,
  minWorkers: number,
): string {
  const vcpu = (cpu: number) => `${cpu / 1024} vCPU`;
  const gb = (memoryMiB: number) => `${memoryMiB / 1024} GB`;
  return [
    `Sluice serverless profile for ${fleet.workers} peak concurrent flows`,
    `  workers   up to ${fleet.workers} x ${vcpu(sizes.workerCpu)} / ${gb(sizes.workerMemoryMiB)}, all on FARGATE_SPOT, ${minWorkers} kept warm`,
    `  apps      ${fleet.apps} x ${vcpu(sizes.appCpu)} / ${gb(sizes.appMemoryMiB)} on FARGATE (${sizes.appArchitecture}), up to ${fleet.maxApps} under request load (${fleet.minApps} at idle)`,
    `  database  Aurora Serverless v2, ${databaseMinAcu} to ${fleet.databaseMaxAcu} ACU${databaseMinAcu === 0 ? ' (pauses when no connection is open)' : ''}, about ${fleet.maxConnections} connections, SLUICE_DB_POOL_SIZE ${fleet.dbPoolSize}`,
    '  queue     SQS with a dead-letter queue (no ElastiCache)',
    '  network   no NAT gateway: tasks in public subnets with public IPs and no inbound rule; internal ALB; CloudFront',
  ].join('\n');
}

/**
 * Idle and peak monthly cost of both profiles, line by line from the same price constants,
 * and whether the serverless idle meets SERVERLESS_IDLE_TARGET_USD.
 */
export function renderProfileComparison(input: ProfileComparisonInput): string {
  const assumptions = input.assumptions ?? DEFAULT_COST_ASSUMPTIONS;
  const serverless = serverlessMonths(
    input.serverless.fleet,
    input.serverless.sizes,
    input.serverless.databaseMinAcu,
    assumptions,
  );
  const standard = standardMonths(input.standard.fleet, input.standard.sizes, assumptions);
  const listPrice = serverlessMonths(
    input.serverless.fleet,
    input.serverless.sizes,
    input.serverless.databaseMinAcu,
    { ...assumptions, cloudWatchFreeTier: false },
  ).idle.total;
  const columns: [string, ProfileMonth][] = [
    ['serverless idle', serverless.idle],
    ['serverless peak', serverless.peak],
    ['standard idle', standard.idle],
    ['standard peak', standard.peak],
  ];
  const label = (text: string) => `  ${text.padEnd(22)}`;
  const rows = LINE_ITEMS.filter((item) => columns.some(([, m]) => m.items[item] !== 0)).map(
    (item) => `${label(item)}${columns.map(([, m]) => usd(m.items[item])).join('')}`,
  );
  const idle = serverless.idle.total;
  const verdict = idle <= SERVERLESS_IDLE_TARGET_USD ? 'meets' : 'misses';
  return [
    `Monthly cost by profile, ${input.serverless.fleet.workers} peak concurrent flows (prices ${PRICES_TAKEN_ON}, ${HOURS_PER_MONTH} h)`,
    `${label('')}${columns.map(([name]) => name.padStart(16)).join('')}`,
    ...rows,
    `${label('total')}${columns.map(([, m]) => usd(m.total)).join('')}`,
    '',
    `Serverless idle ${usd(idle).trim()} ${verdict} the $${SERVERLESS_IDLE_TARGET_USD} target${assumptions.cloudWatchFreeTier ? ` (${usd(listPrice).trim()} at list price, without CloudWatch's always-free tier)` : ''}.`,
    `Idle: no traffic, the minimums running (${assumptions.minWorkers} worker(s); serverless Aurora at ${input.serverless.databaseMinAcu} ACU${input.serverless.databaseMinAcu === 0 ? ', paused' : ''}).`,
    `Peak: the whole peak shape for a month, flows of ${assumptions.flowDurationSeconds} s back to back (SQS at that rate), ${assumptions.traffic.requestsPerMonth.toLocaleString('en-US')} HTTPS requests, ${assumptions.traffic.egressGbPerMonth} GB out, ${assumptions.traffic.logsGbPerMonth} GB of logs.`,
    'CloudWatch free tier: 3 dashboards, 10 alarms, 10 metrics, 1M API requests, 5 GB logs per account; --list-price leaves it out.',
  ].join('\n');
}
