import { App, Lazy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { InventoryBucket, InventoryDataSync, InventoryDataSyncProps, PatchLogBucket } from '../../lib';
import { allFindings, testApp } from '../support/gates';
import { customerKey } from '../support/kms';

const CENTRAL = { account: '111122223333', region: 'eu-west-1' };
const MEMBER = { account: '444455556666', region: 'us-east-1' };
const KEY_ARN = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

let app: App;
let stack: Stack;
beforeEach(() => {
  app = testApp();
  stack = new Stack(app, 'Central', { env: CENTRAL });
});

function syncOf(template: Template): { Properties: Record<string, unknown>; DependsOn?: string[] } {
  const syncs = Object.values(template.findResources('AWS::SSM::ResourceDataSync'));
  expect(syncs).toHaveLength(1);
  return syncs[0] as { Properties: Record<string, unknown>; DependsOn?: string[] };
}

const logicalId = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as never);

describe('InventoryDataSync with its own bucket', () => {
  test('creates an InventoryBucket for this account and syncs to it with the S3Destination form only', () => {
    const sync = new InventoryDataSync(stack, 'Sync');
    const template = Template.fromStack(stack);
    const bucket = logicalId(sync.bucket);
    const resource = syncOf(template);
    expect(resource.Properties).toEqual({
      SyncName: sync.resourceDataSyncName,
      SyncType: 'SyncToDestination',
      S3Destination: { BucketName: { Ref: bucket }, BucketRegion: 'eu-west-1', SyncFormat: 'JsonSerDe' },
    });
    // The bucket policy exists before Systems Manager checks it.
    expect(resource.DependsOn).toEqual([stack.getLogicalId(sync.bucket.policy!.node.defaultChild as never)]);
    expect(sync.inventoryBucket).toBeInstanceOf(InventoryBucket);
    expect(sync.inventoryBucket!.bucket).toBe(sync.bucket);
    expect(sync.inventoryBucket!.sourceAccounts).toEqual(['111122223333']);
    template.resourceCountIs('AWS::S3::Bucket', 2); // the inventory bucket and its access-log bucket
  });

  test('the generated sync name is unique, letters and digits, at most 64 characters', () => {
    const a = new InventoryDataSync(stack, 'Sync');
    const b = new InventoryDataSync(new Stack(app, 'AnotherStackWithAVeryLongNameThatKeepsGoingAndGoing', { env: CENTRAL }), 'InventorySyncWithALongId');
    expect(a.resourceDataSyncName).toMatch(/^[A-Za-z0-9]{1,64}$/);
    expect(b.resourceDataSyncName).toMatch(/^[A-Za-z0-9]{1,64}$/);
    expect(b.resourceDataSyncName).toHaveLength(64);
    expect(a.resourceDataSyncName).not.toBe(b.resourceDataSyncName);
  });

  test('the generated name is stable for a destination and changes with it, so a replacement does not clash', () => {
    const nameFor = (props: InventoryDataSyncProps) => new InventoryDataSync(new Stack(testApp(), 'Central', { env: CENTRAL }), 'Sync', props).resourceDataSyncName;
    expect(nameFor({ bucketPrefix: 'inventory' })).toBe(nameFor({ bucketPrefix: 'inventory' }));
    expect(nameFor({ bucketPrefix: 'inventory' })).not.toBe(nameFor({ bucketPrefix: 'inventory2' }));
    expect(nameFor({})).not.toBe(nameFor({ bucketPrefix: 'inventory' }));
    const withKey = (arn: string) => {
      const scope = new Stack(testApp(), 'Central', { env: CENTRAL });
      return new InventoryDataSync(scope, 'Sync', { bucket: s3.Bucket.fromBucketName(scope, 'B', 'central'), encryptionKey: kms.Key.fromKeyArn(scope, 'K', arn) }).resourceDataSyncName;
    };
    expect(withKey(KEY_ARN)).not.toBe(withKey(KEY_ARN.replace('1234abcd', '9999abcd')));
  });

  test('prefix and key go to both the sync and its bucket', () => {
    const key = customerKey(stack);
    const sync = new InventoryDataSync(stack, 'Sync', { bucketPrefix: 'inventory', encryptionKey: key, resourceDataSyncName: 'fleet-inventory' });
    const template = Template.fromStack(stack);
    expect(syncOf(template).Properties).toEqual({
      SyncName: 'fleet-inventory',
      SyncType: 'SyncToDestination',
      S3Destination: {
        BucketName: { Ref: logicalId(sync.bucket) },
        BucketRegion: 'eu-west-1',
        SyncFormat: 'JsonSerDe',
        BucketPrefix: 'inventory',
        KMSKeyArn: { 'Fn::GetAtt': [logicalId(key), 'Arn'] },
      },
    });
    expect(sync.resourceDataSyncName).toBe('fleet-inventory');
    expect(sync.inventoryBucket!.bucketPrefix).toBe('inventory');
    expect(sync.inventoryBucket!.encryptionKey).toBe(key);
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Sid: 'SSMBucketDelivery', Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [logicalId(sync.bucket), 'Arn'] }, '/inventory/*/accountid=111122223333/*']] } })]) },
    });
  });

  test('in an environment-agnostic stack the region is the deploying region', () => {
    const agnostic = new Stack(testApp(), 'Agnostic');
    new InventoryDataSync(agnostic, 'Sync');
    expect(syncOf(Template.fromStack(agnostic)).Properties.S3Destination).toMatchObject({ BucketRegion: { Ref: 'AWS::Region' } });
  });

  test('no legacy top-level destination fields', () => {
    new InventoryDataSync(stack, 'Sync', { bucketPrefix: 'inventory', encryptionKey: customerKey(stack) });
    const props = syncOf(Template.fromStack(stack)).Properties;
    for (const legacy of ['BucketName', 'BucketRegion', 'SyncFormat', 'BucketPrefix', 'KMSKeyArn', 'SyncSource']) {
      expect(props[legacy]).toBeUndefined();
    }
  });
});

describe('InventoryDataSync to an InventoryBucket of the app', () => {
  test("takes the bucket's prefix and key unless set", () => {
    const key = customerKey(stack);
    const central = new InventoryBucket(stack, 'Inventory', { bucketPrefix: 'inventory', encryptionKey: key });
    const sync = new InventoryDataSync(stack, 'Sync', { bucket: central.bucket });
    expect(sync.inventoryBucket).toBe(central);
    expect(syncOf(Template.fromStack(stack)).Properties.S3Destination).toEqual({
      BucketName: { Ref: logicalId(central.bucket) },
      BucketRegion: 'eu-west-1',
      SyncFormat: 'JsonSerDe',
      BucketPrefix: 'inventory',
      KMSKeyArn: { 'Fn::GetAtt': [logicalId(key), 'Arn'] },
    });
    Template.fromStack(stack).resourceCountIs('AWS::S3::Bucket', 2);
  });

  test('another bucket of the stack: no inventoryBucket, nothing inherited, created after its policy', () => {
    const other = new PatchLogBucket(stack, 'Other').bucket;
    const sync = new InventoryDataSync(stack, 'Sync', { bucket: other });
    expect(sync.inventoryBucket).toBeUndefined();
    const resource = syncOf(Template.fromStack(stack));
    expect(resource.Properties.S3Destination).toEqual({
      BucketName: { Ref: logicalId(other) },
      BucketRegion: 'eu-west-1',
      SyncFormat: 'JsonSerDe',
    });
    expect(resource.DependsOn).toEqual([stack.getLogicalId(other.policy!.node.defaultChild as never)]);
  });

  test('an organization bucket admits a sync from any account', () => {
    const central = new InventoryBucket(stack, 'Inventory', { organizationId: 'o-abcdefghij', bucketName: 'inventory-central' });
    const member = new Stack(app, 'Member', { env: { account: '444455556666', region: 'eu-west-1' } });
    new InventoryDataSync(member, 'Sync', { bucket: central.bucket });
    expect(syncOf(Template.fromStack(member)).Properties.S3Destination).toEqual({
      BucketName: 'inventory-central',
      BucketRegion: 'eu-west-1',
      SyncFormat: 'JsonSerDe',
    });
  });
});

describe('InventoryDataSync from a member account to the central bucket', () => {
  let member: Stack;
  beforeEach(() => {
    member = new Stack(testApp(), 'Member', { env: MEMBER });
  });

  test('points at the central bucket by name and region, with the central key', () => {
    const sync = new InventoryDataSync(member, 'InventorySync', {
      bucket: s3.Bucket.fromBucketAttributes(member, 'Central', { bucketName: 'inventory-111122223333-eu-west-1', region: 'eu-west-1', account: '111122223333' }),
      bucketPrefix: 'inventory',
      encryptionKey: kms.Key.fromKeyArn(member, 'CentralKey', KEY_ARN),
    });
    const template = Template.fromStack(member);
    const resource = syncOf(template);
    expect(resource.Properties).toEqual({
      SyncName: sync.resourceDataSyncName,
      SyncType: 'SyncToDestination',
      S3Destination: {
        BucketName: 'inventory-111122223333-eu-west-1',
        BucketRegion: 'eu-west-1',
        SyncFormat: 'JsonSerDe',
        BucketPrefix: 'inventory',
        KMSKeyArn: KEY_ARN,
      },
    });
    expect(resource.DependsOn).toBeUndefined();
    template.resourceCountIs('AWS::S3::Bucket', 0);
    template.resourceCountIs('AWS::S3::BucketPolicy', 0);
    expect(sync.inventoryBucket).toBeUndefined();
    expect(sync.bucketRegion).toBe('eu-west-1');
  });

  test('a bucket imported by name alone is taken to be in this region unless bucketRegion says otherwise', () => {
    new InventoryDataSync(member, 'Here', { bucket: s3.Bucket.fromBucketName(member, 'A', 'inventory-central') });
    new InventoryDataSync(member, 'There', { bucket: s3.Bucket.fromBucketName(member, 'B', 'inventory-central'), bucketRegion: 'eu-west-1' });
    const syncs = Object.values(Template.fromStack(member).findResources('AWS::SSM::ResourceDataSync')).map((r) => r.Properties.S3Destination);
    expect(syncs).toEqual([
      { BucketName: 'inventory-central', BucketRegion: 'us-east-1', SyncFormat: 'JsonSerDe' },
      { BucketName: 'inventory-central', BucketRegion: 'eu-west-1', SyncFormat: 'JsonSerDe' },
    ]);
  });

  test('passes every gate', () => {
    new InventoryDataSync(member, 'InventorySync', {
      bucket: s3.Bucket.fromBucketAttributes(member, 'Central', { bucketName: 'inventory-central', region: 'eu-west-1' }),
      encryptionKey: kms.Key.fromKeyArn(member, 'CentralKey', KEY_ARN),
    });
    expect(allFindings(member.node.root as App)).toEqual([]);
  });
});

describe('InventoryDataSync gates', () => {
  test('a default InventoryBucket and InventoryDataSync pass every gate', () => {
    const central = new InventoryBucket(stack, 'Inventory');
    new InventoryDataSync(stack, 'Sync', { bucket: central.bucket });
    new InventoryDataSync(new Stack(app, 'Own', { env: CENTRAL }), 'Sync');
    expect(allFindings(app)).toEqual([]);
  });

  test('with a KMS key and a prefix, pass every gate', () => {
    const central = new InventoryBucket(stack, 'Inventory', { encryptionKey: customerKey(stack), bucketPrefix: 'inventory', sourceAccounts: ['111122223333', '444455556666'] });
    new InventoryDataSync(stack, 'Sync', { bucket: central.bucket });
    expect(allFindings(app)).toEqual([]);
  });
});

describe('InventoryDataSync validation', () => {
  function build(props: InventoryDataSyncProps): InventoryDataSync {
    return new InventoryDataSync(stack, 'Sync', props);
  }

  test.each<[string, () => InventoryDataSyncProps, RegExp]>([
    ['an empty sync name', () => ({ resourceDataSyncName: '' }), /^`resourceDataSyncName` must be 1 to 64 characters long, got: 0 characters \(at Central\/Sync\)$/],
    ['a sync name of 65 characters', () => ({ resourceDataSyncName: 's'.repeat(65) }), /^`resourceDataSyncName` must be 1 to 64 characters long, got: 65 characters/],
    ['an empty bucket region', () => ({ bucketRegion: '' }), /^`bucketRegion` must be 1 to 64 characters long, got: 0 characters/],
    ['a bucket region of 65 characters', () => ({ bucketRegion: 'r'.repeat(65) }), /^`bucketRegion` must be 1 to 64 characters long, got: 65 characters/],
    ['an empty prefix', () => ({ bucketPrefix: '' }), /^`bucketPrefix` must be 1 to 256 characters, got: '' \(at Central\/Sync\)$/],
    ['a prefix of 257 characters', () => ({ bucketPrefix: 'p'.repeat(257) }), /^`bucketPrefix` must be 1 to 256 characters, got: 'p{257}'/],
    ['a prefix with a leading /', () => ({ bucketPrefix: '/inventory' }), /^`bucketPrefix` must not start or end with \/, got: '\/inventory'/],
    ['a prefix with a trailing /', () => ({ bucketPrefix: 'inventory/' }), /^`bucketPrefix` must not start or end with \/, got: 'inventory\/'/],
    ['a prefix with //', () => ({ bucketPrefix: 'a//b' }), /^`bucketPrefix` must not contain \/\/, got: 'a\/\/b'/],
    ['a prefix with a wildcard', () => ({ bucketPrefix: 'inv?' }), /^`bucketPrefix` must not contain \* or \? \(they would act as wildcards in S3 policy resources\), got: 'inv\?'/],
    [
      'a key in another region than the bucket',
      () => ({ bucket: s3.Bucket.fromBucketAttributes(stack, 'B', { bucketName: 'central', region: 'eu-west-1' }), encryptionKey: kms.Key.fromKeyArn(stack, 'K', KEY_ARN.replace('eu-west-1', 'us-east-1')) }),
      /^`encryptionKey` must be in the bucket's region eu-west-1, got: a key in us-east-1 \(at Central\/Sync\)$/,
    ],
    [
      'a key in another region than bucketRegion',
      () => ({ bucket: s3.Bucket.fromBucketName(stack, 'B', 'central'), bucketRegion: 'us-east-1', encryptionKey: kms.Key.fromKeyArn(stack, 'K', KEY_ARN) }),
      /^`encryptionKey` must be in the bucket's region us-east-1, got: a key in eu-west-1/,
    ],
    ['a bucketRegion other than its own bucket\'s', () => ({ bucketRegion: 'us-east-1' }), /^`bucketRegion` must be the region of the InventoryBucket Central\/Sync\/Bucket \(eu-west-1\), got: 'us-east-1'/],
    [
      'a key whose ARN is not an ARN',
      () => {
        const key = kms.Key.fromKeyArn(stack, 'K', KEY_ARN);
        Object.defineProperty(key, 'keyArn', { value: 'key/1234abcd' });
        return { bucket: s3.Bucket.fromBucketName(stack, 'B', 'central'), encryptionKey: key };
      },
      /^`encryptionKey` must have a key ARN \(starting with arn:, at most 512 characters\), got: 'key\/1234abcd'/,
    ],
  ])('rejects %s', (_, props, message) => {
    expect(() => build(props())).toThrow(message);
  });

  test('a prefix other than the InventoryBucket prefix is refused', () => {
    const central = new InventoryBucket(stack, 'Inventory', { bucketPrefix: 'inventory' });
    expect(() => build({ bucket: central.bucket, bucketPrefix: 'other' })).toThrow(
      /^`bucketPrefix` must be the prefix of the InventoryBucket Central\/Inventory \('inventory'\), whose policy admits deliveries only under it, got: 'other'/,
    );
  });

  test('a key other than the InventoryBucket key is refused', () => {
    const central = new InventoryBucket(stack, 'Inventory', { encryptionKey: customerKey(stack) });
    expect(() => build({ bucket: central.bucket, encryptionKey: customerKey(stack, 'Other') })).toThrow(
      /^`encryptionKey` must be the key of the InventoryBucket Central\/Inventory, whose policy requires it on every delivery, got: Central\/Other/,
    );
  });

  test('a sync from an account the InventoryBucket does not admit is refused', () => {
    const central = new InventoryBucket(stack, 'Inventory', { bucketName: 'inventory-central' });
    const member = new Stack(app, 'Member', { env: { account: '444455556666', region: 'eu-west-1' } });
    expect(() => new InventoryDataSync(member, 'Sync', { bucket: central.bucket })).toThrow(
      /^`bucket` admits only the `sourceAccounts` of the InventoryBucket Central\/Inventory \(111122223333\); add this stack's account there, got: 444455556666/,
    );
  });

  test('tokens are not validated', () => {
    const token = Lazy.string({ produce: () => '' });
    expect(() => build({ resourceDataSyncName: token, bucketRegion: token, bucketPrefix: token })).not.toThrow();
    const agnostic = new Stack(testApp(), 'Agnostic');
    // Key and bucket regions unknown at synth time: no region check.
    expect(() => new InventoryDataSync(agnostic, 'Sync', { encryptionKey: customerKey(agnostic) })).not.toThrow();
  });
});
