import { ChangeMessageVisibilityCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { sqsAction } from './sqs-action-error';

export interface VisibilityHeartbeatOptions {
  client: SQSClient;
  queueUrl: string;
  receiptHandle: string;
  /** SLUICE_STALLED_AFTER_S: how long the message stays hidden past the last beat. */
  visibilityTimeoutS: number;
  onError: (error: unknown) => void;
}

/**
 * Keeps a received message hidden while its flow runs: every third of the visibility timeout
 * it is pushed out to a full timeout again. A worker that dies stops beating, and the message
 * reappears at most SLUICE_STALLED_AFTER_S later, as a BullMQ job's lock would expire.
 */
export class VisibilityHeartbeat {
  readonly #options: VisibilityHeartbeatOptions;
  readonly #timer: NodeJS.Timeout;

  constructor(options: VisibilityHeartbeatOptions) {
    this.#options = options;
    const everyMs = Math.max(1000, Math.floor((options.visibilityTimeoutS * 1000) / 3));
    this.#timer = setInterval(() => {
      this.#extend(options.visibilityTimeoutS).catch(options.onError);
    }, everyMs);
    this.#timer.unref();
  }

  /** Stops beating; the message keeps the visibility it has. */
  stop(): void {
    clearInterval(this.#timer);
  }

  /** Stops beating and makes the message visible at once, for another worker (drain hand-back). */
  async release(): Promise<void> {
    this.stop();
    await this.#extend(0);
  }

  async #extend(timeoutS: number): Promise<void> {
    const { client, queueUrl, receiptHandle } = this.#options;
    await sqsAction('ChangeMessageVisibility', () =>
      client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: queueUrl,
          ReceiptHandle: receiptHandle,
          VisibilityTimeout: timeoutS,
        }),
      ),
    );
  }
}
