import * as config from 'aws-cdk-lib/aws-config';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';

/**
 * Options of a configuration recorder that the library creates (`ConfigRecorderChoice.create`).
 */
export interface ConfigRecorderOptions {
  /**
   * Bucket the delivery channel writes configuration snapshots and history to. It must allow the recorder's role to
   * write under `AWSLogs/<account>/Config/`.
   *
   * @default - a new bucket: retained on stack deletion, versioned, encrypted, TLS only, no public access
   */
  readonly deliveryBucket?: s3.IBucket;

  /**
   * Customer-managed KMS key that encrypts the delivered objects (SSE-KMS); the recorder's role may encrypt with it.
   *
   * @default - S3-managed encryption (SSE-S3)
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * Bucket that receives the S3 server access logs of the created delivery bucket.
   *
   * @default - no server access logs
   */
  readonly serverAccessLogsBucket?: s3.IBucket;

  /**
   * Resource types to record besides the ones the fleet rules evaluate (`AWS::SSM::ManagedInstanceInventory`,
   * `AWS::SSM::PatchCompliance`, `AWS::SSM::AssociationCompliance`, `AWS::EC2::Instance`).
   *
   * @default - only those four
   */
  readonly additionalResourceTypes?: config.ResourceType[];
}

/**
 * Where the AWS Config configuration recorder that the fleet's Config rules need comes from.
 *
 * There is one recorder per account and Region, and a Config rule fails to create without one
 * (`NoAvailableConfigurationRecorderException`), so the choice is explicit: most organizations already record with
 * AWS Config (Control Tower, a security baseline), and a second recorder fails to deploy.
 *
 * @see https://docs.aws.amazon.com/config/latest/developerguide/stop-start-recorder.html
 */
export class ConfigRecorderChoice {
  /**
   * Use the recorder that already records in the account and Region (Control Tower, Security Hub, a baseline
   * stack). It must record `AWS::SSM::ManagedInstanceInventory`, `AWS::SSM::PatchCompliance`,
   * `AWS::SSM::AssociationCompliance` (and `AWS::EC2::Instance` for EC2 rules), for example by recording all
   * supported types.
   */
  public static existing(): ConfigRecorderChoice {
    return new ConfigRecorderChoice(undefined);
  }

  /**
   * Create the account and Region's recorder in this stack: a recorder whose recording group holds the SSM types and
   * EC2 instances, its role, a delivery channel and its bucket. Deploy it only where no recorder exists yet.
   */
  public static create(options: ConfigRecorderOptions = {}): ConfigRecorderChoice {
    return new ConfigRecorderChoice(options);
  }

  private constructor(
    /** The options of the recorder to create; undefined for an existing recorder. */
    public readonly createOptions: ConfigRecorderOptions | undefined,
  ) {}

  /** Whether this choice creates a recorder. */
  public get createsRecorder(): boolean {
    return this.createOptions !== undefined;
  }
}
