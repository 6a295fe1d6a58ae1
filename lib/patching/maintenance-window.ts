import { Annotations, Duration, Fn, IResource, Lazy, Names, Resource, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct, IConstruct } from 'constructs';
import { MaintenanceSchedule } from './maintenance-schedule';
import { MaintenanceWindowTarget, MaintenanceWindowTargetOptions } from './maintenance-window-target';
import {
  acknowledgeMaintenanceWindowRoleFindings,
  acknowledgeMaintenanceWindowWildcard,
  acknowledgeNotificationRoleFindings,
} from '../private/acknowledgements';
import { checkDescription, checkName } from '../private/maintenance-window-checks';
import { checkRateControl } from '../private/rate-control';
import { maintenanceWindowPrincipal, SSM_SERVICE } from '../private/ssm-principal';
import { ensureQuotaGuard } from '../private/quota-guard';
import { checkDurationRange, checkIntegerRange, fail } from '../private/validate';

const DOCUMENT_VERSION_PATTERN = /^([$]LATEST|[$]DEFAULT|[1-9][0-9]*)$/;
const DOCUMENT_NAME_PATTERN = /^[a-zA-Z0-9_\-.]{3,128}$/;
const DOCUMENT_ARN_PATTERN = /^arn:aws[a-z-]*:ssm:[a-z0-9-]*:([0-9]{12})?:document\/([a-zA-Z0-9_\-.]{3,128})$/;
const WINDOW_ID_PATTERN = /^mw-[0-9a-f]{17}$/;
const ETC_TIME_ZONE_PATTERN = /^Etc\/(UTC|UCT|GMT|GMT0|Greenwich|Universal|Zulu|GMT[+-]([0-9]|1[0-4]))$/;
const NO_TASKS_WARNING = 'cdk-ssm-hybrid-fleet:maintenanceWindowWithoutTasks';

/**
 * A Systems Manager maintenance window.
 */
export interface IMaintenanceWindow extends IResource {
  /**
   * The id of the maintenance window (`mw-…`).
   *
   * @attribute
   */
  readonly maintenanceWindowId: string;
}

/**
 * The role that Systems Manager assumes to run a maintenance window's tasks.
 */
export class MaintenanceWindowRole {
  /**
   * A role created once per window, trusted by `ssm.amazonaws.com` (`aws:SourceAccount` checked when the service
   * sends it; no `aws:SourceArn`, which AWS does not document for maintenance-window roles), that holds exactly what
   * the window's registered tasks need.
   *
   * Run Command tasks: `ssm:SendCommand` on their documents, their output buckets and the nodes of their targets
   * (EC2 instances and hybrid managed instances; for tag targets only nodes whose `ssm:resourceTag/<key>` matches the
   * target's values, for id targets only those nodes, for resource-group targets any node), and the command
   * read/cancel actions. Automation tasks: starting their
   * runbooks and reading/stopping executions. Lambda tasks: `lambda:InvokeFunction` on their functions. Resource-group
   * targets: listing the group's resources. `iam:PassRole` (to `ssm.amazonaws.com` only) on the SNS notification
   * roles and Automation assume roles the tasks pass. Output written to S3 or CloudWatch Logs by Run Command comes
   * from the node's own credentials, so the window role gets no write access to them.
   */
  public static leastPrivilege(): MaintenanceWindowRole {
    return new MaintenanceWindowRole('LEAST_PRIVILEGE');
  }

  /**
   * The service-linked role `AWSServiceRoleForAmazonSSM` (created by Systems Manager if missing): tasks are
   * registered without a service role.
   *
   * Its permissions are broad and cannot be narrowed; prefer `leastPrivilege()`.
   */
  public static serviceLinked(): MaintenanceWindowRole {
    return new MaintenanceWindowRole('SERVICE_LINKED');
  }

  /**
   * A role of your own. It must trust `ssm.amazonaws.com`.
   *
   * The window adds the statements its tasks need to this role's policy, as `leastPrivilege()` does (a no-op for an
   * imported, immutable role). The cdk-nag findings of those statements are not acknowledged on your role.
   */
  public static fromRole(role: iam.IRole): MaintenanceWindowRole {
    return new MaintenanceWindowRole('CUSTOM', role);
  }

  private constructor(
    /** @internal */ public readonly _kind: string,
    /** @internal */ public readonly _role?: iam.IRole,
  ) {}
}

/**
 * The kind of work a maintenance window task does.
 */
export enum MaintenanceWindowTaskType {
  /** Runs a Command document on the target nodes (Run Command). */
  RUN_COMMAND = 'RUN_COMMAND',
  /** Runs an Automation runbook. */
  AUTOMATION = 'AUTOMATION',
  /** Invokes a Lambda function. */
  LAMBDA = 'LAMBDA',
}

/**
 * What happens to a running task when the window reaches its cutoff.
 */
export enum MaintenanceWindowTaskCutoffBehavior {
  /** Let the task finish (the service default). */
  CONTINUE_TASK = 'CONTINUE_TASK',
  /**
   * Cancel the task; for Run Command, Systems Manager sends `CancelCommand` (best effort) and invocations that do not
   * finish end as `TIMED_OUT`.
   */
  CANCEL_TASK = 'CANCEL_TASK',
}

/**
 * Command status changes that trigger an SNS notification.
 */
export enum RunCommandNotificationEvent {
  /** Every status change. */
  ALL = 'All',
  /** The command started running. */
  IN_PROGRESS = 'InProgress',
  /** The command succeeded. */
  SUCCESS = 'Success',
  /** The command timed out. */
  TIMED_OUT = 'TimedOut',
  /** The command was cancelled. */
  CANCELLED = 'Cancelled',
  /** The command failed. */
  FAILED = 'Failed',
}

/**
 * Granularity of Run Command SNS notifications.
 */
export enum RunCommandNotificationType {
  /** One notification per command status change. */
  COMMAND = 'Command',
  /** One notification per node (invocation) status change. */
  INVOCATION = 'Invocation',
}

/**
 * A task registered with a maintenance window.
 */
export interface IMaintenanceWindowTask extends IConstruct {
  /**
   * The id of the window task (a UUID).
   *
   * @attribute
   */
  readonly windowTaskId: string;

  /**
   * The kind of task.
   */
  readonly taskType: MaintenanceWindowTaskType;
}

/**
 * Options every maintenance window task takes.
 */
export interface MaintenanceWindowTaskOptions {
  /**
   * Priority of the task in the window: lower numbers run first, equal priorities run in parallel.
   *
   * A whole number of 0 or more.
   *
   * @default 1
   */
  readonly priority?: number;

  /**
   * Name of the task (3–128 letters, digits, `_`, `-` and `.`).
   *
   * @default - no name
   */
  readonly name?: string;

  /**
   * Description of the task (1–128 characters).
   *
   * @default - no description
   */
  readonly description?: string;

  /**
   * What happens to the task when the window reaches its cutoff.
   *
   * @default - the service default, `CONTINUE_TASK`
   */
  readonly cutoffBehavior?: MaintenanceWindowTaskCutoffBehavior;

  /**
   * How many targets the task runs on at once: a number (`10`) or a percentage (`10%`). Tasks with targets only.
   *
   * @default '10%' for tasks with targets (Systems Manager runs at least one node at a time)
   */
  readonly maxConcurrency?: string;

  /**
   * How many errors stop the task from being sent to further targets: a number (`0`, `3`) or a percentage (`10%`).
   * Tasks with targets only.
   *
   * @default '10%' for tasks with targets
   */
  readonly maxErrors?: string;
}

/**
 * Options of a Run Command task (`addRunCommandTask`).
 */
export interface RunCommandTaskOptions extends MaintenanceWindowTaskOptions {
  /**
   * The Command document to run: a name (`AWS-RunPatchBaseline`) or an ARN (for documents shared from another
   * account). A token is taken as the name of a document in this account.
   */
  readonly documentName: string;

  /**
   * The window targets to run on (at most 50).
   */
  readonly targets: MaintenanceWindowTarget[];

  /**
   * Document parameters, e.g. `{ Operation: ['Install'], RebootOption: ['RebootIfNeeded'] }`.
   *
   * Values may use the pseudo parameters `{{RESOURCE_ID}}`, `{{WINDOW_ID}}`, `{{WINDOW_TASK_ID}}` and others.
   *
   * @default - the document's defaults
   */
  readonly parameters?: { [key: string]: string[] };

  /**
   * Version of the document: `$DEFAULT`, `$LATEST` or a version number.
   *
   * @default - the default version
   */
  readonly documentVersion?: string;

  /**
   * SHA-256 hash of the document, to make sure the intended content runs (up to 256 characters).
   *
   * @default - not checked
   */
  readonly documentHash?: string;

  /**
   * How long the command may take to start running on a node before it times out (30 seconds to 30 days).
   *
   * @default - the Run Command default (1 hour)
   */
  readonly timeout?: Duration;

  /**
   * Comment on the command (up to 100 characters).
   *
   * @default - none
   */
  readonly comment?: string;

  /**
   * Bucket that receives the command output.
   *
   * The node writes it with its own credentials: grant the node role write access (`bucket.grantPut(nodeRole)`).
   *
   * @default - output is not written to S3
   */
  readonly outputS3Bucket?: s3.IBucket;

  /**
   * Key prefix of the output in `outputS3Bucket` (up to 500 characters).
   *
   * @default - the bucket root
   */
  readonly outputS3KeyPrefix?: string;

  /**
   * Log group that receives the command output (turns CloudWatch output on).
   *
   * The node writes it with its own credentials: grant the node role `logs:CreateLogStream` and `logs:PutLogEvents`.
   *
   * @default - `aws/ssm/<document name>` when `cloudWatchOutputEnabled` is true
   */
  readonly cloudWatchLogGroup?: logs.ILogGroup;

  /**
   * Send the command output to CloudWatch Logs.
   *
   * @default - true when `cloudWatchLogGroup` is given, otherwise false
   */
  readonly cloudWatchOutputEnabled?: boolean;

  /**
   * SNS topic notified of command status changes.
   *
   * @default - no notifications
   */
  readonly notificationTopic?: sns.ITopic;

  /**
   * Status changes that notify `notificationTopic`.
   *
   * @default [RunCommandNotificationEvent.ALL]
   */
  readonly notificationEvents?: RunCommandNotificationEvent[];

  /**
   * Whether to notify per command or per node.
   *
   * @default RunCommandNotificationType.COMMAND
   */
  readonly notificationType?: RunCommandNotificationType;

  /**
   * Role that Systems Manager assumes to publish to `notificationTopic`; it must trust `ssm.amazonaws.com`.
   *
   * The topic grants it `sns:Publish`, and the window role may pass it.
   *
   * @default - a role created once per window, trusted by `ssm.amazonaws.com`, that may publish to the topics
   */
  readonly notificationRole?: iam.IRole;
}

/**
 * Options of an Automation task (`addAutomationTask`).
 */
export interface AutomationTaskOptions extends MaintenanceWindowTaskOptions {
  /**
   * The Automation runbook: a name (`AWS-RestartEC2Instance`) or a document ARN. A token is taken as the name of a
   * runbook in this account.
   */
  readonly documentName: string;

  /**
   * The window targets to run on (at most 50); the runbook usually takes `{{RESOURCE_ID}}` as a parameter.
   *
   * @default - a targetless task that runs once per window
   */
  readonly targets?: MaintenanceWindowTarget[];

  /**
   * Version of the runbook: `$DEFAULT`, `$LATEST` or a version number.
   *
   * @default - the default version
   */
  readonly documentVersion?: string;

  /**
   * Runbook parameters (up to 200; names up to 50 characters, up to 50 values of 1–512 characters each).
   *
   * @default - the runbook's defaults
   */
  readonly parameters?: { [key: string]: string[] };

  /**
   * Role the runbook runs as, passed as its `AutomationAssumeRole` parameter; the window role may pass it.
   *
   * @default - the runbook runs with the window's service role, which then needs the runbook's permissions
   */
  readonly automationAssumeRole?: iam.IRole;
}

/**
 * Options of a Lambda task (`addLambdaTask`).
 */
export interface LambdaTaskOptions extends MaintenanceWindowTaskOptions {
  /**
   * The function to invoke.
   */
  readonly lambdaFunction: lambda.IFunction;

  /**
   * The window targets to invoke the function for (at most 50).
   *
   * @default - a targetless task that invokes the function once per window
   */
  readonly targets?: MaintenanceWindowTarget[];

  /**
   * Version or alias to invoke (1–128 characters).
   *
   * @default - the unqualified function (`$LATEST`)
   */
  readonly qualifier?: string;

  /**
   * JSON input of the function (up to 4096 bytes); it is base64-encoded as CloudFormation expects.
   *
   * @default - no payload
   */
  readonly payload?: string;
}

/**
 * Properties of a `MaintenanceWindow`.
 */
export interface MaintenanceWindowProps {
  /**
   * When the window opens.
   */
  readonly schedule: MaintenanceSchedule;

  /**
   * How long the window stays open: a whole number of hours from 1 to 24.
   *
   * @default - Duration.hours(2), or one hour more than an explicit `cutoff` when that is longer
   */
  readonly duration?: Duration;

  /**
   * How long before the window closes Systems Manager stops starting new tasks: a whole number of hours from 0 to 23,
   * shorter than `duration`.
   *
   * @default - 1 hour, or 0 when `duration` is 1 hour (or a token), so tasks always have time to start
   */
  readonly cutoff?: Duration;

  /**
   * Name of the window (3–128 letters, digits, `_`, `-` and `.`).
   *
   * @default - derived from the stack name and construct path, with a hash suffix
   */
  readonly windowName?: string;

  /**
   * Description of the window (1–128 characters).
   *
   * @default - no description
   */
  readonly description?: string;

  /**
   * IANA time zone of the schedule, e.g. `Europe/Berlin` or `America/Los_Angeles`.
   *
   * @default - UTC
   */
  readonly scheduleTimezone?: string;

  /**
   * Days to wait after the cron schedule's date before the window opens (1–6), e.g. the Thursday after Patch
   * Tuesday with `weekDay: 'TUE#2'` and an offset of 2. Cron schedules only.
   *
   * @default - no offset
   */
  readonly scheduleOffset?: number;

  /**
   * When the window becomes active.
   *
   * @default - active as soon as it is created
   */
  readonly startDate?: Date;

  /**
   * When the window stops being active; after `startDate`.
   *
   * @default - active indefinitely
   */
  readonly endDate?: Date;

  /**
   * Let tasks run on nodes that are not registered as targets of the window.
   *
   * @default false
   */
  readonly allowUnassociatedTargets?: boolean;

  /**
   * The role Systems Manager assumes to run the window's tasks.
   *
   * @default MaintenanceWindowRole.leastPrivilege()
   */
  readonly serviceRole?: MaintenanceWindowRole;
}

/**
 * Define a Systems Manager maintenance window: a recurring (or one-time) time slot in which registered tasks run on
 * registered targets.
 *
 * Add targets with `addTarget` and tasks with `addRunCommandTask`, `addAutomationTask` or `addLambdaTask`. A window
 * that has no task when the app is synthesized gets the warning `cdk-ssm-hybrid-fleet:maintenanceWindowWithoutTasks`.
 *
 * @resource AWS::SSM::MaintenanceWindow
 */
export class MaintenanceWindow extends Resource implements IMaintenanceWindow {
  /**
   * Import an existing maintenance window by its id (`mw-` followed by 17 hexadecimal digits).
   */
  public static fromMaintenanceWindowId(scope: Construct, id: string, maintenanceWindowId: string): IMaintenanceWindow {
    class Import extends Resource implements IMaintenanceWindow {
      public readonly maintenanceWindowId = maintenanceWindowId;
    }
    const imported = new Import(scope, id);
    if (!Token.isUnresolved(maintenanceWindowId) && !WINDOW_ID_PATTERN.test(maintenanceWindowId)) {
      fail(imported, `\`maintenanceWindowId\` must be 'mw-' followed by 17 hexadecimal digits, got: '${maintenanceWindowId}'`);
    }
    return imported;
  }

  /**
   * The id of the maintenance window (`mw-…`).
   *
   * @attribute
   */
  public readonly maintenanceWindowId: string;

  /**
   * The window name.
   */
  public readonly windowName: string;

  /**
   * How many hours the window stays open.
   */
  public readonly durationHours: number;

  /**
   * How many hours before the window closes no new task starts.
   */
  public readonly cutoffHours: number;

  private readonly roleChoice: MaintenanceWindowRole;
  private readonly allowUnassociatedTargets: boolean;
  private createdServiceRole?: iam.Role;
  private notificationRoleCreated?: iam.Role;
  private readonly tasks: IMaintenanceWindowTask[] = [];
  private readonly grants = new Map<string, { statement: iam.PolicyStatement; resources: Set<string> }>();
  private readonly taggedNodeValues = new Map<string, Map<string, Set<string>>>();

  constructor(scope: Construct, id: string, props: MaintenanceWindowProps) {
    super(scope, id);
    ensureQuotaGuard(this);

    this.roleChoice = props.serviceRole ?? MaintenanceWindowRole.leastPrivilege();
    this.allowUnassociatedTargets = props.allowUnassociatedTargets ?? false;
    this.windowName =
      props.windowName ??
      Names.uniqueResourceName(this, { maxLength: 128, separator: '-', allowedSpecialCharacters: '-_.' });

    props.schedule._validate(this, 'schedule');
    checkName(this, 'windowName', this.windowName);
    checkDescription(this, 'description', props.description);
    checkTimeZone(this, props.scheduleTimezone);
    this.validateScheduleOffset(props);
    const { duration, cutoff } = this.durationAndCutoff(props);
    this.durationHours = duration;
    this.cutoffHours = cutoff;
    const startDate = isoDate(this, 'startDate', props.startDate);
    const endDate = isoDate(this, 'endDate', props.endDate);
    if (props.startDate && props.endDate && props.endDate.getTime() <= props.startDate.getTime()) {
      fail(this, `\`endDate\` must be after \`startDate\`, got: endDate ${endDate}, startDate ${startDate}`);
    }

    const resource = new ssm.CfnMaintenanceWindow(this, 'Resource', {
      name: this.windowName,
      description: props.description,
      schedule: props.schedule._render(props.scheduleTimezone),
      scheduleTimezone: props.scheduleTimezone,
      scheduleOffset: props.scheduleOffset,
      duration,
      cutoff,
      startDate,
      endDate,
      allowUnassociatedTargets: this.allowUnassociatedTargets,
    });
    this.maintenanceWindowId = resource.ref;

    this.node.addValidation({
      validate: () => {
        if (this.tasks.length === 0) {
          Annotations.of(this).addWarningV2(
            NO_TASKS_WARNING,
            'The maintenance window has no tasks: it opens on its schedule but runs nothing. Add one with addRunCommandTask, addAutomationTask or addLambdaTask',
          );
        }
        return [];
      },
    });
  }

  /**
   * The role Systems Manager assumes to run the window's tasks: the role you gave, the least-privilege role once the
   * first task is added, or undefined with the service-linked role.
   */
  public get serviceRole(): iam.IRole | undefined {
    return this.roleChoice._role ?? this.createdServiceRole;
  }

  /**
   * Register a set of nodes with the window (by tags, resource group or node ids).
   */
  public addTarget(id: string, options: MaintenanceWindowTargetOptions): MaintenanceWindowTarget {
    return new MaintenanceWindowTarget(this, id, { ...options, window: this });
  }

  /**
   * Register a task that runs a Command document (e.g. `AWS-RunPatchBaseline`) on window targets.
   */
  public addRunCommandTask(id: string, options: RunCommandTaskOptions): IMaintenanceWindowTask {
    const task = new WindowTask(this, id, MaintenanceWindowTaskType.RUN_COMMAND);
    if (!Token.isUnresolved(options.targets) && options.targets.length === 0) {
      fail(task, '`targets` must list at least one window target for a Run Command task, got: []');
    }
    this.validateTaskOptions(task, options, options.targets);
    checkDocumentName(task, options.documentName);
    checkDocumentVersion(task, options.documentVersion);
    checkLength(task, 'documentHash', options.documentHash, 1, 256);
    checkDurationRange(task, 'timeout', options.timeout, Duration.seconds(30), Duration.days(30));
    checkLength(task, 'comment', options.comment, 0, 100);
    checkLength(task, 'outputS3KeyPrefix', options.outputS3KeyPrefix, 0, 500);
    if (options.outputS3KeyPrefix !== undefined && options.outputS3Bucket === undefined) {
      fail(task, `\`outputS3KeyPrefix\` needs \`outputS3Bucket\`, got: '${options.outputS3KeyPrefix}'`);
    }
    if (options.cloudWatchLogGroup !== undefined && options.cloudWatchOutputEnabled === false) {
      fail(task, '`cloudWatchLogGroup` needs CloudWatch output; drop it or `cloudWatchOutputEnabled: false`, got: cloudWatchOutputEnabled false');
    }
    const notifications = options.notificationTopic !== undefined;
    if (!notifications && (options.notificationEvents || options.notificationType || options.notificationRole)) {
      fail(task, '`notificationEvents`, `notificationType` and `notificationRole` need `notificationTopic`, got: no notificationTopic');
    }
    if (options.notificationEvents !== undefined && options.notificationEvents.length === 0) {
      fail(task, '`notificationEvents` must list at least one event when given, got: []');
    }

    const role = this.ensureServiceRole();
    const stack = Stack.of(this);
    const sendCommandResources = [documentArn(stack, options.documentName, 'document')];
    if (options.outputS3Bucket) sendCommandResources.push(options.outputS3Bucket.bucketArn);
    this.grant('SendCommand', ['ssm:SendCommand'], sendCommandResources);
    const anyNode = this.grantSendCommandToTargets(options.targets);
    this.grant(
      'Commands',
      ['ssm:CancelCommand', 'ssm:GetCommandInvocation', 'ssm:ListCommandInvocations', 'ssm:ListCommands'],
      ['*'],
    );
    if (role && this.createdServiceRole) {
      acknowledgeMaintenanceWindowWildcard(role, 'anyCommand');
      if (anyNode) acknowledgeMaintenanceWindowWildcard(role, 'anyNode');
    }

    let notificationRole: iam.IRole | undefined;
    if (options.notificationTopic) {
      notificationRole = options.notificationRole ?? this.ensureNotificationRole();
      options.notificationTopic.grantPublish(notificationRole);
      this.grantPassRole(notificationRole);
    }
    const cloudWatchEnabled = options.cloudWatchOutputEnabled ?? options.cloudWatchLogGroup !== undefined;

    return task.render(this, options, options.targets, options.documentName, {
      maintenanceWindowRunCommandParameters: {
        parameters: options.parameters,
        documentVersion: options.documentVersion,
        documentHash: options.documentHash,
        documentHashType: options.documentHash !== undefined ? 'Sha256' : undefined,
        timeoutSeconds: options.timeout?.toSeconds(),
        comment: options.comment,
        outputS3BucketName: options.outputS3Bucket?.bucketName,
        outputS3KeyPrefix: options.outputS3KeyPrefix,
        cloudWatchOutputConfig:
          cloudWatchEnabled || options.cloudWatchOutputEnabled === false
            ? {
              cloudWatchOutputEnabled: cloudWatchEnabled,
              cloudWatchLogGroupName: options.cloudWatchLogGroup?.logGroupName,
            }
            : undefined,
        notificationConfig: options.notificationTopic
          ? {
            notificationArn: options.notificationTopic.topicArn,
            notificationEvents: options.notificationEvents ?? [RunCommandNotificationEvent.ALL],
            notificationType: options.notificationType ?? RunCommandNotificationType.COMMAND,
          }
          : undefined,
        serviceRoleArn: notificationRole?.roleArn,
      },
    });
  }

  /**
   * Register a task that runs an Automation runbook, once per window or once per target.
   */
  public addAutomationTask(id: string, options: AutomationTaskOptions): IMaintenanceWindowTask {
    const task = new WindowTask(this, id, MaintenanceWindowTaskType.AUTOMATION);
    this.validateTaskOptions(task, options, options.targets);
    checkDocumentName(task, options.documentName);
    checkDocumentVersion(task, options.documentVersion);
    const parameters = { ...options.parameters };
    checkAutomationParameters(task, parameters);
    if (options.automationAssumeRole) {
      if ('AutomationAssumeRole' in parameters) {
        fail(task, '`automationAssumeRole` and `parameters.AutomationAssumeRole` must not both be given, got: both');
      }
      parameters.AutomationAssumeRole = [options.automationAssumeRole.roleArn];
    }

    const role = this.ensureServiceRole();
    const stack = Stack.of(this);
    const runbookArn = documentArn(stack, options.documentName, 'automation-definition');
    this.grant('StartAutomation', ['ssm:StartAutomationExecution'], [runbookArn]);
    this.grant('Automations', ['ssm:GetAutomationExecution', 'ssm:StopAutomationExecution'], [
      stack.formatArn({ service: 'ssm', resource: 'automation-execution', resourceName: '*' }),
    ]);
    if (options.automationAssumeRole) this.grantPassRole(options.automationAssumeRole);
    if (role && this.createdServiceRole) {
      acknowledgeMaintenanceWindowWildcard(role, 'automationExecutions');
      acknowledgeMaintenanceWindowWildcard(role, 'automationVersions', stack.resolve(runbookArn));
    }

    return task.render(this, options, options.targets ?? [], options.documentName, {
      maintenanceWindowAutomationParameters: {
        documentVersion: options.documentVersion,
        parameters: Object.keys(parameters).length > 0 ? parameters : undefined,
      },
    });
  }

  /**
   * Register a task that invokes a Lambda function, once per window or once per target.
   */
  public addLambdaTask(id: string, options: LambdaTaskOptions): IMaintenanceWindowTask {
    const task = new WindowTask(this, id, MaintenanceWindowTaskType.LAMBDA);
    this.validateTaskOptions(task, options, options.targets);
    checkLength(task, 'qualifier', options.qualifier, 1, 128);
    const payloadBytes = options.payload === undefined ? 0 : Buffer.byteLength(options.payload, 'utf8');
    if (options.payload !== undefined && !Token.isUnresolved(options.payload) && payloadBytes > 4096) {
      fail(task, `\`payload\` must be at most 4096 bytes, got: ${payloadBytes} bytes`);
    }

    const functionArn = options.lambdaFunction.functionArn;
    this.ensureServiceRole();
    this.grant('InvokeFunctions', ['lambda:InvokeFunction'], [
      options.qualifier !== undefined ? `${functionArn}:${options.qualifier}` : functionArn,
    ]);

    return task.render(this, options, options.targets ?? [], functionArn, {
      maintenanceWindowLambdaParameters: {
        qualifier: options.qualifier,
        payload: options.payload === undefined
          ? undefined
          : Token.isUnresolved(options.payload)
            ? Fn.base64(options.payload)
            : Buffer.from(options.payload, 'utf8').toString('base64'),
      },
    });
  }

  /** @internal */
  public _registerTask(task: IMaintenanceWindowTask): void {
    this.tasks.push(task);
  }

  /** @internal */
  public _serviceRoleArn(): string | undefined {
    return this.serviceRole?.roleArn;
  }

  private validateScheduleOffset(props: MaintenanceWindowProps): void {
    if (props.scheduleOffset === undefined) return;
    checkIntegerRange(this, 'scheduleOffset', props.scheduleOffset, 1, 6);
    const expression = props.schedule.expressionString;
    if (!Token.isUnresolved(expression) && !props.schedule.isCron) {
      fail(this, `\`scheduleOffset\` applies only to cron schedules, got: '${expression}'`);
    }
  }

  /**
   * Duration and cutoff in hours. Only `duration` given: cutoff 1 hour (0 for a 1-hour or token duration). Only
   * `cutoff` given: duration 2 hours, or cutoff + 1 when longer. Both given: cutoff must be shorter.
   */
  private durationAndCutoff(props: MaintenanceWindowProps): { duration: number; cutoff: number } {
    const explicitCutoff = props.cutoff && wholeHours(this, 'cutoff', props.cutoff, 0, 23);
    const explicitDuration = props.duration && wholeHours(this, 'duration', props.duration, 1, 24);
    const duration =
      explicitDuration ??
      (explicitCutoff !== undefined && !Token.isUnresolved(explicitCutoff) ? Math.max(2, explicitCutoff + 1) : 2);
    const cutoff = explicitCutoff ?? (Token.isUnresolved(duration) ? 0 : Math.min(1, duration - 1));
    if (!Token.isUnresolved(duration) && !Token.isUnresolved(cutoff) && cutoff >= duration) {
      fail(this, `\`cutoff\` must be shorter than \`duration\`, got: cutoff ${cutoff} hours, duration ${duration} hours`);
    }
    return { duration, cutoff };
  }

  private validateTaskOptions(
    task: Construct,
    options: MaintenanceWindowTaskOptions,
    targets: MaintenanceWindowTarget[] | undefined,
  ): void {
    const targeted = targets !== undefined && (Token.isUnresolved(targets) || targets.length > 0);
    if (options.priority !== undefined && !Token.isUnresolved(options.priority)) {
      if (!Number.isInteger(options.priority) || options.priority < 0) {
        fail(task, `\`priority\` must be a whole number of 0 or more, got: ${options.priority}`);
      }
    }
    checkName(task, 'name', options.name);
    checkDescription(task, 'description', options.description);
    for (const [prop, value, kind] of [
      ['maxConcurrency', options.maxConcurrency, 'concurrency'],
      ['maxErrors', options.maxErrors, 'errors'],
    ] as const) {
      if (value === undefined || Token.isUnresolved(value)) continue;
      if (!targeted) {
        fail(task, `\`${prop}\` applies only to tasks with targets (Systems Manager sets 1 for targetless tasks), got: '${value}'`);
      }
      checkRateControl(task, prop, value, kind);
    }
    if (targets === undefined || Token.isUnresolved(targets)) return;
    if (targets.length > 50) {
      fail(task, `\`targets\` must list at most 50 window targets, got: ${targets.length}`);
    }
    for (const target of targets) {
      if (target.window !== this) {
        fail(task, `\`targets\` must be targets of this maintenance window, got: a target of ${target.window.node.path}`);
      }
      if (target.resourceGroupName !== undefined) this.grantResourceGroup(target.resourceGroupName);
    }
  }

  private ensureServiceRole(): iam.IRole | undefined {
    if (this.roleChoice._kind !== 'LEAST_PRIVILEGE') return this.roleChoice._role;
    if (!this.createdServiceRole) {
      this.createdServiceRole = new iam.Role(this, 'ServiceRole', {
        description: `Runs the tasks of the maintenance window ${this.node.path}`,
        assumedBy: maintenanceWindowPrincipal(this),
      });
      acknowledgeMaintenanceWindowRoleFindings(this.createdServiceRole);
    }
    return this.createdServiceRole;
  }

  private ensureNotificationRole(): iam.IRole {
    if (!this.notificationRoleCreated) {
      this.notificationRoleCreated = new iam.Role(this, 'NotificationRole', {
        description: `Lets Systems Manager publish the Run Command notifications of the maintenance window ${this.node.path}`,
        assumedBy: maintenanceWindowPrincipal(this),
      });
      acknowledgeNotificationRoleFindings(this.notificationRoleCreated);
    }
    return this.notificationRoleCreated;
  }

  private grantResourceGroup(groupName: string): void {
    const role = this.ensureServiceRole();
    const stack = Stack.of(this);
    this.grant('ResourceGroups', ['resource-groups:ListGroupResources'], [
      stack.formatArn({ service: 'resource-groups', resource: 'group', resourceName: groupName }),
    ]);
    this.grant('TagResources', ['tag:GetResources'], ['*']);
    if (role && this.createdServiceRole) acknowledgeMaintenanceWindowWildcard(role, 'anyCommand');
  }

  /**
   * Lets the service role send commands to the nodes of the targets, and no others where IAM can say so: a tag target
   * allows the node ARNs (`instance/*`, `managed-instance/*`) only with `ssm:resourceTag/<key>` = one of the target's
   * values for each of its keys (the condition key SendCommand takes on both node types,
   * https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssystemsmanager.html), merged with the
   * other tag targets of the window that have the same keys; an id target allows its nodes' ARNs. A resource-group
   * target, or one given as tokens, allows every node. Returns whether a wildcard node ARN was granted.
   */
  private grantSendCommandToTargets(targets: MaintenanceWindowTarget[]): boolean {
    const stack = Stack.of(this);
    const anyNodeArns = [
      stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: '*' }),
      stack.formatArn({ service: 'ssm', resource: 'managed-instance', resourceName: '*' }),
    ];
    if (Token.isUnresolved(targets)) {
      this.grant('SendCommand', ['ssm:SendCommand'], anyNodeArns);
      return true;
    }
    let wildcard = false;
    for (const target of targets) {
      const tags = target.tags;
      const ids = target.instanceIds;
      if (tags !== undefined && !Token.isUnresolved(tags) && Object.entries(tags).every(([k, v]) => !Token.isUnresolved(k) && !Token.isUnresolved(v))) {
        this.grantTaggedNodes(Object.keys(tags).sort(), tags, anyNodeArns);
        wildcard = true;
      } else if (ids !== undefined && !Token.isUnresolved(ids) && ids.every((id) => !Token.isUnresolved(id))) {
        this.grant('SendCommandNodes', ['ssm:SendCommand'], ids.map((id) => id.startsWith('mi-')
          ? stack.formatArn({ service: 'ssm', resource: 'managed-instance', resourceName: id })
          : stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: id })));
      } else {
        this.grant('SendCommand', ['ssm:SendCommand'], anyNodeArns);
        wildcard = true;
      }
    }
    return wildcard;
  }

  /** One statement per set of tag keys; each key's accepted values grow as targets with the same keys are added. */
  private grantTaggedNodes(keys: string[], tags: { [key: string]: string[] }, nodeArns: string[]): void {
    const grantKey = `SendCommandTagged:${JSON.stringify(keys)}`;
    let values = this.taggedNodeValues.get(grantKey);
    if (!values) {
      const byKey = new Map(keys.map((key) => [key, new Set<string>()]));
      values = byKey;
      this.taggedNodeValues.set(grantKey, byKey);
      const condition: { [key: string]: string[] } = {};
      for (const key of keys) {
        condition[`ssm:resourceTag/${key}`] = Lazy.list({ produce: () => [...byKey.get(key)!] });
      }
      this.grant(grantKey, ['ssm:SendCommand'], nodeArns, { StringEquals: condition });
    }
    for (const key of keys) for (const value of tags[key]) values.get(key)!.add(value);
  }

  private grantPassRole(role: iam.IRole): void {
    this.grant('PassRole', ['iam:PassRole'], [role.roleArn], { StringEquals: { 'iam:PassedToService': SSM_SERVICE } });
  }

  /** Adds resources to the statement kept under `key` on the service role (created on first use). */
  private grant(key: string, actions: string[], resources: string[], conditions?: { [key: string]: unknown }): void {
    const role = this.serviceRole;
    if (!role) return;
    const stack = Stack.of(this);
    let entry = this.grants.get(key);
    const added = entry === undefined;
    if (!entry) {
      entry = { statement: new iam.PolicyStatement({ actions, conditions }), resources: new Set() };
      this.grants.set(key, entry);
    }
    for (const resource of resources) {
      const id = JSON.stringify(stack.resolve(resource));
      if (entry.resources.has(id)) continue;
      entry.resources.add(id);
      entry.statement.addResources(resource);
    }
    if (added) role.addToPrincipalPolicy(entry.statement);
  }
}

/**
 * A task registered with a maintenance window (created by the window's `add…Task` methods).
 */
class WindowTask extends Construct implements IMaintenanceWindowTask {
  public windowTaskId = '';

  constructor(
    scope: MaintenanceWindow,
    id: string,
    public readonly taskType: MaintenanceWindowTaskType,
  ) {
    super(scope, id);
  }

  public render(
    window: MaintenanceWindow,
    options: MaintenanceWindowTaskOptions,
    targets: MaintenanceWindowTarget[],
    taskArn: string,
    invocation: ssm.CfnMaintenanceWindowTask.TaskInvocationParametersProperty,
  ): IMaintenanceWindowTask {
    const targeted = Token.isUnresolved(targets) || targets.length > 0;
    const resource = new ssm.CfnMaintenanceWindowTask(this, 'Resource', {
      windowId: window.maintenanceWindowId,
      taskType: this.taskType,
      taskArn,
      priority: options.priority ?? 1,
      targets: targeted ? [{ key: 'WindowTargetIds', values: targets.map((t) => t.windowTargetId) }] : undefined,
      maxConcurrency: targeted ? (options.maxConcurrency ?? '10%') : undefined,
      maxErrors: targeted ? (options.maxErrors ?? '10%') : undefined,
      serviceRoleArn: window._serviceRoleArn(),
      cutoffBehavior: options.cutoffBehavior,
      name: options.name,
      description: options.description,
      taskInvocationParameters: invocation,
    });
    if (window.serviceRole) resource.node.addDependency(window.serviceRole);
    this.windowTaskId = resource.ref;
    window._registerTask(this);
    return this;
  }
}

/** Whether a document name belongs to AWS (names starting with aws, amazon or amzn are reserved for AWS). */
function isAwsOwned(name: string): boolean {
  return /^(aws|amazon|amzn)/i.test(name);
}

/**
 * IAM resource of a document (`document`) or runbook (`automation-definition`, any version) from a name or ARN.
 * AWS-owned documents have no account in their ARN.
 */
function documentArn(stack: Stack, nameOrArn: string, resource: 'document' | 'automation-definition'): string {
  const suffix = resource === 'automation-definition' ? ':*' : '';
  if (!Token.isUnresolved(nameOrArn) && nameOrArn.startsWith('arn:')) {
    return `${nameOrArn.replace(':document/', `:${resource}/`)}${suffix}`;
  }
  const awsOwned = !Token.isUnresolved(nameOrArn) && isAwsOwned(nameOrArn);
  return stack.formatArn({
    service: 'ssm',
    // An AWS-owned runbook's automation-definition ARN may carry the caller's account; match both.
    account: awsOwned ? (resource === 'document' ? '' : '*') : undefined,
    resource,
    resourceName: `${nameOrArn}${suffix}`,
  });
}

function checkDocumentName(scope: IConstruct, name: string): void {
  if (Token.isUnresolved(name)) return;
  if (!DOCUMENT_NAME_PATTERN.test(name) && !DOCUMENT_ARN_PATTERN.test(name)) {
    fail(scope, `\`documentName\` must be a document name (3 to 128 letters, digits, _ - and .) or a document ARN, got: '${name}'`);
  }
}

function checkDocumentVersion(scope: IConstruct, version: string | undefined): void {
  if (version === undefined || Token.isUnresolved(version)) return;
  if (!DOCUMENT_VERSION_PATTERN.test(version)) {
    fail(scope, `\`documentVersion\` must be $DEFAULT, $LATEST or a version number, got: '${version}'`);
  }
}

function checkAutomationParameters(scope: IConstruct, parameters: { [key: string]: string[] }): void {
  const keys = Object.keys(parameters);
  if (keys.length > 200) fail(scope, `\`parameters\` must have at most 200 names, got: ${keys.length}`);
  for (const key of keys) {
    if (key.length < 1 || key.length > 50) {
      fail(scope, `\`parameters\` names must be 1 to 50 characters long, got: '${key}'`);
    }
    const values = parameters[key];
    if (Token.isUnresolved(values)) continue;
    if (values.length > 50) {
      fail(scope, `\`parameters\` must have at most 50 values per name, got: ${values.length} for '${key}'`);
    }
    for (const value of values) {
      if (!Token.isUnresolved(value) && (value.length < 1 || value.length > 512)) {
        fail(scope, `\`parameters\` values must be 1 to 512 characters long, got: ${value.length} characters for '${key}'`);
      }
    }
  }
}

function checkLength(scope: IConstruct, prop: string, value: string | undefined, min: number, max: number): void {
  if (value === undefined || Token.isUnresolved(value)) return;
  if (value.length < min || value.length > max) {
    const range = min === 0 ? `at most ${max}` : `${min} to ${max}`;
    fail(scope, `\`${prop}\` must be ${range} characters long, got: ${value.length} characters`);
  }
}

/** A whole number of hours in a range; a token must be given in hours. */
function wholeHours(scope: IConstruct, prop: string, value: Duration, min: number, max: number): number {
  if (value.isUnresolved()) {
    if (value.unitLabel() !== 'hours') {
      fail(scope, `\`${prop}\` from a token must be given with Duration.hours(), got: a token in ${value.unitLabel()}`);
    }
    return value.toHours();
  }
  const hours = value.toHours({ integral: false });
  if (!Number.isInteger(hours) || hours < min || hours > max) {
    const shown = Number.isInteger(hours) ? `${hours} hour${hours === 1 ? '' : 's'}` : value.toHumanString();
    fail(scope, `\`${prop}\` must be a whole number of hours from ${min} to ${max}, got: ${shown}`);
  }
  return hours;
}

/** ISO-8601 without milliseconds (`2025-01-31T22:00:00Z`). */
function isoDate(scope: IConstruct, prop: string, date: Date | undefined): string | undefined {
  if (date === undefined) return undefined;
  if (Number.isNaN(date.getTime())) fail(scope, `\`${prop}\` must be a valid date, got: Invalid Date`);
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

let knownTimeZones: Set<string> | undefined;

/** Accepts IANA zone names known to this Node.js (and their aliases), `UTC` and the `Etc/` zones. */
function checkTimeZone(scope: IConstruct, timeZone: string | undefined): void {
  if (timeZone === undefined || Token.isUnresolved(timeZone)) return;
  knownTimeZones ??= new Set(Intl.supportedValuesOf('timeZone'));
  if (timeZone === 'UTC' || ETC_TIME_ZONE_PATTERN.test(timeZone) || knownTimeZones.has(timeZone)) return;
  const looksLikeZone = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)+$/.test(timeZone);
  if (looksLikeZone && knownTimeZones.has(canonicalTimeZone(timeZone) ?? '')) return;
  fail(scope, `\`scheduleTimezone\` must be an IANA time zone name such as 'Europe/Berlin' or 'UTC', got: '${timeZone}'`);
}

/** The canonical name of an alias (`Asia/Calcutta` → `Asia/Kolkata`), or undefined when the zone is unknown. */
function canonicalTimeZone(timeZone: string): string | undefined {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}
