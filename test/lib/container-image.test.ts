import { fileURLToPath } from 'node:url';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { describe, expect, it } from 'vitest';
import { type SluiceImageSource, sluiceContainerImage } from '../../lib/container-image';
import { newTestStack } from './fixtures';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

function templateFor(source: SluiceImageSource) {
  const stack = newTestStack();
  const taskDefinition = new ecs.FargateTaskDefinition(stack, 'Task');
  taskDefinition.addContainer('Container', { image: sluiceContainerImage(stack, source) });
  return Template.fromStack(stack);
}

describe('sluiceContainerImage', () => {
  it('builds the repo Dockerfile as an asset when no imageUri is given', () => {
    const template = templateFor({ directory: REPO_ROOT });

    template.hasResourceProperties(
      'AWS::ECS::TaskDefinition',
      Match.objectLike({
        ContainerDefinitions: [
          Match.objectLike({
            Image: {
              'Fn::Sub': Match.stringLikeRegexp('cdk-hnb659fds-container-assets-.*:[0-9a-f]{64}$'),
            },
          }),
        ],
      }),
    );
  });

  it('uses any other registry image as given', () => {
    const template = templateFor({ directory: REPO_ROOT, imageUri: 'ghcr.io/acme/sluice:1.2.3' });

    template.hasResourceProperties(
      'AWS::ECS::TaskDefinition',
      Match.objectLike({
        ContainerDefinitions: [Match.objectLike({ Image: 'ghcr.io/acme/sluice:1.2.3' })],
      }),
    );
  });

  it('grants the execution role pull access to an ECR image repository', () => {
    const template = templateFor({
      directory: REPO_ROOT,
      imageUri: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/sluice:1.2.3',
    });

    const policies = JSON.stringify(template.findResources('AWS::IAM::Policy'));
    expect(policies).toContain('ecr:BatchGetImage');
    expect(policies).toContain(':ecr:eu-west-1:123456789012:repository/team/sluice');
    template.hasResourceProperties(
      'AWS::ECS::TaskDefinition',
      Match.objectLike({
        ContainerDefinitions: [
          Match.objectLike({
            Image: {
              'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp('team/sluice:1.2.3$')])],
            },
          }),
        ],
      }),
    );
  });
});
