import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { IConstruct } from 'constructs';
import type { MaintenanceWindowTarget } from './maintenance-window-target';

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
  readonly maintenanceWindowTaskId: string;

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
