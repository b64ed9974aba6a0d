import { randomUUID } from 'node:crypto';
import type { Database } from '../../runtime/db/client';
import { createFlow } from '../../runtime/db/flow-store';
import { createProjectWithKey, generateApiKey } from '../../runtime/db/project-store';
import { insertQueuedRun } from '../../runtime/db/run-store';

/**
 * A project with a one-step flow (it replies `{ ok: true }`), for tests that drive the queue
 * and workers directly; `queueRun` commits a queued run of it, as the webhook would.
 */
export async function replyFlowIn(db: Database) {
  const { projectId } = await createProjectWithKey(db, { name: 'runs', apiKey: generateApiKey() });
  const flow = await createFlow(db, {
    projectId,
    name: 'reply',
    definition: {
      name: 'reply',
      trigger: { type: 'webhook' },
      steps: [{ id: 'reply', type: 'respond', status: 200, body: { ok: true } }],
    },
    webhookSecret: null,
  });
  return {
    async queueRun(): Promise<string> {
      const id = randomUUID();
      await insertQueuedRun(db, {
        id,
        projectId,
        flowId: flow.id,
        flowVersionId: flow.versionId,
        trigger: { body: {}, headers: {}, query: {} },
      });
      return id;
    },
  };
}
