import {
  GetQueueAttributesCommand,
  type QueueAttributeName,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { sqsAction } from '../queue/sqs-action-error';
import type { QueueDepth } from './queue-depth';

/**
 * Depth of the SQS run queue, for the elected APP to publish. SQS gives the counts
 * (approximate, as AWS's own metrics are). Workers are those seen within `workersSeenWithinS`
 * (worker_sightings): a worker resting while idle holds no session, so PostgreSQL's own
 * session list cannot count it. The oldest waiting run comes from the run rows.
 */
export function createSqsQueueDepth(
  client: SQSClient,
  queueUrl: string,
  db: Database,
  workersSeenWithinS: number,
): () => Promise<QueueDepth> {
  return async () => {
    const [attributes, presence] = await Promise.all([
      sqsAction('GetQueueAttributes', () =>
        client.send(
          new GetQueueAttributesCommand({
            QueueUrl: queueUrl,
            AttributeNames: [
              'ApproximateNumberOfMessages',
              'ApproximateNumberOfMessagesNotVisible',
            ],
          }),
        ),
      ),
      db.execute(sql`
        select
          (select count(*)::int from worker_sightings
            where seen_at > now() - make_interval(secs => ${workersSeenWithinS})) as workers,
          coalesce((select extract(epoch from now() - min(created_at))::float8
            from runs where status = 'queued'), 0) as oldest`) as Promise<{
        rows: { workers: number; oldest: number }[];
      }>,
    ]);
    const count = (name: QueueAttributeName) => Number(attributes.Attributes?.[name] ?? 0);
    const row = presence.rows[0];
    return {
      waiting: count('ApproximateNumberOfMessages'),
      active: count('ApproximateNumberOfMessagesNotVisible'),
      workers: Number(row?.workers ?? 0),
      oldestWaitingAgeSeconds: Math.max(0, Number(row?.oldest ?? 0)),
    };
  };
}
