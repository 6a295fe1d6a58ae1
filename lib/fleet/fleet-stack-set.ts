import { Annotations, CfnParameter, Lazy, Names, Resource, Stack, Token } from 'aws-cdk-lib';
import * as cloudformation from 'aws-cdk-lib/aws-cloudformation';
import { Construct } from 'constructs';
import { FleetStackSetTemplate } from './fleet-stack-set-template';
import {
  StackSetAccountFilter,
  StackSetCallAs,
  StackSetConcurrencyMode,
  StackSetOperationPreferences,
} from './stack-set-operation-preferences';
import { ACCOUNT_ID_PATTERN, checkLength, fail } from '../private/validate';

/** `StackSetName`: https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStackSet.html */
const STACK_SET_NAME_PATTERN = /^[a-zA-Z][a-zA-Z0-9-]{0,127}$/;
/** `DeploymentTargets.OrganizationalUnitIds`: an OU id or the organization root id. */
const OU_ID_PATTERN = /^(ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}|r-[a-z0-9]{4,32})$/;
/** An AWS Region name (`eu-west-1`, `us-gov-west-1`, `ap-southeast-7`); the schema's own pattern is looser. */
const REGION_PATTERN = /^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$/;

/**
 * Accounts and Regions a StackSet deploys to: every account of the organizational units (refined by `accounts`), in
 * every Region listed.
 *
 * The organization's management account never gets a stack instance, even when it is in a targeted organizational
 * unit: deploy the template there as an ordinary stack if it needs it.
 */
export interface FleetStackSetTargetOptions {
  /**
   * Organizational unit ids (`ou-ab12-cdef3456`) or the organization root id (`r-ab12`).
   */
  readonly organizationalUnitIds: string[];

  /**
   * Regions to deploy to in each account (`eu-west-1`).
   */
  readonly regions: string[];

  /**
   * Accounts (12 digits) that refine the organizational units, as `accountFilter` says.
   *
   * @default - every account of the organizational units
   */
  readonly accounts?: string[];

  /**
   * How `accounts` refine the organizational units; required with `accounts`.
   *
   * @default - none (no `accounts`)
   */
  readonly accountFilter?: StackSetAccountFilter;

  /**
   * Template parameter values for these accounts and Regions, overriding the StackSet's `parameters`.
   *
   * @default - the StackSet's `parameters`
   */
  readonly parameterOverrides?: { [name: string]: string };
}

/**
 * Properties of a `FleetStackSet`.
 */
export interface FleetStackSetProps extends FleetStackSetTargetOptions {
  /**
   * The template every stack instance deploys. It must be created in the stack of this `FleetStackSet`.
   */
  readonly template: FleetStackSetTemplate;

  /**
   * Whether the stack of this `FleetStackSet` deploys to the management account (`SELF`) or to a delegated
   * administrator account (`DELEGATED_ADMIN`). The wrong one fails at deploy.
   */
  readonly callAs: StackSetCallAs;

  /**
   * Name of the StackSet: a letter, then up to 127 letters, digits and `-`. Changing it replaces the StackSet (and
   * every stack instance).
   *
   * @default - a name derived from the construct path
   */
  readonly stackSetName?: string;

  /**
   * Description of the StackSet (1 to 1,024 characters).
   *
   * @default - no description
   */
  readonly description?: string;

  /**
   * Deploy to accounts that join a target organizational unit later (and remove the stack instances of accounts that
   * leave, unless `retainStacksOnAccountRemoval`). Automatic deployments ignore `operationPreferences`.
   *
   * @default true
   */
  readonly autoDeployment?: boolean;

  /**
   * Keep the resources of an account's stack instance when the account leaves the target organizational units (the
   * stack is no longer managed by the StackSet). Only with `autoDeployment`.
   *
   * @default false
   */
  readonly retainStacksOnAccountRemoval?: boolean;

  /**
   * How stack-set operations roll out (concurrency, failure tolerance, Region order).
   *
   * @default - CloudFormation's defaults: one account at a time, Regions one after another, stop at the first failure
   */
  readonly operationPreferences?: StackSetOperationPreferences;

  /**
   * Template parameter values for every stack instance. Every template parameter without a default needs one.
   *
   * @default - none
   */
  readonly parameters?: { [name: string]: string };

  /**
   * Let CloudFormation run non-conflicting operations concurrently and queue conflicting ones (an operation started
   * while another runs is queued instead of refused).
   *
   * @default true
   */
  readonly managedExecution?: boolean;
}

/**
 * A service-managed CloudFormation StackSet that deploys a `FleetStackSetTemplate` to every account of organizational
 * units, in the given Regions, and (by default) to accounts that join them later.
 *
 * Prerequisites: AWS Organizations with all features, trusted access for CloudFormation StackSets activated in the
 * management account, and, with `StackSetCallAs.DELEGATED_ADMIN`, the account of this stack registered as a delegated
 * administrator. StackSets never deploy to the management account, even when it is in a targeted organizational
 * unit; automatic deployments to joining accounts ignore `operationPreferences`.
 *
 * @see https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-orgs-manage-auto-deployment.html
 */
export class FleetStackSet extends Resource {
  /** The name of the StackSet. */
  public readonly stackSetName: string;

  /**
   * The id of the StackSet (`<name>:<uuid>`).
   *
   * @attribute
   */
  public readonly stackSetId: string;

  /** The template the stack instances deploy. */
  public readonly template: FleetStackSetTemplate;

  private readonly resource: cloudformation.CfnStackSet;
  private readonly targets: cloudformation.CfnStackSet.StackInstancesProperty[] = [];
  private readonly targetRegions: string[] = [];

  constructor(scope: Construct, id: string, props: FleetStackSetProps) {
    super(scope, id);
    this.template = props.template;
    this.stackSetName = props.stackSetName ?? this.defaultName();
    const autoDeployment = props.autoDeployment ?? true;
    this.validate(props, autoDeployment);

    this.resource = new cloudformation.CfnStackSet(this, 'Resource', {
      stackSetName: this.stackSetName,
      description: props.description,
      permissionModel: 'SERVICE_MANAGED',
      callAs: props.callAs,
      autoDeployment: {
        enabled: autoDeployment,
        retainStacksOnAccountRemoval: autoDeployment ? (props.retainStacksOnAccountRemoval ?? false) : undefined,
      },
      managedExecution: { Active: props.managedExecution ?? true },
      templateUrl: props.template.templateUrl,
      capabilities: Lazy.uncachedList({ produce: () => this.template.capabilities }, { omitEmpty: true }),
      parameters: parameterList(props.parameters),
      operationPreferences: this.renderPreferences(props.operationPreferences),
      stackInstancesGroup: Lazy.any({ produce: () => this.targets }, { omitEmptyArray: true }),
    });
    this.stackSetId = this.resource.attrStackSetId;
    this.addTarget(props);
    this.node.addValidation({ validate: () => this.checkRegionOrder(props.operationPreferences?.regionOrder) });
  }

  /**
   * Adds accounts and Regions to deploy to (another stack instance group, e.g. other Regions for another
   * organizational unit).
   */
  public addTarget(target: FleetStackSetTargetOptions): void {
    checkList(this, 'organizationalUnitIds', target.organizationalUnitIds, OU_ID_PATTERN, 'organizational unit ids (ou-<4 to 32 characters>-<8 to 32 characters>) or a root id (r-<4 to 32 characters>), lower-case letters and digits');
    checkList(this, 'regions', target.regions, REGION_PATTERN, 'AWS Region names such as eu-west-1');
    if (target.accounts !== undefined) {
      checkList(this, 'accounts', target.accounts, ACCOUNT_ID_PATTERN, '12-digit account ids');
      if (target.accountFilter === undefined) {
        fail(this, '`accountFilter` must be set with `accounts` (INTERSECTION, DIFFERENCE or UNION), got: undefined');
      }
    } else if (target.accountFilter !== undefined) {
      fail(this, `\`accountFilter\` needs \`accounts\` to filter by, got: accountFilter ${target.accountFilter} without accounts`);
    }
    if (target.accountFilter === StackSetAccountFilter.UNION) {
      Annotations.of(this).addWarningV2(
        'cdk-ssm-hybrid-fleet:stackSetUnionFilter',
        '`accountFilter` UNION is not supported when CloudFormation creates the StackSet as a resource: the first deployment fails. Create the StackSet without this target, then add it in an update',
      );
    }
    this.node.addValidation({ validate: () => this.unknownParameters('parameterOverrides', target.parameterOverrides) });
    this.targetRegions.push(...target.regions);
    this.targets.push({
      regions: target.regions,
      deploymentTargets: {
        organizationalUnitIds: target.organizationalUnitIds,
        accounts: target.accounts,
        accountFilterType: target.accountFilter,
      },
      parameterOverrides: parameterList(target.parameterOverrides),
    });
  }

  private defaultName(): string {
    const name = Names.uniqueResourceName(this, { maxLength: 128, separator: '-' }).replace(/[^a-zA-Z0-9-]/g, '');
    return /^[a-zA-Z]/.test(name) ? name : `S${name}`.slice(0, 128);
  }

  private validate(props: FleetStackSetProps, autoDeployment: boolean): void {
    if (Stack.of(this) !== props.template.parentStack) {
      fail(
        this,
        `\`template\` must be created in the stack of this FleetStackSet (${Stack.of(this).node.path}), got: a template created in ${props.template.parentStack.node.path}`,
      );
    }
    if (!Object.values(StackSetCallAs).includes(props.callAs)) {
      fail(this, `\`callAs\` must be StackSetCallAs.SELF or StackSetCallAs.DELEGATED_ADMIN, got: ${props.callAs}`);
    }
    if (!Token.isUnresolved(this.stackSetName) && !STACK_SET_NAME_PATTERN.test(this.stackSetName)) {
      fail(this, `\`stackSetName\` must be a letter then up to 127 letters, digits and -, got: '${this.stackSetName}'`);
    }
    checkLength(this, 'description', props.description, 1, 1024);
    if (!autoDeployment && props.retainStacksOnAccountRemoval !== undefined) {
      fail(this, `\`retainStacksOnAccountRemoval\` applies only with \`autoDeployment\`, got: ${props.retainStacksOnAccountRemoval} with autoDeployment false`);
    }
    this.node.addValidation({
      validate: () => [...this.unknownParameters('parameters', props.parameters), ...this.missingParameters(props)],
    });
  }

  private renderPreferences(
    preferences: StackSetOperationPreferences | undefined,
  ): cloudformation.CfnStackSet.OperationPreferencesProperty | undefined {
    if (preferences === undefined) return undefined;
    const prop = 'operationPreferences';
    preferences.maxConcurrentAccounts?._validate(this, `${prop}.maxConcurrentAccounts`);
    preferences.failureTolerance?._validate(this, `${prop}.failureTolerance`);
    const concurrency = preferences.maxConcurrentAccounts;
    const tolerance = preferences.failureTolerance;
    const mode = preferences.concurrencyMode ?? StackSetConcurrencyMode.STRICT_FAILURE_TOLERANCE;
    const concurrentCount = concurrency === undefined ? 1 : concurrency.isPercentage ? undefined : concurrency.value;
    const toleranceCount = tolerance === undefined ? 0 : tolerance.isPercentage ? undefined : tolerance.value;
    if (
      mode === StackSetConcurrencyMode.STRICT_FAILURE_TOLERANCE &&
      concurrentCount !== undefined && toleranceCount !== undefined &&
      !Token.isUnresolved(concurrentCount) && !Token.isUnresolved(toleranceCount) &&
      concurrentCount > toleranceCount + 1
    ) {
      Annotations.of(this).addWarningV2(
        'cdk-ssm-hybrid-fleet:stackSetConcurrencyCapped',
        `\`${prop}.maxConcurrentAccounts\` of ${concurrentCount} accounts is more than failureTolerance + 1 (${toleranceCount + 1}): ` +
          'with STRICT_FAILURE_TOLERANCE (the default concurrencyMode) CloudFormation works on at most failureTolerance + 1 accounts at a time. ' +
          'Raise failureTolerance, or set concurrencyMode SOFT_FAILURE_TOLERANCE',
      );
    }
    const order = preferences.regionOrder;
    if (order !== undefined) {
      checkList(this, `${prop}.regionOrder`, order, REGION_PATTERN, 'AWS Region names such as eu-west-1');
    }
    return {
      maxConcurrentCount: concurrentCount,
      maxConcurrentPercentage: concurrency?.isPercentage ? concurrency.value : undefined,
      failureToleranceCount: toleranceCount,
      failureTolerancePercentage: tolerance?.isPercentage ? tolerance.value : undefined,
      regionConcurrencyType: preferences.regionConcurrency,
      regionOrder: order,
      concurrencyMode: preferences.concurrencyMode,
    };
  }

  /** `regionOrder` lists target Regions only (checked once every target is added). */
  private checkRegionOrder(order: string[] | undefined): string[] {
    if (order === undefined || Token.isUnresolved(order)) return [];
    const known = new Set(this.targetRegions);
    const strangers = order.filter((r) => !Token.isUnresolved(r) && !known.has(r));
    if (strangers.length === 0 || this.targetRegions.some((r) => Token.isUnresolved(r))) return [];
    return [
      `\`operationPreferences.regionOrder\` must list only target Regions (${[...known].join(', ')}), got: ${strangers.join(', ')}`,
    ];
  }

  /** Parameter names must be declared by the template (checked at synth, once the template is complete). */
  private unknownParameters(prop: string, values: { [name: string]: string } | undefined): string[] {
    const declared = templateParameters(this.template);
    const known = declared.size === 0 ? 'the template declares none' : `declared: ${[...declared.keys()].join(', ')}`;
    return Object.keys(values ?? {})
      .filter((name) => !declared.has(name))
      .map((name) => `\`${prop}\` names a parameter the template does not declare (${known}), got: '${name}'`);
  }

  /** Template parameters without a default that the StackSet leaves without a value (checked at synth). */
  private missingParameters(props: FleetStackSetProps): string[] {
    const given = new Set(Object.keys(props.parameters ?? {}));
    const missing = [...templateParameters(this.template)]
      .filter(([name, parameter]) => parameter.default === undefined && !given.has(name))
      .map(([name]) => name);
    if (missing.length === 0) return [];
    return [`\`parameters\` must give every template parameter without a default a value, missing: ${missing.join(', ')}`];
  }
}

/** The template's parameters by logical id (its own, not a nested stack's). */
function templateParameters(template: FleetStackSetTemplate): Map<string, CfnParameter> {
  const parameters = new Map<string, CfnParameter>();
  for (const c of template.node.findAll()) {
    if (c instanceof CfnParameter && Stack.of(c) === template) parameters.set(template.resolve(c.logicalId), c);
  }
  return parameters;
}

function parameterList(values: { [name: string]: string } | undefined): cloudformation.CfnStackSet.ParameterProperty[] | undefined {
  if (values === undefined) return undefined;
  return Object.entries(values).map(([parameterKey, parameterValue]) => ({ parameterKey, parameterValue }));
}

/** A non-empty list of unique values that match `pattern` (tokens skipped). */
function checkList(scope: Construct, prop: string, values: string[], pattern: RegExp, allowed: string): void {
  if (Token.isUnresolved(values)) return;
  if (values.length === 0) fail(scope, `\`${prop}\` must list at least one value (${allowed}), got: []`);
  for (const value of values) {
    if (!Token.isUnresolved(value) && !pattern.test(value)) {
      fail(scope, `\`${prop}\` must be ${allowed}, got: '${value}'`);
    }
  }
  const duplicate = values.find((v, i) => !Token.isUnresolved(v) && values.indexOf(v) !== i);
  if (duplicate !== undefined) fail(scope, `\`${prop}\` must list each value once, got: '${duplicate}' twice`);
}
