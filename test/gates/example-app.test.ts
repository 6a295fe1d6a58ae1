import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { buildExampleApp } from '../../bin/example';
import { CDK_JSON_CONTEXT, cdkJsonApp, Finding, nagFindings, synthFindings } from '../support/gates';

// The gates on the example app that `npm run synth` builds (with the context of cdk.json): CloudFormation schema
// validation as errors (synth throws), the cfn-guard Control Tower rules, and cdk-nag AwsSolutions + NIST 800-53 R5 +
// HIPAA Security. The activation stack is built environment-agnostic (as `npm run synth`) and with an explicit
// account and Region (`-c env=...`), as multi-account apps define it. Each variant is built and checked once.

const VARIANTS: [string, Record<string, string>][] = [
  ['without env', {}],
  ['with env 111122223333/eu-west-1', { env: '111122223333/eu-west-1' }],
];

/** Each variant's app, built once for the whole file: the last describe adds to the first variant's on purpose. */
const apps = new Map<string, App>();
function exampleApp(context: Record<string, string>): App {
  const key = JSON.stringify(context);
  if (!apps.has(key)) apps.set(key, buildExampleApp(cdkJsonApp({ context })));
  return apps.get(key)!;
}

describe.each(VARIANTS)('example app %s', (_name, context) => {
  let app: App;
  let activation: Stack;
  let nag: Finding[];
  let synth: Finding[];

  beforeAll(() => {
    app = exampleApp(context);
    activation = app.node.findChild('HybridFleetExample') as Stack;
    nag = nagFindings(app);
    synth = synthFindings(app);
  });

  test('the activation stack has the environment the variant asks for', () => {
    expect(activation.resolve(activation.region)).toEqual(context.env ? 'eu-west-1' : { Ref: 'AWS::Region' });
    expect(activation.resolve(activation.account)).toEqual(context.env ? '111122223333' : { Ref: 'AWS::AccountId' });
  });

  test('synthesizes with schema validation on and no unacknowledged cfn-guard finding', () => {
    expect(synth).toEqual([]);
  });

  test('no unacknowledged cdk-nag error or warning in any pack', () => {
    expect(nag).toEqual([]);
  });

  test('defines the activation API with its instance role and boot launch template', () => {
    const template = Template.fromStack(activation);
    template.resourceCountIs('AWS::ApiGateway::RestApi', 1);
    template.resourceCountIs('AWS::EC2::LaunchTemplate', 1);
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: { MetadataOptions: { HttpTokens: 'required' } },
    });
  });

  test('installs the sample security agent in three rings by the AgentRing tag, only canary enforcing, with its switch', () => {
    const template = Template.fromStack(activation);
    const stages = Object.values(template.findResources('AWS::SSM::Association'))
      .map((a) => a.Properties)
      .filter((p) => p.Parameters?.agentName?.[0] === 'ExampleSecurityAgent')
      .map((p) => [p.Targets[0].Values[0], p.Parameters.mode[0]]);
    expect(stages).toEqual([['canary', 'enforce'], ['early', 'report'], ['broad', 'report']]);
    template.hasResourceProperties('AWS::SSM::Parameter', { Name: '/agent-installer/ExampleSecurityAgent/switch', Value: 'enabled' });
  });

  test('one central inventory stack and a member stack per other account and region, all syncing to one bucket', () => {
    const stacks = app.node.children.filter((c): c is Stack => c instanceof Stack);
    expect(stacks.map((s) => s.stackName).sort()).toEqual([
      'HybridFleetExample',
      'InventoryCentral',
      'InventoryMember-111122223333-us-east-1',
      'InventoryMember-444455556666-eu-west-1',
      'InventoryMember-444455556666-us-east-1',
      'PrivateFleet',
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
      expect({ stack: stack.stackName, region: destination.BucketRegion, bucketPrefix: destination.BucketPrefix }).toEqual({
        stack: stack.stackName, region: 'eu-west-1', bucketPrefix: 'inventory',
      });
      const collects = stack.stackName !== 'InventoryMember-444455556666-us-east-1';
      template.resourceCountIs('AWS::SSM::Association', collects ? 1 : 0);
    }
  });
  test('compliance in every stack but the central one, with exactly one recorder per account and Region', () => {
    // The private fleet shares its account and Region with a member stack, whose rules cover its nodes too.
    const stacks = app.node.children.filter((c): c is Stack => c instanceof Stack && !['InventoryCentral', 'PrivateFleet'].includes(c.stackName));
    const recorders = stacks.filter((s) => Object.keys(Template.fromStack(s).findResources('AWS::Config::ConfigurationRecorder')).length > 0);
    expect(recorders.map((s) => s.stackName)).toEqual(['InventoryMember-444455556666-eu-west-1']);
    for (const stack of stacks) {
      const template = Template.fromStack(stack);
      template.hasResourceProperties('AWS::Config::ConfigRule', { Source: { Owner: 'AWS', SourceIdentifier: 'EC2_MANAGEDINSTANCE_PATCH_COMPLIANCE_STATUS_CHECK' } });
      template.hasResourceProperties('AWS::Config::RemediationConfiguration', { Automatic: false, Parameters: Match.objectLike({ ComplianceType: { StaticValue: { Values: ['Patch'] } } }) });
    }
    const fleet = Template.fromStack(activation);
    fleet.hasResourceProperties('AWS::Config::ConfigRule', { Source: { Owner: 'AWS', SourceIdentifier: 'EC2_INSTANCE_PROFILE_ATTACHED' } });
    fleet.hasResourceProperties('AWS::SNS::Topic', { DisplayName: 'Hybrid fleet compliance' });
    fleet.resourceCountIs('AWS::SNS::Topic', 1);
  });
});

test('the private fleet reaches Systems Manager through VPC endpoints and patches its stopped dev/test instances', () => {
  const app = buildExampleApp(cdkJsonApp());
  const template = Template.fromStack(app.node.findChild('PrivateFleet') as Stack);
  const services = Object.values(template.findResources('AWS::EC2::VPCEndpoint')).map((e) => JSON.stringify(e.Properties.ServiceName));
  for (const service of ['ssm', 'ssmmessages', 'ec2messages', 'kms', 'logs', 's3']) {
    expect({ service, found: services.some((s) => s.includes(`.${service}`)) }).toEqual({ service, found: true });
  }
  template.hasResourceProperties('AWS::EC2::SecurityGroup', {
    SecurityGroupIngress: Match.arrayWith([Match.objectLike({ CidrIp: '10.20.0.0/16', FromPort: 443, ToPort: 443 })]),
  });
  template.hasResourceProperties('AWS::SSM::MaintenanceWindowTask', { TaskType: 'AUTOMATION' });
  template.resourceCountIs('AWS::SSM::Document', 1);
});

describe('example app gates prove themselves', () => {
  // The environment-agnostic build, its findings taken above, now changed on purpose: the same gates must report it.
  let app: App;
  let stack: Stack;
  beforeAll(() => {
    app = exampleApp(VARIANTS[0][1]);
    stack = app.node.findChild('HybridFleetExample') as Stack;
  });

  test('a deliberately broken resource is reported by cdk-nag and cfn-guard', () => {
    // An unlogged bucket without SSL enforcement violates AwsSolutions-S1/S10 and Control Tower S3 rules.
    new s3.Bucket(stack, 'Unsafe');
    expect(nagFindings(app).map((f) => f.rule)).toEqual(expect.arrayContaining(['AwsSolutions-S1', 'AwsSolutions-S10']));
    // aws-cdk-lib prints the validation report of this deliberately broken app on stderr: expected here, so it is
    // captured and checked instead of being printed into the test output.
    const printed = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      expect(synthFindings(app).map((f) => f.rule)).toEqual(expect.arrayContaining(['s3_bucket_logging_enabled_check']));
      const report = printed.mock.calls.flat().join('\n');
      expect(report).toContain('[CT.S3.PR.2]');
      expect(report).toContain('HybridFleetExample/Unsafe/Resource');
    } finally {
      printed.mockRestore();
    }
  });

  test('a CloudFormation schema violation fails synthesis', () => {
    new ssm.CfnMaintenanceWindow(stack, 'TooLong', {
      name: 'too-long', schedule: 'rate(7 days)', duration: 30, cutoff: 1, allowUnassociatedTargets: false,
    });
    expect(() => app.synth({ force: true })).toThrow(/greater than the maximum of 24/);
  });
});

test('the gated app has the context of cdk.json, which `npm run synth` uses', () => {
  const app = cdkJsonApp();
  for (const [key, value] of Object.entries(CDK_JSON_CONTEXT)) expect({ key, value: app.node.tryGetContext(key) }).toEqual({ key, value });
  expect(CDK_JSON_CONTEXT['@aws-cdk/core:validateAgainstDefaultRules']).toBe(true);
});
