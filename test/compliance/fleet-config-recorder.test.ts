import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as config from 'aws-cdk-lib/aws-config';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { ConfigRecorderChoice, FleetConfigRecorder } from '../../lib';
import { allFindings, testApp } from '../support/gates';
import { customerKey } from '../support/kms';

let stack: Stack;
beforeEach(() => {
  stack = new Stack(testApp(), 'Member');
});

test('records the SSM compliance and inventory types and EC2 instances, nothing else', () => {
  new FleetConfigRecorder(stack, 'Recorder');
  Template.fromStack(stack).hasResourceProperties('AWS::Config::ConfigurationRecorder', {
    RecordingGroup: {
      AllSupported: false,
      IncludeGlobalResourceTypes: false,
      RecordingStrategy: { UseOnly: 'INCLUSION_BY_RESOURCE_TYPES' },
      ResourceTypes: ['AWS::SSM::ManagedInstanceInventory', 'AWS::SSM::PatchCompliance', 'AWS::SSM::AssociationCompliance', 'AWS::EC2::Instance'],
    },
  });
});

test('adds further types once each', () => {
  new FleetConfigRecorder(stack, 'Recorder', {
    additionalResourceTypes: [config.ResourceType.SYSTEMS_MANAGER_FILE_DATA, config.ResourceType.EC2_INSTANCE],
  });
  Template.fromStack(stack).hasResourceProperties('AWS::Config::ConfigurationRecorder', {
    RecordingGroup: Match.objectLike({
      ResourceTypes: ['AWS::SSM::ManagedInstanceInventory', 'AWS::SSM::PatchCompliance', 'AWS::SSM::AssociationCompliance', 'AWS::EC2::Instance', 'AWS::SSM::FileData'],
    }),
  });
});

test('a delivery channel after the recorder, to a retained, versioned, encrypted bucket that Config may write to', () => {
  const recorder = new FleetConfigRecorder(stack, 'Recorder');
  const template = Template.fromStack(stack);
  const channel = Object.values(template.findResources('AWS::Config::DeliveryChannel'))[0];
  expect(channel.DependsOn).toContain(stack.getLogicalId(recorder.recorder));
  expect(channel.Properties.S3BucketName).toEqual(stack.resolve(recorder.bucket.bucketName));
  template.hasResource('AWS::S3::Bucket', {
    DeletionPolicy: 'Retain',
    Properties: Match.objectLike({
      VersioningConfiguration: { Status: 'Enabled' },
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
    }),
  });
  template.hasResourceProperties('AWS::S3::BucketPolicy', {
    PolicyDocument: {
      Statement: Match.arrayWith([
        Match.objectLike({
          Effect: 'Allow',
          Principal: { Service: 'config.amazonaws.com' },
          Action: 's3:PutObject',
          Condition: { StringEquals: { 'AWS:SourceAccount': { Ref: 'AWS::AccountId' }, 's3:x-amz-acl': 'bucket-owner-full-control' } },
        }),
      ]),
    },
  });
  template.hasResourceProperties('AWS::IAM::Role', {
    AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'config.amazonaws.com' } })] },
    ManagedPolicyArns: [{ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/service-role/AWS_ConfigRole']] }],
  });
});

test('a customer key encrypts the delivered objects; a given bucket is used as is', () => {
  const key = customerKey(stack);
  new FleetConfigRecorder(stack, 'Recorder', { encryptionKey: key });
  Template.fromStack(stack).hasResourceProperties('AWS::Config::DeliveryChannel', { S3KmsKeyArn: stack.resolve(key.keyArn) });

  const other = new Stack(testApp(), 'Other');
  const bucket = s3.Bucket.fromBucketName(other, 'Existing', 'config-bucket-example');
  new FleetConfigRecorder(other, 'Recorder', { deliveryBucket: bucket });
  Template.fromStack(other).resourceCountIs('AWS::S3::Bucket', 0);
  Template.fromStack(other).hasResourceProperties('AWS::Config::DeliveryChannel', { S3BucketName: 'config-bucket-example' });
});

test('refuses a second recorder in the stack, whoever defined the first', () => {
  new config.CfnConfigurationRecorder(stack, 'Hand', { roleArn: 'arn:aws:iam::111122223333:role/config' });
  expect(() => new FleetConfigRecorder(stack, 'Recorder')).toThrow(/there can be only one.*the first is at Member\/Hand/);
});

test('ConfigRecorderChoice says what it does', () => {
  expect(ConfigRecorderChoice.existing().createsRecorder).toBe(false);
  expect(ConfigRecorderChoice.create().createsRecorder).toBe(true);
  expect(ConfigRecorderChoice.create({ additionalResourceTypes: [] }).createOptions).toEqual({ additionalResourceTypes: [] });
});

test('FleetConfigRecorder passes every gate, with and without a customer key', () => {
  new FleetConfigRecorder(stack, 'Recorder');
  const keyed = new Stack(stack.node.root as never, 'Keyed', { env: { account: '111122223333', region: 'us-east-1' } });
  new FleetConfigRecorder(keyed, 'Recorder', { encryptionKey: customerKey(keyed) });
  expect(allFindings(stack.node.root as never)).toEqual([]);
});
