// npm run chaos -- [--small] [--queue bullmq|sqs] [--only worker-kill,redis-restart] [--no-build]
// Fault injection against real processes (app + 3 workers) on a throwaway PostgreSQL cluster
// and Redis (or fauxqs, with --queue sqs). Prints one JSON line per scenario; exits 1 if a
// scenario's fault did not take effect (fault_hits 0), any run was lost or stuck, or a refused
// run executed.
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { runChaos } from './run-chaos';

const { values } = parseArgs({
  options: {
    small: { type: 'boolean', default: false },
    only: { type: 'string' },
    'no-build': { type: 'boolean', default: false },
    queue: { type: 'string', default: 'bullmq' },
  },
});
if (values.queue !== 'bullmq' && values.queue !== 'sqs') {
  process.stderr.write(`chaos: --queue must be bullmq or sqs (got "${values.queue}")\n`);
  process.exit(2);
}

if (!values['no-build'])
  execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
const lines = await runChaos({
  small: values.small ?? false,
  only: values.only?.split(','),
  queue: values.queue,
  onLine: (line) => process.stdout.write(`${JSON.stringify(line)}\n`),
}).catch((error: unknown) => {
  process.stderr.write(`chaos: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(2);
});
const broken = lines.filter(
  (l) => l.fault_hits === 0 || l.lost > 0 || l.stuck > 0 || l.refused_ran > 0,
);
process.exit(broken.length > 0 ? 1 : 0);
