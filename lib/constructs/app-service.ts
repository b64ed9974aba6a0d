import { Duration, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import {
  ALB_IDLE_TIMEOUT_S,
  APP_PORT,
  DEFAULT_WEBHOOK_TIMEOUT_S,
  HEALTH_PATH,
} from '../../runtime/limits';
import { DEFAULT_APP_CPU, DEFAULT_APP_MEMORY_MIB, MIN_APPS } from '../sizing';
import { Edge, ORIGIN_HTTP_PORT, ORIGIN_HTTPS_PORT, ORIGIN_RESPONSE_TIMEOUT_S } from './edge';
import { SluiceTaskDefinition, type SluiceTaskSettings } from './sluice-task-definition';

export interface AppServiceProps {
  readonly cluster: ecs.ICluster;
  /** Security group of the internal ALB (see Network). */
  readonly albSecurityGroup: ec2.ISecurityGroup;
  /** Security group of the APP tasks (see Network). */
  readonly securityGroup: ec2.ISecurityGroup;
  readonly task: SluiceTaskSettings;
  /** The first management API key, passed as SLUICE_API_KEY. */
  readonly apiKeySecret: secretsmanager.ISecret;
  /**
   * Subnets of the APP tasks.
   * @default - private subnets with egress
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /**
   * Subnets of the internal ALB; CloudFront's VPC origin needs private ones.
   * @default - private subnets with egress
   */
  readonly albSubnets?: ec2.SubnetSelection;
  /**
   * Give each task a public IP: needed in public subnets, where there is no NAT gateway.
   * @default false
   */
  readonly assignPublicIp?: boolean;
  /** Most APP tasks, from sizing: the ceiling of request-count autoscaling. */
  readonly maxTasks: number;
  /**
   * Fewest APP tasks: two, so that one AZ or one task can fail without taking the API down.
   * @default MIN_APPS (2)
   */
  readonly minTasks?: number;
  /**
   * ALBRequestCountPerTarget (requests per task per minute) that target tracking holds.
   * @default DEFAULT_APP_REQUESTS_PER_TARGET (3000, 50 requests/s per task)
   */
  readonly requestsPerTarget?: number;
  /**
   * Fargate CPU units per APP task.
   * @default DEFAULT_APP_CPU (512)
   */
  readonly cpu?: number;
  /**
   * Memory per APP task.
   * @default DEFAULT_APP_MEMORY_MIB (1024)
   */
  readonly memoryLimitMiB?: number;
  /**
   * CPU architecture of APP tasks; ARM64 (Graviton) costs about 20% less per vCPU and GB.
   * @default ecs.CpuArchitecture.X86_64
   */
  readonly cpuArchitecture?: ecs.CpuArchitecture;
  /**
   * Public host name served by CloudFront; needs `certificateArn`. Point its DNS at the
   * distribution.
   * @default - none: https://<id>.cloudfront.net
   */
  readonly domainName?: string;
  /**
   * ACM certificate for `domainName`, in us-east-1 (CloudFront's region).
   * @default - none
   */
  readonly certificateArn?: string;
  /**
   * ACM certificate for `domainName` in the stack's region, for the ALB: CloudFront then reaches
   * it over HTTPS (checked against `domainName`) instead of plain HTTP inside the VPC.
   * @default - none: plain HTTP from CloudFront's VPC origin to the internal ALB
   */
  readonly originCertificateArn?: string;
  /**
   * CloudFront's origin response timeout; must exceed the sync webhook wait.
   * @default ORIGIN_RESPONSE_TIMEOUT_S (60)
   */
  readonly originResponseTimeoutSeconds?: number;
  /**
   * How long the ALB lets in-flight requests finish on a deregistering task.
   * @default webhookTimeoutSeconds + APP_STOP_MARGIN_S (10)
   */
  readonly deregistrationDelaySeconds?: number;
}

/** ALBRequestCountPerTarget the APP tier holds: 50 requests/s per task, far under its bench. */
export const DEFAULT_APP_REQUESTS_PER_TARGET = 3000;

/** ALB deregistration delay stays under this, so deployments and scale-in stay quick. */
export const MAX_DEREGISTRATION_DELAY_S = 120;

/**
 * Seconds past the sync webhook timeout that an APP task gets, both to drain from the ALB and,
 * once it has SIGTERM, to finish its in-flight requests and close before SIGKILL.
 */
export const APP_STOP_MARGIN_S = 10;

/**
 * The APP tier: a Fargate service (SLUICE_ROLE=app) behind an internal ALB that only
 * CloudFront reaches (see Edge), health-checked on /v1/health, rolled out with
 * minHealthyPercent 100 and a circuit breaker that rolls back, and autoscaled on requests per
 * task between `minTasks` and `maxTasks`. The service carries no DesiredCount, so that a
 * deployment never resets what autoscaling chose (aws-cdk#3919).
 */
export class AppService extends Construct {
  readonly service: ecs.FargateService;
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  readonly targetGroup: elbv2.ApplicationTargetGroup;
  readonly taskDefinition: SluiceTaskDefinition;
  readonly edge: Edge;
  readonly scalableTarget: ecs.ScalableTaskCount;
  /** SLUICE_PUBLIC_URL: https://domainName, or https://<id>.cloudfront.net. */
  readonly publicUrl: string;

  constructor(scope: Construct, id: string, props: AppServiceProps) {
    super(scope, id);
    const cpu = props.cpu ?? DEFAULT_APP_CPU;
    const memoryLimitMiB = props.memoryLimitMiB ?? DEFAULT_APP_MEMORY_MIB;
    const minTasks = props.minTasks ?? MIN_APPS;
    const requestsPerTarget = props.requestsPerTarget ?? DEFAULT_APP_REQUESTS_PER_TARGET;
    const webhookTimeoutSeconds = props.task.webhookTimeoutSeconds ?? DEFAULT_WEBHOOK_TIMEOUT_S;
    const originResponseTimeoutSeconds =
      props.originResponseTimeoutSeconds ?? ORIGIN_RESPONSE_TIMEOUT_S;
    const deregistrationDelaySeconds =
      props.deregistrationDelaySeconds ?? webhookTimeoutSeconds + APP_STOP_MARGIN_S;
    // ECS drains a task from the ALB before SIGTERM when the service stops it, but not when it
    // is stopped directly (StopTask): then a sync webhook may be in flight, and the runtime's
    // server.close() waits for it, up to webhookTimeoutSeconds. ECS's default 30 s would kill
    // it at its own deadline. webhookTimeoutSeconds < ALB_IDLE_TIMEOUT_S keeps this under 120.
    const stopTimeoutSeconds = webhookTimeoutSeconds + APP_STOP_MARGIN_S;
    if (props.originCertificateArn !== undefined && props.domainName === undefined) {
      throw new Error(
        `originCertificateArn needs a domainName that it covers (got originCertificateArn ${props.originCertificateArn} and no domainName)`,
      );
    }
    const originProtocol = props.originCertificateArn === undefined ? 'http' : 'https';
    validateAppServiceProps({
      minTasks,
      maxTasks: props.maxTasks,
      requestsPerTarget,
      webhookTimeoutSeconds,
      originResponseTimeoutSeconds,
      deregistrationDelaySeconds,
    });

    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'LoadBalancer', {
      vpc: props.cluster.vpc,
      // Internal: no public address; CloudFront's VPC origin is the only way in.
      internetFacing: false,
      vpcSubnets: props.albSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroup: props.albSecurityGroup,
      // The runtime's keepAliveTimeout and headersTimeout are set above this same constant.
      idleTimeout: Duration.seconds(ALB_IDLE_TIMEOUT_S),
      dropInvalidHeaderFields: true,
      // Append (the default, pinned here): CloudFront adds the viewer's address to
      // X-Forwarded-For and the ALB appends CloudFront's, so the runtime, trusting
      // SLUICE_TRUSTED_PROXY_HOPS=2, finds the viewer second from the right.
      xffHeaderProcessingMode: elbv2.XffHeaderProcessingMode.APPEND,
    });
    Validations.of(this.loadBalancer).acknowledge({
      id: 'AwsSolutions-ELB2',
      reason:
        'The stack is environment-agnostic so that synth needs no credentials, and ALB log delivery needs a bucket policy for the region-specific ELB principal, unknown at synth; request counts, 5xx and latency are on the dashboard and alarmed',
    });
    this.edge = new Edge(this, 'Edge', {
      loadBalancer: this.loadBalancer,
      originProtocol,
      originResponseTimeoutSeconds,
      ...(props.domainName === undefined ? {} : { domainName: props.domainName }),
      ...(props.certificateArn === undefined ? {} : { certificateArn: props.certificateArn }),
    });
    this.publicUrl = this.edge.publicUrl;

    this.taskDefinition = new SluiceTaskDefinition(this, 'Task', {
      ...props.task,
      // CloudFront, then the ALB: the two proxies whose X-Forwarded-For entries are trusted.
      environment: { SLUICE_TRUSTED_PROXY_HOPS: '2' },
      role: 'app',
      cpu,
      memoryLimitMiB,
      publicUrl: this.publicUrl,
      apiKeySecret: props.apiKeySecret,
      containerPort: APP_PORT,
      stopTimeoutSeconds,
      databaseAdmin: true,
      ...(props.cpuArchitecture === undefined ? {} : { cpuArchitecture: props.cpuArchitecture }),
    });
    this.service = new ecs.FargateService(this, 'Service', {
      cluster: props.cluster,
      taskDefinition: this.taskDefinition.taskDefinition,
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      circuitBreaker: { enable: true, rollback: true },
      securityGroups: [props.securityGroup],
      vpcSubnets: props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      assignPublicIp: props.assignPublicIp ?? false,
      healthCheckGracePeriod: Duration.seconds(60),
      propagateTags: ecs.PropagatedTagSource.SERVICE,
    });

    this.targetGroup = new elbv2.ApplicationTargetGroup(this, 'Targets', {
      vpc: props.cluster.vpc,
      port: APP_PORT,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targetType: elbv2.TargetType.IP,
      deregistrationDelay: Duration.seconds(deregistrationDelaySeconds),
      healthCheck: {
        path: HEALTH_PATH,
        healthyHttpCodes: '200',
        interval: Duration.seconds(15),
        timeout: Duration.seconds(5),
        healthyThresholdCount: 2,
        unhealthyThresholdCount: 3,
      },
      targets: [this.service],
    });
    // The only listener, on an internal ALB that admits the VPC only (Network): HTTPS with an
    // origin certificate, else plain HTTP that never leaves the VPC. Viewers reach it through
    // CloudFront, which serves HTTPS and redirects HTTP.
    if (props.originCertificateArn === undefined) {
      this.loadBalancer.addListener('Http', {
        port: ORIGIN_HTTP_PORT,
        protocol: elbv2.ApplicationProtocol.HTTP,
        defaultTargetGroups: [this.targetGroup],
        open: false,
      });
    } else {
      this.loadBalancer.addListener('Https', {
        port: ORIGIN_HTTPS_PORT,
        protocol: elbv2.ApplicationProtocol.HTTPS,
        certificates: [elbv2.ListenerCertificate.fromArn(props.originCertificateArn)],
        sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
        defaultTargetGroups: [this.targetGroup],
        open: false,
      });
    }

    this.scalableTarget = this.service.autoScaleTaskCount({
      minCapacity: minTasks,
      maxCapacity: props.maxTasks,
    });
    this.scalableTarget.scaleOnRequestCount('RequestCountTracking', {
      requestsPerTarget,
      targetGroup: this.targetGroup,
      scaleOutCooldown: Duration.seconds(60),
      scaleInCooldown: Duration.seconds(300),
    });
  }
}

/** Checks that span props: each message names the prop and the value it got. */
function validateAppServiceProps(props: {
  readonly minTasks: number;
  readonly maxTasks: number;
  readonly requestsPerTarget: number;
  readonly webhookTimeoutSeconds: number;
  readonly originResponseTimeoutSeconds: number;
  readonly deregistrationDelaySeconds: number;
}): void {
  if (!Number.isInteger(props.minTasks) || props.minTasks < 1) {
    throw new Error(`minTasks must be a positive integer (got ${props.minTasks})`);
  }
  if (!Number.isInteger(props.maxTasks) || props.maxTasks < props.minTasks) {
    throw new Error(
      `maxTasks must be an integer of at least minTasks ${props.minTasks} (got ${props.maxTasks})`,
    );
  }
  if (!(props.requestsPerTarget > 0)) {
    throw new Error(`requestsPerTarget must be above 0 (got ${props.requestsPerTarget})`);
  }
  // A sync webhook answers 504 at its timeout; both hops must still be waiting then.
  if (props.webhookTimeoutSeconds >= ALB_IDLE_TIMEOUT_S) {
    throw new Error(
      `webhookTimeoutSeconds must be less than the ALB idle timeout ${ALB_IDLE_TIMEOUT_S} (got ${props.webhookTimeoutSeconds})`,
    );
  }
  if (props.webhookTimeoutSeconds >= props.originResponseTimeoutSeconds) {
    throw new Error(
      `webhookTimeoutSeconds must be less than originResponseTimeoutSeconds ${props.originResponseTimeoutSeconds} (got ${props.webhookTimeoutSeconds})`,
    );
  }
  if (
    props.deregistrationDelaySeconds < 0 ||
    props.deregistrationDelaySeconds >= MAX_DEREGISTRATION_DELAY_S
  ) {
    throw new Error(
      `deregistrationDelaySeconds must be from 0 to ${MAX_DEREGISTRATION_DELAY_S - 1} (got ${props.deregistrationDelaySeconds})`,
    );
  }
}
