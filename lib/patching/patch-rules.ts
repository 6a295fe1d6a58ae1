import { PatchFilterKey, PatchOperatingSystem, PatchOperatingSystemFamily } from './operating-system';

/**
 * Compliance severity that Systems Manager reports for a node that is missing an approved patch.
 */
export enum PatchComplianceLevel {
  /** Critical. */
  CRITICAL = 'CRITICAL',
  /** High. */
  HIGH = 'HIGH',
  /** Medium. */
  MEDIUM = 'MEDIUM',
  /** Low. */
  LOW = 'LOW',
  /** Informational. */
  INFORMATIONAL = 'INFORMATIONAL',
  /** Unspecified (the service default). */
  UNSPECIFIED = 'UNSPECIFIED',
}


/**
 * A patch filter: patches whose property `key` has one of `values`.
 */
export interface PatchFilter {
  /**
   * The patch property to match.
   *
   * It must be one of the keys of the baseline's operating system (`PatchOperatingSystem.allowedFilterKeys`).
   */
  readonly key: PatchFilterKey;

  /**
   * Values to match: 1 to 20, each 1 to 64 characters; `*` matches any value.
   *
   * Values are Systems Manager data (list them with `aws ssm describe-patch-properties`) and are matched exactly.
   */
  readonly values: string[];
}

/**
 * A rule that approves the patches matching its filters.
 */
export interface PatchApprovalRule {
  /**
   * Patches must match every filter (1 to 4 filters).
   */
  readonly filters: PatchFilter[];

  /**
   * Approve a patch this many days (0 to 360) after its release.
   *
   * Set exactly one of `approveAfterDays` and `approveUntilDate`, except on Ubuntu, Debian and Raspberry Pi OS, where
   * Systems Manager supports no delay and neither may be set.
   *
   * @default - no delay in days
   */
  readonly approveAfterDays?: number;

  /**
   * Approve patches released on or before this date, as `YYYY-MM-DD` (UTC).
   *
   * @default - no cutoff date
   */
  readonly approveUntilDate?: string;

  /**
   * Compliance severity reported for a node missing a patch this rule approves.
   *
   * @default PatchComplianceLevel.UNSPECIFIED
   */
  readonly complianceLevel?: PatchComplianceLevel;

  /**
   * Also approve non-security updates from the node's repositories (Linux only).
   *
   * @default false
   */
  readonly enableNonSecurity?: boolean;
}

/**
 * Options of a `PatchRules` preset.
 */
export interface PatchRuleOptions {
  /**
   * The operating system of the baseline the rule is for; it decides the filters.
   */
  readonly operatingSystem: PatchOperatingSystem;

  /**
   * Approve a patch this many days (0 to 360) after its release.
   *
   * Not supported on Ubuntu, Debian and Raspberry Pi OS.
   *
   * @default - 7 where the operating system supports delays and `approveUntilDate` is not set; otherwise none
   */
  readonly approveAfterDays?: number;

  /**
   * Approve patches released on or before this date, as `YYYY-MM-DD` (UTC), instead of after a delay.
   *
   * @default - none
   */
  readonly approveUntilDate?: string;

  /**
   * Compliance severity reported for a node missing a patch the rule approves.
   *
   * @default - PatchComplianceLevel.CRITICAL for `criticalAndSecurity()`, PatchComplianceLevel.UNSPECIFIED for
   * `allUpdates()`
   */
  readonly complianceLevel?: PatchComplianceLevel;

  /**
   * Also approve non-security updates from the node's repositories (Linux only).
   *
   * @default false
   */
  readonly enableNonSecurity?: boolean;
}

/**
 * Approval rules for common intents, with the right filters for each operating-system family.
 */
export class PatchRules {
  /**
   * Critical and security updates.
   *
   * - Windows: `CLASSIFICATION` `CriticalUpdates`, `SecurityUpdates` and `MSRC_SEVERITY` `Critical`, `Important`.
   * - Amazon Linux, RHEL, CentOS, Oracle Linux, SUSE, Rocky Linux, AlmaLinux: `CLASSIFICATION` `Security` and
   *   `SEVERITY` `Critical`, `Important`.
   * - Ubuntu, Debian, Raspberry Pi OS: `PRIORITY` `Required`, `Important`, approved without delay (these systems
   *   support none).
   * - macOS: `CLASSIFICATION` `Security`.
   *
   * An operating system from `PatchOperatingSystem.of()` has no known filters: write the rule yourself.
   */
  public static criticalAndSecurity(options: PatchRuleOptions): PatchApprovalRule {
    const os = options.operatingSystem;
    return {
      filters: criticalAndSecurityFilters(os),
      ...approvalTiming(options),
      complianceLevel: options.complianceLevel ?? PatchComplianceLevel.CRITICAL,
      enableNonSecurity: options.enableNonSecurity,
    };
  }

  /**
   * Every update: one filter `PRODUCT` `*`, valid for every operating system (also one from
   * `PatchOperatingSystem.of()`).
   *
   * On Linux, updates that are not in the repositories' update notices need `enableNonSecurity` as well.
   */
  public static allUpdates(options: PatchRuleOptions): PatchApprovalRule {
    return {
      filters: [{ key: PatchFilterKey.PRODUCT, values: ['*'] }],
      ...approvalTiming(options),
      complianceLevel: options.complianceLevel,
      enableNonSecurity: options.enableNonSecurity,
    };
  }

  private constructor() {}
}

function criticalAndSecurityFilters(os: PatchOperatingSystem): PatchFilter[] {
  if (!os.isKnown) {
    throw new Error(
      `\`operatingSystem\` must be a PatchOperatingSystem constant for PatchRules.criticalAndSecurity() (the filters of an unknown operating system are not known; write the rule yourself), got: ${os.value}`,
    );
  }
  if (os.family === PatchOperatingSystemFamily.WINDOWS) {
    return [
      { key: PatchFilterKey.CLASSIFICATION, values: ['CriticalUpdates', 'SecurityUpdates'] },
      { key: PatchFilterKey.MSRC_SEVERITY, values: ['Critical', 'Important'] },
    ];
  }
  if (os.family === PatchOperatingSystemFamily.MACOS) {
    return [{ key: PatchFilterKey.CLASSIFICATION, values: ['Security'] }];
  }
  if (os.supportsFilterKey(PatchFilterKey.PRIORITY)) {
    return [{ key: PatchFilterKey.PRIORITY, values: ['Required', 'Important'] }];
  }
  return [
    { key: PatchFilterKey.CLASSIFICATION, values: ['Security'] },
    { key: PatchFilterKey.SEVERITY, values: ['Critical', 'Important'] },
  ];
}

/** The approval timing of a preset: the given one, else 7 days where the operating system supports a delay. */
function approvalTiming(options: PatchRuleOptions): { approveAfterDays?: number; approveUntilDate?: string } {
  if (options.approveAfterDays !== undefined || options.approveUntilDate !== undefined) {
    return { approveAfterDays: options.approveAfterDays, approveUntilDate: options.approveUntilDate };
  }
  return options.operatingSystem.supportsApprovalDelays ? { approveAfterDays: 7 } : {};
}
