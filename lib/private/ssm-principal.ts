import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { IConstruct } from 'constructs';

/** The Systems Manager service principal. */
export const SSM_SERVICE = 'ssm.amazonaws.com';

/**
 * `ssm.amazonaws.com`, limited to this account and region with `aws:SourceAccount` / `aws:SourceArn` (the
 * confused-deputy guard AWS recommends for roles Systems Manager assumes).
 */
export function ssmPrincipal(scope: IConstruct): iam.IPrincipal {
  const stack = Stack.of(scope);
  return new iam.ServicePrincipal(SSM_SERVICE).withConditions({
    StringEquals: { 'aws:SourceAccount': stack.account },
    ArnLike: {
      'aws:SourceArn': stack.formatArn({ service: 'ssm', resource: '*', arnFormat: ArnFormat.NO_RESOURCE_NAME }),
    },
  });
}
