import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { buildExampleApp } from '../../bin/example';
import { ACKNOWLEDGEMENTS } from '../../lib/private/acknowledgements';
import { nagFindings, synthFindings, testApp } from '../support/gates';

// The gates on the example app that `npm run synth` builds: CloudFormation schema validation as errors (synth
// throws), the cfn-guard Control Tower rules, and cdk-nag AwsSolutions + NIST 800-53 R5 + HIPAA Security.

test('example app: synthesizes with schema validation on and no unacknowledged cfn-guard finding', () => {
  const app = buildExampleApp(testApp());
  expect(synthFindings(app)).toEqual([]);
});

test('example app: no unacknowledged cdk-nag error or warning in any pack', () => {
  const app = buildExampleApp(testApp());
  expect(nagFindings(app)).toEqual([]);
});

test('example app: the gates do catch a violation (a deliberately broken resource is reported)', () => {
  const app = buildExampleApp(testApp());
  const stack = app.node.findChild('HybridFleetExample') as Stack;
  // An unlogged bucket without SSL enforcement violates AwsSolutions-S1/S10 and Control Tower S3 rules.
  new s3.Bucket(stack, 'Unsafe');
  expect(nagFindings(app).map((f) => f.rule)).toEqual(expect.arrayContaining(['AwsSolutions-S1', 'AwsSolutions-S10']));
  expect(synthFindings(app).map((f) => f.rule)).toEqual(expect.arrayContaining(['s3_bucket_logging_enabled_check']));
});

test('example app: a CloudFormation schema violation fails synthesis', () => {
  const app = buildExampleApp(testApp());
  const stack = app.node.findChild('HybridFleetExample') as Stack;
  new ssm.CfnMaintenanceWindow(stack, 'TooLong', {
    name: 'too-long', schedule: 'rate(7 days)', duration: 30, cutoff: 1, allowUnassociatedTargets: false,
  });
  expect(() => app.synth()).toThrow(/greater than the maximum of 24/);
});

test('example app: defines the activation API with its instance role and boot launch template', () => {
  const app = buildExampleApp(testApp());
  const template = Template.fromStack(app.node.findChild('HybridFleetExample') as Stack);
  template.resourceCountIs('AWS::ApiGateway::RestApi', 1);
  template.resourceCountIs('AWS::EC2::LaunchTemplate', 1);
  template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
    LaunchTemplateData: { MetadataOptions: { HttpTokens: 'required' } },
  });
});

test('every acknowledgement carries a reason', () => {
  for (const [topic, ack] of Object.entries(ACKNOWLEDGEMENTS)) {
    expect({ topic, ids: ack.ids.length > 0, reason: ack.reason.length >= 40 }).toEqual({ topic, ids: true, reason: true });
  }
});

test('example app: one central inventory stack and a member stack per other account and region, all syncing to one bucket', () => {
  const app = buildExampleApp(testApp());
  const stacks = app.node.children.filter((c): c is Stack => c instanceof Stack);
  expect(stacks.map((s) => s.stackName).sort()).toEqual([
    'HybridFleetExample',
    'InventoryCentral',
    'InventoryMember-111122223333-us-east-1',
    'InventoryMember-444455556666-eu-west-1',
    'InventoryMember-444455556666-us-east-1',
  ]);

  const central = Template.fromStack(stacks.find((s) => s.stackName === 'InventoryCentral')!);
  central.hasResourceProperties('AWS::S3::Bucket', { BucketName: 'hybrid-fleet-inventory-111122223333-eu-west-1' });
  central.resourceCountIs('AWS::Glue::Table', 14);
  central.hasResourceProperties('AWS::Glue::Table', {
    TableInput: Match.objectLike({ Parameters: Match.objectLike({ 'projection.accountid.values': '111122223333,444455556666' }) }),
  });

  // Every account and region has exactly one sync to the central bucket and prefix; every one but the sync-only
  // member (Quick Setup collects there) has exactly one inventory association.
  for (const stack of stacks.filter((s) => s.stackName.startsWith('Inventory'))) {
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::SSM::ResourceDataSync', 1);
    const [sync] = Object.values(template.findResources('AWS::SSM::ResourceDataSync'));
    const destination = stack.resolve(sync.Properties.S3Destination);
    expect({ stack: stack.stackName, region: destination.BucketRegion, prefix: destination.BucketPrefix }).toEqual({
      stack: stack.stackName, region: 'eu-west-1', prefix: 'inventory',
    });
    const collects = stack.stackName !== 'InventoryMember-444455556666-us-east-1';
    template.resourceCountIs('AWS::SSM::Association', collects ? 1 : 0);
  }
});
