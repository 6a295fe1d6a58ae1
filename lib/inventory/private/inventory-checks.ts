import { Token } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { ACCOUNT_ID_PATTERN, fail } from '../../private/validate';

export { ACCOUNT_ID_PATTERN };

/**
 * Checks the key prefix of resource data syncs (`S3Destination.BucketPrefix`, 1 to 256 characters,
 * https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_ResourceDataSyncS3Destination.html),
 * plus what keeps the bucket policy and IAM resources built from it exact: no leading or trailing `/`, no `//`, and no
 * `*` or `?`. Used by the bucket, the sync and the query layer so that all three agree.
 */
export function checkInventoryPrefix(scope: IConstruct, prop: string, prefix: string | undefined): void {
  if (prefix === undefined || Token.isUnresolved(prefix)) return;
  const problem =
    prefix.length < 1 || prefix.length > 256
      ? 'must be 1 to 256 characters'
      : prefix.startsWith('/') || prefix.endsWith('/')
        ? 'must not start or end with /'
        : prefix.includes('//')
          ? 'must not contain //'
          : /[*?]/.test(prefix)
            ? 'must not contain * or ? (they would act as wildcards in S3 policy resources)'
            : undefined;
  if (problem !== undefined) fail(scope, `\`${prop}\` ${problem}, got: '${prefix}'`);
}
