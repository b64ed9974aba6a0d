import { z } from 'zod';
import {
  ALB_IDLE_TIMEOUT_S,
  APP_PORT,
  DEFAULT_DB_POOL_SIZE,
  DEFAULT_DRAIN_TIMEOUT_S,
  DEFAULT_FLOW_TIMEOUT_S,
  DEFAULT_IDLE_RELEASE_S,
  DEFAULT_METRICS_INTERVAL_S,
  DEFAULT_SIGNED_URL_TTL_S,
  DEFAULT_WEBHOOK_TIMEOUT_S,
  HAND_OVER_BUDGET_S,
  MAX_DRAIN_TIMEOUT_S,
  MIN_SIGNING_SECRET_LENGTH,
  WORKER_HEALTH_PORT,
  WORKER_STOP_TIMEOUT_S,
} from './limits';
import { MAX_TASK_ROLE_SIGNED_URL_TTL_S } from './storage/signed-url-ttl';

/**
 * The ONLY module that reads process.env. Every variable is documented in the README.
 * Messages are phrased to follow the variable name: "PORT must be ...".
 */

/** A value as a refusal quotes it: escaped, so that the message stays one line, and cut short. */
const shown = (raw: string) => JSON.stringify(raw.length > 80 ? `${raw.slice(0, 80)}…` : raw);

const int = (min: number, max: number, fallback: number) =>
  z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined || raw === '') return fallback;
      const value = Number(raw);
      if (!/^-?\d+$/.test(raw.trim()) || value < min || value > max) {
        ctx.addIssue({
          code: 'custom',
          message: `must be an integer from ${min} to ${max} (got ${shown(raw)})`,
        });
        return z.NEVER;
      }
      return value;
    });

const oneOf = <const T extends readonly [string, ...string[]], F extends T[number] | undefined>(
  values: T,
  fallback: F,
) =>
  z
    .string()
    .optional()
    .transform((raw, ctx): T[number] | F => {
      if (raw === undefined || raw === '') return fallback;
      if (!(values as readonly string[]).includes(raw)) {
        ctx.addIssue({
          code: 'custom',
          message: `must be one of ${values.join(', ')} (got ${shown(raw)})`,
        });
        return z.NEVER;
      }
      return raw;
    });

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** What SLUICE_SECRETS_KEY (or the data dir's generated secrets-key) must be: base64 of ≥ 32 bytes. */
export const isSecretsKeyMaterial = (value: string): boolean =>
  BASE64.test(value) && Buffer.from(value, 'base64').length >= 32;

/** Only true/false/1/0: z.coerce.boolean would turn "false" into true. */
const BoolEnv = (fallback: boolean) =>
  z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined || raw === '') return fallback;
      if (raw === 'true' || raw === '1') return true;
      if (raw === 'false' || raw === '0') return false;
      ctx.addIssue({ code: 'custom', message: `must be true, false, 1 or 0 (got ${shown(raw)})` });
      return z.NEVER;
    });

const url = (protocols: readonly string[]) =>
  z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined || raw === '') return undefined;
      let parsed: URL;
      try {
        parsed = new URL(raw);
      } catch {
        ctx.addIssue({ code: 'custom', message: `must be a URL (${protocols.join(' or ')})` });
        return z.NEVER;
      }
      if (!protocols.includes(parsed.protocol.replace(/:$/, ''))) {
        ctx.addIssue({
          code: 'custom',
          message: `must use ${protocols.join(' or ')} (got ${shown(parsed.protocol)})`,
        });
        return z.NEVER;
      }
      // postgres: and redis: are not special schemes to the URL parser: "postgres:x" parses.
      if (parsed.hostname === '') {
        ctx.addIssue({ code: 'custom', message: 'must name a host' });
        return z.NEVER;
      }
      return raw;
    });

const text = () =>
  z
    .string()
    .optional()
    .transform((raw) => (raw === '' ? undefined : raw));

/** host:port pairs, comma separated, for Redis Sentinel. */
const hostPorts = () =>
  z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined || raw === '') return undefined;
      const pairs = raw.split(',').map((part) => part.trim());
      const parsed = pairs.map((pair) => /^([^:\s]+):(\d{1,5})$/.exec(pair));
      const isPort = (digits: string | undefined) => Number(digits) >= 1 && Number(digits) <= 65535;
      if (parsed.some((match) => match === null || !isPort(match[2]))) {
        ctx.addIssue({
          code: 'custom',
          message: `must be host:port[,host:port...] with ports from 1 to 65535 (got ${shown(raw)})`,
        });
        return z.NEVER;
      }
      return parsed.map((match) => ({ host: match?.[1] ?? '', port: Number(match?.[2]) }));
    });

const MiB = 1024 * 1024;

/** One `{hashtag}` per deployment: every key of its queue in one Redis Cluster slot. */
const defaultQueuePrefix = (deploymentName: string) => `{sluice:${deploymentName}}`;

type QueueDriverName = 'bullmq' | 'sqs' | 'memory';

/** SLUICE_QUEUE, or its default: bullmq when Redis is configured, memory in embedded mode. */
function queueDriverOf(env: {
  SLUICE_QUEUE?: QueueDriverName | undefined;
  REDIS_URL?: string | undefined;
  REDIS_SENTINELS?: unknown;
}): QueueDriverName {
  if (env.SLUICE_QUEUE !== undefined) return env.SLUICE_QUEUE;
  return env.REDIS_URL !== undefined || env.REDIS_SENTINELS !== undefined ? 'bullmq' : 'memory';
}

const envSchema = z
  .object({
    PORT: int(0, 65535, APP_PORT),
    HOST: text().transform((v) => v ?? '0.0.0.0'),
    // The load balancer's idle timeout, which Node's keep-alive must outlast (roles/http-server.ts).
    SLUICE_ALB_IDLE_TIMEOUT_S: int(1, 4000, ALB_IDLE_TIMEOUT_S),
    SLUICE_ROLE: oneOf(['app', 'worker', 'all'], 'all'),
    SLUICE_INSTANCE_ID: text(),
    SLUICE_PUBLIC_URL: url(['http', 'https']),
    SLUICE_LOG_LEVEL: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
    // A key shorter than this is guessable; the value is never echoed in the message.
    // Sent as `Authorization: Bearer <key>`, which ends at the first space.
    SLUICE_API_KEY: text().refine((v) => v === undefined || /^[\x21-\x7e]{32,}$/.test(v), {
      message: 'must be at least 32 characters of printable ASCII, without spaces',
    }),

    SLUICE_WORKER_CONCURRENCY: int(1, 64, 1),
    SLUICE_WORKER_HEALTH_PORT: int(0, 65535, WORKER_HEALTH_PORT),
    SLUICE_FLOW_TIMEOUT_S: int(1, 86_400, DEFAULT_FLOW_TIMEOUT_S),
    SLUICE_WEBHOOK_TIMEOUT_S: int(1, 900, DEFAULT_WEBHOOK_TIMEOUT_S),
    SLUICE_WEBHOOK_TOLERANCE_S: int(1, 3600, 300),
    SLUICE_WEBHOOK_SECRET_OVERLAP_S: int(0, 30 * 86_400, 900),
    SLUICE_DRAIN_TIMEOUT_S: int(0, 3600, DEFAULT_DRAIN_TIMEOUT_S),
    SLUICE_MAX_WEBHOOK_PAYLOAD_MB: int(1, 1024, 25),
    SLUICE_MAX_FILE_MB: int(1, 5120, 25),
    SLUICE_MAX_RUN_LOG_MB: int(1, 1024, 50),
    // Logs up to this size stay in the run row (no S3 PUT); 1 MiB keeps rows reasonable.
    SLUICE_INLINE_LOG_MAX_BYTES: int(0, MiB, 64 * 1024),
    SLUICE_MAX_STEP_OUTPUT_MB: int(1, 256, 1),
    SLUICE_MAX_LOOP_ITERATIONS: int(1, 1_000_000, 1000),
    SLUICE_CODE_TIMEOUT_MS: int(10, 600_000, 5000),
    SLUICE_CODE_MEMORY_MB: int(8, 4096, 64),
    SLUICE_HTTP_TIMEOUT_MS: int(100, 600_000, 10_000),
    SLUICE_HTTP_MAX_RESPONSE_MB: int(1, 1024, 5),
    SLUICE_HTTP_ALLOW_PRIVATE: BoolEnv(false),

    DATABASE_URL: url(['postgres', 'postgresql']),
    SLUICE_DB_PASSWORD: text(),
    SLUICE_DB_AUTH: oneOf(['password', 'iam'], 'password'),
    // Unset: the system CAs, and TLS as DATABASE_URL's sslmode says.
    SLUICE_DB_CA: text().refine((v) => v === undefined || v === 'rds', {
      message: 'must be rds, or unset for the system CAs',
    }),
    SLUICE_DB_ADMIN_URL: url(['postgres', 'postgresql']),
    SLUICE_DB_ADMIN_PASSWORD: text(),
    SLUICE_DB_SCHEMA_WAIT_S: int(1, 3600, 300),
    /** Set in every ECS task; signs RDS IAM auth tokens. */
    AWS_REGION: text(),
    SLUICE_DB_POOL_SIZE: int(1, 500, DEFAULT_DB_POOL_SIZE),
    SLUICE_DB_QUERY_TIMEOUT_MS: int(100, 600_000, 2000),
    SLUICE_DB_IDLE_TIMEOUT_MS: int(0, 3_600_000, 10_000),
    SLUICE_DATA_DIR: text().transform((v, ctx) => {
      // A path of spaces, or one padded with them, is a quoting slip rather than a place.
      if (v !== undefined && v.trim() !== v) {
        ctx.addIssue({
          code: 'custom',
          message: `must not start or end with white space (got ${shown(v)})`,
        });
      }
      return v ?? '.sluice';
    }),

    REDIS_URL: url(['redis', 'rediss']),
    SLUICE_REDIS_PASSWORD: text(),
    REDIS_SENTINELS: hostPorts(),
    REDIS_SENTINEL_MASTER: text(),
    // Unset: derived from SLUICE_DEPLOYMENT_NAME below, so deployments sharing a Redis never
    // share a queue by accident.
    SLUICE_QUEUE_PREFIX: text(),
    /** Unset: bullmq when Redis is configured, else memory (resolved after parsing). */
    SLUICE_QUEUE: oneOf(['bullmq', 'sqs', 'memory'], undefined),
    SLUICE_SQS_QUEUE_URL: url(['http', 'https']),
    SLUICE_SQS_ENDPOINT: url(['http', 'https']),
    SLUICE_SQS_REGION: text(),
    SLUICE_SQS_ACCESS_KEY_ID: text(),
    SLUICE_SQS_SECRET_ACCESS_KEY: text(),
    SLUICE_QUEUE_UI: BoolEnv(false),
    SLUICE_QUEUE_UI_USER: text(),
    SLUICE_QUEUE_UI_PASSWORD: text(),
    SLUICE_FAILED_JOB_RETENTION_DAYS: int(0, 3650, 7),
    SLUICE_FAILED_JOB_RETENTION_COUNT: int(0, 10_000_000, 10_000),
    SLUICE_MAX_ATTEMPTS: int(1, 20, 2),
    SLUICE_STALLED_AFTER_S: int(1, 3600, 30),
    SLUICE_RECONCILE_INTERVAL_S: int(1, 3600, 10),
    SLUICE_RECONCILE_AFTER_S: int(1, 86_400, 30),
    SLUICE_CANCEL_POLL_MS: int(50, 5000, 250),
    SLUICE_SCHEDULE_MIN_INTERVAL_S: int(1, 86_400, 10),
    SLUICE_SCHEDULE_MISSED_WINDOW_S: int(0, 86_400, 60),
    SLUICE_IDLE_RELEASE_S: int(0, 3600, DEFAULT_IDLE_RELEASE_S),

    SLUICE_STORAGE: oneOf(['local', 's3'], 'local'),
    SLUICE_S3_BUCKET: text(),
    SLUICE_S3_ENDPOINT: url(['http', 'https']),
    SLUICE_S3_REGION: text().transform((v) => v ?? 'us-east-1'),
    SLUICE_S3_ACCESS_KEY_ID: text(),
    SLUICE_S3_SECRET_ACCESS_KEY: text(),
    SLUICE_SIGNED_URL_TTL_S: int(1, 604_800, DEFAULT_SIGNED_URL_TTL_S),
    SLUICE_LOCAL_SIGNING_SECRET: text().refine(
      (v) => v === undefined || v.length >= MIN_SIGNING_SECRET_LENGTH,
      { message: `must be at least ${MIN_SIGNING_SECRET_LENGTH} characters` },
    ),

    /** How long a console sign-in lasts before the API key must be pasted again. */
    SLUICE_CONSOLE_SESSION_TTL_H: int(1, 720, 12),
    // Failed API key checks (sign-in form, Bearer) per client address per minute, per APP.
    SLUICE_AUTH_FAILURE_LIMIT: int(1, 100_000, 10),
    // Proxies in front of the APP that append to X-Forwarded-For (CloudFront + ALB: 2).
    SLUICE_TRUSTED_PROXY_HOPS: int(0, 10, 0),
    SLUICE_RUN_RETENTION_DAYS: int(1, 36_500, 30),
    SLUICE_FILE_RETENTION_DAYS: int(0, 36_500, 0),
    SLUICE_SECRETS_KEY: text().refine((v) => v === undefined || isSecretsKeyMaterial(v), {
      message: 'must be base64 of at least 32 bytes (openssl rand -base64 32)',
    }),
    SLUICE_SECRETS_KMS_KEY_ID: text(),

    SLUICE_METRICS: oneOf(['off', 'cloudwatch', 'emf'], 'off'),
    SLUICE_METRICS_INTERVAL_S: int(1, 3600, DEFAULT_METRICS_INTERVAL_S),
    SLUICE_DEPLOYMENT_NAME: text().transform((v) => v ?? 'sluice'),
    SLUICE_METRICS_REGION: text(),
    SLUICE_METRICS_ENDPOINT: url(['http', 'https']),
    /** Set by the ECS agent inside a task; enables scale-in protection while a flow runs. */
    ECS_AGENT_URI: url(['http', 'https']),
  })
  .superRefine((env, ctx) => {
    const hasRedis = env.REDIS_URL !== undefined || env.REDIS_SENTINELS !== undefined;
    const queue = queueDriverOf(env);
    const split = env.SLUICE_ROLE !== 'all';
    const need = (variable: string, message: string) =>
      ctx.addIssue({ code: 'custom', path: [variable], message });
    if (queue === 'memory' && split && env.SLUICE_QUEUE !== undefined) {
      // The in-process queue cannot reach another process.
      need('SLUICE_QUEUE', `memory needs SLUICE_ROLE=all (got SLUICE_ROLE=${env.SLUICE_ROLE})`);
    } else if (split && queue !== 'sqs' && !hasRedis) {
      need(
        'REDIS_URL',
        `is required when SLUICE_ROLE is ${env.SLUICE_ROLE} (or set SLUICE_QUEUE=sqs)`,
      );
    } else if (queue === 'bullmq' && !hasRedis) {
      need('REDIS_URL', 'or REDIS_SENTINELS is required when SLUICE_QUEUE is bullmq');
    }
    if (queue === 'sqs' && env.SLUICE_SQS_QUEUE_URL === undefined) {
      need('SLUICE_SQS_QUEUE_URL', 'is required when SLUICE_QUEUE is sqs');
    }
    if (queue === 'sqs' && env.DATABASE_URL === undefined) {
      // Sync replies and leases travel through PostgreSQL when there is no Redis.
      need('DATABASE_URL', 'is required when SLUICE_QUEUE is sqs');
    }
    if (
      queue === 'sqs' &&
      env.SLUICE_IDLE_RELEASE_S > 0 &&
      (env.SLUICE_DB_IDLE_TIMEOUT_MS === 0 ||
        env.SLUICE_DB_IDLE_TIMEOUT_MS > env.SLUICE_IDLE_RELEASE_S * 1000)
    ) {
      // An idle pool connection that never closes would keep a serverless Aurora awake.
      need(
        'SLUICE_DB_IDLE_TIMEOUT_MS',
        `must be from 1 to SLUICE_IDLE_RELEASE_S × 1000 (${env.SLUICE_IDLE_RELEASE_S * 1000}) when SLUICE_QUEUE is sqs, so that idle pool connections close too, or set SLUICE_IDLE_RELEASE_S=0 (got ${env.SLUICE_DB_IDLE_TIMEOUT_MS})`,
      );
    }
    if (
      (env.SLUICE_SQS_ACCESS_KEY_ID === undefined) !==
      (env.SLUICE_SQS_SECRET_ACCESS_KEY === undefined)
    ) {
      need('SLUICE_SQS_SECRET_ACCESS_KEY', 'and SLUICE_SQS_ACCESS_KEY_ID must be set together');
    }
    if (split && env.DATABASE_URL === undefined) {
      need('DATABASE_URL', `is required when SLUICE_ROLE is ${env.SLUICE_ROLE}`);
    }
    if (env.REDIS_SENTINELS !== undefined && env.REDIS_SENTINEL_MASTER === undefined) {
      need('REDIS_SENTINEL_MASTER', 'is required when REDIS_SENTINELS is set');
    } else if (env.REDIS_SENTINELS === undefined && env.REDIS_SENTINEL_MASTER !== undefined) {
      // It would be ignored: the queue would use REDIS_URL, or no Redis at all.
      need('REDIS_SENTINEL_MASTER', 'is only used with REDIS_SENTINELS, which is not set');
    }
    if (env.REDIS_SENTINELS !== undefined && env.REDIS_URL !== undefined) {
      // Sentinels name the master; the URL's host, database and password would be ignored.
      need('REDIS_URL', 'and REDIS_SENTINELS cannot both be set: give one way to find Redis');
    }
    if (env.SLUICE_QUEUE_UI && queue === 'sqs') {
      need('SLUICE_QUEUE_UI', 'is a BullMQ board and cannot be used when SLUICE_QUEUE is sqs');
    } else if (env.SLUICE_QUEUE_UI && !hasRedis) {
      need(
        'SLUICE_QUEUE_UI',
        'needs REDIS_URL or REDIS_SENTINELS (the in-process queue has no UI)',
      );
    }
    if (env.SLUICE_QUEUE_UI && env.SLUICE_QUEUE_UI_USER === undefined) {
      need('SLUICE_QUEUE_UI_USER', 'is required when SLUICE_QUEUE_UI is true');
    }
    if (env.SLUICE_QUEUE_UI && (env.SLUICE_QUEUE_UI_PASSWORD?.length ?? 0) < 12) {
      need(
        'SLUICE_QUEUE_UI_PASSWORD',
        'must be at least 12 characters when SLUICE_QUEUE_UI is true',
      );
    }
    if (env.SLUICE_STORAGE === 's3' && env.SLUICE_S3_BUCKET === undefined) {
      need('SLUICE_S3_BUCKET', 'is required when SLUICE_STORAGE is s3');
    }
    if (
      (env.SLUICE_S3_ACCESS_KEY_ID === undefined) !==
      (env.SLUICE_S3_SECRET_ACCESS_KEY === undefined)
    ) {
      need('SLUICE_S3_SECRET_ACCESS_KEY', 'and SLUICE_S3_ACCESS_KEY_ID must be set together');
    }
    if (env.SLUICE_QUEUE_PREFIX === undefined && /[{}]/.test(env.SLUICE_DEPLOYMENT_NAME)) {
      need(
        'SLUICE_DEPLOYMENT_NAME',
        `must not contain { or } while SLUICE_QUEUE_PREFIX is unset, since it names the queue prefix {sluice:<name>} (got ${shown(env.SLUICE_DEPLOYMENT_NAME)})`,
      );
    }
    if (
      env.SLUICE_STORAGE === 's3' &&
      env.SLUICE_S3_ACCESS_KEY_ID === undefined &&
      env.SLUICE_SIGNED_URL_TTL_S > MAX_TASK_ROLE_SIGNED_URL_TTL_S
    ) {
      // A pre-signed URL dies with the temporary credentials that signed it.
      need(
        'SLUICE_SIGNED_URL_TTL_S',
        `must be at most ${MAX_TASK_ROLE_SIGNED_URL_TTL_S} when S3 URLs are signed with task-role credentials, which live at most 6 hours and rotate (got ${env.SLUICE_SIGNED_URL_TTL_S})`,
      );
    }
    refineDatabaseAccess(env, need);
    refineServiceUrls(env, need);
    if (env.SLUICE_ROLE === 'all' && env.PORT !== 0 && env.PORT === env.SLUICE_WORKER_HEALTH_PORT) {
      need(
        'SLUICE_WORKER_HEALTH_PORT',
        `must differ from PORT when SLUICE_ROLE is all (both ${env.PORT})`,
      );
    }
    if (env.SLUICE_SECRETS_KMS_KEY_ID !== undefined && env.AWS_REGION === undefined) {
      need('AWS_REGION', 'is required when SLUICE_SECRETS_KMS_KEY_ID is set (KMS is called there)');
    }
    if (env.SLUICE_DRAIN_TIMEOUT_S > MAX_DRAIN_TIMEOUT_S && env.SLUICE_ROLE !== 'app') {
      // ECS kills the task WORKER_STOP_TIMEOUT_S after SIGTERM; the hand-over after the drain
      // deadline must finish before that, or the runs in hand wait for the stalled check.
      need(
        'SLUICE_DRAIN_TIMEOUT_S',
        `must be at most ${MAX_DRAIN_TIMEOUT_S}: with the ${HAND_OVER_BUDGET_S} s hand-over it must end before the ECS stopTimeout of ${WORKER_STOP_TIMEOUT_S} s (got ${env.SLUICE_DRAIN_TIMEOUT_S})`,
      );
    }
  })
  .transform((env) => ({
    ...env,
    SLUICE_QUEUE_PREFIX: env.SLUICE_QUEUE_PREFIX ?? defaultQueuePrefix(env.SLUICE_DEPLOYMENT_NAME),
    SLUICE_QUEUE: queueDriverOf(env),
    maxWebhookPayloadBytes: env.SLUICE_MAX_WEBHOOK_PAYLOAD_MB * MiB,
    maxFileBytes: env.SLUICE_MAX_FILE_MB * MiB,
    maxRunLogBytes: env.SLUICE_MAX_RUN_LOG_MB * MiB,
    maxStepOutputBytes: env.SLUICE_MAX_STEP_OUTPUT_MB * MiB,
    httpMaxResponseBytes: env.SLUICE_HTTP_MAX_RESPONSE_MB * MiB,
    publicUrl: publicUrlOf(env),
  }));

export type Env = z.infer<typeof envSchema>;

/** SLUICE_PUBLIC_URL as the URL parser reads it (scheme and host lowercased), without a final /. */
function publicUrlOf(env: { SLUICE_PUBLIC_URL: string | undefined; PORT: number }): string {
  if (env.SLUICE_PUBLIC_URL === undefined) return `http://localhost:${env.PORT}`;
  const parsed = new URL(env.SLUICE_PUBLIC_URL);
  return `${parsed.origin}${parsed.pathname}`.replace(/\/+$/, '');
}

/** What the URL parser accepts but the clients of these URLs would not. */
function refineServiceUrls(
  env: {
    DATABASE_URL: string | undefined;
    SLUICE_DB_ADMIN_URL: string | undefined;
    REDIS_URL: string | undefined;
    SLUICE_PUBLIC_URL: string | undefined;
  },
  need: (variable: string, message: string) => void,
): void {
  for (const variable of ['DATABASE_URL', 'SLUICE_DB_ADMIN_URL'] as const) {
    const value = env[variable];
    if (value === undefined) continue;
    const sslmode = new URL(value).searchParams.get('sslmode');
    if (sslmode !== null && !SSL_MODES.includes(sslmode)) {
      need(variable, `has sslmode ${shown(sslmode)}; use one of ${SSL_MODES.join(', ')}`);
    }
    if (userOf(value) === null) need(variable, 'has a user name that is not valid %-encoding');
  }
  if (env.REDIS_URL !== undefined) {
    const { pathname } = new URL(env.REDIS_URL);
    if (!/^\/?(\d|1[0-5])?$/.test(pathname)) {
      need(
        'REDIS_URL',
        `must name a database from 0 to 15 as its path, or none (got ${shown(pathname)})`,
      );
    }
  }
  if (env.SLUICE_PUBLIC_URL !== undefined) {
    const { search, hash } = new URL(env.SLUICE_PUBLIC_URL);
    if (search !== '' || hash !== '') {
      need(
        'SLUICE_PUBLIC_URL',
        'must have no query or fragment: webhook and console URLs are built on it',
      );
    }
  }
}

/** The sslmode values node-postgres reads in a connection string. */
const SSL_MODES = ['disable', 'prefer', 'require', 'verify-ca', 'verify-full', 'no-verify'];

/** A database URL's user name, decoded; null when its %-encoding is broken. */
function userOf(databaseUrl: string): string | null {
  try {
    return decodeURIComponent(new URL(databaseUrl).username);
  } catch {
    return null;
  }
}

/** The cross-variable rules of database access (README: Database access). */
function refineDatabaseAccess(
  env: {
    DATABASE_URL: string | undefined;
    SLUICE_DB_PASSWORD: string | undefined;
    SLUICE_DB_AUTH: 'password' | 'iam';
    SLUICE_DB_CA: string | undefined;
    SLUICE_DB_ADMIN_URL: string | undefined;
    SLUICE_DB_ADMIN_PASSWORD: string | undefined;
    AWS_REGION: string | undefined;
  },
  need: (variable: string, message: string) => void,
): void {
  const external = env.DATABASE_URL !== undefined;
  if (!external) {
    // Ignored, they would leave whoever set them on the embedded database without a word.
    for (const variable of [
      'SLUICE_DB_ADMIN_URL',
      'SLUICE_DB_CA',
      'SLUICE_DB_AUTH',
      'SLUICE_DB_PASSWORD',
      'SLUICE_DB_ADMIN_PASSWORD',
    ] as const) {
      const set = variable === 'SLUICE_DB_AUTH' ? env.SLUICE_DB_AUTH === 'iam' : env[variable];
      if (set) need(variable, 'needs DATABASE_URL (the embedded database has no such setting)');
    }
    return;
  }
  if (env.SLUICE_DB_AUTH === 'iam') {
    if (env.AWS_REGION === undefined) need('AWS_REGION', 'is required when SLUICE_DB_AUTH is iam');
    if (env.SLUICE_DB_PASSWORD !== undefined) {
      need('SLUICE_DB_PASSWORD', 'must be unset when SLUICE_DB_AUTH is iam (a token replaces it)');
    }
  }
  if (env.SLUICE_DB_ADMIN_PASSWORD !== undefined && env.SLUICE_DB_ADMIN_URL === undefined) {
    need('SLUICE_DB_ADMIN_PASSWORD', 'needs SLUICE_DB_ADMIN_URL');
  }
  if (env.SLUICE_DB_ADMIN_URL !== undefined) {
    const role = userOf(env.DATABASE_URL ?? '');
    const admin = userOf(env.SLUICE_DB_ADMIN_URL);
    // A user name that cannot be decoded is refused by refineServiceUrls.
    if (role === null || admin === null) return;
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(role)) {
      need(
        'DATABASE_URL',
        `must name the runtime role as its user (lowercase letters, digits, _) when SLUICE_DB_ADMIN_URL is set (got ${shown(role)})`,
      );
    } else if (role === admin) {
      need('SLUICE_DB_ADMIN_URL', `must name another user than DATABASE_URL (both "${role}")`);
    }
  }
}

export class EnvError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EnvError';
  }
}

/** Parses the environment, or throws EnvError whose message is one line naming each bad variable. */
export function parseEnv(source: Record<string, string | undefined>): Env {
  const result = envSchema.safeParse(source);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join('.')} ${issue.message}`);
  throw new EnvError(`invalid environment: ${problems.join('; ')}`);
}

export const readProcessEnv = (): Env => parseEnv(process.env);
