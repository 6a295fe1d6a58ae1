import { Aws, CfnParameter, Duration, Lazy, Size, Stack, Token, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { InventoryBucket, InventoryQueryLayer, InventoryQueryLayerProps, InventoryType } from '../../lib';
import { ACKNOWLEDGEMENTS } from '../../lib/private/acknowledgements';
import { INVENTORY_QUERIES } from '../../lib/inventory/private/inventory-queries';
import { INVENTORY_TYPE_NAMES, inventorySchema, PARTITION_COLUMNS } from '../../lib/inventory/private/inventory-schema';
import { allFindings, testApp } from '../support/gates';

const ENV = { account: '111122223333', region: 'eu-west-1' };
const BUCKET = 'central-inventory';
const ACCOUNTS = ['111122223333', '444455556666'];
const REGIONS = ['eu-west-1', 'us-east-1'];

let stack: Stack;
let bucket: s3.IBucket;
beforeEach(() => {
  stack = new Stack(testApp(), 'Central', { env: ENV });
  bucket = s3.Bucket.fromBucketName(stack, 'Inventory', BUCKET);
});

function build(props: Partial<InventoryQueryLayerProps> = {}): { layer: InventoryQueryLayer; template: Template } {
  const layer = new InventoryQueryLayer(stack, 'Query', { bucket, bucketPrefix: 'inventory', accountIds: ACCOUNTS, regions: REGIONS, ...props });
  return { layer, template: Template.fromStack(stack) };
}

/** The TableInput of every Glue table, by table name. */
function tableInputs(template: Template): Record<string, any> {
  const tables = Object.values(template.findResources('AWS::Glue::Table'));
  return Object.fromEntries(tables.map((t) => [t.Properties.TableInput.Name, t.Properties.TableInput]));
}

/** `arn:<partition><suffix>` as CDK renders a formatted ARN in a resolved environment. */
const arn = (suffix: string) => ({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, suffix]] });

/** The acknowledged rule ids on a construct and its children (cdk-nag ids carry an `Annotation::` prefix there). */
function acknowledgedRules(layer: InventoryQueryLayer): string[] {
  return layer.node
    .findAll()
    .flatMap((c) => c.node.metadata.filter((m) => m.type === 'aws:cdk:acknowledged-rules'))
    .flatMap((m) => Object.keys(m.data as Record<string, unknown>))
    .map((id) => id.replace(/^Annotation::/, ''));
}

/** What the test's stand-in buckets leave to a real inventory bucket (replication, KMS, events, object lock). */
const STAND_IN_BUCKET_RULES = [
  'NIST.800.53.R5-S3BucketReplicationEnabled', 'HIPAA.Security-S3BucketReplicationEnabled',
  'NIST.800.53.R5-S3DefaultEncryptionKMS', 'HIPAA.Security-S3DefaultEncryptionKMS',
  'cdk-validator-cfnguard::s3_bucket_default_encryption_kms_check', 'cdk-validator-cfnguard::s3_event_notifications_enabled_check',
  'cdk-validator-cfnguard::s3_bucket_object_lock_enabled_check',
];
const ACCESS_LOG_RULES = [
  'AwsSolutions-S1', 'NIST.800.53.R5-S3BucketLoggingEnabled', 'HIPAA.Security-S3BucketLoggingEnabled',
  'cdk-validator-cfnguard::s3_bucket_logging_enabled_check',
];

/** A versioned, private, TLS-only, SSE-S3 bucket with a lifecycle rule; a test stand-in, acknowledged in the test only. */
function standInBucket(id: string, props: s3.BucketProps = {}): s3.Bucket {
  const standIn = new s3.Bucket(stack, id, {
    encryption: s3.BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    versioned: true,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    lifecycleRules: [{ noncurrentVersionExpiration: Duration.days(30) }],
    ...props,
  });
  const rules = props.serverAccessLogsBucket ? STAND_IN_BUCKET_RULES : [...STAND_IN_BUCKET_RULES, ...ACCESS_LOG_RULES];
  Validations.of(standIn).acknowledge(...rules.map((rule) => ({ id: rule, reason: 'test stand-in bucket' })));
  return standIn;
}

/**
 * A stand-in access-log bucket: without the `serverAccessLogsUseBucketPolicy` flag, CDK grants log delivery through
 * the LogDeliveryWrite ACL, so object ownership stays at its default.
 */
function accessLogBucket(id: string): s3.Bucket {
  const logs = standInBucket(id, { objectOwnership: undefined });
  Validations.of(logs).acknowledge({ id: 'cdk-validator-cfnguard::s3_bucket_acl_prohibited_check', reason: 'test access-log bucket' });
  return logs;
}

/** A customer-managed key with rotation; a test stand-in whose key policy is left at the CDK default. */
function testKey(id: string): kms.Key {
  const key = new kms.Key(stack, id, { enableKeyRotation: true });
  Validations.of(key).acknowledge({ id: 'cdk-validator-cfnguard::kms_create_grant_aws_service_check', reason: 'test key' });
  return key;
}

describe('InventoryQueryLayer Glue database and tables', () => {
  test('a Glue database in the account catalog, named ssm_inventory by default', () => {
    const { layer, template } = build();
    template.resourceCountIs('AWS::Glue::Database', 1);
    template.hasResourceProperties('AWS::Glue::Database', {
      CatalogId: '111122223333',
      DatabaseInput: Match.objectLike({ Name: 'ssm_inventory' }),
    });
    expect(layer.databaseName).toBe('ssm_inventory');
  });

  test('one external table per inventory type by default, each depending on the database', () => {
    const { layer, template } = build();
    template.resourceCountIs('AWS::Glue::Table', Object.values(InventoryType).length);
    expect(Object.keys(tableInputs(template)).sort()).toEqual(INVENTORY_TYPE_NAMES.map((t) => inventorySchema(t).tableName).sort());
    expect(layer.inventoryTypes).toEqual(Object.values(InventoryType));
    for (const table of Object.values(template.findResources('AWS::Glue::Table'))) {
      expect(table.Properties.CatalogId).toBe('111122223333');
      expect(table.Properties.DatabaseName).toBe('ssm_inventory');
      expect(table.DependsOn).toEqual([expect.stringMatching(/^QueryDatabase/)]);
      expect(table.Properties.TableInput.TableType).toBe('EXTERNAL_TABLE');
    }
  });

  test('AWS:Application under a prefix: columns, partition keys, JSON SerDe, location and projection parameters', () => {
    const { template } = build();
    expect(tableInputs(template).aws_application).toEqual({
      Name: 'aws_application',
      Description: expect.stringContaining('AWS:Application'),
      TableType: 'EXTERNAL_TABLE',
      Parameters: {
        'classification': 'json',
        'EXTERNAL': 'TRUE',
        'projection.enabled': 'true',
        'projection.accountid.type': 'enum',
        'projection.accountid.values': '111122223333,444455556666',
        'projection.region.type': 'enum',
        'projection.region.values': 'eu-west-1,us-east-1',
        'projection.resourcetype.type': 'enum',
        'projection.resourcetype.values': 'ManagedInstanceInventory',
        'storage.location.template':
          's3://central-inventory/inventory/AWS:Application/accountid=${accountid}/region=${region}/resourcetype=${resourcetype}',
      },
      StorageDescriptor: {
        Location: 's3://central-inventory/inventory/AWS:Application/',
        InputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
        OutputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
        SerdeInfo: {
          SerializationLibrary: 'org.openx.data.jsonserde.JsonSerDe',
          Parameters: { 'serialization.format': '1', 'case.insensitive': 'TRUE' },
        },
        Columns: [
          'name', 'applicationtype', 'publisher', 'version', 'installedtime', 'architecture', 'url', 'summary', 'packageid',
          'release', 'epoch', 'resourceid', 'capturetime', 'schemaversion',
        ].map((Name) => ({ Name, Type: 'string' })),
      },
      PartitionKeys: [
        { Name: 'accountid', Type: 'string' },
        { Name: 'region', Type: 'string' },
        { Name: 'resourcetype', Type: 'string' },
      ],
    });
  });

  test('AWS:Tag without a prefix: the type folder sits at the top of the bucket', () => {
    const { template } = build({ bucketPrefix: undefined });
    const tag = tableInputs(template).aws_tag;
    expect(tag.StorageDescriptor.Location).toBe('s3://central-inventory/AWS:Tag/');
    expect(tag.Parameters['storage.location.template']).toBe(
      's3://central-inventory/AWS:Tag/accountid=${accountid}/region=${region}/resourcetype=${resourcetype}',
    );
    expect(tag.StorageDescriptor.Columns.map((c: { Name: string }) => c.Name)).toEqual(['key', 'value', 'resourceid', 'capturetime', 'schemaversion']);
  });

  test('a bucket created in the stack is referenced, and the ${…} placeholders stay literal', () => {
    const own = standInBucket('Own');
    new InventoryQueryLayer(stack, 'Layer', { bucket: own, bucketPrefix: 'inv/sync', accountIds: ['111122223333'], regions: ['eu-west-1'] });
    const table = tableInputs(Template.fromStack(stack)).aws_network;
    const ref = { Ref: Match.stringLikeRegexp('^Own') };
    expect(table.StorageDescriptor.Location).toEqual({ 'Fn::Join': ['', ['s3://', expect.objectContaining({ Ref: expect.stringMatching(/^Own/) }), '/inv/sync/AWS:Network/']] });
    Template.fromStack(stack).hasResourceProperties('AWS::Glue::Table', {
      TableInput: Match.objectLike({
        Name: 'aws_network',
        Parameters: Match.objectLike({
          'storage.location.template': {
            'Fn::Join': ['', ['s3://', ref, '/inv/sync/AWS:Network/accountid=${accountid}/region=${region}/resourcetype=${resourcetype}']],
          },
        }),
      }),
    });
  });

  test('every table has exactly the schema attributes as lower-case string columns, in schema order', () => {
    const { template } = build();
    const inputs = tableInputs(template);
    for (const type of INVENTORY_TYPE_NAMES) {
      const schema = inventorySchema(type);
      const table = inputs[schema.tableName];
      expect({ type, columns: table.StorageDescriptor.Columns }).toEqual({
        type,
        columns: schema.attributes.map((key) => ({ Name: key.toLowerCase(), Type: 'string' })),
      });
      expect({ type, location: table.StorageDescriptor.Location }).toEqual({ type, location: `s3://central-inventory/inventory/${type}/` });
    }
  });

  test('no data column collides with a partition column (AWS:InstanceInformation records carry ResourceType)', () => {
    const { template } = build();
    const partitions: readonly string[] = PARTITION_COLUMNS;
    for (const table of Object.values(tableInputs(template))) {
      const columns: string[] = table.StorageDescriptor.Columns.map((c: { Name: string }) => c.Name);
      expect({ table: table.Name, collisions: columns.filter((c) => partitions.includes(c)) }).toEqual({ table: table.Name, collisions: [] });
      expect(new Set(columns).size).toBe(columns.length);
      expect(table.PartitionKeys.map((k: { Name: string }) => k.Name)).toEqual(['accountid', 'region', 'resourcetype']);
    }
    const info = tableInputs(template).aws_instanceinformation.StorageDescriptor.Columns.map((c: { Name: string }) => c.Name);
    expect(info).not.toContain('resourcetype');
    expect(info).toEqual(expect.arrayContaining(['resourceid', 'computername', 'platformname', 'agentversion']));
  });

  test('projection values: every listed account and Region, in the given order, on every table', () => {
    const { template } = build({ accountIds: ['444455556666', '111122223333'], regions: ['us-gov-west-1', 'ap-southeast-2'] });
    for (const table of Object.values(tableInputs(template))) {
      expect(table.Parameters).toEqual(
        expect.objectContaining({
          'projection.accountid.values': '444455556666,111122223333',
          'projection.region.values': 'us-gov-west-1,ap-southeast-2',
          'projection.resourcetype.values': 'ManagedInstanceInventory',
        }),
      );
    }
  });

  test('account ids that are tokens, and a list token, are joined at deploy time', () => {
    const regions = new CfnParameter(stack, 'Regions', { type: 'CommaDelimitedList', default: 'eu-west-1,us-east-1' });
    const { template } = build({ accountIds: [Aws.ACCOUNT_ID, '444455556666'], regions: regions.valueAsList });
    const params = tableInputs(template).aws_tag.Parameters;
    expect(params['projection.accountid.values']).toEqual({ 'Fn::Join': ['', [{ Ref: 'AWS::AccountId' }, ',444455556666']] });
    expect(params['projection.region.values']).toEqual({ 'Fn::Join': [',', { Ref: 'Regions' }] });
  });

  test('restricted inventory types: only their tables', () => {
    const { layer, template } = build({ inventoryTypes: [InventoryType.APPLICATION, InventoryType.INSTANCE_INFORMATION] });
    template.resourceCountIs('AWS::Glue::Table', 2);
    expect(Object.keys(tableInputs(template)).sort()).toEqual(['aws_application', 'aws_instanceinformation']);
    expect(layer.inventoryTypes).toEqual([InventoryType.APPLICATION, InventoryType.INSTANCE_INFORMATION]);
  });

  test('tableName() names the table of a type of the layer, and fails for any other type', () => {
    const { layer } = build({ inventoryTypes: [InventoryType.APPLICATION, InventoryType.COMPLIANCE_SUMMARY] });
    expect(layer.tableName(InventoryType.APPLICATION)).toBe('aws_application');
    expect(layer.tableName(InventoryType.COMPLIANCE_SUMMARY)).toBe('aws_compliancesummary');
    expect(() => layer.tableName(InventoryType.FILE)).toThrow(
      /`inventoryType` must be one of this layer's inventoryTypes \(AWS:Application, AWS:ComplianceSummary\), got: 'AWS:File' \(at Central\/Query\)/,
    );
  });

  test('a custom database name is used by the tables, the named queries and the default workgroup name', () => {
    const { layer, template } = build({ databaseName: 'fleet_inv_2' });
    template.hasResourceProperties('AWS::Glue::Database', { DatabaseInput: Match.objectLike({ Name: 'fleet_inv_2' }) });
    template.allResourcesProperties('AWS::Glue::Table', { DatabaseName: 'fleet_inv_2' });
    template.allResourcesProperties('AWS::Athena::NamedQuery', { Database: 'fleet_inv_2', WorkGroup: 'fleet-inv-2' });
    template.hasResourceProperties('AWS::Athena::WorkGroup', { Name: 'fleet-inv-2' });
    expect(layer.workGroupName).toBe('fleet-inv-2');
  });
});

describe('InventoryQueryLayer Athena workgroup', () => {
  test('enforced configuration, engine v3, 10 GiB cutoff, SSE-S3 results under results/, metrics, no requester pays', () => {
    const { layer, template } = build();
    template.resourceCountIs('AWS::Athena::WorkGroup', 1);
    template.hasResourceProperties('AWS::Athena::WorkGroup', {
      Name: 'ssm-inventory',
      State: 'ENABLED',
      RecursiveDeleteOption: false,
      WorkGroupConfiguration: {
        EnforceWorkGroupConfiguration: true,
        PublishCloudWatchMetricsEnabled: true,
        BytesScannedCutoffPerQuery: 10 * 1024 ** 3,
        RequesterPaysEnabled: false,
        EngineVersion: { SelectedEngineVersion: 'Athena engine version 3' },
        ResultConfiguration: {
          OutputLocation: { 'Fn::Join': ['', ['s3://', { Ref: Match.stringLikeRegexp('^QueryResultsBucket') }, '/results/']] },
          ExpectedBucketOwner: '111122223333',
          EncryptionConfiguration: { EncryptionOption: 'SSE_S3' },
        },
      },
    });
    expect(layer.workGroupName).toBe('ssm-inventory');
  });

  test('workgroup name, scan cutoff and results KMS key', () => {
    const key = testKey('ResultsKey');
    const { template } = build({ workGroupName: 'Fleet.Inventory_1', bytesScannedCutoffPerQuery: Size.mebibytes(10), resultsEncryptionKey: key });
    template.hasResourceProperties('AWS::Athena::WorkGroup', {
      Name: 'Fleet.Inventory_1',
      WorkGroupConfiguration: Match.objectLike({
        BytesScannedCutoffPerQuery: 10_485_760,
        ResultConfiguration: Match.objectLike({
          EncryptionConfiguration: { EncryptionOption: 'SSE_KMS', KmsKey: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ResultsKey'), 'Arn'] } },
        }),
      }),
    });
    template.allResourcesProperties('AWS::Athena::NamedQuery', { WorkGroup: 'Fleet.Inventory_1' });
  });
});

describe('InventoryQueryLayer named queries', () => {
  test('one named query per library query, in the database and workgroup, after the workgroup exists', () => {
    const { layer, template } = build();
    const named = Object.values(template.findResources('AWS::Athena::NamedQuery'));
    expect(named).toHaveLength(INVENTORY_QUERIES.length);
    for (const query of INVENTORY_QUERIES) {
      const resource = named.find((r) => r.Properties.Name === query.name);
      expect(resource?.Properties).toEqual({
        Name: query.name,
        Description: query.description,
        Database: 'ssm_inventory',
        WorkGroup: 'ssm-inventory',
        QueryString: query.sql,
      });
      expect(resource?.DependsOn).toEqual(expect.arrayContaining([expect.stringMatching(/^QueryWorkGroup/), expect.stringMatching(/^QueryDatabase/)]));
    }
    expect(Object.keys(layer.namedQueryIds).sort()).toEqual(INVENTORY_QUERIES.map((q) => q.id).sort());
    expect(stack.resolve(layer.namedQueryIds.ApplicationVersions)).toEqual({
      'Fn::GetAtt': [expect.stringMatching(/^QueryApplicationVersionsQuery/), 'NamedQueryId'],
    });
  });

  test('queries that read a table the layer does not define are skipped', () => {
    const { layer, template } = build({ inventoryTypes: [InventoryType.APPLICATION, InventoryType.INSTANCE_INFORMATION] });
    const expected = INVENTORY_QUERIES.filter((q) => q.tables.every((t) => t === 'aws_application' || t === 'aws_instanceinformation'));
    expect(expected.map((q) => q.id)).toEqual(
      expect.arrayContaining(['ApplicationVersions', 'NodesWithPackage', 'NodesMissingApplication', 'AgentVersions', 'NodesByPlatform']),
    );
    template.resourceCountIs('AWS::Athena::NamedQuery', expected.length);
    expect(Object.keys(layer.namedQueryIds).sort()).toEqual(expected.map((q) => q.id).sort());
    expect(layer.namedQueryIds.NonCompliantNodes).toBeUndefined();
    expect(layer.namedQueryIds.NodesMissingTag).toBeUndefined();
  });

  test('a layer with only AWS:File has no named query', () => {
    const { layer, template } = build({ inventoryTypes: [InventoryType.FILE] });
    template.resourceCountIs('AWS::Athena::NamedQuery', 0);
    expect(layer.namedQueryIds).toEqual({});
  });
});

describe('InventoryQueryLayer results bucket', () => {
  test('retained, versioned, SSE-S3, owner-enforced, private, TLS only, results expire after 30 days', () => {
    const { layer, template } = build();
    template.resourceCountIs('AWS::S3::Bucket', 1);
    template.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ BucketKeyEnabled: Match.absent(), ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        VersioningConfiguration: { Status: 'Enabled' },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        LifecycleConfiguration: {
          Rules: [
            {
              Id: 'ExpireQueryResults',
              Status: 'Enabled',
              ExpirationInDays: 30,
              NoncurrentVersionExpiration: { NoncurrentDays: 1 },
              AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
            },
            { Id: 'RemoveExpiredDeleteMarkers', Status: 'Enabled', ExpiredObjectDeleteMarker: true },
          ],
        },
        LoggingConfiguration: Match.absent(),
      },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } } }),
        ]),
      },
    });
    expect(stack.resolve(layer.resultsBucket.bucketName)).toEqual({ Ref: expect.stringMatching(/^QueryResultsBucket/) });
  });

  test('results expiration, a KMS key and server access logs', () => {
    const key = testKey('ResultsKey');
    const logs = accessLogBucket('AccessLogs');
    const { layer, template } = build({ resultsExpiration: Duration.days(7), resultsEncryptionKey: key, serverAccessLogsBucket: logs });
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          {
            BucketKeyEnabled: true,
            ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ResultsKey'), 'Arn'] } },
          },
        ],
      },
      LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ Id: 'ExpireQueryResults', ExpirationInDays: 7 })]) },
      LoggingConfiguration: { DestinationBucketName: { Ref: Match.stringLikeRegexp('^AccessLogs') }, LogFilePrefix: 'inventory-query-results/' },
    });
    // The access-log and SSE-S3 acknowledgements are dropped when the user satisfies the rules.
    const acknowledged = acknowledgedRules(layer);
    for (const id of [...ACKNOWLEDGEMENTS.inventoryQueryResultsNoAccessLogs.ids, ...ACKNOWLEDGEMENTS.inventoryQueryResultsSseS3.ids, ...ACKNOWLEDGEMENTS.inventoryQueryWorkGroupSseS3.ids]) {
      expect(acknowledged).not.toContain(id);
    }
  });

  test('by default the access-log and SSE-S3 findings of the results bucket and workgroup are acknowledged', () => {
    const { layer } = build();
    expect(acknowledgedRules(layer)).toEqual(
      expect.arrayContaining([
        ...ACKNOWLEDGEMENTS.inventoryQueryResultsNoAccessLogs.ids,
        ...ACKNOWLEDGEMENTS.inventoryQueryResultsSseS3.ids,
        ...ACKNOWLEDGEMENTS.inventoryQueryWorkGroupSseS3.ids,
      ]),
    );
  });
});

describe('InventoryQueryLayer grantQuery', () => {
  /** The layer without synthesizing (a grant changes the tree). */
  function layerOf(props: Partial<InventoryQueryLayerProps> = {}): InventoryQueryLayer {
    return new InventoryQueryLayer(stack, 'Query', { bucket, bucketPrefix: 'inventory', accountIds: ACCOUNTS, regions: REGIONS, ...props });
  }
  function grantee(): iam.Role {
    return new iam.Role(stack, 'Analyst', { assumedBy: new iam.AccountRootPrincipal() });
  }
  function statementsOf(template: Template): unknown[] {
    const policies = Object.values(template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: Match.stringLikeRegexp('^Analyst') }] } }));
    expect(policies).toHaveLength(1);
    return policies[0].Properties.PolicyDocument.Statement;
  }
  const resultsArn = { 'Fn::GetAtt': [expect.stringMatching(/^QueryResultsBucket/), 'Arn'] };

  test('exactly: the workgroup, the catalog/database/tables, the type folders and the results prefix', () => {
    const layer = layerOf({ inventoryTypes: [InventoryType.APPLICATION, InventoryType.TAG] });
    const role = grantee();
    const grant = layer.grantQuery(role);
    expect(grant.success).toBe(true);
    expect(statementsOf(Template.fromStack(stack))).toEqual([
      {
        Effect: 'Allow',
        Action: [
          'athena:StartQueryExecution',
          'athena:GetQueryExecution',
          'athena:GetQueryResults',
          'athena:StopQueryExecution',
          'athena:GetWorkGroup',
          'athena:ListNamedQueries',
          'athena:GetNamedQuery',
          'athena:BatchGetNamedQuery',
        ],
        Resource: arn(':athena:eu-west-1:111122223333:workgroup/ssm-inventory'),
      },
      {
        Effect: 'Allow',
        Action: ['glue:GetDatabase', 'glue:GetTable', 'glue:GetTables', 'glue:GetPartition', 'glue:GetPartitions'],
        Resource: [
          arn(':glue:eu-west-1:111122223333:catalog'),
          arn(':glue:eu-west-1:111122223333:database/ssm_inventory'),
          arn(':glue:eu-west-1:111122223333:table/ssm_inventory/aws_application'),
          arn(':glue:eu-west-1:111122223333:table/ssm_inventory/aws_tag'),
        ],
      },
      { Effect: 'Allow', Action: 's3:GetBucketLocation', Resource: arn(':s3:::central-inventory') },
      {
        Effect: 'Allow',
        Action: 's3:ListBucket',
        Resource: arn(':s3:::central-inventory'),
        // The analyst lists only the type folders the layer reads.
        Condition: {
          StringLike: {
            's3:prefix': ['inventory/AWS:Application', 'inventory/AWS:Application/*', 'inventory/AWS:Tag', 'inventory/AWS:Tag/*'],
          },
        },
      },
      {
        Effect: 'Allow',
        Action: 's3:GetObject',
        Resource: [arn(':s3:::central-inventory/inventory/AWS:Application/*'), arn(':s3:::central-inventory/inventory/AWS:Tag/*')],
      },
      { Effect: 'Allow', Action: ['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'], Resource: resultsArn },
      {
        Effect: 'Allow',
        Action: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
        Resource: { 'Fn::Join': ['', [resultsArn, '/results/*']] },
      },
    ]);
  });

  test('no resource is a bare *', () => {
    const layer = layerOf();
    layer.grantQuery(grantee());
    const resources = statementsOf(Template.fromStack(stack)).flatMap((s: any) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]));
    expect(resources).not.toContain('*');
  });

  test('kms:Decrypt on the inventory key, and GenerateDataKey/Decrypt on the results key', () => {
    const inventoryKey = testKey('InventoryKey');
    const resultsKey = testKey('ResultsKey');
    const layer = layerOf({ encryptionKey: inventoryKey, resultsEncryptionKey: resultsKey, inventoryTypes: [InventoryType.TAG] });
    layer.grantQuery(grantee());
    const statements = statementsOf(Template.fromStack(stack));
    expect(statements.slice(-2)).toEqual([
      { Effect: 'Allow', Action: 'kms:Decrypt', Resource: { 'Fn::GetAtt': [expect.stringMatching(/^InventoryKey/), 'Arn'] } },
      { Effect: 'Allow', Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: { 'Fn::GetAtt': [expect.stringMatching(/^ResultsKey/), 'Arn'] } },
    ]);
  });

  test("the inventory bucket's own key is used when encryptionKey is not set", () => {
    const key = testKey('BucketKey');
    const encrypted = standInBucket('Encrypted', { encryption: s3.BucketEncryption.KMS, encryptionKey: key });
    const layer = new InventoryQueryLayer(stack, 'Layer', { bucket: encrypted, accountIds: ACCOUNTS, regions: REGIONS, inventoryTypes: [InventoryType.TAG] });
    layer.grantQuery(grantee());
    expect(statementsOf(Template.fromStack(stack))).toContainEqual({
      Effect: 'Allow',
      Action: 'kms:Decrypt',
      Resource: { 'Fn::GetAtt': [expect.stringMatching(/^BucketKey/), 'Arn'] },
    });
  });

  test('the object wildcards are acknowledged on the grantee; its inline policy stays the caller’s choice', () => {
    const layer = layerOf();
    layer.grantQuery(grantee());
    const findings = allFindings(stack.node.root as never);
    expect(findings.filter((f) => f.rule.startsWith('AwsSolutions-IAM5'))).toEqual([]);
    expect(findings.map((f) => f.rule).sort()).toEqual(['HIPAA.Security-IAMNoInlinePolicy', 'NIST.800.53.R5-IAMNoInlinePolicy']);
  });
});

describe('InventoryQueryLayer queryManagedPolicy', () => {
  test('holds exactly the grantQuery statements, is created once, and attached to a role passes every gate', () => {
    const inventory = new InventoryBucket(stack, 'InventoryBucket', { bucketPrefix: 'inventory', sourceAccounts: ACCOUNTS });
    const layer = new InventoryQueryLayer(stack, 'Query', { bucket: inventory.bucket, bucketPrefix: 'inventory', accountIds: ACCOUNTS, regions: REGIONS });
    const policy = layer.queryManagedPolicy();
    expect(layer.queryManagedPolicy()).toBe(policy);
    policy.attachToRole(new iam.Role(stack, 'Analyst', { assumedBy: new iam.AccountRootPrincipal() }));
    const granted = new iam.Role(stack, 'Granted', { assumedBy: new iam.AccountRootPrincipal() });
    layer.grantQuery(granted);

    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::IAM::ManagedPolicy', 1);
    const [managed] = Object.values(template.findResources('AWS::IAM::ManagedPolicy'));
    const [inline] = Object.values(template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: Match.stringLikeRegexp('^Granted') }] } }));
    expect(managed.Properties.PolicyDocument.Statement).toEqual(inline.Properties.PolicyDocument.Statement);
    expect(managed.Properties.PolicyDocument.Statement).toHaveLength(layer.queryPolicyStatements().length);
    expect(managed.Properties.Roles).toEqual([{ Ref: expect.stringMatching(/^Analyst/) }]);

    // Only the inline policy of the directly granted role is reported (the caller's choice); the managed one is clean.
    const findings = allFindings(stack.node.root as never);
    expect([...new Set(findings.flatMap((f) => f.paths))]).toEqual(['Central/Granted/DefaultPolicy/Resource']);
  });
});

describe('InventoryQueryLayer gates', () => {
  test('over an InventoryBucket, the layer passes every gate with zero unacknowledged findings', () => {
    const inventory = new InventoryBucket(stack, 'InventoryBucket', { bucketPrefix: 'inventory', sourceAccounts: ACCOUNTS });
    new InventoryQueryLayer(stack, 'Query', { bucket: inventory.bucket, bucketPrefix: 'inventory', accountIds: ACCOUNTS, regions: REGIONS });
    expect(allFindings(stack.node.root as never)).toEqual([]);
  });

  test('over an InventoryBucket with a granted role, only the role’s own inline policy is reported', () => {
    const inventory = new InventoryBucket(stack, 'InventoryBucket', { bucketPrefix: 'inventory', sourceAccounts: ACCOUNTS });
    const layer = new InventoryQueryLayer(stack, 'Query', { bucket: inventory.bucket, bucketPrefix: 'inventory', accountIds: ACCOUNTS, regions: REGIONS });
    layer.grantQuery(new iam.Role(stack, 'Analyst', { assumedBy: new iam.AccountRootPrincipal() }));
    const findings = allFindings(stack.node.root as never);
    expect(findings.map((f) => f.rule).sort()).toEqual(['HIPAA.Security-IAMNoInlinePolicy', 'NIST.800.53.R5-IAMNoInlinePolicy']);
    expect(findings.flatMap((f) => f.paths)).toEqual(['Central/Analyst/DefaultPolicy/Resource', 'Central/Analyst/DefaultPolicy/Resource']);
  });

  test('with a stand-in inventory bucket, the layer passes every gate with zero unacknowledged findings', () => {
    const logs = accessLogBucket('AccessLogs');
    const inventory = standInBucket('InventoryBucket', { serverAccessLogsBucket: logs });
    new InventoryQueryLayer(stack, 'Query', { bucket: inventory, bucketPrefix: 'inventory', accountIds: ACCOUNTS, regions: REGIONS });
    expect(allFindings(stack.node.root as never)).toEqual([]);
  });

  test('with a results KMS key and access logs, the layer needs no acknowledgement for them and passes every gate', () => {
    const key = testKey('ResultsKey');
    const logs = accessLogBucket('AccessLogs');
    build({ resultsEncryptionKey: key, serverAccessLogsBucket: logs });
    expect(allFindings(stack.node.root as never)).toEqual([]);
  });
});

describe('InventoryQueryLayer validation', () => {
  test.each([
    [{ bucketPrefix: '' }, /^`bucketPrefix` must be 1 to 256 characters, got: ''/],
    [{ bucketPrefix: '/inventory' }, /`bucketPrefix` .* got: '\/inventory'/],
    [{ bucketPrefix: 'inventory/' }, /`bucketPrefix` .* got: 'inventory\/'/],
    [{ bucketPrefix: 'a//b' }, /`bucketPrefix` .* got: 'a\/\/b'/],
    [{ bucketPrefix: 'inv*' }, /`bucketPrefix` .* got: 'inv\*'/],
    [{ bucketPrefix: 'inv?' }, /`bucketPrefix` .* got: 'inv\?'/],
    [{ bucketPrefix: 'p'.repeat(257) }, /^`bucketPrefix` must be 1 to 256 characters/],
    [{ accountIds: [] }, /`accountIds` must list at least one value, got: \[\]/],
    [{ accountIds: ['12345'] }, /`accountIds` must hold only values of the form a 12-digit account id, got: '12345'/],
    [{ accountIds: ['1111222233334'] }, /`accountIds` .* got: '1111222233334'/],
    [{ accountIds: ['11112222333a'] }, /`accountIds` .* got: '11112222333a'/],
    [{ accountIds: ['111122223333', '111122223333'] }, /`accountIds` must not list a value twice, got: '111122223333' more than once/],
    [{ regions: [] }, /`regions` must list at least one value, got: \[\]/],
    [{ regions: ['EU-WEST-1'] }, /`regions` must hold only values of the form a Region code such as eu-west-1 or us-gov-west-1, got: 'EU-WEST-1'/],
    [{ regions: ['eu-west'] }, /`regions` .* got: 'eu-west'/],
    [{ regions: ['euwest1'] }, /`regions` .* got: 'euwest1'/],
    [{ regions: ['eu-west-1', 'eu-west-1'] }, /`regions` must not list a value twice, got: 'eu-west-1' more than once/],
    [{ databaseName: 'SSM_Inventory' }, /`databaseName` must be 1 to 255 lower-case letters, digits or '_', starting with a letter or a digit, got: 'SSM_Inventory'/],
    [{ databaseName: '_inventory' }, /`databaseName` .* got: '_inventory'/],
    [{ databaseName: 'ssm-inventory' }, /`databaseName` .* got: 'ssm-inventory'/],
    [{ databaseName: '' }, /`databaseName` .* got: ''/],
    [{ databaseName: 'a'.repeat(256) }, /`databaseName` must be 1 to 255/],
    [{ workGroupName: 'ssm inventory' }, /`workGroupName` must be 1 to 128 letters, digits, '.', '_' or '-', got: 'ssm inventory'/],
    [{ workGroupName: 'w'.repeat(129) }, /`workGroupName` must be 1 to 128/],
    [{ databaseName: 'd'.repeat(129) }, /`workGroupName` \(by default `databaseName` with - for _; set it explicitly\) must be 1 to 128 .* got: 'd{129}'/],
    [{ inventoryTypes: [] }, /`inventoryTypes` must list at least one inventory type, got: \[\]/],
    [{ inventoryTypes: [InventoryType.TAG, InventoryType.TAG] }, /`inventoryTypes` must not list a type twice, got: 'AWS:Tag' more than once/],
    [{ inventoryTypes: ['AWS:BillingInfo' as InventoryType] }, /`inventoryTypes` may hold only InventoryType values \(AWS:Application, .*\), got: 'AWS:BillingInfo'/],
    [{ bytesScannedCutoffPerQuery: Size.mebibytes(9) }, /`bytesScannedCutoffPerQuery` must be at least 10 MB \(10485760 bytes\), got: 9437184 bytes/],
    [{ bytesScannedCutoffPerQuery: Size.bytes(10_485_759) }, /`bytesScannedCutoffPerQuery` .* got: 10485759 bytes/],
    [{ resultsExpiration: Duration.hours(12) }, /`resultsExpiration` must be a whole number of days from 1 to 3650, got: 12 hours/],
    [{ resultsExpiration: Duration.hours(36) }, /`resultsExpiration` .* got: 1 day 12 hours/],
    [{ resultsExpiration: Duration.days(0) }, /`resultsExpiration` .* got: 0 days/],
  ] as [Partial<InventoryQueryLayerProps>, RegExp][])('rejects %j', (props, message) => {
    expect(() => build(props)).toThrow(message);
  });

  test('errors name the construct path', () => {
    expect(() => build({ regions: ['mars-1'] })).toThrow(/got: 'mars-1' \(at Central\/Query\)/);
  });

  test('boundary values are accepted', () => {
    expect(() =>
      build({
        bucketPrefix: 'p'.repeat(256),
        databaseName: '0' + 'a'.repeat(127),
        regions: ['us-gov-west-1', 'ap-southeast-2', 'eu-central-1'],
        bytesScannedCutoffPerQuery: Size.bytes(10_485_760),
        resultsExpiration: Duration.hours(24),
        inventoryTypes: [InventoryType.TAG],
      }),
    ).not.toThrow();
  });

  test('tokens are not validated', () => {
    const text = Lazy.string({ produce: () => '' });
    const number = Lazy.number({ produce: () => 0 });
    const props = { bucket, accountIds: ACCOUNTS, regions: REGIONS };
    expect(() =>
      new InventoryQueryLayer(stack, 'Query', {
        ...props,
        bucketPrefix: text,
        accountIds: [text, text],
        regions: Token.asList(Lazy.list({ produce: () => [] })),
        databaseName: text,
        bytesScannedCutoffPerQuery: Size.bytes(number),
        resultsExpiration: Duration.days(number),
      }),
    ).not.toThrow();
    const workGroup = Lazy.string({ produce: () => 'not valid' });
    expect(() => new InventoryQueryLayer(stack, 'Other', { ...props, databaseName: 'other', workGroupName: workGroup })).not.toThrow();
  });
});
