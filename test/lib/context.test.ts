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
        imageUri: 'ghcr.io/acme/sluice:1.0',
        queuePrefix: '{sluice}',
      }),
    ).toEqual({
      peakConcurrentFlows: 50,
      multiAz: false,
      domainName: 'sluice.example.com',
      imageUri: 'ghcr.io/acme/sluice:1.0',
      queuePrefix: '{sluice}',
    });
  });

  it('leaves unset keys to the stack defaults', () => {
    expect(propsFrom({})).toEqual({});
  });

  it.each([
    [{ peakConcurrentFlows: 'fifty' }, 'peakConcurrentFlows must be a number (got "fifty")'],
    [{ multiAz: 'yes' }, 'multiAz must be true or false (got "yes")'],
    [{ removalPolicy: 'snapshot' }, 'removalPolicy must be retain or destroy (got "snapshot")'],
    [{ domainName: 42 }, 'domainName must be a string (got 42)'],
  ])('rejects %j naming the key', (context, message) => {
    expect(() => propsFrom(context)).toThrow(message);
  });
});
