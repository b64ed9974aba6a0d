import type { Context, Hono } from 'hono';
import type { Logger } from 'pino';
import type { DatabaseHandle } from '../db/client';
import type { Env } from '../env';
import type { LiveWorkers } from '../metrics/live-workers';
import type { RunMetrics } from '../metrics/run-metrics';
import type { ReplyBus } from '../queue/reply-bus';
import type { RunQueue } from '../queue/run-queue';
import type { IdleWatch } from '../reliability/idle-watch';
import type { SecretStore } from '../secrets/secret-store';
import type { FileStore, LocalFileStore } from '../storage';
import type { AuthFailureLimiter } from './auth-failure-limiter';
import type { RunLogUrls } from './run-log-url';
import type { WebhookTargets } from './webhook-targets';

/** Everything the HTTP API talks to, passed in explicitly so tests build it from real parts. */
export interface ApiDeps {
  env: Env;
  database: DatabaseHandle;
  queue: RunQueue;
  replies: ReplyBus;
  store: FileStore;
  /** The project's secrets: written and listed by the API, read by flow validation. */
  secrets: SecretStore;
  /** Set when SLUICE_STORAGE=local: the APP serves that driver's signed URLs. */
  localStore?: LocalFileStore | undefined;
  logger: Logger;
  /** Sync webhook latency, aggregated in memory and published by the metrics loop. */
  runMetrics?: Pick<RunMetrics, 'recordSyncWebhook'> | undefined;
  /** Bull Board at /admin/queues, when SLUICE_QUEUE_UI=true. */
  queueBoard?: Hono | undefined;
  /** The live workers the queue sees, for the console's System page. */
  liveWorkers?: LiveWorkers | undefined;
  /**
   * Counts requests as work, so that what rests while the APP is idle wakes (sqs queue).
   * @default - nothing rests
   */
  idle?: IdleWatch | undefined;
}

/** What createApi hands its routes: the deps plus the state several routes share. */
export interface RouteDeps extends ApiDeps {
  /** The one cache of webhook targets; the flows routes drop from it what they change. */
  webhookTargets: WebhookTargets;
  /** Signed URLs for the run logs kept in their run row (the runs routes and the console). */
  runLogUrls: RunLogUrls;
  /** Failed API key checks, shared by Bearer auth and the console's sign-in: a guess is a guess. */
  authFailures: AuthFailureLimiter;
  /** The client address a limit counts against, as far as the proxies in front vouch for it. */
  addressOf: (c: Context) => string;
}
