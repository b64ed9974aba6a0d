import { eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createWebhookTargets } from '../../../runtime/api/webhook-targets';
import { createFlow } from '../../../runtime/db/flow-store';
import { createProjectWithKey, generateApiKey } from '../../../runtime/db/project-store';
import { flows } from '../../../runtime/db/schema';
import { createTestDatabase, type TestDatabase } from '../../support/database';

const definition = {
  name: 'n',
  trigger: { type: 'webhook' },
  steps: [{ id: 'r', type: 'respond', status: 200, body: {} }],
};

let database: TestDatabase;
let projectId: string;

beforeAll(async () => {
  database = await createTestDatabase();
  ({ projectId } = await createProjectWithKey(database.handle.db, {
    name: 'p',
    apiKey: generateApiKey(),
  }));
});
afterAll(() => database.drop());
afterEach(() => {
  vi.useRealTimers();
});

const db = () => database.handle.db;
const newFlow = (webhookSecret: string | null) =>
  createFlow(db(), { projectId, name: 'n', definition, webhookSecret });
const setSecret = (flowId: string, webhookSecret: string | null) =>
  db().update(flows).set({ webhookSecret }).where(eq(flows.id, flowId));

describe('webhook targets cache', () => {
  it('answers from memory within its lifetime, and reads the flow again after it', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const targets = createWebhookTargets(db(), { ttlMs: 10_000 });
    const { id } = await newFlow('first-secret-0123456789');
    await targets.get(id, { fresh: false });
    await setSecret(id, 'changed-by-another-instance');
    vi.advanceTimersByTime(9_000);
    expect((await targets.get(id, { fresh: false }))?.webhookSecret).toBe(
      'first-secret-0123456789',
    );
    vi.advanceTimersByTime(1_001);
    expect((await targets.get(id, { fresh: false }))?.webhookSecret).toBe(
      'changed-by-another-instance',
    );
  });

  it('drops a flow at once when this instance changed it', async () => {
    const targets = createWebhookTargets(db(), { ttlMs: 60_000 });
    const { id } = await newFlow(null);
    await targets.get(id, { fresh: false });
    await setSecret(id, 'set-on-this-instance-01');
    targets.forget(id);
    expect((await targets.get(id, { fresh: false }))?.webhookSecret).toBe(
      'set-on-this-instance-01',
    );
  });

  it('does not remember a lookup that was under way when the flow changed', async () => {
    const targets = createWebhookTargets(db(), { ttlMs: 60_000 });
    const { id } = await newFlow('before-the-change-0123');
    const underWay = targets.get(id, { fresh: false });
    targets.forget(id);
    await underWay;
    await setSecret(id, 'after-the-change-01234');
    expect((await targets.get(id, { fresh: false }))?.webhookSecret).toBe('after-the-change-01234');
  });

  it('never offers a replaced secret from memory after its overlap ends', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const targets = createWebhookTargets(db(), { ttlMs: 60_000 });
    const { id } = await newFlow('current-secret-0123456');
    await db()
      .update(flows)
      .set({
        previousWebhookSecret: 'replaced-secret-012345',
        previousWebhookSecretExpiresAt: new Date(Date.now() + 5_000),
      })
      .where(eq(flows.id, id));
    expect((await targets.get(id, { fresh: false }))?.previousWebhookSecret).toBe(
      'replaced-secret-012345',
    );
    await setSecret(id, 'changed-by-another-instance');
    vi.advanceTimersByTime(4_000);
    expect((await targets.get(id, { fresh: false }))?.webhookSecret).toBe('current-secret-0123456');
    // Long before the 60 s lifetime, the overlap's end sends the next webhook to the database.
    vi.advanceTimersByTime(1_001);
    expect((await targets.get(id, { fresh: false }))?.webhookSecret).toBe(
      'changed-by-another-instance',
    );
  });
});
