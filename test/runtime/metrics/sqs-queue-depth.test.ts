import { randomUUID } from 'node:crypto';
import { ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFlow } from '../../../runtime/db/flow-store';
import { createProjectWithKey, generateApiKey } from '../../../runtime/db/project-store';
import { insertQueuedRun } from '../../../runtime/db/run-store';
import { createSessionConnection } from '../../../runtime/db/session-connection';
import {
  forgetSighting,
  recordSighting,
  WORKERS_SEEN_WINDOW_S,
} from '../../../runtime/db/worker-sightings-store';
import { createSqsQueueDepth } from '../../../runtime/metrics/sqs-queue-depth';
import { createSqsClient } from '../../../runtime/queue/sqs-client';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import {
  FAUXQS_CREDENTIALS,
  type RunningFauxqs,
  sqsEnv,
  startFauxqsServer,
} from '../../support/fauxqs';
import { codeFlow } from '../../support/flows';
import { startSluice } from '../../support/processes';
import { startTcpProxy } from '../../support/tcp-proxy';

let database: TestDatabase;
let fauxqs: RunningFauxqs;
let client: SQSClient;

beforeAll(async () => {
  [database, fauxqs] = await Promise.all([createTestDatabase(), startFauxqsServer()]);
  client = new SQSClient({
    region: 'us-east-1',
    endpoint: fauxqs.endpoint,
    credentials: FAUXQS_CREDENTIALS,
  });
});
afterAll(async () => {
  client?.destroy();
  await fauxqs?.close();
  await database?.drop();
});

describe('queue depth on SQS', () => {
  it('reads waiting and in-flight messages from SQS, live workers from their recent sightings, and the oldest queued run', async () => {
    const queueUrl = fauxqs.createQueue();
    for (const n of [1, 2, 3]) {
      await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: `m${n}` }));
    }
    await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 1 }));
    const { projectId } = await createProjectWithKey(database.handle.db, {
      name: 'depth',
      apiKey: generateApiKey(),
    });
    const flow = await createFlow(database.handle.db, {
      projectId,
      name: 'noop',
      definition: codeFlow('export default () => 1'),
      webhookSecret: null,
    });
    await insertQueuedRun(database.handle.db, {
      id: randomUUID(),
      projectId,
      flowId: flow.id,
      flowVersionId: flow.versionId,
      trigger: {},
    });
    const session = createSessionConnection({
      access: { url: database.url },
      applicationName: 'depth-test',
    });
    await recordSighting(session, 'worker-a');
    await recordSighting(session, 'worker-b');
    const read = createSqsQueueDepth(client, queueUrl, database.handle.db, WORKERS_SEEN_WINDOW_S);

    const depth = await read();
    expect(depth).toMatchObject({ waiting: 2, active: 1, workers: 2 });
    expect(depth.oldestWaitingAgeSeconds).toBeGreaterThanOrEqual(0);
    expect(depth.oldestWaitingAgeSeconds).toBeLessThan(60);

    // A worker not seen within the window drops out; one that stops takes its sighting along.
    await session.query(
      `update worker_sightings set seen_at = now() - make_interval(secs => $1) where worker_id = 'worker-a'`,
      [WORKERS_SEEN_WINDOW_S + 1],
    );
    expect((await read()).workers).toBe(1);
    await forgetSighting(session, 'worker-b');
    expect((await read()).workers).toBe(0);
    await session.close();
  });

  it('is published by an APP on the sqs queue, with no Redis', async () => {
    const app = await startSluice({
      SLUICE_ROLE: 'app',
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_URL: database.url,
      ...sqsEnv(fauxqs.endpoint, fauxqs.createQueue()),
      SLUICE_METRICS: 'emf',
      SLUICE_METRICS_INTERVAL_S: '1',
    });
    try {
      const deadline = Date.now() + 10_000;
      let line: string | undefined;
      while (line === undefined && Date.now() < deadline) {
        line = app
          .output()
          .split('\n')
          .find((l) => l.startsWith('{"_aws"') && l.includes('"QueueWaiting"'));
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(JSON.parse(line ?? '{}')).toMatchObject({
        QueueWaiting: 0,
        QueueActive: 0,
        Workers: 0,
        BacklogPerWorker: 0,
      });
    } finally {
      await app.stop('SIGKILL');
    }
  });

  it('fails a read SQS never answers within the client bound, instead of waiting on it', async () => {
    const queueUrl = fauxqs.createQueue();
    // The APP's own client, as parts.ts makes it (with a shorter bound, for the test's sake),
    // reaching fauxqs through a proxy that stops passing answers on once it sees
    // GetQueueAttributes: a hung endpoint or network path. A read that waited on would hold the
    // metrics loop, and the publisher lease with it, so no APP published depth.
    const proxy = await startTcpProxy(fauxqs.server.port);
    const appClient = createSqsClient({
      queueUrl,
      endpoint: `http://127.0.0.1:${proxy.port}`,
      credentials: FAUXQS_CREDENTIALS,
      requestTimeoutMs: 500,
    });
    try {
      void proxy.withholdAnswersAfter('AmazonSQS.GetQueueAttributes');
      const read = createSqsQueueDepth(
        appClient,
        queueUrl,
        database.handle.db,
        WORKERS_SEEN_WINDOW_S,
      );
      const startedAt = Date.now();
      const outcome = await Promise.race([
        read().then(
          () => 'answered',
          (error: unknown) => error,
        ),
        new Promise((resolve) => setTimeout(resolve, 10_000, 'still waiting after 10 s')),
      ]);
      expect(outcome).toMatchObject({ name: 'SqsActionError', action: 'GetQueueAttributes' });
      // Three attempts (the SDK's default), each bounded, with the SDK's back-off between them.
      expect(Date.now() - startedAt).toBeLessThan(8000);
    } finally {
      appClient.destroy();
      await proxy.close();
    }
  });
});
