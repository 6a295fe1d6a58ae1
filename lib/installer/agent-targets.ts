import { IConstruct } from 'constructs';
import { InventoryTargets } from '../inventory/inventory-collection';

/**
 * Which managed nodes one rollout stage of an `AgentInstaller` reaches.
 *
 * The targets are checked by the installer that uses them (errors name its `stages` prop).
 */
export class AgentTargets {
  /**
   * Every managed node in the account and Region (`InstanceIds=*`), EC2 instances and hybrid `mi-` nodes alike,
   * including nodes that register later.
   */
  public static allNodes(): AgentTargets {
    return new AgentTargets(InventoryTargets.allNodes());
  }

  /**
   * Nodes by tag: tag key → accepted values (a node matches a key with any one of its values), e.g.
   * `{ Ring: ['canary'] }`. Each key becomes one `tag:<key>` target: at most 5 keys, 1 to 50 values each.
   */
  public static tags(tags: { [key: string]: string[] }): AgentTargets {
    return new AgentTargets(InventoryTargets.tags(tags));
  }

  /**
   * The nodes in an AWS Resource Groups group, by name (`resource-groups:Name`).
   */
  public static resourceGroup(name: string): AgentTargets {
    return new AgentTargets(InventoryTargets.resourceGroup(name));
  }

  /** Whether these targets reach every managed node (`InstanceIds=*`). */
  public readonly isAllNodes: boolean;

  /** A short description, e.g. `all nodes`, `tag Ring=canary` or `resource group web`. */
  public readonly description: string;

  /** @internal */
  public readonly _inner: InventoryTargets;

  private constructor(inner: InventoryTargets) {
    this._inner = inner;
    this.isAllNodes = inner.isAllNodes;
    this.description = inner.description;
  }

  /**
   * Throws, naming `prop` and the construct path, when the targets break a rule.
   *
   * @internal
   */
  public _validate(scope: IConstruct, prop: string): void {
    this._inner._validate(scope, prop);
  }

  /**
   * Why these targets may reach a node that `other` reaches too, or undefined when they cannot be shown to.
   *
   * @internal
   */
  public _overlap(other: AgentTargets): string | undefined {
    const a = this._inner;
    const b = other._inner;
    if (a.isAllNodes || b.isAllNodes) return 'one of them targets all nodes';
    if (a._resourceGroup !== undefined && a._resourceGroup === b._resourceGroup) return `both target resource group ${a._resourceGroup}`;
    for (const [key, values] of Object.entries(a._tags ?? {})) {
      const shared = values.find((value) => b._tags?.[key]?.includes(value));
      if (shared !== undefined) return `both target tag ${key}=${shared}`;
    }
    return undefined;
  }
}
