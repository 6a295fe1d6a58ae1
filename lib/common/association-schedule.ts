import { Duration, Token } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import {
  ASSOCIATION_RULES,
  checkScheduleExpression,
  cronSchedule,
  renderAt,
  renderRate,
  ScheduleProblem,
} from '../private/schedule-expression';
import { fail } from '../private/validate';

/**
 * Fields of a State Manager association cron schedule.
 *
 * State Manager does not support months in association cron expressions, so there is no `month` field (it is always
 * `*`). Associations run in UTC.
 *
 * @see https://docs.aws.amazon.com/systems-manager/latest/userguide/reference-cron-and-rate-expressions.html
 */
export interface AssociationCronOptions {
  /**
   * Minute of the hour (0–59), e.g. `'0'` or `'0/30'` (every half hour, the shortest interval State Manager allows).
   */
  readonly minute: string;

  /**
   * Hour of the day (0–23, UTC), e.g. `'2'`, `'0/4'` (every 4 hours) or `'*'` (every hour).
   */
  readonly hour: string;

  /**
   * Day of the month (1–31, `L` for the last day).
   *
   * Set at most one of `day` and `weekDay`.
   *
   * @default - every day of the month, unless `weekDay` is set
   */
  readonly day?: string;

  /**
   * Day of the week (1–7 or SUN–SAT, `THU#2` for the second Thursday, `3L` for the last Tuesday).
   *
   * Set at most one of `day` and `weekDay`.
   *
   * @default - any day of the week
   */
  readonly weekDay?: string;
}

/**
 * When a State Manager association runs: a cron, rate or one-time (`at`) schedule, in UTC.
 *
 * The expression is checked when a construct uses it (the error names that construct's prop): rates from 30 minutes
 * to less than 31 days with the singular unit only for 1; cron in the 6-field form (or 7 with a leading seconds field
 * of `0`), `?` in exactly one of day-of-month and day-of-week, `*` as the month, never more often than every 30
 * minutes.
 *
 * @see https://docs.aws.amazon.com/systems-manager/latest/userguide/reference-cron-and-rate-expressions.html
 */
export class AssociationSchedule {
  /**
   * A cron schedule in the 6-field form `cron(minutes hours day-of-month * day-of-week *)`, e.g.
   * `cron({ minute: '0', hour: '2', weekDay: 'SUN' })` is `cron(0 2 ? * SUN *)`.
   */
  public static cron(options: AssociationCronOptions): AssociationSchedule {
    const { expression, problem } = cronSchedule(
      { minute: options.minute, hour: options.hour, day: options.day, month: '*', weekDay: options.weekDay, year: '*' },
      ASSOCIATION_RULES,
    );
    return new AssociationSchedule(expression, problem);
  }

  /**
   * A rate schedule from 30 minutes to less than 31 days, e.g. `rate(Duration.hours(12))` is `rate(12 hours)`.
   *
   * The duration must be a whole number of minutes; it is written in the largest whole unit.
   * A duration whose amount is a token is written with the plural unit and is not checked (Systems Manager rejects
   * `rate(1 hours)`).
   */
  public static rate(duration: Duration): AssociationSchedule {
    const { expression, problem } = renderRate(duration, ASSOCIATION_RULES);
    return new AssociationSchedule(expression, problem);
  }

  /**
   * An association that runs once, at this instant (`at(yyyy-MM-ddTHH:mm:ss)` in UTC; milliseconds are dropped).
   */
  public static at(date: Date): AssociationSchedule {
    const { expression, problem } = renderAt(date);
    return new AssociationSchedule(expression, problem);
  }

  /**
   * A schedule from a literal `cron(...)`, `rate(...)` or `at(...)` expression.
   *
   * Literal expressions are checked with the same rules as the other factories; tokens are not checked.
   */
  public static expression(expression: string): AssociationSchedule {
    const rule = checkScheduleExpression(expression, ASSOCIATION_RULES);
    return new AssociationSchedule(expression, rule ? { rule, value: `'${expression}'` } : undefined);
  }

  /**
   * The schedule expression, e.g. `rate(1 day)` or `cron(0 2 ? * SUN *)`.
   */
  public readonly expressionString: string;

  /**
   * Whether this is a `cron(...)` schedule (only cron schedules accept a schedule offset and
   * `applyOnlyAtCronInterval`).
   */
  public readonly isCron: boolean;

  private readonly problem?: ScheduleProblem;

  private constructor(expressionString: string, problem?: ScheduleProblem) {
    this.expressionString = expressionString;
    this.isCron = !Token.isUnresolved(expressionString) && expressionString.startsWith('cron(');
    this.problem = problem;
  }

  /**
   * Throws, naming `prop` and the construct path, when the schedule breaks a rule.
   *
   * @internal
   */
  public _validate(scope: IConstruct, prop: string): void {
    if (this.problem) fail(scope, `\`${prop}\` ${this.problem.rule}, got: ${this.problem.value}`);
  }
}
