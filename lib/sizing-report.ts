import {
  conventionalMonthlyCost,
  DEFAULT_TRAFFIC,
  estimateMonthlyCost,
  HOURS_PER_MONTH,
  PRICES_TAKEN_ON,
  type TaskSizes,
  type TrafficAssumptions,
} from './pricing';
import type { FleetShape } from './sizing';

/** Our share of the conventional compute cost that DESIGN.md aims for. */
export const TARGET_COMPUTE_SHARE = 0.25;

const usd = (amount: number) => `$${amount.toFixed(2).padStart(9)}`;
const vcpu = (cpu: number) => `${cpu / 1024} vCPU`;
const gb = (memoryMiB: number) => `${memoryMiB / 1024} GB`;

/** The text `npm run size` prints: the fleet shape, its monthly cost, and the conventional one. */
export function renderSizingReport(
  fleet: FleetShape,
  sizes: TaskSizes,
  traffic: TrafficAssumptions = DEFAULT_TRAFFIC,
): string {
  const cost = estimateMonthlyCost(fleet, sizes, traffic);
  const appArchitecture = sizes.appArchitecture ?? 'x86_64';
  const conventional = conventionalMonthlyCost(fleet.workers);
  const share = cost.compute / conventional.compute;
  const conventionalApps = Math.ceil(fleet.workers / 10);
  const verdict = share <= TARGET_COMPUTE_SHARE ? 'meets' : 'misses';
  return [
    `Sluice fleet for ${fleet.workers} peak concurrent flows`,
    `  workers   ${fleet.workers} x ${vcpu(sizes.workerCpu)} / ${gb(sizes.workerMemoryMiB)}: ${fleet.onDemandWorkers} on FARGATE, ${fleet.spotWorkers} on FARGATE_SPOT`,
    `  apps      ${fleet.apps} x ${vcpu(sizes.appCpu)} / ${gb(sizes.appMemoryMiB)} on FARGATE (${appArchitecture}), up to ${fleet.maxApps} under request load`,
    `  database  db.${fleet.database.instanceType}${fleet.multiAz ? ' Multi-AZ' : ''}, max_connections ${fleet.database.maxConnections}, SLUICE_DB_POOL_SIZE ${fleet.dbPoolSize}`,
    `  cache     ${fleet.cacheNodes} x ${fleet.cacheNodeType} (Valkey)`,
    `  network   ${fleet.natGateways} NAT gateway(s) with ${fleet.natGateways} public IPv4 address(es), 1 internal ALB, CloudFront`,
    '',
    `Monthly estimate, whole peak shape running ${HOURS_PER_MONTH} h (prices ${PRICES_TAKEN_ON})`,
    `  workers on-demand  ${usd(cost.onDemandWorkers)}`,
    `  workers Spot       ${usd(cost.spotWorkers)}`,
    `  apps               ${usd(cost.apps)}`,
    `  RDS PostgreSQL     ${usd(cost.database)}`,
    `  ElastiCache        ${usd(cost.cache)}`,
    `  ALB                ${usd(cost.loadBalancer)}`,
    `  NAT gateways       ${usd(cost.natGateways)}`,
    `  public IPv4        ${usd(cost.publicIpv4)}`,
    `  CloudFront         ${usd(cost.cloudFront)}  (${traffic.requestsPerMonth.toLocaleString('en-US')} HTTPS requests, ${traffic.egressGbPerMonth} GB out)`,
    `  Secrets Manager    ${usd(cost.secrets)}`,
    `  CloudWatch         ${usd(cost.cloudWatch)}  (dashboard, alarms, metrics, ${traffic.logsGbPerMonth} GB of logs)`,
    `  total              ${usd(cost.total)}`,
    '',
    `Conventional shape: ${fleet.workers} on-demand workers x 0.5 vCPU / 1 GB, ${conventionalApps} apps x 1 vCPU / 1 GB, static`,
    `  compute            ${usd(conventional.compute)}`,
    `Sluice compute       ${usd(cost.compute)}  = ${(share * 100).toFixed(1)}% of conventional, a saving of ${((1 - share) * 100).toFixed(1)}% (${verdict} the ${TARGET_COMPUTE_SHARE * 100}% target)`,
    'Worker autoscaling runs fewer tasks than the peak most of the time, so this is an upper bound;',
    'the traffic lines (CloudFront, logs) follow use: set them with --requests, --egress-gb, --logs-gb.',
  ].join('\n');
}
