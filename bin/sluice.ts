#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { sluiceStackPropsFromContext } from '../lib/context';
import { SluiceStack } from '../lib/stacks/sluice-stack';

// CDK's builtin CloudFormation schema validation more than doubles synth time; the test suite
// runs it on every change, and CloudFormation checks again at deploy. Opt in with
// CDK_VALIDATION=true.
const app = new App({ builtinCloudFormationValidation: process.env.CDK_VALIDATION === 'true' });
// Environment-agnostic on purpose: synth needs no AWS credentials; the region comes at deploy.
new SluiceStack(app, app.node.tryGetContext('stackName') ?? 'Sluice', {
  ...sluiceStackPropsFromContext(app.node),
  description:
    'Sluice workflow-automation runtime: ALB, APP and worker tiers, RDS, ElastiCache, S3',
});
// cdk-nag v3 is a validation plugin: any unacknowledged AwsSolutions finding fails synth.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
