import { Duration, Token } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import {
  checkScheduleExpression,
  cronSchedule,
  MAINTENANCE_WINDOW_RULES,
  renderAt,
  renderRate,
  ScheduleProblem,
} from '../private/schedule-expression';
import { fail } from '../private/validate';

/**
 * Fields of a maintenance-window cron schedule.
 *
 * All fields are strings so that lists (`MON,WED`), ranges (`1-5`), steps (`0/15`), `L`, `W` and `#` can be used.
 * Unlike `events.Schedule.cron`, an absent `minute` means minute 0: Systems Manager rejects schedules that run more
 * often than every 5 minutes, so "every minute" can never deploy.
 *
 * @see https://docs.aws.amazon.com/systems-manager/latest/userguide/reference-cron-and-rate-expressions.html
 */
export interface MaintenanceCronOptions {
  /**
   * Minute of the hour (0–59).
   *
   * @default '0'
   */
  readonly minute?: string;

  /**
   * Hour of the day (0–23), in the window's `scheduleTimezone`.
   *
   * @default '*' - every hour
   */
  readonly hour?: string;

  /**
   * Day of the month (1–31, `L` for the last day, `15W` for the weekday nearest the 15th).
   *
   * Set at most one of `day` and `weekDay`.
   *
   * @default - every day of the month, unless `weekDay` is set
   */
  readonly day?: string;

  /**
   * Month (1–12 or JAN–DEC).
   *
   * @default '*' - every month
   */
  readonly month?: string;

  /**
   * Day of the week (1–7 or SUN–SAT, `TUE#3` for the third Tuesday, `5L` for the last Thursday).
   *
   * Set at most one of `day` and `weekDay`.
   *
   * @default - any day of the week
   */
  readonly weekDay?: string;

  /**
   * Year.
   *
   * @default '*' - every year
   */
  readonly year?: string;
}

/**
 * When a maintenance window opens: a cron, rate or one-time (`at`) schedule.
 *
 * The expression is checked when a construct uses it (the error names that construct's prop, e.g. `schedule`):
 * 6 or 7 cron fields, `?` in exactly one of day-of-month and day-of-week, valid ranges, and never more often than
 * every 5 minutes; rates in whole minutes, hours or days with the singular unit only for 1.
 *
 * @see https://docs.aws.amazon.com/systems-manager/latest/userguide/reference-cron-and-rate-expressions.html
 */
export class MaintenanceSchedule {
  /**
   * A cron schedule in the 6-field form `cron(minutes hours day-of-month month day-of-week year)`.
   *
   * `?` goes into the day-of-week field, or into the day-of-month field when `weekDay` is set; e.g.
   * `cron({ weekDay: 'SUN', hour: '3' })` is `cron(0 3 ? * SUN *)`.
   */
  public static cron(options: MaintenanceCronOptions): MaintenanceSchedule {
    const { expression, problem } = cronSchedule(
      {
        minute: options.minute ?? '0',
        hour: options.hour ?? '*',
        day: options.day,
        month: options.month ?? '*',
        weekDay: options.weekDay,
        year: options.year ?? '*',
      },
      MAINTENANCE_WINDOW_RULES,
    );
    return new MaintenanceSchedule(expression, problem);
  }

  /**
   * A rate schedule, e.g. `rate(Duration.hours(1))` is `rate(1 hour)` and `rate(Duration.days(7))` is `rate(7 days)`.
   *
   * The duration must be a whole number of minutes, at least 5; it is written in the largest whole unit.
   * A duration whose amount is a token is written with the plural unit and is not checked (Systems Manager rejects
   * `rate(1 hours)`).
   */
  public static rate(duration: Duration): MaintenanceSchedule {
    const { expression, problem } = renderRate(duration, MAINTENANCE_WINDOW_RULES);
    return new MaintenanceSchedule(expression, problem);
  }

  /**
   * A window that opens once, at this instant (`at(yyyy-MM-ddTHH:mm:ss)`).
   *
   * `expressionString` shows the UTC wall-clock time; a window with a `scheduleTimezone` writes the wall-clock time of
   * the same instant in that zone, so the window opens at exactly this instant either way. Seconds are kept;
   * milliseconds are dropped.
   */
  public static at(date: Date): MaintenanceSchedule {
    const { expression, problem } = renderAt(date);
    return new MaintenanceSchedule(expression, problem, date);
  }

  /**
   * A schedule from a literal `cron(...)`, `rate(...)` or `at(...)` expression.
   *
   * Literal expressions are checked with the same rules as the other factories; tokens are not checked.
   */
  public static expression(expression: string): MaintenanceSchedule {
    const rule = checkScheduleExpression(expression, MAINTENANCE_WINDOW_RULES);
    return new MaintenanceSchedule(expression, rule ? { rule, value: `'${expression}'` } : undefined);
  }

  /**
   * The schedule expression, e.g. `cron(0 3 ? * SUN *)`.
   */
  public readonly expressionString: string;

  /**
   * Whether this is a `cron(...)` schedule (only cron schedules accept a schedule offset).
   */
  public readonly isCron: boolean;

  private readonly problem?: ScheduleProblem;
  private readonly date?: Date;

  private constructor(expressionString: string, problem?: ScheduleProblem, date?: Date) {
    this.expressionString = expressionString;
    this.isCron = !Token.isUnresolved(expressionString) && expressionString.startsWith('cron(');
    this.problem = problem;
    this.date = date;
  }

  /**
   * Throws, naming `prop` and the construct path, when the schedule breaks a rule.
   *
   * @internal
   */
  public _validate(scope: IConstruct, prop: string): void {
    if (this.problem) fail(scope, `\`${prop}\` ${this.problem.rule}, got: ${this.problem.value}`);
  }

  /**
   * The expression to write for a window in `timeZone` (one-time schedules are written in that zone's wall-clock time).
   *
   * @internal
   */
  public _render(timeZone?: string): string {
    return this.date ? renderAt(this.date, timeZone).expression : this.expressionString;
  }
}
