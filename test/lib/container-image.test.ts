import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { describe, expect, it } from 'vitest';
import { type SluiceImageSource, sluiceContainerImage } from '../../lib/container-image';
import { NODE_ARGS_BY_ROLE, NODE_MAJOR } from '../../runtime/limits';
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

describe('the Dockerfile', () => {
  const dockerfile = readFileSync(`${REPO_ROOT}/Dockerfile`, 'utf8');
  const pkg = JSON.parse(readFileSync(`${REPO_ROOT}/package.json`, 'utf8'));
  const instructions = dockerfile.split('\n').filter((line) => /^[A-Z]+ /.test(line));

  it('builds both stages on one Node 24 slim image pinned by digest', () => {
    const bases = instructions
      .filter((line) => line.startsWith('FROM '))
      .map((line) => line.split(' ')[1]);

    expect(bases).toHaveLength(2);
    expect(new Set(bases).size).toBe(1);
    expect(bases[0]).toMatch(new RegExp(`^node:${NODE_MAJOR}-bookworm-slim@sha256:[0-9a-f]{64}$`));
  });

  it('names the Node version of the node package that development and tests run on', () => {
    expect(pkg.devDependencies.node.split('.')[0]).toBe(String(NODE_MAJOR));
    expect(dockerfile).toContain(`(Node ${pkg.devDependencies.node},`);
  });

  it("installs the bundle's external packages with npm ci from a lockfile", () => {
    const distSteps = instructions.slice(instructions.indexOf('WORKDIR /src/dist'));

    expect(distSteps[1]).toBe('RUN npm ci --omit=dev --no-audit --no-fund');
    expect(dockerfile).not.toMatch(/npm install|--no-package-lock/);
  });

  it('starts with the flags of the all role, which workers and the app override per task', () => {
    expect(instructions.at(-1)).toBe(
      `CMD ${JSON.stringify(['node', ...NODE_ARGS_BY_ROLE.all, 'main.mjs']).replaceAll(',', ', ')}`,
    );
  });
});
