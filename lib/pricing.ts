import { METRIC } from '../runtime/limits';
import type { FleetShape } from './sizing';

/**
 * On-demand list prices for us-east-1 (Linux), USD, as published on the AWS pricing pages in
 * June 2025. Fargate Spot varies with supply and demand; the figures below are a
 * typical published Spot rate (about 67% off on-demand), not a guarantee.
 */
export const PRICES_TAKEN_ON = '2025-06, us-east-1';
export const HOURS_PER_MONTH = 730;

export const FARGATE_VCPU_HOUR_USD = 0.04048;
export const FARGATE_GB_HOUR_USD = 0.004445;
export const FARGATE_SPOT_VCPU_HOUR_USD = 0.01334053;
export const FARGATE_SPOT_GB_HOUR_USD = 0.00146489;
/** Fargate on Graviton (ARM64): about 20% below x86_64. Spot has no ARM64. */
export const FARGATE_ARM_VCPU_HOUR_USD = 0.03238;
export const FARGATE_ARM_GB_HOUR_USD = 0.00356;

/** RDS for PostgreSQL, single-AZ, per instance-hour; Multi-AZ doubles it. */
export const RDS_POSTGRES_HOUR_USD: Readonly<Record<string, number>> = {
  't4g.micro': 0.016,
  't4g.small': 0.032,
  't4g.medium': 0.065,
  'm7g.large': 0.168,
  'm7g.xlarge': 0.336,
  'm7g.2xlarge': 0.672,
};
/** gp3 storage per GB-month, single-AZ; Multi-AZ doubles it. */
export const RDS_GP3_GB_MONTH_USD = 0.115;

/** Aurora Serverless v2 (PostgreSQL, Standard storage config): per ACU-hour, per GB-month. */
export const AURORA_ACU_HOUR_USD = 0.12;
export const AURORA_STORAGE_GB_MONTH_USD = 0.1;
/** SQS standard queue, per million requests (a long poll that returns nothing is one request). */
export const SQS_REQUESTS_PER_MILLION_USD = 0.4;

/** ElastiCache for Valkey, node-based, per node-hour. */
export const ELASTICACHE_VALKEY_NODE_HOUR_USD: Readonly<Record<string, number>> = {
  'cache.t4g.micro': 0.0128,
  'cache.t4g.small': 0.0256,
  'cache.t4g.medium': 0.052,
  'cache.m7g.large': 0.1264,
};

export const ALB_HOUR_USD = 0.0225;
export const ALB_LCU_HOUR_USD = 0.008;
/** Hourly charge only; data processed ($0.045/GB) depends on what flows call. */
export const NAT_GATEWAY_HOUR_USD = 0.045;
/** Every public IPv4 address, in use or not (since February 2024): here, one per NAT gateway. */
export const PUBLIC_IPV4_HOUR_USD = 0.005;
/** CloudFront, North America and Europe: HTTPS requests per 10,000, and data out per GB. */
export const CLOUDFRONT_HTTPS_PER_10K_USD = 0.01;
export const CLOUDFRONT_EGRESS_GB_USD = 0.085;
/** Secrets Manager per secret-month: the master password, the Valkey AUTH token, the API key. */
export const SECRET_MONTH_USD = 0.4;
export const STACK_SECRETS = 3;
/** The serverless profile has no Valkey AUTH token: the master password and the API key. */
export const SERVERLESS_STACK_SECRETS = 2;
/** CloudWatch: a dashboard, a standard or high-resolution alarm, a custom metric, per month. */
export const CLOUDWATCH_DASHBOARD_MONTH_USD = 3;
export const CLOUDWATCH_ALARM_MONTH_USD = 0.1;
export const CLOUDWATCH_HIGH_RES_ALARM_MONTH_USD = 0.3;
export const CLOUDWATCH_METRIC_MONTH_USD = 0.3;
export const CLOUDWATCH_PUT_METRIC_DATA_PER_1K_USD = 0.01;
export const CLOUDWATCH_LOGS_INGEST_GB_USD = 0.5;
/**
 * What the stack puts in CloudWatch: the Dashboard construct's 11 alarms and the burst alarm
 * (10-second, high resolution) are in the template; target tracking adds 2 alarms per policy
 * (workers on BacklogPerWorker, APP on requests). Every Sluice metric (one dimension each),
 * and Container Insights' cluster and service metrics, which bill as custom metrics (about 30
 * for one cluster and two services).
 */
const CONTAINER_INSIGHTS_METRICS = 30;
export const STACK_ALARMS = 15;
export const STACK_HIGH_RES_ALARMS = 1;
export const STACK_CUSTOM_METRICS = Object.keys(METRIC).length + CONTAINER_INSIGHTS_METRICS;
/**
 * The serverless profile: Dashboard's 9 alarms (no Redis or RDS-instance ones; Aurora capacity,
 * the dead-letter queue and the oldest SQS message instead), the SQS step alarm, and target
 * tracking's 2 alarms for each of SQS backlog per task and APP requests; plus the same
 * 10-second burst alarm. No Container Insights.
 */
export const SERVERLESS_STACK_ALARMS = 14;
/**
 * CloudWatch's always-free tier, per account and month: 3 dashboards, 10 alarms (standard
 * resolution), 10 custom metrics, 1 million API requests, 5 GB of logs ingested.
 */
export const CLOUDWATCH_FREE_TIER = {
  dashboards: 3,
  alarms: 10,
  metrics: 10,
  apiRequests: 1_000_000,
  logsGb: 5,
} as const;
/** One PutMetricData call every 10 s from the APP publishing queue depth. */
export const PUT_METRIC_DATA_CALLS_PER_MONTH = (HOURS_PER_MONTH * 3600) / 10;

/** The conventional shape Sluice is compared with: static, on-demand, sized for the peak. */
export const CONVENTIONAL_WORKER = { vcpu: 0.5, memoryGiB: 1 } as const;
export const CONVENTIONAL_APP = { vcpu: 1, memoryGiB: 1 } as const;

/** Task sizes in Fargate units: CPU units (1024 = 1 vCPU) and MiB. */
export interface TaskSizes {
  readonly workerCpu: number;
  readonly workerMemoryMiB: number;
  readonly appCpu: number;
  readonly appMemoryMiB: number;
  /**
   * Allocated RDS storage.
   * @default 20
   */
  readonly databaseStorageGiB?: number;
  /**
   * CPU architecture of APP tasks; workers are x86_64 (Spot).
   * @default 'x86_64'
   */
  readonly appArchitecture?: 'x86_64' | 'arm64';
}

/** The traffic-driven part of the bill; it depends on use, so it is an assumption. */
export interface TrafficAssumptions {
  /** HTTPS requests a month through CloudFront. */
  readonly requestsPerMonth: number;
  /** GB a month CloudFront sends to callers. */
  readonly egressGbPerMonth: number;
  /** GB a month of container and VPC flow logs ingested. */
  readonly logsGbPerMonth: number;
}

export const DEFAULT_TRAFFIC: TrafficAssumptions = {
  requestsPerMonth: 1_000_000,
  egressGbPerMonth: 10,
  logsGbPerMonth: 10,
};

/** Monthly USD per line item. `compute` is the Fargate part that the conventional shape has. */
export interface MonthlyCost {
  readonly onDemandWorkers: number;
  readonly spotWorkers: number;
  readonly apps: number;
  readonly database: number;
  readonly cache: number;
  readonly loadBalancer: number;
  readonly natGateways: number;
  readonly publicIpv4: number;
  readonly cloudFront: number;
  readonly secrets: number;
  readonly cloudWatch: number;
  readonly compute: number;
  readonly total: number;
}

/** Monthly USD of the conventional shape's compute. */
export interface ConventionalCost {
  readonly workers: number;
  readonly apps: number;
  readonly compute: number;
}

const fargateHour = (vcpu: number, memoryGiB: number) =>
  vcpu * FARGATE_VCPU_HOUR_USD + memoryGiB * FARGATE_GB_HOUR_USD;
const armHour = (vcpu: number, memoryGiB: number) =>
  vcpu * FARGATE_ARM_VCPU_HOUR_USD + memoryGiB * FARGATE_ARM_GB_HOUR_USD;
const spotHour = (vcpu: number, memoryGiB: number) =>
  vcpu * FARGATE_SPOT_VCPU_HOUR_USD + memoryGiB * FARGATE_SPOT_GB_HOUR_USD;

const priceOf = (table: Readonly<Record<string, number>>, key: string, what: string) => {
  const price = table[key];
  if (price === undefined) throw new Error(`no ${what} price for ${key}`);
  return price;
};

/**
 * Monthly cost of the fleet running its whole peak shape around the clock: the upper bound,
 * since worker autoscaling only ever runs fewer tasks.
 */
export function estimateMonthlyCost(
  fleet: FleetShape,
  sizes: TaskSizes,
  traffic: TrafficAssumptions = DEFAULT_TRAFFIC,
): MonthlyCost {
  const storageGiB = sizes.databaseStorageGiB ?? 20;
  const appHour = sizes.appArchitecture === 'arm64' ? armHour : fargateHour;
  const azCopies = fleet.multiAz ? 2 : 1;
  const workerVcpu = sizes.workerCpu / 1024;
  const workerGiB = sizes.workerMemoryMiB / 1024;
  const onDemandWorkers =
    fleet.onDemandWorkers * fargateHour(workerVcpu, workerGiB) * HOURS_PER_MONTH;
  const spotWorkers = fleet.spotWorkers * spotHour(workerVcpu, workerGiB) * HOURS_PER_MONTH;
  const apps =
    fleet.apps * appHour(sizes.appCpu / 1024, sizes.appMemoryMiB / 1024) * HOURS_PER_MONTH;
  const database =
    azCopies *
    (priceOf(RDS_POSTGRES_HOUR_USD, fleet.database.instanceType, 'RDS') * HOURS_PER_MONTH +
      storageGiB * RDS_GP3_GB_MONTH_USD);
  const cache =
    fleet.cacheNodes *
    priceOf(ELASTICACHE_VALKEY_NODE_HOUR_USD, fleet.cacheNodeType, 'ElastiCache') *
    HOURS_PER_MONTH;
  const loadBalancer = (ALB_HOUR_USD + ALB_LCU_HOUR_USD) * HOURS_PER_MONTH;
  const natGateways = fleet.natGateways * NAT_GATEWAY_HOUR_USD * HOURS_PER_MONTH;
  // The ALB is internal and tasks have no public address: the NAT gateways hold the only ones.
  const publicIpv4 = fleet.natGateways * PUBLIC_IPV4_HOUR_USD * HOURS_PER_MONTH;
  const cloudFront =
    (traffic.requestsPerMonth / 10_000) * CLOUDFRONT_HTTPS_PER_10K_USD +
    traffic.egressGbPerMonth * CLOUDFRONT_EGRESS_GB_USD;
  const secrets = STACK_SECRETS * SECRET_MONTH_USD;
  const cloudWatch =
    CLOUDWATCH_DASHBOARD_MONTH_USD +
    STACK_ALARMS * CLOUDWATCH_ALARM_MONTH_USD +
    STACK_HIGH_RES_ALARMS * CLOUDWATCH_HIGH_RES_ALARM_MONTH_USD +
    STACK_CUSTOM_METRICS * CLOUDWATCH_METRIC_MONTH_USD +
    (PUT_METRIC_DATA_CALLS_PER_MONTH / 1000) * CLOUDWATCH_PUT_METRIC_DATA_PER_1K_USD +
    traffic.logsGbPerMonth * CLOUDWATCH_LOGS_INGEST_GB_USD;
  const compute = onDemandWorkers + spotWorkers + apps;
  return {
    onDemandWorkers,
    spotWorkers,
    apps,
    database,
    cache,
    loadBalancer,
    natGateways,
    publicIpv4,
    cloudFront,
    secrets,
    cloudWatch,
    compute,
    total:
      compute +
      database +
      cache +
      loadBalancer +
      natGateways +
      publicIpv4 +
      cloudFront +
      secrets +
      cloudWatch,
  };
}

/**
 * Compute cost of the conventional shape for the same peak: every worker on-demand at
 * 0.5 vCPU / 1 GB, sized statically for the peak, and one 1 vCPU / 1 GB app per 10 workers.
 */
export function conventionalMonthlyCost(peakConcurrentFlows: number): ConventionalCost {
  const apps = Math.ceil(peakConcurrentFlows / 10);
  const workersCost =
    peakConcurrentFlows *
    fargateHour(CONVENTIONAL_WORKER.vcpu, CONVENTIONAL_WORKER.memoryGiB) *
    HOURS_PER_MONTH;
  const appsCost =
    apps * fargateHour(CONVENTIONAL_APP.vcpu, CONVENTIONAL_APP.memoryGiB) * HOURS_PER_MONTH;
  return { workers: workersCost, apps: appsCost, compute: workersCost + appsCost };
}
