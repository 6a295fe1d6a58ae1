import { Token } from 'aws-cdk-lib';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { FleetObservabilityLink } from './fleet-observability-link';
import { HybridFleetCentralReference } from './hybrid-fleet-central-reference';
import { checkCentralReference } from './private/central-checks';
import { regionalValue } from './private/regional-value';
import { HybridActivationApi, HybridActivationApiProps } from '../activation/hybrid-activation-api';
import { ComplianceMetrics } from '../compliance/compliance-metrics';
import { ComplianceTopic } from '../compliance/compliance-topic';
import { FleetCompliance, FleetComplianceProps } from '../compliance/fleet-compliance';
import { AgentInstaller, AgentInstallerProps } from '../installer/agent-installer';
import { InventoryCollection, InventoryCollectionProps } from '../inventory/inventory-collection';
import { InventoryDataSync } from '../inventory/inventory-data-sync';
import { PatchOperatingSystem } from '../patching/operating-system';
import { PatchBaseline } from '../patching/patch-baseline';
import { PatchGroup, PatchGroupOptions, PatchGroupTagKey } from '../patching/patch-group';
import { PatchLogBucket } from '../patching/patch-log-bucket';
import { checkIntegerRange, fail } from '../private/validate';

/**
 * The activation API of a fleet member: every `HybridActivationApi` prop, plus whether there is one.
 */
export interface FleetActivationOptions extends HybridActivationApiProps {
  /**
   * Whether the member deploys an activation API (the machines of this account and Region boot through it).
   *
   * Turn it off where no machine registers (e.g. a StackSet rolled out to a whole organizational unit). `instanceRole`
   * still applies then: it is the node role that patch groups and agent installers grant.
   *
   * @default true
   */
  readonly enabled?: boolean;
}

/**
 * One patch group of a fleet member: a `PatchGroup` on the fleet's baselines, writing its command output to the
 * fleet's log bucket and its failures to the fleet's topic.
 */
export interface FleetPatchGroupOptions extends PatchGroupOptions {
  /**
   * The baselines of the group, at most one per operating system.
   *
   * @default - the fleet's baselines (`FleetPatchingOptions.operatingSystems`)
   */
  readonly baselines?: PatchBaseline[];
}

/**
 * Patching of a fleet member: baselines shared by the patch groups, one log bucket.
 */
export interface FleetPatchingOptions {
  /**
   * Whether the member patches.
   *
   * @default true
   */
  readonly enabled?: boolean;

  /**
   * The patch groups.
   *
   * @default - one group `HybridFleetMember.DEFAULT_PATCH_GROUP` (`hybrid-fleet`): every node is scanned, and
   * patched on Sundays 03:00 UTC only once tagged `PatchMode=enforce`
   */
  readonly groups?: FleetPatchGroupOptions[];

  /**
   * The operating systems the fleet's baselines cover: one baseline each that approves critical and security updates
   * (`PatchBaseline.criticalAndSecurityUpdates`), shared by every group that does not bring its own. A node of another
   * operating system is patched with the account's default baseline for it. The account's default baselines are never
   * changed.
   *
   * @default - Amazon Linux 2023, Amazon Linux 2, Ubuntu, Red Hat Enterprise Linux and Windows
   */
  readonly operatingSystems?: PatchOperatingSystem[];

  /**
   * Days after release before the baselines approve a patch, where the operating system supports a delay
   * (0 to 360).
   *
   * @default 7
   */
  readonly approveAfterDays?: number;
}

/**
 * Inventory of a fleet member: collection (opt-in) and the sync to the central or an own bucket.
 */
export interface FleetInventoryOptions {
  /**
   * Whether the member collects inventory (an `InventoryCollection`: `AWS-GatherSoftwareInventory` on every node).
   *
   * Opt-in: a node with two inventory associations runs neither, and Quick Setup, Amazon Inspector or another stack
   * may already collect in the account and Region; the sync ships whatever is collected, whoever collects it.
   *
   * @default - true when `collection` is given, else false
   */
  readonly collect?: boolean;

  /**
   * Properties of the collection.
   *
   * @default - the `InventoryCollection` defaults (every node, every 30 minutes)
   */
  readonly collection?: InventoryCollectionProps;

  /**
   * Whether the member syncs its inventory (an `InventoryDataSync`): to the central bucket with `central`, else to
   * an `InventoryBucket` of its own.
   *
   * @default true
   */
  readonly sync?: boolean;
}

/**
 * The parts of a fleet member, each with its own props or turned off (`HybridFleetMemberProps`, `HybridFleetProps`).
 */
export interface HybridFleetMemberOptions {
  /**
   * The activation API.
   *
   * @default - an activation API whose new nodes join the first patch group in report mode
   */
  readonly activation?: FleetActivationOptions;

  /**
   * Patching.
   *
   * @default - one report-mode patch group over critical and security baselines
   */
  readonly patching?: FleetPatchingOptions;

  /**
   * Inventory.
   *
   * @default - no collection; a sync of what is collected
   */
  readonly inventory?: FleetInventoryOptions;

  /**
   * Compliance rules (`FleetCompliance`); its notifications go to the fleet's topic unless it names its own.
   *
   * @default - none: AWS Config rules need an explicit recorder choice (`ConfigRecorderChoice`)
   */
  readonly compliance?: FleetComplianceProps;

  /**
   * Agent installers; the fleet adds its node role to their `nodeRoles` and, unless they name their own, gives them
   * the fleet's log bucket and topic.
   *
   * @default - none
   */
  readonly agentInstallers?: AgentInstallerProps[];

  /**
   * Publish the fleet's compliance metrics here (a `ComplianceMetrics`: a scheduled function, namespace
   * `HybridFleet/Compliance`), for a central `ComplianceDashboard` that reads them through the OAM link. It reads the
   * first patch group's tag keys and mode values, and covers `Custom:<agentName>` of each installer.
   *
   * @default true
   */
  readonly complianceMetrics?: boolean;

  /**
   * Bucket for the command output of the patch groups (under `patching/<group>/`) and the agent installers.
   *
   * @default - a new `PatchLogBucket`
   */
  readonly logBucket?: s3.IBucket;
}

/**
 * Properties for a `HybridFleetMember`.
 */
export interface HybridFleetMemberProps extends HybridFleetMemberOptions {
  /**
   * The fleet's central account: inventory syncs to its bucket; the compliance rules' and installers' alert events
   * are also forwarded, unformatted, to its alert bus (`alertBusArn`, through a role that may only `events:PutEvents`
   * there); metrics are shared with its OAM sink of this Region.
   *
   * @default - standalone: an inventory bucket and a topic of this member
   */
  readonly central?: HybridFleetCentralReference;

  /**
   * Share this account's metrics in this Region with the central account's OAM sink of this Region (an
   * `AWS::Oam::Link`), when `central.observabilitySinkArns` has one. In a stack whose Region is known only at deploy
   * time (a StackSet template), the sink is looked up by `AWS::Region` in a mapping, and a Region without a sink gets
   * no link.
   *
   * @default true
   */
  readonly observability?: boolean;

  /**
   * Topic that alarms, patch install failures, compliance notifications and installer failures go to.
   *
   * @default - a new `ComplianceTopic` (encrypted with a customer-managed key EventBridge may use, TLS only)
   */
  readonly notificationTopic?: sns.ITopic;
}

const DEFAULT_OPERATING_SYSTEMS = [
  PatchOperatingSystem.AMAZON_LINUX_2023,
  PatchOperatingSystem.AMAZON_LINUX_2,
  PatchOperatingSystem.UBUNTU,
  PatchOperatingSystem.REDHAT_ENTERPRISE_LINUX,
  PatchOperatingSystem.WINDOWS,
];

/**
 * The part of a hybrid fleet that runs in every member account and Region: the activation API where machines boot,
 * patch groups on shared baselines, inventory collection (opt-in) and its sync, compliance rules (opt-in), agent
 * installers and the compliance metrics. The parts share one node role (the activation API's), one log bucket and one
 * topic. With `central`, inventory syncs to the central bucket, alerts are also forwarded to the central bus and
 * metrics are linked to the central sink of this Region; without, the member stands alone (its own inventory bucket).
 *
 * No account singleton is touched unless asked: the default patch baselines stay as they are, inventory is collected
 * only with `inventory.collect`, and AWS Config rules come only with `compliance` and its recorder choice.
 */
export class HybridFleetMember extends Construct {
  /** The patch group of the default `patching.groups`. */
  public static readonly DEFAULT_PATCH_GROUP = 'hybrid-fleet';

  /** The activation API, unless `activation.enabled` is false. */
  public readonly activationApi?: HybridActivationApi;

  /** The node role the parts grant (the activation API's instance role, or `activation.instanceRole`). */
  public readonly instanceRole?: iam.IRole;

  /** The fleet's baselines (one per operating system of `patching.operatingSystems`). */
  public readonly baselines: PatchBaseline[];

  /** The patch groups. */
  public readonly patchGroups: PatchGroup[];

  /** The inventory collection, with `inventory.collect`. */
  public readonly inventoryCollection?: InventoryCollection;

  /** The inventory sync, unless `inventory.sync` is false. */
  public readonly inventorySync?: InventoryDataSync;

  /** The compliance rules, with `compliance`. */
  public readonly compliance?: FleetCompliance;

  /** The agent installers, in the order of `agentInstallers`. */
  public readonly agentInstallers: AgentInstaller[];

  /** The central account's alert bus the compliance rules and installers forward their alerts to, with `central.alertBusArn`. */
  public readonly alertBus?: events.IEventBus;

  /** The compliance metrics publisher, unless `complianceMetrics` is false. */
  public readonly complianceMetrics?: ComplianceMetrics;

  /** The OAM link to the central sink of this Region, when there is one. */
  public readonly observabilityLink?: FleetObservabilityLink;

  private _topic?: sns.ITopic;
  private _logBucket?: s3.IBucket;

  constructor(scope: Construct, id: string, props: HybridFleetMemberProps = {}) {
    super(scope, id);
    if (props.central) checkCentralReference(this, props.central);
    this._topic = props.notificationTopic;
    this._logBucket = props.logBucket;

    const { enabled: activationEnabled = true, ...activationProps } = props.activation ?? {};
    const { enabled: patchingEnabled = true, groups: givenGroups, operatingSystems, approveAfterDays } = props.patching ?? {};
    const groups = patchingEnabled ? givenGroups ?? [{ patchGroupName: HybridFleetMember.DEFAULT_PATCH_GROUP }] : [];
    this.validate(props, activationEnabled, patchingEnabled, groups);

    if (activationEnabled) {
      this.activationApi = new HybridActivationApi(this, 'Activation', {
        ...activationProps,
        defaultTags: activationProps.defaultTags ?? reportModeTags(groups[0]),
        alarmAction: activationProps.alarmAction ?? new cwActions.SnsAction(this.topic),
      });
    }
    this.instanceRole = this.activationApi?.instanceRole ?? activationProps.instanceRole;
    const nodeRoles = this.instanceRole ? [this.instanceRole] : [];

    this.baselines = groups.some((g) => g.baselines === undefined)
      ? (operatingSystems ?? DEFAULT_OPERATING_SYSTEMS).map((os) => PatchBaseline.criticalAndSecurityUpdates(this, `Baseline-${os.value}`, {
        operatingSystem: os,
        approveAfterDays: os.supportsApprovalDelays ? approveAfterDays ?? 7 : undefined,
      }))
      : [];
    this.patchGroups = groups.map((group) => new PatchGroup(this, `PatchGroup-${constructId(group.patchGroupName)}`, {
      ...group,
      baselines: group.baselines ?? this.baselines,
      outputBucket: this.outputBucket,
      nodeRoles,
      failureTopic: this.topic,
    }));

    const inventory = props.inventory ?? {};
    if (inventory.collect ?? inventory.collection !== undefined) {
      this.inventoryCollection = new InventoryCollection(this, 'InventoryCollection', inventory.collection);
    }
    if (inventory.sync ?? true) this.inventorySync = this.createSync(props.central);

    const alertBus = props.central?.alertBusArn
      ? events.EventBus.fromEventBusArn(this, 'CentralAlertBus', props.central.alertBusArn)
      : undefined;
    this.alertBus = alertBus;
    if (props.compliance) {
      this.compliance = new FleetCompliance(this, 'Compliance', {
        ...props.compliance,
        alertBus: props.compliance.alertBus ?? alertBus,
        notificationTopic: props.compliance.notificationTopic ?? (props.compliance.notifications === false ? undefined : this.topic),
      });
    }

    this.agentInstallers = (props.agentInstallers ?? []).map((installer) => new AgentInstaller(this, `AgentInstaller-${installer.agentName}`, {
      ...installer,
      nodeRoles: [...new Set([...(installer.nodeRoles ?? []), ...nodeRoles])],
      outputBucket: installer.outputBucket ?? (installer.outputEncryptionKey ? undefined : this.outputBucket),
      fleetTopic: installer.fleetTopic ?? this.topic,
      alertBus: installer.alertBus ?? alertBus,
    }));

    if (props.complianceMetrics ?? true) this.complianceMetrics = this.createMetrics(groups[0], props.agentInstallers ?? []);
    if (props.central && (props.observability ?? true)) this.observabilityLink = this.createLink(props.central);
  }

  /** The topic the parts notify (the given `notificationTopic` or the member's own), once a part needs one. */
  public get notificationTopic(): sns.ITopic | undefined {
    return this._topic;
  }

  /** The bucket the parts write command output to (the given `logBucket` or the member's own), once a part needs one. */
  public get logBucket(): s3.IBucket | undefined {
    return this._logBucket;
  }

  private get outputBucket(): s3.IBucket {
    this._logBucket ??= new PatchLogBucket(this, 'Logs').bucket;
    return this._logBucket;
  }

  private get topic(): sns.ITopic {
    this._topic ??= new ComplianceTopic(this, 'Topic', { displayName: 'Hybrid fleet' }).topic;
    return this._topic;
  }

  private createSync(central?: HybridFleetCentralReference): InventoryDataSync {
    if (!central) return new InventoryDataSync(this, 'InventorySync');
    return new InventoryDataSync(this, 'InventorySync', {
      bucket: s3.Bucket.fromBucketAttributes(this, 'CentralInventoryBucket', {
        bucketName: central.inventoryBucketName,
        account: central.account,
        region: central.region,
      }),
      bucketRegion: central.region,
      bucketPrefix: central.inventoryBucketPrefix,
      encryptionKey: central.inventoryKeyArn ? kms.Key.fromKeyArn(this, 'CentralInventoryKey', central.inventoryKeyArn) : undefined,
    });
  }

  private createMetrics(group: FleetPatchGroupOptions | undefined, installers: AgentInstallerProps[]): ComplianceMetrics {
    const agentComplianceTypes = installers.map((i) => `Custom:${i.agentName}`);
    const enforceModeValue = group?.enforceModeValue ?? 'enforce';
    return new ComplianceMetrics(this, 'ComplianceMetrics', {
      patchGroupTagKey: group?.tagKey,
      modeTagKey: group?.modeTagKey,
      enforceModeValue,
      reportModeValue: reportModeValue(enforceModeValue),
      agentComplianceTypes: agentComplianceTypes.length > 0 ? agentComplianceTypes : undefined,
    });
  }

  private createLink(central: HybridFleetCentralReference): FleetObservabilityLink | undefined {
    const sink = regionalValue(this, 'ObservabilitySink', 'central.observabilitySinkArns', central.observabilitySinkArns ?? {});
    if (!sink) return undefined;
    const link = new FleetObservabilityLink(this, 'ObservabilityLink', { sinkArn: sink.value });
    if (sink.condition) link.link.cfnOptions.condition = sink.condition;
    return link;
  }

  private validate(props: HybridFleetMemberProps, activationEnabled: boolean, patchingEnabled: boolean, groups: FleetPatchGroupOptions[]): void {
    if (!activationEnabled) {
      const others = givenKeys(props.activation).filter((k) => k !== 'enabled' && k !== 'instanceRole');
      if (others.length > 0) {
        fail(this, `\`activation\` with \`enabled: false\` takes only \`instanceRole\` (the node role the parts grant), got: ${others.join(', ')}`);
      }
    }
    if (!patchingEnabled) {
      const others = givenKeys(props.patching).filter((k) => k !== 'enabled');
      if (others.length > 0) fail(this, `\`patching\` with \`enabled: false\` takes no other option, got: ${others.join(', ')}`);
    } else if (props.patching?.groups?.length === 0) {
      fail(this, '`patching.groups` must list at least one patch group (turn patching off with `patching.enabled: false`), got: []');
    }
    checkIntegerRange(this, 'patching.approveAfterDays', props.patching?.approveAfterDays, 0, 360);
    if (props.patching?.operatingSystems?.length === 0) {
      fail(this, '`patching.operatingSystems` must list at least one operating system, got: []');
    }
    unique(this, 'patching.groups', groups.map((g) => g.patchGroupName), constructId);
    unique(this, 'agentInstallers', (props.agentInstallers ?? []).map((i) => i.agentName), (name) => name);
    if (props.inventory?.collect === false && props.inventory.collection !== undefined) {
      fail(this, '`inventory.collection` needs `inventory.collect` true (or left out), got: collect false');
    }
  }
}

/** Tags that put a node in a patch group in report mode (any mode value but the enforce value only scans). */
function reportModeTags(group: FleetPatchGroupOptions | undefined): { [key: string]: string } | undefined {
  if (!group) return undefined;
  return {
    [group.tagKey ?? PatchGroupTagKey.PATCH_GROUP]: group.patchGroupName,
    [group.modeTagKey ?? 'PatchMode']: reportModeValue(group.enforceModeValue ?? 'enforce'),
  };
}

/** The mode value of nodes that are only scanned: `report`, unless that is the enforce value. */
function reportModeValue(enforceModeValue: string): string {
  return enforceModeValue === 'report' ? 'scan' : 'report';
}

/** The keys of an options struct that hold a value. */
function givenKeys(options: object | undefined): string[] {
  return Object.entries(options ?? {}).filter(([, value]) => value !== undefined).map(([key]) => key);
}

/** A construct id for a name that may hold `/` (tag values may). */
function constructId(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]/g, '_');
}

/** Fails on two entries whose ids collide. */
function unique(scope: Construct, prop: string, names: string[], toId: (name: string) => string): void {
  const seen = new Map<string, string>();
  names.forEach((name, i) => {
    if (Token.isUnresolved(name)) return;
    const earlier = seen.get(toId(name));
    if (earlier !== undefined) {
      fail(scope, `\`${prop}[${i}]\` must have a name of its own (unique once characters other than letters, digits, _ . - are replaced), got: '${name}' after '${earlier}'`);
    }
    seen.set(toId(name), name);
  });
}
