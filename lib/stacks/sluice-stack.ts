import { fileURLToPath } from 'node:url';
import { CfnOutput, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
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
import { RunQueue } from '../constructs/run-queue';
import { ServerlessDatabase } from '../constructs/serverless-database';
import { WorkerService } from '../constructs/worker-service';
import { sluiceContainerImage } from '../container-image';
import { validateFargateTaskSize } from '../fargate-task-size';
import { requireIntegerIn } from '../require-integer-in';
import {
  SERVERLESS_APP_CPU,
  SERVERLESS_APP_MEMORY_MIB,
  type ServerlessFleetShape,
  sizeServerlessFleet,
} from '../serverless-sizing';
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
   * standard: ElastiCache, RDS, private subnets behind NAT, an on-demand worker base.
   * serverless: SQS, Aurora Serverless v2 (pauses at 0 ACU), no NAT, Spot workers only, one
   * ARM64 APP task; it idles at about $35 a month (`npm run size -- --profile serverless`).
   * @default 'standard'
   */
  readonly profile?: 'standard' | 'serverless';
  /**
   * serverless: Aurora's fewest ACU. 0 pauses after `databasePauseAfterMinutes` with no
   * connection (the next one waits about 15 s); 0.5 keeps it warm (about $44 a month).
   * @default 0
   */
  readonly databaseMinAcu?: number;
  /**
   * serverless: Aurora's most ACU.
   * @default - sized from peakConcurrentFlows (serverless-sizing.ts)
   */
  readonly databaseMaxAcu?: number;
  /**
   * serverless: minutes without a connection before a 0-ACU Aurora pauses (5 to 1440).
   * @default 10
   */
  readonly databasePauseAfterMinutes?: number;
  /**
   * serverless: receives of one job before SQS moves it to the dead-letter queue.
   * @default 3
   */
  readonly queueMaxReceiveCount?: number;
  /**
   * NAT gateways. standard: 2 with multiAz, else 1. serverless: 0 (tasks in public subnets
   * with public IPs and no inbound rule); 1 puts them back in private subnets.
   * @default - by profile, as above
   */
  readonly natGateways?: number;
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
   * Days after which RUN_LOG objects expire from the bucket. Only logs over
   * SLUICE_INLINE_LOG_MAX_BYTES (64 KiB) are objects; smaller ones live in their run row and
   * are pruned with it (SLUICE_RUN_RETENTION_DAYS).
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
  readonly profile: 'standard' | 'serverless';
  /** The standard profile's fleet; undefined for serverless (see serverlessFleet). */
  readonly fleet?: FleetShape;
  readonly serverlessFleet?: ServerlessFleetShape;
  readonly network: Network;
  /** The RDS instance (standard). */
  readonly database?: Database;
  /** Aurora Serverless v2 (serverless). */
  readonly serverlessDatabase?: ServerlessDatabase;
  /** ElastiCache (standard). */
  readonly cache?: Cache;
  /** SQS and its dead-letter queue (serverless). */
  readonly runQueue?: RunQueue;
  readonly fileStore: FileStore;
  readonly appService: AppService;
  readonly workerService: WorkerService;
  readonly queueScaling: QueueScaling;
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: SluiceStackProps = {}) {
    super(scope, id, props);
    const profile = props.profile ?? 'standard';
    if (profile !== 'standard' && profile !== 'serverless') {
      throw new Error(`profile must be standard or serverless (got ${profile})`);
    }
    const serverless = profile === 'serverless';
    this.profile = profile;
    const peakConcurrentFlows = props.peakConcurrentFlows ?? 10;
    const onDemandWorkerBase =
      props.onDemandWorkerBase ?? (serverless ? 0 : DEFAULT_ON_DEMAND_WORKER_BASE);
    const workerCpu = props.workerCpu ?? DEFAULT_WORKER_CPU;
    const workerMemoryMiB = props.workerMemoryMiB ?? DEFAULT_WORKER_MEMORY_MIB;
    const appCpu = props.appCpu ?? (serverless ? SERVERLESS_APP_CPU : DEFAULT_APP_CPU);
    const appMemoryMiB =
      props.appMemoryMiB ?? (serverless ? SERVERLESS_APP_MEMORY_MIB : DEFAULT_APP_MEMORY_MIB);
    const multiAz = props.multiAz ?? true;
    const removalPolicyName = props.removalPolicy ?? 'retain';
    const webhookTimeoutSeconds = props.webhookTimeoutSeconds ?? DEFAULT_WEBHOOK_TIMEOUT_S;
    const flowTimeoutSeconds = props.flowTimeoutSeconds ?? DEFAULT_FLOW_TIMEOUT_S;
    const cpuArchitecture = props.cpuArchitecture ?? (serverless ? 'arm64' : 'x86_64');
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
    if (!serverless) {
      for (const [name, value] of [
        ['databaseMinAcu', props.databaseMinAcu],
        ['databaseMaxAcu', props.databaseMaxAcu],
        ['databasePauseAfterMinutes', props.databasePauseAfterMinutes],
        ['queueMaxReceiveCount', props.queueMaxReceiveCount],
      ] as const) {
        if (value !== undefined) {
          throw new Error(`${name} applies to the serverless profile only (got ${value})`);
        }
      }
    } else if (props.multiAz !== undefined || props.queuePrefix !== undefined) {
      throw new Error(
        `multiAz and queuePrefix apply to the standard profile only (got ${props.multiAz !== undefined ? `multiAz ${props.multiAz}` : `queuePrefix ${props.queuePrefix}`})`,
      );
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
    const removalPolicy =
      removalPolicyName === 'retain' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    let shape: { workers: number; minApps: number; maxApps: number; dbPoolSize: number };
    let natGateways: number;
    if (serverless) {
      this.serverlessFleet = sizeServerlessFleet({
        peakConcurrentFlows,
        ...(props.databaseMaxAcu === undefined ? {} : { databaseMaxAcu: props.databaseMaxAcu }),
      });
      shape = this.serverlessFleet;
      natGateways = props.natGateways ?? 0;
      if (onDemandWorkerBase > peakConcurrentFlows) {
        throw new Error(
          `onDemandWorkerBase must be at most peakConcurrentFlows ${peakConcurrentFlows} (got ${onDemandWorkerBase})`,
        );
      }
    } else {
      this.fleet = sizeFleet({ peakConcurrentFlows, onDemandWorkerBase, multiAz });
      // The standard APP tier never rests below what the peak needs (at least 2, one per AZ).
      shape = { ...this.fleet, minApps: this.fleet.apps };
      natGateways = props.natGateways ?? this.fleet.natGateways;
      if (natGateways === 0) {
        throw new Error(
          'natGateways must be 1 or 2 in the standard profile, whose tasks run in private subnets (got 0)',
        );
      }
    }

    this.network = new Network(this, 'Network', {
      natGateways,
      // natGateways is the serverless profile's cost lever at a sustained peak: switching it
      // must not replace the subnets. The standard profile always has NAT and keeps its layout.
      natSwitchable: serverless,
      // The serverless profile's queue is SQS: no Redis, so no cache security group either.
      cache: !serverless,
      albListenerPorts: [
        props.originCertificateArn === undefined ? ORIGIN_HTTP_PORT : ORIGIN_HTTPS_PORT,
      ],
      flowLogRetention: logRetention,
      removalPolicy,
    });
    let database: Database | ServerlessDatabase;
    if (this.fleet !== undefined) {
      this.database = new Database(this, 'Database', {
        vpc: this.network.vpc,
        securityGroup: this.network.databaseSecurityGroup,
        instanceType: this.fleet.database.instanceType,
        maxConnections: this.fleet.database.maxConnections,
        multiAz,
        removalPolicy,
      });
      database = this.database;
      this.cache = new Cache(this, 'Cache', {
        vpc: this.network.vpc,
        securityGroup: this.network.cacheSecurityGroup as ec2.ISecurityGroup,
        nodeType: this.fleet.cacheNodeType,
        multiAz,
        removalPolicy,
      });
    } else {
      this.serverlessDatabase = new ServerlessDatabase(this, 'ServerlessDatabase', {
        vpc: this.network.vpc,
        securityGroup: this.network.databaseSecurityGroup,
        maxAcu: (this.serverlessFleet as ServerlessFleetShape).databaseMaxAcu,
        ...(props.databaseMinAcu === undefined ? {} : { minAcu: props.databaseMinAcu }),
        ...(props.databasePauseAfterMinutes === undefined
          ? {}
          : { pauseAfterMinutes: props.databasePauseAfterMinutes }),
        removalPolicy,
      });
      database = this.serverlessDatabase;
      this.runQueue = new RunQueue(this, 'RunQueue', {
        flowTimeoutSeconds,
        ...(props.queueMaxReceiveCount === undefined
          ? {}
          : { maxReceiveCount: props.queueMaxReceiveCount }),
        removalPolicy,
      });
    }
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
      // Serverless: Container Insights bills its ~30 metrics (about $9 a month), a quarter of
      // the idle budget; scaling and the dashboard count tasks from AWS/ECS instead.
      containerInsightsV2: serverless
        ? ecs.ContainerInsights.DISABLED
        : ecs.ContainerInsights.ENABLED,
      enableFargateCapacityProviders: true,
    });
    if (serverless) {
      Validations.of(cluster).acknowledge({
        id: 'AwsSolutions-ECS4',
        reason:
          'The serverless profile turns Container Insights off: its metrics bill as custom metrics (about $9 a month, a quarter of the idle budget). Worker scaling and the dashboard count running tasks from the free AWS/ECS CPUUtilization SampleCount, and service CPU and memory stay on the dashboard',
      });
    }
    // ECS would create Container Insights' log group on first use, outside the stack, with no
    // retention, and destroy would leave it behind; owning it here gives it both.
    const containerInsightsLogs = serverless
      ? undefined
      : new logs.LogGroup(this, 'ContainerInsightsLogs', {
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
      database,
      ...(this.cache === undefined ? {} : { cache: this.cache }),
      ...(this.runQueue === undefined ? {} : { runQueue: this.runQueue }),
      fileStore: this.fileStore,
      secretsKey,
      runRetentionDays,
      dbPoolSize: shape.dbPoolSize,
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
      minTasks: shape.minApps,
      maxTasks: shape.maxApps,
      vpcSubnets: this.network.taskSubnets,
      albSubnets: this.network.albSubnets,
      assignPublicIp: this.network.tasksNeedPublicIp,
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
      peakTasks: shape.workers,
      onDemandBase: onDemandWorkerBase,
      vpcSubnets: this.network.taskSubnets,
      assignPublicIp: this.network.tasksNeedPublicIp,
      cpu: workerCpu,
      memoryLimitMiB: workerMemoryMiB,
    });
    if (containerInsightsLogs !== undefined) {
      for (const tier of [this.appService, this.workerService]) {
        tier.service.node.addDependency(containerInsightsLogs);
      }
    }
    this.queueScaling = new QueueScaling(this, 'QueueScaling', {
      appService: this.appService,
      workerService: this.workerService,
      minWorkers: props.minWorkers ?? 1,
      maxWorkers: shape.workers,
      ...(this.runQueue === undefined ? {} : { runQueue: this.runQueue }),
      ...(props.backlogPerWorkerTarget === undefined
        ? {}
        : { backlogPerWorkerTarget: props.backlogPerWorkerTarget }),
    });
    this.dashboard = new Dashboard(this, 'Dashboard', {
      appService: this.appService,
      workerService: this.workerService,
      queueScaling: this.queueScaling,
      ...(this.fleet === undefined
        ? {}
        : { database: this.database, databaseMemoryGiB: this.fleet.database.memoryGiB }),
      ...(this.serverlessDatabase === undefined
        ? {}
        : { serverlessDatabase: this.serverlessDatabase }),
      ...(this.cache === undefined ? {} : { cache: this.cache }),
      ...(this.runQueue === undefined ? {} : { runQueue: this.runQueue }),
      containerInsights: !serverless,
      // A job older than this has outlived a sync caller's wait: the caller got 504.
      oldestWaitingAgeThresholdSeconds: webhookTimeoutSeconds,
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
      database.secret.secretArn,
      'RDS master credentials (user sluice): migrations only; tasks serve as sluice_app with IAM tokens',
    );
    if (this.cache !== undefined) {
      output(
        'CacheAuthTokenSecretArn',
        this.cache.authTokenSecret.secretArn,
        'ElastiCache AUTH token',
      );
    }
    if (this.runQueue !== undefined) {
      output('QueueUrl', this.runQueue.queue.queueUrl, 'SLUICE_SQS_QUEUE_URL: the run queue');
      output(
        'DeadLetterQueueUrl',
        this.runQueue.deadLetterQueue.queueUrl,
        'Jobs that failed maxReceiveCount receives; redrive them from the SQS console',
      );
    }
  }
}
