import { Duration, Token } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/*
 * The one validation module of the library: the checks and the Systems Manager limits that several constructs share.
 * Feature-specific checks live next to their feature (`lib/<feature>/private/`).
 */

/**
 * Names of SSM documents, State Manager associations, maintenance windows (and their targets and tasks) and patch
 * baselines: 3 to 128 letters, digits, `_`, `-` and `.`.
 * @see https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_CreateMaintenanceWindow.html
 * @see https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_CreateAssociation.html
 */
export const SSM_NAME_PATTERN = /^[a-zA-Z0-9_\-.]{3,128}$/;

/** The ARN of an SSM document (shared documents are given by ARN); the name part follows `SSM_NAME_PATTERN`. */
export const SSM_DOCUMENT_ARN_PATTERN = /^arn:aws[a-z-]*:ssm:[a-z0-9-]*:([0-9]{12})?:document\/([a-zA-Z0-9_\-.]{3,128})$/;

/**
 * An AWS Resource Groups group name: 1 to 300 letters, digits, `_`, `.` and `-`.
 * @see https://docs.aws.amazon.com/ARG/latest/APIReference/API_CreateGroup.html
 */
export const RESOURCE_GROUP_NAME_PATTERN = /^[a-zA-Z0-9_.-]{1,300}$/;

/** A 12-digit AWS account id. */
export const ACCOUNT_ID_PATTERN = /^\d{12}$/;

/**
 * Tag key and value characters of Systems Manager (`AddTagsToResource`, `CreateActivation`); needs the `u` flag.
 * @see https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_Tag.html
 */
export const SSM_TAG_PATTERN = /^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$/u;

/**
 * `MaxConcurrency` of associations and maintenance-window tasks: a positive number or 1%–100%.
 * @see https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_CreateAssociation.html
 */
const MAX_CONCURRENCY_PATTERN = /^([1-9][0-9]*|[1-9][0-9]%|[1-9]%|100%)$/;
/** `MaxErrors`: a number (0 allowed) or 0%–100%. */
const MAX_ERRORS_PATTERN = /^([1-9][0-9]*|[0]|[1-9][0-9]%|[0-9]%|100%)$/;

/**
 * Throws a synth-time error that names the construct path, so users can find the offending construct in a big app.
 */
export function fail(scope: IConstruct, message: string): never {
  throw new Error(`${message} (at ${scope.node.path})`);
}

/** Checks an integer prop against an inclusive range; unresolved tokens are not inspected. */
export function checkIntegerRange(
  scope: IConstruct,
  prop: string,
  value: number | undefined,
  min: number,
  max: number,
): void {
  if (value === undefined || Token.isUnresolved(value)) return;
  if (!Number.isInteger(value) || value < min || value > max) {
    fail(scope, `\`${prop}\` must be an integer from ${min} to ${max}, got: ${value}`);
  }
}

/** Checks a `Duration` prop against an inclusive range; unresolved tokens are not inspected. */
export function checkDurationRange(
  scope: IConstruct,
  prop: string,
  value: Duration | undefined,
  min: Duration,
  max: Duration,
): void {
  if (value === undefined || value.isUnresolved()) return;
  const seconds = value.toSeconds({ integral: false });
  if (!Number.isInteger(seconds) || seconds < min.toSeconds() || seconds > max.toSeconds()) {
    fail(
      scope,
      `\`${prop}\` must be a whole number of seconds from ${min.toHumanString()} to ${max.toHumanString()}, got: ${value.toHumanString()}`,
    );
  }
}

/** Checks a `Duration` prop that must be a whole number of days in an inclusive range; tokens are not inspected. */
export function checkWholeDays(scope: IConstruct, prop: string, value: Duration | undefined, min: number, max: number): void {
  if (value === undefined || value.isUnresolved()) return;
  const days = value.toHours({ integral: false }) / 24;
  if (!Number.isInteger(days) || days < min || days > max) {
    fail(scope, `\`${prop}\` must be a whole number of days from ${min} to ${max}, got: ${value.toHumanString()}`);
  }
}

/** Checks the length of a string prop (inclusive range; `min` 0 reads "at most"); tokens are not inspected. */
export function checkLength(scope: IConstruct, prop: string, value: string | undefined, min: number, max: number): void {
  if (value === undefined || Token.isUnresolved(value)) return;
  if (value.length < min || value.length > max) {
    const range = min === 0 ? `at most ${max}` : `${min} to ${max}`;
    fail(scope, `\`${prop}\` must be ${range} characters long, got: ${value.length} characters`);
  }
}

/** Checks a name that follows `SSM_NAME_PATTERN` (documents, associations, windows, baselines); tokens are skipped. */
export function checkSsmName(scope: IConstruct, prop: string, name: string | undefined): void {
  if (name === undefined || Token.isUnresolved(name)) return;
  if (!SSM_NAME_PATTERN.test(name)) {
    fail(scope, `\`${prop}\` must be 3 to 128 letters, digits, _ - and ., got: '${name}'`);
  }
}

/** Checks a resource group name (`RESOURCE_GROUP_NAME_PATTERN`); tokens are skipped. */
export function checkResourceGroupName(scope: IConstruct, prop: string, name: string | undefined): void {
  if (name === undefined || Token.isUnresolved(name)) return;
  if (!RESOURCE_GROUP_NAME_PATTERN.test(name)) {
    fail(scope, `\`${prop}\` must be 1 to 300 letters, digits, _ . and -, got: '${name}'`);
  }
}

/** Checks a rate-control value (`MaxConcurrency`, `MaxErrors`): pattern and at most 7 characters; tokens are skipped. */
export function checkRateControl(scope: IConstruct, prop: string, value: string | undefined, kind: 'concurrency' | 'errors'): void {
  if (value === undefined || Token.isUnresolved(value)) return;
  const pattern = kind === 'concurrency' ? MAX_CONCURRENCY_PATTERN : MAX_ERRORS_PATTERN;
  if (value.length > 7 || !pattern.test(value)) {
    const allowed = kind === 'concurrency'
      ? 'a number from 1 or a percentage from 1% to 100%'
      : 'a number from 0 or a percentage from 0% to 100%';
    fail(scope, `\`${prop}\` must be ${allowed} (at most 7 characters), got: '${value}'`);
  }
}
