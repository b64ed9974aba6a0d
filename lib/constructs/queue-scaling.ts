import { type CfnElement, Duration, Stack, Validations } from 'aws-cdk-lib';
import type { CfnScalingPolicy } from 'aws-cdk-lib/aws-applicationautoscaling';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { METRIC, METRICS_DIMENSION, METRICS_NAMESPACE } from '../../runtime/limits';
import {
  BURST_ALARM_EVALUATION_PERIODS,
  BURST_ALARM_THRESHOLD,
  BURST_COOLDOWN_SECONDS,
  BURST_STEPS,
  DEFAULT_BACKLOG_PER_WORKER_TARGET,
  METRIC_PERIOD_SECONDS,
  SQS_BURST_ALARM_EVALUATION_PERIODS,
  SQS_METRIC_PERIOD_SECONDS,
  TARGET_SCALE_IN_COOLDOWN_SECONDS,
  TARGET_SCALE_OUT_COOLDOWN_SECONDS,
} from '../scaling-policy';
import type { AppService } from './app-service';
import type { RunQueue } from './run-queue';
import type { WorkerService } from './worker-service';

export interface QueueScalingProps {
  /** Publishes the queue-depth metrics (one task at a time, under a Redis lock). */
  readonly appService: AppService;
  /** The service scaled; its tasks also publish run metrics and hold task protection. */
  readonly workerService: WorkerService;
  /** Fewest worker tasks; 0 lets the fleet sleep, the burst policy wakes it. */
  readonly minWorkers: number;
  /** Most worker tasks: the sizing peak. */
  readonly maxWorkers: number;
  /**
   * BacklogPerWorker that target tracking holds: (waiting + active) / workers.
   * @default DEFAULT_BACKLOG_PER_WORKER_TARGET (1.0, one worker per waiting or active flow)
   */
  readonly backlogPerWorkerTarget?: number;
  /**
   * The SQS run queue: scale on AWS's own queue metrics instead of the APP's BacklogPerWorker,
   * so that workers scale with the APP tier down.
   * @default - none: the Redis queue, target tracking on BacklogPerWorker
   */
  readonly runQueue?: RunQueue;
  /**
   * Value of the `Deployment` dimension (SLUICE_DEPLOYMENT_NAME).
   * @default - the stack name
   */
  readonly deploymentName?: string;
}

/**
 * Worker autoscaling on queue depth, and the metrics pipe it needs.
 *
 * - Both tiers get SLUICE_METRICS=cloudwatch and cloudwatch:PutMetricData, pinned to the
 *   `Sluice` namespace. APP tasks publish QueueWaiting, QueueActive, OldestWaitingAgeSeconds,
 *   Workers and BacklogPerWorker every 10 s at high resolution; workers publish run metrics.
 * - Target tracking on BacklogPerWorker keeps about one worker per flow and does all scale-in
 *   (cooldowns: out 60 s, in 300 s).
 * - A step policy on a 10-second QueueWaiting alarm with 1 evaluation period adds workers as
 *   soon as one datapoint shows a waiting job, also from 0 tasks, which target tracking cannot
 *   (cooldown 30 s). The steps live in lib/scaling-policy.ts, shared with the simulator.
 * - Worker tasks may call ecs:UpdateTaskProtection on tasks of their cluster, so a worker
 *   running a flow is never chosen for scale-in.
 */
export class QueueScaling extends Construct {
  readonly scalableTarget: ecs.ScalableTaskCount;
  readonly deploymentName: string;
  readonly minWorkers: number;
  readonly maxWorkers: number;

  constructor(scope: Construct, id: string, props: QueueScalingProps) {
    super(scope, id);
    const backlogPerWorkerTarget =
      props.backlogPerWorkerTarget ?? DEFAULT_BACKLOG_PER_WORKER_TARGET;
    const deploymentName = props.deploymentName ?? Stack.of(this).stackName;
    const { minWorkers, maxWorkers } = props;
    if (!Number.isInteger(minWorkers) || minWorkers < 0) {
      throw new Error(`minWorkers must be a non-negative integer (got ${minWorkers})`);
    }
    if (!Number.isInteger(maxWorkers) || maxWorkers < Math.max(1, minWorkers)) {
      throw new Error(
        `maxWorkers must be an integer of at least max(1, minWorkers ${minWorkers}) (got ${maxWorkers})`,
      );
    }
    if (!(backlogPerWorkerTarget > 0)) {
      throw new Error(`backlogPerWorkerTarget must be above 0 (got ${backlogPerWorkerTarget})`);
    }
    this.deploymentName = deploymentName;
    this.minWorkers = minWorkers;
    this.maxWorkers = maxWorkers;

    const metricsEnvironment = {
      SLUICE_METRICS: 'cloudwatch',
      SLUICE_METRICS_INTERVAL_S: String(METRIC_PERIOD_SECONDS),
      SLUICE_DEPLOYMENT_NAME: deploymentName,
      SLUICE_METRICS_REGION: Stack.of(this).region,
    };
    for (const tier of [props.appService.taskDefinition, props.workerService.taskDefinition]) {
      for (const [name, value] of Object.entries(metricsEnvironment)) {
        tier.container.addEnvironment(name, value);
      }
      const taskRole = tier.taskDefinition.taskRole;
      taskRole.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['cloudwatch:PutMetricData'],
          resources: ['*'],
          conditions: { StringEquals: { 'cloudwatch:namespace': METRICS_NAMESPACE } },
        }),
      );
      Validations.of(taskRole).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'cloudwatch:PutMetricData supports no resource-level permission; the statement is pinned to the Sluice namespace by the cloudwatch:namespace condition',
      });
    }

    const workerTaskRole = props.workerService.taskDefinition.taskDefinition.taskRole;
    const clusterName = props.workerService.service.cluster.clusterName;
    const clusterTasks = Stack.of(this).formatArn({
      service: 'ecs',
      resource: 'task',
      resourceName: `${clusterName}/*`,
    });
    // The ECS agent endpoint ($ECS_AGENT_URI/task-protection/v1/state) signs with the task role.
    workerTaskRole.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['ecs:UpdateTaskProtection'], resources: [clusterTasks] }),
    );
    const cfnCluster = props.workerService.service.cluster.node.defaultChild as CfnElement;
    const clusterLogicalId = Stack.of(this).getLogicalId(cfnCluster);
    Validations.of(workerTaskRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task/<${clusterLogicalId}>/*]`,
      reason:
        'A task ARN is only known once the task runs; the worker may change scale-in protection only on tasks of its own cluster (task/<cluster>/*)',
    });

    this.scalableTarget = props.workerService.service.autoScaleTaskCount({
      minCapacity: minWorkers,
      maxCapacity: maxWorkers,
    });
    if (props.runQueue === undefined) {
      this.scalableTarget.scaleToTrackCustomMetric('BacklogPerWorkerTracking', {
        metric: this.metric(METRIC.backlogPerWorker, {
          statistic: 'Average',
          period: Duration.minutes(1),
        }),
        targetValue: backlogPerWorkerTarget,
        scaleOutCooldown: Duration.seconds(TARGET_SCALE_OUT_COOLDOWN_SECONDS),
        scaleInCooldown: Duration.seconds(TARGET_SCALE_IN_COOLDOWN_SECONDS),
      });
    } else {
      this.trackSqsBacklogPerTask(props.runQueue, props.workerService, backlogPerWorkerTarget);
      // From 0 tasks the backlog per task has no denominator: this step policy wakes the fleet
      // on SQS's own visible count, whether or not an APP task publishes anything.
      this.scalableTarget.scaleOnMetric('SqsVisibleScaleOut', {
        metric: props.runQueue.metric('ApproximateNumberOfMessagesVisible', {
          statistic: 'Maximum',
          period: Duration.seconds(SQS_METRIC_PERIOD_SECONDS),
        }),
        adjustmentType: appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
        metricAggregationType: appscaling.MetricAggregationType.MAXIMUM,
        evaluationPeriods: SQS_BURST_ALARM_EVALUATION_PERIODS,
        datapointsToAlarm: SQS_BURST_ALARM_EVALUATION_PERIODS,
        cooldown: Duration.seconds(BURST_COOLDOWN_SECONDS),
        scalingSteps: [
          { upper: BURST_ALARM_THRESHOLD, change: 0 },
          ...BURST_STEPS.map((step) => ({ lower: step.waitingAtLeast, change: step.addWorkers })),
        ],
      });
    }
    // The 10-second QueueWaiting alarm stays the fast path whenever an APP task publishes it.
    this.scalableTarget.scaleOnMetric('BurstScaleOut', {
      metric: this.metric(METRIC.queueWaiting, {
        statistic: 'Maximum',
        period: Duration.seconds(METRIC_PERIOD_SECONDS),
      }),
      adjustmentType: appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
      metricAggregationType: appscaling.MetricAggregationType.MAXIMUM,
      evaluationPeriods: BURST_ALARM_EVALUATION_PERIODS,
      datapointsToAlarm: BURST_ALARM_EVALUATION_PERIODS,
      cooldown: Duration.seconds(BURST_COOLDOWN_SECONDS),
      scalingSteps: [
        // No scale-in here: target tracking owns it.
        { upper: BURST_ALARM_THRESHOLD, change: 0 },
        ...BURST_STEPS.map((step) => ({ lower: step.waitingAtLeast, change: step.addWorkers })),
      ],
    });
  }

  /**
   * Target tracking on (ApproximateNumberOfMessagesVisible + ApproximateNumberOfMessagesNotVisible)
   * / running worker tasks, in metric math. CDK's target tracking takes one metric only, so the
   * policy's CustomizedMetricSpecification is replaced with its `Metrics` form. Running tasks
   * are the SampleCount of the service's AWS/ECS CPUUtilization over one minute, which ECS
   * publishes for free (Container Insights, which has RunningTaskCount, bills its metrics).
   */
  private trackSqsBacklogPerTask(
    runQueue: RunQueue,
    workerService: WorkerService,
    targetValue: number,
  ): void {
    this.scalableTarget.scaleToTrackCustomMetric('SqsBacklogPerTaskTracking', {
      metric: runQueue.metric('ApproximateNumberOfMessagesVisible'),
      targetValue,
      scaleOutCooldown: Duration.seconds(TARGET_SCALE_OUT_COOLDOWN_SECONDS),
      scaleInCooldown: Duration.seconds(TARGET_SCALE_IN_COOLDOWN_SECONDS),
    });
    const queueDimension = [{ Name: 'QueueName', Value: runQueue.queue.queueName }];
    const stat = (
      id: string,
      namespace: string,
      metricName: string,
      dimensions: unknown,
      s: string,
    ) => ({
      Id: id,
      MetricStat: {
        Metric: { Namespace: namespace, MetricName: metricName, Dimensions: dimensions },
        Stat: s,
      },
      ReturnData: false,
    });
    const service = workerService.service;
    // ScalableTaskCount puts its policies under its ScalableTarget, the child 'Target'.
    const cfnPolicy = this.scalableTarget.node
      .findChild('Target')
      .node.findChild('SqsBacklogPerTaskTracking').node.defaultChild as CfnScalingPolicy;
    const path = 'TargetTrackingScalingPolicyConfiguration.CustomizedMetricSpecification';
    for (const key of ['MetricName', 'Namespace', 'Dimensions', 'Statistic', 'Unit']) {
      cfnPolicy.addPropertyDeletionOverride(`${path}.${key}`);
    }
    cfnPolicy.addPropertyOverride(`${path}.Metrics`, [
      stat('visible', 'AWS/SQS', 'ApproximateNumberOfMessagesVisible', queueDimension, 'Average'),
      stat(
        'inflight',
        'AWS/SQS',
        'ApproximateNumberOfMessagesNotVisible',
        queueDimension,
        'Average',
      ),
      stat(
        'tasks',
        'AWS/ECS',
        'CPUUtilization',
        [
          { Name: 'ClusterName', Value: service.cluster.clusterName },
          { Name: 'ServiceName', Value: service.serviceName },
        ],
        'SampleCount',
      ),
      {
        Id: 'backlogPerTask',
        Expression: '(visible + inflight) / tasks',
        Label: 'SQS backlog per running worker task',
        ReturnData: true,
      },
    ]);
  }

  /** A Sluice metric of this deployment. */
  metric(metricName: string, options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { [METRICS_DIMENSION]: this.deploymentName },
      period: Duration.seconds(METRIC_PERIOD_SECONDS),
      ...options,
    });
  }
}
