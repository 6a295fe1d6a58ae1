import { Aws, Duration, Lazy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { InventoryBucket, InventoryBucketProps } from '../../lib';
import { ACKNOWLEDGEMENTS } from '../../lib/private/acknowledgements';
import { allFindings, testApp } from '../support/gates';
import { customerKey } from '../support/kms';

const ENV = { account: '111122223333', region: 'eu-west-1' };
const OTHER = '444455556666';
const ORG = 'o-abcdefghij';

let stack: Stack;
beforeEach(() => {
  stack = new Stack(testApp(), 'Central', { env: ENV });
});

function build(props: InventoryBucketProps = {}): { inventory: InventoryBucket; template: Template; bucket: string } {
  const inventory = new InventoryBucket(stack, 'Inventory', props);
  const bucket = stack.getLogicalId(inventory.bucket.node.defaultChild as s3.CfnBucket);
  return { inventory, template: Template.fromStack(stack), bucket };
}

const arnOf = (logicalId: string) => ({ 'Fn::GetAtt': [logicalId, 'Arn'] });
const objects = (logicalId: string, suffix: string) => ({ 'Fn::Join': ['', [arnOf(logicalId), suffix]] });
const syncArn = (account: string) => ({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:ssm:*:${account}:resource-data-sync/*`]] });

/** The statements of the inventory bucket's policy, by Sid (statements without a Sid are CDK's TLS denials). */
function policyStatements(template: Template, bucket: string): Record<string, unknown>[] {
  const policies = Object.values(template.findResources('AWS::S3::BucketPolicy', { Properties: { Bucket: { Ref: bucket } } }));
  expect(policies).toHaveLength(1);
  return (policies[0] as { Properties: { PolicyDocument: { Statement: Record<string, unknown>[] } } }).Properties.PolicyDocument.Statement;
}
function sids(template: Template, bucket: string): unknown[] {
  return policyStatements(template, bucket).map((s) => s.Sid).filter((sid) => sid !== undefined);
}
function statement(template: Template, bucket: string, sid: string): Record<string, unknown> | undefined {
  return policyStatements(template, bucket).find((s) => s.Sid === sid);
}
function keyStatements(template: Template): Record<string, unknown>[] {
  const keys = Object.values(template.findResources('AWS::KMS::Key'));
  expect(keys).toHaveLength(1);
  return (keys[0] as { Properties: { KeyPolicy: { Statement: Record<string, unknown>[] } } }).Properties.KeyPolicy.Statement;
}

const SSM = { Service: 'ssm.amazonaws.com' };

describe('InventoryBucket defaults', () => {
  test('a versioned, SSE-S3, TLS-only, private bucket without ACLs, Object Lock or prefix, logging to its own log bucket', () => {
    const { template, bucket } = build();
    template.resourceCountIs('AWS::S3::Bucket', 2);
    const logs = Object.keys(template.findResources('AWS::S3::Bucket')).find((id) => id !== bucket)!;
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      VersioningConfiguration: { Status: 'Enabled' },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      LoggingConfiguration: { DestinationBucketName: { Ref: logs }, LogFilePrefix: 'inventory-bucket/' },
      ObjectLockEnabled: Match.absent(),
      ObjectLockConfiguration: Match.absent(),
      AccessControl: Match.absent(),
      BucketName: Match.absent(),
    });
    expect(template.toJSON().Resources[bucket].Properties.LifecycleConfiguration).toEqual({
      Rules: [
        {
          Id: 'ExpireNoncurrentVersions',
          Status: 'Enabled',
          NoncurrentVersionExpiration: { NoncurrentDays: 90 },
          ExpiredObjectDeleteMarker: true,
          AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
        },
      ],
    });
  });

  test('both buckets are retained on stack deletion and replacement', () => {
    const { template } = build();
    const buckets = Object.values(template.findResources('AWS::S3::Bucket'));
    expect(buckets.map((b) => [b.DeletionPolicy, b.UpdateReplacePolicy])).toEqual([
      ['Retain', 'Retain'],
      ['Retain', 'Retain'],
    ]);
  });

  test('the bucket policy: TLS 1.2 only, the ACL check and delivery from this account only, statement by statement', () => {
    const { template, bucket } = build();
    expect(sids(template, bucket)).toEqual(['SSMBucketPermissionsCheck', 'SSMBucketDelivery', 'SSMDenyForeignPartitions']);
    expect(policyStatements(template, bucket)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        expect.objectContaining({ Effect: 'Deny', Action: 's3:*', Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } } }),
      ]),
    );
    expect(statement(template, bucket, 'SSMBucketPermissionsCheck')).toEqual({
      Sid: 'SSMBucketPermissionsCheck',
      Effect: 'Allow',
      Principal: SSM,
      Action: 's3:GetBucketAcl',
      Resource: arnOf(bucket),
      Condition: { StringEquals: { 'aws:SourceAccount': ['111122223333'] } },
    });
    expect(statement(template, bucket, 'SSMBucketDelivery')).toEqual({
      Sid: 'SSMBucketDelivery',
      Effect: 'Allow',
      Principal: SSM,
      Action: 's3:PutObject',
      Resource: objects(bucket, '/*/accountid=111122223333/*'),
      Condition: {
        StringEquals: { 's3:x-amz-acl': 'bucket-owner-full-control', 'aws:SourceAccount': '111122223333' },
        ArnLike: { 'aws:SourceArn': syncArn('111122223333') },
      },
    });
    // No sync may write into a partition other than its own right after the type folder.
    expect(statement(template, bucket, 'SSMDenyForeignPartitions')).toEqual({
      Sid: 'SSMDenyForeignPartitions',
      Effect: 'Deny',
      Principal: SSM,
      Action: 's3:PutObject',
      Resource: [objects(bucket, '/*/*/accountid=*'), objects(bucket, '/*accountid=*accountid=*')],
    });
  });

  test('in an environment-agnostic stack the source account is the deploying account', () => {
    stack = new Stack(testApp(), 'Agnostic');
    const { template, bucket, inventory } = build();
    expect(statement(template, bucket, 'SSMBucketDelivery')).toMatchObject({
      Resource: { 'Fn::Join': ['', [arnOf(bucket), '/*/accountid=', { Ref: 'AWS::AccountId' }, '/*']] },
      Condition: {
        StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
        ArnLike: { 'aws:SourceArn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ssm:*:', { Ref: 'AWS::AccountId' }, ':resource-data-sync/*']] } },
      },
    });
    expect(stack.resolve(inventory.bucketRegion)).toEqual({ Ref: 'AWS::Region' });
  });

  test('the access-log bucket: SSE-S3, versioned, TLS only, no ACLs, logs expire after a year, log delivery by bucket policy', () => {
    const { template, bucket } = build();
    const logs = Object.keys(template.findResources('AWS::S3::Bucket')).find((id) => id !== bucket)!;
    const props = template.toJSON().Resources[logs].Properties;
    expect(props).toEqual({
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      VersioningConfiguration: { Status: 'Enabled' },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      LifecycleConfiguration: {
        Rules: [
          {
            Id: 'ExpireAccessLogs',
            Status: 'Enabled',
            ExpirationInDays: 365,
            NoncurrentVersionExpiration: { NoncurrentDays: 30 },
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
          },
        ],
      },
    });
    const statements = policyStatements(template, logs);
    expect(statements).toContainEqual({
      Effect: 'Allow',
      Principal: { Service: 'logging.s3.amazonaws.com' },
      Action: 's3:PutObject',
      Resource: objects(logs, '/inventory-bucket/*'),
      Condition: { ArnLike: { 'aws:SourceArn': arnOf(bucket) }, StringEquals: { 'aws:SourceAccount': '111122223333' } },
    });
    expect(statements.filter((s) => s.Effect === 'Deny')).toHaveLength(2);
  });

  test('exposes the destination of a sync: bucket name and region, no prefix, no key', () => {
    const { inventory, bucket } = build();
    expect(stack.resolve(inventory.bucketName)).toEqual({ Ref: bucket });
    expect(inventory.bucketRegion).toBe('eu-west-1');
    expect(inventory.bucketPrefix).toBeUndefined();
    expect(inventory.encryptionKey).toBeUndefined();
    expect(inventory.sourceAccounts).toEqual(['111122223333']);
    expect(inventory.organizationId).toBeUndefined();
  });
});

describe('InventoryBucket source accounts and prefix', () => {
  test('two accounts with a prefix: each account may write only its own partition, under the prefix', () => {
    const { template, bucket } = build({ sourceAccounts: ['111122223333', OTHER], bucketPrefix: 'inventory/fleet' });
    expect(sids(template, bucket)).toEqual(['SSMBucketPermissionsCheck', 'SSMBucketDelivery', 'SSMBucketDelivery2', 'SSMDenyForeignPartitions']);
    expect(statement(template, bucket, 'SSMBucketDelivery')).toEqual({
      Sid: 'SSMBucketDelivery',
      Effect: 'Allow',
      Principal: SSM,
      Action: 's3:PutObject',
      Resource: objects(bucket, '/inventory/fleet/*/accountid=111122223333/*'),
      Condition: {
        StringEquals: { 's3:x-amz-acl': 'bucket-owner-full-control', 'aws:SourceAccount': '111122223333' },
        ArnLike: { 'aws:SourceArn': syncArn('111122223333') },
      },
    });
    expect(statement(template, bucket, 'SSMBucketDelivery2')).toEqual({
      Sid: 'SSMBucketDelivery2',
      Effect: 'Allow',
      Principal: SSM,
      Action: 's3:PutObject',
      Resource: objects(bucket, `/inventory/fleet/*/accountid=${OTHER}/*`),
      Condition: {
        StringEquals: { 's3:x-amz-acl': 'bucket-owner-full-control', 'aws:SourceAccount': OTHER },
        ArnLike: { 'aws:SourceArn': syncArn(OTHER) },
      },
    });
    expect(statement(template, bucket, 'SSMDenyForeignPartitions')).toMatchObject({
      Effect: 'Deny',
      Resource: [objects(bucket, '/inventory/fleet/*/*/accountid=*'), objects(bucket, '/*accountid=*accountid=*')],
    });
    expect(statement(template, bucket, 'SSMBucketPermissionsCheck')).toMatchObject({
      Action: 's3:GetBucketAcl',
      Resource: arnOf(bucket),
      Condition: { StringEquals: { 'aws:SourceAccount': ['111122223333', OTHER] } },
    });
  });

  test('a sync prefix that nests another account\'s partition matches a Deny of the bucket policy', () => {
    const { template, bucket } = build({ sourceAccounts: ['111122223333', OTHER], bucketPrefix: 'inventory' });
    // IAM resource wildcards: `*` matches any run of characters, `/` included.
    const matches = (pattern: string, key: string) =>
      new RegExp(`^${pattern.split('*').map((p) => p.replace(/\./g, '\\.')).join('.*')}$`).test(key);
    const denied = (statement(template, bucket, 'SSMDenyForeignPartitions')!.Resource as { 'Fn::Join': [string, [unknown, string]] }[])
      .map((r) => r['Fn::Join'][1][1].slice(1));
    const allowedForOther = `inventory/*/accountid=${OTHER}/*`;
    const own = `inventory/AWS:Application/accountid=${OTHER}/region=eu-west-1/resourcetype=ManagedInstanceInventory/mi-0123456789abcdef0.json`;
    // OTHER's sync with BucketPrefix `inventory/AWS:Application/accountid=111122223333/region=eu-west-1/x`.
    const intruder = `inventory/AWS:Application/accountid=111122223333/region=eu-west-1/x/AWS:Application/accountid=${OTHER}/region=eu-west-1/resourcetype=ManagedInstanceInventory/mi-0123456789abcdef0.json`;
    expect(matches(allowedForOther, own)).toBe(true);
    expect(denied.some((d) => matches(d, own))).toBe(false);
    expect(matches(allowedForOther, intruder)).toBe(true); // the Allow alone would let it in
    expect(denied.every((d) => matches(d, intruder))).toBe(true);
  });

  test('two accounts without a prefix (the bucket account need not be one of them)', () => {
    const { template, bucket } = build({ sourceAccounts: [OTHER, '777788889999'] });
    expect(statement(template, bucket, 'SSMBucketDelivery')).toMatchObject({
      Resource: objects(bucket, `/*/accountid=${OTHER}/*`),
      Condition: { StringEquals: { 'aws:SourceAccount': OTHER }, ArnLike: { 'aws:SourceArn': syncArn(OTHER) } },
    });
    expect(statement(template, bucket, 'SSMBucketDelivery2')).toMatchObject({
      Resource: objects(bucket, '/*/accountid=777788889999/*'),
      Condition: { StringEquals: { 'aws:SourceAccount': '777788889999' }, ArnLike: { 'aws:SourceArn': syncArn('777788889999') } },
    });
  });

  test('a repeated account is listed once', () => {
    const { inventory, template, bucket } = build({ sourceAccounts: [OTHER, OTHER] });
    expect(inventory.sourceAccounts).toEqual([OTHER]);
    expect(statement(template, bucket, 'SSMBucketDelivery')).toMatchObject({ Resource: objects(bucket, `/*/accountid=${OTHER}/*`) });
  });

  test('the prefix is exposed for the syncs', () => {
    const { inventory } = build({ bucketPrefix: 'inventory' });
    expect(inventory.bucketPrefix).toBe('inventory');
  });
});

describe('InventoryBucket with a KMS key', () => {
  test('SSE-KMS with a bucket key, and deliveries must name the key', () => {
    const key = customerKey(stack);
    const { template, bucket, inventory } = build({ encryptionKey: key, bucketPrefix: 'inventory' });
    const keyArn = arnOf(stack.getLogicalId(key.node.defaultChild as kms.CfnKey));
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ BucketKeyEnabled: true, ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: keyArn } }],
      },
    });
    expect(statement(template, bucket, 'SSMBucketDelivery')).toEqual({
      Sid: 'SSMBucketDelivery',
      Effect: 'Allow',
      Principal: SSM,
      Action: 's3:PutObject',
      Resource: objects(bucket, '/inventory/*/accountid=111122223333/*'),
      Condition: {
        StringEquals: {
          's3:x-amz-acl': 'bucket-owner-full-control',
          'aws:SourceAccount': '111122223333',
          's3:x-amz-server-side-encryption': 'aws:kms',
          's3:x-amz-server-side-encryption-aws-kms-key-id': keyArn,
        },
        ArnLike: { 'aws:SourceArn': syncArn('111122223333') },
      },
    });
    expect(inventory.encryptionKey).toBe(key);
  });

  test('the key policy lets Systems Manager generate data keys for the source accounts only', () => {
    const key = customerKey(stack);
    const { template } = build({ encryptionKey: key, sourceAccounts: ['111122223333', OTHER] });
    const statements = keyStatements(template);
    expect(statements).toHaveLength(3); // CDK's account statement, the test's grant guard, ours
    expect(statements[2]).toEqual({
      Sid: 'SSMResourceDataSyncGenerateDataKey',
      Effect: 'Allow',
      Principal: SSM,
      Action: 'kms:GenerateDataKey',
      Resource: '*',
      Condition: {
        StringLike: { 'aws:SourceAccount': ['111122223333', OTHER] },
        ArnLike: { 'aws:SourceArn': [syncArn('111122223333'), syncArn(OTHER)] },
      },
    });
  });

  test('an imported key gets no key-policy statement (its owner adds it) but deliveries still must name it', () => {
    const key = kms.Key.fromKeyArn(stack, 'Imported', 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab');
    const { template, bucket } = build({ encryptionKey: key });
    template.resourceCountIs('AWS::KMS::Key', 0);
    expect(statement(template, bucket, 'SSMBucketDelivery')).toMatchObject({
      Condition: { StringEquals: { 's3:x-amz-server-side-encryption-aws-kms-key-id': 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab' } },
    });
  });

  test('the SSE-S3 acknowledgement is dropped when a key is given', () => {
    const { inventory } = build({ encryptionKey: customerKey(stack) });
    const acknowledged = inventory.bucket.node
      .findAll()
      .flatMap((c) => c.node.metadata.filter((m) => m.type === 'aws:cdk:acknowledged-rules'))
      .flatMap((m) => Object.keys(m.data as object));
    expect(acknowledged.filter((id) => id.includes('S3DefaultEncryptionKMS') || id.includes('s3_bucket_default_encryption_kms_check'))).toEqual([]);
    expect(acknowledged).toEqual(expect.arrayContaining([...ACKNOWLEDGEMENTS.inventoryBucketNoObjectLock.ids]));
  });
});

describe('InventoryBucket for an organization', () => {
  test('organizationId alone: delivery from any account of the organization (tagged OrgId), plus object tagging', () => {
    const { template, bucket, inventory } = build({ organizationId: ORG, bucketPrefix: 'inventory' });
    expect(sids(template, bucket)).toEqual(['SSMBucketPermissionsCheckOrganization', 'SSMDenyForeignPartitions', 'SSMBucketDeliveryOrganization', 'SSMBucketDeliveryTagging']);
    expect(statement(template, bucket, 'SSMBucketPermissionsCheckOrganization')).toMatchObject({
      Action: 's3:GetBucketAcl',
      Condition: { StringEquals: { 'aws:SourceOrgID': ORG } },
    });
    expect(statement(template, bucket, 'SSMBucketDeliveryOrganization')).toEqual({
      Sid: 'SSMBucketDeliveryOrganization',
      Effect: 'Allow',
      Principal: SSM,
      Action: 's3:PutObject',
      Resource: objects(bucket, '/inventory/*/accountid=*/*'),
      Condition: { StringEquals: { 's3:x-amz-acl': 'bucket-owner-full-control', 's3:RequestObjectTag/OrgId': ORG } },
    });
    expect(statement(template, bucket, 'SSMBucketDeliveryTagging')).toEqual({
      Sid: 'SSMBucketDeliveryTagging',
      Effect: 'Allow',
      Principal: SSM,
      Action: 's3:PutObjectTagging',
      Resource: objects(bucket, '/inventory/*/accountid=*/*'),
    });
    expect(inventory.sourceAccounts).toEqual([]);
  });

  test('organizationId with sourceAccounts: both the account and the organization statements', () => {
    const { template, bucket } = build({ organizationId: ORG, sourceAccounts: [OTHER] });
    expect(sids(template, bucket)).toEqual([
      'SSMBucketPermissionsCheck',
      'SSMBucketPermissionsCheckOrganization',
      'SSMBucketDelivery',
      'SSMDenyForeignPartitions',
      'SSMBucketDeliveryOrganization',
      'SSMBucketDeliveryTagging',
    ]);
    expect(statement(template, bucket, 'SSMBucketDelivery')).toMatchObject({ Resource: objects(bucket, `/*/accountid=${OTHER}/*`) });
    expect(statement(template, bucket, 'SSMBucketDeliveryOrganization')).toMatchObject({ Resource: objects(bucket, '/*/accountid=*/*') });
  });

  test('with a key: SSE-KMS conditions on the organization delivery and an aws:SourceOrgID key statement', () => {
    const key = customerKey(stack);
    const { template, bucket } = build({ organizationId: ORG, encryptionKey: key });
    const keyArn = arnOf(stack.getLogicalId(key.node.defaultChild as kms.CfnKey));
    expect(statement(template, bucket, 'SSMBucketDeliveryOrganization')).toEqual({
      Sid: 'SSMBucketDeliveryOrganization',
      Effect: 'Allow',
      Principal: SSM,
      Action: 's3:PutObject',
      Resource: objects(bucket, '/*/accountid=*/*'),
      Condition: {
        StringEquals: {
          's3:x-amz-acl': 'bucket-owner-full-control',
          's3:RequestObjectTag/OrgId': ORG,
          's3:x-amz-server-side-encryption': 'aws:kms',
          's3:x-amz-server-side-encryption-aws-kms-key-id': keyArn,
        },
      },
    });
    expect(keyStatements(template).slice(2)).toEqual([
      {
        Sid: 'SSMResourceDataSyncGenerateDataKeyOrganization',
        Effect: 'Allow',
        Principal: SSM,
        Action: 'kms:GenerateDataKey',
        Resource: '*',
        Condition: { StringEquals: { 'aws:SourceOrgID': ORG } },
      },
    ]);
  });

  test('passes every gate', () => {
    build({ organizationId: ORG, sourceAccounts: [OTHER], encryptionKey: customerKey(stack) });
    expect(allFindings(stack.node.root as never)).toEqual([]);
  });
});

describe('InventoryBucket organizationSyncs', () => {
  const anySyncArn = { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ssm:*:*:resource-data-sync/*']] };

  test('off by default: no organization-sync statement, attribute false', () => {
    const { template, bucket, inventory } = build({ organizationId: ORG, sourceAccounts: [OTHER] });
    expect(statement(template, bucket, 'SSMBucketDeliveryOrganizationSyncs')).toBeUndefined();
    expect(inventory.organizationSyncs).toBe(false);
    expect(inventory.sourceOrganizationPaths).toBeUndefined();
  });

  test('one statement: the calling account\'s own partition (policy variable), aws:SourceOrgID, any sync ARN, the ACL', () => {
    const { template, bucket, inventory } = build({ organizationId: ORG, organizationSyncs: true, bucketPrefix: 'inventory' });
    expect(sids(template, bucket)).toEqual([
      'SSMBucketPermissionsCheckOrganization',
      'SSMDenyForeignPartitions',
      'SSMBucketDeliveryOrganization',
      'SSMBucketDeliveryTagging',
      'SSMBucketDeliveryOrganizationSyncs',
    ]);
    expect(statement(template, bucket, 'SSMBucketDeliveryOrganizationSyncs')).toEqual({
      Sid: 'SSMBucketDeliveryOrganizationSyncs',
      Effect: 'Allow',
      Principal: SSM,
      Action: 's3:PutObject',
      Resource: objects(bucket, '/inventory/*/accountid=${aws:SourceAccount}/*'),
      Condition: {
        StringEquals: { 's3:x-amz-acl': 'bucket-owner-full-control', 'aws:SourceOrgID': ORG },
        ArnLike: { 'aws:SourceArn': anySyncArn },
      },
    });
    // The ACL check of the organization, and the Deny of nested partitions, stay.
    expect(statement(template, bucket, 'SSMBucketPermissionsCheckOrganization')).toEqual({
      Sid: 'SSMBucketPermissionsCheckOrganization',
      Effect: 'Allow',
      Principal: SSM,
      Action: 's3:GetBucketAcl',
      Resource: arnOf(bucket),
      Condition: { StringEquals: { 'aws:SourceOrgID': ORG } },
    });
    expect(statement(template, bucket, 'SSMDenyForeignPartitions')).toMatchObject({
      Effect: 'Deny',
      Resource: [objects(bucket, '/inventory/*/*/accountid=*'), objects(bucket, '/*accountid=*accountid=*')],
    });
    expect(inventory.organizationSyncs).toBe(true);
    expect(inventory.sourceAccounts).toEqual([]);
  });

  test('the policy variable reaches the template verbatim (no Fn::Sub that would try to resolve it)', () => {
    const { template } = build({ organizationId: ORG, organizationSyncs: true });
    const json = JSON.stringify(template.toJSON());
    expect(json).toContain('/*/accountid=${aws:SourceAccount}/*');
    expect(json).not.toContain('Fn::Sub');
  });

  test('policy evaluation: with the variable resolved for account A, the resource never matches B\'s partition', () => {
    const { template, bucket } = build({ organizationId: ORG, organizationSyncs: true, bucketPrefix: 'inventory' });
    const A = '111122223333';
    const B = OTHER;
    // IAM: substitute the variable from the request context, then `*` matches any run of characters (`/` included).
    const allows = (sourceAccount: string | undefined, key: string): boolean => {
      const resource = (statement(template, bucket, 'SSMBucketDeliveryOrganizationSyncs')!.Resource as { 'Fn::Join': [string, [unknown, string]] })['Fn::Join'][1][1].slice(1);
      if (sourceAccount === undefined) return false; // a variable with no value matches no resource
      const glob = resource.split('${aws:SourceAccount}').join(sourceAccount);
      return new RegExp(`^${glob.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`).test(key);
    };
    const denied = (key: string): boolean => {
      const resources = (statement(template, bucket, 'SSMDenyForeignPartitions')!.Resource as { 'Fn::Join': [string, [unknown, string]] }[])
        .map((r) => r['Fn::Join'][1][1].slice(1));
      return resources.some((d) => new RegExp(`^${d.split('*').map((p) => p.replace(/[.]/g, '\\.')).join('.*')}$`).test(key));
    };
    const keyOf = (account: string) => `inventory/AWS:Application/accountid=${account}/region=eu-west-1/resourcetype=ManagedInstanceInventory/mi-0123456789abcdef0.json`;
    expect(allows(A, keyOf(A))).toBe(true);
    expect(allows(B, keyOf(B))).toBe(true);
    expect(allows(A, keyOf(B))).toBe(false);
    expect(allows(B, keyOf(A))).toBe(false);
    expect(allows(undefined, keyOf(A))).toBe(false);
    // A prefix trick that nests B's partition under A's: the Allow matches, the Deny refuses it.
    const intruder = `inventory/AWS:Application/accountid=${B}/region=eu-west-1/x/AWS:Application/accountid=${A}/region=eu-west-1/resourcetype=ManagedInstanceInventory/mi-0123456789abcdef0.json`;
    expect(allows(A, intruder)).toBe(true);
    expect(denied(intruder)).toBe(true);
    expect(denied(keyOf(A))).toBe(false);
  });

  test('with a key: the SSE-KMS headers, and the organization key statement', () => {
    const key = customerKey(stack);
    const { template, bucket } = build({ organizationId: ORG, organizationSyncs: true, encryptionKey: key });
    const keyArn = arnOf(stack.getLogicalId(key.node.defaultChild as kms.CfnKey));
    expect(statement(template, bucket, 'SSMBucketDeliveryOrganizationSyncs')).toEqual({
      Sid: 'SSMBucketDeliveryOrganizationSyncs',
      Effect: 'Allow',
      Principal: SSM,
      Action: 's3:PutObject',
      Resource: objects(bucket, '/*/accountid=${aws:SourceAccount}/*'),
      Condition: {
        StringEquals: {
          's3:x-amz-acl': 'bucket-owner-full-control',
          'aws:SourceOrgID': ORG,
          's3:x-amz-server-side-encryption': 'aws:kms',
          's3:x-amz-server-side-encryption-aws-kms-key-id': keyArn,
        },
        ArnLike: { 'aws:SourceArn': anySyncArn },
      },
    });
    expect(keyStatements(template).slice(2)).toEqual([
      {
        Sid: 'SSMResourceDataSyncGenerateDataKeyOrganization',
        Effect: 'Allow',
        Principal: SSM,
        Action: 'kms:GenerateDataKey',
        Resource: '*',
        Condition: { StringEquals: { 'aws:SourceOrgID': ORG } },
      },
    ]);
  });

  test('sourceOrganizationPaths narrow the delivery to those OUs (ForAnyValue:StringLike aws:SourceOrgPaths)', () => {
    const paths = [`${ORG}/r-ab12/ou-ab12-11111111/*`, `${ORG}/r-ab12/ou-ab12-11111111/ou-ab12-22222222/`];
    const { template, bucket, inventory } = build({ organizationId: ORG, organizationSyncs: true, sourceOrganizationPaths: [...paths, paths[0]] });
    expect(statement(template, bucket, 'SSMBucketDeliveryOrganizationSyncs')).toMatchObject({
      Condition: {
        'StringEquals': { 'aws:SourceOrgID': ORG },
        'ForAnyValue:StringLike': { 'aws:SourceOrgPaths': paths },
        'ArnLike': { 'aws:SourceArn': anySyncArn },
      },
    });
    expect(inventory.sourceOrganizationPaths).toEqual(paths);
  });

  test('with sourceAccounts too: the per-account statements stay beside the organization one', () => {
    const { template, bucket } = build({ organizationId: ORG, organizationSyncs: true, sourceAccounts: [OTHER] });
    expect(statement(template, bucket, 'SSMBucketDelivery')).toMatchObject({ Resource: objects(bucket, `/*/accountid=${OTHER}/*`) });
    expect(statement(template, bucket, 'SSMBucketDeliveryOrganizationSyncs')).toMatchObject({ Resource: objects(bucket, '/*/accountid=${aws:SourceAccount}/*') });
  });

  test.each<[string, InventoryBucketProps, RegExp]>([
    ['organizationSyncs without organizationId', { organizationSyncs: true }, /^`organizationSyncs` needs `organizationId` \(the organization whose accounts may deliver\), got: organizationSyncs true without organizationId \(at Central\/Inventory\)$/],
    ['paths without organizationSyncs', { organizationId: ORG, sourceOrganizationPaths: [`${ORG}/r-ab12/*`] }, /^`sourceOrganizationPaths` narrows `organizationSyncs`: set `organizationSyncs: true`/],
    ['no paths', { organizationId: ORG, organizationSyncs: true, sourceOrganizationPaths: [] }, /^`sourceOrganizationPaths` must list 1 to 20 paths \(omit it for the whole organization\), got: 0/],
    ['21 paths', { organizationId: ORG, organizationSyncs: true, sourceOrganizationPaths: Array.from({ length: 21 }, (_, i) => `${ORG}/r-ab12/ou-ab12-${String(i).padStart(8, '0')}/`) }, /got: 21/],
    ['an OU id alone', { organizationId: ORG, organizationSyncs: true, sourceOrganizationPaths: ['ou-ab12-11111111'] }, /^`sourceOrganizationPaths` must hold paths like o-a1b2c3d4e5\/r-ab12\/ou-ab12-11111111\/ or …\/\* .*got: 'ou-ab12-11111111'/],
    ['a path without its trailing /', { organizationId: ORG, organizationSyncs: true, sourceOrganizationPaths: [`${ORG}/r-ab12/ou-ab12-11111111`] }, /must hold paths like .*got: 'o-abcdefghij\/r-ab12\/ou-ab12-11111111'/],
    ['a wildcard inside a path', { organizationId: ORG, organizationSyncs: true, sourceOrganizationPaths: [`${ORG}/*/ou-ab12-11111111/`] }, /must hold paths like/],
    ['another organization\'s path', { organizationId: ORG, organizationSyncs: true, sourceOrganizationPaths: ['o-zzzzzzzzzz/r-ab12/*'] }, /^`sourceOrganizationPaths` must start with organizationId 'o-abcdefghij\/', got: 'o-zzzzzzzzzz\/r-ab12\/\*'/],
  ])('rejects %s', (_, props, message) => {
    expect(() => build(props)).toThrow(message);
  });

  test('tokens are not validated', () => {
    const token = Lazy.string({ produce: () => 'x' });
    expect(() => build({ organizationId: token, organizationSyncs: true, sourceOrganizationPaths: [token] })).not.toThrow();
  });

  test('passes every gate', () => {
    build({
      organizationId: ORG,
      organizationSyncs: true,
      sourceOrganizationPaths: [`${ORG}/r-ab12/ou-ab12-11111111/*`],
      sourceAccounts: [OTHER],
      bucketPrefix: 'inventory',
      encryptionKey: customerKey(stack),
    });
    expect(allFindings(stack.node.root as never)).toEqual([]);
  });
});

describe('InventoryBucket options', () => {
  test('an existing access-log bucket: no log bucket is created and the logs go there', () => {
    const logs = s3.Bucket.fromBucketName(stack, 'Logs', 'central-access-logs');
    const { template } = build({ serverAccessLogsBucket: logs });
    template.resourceCountIs('AWS::S3::Bucket', 1);
    template.hasResourceProperties('AWS::S3::Bucket', { LoggingConfiguration: { DestinationBucketName: 'central-access-logs', LogFilePrefix: 'inventory-bucket/' } });
  });

  test('staleNodeExpiration expires current files under the prefix; noncurrentVersionExpiration and bucketName', () => {
    const { template, bucket } = build({
      bucketPrefix: 'inventory',
      staleNodeExpiration: Duration.days(30),
      noncurrentVersionExpiration: Duration.days(7),
      bucketName: 'inventory-111122223333-eu-west-1',
    });
    const props = template.toJSON().Resources[bucket].Properties;
    expect(props.BucketName).toBe('inventory-111122223333-eu-west-1');
    expect(props.LifecycleConfiguration.Rules).toEqual([
      {
        Id: 'ExpireNoncurrentVersions',
        Status: 'Enabled',
        NoncurrentVersionExpiration: { NoncurrentDays: 7 },
        ExpiredObjectDeleteMarker: true,
        AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
      },
      { Id: 'ExpireStaleNodes', Status: 'Enabled', Prefix: 'inventory/', ExpirationInDays: 30 },
    ]);
  });

  test('staleNodeExpiration without a prefix covers the whole bucket', () => {
    const { template, bucket } = build({ staleNodeExpiration: Duration.days(60) });
    expect(template.toJSON().Resources[bucket].Properties.LifecycleConfiguration.Rules[1]).toEqual({
      Id: 'ExpireStaleNodes',
      Status: 'Enabled',
      ExpirationInDays: 60,
    });
  });

  test('the default keeps every current inventory file', () => {
    const { template, bucket } = build();
    const rules = template.toJSON().Resources[bucket].Properties.LifecycleConfiguration.Rules as Record<string, unknown>[];
    expect(rules.filter((r) => r.ExpirationInDays !== undefined || r.ExpirationDate !== undefined)).toEqual([]);
  });
});

describe('InventoryBucket.grantRead', () => {
  function reader(): iam.Role {
    return new iam.Role(stack, 'Reader', { assumedBy: new iam.AccountRootPrincipal() });
  }
  function readerStatements(template: Template): unknown[] {
    const policies = Object.values(template.findResources('AWS::IAM::Policy'));
    expect(policies).toHaveLength(1);
    return (policies[0] as { Properties: { PolicyDocument: { Statement: unknown[] } } }).Properties.PolicyDocument.Statement;
  }

  test('lists the bucket and reads objects under the prefix', () => {
    const inventory = new InventoryBucket(stack, 'Inventory', { bucketPrefix: 'inventory' });
    inventory.grantRead(reader());
    const bucket = stack.getLogicalId(inventory.bucket.node.defaultChild as s3.CfnBucket);
    expect(readerStatements(Template.fromStack(stack))).toEqual([
      { Effect: 'Allow', Action: 's3:GetBucketLocation', Resource: arnOf(bucket) },
      // Listing only under the prefix.
      { Effect: 'Allow', Action: 's3:ListBucket', Resource: arnOf(bucket), Condition: { StringLike: { 's3:prefix': ['inventory', 'inventory/*'] } } },
      { Effect: 'Allow', Action: 's3:GetObject', Resource: objects(bucket, '/inventory/*') },
    ]);
  });

  test('without a prefix, the whole bucket; with a key, kms:Decrypt on it', () => {
    const key = customerKey(stack);
    const inventory = new InventoryBucket(stack, 'Inventory', { encryptionKey: key });
    inventory.grantRead(reader());
    const bucket = stack.getLogicalId(inventory.bucket.node.defaultChild as s3.CfnBucket);
    expect(readerStatements(Template.fromStack(stack))).toEqual([
      { Effect: 'Allow', Action: 's3:GetBucketLocation', Resource: arnOf(bucket) },
      { Effect: 'Allow', Action: 's3:ListBucket', Resource: arnOf(bucket), Condition: { StringLike: { 's3:prefix': ['AWS:*', 'Custom:*'] } } },
      { Effect: 'Allow', Action: 's3:GetObject', Resource: objects(bucket, '/*') },
      { Effect: 'Allow', Action: 'kms:Decrypt', Resource: arnOf(stack.getLogicalId(key.node.defaultChild as kms.CfnKey)) },
    ]);
  });
});

describe('InventoryBucket gates', () => {
  test('the default passes every gate', () => {
    build();
    expect(allFindings(stack.node.root as never)).toEqual([]);
  });

  test('with a key, a prefix and stale-node expiry, passes every gate', () => {
    build({ encryptionKey: customerKey(stack), bucketPrefix: 'inventory', staleNodeExpiration: Duration.days(30) });
    expect(allFindings(stack.node.root as never)).toEqual([]);
  });
});

describe('InventoryBucket validation', () => {
  test.each<[string, InventoryBucketProps, RegExp]>([
    ['a short account id', { sourceAccounts: ['12345'] }, /^`sourceAccounts` must hold 12-digit AWS account ids, got: '12345' \(at Central\/Inventory\)$/],
    ['an account id with letters', { sourceAccounts: ['11112222333a'] }, /^`sourceAccounts` must hold 12-digit AWS account ids, got: '11112222333a'/],
    ['an ARN instead of an account id', { sourceAccounts: ['arn:aws:iam::111122223333:root'] }, /`sourceAccounts` must hold 12-digit AWS account ids, got: 'arn:aws:iam::111122223333:root'/],
    ['no accounts', { sourceAccounts: [] }, /^`sourceAccounts` must list at least one 12-digit account id \(omit it for this stack's account\), got: \[\]/],
    ['a bad organization id', { organizationId: 'o-ABC' }, /^`organizationId` must match \^o-\[a-z0-9\]\{10,32\}\$ \(an AWS Organizations id\), got: 'o-ABC'/],
    ['an organization root id', { organizationId: 'r-abcd' }, /`organizationId` must match .* got: 'r-abcd'/],
    ['an empty prefix', { bucketPrefix: '' }, /^`bucketPrefix` must be 1 to 256 characters, got: '' \(at Central\/Inventory\)$/],
    ['a prefix of 257 characters', { bucketPrefix: 'p'.repeat(257) }, /^`bucketPrefix` must be 1 to 256 characters, got: 'p{257}'/],
    ['a prefix with a leading /', { bucketPrefix: '/inventory' }, /^`bucketPrefix` must not start or end with \/, got: '\/inventory'/],
    ['a prefix with a trailing /', { bucketPrefix: 'inventory/' }, /^`bucketPrefix` must not start or end with \/, got: 'inventory\/'/],
    ['a prefix with //', { bucketPrefix: 'a//b' }, /^`bucketPrefix` must not contain \/\/, got: 'a\/\/b'/],
    ['a prefix with a wildcard', { bucketPrefix: 'inv*' }, /^`bucketPrefix` must not contain \* or \? \(they would act as wildcards in S3 policy resources\), got: 'inv\*'/],
    ['noncurrent versions kept for 36 hours', { noncurrentVersionExpiration: Duration.hours(36) }, /^`noncurrentVersionExpiration` must be a whole number of days from 1 to 3650, got: 1 day 12 hours/],
    ['noncurrent versions kept for 0 days', { noncurrentVersionExpiration: Duration.days(0) }, /^`noncurrentVersionExpiration` must be a whole number of days from 1 to 3650, got: 0 days/],
    ['stale nodes after 3651 days', { staleNodeExpiration: Duration.days(3651) }, /^`staleNodeExpiration` must be a whole number of days from 1 to 3650, got: 3651 days/],
  ])('rejects %s', (_, props, message) => {
    expect(() => build(props)).toThrow(message);
  });

  test('a list token for sourceAccounts is refused: the policy needs one resource per account', () => {
    const accounts = Lazy.list({ produce: () => ['111122223333'] });
    expect(() => build({ sourceAccounts: accounts })).toThrow(
      /^`sourceAccounts` must be a list written out in the app \(its elements may be tokens\), got: a list token/,
    );
  });

  test('tokens are not validated', () => {
    const token = Lazy.string({ produce: () => 'x' });
    expect(() =>
      build({
        sourceAccounts: [Aws.ACCOUNT_ID, token],
        organizationId: token,
        bucketPrefix: token,
        noncurrentVersionExpiration: Duration.days(Lazy.number({ produce: () => 0 })),
        staleNodeExpiration: Duration.days(Lazy.number({ produce: () => 0 })),
      }),
    ).not.toThrow();
  });
});
