/**
 * Prints the fleet shape and monthly cost for a peak:
 *   npm run size -- --peak 50 [--on-demand-base 1] [--single-az] [--arm64]
 *     [--worker-cpu 256 --worker-memory 512 --app-cpu 512 --app-memory 1024]
 *     [--requests 1000000 --egress-gb 10 --logs-gb 10]
 */
import { parseArgs } from 'node:util';
import { validateFargateTaskSize } from '../lib/fargate-task-size';
import { DEFAULT_TRAFFIC } from '../lib/pricing';
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
  const sizes = {
    workerCpu: integer('worker-cpu', values['worker-cpu'], DEFAULT_WORKER_CPU),
    workerMemoryMiB: integer('worker-memory', values['worker-memory'], DEFAULT_WORKER_MEMORY_MIB),
    appCpu: integer('app-cpu', values['app-cpu'], DEFAULT_APP_CPU),
    appMemoryMiB: integer('app-memory', values['app-memory'], DEFAULT_APP_MEMORY_MIB),
    appArchitecture: values.arm64 ? ('arm64' as const) : ('x86_64' as const),
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
  const onDemandBase = values['on-demand-base'];
  const fleet = sizeFleet({
    peakConcurrentFlows: integer('peak', values.peak),
    ...(onDemandBase === undefined
      ? {}
      : { onDemandWorkerBase: integer('on-demand-base', onDemandBase) }),
    multiAz: !values['single-az'],
  });
  console.log(renderSizingReport(fleet, sizes, traffic));
}

try {
  main();
} catch (error) {
  console.error((error as Error).message);
  process.exitCode = 1;
}
