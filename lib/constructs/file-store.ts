import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { STORAGE_KIND_TAG } from '../../runtime/limits';

export interface FileStoreProps {
  /**
   * Days after which RUN_LOG objects (the run logs too large to keep in their run row) expire.
   * @default 30
   */
  readonly runLogRetentionDays?: number;
  /**
   * Days a version stays after it is overwritten or deleted.
   * @default 30
   */
  readonly noncurrentVersionExpirationDays?: number;
  /**
   * Web origins (scheme://host[:port]) whose pages may PUT to a pre-signed upload URL and GET a
   * pre-signed download URL from a browser.
   * @default [] - no CORS rule: browsers cannot call the bucket
   */
  readonly corsAllowedOrigins?: readonly string[];
  /**
   * RETAIN keeps the bucket; DESTROY empties and deletes it with the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Object tag the lifecycle rule matches. Keys are `project/{projectId}/{KIND}/{id}`, and S3
 * lifecycle filters match only a key prefix, so the runtime tags run logs on upload instead.
 */
export const RUN_LOG_TAG = { key: STORAGE_KIND_TAG, value: 'RUN_LOG' } as const;

/** The keys of run logs, as runtime/storage/keys.ts builds them (`storageKey`). */
const RUN_LOG_KEYS = `project/*/${RUN_LOG_TAG.value}/*`;

/** How long a browser may cache the CORS preflight answer. */
const CORS_MAX_AGE_S = 3000;

/**
 * The private S3 bucket behind the runtime's `s3` storage driver: no public access, TLS only,
 * S3-managed encryption, versioning, run logs expiring, and a read/write grant on this bucket
 * only.
 */
export class FileStore extends Construct {
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: FileStoreProps = {}) {
    super(scope, id);
    const runLogRetentionDays = props.runLogRetentionDays ?? 30;
    const noncurrentVersionExpirationDays = props.noncurrentVersionExpirationDays ?? 30;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    for (const [name, days] of [
      ['runLogRetentionDays', runLogRetentionDays],
      ['noncurrentVersionExpirationDays', noncurrentVersionExpirationDays],
    ] as const) {
      if (!Number.isInteger(days) || days < 1) {
        throw new Error(`${name} must be a positive integer (got ${days})`);
      }
    }
    const corsAllowedOrigins = props.corsAllowedOrigins ?? [];
    for (const origin of corsAllowedOrigins) {
      // A path or a trailing slash never matches the browser's Origin header; * would let any
      // page use a leaked URL from a victim's browser.
      if (!/^https?:\/\/[a-z0-9.-]+(:\d{1,5})?$/i.test(origin)) {
        throw new Error(
          `corsAllowedOrigins must be origins like https://app.example.com, no path or wildcard (got ${origin})`,
        );
      }
    }
    const destroy = removalPolicy === RemovalPolicy.DESTROY;

    this.bucket = new s3.Bucket(this, 'Bucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      encryption: s3.BucketEncryption.S3_MANAGED,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      removalPolicy,
      autoDeleteObjects: destroy,
      lifecycleRules: [
        {
          id: 'expire-run-logs',
          tagFilters: { [RUN_LOG_TAG.key]: RUN_LOG_TAG.value },
          expiration: Duration.days(runLogRetentionDays),
        },
        {
          id: 'expire-noncurrent-versions',
          noncurrentVersionExpiration: Duration.days(noncurrentVersionExpirationDays),
          expiredObjectDeleteMarker: true,
        },
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
      ...(corsAllowedOrigins.length === 0
        ? {}
        : {
            cors: [
              {
                allowedOrigins: [...corsAllowedOrigins],
                allowedMethods: [s3.HttpMethods.PUT, s3.HttpMethods.GET, s3.HttpMethods.HEAD],
                // What a browser PUT of a pre-signed URL sends: its body's type and the SDK's
                // checksum and metadata headers (x-amz-*); the signature is in the query.
                allowedHeaders: ['content-type', 'content-md5', 'content-disposition', 'x-amz-*'],
                exposedHeaders: ['ETag', 'Content-Disposition'],
                maxAge: CORS_MAX_AGE_S,
              },
            ],
          }),
    });
    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'Only the task roles and their short-lived pre-signed URLs reach this bucket; run records in PostgreSQL say who did what, and CloudTrail data events can be enabled account-wide if an audit trail per object is required',
    });
  }

  /**
   * Object read/write/delete and listing on this bucket only: what the APP's storage driver
   * does (put, get, head, batched delete, pre-signed GET/PUT, tagging).
   */
  grantReadWrite(grantee: iam.IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject', 's3:PutObject', 's3:PutObjectTagging', 's3:DeleteObject'],
        resources: [this.bucket.arnForObjects('*')],
      }),
    );
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [this.bucket.bucketArn] }),
    );
    this.acknowledgeObjectWildcard(
      grantee,
      '*',
      'Object keys are generated at run time (project/{projectId}/{KIND}/{id}); the wildcard covers objects of this one bucket only',
    );
  }

  /**
   * PutObject, tagged, of run logs only (`project/{projectId}/RUN_LOG/{runId}`): all a worker
   * stores. Workers run untrusted code steps for every project, so their role can neither read
   * nor delete nor list any project's files, nor write outside the RUN_LOG keys.
   */
  grantRunLogWrite(grantee: iam.IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        // PutObjectTagging: the runtime tags each log (RUN_LOG_TAG) for the lifecycle rule.
        actions: ['s3:PutObject', 's3:PutObjectTagging'],
        resources: [this.bucket.arnForObjects(RUN_LOG_KEYS)],
      }),
    );
    this.acknowledgeObjectWildcard(
      grantee,
      RUN_LOG_KEYS,
      'Run ids and project ids are generated at run time; the wildcards cover the RUN_LOG keys of this one bucket only',
    );
  }

  private acknowledgeObjectWildcard(grantee: iam.IGrantable, keys: string, reason: string): void {
    if (!Construct.isConstruct(grantee.grantPrincipal)) return;
    const bucketLogicalId = Stack.of(this).getLogicalId(
      this.bucket.node.defaultChild as s3.CfnBucket,
    );
    Validations.of(grantee.grantPrincipal).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${bucketLogicalId}.Arn>/${keys}]`,
      reason,
    });
  }
}
