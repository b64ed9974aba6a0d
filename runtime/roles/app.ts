import { createApi } from '../api/app';
import type { ApiDeps } from '../api/deps';
import { EnvError } from '../env';
import { listenHttp, type RunningHttpServer } from './http-server';

export async function startApp(deps: ApiDeps): Promise<RunningHttpServer> {
  const api = createApi(deps);
  const { PORT: port, HOST: hostname } = deps.env;
  try {
    return await listenHttp(api.fetch, {
      port,
      hostname,
      albIdleTimeoutS: deps.env.SLUICE_ALB_IDLE_TIMEOUT_S,
      logger: deps.logger,
    });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new EnvError(
      `invalid environment: HOST ${JSON.stringify(hostname)} and PORT ${port} cannot be listened on (${typeof code === 'string' ? code : 'refused'}: ${describeListenError(code)})`,
    );
  }
}

function describeListenError(code: unknown): string {
  switch (code) {
    case 'EADDRINUSE':
      return 'the port is taken';
    case 'EADDRNOTAVAIL':
      return 'HOST is not an address of this machine';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'HOST does not resolve';
    case 'EACCES':
      return 'ports below 1024 need privileges';
    default:
      return 'see HOST and PORT';
  }
}
