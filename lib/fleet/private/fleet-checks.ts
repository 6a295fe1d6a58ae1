import { Token } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { ACCOUNT_ID_PATTERN, fail } from '../../private/validate';

/** An AWS Organizations id. @see https://docs.aws.amazon.com/organizations/latest/APIReference/API_Organization.html */
export const ORGANIZATION_ID_PATTERN = /^o-[a-z0-9]{10,32}$/;

/** A Region code such as `eu-west-1` or `us-gov-west-1`. */
export const REGION_PATTERN = /^[a-z]{2}(-[a-z]+)+-\d$/;

/** Checks an Organizations id; tokens are not inspected. */
export function checkOrganizationId(scope: IConstruct, prop: string, organizationId: string | undefined): void {
  if (organizationId === undefined || Token.isUnresolved(organizationId)) return;
  if (!ORGANIZATION_ID_PATTERN.test(organizationId)) {
    fail(scope, `\`${prop}\` must match ^o-[a-z0-9]{10,32}$ (an AWS Organizations id), got: '${organizationId}'`);
  }
}

/**
 * Checks a list written out in the app: each value matches `pattern` (tokens are not inspected), no value twice.
 * `what`/`whats`: the value in the singular and the plural; `allowEmpty` false: at least one value.
 */
export function checkList(scope: IConstruct, prop: string, values: string[] | undefined, pattern: RegExp, what: string, whats: string, allowEmpty = false): void {
  if (values === undefined) return;
  if (Token.isUnresolved(values)) fail(scope, `\`${prop}\` must be a list written out in the app (its elements may be tokens), got: a list token`);
  if (values.length === 0 && !allowEmpty) fail(scope, `\`${prop}\` must list at least one ${what}, got: []`);
  const seen = new Set<string>();
  for (const value of values) {
    if (Token.isUnresolved(value)) continue;
    if (!pattern.test(value)) fail(scope, `\`${prop}\` must hold only ${whats}, got: '${value}'`);
    if (seen.has(value)) fail(scope, `\`${prop}\` must not list a value twice, got: '${value}' more than once`);
    seen.add(value);
  }
}

/**
 * Checks `organizationId` and `sourceAccounts` of a resource policy that admits other accounts: at least one given;
 * `allowNoAccount`: `sourceAccounts: []` (this account only) is allowed.
 */
export function checkAdmitted(scope: IConstruct, organizationId: string | undefined, sourceAccounts: string[] | undefined, allowNoAccount = false): void {
  checkOrganizationId(scope, 'organizationId', organizationId);
  checkList(scope, 'sourceAccounts', sourceAccounts, ACCOUNT_ID_PATTERN, '12-digit account id', '12-digit account ids', allowNoAccount);
  if (organizationId === undefined && sourceAccounts === undefined) {
    fail(scope, '`organizationId` or `sourceAccounts` must say which accounts are admitted (the policy never admits every account), got: neither');
  }
}
