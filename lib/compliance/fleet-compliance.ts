import { Annotations, Duration, Token } from 'aws-cdk-lib';
import * as config from 'aws-cdk-lib/aws-config';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { ComplianceTopic } from './compliance-topic';
import { ConfigRecorderChoice } from './config-recorder-choice';
import { FleetConfigRecorder } from './fleet-config-recorder';
import { InstanceProfileCoverage } from './instance-profile-coverage';
import { NodeRemediationRunbook, RemediatedComplianceType } from './node-remediation-runbook';
import { RemediationMode } from './remediation-mode';
import { PatchRebootOption } from '../patching/patch-group';
import { checkCsvItem, checkEnumValue, checkInputParameters, checkRemediationLimits } from '../private/compliance-checks';
import {
  configNonCompliantMessage,
  configNonCompliantPattern,
  ssmNonCompliantMessage,
  ssmNonCompliantPattern,
  tagsHint,
} from './private/alert-messages';
import { forwardToAlertBus } from '../private/alert-bus-target';
import { fail } from '../private/validate';

/** The platform a Config rule's `platformType` parameter selects (the inventory `PlatformType` of the node). */
export enum CompliancePlatform {
  /** Linux nodes. */
  LINUX = 'Linux',
  /** Windows nodes. */
  WINDOWS = 'Windows',
  /** macOS nodes. */
  MACOS = 'MacOS',
}

/** An application as the inventory names it (`AWS:Application` `Name`), with an optional version. */
export interface ApplicationSpec {
  /**
   * Exact application name, as inventory reports it (no wildcards, no ',' or ':'), e.g. `amazon-ssm-agent` or
   * `CrowdStrike Windows Sensor`.
   */
  readonly name: string;

  /**
   * In `requiredApplications`: the minimum version. In `blockedApplications`: this version and older are blocked.
   *
   * @default - any version
   */
  readonly version?: string;
}

/** A list of applications for one platform (one Config rule per entry). */
export interface ApplicationList {
  /**
   * The platform the rule checks.
   *
   * @default - every platform
   */
  readonly platform?: CompliancePlatform;

  /** The applications (at least one). */
  readonly applications: ApplicationSpec[];
}

/** What `ec2-managedinstance-platform-check` requires of every node. */
export interface PlatformRequirement {
  /** The platform every node must run. */
  readonly platform: CompliancePlatform;

  /**
   * Platform version, exact (e.g. `2023`).
   *
   * @default - any
   */
  readonly platformVersion?: string;

  /**
   * SSM Agent version, exact.
   *
   * @default - any
   */
  readonly agentVersion?: string;

  /**
   * Platform name, exact (e.g. `Amazon Linux`).
   *
   * @default - any
   */
  readonly platformName?: string;
}

/**
 * Properties for a `FleetCompliance`.
 */
export interface FleetComplianceProps {
  /**
   * Where the AWS Config configuration recorder comes from: `ConfigRecorderChoice.existing()` or
   * `ConfigRecorderChoice.create()`. Config rules fail to create in an account and Region without a recorder, and
   * there can be only one, so there is no default.
   */
  readonly recorder: ConfigRecorderChoice;

  /**
   * Rule `ec2-managedinstance-association-compliance-status-check` (`AWS::SSM::AssociationCompliance`): nodes whose
   * State Manager associations failed. Covers every managed node Systems Manager reports association compliance
   * for; that Config records it for hybrid `mi-` nodes is not confirmed by AWS documentation.
   *
   * @default true
   */
  readonly associationCompliance?: boolean;

  /**
   * Rule `ec2-managedinstance-patch-compliance-status-check` (`AWS::SSM::PatchCompliance`): nodes missing approved
   * patches after a scan or install. Covers every managed node Systems Manager reports patch compliance for; that
   * Config records it for hybrid `mi-` nodes is not confirmed by AWS documentation.
   *
   * @default true
   */
  readonly patchCompliance?: boolean;

  /**
   * Rules `ec2-managedinstance-applications-required`, one per entry and platform: the security agents a node must
   * run (exact names, optional minimum version). Reaches hybrid `mi-` nodes (inventory). A node without inventory is
   * NOT_APPLICABLE, not non-compliant.
   *
   * @default - no rule
   */
  readonly requiredApplications?: ApplicationList[];

  /**
   * Rules `ec2-managedinstance-applications-blacklisted`, one per entry and platform: applications a node must not
   * run (a version blocks that version and older). Reaches hybrid `mi-` nodes (inventory).
   *
   * @default - no rule
   */
  readonly blockedApplications?: ApplicationList[];

  /**
   * Rule `ec2-managedinstance-platform-check`: every node runs this platform (and version, agent, name). Reaches hybrid
   * `mi-` nodes (inventory). Every node of another platform is non-compliant, so use it on single-platform fleets.
   *
   * @default - no rule
   */
  readonly platformRequirement?: PlatformRequirement;

  /**
   * Rule `ec2-managedinstance-inventory-blacklisted`: inventory types nodes must not collect (e.g. `AWS:Network`,
   * `AWS:WindowsUpdate`, `Custom:Name`). Reaches hybrid `mi-` nodes (inventory).
   *
   * @default - no rule
   */
  readonly blockedInventoryTypes?: string[];

  /**
   * Platform the blocked-inventory rule checks.
   *
   * @default - every platform
   */
  readonly blockedInventoryPlatform?: CompliancePlatform;

  /**
   * Rule `ec2-instance-managed-by-systems-manager`: EC2 instances that Systems Manager does not manage. **EC2 only**:
   * it evaluates `AWS::EC2::Instance` and never reaches hybrid `mi-` nodes.
   *
   * @default false
   */
  readonly ec2ManagedBySsm?: boolean;

  /**
   * Instance-role coverage (EC2 only): rule `ec2-instance-profile-attached` with remediation by
   * `AWS-AttachIAMToInstance` (see `InstanceProfileCoverage`).
   *
   * @default false
   */
  readonly instanceProfileCoverage?: boolean;

  /**
   * The fleet's EC2 instance role that instance-profile remediation attaches.
   *
   * @default - a new role trusted by `ec2.amazonaws.com` with `AmazonSSMManagedInstanceCore`
   */
  readonly instanceRole?: iam.IRole;

  /**
   * How instance-profile coverage is remediated.
   *
   * @default RemediationMode.MANUAL
   */
  readonly instanceProfileRemediation?: RemediationMode;

  /**
   * Notify the topic when a node becomes non-compliant (EventBridge rules on Config and Systems Manager events).
   *
   * @default true
   */
  readonly notifications?: boolean;

  /**
   * Topic the notifications go to. If it is encrypted, its key policy must let `events.amazonaws.com` use the key
   * (`kms:GenerateDataKey*`, `kms:Decrypt`).
   *
   * @default - a new `ComplianceTopic` (customer-managed key usable by EventBridge, TLS only)
   */
  readonly notificationTopic?: sns.ITopic;

  /**
   * An EventBridge bus (usually the central account's `FleetAlertBus`, in another account or Region) that also gets
   * the non-compliance events the notifications match, unformatted, through a role that may only `events:PutEvents`
   * on that bus. Independent of `notifications`.
   *
   * @default - the events stay in this account
   */
  readonly alertBus?: events.IEventBus;

  /**
   * How AWS Config remediates nodes non-compliant with the patch and association rules, with the library's runbook,
   * which fixes only nodes whose mode tag says enforce.
   *
   * @default RemediationMode.MANUAL
   */
  readonly remediation?: RemediationMode;

  /**
   * Also start the runbook from EventBridge when Systems Manager reports a node's patch or association compliance as
   * `non_compliant` (the route AWS documents for compliance remediation). Independent of AWS Config.
   *
   * @default false
   */
  readonly remediateFromEvents?: boolean;

  /**
   * Tag key that chooses report or enforce per node (as in `PatchGroup`).
   *
   * @default 'PatchMode'
   */
  readonly modeTagKey?: string;

  /**
   * Value of the mode tag that allows remediation.
   *
   * @default 'enforce'
   */
  readonly enforceModeValue?: string;

  /**
   * Reboot option of the patch installs remediation runs.
   *
   * @default PatchRebootOption.REBOOT_IF_NEEDED
   */
  readonly rebootOption?: PatchRebootOption;

  /**
   * Automatic remediation: attempts per node (`MaximumAutomaticAttempts`), 1 to 25.
   *
   * @default 5
   */
  readonly remediationMaxAttempts?: number;

  /**
   * Automatic remediation: time between attempts (`RetryAttemptSeconds`), 1 second to 2,678,000 seconds.
   *
   * @default Duration.seconds(60)
   */
  readonly remediationRetryInterval?: Duration;

  /**
   * Percentage of non-compliant nodes remediated at the same time (`ConcurrentExecutionRatePercentage`), 1 to 100.
   *
   * @default 10
   */
  readonly remediationConcurrencyPercentage?: number;

  /**
   * Percentage of failed remediations that stops the rest (`ErrorPercentage`), 1 to 100.
   *
   * @default 50
   */
  readonly remediationErrorPercentage?: number;
}

const INVENTORY_TYPE = /^(AWS|Custom):[A-Za-z0-9_]+$/;

/**
 * Define compliance checks for the fleet with AWS Config managed rules (association and patch compliance by default;
 * required and blocked applications, platform, blocked inventory and EC2-managed-by-SSM on request), notifications
 * when a node becomes non-compliant, and remediation that fixes only nodes whose mode tag says enforce.
 *
 * Rules on `AWS::SSM::ManagedInstanceInventory` (applications, platform, inventory) reach hybrid `mi-` nodes; the
 * patch and association rules evaluate Systems Manager compliance (for `mi-` nodes: not confirmed by AWS); the
 * managed-by-SSM and instance-profile rules are EC2 only.
 *
 * @see https://docs.aws.amazon.com/config/latest/developerguide/managed-rules-by-aws-config.html
 */
export class FleetCompliance extends Construct {
  /** Every Config rule this construct defines. */
  public readonly rules: config.IRule[] = [];
  /** The association compliance rule, when on. */
  public readonly associationComplianceRule?: config.IRule;
  /** The patch compliance rule, when on. */
  public readonly patchComplianceRule?: config.IRule;
  /** The recorder, when `recorder` is `ConfigRecorderChoice.create()`. */
  public readonly recorder?: FleetConfigRecorder;
  /** The topic notifications go to, when on. */
  public readonly topic?: sns.ITopic;
  /** The remediation runbook, when remediation (Config or EventBridge) is on. */
  public readonly remediationRunbook?: NodeRemediationRunbook;
  /** Instance-role coverage, when on. */
  public readonly instanceProfileCoverage?: InstanceProfileCoverage;

  constructor(scope: Construct, id: string, props: FleetComplianceProps) {
    super(scope, id);
    if (!(props.recorder instanceof ConfigRecorderChoice)) {
      fail(this, '`recorder` is required: ConfigRecorderChoice.existing() to use the account\'s recorder or ConfigRecorderChoice.create() to define it here, got: ' + String(props.recorder));
    }
    const remediation = props.remediation ?? RemediationMode.MANUAL;
    checkEnumValue(this, 'remediation', remediation, Object.values(RemediationMode));
    checkRemediationLimits(this, {
      maxAttempts: props.remediationMaxAttempts,
      retryInterval: props.remediationRetryInterval,
      concurrencyPercentage: props.remediationConcurrencyPercentage,
      errorPercentage: props.remediationErrorPercentage,
    });
    if (remediation !== RemediationMode.AUTOMATIC && (props.remediationMaxAttempts !== undefined || props.remediationRetryInterval !== undefined)) {
      Annotations.of(this).addWarningV2(
        'cdk-ssm-hybrid-fleet:remediationRetriesIgnored',
        'remediationMaxAttempts and remediationRetryInterval apply only to RemediationMode.AUTOMATIC; they are ignored',
      );
    }

    if (props.recorder.createsRecorder) this.recorder = new FleetConfigRecorder(this, 'Recorder', props.recorder.createOptions);

    if (props.associationCompliance ?? true) {
      this.associationComplianceRule = this.addRule('AssociationCompliance', config.ManagedRuleIdentifiers.EC2_MANAGED_INSTANCE_ASSOCIATION_COMPLIANCE_STATUS_CHECK,
        config.ResourceType.SYSTEMS_MANAGER_ASSOCIATION_COMPLIANCE, 'Managed nodes whose State Manager associations are compliant');
    }
    if (props.patchCompliance ?? true) {
      this.patchComplianceRule = this.addRule('PatchCompliance', config.ManagedRuleIdentifiers.EC2_MANAGED_INSTANCE_PATCH_COMPLIANCE_STATUS_CHECK,
        config.ResourceType.SYSTEMS_MANAGER_PATCH_COMPLIANCE, 'Managed nodes that have every approved patch installed');
    }
    this.addApplicationRules('requiredApplications', 'RequiredApplications', config.ManagedRuleIdentifiers.EC2_MANAGED_INSTANCE_APPLICATIONS_REQUIRED, props.requiredApplications);
    this.addApplicationRules('blockedApplications', 'BlockedApplications', config.ManagedRuleIdentifiers.EC2_MANAGED_INSTANCE_APPLICATIONS_BLOCKED, props.blockedApplications);
    if (props.platformRequirement) this.addPlatformRule(props.platformRequirement);
    if (props.blockedInventoryTypes) this.addInventoryRule(props.blockedInventoryTypes, props.blockedInventoryPlatform);
    else if (props.blockedInventoryPlatform !== undefined) {
      fail(this, `\`blockedInventoryPlatform\` needs \`blockedInventoryTypes\`, got: '${props.blockedInventoryPlatform}' alone`);
    }
    if (props.ec2ManagedBySsm) {
      this.addRule('Ec2ManagedBySsm', config.ManagedRuleIdentifiers.EC2_INSTANCE_MANAGED_BY_SSM, config.ResourceType.EC2_INSTANCE,
        'EC2 instances are managed by Systems Manager (EC2 only; hybrid nodes are managed by definition)');
    }
    if (props.instanceProfileCoverage) {
      this.instanceProfileCoverage = new InstanceProfileCoverage(this, 'InstanceProfileCoverage', {
        recorder: ConfigRecorderChoice.existing(),
        instanceRole: props.instanceRole,
        remediation: props.instanceProfileRemediation,
        remediationMaxAttempts: props.remediationMaxAttempts,
        remediationRetryInterval: props.remediationRetryInterval,
        remediationConcurrencyPercentage: props.remediationConcurrencyPercentage,
        remediationErrorPercentage: props.remediationErrorPercentage,
      });
      if (this.recorder) this.instanceProfileCoverage.rule.node.addDependency(this.recorder);
      this.rules.push(this.instanceProfileCoverage.rule);
    } else if (props.instanceRole || props.instanceProfileRemediation) {
      fail(this, '`instanceRole` and `instanceProfileRemediation` need `instanceProfileCoverage: true`, got: instanceProfileCoverage off');
    }
    if (this.rules.length === 0) {
      fail(this, '`associationCompliance` and `patchCompliance` are off and no other rule is asked for: FleetCompliance would define no rule, got: no rule');
    }

    const remediatedTypes = this.remediatedTypes();
    if ((remediation !== RemediationMode.NONE || props.remediateFromEvents) && remediatedTypes.length > 0) {
      this.remediationRunbook = new NodeRemediationRunbook(this, 'RemediationRunbook', {
        modeTagKey: props.modeTagKey,
        enforceModeValue: props.enforceModeValue,
        rebootOption: props.rebootOption,
      });
      if (remediation !== RemediationMode.NONE) this.addRemediations(remediation, props);
      if (props.remediateFromEvents) this.addEventRemediation(remediatedTypes);
    } else if (props.remediateFromEvents) {
      fail(this, '`remediateFromEvents` needs the patch or association compliance rule, got: both off');
    }
    if (remediation === RemediationMode.AUTOMATIC && props.remediateFromEvents) {
      Annotations.of(this).addWarningV2(
        'cdk-ssm-hybrid-fleet:remediationTwice',
        'remediation AUTOMATIC and remediateFromEvents both start the runbook for the same non-compliant node; choose one',
      );
    }

    if (props.notifications ?? true) {
      this.topic = props.notificationTopic ?? new ComplianceTopic(this, 'Topic').topic;
    } else if (props.notificationTopic) {
      fail(this, '`notificationTopic` needs `notifications` on, got: notifications false');
    }
    if (this.topic || props.alertBus) this.addNotifications(this.topic, props.modeTagKey ?? 'PatchMode', props.alertBus);
  }

  private addRule(id: string, identifier: string, resourceType: config.ResourceType, description: string, inputParameters?: Record<string, string>): config.ManagedRule {
    const rule = new config.ManagedRule(this, id, {
      identifier,
      ruleScope: config.RuleScope.fromResources([resourceType]),
      inputParameters,
      description,
    });
    if (this.recorder) rule.node.addDependency(this.recorder);
    this.rules.push(rule);
    return rule;
  }

  private addApplicationRules(prop: string, idPrefix: string, identifier: string, lists: ApplicationList[] | undefined): void {
    if (lists === undefined) return;
    if (lists.length === 0) fail(this, `\`${prop}\` must not be empty (leave it out for no rule), got: []`);
    const platforms = new Set<string>();
    for (const list of lists) {
      const platform = list.platform ?? 'All';
      checkEnumValue(this, `${prop}.platform`, list.platform, Object.values(CompliancePlatform));
      if (platforms.has(platform)) fail(this, `\`${prop}\` has two entries for platform ${platform}; merge them, got: ${platform} twice`);
      platforms.add(platform);
      if (list.applications.length === 0) fail(this, `\`${prop}\` entries need at least one application, got: [] for platform ${platform}`);
      const names = new Set<string>();
      for (const app of list.applications) {
        checkCsvItem(this, prop, 'application names', app.name, { noColon: true });
        if (app.version !== undefined) checkCsvItem(this, prop, 'versions', app.version, { noColon: true });
        if (names.has(app.name)) fail(this, `\`${prop}\` lists '${app.name}' twice for platform ${platform}, got: a duplicate`);
        names.add(app.name);
      }
      const parameters: Record<string, string> = {
        applicationNames: list.applications.map((a) => (a.version === undefined ? a.name : `${a.name}:${a.version}`)).join(','),
        ...(list.platform ? { platformType: list.platform } : {}),
      };
      checkInputParameters(this, prop, parameters);
      const description = `${prop === 'requiredApplications' ? 'Required' : 'Blocked'} applications on ${list.platform ?? 'every platform'} nodes`;
      this.addRule(`${idPrefix}${platform}`, identifier, config.ResourceType.SYSTEMS_MANAGER_MANAGED_INSTANCE_INVENTORY, description, parameters);
    }
  }

  private addPlatformRule(requirement: PlatformRequirement): void {
    checkEnumValue(this, 'platformRequirement.platform', requirement.platform, Object.values(CompliancePlatform));
    const parameters: Record<string, string> = { platformType: requirement.platform };
    const optional = { platformVersion: requirement.platformVersion, agentVersion: requirement.agentVersion, platformName: requirement.platformName };
    for (const [key, value] of Object.entries(optional)) {
      if (value === undefined) continue;
      checkCsvItem(this, `platformRequirement.${key}`, 'values', value);
      parameters[key] = value;
    }
    checkInputParameters(this, 'platformRequirement', parameters);
    this.addRule('PlatformCheck', config.ManagedRuleIdentifiers.EC2_MANAGED_INSTANCE_PLATFORM_CHECK,
      config.ResourceType.SYSTEMS_MANAGER_MANAGED_INSTANCE_INVENTORY, `Managed nodes run ${requirement.platform}`, parameters);
  }

  private addInventoryRule(types: string[], platform: CompliancePlatform | undefined): void {
    if (types.length === 0) fail(this, '`blockedInventoryTypes` must not be empty (leave it out for no rule), got: []');
    checkEnumValue(this, 'blockedInventoryPlatform', platform, Object.values(CompliancePlatform));
    for (const type of types) {
      checkCsvItem(this, 'blockedInventoryTypes', 'inventory types', type);
      if (!Token.isUnresolved(type) && !INVENTORY_TYPE.test(type)) {
        fail(this, `\`blockedInventoryTypes\` entries must be inventory type names like AWS:Network or Custom:MyType, got: '${type}'`);
      }
    }
    const parameters: Record<string, string> = { inventoryNames: types.join(','), ...(platform ? { platformType: platform } : {}) };
    checkInputParameters(this, 'blockedInventoryTypes', parameters);
    this.addRule('InventoryBlocked', config.ManagedRuleIdentifiers.EC2_MANAGED_INSTANCE_INVENTORY_BLOCKED,
      config.ResourceType.SYSTEMS_MANAGER_MANAGED_INSTANCE_INVENTORY, 'Managed nodes do not collect blocked inventory types', parameters);
  }

  private remediatedTypes(): RemediatedComplianceType[] {
    return [
      ...(this.patchComplianceRule ? [RemediatedComplianceType.PATCH] : []),
      ...(this.associationComplianceRule ? [RemediatedComplianceType.ASSOCIATION] : []),
    ];
  }

  private addRemediations(mode: RemediationMode, props: FleetComplianceProps): void {
    const runbook = this.remediationRunbook!;
    const automatic = mode === RemediationMode.AUTOMATIC;
    const pairs: [string, config.IRule | undefined, RemediatedComplianceType][] = [
      ['PatchRemediation', this.patchComplianceRule, RemediatedComplianceType.PATCH],
      ['AssociationRemediation', this.associationComplianceRule, RemediatedComplianceType.ASSOCIATION],
    ];
    for (const [id, rule, type] of pairs) {
      if (!rule) continue;
      const parameters: Record<string, unknown> = { NodeId: { ResourceValue: { Value: 'RESOURCE_ID' } } };
      for (const [name, value] of Object.entries(runbook.staticParameters(type))) parameters[name] = { StaticValue: { Values: [value] } };
      new config.CfnRemediationConfiguration(this, id, {
        configRuleName: rule.configRuleName,
        targetType: 'SSM_DOCUMENT',
        targetId: runbook.documentName,
        automatic,
        maximumAutomaticAttempts: automatic ? (props.remediationMaxAttempts ?? 5) : undefined,
        retryAttemptSeconds: automatic ? (props.remediationRetryInterval ?? Duration.seconds(60)).toSeconds() : undefined,
        executionControls: {
          ssmControls: {
            concurrentExecutionRatePercentage: props.remediationConcurrencyPercentage ?? 10,
            errorPercentage: props.remediationErrorPercentage ?? 50,
          },
        },
        parameters,
      });
    }
  }

  private addEventRemediation(types: RemediatedComplianceType[]): void {
    new events.Rule(this, 'RemediateFromEvents', {
      description: 'Starts the fleet remediation runbook when Systems Manager reports a node non-compliant',
      eventPattern: ssmNonCompliantPattern(types),
      targets: [this.remediationRunbook!.complianceEventTarget()],
    });
  }

  private addNotifications(topic: sns.ITopic | undefined, modeTagKey: string, alertBus: events.IEventBus | undefined): void {
    const hint = tagsHint(modeTagKey);
    const forwarded: events.Rule[] = [];
    const configRule = new events.Rule(this, 'ConfigNonCompliant', {
      description: 'A fleet Config rule found a resource NON_COMPLIANT (transitions only)',
      eventPattern: configNonCompliantPattern(this.rules.map((r) => r.configRuleName)),
    });
    if (topic) configRule.addTarget(new targets.SnsTopic(topic, { message: configNonCompliantMessage(hint) }));
    forwarded.push(configRule);

    const types = this.remediatedTypes();
    if (types.length > 0) {
      const ssmRule = new events.Rule(this, 'SsmNonCompliant', {
        description: 'Systems Manager reports a node non_compliant for patch or association compliance',
        eventPattern: ssmNonCompliantPattern(types),
      });
      if (topic) ssmRule.addTarget(new targets.SnsTopic(topic, { message: ssmNonCompliantMessage(hint) }));
      forwarded.push(ssmRule);
    }
    if (alertBus) forwardToAlertBus(this, forwarded, alertBus);
  }
}
