import { Duration, Lazy, Stack, Validations } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { Construct } from 'constructs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import {
  AssociationSchedule,
  MaintenanceSchedule,
  MaintenanceWindow,
  PatchBaseline,
  PatchGroup,
  PatchGroupProps,
  PatchGroupTagKey,
  PatchLogBucket,
  PatchOperatingSystem,
  PatchRebootOption,
} from '../../lib';
import { allFindings, testApp } from '../support/gates';

let stack: Stack;
let linux: PatchBaseline;
let windows: PatchBaseline;
beforeEach(() => {
  stack = new Stack(testApp(), 'TestStack');
  linux = PatchBaseline.criticalAndSecurityUpdates(stack, 'Linux', { operatingSystem: PatchOperatingSystem.AMAZON_LINUX_2023 });
  windows = PatchBaseline.criticalAndSecurityUpdates(stack, 'Windows', { operatingSystem: PatchOperatingSystem.WINDOWS });
});

function build(props: Partial<PatchGroupProps> = {}): { group: PatchGroup; template: Template } {
  const group = new PatchGroup(stack, 'Web', { patchGroupName: 'web', baselines: [linux, windows], ...props });
  return { group, template: Template.fromStack(stack) };
}

describe('PatchGroup defaults', () => {
  test('registers the group with one baseline per operating system', () => {
    const { template } = build();
    template.hasResourceProperties('AWS::SSM::PatchBaseline', { OperatingSystem: 'AMAZON_LINUX_2023', PatchGroups: ['web'] });
    template.hasResourceProperties('AWS::SSM::PatchBaseline', { OperatingSystem: 'WINDOWS', PatchGroups: ['web'] });
  });

  test('scans every node of the group daily with one association of AWS-RunPatchBaseline (works on hybrid nodes)', () => {
    const { template } = build();
    template.resourceCountIs('AWS::SSM::Association', 1);
    template.hasResourceProperties('AWS::SSM::Association', {
      Name: 'AWS-RunPatchBaseline',
      Targets: [{ Key: 'tag:PatchGroup', Values: ['web'] }],
      Parameters: { Operation: ['Scan'] },
      ScheduleExpression: 'rate(1 day)',
      MaxConcurrency: '10%',
      MaxErrors: '10%',
      OutputLocation: Match.absent(),
      WaitForSuccessTimeoutSeconds: Match.absent(),
    });
  });

  test('installs only on nodes whose mode tag says enforce, in a weekly window, rebooting if needed', () => {
    const { template } = build();
    template.hasResourceProperties('AWS::SSM::MaintenanceWindow', { Schedule: 'cron(0 3 ? * SUN *)', Duration: 3 });
    template.hasResourceProperties('AWS::SSM::MaintenanceWindowTarget', {
      ResourceType: 'INSTANCE',
      Targets: Match.arrayEquals([
        { Key: 'tag:PatchGroup', Values: ['web'] },
        { Key: 'tag:PatchMode', Values: ['enforce'] },
      ]),
    });
    template.hasResourceProperties('AWS::SSM::MaintenanceWindowTask', {
      TaskType: 'RUN_COMMAND',
      TaskArn: 'AWS-RunPatchBaseline',
      Priority: 10,
      MaxConcurrency: '10%',
      MaxErrors: '10%',
      TaskInvocationParameters: {
        MaintenanceWindowRunCommandParameters: Match.objectLike({
          Parameters: { Operation: ['Install'], RebootOption: ['RebootIfNeeded'] },
          OutputS3BucketName: Match.absent(),
        }),
      },
      LoggingInfo: Match.absent(),
    });
  });

  test('nothing is installed on nodes without the enforce tag: the only install target requires it', () => {
    const { template } = build();
    const targets = Object.values(template.findResources('AWS::SSM::MaintenanceWindowTarget'));
    expect(targets).toHaveLength(1);
    expect(JSON.stringify(targets[0])).toContain('"tag:PatchMode","Values":["enforce"]');
  });

  test('at most 6 CloudFormation resources per patch group besides its baselines, and no custom resource', () => {
    const { template } = build();
    const resources = Object.values(template.toJSON().Resources as Record<string, { Type: string }>);
    const own = resources.filter((r) => r.Type !== 'AWS::SSM::PatchBaseline');
    expect(own.length).toBeLessThanOrEqual(6);
    expect(resources.some((r) => r.Type.startsWith('Custom::') || r.Type === 'AWS::CloudFormation::CustomResource')).toBe(false);
  });

  test('passes every gate', () => {
    build();
    expect(allFindings(stack.node.root as never)).toEqual([]);
  });

  test('no bucket is created when output is off', () => {
    const { template } = build();
    template.resourceCountIs('AWS::S3::Bucket', 0);
  });
});

describe('PatchGroup options', () => {
  test('the "Patch Group" tag key, a custom mode tag and value', () => {
    const { template } = build({ tagKey: PatchGroupTagKey.PATCH_GROUP_WITH_SPACE, modeTagKey: 'PatchPolicy', enforceModeValue: 'auto' });
    template.hasResourceProperties('AWS::SSM::Association', { Targets: [{ Key: 'tag:Patch Group', Values: ['web'] }] });
    template.hasResourceProperties('AWS::SSM::MaintenanceWindowTarget', {
      Targets: Match.arrayEquals([
        { Key: 'tag:Patch Group', Values: ['web'] },
        { Key: 'tag:PatchPolicy', Values: ['auto'] },
      ]),
    });
  });

  test('scan schedule, install schedule and duration, reboot option and rate control', () => {
    const { template } = build({
      scanSchedule: AssociationSchedule.rate(Duration.hours(12)),
      installSchedule: MaintenanceSchedule.cron({ weekDay: 'WED', hour: '22', minute: '30' }),
      installWindowDuration: Duration.hours(4),
      rebootOption: PatchRebootOption.NO_REBOOT,
      maxConcurrency: '5',
      maxErrors: '0',
    });
    template.hasResourceProperties('AWS::SSM::Association', { ScheduleExpression: 'rate(12 hours)', MaxConcurrency: '5', MaxErrors: '0' });
    template.hasResourceProperties('AWS::SSM::MaintenanceWindow', { Schedule: 'cron(30 22 ? * WED *)', Duration: 4 });
    template.hasResourceProperties('AWS::SSM::MaintenanceWindowTask', {
      MaxConcurrency: '5',
      MaxErrors: '0',
      TaskInvocationParameters: {
        MaintenanceWindowRunCommandParameters: Match.objectLike({ Parameters: { Operation: ['Install'], RebootOption: ['NoReboot'] } }),
      },
    });
  });

  test('S3 output goes to separate scan and install prefixes, and node roles may write only their group prefix', () => {
    const logsBucket = new PatchLogBucket(stack, 'PatchLogs');
    const nodeRole = new iam.Role(stack, 'NodeRole', { assumedBy: new iam.ServicePrincipal('ssm.amazonaws.com') });
    const { template } = build({ outputBucket: logsBucket.bucket, nodeRoles: [nodeRole] });
    template.hasResourceProperties('AWS::SSM::Association', {
      OutputLocation: { S3Location: { OutputS3BucketName: { Ref: Match.stringLikeRegexp('^PatchLogsBucket') }, OutputS3KeyPrefix: 'patching/web/scan/' } },
    });
    template.hasResourceProperties('AWS::SSM::MaintenanceWindowTask', {
      TaskInvocationParameters: {
        MaintenanceWindowRunCommandParameters: Match.objectLike({
          OutputS3BucketName: { Ref: Match.stringLikeRegexp('^PatchLogsBucket') },
          OutputS3KeyPrefix: 'patching/web/install/',
        }),
      },
    });
    // One customer-managed policy of the group: only s3:PutObject, only under the group's prefix.
    template.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^NodeRole') }],
      PolicyDocument: {
        Statement: [
          { Action: 's3:PutObject', Effect: 'Allow', Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [Match.stringLikeRegexp('^PatchLogsBucket'), 'Arn'] }, '/patching/web/*']] } },
        ],
      },
    });
    template.resourcePropertiesCountIs('AWS::IAM::Policy', { Roles: [{ Ref: Match.stringLikeRegexp('^NodeRole') }] }, 0);
    // The prefix wildcard is acknowledged with its reason.
    expect(allFindings(stack.node.root as never)).toEqual([]);
  });

  test('a node role shared by two groups is warned about (IAM cannot keep its nodes to their own prefix); one role per group is not', () => {
    const logsBucket = new PatchLogBucket(stack, 'PatchLogs');
    const shared = new iam.Role(stack, 'SharedRole', { assumedBy: new iam.ServicePrincipal('ssm.amazonaws.com') });
    const own = new iam.Role(stack, 'OwnRole', { assumedBy: new iam.ServicePrincipal('ssm.amazonaws.com') });
    new PatchGroup(stack, 'Web', { patchGroupName: 'web', baselines: [linux], outputBucket: logsBucket.bucket, nodeRoles: [shared] });
    const db = new PatchGroup(stack, 'Db', { patchGroupName: 'db', baselines: [linux], outputBucket: logsBucket.bucket, nodeRoles: [shared] });
    const lab = new PatchGroup(stack, 'Lab', { patchGroupName: 'lab', baselines: [linux], outputBucket: logsBucket.bucket, nodeRoles: [own] });
    const warnings = Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('nodeRoleSharedByPatchGroups'));
    expect(warnings.map((w) => w.id)).toEqual([`/${db.node.path}`]);
    expect(String(warnings[0].entry.data)).toContain('TestStack/Web');
    expect(warnings.map((w) => w.id)).not.toContain(`/${lab.node.path}`);
  });

  test('a custom output prefix', () => {
    const logsBucket = new PatchLogBucket(stack, 'PatchLogs');
    const { template } = build({ outputBucket: logsBucket.bucket, outputPrefix: 'eu/web/' });
    template.hasResourceProperties('AWS::SSM::Association', { OutputLocation: { S3Location: Match.objectLike({ OutputS3KeyPrefix: 'eu/web/scan/' }) } });
  });

  test('CloudWatch output and failure notifications on the install task', () => {
    const logGroup = new logs.LogGroup(stack, 'PatchOutput', { retention: logs.RetentionDays.ONE_YEAR });
    // The test's own log group; a consumer would pass a KMS key.
    Validations.of(logGroup).acknowledge({ id: 'cdk-validator-cfnguard::cloudwatch_log_group_encrypted_check', reason: 'test log group' });
    const topic = new sns.Topic(stack, 'PatchFailures');
    const { template } = build({ cloudWatchLogGroup: logGroup, failureTopic: topic });
    template.hasResourceProperties('AWS::SSM::MaintenanceWindowTask', {
      TaskInvocationParameters: {
        MaintenanceWindowRunCommandParameters: Match.objectLike({
          CloudWatchOutputConfig: { CloudWatchLogGroupName: { Ref: Match.stringLikeRegexp('^PatchOutput') }, CloudWatchOutputEnabled: true },
          NotificationConfig: Match.objectLike({ NotificationArn: { Ref: Match.stringLikeRegexp('^PatchFailures') }, NotificationEvents: ['Failed', 'TimedOut'] }),
        }),
      },
    });
  });

  test('groups can share one install window, and pre/post tasks run around the install task by priority', () => {
    const window = new MaintenanceWindow(stack, 'Sunday', { schedule: MaintenanceSchedule.cron({ weekDay: 'SUN', hour: '2', minute: '0' }), duration: Duration.hours(4) });
    const web = new PatchGroup(stack, 'Web', { patchGroupName: 'web', baselines: [linux], installWindow: window });
    const db = new PatchGroup(stack, 'Db', { patchGroupName: 'db', baselines: [linux], installWindow: window });
    window.addRunCommandTask('Drain', {
      documentName: 'AWS-RunShellScript',
      targets: [web.installTarget],
      priority: PatchGroup.INSTALL_TASK_PRIORITY - 5,
      parameters: { commands: ['systemctl stop app'] },
      maxConcurrency: '1',
      maxErrors: '0',
    });
    expect(db.installWindow).toBe(window);
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::SSM::MaintenanceWindow', 1);
    template.resourceCountIs('AWS::SSM::MaintenanceWindowTarget', 2);
    template.resourceCountIs('AWS::SSM::MaintenanceWindowTask', 3);
    template.hasResourceProperties('AWS::SSM::PatchBaseline', { PatchGroups: ['web', 'db'] });
  });

  test('the install window role may send commands only to enforce-mode nodes of the groups registered on it', () => {
    const window = new MaintenanceWindow(stack, 'Sunday', { schedule: MaintenanceSchedule.cron({ weekDay: 'SUN', hour: '2', minute: '0' }), duration: Duration.hours(4) });
    new PatchGroup(stack, 'Web', { patchGroupName: 'web', baselines: [linux], installWindow: window });
    new PatchGroup(stack, 'Db', { patchGroupName: 'db', baselines: [linux], installWindow: window });
    const policies = Template.fromStack(stack).findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: Match.stringLikeRegexp('^SundayServiceRole') }] } });
    const statements = Object.values(policies).flatMap((p) => p.Properties.PolicyDocument.Statement as Record<string, unknown>[]);
    const toNodes = statements.filter((s) => s.Action === 'ssm:SendCommand' && JSON.stringify(s.Resource).includes('instance/*'));
    expect(toNodes).toHaveLength(1);
    expect(toNodes[0].Condition).toEqual({
      StringEquals: { 'ssm:resourceTag/PatchGroup': ['web', 'db'], 'ssm:resourceTag/PatchMode': ['enforce'] },
    });
  });
});

test('PatchGroup: two groups with the same id under different parents can share an install window', () => {
  const window = new MaintenanceWindow(stack, 'Sunday', { schedule: MaintenanceSchedule.cron({ weekDay: 'SUN', hour: '2', minute: '0' }), duration: Duration.hours(4) });
  const teamA = new Construct(stack, 'TeamA');
  const teamB = new Construct(stack, 'TeamB');
  const a = new PatchGroup(teamA, 'Web', { patchGroupName: 'a-web', baselines: [linux], installWindow: window });
  const b = new PatchGroup(teamB, 'Web', { patchGroupName: 'b-web', baselines: [linux], installWindow: window });
  a.addPreInstallTask('Drain', { documentName: 'AWS-RunShellScript', parameters: { commands: ['true'] } });
  b.addPreInstallTask('Drain', { documentName: 'AWS-RunShellScript', parameters: { commands: ['true'] } });
  const template = Template.fromStack(stack);
  template.resourceCountIs('AWS::SSM::MaintenanceWindowTarget', 2);
  template.resourceCountIs('AWS::SSM::MaintenanceWindowTask', 4);
  expect(a.installTarget).not.toBe(b.installTarget);
});

test('PatchGroup: pre- and post-install tasks run on the enforce-mode nodes before and after the install task', () => {
  const logsBucket = new PatchLogBucket(stack, 'PatchLogs');
  const group = new PatchGroup(stack, 'Web', { patchGroupName: 'web', baselines: [linux], outputBucket: logsBucket.bucket });
  group.addPreInstallTask('Drain', { documentName: 'AWS-RunShellScript', parameters: { commands: ['systemctl stop app'] } });
  group.addPostInstallTask('Check', { documentName: 'AWS-RunShellScript', parameters: { commands: ['curl -fsS localhost/health'] }, timeout: Duration.minutes(5) });
  const template = Template.fromStack(stack);
  const tasks = Object.values(template.findResources('AWS::SSM::MaintenanceWindowTask')) as { Properties: { Priority: number; TaskArn: string; Targets: unknown; TaskInvocationParameters: { MaintenanceWindowRunCommandParameters: Record<string, unknown> } } }[];
  const byPriority = tasks.map((t) => [t.Properties.Priority, t.Properties.TaskArn]).sort((a, b) => (a[0] as number) - (b[0] as number));
  expect(byPriority).toEqual([[5, 'AWS-RunShellScript'], [10, 'AWS-RunPatchBaseline'], [15, 'AWS-RunShellScript']]);
  // All three on the same enforce-mode target, with their own output prefixes.
  expect(new Set(tasks.map((t) => JSON.stringify(t.Properties.Targets))).size).toBe(1);
  const prefixes = tasks.map((t) => t.Properties.TaskInvocationParameters.MaintenanceWindowRunCommandParameters.OutputS3KeyPrefix).sort();
  expect(prefixes).toEqual(['patching/web/install/', 'patching/web/post-install/', 'patching/web/pre-install/']);
});

describe('PatchGroup validation', () => {
  test('registering the same group to two baselines of one operating system fails, naming both', () => {
    const other = PatchBaseline.criticalAndSecurityUpdates(stack, 'Linux2', { operatingSystem: PatchOperatingSystem.AMAZON_LINUX_2023 });
    expect(() => new PatchGroup(stack, 'Web', { patchGroupName: 'web', baselines: [linux, other] })).toThrow(
      /`baselines` may hold one baseline per operating system for patch group 'web': TestStack\/Linux2 and TestStack\/Linux are both AMAZON_LINUX_2023/,
    );
  });

  test('...also across two PatchGroup constructs with the same group name in a stack', () => {
    new PatchGroup(stack, 'Web', { patchGroupName: 'web', baselines: [linux] });
    const other = PatchBaseline.criticalAndSecurityUpdates(stack, 'Linux2', { operatingSystem: PatchOperatingSystem.AMAZON_LINUX_2023 });
    expect(() => new PatchGroup(stack, 'Web2', { patchGroupName: 'web', baselines: [other] })).toThrow(/`patchGroupName` is already registered with TestStack\/Linux for AMAZON_LINUX_2023; a patch group can have only one baseline per operating system, got: 'web'/);
  });

  test.each([
    [{ patchGroupName: '' }, /`patchGroupName` must be 1 to 256 letters, .* got: ''/],
    [{ patchGroupName: 'a'.repeat(257) }, /`patchGroupName` must be 1 to 256/],
    [{ patchGroupName: 'web#1' }, /`patchGroupName` .* got: 'web#1'/],
    [{ baselines: [] }, /`baselines` must list at least one patch baseline .* got: \[\]/],
    [{ modeTagKey: 'Patch+Mode' }, /`modeTagKey` tag keys must not contain '\+'/],
    [{ modeTagKey: 'PatchGroup' }, /`modeTagKey` must differ from the patch-group tag keys, got: 'PatchGroup'/],
    [{ enforceModeValue: '' }, /`enforceModeValue` must not be empty/],
    [{ enforceModeValue: 'a&b' }, /`enforceModeValue` tag values may contain only .* got: 'a&b'/],
    [{ maxConcurrency: '0' }, /`maxConcurrency` must be a number from 1 or a percentage from 1% to 100% \(at most 7 characters\), got: '0'/],
    [{ maxConcurrency: '150%' }, /`maxConcurrency` .* got: '150%'/],
    [{ maxErrors: '-1' }, /`maxErrors` must be a number from 0 or a percentage from 0% to 100% \(at most 7 characters\), got: '-1'/],
    [{ outputPrefix: 'p'.repeat(493) }, /`outputPrefix` must leave room for 'install\/' within 500 characters, got 493 characters/],
    [{ scanSchedule: AssociationSchedule.rate(Duration.minutes(10)) }, /`scanSchedule` /],
  ] as [Partial<PatchGroupProps>, RegExp][])('rejects %j', (props, message) => {
    expect(() => new PatchGroup(stack, 'Web', { patchGroupName: 'web', baselines: [linux], ...props })).toThrow(message);
  });

  test.each(['Patch-Group', 'patchgroup', 'Name'])('a tagKey outside PatchGroupTagKey (%j, as plain JavaScript can pass) is refused', (tagKey) => {
    expect(() => new PatchGroup(stack, 'Web', { patchGroupName: 'web', baselines: [linux], tagKey: tagKey as any })).toThrow(
      `\`tagKey\` must be one of 'PatchGroup', 'Patch Group' (PatchGroupTagKey), got: '${tagKey}'`,
    );
  });

  test('nodeRoles without an output bucket, and own-window props with a shared window, are refused', () => {
    const role = new iam.Role(stack, 'R', { assumedBy: new iam.ServicePrincipal('ssm.amazonaws.com') });
    expect(() => new PatchGroup(stack, 'A', { patchGroupName: 'a', baselines: [linux], nodeRoles: [role] })).toThrow(/`nodeRoles` only get write access to `outputBucket`/);
    const window = new MaintenanceWindow(stack, 'W', { schedule: MaintenanceSchedule.cron({ weekDay: 'SUN', hour: '2', minute: '0' }) });
    expect(() => new PatchGroup(stack, 'B', { patchGroupName: 'b', baselines: [windows], installWindow: window, installWindowDuration: Duration.hours(2) })).toThrow(
      /`installSchedule` and `installWindowDuration` describe the group's own window/,
    );
  });

  test('tokens are not validated', () => {
    const token = Lazy.string({ produce: () => '' });
    expect(() => new PatchGroup(stack, 'Web', { patchGroupName: token, baselines: [linux], maxConcurrency: token, enforceModeValue: token })).not.toThrow();
  });
});
