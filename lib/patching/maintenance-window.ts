import { Annotations, Duration, IResource, Names, Resource, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { MaintenanceSchedule } from './maintenance-schedule';
import { MaintenanceWindowRole } from './maintenance-window-role';
import { MaintenanceWindowTarget, MaintenanceWindowTargetOptions } from './maintenance-window-target';
import { AutomationTaskOptions, IMaintenanceWindowTask, LambdaTaskOptions, RunCommandTaskOptions } from './maintenance-window-task';
import { WindowServiceRole } from './private/window-service-role';
import { addAutomationTask, addLambdaTask, addRunCommandTask } from './private/window-task';
import { checkDescription, checkName, checkTimeZone, isoDate, wholeHours } from './private/maintenance-window-checks';
import { ensureQuotaGuard } from '../private/quota-guard';
import { checkIntegerRange, fail } from '../private/validate';

const WINDOW_ID_PATTERN = /^mw-[0-9a-f]{17}$/;
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
  readonly maintenanceWindowName?: string;

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
  public readonly maintenanceWindowName: string;

  /**
   * How many hours the window stays open.
   */
  public readonly durationHours: number;

  /**
   * How many hours before the window closes no new task starts.
   */
  public readonly cutoffHours: number;

  private readonly roles: WindowServiceRole;
  private readonly allowUnassociatedTargets: boolean;
  private readonly tasks: IMaintenanceWindowTask[] = [];

  constructor(scope: Construct, id: string, props: MaintenanceWindowProps) {
    super(scope, id);
    ensureQuotaGuard(this);

    this.roles = new WindowServiceRole(this, props.serviceRole ?? MaintenanceWindowRole.leastPrivilege());
    this.allowUnassociatedTargets = props.allowUnassociatedTargets ?? false;
    this.maintenanceWindowName =
      props.maintenanceWindowName ??
      Names.uniqueResourceName(this, { maxLength: 128, separator: '-', allowedSpecialCharacters: '-_.' });

    props.schedule._validate(this, 'schedule');
    checkName(this, 'maintenanceWindowName', this.maintenanceWindowName);
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
      name: this.maintenanceWindowName,
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
    return this.roles.role;
  }

  /**
   * Register a set of nodes with the window (by tags, resource group or node ids).
   */
  public addTarget(id: string, options: MaintenanceWindowTargetOptions): MaintenanceWindowTarget {
    return new MaintenanceWindowTarget(this, id, { ...options, maintenanceWindow: this });
  }

  /**
   * Register a task that runs a Command document (e.g. `AWS-RunPatchBaseline`) on window targets.
   */
  public addRunCommandTask(id: string, options: RunCommandTaskOptions): IMaintenanceWindowTask {
    return addRunCommandTask(this, this.roles, id, options);
  }

  /**
   * Register a task that runs an Automation runbook, once per window or once per target.
   */
  public addAutomationTask(id: string, options: AutomationTaskOptions): IMaintenanceWindowTask {
    return addAutomationTask(this, this.roles, id, options);
  }

  /**
   * Register a task that invokes a Lambda function, once per window or once per target.
   */
  public addLambdaTask(id: string, options: LambdaTaskOptions): IMaintenanceWindowTask {
    return addLambdaTask(this, this.roles, id, options);
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
}
