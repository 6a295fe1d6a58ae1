import * as iam from 'aws-cdk-lib/aws-iam';

/**
 * The role that Systems Manager assumes to run a maintenance window's tasks.
 */
export class MaintenanceWindowRole {
  /**
   * A role created once per window, trusted by `ssm.amazonaws.com` (`aws:SourceAccount` checked when the service
   * sends it; no `aws:SourceArn`, which AWS does not document for maintenance-window roles), that holds exactly what
   * the window's registered tasks need.
   *
   * Run Command tasks: `ssm:SendCommand` on their documents, their output buckets and the nodes of their targets
   * (EC2 instances and hybrid managed instances; for tag targets only nodes whose `ssm:resourceTag/<key>` matches the
   * target's values, for id targets only those nodes, for resource-group targets any node), and the command
   * read/cancel actions. Automation tasks: starting their
   * runbooks and reading/stopping executions. Lambda tasks: `lambda:InvokeFunction` on their functions. Resource-group
   * targets: listing the group's resources. `iam:PassRole` (to `ssm.amazonaws.com` only) on the SNS notification
   * roles and Automation assume roles the tasks pass. Output written to S3 or CloudWatch Logs by Run Command comes
   * from the node's own credentials, so the window role gets no write access to them.
   */
  public static leastPrivilege(): MaintenanceWindowRole {
    return new MaintenanceWindowRole('LEAST_PRIVILEGE');
  }

  /**
   * The service-linked role `AWSServiceRoleForAmazonSSM` (created by Systems Manager if missing): tasks are
   * registered without a service role.
   *
   * Its permissions are broad and cannot be narrowed; prefer `leastPrivilege()`.
   */
  public static serviceLinked(): MaintenanceWindowRole {
    return new MaintenanceWindowRole('SERVICE_LINKED');
  }

  /**
   * A role of your own. It must trust `ssm.amazonaws.com`.
   *
   * The window adds the statements its tasks need to this role's policy, as `leastPrivilege()` does (a no-op for an
   * imported, immutable role). The cdk-nag findings of those statements are not acknowledged on your role.
   */
  public static fromRole(role: iam.IRole): MaintenanceWindowRole {
    return new MaintenanceWindowRole('CUSTOM', role);
  }

  private constructor(
    /** @internal */ public readonly _kind: string,
    /** @internal */ public readonly _role?: iam.IRole,
  ) {}
}
