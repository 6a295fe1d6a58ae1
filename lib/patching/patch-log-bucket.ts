import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledgePatchLogBucketFindings } from '../private/acknowledgements';
import { checkIntegerRange } from '../private/validate';
import { retainedBucketProps } from '../private/retained-bucket';

/**
 * Properties for a `PatchLogBucket`.
 */
export interface PatchLogBucketProps {
  /**
   * Customer-managed KMS key that encrypts the logs. Nodes that write output then also need `kms:GenerateDataKey`
   * on it (`grantWrite` adds that).
   *
   * @default - S3-managed encryption (SSE-S3)
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * Bucket that receives the S3 server access logs of this bucket.
   *
   * @default - no server access logs
   */
  readonly serverAccessLogsBucket?: s3.IBucket;

  /**
   * Delete patch command output after this many days (noncurrent versions a week later).
   *
   * A whole number from 1 to 3650.
   *
   * @default 365
   */
  readonly expirationDays?: number;
}

/**
 * Define a bucket for patch command output (scan and install logs) that patch groups write to under separate
 * prefixes: retained on stack deletion, versioned, encrypted, TLS only, no public access.
 *
 * Run Command output is written with the node's own credentials, so grant the node roles write access with
 * `grantWrite` (or pass them to `PatchGroup`'s `nodeRoles`).
 */
export class PatchLogBucket extends Construct {
  /** The bucket. */
  public readonly bucket: s3.IBucket;

  constructor(scope: Construct, id: string, props: PatchLogBucketProps = {}) {
    super(scope, id);
    const expirationDays = props.expirationDays ?? 365;
    checkIntegerRange(this, 'expirationDays', expirationDays, 1, 3650);

    const bucket = new s3.Bucket(this, 'Bucket', {
      ...retainedBucketProps(props.encryptionKey),
      serverAccessLogsBucket: props.serverAccessLogsBucket,
      serverAccessLogsPrefix: props.serverAccessLogsBucket ? 'patch-log-bucket/' : undefined,
      lifecycleRules: [
        {
          id: 'ExpirePatchOutput',
          expiration: Duration.days(expirationDays),
          noncurrentVersionExpiration: Duration.days(7),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
    });
    this.bucket = bucket;
    acknowledgePatchLogBucketFindings(bucket, {
      accessLogs: props.serverAccessLogsBucket !== undefined,
      kms: props.encryptionKey !== undefined,
    });
  }

  /** Let a node role write command output under a prefix (`*` for everywhere). */
  public grantWrite(grantee: iam.IGrantable, prefix: string = '*'): iam.Grant {
    return this.bucket.grantPut(grantee, prefix);
  }
}
