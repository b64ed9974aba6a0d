import type { FleetShape } from './sizing';

/**
 * On-demand list prices for us-east-1 (Linux/x86_64), USD, as published on the AWS pricing
 * pages in June 2025. Fargate Spot varies with supply and demand; the figures below are a
 * typical published Spot rate (about 67% off on-demand), not a guarantee.
 */
export const PRICES_TAKEN_ON = '2025-06, us-east-1';
export const HOURS_PER_MONTH = 730;

export const FARGATE_VCPU_HOUR_USD = 0.04048;
export const FARGATE_GB_HOUR_USD = 0.004445;
export const FARGATE_SPOT_VCPU_HOUR_USD = 0.01334053;
export const FARGATE_SPOT_GB_HOUR_USD = 0.00146489;

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
}

/** Monthly USD per line item. `compute` is the Fargate part that the conventional shape has. */
export interface MonthlyCost {
  readonly onDemandWorkers: number;
  readonly spotWorkers: number;
  readonly apps: number;
  readonly database: number;
  readonly cache: number;
  readonly loadBalancer: number;
  readonly natGateways: number;
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
export function estimateMonthlyCost(fleet: FleetShape, sizes: TaskSizes): MonthlyCost {
  const storageGiB = sizes.databaseStorageGiB ?? 20;
  const azCopies = fleet.multiAz ? 2 : 1;
  const workerVcpu = sizes.workerCpu / 1024;
  const workerGiB = sizes.workerMemoryMiB / 1024;
  const onDemandWorkers =
    fleet.onDemandWorkers * fargateHour(workerVcpu, workerGiB) * HOURS_PER_MONTH;
  const spotWorkers = fleet.spotWorkers * spotHour(workerVcpu, workerGiB) * HOURS_PER_MONTH;
  const apps =
    fleet.apps * fargateHour(sizes.appCpu / 1024, sizes.appMemoryMiB / 1024) * HOURS_PER_MONTH;
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
  const compute = onDemandWorkers + spotWorkers + apps;
  return {
    onDemandWorkers,
    spotWorkers,
    apps,
    database,
    cache,
    loadBalancer,
    natGateways,
    compute,
    total: compute + database + cache + loadBalancer + natGateways,
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
