import { sql } from 'drizzle-orm';
import {
  bigint,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  real,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

const createdAt = () =>
  timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow();

export const projects = pgTable('projects', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  createdAt: createdAt(),
});

/** Keys are stored as a SHA-256 hash; the prefix lets a person recognise a key. */
export const apiKeys = pgTable(
  'api_keys',
  {
    id: text('id').primaryKey(),
    projectId: text('project_id')
      .notNull()
      .references(() => projects.id),
    name: text('name').notNull(),
    prefix: text('prefix').notNull(),
    hash: text('hash').notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('api_keys_hash_idx').on(t.hash)],
);

export const flowStatuses = ['enabled', 'disabled'] as const;
export type FlowStatus = (typeof flowStatuses)[number];

export const flows = pgTable(
  'flows',
  {
    id: text('id').primaryKey(),
    projectId: text('project_id')
      .notNull()
      .references(() => projects.id),
    name: text('name').notNull(),
    status: text('status', { enum: flowStatuses }).notNull().default('enabled'),
    currentVersionId: text('current_version_id'),
    webhookSecret: text('webhook_secret'),
    /** The secret a rotation replaced; it still signs webhooks until the expiry below. */
    previousWebhookSecret: text('previous_webhook_secret'),
    previousWebhookSecretExpiresAt: timestamp('previous_webhook_secret_expires_at', {
      withTimezone: true,
    }),
    createdAt: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    /** Days its ended runs are kept; null: SLUICE_RUN_RETENTION_DAYS. */
    runRetentionDays: integer('run_retention_days'),
    /** Soft delete: the flow's runs stay readable after the flow is gone. */
    deletedAt: timestamp('deleted_at', { withTimezone: true }),
  },
  (t) => [index('flows_project_idx').on(t.projectId, t.createdAt)],
);

/** Immutable: a new definition is a new row. */
export const flowVersions = pgTable(
  'flow_versions',
  {
    id: text('id').primaryKey(),
    flowId: text('flow_id')
      .notNull()
      .references(() => flows.id),
    version: integer('version').notNull(),
    definition: jsonb('definition').notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('flow_versions_flow_version_idx').on(t.flowId, t.version)],
);

export const runStatuses = [
  'queued',
  'running',
  'succeeded',
  'failed',
  'timed_out',
  'canceled',
  'limit_exceeded',
] as const;
export type RunStatus = (typeof runStatuses)[number];
export const finalRunStatuses: readonly RunStatus[] = [
  'succeeded',
  'failed',
  'timed_out',
  'canceled',
  'limit_exceeded',
];

export const runs = pgTable(
  'runs',
  {
    id: text('id').primaryKey(),
    projectId: text('project_id')
      .notNull()
      .references(() => projects.id),
    flowId: text('flow_id')
      .notNull()
      .references(() => flows.id),
    flowVersionId: text('flow_version_id')
      .notNull()
      .references(() => flowVersions.id),
    status: text('status', { enum: runStatuses }).notNull().default('queued'),
    /** Incremented when a worker starts the run; fences late writes from an older attempt. */
    attempt: integer('attempt').notNull().default(0),
    /** Attempts handed back to the queue by a draining worker (SIGTERM deadline) and retried. */
    interruptions: integer('interruptions').notNull().default(0),
    trigger: jsonb('trigger').notNull(),
    createdAt: createdAt(),
    startedAt: timestamp('started_at', { withTimezone: true }),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
    error: text('error'),
    failedStep: text('failed_step'),
    /** The run log's object key, when the log is too large to keep inline (logBody). */
    logKey: text('log_key'),
    /**
     * The run log itself when it is at most SLUICE_INLINE_LOG_MAX_BYTES: written by the same
     * statement that records the outcome, so a small run costs no S3 PUT. PostgreSQL compresses
     * it (TOAST) past about 2 KB. Never selected with the run: see runColumns in run-store.ts.
     */
    logBody: text('log_body'),
    responseStatus: integer('response_status'),
    response: jsonb('response'),
    /** Enqueue to flow start (its first step starts within microseconds), as the worker saw it. */
    dispatchMs: real('dispatch_ms'),
    /** Per-step summary (id, type, status, timings, error); full outputs live in the log. */
    steps: jsonb('steps'),
    /** The async webhook's Idempotency-Key header; a repeat within 24 h gets this run back. */
    idempotencyKey: text('idempotency_key'),
    /**
     * When a repeat of the Idempotency-Key was answered 202 with this run. A first request whose
     * enqueue then fails may cancel its run only while this is null: it answers 202 instead,
     * and the reconciler enqueues the queued row, so no caller told 202 finds the run canceled.
     */
    repeatAcceptedAt: timestamp('repeat_accepted_at', { withTimezone: true }),
    /** The run this one replays (POST /v1/runs/:id/replay); null for a run a trigger started. */
    replayOf: text('replay_of'),
    /** The schedule tick this run is for; unique per flow, so a tick never starts two runs. */
    scheduledAt: timestamp('scheduled_at', { withTimezone: true, precision: 3 }),
  },
  (t) => [
    index('runs_project_created_idx').on(t.projectId, t.createdAt, t.id),
    index('runs_flow_created_idx').on(t.flowId, t.createdAt),
    index('runs_unfinished_idx')
      .on(t.status, t.createdAt)
      .where(sql`status in ('queued', 'running')`),
    // The pruner's scan: ended runs, oldest first.
    index('runs_ended_created_idx').on(t.createdAt).where(sql`status not in ('queued', 'running')`),
    uniqueIndex('runs_flow_idempotency_key_idx')
      .on(t.flowId, t.idempotencyKey)
      .where(sql`idempotency_key is not null`),
    uniqueIndex('runs_flow_scheduled_at_idx')
      .on(t.flowId, t.scheduledAt)
      .where(sql`scheduled_at is not null`),
  ],
);

export const fileKinds = ['FILE', 'RUN_LOG', 'STEP_FILE', 'PACKAGE_ARCHIVE'] as const;

export const files = pgTable(
  'files',
  {
    id: text('id').primaryKey(),
    projectId: text('project_id')
      .notNull()
      .references(() => projects.id),
    kind: text('kind', { enum: fileKinds }).notNull(),
    key: text('key').notNull(),
    size: bigint('size', { mode: 'number' }).notNull(),
    contentType: text('content_type'),
    name: text('name'),
    createdAt: createdAt(),
  },
  (t) => [
    index('files_project_idx').on(t.projectId, t.createdAt),
    // The pruner's scan (SLUICE_FILE_RETENTION_DAYS): uploaded files, oldest first.
    index('files_file_created_idx').on(t.createdAt).where(sql`kind = 'FILE'`),
  ],
);

/**
 * Console sign-ins: the API key is exchanged for a session whose token only the browser's
 * httpOnly cookie holds; the row keeps its SHA-256, so a database read does not yield a session.
 * In PostgreSQL (not memory) so that sessions survive a restart and span APP instances.
 */
export const consoleSessions = pgTable(
  'console_sessions',
  {
    tokenHash: text('token_hash').primaryKey(),
    projectId: text('project_id')
      .notNull()
      .references(() => projects.id),
    /** Sent back by the page in X-CSRF-Token (or a form field) on every state-changing request. */
    csrfToken: text('csrf_token').notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [index('console_sessions_expires_idx').on(t.expiresAt)],
);

/**
 * A project's secrets, envelope-encrypted: `ciphertext` is AES-256-GCM under a data key of
 * its own, and `wrapped_key` is that data key encrypted by the key-encryption key that
 * `key_source` names (`local`: SLUICE_SECRETS_KEY; `kms`: the stack's KMS key).
 */
export const secrets = pgTable(
  'secrets',
  {
    projectId: text('project_id')
      .notNull()
      .references(() => projects.id),
    name: text('name').notNull(),
    ciphertext: text('ciphertext').notNull(),
    wrappedKey: text('wrapped_key').notNull(),
    keySource: text('key_source', { enum: ['local', 'kms'] }).notNull(),
    createdAt: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.projectId, t.name] })],
);

/**
 * Keys the APP signs its own URLs with (an inline run log's `logUrl`), in PostgreSQL so that
 * every APP instance signs and verifies alike. Made by the first APP that needs one.
 */
export const urlSigningKeys = pgTable('url_signing_keys', {
  name: text('name').primaryKey(),
  secret: text('secret').notNull(),
  createdAt: createdAt(),
});

/**
 * The sqs queue's workers, as last seen: each upserts its row while it holds its PostgreSQL
 * session (on connect, then at most once a minute) and deletes it when it stops. A worker
 * resting while idle holds no connection (SLUICE_IDLE_RELEASE_S), so it cannot be seen in
 * pg_stat_activity; the live workers are the ones seen within WORKERS_SEEN_WINDOW_S.
 */
export const workerSightings = pgTable(
  'worker_sightings',
  {
    workerId: text('worker_id').primaryKey(),
    seenAt: timestamp('seen_at', { withTimezone: true }).notNull(),
  },
  (t) => [index('worker_sightings_seen_idx').on(t.seenAt)],
);
