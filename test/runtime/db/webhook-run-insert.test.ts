import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DatabaseHandle, openPglite } from '../../../runtime/db/client';
import { isDataRefusal } from '../../../runtime/db/database-refusal';
import { createFlow, deleteFlow, setFlowStatus } from '../../../runtime/db/flow-store';
import { createProjectWithKey } from '../../../runtime/db/project-store';
import { insertWebhookRuns } from '../../../runtime/db/run-store';
import { flows, runs } from '../../../runtime/db/schema';
import { createTestDatabase, type TestDatabase } from '../../support/database';

const definition = {
  name: 'n',
  trigger: { type: 'webhook' },
  steps: [{ id: 'r', type: 'respond', status: 200, body: {} }],
};

// The same statement runs on PostgreSQL (prepared, named) and on embedded PGlite.
describe.each(['postgres', 'pglite'] as const)('insertWebhookRuns on %s', (driver) => {
  let handle: DatabaseHandle;
  let cleanup: () => Promise<void>;
  let projectId: string;

  beforeAll(async () => {
    if (driver === 'postgres') {
      const database: TestDatabase = await createTestDatabase();
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
      apiKey: `sk_test_${driver}_0123456789abcdef`,
    }));
  }, 60_000);
  afterAll(() => cleanup());

  const newFlow = (webhookSecret: string | null = null) =>
    createFlow(handle.db, { projectId, name: 'n', definition, webhookSecret });
  const run = (flowId: string, webhookSecret: string | null, id: string = crypto.randomUUID()) => ({
    id,
    flowId,
    triggerJson: JSON.stringify({ body: { a: 1 } }),
    webhookSecret,
  });
  const insert = async (flowId: string, webhookSecret: string | null, id?: string) =>
    (await insertWebhookRuns(handle.db, [run(flowId, webhookSecret, id)]))[0];

  it('inserts a queued run with the flow current version and the trigger as JSON', async () => {
    const flow = await newFlow();
    const id = crypto.randomUUID();
    expect(await insert(flow.id, null, id)).toEqual({ projectId, flowVersionId: flow.versionId });
    const [row] = await handle.db.select().from(runs).where(eq(runs.id, id));
    expect(row).toMatchObject({ status: 'queued', flowId: flow.id, trigger: { body: { a: 1 } } });
  });

  it('inserts nothing for a disabled, deleted or unknown flow', async () => {
    const disabled = await newFlow();
    await setFlowStatus(handle.db, projectId, disabled.id, 'disabled');
    const deleted = await newFlow();
    await deleteFlow(handle.db, projectId, deleted.id);
    expect(await insert(disabled.id, null)).toBeNull();
    expect(await insert(deleted.id, null)).toBeNull();
    expect(await insert('flw_unknown', null)).toBeNull();
    const rows = await handle.db.select().from(runs).where(eq(runs.flowId, disabled.id));
    expect(rows).toEqual([]);
  });

  it('inserts only when the webhook secret is the one the signature was checked with', async () => {
    const signed = await newFlow('s3cret');
    expect(await insert(signed.id, null)).toBeNull();
    expect(await insert(signed.id, 'old-secret')).toBeNull();
    expect(await insert(signed.id, 's3cret')).not.toBeNull();
    const unsigned = await newFlow();
    expect(await insert(unsigned.id, 'a-secret')).toBeNull();
    await handle.db.update(flows).set({ webhookSecret: 'rotated' }).where(eq(flows.id, signed.id));
    expect(await insert(signed.id, 's3cret')).toBeNull();
    expect(await insert(signed.id, 'rotated')).not.toBeNull();
  });

  it('answers a batch run by run, in order: inserted for accepting flows, null for the rest', async () => {
    const open = await newFlow();
    const signed = await newFlow('batch-secret');
    const closed = await newFlow();
    await setFlowStatus(handle.db, projectId, closed.id, 'disabled');
    const batch = [
      run(open.id, null),
      run(closed.id, null),
      run(signed.id, 'wrong'),
      run(signed.id, 'batch-secret'),
      run(open.id, null),
    ];
    const answers = await insertWebhookRuns(handle.db, batch);
    expect(answers).toEqual([
      { projectId, flowVersionId: open.versionId },
      null,
      null,
      { projectId, flowVersionId: signed.versionId },
      { projectId, flowVersionId: open.versionId },
    ]);
    const stored = await handle.db.select({ id: runs.id }).from(runs);
    const ids = new Set(stored.map((row) => row.id));
    expect(batch.map((entry) => ids.has(entry.id))).toEqual([true, false, false, true, true]);
  });

  it('refuses a whole batch when one trigger holds an unpaired surrogate, as a data refusal', async () => {
    // Why the webhook route sends a refused batch again run by run (retryAlone: isDataRefusal).
    const open = await newFlow();
    const bad = { ...run(open.id, null), triggerJson: JSON.stringify({ body: { a: '\ud800' } }) };
    const good = run(open.id, null);
    const refusal = await insertWebhookRuns(handle.db, [good, bad]).catch((error) => error);
    expect(refusal).toBeInstanceOf(Error);
    expect(isDataRefusal(refusal)).toBe(true);
    expect(await insertWebhookRuns(handle.db, [good])).toEqual([
      { projectId, flowVersionId: open.versionId },
    ]);
  });
});
