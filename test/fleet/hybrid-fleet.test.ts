import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { IConstruct } from 'constructs';
import {
  AgentInstallerProps,
  AgentTargets,
  ConfigRecorderChoice,
  HybridFleet,
  HybridFleetProps,
  PatchOperatingSystem,
} from '../../lib';
import { allFindings, testApp } from '../support/gates';
import { quotaWarnings } from '../support/quota-warnings';

const EU = { account: '111122223333', region: 'eu-west-1' };

const INSTALLER: AgentInstallerProps = {
  agentName: 'Falcon',
  agentVersion: '7.10.0',
  distributorPackageName: 'FalconSensor',
  distributorPackageVersion: '7.10.0',
  stages: [{ name: 'canary', targets: AgentTargets.tags({ Ring: ['canary'] }) }],
};

/** Every part on, with props of its own. */
const FULL: HybridFleetProps = {
  central: { inventoryBucketPrefix: 'fleet-data', alertBusName: 'fleet-alerts' },
  activation: { allowedTags: [{ key: 'PatchMode', values: ['report', 'enforce'] }], markerTagValue: 'fleet' },
  patching: { groups: [{ patchGroupName: 'web' }, { patchGroupName: 'db', patchStoppedInstances: true }] },
  inventory: { collect: true },
  compliance: { recorder: ConfigRecorderChoice.create(), instanceProfileCoverage: true },
  agentInstallers: [INSTALLER],
};

let stack: Stack;
beforeEach(() => {
  stack = new Stack(testApp(), 'Fleet');
});

const define = (props?: HybridFleetProps) => new HybridFleet(stack, 'Fleet', props);
const template = () => Template.fromStack(stack);
const count = (type: string) => Object.keys(template().findResources(type)).length;
const logicalIdOf = (construct: IConstruct) => stack.resolve(stack.getLogicalId(construct.node.defaultChild as any));

describe('composition', () => {
  test('a central part and a member part in one stack, with the member syncing to the central bucket after its policy', () => {
    const fleet = define();
    const sync = Object.values(template().findResources('AWS::SSM::ResourceDataSync'));
    expect(sync).toHaveLength(1);
    expect(sync[0].Properties.S3Destination).toEqual({
      // The central bucket's name as the central part names it (a plain value in a stack with an explicit env).
      BucketName: { 'Fn::Join': ['', ['hybrid-fleet-inventory-', { Ref: 'AWS::AccountId' }, '-', { Ref: 'AWS::Region' }]] },
      BucketRegion: { Ref: 'AWS::Region' },
      BucketPrefix: 'inventory',
      SyncFormat: 'JsonSerDe',
    });
    expect(sync[0].DependsOn).toEqual(expect.arrayContaining([logicalIdOf(fleet.central.inventoryBucket.bucket.policy!)]));
    // The central bucket and its access-log bucket, the patch log bucket and the Athena results bucket: no member inventory bucket.
    template().resourceCountIs('AWS::S3::Bucket', 4);
    expect(fleet.member.inventorySync!.inventoryBucket).toBeUndefined();
    template().resourceCountIs('AWS::Glue::Table', 14);
    template().resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    template().resourceCountIs('AWS::ApiGateway::RestApi', 1);
  });

  test('one topic, the central one, for alarms, patch failures, compliance and installer alerts; nothing goes through the bus', () => {
    const fleet = define({ compliance: { recorder: ConfigRecorderChoice.existing() }, agentInstallers: [INSTALLER] });
    template().resourceCountIs('AWS::SNS::Topic', 1);
    expect(fleet.member.notificationTopic).toBe(fleet.central.topic);
    expect(fleet.member.compliance!.topic).toBe(fleet.central.topic);
    const topicRef = { Ref: logicalIdOf(fleet.central.topic as unknown as IConstruct) };
    template().hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmActions: [topicRef] });
    template().hasResourceProperties('AWS::SSM::MaintenanceWindowTask', {
      TaskInvocationParameters: { MaintenanceWindowRunCommandParameters: Match.objectLike({ NotificationConfig: Match.objectLike({ NotificationArn: topicRef }) }) },
    });
    // Only the central bus's own rules target the topic from the bus; no member rule forwards to the bus.
    expect(fleet.member.alertBus).toBeUndefined();
    expect(JSON.stringify(template().findResources('AWS::IAM::Policy'))).not.toContain('events:PutEvents');
  });

  test('one node role, the activation API\'s, for every patch group and installer', () => {
    const fleet = define({ patching: { groups: [{ patchGroupName: 'web' }, { patchGroupName: 'db' }] }, agentInstallers: [INSTALLER] });
    const roleId = logicalIdOf(fleet.member.instanceRole!);
    const onRole = Object.values(template().findResources('AWS::IAM::ManagedPolicy'))
      .filter((p) => JSON.stringify(p.Properties.Roles ?? []).includes(roleId));
    expect(onRole).toHaveLength(3);
  });

  test('no OAM link in one account, even when the central part has a sink for other accounts', () => {
    const fleet = define({ central: { memberAccounts: ['444455556666'] } });
    template().resourceCountIs('AWS::Oam::Sink', 1);
    template().resourceCountIs('AWS::Oam::Link', 0);
    expect(fleet.member.observabilityLink).toBeUndefined();
  });

  test('deploy-ready: every Ref and Fn::GetAtt names a resource, parameter or pseudo parameter of the template; no import', () => {
    define(FULL);
    const json = template().toJSON();
    const known = new Set([...Object.keys(json.Resources), ...Object.keys(json.Parameters ?? {})]);
    const missing: string[] = [];
    const visit = (value: unknown): void => {
      if (Array.isArray(value)) return value.forEach(visit);
      if (value === null || typeof value !== 'object') return;
      for (const [key, inner] of Object.entries(value)) {
        if (key === 'Fn::ImportValue') missing.push(`import ${JSON.stringify(inner)}`);
        if (key === 'Ref' && typeof inner === 'string' && !inner.startsWith('AWS::') && !known.has(inner)) missing.push(inner);
        if (key === 'Fn::GetAtt') {
          const target = Array.isArray(inner) ? inner[0] : String(inner).split('.')[0];
          if (!known.has(target)) missing.push(target);
        }
        visit(inner);
      }
    };
    visit(json.Resources);
    visit(json.Outputs);
    expect(missing).toEqual([]);
  });
});

describe('parts on and off', () => {
  test.each<[string, HybridFleetProps, string[]]>([
    ['activation', { activation: { enabled: false } }, ['AWS::ApiGateway::RestApi']],
    ['patching', { patching: { enabled: false } }, ['AWS::SSM::PatchBaseline', 'AWS::SSM::MaintenanceWindow', 'AWS::SSM::Association']],
    ['inventory sync', { inventory: { sync: false } }, ['AWS::SSM::ResourceDataSync']],
    ['query layer', { central: { queryLayer: false } }, ['AWS::Glue::Database', 'AWS::Glue::Table', 'AWS::Athena::WorkGroup']],
    ['dashboard', { central: { dashboard: false } }, ['AWS::CloudWatch::Dashboard']],
  ])('%s off removes its resources', (_part, props, types) => {
    define();
    for (const type of types) expect(count(type)).toBeGreaterThan(0);
    stack = new Stack(testApp(), 'Off');
    define(props);
    for (const type of types) template().resourceCountIs(type, 0);
  });

  test('compliance metrics off removes the metrics function', () => {
    define();
    const metricsFunctions = () => Object.values(template().findResources('AWS::Lambda::Function'))
      .filter((f) => f.Properties.Environment?.Variables?.MODE_TAG_KEY !== undefined);
    expect(metricsFunctions()).toHaveLength(1);
    stack = new Stack(testApp(), 'Off');
    define({ complianceMetrics: false });
    expect(metricsFunctions()).toHaveLength(0);
  });

  test('the opt-in parts are off by default and on when given', () => {
    define();
    const gather = () => Object.values(template().findResources('AWS::SSM::Association')).filter((a) => a.Properties.Name === 'AWS-GatherSoftwareInventory');
    expect(gather()).toHaveLength(0);
    template().resourceCountIs('AWS::Config::ConfigRule', 0);
    template().resourceCountIs('AWS::SSM::Document', 0);
    stack = new Stack(testApp(), 'On');
    define({ inventory: { collect: true }, compliance: { recorder: ConfigRecorderChoice.existing() }, agentInstallers: [INSTALLER] });
    expect(gather()).toHaveLength(1);
    template().resourceCountIs('AWS::Config::ConfigRule', 2);
    template().hasResourceProperties('AWS::SSM::Association', { AssociationName: 'On-Falcon-canary' });
  });
});

describe('props reach the parts', () => {
  test('central props: the bucket prefix reaches the bucket policy and the member\'s sync; the bus name the bus', () => {
    define({ central: { inventoryBucketPrefix: 'fleet-data', alertBusName: 'fleet-alerts' } });
    template().hasResourceProperties('AWS::SSM::ResourceDataSync', { S3Destination: Match.objectLike({ BucketPrefix: 'fleet-data' }) });
    expect(JSON.stringify(template().findResources('AWS::S3::BucketPolicy'))).toContain('fleet-data/*/accountid=');
    template().hasResourceProperties('AWS::Events::EventBus', { Name: 'fleet-alerts' });
  });

  test('a central bucket name and explicit environment give the sync plain values', () => {
    stack = new Stack(testApp(), 'Fleet', { env: EU });
    define({ central: { inventoryBucketName: 'fleet-inventory-eu' } });
    template().hasResourceProperties('AWS::SSM::ResourceDataSync', {
      S3Destination: Match.objectLike({ BucketName: 'fleet-inventory-eu', BucketRegion: 'eu-west-1' }),
    });
    template().hasResourceProperties('AWS::S3::Bucket', { BucketName: 'fleet-inventory-eu' });
  });

  test('member props: activation, patching, inventory, compliance and installers', () => {
    define({
      activation: { stageName: 'prod' },
      patching: { groups: [{ patchGroupName: 'web' }], operatingSystems: [PatchOperatingSystem.WINDOWS] },
      inventory: { collection: { associationName: 'fleet-inventory' } },
      compliance: { recorder: ConfigRecorderChoice.existing(), associationCompliance: false },
      agentInstallers: [INSTALLER],
    });
    template().hasResourceProperties('AWS::ApiGateway::Stage', { StageName: 'prod' });
    template().hasResourceProperties('AWS::SSM::PatchBaseline', { OperatingSystem: 'WINDOWS', PatchGroups: ['web'] });
    template().resourceCountIs('AWS::SSM::PatchBaseline', 1);
    template().hasResourceProperties('AWS::SSM::Association', { Name: 'AWS-GatherSoftwareInventory', AssociationName: 'fleet-inventory' });
    template().resourceCountIs('AWS::Config::ConfigRule', 1);
    template().hasResourceProperties('AWS::SSM::Association', { AssociationName: 'Fleet-Falcon-canary' });
  });
});

describe('quotas', () => {
  test('the full fleet stays within every Systems Manager default quota', () => {
    define(FULL);
    expect(quotaWarnings(stack.node.root)).toEqual([]);
  });

  test('a fleet with many groups warns through the quota guard: groups per baseline and maintenance windows', () => {
    const groups = Array.from({ length: 51 }, (_, i) => ({ patchGroupName: `group-${i}` }));
    define({ patching: { groups, operatingSystems: [PatchOperatingSystem.AMAZON_LINUX_2023] } });
    expect(quotaWarnings(stack.node.root).sort()).toEqual(['maintenanceWindows', 'patchGroupsPerBaseline']);
  });
});

describe('gates', () => {
  test.each([
    ['environment-agnostic', undefined],
    ['explicit environment', EU],
  ])('new HybridFleet(this, \'Fleet\') passes every gate (%s)', (_name, env) => {
    const app = testApp();
    new HybridFleet(new Stack(app, 'Fleet', { env }), 'Fleet');
    expect(allFindings(app)).toEqual([]);
  });

  test.each([
    ['environment-agnostic', undefined],
    ['explicit environment', EU],
  ])('the full fleet passes every gate (%s)', (_name, env) => {
    const app = testApp();
    new HybridFleet(new Stack(app, 'Fleet', { env }), 'Fleet', FULL);
    expect(allFindings(app)).toEqual([]);
  });
});
