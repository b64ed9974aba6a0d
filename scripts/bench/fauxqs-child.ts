// fauxqs in its own process: its CPU is measured apart from Sluice's, and chaos can kill it.
// argv: port, data dir (SQLite, so messages survive a kill as they survive an SQS outage).
import { startFauxqs } from 'fauxqs';

const [port, dataDir] = process.argv.slice(2);
const server = await startFauxqs({ port: Number(port), logger: false, dataDir });
let queueUrl: string;
try {
  queueUrl = server.createQueue('runs').queueUrl;
} catch {
  // Restarted on the same data dir: the queue is there already.
  queueUrl = server.inspectQueue('runs')?.url ?? '';
}
process.stdout.write(
  `${JSON.stringify({ endpoint: `http://127.0.0.1:${server.port}`, queueUrl })}\n`,
);
process.on('SIGTERM', () => {
  void server.stop().then(() => process.exit(0));
});
