import { Duration, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { Construct, IConstruct } from 'constructs';
import {
  acknowledgeInventoryAccessLogBucketFindings,
  acknowledgeInventoryBucketFindings,
} from '../private/acknowledgements';
import { SSM_SERVICE } from '../private/ssm-principal';
import { ACCOUNT_ID_PATTERN, checkInventoryPrefix } from './private/inventory-checks';
import { checkWholeDays, fail } from '../private/validate';
import { retainedBucketProps } from '../private/retained-bucket';

/**
 * Properties for an `InventoryBucket`.
 */
export interface InventoryBucketProps {
  /**
   * Accounts whose resource data syncs may deliver inventory to the bucket.
   *
   * Each is a 12-digit AWS account id (or a token). The bucket policy allows Systems Manager to write only under
   * `<prefix>/*\/accountid=<account>/*` and only for a resource data sync of that account (`aws:SourceAccount`,
   * `aws:SourceArn`). Give a sync in every region of every account listed here, all pointing at this bucket.
   *
   * @default - this stack's account, unless only `organizationId` is given
   */
  readonly sourceAccounts?: string[];

  /**
   * AWS Organizations id whose accounts may deliver inventory, in addition to `sourceAccounts`.
   *
   * Adds the Organizations variant of the delivery statement: any account may write under
   * `<prefix>/*\/accountid=*\/*` when Systems Manager tags the object with `OrgId` = this id, plus the
   * `s3:PutObjectTagging` statement it needs. When only `organizationId` is given, no per-account statement is added.
   *
   * Systems Manager tags objects with `OrgId` only for syncs created with `DestinationDataSharing=Organization`, which
   * only the API offers (CloudFormation has no such field). Syncs created by `InventoryDataSync` are admitted through
   * `sourceAccounts` or, for every account of the organization, `organizationSyncs`.
   *
   * Must match `^o-[a-z0-9]{10,32}$`.
   *
   * @default - no Organizations statements
   */
  readonly organizationId?: string;

  /**
   * Admit the syncs that CloudFormation creates (`AWS::SSM::ResourceDataSync`, `InventoryDataSync`) in any account of
   * `organizationId`, each only into its own partition, without listing the accounts: a StackSet that deploys a
   * member into an account that joins the organization later delivers at once, with no change to this stack.
   *
   * Adds one delivery statement whose resource is `<prefix>/*\/accountid=${aws:SourceAccount}/*` (the calling
   * account, resolved by IAM at request time), with `aws:SourceOrgID` = `organizationId`, `aws:SourceArn` like
   * `arn:<partition>:ssm:*:*:resource-data-sync/*`, the ACL and, with a key, the SSE-KMS headers.
   *
   * Unverified (design defensively): AWS documents `aws:SourceOrgID` and `aws:SourceOrgPaths` as global keys that a
   * service principal passes "on behalf of a resource owned by an account which is a member of an organization", and
   * global keys as policy variables in resource policies, but the Systems Manager guide does not say that resource
   * data sync deliveries carry `aws:SourceOrgID` or `aws:SourceOrgPaths`. If a key is absent, the statement
   * matches nothing (IAM fails closed), and `sourceAccounts` still admits the accounts listed there: keep the accounts
   * you already know in `sourceAccounts` until a delivery from an unlisted account has been seen in the bucket.
   *
   * Requires `organizationId`.
   *
   * @default false
   */
  readonly organizationSyncs?: boolean;

  /**
   * Narrow `organizationSyncs` to accounts under these AWS Organizations entity paths (`aws:SourceOrgPaths`, any of
   * them, `ForAnyValue:StringLike`).
   *
   * Each path is `<organizationId>/r-<root>/` followed by zero or more `ou-<root>-<ou>/`, optionally ending in `*`
   * for the OU and all of its children (for example `o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*`); it must start with
   * `organizationId`. 1 to 20 paths. As unverified as `organizationSyncs` (see there).
   *
   * @default - every account of the organization
   */
  readonly sourceOrganizationPaths?: string[];

  /**
   * Key prefix the resource data syncs write under (their `BucketPrefix`).
   *
   * The syncs write `<prefix>/<TypeName>/accountid=<account>/region=<region>/resourcetype=ManagedInstanceInventory/<node>.json`.
   * 1 to 256 characters, no leading or trailing `/`, no `//`, no `*` or `?` (they would widen the bucket policy).
   *
   * @default - no prefix: the syncs write at the root of the bucket
   */
  readonly bucketPrefix?: string;

  /**
   * Customer-managed KMS key for SSE-KMS (with an S3 Bucket Key).
   *
   * The syncs must then name this key (`InventoryDataSync`'s `encryptionKey`), and the bucket policy requires it on
   * every delivery. The construct adds the statement that lets Systems Manager call `kms:GenerateDataKey` to the key
   * policy. On an imported key that is not possible (CDK silently skips it): the key owner must add the statement
   * described in the README. Readers need `kms:Decrypt` (`grantRead` adds it).
   *
   * @default - S3-managed encryption (SSE-S3)
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * Bucket that receives the S3 server access logs of this bucket (under `inventory-bucket/`).
   *
   * @default - a dedicated access-log bucket: retained, versioned, SSE-S3, TLS only, no public access, logs expire
   * after 365 days
   */
  readonly serverAccessLogsBucket?: s3.IBucket;

  /**
   * How long an overwritten or deleted inventory file is kept as a noncurrent version.
   *
   * Whole days, from 1 day to 3650 days.
   *
   * @default Duration.days(90)
   */
  readonly noncurrentVersionExpiration?: Duration;

  /**
   * Expire the current inventory files that were not rewritten for this long.
   *
   * A resource data sync rewrites a node's file whenever the node reports that inventory type again and never deletes
   * the files of nodes that stop reporting, so expiring old current objects removes nodes that are gone. Choose a
   * period well above the inventory collection interval: a node whose inventory of a type does not change may not
   * have that file rewritten on every collection. Whole days, from 1 day to 3650 days; the expired file stays
   * recoverable as a noncurrent version for `noncurrentVersionExpiration`.
   *
   * @default - never: inventory files are kept until deleted
   */
  readonly staleNodeExpiration?: Duration;

  /**
   * Physical name of the bucket.
   *
   * A fixed name lets member accounts point their syncs at the bucket without a cross-stack reference.
   *
   * @default - a name generated by CloudFormation
   */
  readonly bucketName?: string;
}

/**
 * Define the central S3 bucket that receives Systems Manager Inventory from the resource data syncs of many accounts
 * and regions: retained on stack deletion, versioned, encrypted, TLS only, no public access, bucket-owner-enforced
 * object ownership (no ACLs), with server access logs and no Object Lock (resource data sync refuses Object Lock).
 *
 * Its bucket policy lets `ssm.amazonaws.com` check the bucket ACL and put objects under
 * `<prefix>/*\/accountid=<account>/*` for each source account, with the confused-deputy conditions
 * (`aws:SourceAccount`, `aws:SourceArn`) and, with a KMS key, the required SSE-KMS headers. With an `organizationId`
 * it also admits every account of the organization: syncs created through the API with organization sharing and, with
 * `organizationSyncs`, CloudFormation-created syncs, each only into its own partition.
 *
 * @example
 * // The central account: inventory of two accounts under `inventory/`.
 * const central = new InventoryBucket(this, 'Inventory', {
 *   bucketName: 'inventory-111122223333-eu-west-1',
 *   bucketPrefix: 'inventory',
 *   sourceAccounts: ['111122223333', '444455556666'],
 * });
 * new InventoryDataSync(this, 'Sync', { bucket: central.bucket });
 */
export class InventoryBucket extends Construct {
  /** The bucket. */
  public readonly bucket: s3.IBucket;

  /** Name of the bucket (a sync's `BucketName`). */
  public readonly bucketName: string;

  /** Region of the bucket (a sync's `BucketRegion`): this stack's region. */
  public readonly bucketRegion: string;

  /** Key prefix the syncs write under, if any. */
  public readonly bucketPrefix?: string;

  /** The customer-managed KMS key that encrypts the bucket, if any. */
  public readonly encryptionKey?: kms.IKey;

  /** Organizations id whose accounts may deliver, if any. */
  public readonly organizationId?: string;

  /**
   * Whether the syncs of every account of `organizationId` (or of `sourceOrganizationPaths`) are admitted, each into
   * its own partition (`organizationSyncs`).
   */
  public readonly organizationSyncs: boolean;

  /** Organizations entity paths that narrow `organizationSyncs`, if any. */
  public readonly sourceOrganizationPaths?: string[];

  /** Accounts that may deliver by account id (empty when only `organizationId` was given). */
  public readonly sourceAccounts: string[];

  /** The bucket that receives this bucket's server access logs. */
  public readonly serverAccessLogsBucket: s3.IBucket;

  constructor(scope: Construct, id: string, props: InventoryBucketProps = {}) {
    super(scope, id);
    // Grant S3 log delivery to the access-log bucket with a bucket policy, not the LogDeliveryWrite ACL, whatever the
    // app's flag says: both buckets keep ACLs disabled (aws-cdk-lib reads the flag from the log bucket's scope).
    this.node.setContext(cxapi.S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY, true);
    const stack = Stack.of(this);
    checkInventoryPrefix(this, 'bucketPrefix', props.bucketPrefix);
    checkOrganizationId(this, props.organizationId);
    const organizationSyncs = checkOrganizationSyncs(this, props.organizationSyncs, props.organizationId);
    const paths = checkSourceOrganizationPaths(this, props.sourceOrganizationPaths, organizationSyncs, props.organizationId);
    const sourceAccounts = resolveSourceAccounts(this, props.sourceAccounts, props.organizationId, stack.account);
    const noncurrentVersionExpiration = props.noncurrentVersionExpiration ?? Duration.days(90);
    checkWholeDays(this, 'noncurrentVersionExpiration', noncurrentVersionExpiration, 1, 3650);
    checkWholeDays(this, 'staleNodeExpiration', props.staleNodeExpiration, 1, 3650);

    this.serverAccessLogsBucket = props.serverAccessLogsBucket ?? this.createAccessLogsBucket();

    const bucket = new s3.Bucket(this, 'Bucket', {
      bucketName: props.bucketName,
      ...retainedBucketProps(props.encryptionKey),
      serverAccessLogsBucket: this.serverAccessLogsBucket,
      serverAccessLogsPrefix: 'inventory-bucket/',
      lifecycleRules: this.lifecycleRules(props.bucketPrefix, noncurrentVersionExpiration, props.staleNodeExpiration),
    });

    this.bucket = bucket;
    this.bucketName = bucket.bucketName;
    this.bucketRegion = stack.region;
    this.bucketPrefix = props.bucketPrefix;
    this.encryptionKey = props.encryptionKey;
    this.organizationId = props.organizationId;
    this.sourceAccounts = sourceAccounts;
    this.organizationSyncs = organizationSyncs;
    this.sourceOrganizationPaths = paths;

    this.addDeliveryStatements(bucket, sourceAccounts, props.organizationId, props.encryptionKey);
    if (organizationSyncs) this.addOrganizationSyncStatement(bucket, props.organizationId!, paths, props.encryptionKey);
    if (props.encryptionKey) this.addKeyStatements(props.encryptionKey, sourceAccounts, props.organizationId);
    acknowledgeInventoryBucketFindings(bucket, { kms: props.encryptionKey !== undefined });
  }

  /**
   * Grant read access to the inventory under the prefix: list the bucket (`s3:ListBucket` only with an `s3:prefix`
   * under the prefix, or without a prefix under the inventory type folders), get the objects and, when the bucket is
   * encrypted with a customer-managed key, `kms:Decrypt` on it (Athena and Glue users, a crawler role).
   */
  public grantRead(grantee: iam.IGrantable): iam.Grant {
    const keys = this.bucketPrefix === undefined ? '*' : `${this.bucketPrefix}/*`;
    const grant = iam.Grant.addToPrincipal({ grantee, actions: ['s3:GetBucketLocation'], resourceArns: [this.bucket.bucketArn] })
      .combine(iam.Grant.addToPrincipal({
        grantee,
        actions: ['s3:ListBucket'],
        resourceArns: [this.bucket.bucketArn],
        // Listing is limited to the inventory keys too: the prefix, or without one the type folders (`AWS:…`,
        // `Custom:…`); a listing without `prefix` would name every key of the bucket.
        conditions: { StringLike: { 's3:prefix': this.bucketPrefix === undefined ? ['AWS:*', 'Custom:*'] : [this.bucketPrefix, keys] } },
      }))
      .combine(iam.Grant.addToPrincipal({ grantee, actions: ['s3:GetObject'], resourceArns: [this.bucket.arnForObjects(keys)] }));
    return this.encryptionKey ? grant.combine(this.encryptionKey.grantDecrypt(grantee)) : grant;
  }

  private createAccessLogsBucket(): s3.IBucket {
    const logs = new s3.Bucket(this, 'AccessLogs', {
      // Server access logs can be delivered only to SSE-S3 buckets; s3.Bucket adds the log-delivery statement.
      ...retainedBucketProps(),
      lifecycleRules: [
        {
          id: 'ExpireAccessLogs',
          expiration: Duration.days(365),
          noncurrentVersionExpiration: Duration.days(30),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
    });
    acknowledgeInventoryAccessLogBucketFindings(logs);
    return logs;
  }

  private lifecycleRules(prefix: string | undefined, noncurrent: Duration, stale: Duration | undefined): s3.LifecycleRule[] {
    const rules: s3.LifecycleRule[] = [
      {
        id: 'ExpireNoncurrentVersions',
        noncurrentVersionExpiration: noncurrent,
        expiredObjectDeleteMarker: true,
        abortIncompleteMultipartUploadAfter: Duration.days(1),
      },
    ];
    if (stale !== undefined) {
      rules.push({ id: 'ExpireStaleNodes', prefix: prefix === undefined ? undefined : `${prefix}/`, expiration: stale });
    }
    return rules;
  }

  private addDeliveryStatements(
    bucket: s3.IBucket,
    accounts: string[],
    organizationId: string | undefined,
    key: kms.IKey | undefined,
  ): void {
    const ssm = new iam.ServicePrincipal(SSM_SERVICE);
    const keyPrefix = this.bucketPrefix === undefined ? '' : `${this.bucketPrefix}/`;
    const encryption = key
      ? { 's3:x-amz-server-side-encryption': 'aws:kms', 's3:x-amz-server-side-encryption-aws-kms-key-id': key.keyArn }
      : {};

    if (accounts.length > 0) {
      bucket.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'SSMBucketPermissionsCheck',
          principals: [ssm],
          actions: ['s3:GetBucketAcl'],
          resources: [bucket.bucketArn],
          conditions: { StringEquals: { 'aws:SourceAccount': accounts } },
        }),
      );
    }
    if (organizationId !== undefined) {
      bucket.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'SSMBucketPermissionsCheckOrganization',
          principals: [ssm],
          actions: ['s3:GetBucketAcl'],
          resources: [bucket.bucketArn],
          conditions: { StringEquals: { 'aws:SourceOrgID': organizationId } },
        }),
      );
    }
    // One statement per account: a sync of that account may write only into that account's own partition.
    accounts.forEach((account, index) => {
      bucket.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: index === 0 ? 'SSMBucketDelivery' : `SSMBucketDelivery${index + 1}`,
          principals: [ssm],
          actions: ['s3:PutObject'],
          resources: [bucket.arnForObjects(`${keyPrefix}*/accountid=${account}/*`)],
          conditions: {
            StringEquals: {
              's3:x-amz-acl': 'bucket-owner-full-control',
              'aws:SourceAccount': account,
              ...encryption,
            },
            ArnLike: { 'aws:SourceArn': this.resourceDataSyncArns(account) },
          },
        }),
      );
    });
    // A sync writes `<prefix>/<TypeName>/accountid=<its account>/…`, and `*` in a resource also matches `/`. A member
    // account that picks a longer sync prefix (`<prefix>/AWS:X/accountid=<other>/…`) would land its files inside
    // another account's partition: refuse any key with a folder between the type folder and `accountid=`, and any key
    // with a second `accountid=`.
    bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'SSMDenyForeignPartitions',
        effect: iam.Effect.DENY,
        principals: [ssm],
        actions: ['s3:PutObject'],
        resources: [bucket.arnForObjects(`${keyPrefix}*/*/accountid=*`), bucket.arnForObjects('*accountid=*accountid=*')],
      }),
    );
    if (organizationId !== undefined) {
      const anyAccount = bucket.arnForObjects(`${keyPrefix}*/accountid=*/*`);
      bucket.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'SSMBucketDeliveryOrganization',
          principals: [ssm],
          actions: ['s3:PutObject'],
          resources: [anyAccount],
          conditions: {
            StringEquals: {
              's3:x-amz-acl': 'bucket-owner-full-control',
              's3:RequestObjectTag/OrgId': organizationId,
              ...encryption,
            },
          },
        }),
      );
      bucket.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'SSMBucketDeliveryTagging',
          principals: [ssm],
          actions: ['s3:PutObjectTagging'],
          resources: [anyAccount],
        }),
      );
    }
  }

  /**
   * The delivery of CloudFormation-created syncs of any account of the organization, each into its own partition.
   *
   * - `${aws:SourceAccount}` in `Resource`: "Global condition context keys can be used as variables", in resource
   *   policies, in the resource part of the ARN, and "You can use any single-valued condition key as a variable";
   *   `aws:SourceAccount` is single-valued. A variable with no value makes the resource match nothing.
   *   https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
   * - `aws:SourceOrgID` / `aws:SourceOrgPaths` (multivalued, hence `ForAnyValue:StringLike`): present "only when the
   *   call to your resource is being made directly by an AWS service principal on behalf of a resource owned by an
   *   account which is a member of an organization"; "not all service integrations require the use of this global
   *   condition key". https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
   * - Unverified: that Systems Manager passes `aws:SourceOrgID`/`aws:SourceOrgPaths` on resource data sync deliveries
   *   (the policies its guide shows for per-account syncs use only `aws:SourceAccount`/`aws:SourceArn`, and the
   *   Organizations variant relies on the `OrgId` object tag,
   *   https://docs.aws.amazon.com/systems-manager/latest/userguide/inventory-create-resource-data-sync.html), and
   *   that S3 substitutes `${aws:SourceAccount}` for a service principal (the IAM guide's examples use principal
   *   keys). Both fail closed: a missing key denies the delivery, it never widens it.
   */
  private addOrganizationSyncStatement(bucket: s3.IBucket, organizationId: string, paths: string[] | undefined, key: kms.IKey | undefined): void {
    const keyPrefix = this.bucketPrefix === undefined ? '' : `${this.bucketPrefix}/`;
    bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'SSMBucketDeliveryOrganizationSyncs',
        principals: [new iam.ServicePrincipal(SSM_SERVICE)],
        actions: ['s3:PutObject'],
        resources: [bucket.arnForObjects(`${keyPrefix}*/accountid=${SOURCE_ACCOUNT_VARIABLE}/*`)],
        conditions: {
          StringEquals: {
            's3:x-amz-acl': 'bucket-owner-full-control',
            'aws:SourceOrgID': organizationId,
            ...(key ? { 's3:x-amz-server-side-encryption': 'aws:kms', 's3:x-amz-server-side-encryption-aws-kms-key-id': key.keyArn } : {}),
          },
          ...(paths ? { 'ForAnyValue:StringLike': { 'aws:SourceOrgPaths': paths } } : {}),
          ArnLike: { 'aws:SourceArn': this.resourceDataSyncArns('*') },
        },
      }),
    );
  }

  /** Key-policy statements; `addToResourcePolicy` is a no-op on imported keys (the key owner adds them). */
  private addKeyStatements(key: kms.IKey, accounts: string[], organizationId: string | undefined): void {
    const ssm = new iam.ServicePrincipal(SSM_SERVICE);
    if (accounts.length > 0) {
      key.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'SSMResourceDataSyncGenerateDataKey',
          principals: [ssm],
          actions: ['kms:GenerateDataKey'],
          resources: ['*'],
          conditions: {
            StringLike: { 'aws:SourceAccount': accounts },
            ArnLike: { 'aws:SourceArn': accounts.map((account) => this.resourceDataSyncArns(account)) },
          },
        }),
      );
    }
    if (organizationId !== undefined) {
      key.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'SSMResourceDataSyncGenerateDataKeyOrganization',
          principals: [ssm],
          actions: ['kms:GenerateDataKey'],
          resources: ['*'],
          conditions: { StringEquals: { 'aws:SourceOrgID': organizationId } },
        }),
      );
    }
  }

  /** `arn:<partition>:ssm:*:<account>:resource-data-sync/*`: any sync of that account, in any region. */
  private resourceDataSyncArns(account: string): string {
    return Stack.of(this).formatArn({ service: 'ssm', region: '*', account, resource: 'resource-data-sync', resourceName: '*' });
  }
}

/*
 * Validation (module-private: jsii forbids exported free functions here; the prefix check is shared in
 * lib/private/inventory-checks.ts).
 */

function resolveSourceAccounts(
  scope: IConstruct,
  accounts: string[] | undefined,
  organizationId: string | undefined,
  stackAccount: string,
): string[] {
  if (accounts === undefined) return organizationId === undefined ? [stackAccount] : [];
  if (Token.isUnresolved(accounts)) {
    fail(scope, '`sourceAccounts` must be a list written out in the app (its elements may be tokens), got: a list token');
  }
  if (accounts.length === 0) {
    fail(scope, '`sourceAccounts` must list at least one 12-digit account id (omit it for this stack\'s account), got: []');
  }
  for (const account of accounts) {
    if (!Token.isUnresolved(account) && !ACCOUNT_ID_PATTERN.test(account)) {
      fail(scope, `\`sourceAccounts\` must hold 12-digit AWS account ids, got: '${account}'`);
    }
  }
  return [...new Set(accounts)];
}

/** The IAM policy variable for the calling account (not a CDK token: `Fn::Join` passes it through unchanged). */
const SOURCE_ACCOUNT_VARIABLE = '${aws:SourceAccount}';

/** An AWS Organizations entity path down to a root or OU, optionally with a trailing `*` for its children. */
const ORGANIZATION_PATH_PATTERN = /^o-[a-z0-9]{10,32}\/r-[a-z0-9]{4,32}\/(ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}\/)*\*?$/;

function checkOrganizationSyncs(scope: IConstruct, organizationSyncs: boolean | undefined, organizationId: string | undefined): boolean {
  if (organizationSyncs === true && organizationId === undefined) {
    fail(scope, '`organizationSyncs` needs `organizationId` (the organization whose accounts may deliver), got: organizationSyncs true without organizationId');
  }
  return organizationSyncs === true;
}

function checkSourceOrganizationPaths(
  scope: IConstruct,
  paths: string[] | undefined,
  organizationSyncs: boolean,
  organizationId: string | undefined,
): string[] | undefined {
  if (paths === undefined) return undefined;
  if (!organizationSyncs) {
    fail(scope, '`sourceOrganizationPaths` narrows `organizationSyncs`: set `organizationSyncs: true` (with `organizationId`), got: paths without organizationSyncs');
  }
  if (Token.isUnresolved(paths)) return paths;
  if (paths.length < 1 || paths.length > 20) {
    fail(scope, `\`sourceOrganizationPaths\` must list 1 to 20 paths (omit it for the whole organization), got: ${paths.length}`);
  }
  for (const path of paths) {
    if (Token.isUnresolved(path)) continue;
    if (!ORGANIZATION_PATH_PATTERN.test(path)) {
      fail(
        scope,
        `\`sourceOrganizationPaths\` must hold paths like o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/ or …/* (${ORGANIZATION_PATH_PATTERN.source}), got: '${path}'`,
      );
    }
    if (organizationId !== undefined && !Token.isUnresolved(organizationId) && !path.startsWith(`${organizationId}/`)) {
      fail(scope, `\`sourceOrganizationPaths\` must start with organizationId '${organizationId}/', got: '${path}'`);
    }
  }
  return [...new Set(paths)];
}

function checkOrganizationId(scope: IConstruct, organizationId: string | undefined): void {
  if (organizationId === undefined || Token.isUnresolved(organizationId)) return;
  if (!/^o-[a-z0-9]{10,32}$/.test(organizationId)) {
    fail(scope, `\`organizationId\` must match ^o-[a-z0-9]{10,32}$ (an AWS Organizations id), got: '${organizationId}'`);
  }
}

