import { Duration, Token } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { checkLength, checkSsmName, fail } from '../../private/validate';

/*
 * Checks shared by the maintenance window, its targets and its tasks
 * (https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_CreateMaintenanceWindow.html,
 * https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_RegisterTaskWithMaintenanceWindow.html).
 */

const ETC_TIME_ZONE_PATTERN = /^Etc\/(UTC|UCT|GMT|GMT0|Greenwich|Universal|Zulu|GMT[+-]([0-9]|1[0-4]))$/;

/** Checks a window, target or task name (3–128 letters, digits, `_`, `-` and `.`). */
export function checkName(scope: IConstruct, prop: string, name: string | undefined): void {
  checkSsmName(scope, prop, name);
}

/** Checks a window, target or task description (the API allows 1–128 characters; CloudFormation does not check). */
export function checkDescription(scope: IConstruct, prop: string, description: string | undefined): void {
  checkLength(scope, prop, description, 1, 128);
}

/** A whole number of hours in a range; a token must be given in hours. */
export function wholeHours(scope: IConstruct, prop: string, value: Duration, min: number, max: number): number {
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
export function isoDate(scope: IConstruct, prop: string, date: Date | undefined): string | undefined {
  if (date === undefined) return undefined;
  if (Number.isNaN(date.getTime())) fail(scope, `\`${prop}\` must be a valid date, got: Invalid Date`);
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Accepts IANA zone names known to this Node.js (and their aliases), `UTC` and the `Etc/` zones. */
export function checkTimeZone(scope: IConstruct, timeZone: string | undefined): void {
  if (timeZone === undefined || Token.isUnresolved(timeZone)) return;
  const knownTimeZones = new Set(Intl.supportedValuesOf('timeZone'));
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
