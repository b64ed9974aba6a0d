/**
 * Prints the fleet shape and monthly cost for a peak, then both profiles' idle and peak cost:
 *   npm run size -- --peak 50 [--profile standard|serverless] [--on-demand-base 1]
 *     [--single-az] [--arm64] [--min-workers 1] [--database-min-acu 0] [--database-max-acu N]
 *     [--worker-cpu 256 --worker-memory 512 --app-cpu 512 --app-memory 1024]
 *     [--requests 1000000 --egress-gb 10 --logs-gb 10] [--flow-duration 20] [--list-price]
 * Task-size flags apply to the chosen profile; the other is priced at its defaults.
 */
import { parseArgs } from 'node:util';
import { validateFargateTaskSize } from '../lib/fargate-task-size';
import { DEFAULT_TRAFFIC } from '../lib/pricing';
import { renderProfileComparison, renderServerlessShape } from '../lib/profile-report';
import {
  SERVERLESS_APP_CPU,
  SERVERLESS_APP_MEMORY_MIB,
  sizeServerlessFleet,
} from '../lib/serverless-sizing';
import {
  DEFAULT_APP_CPU,
  DEFAULT_APP_MEMORY_MIB,
  DEFAULT_WORKER_CPU,
  DEFAULT_WORKER_MEMORY_MIB,
  sizeFleet,
} from '../lib/sizing';
import { renderSizingReport } from '../lib/sizing-report';

function integer(flag: string, raw: string | undefined, fallback?: number): number {
  if (raw === undefined) {
    if (fallback === undefined) throw new Error(`--${flag} is required`);
    return fallback;
  }
  if (!/^-?\d+(\.\d+)?$/.test(raw)) throw new Error(`--${flag} must be a number (got ${raw})`);
  return Number(raw);
}

function main(): void {
  const { values } = parseArgs({
    options: {
      peak: { type: 'string' },
      profile: { type: 'string', default: 'standard' },
      'min-workers': { type: 'string' },
      'database-min-acu': { type: 'string' },
      'database-max-acu': { type: 'string' },
      'flow-duration': { type: 'string' },
      'list-price': { type: 'boolean', default: false },
      'on-demand-base': { type: 'string' },
      'single-az': { type: 'boolean', default: false },
      'worker-cpu': { type: 'string' },
      'worker-memory': { type: 'string' },
      'app-cpu': { type: 'string' },
      'app-memory': { type: 'string' },
      arm64: { type: 'boolean', default: false },
      requests: { type: 'string' },
      'egress-gb': { type: 'string' },
      'logs-gb': { type: 'string' },
    },
  });
  const profile = values.profile;
  if (profile !== 'standard' && profile !== 'serverless') {
    throw new Error(`--profile must be standard or serverless (got ${profile})`);
  }
  const serverless = profile === 'serverless';
  const standardDefaults = {
    workerCpu: DEFAULT_WORKER_CPU,
    workerMemoryMiB: DEFAULT_WORKER_MEMORY_MIB,
    appCpu: DEFAULT_APP_CPU,
    appMemoryMiB: DEFAULT_APP_MEMORY_MIB,
    appArchitecture: 'x86_64' as const,
  };
  const serverlessDefaults = {
    ...standardDefaults,
    appCpu: SERVERLESS_APP_CPU,
    appMemoryMiB: SERVERLESS_APP_MEMORY_MIB,
    appArchitecture: 'arm64' as const,
  };
  const chosen = serverless ? serverlessDefaults : standardDefaults;
  const sizes = {
    workerCpu: integer('worker-cpu', values['worker-cpu'], chosen.workerCpu),
    workerMemoryMiB: integer('worker-memory', values['worker-memory'], chosen.workerMemoryMiB),
    appCpu: integer('app-cpu', values['app-cpu'], chosen.appCpu),
    appMemoryMiB: integer('app-memory', values['app-memory'], chosen.appMemoryMiB),
    appArchitecture:
      values.arm64 || chosen.appArchitecture === 'arm64' ? ('arm64' as const) : ('x86_64' as const),
  };
  const traffic = {
    requestsPerMonth: integer('requests', values.requests, DEFAULT_TRAFFIC.requestsPerMonth),
    egressGbPerMonth: integer('egress-gb', values['egress-gb'], DEFAULT_TRAFFIC.egressGbPerMonth),
    logsGbPerMonth: integer('logs-gb', values['logs-gb'], DEFAULT_TRAFFIC.logsGbPerMonth),
  };
  for (const [flag, value] of Object.entries(traffic)) {
    if (value < 0) throw new Error(`--${flag} must not be negative (got ${value})`);
  }
  validateFargateTaskSize(
    { cpu: 'workerCpu', memoryMiB: 'workerMemoryMiB' },
    sizes.workerCpu,
    sizes.workerMemoryMiB,
  );
  validateFargateTaskSize(
    { cpu: 'appCpu', memoryMiB: 'appMemoryMiB' },
    sizes.appCpu,
    sizes.appMemoryMiB,
  );
  const peakConcurrentFlows = integer('peak', values.peak);
  const onDemandBase = values['on-demand-base'];
  const fleet = sizeFleet({
    peakConcurrentFlows,
    ...(onDemandBase === undefined || serverless
      ? {}
      : { onDemandWorkerBase: integer('on-demand-base', onDemandBase) }),
    multiAz: !values['single-az'],
  });
  const maxAcu = values['database-max-acu'];
  const serverlessFleet = sizeServerlessFleet({
    peakConcurrentFlows,
    ...(maxAcu === undefined ? {} : { databaseMaxAcu: integer('database-max-acu', maxAcu) }),
  });
  const databaseMinAcu = integer('database-min-acu', values['database-min-acu'], 0);
  const minWorkers = integer('min-workers', values['min-workers'], 1);
  const flowDurationSeconds = integer('flow-duration', values['flow-duration'], 20);
  if (databaseMinAcu < 0 || !Number.isInteger(databaseMinAcu * 2)) {
    throw new Error(`--database-min-acu must be 0 or a multiple of 0.5 (got ${databaseMinAcu})`);
  }
  if (!Number.isInteger(minWorkers) || minWorkers < 0 || minWorkers > peakConcurrentFlows) {
    throw new Error(`--min-workers must be an integer from 0 to --peak (got ${minWorkers})`);
  }
  if (!(flowDurationSeconds > 0)) {
    throw new Error(`--flow-duration must be above 0 (got ${flowDurationSeconds})`);
  }
  console.log(
    serverless
      ? renderServerlessShape(serverlessFleet, sizes, databaseMinAcu, minWorkers)
      : renderSizingReport(fleet, sizes, traffic),
  );
  console.log('');
  console.log(
    renderProfileComparison({
      standard: { fleet, sizes: serverless ? standardDefaults : sizes },
      serverless: {
        fleet: serverlessFleet,
        sizes: serverless ? sizes : serverlessDefaults,
        databaseMinAcu,
      },
      assumptions: {
        minWorkers,
        flowDurationSeconds,
        traffic,
        cloudWatchFreeTier: !values['list-price'],
      },
    }),
  );
}

try {
  main();
} catch (error) {
  console.error((error as Error).message);
  process.exitCode = 1;
}
