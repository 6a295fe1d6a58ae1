import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
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
