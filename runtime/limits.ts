/**
 * Limits and defaults shared by the runtime and the CDK app. This is the one module
 * `lib/` may import from `runtime/`: plain constants, no imports, no side effects.
 */
export const APP_PORT = 3000;
export const DEFAULT_WEBHOOK_TIMEOUT_S = 30;
export const DEFAULT_FLOW_TIMEOUT_S = 600;
export const DEFAULT_DRAIN_TIMEOUT_S = 100;
/** ECS stopTimeout for workers; the drain timeout plus the hand-over must stay below it. */
export const WORKER_STOP_TIMEOUT_S = 120;
/** What a worker's hand-over (PostgreSQL, the queue, disposing isolates) may take past the drain deadline. */
export const HAND_OVER_BUDGET_S = 5;
/** The longest SLUICE_DRAIN_TIMEOUT_S that leaves the hand-over time before ECS's SIGKILL. */
export const MAX_DRAIN_TIMEOUT_S = WORKER_STOP_TIMEOUT_S - HAND_OVER_BUDGET_S - 1;
export const DEFAULT_SIGNED_URL_TTL_S = 900;
/** The shortest secret that signs local storage URLs: SLUICE_LOCAL_SIGNING_SECRET or the generated one. */
export const MIN_SIGNING_SECRET_LENGTH = 32;
/**
 * The KMS encryption context of every flow-secret data key, bound in at GenerateDataKey and
 * needed again at Decrypt; the task roles' KMS grants are conditioned on it.
 */
export const SECRETS_ENCRYPTION_CONTEXT = { purpose: 'sluice-secrets' } as const;
export const DEFAULT_DB_POOL_SIZE = 10;
/**
 * SLUICE_IDLE_RELEASE_S default: quiet seconds before an sqs-mode process closes its
 * PostgreSQL sessions. With the pool's 10 s idle timeout it leaves Aurora most of its
 * shortest auto-pause window (5 minutes) with no connection open.
 */
export const DEFAULT_IDLE_RELEASE_S = 60;
export const HEALTH_PATH = '/v1/health';
/** S3 object tag naming the key's KIND; the bucket's lifecycle rule expires RUN_LOG by it. */
export const STORAGE_KIND_TAG = 'sluice-kind';
/** SLUICE_METRICS_INTERVAL_S default: one high-resolution datapoint per 10 s. */
export const DEFAULT_METRICS_INTERVAL_S = 10;
/** CloudWatch namespace of every metric Sluice publishes; the IAM condition pins it. */
export const METRICS_NAMESPACE = 'Sluice';
/** The one dimension on every Sluice metric: SLUICE_DEPLOYMENT_NAME (the stack name on AWS). */
export const METRICS_DIMENSION = 'Deployment';
/** Metric names shared by the publisher and the CDK scaling policies, alarms and dashboard. */
export const METRIC = {
  queueWaiting: 'QueueWaiting',
  queueActive: 'QueueActive',
  oldestWaitingAgeSeconds: 'OldestWaitingAgeSeconds',
  workers: 'Workers',
  backlogPerWorker: 'BacklogPerWorker',
  runDurationMs: 'RunDurationMs',
  runsSucceeded: 'RunsSucceeded',
  runsFailed: 'RunsFailed',
  runsTimedOut: 'RunsTimedOut',
  syncWebhookLatencyMs: 'SyncWebhookLatencyMs',
  /** Jobs whose run this deployment's database does not know: a queue shared by mistake. */
  misroutedJobs: 'MisroutedJobs',
} as const;
/**
 * The Node.js line Sluice runs on (24 LTS, from 24.11): package.json `engines`, the image's
 * base, and the `node` package that development and tests run on all say the same.
 */
export const NODE_MAJOR = 24;
export const NODE_MIN_MINOR = 11;
/**
 * isolated-vm needs this flag on Node 20 and later (its README, still so for isolated-vm 7);
 * see NODE_ARGS_BY_ROLE.
 */
export const NO_NODE_SNAPSHOT_FLAG = '--no-node-snapshot';
/**
 * A worker holds one flow's data at a time: a 2 MiB young generation (V8 grows it to 16 MiB
 * by default) keeps an idle worker about 5 MB smaller, at no CPU cost measured per run.
 */
const WORKER_SEMI_SPACE_FLAG = '--max-semi-space-size=2';
/**
 * Node.js flags per SLUICE_ROLE: the container command on AWS, and every test and benchmark
 * that starts dist/main.mjs. The roles that run flows need NO_NODE_SNAPSHOT_FLAG (and refuse
 * to start without it); the app never loads isolated-vm and starts faster with Node's
 * startup snapshot.
 */
export const NODE_ARGS_BY_ROLE = {
  app: [],
  worker: [NO_NODE_SNAPSHOT_FLAG, WORKER_SEMI_SPACE_FLAG],
  all: [NO_NODE_SNAPSHOT_FLAG],
} as const;
/**
 * The load balancer's idle timeout. Node's keepAliveTimeout and headersTimeout must exceed it,
 * or the ALB reuses a socket Node has just closed and answers 502.
 */
export const ALB_IDLE_TIMEOUT_S = 60;
/** Loopback port of the worker's liveness endpoint, which its container health check probes. */
export const WORKER_HEALTH_PORT = 3001;
/** The container health check's command, relative to the image's WORKDIR (/app). */
export const WORKER_HEALTH_PROBE_COMMAND = ['node', 'health-probe.mjs'] as const;
