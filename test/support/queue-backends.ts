import { randomQueuePrefix } from './database';
import { type RunningFauxqs, sqsEnv, startFauxqsServer } from './fauxqs';

/** The queue drivers the end-to-end suites run against; the sqs runs have no Redis at all. */
export const QUEUE_BACKENDS = ['bullmq', 'sqs'] as const;
export type QueueBackend = (typeof QUEUE_BACKENDS)[number];

export interface QueueBackendEnv {
  /** The variables that choose and reach the queue, for a stack or a process. */
  env: Record<string, string>;
  /** The emulator of an sqs run, for tests that look inside the queue. */
  fauxqs?: RunningFauxqs;
  close(): Promise<void>;
}

/** A fresh queue of `backend`: a random BullMQ prefix on the shared Redis, or a fauxqs queue. */
export async function startQueueBackend(backend: QueueBackend): Promise<QueueBackendEnv> {
  if (backend === 'bullmq') {
    return {
      env: { REDIS_URL: 'redis://127.0.0.1:6379', SLUICE_QUEUE_PREFIX: randomQueuePrefix() },
      close: async () => undefined,
    };
  }
  const fauxqs = await startFauxqsServer();
  return { env: sqsEnv(fauxqs.endpoint, fauxqs.createQueue()), fauxqs, close: fauxqs.close };
}
