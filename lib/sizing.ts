import { DEFAULT_DB_POOL_SIZE } from '../runtime/limits';

/** Input to {@link sizeFleet}: the one number a platform engineer picks, plus the Spot split. */
export interface FleetSizingProps {
  /** The most flows that must run at the same time; one worker task runs one flow. */
  readonly peakConcurrentFlows: number;
  /**
   * Worker tasks kept on on-demand FARGATE; the rest run on FARGATE_SPOT.
   * @default 1
   */
  readonly onDemandWorkerBase?: number;
  /**
   * Spread the data tier and NAT over two AZs: RDS Multi-AZ, a Redis replica with failover.
   * @default true
   */
  readonly multiAz?: boolean;
}

/** An RDS instance class, its memory, and the max_connections its parameter group sets. */
export interface DatabaseSize {
  readonly instanceType: string;
  readonly memoryGiB: number;
  readonly maxConnections: number;
}

/** The fleet that {@link sizeFleet} derives from the peak. */
export interface FleetShape {
  readonly workers: number;
  /** APP tasks at rest: the floor of request-count autoscaling. */
  readonly apps: number;
  /** Most APP tasks request-count autoscaling may run: APP_SCALE_OUT_FACTOR x apps. */
  readonly maxApps: number;
  readonly onDemandWorkers: number;
  readonly spotWorkers: number;
  readonly database: DatabaseSize;
  readonly cacheNodeType: string;
  /** Primary plus a replica in another AZ when Multi-AZ, else the primary alone. */
  readonly cacheNodes: number;
  /** One NAT gateway per AZ when Multi-AZ, else one shared. */
  readonly natGateways: number;
  readonly multiAz: boolean;
  /** SLUICE_DB_POOL_SIZE for every task, app and worker alike. */
  readonly dbPoolSize: number;
}

export const WORKERS_PER_APP = 10;
/** Two APP tasks so that one AZ or one task can fail without taking the API down. */
export const MIN_APPS = 2;
/** Request-count autoscaling may double the APP tier for a webhook burst. */
export const APP_SCALE_OUT_FACTOR = 2;
export const DEFAULT_ON_DEMAND_WORKER_BASE = 1;
/** Connections kept free for rdsadmin, superusers and a human with psql. */
export const RESERVED_DB_CONNECTIONS = 10;
/** A worker holds one connection for its run and one for the reconciler or a log write. */
export const MIN_DB_POOL_SIZE = 2;
/**
 * A rolling deployment runs old and new tasks side by side (maxHealthyPercent 200), so the
 * connection budget counts every task twice.
 */
export const DEPLOYMENT_TASK_FACTOR = 2;

/**
 * RDS PostgreSQL classes, smallest first. max_connections is set explicitly in the parameter
 * group, a little under RDS's memory-based default (DBInstanceClassMemory / 9531392), so the
 * pool arithmetic and the 80% alarm work from a known number.
 */
export const DATABASE_SIZES: readonly DatabaseSize[] = [
  { instanceType: 't4g.micro', memoryGiB: 1, maxConnections: 80 },
  { instanceType: 't4g.small', memoryGiB: 2, maxConnections: 180 },
  { instanceType: 't4g.medium', memoryGiB: 4, maxConnections: 400 },
  { instanceType: 'm7g.large', memoryGiB: 8, maxConnections: 800 },
  { instanceType: 'm7g.xlarge', memoryGiB: 16, maxConnections: 1600 },
  { instanceType: 'm7g.2xlarge', memoryGiB: 32, maxConnections: 3200 },
];

/** ElastiCache node types by peak: queue entries are small, but noeviction must never fill up. */
export const CACHE_NODE_TYPES: readonly { readonly maxPeak: number; readonly nodeType: string }[] =
  [
    { maxPeak: 20, nodeType: 'cache.t4g.micro' },
    { maxPeak: 100, nodeType: 'cache.t4g.small' },
    { maxPeak: 400, nodeType: 'cache.t4g.medium' },
    { maxPeak: Number.POSITIVE_INFINITY, nodeType: 'cache.m7g.large' },
  ];

const requirePositiveInteger = (name: string, value: number) => {
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`${name} must be a positive integer (got ${value})`);
  }
};

/** The largest pool that keeps every task's pool, at deployment overlap, under max_connections. */
const poolSizeFor = (database: DatabaseSize, tasks: number) =>
  Math.min(
    DEFAULT_DB_POOL_SIZE,
    Math.floor(
      (database.maxConnections - RESERVED_DB_CONNECTIONS - 1) / (tasks * DEPLOYMENT_TASK_FACTOR),
    ),
  );

/**
 * Sizes the whole fleet from the peak number of concurrent flows:
 * workers = peak, apps = max(2, ceil(workers / 10)) up to maxApps = 2 x apps under request load,
 * `onDemandWorkerBase` workers on FARGATE and the rest on FARGATE_SPOT, and the smallest
 * database whose connections fit every task's pool with the APP tier at its maximum.
 */
export function sizeFleet(props: FleetSizingProps): FleetShape {
  const peakConcurrentFlows = props.peakConcurrentFlows;
  const onDemandWorkerBase = props.onDemandWorkerBase ?? DEFAULT_ON_DEMAND_WORKER_BASE;
  const multiAz = props.multiAz ?? true;
  requirePositiveInteger('peakConcurrentFlows', peakConcurrentFlows);
  if (!Number.isInteger(onDemandWorkerBase) || onDemandWorkerBase < 0) {
    throw new Error(
      `onDemandWorkerBase must be a non-negative integer (got ${onDemandWorkerBase})`,
    );
  }
  if (onDemandWorkerBase > peakConcurrentFlows) {
    throw new Error(
      `onDemandWorkerBase must be at most peakConcurrentFlows ${peakConcurrentFlows} (got ${onDemandWorkerBase})`,
    );
  }

  const workers = peakConcurrentFlows;
  const apps = Math.max(MIN_APPS, Math.ceil(workers / WORKERS_PER_APP));
  const maxApps = APP_SCALE_OUT_FACTOR * apps;
  const tasks = maxApps + workers;
  const database = DATABASE_SIZES.find((size) => poolSizeFor(size, tasks) >= MIN_DB_POOL_SIZE);
  if (database === undefined) {
    const largest = DATABASE_SIZES[DATABASE_SIZES.length - 1];
    throw new Error(
      `peakConcurrentFlows is too large for one database (got ${peakConcurrentFlows}): ${tasks} tasks need more connections than db.${largest?.instanceType} allows`,
    );
  }
  const cache = CACHE_NODE_TYPES.find((tier) => peakConcurrentFlows <= tier.maxPeak);
  return {
    workers,
    apps,
    maxApps,
    onDemandWorkers: onDemandWorkerBase,
    spotWorkers: workers - onDemandWorkerBase,
    database,
    cacheNodeType: cache?.nodeType ?? 'cache.m7g.large',
    cacheNodes: multiAz ? 2 : 1,
    natGateways: multiAz ? 2 : 1,
    multiAz,
    dbPoolSize: poolSizeFor(database, tasks),
  };
}

/** Fargate task sizes in CPU units (1024 = 1 vCPU) and MiB. Workers default to the smallest. */
export const DEFAULT_WORKER_CPU = 256;
export const DEFAULT_WORKER_MEMORY_MIB = 512;
export const DEFAULT_APP_CPU = 512;
export const DEFAULT_APP_MEMORY_MIB = 1024;
