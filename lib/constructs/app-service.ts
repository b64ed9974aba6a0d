import { Duration, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { APP_PORT, DEFAULT_WEBHOOK_TIMEOUT_S, HEALTH_PATH } from '../../runtime/limits';
import { DEFAULT_APP_CPU, DEFAULT_APP_MEMORY_MIB } from '../sizing';
import { SluiceTaskDefinition, type SluiceTaskSettings } from './sluice-task-definition';

export interface AppServiceProps {
  readonly cluster: ecs.ICluster;
  /** Security group of the internet-facing ALB (see Network). */
  readonly albSecurityGroup: ec2.ISecurityGroup;
  /** Security group of the APP tasks (see Network). */
  readonly securityGroup: ec2.ISecurityGroup;
  readonly task: SluiceTaskSettings;
  /** The first management API key, passed as SLUICE_API_KEY. */
  readonly apiKeySecret: secretsmanager.ISecret;
  /** APP tasks, from sizing. */
  readonly desiredCount: number;
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
   * Public host name; SLUICE_PUBLIC_URL becomes https://domainName. Point its DNS at the ALB.
   * @default - none: SLUICE_PUBLIC_URL is http://<alb dns name>
   */
  readonly domainName?: string;
  /**
   * ACM certificate for `domainName`: the ALB serves HTTPS on 443 and redirects 80 to it.
   * @default - none: plain HTTP on 80
   */
  readonly certificateArn?: string;
  /**
   * ALB idle timeout. Must exceed the sync webhook wait, or the ALB cuts waiting callers off.
   * @default webhookTimeoutSeconds + 30
   */
  readonly albIdleTimeoutSeconds?: number;
  /**
   * How long the ALB lets in-flight requests finish on a deregistering task.
   * @default webhookTimeoutSeconds + 10
   */
  readonly deregistrationDelaySeconds?: number;
}

/** ALB deregistration delay stays under this, so deployments and scale-in stay quick. */
export const MAX_DEREGISTRATION_DELAY_S = 120;

/**
 * The APP tier: a Fargate service (SLUICE_ROLE=app) behind an internet-facing ALB, HTTPS when
 * a certificate is given, health-checked on /v1/health, rolled out with minHealthyPercent 100
 * and a circuit breaker that rolls back.
 */
export class AppService extends Construct {
  readonly service: ecs.FargateService;
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  readonly targetGroup: elbv2.ApplicationTargetGroup;
  readonly taskDefinition: SluiceTaskDefinition;
  /** SLUICE_PUBLIC_URL: https://domainName, or http://<alb dns name>. */
  readonly publicUrl: string;

  constructor(scope: Construct, id: string, props: AppServiceProps) {
    super(scope, id);
    const cpu = props.cpu ?? DEFAULT_APP_CPU;
    const memoryLimitMiB = props.memoryLimitMiB ?? DEFAULT_APP_MEMORY_MIB;
    const webhookTimeoutSeconds = props.task.webhookTimeoutSeconds ?? DEFAULT_WEBHOOK_TIMEOUT_S;
    const albIdleTimeoutSeconds = props.albIdleTimeoutSeconds ?? webhookTimeoutSeconds + 30;
    const deregistrationDelaySeconds =
      props.deregistrationDelaySeconds ?? webhookTimeoutSeconds + 10;
    validateAppServiceProps({
      ...props,
      webhookTimeoutSeconds,
      albIdleTimeoutSeconds,
      deregistrationDelaySeconds,
    });
    const https = props.certificateArn !== undefined;

    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'LoadBalancer', {
      vpc: props.cluster.vpc,
      internetFacing: true,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      securityGroup: props.albSecurityGroup,
      idleTimeout: Duration.seconds(albIdleTimeoutSeconds),
      dropInvalidHeaderFields: true,
    });
    Validations.of(this.loadBalancer).acknowledge({
      id: 'AwsSolutions-ELB2',
      reason:
        'The stack is environment-agnostic so that synth needs no credentials, and ALB log delivery needs a bucket policy for the region-specific ELB principal, unknown at synth; request counts, 5xx and latency are on the dashboard and alarmed',
    });
    this.publicUrl =
      props.domainName === undefined
        ? `http://${this.loadBalancer.loadBalancerDnsName}`
        : `https://${props.domainName}`;

    this.taskDefinition = new SluiceTaskDefinition(this, 'Task', {
      ...props.task,
      role: 'app',
      cpu,
      memoryLimitMiB,
      publicUrl: this.publicUrl,
      apiKeySecret: props.apiKeySecret,
      containerPort: APP_PORT,
    });
    this.service = new ecs.FargateService(this, 'Service', {
      cluster: props.cluster,
      taskDefinition: this.taskDefinition.taskDefinition,
      desiredCount: props.desiredCount,
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      circuitBreaker: { enable: true, rollback: true },
      securityGroups: [props.securityGroup],
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      assignPublicIp: false,
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

    if (https) {
      this.loadBalancer.addListener('Https', {
        port: 443,
        protocol: elbv2.ApplicationProtocol.HTTPS,
        certificates: [elbv2.ListenerCertificate.fromArn(props.certificateArn as string)],
        sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
        defaultTargetGroups: [this.targetGroup],
        open: false,
      });
      this.loadBalancer.addListener('Http', {
        port: 80,
        protocol: elbv2.ApplicationProtocol.HTTP,
        defaultAction: elbv2.ListenerAction.redirect({
          protocol: 'HTTPS',
          port: '443',
          permanent: true,
        }),
        open: false,
      });
    } else {
      this.loadBalancer.addListener('Http', {
        port: 80,
        protocol: elbv2.ApplicationProtocol.HTTP,
        defaultTargetGroups: [this.targetGroup],
        open: false,
      });
    }
  }
}

/** Checks that span props: each message names the prop and the value it got. */
function validateAppServiceProps(props: {
  readonly desiredCount: number;
  readonly domainName?: string;
  readonly certificateArn?: string;
  readonly webhookTimeoutSeconds: number;
  readonly albIdleTimeoutSeconds: number;
  readonly deregistrationDelaySeconds: number;
}): void {
  if (!Number.isInteger(props.desiredCount) || props.desiredCount < 1) {
    throw new Error(`desiredCount must be a positive integer (got ${props.desiredCount})`);
  }
  if (props.certificateArn !== undefined && props.domainName === undefined) {
    throw new Error(
      `certificateArn needs a domainName to serve (got certificateArn ${props.certificateArn} and no domainName)`,
    );
  }
  if (props.domainName !== undefined && props.certificateArn === undefined) {
    throw new Error(
      `domainName needs a certificateArn for HTTPS (got domainName ${props.domainName} and no certificateArn)`,
    );
  }
  if (
    !Number.isInteger(props.albIdleTimeoutSeconds) ||
    props.albIdleTimeoutSeconds < 1 ||
    props.albIdleTimeoutSeconds > 4000
  ) {
    throw new Error(
      `albIdleTimeoutSeconds must be an integer from 1 to 4000 (got ${props.albIdleTimeoutSeconds})`,
    );
  }
  if (props.webhookTimeoutSeconds >= props.albIdleTimeoutSeconds) {
    throw new Error(
      `webhookTimeoutSeconds must be less than albIdleTimeoutSeconds ${props.albIdleTimeoutSeconds} (got ${props.webhookTimeoutSeconds})`,
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
