import { Annotations, CfnElement, Duration, Names, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { AssociationSchedule } from '../common/association-schedule';
import { MaintenanceSchedule } from './maintenance-schedule';
import { MaintenanceWindow } from './maintenance-window';
import { IMaintenanceWindowTask, RunCommandNotificationEvent } from './maintenance-window-task';
import { MaintenanceWindowTarget } from './maintenance-window-target';
import { PatchBaseline } from './patch-baseline';
import { StoppedInstancePatching } from './stopped-instance-patching';
import { acknowledgeNodeOutputPrefix } from '../private/acknowledgements';
import { checkTagKey, checkTagValue, SSM_TAG_PATTERN } from '../private/tags';
import { ensureQuotaGuard } from '../private/quota-guard';
import { checkRateControl, fail } from '../private/validate';

const SHARED_NODE_ROLE_WARNING = 'cdk-ssm-hybrid-fleet:nodeRoleSharedByPatchGroups';

/**
 * Tag key that puts a node in a patch group. Systems Manager accepts exactly these two spellings.
 */
export enum PatchGroupTagKey {
  /** `PatchGroup` (works everywhere, including EC2 instances with tags in instance metadata). */
  PATCH_GROUP = 'PatchGroup',
  /** `Patch Group` (the older spelling; cannot be used on EC2 instances with tags in instance metadata). */
  PATCH_GROUP_WITH_SPACE = 'Patch Group',
}

/**
 * Whether `AWS-RunPatchBaseline` may reboot a node after installing patches.
 */
export enum PatchRebootOption {
  /** Reboot when a patch needs it (the document's default). */
  REBOOT_IF_NEEDED = 'RebootIfNeeded',
  /** Never reboot; patches stay `InstalledPendingReboot` and the node reports non-compliant until it reboots. */
  NO_REBOOT = 'NoReboot',
}

/**
 * What a patch group is, whoever creates it: a `PatchGroup` (`PatchGroupProps`) or a fleet member
 * (`FleetPatchGroupOptions`).
 */
export interface PatchGroupOptions {
  /**
   * The patch group: the value of the patch-group tag on its nodes (1 to 256 characters).
   */
  readonly patchGroupName: string;
  /**
   * The patch-group tag key.
   *
   * @default PatchGroupTagKey.PATCH_GROUP
   */
  readonly tagKey?: PatchGroupTagKey;
  /**
   * Tag key that chooses report or enforce per node.
   *
   * @default 'PatchMode'
   */
  readonly modeTagKey?: string;
  /**
   * Mode tag value that lets the install task patch (and maybe reboot) a node. Any other value, or no mode tag at
   * all, means the node is only scanned.
   *
   * @default 'enforce'
   */
  readonly enforceModeValue?: string;
  /**
   * When every node of the group is scanned (State Manager association; it also runs when it is created and when a
   * node joins the group).
   *
   * @default AssociationSchedule.rate(Duration.days(1))
   */
  readonly scanSchedule?: AssociationSchedule;
  /**
   * Maintenance window in which enforce-mode nodes are patched. Share one window between groups to patch them together.
   *
   * @default - a window of this group: `installSchedule`, `installWindowDuration`
   */
  readonly installWindow?: MaintenanceWindow;
  /**
   * When the group's own install window opens (ignored with `installWindow`), in UTC: the group's own window has no
   * time zone. For local time, create a `MaintenanceWindow` with `scheduleTimezone` (e.g. `Europe/Berlin`) and pass
   * it as `installWindow`.
   *
   * @default MaintenanceSchedule.cron({ weekDay: 'SUN', hour: '3', minute: '0' }) (Sundays 03:00 UTC)
   */
  readonly installSchedule?: MaintenanceSchedule;
  /**
   * Length of the group's own install window (ignored with `installWindow`).
   *
   * A whole number of hours from 1 to 24; the window's cutoff is derived (1 hour, or 0 for a one-hour window).
   *
   * @default Duration.hours(3)
   */
  readonly installWindowDuration?: Duration;
  /**
   * Whether installing may reboot nodes.
   *
   * @default PatchRebootOption.REBOOT_IF_NEEDED
   */
  readonly rebootOption?: PatchRebootOption;
  /**
   * How many nodes are patched at once (a number or a percentage).
   *
   * @default '10%'
   */
  readonly maxConcurrency?: string;
  /**
   * How many failures stop the rollout (a number or a percentage).
   *
   * @default '10%'
   */
  readonly maxErrors?: string;
  /**
   * Send the install task's output to CloudWatch Logs, in this log group.
   *
   * @default - no CloudWatch output
   */
  readonly cloudWatchLogGroup?: logs.ILogGroup;
  /**
   * Also patch the group's **stopped** EC2 enforce-mode instances in the install window: a runbook starts them,
   * updates SSM Agent, installs patches and stops them again (see `StoppedInstancePatching`). Hybrid nodes are not
   * affected.
   *
   * @default false
   */
  readonly patchStoppedInstances?: boolean;
}

/**
 * Properties for a `PatchGroup`.
 */
export interface PatchGroupProps extends PatchGroupOptions {
  /**
   * The baselines of the group, at most one per operating system; the group is registered with each.
   */
  readonly baselines: PatchBaseline[];
  /**
   * Bucket for command output (yours, or a `PatchLogBucket`'s); scan and install write under separate prefixes.
   *
   * @default - no S3 output
   */
  readonly outputBucket?: s3.IBucket;
  /**
   * Key prefix of this group's output; scan output goes under `<prefix>scan/`, install output under `<prefix>install/`.
   *
   * @default 'patching/<patchGroupName>/'
   */
  readonly outputPrefix?: string;
  /**
   * Node roles that write command output (Run Command writes with the node's credentials); they get `s3:PutObject`
   * on this group's prefix only.
   *
   * IAM cannot limit a node to its own group's prefix when several groups share a role (node sessions carry no tags
   * a policy could test): a role listed by two groups gets the warning `cdk-ssm-hybrid-fleet:nodeRoleSharedByPatchGroups`.
   * Use one node role per group to keep their output apart.
   *
   * @default - none; grant the nodes yourself
   */
  readonly nodeRoles?: iam.IRole[];
  /**
   * SNS topic told when the install task fails or times out (per command).
   *
   * @default - no notifications
   */
  readonly failureTopic?: sns.ITopic;
}

/**
 * A Run Command task that runs on a patch group's enforce-mode nodes before or after the install task.
 */
export interface PatchGroupTaskOptions {
  /**
   * Command document to run (name or ARN), e.g. `AWS-RunShellScript` or `AWS-RunPowerShellScript`.
   */
  readonly documentName: string;

  /**
   * Document parameters, e.g. `{ commands: ['systemctl stop app'] }`.
   *
   * @default - none
   */
  readonly parameters?: { [key: string]: string[] };

  /**
   * How long the command may run on each node (30 seconds to 30 days).
   *
   * @default - the document's own timeout
   */
  readonly timeout?: Duration;

  /**
   * Description of the task (1 to 128 characters).
   *
   * @default - none
   */
  readonly description?: string;
}

/**
 * Define a patch group: nodes tagged `<tagKey>=<patchGroupName>` use the group's baselines, are **scanned** on a schedule,
 * and are **patched** in a maintenance window only when their mode tag says enforce.
 *
 * Resources (at most 6 per group, no custom resource): one State Manager association that scans every node of the
 * group (`AWS-RunPatchBaseline`, `Operation=Scan`), plus, unless a shared `installWindow` is given, a maintenance
 * window with its target (patch-group tag AND mode tag = enforce), its install task and the window's service role
 * and policy. A scan association is cheaper than a scan window (one resource instead of three, it reaches new nodes as
 * soon as they join, and it is the only scan source, so compliance data is not overwritten by a second scanner).
 */
export class PatchGroup extends Construct {
  /** The patch group (tag value). */
  public readonly patchGroupName: string;

  /** The patch-group tag key. */
  public readonly tagKey: PatchGroupTagKey;

  /**
   * The id of the scan association (the `AWS::SSM::Association` is the child `Scan`).
   *
   * @attribute
   */
  public readonly scanAssociationId: string;

  /** The install window (the group's own, or the shared one). */
  public readonly installWindow: MaintenanceWindow;

  /** The window target: nodes of the group whose mode tag says enforce. */
  public readonly installTarget: MaintenanceWindowTarget;

  /** The runbook that patches stopped EC2 instances, with `patchStoppedInstances`. */
  public readonly stoppedInstancePatching?: StoppedInstancePatching;

  /** Priority of the install task; pre-install tasks run at a lower number, post-install tasks at a higher one. */
  public static readonly INSTALL_TASK_PRIORITY = 10;

  private readonly maxConcurrency: string;
  private readonly maxErrors: string;
  private readonly outputBucket?: s3.IBucket;
  private readonly outputPrefix: string;
  private readonly nodeRoles: iam.IRole[];
  /** Prefix of the ids this group adds to its install window: unique in the app when the window is shared. */
  private readonly windowIdPrefix: string;

  constructor(scope: Construct, id: string, props: PatchGroupProps) {
    super(scope, id);
    ensureQuotaGuard(this);
    const tagKey = props.tagKey ?? PatchGroupTagKey.PATCH_GROUP;
    // The type allows only the enum, but plain JavaScript (and a cast) can pass any string.
    const tagKeys: string[] = Object.values(PatchGroupTagKey);
    if (!Token.isUnresolved(tagKey) && !tagKeys.includes(tagKey)) {
      fail(this, `\`tagKey\` must be one of ${tagKeys.map((k) => `'${k}'`).join(', ')} (PatchGroupTagKey), got: '${String(tagKey)}'`);
    }
    const modeTagKey = props.modeTagKey ?? 'PatchMode';
    const enforceValue = props.enforceModeValue ?? 'enforce';
    const maxConcurrency = props.maxConcurrency ?? '10%';
    const maxErrors = props.maxErrors ?? '10%';
    const prefix = props.outputPrefix ?? `patching/${props.patchGroupName}/`;

    this.validate(props, modeTagKey, enforceValue, prefix);
    checkRateControl(this, 'maxConcurrency', maxConcurrency, 'concurrency');
    checkRateControl(this, 'maxErrors', maxErrors, 'errors');
    this.patchGroupName = props.patchGroupName;
    this.tagKey = tagKey;
    this.maxConcurrency = maxConcurrency;
    this.maxErrors = maxErrors;
    this.outputBucket = props.outputBucket;
    this.outputPrefix = prefix;
    this.nodeRoles = props.nodeRoles ?? [];
    this.register(props.baselines);

    const scanSchedule = props.scanSchedule ?? AssociationSchedule.rate(Duration.days(1));
    scanSchedule._validate(this, 'scanSchedule');
    const groupTarget = { key: `tag:${tagKey}`, values: [props.patchGroupName] };
    const scanAssociation = new ssm.CfnAssociation(this, 'Scan', {
      name: 'AWS-RunPatchBaseline',
      associationName: sanitizeName(`${Stack.of(this).stackName}-${props.patchGroupName}-scan`),
      targets: [groupTarget],
      parameters: { Operation: ['Scan'] },
      scheduleExpression: scanSchedule.expressionString,
      maxConcurrency,
      maxErrors,
      complianceSeverity: 'UNSPECIFIED',
      syncCompliance: 'AUTO',
      outputLocation: props.outputBucket
        ? { s3Location: { outputS3BucketName: props.outputBucket.bucketName, outputS3KeyPrefix: `${prefix}scan/` } }
        : undefined,
    });
    this.scanAssociationId = scanAssociation.attrAssociationId;

    this.installWindow = props.installWindow ?? new MaintenanceWindow(this, 'InstallWindow', {
      schedule: props.installSchedule ?? MaintenanceSchedule.cron({ weekDay: 'SUN', hour: '3', minute: '0' }),
      duration: props.installWindowDuration ?? Duration.hours(3),
      description: `Installs patches on enforce-mode nodes of patch group ${props.patchGroupName}`,
    });
    // A shared window holds the children of several groups, whose own ids may repeat under different parents.
    this.windowIdPrefix = props.installWindow ? Names.uniqueId(this) : id;
    this.installTarget = this.installWindow.addTarget(`${this.windowIdPrefix}InstallTarget`, {
      tags: { [tagKey]: [props.patchGroupName], [modeTagKey]: [enforceValue] },
      description: `Nodes of patch group ${props.patchGroupName} in ${enforceValue} mode`,
    });
    this.installWindow.addRunCommandTask(`${this.windowIdPrefix}Install`, {
      documentName: 'AWS-RunPatchBaseline',
      targets: [this.installTarget],
      priority: PatchGroup.INSTALL_TASK_PRIORITY,
      parameters: { Operation: ['Install'], RebootOption: [props.rebootOption ?? PatchRebootOption.REBOOT_IF_NEEDED] },
      maxConcurrency,
      maxErrors,
      outputS3Bucket: props.outputBucket,
      outputS3KeyPrefix: props.outputBucket ? `${prefix}install/` : undefined,
      cloudWatchLogGroup: props.cloudWatchLogGroup,
      notificationTopic: props.failureTopic,
      notificationEvents: props.failureTopic ? [RunCommandNotificationEvent.FAILED, RunCommandNotificationEvent.TIMED_OUT] : undefined,
      description: `Install patches for ${props.patchGroupName}`,
    });

    if (props.patchStoppedInstances) {
      this.stoppedInstancePatching = new StoppedInstancePatching(this, 'StoppedInstances', {
        tagKey, tagValue: props.patchGroupName, modeTagKey, modeTagValue: enforceValue,
        rebootOption: props.rebootOption, maxConcurrency, maxErrors,
        maintenanceWindow: this.installWindow, taskPriority: PatchGroup.INSTALL_TASK_PRIORITY + 1,
      });
    }

    if (props.outputBucket && props.nodeRoles && props.nodeRoles.length > 0) {
      this.grantOutputWrite(props.outputBucket, props.nodeRoles, prefix);
    }
  }

  /**
   * Run a command on the group's enforce-mode nodes before patches are installed (e.g. drain a node, take a
   * snapshot), in the install window, with the group's rate control and output settings.
   */
  public addPreInstallTask(id: string, options: PatchGroupTaskOptions): IMaintenanceWindowTask {
    return this.addAroundInstallTask(id, options, PatchGroup.INSTALL_TASK_PRIORITY - 5, 'pre-install');
  }

  /**
   * Run a command on the group's enforce-mode nodes after patches are installed (e.g. a health check, bring the node
   * back into service).
   */
  public addPostInstallTask(id: string, options: PatchGroupTaskOptions): IMaintenanceWindowTask {
    return this.addAroundInstallTask(id, options, PatchGroup.INSTALL_TASK_PRIORITY + 5, 'post-install');
  }

  private addAroundInstallTask(id: string, options: PatchGroupTaskOptions, priority: number, stage: string): IMaintenanceWindowTask {
    return this.installWindow.addRunCommandTask(`${this.windowIdPrefix}${id}`, {
      documentName: options.documentName,
      parameters: options.parameters,
      timeout: options.timeout,
      description: options.description ?? `${stage} task of patch group ${this.patchGroupName}`.slice(0, 128),
      targets: [this.installTarget],
      priority,
      maxConcurrency: this.maxConcurrency,
      maxErrors: this.maxErrors,
      outputS3Bucket: this.outputBucket,
      outputS3KeyPrefix: this.outputBucket ? `${this.outputPrefix}${stage}/` : undefined,
    });
  }

  /**
   * Lets node roles put command output under this group's prefix, and nothing else, through one customer-managed
   * policy of this group (no inline policy is added to the roles).
   */
  private grantOutputWrite(bucket: s3.IBucket, roles: iam.IRole[], prefix: string): void {
    this.warnSharedNodeRoles(roles);
    const policy = new iam.ManagedPolicy(this, 'OutputWritePolicy', {
      description: `Lets nodes of patch group ${this.patchGroupName} write patch command output under ${prefix}`,
      roles,
      statements: [new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [bucket.arnForObjects(`${prefix}*`)] })],
    });
    if (bucket.encryptionKey) {
      policy.addStatements(new iam.PolicyStatement({ actions: ['kms:GenerateDataKey', 'kms:Encrypt'], resources: [bucket.encryptionKey.keyArn] }));
    }
    const stack = Stack.of(this);
    const bucketResource = Construct.isConstruct(bucket) ? bucket.node.defaultChild : undefined;
    if (bucketResource) {
      const bucketLogicalId = stack.resolve(stack.getLogicalId(bucketResource as CfnElement)) as string;
      acknowledgeNodeOutputPrefix(policy, `<${bucketLogicalId}.Arn>/${prefix}*`);
    }
  }

  /**
   * IAM cannot tie a node's S3 writes to its patch group: hybrid node sessions carry no session tags
   * (`aws:PrincipalTag`), and `s3:PutObject` has no condition key for the calling node's tags. A role shared by
   * several groups can so write every one of their prefixes; only one node role per group keeps groups apart.
   */
  private warnSharedNodeRoles(roles: iam.IRole[]): void {
    // The app's tree is the record of which groups hold a role (a role is a construct of one app): no module state.
    const others = this.node.root.node
      .findAll()
      .filter((c): c is PatchGroup => c !== this && c instanceof PatchGroup && c.outputBucket !== undefined);
    for (const role of roles) {
      const groups = others.filter((group) => group.nodeRoles.includes(role)).map((group) => group.node.path);
      if (groups.length > 0) {
        Annotations.of(this).addWarningV2(
          SHARED_NODE_ROLE_WARNING,
          `The node role ${role.node.path} is also in \`nodeRoles\` of ${groups.join(', ')}: its nodes can write the output prefix of each of these patch groups (IAM cannot tell a node's group apart). Give each group its own node role (one activation API per group) to keep their output apart`,
        );
      }
    }
  }

  private validate(props: PatchGroupProps, modeTagKey: string, enforceValue: string, prefix: string): void {
    const name = props.patchGroupName;
    if (!Token.isUnresolved(name) && (name.length < 1 || name.length > 256 || !SSM_TAG_PATTERN.test(name))) {
      fail(this, `\`patchGroupName\` must be 1 to 256 letters, numbers, spaces or _ . : / = + - @, got: '${name}'`);
    }
    if (props.baselines.length === 0) {
      fail(this, '`baselines` must list at least one patch baseline (one per operating system), got: []');
    }
    checkTagKey(this, 'modeTagKey', modeTagKey);
    if (modeTagKey === PatchGroupTagKey.PATCH_GROUP || modeTagKey === PatchGroupTagKey.PATCH_GROUP_WITH_SPACE) {
      fail(this, `\`modeTagKey\` must differ from the patch-group tag keys, got: '${modeTagKey}'`);
    }
    checkTagValue(this, 'enforceModeValue', modeTagKey, enforceValue);
    if (!Token.isUnresolved(enforceValue) && enforceValue.length === 0) {
      fail(this, '`enforceModeValue` must not be empty, got: \'\'');
    }
    if (!Token.isUnresolved(prefix) && prefix.length + 'install/'.length > 500) {
      fail(this, `\`outputPrefix\` must leave room for 'install/' within 500 characters, got ${prefix.length} characters`);
    }
    if (props.nodeRoles && props.nodeRoles.length > 0 && !props.outputBucket) {
      fail(this, '`nodeRoles` only get write access to `outputBucket`; set `outputBucket` or drop `nodeRoles`, got: no outputBucket');
    }
    if (props.installWindow && (props.installSchedule || props.installWindowDuration)) {
      fail(this, '`installSchedule` and `installWindowDuration` describe the group\'s own window; with a shared `installWindow` set them on that window, got: both');
    }
  }

  /**
   * Registers the group with each baseline (one per operating system). The baselines themselves refuse a group that
   * another baseline of the same operating system in the stack already has.
   */
  private register(baselines: PatchBaseline[]): void {
    const byOs = new Map<string, PatchBaseline>();
    for (const baseline of baselines) {
      const os = baseline.operatingSystem.value;
      const existing = byOs.get(os);
      if (existing === baseline) continue;
      if (existing) {
        fail(
          this,
          `\`baselines\` may hold one baseline per operating system for patch group '${this.patchGroupName}': ${baseline.node.path} and ${existing.node.path} are both ${os}`,
        );
      }
      byOs.set(os, baseline);
      baseline.addPatchGroup(this.patchGroupName);
    }
  }
}

function sanitizeName(name: string): string {
  const cleaned = name.replace(/[^a-zA-Z0-9_\-.]/g, '-').slice(0, 128);
  return cleaned.length >= 3 ? cleaned : `${cleaned}---`.slice(0, 3);
}
