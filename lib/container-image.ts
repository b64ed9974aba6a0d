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
  /**
   * The CPU architecture the asset is built for. An `imageUri` must itself be a
   * multi-platform image when the tiers differ.
   * @default 'x86_64'
   */
  readonly architecture?: 'x86_64' | 'arm64';
}

const ECR_URI =
  /^(?<account>\d{12})\.dkr\.ecr\.(?<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/(?<repository>[a-z0-9._/-]+)(?::(?<tag>[\w.-]+)|@(?<digest>sha256:[a-f0-9]{64}))?$/;

/**
 * The runtime image: the repo's Dockerfile as a linux/amd64 asset (Fargate Spot needs
 * x86_64) or linux/arm64 one, or `imageUri`.
 */
export function sluiceContainerImage(
  scope: Construct,
  source: SluiceImageSource,
): ecs.ContainerImage {
  if (source.imageUri === undefined) {
    return ecs.ContainerImage.fromAsset(source.directory, {
      file: 'Dockerfile',
      platform: source.architecture === 'arm64' ? Platform.LINUX_ARM64 : Platform.LINUX_AMD64,
    });
  }
  const ecrImage = ECR_URI.exec(source.imageUri)?.groups;
  if (ecrImage === undefined) return ecs.ContainerImage.fromRegistry(source.imageUri);
  const repositoryName = ecrImage.repository as string;
  // Both tiers may ask for the same image (one per architecture): one repository reference.
  const repository =
    (scope.node.tryFindChild('ImageRepository') as ecr.IRepository | undefined) ??
    ecr.Repository.fromRepositoryAttributes(scope, 'ImageRepository', {
      repositoryName,
      repositoryArn: `arn:${Aws.PARTITION}:ecr:${ecrImage.region}:${ecrImage.account}:repository/${repositoryName}`,
    });
  return ecs.ContainerImage.fromEcrRepository(
    repository,
    ecrImage.digest ?? ecrImage.tag ?? 'latest',
  );
}
