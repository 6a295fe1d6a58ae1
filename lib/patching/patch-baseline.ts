import { Annotations, IResource, Lazy, Names, Resource, Stack, Token } from 'aws-cdk-lib';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct, IConstruct } from 'constructs';
import { PatchFilterKey, PatchOperatingSystem, PatchOperatingSystemFamily } from './operating-system';
import { PatchApprovalRule, PatchComplianceLevel, PatchFilter, PatchRuleOptions, PatchRules } from './patch-rules';
import { SSM_TAG_PATTERN } from '../private/tags';
import { ensureQuotaGuard } from '../private/quota-guard';
import { checkIntegerRange, checkSsmName, fail } from '../private/validate';

/**
 * What Patch Manager does with a package listed in `rejectedPatches`.
 */
export enum RejectedPatchesAction {
  /** Install a rejected package only when another package depends on it (the service default). */
  ALLOW_AS_DEPENDENCY = 'ALLOW_AS_DEPENDENCY',
  /** Never install a rejected package, not even as a dependency; such nodes report non-compliant. */
  BLOCK = 'BLOCK',
}

/**
 * How a Windows Server node that is missing an available security update (one the baseline does not approve) is
 * reported.
 */
export enum AvailableSecurityUpdatesComplianceStatus {
  /** Report the node compliant. */
  COMPLIANT = 'COMPLIANT',
  /** Report the node non-compliant. */
  NON_COMPLIANT = 'NON_COMPLIANT',
}

/**
 * An alternative package repository for Linux nodes.
 */
export interface PatchSource {
  /**
   * Name of the source: 3 to 50 letters, digits, `_`, `-` or `.`.
   */
  readonly name: string;

  /**
   * Products the source applies to, such as `AmazonLinux2023` (1 to 20, each 1 to 128 characters).
   */
  readonly products: string[];

  /**
   * The repository configuration, as the content of a yum repo file or an apt sources line (1 to 1024 characters).
   */
  readonly configuration: string;
}

/**
 * A patch baseline: which patches Patch Manager approves for one operating system.
 */
export interface IPatchBaseline extends IResource {
  /**
   * The baseline id (`pb-…`), or the full ARN of an AWS-predefined baseline.
   *
   * @attribute
   */
  readonly patchBaselineId: string;

}

/**
 * Properties for a `PatchBaseline`.
 */
export interface PatchBaselineProps {
  /**
   * The operating system the baseline is for.
   *
   * Required: CloudFormation would otherwise default to Windows. Changing it replaces the baseline.
   */
  readonly operatingSystem: PatchOperatingSystem;

  /**
   * Name of the baseline: 3 to 128 letters, digits, `_`, `-` or `.`.
   *
   * @default - derived from the construct path
   */
  readonly patchBaselineName?: string;

  /**
   * Description of the baseline (1 to 1024 characters).
   *
   * @default - no description
   */
  readonly description?: string;

  /**
   * Rules that approve patches (at most 10). `PatchRules` builds common ones.
   *
   * @default - no rules: only `approvedPatches` are approved
   */
  readonly approvalRules?: PatchApprovalRule[];

  /**
   * Patches approved regardless of the rules (at most 50, each 1 to 100 characters).
   *
   * The accepted formats depend on the operating system: KB ids on Windows, package names (`name-version-release`
   * wildcards) or advisory ids on Linux.
   *
   * @see https://docs.aws.amazon.com/systems-manager/latest/userguide/patch-manager-approved-rejected-package-name-formats.html
   * @default - none
   */
  readonly approvedPatches?: string[];

  /**
   * Compliance severity reported for a node missing one of `approvedPatches`.
   *
   * @default PatchComplianceLevel.UNSPECIFIED
   */
  readonly approvedPatchesComplianceLevel?: PatchComplianceLevel;

  /**
   * Also install non-security updates among `approvedPatches` (Linux only).
   *
   * @default false
   */
  readonly approvedPatchesEnableNonSecurity?: boolean;

  /**
   * Patches never approved (at most 50, each 1 to 100 characters), in the same formats as `approvedPatches`.
   *
   * @default - none
   */
  readonly rejectedPatches?: string[];

  /**
   * What happens to a rejected package that another package depends on.
   *
   * @default RejectedPatchesAction.ALLOW_AS_DEPENDENCY
   */
  readonly rejectedPatchesAction?: RejectedPatchesAction;

  /**
   * Filters every patch must pass before the approval rules see it (at most 4).
   *
   * @default - none
   */
  readonly globalFilters?: PatchFilter[];

  /**
   * Alternative repositories Linux nodes patch from (at most 20).
   *
   * @default - the repositories configured on each node
   */
  readonly sources?: PatchSource[];

  /**
   * How a Windows Server node missing an available security update that the baseline does not approve is reported
   * (Windows only).
   *
   * @default - Systems Manager's default (the update does not affect compliance)
   */
  readonly availableSecurityUpdatesComplianceStatus?: AvailableSecurityUpdatesComplianceStatus;

  /**
   * Make this baseline the default for its operating system in the account and Region.
   *
   * The default baseline is an account-wide setting: it applies to every node without a patch group, also nodes
   * managed by other stacks, and only one stack should set it per operating system.
   *
   * @default false
   */
  readonly defaultBaseline?: boolean;
}

/**
 * Properties for `PatchBaseline.criticalAndSecurityUpdates()`.
 */
export interface CriticalAndSecurityUpdatesProps extends PatchRuleOptions {
  /**
   * Name of the baseline: 3 to 128 letters, digits, `_`, `-` or `.`.
   *
   * @default - derived from the construct path
   */
  readonly patchBaselineName?: string;

  /**
   * Description of the baseline (1 to 1024 characters).
   *
   * @default - describes the rule
   */
  readonly description?: string;
}

const MAX_RULES = 10;
const MAX_FILTERS = 4;
const MAX_PATCH_LIST = 50;
const MAX_SOURCES = 20;
const BASELINE_ID = /^[a-zA-Z0-9_\-:/]{20,128}$/;
const SOURCE_NAME = /^[a-zA-Z0-9_\-.]{3,50}$/;

/** Filter values Systems Manager documents as a closed set; anything else (but `*`) matches no patch. */
const KNOWN_VALUES: { [family: string]: { [key: string]: string[] } } = {
  [PatchOperatingSystemFamily.WINDOWS]: {
    [PatchFilterKey.CLASSIFICATION]: [
      'CriticalUpdates',
      'DefinitionUpdates',
      'Drivers',
      'FeaturePacks',
      'SecurityUpdates',
      'ServicePacks',
      'Tools',
      'UpdateRollups',
      'Updates',
      'Upgrades',
    ],
    [PatchFilterKey.MSRC_SEVERITY]: ['Critical', 'Important', 'Moderate', 'Low', 'Unspecified'],
  },
  apt: {
    [PatchFilterKey.PRIORITY]: ['Required', 'Important', 'Standard', 'Optional', 'Extra'],
  },
};

const PATCH_BASELINE_SYMBOL = Symbol.for('cdk-ssm-hybrid-fleet.PatchBaseline');

/**
 * Define a Systems Manager patch baseline: the rules that decide which patches Patch Manager approves for one
 * operating system.
 *
 * Nodes use it through a patch group (`addPatchGroup`) or, with `defaultBaseline`, as the default for their
 * operating system.
 *
 * @resource AWS::SSM::PatchBaseline
 */
export class PatchBaseline extends Resource implements IPatchBaseline {
  /**
   * Import an existing patch baseline by its id (`pb-…`) or, for an AWS-predefined baseline, its full ARN.
   */
  public static fromPatchBaselineId(
    scope: Construct,
    id: string,
    patchBaselineId: string,
  ): IPatchBaseline {
    class Import extends Resource implements IPatchBaseline {
      public readonly patchBaselineId = patchBaselineId;
      constructor() {
        super(scope, id);
        if (!Token.isUnresolved(patchBaselineId) && !BASELINE_ID.test(patchBaselineId)) {
          fail(
            this,
            `\`patchBaselineId\` must be a baseline id like pb-0123456789abcdef0 or a baseline ARN (20 to 128 letters, digits and _ - : /), got: '${patchBaselineId}'`,
          );
        }
      }
    }
    return new Import();
  }

  /**
   * A baseline that approves critical and security updates (`PatchRules.criticalAndSecurity()`), after 7 days by
   * default where the operating system supports a delay.
   */
  public static criticalAndSecurityUpdates(scope: Construct, id: string, props: CriticalAndSecurityUpdatesProps): PatchBaseline {
    const rule = PatchRules.criticalAndSecurity(props);
    return new PatchBaseline(scope, id, {
      operatingSystem: props.operatingSystem,
      patchBaselineName: props.patchBaselineName,
      description: props.description ?? describeCriticalAndSecurity(rule),
      approvalRules: [rule],
    });
  }

  /** Whether `x` is a `PatchBaseline` defined by this library. */
  public static isPatchBaseline(x: any): x is PatchBaseline {
    return x !== null && typeof x === 'object' && PATCH_BASELINE_SYMBOL in x;
  }

  /** @attribute */
  public readonly patchBaselineId: string;

  /** The name of the baseline. */
  public readonly patchBaselineName: string;

  /** The operating system the baseline is for. */
  public readonly operatingSystem: PatchOperatingSystem;

  /** Whether this baseline is the default for its operating system. */
  public readonly defaultBaseline: boolean;

  private readonly _patchGroups: string[] = [];

  constructor(scope: Construct, id: string, props: PatchBaselineProps) {
    super(scope, id, { physicalName: props.patchBaselineName });
    ensureQuotaGuard(this);
    Object.defineProperty(this, PATCH_BASELINE_SYMBOL, { value: true });

    const os = props.operatingSystem;
    const name = props.patchBaselineName ?? Names.uniqueResourceName(this, { maxLength: 128, separator: '-', allowedSpecialCharacters: '_.-' });
    const rules = props.approvalRules ?? [];
    const approvedPatches = props.approvedPatches ?? [];
    const rejectedPatches = props.rejectedPatches ?? [];
    const globalFilters = props.globalFilters ?? [];
    const sources = props.sources ?? [];
    this.operatingSystem = os;
    this.patchBaselineName = name;
    this.defaultBaseline = props.defaultBaseline ?? false;

    this.validateBaseline(props, name);
    this.checkList('approvalRules', rules, MAX_RULES, 'rules');
    rules.forEach((rule, i) => this.validateRule(rule, `approvalRules[${i}]`));
    this.checkPatchList('approvedPatches', approvedPatches);
    this.checkPatchList('rejectedPatches', rejectedPatches);
    this.checkList('globalFilters', globalFilters, MAX_FILTERS, 'filters');
    globalFilters.forEach((filter, i) => this.validateFilter(filter, `globalFilters[${i}]`));
    this.checkList('sources', sources, MAX_SOURCES, 'sources');
    sources.forEach((source, i) => this.validateSource(source, `sources[${i}]`));
    this.warnIfRisky(props, rules, approvedPatches);

    const resource = new ssm.CfnPatchBaseline(this, 'Resource', {
      name,
      operatingSystem: os.value,
      description: props.description,
      approvalRules: nonEmpty(rules) ? { patchRules: rules.map(renderRule) } : undefined,
      approvedPatches: nonEmpty(approvedPatches) ? approvedPatches : undefined,
      approvedPatchesComplianceLevel: props.approvedPatchesComplianceLevel,
      approvedPatchesEnableNonSecurity: props.approvedPatchesEnableNonSecurity,
      rejectedPatches: nonEmpty(rejectedPatches) ? rejectedPatches : undefined,
      rejectedPatchesAction: props.rejectedPatchesAction,
      globalFilters: nonEmpty(globalFilters) ? { patchFilters: globalFilters.map(renderFilter) } : undefined,
      sources: nonEmpty(sources) ? sources.map(renderSource) : undefined,
      availableSecurityUpdatesComplianceStatus: props.availableSecurityUpdatesComplianceStatus,
      defaultBaseline: props.defaultBaseline,
      patchGroups: Lazy.list({ produce: () => (this._patchGroups.length > 0 ? [...this._patchGroups] : undefined) }),
    });
    this.patchBaselineId = resource.ref;
  }

  /**
   * The patch groups registered with this baseline.
   */
  public get patchGroups(): string[] {
    return [...this._patchGroups];
  }

  /**
   * Register a patch group with this baseline: nodes tagged `PatchGroup` (or `Patch Group`) = `patchGroupName` are
   * patched with it.
   *
   * A patch group can be registered with only one baseline per operating system.
   *
   * @param patchGroupName the patch group: 1 to 256 letters, digits, spaces and `_ . : / = + - @`
   */
  public addPatchGroup(patchGroupName: string): void {
    if (!Token.isUnresolved(patchGroupName)) {
      if (patchGroupName.length < 1 || patchGroupName.length > 256) {
        fail(this, `\`patchGroupName\` must be 1 to 256 characters long, got: '${patchGroupName}'`);
      }
      if (!SSM_TAG_PATTERN.test(patchGroupName)) {
        fail(this, `\`patchGroupName\` may contain only letters, numbers, spaces and _ . : / = + - @, got: '${patchGroupName}'`);
      }
      if (this._patchGroups.includes(patchGroupName)) {
        fail(this, `\`patchGroupName\` is already registered with this baseline, got: '${patchGroupName}'`);
      }
      const other = this.otherBaselinesInStack().find(
        (b) => sameOperatingSystem(b.operatingSystem, this.operatingSystem) && b._patchGroups.includes(patchGroupName),
      );
      if (other) {
        fail(
          this,
          `\`patchGroupName\` is already registered with ${other.node.path} for ${this.operatingSystem.value}; a patch group can have only one baseline per operating system, got: '${patchGroupName}'`,
        );
      }
    }
    this._patchGroups.push(patchGroupName);
  }

  private validateBaseline(props: PatchBaselineProps, name: string): void {
    const os = props.operatingSystem;
    checkSsmName(this, 'patchBaselineName', name);
    const description = props.description;
    if (description !== undefined && !Token.isUnresolved(description) && (description.length < 1 || description.length > 1024)) {
      fail(this, `\`description\` must be 1 to 1024 characters long, got: ${description.length} characters`);
    }
    if (os.isKnown && !os.isLinux) {
      if (props.approvedPatchesEnableNonSecurity === true) {
        fail(this, `\`approvedPatchesEnableNonSecurity\` applies to Linux only, not ${os.value}, got: true`);
      }
      if (props.sources !== undefined && nonEmpty(props.sources)) {
        fail(this, `\`sources\` applies to Linux only, not ${os.value}, got: ${props.sources.length} source(s)`);
      }
    }
    if (os.isKnown && os.family !== PatchOperatingSystemFamily.WINDOWS && props.availableSecurityUpdatesComplianceStatus) {
      fail(
        this,
        `\`availableSecurityUpdatesComplianceStatus\` applies to Windows Server only, not ${os.value}, got: ${props.availableSecurityUpdatesComplianceStatus}`,
      );
    }
    if (props.defaultBaseline) {
      const other = this.otherBaselinesInStack().find((b) => b.defaultBaseline && sameOperatingSystem(b.operatingSystem, os));
      if (other) {
        fail(
          this,
          `\`defaultBaseline\` is already set by ${other.node.path}; there is one default baseline per operating system (${os.value}), got: true`,
        );
      }
    }
  }

  private validateRule(rule: PatchApprovalRule, path: string): void {
    const os = this.operatingSystem;
    if (!Token.isUnresolved(rule.filters) && (rule.filters.length < 1 || rule.filters.length > MAX_FILTERS)) {
      fail(this, `\`${path}.filters\` must have 1 to ${MAX_FILTERS} filters, got: ${rule.filters.length}`);
    }
    if (!Token.isUnresolved(rule.filters)) rule.filters.forEach((filter, i) => this.validateFilter(filter, `${path}.filters[${i}]`));

    checkIntegerRange(this, `${path}.approveAfterDays`, rule.approveAfterDays, 0, 360);
    const until = rule.approveUntilDate;
    if (until !== undefined && !Token.isUnresolved(until) && !isCalendarDate(until)) {
      fail(this, `\`${path}.approveUntilDate\` must be a date as YYYY-MM-DD, got: '${until}'`);
    }
    const hasDays = rule.approveAfterDays !== undefined;
    const hasDate = until !== undefined;
    if (hasDays && hasDate) {
      fail(
        this,
        `\`${path}\` must set only one of approveAfterDays and approveUntilDate, got: approveAfterDays ${rule.approveAfterDays} and approveUntilDate '${until}'`,
      );
    }
    if (os.isKnown && os.supportsApprovalDelays && !hasDays && !hasDate) {
      fail(this, `\`${path}\` must set approveAfterDays or approveUntilDate for ${os.value}, got: neither`);
    }
    if (os.isKnown && !os.supportsApprovalDelays && (hasDays || hasDate)) {
      const field = hasDays ? 'approveAfterDays' : 'approveUntilDate';
      const value = hasDays ? String(rule.approveAfterDays) : `'${until}'`;
      fail(
        this,
        `\`${path}.${field}\` is not supported for ${os.value} (Systems Manager approves its patches without a delay; omit it), got: ${value}`,
      );
    }
    if (os.isKnown && !os.isLinux && rule.enableNonSecurity === true) {
      fail(this, `\`${path}.enableNonSecurity\` applies to Linux only, not ${os.value}, got: true`);
    }
  }

  private validateFilter(filter: PatchFilter, path: string): void {
    const os = this.operatingSystem;
    if (!Token.isUnresolved(filter.key) && !os.supportsFilterKey(filter.key)) {
      fail(
        this,
        `\`${path}.key\` must be one of ${os.allowedFilterKeys!.join(', ')} for ${os.value}${os._presumptionNote()}, got: ${filter.key}`,
      );
    }
    const values = filter.values;
    if (Token.isUnresolved(values)) return;
    if (values.length < 1 || values.length > 20) {
      fail(this, `\`${path}.values\` must have 1 to 20 values, got: ${values.length}`);
    }
    for (const value of values) {
      if (!Token.isUnresolved(value) && (value.length < 1 || value.length > 64)) {
        fail(this, `\`${path}.values\` entries must be 1 to 64 characters long, got: '${value}'`);
      }
    }
    const known = os.isKnown ? knownValues(os, filter.key) : undefined;
    const unknown = known ? values.filter((v) => !Token.isUnresolved(v) && v !== '*' && !known.includes(v)) : [];
    if (unknown.length > 0) {
      Annotations.of(this).addWarningV2(
        'cdk-ssm-hybrid-fleet:unknownPatchFilterValue',
        `\`${path}.values\` has ${unknown.map((v) => `'${v}'`).join(', ')}, not a known ${filter.key} value for ${os.value} (${known!.join(', ')} or *); values match exactly, so it may match no patch`,
      );
    }
  }

  private validateSource(source: PatchSource, path: string): void {
    if (!Token.isUnresolved(source.name) && !SOURCE_NAME.test(source.name)) {
      fail(this, `\`${path}.name\` must be 3 to 50 letters, digits, _ - or ., got: '${source.name}'`);
    }
    if (!Token.isUnresolved(source.products)) {
      if (source.products.length < 1 || source.products.length > 20) {
        fail(this, `\`${path}.products\` must have 1 to 20 products, got: ${source.products.length}`);
      }
      for (const product of source.products) {
        if (!Token.isUnresolved(product) && (product.length < 1 || product.length > 128)) {
          fail(this, `\`${path}.products\` entries must be 1 to 128 characters long, got: '${product}'`);
        }
      }
    }
    const config = source.configuration;
    if (!Token.isUnresolved(config) && (config.length < 1 || config.length > 1024)) {
      fail(this, `\`${path}.configuration\` must be 1 to 1024 characters long, got: ${config.length} characters`);
    }
  }

  private checkList(prop: string, list: unknown[], max: number, noun: string): void {
    if (!Token.isUnresolved(list) && list.length > max) {
      fail(this, `\`${prop}\` must have at most ${max} ${noun}, got: ${list.length}`);
    }
  }

  private checkPatchList(prop: string, patches: string[]): void {
    if (Token.isUnresolved(patches)) return;
    this.checkList(prop, patches, MAX_PATCH_LIST, 'entries');
    for (const patch of patches) {
      if (!Token.isUnresolved(patch) && (patch.length < 1 || patch.length > 100)) {
        fail(this, `\`${prop}\` entries must be 1 to 100 characters long, got: '${patch}'`);
      }
    }
  }

  private warnIfRisky(props: PatchBaselineProps, rules: PatchApprovalRule[], approvedPatches: string[]): void {
    if (props.defaultBaseline) {
      Annotations.of(this).addWarningV2(
        'cdk-ssm-hybrid-fleet:defaultPatchBaseline',
        `\`defaultBaseline\` makes this the default patch baseline for ${props.operatingSystem.value} in the whole account and Region: every node without a patch group uses it, also nodes other stacks manage. Set it in one stack only`,
      );
    }
    if (!Token.isUnresolved(rules) && !Token.isUnresolved(approvedPatches) && rules.length === 0 && approvedPatches.length === 0) {
      Annotations.of(this).addWarningV2(
        'cdk-ssm-hybrid-fleet:emptyPatchBaseline',
        'The baseline approves no patches: it has no `approvalRules` and no `approvedPatches`, so patching installs nothing. Add a rule such as PatchRules.criticalAndSecurity()',
      );
    }
  }

  private otherBaselinesInStack(): PatchBaseline[] {
    return Stack.of(this)
      .node.findAll()
      .filter((c: IConstruct): c is PatchBaseline => c !== this && PatchBaseline.isPatchBaseline(c));
  }
}

function nonEmpty(list: unknown[]): boolean {
  return Token.isUnresolved(list) || list.length > 0;
}

function sameOperatingSystem(a: PatchOperatingSystem, b: PatchOperatingSystem): boolean {
  return !Token.isUnresolved(a.value) && a.value === b.value;
}

function isCalendarDate(value: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

function knownValues(os: PatchOperatingSystem, key: PatchFilterKey): string[] | undefined {
  const group = os.family === PatchOperatingSystemFamily.WINDOWS ? os.family : os.supportsFilterKey(PatchFilterKey.PRIORITY) ? 'apt' : undefined;
  return group ? KNOWN_VALUES[group][key] : undefined;
}

function describeCriticalAndSecurity(rule: PatchApprovalRule): string {
  const when =
    rule.approveAfterDays !== undefined
      ? Token.isUnresolved(rule.approveAfterDays)
        ? ', approved after a delay'
        : `, approved ${rule.approveAfterDays} days after release`
      : rule.approveUntilDate !== undefined
        ? ', approved if released by a cutoff date'
        : ', approved on release';
  return `Critical and security updates${when}`;
}

function renderFilter(filter: PatchFilter): ssm.CfnPatchBaseline.PatchFilterProperty {
  return { key: filter.key, values: filter.values };
}

function renderRule(rule: PatchApprovalRule): ssm.CfnPatchBaseline.RuleProperty {
  return {
    patchFilterGroup: { patchFilters: rule.filters.map(renderFilter) },
    approveAfterDays: rule.approveAfterDays,
    approveUntilDate: rule.approveUntilDate,
    complianceLevel: rule.complianceLevel,
    enableNonSecurity: rule.enableNonSecurity,
  };
}

function renderSource(source: PatchSource): ssm.CfnPatchBaseline.PatchSourceProperty {
  return { name: source.name, products: source.products, configuration: source.configuration };
}
