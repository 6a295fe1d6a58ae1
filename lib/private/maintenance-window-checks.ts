import { Token } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { fail } from './validate';

/*
 * Checks shared by the maintenance window, its targets and its tasks (../shared/AWS-FACTS.md 3.1-3.3, Appendix A).
 */

/** Pattern of maintenance window, target and task names. */
export const MAINTENANCE_WINDOW_NAME_PATTERN = /^[a-zA-Z0-9_\-.]{3,128}$/;

/** Checks a window, target or task name. */
export function checkName(scope: IConstruct, prop: string, name: string | undefined): void {
  if (name === undefined || Token.isUnresolved(name)) return;
  if (!MAINTENANCE_WINDOW_NAME_PATTERN.test(name)) {
    fail(scope, `\`${prop}\` must be 3 to 128 letters, digits, _ - and ., got: '${name}'`);
  }
}

/** Checks a window, target or task description (the API allows 1–128 characters; CloudFormation does not check). */
export function checkDescription(scope: IConstruct, prop: string, description: string | undefined): void {
  if (description === undefined || Token.isUnresolved(description)) return;
  if (description.length < 1 || description.length > 128) {
    fail(scope, `\`${prop}\` must be 1 to 128 characters long, got: ${description.length} characters`);
  }
}
