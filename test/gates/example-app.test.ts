import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App, Aws, CfnMapping, Fn, Stack } from 'aws-cdk-lib';
import * as cloudformation from 'aws-cdk-lib/aws-cloudformation';
import * as events from 'aws-cdk-lib/aws-events';
import * as oam from 'aws-cdk-lib/aws-oam';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { BOOT_SITE, buildExampleApp, CENTRAL, CENTRAL_REFERENCE, FleetCentralStack, FLEET_REGIONS, FleetMemberStack, MEMBER_ACCOUNTS, memberStackId, ROLLOUT_OU } from '../../bin/example';
import { ConfigRecorderChoice, InventoryDataSync } from '../../lib';
import { architecture, ARCHITECTURE_SVG, renderArchitectureSvg } from '../../scripts/render-architecture';
import { CDK_JSON_CONTEXT, cdkJsonApp, Finding, nagFindings, synthFindings } from '../support/gates';

// The gates on the example app that `npm run synth` builds (with the context of cdk.json): CloudFormation schema
// validation as errors (synth throws), the cfn-guard Control Tower rules, and cdk-nag AwsSolutions + NIST 800-53 R5 +
// HIPAA Security, over every stack. The stack where machines boot is built environment-agnostic (as `npm run synth`)
// and with an explicit account and Region (`-c env=...`), as multi-account apps define it. Each variant is built,
// synthesized and checked once; the deliberately broken apps below hold one small stack, not the whole app.

const VARIANTS: [string, Record<string, string>][] = [
  ['without env', {}],
  [`with env ${BOOT_SITE.account}/${BOOT_SITE.region}`, { env: `${BOOT_SITE.account}/${BOOT_SITE.region}` }],
];

/** The member stacks: every member account in every Region but the boot site's, whose stack is HybridFleetExample. */
const MEMBER_STACKS = MEMBER_ACCOUNTS.flatMap((account) => FLEET_REGIONS.map((region) => memberStackId(account, region)))
  .filter((id) => id !== memberStackId(BOOT_SITE.account, BOOT_SITE.region));

describe.each(VARIANTS)('example app %s', (_name, context) => {
  let app: App;
  let stacks: Stack[];
  let activation: Stack;
  let nag: Finding[];
  let synth: Finding[];
  const stack = (name: string): Stack => stacks.find((s) => s.stackName === name)!;

  beforeAll(() => {
    app = buildExampleApp(cdkJsonApp({ context }));
    stacks = app.node.children.filter((c): c is Stack => c instanceof Stack);
    activation = stack('HybridFleetExample');
    nag = nagFindings(app);
    synth = synthFindings(app);
  });

  test('a central account (two Regions), the StackSet rollout, each member account in each Region (the boot site being one), the private fleet', () => {
    expect(stacks.map((s) => s.stackName)).toEqual(['FleetCentral', 'FleetCentralSink-us-east-1', 'FleetRollout', ...MEMBER_STACKS, 'HybridFleetExample', 'PrivateFleet']);
    expect(stacks.filter((s) => s !== activation).map((s) => `${s.account}/${s.region}`)).toEqual([
      `${CENTRAL.account}/${CENTRAL.region}`, `${CENTRAL.account}/us-east-1`, `${CENTRAL.account}/${CENTRAL.region}`,
      '444455556666/us-east-1', '777788889999/eu-west-1', '777788889999/us-east-1',
      '777788889999/eu-west-1',
    ]);
  });

  test('the members know the central account by the values its HybridFleetCentral reference gives', () => {
    const reference = (stack('FleetCentral') as FleetCentralStack).central.reference();
    const { observabilitySinkArns, ...plain } = CENTRAL_REFERENCE;
    // Tokens resolved as CloudFormation would in the aws partition.
    const literal = (v: any): unknown => (v?.['Fn::Join'] ? v['Fn::Join'][1].map((p: any) => (p?.Ref === 'AWS::Partition' ? 'aws' : p)).join(v['Fn::Join'][0]) : v);
    const resolved = stack('FleetCentral').resolve({ ...reference, observabilitySinkArns: undefined });
    expect(Object.fromEntries(Object.entries(resolved).map(([k, v]) => [k, literal(v)]))).toEqual(plain);
    // The sink ARNs are known only after deployment: one per Region, each of a central stack with a sink there.
    expect(Object.keys(observabilitySinkArns!)).toEqual(FLEET_REGIONS);
    for (const [region, arn] of Object.entries(observabilitySinkArns!)) {
      const sinkStack = stacks.find((s) => s.account === CENTRAL.account && s.region === region && Object.keys(Template.fromStack(s).findResources('AWS::Oam::Sink')).length === 1);
      expect({ region, arn: arn.split(':').slice(3, 5).join(':'), sinkStack: sinkStack?.stackName !== undefined }).toEqual({ region, arn: `${region}:${CENTRAL.account}`, sinkStack: true });
    }
  });

  test('the StackSet rolls the member, without the activation API or any asset, out to the OU in both Regions', () => {
    const rollout = Template.fromStack(stack('FleetRollout'));
    rollout.hasResourceProperties('AWS::CloudFormation::StackSet', {
      PermissionModel: 'SERVICE_MANAGED', CallAs: 'DELEGATED_ADMIN', AutoDeployment: Match.objectLike({ Enabled: true }),
      StackInstancesGroup: [{ DeploymentTargets: { OrganizationalUnitIds: [ROLLOUT_OU] }, Regions: FLEET_REGIONS }],
    });
    const template = stack('FleetRollout').node.children.find((c): c is Stack => Stack.isStack(c))!;
    const member = Template.fromJSON(JSON.parse(readFileSync(path.join(app.synth().directory, template.templateFile), 'utf8')));
    member.resourceCountIs('AWS::ApiGateway::RestApi', 0);
    member.resourceCountIs('AWS::Lambda::Function', 0);
    member.resourceCountIs('AWS::SSM::ResourceDataSync', 1);
    member.resourceCountIs('AWS::Oam::Link', 1);
  });

  test('the stack where machines boot has the environment the variant asks for', () => {
    expect(activation.resolve(activation.region)).toEqual(context.env ? BOOT_SITE.region : { Ref: 'AWS::Region' });
    expect(activation.resolve(activation.account)).toEqual(context.env ? BOOT_SITE.account : { Ref: 'AWS::AccountId' });
  });

  test('synthesizes with schema validation on and no unacknowledged cfn-guard finding', () => {
    expect(synth).toEqual([]);
  });

  test('no warning or error annotation in any stack (what `npx cdk synth --quiet` would print)', () => {
    const messages = app.synth().stacks.flatMap((artifact) => artifact.messages
      .filter((m) => m.level !== 'info').map((m) => `${m.level} ${m.id}: ${String(m.entry.data)}`));
    expect(messages).toEqual([]);
  });

  test('no unacknowledged cdk-nag error or warning in any pack, in any stack', () => {
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

  test('the central bucket admits the member accounts, and Athena projects every member account and Region', () => {
    const central = Template.fromStack(stack('FleetCentral'));
    central.hasResourceProperties('AWS::S3::Bucket', { BucketName: 'hybrid-fleet-inventory-111122223333-eu-west-1' });
    central.resourceCountIs('AWS::Glue::Table', 14);
    central.hasResourceProperties('AWS::Glue::Table', {
      TableInput: Match.objectLike({ Parameters: Match.objectLike({
        'projection.accountid.values': [CENTRAL.account, ...MEMBER_ACCOUNTS].join(','), 'projection.region.values': FLEET_REGIONS.join(','),
      }) }),
    });
    central.hasResourceProperties('AWS::Events::EventBus', { Name: 'hybrid-fleet-alerts' });
    central.resourceCountIs('AWS::Oam::Sink', 1);
    central.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    expect(JSON.stringify(central.findResources('AWS::S3::BucketPolicy'))).toContain('777788889999');
  });

  test('each member account and Region syncs once to the central bucket, and collects unless Quick Setup does', () => {
    for (const name of [...MEMBER_STACKS, 'HybridFleetExample']) {
      const member = stack(name);
      const template = Template.fromStack(member);
      template.resourceCountIs('AWS::SSM::ResourceDataSync', 1);
      const [sync] = Object.values(template.findResources('AWS::SSM::ResourceDataSync'));
      const destination = member.resolve(sync.Properties.S3Destination);
      expect({ name, bucket: destination.BucketName, region: destination.BucketRegion, bucketPrefix: destination.BucketPrefix }).toEqual({
        name, bucket: 'hybrid-fleet-inventory-111122223333-eu-west-1', region: 'eu-west-1', bucketPrefix: 'inventory',
      });
      const collects = name !== memberStackId('777788889999', 'us-east-1');
      const inventory = Object.values(template.findResources('AWS::SSM::Association')).filter((a) => a.Properties.Name === 'AWS-GatherSoftwareInventory');
      expect({ name, inventoryAssociations: inventory.length }).toEqual({ name, inventoryAssociations: collects ? 1 : 0 });
    }
  });

  test('compliance in every member and the boot site, with exactly one recorder per account and Region', () => {
    const recorders = stacks.filter((s) => Object.keys(Template.fromStack(s).findResources('AWS::Config::ConfigurationRecorder')).length > 0);
    for (const s of [...MEMBER_STACKS.map(stack), activation]) {
      // Each member forwards its alerts to the central bus and links its metrics to the sink of its Region.
      expect({ s: s.stackName, alerts: JSON.stringify(Template.fromStack(s).findResources('AWS::Events::Rule')).includes('event-bus/hybrid-fleet-alerts') }).toEqual({ s: s.stackName, alerts: true });
      Template.fromStack(s).resourceCountIs('AWS::Oam::Link', 1);
    }
    expect(recorders.map((s) => s.stackName)).toEqual([memberStackId('444455556666', 'us-east-1'), 'HybridFleetExample']);
    for (const s of [...MEMBER_STACKS.map(stack), activation]) {
      const template = Template.fromStack(s);
      template.hasResourceProperties('AWS::Config::ConfigRule', { Source: { Owner: 'AWS', SourceIdentifier: 'EC2_MANAGEDINSTANCE_PATCH_COMPLIANCE_STATUS_CHECK' } });
      template.hasResourceProperties('AWS::Config::RemediationConfiguration', { Automatic: false, Parameters: Match.objectLike({ ComplianceType: { StaticValue: { Values: ['Patch'] } } }) });
    }
    const fleet = Template.fromStack(activation);
    fleet.hasResourceProperties('AWS::Config::ConfigRule', { Source: { Owner: 'AWS', SourceIdentifier: 'EC2_INSTANCE_PROFILE_ATTACHED' } });
    fleet.hasResourceProperties('AWS::SNS::Topic', { DisplayName: 'Hybrid fleet compliance' });
    fleet.resourceCountIs('AWS::SNS::Topic', 1);
  });

  test('the architecture picture: every stack, and the cross-account flows read from the templates', () => {
    const arch = architecture(app);
    expect(arch.stacks.filter((s) => !s.id.includes('#')).map((s) => s.title)).toEqual(stacks.map((s) => s.stackName));
    // Each member's link names the sink of its Region; the environment-agnostic boot site looks its sink up by
    // AWS::Region at deploy time, which the picture cannot resolve (no arrow).
    const flowsOf = (m: string): string[] => (m === 'HybridFleetExample' && !context.env ? [`${m} -> FleetCentral: inventory + alerts`]
      : m.endsWith('us-east-1') ? [`${m} -> FleetCentral: inventory + alerts`, `${m} -> FleetCentralSink-us-east-1: metrics (OAM)`]
        : [`${m} -> FleetCentral: inventory + alerts + metrics (OAM)`]);
    expect(arch.flows.map((f) => `${f.from} -> ${f.to}: ${f.label}`)).toEqual([
      `FleetRollout -> FleetRollout#hybrid-fleet-member#OU ${ROLLOUT_OU}#eu-west-1: StackSet (service-managed)`,
      `FleetRollout -> FleetRollout#hybrid-fleet-member#OU ${ROLLOUT_OU}#us-east-1: StackSet (service-managed)`,
      ...[...MEMBER_STACKS, 'HybridFleetExample'].flatMap(flowsOf),
    ]);
    // docs/architecture.svg (the README's first picture) is what scripts/render-architecture.ts renders from the app
    // `npm run synth -- -c env=<boot site>` builds: after changing the example, run `npm run docs:architecture`.
    if (context.env) expect(readFileSync(ARCHITECTURE_SVG, 'utf8')).toBe(renderArchitectureSvg(arch));
  });

  test('the private fleet reaches Systems Manager through VPC endpoints and patches its stopped dev/test instances', () => {
    const template = Template.fromStack(stack('PrivateFleet'));
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
});

describe('example app gates prove themselves', () => {
  // One small stack of the example (a member, built by the example's own class, with the app context of cdk.json),
  // changed on purpose: the same gates must report it. The whole app is not built again for this.
  let app: App;
  let member: Stack;
  beforeEach(() => {
    app = cdkJsonApp();
    member = new FleetMemberStack(app, 'Member', {
      env: { account: '777788889999', region: 'us-east-1' }, collect: false, configRecorder: ConfigRecorderChoice.existing(),
    });
  });

  test('the small stack alone is clean, and a deliberately broken resource in it is reported by cdk-nag and cfn-guard', () => {
    expect(nagFindings(member)).toEqual([]);
    // An unlogged bucket without SSL enforcement violates AwsSolutions-S1/S10 and Control Tower S3 rules.
    new s3.Bucket(member, 'Unsafe');
    expect(nagFindings(member).map((f) => f.rule)).toEqual(expect.arrayContaining(['AwsSolutions-S1', 'AwsSolutions-S10']));
    // aws-cdk-lib prints the validation report of this deliberately broken app on stderr (expected here, so it is
    // captured instead of printed), and fails the synth with it unless some finding of the app is acknowledged.
    const printed = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    let report: string;
    try {
      report = JSON.stringify(synthFindings(app));
    } catch (err) {
      report = String(err);
    } finally {
      printed.mockRestore();
    }
    expect(report).toMatch(/s3_bucket_logging_enabled_check/);
    expect(report).toMatch(/Member\/Unsafe\/Resource/);
  });

  test('a CloudFormation schema violation fails synthesis', () => {
    new ssm.CfnMaintenanceWindow(member, 'TooLong', {
      name: 'too-long', schedule: 'rate(7 days)', duration: 30, cutoff: 1, allowUnassociatedTargets: false,
    });
    expect(() => app.synth({ force: true })).toThrow(/greater than the maximum of 24/);
  });
});

test('the architecture picture derives every kind of cross-account flow from the templates', () => {
  // Plain L1 resources, as the fleet constructs synthesize them: the flows come from the templates, not the classes.
  const fleet = (sinkInMemberRegion: boolean): App => {
    const app = new App();
    const central = new Stack(app, 'Central', { env: { account: '111122223333', region: 'eu-west-1' } });
    new s3.CfnBucket(central, 'Inventory', { bucketName: 'inventory-central' });
    new events.CfnEventBus(central, 'Bus', { name: 'fleet-alerts' });
    new oam.CfnSink(central, 'Sink', { name: 'fleet' });
    const template = new Stack(central, 'MemberTemplate');
    new InventoryDataSync(template, 'Sync', { bucket: s3.Bucket.fromBucketName(template, 'B', 'inventory-central'), bucketRegion: 'eu-west-1' });
    new cloudformation.CfnStackSet(central, 'Rollout', {
      stackSetName: 'fleet-members', permissionModel: 'SERVICE_MANAGED', autoDeployment: { enabled: true },
      templateUrl: 'https://s3.eu-west-1.amazonaws.com/assets/member.template.json',
      stackInstancesGroup: [{ deploymentTargets: { organizationalUnitIds: ['ou-ab12-34cd56ef'] }, regions: ['eu-west-1', 'us-east-1'] }],
    });
    const member = new Stack(app, 'Member', { env: { account: '444455556666', region: 'us-east-1' } });
    new ssm.CfnResourceDataSync(member, 'Sync', { syncName: 's', s3Destination: { bucketName: 'inventory-central', bucketRegion: 'eu-west-1', syncFormat: 'JsonSerDe' } });
    new events.CfnRule(member, 'Forward', {
      eventPattern: { source: ['aws.config'] },
      targets: [{ id: 'bus', arn: `arn:${Aws.PARTITION}:events:eu-west-1:111122223333:event-bus/fleet-alerts` }],
    });
    new CfnMapping(member, 'Sinks', { mapping: { 'us-east-1': { arn: 'arn:aws:oam:us-east-1:111122223333:sink/x' } } });
    new oam.CfnLink(member, 'Link', { resourceTypes: ['AWS::CloudWatch::Metric'], sinkIdentifier: Fn.findInMap('Sinks', Aws.REGION, 'arn') });
    new sns.CfnTopic(new Stack(app, 'Unrelated', { env: { account: '777788889999', region: 'eu-west-1' } }), 'Topic');
    if (sinkInMemberRegion) new oam.CfnSink(new Stack(app, 'CentralUs', { env: { account: '111122223333', region: 'us-east-1' } }), 'Sink', { name: 'fleet' });
    return app;
  };

  const arch = architecture(fleet(false));
  expect(arch.flows.map((f) => `${f.from} -> ${f.to}: ${f.label}`)).toEqual([
    'Central -> Central#fleet-members#OU ou-ab12-34cd56ef#eu-west-1: StackSet (service-managed)',
    'Central -> Central#fleet-members#OU ou-ab12-34cd56ef#us-east-1: StackSet (service-managed)',
    'Member -> Central: inventory + alerts',
    // The sink named is in us-east-1, where the central account has no stack in this app: no arrow.
  ]);
  // The StackSet's boxes carry the constructs of its template stack, placed in the OU and each Region.
  const instances = arch.stacks.filter((s) => s.id.includes('#'));
  expect(instances.map((s) => [s.account, s.region, s.constructs])).toEqual([
    ['OU ou-ab12-34cd56ef, new accounts too', 'eu-west-1', ['InventoryDataSync Sync']],
    ['OU ou-ab12-34cd56ef, new accounts too', 'us-east-1', ['InventoryDataSync Sync']],
  ]);
  // With the sink in the member's Region, the link gets its arrow.
  const withSink = architecture(fleet(true));
  expect(withSink.flows.filter((f) => f.label.startsWith('metrics')).map((f) => `${f.from} -> ${f.to}`)).toEqual(['Member -> CentralUs']);
  expect(renderArchitectureSvg(withSink)).toContain('>metrics (OAM)</text>');
});

test('the gated app has the context of cdk.json, which `npm run synth` uses', () => {
  const app = cdkJsonApp();
  for (const [key, value] of Object.entries(CDK_JSON_CONTEXT)) expect({ key, value: app.node.tryGetContext(key) }).toEqual({ key, value });
  expect(CDK_JSON_CONTEXT['@aws-cdk/core:validateAgainstDefaultRules']).toBe(true);
});
