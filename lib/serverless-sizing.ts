import { DEFAULT_DB_POOL_SIZE } from '../runtime/limits';
import {
  APP_SCALE_OUT_FACTOR,
  DEPLOYMENT_TASK_FACTOR,
  MIN_DB_POOL_SIZE,
  RESERVED_DB_CONNECTIONS,
  WORKERS_PER_APP,
} from './sizing';

/** The serverless profile's fleet, derived from the peak like sizeFleet's. */
export interface ServerlessFleetShape {
  /** Worker tasks at the peak, all on FARGATE_SPOT. */
  readonly workers: number;
  /** APP tasks at rest, and so at idle: SERVERLESS_MIN_APPS, whatever the peak. */
  readonly minApps: number;
  /** APP tasks the peak's requests need, max(1, ceil(peak / 10)): what the peak is priced at. */
  readonly apps: number;
  /** Most APP tasks request-count autoscaling may run: APP_SCALE_OUT_FACTOR x apps. */
  readonly maxApps: number;
  /** Aurora's most capacity units. */
  readonly databaseMaxAcu: number;
  /** Aurora's max_connections at `databaseMaxAcu` (see CONNECTIONS_PER_ACU). */
  readonly maxConnections: number;
  /** SLUICE_DB_POOL_SIZE for every task. */
  readonly dbPoolSize: number;
}

/** One APP task at rest: the serverless profile trades the second AZ's task for cost. */
export const SERVERLESS_MIN_APPS = 1;
/**
 * Aurora PostgreSQL sets max_connections from memory (2 GiB per ACU) as DBInstanceClassMemory /
 * 9531392, about 225 per ACU at the configured maximum.
 */
export const CONNECTIONS_PER_ACU = 225;
/** One ACU of headroom per 25 concurrent flows, for the run writes and log keys they make. */
export const FLOWS_PER_ACU = 25;
/** Aurora Serverless v2's ceiling per instance. */
const MAX_ACU = 256;
/** APP task of the serverless profile: 0.25 vCPU / 0.5 GB on ARM64. */
export const SERVERLESS_APP_CPU = 256;
export const SERVERLESS_APP_MEMORY_MIB = 512;

/**
 * Sizes the serverless profile from the peak: workers = peak (Spot), apps = max(1, ceil(peak /
 * 10)) up to twice that, and the smallest whole max ACU that gives one ACU per 25 flows and
 * fits every task's pool (of at least 2) with the APP tier at its maximum, deployment overlap
 * counted. `databaseMaxAcu` overrides the ACU; it must still fit the pools.
 */
export function sizeServerlessFleet(props: {
  readonly peakConcurrentFlows: number;
  readonly databaseMaxAcu?: number;
}): ServerlessFleetShape {
  const workers = props.peakConcurrentFlows;
  if (!Number.isInteger(workers) || workers < 1) {
    throw new Error(`peakConcurrentFlows must be a positive integer (got ${workers})`);
  }
  const apps = Math.max(SERVERLESS_MIN_APPS, Math.ceil(workers / WORKERS_PER_APP));
  const maxApps = APP_SCALE_OUT_FACTOR * apps;
  const taskSlots = (maxApps + workers) * DEPLOYMENT_TASK_FACTOR;
  const connectionsNeeded = taskSlots * MIN_DB_POOL_SIZE + RESERVED_DB_CONNECTIONS + 1;
  const fittingAcu = Math.max(
    1,
    Math.ceil(workers / FLOWS_PER_ACU),
    Math.ceil(connectionsNeeded / CONNECTIONS_PER_ACU),
  );
  const databaseMaxAcu = props.databaseMaxAcu ?? fittingAcu;
  if (databaseMaxAcu > MAX_ACU || fittingAcu > MAX_ACU) {
    throw new Error(
      `peakConcurrentFlows is too large for one Aurora Serverless v2 writer (got ${workers}): it needs ${fittingAcu} ACU, the ceiling is ${MAX_ACU}`,
    );
  }
  const maxConnections = Math.floor(databaseMaxAcu * CONNECTIONS_PER_ACU);
  const dbPoolSize = Math.min(
    DEFAULT_DB_POOL_SIZE,
    Math.floor((maxConnections - RESERVED_DB_CONNECTIONS - 1) / taskSlots),
  );
  if (dbPoolSize < MIN_DB_POOL_SIZE) {
    throw new Error(
      `databaseMaxAcu leaves each task a pool under ${MIN_DB_POOL_SIZE} connections (got ${databaseMaxAcu}; at least ${fittingAcu} fits ${workers} peak flows)`,
    );
  }
  return {
    workers,
    minApps: SERVERLESS_MIN_APPS,
    apps,
    maxApps,
    databaseMaxAcu,
    maxConnections,
    dbPoolSize,
  };
}
