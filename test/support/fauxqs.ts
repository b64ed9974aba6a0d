import { randomBytes } from 'node:crypto';
import { type FauxqsServer, startFauxqs } from 'fauxqs';

/** fauxqs, an SQS emulator speaking the SDK's JSON protocol, in this process on a random port. */
export interface RunningFauxqs {
  server: FauxqsServer;
  endpoint: string;
  /** A fresh queue; returns its URL. */
  createQueue(): string;
  close(): Promise<void>;
}

/** Dummy credentials: fauxqs does not check signatures, the SDK only needs some. */
export const FAUXQS_CREDENTIALS = { accessKeyId: 'fauxqs', secretAccessKey: 'fauxqs' };

export async function startFauxqsServer(): Promise<RunningFauxqs> {
  const server = await startFauxqs({ port: 0, logger: false });
  return {
    server,
    endpoint: `http://127.0.0.1:${server.port}`,
    createQueue: () => server.createQueue(`runs-${randomBytes(6).toString('hex')}`).queueUrl,
    close: () => server.stop(),
  };
}

/** The environment that points Sluice's sqs driver at `queueUrl` on `endpoint`. */
export const sqsEnv = (endpoint: string, queueUrl: string): Record<string, string> => ({
  SLUICE_QUEUE: 'sqs',
  SLUICE_SQS_QUEUE_URL: queueUrl,
  SLUICE_SQS_ENDPOINT: endpoint,
  SLUICE_SQS_ACCESS_KEY_ID: FAUXQS_CREDENTIALS.accessKeyId,
  SLUICE_SQS_SECRET_ACCESS_KEY: FAUXQS_CREDENTIALS.secretAccessKey,
});
