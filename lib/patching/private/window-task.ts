import { Duration, Fn, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct, IConstruct } from 'constructs';
import { checkDescription, checkName } from './maintenance-window-checks';
import { acknowledgeNotificationRoleEncryptedTopic } from '../../private/acknowledgements';
import { checkDurationRange, checkLength, checkRateControl, fail, SSM_DOCUMENT_ARN_PATTERN, SSM_NAME_PATTERN } from '../../private/validate';
import type { MaintenanceWindow } from '../maintenance-window';
import type { MaintenanceWindowTarget } from '../maintenance-window-target';
import {
  AutomationTaskOptions,
  IMaintenanceWindowTask,
  LambdaTaskOptions,
  MaintenanceWindowTaskOptions,
  MaintenanceWindowTaskType,
  RunCommandNotificationEvent,
  RunCommandNotificationType,
  RunCommandTaskOptions,
} from '../maintenance-window-task';
import type { WindowServiceRole } from './window-service-role';

const DOCUMENT_VERSION_PATTERN = /^([$]LATEST|[$]DEFAULT|[1-9][0-9]*)$/;

/**
 * A task registered with a maintenance window (created by the window's `add…Task` methods).
 */
class WindowTask extends Construct implements IMaintenanceWindowTask {
  public maintenanceWindowTaskId = '';

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
      targets: targeted ? [{ key: 'WindowTargetIds', values: targets.map((t) => t.maintenanceWindowTargetId) }] : undefined,
      maxConcurrency: targeted ? (options.maxConcurrency ?? '10%') : undefined,
      maxErrors: targeted ? (options.maxErrors ?? '10%') : undefined,
      serviceRoleArn: window._serviceRoleArn(),
      cutoffBehavior: options.cutoffBehavior,
      name: options.name,
      description: options.description,
      taskInvocationParameters: invocation,
    });
    if (window.serviceRole) resource.node.addDependency(window.serviceRole);
    this.maintenanceWindowTaskId = resource.ref;
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
  if (!SSM_NAME_PATTERN.test(name) && !SSM_DOCUMENT_ARN_PATTERN.test(name)) {
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

/** Checks what every task takes, and that its targets belong to the window (granting resource-group listing). */
function validateTaskOptions(
  window: MaintenanceWindow,
  roles: WindowServiceRole,
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
    if (target.maintenanceWindow !== window) {
      fail(task, `\`targets\` must be targets of this maintenance window, got: a target of ${target.maintenanceWindow.node.path}`);
    }
    if (target.resourceGroupName !== undefined) roles.grantResourceGroup(target.resourceGroupName);
  }
}

/** Registers a Run Command task (`MaintenanceWindow.addRunCommandTask`). */
export function addRunCommandTask(
  window: MaintenanceWindow,
  roles: WindowServiceRole,
  id: string,
  options: RunCommandTaskOptions,
): IMaintenanceWindowTask {
  const task = new WindowTask(window, id, MaintenanceWindowTaskType.RUN_COMMAND);
  if (!Token.isUnresolved(options.targets) && options.targets.length === 0) {
    fail(task, '`targets` must list at least one window target for a Run Command task, got: []');
  }
  validateTaskOptions(window, roles, task, options, options.targets);
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

  roles.ensure();
  const stack = Stack.of(window);
  const sendCommandResources = [documentArn(stack, options.documentName, 'document')];
  if (options.outputS3Bucket) sendCommandResources.push(options.outputS3Bucket.bucketArn);
  roles.grant('SendCommand', ['ssm:SendCommand'], sendCommandResources);
  const anyNode = roles.grantSendCommandToTargets(options.targets);
  roles.grant(
    'Commands',
    ['ssm:CancelCommand', 'ssm:GetCommandInvocation', 'ssm:ListCommandInvocations', 'ssm:ListCommands'],
    ['*'],
  );
  roles.acknowledgeWildcard('anyCommand');
  if (anyNode) roles.acknowledgeWildcard('anyNode');

  let notificationRole: iam.IRole | undefined;
  if (options.notificationTopic) {
    notificationRole = options.notificationRole ?? roles.ensureNotificationRole();
    options.notificationTopic.grantPublish(notificationRole);
    if (!options.notificationRole && options.notificationTopic.masterKey) acknowledgeNotificationRoleEncryptedTopic(notificationRole);
    roles.grantPassRole(notificationRole);
  }
  const cloudWatchEnabled = options.cloudWatchOutputEnabled ?? options.cloudWatchLogGroup !== undefined;

  return task.render(window, options, options.targets, options.documentName, {
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

/** Registers an Automation task (`MaintenanceWindow.addAutomationTask`). */
export function addAutomationTask(
  window: MaintenanceWindow,
  roles: WindowServiceRole,
  id: string,
  options: AutomationTaskOptions,
): IMaintenanceWindowTask {
  const task = new WindowTask(window, id, MaintenanceWindowTaskType.AUTOMATION);
  validateTaskOptions(window, roles, task, options, options.targets);
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

  roles.ensure();
  const stack = Stack.of(window);
  const runbookArn = documentArn(stack, options.documentName, 'automation-definition');
  roles.grant('StartAutomation', ['ssm:StartAutomationExecution'], [runbookArn]);
  roles.grant('Automations', ['ssm:GetAutomationExecution', 'ssm:StopAutomationExecution'], [
    stack.formatArn({ service: 'ssm', resource: 'automation-execution', resourceName: '*' }),
  ]);
  if (options.automationAssumeRole) roles.grantPassRole(options.automationAssumeRole);
  roles.acknowledgeWildcard('automationExecutions');
  roles.acknowledgeWildcard('automationVersions', stack.resolve(runbookArn));

  return task.render(window, options, options.targets ?? [], options.documentName, {
    maintenanceWindowAutomationParameters: {
      documentVersion: options.documentVersion,
      parameters: Object.keys(parameters).length > 0 ? parameters : undefined,
    },
  });
}

/** Registers a Lambda task (`MaintenanceWindow.addLambdaTask`). */
export function addLambdaTask(
  window: MaintenanceWindow,
  roles: WindowServiceRole,
  id: string,
  options: LambdaTaskOptions,
): IMaintenanceWindowTask {
  const task = new WindowTask(window, id, MaintenanceWindowTaskType.LAMBDA);
  validateTaskOptions(window, roles, task, options, options.targets);
  checkLength(task, 'qualifier', options.qualifier, 1, 128);
  const payloadBytes = options.payload === undefined ? 0 : Buffer.byteLength(options.payload, 'utf8');
  if (options.payload !== undefined && !Token.isUnresolved(options.payload) && payloadBytes > 4096) {
    fail(task, `\`payload\` must be at most 4096 bytes, got: ${payloadBytes} bytes`);
  }

  const functionArn = options.lambdaFunction.functionArn;
  roles.ensure();
  roles.grant('InvokeFunctions', ['lambda:InvokeFunction'], [
    options.qualifier !== undefined ? `${functionArn}:${options.qualifier}` : functionArn,
  ]);

  return task.render(window, options, options.targets ?? [], functionArn, {
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
