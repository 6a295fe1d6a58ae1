import { createHash } from 'crypto';
import { Names, Stack, Token } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct, IConstruct } from 'constructs';
import { checkInventoryPrefix } from './private/inventory-checks';
import { ensureQuotaGuard } from '../private/quota-guard';
import { checkLength, fail } from '../private/validate';
import { InventoryBucket } from './inventory-bucket';

/**
 * Properties for an `InventoryDataSync`.
 */
export interface InventoryDataSyncProps {
  /**
   * Bucket that receives the inventory.
   *
   * Pass `InventoryBucket.bucket` when the bucket is in the same app; the sync then takes the bucket's `bucketPrefix` and
   * `encryptionKey` unless you set them. From a member account or another region, import the central bucket by name
   * with its region: `s3.Bucket.fromBucketAttributes(this, 'Central', { bucketName, region, account })`.
   *
   * @default - a new `InventoryBucket` in this stack that accepts this account (see `inventoryBucket`)
   */
  readonly bucket?: s3.IBucket;

  /**
   * Region of the bucket (`S3Destination.BucketRegion`), 1 to 64 characters.
   *
   * @default - the bucket's region when it is known at synth time (`fromBucketAttributes` with `region`, or a bucket
   * in a stack with an explicit region), else this stack's region
   */
  readonly bucketRegion?: string;

  /**
   * Key prefix to write under (`S3Destination.BucketPrefix`).
   *
   * 1 to 256 characters, no leading or trailing `/`, no `//`, no `*` or `?`. It must match the central bucket's
   * prefix, whose policy admits deliveries only under `<prefix>/*\/accountid=<account>/*`.
   *
   * @default - the `InventoryBucket`'s prefix when `bucket` belongs to one, else none
   */
  readonly bucketPrefix?: string;

  /**
   * Customer-managed KMS key the sync encrypts the inventory with (`S3Destination.KMSKeyArn`).
   *
   * It must be in the bucket's region and its key policy must let `ssm.amazonaws.com` call `kms:GenerateDataKey`
   * (an `InventoryBucket` adds that to a key it owns). From a member stack, import it with `kms.Key.fromKeyArn`.
   *
   * @default - the `InventoryBucket`'s key when `bucket` belongs to one, else none (the bucket's default encryption)
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * Name of the resource data sync, 1 to 64 characters, unique in the account and region.
   *
   * Changing the destination with a fixed name fails: CloudFormation creates the replacement sync before it deletes
   * the old one. Change the name too, or leave it to the default.
   *
   * @default - a name generated from the construct path and a hash of the destination (letters and digits, 64
   * characters), so a changed destination gets a new name
   */
  readonly resourceDataSyncName?: string;
}

/**
 * Define a resource data sync that continuously writes the Systems Manager Inventory of this account and region to
 * an S3 bucket (`SyncToDestination`, JSON SerDe), for Athena, Glue or any S3 reader.
 *
 * A sync covers only the account and region it is deployed in: for a fleet across regions and accounts, deploy one
 * `InventoryDataSync` per account and region, all pointing at the same central bucket (an `InventoryBucket` that lists
 * those accounts, or their organization). Cross-region delivery may cost data transfer.
 *
 * Every field of the destination is create-only: changing the bucket, region, prefix or key replaces the sync.
 * CloudFormation creates the replacement before it deletes the old sync, and sync names are unique per account and
 * region, so the generated name includes a hash of the destination; with a fixed `resourceDataSyncName`, change the name together
 * with the destination.
 *
 * @example
 * // Central account 111122223333, eu-west-1:
 * new InventoryBucket(this, 'Inventory', {
 *   bucketName: 'inventory-111122223333-eu-west-1',
 *   bucketPrefix: 'inventory',
 *   sourceAccounts: ['111122223333', '444455556666'],
 * });
 *
 * // Every member account and region (one stack per region):
 * new InventoryDataSync(this, 'InventorySync', {
 *   bucket: s3.Bucket.fromBucketAttributes(this, 'CentralInventory', {
 *     bucketName: 'inventory-111122223333-eu-west-1',
 *     region: 'eu-west-1',
 *     account: '111122223333',
 *   }),
 *   bucketPrefix: 'inventory',
 * });
 *
 * @resource AWS::SSM::ResourceDataSync
 */
export class InventoryDataSync extends Construct {
  /**
   * Name of the resource data sync.
   *
   * @attribute
   */
  public readonly resourceDataSyncName: string;

  /** The bucket the sync writes to. */
  public readonly bucket: s3.IBucket;

  /** The `InventoryBucket` the sync writes to, when `bucket` belongs to one (including the one it created). */
  public readonly inventoryBucket?: InventoryBucket;

  /** Region of the bucket, as given to the sync. */
  public readonly bucketRegion: string;

  /** Key prefix the sync writes under, if any. */
  public readonly bucketPrefix?: string;

  /** The key the sync encrypts with, if any. */
  public readonly encryptionKey?: kms.IKey;

  constructor(scope: Construct, id: string, props: InventoryDataSyncProps = {}) {
    super(scope, id);
    ensureQuotaGuard(this);
    const stack = Stack.of(this);
    checkInventoryPrefix(this, 'bucketPrefix', props.bucketPrefix);
    checkLength(this, 'resourceDataSyncName', props.resourceDataSyncName, 1, 64);
    checkLength(this, 'bucketRegion', props.bucketRegion, 1, 64);
    checkKeyArn(this, props.encryptionKey);

    const inventoryBucket = props.bucket
      ? owningInventoryBucket(props.bucket)
      : new InventoryBucket(this, 'Bucket', { bucketPrefix: props.bucketPrefix, encryptionKey: props.encryptionKey });
    if (props.bucket && inventoryBucket) this.checkMatches(inventoryBucket, props);

    const bucket = props.bucket ?? inventoryBucket!.bucket;
    const prefix = props.bucketPrefix ?? inventoryBucket?.bucketPrefix;
    const encryptionKey = props.encryptionKey ?? inventoryBucket?.encryptionKey;
    const bucketRegion = props.bucketRegion ?? (Token.isUnresolved(bucket.env.region) ? stack.region : bucket.env.region);
    if (inventoryBucket) checkSameRegion(this, inventoryBucket, bucketRegion);
    if (encryptionKey) checkKeyRegion(this, encryptionKey, bucketRegion);

    this.resourceDataSyncName = props.resourceDataSyncName ?? this.generateSyncName([
      [bucket.bucketName, bucket],
      [bucketRegion, undefined],
      [prefix, undefined],
      [encryptionKey?.keyArn, encryptionKey],
    ]);
    const resource = new ssm.CfnResourceDataSync(this, 'Resource', {
      syncName: this.resourceDataSyncName,
      syncType: 'SyncToDestination',
      s3Destination: {
        bucketName: bucket.bucketName,
        bucketRegion,
        syncFormat: 'JsonSerDe',
        bucketPrefix: prefix,
        kmsKeyArn: encryptionKey?.keyArn,
      },
    });
    // Systems Manager checks the bucket policy when the sync is created.
    if (bucket.policy && Stack.of(bucket.policy) === stack) resource.node.addDependency(bucket.policy);

    this.bucket = bucket;
    this.inventoryBucket = inventoryBucket;
    this.bucketRegion = bucketRegion;
    this.bucketPrefix = prefix;
    this.encryptionKey = encryptionKey;
  }

  /**
   * The construct path's unique name plus a hash of the destination: a changed destination replaces the sync, and
   * CloudFormation creates the replacement before it deletes the old one, so the replacement needs a new name.
   */
  private generateSyncName(destination: [string | undefined, IConstruct | undefined][]): string {
    // A value known only at deploy time stands for the construct that holds it (tokens are not stable across synths).
    const describe = ([value, holder]: [string | undefined, IConstruct | undefined]) =>
      value === undefined ? '-' : Token.isUnresolved(value) ? `@${holder?.node.path ?? 'deploy-time'}` : value;
    const hash = createHash('sha256').update(destination.map(describe).join('\n')).digest('hex').slice(0, 8).toUpperCase();
    return `${Names.uniqueResourceName(this, { maxLength: 56 })}${hash}`;
  }

  /**
   * A sync to an `InventoryBucket` of this app must match its policy: same prefix, same key, an admitted account.
   */
  private checkMatches(target: InventoryBucket, props: InventoryDataSyncProps): void {
    const where = target.node.path;
    if (
      props.bucketPrefix !== undefined &&
      target.bucketPrefix !== undefined &&
      !Token.isUnresolved(props.bucketPrefix) &&
      !Token.isUnresolved(target.bucketPrefix) &&
      props.bucketPrefix !== target.bucketPrefix
    ) {
      fail(this, `\`bucketPrefix\` must be the prefix of the InventoryBucket ${where} ('${target.bucketPrefix}'), whose policy admits deliveries only under it, got: '${props.bucketPrefix}'`);
    }
    const key = props.encryptionKey;
    if (key && target.encryptionKey && key !== target.encryptionKey && differ(key.keyArn, target.encryptionKey.keyArn)) {
      fail(this, `\`encryptionKey\` must be the key of the InventoryBucket ${where}, whose policy requires it on every delivery, got: ${key.node.path}`);
    }
    const account = Stack.of(this).account;
    if (
      target.organizationId === undefined &&
      !Token.isUnresolved(account) &&
      target.sourceAccounts.every((a) => !Token.isUnresolved(a)) &&
      !target.sourceAccounts.includes(account)
    ) {
      fail(
        this,
        `\`bucket\` admits only the \`sourceAccounts\` of the InventoryBucket ${where} (${target.sourceAccounts.join(', ')}); add this stack's account there, got: ${account}`,
      );
    }
  }
}

/** The `InventoryBucket` whose `bucket` this is, if any. */
function owningInventoryBucket(bucket: s3.IBucket): InventoryBucket | undefined {
  const parent = bucket.node.scope;
  return parent instanceof InventoryBucket && parent.bucket === bucket ? parent : undefined;
}

/** Two key ARNs that are certainly different keys: both literal and unequal, or two different unresolved values. */
function differ(a: string, b: string): boolean {
  if (a === b) return false;
  return Token.isUnresolved(a) === Token.isUnresolved(b);
}

function checkKeyArn(scope: IConstruct, key: kms.IKey | undefined): void {
  if (key === undefined || Token.isUnresolved(key.keyArn)) return;
  if (!key.keyArn.startsWith('arn:') || key.keyArn.length > 512) {
    fail(scope, `\`encryptionKey\` must have a key ARN (starting with arn:, at most 512 characters), got: '${key.keyArn}'`);
  }
}

function checkSameRegion(scope: IConstruct, target: InventoryBucket, bucketRegion: string): void {
  if (Token.isUnresolved(target.bucketRegion) || Token.isUnresolved(bucketRegion) || target.bucketRegion === bucketRegion) return;
  fail(scope, `\`bucketRegion\` must be the region of the InventoryBucket ${target.node.path} (${target.bucketRegion}), got: '${bucketRegion}'`);
}

function checkKeyRegion(scope: IConstruct, key: kms.IKey, bucketRegion: string): void {
  const keyRegion = key.env.region;
  if (Token.isUnresolved(keyRegion) || Token.isUnresolved(bucketRegion) || keyRegion === bucketRegion) return;
  fail(scope, `\`encryptionKey\` must be in the bucket's region ${bucketRegion}, got: a key in ${keyRegion}`);
}
