import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { parseIntoClientConfig } from 'pg-connection-string';
import type { Logger } from 'pino';
import { checkedSecretsKey, checkedSigningSecret } from './data-dir-key-checks';
import { persistentDataDirSecret } from './data-dir-secret';
import {
  connectPostgres,
  type Database,
  type DatabaseHandle,
  migrateAsAdmin,
  openPglite,
  POSTGRES_TIMEOUT_MS,
  type PostgresAccess,
  type PostgresOptions,
} from './db/client';
import { DatabaseUnreachableError, unreachableCode } from './db/database-unreachable-error';
import { EmbeddedDatabaseError } from './db/embedded-database-error';
import { cachedAuthToken } from './db/iam-auth-token';
import { endedAmong } from './db/run-store';
import { createSessionConnection, type SessionOptions } from './db/session-connection';
import { rdsCaBundle, verifyFull } from './db/tls';
import { WORKERS_SEEN_WINDOW_S } from './db/worker-sightings-store';
import { type Env, EnvError } from './env';
import { createBullmqQueueDepth } from './metrics/bullmq-queue-depth';
import type { DepthSource } from './metrics/create-metrics';
import { type LiveWorkers, sightedWorkers, uncountedWorkers } from './metrics/live-workers';
import { createRedisPublisherLock } from './metrics/publisher-lock';
import { createBullmqDriver } from './queue/bullmq-driver';
import { createInProcessDriver } from './queue/in-process-driver';
import { createInProcessReplyBus } from './queue/in-process-reply-bus';
import { createPgReplyBus } from './queue/pg-reply-bus';
import { type RedisConfig, redisOptions } from './queue/redis-options';
import { assertRedisAnswers } from './queue/redis-reachability';
import { createRedisReplyBus } from './queue/redis-reply-bus';
import type { ReplyBus } from './queue/reply-bus';
import type { QueueDriver } from './queue/run-queue';
import { createIdleWatch, type IdleWatch } from './reliability/idle-watch';
import { createRedisLease, type LeaderLease, soleLease } from './reliability/leader-lease';
import { createPgLease } from './reliability/pg-lease';
import type { DataKeys } from './secrets/data-keys';
import { createLocalDataKeys } from './secrets/local-data-keys';
import { createSecretStore, type SecretStore } from './secrets/secret-store';
import {
  createLocalFileStore,
  type FileStore,
  type LocalFileStore,
  lazyFileStore,
} from './storage';

/** Builds each dependency from the environment: the drivers are chosen here and nowhere else. */

/** The runtime's PostgreSQL login: TLS from SLUICE_DB_CA, the password or an IAM token. */
async function postgresAccess(env: Env, url: string): Promise<PostgresAccess> {
  const ssl = env.SLUICE_DB_CA === 'rds' ? verifyFull(await rdsCaBundle()) : undefined;
  const password =
    env.SLUICE_DB_AUTH === 'iam'
      ? cachedAuthToken((await import('./db/rds-signer')).rdsSigner(url, env.AWS_REGION ?? ''))
      : env.SLUICE_DB_PASSWORD;
  return { url, password, ssl };
}

/** Longer than the pool's connect timeout, so that a silent server is named by that timeout. */
const LOGIN_CHECK_MS = 2 * POSTGRES_TIMEOUT_MS;

/**
 * Opens the database with its schema current. With SLUICE_DB_ADMIN_URL, this process migrates
 * as the admin and prepares the runtime role, then logs in as that role to serve; in IAM mode
 * without it, it waits for the APP to have done so; otherwise it migrates with DATABASE_URL.
 */
export async function openDatabase(env: Env, logger: Logger): Promise<DatabaseHandle> {
  if (env.DATABASE_URL === undefined) return openEmbedded(env.SLUICE_DATA_DIR);
  const options: PostgresOptions = {
    ...(await postgresAccess(env, env.DATABASE_URL)),
    poolSize: env.SLUICE_DB_POOL_SIZE,
    idleTimeoutMs: env.SLUICE_DB_IDLE_TIMEOUT_MS,
    queryTimeoutMs: env.SLUICE_DB_QUERY_TIMEOUT_MS,
  };
  if (env.SLUICE_DB_ADMIN_URL !== undefined) {
    await namingUnreachable(
      'SLUICE_DB_ADMIN_URL',
      env.SLUICE_DB_ADMIN_URL,
      migrateAsAdmin(
        { ...options, url: env.SLUICE_DB_ADMIN_URL, password: env.SLUICE_DB_ADMIN_PASSWORD },
        {
          role: decodeURIComponent(new URL(env.DATABASE_URL).username),
          password:
            env.SLUICE_DB_AUTH === 'iam' ? undefined : runtimePassword(env.DATABASE_URL, env),
        },
      ),
    );
  }
  const database = connectPostgres(options);
  const url = env.DATABASE_URL;
  try {
    // An IAM login is the runtime role; so is a password one that may not create in the
    // database. Neither can migrate: they wait for the APP, which migrates as the admin.
    const waits =
      env.SLUICE_DB_ADMIN_URL === undefined &&
      (env.SLUICE_DB_AUTH === 'iam' ||
        !(await namingUnreachable('DATABASE_URL', url, database.mayMigrate())));
    if (waits) {
      await database.waitForSchema({
        timeoutMs: env.SLUICE_DB_SCHEMA_WAIT_S * 1000,
        onWait: () => logger.info('waiting for the APP to migrate the database schema'),
      });
    } else if (env.SLUICE_DB_ADMIN_URL === undefined) {
      await namingUnreachable('DATABASE_URL', url, database.migrate());
    } else {
      // The admin's login says nothing of the runtime role's: a DATABASE_URL with another
      // host, port or database would otherwise fail every request instead of start-up.
      await namingUnreachable('DATABASE_URL', url, database.ping(LOGIN_CHECK_MS));
    }
  } catch (error) {
    await database.close().catch(() => {});
    throw error;
  }
  return database;
}

/** PGlite in the data dir, migrated; a directory it cannot open stops startup in one line. */
async function openEmbedded(dataDir: string): Promise<DatabaseHandle> {
  // Refused before PGlite is touched (a data dir in use): its EnvError already names it.
  const embedded = await openPglite(dataDir).catch((error: unknown) => {
    throw error instanceof EnvError ? error : new EmbeddedDatabaseError(dataDir, error);
  });
  try {
    await embedded.migrate();
    return embedded;
  } catch (error) {
    await embedded.close().catch(() => {});
    throw new EmbeddedDatabaseError(dataDir, error);
  }
}

/** `opening`, with a failure to reach or log in to PostgreSQL told in one line naming `variable`. */
async function namingUnreachable<T>(
  variable: string,
  url: string,
  opening: Promise<T>,
): Promise<T> {
  try {
    return await opening;
  } catch (error) {
    const code = unreachableCode(error);
    throw code === null ? error : new DatabaseUnreachableError(variable, url, code);
  }
}

/**
 * The password the runtime role logs in with in password mode: the variable, else the URL's as
 * the pool reads it (pg-connection-string keeps a `%` that encodes nothing, which
 * decodeURIComponent would throw on, and lets `?password=` stand for it).
 */
function runtimePassword(databaseUrl: string, env: Env): string | undefined {
  const inUrl = parseIntoClientConfig(databaseUrl).password;
  return env.SLUICE_DB_PASSWORD ?? (typeof inUrl === 'string' && inUrl !== '' ? inUrl : undefined);
}

const redisConfig = (env: Env): RedisConfig => ({
  url: env.REDIS_URL,
  password: env.SLUICE_REDIS_PASSWORD,
  sentinels: env.REDIS_SENTINELS,
  sentinelMaster: env.REDIS_SENTINEL_MASTER,
});

/**
 * A PostgreSQL session of its own (advisory locks, LISTEN): the sqs queue's coordination. It
 * logs in as the pool does: the same TLS verification, and the password or an IAM token.
 */
const openSession = (env: Env) => {
  let access: Promise<PostgresAccess> | undefined;
  return (options: Omit<SessionOptions, 'access'>) => {
    access ??= postgresAccess(env, env.DATABASE_URL ?? '');
    return createSessionConnection({ ...options, access });
  };
};

/**
 * The SQS client, loaded on first use like every AWS SDK client here: the SDK's module graph
 * costs a bullmq process about 4 MB of idle memory and 60 ms of start-up for nothing.
 */
const sqsClient = async (env: Env) =>
  (await import('./queue/sqs-client')).createSqsClient({
    queueUrl: env.SLUICE_SQS_QUEUE_URL ?? '',
    region: env.SLUICE_SQS_REGION,
    endpoint: env.SLUICE_SQS_ENDPOINT,
    credentials:
      env.SLUICE_SQS_ACCESS_KEY_ID !== undefined && env.SLUICE_SQS_SECRET_ACCESS_KEY !== undefined
        ? {
            accessKeyId: env.SLUICE_SQS_ACCESS_KEY_ID,
            secretAccessKey: env.SLUICE_SQS_SECRET_ACCESS_KEY,
          }
        : undefined,
  });

/** The sqs queue keeps its coordination in PostgreSQL: its parts need the pool. */
function requireDatabase(db: Database | undefined): Database {
  if (db === undefined) throw new Error('SLUICE_QUEUE=sqs needs the database handle');
  return db;
}

/**
 * Where this process counts its work, so that its PostgreSQL sessions and periodic queries
 * rest while it is idle (SLUICE_IDLE_RELEASE_S): with the sqs queue only, the serverless
 * profile's, whose Aurora pauses when no connection is open. Undefined: nothing rests.
 */
export function createIdleRelease(env: Env, logger: Logger): IdleWatch | undefined {
  if (env.SLUICE_QUEUE !== 'sqs' || env.SLUICE_IDLE_RELEASE_S === 0) return undefined;
  return createIdleWatch({ quietMs: env.SLUICE_IDLE_RELEASE_S * 1000, logger });
}

/**
 * Checks at start-up that the queue's service answers, so that a setting that cannot work stops
 * the process with one line (RedisUnreachableError) instead of leaving it unready and silent.
 * Only Redis needs it: the sqs driver's calls fail by themselves, and memory has no service.
 */
export async function assertQueueServiceAnswers(env: Env): Promise<void> {
  if (env.SLUICE_QUEUE === 'bullmq') await assertRedisAnswers(redisConfig(env));
}

/** SLUICE_QUEUE: the run queue's driver. `db` is required for sqs, whose code loads only then. */
export async function createQueueDriver(
  env: Env,
  logger: Logger,
  db?: Database,
  instanceId: string = randomUUID(),
): Promise<QueueDriver> {
  // The sqs driver says the same itself: every driver names the run whose processing threw.
  const runFailedToProcess = (error: unknown, runId: string) =>
    logger.error({ err: error, runId }, 'run failed to process');
  switch (env.SLUICE_QUEUE) {
    case 'memory':
      return createInProcessDriver(runFailedToProcess);
    case 'sqs':
      return (await import('./queue/sqs-driver')).createSqsDriver({
        client: await sqsClient(env),
        queueUrl: env.SLUICE_SQS_QUEUE_URL ?? '',
        db: requireDatabase(db),
        openSession: openSession(env),
        stalledAfterS: env.SLUICE_STALLED_AFTER_S,
        reconcileAfterS: env.SLUICE_RECONCILE_AFTER_S,
        workerId: instanceId,
        idleReleaseMs:
          env.SLUICE_IDLE_RELEASE_S === 0 ? undefined : env.SLUICE_IDLE_RELEASE_S * 1000,
        logger,
      });
    case 'bullmq':
      return createBullmqDriver({
        redis: redisConfig(env),
        prefix: env.SLUICE_QUEUE_PREFIX,
        failedJobRetentionDays: env.SLUICE_FAILED_JOB_RETENTION_DAYS,
        failedJobRetentionCount: env.SLUICE_FAILED_JOB_RETENTION_COUNT,
        stalledAfterMs: env.SLUICE_STALLED_AFTER_S * 1000,
        onWorkerError: (error) => logger.warn({ err: error }, 'queue worker error'),
        onRunError: runFailedToProcess,
      });
  }
}

/** The reconciler's lease: in Redis or PostgreSQL across APP instances, or trivially held in embedded mode. */
export function createReconcilerLease(env: Env, instanceId: string): LeaderLease {
  // Outlives two intervals, so a leader that misses one pass keeps the lease.
  return createLeaderLease(env, instanceId, 'reconciler', env.SLUICE_RECONCILE_INTERVAL_S * 2500);
}

/** The lease of the APP that fires schedule ticks; it passes on within 5 s of its holder dying. */
export function createSchedulerLease(env: Env, instanceId: string): LeaderLease {
  return createLeaderLease(env, instanceId, 'scheduler', 5000);
}

/** A lease named `name`, in the coordination store of the queue driver (see the DESIGN table). */
function createLeaderLease(
  env: Env,
  instanceId: string,
  name: string,
  redisTtlMs: number,
): LeaderLease {
  if (env.SLUICE_QUEUE === 'memory') return soleLease;
  if (env.SLUICE_QUEUE === 'sqs') {
    const session = openSession(env)({ applicationName: `sluice-${name}` });
    const lease = createPgLease(session, name);
    return {
      acquire: lease.acquire,
      async release() {
        await lease.release().catch(() => {});
        await session.close();
      },
      async rest() {
        await lease.release().catch(() => {});
        await session.rest();
      },
    };
  }
  const redis = new Redis(redisOptions(redisConfig(env), 'request'));
  redis.on('error', () => undefined);
  const lease = createRedisLease(
    redis,
    `${env.SLUICE_QUEUE_PREFIX}:${name}`,
    instanceId,
    redisTtlMs,
  );
  return {
    acquire: lease.acquire,
    async release() {
      await lease.release().catch(() => {});
      redis.disconnect();
    },
  };
}

/**
 * Queue depth for the APP's metrics and the lock that elects its one publisher. None in
 * embedded mode: an in-process queue's depth drives no autoscaling.
 */
export async function createDepthSource(
  env: Env,
  instanceId: string,
  db: Database | undefined,
  idle?: IdleWatch,
): Promise<DepthSource | undefined> {
  const intervalMs = env.SLUICE_METRICS_INTERVAL_S * 1000;
  switch (env.SLUICE_QUEUE) {
    case 'memory':
      return undefined;
    case 'sqs': {
      const client = await sqsClient(env);
      const { createSqsQueueDepth } = await import('./metrics/sqs-queue-depth');
      const session = openSession(env)({ applicationName: 'sluice-metrics' });
      const lease = createPgLease(session, 'metrics-depth-publisher');
      return {
        read: createSqsQueueDepth(
          client,
          env.SLUICE_SQS_QUEUE_URL ?? '',
          requireDatabase(db),
          WORKERS_SEEN_WINDOW_S,
        ),
        lock: { hold: lease.acquire, release: lease.release },
        ...(idle === undefined
          ? {}
          : {
              resting: {
                isQuiet: idle.isQuiet,
                async rest() {
                  await lease.release().catch(() => undefined);
                  await session.rest();
                },
              },
            }),
        async close() {
          await session.close();
          client.destroy();
        },
      };
    }
    case 'bullmq': {
      const depth = createBullmqQueueDepth(redisConfig(env), env.SLUICE_QUEUE_PREFIX);
      return {
        read: depth.read,
        lock: createRedisPublisherLock(
          depth.redis,
          `${env.SLUICE_QUEUE_PREFIX}:metrics:depth-publisher`,
          instanceId,
          Math.round(intervalMs * 1.5),
        ),
        close: depth.close,
      };
    }
  }
}

/** Loaded only when enabled: Bull Board and its UI cost memory every process would carry. */
export async function createQueueBoardIfEnabled(env: Env) {
  if (!env.SLUICE_QUEUE_UI) return undefined;
  const { createQueueBoard } = await import('./api/queue-board');
  return createQueueBoard({
    redis: redisConfig(env),
    prefix: env.SLUICE_QUEUE_PREFIX,
    user: env.SLUICE_QUEUE_UI_USER ?? '',
    password: env.SLUICE_QUEUE_UI_PASSWORD ?? '',
  });
}

/** Sync replies: Redis pub/sub, PostgreSQL LISTEN/NOTIFY (sqs), or in-process. `db` is required for sqs. */
export async function createReplyBus(
  env: Env,
  instanceId: string,
  { subscribe, db, idle }: { subscribe: boolean; db?: Database; idle?: IdleWatch | undefined },
): Promise<ReplyBus> {
  switch (env.SLUICE_QUEUE) {
    case 'memory':
      return createInProcessReplyBus(instanceId);
    case 'sqs':
      return createPgReplyBus(
        requireDatabase(db),
        instanceId,
        subscribe ? openSession(env) : null,
        idle,
      );
    case 'bullmq':
      return createRedisReplyBus(redisConfig(env), instanceId, {
        subscribe,
        ...(db === undefined ? {} : { endedAmong: (runIds) => endedAmong(db, runIds) }),
      });
  }
}

export function createFileStore(env: Env): { store: FileStore; localStore?: LocalFileStore } {
  if (env.SLUICE_STORAGE === 's3') {
    const credentials =
      env.SLUICE_S3_ACCESS_KEY_ID !== undefined && env.SLUICE_S3_SECRET_ACCESS_KEY !== undefined
        ? {
            accessKeyId: env.SLUICE_S3_ACCESS_KEY_ID,
            secretAccessKey: env.SLUICE_S3_SECRET_ACCESS_KEY,
          }
        : undefined;
    const options = {
      bucket: env.SLUICE_S3_BUCKET ?? '',
      region: env.SLUICE_S3_REGION,
      signedUrlTtlSeconds: env.SLUICE_SIGNED_URL_TTL_S,
      ...(env.SLUICE_S3_ENDPOINT === undefined ? {} : { endpoint: env.SLUICE_S3_ENDPOINT }),
      ...(credentials === undefined ? {} : { credentials }),
    };
    // Loaded on first use: see lazyFileStore.
    const store = lazyFileStore(async () =>
      (await import('./storage/s3-file-store')).createS3FileStore(options),
    );
    return { store };
  }
  const localStore = createLocalFileStore({
    dir: join(env.SLUICE_DATA_DIR, 'files'),
    publicBaseUrl: env.publicUrl,
    signingSecret: env.SLUICE_LOCAL_SIGNING_SECRET ?? persistentSigningSecret(env.SLUICE_DATA_DIR),
    signedUrlTtlSeconds: env.SLUICE_SIGNED_URL_TTL_S,
  });
  return { store: localStore, localStore };
}

/** Local signed URLs must survive a restart, so a generated secret is kept in the data dir. */
function persistentSigningSecret(dataDir: string): string {
  return checkedSigningSecret(
    dataDir,
    persistentDataDirSecret(dataDir, 'signing-secret', () => randomBytes(32).toString('hex')),
  );
}

/** Who counts the live workers for the console: BullMQ's worker list, or the workers' sightings. */
export function createLiveWorkers(env: Env, db: Database | undefined): LiveWorkers {
  switch (env.SLUICE_QUEUE) {
    case 'memory':
      return uncountedWorkers;
    case 'sqs':
      return sightedWorkers(requireDatabase(db), WORKERS_SEEN_WINDOW_S);
    case 'bullmq': {
      // Opened on first use: most APPs never serve the System page.
      let depth: ReturnType<typeof createBullmqQueueDepth> | undefined;
      return {
        async count() {
          depth ??= createBullmqQueueDepth(redisConfig(env), env.SLUICE_QUEUE_PREFIX);
          return (await depth.read()).workers;
        },
        close: async () => depth?.close(),
      };
    }
  }
}

/**
 * The key-encryption key for secrets: the KMS key when SLUICE_SECRETS_KMS_KEY_ID is set, else
 * SLUICE_SECRETS_KEY, else one generated once into the data dir (embedded installs).
 */
export async function createDataKeys(env: Env): Promise<DataKeys> {
  if (env.SLUICE_SECRETS_KMS_KEY_ID !== undefined) {
    const { createKmsDataKeys } = await import('./secrets/kms-data-keys');
    return createKmsDataKeys({
      keyId: env.SLUICE_SECRETS_KMS_KEY_ID,
      client: env.AWS_REGION === undefined ? {} : { region: env.AWS_REGION },
    });
  }
  const material =
    env.SLUICE_SECRETS_KEY ??
    checkedSecretsKey(
      env.SLUICE_DATA_DIR,
      persistentDataDirSecret(env.SLUICE_DATA_DIR, 'secrets-key', () =>
        randomBytes(32).toString('base64'),
      ),
    );
  return createLocalDataKeys(Buffer.from(material, 'base64'));
}

/** The secrets store, refusing to start when its key does not open what is stored. */
export async function openSecretStore(env: Env, database: DatabaseHandle): Promise<SecretStore> {
  const store = createSecretStore(database.db, await createDataKeys(env));
  await store.verifyKey();
  return store;
}
