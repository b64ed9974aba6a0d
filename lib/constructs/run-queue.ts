import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DEFAULT_FLOW_TIMEOUT_S } from '../../runtime/limits';
import { requireIntegerIn } from '../require-integer-in';

export interface RunQueueProps {
  /**
   * Receives of one message before SQS moves it to the dead-letter queue: a job whose worker
   * died this many times is parked, not retried forever.
   * @default 3
   */
  readonly maxReceiveCount?: number;
  /**
   * Visibility timeout of a received message. The runtime extends it with a heartbeat while a
   * run lasts (sqs:ChangeMessageVisibility), so it only bounds how soon a dead worker's job is
   * seen again.
   * @default 120
   */
  readonly visibilityTimeoutSeconds?: number;
  /**
   * SLUICE_FLOW_TIMEOUT_S, the longest run: a message stays in the queue (in flight) while its
   * run lasts, so the oldest-message alarm waits that long plus a visibility timeout.
   * @default DEFAULT_FLOW_TIMEOUT_S (600)
   */
  readonly flowTimeoutSeconds?: number;
  /**
   * What happens to both queues when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** SQS allows 1 to 1,000 receives before a redrive. */
const MAX_RECEIVE_COUNT_LIMIT = 1000;
/** SQS's own ceiling on a visibility timeout: 12 hours. */
const MAX_VISIBILITY_TIMEOUT_S = 43_200;

/**
 * The flow-run queue of the SQS driver (SLUICE_QUEUE=sqs): a standard queue with SSE-SQS and
 * TLS-only access, its dead-letter queue after `maxReceiveCount` receives (kept 14 days, the SQS
 * maximum), an alarm as soon as the dead-letter queue holds a message, and one when a message
 * outlives the longest run plus a visibility timeout. The queue's own metrics in AWS/SQS drive
 * worker scaling (QueueScaling) and both alarms, so neither needs an APP task.
 */
export class RunQueue extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  /** In ALARM while the dead-letter queue holds a message; the Dashboard routes its actions. */
  readonly deadLetterAlarm: cloudwatch.Alarm;
  /**
   * In ALARM while the oldest message is older than `oldestMessageAlarmSeconds`; the Dashboard
   * routes its actions.
   */
  readonly oldestMessageAlarm: cloudwatch.Alarm;
  /** flowTimeoutSeconds + visibilityTimeoutSeconds: no run's message lives longer when healthy. */
  readonly oldestMessageAlarmSeconds: number;
  readonly maxReceiveCount: number;

  constructor(scope: Construct, id: string, props: RunQueueProps = {}) {
    super(scope, id);
    const maxReceiveCount = props.maxReceiveCount ?? 3;
    const visibilityTimeoutSeconds = props.visibilityTimeoutSeconds ?? 120;
    const flowTimeoutSeconds = props.flowTimeoutSeconds ?? DEFAULT_FLOW_TIMEOUT_S;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    requireIntegerIn('maxReceiveCount', maxReceiveCount, 1, MAX_RECEIVE_COUNT_LIMIT);
    requireIntegerIn(
      'visibilityTimeoutSeconds',
      visibilityTimeoutSeconds,
      10,
      MAX_VISIBILITY_TIMEOUT_S,
    );
    requireIntegerIn('flowTimeoutSeconds', flowTimeoutSeconds, 1, 86_400);
    this.maxReceiveCount = maxReceiveCount;

    // SSE-SQS rather than a customer KMS key: no key to pay for ($1/month) or to grant, and
    // SQS's own metrics stay readable by Application Auto Scaling.
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy,
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(visibilityTimeoutSeconds),
      retentionPeriod: Duration.days(4),
      // Workers long-poll: fewer empty receives, so fewer requests billed while idle.
      receiveMessageWaitTime: Duration.seconds(20),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount },
      removalPolicy,
    });
    this.deadLetterAlarm = new cloudwatch.Alarm(this, 'DeadLetterAlarm', {
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: 'Maximum',
      }),
      alarmDescription: `A run's job reached the dead-letter queue after ${maxReceiveCount} receives: its workers kept dying on it; inspect and redrive or delete it`,
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    // A message is deleted once its run's outcome is recorded, so it ages through the wait and
    // the whole run (ApproximateAgeOfOldestMessage counts messages in flight). A healthy one is
    // gone within flowTimeoutSeconds of being taken; a dead worker's comes back after at most
    // a visibility timeout. Older than both: no worker takes jobs, or none can finish them.
    this.oldestMessageAlarmSeconds = flowTimeoutSeconds + visibilityTimeoutSeconds;
    this.oldestMessageAlarm = new cloudwatch.Alarm(this, 'OldestMessageAlarm', {
      metric: this.metric('ApproximateAgeOfOldestMessage', { statistic: 'Maximum' }),
      alarmDescription: `A run's job has been in the queue over ${this.oldestMessageAlarmSeconds} s (the flow timeout plus a visibility timeout), two minutes running: workers are not taking or not finishing jobs`,
      threshold: this.oldestMessageAlarmSeconds,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 2,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }

  /** The APP: sqs:SendMessage, GetQueueAttributes (depth) and ChangeMessageVisibility. */
  grantEnqueue(grantee: iam.IGrantable): void {
    this.queue.grantSendMessages(grantee);
    this.queue.grant(grantee, 'sqs:ChangeMessageVisibility');
  }

  /** Workers: sqs:ReceiveMessage, DeleteMessage, ChangeMessageVisibility, GetQueueAttributes. */
  grantConsume(grantee: iam.IGrantable): void {
    this.queue.grantConsumeMessages(grantee);
  }

  /** A metric of the run queue in AWS/SQS, published by SQS every minute. */
  metric(metricName: string, options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.queue.metric(metricName, { period: Duration.minutes(1), ...options });
  }
}
