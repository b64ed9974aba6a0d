import {
  ALB_HOUR_USD,
  ALB_LCU_HOUR_USD,
  AURORA_ACU_HOUR_USD,
  AURORA_STORAGE_GB_MONTH_USD,
  CLOUDFRONT_EGRESS_GB_USD,
  CLOUDFRONT_HTTPS_PER_10K_USD,
  CLOUDWATCH_ALARM_MONTH_USD,
  CLOUDWATCH_DASHBOARD_MONTH_USD,
  CLOUDWATCH_FREE_TIER,
  CLOUDWATCH_HIGH_RES_ALARM_MONTH_USD,
  CLOUDWATCH_LOGS_INGEST_GB_USD,
  CLOUDWATCH_METRIC_MONTH_USD,
  CLOUDWATCH_PUT_METRIC_DATA_PER_1K_USD,
  DEFAULT_TRAFFIC,
  ELASTICACHE_VALKEY_NODE_HOUR_USD,
  FARGATE_ARM_GB_HOUR_USD,
  FARGATE_ARM_VCPU_HOUR_USD,
  FARGATE_GB_HOUR_USD,
  FARGATE_SPOT_GB_HOUR_USD,
  FARGATE_SPOT_VCPU_HOUR_USD,
  FARGATE_VCPU_HOUR_USD,
  HOURS_PER_MONTH,
  NAT_GATEWAY_HOUR_USD,
  PUBLIC_IPV4_HOUR_USD,
  PUT_METRIC_DATA_CALLS_PER_MONTH,
  RDS_GP3_GB_MONTH_USD,
  RDS_POSTGRES_HOUR_USD,
  SECRET_MONTH_USD,
  SERVERLESS_STACK_ALARMS,
  SERVERLESS_STACK_SECRETS,
  SQS_REQUESTS_PER_MILLION_USD,
  STACK_ALARMS,
  STACK_CUSTOM_METRICS,
  STACK_HIGH_RES_ALARMS,
  STACK_SECRETS,
  type TrafficAssumptions,
} from './pricing';
import type { ServerlessFleetShape } from './serverless-sizing';
import type { FleetShape } from './sizing';

/** One month of a profile in one state (idle or peak), as priced line items. */
export interface ProfileMonth {
  /** Line item name -> USD a month; the free-tier credit is negative. */
  readonly items: Readonly<Record<LineItem, number>>;
  readonly total: number;
}

export const LINE_ITEMS = [
  'workers on-demand',
  'workers Spot',
  'APP tasks',
  'database compute',
  'database storage',
  'ElastiCache',
  'ALB',
  'NAT gateways',
  'public IPv4',
  'CloudFront',
  'SQS requests',
  'Secrets Manager',
  'CloudWatch',
  'CloudWatch free tier',
] as const;
export type LineItem = (typeof LINE_ITEMS)[number];

/** What idle and peak mean beyond the fleet: the assumptions `npm run size` states. */
export interface CostAssumptions {
  /** Worker tasks running when idle (minWorkers). */
  readonly minWorkers: number;
  /** Seconds one flow runs; at the peak, peak / this many flows start each second. */
  readonly flowDurationSeconds: number;
  /** Traffic at the peak (CloudFront, logs); idle has none. */
  readonly traffic: TrafficAssumptions;
  /** Deduct CloudWatch's always-free tier (one Sluice per account). */
  readonly cloudWatchFreeTier: boolean;
}

export const DEFAULT_COST_ASSUMPTIONS: CostAssumptions = {
  minWorkers: 1,
  flowDurationSeconds: 20,
  traffic: DEFAULT_TRAFFIC,
  cloudWatchFreeTier: true,
};

/** The queue-depth metrics the APP publishes every 10 s, idle or not (5 of METRIC). */
const DEPTH_METRICS = 5;
/** Container Insights' metrics for one cluster and two services (see pricing.ts). */
const CONTAINER_INSIGHTS_METRICS = 30;
/** SQS requests per flow: send, receive, one visibility extension, delete. */
const SQS_REQUESTS_PER_FLOW = 4;
/** A worker long-polls for 20 s: three receives a minute while idle. */
const SQS_IDLE_POLLS_PER_WORKER_MONTH = 3 * 60 * HOURS_PER_MONTH;
/** The APP reads the queue's attributes once per 10 s metrics interval. */
const SQS_DEPTH_READS_PER_MONTH = PUT_METRIC_DATA_CALLS_PER_MONTH;
/** Aurora bills storage used; an idle install holds little. Peak uses the standard's 20 GB. */
export const AURORA_IDLE_STORAGE_GB = 2;
const PEAK_STORAGE_GB = 20;

const hourly = (usdPerHour: number) => usdPerHour * HOURS_PER_MONTH;
const task = (vcpuHour: number, gbHour: number, cpu: number, memoryMiB: number) =>
  hourly((cpu / 1024) * vcpuHour + (memoryMiB / 1024) * gbHour);
const onDemand = (cpu: number, memoryMiB: number) =>
  task(FARGATE_VCPU_HOUR_USD, FARGATE_GB_HOUR_USD, cpu, memoryMiB);
const spot = (cpu: number, memoryMiB: number) =>
  task(FARGATE_SPOT_VCPU_HOUR_USD, FARGATE_SPOT_GB_HOUR_USD, cpu, memoryMiB);
const arm = (cpu: number, memoryMiB: number) =>
  task(FARGATE_ARM_VCPU_HOUR_USD, FARGATE_ARM_GB_HOUR_USD, cpu, memoryMiB);

interface CloudWatchUse {
  readonly alarms: number;
  readonly highResAlarms: number;
  readonly metrics: number;
  readonly logsGb: number;
}

/** CloudWatch at list price, and the always-free tier's credit against it (0 or negative). */
function cloudWatch(use: CloudWatchUse, freeTier: boolean) {
  const list =
    CLOUDWATCH_DASHBOARD_MONTH_USD +
    use.alarms * CLOUDWATCH_ALARM_MONTH_USD +
    use.highResAlarms * CLOUDWATCH_HIGH_RES_ALARM_MONTH_USD +
    use.metrics * CLOUDWATCH_METRIC_MONTH_USD +
    (PUT_METRIC_DATA_CALLS_PER_MONTH / 1000) * CLOUDWATCH_PUT_METRIC_DATA_PER_1K_USD +
    use.logsGb * CLOUDWATCH_LOGS_INGEST_GB_USD;
  const free = CLOUDWATCH_FREE_TIER;
  const credit = freeTier
    ? Math.min(1, free.dashboards) * CLOUDWATCH_DASHBOARD_MONTH_USD +
      Math.min(use.alarms, free.alarms) * CLOUDWATCH_ALARM_MONTH_USD +
      Math.min(use.metrics, free.metrics) * CLOUDWATCH_METRIC_MONTH_USD +
      (Math.min(PUT_METRIC_DATA_CALLS_PER_MONTH, free.apiRequests) / 1000) *
        CLOUDWATCH_PUT_METRIC_DATA_PER_1K_USD +
      Math.min(use.logsGb, free.logsGb) * CLOUDWATCH_LOGS_INGEST_GB_USD
    : 0;
  return { list, credit: credit === 0 ? 0 : -credit };
}

const month = (items: Partial<Record<LineItem, number>>): ProfileMonth => {
  const full = Object.fromEntries(LINE_ITEMS.map((item) => [item, items[item] ?? 0])) as Record<
    LineItem,
    number
  >;
  return { items: full, total: Object.values(full).reduce((sum, usd) => sum + usd, 0) };
};

const cloudFront = (traffic: TrafficAssumptions) =>
  (traffic.requestsPerMonth / 10_000) * CLOUDFRONT_HTTPS_PER_10K_USD +
  traffic.egressGbPerMonth * CLOUDFRONT_EGRESS_GB_USD;

/** Task sizes in Fargate units, per tier. */
export interface ProfileTaskSizes {
  readonly workerCpu: number;
  readonly workerMemoryMiB: number;
  readonly appCpu: number;
  readonly appMemoryMiB: number;
  readonly appArchitecture: 'x86_64' | 'arm64';
}

/**
 * The standard profile idle (APP minimum, `minWorkers` on the on-demand base, the whole data
 * tier and NAT, no traffic) and at its peak (the whole peak shape for a month, with traffic).
 */
export function standardMonths(
  fleet: FleetShape,
  sizes: ProfileTaskSizes,
  assumptions: CostAssumptions = DEFAULT_COST_ASSUMPTIONS,
): { idle: ProfileMonth; peak: ProfileMonth } {
  const app = sizes.appArchitecture === 'arm64' ? arm : onDemand;
  const azCopies = fleet.multiAz ? 2 : 1;
  const database = (instanceType: string) => {
    const price = RDS_POSTGRES_HOUR_USD[instanceType];
    if (price === undefined) throw new Error(`no RDS price for ${instanceType}`);
    return azCopies * hourly(price);
  };
  const cacheNode = ELASTICACHE_VALKEY_NODE_HOUR_USD[fleet.cacheNodeType];
  if (cacheNode === undefined) throw new Error(`no ElastiCache price for ${fleet.cacheNodeType}`);
  const fixed = {
    'APP tasks': fleet.apps * app(sizes.appCpu, sizes.appMemoryMiB),
    'database compute': database(fleet.database.instanceType),
    'database storage': azCopies * PEAK_STORAGE_GB * RDS_GP3_GB_MONTH_USD,
    ElastiCache: fleet.cacheNodes * hourly(cacheNode),
    'NAT gateways': fleet.natGateways * hourly(NAT_GATEWAY_HOUR_USD),
    'public IPv4': fleet.natGateways * hourly(PUBLIC_IPV4_HOUR_USD),
    'Secrets Manager': STACK_SECRETS * SECRET_MONTH_USD,
  };
  const idleOnDemand = Math.min(assumptions.minWorkers, fleet.onDemandWorkers);
  const idleWatch = cloudWatch(
    {
      alarms: STACK_ALARMS,
      highResAlarms: STACK_HIGH_RES_ALARMS,
      metrics: DEPTH_METRICS + CONTAINER_INSIGHTS_METRICS,
      logsGb: 0,
    },
    assumptions.cloudWatchFreeTier,
  );
  const peakWatch = cloudWatch(
    {
      alarms: STACK_ALARMS,
      highResAlarms: STACK_HIGH_RES_ALARMS,
      metrics: STACK_CUSTOM_METRICS,
      logsGb: assumptions.traffic.logsGbPerMonth,
    },
    assumptions.cloudWatchFreeTier,
  );
  return {
    idle: month({
      ...fixed,
      'workers on-demand': idleOnDemand * onDemand(sizes.workerCpu, sizes.workerMemoryMiB),
      'workers Spot':
        (assumptions.minWorkers - idleOnDemand) * spot(sizes.workerCpu, sizes.workerMemoryMiB),
      ALB: hourly(ALB_HOUR_USD),
      CloudWatch: idleWatch.list,
      'CloudWatch free tier': idleWatch.credit,
    }),
    peak: month({
      ...fixed,
      'workers on-demand': fleet.onDemandWorkers * onDemand(sizes.workerCpu, sizes.workerMemoryMiB),
      'workers Spot': fleet.spotWorkers * spot(sizes.workerCpu, sizes.workerMemoryMiB),
      ALB: hourly(ALB_HOUR_USD + ALB_LCU_HOUR_USD),
      CloudFront: cloudFront(assumptions.traffic),
      CloudWatch: peakWatch.list,
      'CloudWatch free tier': peakWatch.credit,
    }),
  };
}

/**
 * The serverless profile idle (one APP task, `minWorkers` Spot workers, Aurora at
 * `databaseMinAcu`, paused at 0, workers' empty long polls) and at its peak (every worker on
 * Spot and the APP tier at its size for a month, Aurora at max ACU, SQS at the peak rate).
 */
export function serverlessMonths(
  fleet: ServerlessFleetShape,
  sizes: ProfileTaskSizes,
  databaseMinAcu: number,
  assumptions: CostAssumptions = DEFAULT_COST_ASSUMPTIONS,
): { idle: ProfileMonth; peak: ProfileMonth } {
  const app = sizes.appArchitecture === 'arm64' ? arm : onDemand;
  const worker = spot(sizes.workerCpu, sizes.workerMemoryMiB);
  const flowsPerMonth = (fleet.workers / assumptions.flowDurationSeconds) * HOURS_PER_MONTH * 3600;
  const sqs = (requests: number) => (requests / 1_000_000) * SQS_REQUESTS_PER_MILLION_USD;
  const secrets = SERVERLESS_STACK_SECRETS * SECRET_MONTH_USD;
  // Every task has its own public IP (no NAT); the ALB is internal and has none.
  const ipv4 = (tasks: number) => tasks * hourly(PUBLIC_IPV4_HOUR_USD);
  const idleWatch = cloudWatch(
    {
      alarms: SERVERLESS_STACK_ALARMS,
      highResAlarms: STACK_HIGH_RES_ALARMS,
      metrics: DEPTH_METRICS,
      logsGb: 0,
    },
    assumptions.cloudWatchFreeTier,
  );
  const peakWatch = cloudWatch(
    {
      alarms: SERVERLESS_STACK_ALARMS,
      highResAlarms: STACK_HIGH_RES_ALARMS,
      metrics: STACK_CUSTOM_METRICS - CONTAINER_INSIGHTS_METRICS,
      logsGb: assumptions.traffic.logsGbPerMonth,
    },
    assumptions.cloudWatchFreeTier,
  );
  return {
    idle: month({
      'workers Spot': assumptions.minWorkers * worker,
      'APP tasks': fleet.minApps * app(sizes.appCpu, sizes.appMemoryMiB),
      'database compute': hourly(databaseMinAcu * AURORA_ACU_HOUR_USD),
      'database storage': AURORA_IDLE_STORAGE_GB * AURORA_STORAGE_GB_MONTH_USD,
      ALB: hourly(ALB_HOUR_USD),
      'public IPv4': ipv4(fleet.minApps + assumptions.minWorkers),
      'SQS requests': sqs(
        assumptions.minWorkers * SQS_IDLE_POLLS_PER_WORKER_MONTH + SQS_DEPTH_READS_PER_MONTH,
      ),
      'Secrets Manager': secrets,
      CloudWatch: idleWatch.list,
      'CloudWatch free tier': idleWatch.credit,
    }),
    peak: month({
      'workers Spot': fleet.workers * worker,
      'APP tasks': fleet.apps * app(sizes.appCpu, sizes.appMemoryMiB),
      'database compute': hourly(fleet.databaseMaxAcu * AURORA_ACU_HOUR_USD),
      'database storage': PEAK_STORAGE_GB * AURORA_STORAGE_GB_MONTH_USD,
      ALB: hourly(ALB_HOUR_USD + ALB_LCU_HOUR_USD),
      'public IPv4': ipv4(fleet.apps + fleet.workers),
      CloudFront: cloudFront(assumptions.traffic),
      'SQS requests': sqs(flowsPerMonth * SQS_REQUESTS_PER_FLOW + SQS_DEPTH_READS_PER_MONTH),
      'Secrets Manager': secrets,
      CloudWatch: peakWatch.list,
      'CloudWatch free tier': peakWatch.credit,
    }),
  };
}
