import { Duration, Token } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

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
