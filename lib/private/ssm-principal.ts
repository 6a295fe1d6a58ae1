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

/**
 * `ssm.amazonaws.com` for the roles a maintenance window assumes (its service role and the Run Command notification
 * role), with only a guard that can never lock Systems Manager out.
 *
 * AWS documents `aws:SourceArn` / `aws:SourceAccount` for the hybrid-activation service role
 * (https://docs.aws.amazon.com/systems-manager/latest/userguide/cross-service-confused-deputy-prevention.html), but
 * not for maintenance-window roles, whose documented trust policy carries no condition
 * (https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-maintenance-perm-ps.html). A condition the
 * service does not satisfy makes every task fail to assume the role, so `aws:SourceArn` is left out. `aws:SourceAccount`
 * (a documented global key, https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-sourceaccount)
 * is checked with `StringEqualsIfExists`: it must be this account when the service sends it, and is not required
 * when it does not. Another account cannot pass this role to its own window anyway (`iam:PassRole` is same-account).
 */
export function maintenanceWindowPrincipal(scope: IConstruct): iam.IPrincipal {
  return new iam.ServicePrincipal(SSM_SERVICE).withConditions({
    StringEqualsIfExists: { 'aws:SourceAccount': Stack.of(scope).account },
  });
}
