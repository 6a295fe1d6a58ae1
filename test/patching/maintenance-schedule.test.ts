import { Duration, Lazy, Stack, Token } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { MaintenanceCronOptions, MaintenanceSchedule, MaintenanceWindow } from '../../lib';
import { testApp } from '../support/gates';

let stack: Stack;
beforeEach(() => {
  stack = new Stack(testApp(), 'TestStack');
});

/** The Schedule a window renders for a schedule. */
function rendered(schedule: MaintenanceSchedule, scheduleTimezone?: string): unknown {
  new MaintenanceWindow(stack, 'Window', { schedule, scheduleTimezone });
  const windows = Template.fromStack(stack).findResources('AWS::SSM::MaintenanceWindow');
  return (Object.values(windows)[0] as { Properties: { Schedule: unknown } }).Properties.Schedule;
}

describe('MaintenanceSchedule.cron', () => {
  test.each<[string, MaintenanceCronOptions, string]>([
    ['no fields: minute 0 of every hour', {}, 'cron(0 * * * ? *)'],
    ['a week day puts ? in the day-of-month field', { weekDay: 'SUN', hour: '3' }, 'cron(0 3 ? * SUN *)'],
    ['a day of the month puts ? in the day-of-week field', { day: '1', hour: '2', minute: '30' }, 'cron(30 2 1 * ? *)'],
    ['every field', { minute: '15', hour: '22', day: 'L', month: 'JAN-MAR', year: '2030' }, 'cron(15 22 L JAN-MAR ? 2030)'],
    ['the nth week day', { weekDay: 'TUE#2', hour: '23', minute: '30' }, 'cron(30 23 ? * TUE#2 *)'],
    ['an explicit ? for the unused day', { day: '?', weekDay: 'MON-FRI', hour: '8' }, 'cron(0 8 ? * MON-FRI *)'],
  ])('%s', (_name, options, expected) => {
    const schedule = MaintenanceSchedule.cron(options);
    expect(schedule.expressionString).toBe(expected);
    expect(schedule.isCron).toBe(true);
    expect(rendered(schedule)).toBe(expected);
  });
});

describe('MaintenanceSchedule.rate', () => {
  test.each([
    [Duration.minutes(5), 'rate(5 minutes)'],
    [Duration.minutes(90), 'rate(90 minutes)'],
    [Duration.hours(1), 'rate(1 hour)'],
    [Duration.minutes(120), 'rate(2 hours)'],
    [Duration.hours(48), 'rate(2 days)'],
    [Duration.days(1), 'rate(1 day)'],
    [Duration.days(7), 'rate(7 days)'],
  ])('%s is written as %s, in the largest whole unit, singular only for 1', (duration, expected) => {
    const schedule = MaintenanceSchedule.rate(duration);
    expect(schedule.expressionString).toBe(expected);
    expect(schedule.isCron).toBe(false);
    expect(rendered(schedule)).toBe(expected);
  });
});

describe('MaintenanceSchedule.at', () => {
  test('writes the UTC wall-clock time without milliseconds', () => {
    const schedule = MaintenanceSchedule.at(new Date('2030-07-07T15:55:30.123Z'));
    expect(schedule.expressionString).toBe('at(2030-07-07T15:55:30)');
    expect(schedule.isCron).toBe(false);
    expect(rendered(schedule)).toBe('at(2030-07-07T15:55:30)');
  });

  test("a window with a time zone writes the same instant in that zone's wall-clock time", () => {
    const schedule = MaintenanceSchedule.at(new Date('2030-01-31T23:30:00Z'));
    expect(rendered(schedule, 'Europe/Berlin')).toBe('at(2030-02-01T00:30:00)');
  });

  test('a window in UTC writes the UTC time', () => {
    expect(rendered(MaintenanceSchedule.at(new Date('2030-01-31T23:30:00Z')), 'UTC')).toBe('at(2030-01-31T23:30:00)');
  });
});

describe('MaintenanceSchedule.expression', () => {
  test.each([
    'cron(30 23 ? * TUE#3 *)',
    'cron(0 30 23 ? * TUE#3 *)',
    'cron(0 2 L * ? *)',
    'cron(0 2 LW * ? *)',
    'cron(0 2 15W * ? *)',
    'cron(0 2 ? * 6L *)',
    'cron(0 2 ? * L *)',
    'cron(0/5 * * * ? *)',
    'cron(*/10 * * * ? *)',
    'cron(0,30 8-17 ? * MON-FRI *)',
    'cron(0,58 3 * * ? *)',
    'cron(0 0 1 1,7 ? 2030-2032)',
    'cron(0 4 ? jan sun *)',
    'rate(5 minutes)',
    'rate(10 minutes)',
    'rate(1 day)',
    'at(2030-01-31T22:00:00)',
    'at(2032-02-29T00:00:00)',
  ])('accepts %s', (expression) => {
    const schedule = MaintenanceSchedule.expression(expression);
    expect(schedule.expressionString).toBe(expression);
    expect(schedule.isCron).toBe(expression.startsWith('cron('));
    expect(rendered(schedule)).toBe(expression);
  });
});

describe('MaintenanceSchedule validation', () => {
  const at = '\\(at TestStack/Window\\)$';
  test.each<[string, () => MaintenanceSchedule, RegExp]>([
    ['not an expression', () => MaintenanceSchedule.expression('every day'), new RegExp(`^\`schedule\` must be a cron\\(\\.\\.\\.\\), rate\\(\\.\\.\\.\\) or at\\(yyyy-MM-ddTHH:mm:ss\\) expression, got: 'every day' ${at}`)],
    ['longer than 256 characters', () => MaintenanceSchedule.expression(`cron(${'0,'.repeat(130)}0 * * * ? *)`), /^`schedule` must be 1 to 256 characters long, got: 'cron\(0,0,/],
    ['a cron with 5 fields', () => MaintenanceSchedule.expression('cron(0 3 * * ?)'), new RegExp(`^\`schedule\` must be cron\\(minutes hours day-of-month month day-of-week year\\) with 6 fields \\(or 7 with leading seconds\\), got: 'cron\\(0 3 \\* \\* \\?\\)' ${at}`)],
    ['? in both day fields', () => MaintenanceSchedule.expression('cron(0 3 ? * ? *)'), /^`schedule` must have '\?' in exactly one of the day-of-month and day-of-week fields, got: 'cron\(0 3 \? \* \? \*\)'/],
    ['? in neither day field', () => MaintenanceSchedule.expression('cron(0 3 * * MON *)'), /^`schedule` must have '\?' in exactly one of the day-of-month and day-of-week fields, got: 'cron\(0 3 \* \* MON \*\)'/],
    ['minute 60', () => MaintenanceSchedule.expression('cron(60 3 * * ? *)'), /^`schedule` must have a valid minutes field \(0-59, with \* , - \/\), found '60', got: 'cron\(60 3 \* \* \? \*\)'/],
    ['hour 24', () => MaintenanceSchedule.cron({ hour: '24' }), /^`schedule` must have a valid hours field \(0-23, with \* , - \/\), found '24', got: 'cron\(0 24 \* \* \? \*\)'/],
    ['day 32', () => MaintenanceSchedule.cron({ day: '32' }), /^`schedule` must have a valid day-of-month field \(1-31, L, LW or <day>W, with \* , - \/\), found '32', got: 'cron\(0 \* 32 \* \? \*\)'/],
    ['month 13', () => MaintenanceSchedule.cron({ month: '13' }), /^`schedule` must have a valid month field \(1-12 or JAN-DEC, with \* , - \/\), found '13'/],
    ['an unknown month name', () => MaintenanceSchedule.cron({ month: 'FOO' }), /^`schedule` must have a valid month field \(1-12 or JAN-DEC, with \* , - \/\), found 'FOO'/],
    ['week day 8', () => MaintenanceSchedule.cron({ weekDay: '8' }), /^`schedule` must have a valid day-of-week field \(1-7 or SUN-SAT, <day>#<1-5>, <day>L or L, with \* , - \/\), found '8'/],
    ['a sixth week day of the month', () => MaintenanceSchedule.cron({ weekDay: 'TUE#6' }), /^`schedule` must have a valid day-of-week field .*found 'TUE#6'/],
    ['a descending range', () => MaintenanceSchedule.cron({ hour: '17-8' }), /^`schedule` must have a valid hours field .*found '17-8'/],
    ['year 1969', () => MaintenanceSchedule.cron({ year: '1969' }), /^`schedule` must have a valid year field \(1970-2199, with \* , - \/\), found '1969'/],
    ['a seconds field of 60', () => MaintenanceSchedule.expression('cron(60 0 3 * * ? *)'), /^`schedule` must have a single second from 0 to 59 as the optional leading seconds field, got: 'cron\(60 0 3 \* \* \? \*\)'/],
    ['every minute', () => MaintenanceSchedule.cron({ minute: '*' }), new RegExp(`^\`schedule\` must not run more often than every 5 minutes \\(runs 1 minute apart\\), got: 'cron\\(\\* \\* \\* \\* \\? \\*\\)' ${at}`)],
    ['every 4 minutes', () => MaintenanceSchedule.cron({ minute: '*/4' }), /^`schedule` must not run more often than every 5 minutes \(runs 4 minutes apart\), got: 'cron\(\*\/4 \* \* \* \? \*\)'/],
    ['a minute list 3 minutes apart', () => MaintenanceSchedule.cron({ minute: '0,3', hour: '2' }), /^`schedule` must not run more often than every 5 minutes \(runs 3 minutes apart\), got: 'cron\(0,3 2 \* \* \? \*\)'/],
    ['a minute range', () => MaintenanceSchedule.cron({ minute: '0-10', hour: '2' }), /runs 1 minute apart/],
    ['minutes 2 apart across the hour', () => MaintenanceSchedule.cron({ minute: '0,58', hour: '2-3' }), /^`schedule` must not run more often than every 5 minutes \(runs 2 minutes apart\), got: 'cron\(0,58 2-3 \* \* \? \*\)'/],
    ['day and weekDay both set', () => MaintenanceSchedule.cron({ day: '1', weekDay: 'MON' }), new RegExp(`^\`schedule\` cron options must set at most one of \`day\` and \`weekDay\`, got: day '1' and weekDay 'MON' ${at}`)],
    ['a plural unit for 1', () => MaintenanceSchedule.expression('rate(1 hours)'), /^`schedule` must use a singular unit for 1 and a plural unit otherwise, e\.g\. rate\(1 hour\) or rate\(5 hours\), got: 'rate\(1 hours\)'/],
    ['a singular unit for 5', () => MaintenanceSchedule.expression('rate(5 hour)'), /^`schedule` must use a singular unit for 1 and a plural unit otherwise.*got: 'rate\(5 hour\)'/],
    ['a rate in weeks', () => MaintenanceSchedule.expression('rate(1 week)'), /^`schedule` must be rate\(<n> minute\|minutes\|hour\|hours\|day\|days\) with a positive whole number <n>, got: 'rate\(1 week\)'/],
    ['a rate of 0', () => MaintenanceSchedule.expression('rate(0 minutes)'), /^`schedule` must be rate\(<n> minute\|minutes.*got: 'rate\(0 minutes\)'/],
    ['a literal rate under 5 minutes', () => MaintenanceSchedule.expression('rate(4 minutes)'), /^`schedule` must not run more often than every 5 minutes, got: 'rate\(4 minutes\)'/],
    ['a duration rate under 5 minutes', () => MaintenanceSchedule.rate(Duration.minutes(2)), new RegExp(`^\`schedule\` must not run more often than every 5 minutes, got: 'rate\\(2 minutes\\)' ${at}`)],
    ['a rate that is not whole minutes', () => MaintenanceSchedule.rate(Duration.seconds(90)), /^`schedule` must be a positive whole number of minutes, hours or days, got: 1 minute 30 seconds/],
    ['a token rate in seconds', () => MaintenanceSchedule.rate(Duration.seconds(Lazy.number({ produce: () => 600 }))), /^`schedule` from a token must be given in minutes, hours or days, got: a token in seconds/],
    ['an impossible date', () => MaintenanceSchedule.expression('at(2030-02-30T00:00:00)'), /^`schedule` must be at\(yyyy-MM-ddTHH:mm:ss\) with a valid date and time, got: 'at\(2030-02-30T00:00:00\)'/],
    ['a date with a time zone', () => MaintenanceSchedule.expression('at(2030-02-01T00:00:00Z)'), /^`schedule` must be at\(yyyy-MM-ddTHH:mm:ss\) with a valid date and time/],
    ['an invalid Date', () => MaintenanceSchedule.at(new Date('not a date')), /^`schedule` must be a valid date, got: Invalid Date/],
  ])('rejects %s', (_name, schedule, message) => {
    expect(() => new MaintenanceWindow(stack, 'Window', { schedule: schedule() })).toThrow(message);
  });

  test('every message ends with the construct path', () => {
    expect(() => new MaintenanceWindow(stack, 'Window', { schedule: MaintenanceSchedule.expression('rate(1 hours)') })).toThrow(
      /\(at TestStack\/Window\)$/,
    );
  });
});

describe('MaintenanceSchedule tokens', () => {
  test('tokens are not validated', () => {
    const expression = Lazy.string({ produce: () => 'cron(0 3 ? * SUN *)' });
    const literal = MaintenanceSchedule.expression(expression);
    expect(literal.isCron).toBe(false);
    expect(rendered(literal)).toBe('cron(0 3 ? * SUN *)');
  });

  test('cron fields may be tokens', () => {
    const hour = Token.asString(Lazy.string({ produce: () => '4' }));
    const schedule = MaintenanceSchedule.cron({ hour, weekDay: 'SAT' });
    expect(stack.resolve(schedule.expressionString)).toBe('cron(0 4 ? * SAT *)');
    expect(rendered(schedule)).toBe('cron(0 4 ? * SAT *)');
  });

  test('a token rate in minutes, hours or days is written with its unit', () => {
    const schedule = MaintenanceSchedule.rate(Duration.hours(Lazy.number({ produce: () => 6 })));
    expect(rendered(schedule)).toBe('rate(6 hours)');
  });
});
