import { Token } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { fail } from '../private/validate';

/*
 * The choices of a service-managed StackSet (`FleetStackSet`), as AWS::CloudFormation::StackSet names them:
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-cloudformation-stackset.html and
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackSetOperationPreferences.html.
 */

/**
 * Whether the StackSet is managed from the organization's management account or from a delegated administrator.
 *
 * There is no default: the wrong one fails at deploy ("Account used is not a delegated administrator").
 */
export enum StackSetCallAs {
  /** The stack that holds the StackSet deploys to the organization's management account. */
  SELF = 'SELF',
  /**
   * The stack deploys to a member account registered as a delegated administrator for StackSets
   * (`aws organizations register-delegated-administrator --service-principal member.org.stacksets.cloudformation.amazonaws.com`).
   */
  DELEGATED_ADMIN = 'DELEGATED_ADMIN',
}

/** How `accounts` refine the organizational units of a StackSet target. */
export enum StackSetAccountFilter {
  /** Only the listed accounts of the organizational units. */
  INTERSECTION = 'INTERSECTION',
  /** The organizational units except the listed accounts. */
  DIFFERENCE = 'DIFFERENCE',
  /**
   * The organizational units plus the listed accounts. CloudFormation does not support it when the StackSet is
   * created as a resource (the first deployment fails); add such a target in an update.
   */
  UNION = 'UNION',
}

/** Whether a StackSet operation deploys to one Region after another or to all at once. */
export enum StackSetRegionConcurrency {
  /** One Region at a time, in `regionOrder` (CloudFormation's default). */
  SEQUENTIAL = 'SEQUENTIAL',
  /** All Regions at the same time. */
  PARALLEL = 'PARALLEL',
}

/** How the failure tolerance bounds the concurrency of a StackSet operation. */
export enum StackSetConcurrencyMode {
  /**
   * CloudFormation's default: at most failure tolerance + 1 accounts at a time, lowered further as accounts fail.
   */
  STRICT_FAILURE_TOLERANCE = 'STRICT_FAILURE_TOLERANCE',
  /** Runs at the maximum concurrency whatever the failures, until the failure tolerance is exceeded. */
  SOFT_FAILURE_TOLERANCE = 'SOFT_FAILURE_TOLERANCE',
}

/**
 * How many accounts per Region a StackSet operation works on at once: a count or a percentage of the target accounts.
 */
export class StackSetMaxConcurrentAccounts {
  /**
   * At most `count` accounts at a time.
   *
   * @param count at least 1
   */
  public static count(count: number): StackSetMaxConcurrentAccounts {
    return new StackSetMaxConcurrentAccounts(count, false);
  }

  /**
   * At most `percentage` % of the target accounts at a time (rounded down, at least one).
   *
   * @param percentage 1 to 100
   */
  public static percentage(percentage: number): StackSetMaxConcurrentAccounts {
    return new StackSetMaxConcurrentAccounts(percentage, true);
  }

  /** The count or the percentage. */
  public readonly value: number;

  /** Whether `value` is a percentage. */
  public readonly isPercentage: boolean;

  private constructor(value: number, isPercentage: boolean) {
    this.value = value;
    this.isPercentage = isPercentage;
  }

  /**
   * Checks the value for the construct that uses it.
   *
   * @internal
   */
  public _validate(scope: IConstruct, prop: string): void {
    if (this.isPercentage) checkWhole(scope, `${prop}.percentage`, this.value, 1, 100);
    else checkWhole(scope, `${prop}.count`, this.value, 1, undefined);
  }
}

/**
 * How many accounts per Region may fail before a StackSet operation stops in that Region (and does not start the
 * next ones): a count or a percentage of the target accounts.
 */
export class StackSetFailureTolerance {
  /**
   * Stop after more than `count` failed accounts.
   *
   * @param count at least 0
   */
  public static count(count: number): StackSetFailureTolerance {
    return new StackSetFailureTolerance(count, false);
  }

  /**
   * Stop after more than `percentage` % of the target accounts failed (rounded down).
   *
   * @param percentage 0 to 100
   */
  public static percentage(percentage: number): StackSetFailureTolerance {
    return new StackSetFailureTolerance(percentage, true);
  }

  /** The count or the percentage. */
  public readonly value: number;

  /** Whether `value` is a percentage. */
  public readonly isPercentage: boolean;

  private constructor(value: number, isPercentage: boolean) {
    this.value = value;
    this.isPercentage = isPercentage;
  }

  /**
   * Checks the value for the construct that uses it.
   *
   * @internal
   */
  public _validate(scope: IConstruct, prop: string): void {
    if (this.isPercentage) checkWhole(scope, `${prop}.percentage`, this.value, 0, 100);
    else checkWhole(scope, `${prop}.count`, this.value, 0, undefined);
  }
}

/**
 * How CloudFormation runs the operations of a StackSet (creating and updating its stack instances).
 *
 * They do not apply to automatic deployments, which CloudFormation runs when an account joins a target
 * organizational unit.
 */
export interface StackSetOperationPreferences {
  /**
   * How many accounts per Region an operation works on at once.
   *
   * With `StackSetConcurrencyMode.STRICT_FAILURE_TOLERANCE`, CloudFormation works on at most `failureTolerance` + 1
   * accounts at a time whatever this says.
   *
   * @default StackSetMaxConcurrentAccounts.count(1)
   */
  readonly maxConcurrentAccounts?: StackSetMaxConcurrentAccounts;

  /**
   * How many accounts per Region may fail before the operation stops in that Region.
   *
   * @default StackSetFailureTolerance.count(0)
   */
  readonly failureTolerance?: StackSetFailureTolerance;

  /**
   * Whether Regions are deployed one after another or all at once.
   *
   * @default StackSetRegionConcurrency.SEQUENTIAL
   */
  readonly regionConcurrency?: StackSetRegionConcurrency;

  /**
   * The order of the Regions (with `SEQUENTIAL`): a subset of the StackSet's target Regions, each once.
   *
   * @default - CloudFormation's order
   */
  readonly regionOrder?: string[];

  /**
   * How the failure tolerance bounds the concurrency.
   *
   * @default StackSetConcurrencyMode.STRICT_FAILURE_TOLERANCE
   */
  readonly concurrencyMode?: StackSetConcurrencyMode;
}

function checkWhole(scope: IConstruct, prop: string, value: number, min: number, max: number | undefined): void {
  if (Token.isUnresolved(value)) return;
  if (!Number.isInteger(value) || value < min || (max !== undefined && value > max)) {
    const allowed = max === undefined ? `a whole number of at least ${min}` : `a whole number from ${min} to ${max}`;
    fail(scope, `\`${prop}\` must be ${allowed}, got: ${value}`);
  }
}
