import { CfnParameter, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import {
  AgentInstallerProps,
  AgentTargets,
  AssociationSchedule,
  ConfigRecorderChoice,
  HybridFleetCentralReference,
  HybridFleetMember,
  HybridFleetMemberProps,
  PatchBaseline,
  PatchGroupTagKey,
  PatchOperatingSystem,
} from '../../lib';
import { allFindings, testApp } from '../support/gates';
import { quotaWarnings } from '../support/quota-warnings';

const CENTRAL: HybridFleetCentralReference = {
  account: '111122223333',
  region: 'eu-west-1',
  inventoryBucketName: 'hybrid-fleet-inventory-111122223333-eu-west-1',
  inventoryBucketPrefix: 'inventory',
  inventoryKeyArn: 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
  alertBusArn: 'arn:aws:events:eu-west-1:111122223333:event-bus/hybrid-fleet-alerts',
  observabilitySinkArns: {
    'eu-west-1': 'arn:aws:oam:eu-west-1:111122223333:sink/aaaaaaaa-1111-2222-3333-444444444444',
    'us-east-1': 'arn:aws:oam:us-east-1:111122223333:sink/bbbbbbbb-1111-2222-3333-444444444444',
  },
};

const INSTALLER: AgentInstallerProps = {
  agentName: 'Falcon',
  agentVersion: '7.10.0',
  distributorPackageName: 'FalconSensor',
  distributorPackageVersion: '7.10.0',
  stages: [{ name: 'canary', targets: AgentTargets.tags({ Ring: ['canary'] }) }],
};

let stack: Stack;
beforeEach(() => {
  stack = new Stack(testApp(), 'Member');
});

const define = (props?: HybridFleetMemberProps) => new HybridFleetMember(stack, 'Member', props);
const template = () => Template.fromStack(stack);
const count = (type: string) => Object.keys(template().findResources(type)).length;
const associationsOf = (document: string) => Object.values(template().findResources('AWS::SSM::Association'))
  .filter((r) => r.Properties.Name === document);
const logicalIdOf = (construct: { node: { defaultChild?: unknown } } | iam.IRole | s3.IBucket | sns.ITopic) =>
  stack.resolve(stack.getLogicalId((construct as any).node.defaultChild));

describe('defaults', () => {
  test('an activation API whose new nodes join the default patch group in report mode', () => {
    define();
    template().resourceCountIs('AWS::ApiGateway::RestApi', 1);
    template().hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ DEFAULT_TAGS: JSON.stringify({ PatchGroup: 'hybrid-fleet', PatchMode: 'report' }) }) },
    });
  });

  test('one patch group on critical and security baselines for five operating systems, never the default baseline', () => {
    define();
    const baselines = Object.values(template().findResources('AWS::SSM::PatchBaseline'));
    expect(baselines.map((b) => b.Properties.OperatingSystem).sort()).toEqual(
      ['AMAZON_LINUX_2', 'AMAZON_LINUX_2023', 'REDHAT_ENTERPRISE_LINUX', 'UBUNTU', 'WINDOWS'],
    );
    for (const b of baselines) expect(b.Properties.PatchGroups).toEqual(['hybrid-fleet']);
    expect(Object.values(template().findResources('AWS::SSM::PatchBaseline', { Properties: { DefaultBaseline: true } }))).toHaveLength(0);
    expect(count('Custom::AWS')).toBe(0);
    expect(associationsOf('AWS-RunPatchBaseline')).toHaveLength(1);
    template().hasResourceProperties('AWS::SSM::MaintenanceWindowTarget', {
      Targets: Match.arrayWith([{ Key: 'tag:PatchMode', Values: ['enforce'] }]),
    });
  });

  test('no inventory collection and no Config rule (account singletons), but a sync to a bucket of its own', () => {
    define();
    expect(associationsOf('AWS-GatherSoftwareInventory')).toHaveLength(0);
    template().resourceCountIs('AWS::Config::ConfigRule', 0);
    template().resourceCountIs('AWS::Config::ConfigurationRecorder', 0);
    template().resourceCountIs('AWS::SSM::ResourceDataSync', 1);
    const sync = Object.values(template().findResources('AWS::SSM::ResourceDataSync'))[0];
    const member = stack.node.findChild('Member') as HybridFleetMember;
    expect(sync.Properties.S3Destination.BucketName).toEqual({ Ref: logicalIdOf(member.inventorySync!.bucket) });
    expect(member.inventorySync!.inventoryBucket).toBeDefined();
  });

  test('one topic, encrypted, gets the API alarms and the patch install failures', () => {
    const member = define();
    template().resourceCountIs('AWS::SNS::Topic', 1);
    const topicRef = { Ref: logicalIdOf(member.notificationTopic!) };
    template().hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template().hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmActions: [topicRef] });
    template().hasResourceProperties('AWS::SSM::MaintenanceWindowTask', {
      TaskInvocationParameters: { MaintenanceWindowRunCommandParameters: Match.objectLike({ NotificationConfig: Match.objectLike({ NotificationArn: topicRef }) }) },
    });
  });
});

describe('sharing', () => {
  test('one instance role: the patch groups and installers grant the activation API role, nothing else', () => {
    const member = define({
      patching: { groups: [{ patchGroupName: 'web' }, { patchGroupName: 'db' }] },
      agentInstallers: [INSTALLER],
    });
    const roleRef = { Ref: logicalIdOf(member.activationApi!.instanceRole) };
    expect(member.instanceRole).toBe(member.activationApi!.instanceRole);
    const policies = Object.values(template().findResources('AWS::IAM::ManagedPolicy'))
      .filter((p) => JSON.stringify(p.Properties.Roles ?? []).includes(roleRef.Ref));
    // Two patch groups' output policies and the installer's node policy, all on the one role.
    expect(policies).toHaveLength(3);
    expect(Object.values(template().findResources('AWS::IAM::Role'))
      .filter((r) => JSON.stringify(r.Properties.AssumeRolePolicyDocument).includes('ssm.amazonaws.com')
        && JSON.stringify(r.Properties.ManagedPolicyArns ?? []).includes('AmazonSSMManagedInstanceCore'))).toHaveLength(1);
  });

  test('one log bucket for every patch group and installer, under separate prefixes', () => {
    const member = define({
      patching: { groups: [{ patchGroupName: 'web' }, { patchGroupName: 'db' }] },
      agentInstallers: [INSTALLER, { ...INSTALLER, agentName: 'Other' }],
    });
    const bucketRef = { Ref: logicalIdOf(member.logBucket!) };
    for (const prefix of ['patching/web/scan/', 'patching/db/scan/']) {
      template().hasResourceProperties('AWS::SSM::Association', {
        OutputLocation: { S3Location: { OutputS3BucketName: bucketRef, OutputS3KeyPrefix: prefix } },
      });
    }
    for (const installer of member.agentInstallers) expect(installer.outputBucket).toBe(member.logBucket);
    // The log bucket and the inventory bucket with its access-log bucket; no installer bucket.
    template().resourceCountIs('AWS::S3::Bucket', 3);
  });

  test('one topic for alarms, patch failures, compliance notifications and installer failures', () => {
    const member = define({ compliance: { recorder: ConfigRecorderChoice.existing() }, agentInstallers: [INSTALLER] });
    template().resourceCountIs('AWS::SNS::Topic', 1);
    expect(member.compliance!.topic).toBe(member.notificationTopic);
    const topicRef = { Ref: logicalIdOf(member.notificationTopic!) };
    template().hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectLike({ 'detail-type': ['EC2 State Manager Instance Association State Change'] }),
      Targets: [Match.objectLike({ Arn: topicRef })],
    });
  });

  test('a given topic and log bucket are used instead of new ones', () => {
    const topic = new sns.Topic(stack, 'Mine');
    const bucket = new s3.Bucket(stack, 'MyLogs', { enforceSSL: true });
    const member = define({ notificationTopic: topic, logBucket: bucket, agentInstallers: [INSTALLER] });
    expect(member.notificationTopic).toBe(topic);
    expect(member.agentInstallers[0].outputBucket).toBe(bucket);
    template().resourceCountIs('AWS::SNS::Topic', 1);
    template().resourceCountIs('AWS::KMS::Key', 0);
    template().hasResourceProperties('AWS::SSM::Association', {
      OutputLocation: { S3Location: { OutputS3BucketName: { Ref: logicalIdOf(bucket) } } },
    });
  });
});

describe('central account', () => {
  test('the sync writes to the central bucket, in its Region, with its prefix and key; no bucket of its own', () => {
    define({ central: CENTRAL });
    template().hasResourceProperties('AWS::SSM::ResourceDataSync', {
      SyncType: 'SyncToDestination',
      S3Destination: {
        BucketName: CENTRAL.inventoryBucketName,
        BucketRegion: 'eu-west-1',
        BucketPrefix: 'inventory',
        KMSKeyArn: CENTRAL.inventoryKeyArn,
        SyncFormat: 'JsonSerDe',
      },
    });
    // Only the patch log bucket: no InventoryBucket and no access-log bucket.
    template().resourceCountIs('AWS::S3::Bucket', 1);
  });

  test('compliance and installer alerts are also forwarded to the central bus, with a role that may only put events there', () => {
    define({ central: CENTRAL, compliance: { recorder: ConfigRecorderChoice.existing() }, agentInstallers: [INSTALLER] });
    const busTargets = Object.values(template().findResources('AWS::Events::Rule'))
      .flatMap((r) => r.Properties.Targets ?? [])
      .filter((t: any) => t.Arn === CENTRAL.alertBusArn);
    // Config and SSM non-compliance, and the installer's failed runs.
    expect(busTargets).toHaveLength(3);
    for (const t of busTargets) expect(t.RoleArn).toBeDefined();
    template().hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: [{ Action: 'events:PutEvents', Effect: 'Allow', Resource: CENTRAL.alertBusArn }] },
    });
    // The local topic still gets them, formatted.
    template().resourceCountIs('AWS::SNS::Topic', 1);
  });

  test('without an alert bus nothing is forwarded', () => {
    define({ central: { ...CENTRAL, alertBusArn: undefined }, compliance: { recorder: ConfigRecorderChoice.existing() }, agentInstallers: [INSTALLER] });
    expect(JSON.stringify(template().findResources('AWS::Events::Rule'))).not.toContain('event-bus');
    expect(JSON.stringify(template().findResources('AWS::IAM::Policy'))).not.toContain('events:PutEvents');
  });

  test('without a key or prefix, the sync names neither', () => {
    define({ central: { account: '111122223333', region: 'us-east-1', inventoryBucketName: 'central-inventory' } });
    template().hasResourceProperties('AWS::SSM::ResourceDataSync', {
      S3Destination: { BucketName: 'central-inventory', BucketRegion: 'us-east-1', BucketPrefix: Match.absent(), KMSKeyArn: Match.absent() },
    });
  });
});

describe('observability link', () => {
  const EU_SINK = CENTRAL.observabilitySinkArns!['eu-west-1'];

  test('a stack in a Region with a sink links to that sink, sharing metrics', () => {
    stack = new Stack(testApp(), 'Member', { env: { account: '444455556666', region: 'eu-west-1' } });
    const member = define({ central: CENTRAL });
    template().hasResourceProperties('AWS::Oam::Link', { SinkIdentifier: EU_SINK, ResourceTypes: ['AWS::CloudWatch::Metric'] });
    expect(member.observabilityLink).toBeDefined();
    expect(template().toJSON().Mappings).toBeUndefined();
    expect(template().toJSON().Conditions).toBeUndefined();
  });

  test('a stack in a Region without a sink gets no link', () => {
    stack = new Stack(testApp(), 'Member', { env: { account: '444455556666', region: 'ap-southeast-2' } });
    define({ central: CENTRAL });
    template().resourceCountIs('AWS::Oam::Link', 0);
  });

  test('a StackSet template (Region unknown at synth): the sink comes from a mapping keyed by AWS::Region, under a condition', () => {
    define({ central: CENTRAL });
    const json = template().toJSON();
    const [mapName] = Object.keys(json.Mappings);
    expect(json.Mappings[mapName]).toEqual({
      'eu-west-1': { Value: EU_SINK },
      'us-east-1': { Value: CENTRAL.observabilitySinkArns!['us-east-1'] },
    });
    const [conditionName] = Object.keys(json.Conditions);
    expect(json.Conditions[conditionName]).toEqual({
      'Fn::Or': [
        { 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'eu-west-1'] },
        { 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'us-east-1'] },
      ],
    });
    const links = Object.values(template().findResources('AWS::Oam::Link'));
    expect(links).toHaveLength(1);
    expect(links[0].Condition).toBe(conditionName);
    expect(links[0].Properties.SinkIdentifier).toEqual({ 'Fn::FindInMap': [mapName, { Ref: 'AWS::Region' }, 'Value'] });
  });

  test('one sink Region: a plain Fn::Equals; more than ten: nested Fn::Or of at most ten', () => {
    define({ central: { ...CENTRAL, observabilitySinkArns: { 'eu-west-1': EU_SINK } } });
    expect(Object.values(template().toJSON().Conditions)).toEqual([{ 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'eu-west-1'] }]);

    stack = new Stack(testApp(), 'Many');
    const regions = [...'abcdefghijkl'].map((c) => `eu-test${c}-1`);
    define({ central: { ...CENTRAL, observabilitySinkArns: Object.fromEntries(regions.map((r) => [r, `arn:aws:oam:${r}:111122223333:sink/s${r.slice(7, 8)}`])) } });
    const [condition] = Object.values<any>(template().toJSON().Conditions);
    expect(condition['Fn::Or']).toHaveLength(2);
    expect(condition['Fn::Or'][0]['Fn::Or']).toHaveLength(10);
    expect(condition['Fn::Or'][1]['Fn::Or']).toHaveLength(2);
  });

  test('no sinks, or observability off: no link, no mapping', () => {
    define({ central: { ...CENTRAL, observabilitySinkArns: undefined } });
    template().resourceCountIs('AWS::Oam::Link', 0);
    stack = new Stack(testApp(), 'Off');
    define({ central: CENTRAL, observability: false });
    template().resourceCountIs('AWS::Oam::Link', 0);
    expect(template().toJSON().Mappings).toBeUndefined();
  });

  test('standalone: no link', () => {
    define();
    template().resourceCountIs('AWS::Oam::Link', 0);
  });
});

describe('parts on and off', () => {
  test('activation off: no API; a given instanceRole is still the node role', () => {
    const role = new iam.Role(stack, 'NodeRole', { assumedBy: new iam.ServicePrincipal('ssm.amazonaws.com') });
    const member = define({ activation: { enabled: false, instanceRole: role }, complianceMetrics: false });
    template().resourceCountIs('AWS::ApiGateway::RestApi', 0);
    template().resourceCountIs('AWS::Lambda::Function', 0);
    expect(member.instanceRole).toBe(role);
    template().hasResourceProperties('AWS::IAM::ManagedPolicy', { Roles: [{ Ref: logicalIdOf(role) }] });
  });

  test('activation props reach the API', () => {
    define({ activation: { stageName: 'prod', defaultTags: { PatchGroup: 'web', PatchMode: 'enforce' }, janitor: false }, complianceMetrics: false });
    template().hasResourceProperties('AWS::ApiGateway::Stage', { StageName: 'prod' });
    template().hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ DEFAULT_TAGS: JSON.stringify({ PatchGroup: 'web', PatchMode: 'enforce' }) }) },
    });
    template().resourceCountIs('AWS::Lambda::Function', 1);
  });

  test('patching off: no baseline, group, window or log bucket', () => {
    define({ patching: { enabled: false } });
    for (const type of ['AWS::SSM::PatchBaseline', 'AWS::SSM::MaintenanceWindow', 'AWS::SSM::Association']) template().resourceCountIs(type, 0);
    // The inventory bucket and its access-log bucket only.
    template().resourceCountIs('AWS::S3::Bucket', 2);
    template().hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ DEFAULT_TAGS: '{}' }) },
    });
  });

  test('patch groups, operating systems and delays reach the parts; a group may bring its baselines', () => {
    const own = PatchBaseline.criticalAndSecurityUpdates(stack, 'Own', { operatingSystem: PatchOperatingSystem.DEBIAN });
    define({
      patching: {
        operatingSystems: [PatchOperatingSystem.AMAZON_LINUX_2023, PatchOperatingSystem.UBUNTU],
        approveAfterDays: 14,
        groups: [
          { patchGroupName: 'web', scanSchedule: AssociationSchedule.rate(Duration.hours(12)), maxConcurrency: '5' },
          { patchGroupName: 'legacy', baselines: [own] },
        ],
      },
    });
    const baselines = template().findResources('AWS::SSM::PatchBaseline');
    const byOs = (os: string) => Object.values(baselines).filter((b) => b.Properties.OperatingSystem === os);
    expect(byOs('AMAZON_LINUX_2023')[0].Properties.PatchGroups).toEqual(['web']);
    expect(byOs('AMAZON_LINUX_2023')[0].Properties.ApprovalRules.PatchRules[0].ApproveAfterDays).toBe(14);
    expect(byOs('UBUNTU')[0].Properties.ApprovalRules.PatchRules[0].ApproveAfterDays).toBeUndefined();
    expect(byOs('DEBIAN')[0].Properties.PatchGroups).toEqual(['legacy']);
    expect(byOs('WINDOWS')).toHaveLength(0);
    template().hasResourceProperties('AWS::SSM::Association', {
      Targets: [{ Key: 'tag:PatchGroup', Values: ['web'] }], ScheduleExpression: 'rate(12 hours)', MaxConcurrency: '5',
    });
    template().hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ DEFAULT_TAGS: JSON.stringify({ PatchGroup: 'web', PatchMode: 'report' }) }) },
    });
  });

  test('groups that all bring their baselines create none of the fleet\'s', () => {
    const own = PatchBaseline.criticalAndSecurityUpdates(stack, 'Own', { operatingSystem: PatchOperatingSystem.DEBIAN });
    define({ patching: { groups: [{ patchGroupName: 'legacy', baselines: [own] }] } });
    template().resourceCountIs('AWS::SSM::PatchBaseline', 1);
  });

  test('compliance metrics by default, on the first group\'s tags and mode values', () => {
    define();
    template().hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ PATCH_GROUP_TAG_KEY: 'PatchGroup', MODE_TAG_KEY: 'PatchMode', MODE_VALUES: '["report","enforce"]', AGENT_COMPLIANCE_TYPES: '[]' }) },
    });
  });

  test('compliance metrics follow the groups and cover each installer\'s compliance type', () => {
    define({
      patching: { groups: [{ patchGroupName: 'web', tagKey: PatchGroupTagKey.PATCH_GROUP_WITH_SPACE, modeTagKey: 'Mode', enforceModeValue: 'report' }] },
      agentInstallers: [INSTALLER],
    });
    template().hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ PATCH_GROUP_TAG_KEY: 'Patch Group', MODE_TAG_KEY: 'Mode', MODE_VALUES: '["scan","report"]', AGENT_COMPLIANCE_TYPES: '["Custom:Falcon"]' }) },
    });
    template().hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ DEFAULT_TAGS: JSON.stringify({ 'Patch Group': 'web', 'Mode': 'scan' }) }) },
    });
  });

  test('compliance metrics off: no metrics function', () => {
    define({ complianceMetrics: false });
    expect(JSON.stringify(template().findResources('AWS::Lambda::Function'))).not.toContain('MODE_TAG_KEY');
  });

  test('inventory collection is opt-in; its props reach it', () => {
    define({ inventory: { collect: true } });
    expect(associationsOf('AWS-GatherSoftwareInventory')).toHaveLength(1);
  });

  test('collection props alone turn collection on', () => {
    define({ inventory: { collection: { schedule: AssociationSchedule.rate(Duration.hours(6)), services: false } } });
    const [collection] = associationsOf('AWS-GatherSoftwareInventory');
    expect(collection.Properties.ScheduleExpression).toBe('rate(6 hours)');
    expect(collection.Properties.Parameters.services).toEqual(['Disabled']);
  });

  test('sync off: no sync and no inventory bucket', () => {
    define({ inventory: { sync: false } });
    template().resourceCountIs('AWS::SSM::ResourceDataSync', 0);
    template().resourceCountIs('AWS::S3::Bucket', 1);
  });

  test('compliance props reach the rules; its own topic is kept', () => {
    const topic = new sns.Topic(stack, 'ComplianceOnly');
    const member = define({ compliance: { recorder: ConfigRecorderChoice.existing(), patchCompliance: false, notificationTopic: topic } });
    expect(Object.values(template().findResources('AWS::Config::ConfigRule')).map((r) => r.Properties.Source.SourceIdentifier))
      .toEqual(['EC2_MANAGEDINSTANCE_ASSOCIATION_COMPLIANCE_STATUS_CHECK']);
    expect(member.compliance!.topic).toBe(topic);
  });

  test('installer props reach the installer; its own node roles are kept next to the fleet role, each once', () => {
    const other = new iam.Role(stack, 'Ec2Role', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
    const fleetRole = new iam.Role(stack, 'NodeRole', { assumedBy: new iam.ServicePrincipal('ssm.amazonaws.com') });
    const member = define({ activation: { instanceRole: fleetRole }, agentInstallers: [{ ...INSTALLER, nodeRoles: [other, fleetRole] }] });
    expect(member.instanceRole).toBe(fleetRole);
    // The installer's node policy, on each role once.
    template().hasResourceProperties('AWS::IAM::ManagedPolicy', { Roles: [{ Ref: logicalIdOf(other) }, { Ref: logicalIdOf(fleetRole) }] });
    template().hasResourceProperties('AWS::SSM::Association', { AssociationName: 'Member-Falcon-canary' });
  });
});

describe('validation', () => {
  test.each<[string, HybridFleetMemberProps, RegExp]>([
    ['central account', { central: { ...CENTRAL, account: '1234' } }, /`central.account` must be a 12-digit AWS account id, got: '1234'/],
    ['central Region', { central: { ...CENTRAL, region: 'Europe' } }, /`central.region` must be a Region name such as eu-west-1, got: 'Europe'/],
    ['bucket name', { central: { ...CENTRAL, inventoryBucketName: 'Inventory_Bucket' } }, /`central.inventoryBucketName` must be an S3 bucket name .*got: 'Inventory_Bucket'/],
    ['bus ARN', { central: { ...CENTRAL, alertBusArn: 'arn:aws:sns:eu-west-1:111122223333:alerts' } }, /`central.alertBusArn` must be an EventBridge event bus ARN .*got: 'arn:aws:sns/],
    ['bus account', { central: { ...CENTRAL, alertBusArn: 'arn:aws:events:eu-west-1:444455556666:event-bus/x' } }, /`central.alertBusArn` must be in the central account 111122223333, got: 'arn:aws:events:eu-west-1:444455556666/],
    ['key Region', { central: { ...CENTRAL, inventoryKeyArn: 'arn:aws:kms:us-east-1:111122223333:key/abc' } }, /`central.inventoryKeyArn` must be in the Region eu-west-1, got: 'arn:aws:kms:us-east-1/],
    ['sink key', { central: { ...CENTRAL, observabilitySinkArns: { europe: 'arn:aws:oam:eu-west-1:111122223333:sink/a' } } }, /`central.observabilitySinkArns` must be keyed by Region names such as eu-west-1, got: 'europe'/],
    ['sink Region', { central: { ...CENTRAL, observabilitySinkArns: { 'us-east-1': 'arn:aws:oam:eu-west-1:111122223333:sink/a' } } }, /`central.observabilitySinkArns\['us-east-1'\]` must be in the Region us-east-1, got: 'arn:aws:oam:eu-west-1/],
    ['activation off with API props', { activation: { enabled: false, stageName: 'x', janitor: undefined } }, /`activation` with `enabled: false` takes only `instanceRole` .*got: stageName \(at/],
    ['patching off with groups', { patching: { enabled: false, groups: [{ patchGroupName: 'x' }] } }, /`patching` with `enabled: false` takes no other option, got: groups/],
    ['no groups', { patching: { groups: [] } }, /`patching.groups` must list at least one patch group \(turn patching off with `patching.enabled: false`\), got: \[\]/],
    ['no operating systems', { patching: { operatingSystems: [] } }, /`patching.operatingSystems` must list at least one operating system, got: \[\]/],
    ['approval delay', { patching: { approveAfterDays: 400 } }, /`patching.approveAfterDays` must be an integer from 0 to 360, got: 400/],
    ['group twice', { patching: { groups: [{ patchGroupName: 'web/a' }, { patchGroupName: 'web:a' }] } }, /`patching.groups\[1\]` must have a name of its own .*got: 'web:a' after 'web\/a'/],
    ['installer twice', { agentInstallers: [INSTALLER, INSTALLER] }, /`agentInstallers\[1\]` must have a name of its own .*got: 'Falcon' after 'Falcon'/],
    ['collection without collect', { inventory: { collect: false, collection: {} } }, /`inventory.collection` needs `inventory.collect` true \(or left out\), got: collect false/],
  ])('%s', (_name, props, message) => {
    expect(() => define(props)).toThrow(message);
  });

  test('sinks keyed by a deploy-time value cannot be mapped in a StackSet template', () => {
    const region = new CfnParameter(stack, 'SinkRegion').valueAsString;
    expect(() => define({ central: { ...CENTRAL, observabilitySinkArns: { [region]: 'arn:aws:oam:eu-west-1:111122223333:sink/a' } } }))
      .toThrow(/`central.observabilitySinkArns` must be keyed by literal Region names when the stack's Region is known only at deploy time \(a StackSet template\), got: a key that is a deploy-time value/);
  });

  test('messages name the construct', () => {
    expect(() => define({ patching: { groups: [] } })).toThrow(/\(at Member\/Member\)/);
  });
});

describe('quotas', () => {
  test('the defaults, with collection and an installer, stay within every Systems Manager quota', () => {
    define({ inventory: { collect: true }, agentInstallers: [INSTALLER] });
    expect(quotaWarnings(stack.node.root)).toEqual([]);
  });

  test('26 groups on the shared baselines warn: patch groups per baseline', () => {
    const groups = Array.from({ length: 26 }, (_, i) => ({ patchGroupName: `g${i}` }));
    define({ patching: { groups, operatingSystems: [PatchOperatingSystem.AMAZON_LINUX_2023] } });
    expect(quotaWarnings(stack.node.root)).toEqual(['patchGroupsPerBaseline']);
  });

  test('51 groups with windows of their own warn: maintenance windows', () => {
    const baselines = [0, 1, 2].map((i) => PatchBaseline.criticalAndSecurityUpdates(stack, `B${i}`, { operatingSystem: PatchOperatingSystem.WINDOWS }));
    const groups = Array.from({ length: 51 }, (_, i) => ({ patchGroupName: `g${i}`, baselines: [baselines[Math.floor(i / 20)]] }));
    define({ patching: { groups } });
    expect(quotaWarnings(stack.node.root)).toEqual(['maintenanceWindows']);
  });
});

describe('gates', () => {
  test.each([
    ['environment-agnostic', undefined],
    ['explicit environment', { account: '444455556666', region: 'eu-west-1' }],
  ])('the defaults pass every gate (%s)', (_name, env) => {
    const app = testApp();
    new HybridFleetMember(new Stack(app, 'Member', { env }), 'Member');
    expect(allFindings(app)).toEqual([]);
  });

  test.each([
    ['environment-agnostic', undefined],
    ['explicit environment', { account: '444455556666', region: 'eu-west-1' }],
  ])('a full member of a central account passes every gate (%s)', (_name, env) => {
    const app = testApp();
    new HybridFleetMember(new Stack(app, 'Member', { env }), 'Member', {
      central: CENTRAL,
      activation: { allowedTags: [{ key: 'PatchMode', values: ['report', 'enforce'] }] },
      patching: { groups: [{ patchGroupName: 'web' }, { patchGroupName: 'db', patchStoppedInstances: true }] },
      inventory: { collect: true },
      compliance: { recorder: ConfigRecorderChoice.create(), instanceProfileCoverage: true },
      agentInstallers: [INSTALLER],
    });
    expect(allFindings(app)).toEqual([]);
  });
});
