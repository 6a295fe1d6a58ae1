import { App, Duration, Lazy, Stack, Tags, Token } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { CfnMaintenanceWindow } from 'aws-cdk-lib/aws-ssm';
import {
  MaintenanceSchedule,
  MaintenanceWindow,
  MaintenanceWindowProps,
  MaintenanceWindowRole,
  MaintenanceWindowTarget,
  MaintenanceWindowTaskCutoffBehavior,
  MaintenanceWindowTaskType,
  RunCommandNotificationEvent,
  RunCommandNotificationType,
} from '../../lib';
import { allFindings, nagFindings, testApp } from '../support/gates';

const SUNDAY_3AM = MaintenanceSchedule.cron({ weekDay: 'SUN', hour: '3' });

let app: App;
let stack: Stack;
beforeEach(() => {
  app = testApp();
  stack = new Stack(app, 'TestStack');
});

function window(props: Partial<MaintenanceWindowProps> = {}): MaintenanceWindow {
  return new MaintenanceWindow(stack, 'Window', { schedule: SUNDAY_3AM, ...props });
}

/** A window with a tag target and a Run Command task (AWS-RunPatchBaseline). */
function patchingWindow(props: Partial<MaintenanceWindowProps> = {}): { window: MaintenanceWindow; target: MaintenanceWindowTarget } {
  const w = window(props);
  const target = w.addTarget('Web', { tags: { PatchGroup: ['web'] } });
  w.addRunCommandTask('Patch', { documentName: 'AWS-RunPatchBaseline', targets: [target], parameters: { Operation: ['Install'] } });
  return { window: w, target };
}

/** The statements of the policy attached to a role whose logical id starts with `rolePrefix`. */
function statementsOf(template: Template, rolePrefix: string): Record<string, unknown>[] {
  const policies = template.findResources('AWS::IAM::Policy', {
    Properties: { Roles: [{ Ref: Match.stringLikeRegexp(`^${rolePrefix}`) }] },
  });
  expect(Object.keys(policies)).toHaveLength(1);
  return (Object.values(policies)[0] as { Properties: { PolicyDocument: { Statement: Record<string, unknown>[] } } }).Properties
    .PolicyDocument.Statement;
}

function actionsOf(statements: Record<string, unknown>[]): string[] {
  return statements.flatMap((s) => ([] as string[]).concat(s.Action as string | string[])).sort();
}

const arn = (service: string, rest: string, account = true) => ({
  'Fn::Join': [
    '',
    ['arn:', { Ref: 'AWS::Partition' }, `:${service}:`, { Ref: 'AWS::Region' }, ':', ...(account ? [{ Ref: 'AWS::AccountId' }] : []), rest],
  ],
});
const ssmArn = (rest: string) => arn('ssm', `:${rest}`);
const ownedArn = (rest: string) => ({
  'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ssm:', { Ref: 'AWS::Region' }, rest]],
});

const importedFunction = () => lambda.Function.fromFunctionArn(stack, 'Fn', 'arn:aws:lambda:eu-west-1:123456789012:function:tidy');
const importedTopic = () => sns.Topic.fromTopicArn(stack, 'Topic', 'arn:aws:sns:eu-west-1:123456789012:patching');
const importedBucket = () => s3.Bucket.fromBucketName(stack, 'Output', 'patch-output');
const importedRole = (id: string, name: string) => iam.Role.fromRoleArn(stack, id, `arn:aws:iam::123456789012:role/${name}`);

describe('MaintenanceWindow defaults', () => {
  test('one line defines a 2-hour window with a 1-hour cutoff, a name from the path and no unassociated targets', () => {
    const w = window();
    Template.fromStack(stack).hasResourceProperties('AWS::SSM::MaintenanceWindow', {
      Name: 'TestStack-Window-6D86CC49',
      Schedule: 'cron(0 3 ? * SUN *)',
      Duration: 2,
      Cutoff: 1,
      AllowUnassociatedTargets: false,
      Description: Match.absent(),
      ScheduleTimezone: Match.absent(),
      ScheduleOffset: Match.absent(),
      StartDate: Match.absent(),
      EndDate: Match.absent(),
    });
    expect(w.maintenanceWindowName).toBe('TestStack-Window-6D86CC49');
    expect(w.durationHours).toBe(2);
    expect(w.cutoffHours).toBe(1);
    expect(stack.resolve(w.maintenanceWindowId)).toEqual({ Ref: 'WindowD7A05A61' });
  });

  test('the primary child is the CfnMaintenanceWindow with id Resource', () => {
    const w = window();
    expect(w.node.defaultChild?.node.id).toBe('Resource');
  });

  test('a derived name stays within 128 characters and the name pattern', () => {
    const deep = new Stack(app, 'S'.repeat(100));
    const w = new MaintenanceWindow(deep, 'W'.repeat(100), { schedule: SUNDAY_3AM });
    expect(w.maintenanceWindowName.length).toBeLessThanOrEqual(128);
    expect(w.maintenanceWindowName).toMatch(/^[a-zA-Z0-9_\-.]{3,128}$/);
  });

  test('no role and no task are created until a task is added', () => {
    const w = window();
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::IAM::Role', 0);
    template.resourceCountIs('AWS::SSM::MaintenanceWindowTask', 0);
    expect(w.serviceRole).toBeUndefined();
  });

  test('a window without tasks gets an acknowledgeable warning at synth', () => {
    window();
    Annotations.fromStack(stack).hasWarning(
      '/TestStack/Window',
      Match.stringLikeRegexp('no tasks.*\\[ack: cdk-ssm-hybrid-fleet:maintenanceWindowWithoutTasks\\]'),
    );
  });

  test('a task added after construction removes the warning', () => {
    const w = window();
    const target = w.addTarget('All', { tags: { Env: ['prod'] } });
    w.addRunCommandTask('Patch', { documentName: 'AWS-RunPatchBaseline', targets: [target] });
    Annotations.fromStack(stack).hasNoWarning('/TestStack/Window', Match.stringLikeRegexp('no tasks'));
  });
});

describe('MaintenanceWindow duration and cutoff', () => {
  test.each<[string, Partial<MaintenanceWindowProps>, number, number]>([
    ['duration 3 h derives cutoff 1 h', { duration: Duration.hours(3) }, 3, 1],
    ['duration 1 h derives cutoff 0', { duration: Duration.hours(1) }, 1, 0],
    ['duration 24 h derives cutoff 1 h', { duration: Duration.hours(24) }, 24, 1],
    ['duration in minutes that are whole hours', { duration: Duration.minutes(240) }, 4, 1],
    ['cutoff 0 keeps the default duration', { cutoff: Duration.hours(0) }, 2, 0],
    ['cutoff 1 h keeps the default duration', { cutoff: Duration.hours(1) }, 2, 1],
    ['cutoff 3 h derives duration 4 h', { cutoff: Duration.hours(3) }, 4, 3],
    ['cutoff 23 h derives duration 24 h', { cutoff: Duration.hours(23) }, 24, 23],
    ['both explicit', { duration: Duration.hours(4), cutoff: Duration.hours(2) }, 4, 2],
    ['both explicit, cutoff one hour short', { duration: Duration.hours(5), cutoff: Duration.hours(4) }, 5, 4],
  ])('%s', (_name, props, duration, cutoff) => {
    window(props);
    Template.fromStack(stack).hasResourceProperties('AWS::SSM::MaintenanceWindow', { Duration: duration, Cutoff: cutoff });
  });
});

describe('MaintenanceWindow options', () => {
  test('every window option is rendered', () => {
    window({
      maintenanceWindowName: 'patch-web.tuesday_2',
      description: 'Patches the web tier',
      scheduleTimezone: 'Europe/Berlin',
      scheduleOffset: 2,
      startDate: new Date('2030-01-01T00:00:00.000Z'),
      endDate: new Date('2030-12-31T23:59:59.999Z'),
      allowUnassociatedTargets: true,
      duration: Duration.hours(4),
      cutoff: Duration.hours(2),
    });
    Template.fromStack(stack).hasResourceProperties('AWS::SSM::MaintenanceWindow', {
      Name: 'patch-web.tuesday_2',
      Description: 'Patches the web tier',
      ScheduleTimezone: 'Europe/Berlin',
      ScheduleOffset: 2,
      StartDate: '2030-01-01T00:00:00Z',
      EndDate: '2030-12-31T23:59:59Z',
      AllowUnassociatedTargets: true,
      Duration: 4,
      Cutoff: 2,
    });
  });

  test.each(['UTC', 'Etc/UTC', 'Etc/GMT+5', 'America/Los_Angeles', 'Asia/Seoul', 'Asia/Calcutta'])('accepts the time zone %s', (tz) => {
    window({ scheduleTimezone: tz });
    Template.fromStack(stack).hasResourceProperties('AWS::SSM::MaintenanceWindow', { ScheduleTimezone: tz });
  });

  test('tags applied to the window are rendered', () => {
    const w = window();
    Tags.of(w).add('CostCenter', 'ops');
    Template.fromStack(stack).hasResourceProperties('AWS::SSM::MaintenanceWindow', {
      Tags: [{ Key: 'CostCenter', Value: 'ops' }],
    });
  });
});

describe('MaintenanceWindow.fromMaintenanceWindowId', () => {
  test('imports a window by id, and targets can be registered with it', () => {
    const imported = MaintenanceWindow.fromMaintenanceWindowId(stack, 'Imported', 'mw-0123456789abcdef0');
    expect(imported.maintenanceWindowId).toBe('mw-0123456789abcdef0');
    new MaintenanceWindowTarget(stack, 'Target', { maintenanceWindow: imported, instanceIds: ['mi-0123456789abcdef0'] });
    Template.fromStack(stack).hasResourceProperties('AWS::SSM::MaintenanceWindowTarget', {
      WindowId: 'mw-0123456789abcdef0',
      ResourceType: 'INSTANCE',
      Targets: [{ Key: 'InstanceIds', Values: ['mi-0123456789abcdef0'] }],
    });
  });

  test('a token id is not validated', () => {
    const id = Lazy.string({ produce: () => 'not-an-id' });
    expect(MaintenanceWindow.fromMaintenanceWindowId(stack, 'Imported', id).maintenanceWindowId).toBe(id);
  });
});

describe('MaintenanceWindow targets', () => {
  test('a tag target selects nodes matching every tag key (AND), with any of its values', () => {
    const w = window();
    const target = w.addTarget('Web', {
      tags: { PatchGroup: ['web', 'web-canary'], Env: ['prod'] },
      name: 'web-nodes',
      description: 'Web tier',
      ownerInformation: 'team-web',
    });
    Template.fromStack(stack).hasResourceProperties('AWS::SSM::MaintenanceWindowTarget', {
      WindowId: { Ref: 'WindowD7A05A61' },
      ResourceType: 'INSTANCE',
      Targets: [
        { Key: 'tag:PatchGroup', Values: ['web', 'web-canary'] },
        { Key: 'tag:Env', Values: ['prod'] },
      ],
      Name: 'web-nodes',
      Description: 'Web tier',
      OwnerInformation: 'team-web',
    });
    expect(stack.resolve(target.maintenanceWindowTargetId)).toEqual({ Ref: 'WindowWebF28B44EA' });
    expect(target.maintenanceWindow).toBe(w);
  });

  test('a resource group target uses ResourceType RESOURCE_GROUP', () => {
    window().addTarget('Group', { resourceGroupName: 'web-servers' });
    Template.fromStack(stack).hasResourceProperties('AWS::SSM::MaintenanceWindowTarget', {
      ResourceType: 'RESOURCE_GROUP',
      Targets: [{ Key: 'resource-groups:Name', Values: ['web-servers'] }],
      Name: Match.absent(),
      Description: Match.absent(),
      OwnerInformation: Match.absent(),
    });
  });

  test('an instance-id target selects EC2 and hybrid nodes by id', () => {
    window().addTarget('Nodes', { instanceIds: ['i-0123456789abcdef0', 'i-01234567', 'mi-0123456789abcdef0'] });
    Template.fromStack(stack).hasResourceProperties('AWS::SSM::MaintenanceWindowTarget', {
      ResourceType: 'INSTANCE',
      Targets: [{ Key: 'InstanceIds', Values: ['i-0123456789abcdef0', 'i-01234567', 'mi-0123456789abcdef0'] }],
    });
  });
});

describe('MaintenanceWindow Run Command tasks', () => {
  test('defaults: priority 1, the window targets, 10% concurrency and errors, the window role', () => {
    const { window: w } = patchingWindow();
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::SSM::MaintenanceWindowTask', {
      WindowId: { Ref: 'WindowD7A05A61' },
      TaskType: 'RUN_COMMAND',
      TaskArn: 'AWS-RunPatchBaseline',
      Priority: 1,
      Targets: [{ Key: 'WindowTargetIds', Values: [{ Ref: 'WindowWebF28B44EA' }] }],
      MaxConcurrency: '10%',
      MaxErrors: '10%',
      ServiceRoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^WindowServiceRole'), 'Arn'] },
      CutoffBehavior: Match.absent(),
      Name: Match.absent(),
      Description: Match.absent(),
      LoggingInfo: Match.absent(),
      TaskParameters: Match.absent(),
      TaskInvocationParameters: {
        MaintenanceWindowRunCommandParameters: {
          Parameters: { Operation: ['Install'] },
          OutputS3BucketName: Match.absent(),
          CloudWatchOutputConfig: Match.absent(),
          NotificationConfig: Match.absent(),
          ServiceRoleArn: Match.absent(),
          TimeoutSeconds: Match.absent(),
        },
      },
    });
    const [task] = Object.values(template.findResources('AWS::SSM::MaintenanceWindowTask'));
    expect(task.Properties.ServiceRoleArn).toEqual(stack.resolve(w.serviceRole!.roleArn));
  });

  test('the task is created after the service role and its policy', () => {
    patchingWindow();
    const tasks = Template.fromStack(stack).findResources('AWS::SSM::MaintenanceWindowTask');
    const dependsOn = (Object.values(tasks)[0] as { DependsOn: string[] }).DependsOn;
    expect(dependsOn).toEqual(expect.arrayContaining([expect.stringMatching(/^WindowServiceRole[0-9A-F]{8}$/), expect.stringMatching(/^WindowServiceRoleDefaultPolicy/)]));
  });

  test('returns the task with its id and type', () => {
    const w = window();
    const target = w.addTarget('Web', { tags: { PatchGroup: ['web'] } });
    const task = w.addRunCommandTask('Patch', { documentName: 'AWS-RunPatchBaseline', targets: [target] });
    expect(task.taskType).toBe(MaintenanceWindowTaskType.RUN_COMMAND);
    expect(stack.resolve(task.maintenanceWindowTaskId)).toEqual({ Ref: 'WindowPatch7578B42C' });
    expect(task.node.defaultChild?.node.id).toBe('Resource');
  });

  test('the service role trusts ssm.amazonaws.com with documented conditions only (no aws:SourceArn)', () => {
    patchingWindow();
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Role', {
      Description: 'Runs the tasks of the maintenance window TestStack/Window',
      AssumeRolePolicyDocument: {
        Statement: [
          {
            Action: 'sts:AssumeRole',
            Effect: 'Allow',
            Principal: { Service: 'ssm.amazonaws.com' },
            // Checked only when Systems Manager sends it: a condition it does not meet would break every task.
            Condition: { StringEqualsIfExists: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
          },
        ],
      },
      ManagedPolicyArns: Match.absent(),
    });
  });

  test('no role of a window carries aws:SourceArn in its trust policy (undocumented for maintenance windows)', () => {
    const w = window();
    const target = w.addTarget('Web', { tags: { PatchGroup: ['web'] } });
    w.addRunCommandTask('Patch', { documentName: 'AWS-RunPatchBaseline', targets: [target], notificationTopic: importedTopic() });
    const roles = Template.fromStack(stack).findResources('AWS::IAM::Role');
    expect(Object.keys(roles)).toHaveLength(2);
    for (const role of Object.values(roles)) {
      expect(JSON.stringify(role.Properties.AssumeRolePolicyDocument)).not.toContain('aws:SourceArn');
    }
  });

  test('the service role may send the task document to the nodes and follow its commands, nothing else', () => {
    patchingWindow();
    const statements = statementsOf(Template.fromStack(stack), 'WindowServiceRole');
    expect(statements).toEqual([
      {
        Effect: 'Allow',
        Action: 'ssm:SendCommand',
        Resource: ownedArn('::document/AWS-RunPatchBaseline'),
      },
      {
        Effect: 'Allow',
        Action: 'ssm:SendCommand',
        Resource: [arn('ec2', ':instance/*'), ssmArn('managed-instance/*')],
        // Only nodes that carry the target's tag can receive the commands.
        Condition: { StringEquals: { 'ssm:resourceTag/PatchGroup': ['web'] } },
      },
      {
        Effect: 'Allow',
        Action: ['ssm:CancelCommand', 'ssm:GetCommandInvocation', 'ssm:ListCommandInvocations', 'ssm:ListCommands'],
        Resource: '*',
      },
    ]);
  });

  test('every Run Command option is rendered', () => {
    const w = window();
    const target = w.addTarget('Web', { tags: { PatchGroup: ['web'] } });
    const other = w.addTarget('Db', { tags: { PatchGroup: ['db'] } });
    const logGroup = logs.LogGroup.fromLogGroupName(stack, 'Logs', 'patch-output');
    w.addRunCommandTask('Patch', {
      documentName: 'AWS-RunPatchBaseline',
      targets: [target, other],
      parameters: { Operation: ['Install'], RebootOption: ['RebootIfNeeded'] },
      documentVersion: '$DEFAULT',
      documentHash: 'a'.repeat(64),
      timeout: Duration.minutes(30),
      comment: 'Patch Tuesday',
      outputS3Bucket: importedBucket(),
      outputS3KeyPrefix: 'patching/',
      cloudWatchLogGroup: logGroup,
      notificationTopic: importedTopic(),
      notificationEvents: [RunCommandNotificationEvent.FAILED, RunCommandNotificationEvent.TIMED_OUT],
      notificationType: RunCommandNotificationType.INVOCATION,
      priority: 3,
      name: 'install-patches',
      description: 'Installs approved patches',
      cutoffBehavior: MaintenanceWindowTaskCutoffBehavior.CANCEL_TASK,
      maxConcurrency: '2',
      maxErrors: '0',
    });
    Template.fromStack(stack).hasResourceProperties('AWS::SSM::MaintenanceWindowTask', {
      Priority: 3,
      Name: 'install-patches',
      Description: 'Installs approved patches',
      CutoffBehavior: 'CANCEL_TASK',
      MaxConcurrency: '2',
      MaxErrors: '0',
      Targets: [{ Key: 'WindowTargetIds', Values: [{ Ref: 'WindowWebF28B44EA' }, { Ref: Match.stringLikeRegexp('^WindowDb') }] }],
      LoggingInfo: Match.absent(),
      TaskInvocationParameters: {
        MaintenanceWindowRunCommandParameters: {
          Parameters: { Operation: ['Install'], RebootOption: ['RebootIfNeeded'] },
          DocumentVersion: '$DEFAULT',
          DocumentHash: 'a'.repeat(64),
          DocumentHashType: 'Sha256',
          TimeoutSeconds: 1800,
          Comment: 'Patch Tuesday',
          OutputS3BucketName: 'patch-output',
          OutputS3KeyPrefix: 'patching/',
          CloudWatchOutputConfig: { CloudWatchOutputEnabled: true, CloudWatchLogGroupName: 'patch-output' },
          NotificationConfig: {
            NotificationArn: 'arn:aws:sns:eu-west-1:123456789012:patching',
            NotificationEvents: ['Failed', 'TimedOut'],
            NotificationType: 'Invocation',
          },
          ServiceRoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^WindowNotificationRole'), 'Arn'] },
        },
      },
    });
  });

  test('CloudWatch output can be turned on without a log group (the default group aws/ssm/<document>)', () => {
    const w = window();
    const target = w.addTarget('Web', { tags: { PatchGroup: ['web'] } });
    w.addRunCommandTask('Patch', { documentName: 'AWS-RunPatchBaseline', targets: [target], cloudWatchOutputEnabled: true });
    Template.fromStack(stack).hasResourceProperties('AWS::SSM::MaintenanceWindowTask', {
      TaskInvocationParameters: {
        MaintenanceWindowRunCommandParameters: { CloudWatchOutputConfig: { CloudWatchOutputEnabled: true, CloudWatchLogGroupName: Match.absent() } },
      },
    });
  });

  test('the output bucket is part of SendCommand, and the window role gets no write access to it', () => {
    const w = window();
    const target = w.addTarget('Web', { tags: { PatchGroup: ['web'] } });
    w.addRunCommandTask('Patch', { documentName: 'AWS-RunPatchBaseline', targets: [target], outputS3Bucket: importedBucket() });
    const statements = statementsOf(Template.fromStack(stack), 'WindowServiceRole');
    expect(statements[0]).toEqual({
      Effect: 'Allow',
      Action: 'ssm:SendCommand',
      Resource: expect.arrayContaining([{ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::patch-output']] }]),
    });
    expect(actionsOf(statements).filter((a) => a.startsWith('s3:'))).toEqual([]);
  });

  test('notifications: a notification role trusted by SSM may publish, and the window role may pass it only to SSM', () => {
    const w = window();
    const target = w.addTarget('Web', { tags: { PatchGroup: ['web'] } });
    w.addRunCommandTask('Patch', { documentName: 'AWS-RunPatchBaseline', targets: [target], notificationTopic: importedTopic() });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::SSM::MaintenanceWindowTask', {
      TaskInvocationParameters: {
        MaintenanceWindowRunCommandParameters: {
          NotificationConfig: { NotificationArn: 'arn:aws:sns:eu-west-1:123456789012:patching', NotificationEvents: ['All'], NotificationType: 'Command' },
        },
      },
    });
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'ssm.amazonaws.com' }, Condition: Match.anyValue() })] },
      Description: Match.stringLikeRegexp('publish the Run Command notifications'),
    });
    expect(statementsOf(template, 'WindowNotificationRole')).toEqual([
      { Effect: 'Allow', Action: 'sns:Publish', Resource: 'arn:aws:sns:eu-west-1:123456789012:patching' },
    ]);
    expect(statementsOf(template, 'WindowServiceRole')).toContainEqual({
      Effect: 'Allow',
      Action: 'iam:PassRole',
      Resource: { 'Fn::GetAtt': [expect.stringMatching(/^WindowNotificationRole/), 'Arn'] },
      Condition: { StringEquals: { 'iam:PassedToService': 'ssm.amazonaws.com' } },
    });
  });

  test('an encrypted topic: the key grant of the created notification role is acknowledged, that of a role of your own is not', () => {
    const w = window();
    const target = w.addTarget('Web', { tags: { PatchGroup: ['web'] } });
    const topic = new sns.Topic(stack, 'Encrypted', { masterKey: new kms.Key(stack, 'TopicKey', { enableKeyRotation: true }), enforceSSL: true });
    w.addRunCommandTask('Patch', { documentName: 'AWS-RunPatchBaseline', targets: [target], notificationTopic: topic });
    const mine = new iam.Role(stack, 'MyNotifier', { assumedBy: new iam.ServicePrincipal('ssm.amazonaws.com') });
    w.addRunCommandTask('Other', { documentName: 'AWS-RunPatchBaseline', targets: [target], notificationTopic: topic, notificationRole: mine });
    const keyGrant = nagFindings(stack).filter((f) => f.rule === 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]');
    expect(keyGrant.flatMap((f) => f.paths)).toEqual(['TestStack/MyNotifier/DefaultPolicy/Resource']);
  });

  test('a notification role of your own is used, granted publish and passed', () => {
    const w = window();
    const target = w.addTarget('Web', { tags: { PatchGroup: ['web'] } });
    const notificationRole = new iam.Role(stack, 'MyNotifier', { assumedBy: new iam.ServicePrincipal('ssm.amazonaws.com') });
    w.addRunCommandTask('Patch', { documentName: 'AWS-RunPatchBaseline', targets: [target], notificationTopic: importedTopic(), notificationRole });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::IAM::Role', 2);
    template.hasResourceProperties('AWS::SSM::MaintenanceWindowTask', {
      TaskInvocationParameters: { MaintenanceWindowRunCommandParameters: { ServiceRoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^MyNotifier'), 'Arn'] } } },
    });
    expect(statementsOf(template, 'MyNotifier')).toEqual([
      { Effect: 'Allow', Action: 'sns:Publish', Resource: 'arn:aws:sns:eu-west-1:123456789012:patching' },
    ]);
    expect(statementsOf(template, 'WindowServiceRole')).toContainEqual(
      expect.objectContaining({ Action: 'iam:PassRole', Resource: { 'Fn::GetAtt': [expect.stringMatching(/^MyNotifier/), 'Arn'] } }),
    );
  });

  test('a document of this account is scoped to this account; an ARN is used as given', () => {
    const w = window();
    const target = w.addTarget('Web', { tags: { PatchGroup: ['web'] } });
    w.addRunCommandTask('Own', { documentName: 'Company-Hardening', targets: [target] });
    w.addRunCommandTask('Shared', { documentName: 'arn:aws:ssm:eu-west-1:210987654321:document/Shared-Doc', targets: [target] });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::SSM::MaintenanceWindowTask', { TaskArn: 'arn:aws:ssm:eu-west-1:210987654321:document/Shared-Doc' });
    const sendCommand = statementsOf(template, 'WindowServiceRole').find((s) => s.Action === 'ssm:SendCommand');
    expect(sendCommand?.Resource).toEqual([
      ssmArn('document/Company-Hardening'),
      'arn:aws:ssm:eu-west-1:210987654321:document/Shared-Doc',
    ]);
  });

  test('one service role per window, shared by every task, with no duplicate statements', () => {
    const w = window();
    const target = w.addTarget('Web', { tags: { PatchGroup: ['web'] } });
    w.addRunCommandTask('Scan', { documentName: 'AWS-RunPatchBaseline', targets: [target], parameters: { Operation: ['Scan'] } });
    w.addRunCommandTask('Install', { documentName: 'AWS-RunPatchBaseline', targets: [target], priority: 2 });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::IAM::Role', 1);
    template.resourceCountIs('AWS::SSM::MaintenanceWindowTask', 2);
    expect(statementsOf(template, 'WindowServiceRole')).toHaveLength(3);
  });

  test('SendCommand reaches only nodes with the tags of the targets: one statement per tag-key set, values merged', () => {
    const w = window();
    const web = w.addTarget('Web', { tags: { PatchGroup: ['web'], PatchMode: ['enforce'] } });
    const db = w.addTarget('Db', { tags: { PatchGroup: ['db'], PatchMode: ['enforce'] } });
    const lab = w.addTarget('Lab', { tags: { Env: ['lab', 'test'] } });
    w.addRunCommandTask('PatchWeb', { documentName: 'AWS-RunPatchBaseline', targets: [web] });
    w.addRunCommandTask('PatchDb', { documentName: 'AWS-RunPatchBaseline', targets: [db] });
    w.addRunCommandTask('RunLab', { documentName: 'AWS-RunShellScript', targets: [lab] });
    const nodeStatements = statementsOf(Template.fromStack(stack), 'WindowServiceRole')
      .filter((s) => s.Action === 'ssm:SendCommand' && s.Condition !== undefined);
    expect(nodeStatements).toEqual([
      {
        Effect: 'Allow',
        Action: 'ssm:SendCommand',
        Resource: [arn('ec2', ':instance/*'), ssmArn('managed-instance/*')],
        Condition: { StringEquals: { 'ssm:resourceTag/PatchGroup': ['web', 'db'], 'ssm:resourceTag/PatchMode': ['enforce'] } },
      },
      {
        Effect: 'Allow',
        Action: 'ssm:SendCommand',
        Resource: [arn('ec2', ':instance/*'), ssmArn('managed-instance/*')],
        Condition: { StringEquals: { 'ssm:resourceTag/Env': ['lab', 'test'] } },
      },
    ]);
    // No unconditioned statement reaches every node.
    const unconditioned = statementsOf(Template.fromStack(stack), 'WindowServiceRole').filter((s) => s.Condition === undefined);
    expect(JSON.stringify(unconditioned)).not.toContain('instance/*');
  });

  test('an id target lets SendCommand reach only those nodes, and no wildcard node is acknowledged', () => {
    const w = window();
    const nodes = w.addTarget('Nodes', { instanceIds: ['i-0123456789abcdef0', 'mi-0123456789abcdef0'] });
    w.addRunCommandTask('Patch', { documentName: 'AWS-RunPatchBaseline', targets: [nodes] });
    const statements = statementsOf(Template.fromStack(stack), 'WindowServiceRole');
    expect(statements).toContainEqual({
      Effect: 'Allow',
      Action: 'ssm:SendCommand',
      Resource: [arn('ec2', ':instance/i-0123456789abcdef0'), ssmArn('managed-instance/mi-0123456789abcdef0')],
    });
    expect(JSON.stringify(statements)).not.toContain('instance/*');
  });

  test('a resource-group target lets the role list only that group, plus tag:GetResources', () => {
    const w = window();
    const group = w.addTarget('Group', { resourceGroupName: 'web-servers' });
    w.addRunCommandTask('Patch', { documentName: 'AWS-RunPatchBaseline', targets: [group] });
    const statements = statementsOf(Template.fromStack(stack), 'WindowServiceRole');
    expect(statements).toContainEqual({
      Effect: 'Allow',
      Action: 'resource-groups:ListGroupResources',
      Resource: arn('resource-groups', ':group/web-servers'),
    });
    expect(statements).toContainEqual({ Effect: 'Allow', Action: 'tag:GetResources', Resource: '*' });
    // IAM cannot tell a group's members apart: a resource-group target reaches any node.
    expect(statements).toContainEqual({
      Effect: 'Allow',
      Action: 'ssm:SendCommand',
      Resource: [ownedArn('::document/AWS-RunPatchBaseline'), arn('ec2', ':instance/*'), ssmArn('managed-instance/*')],
    });
  });
});

describe('MaintenanceWindow Automation tasks', () => {
  test('a targetless runbook omits targets and rate controls; the role may start it and follow its executions', () => {
    const w = window();
    const task = w.addAutomationTask('Snapshot', { documentName: 'AWS-CreateSnapshot', documentVersion: '$LATEST', parameters: { VolumeId: ['vol-1'] } });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::SSM::MaintenanceWindowTask', {
      TaskType: 'AUTOMATION',
      TaskArn: 'AWS-CreateSnapshot',
      Priority: 1,
      Targets: Match.absent(),
      MaxConcurrency: Match.absent(),
      MaxErrors: Match.absent(),
      TaskInvocationParameters: {
        MaintenanceWindowAutomationParameters: { DocumentVersion: '$LATEST', Parameters: { VolumeId: ['vol-1'] } },
      },
    });
    expect(task.taskType).toBe(MaintenanceWindowTaskType.AUTOMATION);
    expect(statementsOf(template, 'WindowServiceRole')).toEqual([
      { Effect: 'Allow', Action: 'ssm:StartAutomationExecution', Resource: ownedArn(':*:automation-definition/AWS-CreateSnapshot:*') },
      { Effect: 'Allow', Action: ['ssm:GetAutomationExecution', 'ssm:StopAutomationExecution'], Resource: ssmArn('automation-execution/*') },
    ]);
  });

  test('an assume role is passed as AutomationAssumeRole, and only it may be passed, only to SSM', () => {
    const w = window();
    const target = w.addTarget('Web', { tags: { PatchGroup: ['web'] } });
    w.addAutomationTask('Restart', {
      documentName: 'Company-Restart',
      targets: [target],
      parameters: { InstanceId: ['{{RESOURCE_ID}}'] },
      automationAssumeRole: importedRole('Runbook', 'runbook'),
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::SSM::MaintenanceWindowTask', {
      Targets: [{ Key: 'WindowTargetIds', Values: [{ Ref: 'WindowWebF28B44EA' }] }],
      MaxConcurrency: '10%',
      MaxErrors: '10%',
      TaskInvocationParameters: {
        MaintenanceWindowAutomationParameters: {
          DocumentVersion: Match.absent(),
          Parameters: { InstanceId: ['{{RESOURCE_ID}}'], AutomationAssumeRole: ['arn:aws:iam::123456789012:role/runbook'] },
        },
      },
    });
    const statements = statementsOf(template, 'WindowServiceRole');
    expect(statements).toContainEqual({ Effect: 'Allow', Action: 'ssm:StartAutomationExecution', Resource: ssmArn('automation-definition/Company-Restart:*') });
    expect(statements).toContainEqual({
      Effect: 'Allow',
      Action: 'iam:PassRole',
      Resource: 'arn:aws:iam::123456789012:role/runbook',
      Condition: { StringEquals: { 'iam:PassedToService': 'ssm.amazonaws.com' } },
    });
    expect(actionsOf(statements)).not.toContain('ssm:SendCommand');
  });
});

describe('MaintenanceWindow Lambda tasks', () => {
  test('a targetless invocation may invoke only that function', () => {
    const w = window();
    const task = w.addLambdaTask('Tidy', { lambdaFunction: importedFunction() });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::SSM::MaintenanceWindowTask', {
      TaskType: 'LAMBDA',
      TaskArn: 'arn:aws:lambda:eu-west-1:123456789012:function:tidy',
      Targets: Match.absent(),
      MaxConcurrency: Match.absent(),
      MaxErrors: Match.absent(),
      TaskInvocationParameters: { MaintenanceWindowLambdaParameters: { Qualifier: Match.absent(), Payload: Match.absent() } },
    });
    expect(task.taskType).toBe(MaintenanceWindowTaskType.LAMBDA);
    expect(statementsOf(template, 'WindowServiceRole')).toEqual([
      { Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: 'arn:aws:lambda:eu-west-1:123456789012:function:tidy' },
    ]);
  });

  test('a qualifier narrows the permission to that version or alias, and the payload is base64-encoded', () => {
    const w = window();
    w.addLambdaTask('Tidy', { lambdaFunction: importedFunction(), qualifier: 'live', payload: '{"dryRun":false}' });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::SSM::MaintenanceWindowTask', {
      TaskInvocationParameters: {
        MaintenanceWindowLambdaParameters: { Qualifier: 'live', Payload: Buffer.from('{"dryRun":false}').toString('base64') },
      },
    });
    expect(statementsOf(template, 'WindowServiceRole')).toEqual([
      { Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: 'arn:aws:lambda:eu-west-1:123456789012:function:tidy:live' },
    ]);
  });

  test('a token payload is encoded by CloudFormation', () => {
    const w = window();
    w.addLambdaTask('Tidy', { lambdaFunction: importedFunction(), payload: Lazy.string({ produce: () => '{}' }) });
    Template.fromStack(stack).hasResourceProperties('AWS::SSM::MaintenanceWindowTask', {
      TaskInvocationParameters: { MaintenanceWindowLambdaParameters: { Payload: { 'Fn::Base64': '{}' } } },
    });
  });
});

describe('MaintenanceWindow service role choices', () => {
  test('serviceLinked(): tasks have no ServiceRoleArn and no role is created', () => {
    const { window: w } = patchingWindow({ serviceRole: MaintenanceWindowRole.serviceLinked() });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::IAM::Role', 0);
    template.resourceCountIs('AWS::IAM::Policy', 0);
    template.hasResourceProperties('AWS::SSM::MaintenanceWindowTask', { ServiceRoleArn: Match.absent() });
    expect(w.serviceRole).toBeUndefined();
  });

  test('fromRole(): tasks use the role, and the statements they need are added to it', () => {
    const role = new iam.Role(stack, 'MyRole', { assumedBy: new iam.ServicePrincipal('ssm.amazonaws.com') });
    const { window: w } = patchingWindow({ serviceRole: MaintenanceWindowRole.fromRole(role) });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::IAM::Role', 1);
    template.hasResourceProperties('AWS::SSM::MaintenanceWindowTask', {
      ServiceRoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^MyRole'), 'Arn'] },
    });
    expect(actionsOf(statementsOf(template, 'MyRole'))).toEqual([
      'ssm:CancelCommand',
      'ssm:GetCommandInvocation',
      'ssm:ListCommandInvocations',
      'ssm:ListCommands',
      'ssm:SendCommand', // the document
      'ssm:SendCommand', // the tagged nodes
    ]);
    expect(w.serviceRole).toBe(role);
  });

  test('fromRole() with an imported role renders its ARN', () => {
    patchingWindow({ serviceRole: MaintenanceWindowRole.fromRole(importedRole('Imported', 'mw-role')) });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::IAM::Role', 0);
    template.hasResourceProperties('AWS::SSM::MaintenanceWindowTask', { ServiceRoleArn: 'arn:aws:iam::123456789012:role/mw-role' });
  });

  test('leastPrivilege() is the default', () => {
    patchingWindow({ serviceRole: MaintenanceWindowRole.leastPrivilege() });
    Template.fromStack(stack).resourceCountIs('AWS::IAM::Role', 1);
  });
});

describe('MaintenanceWindow gates', () => {
  test('a window with a Run Command task passes every gate with zero unacknowledged findings', () => {
    patchingWindow();
    expect(allFindings(app)).toEqual([]);
  });

  test('a window with every task type, notifications and a resource group passes every gate', () => {
    const w = window();
    const web = w.addTarget('Web', { tags: { PatchGroup: ['web'] } });
    const group = w.addTarget('Group', { resourceGroupName: 'web-servers' });
    w.addRunCommandTask('Patch', { documentName: 'AWS-RunPatchBaseline', targets: [web, group], notificationTopic: importedTopic(), outputS3Bucket: importedBucket() });
    w.addAutomationTask('Restart', { documentName: 'AWS-RestartEC2Instance', targets: [web], automationAssumeRole: importedRole('Runbook', 'runbook') });
    w.addAutomationTask('Custom', { documentName: 'Company-Runbook' });
    w.addLambdaTask('Tidy', { lambdaFunction: importedFunction() });
    expect(allFindings(app)).toEqual([]);
  });
});

describe('MaintenanceWindow validation', () => {
  const hours = Duration.hours;
  test.each<[string, () => void, RegExp]>([
    // window
    ['a bad schedule', () => window({ schedule: MaintenanceSchedule.cron({ minute: '*/2' }) }), /^`schedule` must not run more often than every 5 minutes \(runs 2 minutes apart\), got: 'cron\(\*\/2 \* \* \* \? \*\)' \(at TestStack\/Window\)$/],
    ['a duration that is not whole hours', () => window({ duration: Duration.minutes(90) }), /^`duration` must be a whole number of hours from 1 to 24, got: 1 hour 30 minutes \(at TestStack\/Window\)$/],
    ['a duration of 0', () => window({ duration: hours(0) }), /^`duration` must be a whole number of hours from 1 to 24, got: 0 hours/],
    ['a duration of 25 hours', () => window({ duration: hours(25) }), /^`duration` must be a whole number of hours from 1 to 24, got: 25 hours/],
    ['a cutoff of 24 hours', () => window({ cutoff: hours(24) }), /^`cutoff` must be a whole number of hours from 0 to 23, got: 24 hours/],
    ['a cutoff that is not whole hours', () => window({ cutoff: Duration.minutes(30) }), /^`cutoff` must be a whole number of hours from 0 to 23, got: 30 minutes/],
    ['a cutoff equal to the duration', () => window({ duration: hours(2), cutoff: hours(2) }), /^`cutoff` must be shorter than `duration`, got: cutoff 2 hours, duration 2 hours \(at TestStack\/Window\)$/],
    ['a cutoff longer than the duration', () => window({ duration: hours(3), cutoff: hours(5) }), /^`cutoff` must be shorter than `duration`, got: cutoff 5 hours, duration 3 hours/],
    ['a token duration not in hours', () => window({ duration: Duration.minutes(Lazy.number({ produce: () => 120 })) }), /^`duration` from a token must be given with Duration\.hours\(\), got: a token in minutes/],
    ['a window name with spaces', () => window({ maintenanceWindowName: 'patch window' }), /^`maintenanceWindowName` must be 3 to 128 letters, digits, _ - and \., got: 'patch window' \(at TestStack\/Window\)$/],
    ['a window name of 2 characters', () => window({ maintenanceWindowName: 'mw' }), /^`maintenanceWindowName` must be 3 to 128 letters, digits, _ - and \., got: 'mw'/],
    ['a window name of 129 characters', () => window({ maintenanceWindowName: 'w'.repeat(129) }), /^`maintenanceWindowName` must be 3 to 128 letters/],
    ['an empty description', () => window({ description: '' }), /^`description` must be 1 to 128 characters long, got: 0 characters \(at TestStack\/Window\)$/],
    ['a description of 129 characters', () => window({ description: 'd'.repeat(129) }), /^`description` must be 1 to 128 characters long, got: 129 characters/],
    ['an unknown time zone', () => window({ scheduleTimezone: 'Mars/Olympus_Mons' }), /^`scheduleTimezone` must be an IANA time zone name such as 'Europe\/Berlin' or 'UTC', got: 'Mars\/Olympus_Mons' \(at TestStack\/Window\)$/],
    ['a UTC offset as time zone', () => window({ scheduleTimezone: '+01:00' }), /^`scheduleTimezone` must be an IANA time zone name .*got: '\+01:00'/],
    ['a schedule offset of 0', () => window({ scheduleOffset: 0 }), /^`scheduleOffset` must be an integer from 1 to 6, got: 0 \(at TestStack\/Window\)$/],
    ['a schedule offset of 7', () => window({ scheduleOffset: 7 }), /^`scheduleOffset` must be an integer from 1 to 6, got: 7/],
    ['a schedule offset with a rate', () => window({ schedule: MaintenanceSchedule.rate(hours(1)), scheduleOffset: 2 }), /^`scheduleOffset` applies only to cron schedules, got: 'rate\(1 hour\)' \(at TestStack\/Window\)$/],
    ['a schedule offset with a one-time schedule', () => window({ schedule: MaintenanceSchedule.at(new Date('2030-01-01T00:00:00Z')), scheduleOffset: 1 }), /^`scheduleOffset` applies only to cron schedules, got: 'at\(2030-01-01T00:00:00\)'/],
    ['an invalid start date', () => window({ startDate: new Date('nope') }), /^`startDate` must be a valid date, got: Invalid Date \(at TestStack\/Window\)$/],
    ['an invalid end date', () => window({ endDate: new Date('nope') }), /^`endDate` must be a valid date, got: Invalid Date/],
    ['an end date before the start date', () => window({ startDate: new Date('2030-02-01T00:00:00Z'), endDate: new Date('2030-01-01T00:00:00Z') }), /^`endDate` must be after `startDate`, got: endDate 2030-01-01T00:00:00Z, startDate 2030-02-01T00:00:00Z \(at TestStack\/Window\)$/],
    ['an end date equal to the start date', () => window({ startDate: new Date('2030-01-01T00:00:00Z'), endDate: new Date('2030-01-01T00:00:00Z') }), /^`endDate` must be after `startDate`/],
    ['an imported window id of the wrong form', () => MaintenanceWindow.fromMaintenanceWindowId(stack, 'Imported', 'mw-123'), /^`maintenanceWindowId` must be 'mw-' followed by 17 hexadecimal digits, got: 'mw-123' \(at TestStack\/Imported\)$/],
    // targets
    ['a target without a selection', () => window().addTarget('T', {}), /^`tags`, `resourceGroupName` and `instanceIds` must be given exactly one at a time, got: none \(at TestStack\/Window\/T\)$/],
    ['a target with two selections', () => window().addTarget('T', { tags: { A: ['b'] }, instanceIds: ['mi-0123456789abcdef0'] }), /^`tags`, `resourceGroupName` and `instanceIds` must be given exactly one at a time, got: tags, instanceIds/],
    ['a tag target with no keys', () => window().addTarget('T', { tags: {} }), /^`tags` must have 1 to 5 keys \(a node must match all of them\), got: 0 \(at TestStack\/Window\/T\)$/],
    ['a tag target with 6 keys', () => window().addTarget('T', { tags: { A: ['1'], B: ['1'], C: ['1'], D: ['1'], E: ['1'], F: ['1'] } }), /^`tags` must have 1 to 5 keys \(a node must match all of them\), got: 6/],
    ['a tag key with +', () => window().addTarget('T', { tags: { 'a+b': ['1'] } }), /^`tags` tag keys must not contain '\+' \(Systems Manager targets cannot select such keys\), got: 'a\+b' \(at TestStack\/Window\/T\)$/],
    ['a tag key with the aws: prefix', () => window().addTarget('T', { tags: { 'aws:foo': ['1'] } }), /^`tags` tag keys must not start with the reserved prefix 'aws:', got: 'aws:foo'/],
    ['a tag key of 129 characters', () => window().addTarget('T', { tags: { ['k'.repeat(129)]: ['1'] } }), /^`tags` tag keys must be 1 to 128 characters long/],
    ['a tag key without values', () => window().addTarget('T', { tags: { Env: [] } }), /^`tags` must list 1 to 50 values for each key, got: 0 for key 'Env' \(at TestStack\/Window\/T\)$/],
    ['a tag key with 51 values', () => window().addTarget('T', { tags: { Env: Array.from({ length: 51 }, (_, i) => `v${i}`) } }), /^`tags` must list 1 to 50 values for each key, got: 51 for key 'Env'/],
    ['a tag value with a forbidden character', () => window().addTarget('T', { tags: { Env: ['a*b'] } }), /^`tags` tag values may contain only letters, numbers, spaces and _ \. : \/ = \+ - @, got: 'a\*b' for key 'Env'/],
    ['no instance ids', () => window().addTarget('T', { instanceIds: [] }), /^`instanceIds` must list 1 to 50 node ids, got: 0 \(at TestStack\/Window\/T\)$/],
    ['51 instance ids', () => window().addTarget('T', { instanceIds: Array.from({ length: 51 }, () => 'mi-0123456789abcdef0') }), /^`instanceIds` must list 1 to 50 node ids, got: 51/],
    ['an instance id of the wrong form', () => window().addTarget('T', { instanceIds: ['server01'] }), /^`instanceIds` entries must be EC2 instance ids \(i-…\) or hybrid node ids \(mi-…\), got: 'server01' \(at TestStack\/Window\/T\)$/],
    ['a resource group name with spaces', () => window().addTarget('T', { resourceGroupName: 'web servers' }), /^`resourceGroupName` must be 1 to 300 letters, digits, _ \. and -, got: 'web servers' \(at TestStack\/Window\/T\)$/],
    ['a target name with spaces', () => window().addTarget('T', { instanceIds: ['mi-0123456789abcdef0'], name: 'web nodes' }), /^`name` must be 3 to 128 letters, digits, _ - and \., got: 'web nodes' \(at TestStack\/Window\/T\)$/],
    ['a target description of 129 characters', () => window().addTarget('T', { instanceIds: ['mi-0123456789abcdef0'], description: 'd'.repeat(129) }), /^`description` must be 1 to 128 characters long, got: 129 characters \(at TestStack\/Window\/T\)$/],
    ['an empty owner information', () => window().addTarget('T', { instanceIds: ['mi-0123456789abcdef0'], ownerInformation: '' }), /^`ownerInformation` must be 1 to 128 characters long, got: 0 characters \(at TestStack\/Window\/T\)$/],
    // tasks
    ['a Run Command task without targets', () => window().addRunCommandTask('Task', { documentName: 'AWS-RunPatchBaseline', targets: [] }), /^`targets` must list at least one window target for a Run Command task, got: \[\] \(at TestStack\/Window\/Task\)$/],
    ['51 targets', () => { const w = window(); const t = w.addTarget('T', { tags: { A: ['1'] } }); w.addRunCommandTask('Task', { documentName: 'AWS-RunPatchBaseline', targets: Array.from({ length: 51 }, () => t) }); }, /^`targets` must list at most 50 window targets, got: 51 \(at TestStack\/Window\/Task\)$/],
    ['a target of another window', () => { const other = new MaintenanceWindow(stack, 'Other', { schedule: SUNDAY_3AM }).addTarget('T', { tags: { A: ['1'] } }); window().addRunCommandTask('Task', { documentName: 'AWS-RunPatchBaseline', targets: [other] }); }, /^`targets` must be targets of this maintenance window, got: a target of TestStack\/Other \(at TestStack\/Window\/Task\)$/],
    ['a negative priority', () => window().addLambdaTask('Task', { lambdaFunction: importedFunction(), priority: -1 }), /^`priority` must be a whole number of 0 or more, got: -1 \(at TestStack\/Window\/Task\)$/],
    ['a fractional priority', () => window().addLambdaTask('Task', { lambdaFunction: importedFunction(), priority: 1.5 }), /^`priority` must be a whole number of 0 or more, got: 1\.5/],
    ['maxConcurrency 0', () => { const w = window(); w.addRunCommandTask('Task', { documentName: 'AWS-RunPatchBaseline', targets: [w.addTarget('T', { tags: { A: ['1'] } })], maxConcurrency: '0' }); }, /^`maxConcurrency` must be a number from 1 or a percentage from 1% to 100% \(at most 7 characters\), got: '0' \(at TestStack\/Window\/Task\)$/],
    ['maxConcurrency 0%', () => { const w = window(); w.addRunCommandTask('Task', { documentName: 'AWS-RunPatchBaseline', targets: [w.addTarget('T', { tags: { A: ['1'] } })], maxConcurrency: '0%' }); }, /^`maxConcurrency` must be a number from 1 .*got: '0%'/],
    ['maxConcurrency 101%', () => { const w = window(); w.addRunCommandTask('Task', { documentName: 'AWS-RunPatchBaseline', targets: [w.addTarget('T', { tags: { A: ['1'] } })], maxConcurrency: '101%' }); }, /^`maxConcurrency` must be a number from 1 .*got: '101%'/],
    ['maxConcurrency of 8 digits', () => { const w = window(); w.addRunCommandTask('Task', { documentName: 'AWS-RunPatchBaseline', targets: [w.addTarget('T', { tags: { A: ['1'] } })], maxConcurrency: '12345678' }); }, /^`maxConcurrency` must be a number from 1 .*got: '12345678'/],
    ['maxErrors -1', () => { const w = window(); w.addRunCommandTask('Task', { documentName: 'AWS-RunPatchBaseline', targets: [w.addTarget('T', { tags: { A: ['1'] } })], maxErrors: '-1' }); }, /^`maxErrors` must be a number from 0 or a percentage from 0% to 100% \(at most 7 characters\), got: '-1' \(at TestStack\/Window\/Task\)$/],
    ['maxErrors 100.5%', () => { const w = window(); w.addRunCommandTask('Task', { documentName: 'AWS-RunPatchBaseline', targets: [w.addTarget('T', { tags: { A: ['1'] } })], maxErrors: '100.5%' }); }, /^`maxErrors` must be a number from 0 .*got: '100\.5%'/],
    ['maxConcurrency on a targetless task', () => window().addAutomationTask('Task', { documentName: 'AWS-CreateSnapshot', maxConcurrency: '1' }), /^`maxConcurrency` applies only to tasks with targets \(Systems Manager sets 1 for targetless tasks\), got: '1' \(at TestStack\/Window\/Task\)$/],
    ['maxErrors on a targetless task', () => window().addLambdaTask('Task', { lambdaFunction: importedFunction(), maxErrors: '0' }), /^`maxErrors` applies only to tasks with targets \(Systems Manager sets 1 for targetless tasks\), got: '0'/],
    ['a task name with spaces', () => window().addLambdaTask('Task', { lambdaFunction: importedFunction(), name: 'tidy up' }), /^`name` must be 3 to 128 letters, digits, _ - and \., got: 'tidy up' \(at TestStack\/Window\/Task\)$/],
    ['a task description of 129 characters', () => window().addLambdaTask('Task', { lambdaFunction: importedFunction(), description: 'd'.repeat(129) }), /^`description` must be 1 to 128 characters long, got: 129 characters \(at TestStack\/Window\/Task\)$/],
    ['a document name with spaces', () => window().addAutomationTask('Task', { documentName: 'My Runbook' }), /^`documentName` must be a document name \(3 to 128 letters, digits, _ - and \.\) or a document ARN, got: 'My Runbook' \(at TestStack\/Window\/Task\)$/],
    ['a document ARN of another service', () => window().addAutomationTask('Task', { documentName: 'arn:aws:s3:::bucket/doc' }), /^`documentName` must be a document name .*got: 'arn:aws:s3:::bucket\/doc'/],
    ['a document version of 0', () => window().addAutomationTask('Task', { documentName: 'AWS-CreateSnapshot', documentVersion: '0' }), /^`documentVersion` must be \$DEFAULT, \$LATEST or a version number, got: '0' \(at TestStack\/Window\/Task\)$/],
    ['a document hash of 257 characters', () => { const w = window(); w.addRunCommandTask('Task', { documentName: 'AWS-RunPatchBaseline', targets: [w.addTarget('T', { tags: { A: ['1'] } })], documentHash: 'a'.repeat(257) }); }, /^`documentHash` must be 1 to 256 characters long, got: 257 characters \(at TestStack\/Window\/Task\)$/],
    ['a timeout of 10 seconds', () => { const w = window(); w.addRunCommandTask('Task', { documentName: 'AWS-RunPatchBaseline', targets: [w.addTarget('T', { tags: { A: ['1'] } })], timeout: Duration.seconds(10) }); }, /^`timeout` must be a whole number of seconds from 30 seconds to 30 days, got: 10 seconds \(at TestStack\/Window\/Task\)$/],
    ['a timeout of 31 days', () => { const w = window(); w.addRunCommandTask('Task', { documentName: 'AWS-RunPatchBaseline', targets: [w.addTarget('T', { tags: { A: ['1'] } })], timeout: Duration.days(31) }); }, /^`timeout` must be a whole number of seconds from 30 seconds to 30 days, got: 31 days/],
    ['a comment of 101 characters', () => { const w = window(); w.addRunCommandTask('Task', { documentName: 'AWS-RunPatchBaseline', targets: [w.addTarget('T', { tags: { A: ['1'] } })], comment: 'c'.repeat(101) }); }, /^`comment` must be at most 100 characters long, got: 101 characters \(at TestStack\/Window\/Task\)$/],
    ['an output prefix of 501 characters', () => { const w = window(); w.addRunCommandTask('Task', { documentName: 'AWS-RunPatchBaseline', targets: [w.addTarget('T', { tags: { A: ['1'] } })], outputS3Bucket: importedBucket(), outputS3KeyPrefix: 'p'.repeat(501) }); }, /^`outputS3KeyPrefix` must be at most 500 characters long, got: 501 characters/],
    ['an output prefix without a bucket', () => { const w = window(); w.addRunCommandTask('Task', { documentName: 'AWS-RunPatchBaseline', targets: [w.addTarget('T', { tags: { A: ['1'] } })], outputS3KeyPrefix: 'patching/' }); }, /^`outputS3KeyPrefix` needs `outputS3Bucket`, got: 'patching\/' \(at TestStack\/Window\/Task\)$/],
    ['a log group with CloudWatch output off', () => { const w = window(); w.addRunCommandTask('Task', { documentName: 'AWS-RunPatchBaseline', targets: [w.addTarget('T', { tags: { A: ['1'] } })], cloudWatchLogGroup: logs.LogGroup.fromLogGroupName(stack, 'L', 'l'), cloudWatchOutputEnabled: false }); }, /^`cloudWatchLogGroup` needs CloudWatch output; drop it or `cloudWatchOutputEnabled: false`, got: cloudWatchOutputEnabled false/],
    ['notification options without a topic', () => { const w = window(); w.addRunCommandTask('Task', { documentName: 'AWS-RunPatchBaseline', targets: [w.addTarget('T', { tags: { A: ['1'] } })], notificationType: RunCommandNotificationType.COMMAND }); }, /^`notificationEvents`, `notificationType` and `notificationRole` need `notificationTopic`, got: no notificationTopic \(at TestStack\/Window\/Task\)$/],
    ['no notification events', () => { const w = window(); w.addRunCommandTask('Task', { documentName: 'AWS-RunPatchBaseline', targets: [w.addTarget('T', { tags: { A: ['1'] } })], notificationTopic: importedTopic(), notificationEvents: [] }); }, /^`notificationEvents` must list at least one event when given, got: \[\]/],
    ['201 runbook parameters', () => window().addAutomationTask('Task', { documentName: 'AWS-CreateSnapshot', parameters: Object.fromEntries(Array.from({ length: 201 }, (_, i) => [`p${i}`, ['v']])) }), /^`parameters` must have at most 200 names, got: 201 \(at TestStack\/Window\/Task\)$/],
    ['a runbook parameter name of 51 characters', () => window().addAutomationTask('Task', { documentName: 'AWS-CreateSnapshot', parameters: { ['p'.repeat(51)]: ['v'] } }), /^`parameters` names must be 1 to 50 characters long, got: 'p{51}'/],
    ['51 values of a runbook parameter', () => window().addAutomationTask('Task', { documentName: 'AWS-CreateSnapshot', parameters: { Ids: Array.from({ length: 51 }, () => 'v') } }), /^`parameters` must have at most 50 values per name, got: 51 for 'Ids'/],
    ['a runbook parameter value of 513 characters', () => window().addAutomationTask('Task', { documentName: 'AWS-CreateSnapshot', parameters: { Id: ['v'.repeat(513)] } }), /^`parameters` values must be 1 to 512 characters long, got: 513 characters for 'Id'/],
    ['an assume role given twice', () => window().addAutomationTask('Task', { documentName: 'AWS-CreateSnapshot', parameters: { AutomationAssumeRole: ['arn:aws:iam::123456789012:role/x'] }, automationAssumeRole: importedRole('R', 'y') }), /^`automationAssumeRole` and `parameters\.AutomationAssumeRole` must not both be given, got: both/],
    ['a qualifier of 129 characters', () => window().addLambdaTask('Task', { lambdaFunction: importedFunction(), qualifier: 'q'.repeat(129) }), /^`qualifier` must be 1 to 128 characters long, got: 129 characters \(at TestStack\/Window\/Task\)$/],
    ['a payload over 4096 bytes', () => window().addLambdaTask('Task', { lambdaFunction: importedFunction(), payload: JSON.stringify({ data: 'x'.repeat(4096) }) }), /^`payload` must be at most 4096 bytes, got: 4107 bytes \(at TestStack\/Window\/Task\)$/],
  ])('rejects %s', (_name, build, message) => {
    expect(build).toThrow(message);
  });

  test('tokens are not validated', () => {
    // Built, not synthesized: the CloudFormation schema check at synth would reject some of these values.
    const str = (value: string) => Lazy.string({ produce: () => value });
    const num = (value: number) => Lazy.number({ produce: () => value });
    let w: MaintenanceWindow | undefined;
    expect(() => {
      w = window({
        schedule: MaintenanceSchedule.expression(str('rate(1 minute)')),
        duration: Duration.hours(num(30)),
        maintenanceWindowName: str('x'),
        description: str(''),
        scheduleTimezone: str('Mars/Olympus_Mons'),
        scheduleOffset: num(9),
      });
      const target = w.addTarget('T', { instanceIds: Token.asList(str('not-a-list')), name: str('a b'), ownerInformation: str('') });
      w.addTarget('Tags', { tags: { Env: Token.asList(str('values')) } });
      w.addTarget('Group', { resourceGroupName: str('web servers') });
      w.addRunCommandTask('Task', {
        documentName: str('My Doc'),
        targets: [target],
        priority: num(-1),
        maxConcurrency: str('0'),
        maxErrors: str('-1'),
        documentVersion: str('0'),
        comment: str('c'.repeat(200)),
      });
      w.addLambdaTask('Fn', { lambdaFunction: importedFunction(), qualifier: str(''), payload: str('x'.repeat(5000)) });
    }).not.toThrow();
    const resource = w!.node.defaultChild as CfnMaintenanceWindow;
    expect(stack.resolve(resource.duration)).toBe(30);
    // A token duration derives cutoff 0, which fits any duration.
    expect(stack.resolve(resource.cutoff)).toBe(0);
    expect(stack.resolve(resource.schedule)).toBe('rate(1 minute)');
  });
});
