import { Aws } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type { Construct } from 'constructs';

/** Where the runtime image comes from. */
export interface SluiceImageSource {
  /** Directory holding the Dockerfile (the repo root); `cdk synth` only stages it. */
  readonly directory: string;
  /**
   * A pre-built image. An ECR URI gets pull permissions for its repository.
   * @default - built from `directory`/Dockerfile at deploy time
   */
  readonly imageUri?: string;
}

const ECR_URI =
  /^(?<account>\d{12})\.dkr\.ecr\.(?<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/(?<repository>[a-z0-9._/-]+)(?::(?<tag>[\w.-]+)|@(?<digest>sha256:[a-f0-9]{64}))?$/;

/**
 * The runtime image: the repo's Dockerfile as a linux/amd64 asset (Fargate Spot needs
 * x86_64), or `imageUri`.
 */
export function sluiceContainerImage(
  scope: Construct,
  source: SluiceImageSource,
): ecs.ContainerImage {
  if (source.imageUri === undefined) {
    return ecs.ContainerImage.fromAsset(source.directory, {
      file: 'Dockerfile',
      platform: Platform.LINUX_AMD64,
    });
  }
  const ecrImage = ECR_URI.exec(source.imageUri)?.groups;
  if (ecrImage === undefined) return ecs.ContainerImage.fromRegistry(source.imageUri);
  const repositoryName = ecrImage.repository as string;
  const repository = ecr.Repository.fromRepositoryAttributes(scope, 'ImageRepository', {
    repositoryName,
    repositoryArn: `arn:${Aws.PARTITION}:ecr:${ecrImage.region}:${ecrImage.account}:repository/${repositoryName}`,
  });
  return ecs.ContainerImage.fromEcrRepository(
    repository,
    ecrImage.digest ?? ecrImage.tag ?? 'latest',
  );
}
