import { Annotations, Duration, Stack, Token } from 'aws-cdk-lib';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct, IConstruct } from 'constructs';
import { AssociationSchedule } from '../common/association-schedule';
import { checkTagKey, checkTagValue } from '../private/tags';
import { ensureQuotaGuard } from '../private/quota-guard';
import { checkIntegerRange, checkRateControl, checkSsmName, fail, RESOURCE_GROUP_NAME_PATTERN } from '../private/validate';

/** The AWS-owned inventory document (no `DocumentVersion`: not valid for AWS-owned documents). */
const DOCUMENT_NAME = 'AWS-GatherSoftwareInventory';
const REGISTRY_HIVE_PATTERN = /^(HKEY_LOCAL_MACHINE|HKEY_CURRENT_USER|HKEY_USERS|HKEY_CLASSES_ROOT|HKEY_CURRENT_CONFIG)(\/|$)/i;
/** State Manager allows 5 targets per association and 50 values per target. */
const MAX_TARGETS = 5;
const MAX_TARGET_VALUES = 50;
/** The SSM Agent's own directory scan limit per file filter; we do not let it be raised. */
const MAX_DIRECTORY_SCAN_LIMIT = 5000;

/**
 * Which managed nodes an `InventoryCollection` reaches.
 *
 * The targets are checked by the construct that uses them (errors name its `targets` prop).
 */
export class InventoryTargets {
  /**
   * Every managed node in the account and Region (`InstanceIds=*`), EC2 instances and hybrid `mi-` nodes alike.
   */
  public static allNodes(): InventoryTargets {
    return new InventoryTargets('all nodes', [{ key: 'InstanceIds', values: ['*'] }]);
  }

  /**
   * Nodes by tag: tag key → accepted values (a node matches a key with any one of its values).
   *
   * Each key becomes one `tag:<key>` target: at most 5 keys, 1 to 50 values each. With several keys, check in a test
   * account which nodes the association selects; one key is the plain case.
   */
  public static tags(tags: { [key: string]: string[] }): InventoryTargets {
    const copy: { [key: string]: string[] } = {};
    for (const [key, values] of Object.entries(tags)) copy[key] = [...values];
    const description = Object.entries(copy).map(([k, v]) => `tag ${k}=${v.join('|')}`).join(', ') || 'no tags';
    const targets = Object.entries(copy).map(([key, values]) => ({ key: `tag:${key}`, values }));
    return new InventoryTargets(description, targets, copy);
  }

  /**
   * The nodes in an AWS Resource Groups group, by name (`resource-groups:Name`).
   */
  public static resourceGroup(name: string): InventoryTargets {
    return new InventoryTargets(`resource group ${name}`, [{ key: 'resource-groups:Name', values: [name] }], undefined, name);
  }

  /**
   * Whether these targets reach every managed node (`InstanceIds=*`).
   */
  public readonly isAllNodes: boolean;

  /**
   * A short description, e.g. `all nodes`, `tag Env=prod|test` or `resource group web`.
   */
  public readonly description: string;

  /** @internal */
  public readonly _targets: ssm.CfnAssociation.TargetProperty[];
  /** @internal */
  public readonly _tags?: { [key: string]: string[] };
  /** @internal */
  public readonly _resourceGroup?: string;

  private constructor(
    description: string,
    targets: ssm.CfnAssociation.TargetProperty[],
    tags?: { [key: string]: string[] },
    resourceGroup?: string,
  ) {
    this.description = description;
    this._targets = targets;
    this._tags = tags;
    this._resourceGroup = resourceGroup;
    this.isAllNodes = tags === undefined && resourceGroup === undefined;
  }

  /**
   * Throws, naming `prop` and the construct path, when the targets break a rule.
   *
   * @internal
   */
  public _validate(scope: IConstruct, prop: string): void {
    if (this._tags) {
      const keys = Object.keys(this._tags);
      if (keys.length < 1 || keys.length > MAX_TARGETS) {
        fail(scope, `\`${prop}\` must use 1 to ${MAX_TARGETS} tag keys (one target each), got: ${keys.length} (${keys.join(', ')})`);
      }
      for (const [key, values] of Object.entries(this._tags)) {
        checkTagKey(scope, prop, key);
        if (values.length < 1 || values.length > MAX_TARGET_VALUES) {
          fail(scope, `\`${prop}\` must give 1 to ${MAX_TARGET_VALUES} values for tag key '${key}', got: ${values.length}`);
        }
        values.forEach((value) => checkTagValue(scope, prop, key, value));
      }
    }
    const group = this._resourceGroup;
    if (group !== undefined && !Token.isUnresolved(group) && !RESOURCE_GROUP_NAME_PATTERN.test(group)) {
      fail(scope, `\`${prop}\` resource group names must be 1 to 300 letters, numbers, _ . or -, got: '${group}'`);
    }
  }
}

/**
 * A file search of the `files` inventory type: files in `path` whose names match any of `patterns`.
 *
 * The SSM Agent collects at most 500 files per node across all filters, and a filter that exceeds that or its
 * `directoryScanLimit` yields no file inventory at all on that node.
 */
export interface InventoryFileFilter {
  /**
   * Directory to search, e.g. `/usr/bin`, `C:\Program Files` or `%PROGRAMFILES%`.
   *
   * Backslashes are written as forward slashes, which is what the SSM Agent turns them into before it reads the filter.
   */
  readonly path: string;

  /**
   * File name patterns (`*` and `?` wildcards), e.g. `['*.exe']`; at least one, matched against file names only.
   */
  readonly patterns: string[];

  /**
   * Whether to search subdirectories too.
   *
   * @default false
   */
  readonly recursive?: boolean;

  /**
   * Most directories to scan (1 to 5000), to limit the load on nodes of a recursive search.
   *
   * The SSM Agent's own limit is 5000, and this construct does not let it be raised.
   *
   * @default - the SSM Agent's limit, 5000
   */
  readonly directoryScanLimit?: number;
}

/**
 * A Windows registry key of the `windowsRegistry` inventory type.
 *
 * The SSM Agent collects at most 250 registry values per node across all filters.
 */
export interface InventoryRegistryFilter {
  /**
   * Key path starting with a full hive name (`HKEY_LOCAL_MACHINE`, `HKEY_CURRENT_USER`, `HKEY_USERS`,
   * `HKEY_CLASSES_ROOT` or `HKEY_CURRENT_CONFIG`), e.g. `HKEY_LOCAL_MACHINE\SOFTWARE\Amazon`.
   *
   * Backslashes are written as forward slashes, which is what the SSM Agent turns them into before it reads the filter.
   */
  readonly path: string;

  /**
   * Whether to collect the values of subkeys too.
   *
   * @default false
   */
  readonly recursive?: boolean;

  /**
   * Collect only these values of the key (ignores `recursive`).
   *
   * @default - every value of the key
   */
  readonly valueNames?: string[];
}

/**
 * Properties for an `InventoryCollection`.
 */
export interface InventoryCollectionProps {
  /**
   * Which managed nodes report inventory.
   *
   * @default InventoryTargets.allNodes() (every managed node, hybrid `mi-` nodes included)
   */
  readonly targets?: InventoryTargets;

  /**
   * How often inventory is collected: a rate from 30 minutes to less than 31 days, or a cron (AWS recommends rates for
   * inventory). One-time `at(...)` schedules are refused. The association also runs when it is created and when a
   * node joins the targets.
   *
   * @default AssociationSchedule.rate(Duration.minutes(30)) (as Quick Setup host management)
   */
  readonly schedule?: AssociationSchedule;

  /**
   * Run only at the cron times, not also when the association is created or a node joins (cron schedules only).
   *
   * @default false
   */
  readonly applyOnlyAtCronInterval?: boolean;

  /**
   * Name of the association (3 to 128 letters, numbers, `_`, `-` and `.`).
   *
   * @default - no name
   */
  readonly associationName?: string;

  /**
   * How many nodes collect at once (a number, or a percentage of the targets).
   *
   * Set explicitly because AWS documents two different defaults for an unset value.
   *
   * @default '10%'
   */
  readonly maxConcurrency?: string;

  /**
   * How many failures stop the run on the remaining nodes until the next scheduled run (a number or a percentage).
   *
   * @default '10%'
   */
  readonly maxErrors?: string;

  /**
   * Collect installed applications and packages (`AWS:Application`).
   *
   * @default true
   */
  readonly applications?: boolean;

  /**
   * Collect AWS components such as the SSM Agent and EC2 drivers (`AWS:AWSComponent`).
   *
   * @default true
   */
  readonly awsComponents?: boolean;

  /**
   * Collect network configuration (`AWS:Network`).
   *
   * @default true
   */
  readonly networkConfig?: boolean;

  /**
   * Collect CPU and OS details (`AWS:InstanceDetailedInformation`).
   *
   * @default true
   */
  readonly instanceDetailedInformation?: boolean;

  /**
   * Collect Windows services and Linux daemons (`AWS:Service`). Needs SSM Agent 2.2.64.0 or later.
   *
   * @default true
   */
  readonly services?: boolean;

  /**
   * Collect Windows server roles and features (`AWS:WindowsRole`, Windows only). Needs SSM Agent 2.2.64.0 or later.
   *
   * @default true
   */
  readonly windowsRoles?: boolean;

  /**
   * Collect installed Windows updates (`AWS:WindowsUpdate`, Windows only).
   *
   * @default true
   */
  readonly windowsUpdates?: boolean;

  /**
   * Collect custom inventory that nodes write to their local custom inventory folder.
   *
   * @default true
   */
  readonly customInventory?: boolean;

  /**
   * Collect metadata of these files (`AWS:File`). Needs SSM Agent 2.2.64.0 or later.
   *
   * @default - no files (the parameter is left out, so the document's default, an empty string, applies)
   */
  readonly files?: InventoryFileFilter[];

  /**
   * Collect these Windows registry keys (`AWS:WindowsRegistry`, Windows only). Needs SSM Agent 2.2.64.0 or later.
   *
   * @default - no registry keys (the parameter is left out, so the document's default, an empty string, applies)
   */
  readonly windowsRegistry?: InventoryRegistryFilter[];
}

/**
 * Define inventory collection: one State Manager association of the AWS-owned `AWS-GatherSoftwareInventory` document.
 *
 * Every inventory type of the document is set explicitly (all enabled by default). `billingInfo` is left out: that
 * parameter could not be verified to exist in the document. `files`, `services`, `windowsRoles` and
 * `windowsRegistry` need SSM Agent 2.2.64.0 or later on the nodes.
 *
 * **One inventory association per node.** A node that gets two `AWS-GatherSoftwareInventory` associations runs
 * neither. Synthesis therefore fails when two collections in one stack both reach all nodes, when one reaches all
 * nodes and another exists, or when they share a tag key and value or a resource group. Other stacks, and
 * associations made in the console or by other tools, are not visible to this check: when Amazon Inspector, Quick
 * Setup host management or another tool already collects inventory in an account and Region, do not define an
 * `InventoryCollection` there; deploy only an `InventoryDataSync` to export what is already collected.
 *
 * The association never waits for success during deployment (`WaitForSuccessTimeoutSeconds` is not set): offline
 * hybrid nodes would otherwise fail the deployment.
 *
 * @resource AWS::SSM::Association
 * @see https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-inventory-configuring.html
 */
export class InventoryCollection extends Construct {
  /**
   * The association id.
   *
   * @attribute
   */
  public readonly associationId: string;

  /** The association name, when one was given. */
  public readonly associationName?: string;

  /** The nodes that report inventory. */
  public readonly targets: InventoryTargets;

  /** When inventory is collected. */
  public readonly schedule: AssociationSchedule;

  /** Whether this collection passed the one-association-per-node check (a refused one stays in the tree). */
  private registered = false;

  constructor(scope: Construct, id: string, props: InventoryCollectionProps = {}) {
    super(scope, id);
    ensureQuotaGuard(this);
    const targets = props.targets ?? InventoryTargets.allNodes();
    const schedule = props.schedule ?? AssociationSchedule.rate(Duration.minutes(30));
    const maxConcurrency = props.maxConcurrency ?? '10%';
    const maxErrors = props.maxErrors ?? '10%';

    targets._validate(this, 'targets');
    this.validateSchedule(schedule, props.applyOnlyAtCronInterval);
    this.validateAssociationName(props.associationName);
    checkRateControl(this, 'maxConcurrency', maxConcurrency, 'concurrency');
    checkRateControl(this, 'maxErrors', maxErrors, 'errors');
    const files = this.renderFiles(props.files ?? []);
    const windowsRegistry = this.renderRegistry(props.windowsRegistry ?? []);
    this.targets = targets;
    this.schedule = schedule;
    this.register();

    const association = new ssm.CfnAssociation(this, 'Resource', {
      name: DOCUMENT_NAME,
      associationName: props.associationName,
      targets: targets._targets,
      scheduleExpression: schedule.expressionString,
      applyOnlyAtCronInterval: props.applyOnlyAtCronInterval ? true : undefined,
      maxConcurrency,
      maxErrors,
      parameters: {
        applications: [enabled(props.applications)],
        awsComponents: [enabled(props.awsComponents)],
        networkConfig: [enabled(props.networkConfig)],
        instanceDetailedInformation: [enabled(props.instanceDetailedInformation)],
        services: [enabled(props.services)],
        windowsRoles: [enabled(props.windowsRoles)],
        windowsUpdates: [enabled(props.windowsUpdates)],
        customInventory: [enabled(props.customInventory)],
        ...(files ? { files: [files] } : {}),
        ...(windowsRegistry ? { windowsRegistry: [windowsRegistry] } : {}),
      },
    });
    this.associationId = association.attrAssociationId;
    this.associationName = props.associationName;
  }

  private validateSchedule(schedule: AssociationSchedule, applyOnlyAtCronInterval?: boolean): void {
    schedule._validate(this, 'schedule');
    const expression = schedule.expressionString;
    if (Token.isUnresolved(expression)) return;
    if (expression.startsWith('at(')) {
      fail(
        this,
        `\`schedule\` must recur for inventory (a rate of at least 30 minutes and less than 31 days, or a cron), not run once, got: '${expression}'`,
      );
    }
    if (applyOnlyAtCronInterval && !schedule.isCron) {
      fail(this, `\`applyOnlyAtCronInterval\` needs a cron \`schedule\` (State Manager rejects it with rates), got: '${expression}'`);
    }
  }

  private validateAssociationName(name?: string): void {
    if (name === undefined || Token.isUnresolved(name)) return;
    checkSsmName(this, 'associationName', name);
  }

  /** The `files` parameter: a JSON list of filters, or undefined for none. */
  private renderFiles(filters: InventoryFileFilter[]): string | undefined {
    if (filters.length === 0) return undefined;
    const rendered = filters.map((filter, i) => {
      const prop = `files[${i}]`;
      checkPath(this, `${prop}.path`, filter.path);
      if (filter.patterns.length === 0) {
        fail(this, `\`${prop}.patterns\` must list at least one file name pattern, got: []`);
      }
      for (const pattern of filter.patterns) {
        if (Token.isUnresolved(pattern)) continue;
        if (pattern.length === 0 || /[\\/]/.test(pattern)) {
          fail(this, `\`${prop}.patterns\` must be non-empty file name patterns without / or \\, got: '${pattern}'`);
        }
      }
      checkIntegerRange(this, `${prop}.directoryScanLimit`, filter.directoryScanLimit, 1, MAX_DIRECTORY_SCAN_LIMIT);
      if (filter.directoryScanLimit !== undefined && !filter.recursive) {
        Annotations.of(this).addWarningV2(
          'cdk-ssm-hybrid-fleet:inventoryDirectoryScanLimitNotRecursive',
          `\`${prop}.directoryScanLimit\` has no effect without \`recursive: true\` (only '${filter.path}' itself is scanned)`,
        );
      }
      return {
        Path: toForwardSlashes(filter.path),
        Pattern: [...filter.patterns],
        Recursive: filter.recursive ?? false,
        ...(filter.directoryScanLimit !== undefined ? { DirScanLimit: filter.directoryScanLimit } : {}),
      };
    });
    return Stack.of(this).toJsonString(rendered);
  }

  /** The `windowsRegistry` parameter: a JSON list of filters, or undefined for none. */
  private renderRegistry(filters: InventoryRegistryFilter[]): string | undefined {
    if (filters.length === 0) return undefined;
    const rendered = filters.map((filter, i) => {
      const prop = `windowsRegistry[${i}]`;
      checkPath(this, `${prop}.path`, filter.path);
      const path = toForwardSlashes(filter.path);
      if (!Token.isUnresolved(path) && !REGISTRY_HIVE_PATTERN.test(path)) {
        fail(
          this,
          `\`${prop}.path\` must start with HKEY_LOCAL_MACHINE, HKEY_CURRENT_USER, HKEY_USERS, HKEY_CLASSES_ROOT or HKEY_CURRENT_CONFIG, got: '${filter.path}'`,
        );
      }
      if (filter.valueNames !== undefined) {
        if (filter.valueNames.length === 0) {
          fail(this, `\`${prop}.valueNames\` must list at least one value name, or be left out to collect every value, got: []`);
        }
        for (const name of filter.valueNames) {
          if (!Token.isUnresolved(name) && name.length === 0) {
            fail(this, `\`${prop}.valueNames\` must not contain an empty value name, got: ''`);
          }
        }
      }
      return {
        Path: path,
        Recursive: filter.recursive ?? false,
        ...(filter.valueNames !== undefined ? { ValueNames: [...filter.valueNames] } : {}),
      };
    });
    return Stack.of(this).toJsonString(rendered);
  }

  /**
   * Refuses a second inventory association in this stack that could reach a node the first one reaches (a node with
   * two inventory associations runs neither). The stack's tree is the record: no state outside it.
   */
  private register(): void {
    const stack = Stack.of(this);
    const existing = stack.node
      .findAll()
      .filter((c): c is InventoryCollection => c !== this && c instanceof InventoryCollection && c.registered && Stack.of(c) === stack);
    for (const other of existing) {
      const overlap = overlapOf(other.targets, this.targets);
      if (overlap) {
        fail(
          this,
          `\`targets\` must not reach nodes that ${other.node.path} also collects inventory from (${overlap}): a node with two AWS-GatherSoftwareInventory associations runs neither; give each node one InventoryCollection, got: ${this.targets.description}`,
        );
      }
    }
    this.registered = true;
  }
}

/** Why two sets of targets may reach the same node, or undefined when they cannot be shown to. */
function overlapOf(a: InventoryTargets, b: InventoryTargets): string | undefined {
  if (a.isAllNodes && b.isAllNodes) return 'both target all nodes';
  if (a.isAllNodes) return 'it targets all nodes';
  if (b.isAllNodes) return 'this one targets all nodes';
  if (a._resourceGroup !== undefined && a._resourceGroup === b._resourceGroup) {
    return `both target resource group ${a._resourceGroup}`;
  }
  if (a._tags && b._tags) {
    for (const [key, values] of Object.entries(a._tags)) {
      const shared = values.find((value) => b._tags?.[key]?.includes(value));
      if (shared !== undefined) return `both target tag ${key}=${shared}`;
    }
  }
  return undefined;
}

function checkPath(scope: IConstruct, prop: string, path: string): void {
  if (!Token.isUnresolved(path) && path.trim().length === 0) {
    fail(scope, `\`${prop}\` must not be empty, got: '${path}'`);
  }
}

/** The SSM Agent replaces every backslash of the filter JSON with `/` before parsing it; do it here, readably. */
function toForwardSlashes(path: string): string {
  return Token.isUnresolved(path) ? path : path.replace(/\\/g, '/');
}

function enabled(value: boolean | undefined): string {
  return value === false ? 'Disabled' : 'Enabled';
}
