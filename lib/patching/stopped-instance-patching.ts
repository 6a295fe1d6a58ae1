import { Duration, Names, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { MaintenanceWindow } from './maintenance-window';
import { IMaintenanceWindowTask } from './maintenance-window-task';
import type { PatchRebootOption } from './patch-group';
import { acknowledgeStoppedInstancePatchingFindings } from '../private/acknowledgements';
import { checkRateControl } from '../private/rate-control';
import { loadRunbook } from '../private/runbook-file';
import { maintenanceWindowPrincipal, SSM_SERVICE } from '../private/ssm-principal';
import { checkTagKey, checkTagValue } from '../private/tags';
import { checkDurationRange, checkIntegerRange, fail } from '../private/validate';

/** The runbook file under `documents/patching/`. */
const RUNBOOK_FILE = 'patch-stopped-instances.json';

/**
 * Properties of `StoppedInstancePatching`.
 */
export interface StoppedInstancePatchingProps {
  /**
   * Tag key of the EC2 instances to patch (e.g. `PatchGroup`).
   */
  readonly tagKey: string;

  /**
   * Tag value of the EC2 instances to patch (e.g. the patch group's name).
   */
  readonly tagValue: string;

  /**
   * A second tag an instance must carry to be patched (e.g. `PatchMode`), with `modeTagValue`.
   *
   * @default - none: every stopped instance with `tagKey`=`tagValue`
   */
  readonly modeTagKey?: string;

  /**
   * The value of `modeTagKey` an instance must carry (e.g. `enforce`).
   *
   * @default - none (required with `modeTagKey`)
   */
  readonly modeTagValue?: string;

  /**
   * At most this many stopped instances are started per run; the rest wait for the next run (the run's output
   * `ChooseInstances.Skipped` counts them).
   *
   * An integer from 1 to 50 (SendCommand takes at most 50 instance ids).
   *
   * @default 50
   */
  readonly maxInstances?: number;

  /**
   * How long the runbook waits for every started instance to be Online in Systems Manager; after that it stops them
   * again and fails.
   *
   * From 1 minute to 1 hour, whole seconds.
   *
   * @default Duration.minutes(10)
   */
  readonly agentOnlineTimeout?: Duration;

  /**
   * Whether installing may reboot the instances.
   *
   * @default PatchRebootOption.REBOOT_IF_NEEDED
   */
  readonly rebootOption?: PatchRebootOption;

  /**
   * On how many started instances the agent update and the patch command run at once (a number or a percentage).
   *
   * @default '10%'
   */
  readonly maxConcurrency?: string;

  /**
   * How many failed instances stop the agent update and the patch command (a number or a percentage).
   *
   * @default '10%'
   */
  readonly maxErrors?: string;

  /**
   * Maintenance window that runs the runbook (a targetless Automation task, once per window).
   *
   * @default - none: run the runbook yourself (`runbookName`, with `role` as `AutomationAssumeRole`)
   */
  readonly maintenanceWindow?: MaintenanceWindow;

  /**
   * Priority of the task in `maintenanceWindow` (lower runs first). Run it after the window's install task, so the
   * instances it starts are not also patched by that task.
   *
   * A whole number of 0 or more.
   *
   * @default 11
   */
  readonly taskPriority?: number;
}

/**
 * Define an Automation runbook (and the role it runs as) that patches **stopped** EC2 instances: it finds the
 * stopped instances that carry a tag, starts them (at most `maxInstances`), waits until each is Online in Systems
 * Manager (`agentOnlineTimeout`), updates SSM Agent (`AWS-UpdateSSMAgent`), installs patches
 * (`AWS-RunPatchBaseline`, `Install`, with `maxConcurrency`/`maxErrors`) and stops exactly the instances it started,
 * also when a step fails, times out or the run is cancelled (the run then still ends Failed or Cancelled). Instances
 * that were running are never touched. Dev and test fleets that sleep at night get patched too.
 *
 * The runbook is `documents/patching/patch-stopped-instances.json` of this package (its script
 * `patch-stopped-instances.py` is inlined). The role may start and stop only instances that carry the tags
 * (`aws:ResourceTag`), send only the two AWS documents, and pass only itself to Systems Manager.
 *
 * @resource AWS::SSM::Document
 */
export class StoppedInstancePatching extends Construct {
  /** The runbook (its name). */
  public readonly runbookName: string;

  /** The runbook's document resource. */
  public readonly document: ssm.CfnDocument;

  /** The role the runbook runs as (`AutomationAssumeRole`). */
  public readonly role: iam.Role;

  /** The runbook's parameters for the group (without `AutomationAssumeRole`), as a window task passes them. */
  public readonly parameters: { [key: string]: string[] };

  /** The Automation task in `maintenanceWindow`, when one was given. */
  public readonly task?: IMaintenanceWindowTask;

  constructor(scope: Construct, id: string, props: StoppedInstancePatchingProps) {
    super(scope, id);
    this.validate(props);
    const timeout = props.agentOnlineTimeout ?? Duration.minutes(10);

    const runbook = loadRunbook('patching', RUNBOOK_FILE);
    const wait = runbook.mainSteps.find((step: { name: string }) => step.name === 'WaitForAgents');
    wait.timeoutSeconds = timeout.toSeconds();
    this.document = new ssm.CfnDocument(this, 'Runbook', {
      documentType: 'Automation',
      documentFormat: 'JSON',
      content: runbook,
      updateMethod: 'NewVersion',
    });
    this.runbookName = this.document.ref;

    this.parameters = {
      TagKey: [props.tagKey],
      TagValue: [props.tagValue],
      ...(props.modeTagKey !== undefined ? { ModeTagKey: [props.modeTagKey], ModeTagValue: [props.modeTagValue!] } : {}),
      MaxInstances: [String(props.maxInstances ?? 50)],
      RebootOption: [props.rebootOption ?? 'RebootIfNeeded'],
      MaxConcurrency: [props.maxConcurrency ?? '10%'],
      MaxErrors: [props.maxErrors ?? '10%'],
    };
    this.role = this.createRole(props);

    if (props.maintenanceWindow) {
      // Named after this construct's path: several groups may share one window.
      this.task = props.maintenanceWindow.addAutomationTask(`StoppedInstances${Names.uniqueId(this)}`, {
        documentName: this.runbookName,
        automationAssumeRole: this.role,
        parameters: this.parameters,
        priority: props.taskPriority ?? 11,
        description: `Patches stopped EC2 instances tagged ${props.tagKey}=${props.tagValue}`.slice(0, 128),
      });
    }
  }

  private validate(props: StoppedInstancePatchingProps): void {
    checkTagKey(this, 'tagKey', props.tagKey);
    checkTagValue(this, 'tagValue', props.tagKey, props.tagValue);
    if (!Token.isUnresolved(props.tagValue) && props.tagValue.length === 0) {
      fail(this, '`tagValue` must not be empty, got: \'\'');
    }
    if ((props.modeTagKey === undefined) !== (props.modeTagValue === undefined)) {
      fail(this, `\`modeTagKey\` and \`modeTagValue\` must be given together, got: ${props.modeTagKey === undefined ? 'modeTagValue' : 'modeTagKey'} only`);
    }
    if (props.modeTagKey !== undefined) {
      checkTagKey(this, 'modeTagKey', props.modeTagKey);
      checkTagValue(this, 'modeTagValue', props.modeTagKey, props.modeTagValue!);
      if (!Token.isUnresolved(props.modeTagKey) && props.modeTagKey === props.tagKey) {
        fail(this, `\`modeTagKey\` must differ from \`tagKey\`, got: '${props.modeTagKey}'`);
      }
    }
    checkIntegerRange(this, 'maxInstances', props.maxInstances, 1, 50);
    checkDurationRange(this, 'agentOnlineTimeout', props.agentOnlineTimeout, Duration.minutes(1), Duration.hours(1));
    if (props.agentOnlineTimeout?.isUnresolved()) {
      fail(this, '`agentOnlineTimeout` must be a literal duration (it is written into the runbook), got: a token');
    }
    checkRateControl(this, 'maxConcurrency', props.maxConcurrency, 'concurrency');
    checkRateControl(this, 'maxErrors', props.maxErrors, 'errors');
    if (props.taskPriority !== undefined && props.maintenanceWindow === undefined) {
      fail(this, `\`taskPriority\` applies only with \`maintenanceWindow\`, got: ${props.taskPriority}`);
    }
  }

  /**
   * The runbook's role: describe calls (no resource types), start/stop of instances that carry the tags, the two AWS
   * documents on those instances, and `iam:PassRole` of itself to Systems Manager only.
   */
  private createRole(props: StoppedInstancePatchingProps): iam.Role {
    const stack = Stack.of(this);
    const role = new iam.Role(this, 'Role', {
      description: `Runs the stopped-instance patching runbook of ${this.node.path}`.slice(0, 1000),
      // The window starts the automation with this role; the same guard as the window's own role.
      assumedBy: maintenanceWindowPrincipal(this),
    });
    const tagged = (prefix: string) => ({
      [`${prefix}/${props.tagKey}`]: props.tagValue,
      ...(props.modeTagKey !== undefined ? { [`${prefix}/${props.modeTagKey}`]: props.modeTagValue! } : {}),
    });
    const instances = stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: '*' });
    const policy = new iam.ManagedPolicy(this, 'Policy', {
      description: `Lets the stopped-instance patching runbook start, patch and stop instances tagged ${props.tagKey}=${props.tagValue}`.slice(0, 1000),
      roles: [role],
      statements: [
        new iam.PolicyStatement({
          sid: 'DescribeAndFollowCommands',
          actions: [
            'ec2:DescribeInstances',
            'ec2:DescribeInstanceStatus',
            'ssm:DescribeInstanceInformation',
            'ssm:ListCommands',
            'ssm:ListCommandInvocations',
          ],
          resources: ['*'],
        }),
        new iam.PolicyStatement({
          sid: 'StartAndStopTaggedInstances',
          actions: ['ec2:StartInstances', 'ec2:StopInstances'],
          resources: [instances],
          conditions: { StringEquals: tagged('aws:ResourceTag') },
        }),
        new iam.PolicyStatement({
          sid: 'SendPatchingDocuments',
          actions: ['ssm:SendCommand'],
          resources: ['AWS-UpdateSSMAgent', 'AWS-RunPatchBaseline'].map((name) =>
            stack.formatArn({ service: 'ssm', account: '', resource: 'document', resourceName: name })),
        }),
        new iam.PolicyStatement({
          sid: 'SendCommandsToTaggedInstances',
          actions: ['ssm:SendCommand'],
          resources: [instances],
          conditions: { StringEquals: tagged('ssm:resourceTag') },
        }),
        new iam.PolicyStatement({
          sid: 'PassOnlyItself',
          actions: ['iam:PassRole'],
          resources: [role.roleArn],
          conditions: { StringEquals: { 'iam:PassedToService': SSM_SERVICE } },
        }),
      ],
    });
    acknowledgeStoppedInstancePatchingFindings(policy);
    return role;
  }
}
