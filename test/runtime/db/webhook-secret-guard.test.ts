import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DatabaseHandle, openPglite } from '../../../runtime/db/client';
import { addFlowVersion, createFlow } from '../../../runtime/db/flow-store';
import { insertQueuedRunOnce } from '../../../runtime/db/idempotent-run-store';
import { createProjectWithKey } from '../../../runtime/db/project-store';
import { insertWebhookRuns } from '../../../runtime/db/run-store';
import { flows } from '../../../runtime/db/schema';
import { createTestDatabase } from '../../support/database';

const definition = {
  name: 'n',
  trigger: { type: 'webhook' },
  steps: [{ id: 'r', type: 'respond', status: 200, body: {} }],
};

// Both run inserts re-check, in the database, the secret a signature was checked with; the
// replaced secret only while the database's clock is before its expiry.
describe.each(['postgres', 'pglite'] as const)('the webhook secret guard on %s', (driver) => {
  let handle: DatabaseHandle;
  let cleanup: () => Promise<void>;
  let projectId: string;

  beforeAll(async () => {
    if (driver === 'postgres') {
      const database = await createTestDatabase();
      handle = database.handle;
      cleanup = database.drop;
    } else {
      const dir = mkdtempSync(join(tmpdir(), 'sluice-pglite-'));
      handle = await openPglite(dir);
      await handle.migrate();
      cleanup = async () => {
        await handle.close();
        rmSync(dir, { recursive: true, force: true });
      };
    }
    ({ projectId } = await createProjectWithKey(handle.db, {
      name: 'p',
      apiKey: `sk_test_${driver}_guard_0123456789abcdef`,
    }));
  }, 60_000);
  afterAll(() => cleanup());

  const rotate = async (flowId: string, webhookSecret: string | null, overlapS = 900) => {
    const added = await addFlowVersion(handle.db, {
      projectId,
      flowId,
      name: 'n',
      definition,
      secret: { webhookSecret, overlapS },
    });
    expect(added).not.toBeNull();
  };
  const endOverlap = (flowId: string) =>
    handle.db
      .update(flows)
      .set({ previousWebhookSecretExpiresAt: sql`now() - interval '1 second'` })
      .where(eq(flows.id, flowId));
  const run = (flowId: string, webhookSecret: string | null) => ({
    id: crypto.randomUUID(),
    flowId,
    triggerJson: '{"body":{}}',
    webhookSecret,
  });
  /** Whether each insert path takes a run signed with `secret`. */
  const accepted = async (flowId: string, secret: string | null) => {
    const [batched] = await insertWebhookRuns(handle.db, [run(flowId, secret)]);
    const once = await insertQueuedRunOnce(handle.db, run(flowId, secret), crypto.randomUUID());
    return { batched: batched !== null, once: once?.created ?? false };
  };
  const both = { batched: true, once: true };
  const neither = { batched: false, once: false };

  it('takes the replaced secret during the overlap, and refuses it once the overlap ends', async () => {
    const { id } = await createFlow(handle.db, {
      projectId,
      name: 'n',
      definition,
      webhookSecret: 'old-secret-0123456789',
    });
    await rotate(id, 'new-secret-0123456789');
    expect(await accepted(id, 'old-secret-0123456789')).toEqual(both);
    expect(await accepted(id, 'new-secret-0123456789')).toEqual(both);
    expect(await accepted(id, null)).toEqual(neither);
    await endOverlap(id);
    expect(await accepted(id, 'old-secret-0123456789')).toEqual(neither);
    expect(await accepted(id, 'new-secret-0123456789')).toEqual(both);
  });

  it('keeps only the secret just replaced, and none with a zero overlap', async () => {
    const { id } = await createFlow(handle.db, {
      projectId,
      name: 'n',
      definition,
      webhookSecret: 'first-secret-01234567',
    });
    await rotate(id, 'second-secret-0123456');
    await rotate(id, 'third-secret-01234567');
    expect(await accepted(id, 'first-secret-01234567')).toEqual(neither);
    expect(await accepted(id, 'second-secret-0123456')).toEqual(both);
    await rotate(id, 'fourth-secret-0123456', 0);
    expect(await accepted(id, 'third-secret-01234567')).toEqual(neither);
    expect(await accepted(id, 'fourth-secret-0123456')).toEqual(both);
  });

  it('takes unsigned runs only while the flow has no secret; clearing ends the overlap', async () => {
    const { id } = await createFlow(handle.db, {
      projectId,
      name: 'n',
      definition,
      webhookSecret: null,
    });
    expect(await accepted(id, null)).toEqual(both);
    await rotate(id, 'set-secret-0123456789');
    expect(await accepted(id, null)).toEqual(neither);
    await rotate(id, 'next-secret-012345678');
    await rotate(id, null);
    expect(await accepted(id, 'set-secret-0123456789')).toEqual(neither);
    expect(await accepted(id, 'next-secret-012345678')).toEqual(neither);
    expect(await accepted(id, null)).toEqual(both);
    const [row] = await handle.db.select().from(flows).where(eq(flows.id, id));
    expect(row).toMatchObject({
      previousWebhookSecret: null,
      previousWebhookSecretExpiresAt: null,
    });
  });

  it('leaves the secret and its overlap alone when the change is absent or the same secret', async () => {
    const { id } = await createFlow(handle.db, {
      projectId,
      name: 'n',
      definition,
      webhookSecret: 'kept-old-secret-012345',
    });
    await rotate(id, 'kept-new-secret-012345');
    const [before] = await handle.db.select().from(flows).where(eq(flows.id, id));
    await addFlowVersion(handle.db, { projectId, flowId: id, name: 'n', definition });
    await rotate(id, 'kept-new-secret-012345');
    const [after] = await handle.db.select().from(flows).where(eq(flows.id, id));
    expect(after).toMatchObject({
      webhookSecret: 'kept-new-secret-012345',
      previousWebhookSecret: 'kept-old-secret-012345',
      previousWebhookSecretExpiresAt: before?.previousWebhookSecretExpiresAt,
    });
  });

  it('answers a repeated Idempotency-Key only while the flow accepts the request', async () => {
    const { id } = await createFlow(handle.db, {
      projectId,
      name: 'n',
      definition,
      webhookSecret: 'keyed-old-secret-01234',
    });
    const first = await insertQueuedRunOnce(handle.db, run(id, 'keyed-old-secret-01234'), 'k');
    expect(first).toMatchObject({ created: true, projectId });
    const again = await insertQueuedRunOnce(handle.db, run(id, 'keyed-old-secret-01234'), 'k');
    expect(again).toEqual({ runId: first?.runId, created: false, projectId });
    await rotate(id, 'keyed-new-secret-01234', 0);
    expect(await insertQueuedRunOnce(handle.db, run(id, 'keyed-old-secret-01234'), 'k')).toBeNull();
  });
});
