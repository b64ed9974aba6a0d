#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { sluiceStackPropsFromContext } from '../lib/context';
import { SluiceStack } from '../lib/stacks/sluice-stack';

// CDK's builtin CloudFormation schema validation more than doubles synth time; the test suite
// runs it on every change, and CloudFormation checks again at deploy. Opt in with
// CDK_VALIDATION=true.
const app = new App({ builtinCloudFormationValidation: process.env.CDK_VALIDATION === 'true' });
try {
  // Environment-agnostic on purpose: synth needs no AWS credentials; the region comes at deploy.
  const props = sluiceStackPropsFromContext(app.node);
  new SluiceStack(app, app.node.tryGetContext('stackName') ?? 'Sluice', {
    ...props,
    description:
      props.profile === 'serverless'
        ? 'Sluice workflow-automation runtime (serverless profile): ALB, APP and Spot worker tiers, Aurora Serverless v2, SQS, S3'
        : 'Sluice workflow-automation runtime: ALB, APP and worker tiers, RDS, ElastiCache, S3',
  });
} catch (error) {
  // A bad context value: one line that names the prop and the value, not a stack trace.
  console.error(`sluice: ${(error as Error).message}`);
  process.exit(1);
}
// cdk-nag v3 is a validation plugin: any unacknowledged AwsSolutions finding fails synth.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
