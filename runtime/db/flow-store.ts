import { randomBytes, randomUUID } from 'node:crypto';
import { and, desc, eq, isNull, lt, max, or, sql } from 'drizzle-orm';
import type { Database } from './client';
import { type FlowStatus, flows, flowVersions } from './schema';

/** 128 random bits: webhook URLs are public, so the id is the only thing guarding them. */
export const newFlowId = () => `flw_${randomBytes(16).toString('base64url')}`;

export interface FlowSummary {
  id: string;
  name: string;
  status: FlowStatus;
  currentVersionId: string | null;
  version: number | null;
  hasWebhookSecret: boolean;
  /** Days its ended runs are kept; null: SLUICE_RUN_RETENTION_DAYS. */
  runRetentionDays: number | null;
  /** Until when the secret a rotation replaced still signs webhooks; null when none does. */
  previousWebhookSecretExpiresAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** The database's clock decides when a replaced secret stops, so every APP instance agrees. */
const previousSecretLive = sql`${flows.previousWebhookSecret} is not null and ${flows.previousWebhookSecretExpiresAt} > now()`;

const summaryColumns = {
  id: flows.id,
  name: flows.name,
  status: flows.status,
  currentVersionId: flows.currentVersionId,
  version: flowVersions.version,
  hasWebhookSecret: sql<boolean>`${flows.webhookSecret} is not null`,
  runRetentionDays: flows.runRetentionDays,
  previousWebhookSecretExpiresAt:
    sql<Date | null>`case when ${previousSecretLive} then ${flows.previousWebhookSecretExpiresAt} end`.mapWith(
      flows.previousWebhookSecretExpiresAt,
    ),
  createdAt: flows.createdAt,
  updatedAt: flows.updatedAt,
};

export async function createFlow(
  db: Database,
  input: {
    projectId: string;
    name: string;
    definition: unknown;
    webhookSecret: string | null;
    runRetentionDays?: number | null | undefined;
  },
): Promise<{ id: string; versionId: string }> {
  const id = newFlowId();
  const versionId = randomUUID();
  await db.transaction(async (tx) => {
    await tx.insert(flows).values({
      id,
      projectId: input.projectId,
      name: input.name,
      webhookSecret: input.webhookSecret,
      runRetentionDays: input.runRetentionDays ?? null,
    });
    await tx
      .insert(flowVersions)
      .values({ id: versionId, flowId: id, version: 1, definition: input.definition });
    await tx.update(flows).set({ currentVersionId: versionId }).where(eq(flows.id, id));
  });
  return { id, versionId };
}

/**
 * A change of webhook secret: a string sets or rotates it, null clears it, undefined leaves
 * it. A rotation keeps the replaced secret valid for `overlapS` seconds (only the one just
 * replaced: rotating again drops the older one); clearing drops both at once.
 */
export interface WebhookSecretChange {
  webhookSecret?: string | null | undefined;
  overlapS: number;
}

/**
 * Adds an immutable version and makes it current, applying a webhook secret change in the
 * same transaction. Returns null for an unknown flow.
 */
export async function addFlowVersion(
  db: Database,
  input: {
    projectId: string;
    flowId: string;
    name: string;
    definition: unknown;
    secret?: WebhookSecretChange;
    /** Days this flow's ended runs are kept: null for the default, undefined leaves it. */
    runRetentionDays?: number | null | undefined;
  },
): Promise<{ versionId: string; version: number } | null> {
  return db.transaction(async (tx) => {
    const [flow] = await tx
      .select({ id: flows.id, webhookSecret: flows.webhookSecret })
      .from(flows)
      .where(liveFlow(input.projectId, input.flowId))
      .for('update');
    if (flow === undefined) return null;
    const [latest] = await tx
      .select({ version: max(flowVersions.version) })
      .from(flowVersions)
      .where(eq(flowVersions.flowId, input.flowId));
    const version = Number(latest?.version ?? 0) + 1;
    const versionId = randomUUID();
    await tx
      .insert(flowVersions)
      .values({ id: versionId, flowId: input.flowId, version, definition: input.definition });
    await tx
      .update(flows)
      .set({
        currentVersionId: versionId,
        name: input.name,
        updatedAt: new Date(),
        ...secretColumns(flow.webhookSecret, input.secret),
        ...(input.runRetentionDays === undefined
          ? {}
          : { runRetentionDays: input.runRetentionDays }),
      })
      .where(eq(flows.id, input.flowId));
    return { versionId, version };
  });
}

/** The flows columns a secret change writes, given the current secret; {} when none change. */
function secretColumns(current: string | null, change: WebhookSecretChange | undefined) {
  const next = change?.webhookSecret;
  if (change === undefined || next === undefined || next === current) return {};
  if (next === null || current === null || change.overlapS === 0) {
    return {
      webhookSecret: next,
      previousWebhookSecret: null,
      previousWebhookSecretExpiresAt: null,
    };
  }
  return {
    webhookSecret: next,
    previousWebhookSecret: current,
    previousWebhookSecretExpiresAt: sql`now() + make_interval(secs => ${change.overlapS})`,
  };
}

const liveFlow = (projectId: string, flowId: string) =>
  and(eq(flows.id, flowId), eq(flows.projectId, projectId), isNull(flows.deletedAt));

export async function findFlow(db: Database, projectId: string, flowId: string) {
  const [row] = await db
    .select({ ...summaryColumns, definition: flowVersions.definition })
    .from(flows)
    .leftJoin(flowVersions, eq(flowVersions.id, flows.currentVersionId))
    .where(liveFlow(projectId, flowId));
  return row ?? null;
}

/**
 * A page of the project's live flows, newest first. Flows created in the same millisecond go
 * by id, so paging on (createdAt, id) neither skips nor repeats one. `after`: where the
 * previous page ended.
 */
export async function listFlows(
  db: Database,
  page: {
    projectId: string;
    limit: number;
    after?: { createdAt: Date; id: string } | undefined;
  },
): Promise<FlowSummary[]> {
  const conditions = [eq(flows.projectId, page.projectId), isNull(flows.deletedAt)];
  if (page.after !== undefined) {
    const { createdAt, id } = page.after;
    const older = or(
      lt(flows.createdAt, createdAt),
      and(eq(flows.createdAt, createdAt), lt(flows.id, id)),
    );
    if (older !== undefined) conditions.push(older);
  }
  return db
    .select(summaryColumns)
    .from(flows)
    .leftJoin(flowVersions, eq(flowVersions.id, flows.currentVersionId))
    .where(and(...conditions))
    .orderBy(desc(flows.createdAt), desc(flows.id))
    .limit(page.limit);
}

/**
 * A page of a live flow's versions, newest first (version numbers are unique per flow);
 * `before`: the last version of the previous page. Null for an unknown flow.
 */
export async function listFlowVersions(
  db: Database,
  page: { projectId: string; flowId: string; limit: number; before?: number | undefined },
) {
  const [flow] = await db
    .select({ id: flows.id })
    .from(flows)
    .where(liveFlow(page.projectId, page.flowId));
  if (flow === undefined) return null;
  const conditions = [eq(flowVersions.flowId, page.flowId)];
  if (page.before !== undefined) conditions.push(lt(flowVersions.version, page.before));
  return db
    .select({
      id: flowVersions.id,
      version: flowVersions.version,
      createdAt: flowVersions.createdAt,
    })
    .from(flowVersions)
    .where(and(...conditions))
    .orderBy(desc(flowVersions.version))
    .limit(page.limit);
}

/** One version's definition by its number (the flow already found in its project), or null. */
export async function findVersionDefinition(db: Database, flowId: string, version: number) {
  const [row] = await db
    .select({ definition: flowVersions.definition })
    .from(flowVersions)
    .where(and(eq(flowVersions.flowId, flowId), eq(flowVersions.version, version)));
  return row ?? null;
}

export async function setFlowStatus(
  db: Database,
  projectId: string,
  flowId: string,
  status: FlowStatus,
): Promise<boolean> {
  const updated = await db
    .update(flows)
    .set({ status, updatedAt: new Date() })
    .where(liveFlow(projectId, flowId))
    .returning({ id: flows.id });
  return updated.length > 0;
}

/** Soft delete: webhooks stop answering, and the flow's runs stay readable. */
export async function deleteFlow(
  db: Database,
  projectId: string,
  flowId: string,
): Promise<boolean> {
  const updated = await db
    .update(flows)
    .set({ deletedAt: new Date(), status: 'disabled' })
    .where(liveFlow(projectId, flowId))
    .returning({ id: flows.id });
  return updated.length > 0;
}

/**
 * What a webhook needs: one indexed lookup, no project scoping (webhooks are public). The
 * replaced secret comes back only while the database's clock says its overlap lasts.
 */
export async function findWebhookTarget(db: Database, flowId: string) {
  const [row] = await db
    .select({
      projectId: flows.projectId,
      status: flows.status,
      currentVersionId: flows.currentVersionId,
      webhookSecret: flows.webhookSecret,
      previousWebhookSecret: sql<
        string | null
      >`case when ${previousSecretLive} then ${flows.previousWebhookSecret} end`,
      previousWebhookSecretExpiresAt:
        sql<Date | null>`case when ${previousSecretLive} then ${flows.previousWebhookSecretExpiresAt} end`.mapWith(
          flows.previousWebhookSecretExpiresAt,
        ),
    })
    .from(flows)
    .where(and(eq(flows.id, flowId), isNull(flows.deletedAt)));
  return row ?? null;
}

export async function loadFlowDefinition(db: Database, versionId: string): Promise<unknown> {
  const [row] = await db
    .select({ definition: flowVersions.definition })
    .from(flowVersions)
    .where(eq(flowVersions.id, versionId));
  return row?.definition ?? null;
}
