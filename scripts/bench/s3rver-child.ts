// s3rver in its own process, so its CPU does not share an event loop with the load generator.
import { startS3rver } from '../../test/support/s3rver';

const s3 = await startS3rver();
process.stdout.write(`${JSON.stringify({ endpoint: s3.endpoint, bucket: s3.bucket })}\n`);
process.on('SIGTERM', () => {
  void s3.close().then(() => process.exit(0));
});
