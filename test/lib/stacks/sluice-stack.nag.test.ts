import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Validations } from 'aws-cdk-lib';
import { VALIDATION_REPORT_FILE } from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, describe, expect, it } from 'vitest';
import { SluiceStack, type SluiceStackProps } from '../../../lib/stacks/sluice-stack';
import { newCdkApp } from '../fixtures';

interface ValidationReport {
  pluginReports: { pluginName: string; violations: { ruleName: string }[] }[];
}

const outdirs: string[] = [];

/** Synthesizes like bin/sluice.ts does, with cdk-nag's AwsSolutions pack as a validation plugin. */
function validate(props: SluiceStackProps, builtinCloudFormationValidation: boolean) {
  const outdir = mkdtempSync(join(tmpdir(), 'sluice-nag-'));
  outdirs.push(outdir);
  const app = newCdkApp({ outdir, builtinCloudFormationValidation });
  new SluiceStack(app, 'Sluice', props);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  // Errors throw here with the full report; warnings only reach the report file.
  const assembly = app.synth();
  const report: ValidationReport = JSON.parse(
    readFileSync(join(assembly.directory, VALIDATION_REPORT_FILE), 'utf8'),
  );
  return report.pluginReports.flatMap((plugin) =>
    plugin.violations.map((violation) => `${plugin.pluginName}: ${violation.ruleName}`),
  );
}

afterAll(() => {
  for (const outdir of outdirs) rmSync(outdir, { recursive: true, force: true });
});

describe('SluiceStack under cdk-nag AwsSolutions', () => {
  it('has no unacknowledged finding with the defaults, nor a CloudFormation schema problem', () => {
    // The one synth in the suite with CDK's builtin CloudFormation validation on.
    expect(validate({}, true)).toEqual([]);
  });

  it('has no unacknowledged finding single-AZ, disposable, HTTPS, from an ECR image', () => {
    expect(
      validate(
        {
          peakConcurrentFlows: 50,
          multiAz: false,
          removalPolicy: 'destroy',
          domainName: 'sluice.example.com',
          originCertificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/origin',
          cpuArchitecture: 'arm64',
          corsOrigins: ['https://app.example.com'],
          certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/abc',
          imageUri: '123456789012.dkr.ecr.us-east-1.amazonaws.com/sluice:1.0.0',
        },
        false,
      ),
    ).toEqual([]);
  });
});

describe('SluiceStack, serverless profile, under cdk-nag AwsSolutions', () => {
  it('has no unacknowledged finding with the defaults', () => {
    expect(validate({ profile: 'serverless' }, false)).toEqual([]);
  });

  it('has no unacknowledged finding disposable, warm, with a NAT gateway and HTTPS origin', () => {
    expect(
      validate(
        {
          profile: 'serverless',
          peakConcurrentFlows: 50,
          removalPolicy: 'destroy',
          databaseMinAcu: 0.5,
          natGateways: 1,
          minWorkers: 0,
          domainName: 'sluice.example.com',
          certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/abc',
          originCertificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/origin',
          imageUri: '123456789012.dkr.ecr.us-east-1.amazonaws.com/sluice:1.0.0',
        },
        false,
      ),
    ).toEqual([]);
  });
});
