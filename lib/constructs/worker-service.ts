import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { Construct } from 'constructs';
import { WORKER_HEALTH_PORT, WORKER_STOP_TIMEOUT_S } from '../../runtime/limits';
import { DEFAULT_WORKER_CPU, DEFAULT_WORKER_MEMORY_MIB } from '../sizing';
import { SluiceTaskDefinition, type SluiceTaskSettings } from './sluice-task-definition';

export interface WorkerServiceProps {
  /** The cluster; it must have the FARGATE and FARGATE_SPOT capacity providers. */
  readonly cluster: ecs.ICluster;
  /** Security group of the worker tasks (see Network). */
  readonly securityGroup: ec2.ISecurityGroup;
  readonly task: SluiceTaskSettings;
  /** SLUICE_PUBLIC_URL, the APP tier's URL, used in links the worker writes. */
  readonly publicUrl: string;
  /**
   * Worker tasks at the peak, from sizing: one per concurrent flow. It bounds `onDemandBase`;
   * the count itself belongs to autoscaling (QueueScaling), never to the template.
   */
  readonly peakTasks: number;
  /**
   * Worker tasks kept on on-demand FARGATE; the rest run on FARGATE_SPOT.
   * @default 1
   */
  readonly onDemandBase?: number;
  /**
   * Subnets of the worker tasks.
   * @default - private subnets with egress
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /**
   * Give each task a public IP: needed in public subnets, where there is no NAT gateway.
   * @default false
   */
  readonly assignPublicIp?: boolean;
  /**
   * Fargate CPU units per worker task.
   * @default DEFAULT_WORKER_CPU (256)
   */
  readonly cpu?: number;
  /**
   * Memory per worker task.
   * @default DEFAULT_WORKER_MEMORY_MIB (512)
   */
  readonly memoryLimitMiB?: number;
}

/**
 * The worker tier: a Fargate service (SLUICE_ROLE=worker, one flow per task) with no load
 * balancer, an on-demand FARGATE base and the rest on FARGATE_SPOT, and 120 s between SIGTERM
 * and SIGKILL so a Spot interruption lets the running flow drain.
 *
 * The service carries no DesiredCount: CloudFormation would apply it again on every update and
 * start the whole peak on each image change (aws-cdk#3919). CloudFormation creates a service
 * without one at one task; registering QueueScaling's scalable target then moves the count into
 * [minWorkers, peak] (RegisterScalableTarget changes a new target's current capacity "to a
 * value that is inside of this range"), and the target owns it from then on.
 *
 * Architecture: X86_64 only, because Fargate Spot does not run ARM64 tasks: "Linux tasks with
 * the ARM64 architecture don't support the Fargate Spot capacity provider"
 * (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-capacity-providers.html).
 */
export class WorkerService extends Construct {
  readonly service: ecs.FargateService;
  readonly taskDefinition: SluiceTaskDefinition;

  constructor(scope: Construct, id: string, props: WorkerServiceProps) {
    super(scope, id);
    const onDemandBase = props.onDemandBase ?? 1;
    const cpu = props.cpu ?? DEFAULT_WORKER_CPU;
    const memoryLimitMiB = props.memoryLimitMiB ?? DEFAULT_WORKER_MEMORY_MIB;
    if (!Number.isInteger(props.peakTasks) || props.peakTasks < 1) {
      throw new Error(`peakTasks must be a positive integer (got ${props.peakTasks})`);
    }
    if (!Number.isInteger(onDemandBase) || onDemandBase < 0 || onDemandBase > props.peakTasks) {
      throw new Error(
        `onDemandBase must be an integer from 0 to peakTasks ${props.peakTasks} (got ${onDemandBase})`,
      );
    }

    this.taskDefinition = new SluiceTaskDefinition(this, 'Task', {
      ...props.task,
      role: 'worker',
      cpu,
      memoryLimitMiB,
      publicUrl: props.publicUrl,
      stopTimeoutSeconds: WORKER_STOP_TIMEOUT_S,
      environment: {
        SLUICE_WORKER_CONCURRENCY: '1',
        // Stated, not left to the default: the health probe and the worker must agree on it.
        SLUICE_WORKER_HEALTH_PORT: String(WORKER_HEALTH_PORT),
      },
      cpuArchitecture: ecs.CpuArchitecture.X86_64,
      workerHealthCheck: true,
    });
    this.service = new ecs.FargateService(this, 'Service', {
      cluster: props.cluster,
      taskDefinition: this.taskDefinition.taskDefinition,
      // With no on-demand base the strategy names Spot alone: every worker is a Spot task.
      capacityProviderStrategies: [
        ...(onDemandBase === 0
          ? []
          : [{ capacityProvider: 'FARGATE', base: onDemandBase, weight: 0 }]),
        { capacityProvider: 'FARGATE_SPOT', weight: 1 },
      ],
      // Workers carry no traffic: replacing them all at once is fine, each drains its flow.
      minHealthyPercent: 0,
      maxHealthyPercent: 200,
      circuitBreaker: { enable: true, rollback: true },
      securityGroups: [props.securityGroup],
      vpcSubnets: props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      assignPublicIp: props.assignPublicIp ?? false,
      propagateTags: ecs.PropagatedTagSource.SERVICE,
    });
    // A capacity-provider strategy fails at create time unless the cluster's capacity
    // provider association exists first; depending on the cluster orders that.
    this.service.node.addDependency(props.cluster);
  }
}
