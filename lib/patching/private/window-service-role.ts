import { Lazy, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import {
  acknowledgeMaintenanceWindowRoleFindings,
  acknowledgeMaintenanceWindowWildcard,
  acknowledgeNotificationRoleFindings,
} from '../../private/acknowledgements';
import { maintenanceWindowPrincipal, SSM_SERVICE } from '../../private/ssm-principal';
import type { MaintenanceWindowRole } from '../maintenance-window-role';
import type { MaintenanceWindowTarget } from '../maintenance-window-target';

/**
 * The roles of one maintenance window and the statements its tasks add to the service role: one statement per kind
 * of access, whose resources grow as tasks are registered.
 */
export class WindowServiceRole {
  private createdServiceRole?: iam.Role;
  private createdNotificationRole?: iam.Role;
  private readonly grants = new Map<string, { statement: iam.PolicyStatement; resources: Set<string> }>();
  private readonly taggedNodeValues = new Map<string, Map<string, Set<string>>>();

  constructor(
    private readonly window: Construct,
    private readonly choice: MaintenanceWindowRole,
  ) {}

  /** The role you gave, the least-privilege role once created, or undefined with the service-linked role. */
  public get role(): iam.IRole | undefined {
    return this.choice._role ?? this.createdServiceRole;
  }

  /** The role the tasks run with, creating the least-privilege role on first use. */
  public ensure(): iam.IRole | undefined {
    if (this.choice._kind !== 'LEAST_PRIVILEGE') return this.choice._role;
    if (!this.createdServiceRole) {
      this.createdServiceRole = new iam.Role(this.window, 'ServiceRole', {
        description: `Runs the tasks of the maintenance window ${this.window.node.path}`,
        assumedBy: maintenanceWindowPrincipal(this.window),
      });
      acknowledgeMaintenanceWindowRoleFindings(this.createdServiceRole);
    }
    return this.createdServiceRole;
  }

  /** The window's Run Command notification role, created on first use. */
  public ensureNotificationRole(): iam.IRole {
    if (!this.createdNotificationRole) {
      this.createdNotificationRole = new iam.Role(this.window, 'NotificationRole', {
        description: `Lets Systems Manager publish the Run Command notifications of the maintenance window ${this.window.node.path}`,
        assumedBy: maintenanceWindowPrincipal(this.window),
      });
      acknowledgeNotificationRoleFindings(this.createdNotificationRole);
    }
    return this.createdNotificationRole;
  }

  /** Acknowledges a wildcard on the role, when the library created it (never on a role of the user's). */
  public acknowledgeWildcard(
    topic: 'anyCommand' | 'anyNode' | 'automationExecutions' | 'automationVersions',
    resolvedResource?: unknown,
  ): void {
    if (this.createdServiceRole) acknowledgeMaintenanceWindowWildcard(this.createdServiceRole, topic, resolvedResource);
  }

  /** Lets the role list the resources of a resource group a target selects. */
  public grantResourceGroup(groupName: string): void {
    this.ensure();
    const stack = Stack.of(this.window);
    this.grant('ResourceGroups', ['resource-groups:ListGroupResources'], [
      stack.formatArn({ service: 'resource-groups', resource: 'group', resourceName: groupName }),
    ]);
    this.grant('TagResources', ['tag:GetResources'], ['*']);
    this.acknowledgeWildcard('anyCommand');
  }

  /**
   * Lets the service role send commands to the nodes of the targets, and no others where IAM can say so: a tag target
   * allows the node ARNs (`instance/*`, `managed-instance/*`) only with `ssm:resourceTag/<key>` = one of the target's
   * values for each of its keys (the condition key SendCommand takes on both node types,
   * https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssystemsmanager.html), merged with the
   * other tag targets of the window that have the same keys; an id target allows its nodes' ARNs. A resource-group
   * target, or one given as tokens, allows every node. Returns whether a wildcard node ARN was granted.
   */
  public grantSendCommandToTargets(targets: MaintenanceWindowTarget[]): boolean {
    const stack = Stack.of(this.window);
    const anyNodeArns = [
      stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: '*' }),
      stack.formatArn({ service: 'ssm', resource: 'managed-instance', resourceName: '*' }),
    ];
    if (Token.isUnresolved(targets)) {
      this.grant('SendCommand', ['ssm:SendCommand'], anyNodeArns);
      return true;
    }
    let wildcard = false;
    for (const target of targets) {
      const tags = target.tags;
      const ids = target.instanceIds;
      if (tags !== undefined && !Token.isUnresolved(tags) && Object.entries(tags).every(([k, v]) => !Token.isUnresolved(k) && !Token.isUnresolved(v))) {
        this.grantTaggedNodes(Object.keys(tags).sort(), tags, anyNodeArns);
        wildcard = true;
      } else if (ids !== undefined && !Token.isUnresolved(ids) && ids.every((id) => !Token.isUnresolved(id))) {
        this.grant('SendCommandNodes', ['ssm:SendCommand'], ids.map((id) => id.startsWith('mi-')
          ? stack.formatArn({ service: 'ssm', resource: 'managed-instance', resourceName: id })
          : stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: id })));
      } else {
        this.grant('SendCommand', ['ssm:SendCommand'], anyNodeArns);
        wildcard = true;
      }
    }
    return wildcard;
  }

  /** Lets the role pass `role` to Systems Manager (and nothing else). */
  public grantPassRole(role: iam.IRole): void {
    this.grant('PassRole', ['iam:PassRole'], [role.roleArn], { StringEquals: { 'iam:PassedToService': SSM_SERVICE } });
  }

  /** Adds resources to the statement kept under `key` on the service role (a no-op with the service-linked role). */
  public grant(key: string, actions: string[], resources: string[], conditions?: { [key: string]: unknown }): void {
    const role = this.role;
    if (!role) return;
    const stack = Stack.of(this.window);
    let entry = this.grants.get(key);
    const added = entry === undefined;
    if (!entry) {
      entry = { statement: new iam.PolicyStatement({ actions, conditions }), resources: new Set() };
      this.grants.set(key, entry);
    }
    for (const resource of resources) {
      const id = JSON.stringify(stack.resolve(resource));
      if (entry.resources.has(id)) continue;
      entry.resources.add(id);
      entry.statement.addResources(resource);
    }
    if (added) role.addToPrincipalPolicy(entry.statement);
  }

  /** One statement per set of tag keys; each key's accepted values grow as targets with the same keys are added. */
  private grantTaggedNodes(keys: string[], tags: { [key: string]: string[] }, nodeArns: string[]): void {
    const grantKey = `SendCommandTagged:${JSON.stringify(keys)}`;
    let values = this.taggedNodeValues.get(grantKey);
    if (!values) {
      const byKey = new Map(keys.map((key) => [key, new Set<string>()]));
      values = byKey;
      this.taggedNodeValues.set(grantKey, byKey);
      const condition: { [key: string]: string[] } = {};
      for (const key of keys) {
        condition[`ssm:resourceTag/${key}`] = Lazy.list({ produce: () => [...byKey.get(key)!] });
      }
      this.grant(grantKey, ['ssm:SendCommand'], nodeArns, { StringEquals: condition });
    }
    for (const key of keys) for (const value of tags[key]) values.get(key)!.add(value);
  }
}
