import type { Logger } from 'pino';
import { serveLiveness } from '../api/worker-liveness';
import type { Env } from '../env';
import type { RunningWorker } from '../roles/worker';
import { ISOLATE_GRACE_MS, LOOP_STALL_MS, watchLiveness } from './liveness';

/**
 * Watches this worker's liveness and serves it on SLUICE_WORKER_HEALTH_PORT (0: off). A port
 * already taken (two workers on one laptop) leaves the endpoint off with a warning rather than
 * stopping the worker; on ECS each task has its own network namespace.
 */
export async function startWorkerLiveness(
  env: Env,
  worker: () => Pick<RunningWorker, 'sandboxBusyForMs' | 'sandboxAnswers'> | null | undefined,
  logger: Logger,
): Promise<{ stop(): void } | null> {
  if (env.SLUICE_WORKER_HEALTH_PORT === 0) return null;
  const liveness = watchLiveness({
    loopStallMs: LOOP_STALL_MS,
    isolateStuckMs: env.SLUICE_CODE_TIMEOUT_MS + ISOLATE_GRACE_MS,
    isolateBusyForMs: () => worker()?.sandboxBusyForMs() ?? 0,
    // Before the worker has started (the database wait) there is no sandbox to ask.
    isolateAnswers: async (timeoutMs) => (await worker()?.sandboxAnswers(timeoutMs)) ?? true,
  });
  try {
    const server = await serveLiveness(liveness, env.SLUICE_WORKER_HEALTH_PORT);
    return {
      stop() {
        liveness.stop();
        void server.close();
      },
    };
  } catch (error) {
    liveness.stop();
    if ((error as { code?: unknown }).code !== 'EADDRINUSE') throw error;
    logger.warn(
      { err: error, port: env.SLUICE_WORKER_HEALTH_PORT },
      'worker liveness endpoint not served: its port is taken',
    );
    return null;
  }
}
