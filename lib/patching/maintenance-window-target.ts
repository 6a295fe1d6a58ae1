import { Token } from 'aws-cdk-lib';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import type { IMaintenanceWindow } from './maintenance-window';
import { checkDescription, checkName } from './private/maintenance-window-checks';
import { checkTagKey, checkTagValue } from '../private/tags';
import { ensureQuotaGuard } from '../private/quota-guard';
import { checkResourceGroupName, fail } from '../private/validate';

const INSTANCE_ID_PATTERN = /^(i-[0-9a-f]{8}([0-9a-f]{9})?|mi-[0-9a-f]{17})$/;

/**
 * Which nodes a maintenance window target selects, and how it is described.
 *
 * Set exactly one of `tags`, `resourceGroupName` and `instanceIds`.
 */
export interface MaintenanceWindowTargetOptions {
  /**
   * Select managed nodes (EC2 instances and hybrid `mi-` nodes) by tags: tag key → accepted values.
   *
   * At most 5 keys; a node must match all of them (AND), and any one of the values of each key. Keys must not
   * contain `+` (Systems Manager targets cannot select such keys) and must not start with `aws:`.
   *
   * @default - not selected by tags
   */
  readonly tags?: { [key: string]: string[] };

  /**
   * Select the nodes in this AWS Resource Groups group (by name).
   *
   * A task that runs on such a target also lets the window's service role list the group's resources.
   *
   * @default - not selected by resource group
   */
  readonly resourceGroupName?: string;

  /**
   * Select these nodes by id (`i-…` EC2 instances or `mi-…` hybrid nodes), at most 50.
   *
   * @default - not selected by id
   */
  readonly instanceIds?: string[];

  /**
   * Name of the target.
   *
   * 3–128 letters, digits, `_`, `-` and `.`.
   *
   * @default - no name
   */
  readonly name?: string;

  /**
   * Description of the target (1–128 characters).
   *
   * @default - no description
   */
  readonly description?: string;

  /**
   * Text included in the EventBridge events of tasks that run on this target (1–128 characters).
   *
   * @default - none
   */
  readonly ownerInformation?: string;
}

/**
 * Properties of a `MaintenanceWindowTarget`.
 */
export interface MaintenanceWindowTargetProps extends MaintenanceWindowTargetOptions {
  /**
   * The window to register the target with.
   */
  readonly maintenanceWindow: IMaintenanceWindow;
}

/**
 * Define a set of managed nodes registered with a maintenance window (by tags, resource group or node ids).
 *
 * Usually created with `MaintenanceWindow.addTarget`; tasks of the window run on the targets they are given.
 *
 * @resource AWS::SSM::MaintenanceWindowTarget
 */
export class MaintenanceWindowTarget extends Construct {
  /**
   * The id of the window target (a UUID).
   *
   * @attribute
   */
  public readonly maintenanceWindowTargetId: string;

  /**
   * The window the target is registered with.
   */
  public readonly maintenanceWindow: IMaintenanceWindow;

  /**
   * The resource group the target selects, if it selects one.
   */
  public readonly resourceGroupName?: string;

  /**
   * The tags the target selects by (tag key → accepted values), if it selects by tags.
   */
  public readonly tags?: { [key: string]: string[] };

  /**
   * The node ids the target selects, if it selects by id.
   */
  public readonly instanceIds?: string[];

  constructor(scope: Construct, id: string, props: MaintenanceWindowTargetProps) {
    super(scope, id);
    ensureQuotaGuard(this);
    this.validate(props);
    this.maintenanceWindow = props.maintenanceWindow;
    this.resourceGroupName = props.resourceGroupName;
    this.tags = props.tags;
    this.instanceIds = props.instanceIds;

    const resource = new ssm.CfnMaintenanceWindowTarget(this, 'Resource', {
      windowId: props.maintenanceWindow.maintenanceWindowId,
      resourceType: props.resourceGroupName !== undefined ? 'RESOURCE_GROUP' : 'INSTANCE',
      targets: this.renderTargets(props),
      name: props.name,
      description: props.description,
      ownerInformation: props.ownerInformation,
    });
    this.maintenanceWindowTargetId = resource.ref;
  }

  private renderTargets(props: MaintenanceWindowTargetOptions): ssm.CfnMaintenanceWindowTarget.TargetsProperty[] {
    if (props.tags !== undefined) {
      return Object.entries(props.tags).map(([key, values]) => ({ key: `tag:${key}`, values }));
    }
    if (props.resourceGroupName !== undefined) {
      return [{ key: 'resource-groups:Name', values: [props.resourceGroupName] }];
    }
    return [{ key: 'InstanceIds', values: props.instanceIds ?? [] }];
  }

  private validate(props: MaintenanceWindowTargetProps): void {
    const given = [
      props.tags !== undefined ? 'tags' : undefined,
      props.resourceGroupName !== undefined ? 'resourceGroupName' : undefined,
      props.instanceIds !== undefined ? 'instanceIds' : undefined,
    ].filter((p): p is string => p !== undefined);
    if (given.length !== 1) {
      fail(
        this,
        '`tags`, `resourceGroupName` and `instanceIds` must be given exactly one at a time, got: ' +
          (given.length === 0 ? 'none' : given.join(', ')),
      );
    }
    if (props.tags !== undefined) this.validateTags(props.tags);
    checkResourceGroupName(this, 'resourceGroupName', props.resourceGroupName);
    if (props.instanceIds !== undefined && !Token.isUnresolved(props.instanceIds)) {
      if (props.instanceIds.length < 1 || props.instanceIds.length > 50) {
        fail(this, `\`instanceIds\` must list 1 to 50 node ids, got: ${props.instanceIds.length}`);
      }
      for (const instanceId of props.instanceIds) {
        if (!Token.isUnresolved(instanceId) && !INSTANCE_ID_PATTERN.test(instanceId)) {
          fail(this, `\`instanceIds\` entries must be EC2 instance ids (i-…) or hybrid node ids (mi-…), got: '${instanceId}'`);
        }
      }
    }
    checkName(this, 'name', props.name);
    checkDescription(this, 'description', props.description);
    if (props.ownerInformation !== undefined && !Token.isUnresolved(props.ownerInformation)) {
      if (props.ownerInformation.length < 1 || props.ownerInformation.length > 128) {
        fail(this, `\`ownerInformation\` must be 1 to 128 characters long, got: ${props.ownerInformation.length} characters`);
      }
    }
  }

  private validateTags(tags: { [key: string]: string[] }): void {
    const keys = Object.keys(tags);
    if (keys.length < 1 || keys.length > 5) {
      fail(this, `\`tags\` must have 1 to 5 keys (a node must match all of them), got: ${keys.length}`);
    }
    for (const key of keys) {
      checkTagKey(this, 'tags', key);
      const values = tags[key];
      if (Token.isUnresolved(values)) continue;
      if (values.length < 1 || values.length > 50) {
        fail(this, `\`tags\` must list 1 to 50 values for each key, got: ${values.length} for key '${key}'`);
      }
      for (const value of values) checkTagValue(this, 'tags', key, value);
    }
  }
}
