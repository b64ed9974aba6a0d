import { createApi } from '../api/app';
import type { ApiDeps } from '../api/deps';
import { listenHttp, type RunningHttpServer } from './http-server';

export function startApp(deps: ApiDeps): Promise<RunningHttpServer> {
  const api = createApi(deps);
  return listenHttp(api.fetch, {
    port: deps.env.PORT,
    hostname: deps.env.HOST,
    albIdleTimeoutS: deps.env.SLUICE_ALB_IDLE_TIMEOUT_S,
  });
}
