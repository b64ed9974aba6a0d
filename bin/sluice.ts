#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { sluiceStackPropsFromContext } from '../lib/context';
import { SluiceStack } from '../lib/stacks/sluice-stack';

const app = new App();
// Environment-agnostic on purpose: synth needs no AWS credentials; the region comes at deploy.
new SluiceStack(app, app.node.tryGetContext('stackName') ?? 'Sluice', {
  ...sluiceStackPropsFromContext(app.node),
  description:
    'Sluice workflow-automation runtime: ALB, APP and worker tiers, RDS, ElastiCache, S3',
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
