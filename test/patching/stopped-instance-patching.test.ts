import * as fs from 'fs';
import * as path from 'path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import {
  MaintenanceSchedule,
  MaintenanceWindow,
  PatchBaseline,
  PatchGroup,
  PatchOperatingSystem,
  PatchRebootOption,
  StoppedInstancePatching,
  StoppedInstancePatchingProps,
} from '../../lib';
import { AutomationDocument, AutomationResult, AwsApiError, FakeAws, runAutomation } from '../support/automation';
import { allFindings, testApp } from '../support/gates';

const DOCUMENTS = path.join(__dirname, '..', '..', 'documents', 'patching');
const SUNDAY_3AM = MaintenanceSchedule.cron({ weekDay: 'SUN', hour: '3' });

let app: App;
let stack: Stack;
beforeEach(() => {
  app = testApp();
  stack = new Stack(app, 'TestStack');
});

const GROUP = { tagKey: 'PatchGroup', tagValue: 'web', modeTagKey: 'PatchMode', modeTagValue: 'enforce' };

function build(props: Partial<StoppedInstancePatchingProps> = {}): { patching: StoppedInstancePatching; template: Template } {
  const patching = new StoppedInstancePatching(stack, 'Stopped', { ...GROUP, ...props });
  return { patching, template: Template.fromStack(stack) };
}

/** The runbook exactly as the construct synthesizes it. */
function synthesizedRunbook(template: Template): AutomationDocument {
  const [document] = Object.values(template.findResources('AWS::SSM::Document'));
  return document.Properties.Content as AutomationDocument;
}

/*
 * A fake EC2 fleet behind the fake AWS: DescribeInstances applies the tag and state filters, Start/StopInstances
 * change states and are refused (as the role's aws:ResourceTag conditions refuse them) for instances without the
 * group's tags, and DescribeInstanceInformation lists running instances whose agent comes online.
 */
interface Instance {
  readonly id: string;
  state: 'running' | 'stopped';
  readonly tags: Record<string, string>;
  /** Whether SSM Agent comes Online once the instance runs. */
  readonly agent: boolean;
}

function instance(id: string, state: Instance['state'], tags: Record<string, string>, agent = true): Instance {
  return { id, state, tags, agent };
}

const ENFORCED = { PatchGroup: 'web', PatchMode: 'enforce' };

class Fleet {
  public readonly aws = new FakeAws();
  /** Instance ids in each SendCommand, by document name. */
  public readonly commands: Array<{ document: string; ids: string[]; parameters: unknown }> = [];

  constructor(public readonly instances: Instance[], failing: { document?: string } = {}) {
    const byId = (ids: unknown) => (ids as string[]).map((id) => this.instances.find((i) => i.id === id)!);
    const describe = (list: Instance[]) => ({
      Reservations: list.length === 0 ? [] : [{
        Instances: list.map((i) => ({ InstanceId: i.id, State: { Name: i.state }, Tags: Object.entries(i.tags).map(([Key, Value]) => ({ Key, Value })) })),
      }],
    });
    const allowed = (list: Instance[]) => {
      const refused = list.filter((i) => Object.entries(ENFORCED).some(([k, v]) => i.tags[k] !== v));
      if (refused.length > 0) throw new AwsApiError('UnauthorizedOperation', `not allowed on ${refused.map((i) => i.id).join(', ')}`);
    };
    this.aws
      .on('ec2', 'DescribeInstances', (params: any) => {
        if (params.InstanceIds) return describe(byId(params.InstanceIds));
        return describe(this.instances.filter((i) => (params.Filters as Array<{ Name: string; Values: string[] }>).every((f) =>
          f.Name === 'instance-state-name' ? f.Values.includes(i.state) : f.Values.includes(i.tags[f.Name.replace(/^tag:/, '')]))));
      })
      .on('ec2', 'StartInstances', (params: any) => {
        const list = byId(params.InstanceIds);
        allowed(list);
        for (const i of list) i.state = 'running';
        return { StartingInstances: list.map((i) => ({ InstanceId: i.id })) };
      })
      .on('ec2', 'StopInstances', (params: any) => {
        const list = byId(params.InstanceIds);
        allowed(list);
        for (const i of list) i.state = 'stopped';
        return { StoppingInstances: list.map((i) => ({ InstanceId: i.id })) };
      })
      .on('ssm', 'DescribeInstanceInformation', (params: any) => {
        const filters = params.Filters as Array<{ Key: string; Values: string[] }>;
        const ids = filters.find((f) => f.Key === 'InstanceIds')!.Values;
        const pingStatus = filters.find((f) => f.Key === 'PingStatus')?.Values ?? ['Online', 'ConnectionLost'];
        const list = this.instances
          .filter((i) => ids.includes(i.id) && i.state === 'running' && i.agent)
          .map((i) => ({ InstanceId: i.id, PingStatus: 'Online' }))
          .filter((i) => pingStatus.includes(i.PingStatus));
        return { InstanceInformationList: list };
      })
      .on('ssm', 'SendCommand', (params: any) => {
        this.commands.push({ document: params.DocumentName, ids: params.InstanceIds, parameters: params.Parameters });
        const status = params.DocumentName === failing.document ? 'Failed' : 'Success';
        return { Command: { CommandId: `command-${this.commands.length}`, Status: status } };
      });
  }

  public stateOf(id: string): string {
    return this.instances.find((i) => i.id === id)!.state;
  }

  /** Ids in every Start or Stop call. */
  public touched(api: 'StartInstances' | 'StopInstances'): string[] {
    return this.aws.callsTo('ec2', api).flatMap((c) => c.params.InstanceIds as string[]);
  }
}

describe('StoppedInstancePatching runbook, executed', () => {
  let runbook: AutomationDocument;
  let parameters: Record<string, string[]>;
  beforeAll(() => {
    const setupApp = testApp();
    const patching = new StoppedInstancePatching(new Stack(setupApp, 'Runbook'), 'Stopped', {
      ...GROUP,
      agentOnlineTimeout: Duration.minutes(5),
      rebootOption: PatchRebootOption.NO_REBOOT,
      maxConcurrency: '2',
    });
    runbook = synthesizedRunbook(Template.fromStack(Stack.of(patching)));
    parameters = patching.parameters;
  });

  function run(fleet: Fleet, extra: Record<string, unknown> = {}, cancelAtStep?: string): AutomationResult {
    return runAutomation(runbook, { parameters: { ...parameters, AutomationAssumeRole: 'arn:aws:iam::111122223333:role/Runbook', ...extra }, aws: fleet.aws, cancelAtStep });
  }

  function mixedFleet(agentOnB = true): Fleet {
    return new Fleet([
      instance('i-0000000000000000a', 'stopped', ENFORCED),
      instance('i-0000000000000000b', 'stopped', ENFORCED, agentOnB),
      instance('i-0000000000000000c', 'running', ENFORCED),
      instance('i-0000000000000000d', 'stopped', { PatchGroup: 'web', PatchMode: 'report' }),
      instance('i-0000000000000000e', 'stopped', { PatchGroup: 'db', PatchMode: 'enforce' }),
    ]);
  }
  const STARTED = ['i-0000000000000000a', 'i-0000000000000000b'];

  test('starts the stopped enforce-mode instances, updates the agent, patches, and stops exactly those again', () => {
    const fleet = mixedFleet();
    const result = run(fleet);

    expect(result.status).toBe('Success');
    expect(fleet.touched('StartInstances')).toEqual(STARTED);
    expect(fleet.commands).toEqual([
      { document: 'AWS-UpdateSSMAgent', ids: STARTED, parameters: undefined },
      { document: 'AWS-RunPatchBaseline', ids: STARTED, parameters: { Operation: ['Install'], RebootOption: ['NoReboot'] } },
    ]);
    expect(fleet.aws.callsTo('ssm', 'SendCommand').map((c) => [c.params.MaxConcurrency, c.params.MaxErrors])).toEqual([['2', '10%'], ['2', '10%']]);
    expect(fleet.touched('StopInstances')).toEqual(STARTED);
    expect(fleet.instances.map((i) => [i.id, i.state])).toEqual([
      ['i-0000000000000000a', 'stopped'],
      ['i-0000000000000000b', 'stopped'],
      ['i-0000000000000000c', 'running'],
      ['i-0000000000000000d', 'stopped'],
      ['i-0000000000000000e', 'stopped'],
    ]);
    expect(result.outputs).toEqual({ 'ChooseInstances.InstanceIds': STARTED, 'ChooseInstances.Skipped': 0 });
  });

  test('leaves instances that were already running untouched (never started, patched by this run or stopped)', () => {
    const fleet = mixedFleet();
    run(fleet);
    const running = 'i-0000000000000000c';
    expect([...fleet.touched('StartInstances'), ...fleet.touched('StopInstances'), ...fleet.commands.flatMap((c) => c.ids)]).not.toContain(running);
    expect(fleet.stateOf(running)).toBe('running');
  });

  test('when patching fails, still stops the instances it started, and the run ends Failed', () => {
    const fleet = new Fleet(mixedFleet().instances, { document: 'AWS-RunPatchBaseline' });
    const result = run(fleet);

    expect(result.status).toBe('Failed');
    expect(result.failureMessage).toMatch(/^Step InstallPatches failed: command command-2 ended with Status Failed/);
    expect(result.executedSteps.slice(-3)).toEqual(['InstallPatches', 'StopStartedInstances', 'WaitUntilStopped']);
    expect(fleet.touched('StopInstances')).toEqual(STARTED);
    expect(STARTED.map((id) => fleet.stateOf(id))).toEqual(['stopped', 'stopped']);
    expect(fleet.stateOf('i-0000000000000000c')).toBe('running');
  });

  test('when an agent never comes online, times out after agentOnlineTimeout, patches nothing, stops what it started', () => {
    const fleet = mixedFleet(false);
    const result = run(fleet);

    expect(result.status).toBe('Failed');
    const wait = result.steps.find((s) => s.name === 'WaitForAgents')!;
    expect(wait.status).toBe('TimedOut');
    expect(wait.endTime - wait.startTime).toBeGreaterThan(300);
    expect(wait.endTime - wait.startTime).toBeLessThanOrEqual(310);
    expect(fleet.commands).toEqual([]);
    expect(fleet.touched('StopInstances')).toEqual(STARTED);
    expect(STARTED.map((id) => fleet.stateOf(id))).toEqual(['stopped', 'stopped']);
  });

  test('a failing agent update skips patching and still stops the started instances', () => {
    const fleet = new Fleet(mixedFleet().instances, { document: 'AWS-UpdateSSMAgent' });
    const result = run(fleet);
    expect(result.status).toBe('Failed');
    expect(fleet.commands.map((c) => c.document)).toEqual(['AWS-UpdateSSMAgent']);
    expect(STARTED.map((id) => fleet.stateOf(id))).toEqual(['stopped', 'stopped']);
  });

  test('a run cancelled while patching still stops the instances it started', () => {
    const fleet = mixedFleet();
    const result = run(fleet, {}, 'InstallPatches');
    expect(result.status).toBe('Cancelled');
    expect(result.executedSteps.slice(-3)).toEqual(['InstallPatches', 'StopStartedInstances', 'WaitUntilStopped']);
    expect(STARTED.map((id) => fleet.stateOf(id))).toEqual(['stopped', 'stopped']);
  });

  test('with nothing stopped, ends after the look-up without starting or stopping anything', () => {
    const fleet = new Fleet([instance('i-0000000000000000c', 'running', ENFORCED)]);
    const result = run(fleet);
    expect(result.status).toBe('Success');
    expect(result.executedSteps).toEqual(['ListStoppedInstances', 'ChooseInstances', 'AnyStopped']);
    expect(fleet.touched('StartInstances')).toEqual([]);
    expect(fleet.touched('StopInstances')).toEqual([]);
  });

  test('starts at most MaxInstances and reports the rest as skipped', () => {
    const fleet = new Fleet(['3', '1', '2'].map((n) => instance(`i-000000000000000${n}`, 'stopped', ENFORCED)));
    const result = run(fleet, { MaxInstances: ['2'] });
    expect(result.status).toBe('Success');
    expect(fleet.touched('StartInstances')).toEqual(['i-0000000000000001', 'i-0000000000000002']);
    expect(fleet.stateOf('i-0000000000000003')).toBe('stopped');
    expect(result.outputs['ChooseInstances.Skipped']).toBe(1);
  });

  test('a MaxInstances outside 1 to 50 fails before anything is started', () => {
    const fleet = mixedFleet();
    const result = run(fleet, { MaxInstances: ['51'] });
    expect(result.status).toBe('Failed');
    expect(result.failureMessage).toMatch(/Step ChooseInstances failed: ValueError: MaxInstances must be from 1 to 50, got: 51/);
    expect(fleet.touched('StartInstances')).toEqual([]);
  });

  test('without a mode tag, every stopped instance with the group tag is chosen', () => {
    const fleet = mixedFleet();
    const result = run(fleet, { ModeTagKey: [''], ModeTagValue: [''] });
    // The report-mode instance is chosen, and the role (like the fake) refuses to start it: the run fails, stopping all.
    expect(result.steps.find((s) => s.name === 'ChooseInstances')!.outputs.InstanceIds).toEqual([...STARTED, 'i-0000000000000000d']);
    expect(result.status).toBe('Failed');
    expect(STARTED.map((id) => fleet.stateOf(id))).toEqual(['stopped', 'stopped']);
  });
});

describe('StoppedInstancePatching resources', () => {
  test('creates the runbook from documents/patching with its script inlined and the agent timeout written in', () => {
    const { template } = build({ agentOnlineTimeout: Duration.minutes(7) });
    template.hasResourceProperties('AWS::SSM::Document', { DocumentType: 'Automation', DocumentFormat: 'JSON', UpdateMethod: 'NewVersion' });
    const runbook = synthesizedRunbook(template);
    const file = JSON.parse(fs.readFileSync(path.join(DOCUMENTS, 'patch-stopped-instances.json'), 'utf8'));
    expect(runbook.mainSteps.map((s) => s.name)).toEqual(file.mainSteps.map((s: { name: string }) => s.name));
    const script = runbook.mainSteps.find((s) => s.action === 'aws:executeScript')!;
    expect(script.inputs).toMatchObject({ Runtime: 'python3.11', Script: fs.readFileSync(path.join(DOCUMENTS, 'patch-stopped-instances.py'), 'utf8') });
    expect(runbook.mainSteps.find((s) => s.name === 'WaitForAgents')!.timeoutSeconds).toBe(420);
  });

  test('every step after the start sends failures and cancellations to the stop step, which nothing skips', () => {
    const runbook = synthesizedRunbook(build().template);
    const names = runbook.mainSteps.map((s) => s.name);
    const guarded = runbook.mainSteps.slice(names.indexOf('StartInstances'), names.indexOf('StopStartedInstances'));
    expect(guarded.map((s) => s.name)).toEqual(['StartInstances', 'WaitForAgents', 'UpdateAgent', 'InstallPatches']);
    for (const step of guarded) {
      expect({ step: step.name, onFailure: step.onFailure, onCancel: step.onCancel, isCritical: step.isCritical, isEnd: step.isEnd, nextStep: step.nextStep })
        .toEqual({ step: step.name, onFailure: 'step:StopStartedInstances', onCancel: 'step:StopStartedInstances', isCritical: undefined, isEnd: undefined, nextStep: undefined });
    }
  });

  test('the role starts, stops and patches only instances with the tags, and passes only itself to Systems Manager', () => {
    const { patching, template } = build();
    const roleId = Stack.of(patching).getLogicalId(patching.role.node.defaultChild as any);
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'ssm.amazonaws.com' } })] },
    });
    const [policy] = Object.values(template.findResources('AWS::IAM::ManagedPolicy'));
    const statements = policy.Properties.PolicyDocument.Statement as any[];
    const bySid = Object.fromEntries(statements.map((s) => [s.Sid, s]));
    const instances = { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ec2:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':instance/*']] };
    expect(bySid.StartAndStopTaggedInstances).toMatchObject({
      Action: ['ec2:StartInstances', 'ec2:StopInstances'],
      Resource: instances,
      Condition: { StringEquals: { 'aws:ResourceTag/PatchGroup': 'web', 'aws:ResourceTag/PatchMode': 'enforce' } },
    });
    expect(bySid.SendCommandsToTaggedInstances).toMatchObject({
      Action: 'ssm:SendCommand',
      Resource: instances,
      Condition: { StringEquals: { 'ssm:resourceTag/PatchGroup': 'web', 'ssm:resourceTag/PatchMode': 'enforce' } },
    });
    expect(JSON.stringify(bySid.SendPatchingDocuments.Resource)).toMatch(/::document\/AWS-UpdateSSMAgent".*::document\/AWS-RunPatchBaseline"/);
    expect(bySid.PassOnlyItself).toEqual({
      Sid: 'PassOnlyItself', Effect: 'Allow', Action: 'iam:PassRole',
      Resource: { 'Fn::GetAtt': [roleId, 'Arn'] },
      Condition: { StringEquals: { 'iam:PassedToService': 'ssm.amazonaws.com' } },
    });
    expect(statements.map((s) => s.Sid)).toEqual(['DescribeAndFollowCommands', 'StartAndStopTaggedInstances', 'SendPatchingDocuments', 'SendCommandsToTaggedInstances', 'PassOnlyItself']);
    expect(policy.Properties.Roles).toEqual([{ Ref: roleId }]);
  });

  test('without a window it registers no task; with one, a targetless Automation task with the group parameters', () => {
    expect(build().patching.task).toBeUndefined();

    app = testApp();
    stack = new Stack(app, 'WithWindow');
    const window = new MaintenanceWindow(stack, 'Window', { schedule: SUNDAY_3AM });
    const { patching, template } = build({ maintenanceWindow: window, maxInstances: 20 });
    const documentId = stack.getLogicalId(patching.document);
    const roleId = stack.getLogicalId(patching.role.node.defaultChild as any);
    template.hasResourceProperties('AWS::SSM::MaintenanceWindowTask', {
      TaskType: 'AUTOMATION',
      TaskArn: { Ref: documentId },
      Priority: 11,
      Targets: Match.absent(),
      MaxConcurrency: Match.absent(),
      TaskInvocationParameters: {
        MaintenanceWindowAutomationParameters: {
          Parameters: {
            TagKey: ['PatchGroup'], TagValue: ['web'], ModeTagKey: ['PatchMode'], ModeTagValue: ['enforce'],
            MaxInstances: ['20'], RebootOption: ['RebootIfNeeded'], MaxConcurrency: ['10%'], MaxErrors: ['10%'],
            AutomationAssumeRole: [{ 'Fn::GetAtt': [roleId, 'Arn'] }],
          },
        },
      },
    });
    // The window's role may start this runbook and pass this role, and nothing else.
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: 'iam:PassRole', Resource: { 'Fn::GetAtt': [roleId, 'Arn'] } })]) },
    });
  });
});

describe('PatchGroup patchStoppedInstances', () => {
  function group(props: { patchStoppedInstances?: boolean; installWindow?: MaintenanceWindow } = {}): PatchGroup {
    const linux = PatchBaseline.criticalAndSecurityUpdates(stack, 'Linux', { operatingSystem: PatchOperatingSystem.AMAZON_LINUX_2023 });
    return new PatchGroup(stack, 'Web', { patchGroupName: 'web', baselines: [linux], rebootOption: PatchRebootOption.NO_REBOOT, maxConcurrency: '5', ...props });
  }

  test('is off by default', () => {
    const g = group();
    expect(g.stoppedInstancePatching).toBeUndefined();
    Template.fromStack(stack).resourceCountIs('AWS::SSM::Document', 0);
  });

  test('runs the runbook in the install window, after the install task, for the group\'s enforce-mode instances', () => {
    const g = group({ patchStoppedInstances: true });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::SSM::Document', 1);
    template.hasResourceProperties('AWS::SSM::MaintenanceWindowTask', {
      TaskType: 'AUTOMATION',
      WindowId: { Ref: stack.getLogicalId(g.installWindow.node.defaultChild as any) },
      Priority: PatchGroup.INSTALL_TASK_PRIORITY + 1,
      TaskInvocationParameters: {
        MaintenanceWindowAutomationParameters: {
          Parameters: Match.objectLike({
            TagKey: ['PatchGroup'], TagValue: ['web'], ModeTagKey: ['PatchMode'], ModeTagValue: ['enforce'],
            RebootOption: ['NoReboot'], MaxConcurrency: ['5'], MaxErrors: ['10%'],
          }),
        },
      },
    });
  });

  test('two groups sharing one window each get their own task', () => {
    const window = new MaintenanceWindow(stack, 'Shared', { schedule: SUNDAY_3AM });
    const linux = PatchBaseline.criticalAndSecurityUpdates(stack, 'Linux', { operatingSystem: PatchOperatingSystem.AMAZON_LINUX_2023 });
    for (const name of ['web', 'api']) {
      new PatchGroup(stack, name, { patchGroupName: name, baselines: [linux], installWindow: window, patchStoppedInstances: true });
    }
    Template.fromStack(stack).resourceCountIs('AWS::SSM::MaintenanceWindowTask', 4);
  });

  test('passes every gate', () => {
    group({ patchStoppedInstances: true });
    expect(allFindings(app)).toEqual([]);
  });
});

describe('StoppedInstancePatching validation', () => {
  test.each<[Partial<StoppedInstancePatchingProps>, RegExp]>([
    [{ tagKey: 'aws:group' }, /`tagKey` tag keys must not start with the reserved prefix 'aws:', got: 'aws:group'/],
    [{ tagValue: '' }, /`tagValue` must not be empty, got: ''/],
    [{ tagValue: 'web#1' }, /`tagValue` tag values may contain only .*got: 'web#1'/],
    [{ modeTagKey: undefined }, /`modeTagKey` and `modeTagValue` must be given together, got: modeTagValue only/],
    [{ modeTagValue: undefined }, /`modeTagKey` and `modeTagValue` must be given together, got: modeTagKey only/],
    [{ modeTagKey: 'PatchGroup' }, /`modeTagKey` must differ from `tagKey`, got: 'PatchGroup'/],
    [{ maxInstances: 0 }, /`maxInstances` must be an integer from 1 to 50, got: 0/],
    [{ maxInstances: 51 }, /`maxInstances` must be an integer from 1 to 50, got: 51/],
    [{ agentOnlineTimeout: Duration.seconds(30) }, /`agentOnlineTimeout` must be a whole number of seconds from 1 minute to 1 hour, got: 30 seconds/],
    [{ agentOnlineTimeout: Duration.hours(2) }, /`agentOnlineTimeout` must be .* got: 2 hours/],
    [{ maxConcurrency: '0' }, /`maxConcurrency` must be a number from 1 or a percentage from 1% to 100%.*got: '0'/],
    [{ maxErrors: '101%' }, /`maxErrors` must be a number from 0 or a percentage from 0% to 100%.*got: '101%'/],
    [{ taskPriority: 3 }, /`taskPriority` applies only with `maintenanceWindow`, got: 3 \(at TestStack\/Stopped\)/],
  ])('refuses %p', (props, message) => {
    expect(() => build(props)).toThrow(message);
  });
});
