import { Duration, Token } from 'aws-cdk-lib';

/*
 * Checks of Systems Manager schedule expressions (maintenance windows and State Manager associations), shared by
 * `MaintenanceSchedule` and `AssociationSchedule`. Pure functions: they return the broken rule (the text that follows
 * the prop name in an error message) or `undefined`, and the schedule classes report it with the construct path.
 * Rules: https://docs.aws.amazon.com/systems-manager/latest/userguide/reference-cron-and-rate-expressions.html and
 * https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_CreateMaintenanceWindow.html.
 */

/** What a kind of schedule allows. */
export interface ScheduleRules {
  /** Fewest minutes between two runs (5 for maintenance windows, 30 for associations). */
  readonly minIntervalMinutes: number;
  /** Longest rate (exclusive), in minutes; undefined for no limit. */
  readonly maxRateMinutesExclusive?: number;
  /** The month field must be `*` (associations). */
  readonly monthMustBeAny: boolean;
  /** A leading seconds field, when present, must be `0` (associations); otherwise any single second 0–59. */
  readonly secondsMustBeZero: boolean;
}

export const MAINTENANCE_WINDOW_RULES: ScheduleRules = {
  minIntervalMinutes: 5,
  monthMustBeAny: false,
  secondsMustBeZero: false,
};

export const ASSOCIATION_RULES: ScheduleRules = {
  minIntervalMinutes: 30,
  maxRateMinutesExclusive: 31 * 24 * 60,
  monthMustBeAny: true,
  secondsMustBeZero: true,
};

/** An expression and, when it breaks a rule, the problem. */
export interface RenderedSchedule {
  readonly expression: string;
  readonly problem?: ScheduleProblem;
}

/** A broken rule found when the schedule was defined, reported when a construct uses it. */
export interface ScheduleProblem {
  /** The rule, worded to follow the prop name ("must ..."). */
  readonly rule: string;
  /** The offending value, formatted for the message (quoted where it is a literal). */
  readonly value: string;
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

interface FieldSpec {
  readonly label: string;
  readonly min: number;
  readonly max: number;
  /** Names for the values min, min+1, … (months JAN=1, weekdays SUN=1). */
  readonly names?: string[];
}

const MINUTE: FieldSpec = { label: 'minutes', min: 0, max: 59 };
const HOUR: FieldSpec = { label: 'hours', min: 0, max: 23 };
const DAY_OF_MONTH: FieldSpec = { label: 'day-of-month', min: 1, max: 31 };
const MONTH: FieldSpec = { label: 'month', min: 1, max: 12, names: MONTHS };
const DAY_OF_WEEK: FieldSpec = { label: 'day-of-week', min: 1, max: 7, names: WEEKDAYS };
const YEAR: FieldSpec = { label: 'year', min: 1970, max: 2199 };

/** Checks a schedule expression; returns the broken rule or undefined. Tokens are not inspected. */
export function checkScheduleExpression(expression: string, rules: ScheduleRules): string | undefined {
  if (Token.isUnresolved(expression)) return undefined;
  if (expression.length < 1 || expression.length > 256) return 'must be 1 to 256 characters long';
  if (expression.startsWith('cron(') && expression.endsWith(')')) return checkCron(expression.slice(5, -1), rules);
  if (expression.startsWith('rate(') && expression.endsWith(')')) return checkRate(expression.slice(5, -1), rules);
  if (expression.startsWith('at(') && expression.endsWith(')')) return checkAt(expression.slice(3, -1));
  return 'must be a cron(...), rate(...) or at(yyyy-MM-ddTHH:mm:ss) expression';
}

function checkRate(body: string, rules: ScheduleRules): string | undefined {
  const match = /^([1-9][0-9]*) (minute|minutes|hour|hours|day|days)$/.exec(body);
  if (!match) {
    return 'must be rate(<n> minute|minutes|hour|hours|day|days) with a positive whole number <n>';
  }
  const amount = Number(match[1]);
  const unit = match[2];
  const singular = !unit.endsWith('s');
  if (singular !== (amount === 1)) {
    return 'must use a singular unit for 1 and a plural unit otherwise, e.g. rate(1 hour) or rate(5 hours)';
  }
  const minutes = amount * (unit.startsWith('minute') ? 1 : unit.startsWith('hour') ? 60 : 24 * 60);
  return checkRateMinutes(minutes, rules);
}

function checkRateMinutes(minutes: number, rules: ScheduleRules): string | undefined {
  if (rules.maxRateMinutesExclusive !== undefined) {
    if (minutes < rules.minIntervalMinutes || minutes >= rules.maxRateMinutesExclusive) {
      const maxDays = rules.maxRateMinutesExclusive / 1440;
      return `must be a rate of at least ${rules.minIntervalMinutes} minutes and less than ${maxDays} days`;
    }
  } else if (minutes < rules.minIntervalMinutes) {
    return `must not run more often than every ${rules.minIntervalMinutes} minutes`;
  }
  return undefined;
}

function checkAt(body: string): string | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$/.exec(body);
  const problem = 'must be at(yyyy-MM-ddTHH:mm:ss) with a valid date and time';
  if (!match) return problem;
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number);
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  const valid =
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day &&
    hour <= 23 &&
    minute <= 59 &&
    second <= 59;
  return valid ? undefined : problem;
}

function checkCron(body: string, rules: ScheduleRules): string | undefined {
  const fields = body.trim().split(/\s+/);
  if (fields.length !== 6 && fields.length !== 7) {
    return 'must be cron(minutes hours day-of-month month day-of-week year) with 6 fields (or 7 with leading seconds)';
  }
  if (fields.length === 7) {
    const seconds = fields.shift() as string;
    if (rules.secondsMustBeZero ? seconds !== '0' : !isIntegerIn(seconds, 0, 59)) {
      return rules.secondsMustBeZero
        ? "must have '0' as the optional leading seconds field"
        : 'must have a single second from 0 to 59 as the optional leading seconds field';
    }
  }
  const [minute, hour, dayOfMonth, month, dayOfWeek, year] = fields;
  if ((dayOfMonth === '?') === (dayOfWeek === '?')) {
    return "must have '?' in exactly one of the day-of-month and day-of-week fields";
  }
  const invalid =
    checkField(minute, MINUTE) ??
    checkField(hour, HOUR) ??
    (dayOfMonth === '?' ? undefined : checkDayOfMonth(dayOfMonth)) ??
    checkField(month, MONTH) ??
    (dayOfWeek === '?' ? undefined : checkDayOfWeek(dayOfWeek)) ??
    checkField(year, YEAR);
  if (invalid) return invalid;
  if (rules.monthMustBeAny && month !== '*') {
    return "must have '*' in the month field (State Manager does not support months)";
  }
  const gap = shortestGapMinutes(minute, hour);
  if (gap !== undefined && gap < rules.minIntervalMinutes) {
    const apart = `${gap} minute${gap === 1 ? '' : 's'} apart`;
    return `must not run more often than every ${rules.minIntervalMinutes} minutes (runs ${apart})`;
  }
  return undefined;
}

function isIntegerIn(text: string, min: number, max: number): boolean {
  return /^\d{1,4}$/.test(text) && Number(text) >= min && Number(text) <= max;
}

/** The value of a number or name (JAN, MON) in a field, or undefined. */
function fieldValue(text: string, spec: FieldSpec): number | undefined {
  if (/^\d{1,4}$/.test(text)) {
    const n = Number(text);
    return n >= spec.min && n <= spec.max ? n : undefined;
  }
  const index = spec.names?.indexOf(text.toUpperCase()) ?? -1;
  return index >= 0 ? spec.min + index : undefined;
}

/** Expands a field of `*`, values, ranges, steps and lists; undefined when it does not parse. */
function expandField(text: string, spec: FieldSpec): number[] | undefined {
  const values = new Set<number>();
  for (const part of text.split(',')) {
    const match = /^(\*|[A-Za-z0-9]+(?:-[A-Za-z0-9]+)?)(?:\/(\d{1,4}))?$/.exec(part);
    if (!match) return undefined;
    let from = spec.min;
    let to = spec.max;
    if (match[1] !== '*') {
      const [a, b] = match[1].split('-');
      const start = fieldValue(a, spec);
      const end = b === undefined ? undefined : fieldValue(b, spec);
      if (start === undefined || (b !== undefined && (end === undefined || end < start))) return undefined;
      from = start;
      // `5/15` means "from 5 on, every 15"; a plain value is just itself.
      to = end ?? (match[2] === undefined ? start : spec.max);
    }
    const step = match[2] === undefined ? 1 : Number(match[2]);
    if (step < 1 || step > spec.max - spec.min + 1) return undefined;
    for (let v = from; v <= to; v += step) values.add(v);
  }
  return [...values].sort((x, y) => x - y);
}

function fieldProblem(text: string, spec: FieldSpec): string {
  const names = spec.names ? ` or ${spec.names[0]}-${spec.names[spec.names.length - 1]}` : '';
  return `must have a valid ${spec.label} field (${spec.min}-${spec.max}${names}, with * , - /), found '${text}'`;
}

function checkField(text: string, spec: FieldSpec): string | undefined {
  return expandField(text, spec) ? undefined : fieldProblem(text, spec);
}

function checkDayOfMonth(text: string): string | undefined {
  if (text === 'L' || text === 'LW' || /^([1-9]|[12][0-9]|3[01])W$/.test(text)) return undefined;
  return expandField(text, DAY_OF_MONTH)
    ? undefined
    : `must have a valid day-of-month field (1-31, L, LW or <day>W, with * , - /), found '${text}'`;
}

function checkDayOfWeek(text: string): string | undefined {
  if (text === 'L') return undefined;
  const nth = /^([A-Za-z0-9]+)#([1-5])$/.exec(text);
  if (nth) return fieldValue(nth[1], DAY_OF_WEEK) === undefined ? dayOfWeekProblem(text) : undefined;
  const last = /^([A-Za-z0-9]+?)L$/.exec(text);
  if (last && fieldValue(last[1], DAY_OF_WEEK) !== undefined) return undefined;
  return expandField(text, DAY_OF_WEEK) ? undefined : dayOfWeekProblem(text);
}

function dayOfWeekProblem(text: string): string {
  return `must have a valid day-of-week field (1-7 or SUN-SAT, <day>#<1-5>, <day>L or L, with * , - /), found '${text}'`;
}

/**
 * The shortest time between two runs that the minute and hour fields allow, in minutes; undefined when a field is
 * not a plain list (it was already reported, or carries L/W/#).
 */
function shortestGapMinutes(minuteField: string, hourField: string): number | undefined {
  const minutes = expandField(minuteField, MINUTE);
  const hours = expandField(hourField, HOUR);
  if (!minutes || !hours) return undefined;
  let gap = Infinity;
  for (let i = 1; i < minutes.length; i++) gap = Math.min(gap, minutes[i] - minutes[i - 1]);
  // Across the top of the hour, when two consecutive hours both run.
  const consecutiveHours = hours.some((h) => hours.includes(h + 1)) || (hours.includes(23) && hours.includes(0));
  if (consecutiveHours) gap = Math.min(gap, 60 - minutes[minutes.length - 1] + minutes[0]);
  return gap === Infinity ? undefined : gap;
}

/**
 * Renders `rate(...)` from a duration in the largest whole unit, with the singular unit for 1. Returns the
 * expression and, when the duration cannot be a rate, the broken rule.
 */
export function renderRate(duration: Duration, rules: ScheduleRules): RenderedSchedule {
  if (duration.isUnresolved()) {
    const unit = duration.unitLabel();
    const expression = `rate(${duration.formatTokenToNumber()})`;
    if (!['minutes', 'hours', 'days'].includes(unit)) {
      return {
        expression,
        problem: { rule: 'from a token must be given in minutes, hours or days', value: `a token in ${unit}` },
      };
    }
    return { expression };
  }
  const seconds = duration.toSeconds({ integral: false });
  const human = duration.toHumanString();
  if (!Number.isInteger(seconds) || seconds <= 0 || seconds % 60 !== 0) {
    return {
      expression: `rate(${human})`,
      problem: { rule: 'must be a positive whole number of minutes, hours or days', value: human },
    };
  }
  const minutes = seconds / 60;
  const [amount, unit] =
    minutes % 1440 === 0 ? [minutes / 1440, 'day'] : minutes % 60 === 0 ? [minutes / 60, 'hour'] : [minutes, 'minute'];
  const expression = `rate(${amount} ${unit}${amount === 1 ? '' : 's'})`;
  const rule = checkRateMinutes(minutes, rules);
  return { expression, problem: rule ? { rule, value: `'${expression}'` } : undefined };
}

/** Renders `at(yyyy-MM-ddTHH:mm:ss)` for an instant, as wall-clock time in a time zone (UTC by default). */
export function renderAt(date: Date, timeZone?: string): RenderedSchedule {
  if (Number.isNaN(date.getTime())) {
    return { expression: 'at(Invalid Date)', problem: { rule: 'must be a valid date', value: 'Invalid Date' } };
  }
  if (timeZone === undefined || timeZone === 'UTC' || Token.isUnresolved(timeZone)) {
    return { expression: `at(${date.toISOString().slice(0, 19)})` };
  }
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(date);
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  const year = part('year').padStart(4, '0');
  return {
    expression: `at(${year}-${part('month')}-${part('day')}T${part('hour')}:${part('minute')}:${part('second')})`,
  };
}

/** Shape of the cron options both schedule classes take. */
export interface CronFields {
  readonly minute: string;
  readonly hour: string;
  readonly day?: string;
  readonly month: string;
  readonly weekDay?: string;
  readonly year: string;
}

/**
 * Renders the 6-field `cron(...)` form: `?` goes into the day-of-week field unless a week day is given, in which case
 * it goes into the day-of-month field. Returns a problem when both days are set.
 */
export function renderCron(fields: CronFields): RenderedSchedule {
  const dayGiven = fields.day !== undefined && fields.day !== '?';
  const weekDayGiven = fields.weekDay !== undefined && fields.weekDay !== '?';
  const day = weekDayGiven ? '?' : (fields.day ?? '*');
  const weekDay = weekDayGiven ? (fields.weekDay as string) : '?';
  const expression = `cron(${fields.minute} ${fields.hour} ${day} ${fields.month} ${weekDay} ${fields.year})`;
  if (dayGiven && weekDayGiven) {
    return {
      expression,
      problem: {
        rule: 'cron options must set at most one of `day` and `weekDay`',
        value: `day '${fields.day}' and weekDay '${fields.weekDay}'`,
      },
    };
  }
  return { expression };
}

/** Renders and checks a cron from options. */
export function cronSchedule(fields: CronFields, rules: ScheduleRules): RenderedSchedule {
  const rendered = renderCron(fields);
  if (rendered.problem) return rendered;
  const rule = checkScheduleExpression(rendered.expression, rules);
  return { expression: rendered.expression, problem: rule ? { rule, value: `'${rendered.expression}'` } : undefined };
}
