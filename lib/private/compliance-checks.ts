import { Duration, Token } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { checkDurationRange, checkIntegerRange, fail } from './validate';

/** `PutConfigRule` accepts InputParameters of 1 to 1,024 characters (JSON). */
export const MAX_INPUT_PARAMETERS = 1024;

/** A value that goes into a Config rule's comma-separated parameter: no commas, no wildcards, no outer spaces. */
export function checkCsvItem(scope: IConstruct, prop: string, what: string, value: string, extra: { noColon?: boolean } = {}): void {
  if (Token.isUnresolved(value)) return;
  if (value.trim().length === 0) fail(scope, `\`${prop}\` ${what} must not be empty, got: '${value}'`);
  if (value !== value.trim()) fail(scope, `\`${prop}\` ${what} must not start or end with spaces, got: '${value}'`);
  if (value.includes(',')) {
    fail(scope, `\`${prop}\` ${what} must not contain ',' (the rule takes a comma-separated list), got: '${value}'`);
  }
  if (/[*?]/.test(value)) {
    fail(scope, `\`${prop}\` ${what} must be exact: the rule does not support wildcards ('*', '?'), got: '${value}'`);
  }
  if (extra.noColon && value.includes(':')) {
    fail(scope, `\`${prop}\` ${what} must not contain ':' (the rule reads 'name:version'), got: '${value}'`);
  }
}

/** Checks that the JSON InputParameters of a Config rule fit the API limit. */
export function checkInputParameters(scope: IConstruct, prop: string, parameters: Record<string, unknown>): void {
  const values = Object.values(parameters);
  if (values.some((v) => typeof v === 'string' && Token.isUnresolved(v))) return;
  const length = JSON.stringify(parameters).length;
  if (length > MAX_INPUT_PARAMETERS) {
    fail(
      scope,
      `\`${prop}\` makes the rule's InputParameters ${length} characters long; AWS Config accepts at most ${MAX_INPUT_PARAMETERS}, got: ${JSON.stringify(parameters).slice(0, 80)}…`,
    );
  }
}

/** Checks a value against an enum's values (for callers that bypass the type system). */
export function checkEnumValue(scope: IConstruct, prop: string, value: string | undefined, allowed: readonly string[]): void {
  if (value === undefined || Token.isUnresolved(value)) return;
  if (!allowed.includes(value)) fail(scope, `\`${prop}\` must be one of ${allowed.join(', ')}, got: '${value}'`);
}

/** The limits of AWS::Config::RemediationConfiguration (PutRemediationConfigurations). */
export interface RemediationLimits {
  readonly maxAttempts?: number;
  readonly retryInterval?: Duration;
  readonly concurrencyPercentage?: number;
  readonly errorPercentage?: number;
}

export function checkRemediationLimits(scope: IConstruct, limits: RemediationLimits): void {
  checkIntegerRange(scope, 'remediationMaxAttempts', limits.maxAttempts, 1, 25);
  checkDurationRange(scope, 'remediationRetryInterval', limits.retryInterval, Duration.seconds(1), Duration.seconds(2_678_000));
  checkIntegerRange(scope, 'remediationConcurrencyPercentage', limits.concurrencyPercentage, 1, 100);
  checkIntegerRange(scope, 'remediationErrorPercentage', limits.errorPercentage, 1, 100);
}
