import { fileURLToPath } from 'node:url';
import { CfnOutput, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { DEFAULT_FLOW_TIMEOUT_S, DEFAULT_WEBHOOK_TIMEOUT_S } from '../../runtime/limits';
import { AppService } from '../constructs/app-service';
import { Cache } from '../constructs/cache';
import { Dashboard } from '../constructs/dashboard';
import { Database } from '../constructs/database';
import { ORIGIN_HTTP_PORT, ORIGIN_HTTPS_PORT } from '../constructs/edge';
import { FileStore } from '../constructs/file-store';
import { Network } from '../constructs/network';
import { QueueScaling } from '../constructs/queue-scaling';
import { WorkerService } from '../constructs/worker-service';
import { sluiceContainerImage } from '../container-image';
import { validateFargateTaskSize } from '../fargate-task-size';
import {
  DEFAULT_APP_CPU,
  DEFAULT_APP_MEMORY_MIB,
  DEFAULT_ON_DEMAND_WORKER_BASE,
  DEFAULT_WORKER_CPU,
  DEFAULT_WORKER_MEMORY_MIB,
  type FleetShape,
  sizeFleet,
} from '../sizing';

/** The deployment's knobs, read from cdk.json context by bin/sluice.ts. */
export interface SluiceStackProps extends StackProps {
  /**
   * Peak number of flows running at once; sizes workers, apps, database and cache.
   * @default 10
   */
  readonly peakConcurrentFlows?: number;
  /**
   * Worker tasks kept on on-demand FARGATE; the rest run on FARGATE_SPOT.
   * @default 1
   */
  readonly onDemandWorkerBase?: number;
  /**
   * Fargate CPU units per worker task.
   * @default 256
   */
  readonly workerCpu?: number;
  /**
   * Memory per worker task.
   * @default 512
   */
  readonly workerMemoryMiB?: number;
  /**
   * Fargate CPU units per APP task.
   * @default 512
   */
  readonly appCpu?: number;
  /**
   * Memory per APP task.
   * @default 1024
   */
  readonly appMemoryMiB?: number;
  /**
   * RDS Multi-AZ, a Redis replica with automatic failover, and a NAT gateway per AZ.
   * @default true
   */
  readonly multiAz?: boolean;
  /**
   * Public host name for the API, served by CloudFront; needs `certificateArn`.
   * @default - none: the API is served at https://<id>.cloudfront.net
   */
  readonly domainName?: string;
  /**
   * ACM certificate ARN for `domainName`, in us-east-1 (CloudFront reads certificates there
   * only, whatever the stack's region).
   * @default - none
   */
  readonly certificateArn?: string;
  /**
   * ACM certificate for `domainName` in the stack's region: the ALB then serves HTTPS and
   * CloudFront reaches it over HTTPS, so no hop is plain HTTP.
   * @default - none: CloudFront reaches the internal ALB over plain HTTP inside the VPC
   */
  readonly originCertificateArn?: string;
  /**
   * CPU architecture of the APP tier. arm64 (Graviton) is about 20% cheaper; workers stay on
   * x86_64 because Fargate Spot does not run ARM64.
   * @default 'x86_64'
   */
  readonly cpuArchitecture?: 'x86_64' | 'arm64';
  /**
   * Web origins whose pages may PUT to pre-signed upload URLs (the bucket's CORS rule).
   * @default [] - none
   */
  readonly corsOrigins?: readonly string[];
  /**
   * A pre-built runtime image instead of building the repo's Dockerfile.
   * @default - the Dockerfile in `imageDirectory`
   */
  readonly imageUri?: string;
  /**
   * Directory with the runtime's Dockerfile.
   * @default - the repository root
   */
  readonly imageDirectory?: string;
  /**
   * What deleting the stack does to data. retain: RDS and Valkey take a final snapshot, and
   * the bucket, secrets and log groups are kept. destroy: everything is deleted.
   * @default 'retain'
   */
  readonly removalPolicy?: 'retain' | 'destroy';
  /**
   * SLUICE_WEBHOOK_TIMEOUT_S: the longest a sync webhook waits for its run. Must be below the
   * ALB idle timeout (ALB_IDLE_TIMEOUT_S, 60) and `originResponseTimeoutSeconds`.
   * @default DEFAULT_WEBHOOK_TIMEOUT_S (30)
   */
  readonly webhookTimeoutSeconds?: number;
  /**
   * SLUICE_FLOW_TIMEOUT_S: the longest one run may take.
   * @default DEFAULT_FLOW_TIMEOUT_S (600)
   */
  readonly flowTimeoutSeconds?: number;
  /**
   * CloudFront's origin response timeout; must exceed `webhookTimeoutSeconds`. Above 60 needs a
   * CloudFront quota increase.
   * @default 60
   */
  readonly originResponseTimeoutSeconds?: number;
  /**
   * Retention of container and VPC flow logs.
   * @default 30
   */
  readonly logRetentionDays?: number;
  /**
   * Fewest worker tasks when idle; 0 lets the worker fleet sleep (the burst policy wakes it
   * within about a minute of the first waiting job).
   * @default 1
   */
  readonly minWorkers?: number;
  /**
   * BacklogPerWorker that target tracking holds: (waiting + active) / workers.
   * @default 1.0
   */
  readonly backlogPerWorkerTarget?: number;
  /**
   * Days after which RUN_LOG objects expire from the bucket.
   * @default 30
   */
  readonly runLogRetentionDays?: number;
  /**
   * SLUICE_RUN_RETENTION_DAYS: days ended runs stay in the database. Must not exceed
   * `runLogRetentionDays`, or the bucket would expire logs of runs that are still listed.
   * @default 30
   */
  readonly runRetentionDays?: number;
  /**
   * SLUICE_QUEUE_PREFIX for both tiers, a Redis `{hashtag}`. A deployment created before the
   * prefix named the deployment sets `{sluice}` to keep its queue across the upgrade.
   * @default - none: the runtime uses `{sluice:<stack name>}`, one queue per deployment
   */
  readonly queuePrefix?: string;
}

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Every production piece of Sluice in one stack, sized from `peakConcurrentFlows`. */
export class SluiceStack extends Stack {
  readonly fleet: FleetShape;
  readonly network: Network;
  readonly database: Database;
  readonly cache: Cache;
  readonly fileStore: FileStore;
  readonly appService: AppService;
  readonly workerService: WorkerService;
  readonly queueScaling: QueueScaling;
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: SluiceStackProps = {}) {
    super(scope, id, props);
    const peakConcurrentFlows = props.peakConcurrentFlows ?? 10;
    const onDemandWorkerBase = props.onDemandWorkerBase ?? DEFAULT_ON_DEMAND_WORKER_BASE;
    const workerCpu = props.workerCpu ?? DEFAULT_WORKER_CPU;
    const workerMemoryMiB = props.workerMemoryMiB ?? DEFAULT_WORKER_MEMORY_MIB;
    const appCpu = props.appCpu ?? DEFAULT_APP_CPU;
    const appMemoryMiB = props.appMemoryMiB ?? DEFAULT_APP_MEMORY_MIB;
    const multiAz = props.multiAz ?? true;
    const removalPolicyName = props.removalPolicy ?? 'retain';
    const webhookTimeoutSeconds = props.webhookTimeoutSeconds ?? DEFAULT_WEBHOOK_TIMEOUT_S;
    const flowTimeoutSeconds = props.flowTimeoutSeconds ?? DEFAULT_FLOW_TIMEOUT_S;
    const cpuArchitecture = props.cpuArchitecture ?? 'x86_64';
    const logRetentionDays = props.logRetentionDays ?? 30;
    const runLogRetentionDays = props.runLogRetentionDays ?? 30;
    const runRetentionDays = props.runRetentionDays ?? 30;

    validateFargateTaskSize(
      { cpu: 'workerCpu', memoryMiB: 'workerMemoryMiB' },
      workerCpu,
      workerMemoryMiB,
    );
    validateFargateTaskSize({ cpu: 'appCpu', memoryMiB: 'appMemoryMiB' }, appCpu, appMemoryMiB);
    if (removalPolicyName !== 'retain' && removalPolicyName !== 'destroy') {
      throw new Error(`removalPolicy must be retain or destroy (got ${removalPolicyName})`);
    }
    if (cpuArchitecture !== 'x86_64' && cpuArchitecture !== 'arm64') {
      throw new Error(`cpuArchitecture must be x86_64 or arm64 (got ${cpuArchitecture})`);
    }
    requireIntegerIn('webhookTimeoutSeconds', webhookTimeoutSeconds, 1, 900);
    requireIntegerIn('flowTimeoutSeconds', flowTimeoutSeconds, 1, 86_400);
    requireIntegerIn('runRetentionDays', runRetentionDays, 1, 36_500);
    if (runLogRetentionDays < runRetentionDays) {
      throw new Error(
        `runLogRetentionDays must not be shorter than runRetentionDays, or run logs expire while their runs are still listed (got ${runLogRetentionDays} < ${runRetentionDays})`,
      );
    }
    if (props.queuePrefix !== undefined && !/^\{[^{}]+\}$/.test(props.queuePrefix)) {
      throw new Error(
        `queuePrefix must be a Redis hashtag such as {sluice} (got ${props.queuePrefix})`,
      );
    }
    const logRetention = logRetentionDays as logs.RetentionDays;
    if (!Object.values(logs.RetentionDays).includes(logRetention)) {
      throw new Error(
        `logRetentionDays must be a CloudWatch Logs retention such as 7, 14, 30, 90, 365 (got ${logRetentionDays})`,
      );
    }
    this.fleet = sizeFleet({ peakConcurrentFlows, onDemandWorkerBase, multiAz });
    const removalPolicy =
      removalPolicyName === 'retain' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    this.network = new Network(this, 'Network', {
      natGateways: this.fleet.natGateways,
      albListenerPorts: [
        props.originCertificateArn === undefined ? ORIGIN_HTTP_PORT : ORIGIN_HTTPS_PORT,
      ],
      flowLogRetention: logRetention,
      removalPolicy,
    });
    this.database = new Database(this, 'Database', {
      vpc: this.network.vpc,
      securityGroup: this.network.databaseSecurityGroup,
      instanceType: this.fleet.database.instanceType,
      maxConnections: this.fleet.database.maxConnections,
      multiAz,
      removalPolicy,
    });
    this.cache = new Cache(this, 'Cache', {
      vpc: this.network.vpc,
      securityGroup: this.network.cacheSecurityGroup,
      nodeType: this.fleet.cacheNodeType,
      multiAz,
      removalPolicy,
    });
    this.fileStore = new FileStore(this, 'FileStore', {
      runLogRetentionDays,
      removalPolicy,
      corsAllowedOrigins: props.corsOrigins ?? [],
    });
    // The key-encryption key of flow secrets: only the task roles are granted its use.
    const secretsKey = new kms.Key(this, 'SecretsKey', {
      description: 'Sluice flow secrets: wraps each secret data key (SLUICE_SECRETS_KMS_KEY_ID)',
      enableKeyRotation: true,
      removalPolicy,
    });
    const apiKey = new secretsmanager.Secret(this, 'ApiKey', {
      description: 'Sluice first management API key (SLUICE_API_KEY)',
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
      removalPolicy,
    });
    Validations.of(apiKey).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'This key only seeds the first project on first start; keys are rotated through the management API (create a new key, revoke this one), which Secrets Manager rotation cannot do',
    });

    const cluster = new ecs.Cluster(this, 'Cluster', {
      vpc: this.network.vpc,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
      enableFargateCapacityProviders: true,
    });
    // ECS would create Container Insights' log group on first use, outside the stack, with no
    // retention, and destroy would leave it behind; owning it here gives it both.
    const containerInsightsLogs = new logs.LogGroup(this, 'ContainerInsightsLogs', {
      logGroupName: `/aws/ecs/containerinsights/${cluster.clusterName}/performance`,
      retention: logRetention,
      removalPolicy,
    });
    const image = (architecture: 'x86_64' | 'arm64') =>
      sluiceContainerImage(this, {
        directory: props.imageDirectory ?? REPO_ROOT,
        architecture,
        ...(props.imageUri === undefined ? {} : { imageUri: props.imageUri }),
      });
    const task = {
      image: image('x86_64'),
      database: this.database,
      cache: this.cache,
      fileStore: this.fileStore,
      secretsKey,
      runRetentionDays,
      dbPoolSize: this.fleet.dbPoolSize,
      webhookTimeoutSeconds,
      flowTimeoutSeconds,
      logRetention,
      removalPolicy,
      ...(props.queuePrefix === undefined ? {} : { queuePrefix: props.queuePrefix }),
    };
    this.appService = new AppService(this, 'App', {
      cluster,
      albSecurityGroup: this.network.albSecurityGroup,
      securityGroup: this.network.appSecurityGroup,
      task: cpuArchitecture === 'arm64' ? { ...task, image: image('arm64') } : task,
      apiKeySecret: apiKey,
      minTasks: this.fleet.apps,
      maxTasks: this.fleet.maxApps,
      cpu: appCpu,
      memoryLimitMiB: appMemoryMiB,
      cpuArchitecture:
        cpuArchitecture === 'arm64' ? ecs.CpuArchitecture.ARM64 : ecs.CpuArchitecture.X86_64,
      ...(props.originCertificateArn === undefined
        ? {}
        : { originCertificateArn: props.originCertificateArn }),
      ...(props.originResponseTimeoutSeconds === undefined
        ? {}
        : { originResponseTimeoutSeconds: props.originResponseTimeoutSeconds }),
      ...(props.domainName === undefined ? {} : { domainName: props.domainName }),
      ...(props.certificateArn === undefined ? {} : { certificateArn: props.certificateArn }),
    });
    this.workerService = new WorkerService(this, 'Worker', {
      cluster,
      securityGroup: this.network.workerSecurityGroup,
      task,
      publicUrl: this.appService.publicUrl,
      peakTasks: this.fleet.workers,
      onDemandBase: this.fleet.onDemandWorkers,
      cpu: workerCpu,
      memoryLimitMiB: workerMemoryMiB,
    });
    for (const tier of [this.appService, this.workerService]) {
      tier.service.node.addDependency(containerInsightsLogs);
    }
    this.queueScaling = new QueueScaling(this, 'QueueScaling', {
      appService: this.appService,
      workerService: this.workerService,
      minWorkers: props.minWorkers ?? 1,
      maxWorkers: this.fleet.workers,
      ...(props.backlogPerWorkerTarget === undefined
        ? {}
        : { backlogPerWorkerTarget: props.backlogPerWorkerTarget }),
    });
    this.dashboard = new Dashboard(this, 'Dashboard', {
      appService: this.appService,
      workerService: this.workerService,
      queueScaling: this.queueScaling,
      database: this.database,
      databaseMemoryGiB: this.fleet.database.memoryGiB,
      cache: this.cache,
    });

    const output = (outputId: string, value: string, description: string) =>
      new CfnOutput(this, outputId, { value, description });
    output(
      'PublicUrl',
      this.appService.publicUrl,
      'SLUICE_PUBLIC_URL: where flow authors call the API',
    );
    output(
      'DistributionDomainName',
      this.appService.edge.distribution.distributionDomainName,
      'The CloudFront distribution; point domainName here (CNAME or alias)',
    );
    output('BucketName', this.fileStore.bucket.bucketName, 'S3 bucket for files and run logs');
    output(
      'DashboardUrl',
      `https://console.aws.amazon.com/cloudwatch/home?region=${this.region}#dashboards:name=${this.dashboard.dashboard.dashboardName}`,
      'CloudWatch dashboard',
    );
    output('AlarmTopicArn', this.dashboard.alarmTopic.topicArn, 'Subscribe to receive alarms');
    output('ApiKeySecretArn', apiKey.secretArn, 'The first management API key');
    output(
      'DatabaseSecretArn',
      this.database.secret.secretArn,
      'RDS master credentials (user sluice): migrations only; tasks serve as sluice_app with IAM tokens',
    );
    output(
      'CacheAuthTokenSecretArn',
      this.cache.authTokenSecret.secretArn,
      'ElastiCache AUTH token',
    );
  }
}

function requireIntegerIn(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max} (got ${value})`);
  }
}
