import { Duration, Lazy, Stack, Token } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { AssociationCronOptions, AssociationSchedule } from '../../lib';
import { testApp } from '../support/gates';

/*
 * AssociationSchedule is checked by the construct that uses it; these tests call that check directly with a scope and
 * the prop name a construct would pass.
 */
let scope: Construct;
beforeEach(() => {
  scope = new Construct(new Stack(testApp(), 'TestStack'), 'Association');
});

function check(schedule: AssociationSchedule): void {
  schedule._validate(scope, 'schedule');
}

describe('AssociationSchedule.rate', () => {
  test.each([
    [Duration.minutes(30), 'rate(30 minutes)'],
    [Duration.minutes(90), 'rate(90 minutes)'],
    [Duration.hours(1), 'rate(1 hour)'],
    [Duration.hours(12), 'rate(12 hours)'],
    [Duration.days(1), 'rate(1 day)'],
    [Duration.days(30), 'rate(30 days)'],
    [Duration.hours(743), 'rate(743 hours)'],
  ])('%s is written as %s', (duration, expected) => {
    const schedule = AssociationSchedule.rate(duration);
    expect(schedule.expressionString).toBe(expected);
    expect(schedule.isCron).toBe(false);
    expect(() => check(schedule)).not.toThrow();
  });
});

describe('AssociationSchedule.cron', () => {
  test.each<[string, AssociationCronOptions, string]>([
    ['weekly', { minute: '0', hour: '2', weekDay: 'SUN' }, 'cron(0 2 ? * SUN *)'],
    ['the third Tuesday', { minute: '30', hour: '23', weekDay: 'TUE#3' }, 'cron(30 23 ? * TUE#3 *)'],
    ['the last Tuesday', { minute: '0', hour: '1', weekDay: '3L' }, 'cron(0 1 ? * 3L *)'],
    ['daily', { minute: '0', hour: '4' }, 'cron(0 4 * * ? *)'],
    ['every 4 hours', { minute: '0', hour: '0/4' }, 'cron(0 0/4 * * ? *)'],
    ['every half hour', { minute: '0/30', hour: '*' }, 'cron(0/30 * * * ? *)'],
    ['the last day of the month', { minute: '0', hour: '3', day: 'L' }, 'cron(0 3 L * ? *)'],
  ])('%s: %s', (_name, options, expected) => {
    const schedule = AssociationSchedule.cron(options);
    expect(schedule.expressionString).toBe(expected);
    expect(schedule.isCron).toBe(true);
    expect(() => check(schedule)).not.toThrow();
  });
});

describe('AssociationSchedule.at and expression', () => {
  test('at writes the UTC time without milliseconds', () => {
    const schedule = AssociationSchedule.at(new Date('2030-07-07T15:55:00.500Z'));
    expect(schedule.expressionString).toBe('at(2030-07-07T15:55:00)');
    expect(schedule.isCron).toBe(false);
    expect(() => check(schedule)).not.toThrow();
  });

  test.each(['cron(0 2 ? * SUN *)', 'cron(0 0 2 ? * SUN *)', 'cron(0/30 * * * ? *)', 'rate(30 minutes)', 'rate(7 days)', 'at(2030-01-01T00:00:00)'])(
    'accepts %s',
    (expression) => {
      const schedule = AssociationSchedule.expression(expression);
      expect(schedule.expressionString).toBe(expression);
      expect(schedule.isCron).toBe(expression.startsWith('cron('));
      expect(() => check(schedule)).not.toThrow();
    },
  );
});

describe('AssociationSchedule validation', () => {
  const at = '\\(at TestStack/Association\\)$';
  test.each<[string, () => AssociationSchedule, RegExp]>([
    ['a rate under 30 minutes', () => AssociationSchedule.rate(Duration.minutes(29)), new RegExp(`^\`schedule\` must be a rate of at least 30 minutes and less than 31 days, got: 'rate\\(29 minutes\\)' ${at}`)],
    ['a rate of 31 days', () => AssociationSchedule.rate(Duration.days(31)), /^`schedule` must be a rate of at least 30 minutes and less than 31 days, got: 'rate\(31 days\)'/],
    ['a literal rate of 744 hours', () => AssociationSchedule.expression('rate(744 hours)'), /^`schedule` must be a rate of at least 30 minutes and less than 31 days, got: 'rate\(744 hours\)'/],
    ['a plural unit for 1', () => AssociationSchedule.expression('rate(1 days)'), /^`schedule` must use a singular unit for 1 and a plural unit otherwise, e\.g\. rate\(1 hour\) or rate\(5 hours\), got: 'rate\(1 days\)'/],
    ['a singular unit for 2', () => AssociationSchedule.expression('rate(2 day)'), /^`schedule` must use a singular unit for 1 and a plural unit otherwise.*got: 'rate\(2 day\)'/],
    ['a rate that is not whole minutes', () => AssociationSchedule.rate(Duration.seconds(1830)), /^`schedule` must be a positive whole number of minutes, hours or days, got: 30 minutes 30 seconds/],
    ['a month', () => AssociationSchedule.expression('cron(0 2 ? JAN SUN *)'), new RegExp(`^\`schedule\` must have '\\*' in the month field \\(State Manager does not support months\\), got: 'cron\\(0 2 \\? JAN SUN \\*\\)' ${at}`)],
    ['every 15 minutes', () => AssociationSchedule.cron({ minute: '*/15', hour: '*' }), /^`schedule` must not run more often than every 30 minutes \(runs 15 minutes apart\), got: 'cron\(\*\/15 \* \* \* \? \*\)'/],
    ['minutes 20 apart across the hour', () => AssociationSchedule.cron({ minute: '0,40', hour: '*' }), /^`schedule` must not run more often than every 30 minutes \(runs 20 minutes apart\)/],
    ['a seconds field other than 0', () => AssociationSchedule.expression('cron(30 0 2 ? * SUN *)'), /^`schedule` must have '0' as the optional leading seconds field, got: 'cron\(30 0 2 \? \* SUN \*\)'/],
    ['a cron with 5 fields', () => AssociationSchedule.expression('cron(0 2 ? * SUN)'), /^`schedule` must be cron\(minutes hours day-of-month month day-of-week year\) with 6 fields \(or 7 with leading seconds\)/],
    ['? in both day fields', () => AssociationSchedule.cron({ minute: '0', hour: '2', day: '?' }), /^`schedule` must have '\?' in exactly one of the day-of-month and day-of-week fields, got: 'cron\(0 2 \? \* \? \*\)'/],
    ['day and weekDay both set', () => AssociationSchedule.cron({ minute: '0', hour: '2', day: '1', weekDay: 'MON' }), /^`schedule` cron options must set at most one of `day` and `weekDay`, got: day '1' and weekDay 'MON'/],
    ['an invalid hour', () => AssociationSchedule.cron({ minute: '0', hour: '25' }), /^`schedule` must have a valid hours field \(0-23, with \* , - \/\), found '25'/],
    ['an invalid week day', () => AssociationSchedule.cron({ minute: '0', hour: '2', weekDay: 'FUN' }), /^`schedule` must have a valid day-of-week field .*found 'FUN'/],
    ['not an expression', () => AssociationSchedule.expression('daily'), /^`schedule` must be a cron\(\.\.\.\), rate\(\.\.\.\) or at\(yyyy-MM-ddTHH:mm:ss\) expression, got: 'daily'/],
    ['an impossible time', () => AssociationSchedule.expression('at(2030-01-01T24:00:00)'), /^`schedule` must be at\(yyyy-MM-ddTHH:mm:ss\) with a valid date and time, got: 'at\(2030-01-01T24:00:00\)'/],
    ['an invalid Date', () => AssociationSchedule.at(new Date(Number.NaN)), /^`schedule` must be a valid date, got: Invalid Date/],
  ])('rejects %s', (_name, schedule, message) => {
    expect(() => check(schedule())).toThrow(message);
  });

  test('the message names the prop the construct passes', () => {
    expect(() => AssociationSchedule.rate(Duration.minutes(5))._validate(scope, 'inventorySchedule')).toThrow(
      /^`inventorySchedule` must be a rate of at least 30 minutes/,
    );
  });
});

describe('AssociationSchedule tokens', () => {
  test('tokens are not validated', () => {
    const schedule = AssociationSchedule.expression(Lazy.string({ produce: () => 'rate(1 minute)' }));
    expect(schedule.isCron).toBe(false);
    expect(() => check(schedule)).not.toThrow();
  });

  test('cron fields and rates may be tokens', () => {
    const hour = Token.asString(Lazy.string({ produce: () => '2' }));
    const cron = AssociationSchedule.cron({ minute: '0', hour, weekDay: 'SUN' });
    expect(() => check(cron)).not.toThrow();
    expect(Stack.of(scope).resolve(cron.expressionString)).toBe('cron(0 2 ? * SUN *)');
    const rate = AssociationSchedule.rate(Duration.days(Lazy.number({ produce: () => 1 })));
    expect(() => check(rate)).not.toThrow();
    expect(Stack.of(scope).resolve(rate.expressionString)).toBe('rate(1 days)');
  });
});
