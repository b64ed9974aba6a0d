import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { requestId } from 'hono/request-id';
import { createAuthFailureLimiter } from './auth-failure-limiter';
import { addressKey, clientAddress } from './client-address';
import { consoleErrorPages } from './console-error-page';
import type { ApiDeps } from './deps';
import { ApiError } from './errors';
import { allowedMethods } from './middleware/allowed-methods';
import { bearerAuth } from './middleware/bearer-auth';
import { bodyLimit } from './middleware/body-limit';
import { countsAsWork } from './middleware/counts-as-work';
import { refuseNulInUrl } from './middleware/refuse-nul-in-url';
import { errorHandler } from './on-error';
import { apiKeySecurity } from './openapi-auth';
import { consoleRoutes } from './routes/console';
import { fileRoutes } from './routes/files';
import { flowRoutes } from './routes/flows';
import { healthRoutes } from './routes/health';
import { createLocalStorageRoutes } from './routes/local-storage';
import { runControlRoutes } from './routes/run-control';
import { runLogRoutes } from './routes/run-logs';
import { runRoutes } from './routes/runs';
import { secretRoutes } from './routes/secrets';
import { webhookRoutes } from './routes/webhooks';
import { createRunLogUrls } from './run-log-url';
import { validationHook } from './validation-hook';
import { createWebhookTargets } from './webhook-targets';

/** Flow definitions are small; this only stops a hostile body from being buffered. */
const MAX_MANAGEMENT_BODY_BYTES = 5 * 1024 * 1024;

export function createApi(deps: ApiDeps) {
  // strict: false: a trailing slash names the same resource (`/v1/flows/` is `/v1/flows`).
  const app = new OpenAPIHono({ defaultHook: validationHook, strict: false });
  app.onError(consoleErrorPages(errorHandler(deps.logger)));
  app.use(requestId(), refuseNulInUrl(), allowedMethods({ routes: () => app.routes }));
  if (deps.idle !== undefined) app.use(countsAsWork({ idle: deps.idle }));
  app.notFound(() => {
    throw new ApiError(404, 'not_found', 'no such endpoint');
  });

  const authFailures = createAuthFailureLimiter(deps.env.SLUICE_AUTH_FAILURE_LIMIT);
  const addressOf = (c: Context) =>
    addressKey(clientAddress(c, deps.env.SLUICE_TRUSTED_PROXY_HOPS));
  const auth = bearerAuth({
    db: deps.database.db,
    publicUrl: deps.env.publicUrl,
    limiter: authFailures,
    addressOf,
  });
  for (const path of [
    '/v1/flows',
    '/v1/flows/*',
    '/v1/runs',
    '/v1/runs/*',
    '/v1/secrets',
    '/v1/secrets/*',
  ]) {
    app.use(path, bodyLimit({ maxBytes: MAX_MANAGEMENT_BODY_BYTES }), auth);
  }
  const { runMetrics } = deps;
  if (runMetrics !== undefined) {
    app.use('/v1/webhooks/:flowId/sync', async function syncWebhookLatency(_c, next) {
      const started = performance.now();
      await next();
      runMetrics.recordSyncWebhook(performance.now() - started);
    });
  }
  app.use('/v1/files', auth);
  app.use('/v1/files/*', auth);

  app.route('/', healthRoutes(deps));
  // Entries live one reconcile interval: what another instance changed is seen within it.
  const webhookTargets = createWebhookTargets(deps.database.db, {
    ttlMs: deps.env.SLUICE_RECONCILE_INTERVAL_S * 1000,
  });
  const runLogUrls = createRunLogUrls(deps.database.db, {
    publicUrl: deps.env.publicUrl,
    ttlSeconds: deps.env.SLUICE_SIGNED_URL_TTL_S,
  });
  const shared = { ...deps, webhookTargets, runLogUrls, authFailures, addressOf };
  app.route('/', webhookRoutes(shared));
  app.route('/', flowRoutes(shared));
  app.route('/', runRoutes(shared));
  app.route('/', runLogRoutes(shared));
  app.route('/', runControlRoutes(deps));
  app.route('/', fileRoutes(deps));
  app.route('/', secretRoutes(deps));
  if (deps.localStore !== undefined) {
    app.route(
      '/',
      createLocalStorageRoutes({ store: deps.localStore, maxUploadBytes: deps.env.maxFileBytes }),
    );
  }

  if (deps.queueBoard !== undefined) app.route('/', deps.queueBoard);
  app.route('/', consoleRoutes(shared));

  app.doc31('/v1/openapi.json', {
    openapi: '3.1.0',
    info: { title: 'Sluice API', version: '1' },
    security: apiKeySecurity,
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
  });
  return app;
}
