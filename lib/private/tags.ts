import { Token } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { fail, SSM_TAG_PATTERN } from './validate';

export { SSM_TAG_PATTERN };

/** Most SSM resources (and so a managed node) allow at most 50 tags. */
export const MAX_TAGS_PER_RESOURCE = 50;

/** Checks a tag key that will be put on managed nodes and used for targeting. */
export function checkTagKey(scope: IConstruct, prop: string, key: string): void {
  if (Token.isUnresolved(key)) return;
  if (key.length < 1 || key.length > 128) {
    fail(scope, `\`${prop}\` tag keys must be 1 to 128 characters long, got: '${key}'`);
  }
  if (!SSM_TAG_PATTERN.test(key)) {
    fail(scope, `\`${prop}\` tag keys may contain only letters, numbers, spaces and _ . : / = + - @, got: '${key}'`);
  }
  if (key.includes('+')) {
    fail(
      scope,
      `\`${prop}\` tag keys must not contain '+' (Systems Manager targets cannot select such keys), got: '${key}'`,
    );
  }
  if (key.toLowerCase().startsWith('aws:')) {
    fail(scope, `\`${prop}\` tag keys must not start with the reserved prefix 'aws:', got: '${key}'`);
  }
}

/** Checks a tag value that will be put on managed nodes. */
export function checkTagValue(scope: IConstruct, prop: string, key: string, value: string): void {
  if (Token.isUnresolved(value)) return;
  if (value.length > 256) {
    fail(scope, `\`${prop}\` tag values must be at most 256 characters long, got ${value.length} for key '${key}'`);
  }
  if (!SSM_TAG_PATTERN.test(value)) {
    fail(
      scope,
      `\`${prop}\` tag values may contain only letters, numbers, spaces and _ . : / = + - @, got: '${value}' for key '${key}'`,
    );
  }
}
