import { readFileSync } from 'node:fs';
import { App, type AppProps, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Cache } from '../../lib/constructs/cache';
import { Database } from '../../lib/constructs/database';
import { FileStore } from '../../lib/constructs/file-store';
import { Network } from '../../lib/constructs/network';
import type { SluiceTaskSettings } from '../../lib/constructs/sluice-task-definition';

/** cdk.json's context: the feature flags `cdk synth` runs with, so tests see the same template. */
const CDK_JSON_CONTEXT: Record<string, unknown> = JSON.parse(
  readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8'),
).context;

/**
 * An app as `cdk synth` makes it (cdk.json's context), with CDK's builtin CloudFormation
 * validation off unless asked (it costs seconds).
 */
export function newCdkApp(props: AppProps = {}): App {
  return new App({ builtinCloudFormationValidation: false, ...props, context: CDK_JSON_CONTEXT });
}

/** A fresh app (see newCdkApp) and stack. */
export function newTestStack(): Stack {
  return new Stack(newCdkApp(), 'Test');
}

/** The data tier the services need, small and single-AZ, with a registry image (no asset). */
export function dataTier(stack: Stack) {
  const network = new Network(stack, 'Network');
  const database = new Database(stack, 'Database', {
    vpc: network.vpc,
    securityGroup: network.databaseSecurityGroup,
    instanceType: 't4g.micro',
    maxConnections: 80,
    multiAz: false,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const cache = new Cache(stack, 'Cache', {
    vpc: network.vpc,
    securityGroup: network.cacheSecurityGroup as ec2.ISecurityGroup,
    multiAz: false,
  });
  const fileStore = new FileStore(stack, 'FileStore');
  const cluster = new ecs.Cluster(stack, 'Cluster', {
    vpc: network.vpc,
    enableFargateCapacityProviders: true,
  });
  const task: SluiceTaskSettings = {
    image: ecs.ContainerImage.fromRegistry('sluice:test'),
    database,
    cache,
    fileStore,
    secretsKey: new kms.Key(stack, 'SecretsKey', { enableKeyRotation: true }),
    dbPoolSize: 4,
  };
  return { network, database, cache, fileStore, cluster, task };
}
