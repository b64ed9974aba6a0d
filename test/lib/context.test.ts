import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { sluiceStackPropsFromContext } from '../../lib/context';

const propsFrom = (context: Record<string, unknown>) =>
  sluiceStackPropsFromContext(new App({ context }).node);

describe('sluiceStackPropsFromContext', () => {
  it('reads typed values as cdk.json gives them', () => {
    expect(
      propsFrom({
        peakConcurrentFlows: 50,
        multiAz: false,
        removalPolicy: 'destroy',
        workerCpu: 512,
      }),
    ).toEqual({
      peakConcurrentFlows: 50,
      multiAz: false,
      removalPolicy: 'destroy',
      workerCpu: 512,
    });
  });

  it('reads strings as `-c key=value` gives them', () => {
    expect(
      propsFrom({
        peakConcurrentFlows: '50',
        multiAz: 'false',
        domainName: 'sluice.example.com',
        originCertificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/o',
        imageUri: 'ghcr.io/acme/sluice:1.0',
        queuePrefix: '{sluice}',
      }),
    ).toEqual({
      peakConcurrentFlows: 50,
      multiAz: false,
      domainName: 'sluice.example.com',
      originCertificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/o',
      imageUri: 'ghcr.io/acme/sluice:1.0',
      queuePrefix: '{sluice}',
    });
  });

  it('reads corsOrigins as a list from cdk.json, a JSON string, or comma-separated', () => {
    const origins = ['https://app.example.com', 'http://localhost:5173'];
    expect(propsFrom({ corsOrigins: origins })).toEqual({ corsOrigins: origins });
    expect(propsFrom({ corsOrigins: JSON.stringify(origins) })).toEqual({ corsOrigins: origins });
    expect(propsFrom({ corsOrigins: origins.join(', ') })).toEqual({ corsOrigins: origins });
  });

  it('reads cpuArchitecture and originResponseTimeoutSeconds', () => {
    expect(propsFrom({ cpuArchitecture: 'arm64', originResponseTimeoutSeconds: '90' })).toEqual({
      cpuArchitecture: 'arm64',
      originResponseTimeoutSeconds: 90,
    });
  });

  it('reads the serverless profile and its keys from -c strings', () => {
    expect(
      propsFrom({
        profile: 'serverless',
        databaseMinAcu: '0.5',
        databaseMaxAcu: '4',
        databasePauseAfterMinutes: '30',
        queueMaxReceiveCount: '5',
        natGateways: '1',
      }),
    ).toEqual({
      profile: 'serverless',
      databaseMinAcu: 0.5,
      databaseMaxAcu: 4,
      databasePauseAfterMinutes: 30,
      queueMaxReceiveCount: 5,
      natGateways: 1,
    });
  });

  it('rejects an unknown profile in one line naming it', () => {
    expect(() => propsFrom({ profile: 'lambda' })).toThrow(
      'profile must be standard or serverless (got "lambda")',
    );
  });

  it('leaves unset keys to the stack defaults', () => {
    expect(propsFrom({})).toEqual({});
  });

  it.each([
    [{ peakConcurrentFlows: 'fifty' }, 'peakConcurrentFlows must be a number (got "fifty")'],
    [{ multiAz: 'yes' }, 'multiAz must be true or false (got "yes")'],
    [{ removalPolicy: 'snapshot' }, 'removalPolicy must be retain or destroy (got "snapshot")'],
    [{ domainName: 42 }, 'domainName must be a string (got 42)'],
    [{ cpuArchitecture: 'arm' }, 'cpuArchitecture must be x86_64 or arm64 (got "arm")'],
    [{ corsOrigins: [1] }, 'corsOrigins must be a list of strings (got [1])'],
    [{ corsOrigins: '["https://a.example.com"' }, 'corsOrigins must be a list of strings'],
  ])('rejects %j naming the key', (context, message) => {
    expect(() => propsFrom(context)).toThrow(message);
  });
});
