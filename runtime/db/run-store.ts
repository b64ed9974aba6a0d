import { and, desc, eq, getTableColumns, gte, inArray, lt, or, type SQL, sql } from 'drizzle-orm';
import type { Database } from './client';
import { keyedRunOfProject, keyedRunStatusIn } from './keyed-run-conditions';
import { preparedPerDatabase } from './prepared';
import { flows, type RunStatus, runs } from './schema';
import { storableJson, storableText } from './storable-text';

const { logBody: _readAlone, ...storedRunColumns } = getTableColumns(runs);

/**
 * A run as it is listed and shown: every column but the inline log (up to
 * SLUICE_INLINE_LOG_MAX_BYTES per run, read alone by readInlineRunLog), and whether it has one.
 */
const runColumns = {
  ...storedRunColumns,
  hasInlineLog: sql<boolean>`${runs.logBody} is not null`.mapWith(Boolean),
};

export type RunRow = Omit<typeof runs.$inferSelect, 'logBody'> & { hasInlineLog: boolean };

/**
 * A run as it is listed: no trigger, response or step summary. A list never shows them, and
 * each can weigh megabytes (a webhook body is up to SLUICE_MAX_WEBHOOK_PAYLOAD_MB), so a page
 * of runs that carried them could take longer than a query may.
 */
const {
  trigger: _triggerNotListed,
  response: _responseNotListed,
  steps: _stepsNotListed,
  ...runSummaryColumns
} = storedRunColumns;

export type RunSummary = Omit<RunRow, 'trigger' | 'response' | 'steps' | 'hasInlineLog'>;

/** A run as the API shows it: everything but the trigger, which can weigh megabytes. */
const { trigger: _triggerNotShown, ...runOutcomeColumns } = runColumns;

export type RunOutcomeRow = Omit<RunRow, 'trigger'>;

export interface NewRun {
  id: string;
  projectId: string;
  flowId: string;
  flowVersionId: string;
  trigger: unknown;
}

export async function insertQueuedRun(db: Database, run: NewRun): Promise<void> {
  await db.insert(runs).values({ ...run, status: 'queued' });
}

export interface StartedRun {
  projectId: string;
  flowId: string;
  flowVersionId: string;
  trigger: unknown;
  attempt: number;
}

const startRunStatement = preparedPerDatabase((db) =>
  db
    .update(runs)
    .set({ status: 'running', attempt: sql`${runs.attempt} + 1`, startedAt: sql`now()` })
    .where(
      and(
        eq(runs.id, sql.placeholder('runId')),
        keyedRunStatusIn(['queued', 'running']),
        // This one commit skips the WAL flush wait: see startRun.
        sql`set_config('synchronous_commit', 'off', true) is not null`,
      ),
    )
    .returning({
      projectId: runs.projectId,
      flowId: runs.flowId,
      flowVersionId: runs.flowVersionId,
      trigger: runs.trigger,
      attempt: runs.attempt,
    })
    .prepare('start_run'),
);

/**
 * Claims a run for this worker and bumps its attempt. A run that already ended is not
 * started again (a duplicate job delivery), so this returns null.
 *
 * The claim commits asynchronously (synchronous_commit off for its own transaction only), so
 * no run waits for a WAL flush on its way to its first step. Losing it is safe: only a
 * PostgreSQL crash within about 200 ms can, and then the row is back at `queued` with the
 * previous attempt, finishRun's fence refuses this attempt's outcome, and the reconciler
 * runs it again. The outbox row and the outcome (what callers are told) commit synchronously.
 */
export async function startRun(db: Database, runId: string): Promise<StartedRun | null> {
  const [row] = await startRunStatement(db).execute({ runId });
  return row ?? null;
}

/**
 * Whether this database has the run at all. Asked only when a claim finds nothing, to tell a
 * duplicate delivery (the run ended) from a job that belongs to another deployment.
 */
export async function runExists(db: Database, runId: string): Promise<boolean> {
  const rows = await db.select({ id: runs.id }).from(runs).where(eq(runs.id, runId)).limit(1);
  return rows.length > 0;
}

/** Those of `runIds` whose runs have ended (any status but queued and running). */
export async function endedAmong(db: Database, runIds: readonly string[]): Promise<string[]> {
  if (runIds.length === 0) return [];
  const rows = await db
    .select({ id: runs.id })
    .from(runs)
    .where(and(inArray(runs.id, [...runIds]), sql`not ${keyedRunStatusIn(['queued', 'running'])}`));
  return rows.map((row) => row.id);
}

export interface RunResult {
  status: Exclude<RunStatus, 'queued' | 'running'>;
  error: string | null;
  failedStep: string | null;
  /** Set when the log went to storage; null with `logBody` (or when there is no log). */
  logKey: string | null;
  /** The run log, kept in the row when it is small enough (SLUICE_INLINE_LOG_MAX_BYTES). */
  logBody: string | null;
  responseStatus: number | null;
  response: unknown;
  steps: unknown;
  dispatchMs: number | null;
}

/** A JSON value as a jsonb parameter; null stays SQL NULL, as the column mapping would do. */
const jsonbParam = (name: string) => sql`${sql.placeholder(name)}::jsonb`;
const toJsonb = (value: unknown) =>
  value === null || value === undefined ? null : storableJson(JSON.stringify(value));

/** The outcome's columns, from the placeholders finishRun and finishQueuedRun both fill. */
const outcomeColumns = () => ({
  status: sql`${sql.placeholder('status')}::text`,
  error: sql`${sql.placeholder('error')}::text`,
  failedStep: sql`${sql.placeholder('failedStep')}::text`,
  logKey: sql`${sql.placeholder('logKey')}::text`,
  logBody: sql`${sql.placeholder('logBody')}::text`,
  responseStatus: sql`${sql.placeholder('responseStatus')}::integer`,
  response: jsonbParam('response'),
  steps: jsonbParam('steps'),
  dispatchMs: sql`${sql.placeholder('dispatchMs')}::real`,
  finishedAt: sql`now()`,
});

/**
 * A NOTIFY the outcome's statement sends (a sync reply, with the PostgreSQL reply bus):
 * PostgreSQL delivers it at that commit, and only if the fenced update matched.
 */
export interface OutcomeNotify {
  channel: string;
  payload: string;
}

/** RETURNING's notify column: pg_notify when a channel is given, else nothing. */
const notifyColumn = () =>
  sql`case when ${sql.placeholder('notifyChannel')}::text is not null
    then pg_notify(${sql.placeholder('notifyChannel')}::text, ${sql.placeholder('notifyPayload')}::text) end`;

const notifyParams = (notify: OutcomeNotify | undefined) => ({
  notifyChannel: notify?.channel ?? null,
  notifyPayload: notify?.payload ?? null,
});

/** The outcome's parameters, as outcomeColumns names them. */
const outcomeParams = (result: RunResult) => ({
  status: result.status,
  error: storableText(result.error),
  failedStep: storableText(result.failedStep),
  logKey: result.logKey,
  logBody: result.logBody,
  responseStatus: result.responseStatus,
  response: toJsonb(result.response),
  steps: toJsonb(result.steps),
  dispatchMs: result.dispatchMs,
});

const finishRunStatement = preparedPerDatabase((db) =>
  db
    .update(runs)
    .set(outcomeColumns())
    .where(
      and(
        eq(runs.id, sql.placeholder('runId')),
        eq(runs.attempt, sql.placeholder('attempt')),
        keyedRunStatusIn(['running']),
      ),
    )
    .returning({ id: runs.id, notified: notifyColumn() })
    .prepare('finish_run'),
);

/**
 * Writes the outcome only if this attempt still owns the run (fencing): no newer attempt has
 * claimed it, and the reaper has not given it back to the queue or failed it as worker_lost.
 * `notify` is sent with the outcome, or not at all.
 */
export async function finishRun(
  db: Database,
  runId: string,
  attempt: number,
  result: RunResult,
  notify?: OutcomeNotify,
): Promise<boolean> {
  const updated = await finishRunStatement(db).execute({
    runId,
    attempt,
    ...outcomeParams(result),
    ...notifyParams(notify),
  });
  return updated.length > 0;
}

const finishQueuedRunStatement = preparedPerDatabase((db) =>
  db
    .update(runs)
    .set({
      ...outcomeColumns(),
      attempt: sql`${sql.placeholder('attempt')}::integer + 1`,
      startedAt: sql`now() - ${sql.placeholder('flowMs')}::double precision * interval '1 millisecond'`,
    })
    .where(
      and(
        eq(runs.id, sql.placeholder('runId')),
        keyedRunStatusIn(['queued']),
        eq(runs.attempt, sql.placeholder('attempt')),
        keyedRunOfProject(sql.placeholder('projectId')),
        eq(runs.flowVersionId, sql.placeholder('flowVersionId')),
      ),
    )
    .returning({ id: runs.id, notified: notifyColumn() })
    .prepare('finish_queued_run'),
);

/** The run a job's copy says it is: still queued at `attempt` (0 for a run never started). */
export interface QueuedRunCopy {
  projectId: string;
  flowVersionId: string;
  attempt: number;
}

/**
 * Claim and finish in one fenced statement, for a flow with no side effects that already ran
 * from the job's copy: the run moves from `queued` (at the attempt the copy names) straight to
 * its outcome, as attempt + 1. False when the row is anything else (claimed by another
 * attempt, canceled, ended, or not what the copy says): the caller then claims as usual.
 */
export async function finishQueuedRun(
  db: Database,
  runId: string,
  copy: QueuedRunCopy,
  result: RunResult & { flowMs: number },
  notify?: OutcomeNotify,
): Promise<boolean> {
  const updated = await finishQueuedRunStatement(db).execute({
    runId,
    projectId: copy.projectId,
    flowVersionId: copy.flowVersionId,
    attempt: copy.attempt,
    flowMs: result.flowMs,
    ...outcomeParams(result),
    ...notifyParams(notify),
  });
  return updated.length > 0;
}

/** The run `runId`, if it belongs to `projectId`. */
const runOfProject = (projectId: string, runId: string) =>
  and(eq(runs.id, runId), keyedRunOfProject(projectId));

export async function findRun(
  db: Database,
  projectId: string,
  runId: string,
): Promise<RunRow | null> {
  const [row] = await db.select(runColumns).from(runs).where(runOfProject(projectId, runId));
  return row ?? null;
}

/** findRun without the trigger: for readers that show a run's outcome, not its input. */
export async function findRunOutcome(
  db: Database,
  projectId: string,
  runId: string,
): Promise<RunOutcomeRow | null> {
  const [row] = await db.select(runOutcomeColumns).from(runs).where(runOfProject(projectId, runId));
  return row ?? null;
}

/**
 * A run's inline log (the JSON document a log object would hold), or null if it has none.
 * By id alone: its callers have checked the project, or hold a URL signed for this run.
 */
export async function readInlineRunLog(db: Database, runId: string): Promise<string | null> {
  const [row] = await db.select({ body: runs.logBody }).from(runs).where(eq(runs.id, runId));
  return row?.body ?? null;
}

export interface RunListFilter {
  projectId: string;
  flowId?: string | undefined;
  status?: RunStatus | undefined;
  limit: number;
  /** Created at or after / before these instants (the console's time range). */
  createdFrom?: Date | undefined;
  createdBefore?: Date | undefined;
  /** Keyset cursor: the last row of the previous page. */
  after?: { createdAt: Date; id: string } | undefined;
}

export async function listRuns(db: Database, filter: RunListFilter): Promise<RunSummary[]> {
  const conditions = [eq(runs.projectId, filter.projectId)];
  if (filter.flowId !== undefined) conditions.push(eq(runs.flowId, filter.flowId));
  if (filter.status !== undefined) conditions.push(eq(runs.status, filter.status));
  if (filter.createdFrom !== undefined) conditions.push(gte(runs.createdAt, filter.createdFrom));
  if (filter.createdBefore !== undefined) conditions.push(lt(runs.createdAt, filter.createdBefore));
  if (filter.after !== undefined) {
    const { createdAt, id } = filter.after;
    const older = or(
      lt(runs.createdAt, createdAt),
      and(eq(runs.createdAt, createdAt), lt(runs.id, id)),
    );
    if (older !== undefined) conditions.push(older);
  }
  return db
    .select(runSummaryColumns)
    .from(runs)
    .where(and(...conditions))
    .orderBy(desc(runs.createdAt), desc(runs.id))
    .limit(filter.limit);
}

/**
 * SQL over `flows f`: the flow accepts a signature checked with `secret` (null: unsigned, the
 * flow had no secret). Its current secret, or the one a rotation replaced while the
 * database's clock is before that one's expiry, so every APP instance agrees when it ends.
 */
export const acceptsWebhookSecret = (
  secret: SQL,
) => sql`(f.webhook_secret is not distinct from ${secret}
         or (f.previous_webhook_secret = ${secret}
             and f.previous_webhook_secret_expires_at > now()))`;

export interface WebhookRun {
  id: string;
  flowId: string;
  /** The trigger, already serialised: it is sent as is and weighs the batch. */
  triggerJson: string;
  /** The secret the caller's signature was checked with (null: the flow had none). */
  webhookSecret: string | null;
}

export interface InsertedWebhookRun {
  projectId: string;
  flowVersionId: string;
}

/**
 * The webhook's insert, prepared once per connection: the runs arrive as four arrays, so one
 * statement (parsed and planned once) serves a batch of any size.
 */
const insertWebhookRunsStatement = preparedPerDatabase((db) => {
  const inserted = db
    .$with('inserted', {
      id: sql<string>`id`.as('id'),
      projectId: sql<string>`project_id`.as('project_id'),
      flowVersionId: sql<string>`flow_version_id`.as('flow_version_id'),
    })
    .as(sql`
      insert into ${runs} (id, project_id, flow_id, flow_version_id, status, trigger)
      select v.id, f.project_id, f.id, f.current_version_id, 'queued', v.trigger::jsonb
        from unnest(${sql.placeholder('ids')}::text[], ${sql.placeholder('flowIds')}::text[],
                    ${sql.placeholder('triggers')}::text[], ${sql.placeholder('secrets')}::text[])
             as v (id, flow_id, trigger, secret)
        join ${flows} f on f.id = v.flow_id
       where f.status = 'enabled'
         and f.current_version_id is not null
         and f.deleted_at is null
         and ${acceptsWebhookSecret(sql`v.secret`)}
      returning id, project_id, flow_version_id`);
  return db.with(inserted).select().from(inserted).prepare('insert_webhook_runs');
});

/**
 * The webhook's one statement, for one or many runs: each run is inserted as `queued` only
 * while its flow is enabled, has a current version and still accepts the webhook secret the
 * caller's signature was checked with (see acceptsWebhookSecret). Answers per run, in order;
 * null where the flow no longer accepts it, so a cached view of a flow can never start a run
 * the flow refuses.
 */
export async function insertWebhookRuns(
  db: Database,
  batch: readonly WebhookRun[],
): Promise<(InsertedWebhookRun | null)[]> {
  const rows = await insertWebhookRunsStatement(db).execute({
    ids: batch.map((run) => run.id),
    flowIds: batch.map((run) => run.flowId),
    triggers: batch.map((run) => run.triggerJson),
    secrets: batch.map((run) => run.webhookSecret),
  });
  const inserted = new Map(rows.map((row) => [row.id, row]));
  return batch.map((run) => {
    const row = inserted.get(run.id);
    return row === undefined
      ? null
      : { projectId: row.projectId, flowVersionId: row.flowVersionId };
  });
}
