import { Duration, RemovalPolicy, Size, Stack, Validations } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import {
  APP_PORT,
  DEFAULT_FLOW_TIMEOUT_S,
  DEFAULT_WEBHOOK_TIMEOUT_S,
  NODE_ARGS_BY_ROLE,
  SECRETS_ENCRYPTION_CONTEXT,
  WORKER_HEALTH_PROBE_COMMAND,
} from '../../runtime/limits';
import { validateFargateTaskSize } from '../fargate-task-size';
import type { Cache } from './cache';
import type { DatabaseAccess } from './database-access';
import type { FileStore } from './file-store';
import type { RunQueue } from './run-queue';

/** Settings both tiers share; AppService and WorkerService add their role-specific ones. */
export interface SluiceTaskSettings {
  readonly image: ecs.ContainerImage;
  readonly database: DatabaseAccess;
  /**
   * The Redis that carries the queue (SLUICE_QUEUE default, BullMQ); give exactly one of `cache`
   * and `runQueue`.
   * @default - none
   */
  readonly cache?: Cache;
  /**
   * The SQS queue (SLUICE_QUEUE=sqs): no Redis variable at all, replies and leases over
   * PostgreSQL. The APP may send, workers consume.
   * @default - none
   */
  readonly runQueue?: RunQueue;
  readonly fileStore: FileStore;
  /**
   * Wraps flow secrets' data keys: the APP task role may GenerateDataKey and Decrypt with it,
   * the worker's only Decrypt, both only under SECRETS_ENCRYPTION_CONTEXT. Its key policy must
   * delegate to the account's IAM (the CDK default), since the grant is on the task roles.
   */
  readonly secretsKey: kms.IKey;
  /**
   * SLUICE_RUN_RETENTION_DAYS.
   * @default 30
   */
  readonly runRetentionDays?: number;
  /** SLUICE_DB_POOL_SIZE, from sizing. */
  readonly dbPoolSize: number;
  /**
   * SLUICE_WEBHOOK_TIMEOUT_S.
   * @default DEFAULT_WEBHOOK_TIMEOUT_S (30)
   */
  readonly webhookTimeoutSeconds?: number;
  /**
   * SLUICE_FLOW_TIMEOUT_S.
   * @default DEFAULT_FLOW_TIMEOUT_S (600)
   */
  readonly flowTimeoutSeconds?: number;
  /**
   * SLUICE_QUEUE_PREFIX: set it to keep the queue of a deployment made before the default
   * prefix named the deployment (`{sluice}`).
   * @default - none: the runtime's `{sluice:<SLUICE_DEPLOYMENT_NAME>}`
   */
  readonly queuePrefix?: string;
  /**
   * Retention of the container log group.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * What happens to the log group when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

export interface SluiceTaskDefinitionProps extends SluiceTaskSettings {
  /** SLUICE_ROLE: which part of the runtime the container starts. */
  readonly role: 'app' | 'worker';
  /** Fargate CPU units (1024 = 1 vCPU). */
  readonly cpu: number;
  /** Fargate memory, valid for `cpu`. */
  readonly memoryLimitMiB: number;
  /** SLUICE_PUBLIC_URL: the URL flow authors call, used in webhook and file links. */
  readonly publicUrl: string;
  /**
   * The first management API key, passed as SLUICE_API_KEY.
   * @default - no SLUICE_API_KEY
   */
  readonly apiKeySecret?: secretsmanager.ISecret;
  /**
   * Seconds ECS waits after SIGTERM before SIGKILL.
   * @default - the ECS default, 30 s
   */
  readonly stopTimeoutSeconds?: number;
  /**
   * Port the container listens on, mapped for a load balancer.
   * @default - no port mapping
   */
  readonly containerPort?: number;
  /**
   * Extra plain environment for this role. Never put a secret here.
   * @default {}
   */
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * Give this role the master user (SLUICE_DB_ADMIN_URL and SLUICE_DB_ADMIN_PASSWORD), so that it
   * migrates and creates the runtime role before serving. Only the APP gets it.
   * @default false
   */
  readonly databaseAdmin?: boolean;
  /**
   * CPU architecture of the task. Fargate Spot runs only X86_64, so workers stay there.
   * @default ecs.CpuArchitecture.X86_64
   */
  readonly cpuArchitecture?: ecs.CpuArchitecture;
  /**
   * Probe the container with WORKER_HEALTH_PROBE_COMMAND, so that ECS replaces a task whose
   * event loop or isolate is wedged.
   * @default false
   */
  readonly workerHealthCheck?: boolean;
}

/**
 * The worker's container health check. The probe answers within about 3 s; three misses 30 s
 * apart (about 1.5 minutes wedged) mark the task unhealthy. The start period covers boot plus
 * a worker waiting for the APP to migrate the schema (bounded in the runtime); ECS allows at
 * most 300 s.
 */
const WORKER_HEALTH_CHECK = {
  intervalSeconds: 30,
  timeoutSeconds: 5,
  retries: 3,
  startPeriodSeconds: 240,
} as const;

export const CONTAINER_NAME = 'sluice';

/**
 * The Fargate task definition both tiers share: the runtime image (x86_64 unless asked), JSON
 * logs to CloudWatch Logs, the environment contract of runtime/env.ts (the database reached as
 * the IAM-authenticated runtime role over verified TLS), and every secret through
 * `ecs.Secret`, never plain environment.
 */
export class SluiceTaskDefinition extends Construct {
  readonly taskDefinition: ecs.FargateTaskDefinition;
  readonly container: ecs.ContainerDefinition;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: SluiceTaskDefinitionProps) {
    super(scope, id);
    const webhookTimeoutSeconds = props.webhookTimeoutSeconds ?? DEFAULT_WEBHOOK_TIMEOUT_S;
    const flowTimeoutSeconds = props.flowTimeoutSeconds ?? DEFAULT_FLOW_TIMEOUT_S;
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const environment = props.environment ?? {};
    const databaseAdmin = props.databaseAdmin ?? false;
    const cpuArchitecture = props.cpuArchitecture ?? ecs.CpuArchitecture.X86_64;
    const workerHealthCheck = props.workerHealthCheck ?? false;
    validateFargateTaskSize(
      { cpu: 'cpu', memoryMiB: 'memoryLimitMiB' },
      props.cpu,
      props.memoryLimitMiB,
    );
    if ((props.cache === undefined) === (props.runQueue === undefined)) {
      throw new Error(
        `exactly one of cache and runQueue must be given (got ${props.cache === undefined ? 'neither' : 'both'})`,
      );
    }
    if (props.runQueue !== undefined && props.queuePrefix !== undefined) {
      throw new Error(
        `queuePrefix is a Redis hashtag and has no meaning with runQueue (got ${props.queuePrefix})`,
      );
    }
    if (!Number.isInteger(props.dbPoolSize) || props.dbPoolSize < 1) {
      throw new Error(`dbPoolSize must be a positive integer (got ${props.dbPoolSize})`);
    }
    if (
      props.stopTimeoutSeconds !== undefined &&
      (props.stopTimeoutSeconds < 2 || props.stopTimeoutSeconds > 120)
    ) {
      throw new Error(
        `stopTimeoutSeconds must be from 2 to 120, the Fargate limit (got ${props.stopTimeoutSeconds})`,
      );
    }

    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'TaskDefinition', {
      cpu: props.cpu,
      memoryLimitMiB: props.memoryLimitMiB,
      runtimePlatform: {
        cpuArchitecture,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
    });
    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: logRetention, removalPolicy });
    const secrets: Record<string, ecs.Secret> = {};
    let queueEnvironment: Record<string, string>;
    if (props.cache !== undefined) {
      secrets.SLUICE_REDIS_PASSWORD = ecs.Secret.fromSecretsManager(props.cache.authTokenSecret);
      queueEnvironment = {
        REDIS_URL: props.cache.url,
        ...(props.queuePrefix === undefined ? {} : { SLUICE_QUEUE_PREFIX: props.queuePrefix }),
      };
    } else {
      const runQueue = props.runQueue as RunQueue;
      queueEnvironment = { SLUICE_QUEUE: 'sqs', SLUICE_SQS_QUEUE_URL: runQueue.queue.queueUrl };
      if (props.role === 'app') runQueue.grantEnqueue(this.taskDefinition.taskRole);
      else runQueue.grantConsume(this.taskDefinition.taskRole);
    }
    const adminEnvironment: Record<string, string> = {};
    if (databaseAdmin) {
      secrets.SLUICE_DB_ADMIN_PASSWORD = ecs.Secret.fromSecretsManager(
        props.database.secret,
        'password',
      );
      adminEnvironment.SLUICE_DB_ADMIN_URL = props.database.adminConnectionUrl;
    }
    if (props.apiKeySecret !== undefined) {
      secrets.SLUICE_API_KEY = ecs.Secret.fromSecretsManager(props.apiKeySecret);
    }
    this.container = this.taskDefinition.addContainer('Container', {
      containerName: CONTAINER_NAME,
      image: props.image,
      // Per role: the app starts faster with Node's snapshot, which isolated-vm cannot use.
      command: ['node', ...NODE_ARGS_BY_ROLE[props.role], 'main.mjs'],
      essential: true,
      // On AWS the runtime writes nothing to disk (PostgreSQL, S3 and KMS hold its state, and
      // the image turns Node's compile cache off), so the image stays as built: code that
      // escapes a code step cannot rewrite the bundle, which belongs to the runtime's own user.
      readonlyRootFilesystem: true,
      environment: {
        PORT: String(APP_PORT),
        SLUICE_ROLE: props.role,
        SLUICE_STORAGE: 's3',
        SLUICE_S3_BUCKET: props.fileStore.bucket.bucketName,
        SLUICE_S3_REGION: Stack.of(this).region,
        DATABASE_URL: props.database.connectionUrl,
        SLUICE_DB_AUTH: 'iam',
        SLUICE_DB_CA: 'rds',
        ...adminEnvironment,
        SLUICE_DB_POOL_SIZE: String(props.dbPoolSize),
        ...queueEnvironment,
        SLUICE_WEBHOOK_TIMEOUT_S: String(webhookTimeoutSeconds),
        SLUICE_FLOW_TIMEOUT_S: String(flowTimeoutSeconds),
        SLUICE_PUBLIC_URL: props.publicUrl,
        SLUICE_SECRETS_KMS_KEY_ID: props.secretsKey.keyArn,
        SLUICE_RUN_RETENTION_DAYS: String(props.runRetentionDays ?? 30),
        ...environment,
      },
      secrets,
      // pino writes one JSON object per line; non-blocking so a logs hiccup never stalls a flow.
      logging: ecs.LogDrivers.awsLogs({
        streamPrefix: props.role,
        logGroup: this.logGroup,
        mode: ecs.AwsLogDriverMode.NON_BLOCKING,
        maxBufferSize: Size.mebibytes(25),
      }),
      ...(props.stopTimeoutSeconds === undefined
        ? {}
        : { stopTimeout: Duration.seconds(props.stopTimeoutSeconds) }),
      ...(props.containerPort === undefined
        ? {}
        : { portMappings: [{ containerPort: props.containerPort }] }),
      ...(workerHealthCheck
        ? {
            healthCheck: {
              command: ['CMD', ...WORKER_HEALTH_PROBE_COMMAND],
              interval: Duration.seconds(WORKER_HEALTH_CHECK.intervalSeconds),
              timeout: Duration.seconds(WORKER_HEALTH_CHECK.timeoutSeconds),
              retries: WORKER_HEALTH_CHECK.retries,
              startPeriod: Duration.seconds(WORKER_HEALTH_CHECK.startPeriodSeconds),
            },
          }
        : {}),
    });
    // The APP serves files and prunes; a worker, which runs untrusted code, only stores logs.
    if (props.role === 'app') props.fileStore.grantReadWrite(this.taskDefinition.taskRole);
    else props.fileStore.grantRunLogWrite(this.taskDefinition.taskRole);
    // Only the API seals a secret (a new data key); a worker, running untrusted code, opens them.
    // Either only under the secrets' encryption context, so the key wraps nothing else for them.
    // The key policy delegates to the account's IAM, so the task role's own policy is the grant.
    iam.Grant.addToPrincipal({
      grantee: this.taskDefinition.taskRole,
      actions: props.role === 'app' ? ['kms:GenerateDataKey', 'kms:Decrypt'] : ['kms:Decrypt'],
      resourceArns: [props.secretsKey.keyArn],
      conditions: {
        StringEquals: {
          'kms:EncryptionContext:purpose': SECRETS_ENCRYPTION_CONTEXT.purpose,
        },
      },
    });
    props.database.grantConnectAsApp(this.taskDefinition.taskRole);

    Validations.of(this.taskDefinition).acknowledge(
      {
        id: 'AwsSolutions-ECS2',
        reason:
          'The environment holds only non-secret configuration (endpoints and database URLs without credentials, limits, role); the master password, the AUTH token and the API key come from Secrets Manager through ecs.Secret, and the runtime role authenticates with IAM tokens',
      },
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'The execution role needs ecr:GetAuthorizationToken to pull the image, and that action supports no resource-level permission; the pull actions themselves are scoped to the one repository',
      },
    );
  }
}
