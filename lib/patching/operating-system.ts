import { Token } from 'aws-cdk-lib';

/**
 * Key of a patch filter: the patch property that a filter matches on.
 *
 * Which keys a baseline may use depends on its operating system; see `PatchOperatingSystem.allowedFilterKeys`.
 *
 * @see https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_PatchFilter.html
 */
export enum PatchFilterKey {
  /** Advisory id, such as `ALAS-2017-867`. */
  ADVISORY_ID = 'ADVISORY_ID',
  /** Package architecture, such as `x86_64`. */
  ARCH = 'ARCH',
  /** Bugzilla id. */
  BUGZILLA_ID = 'BUGZILLA_ID',
  /** Update classification, such as `SecurityUpdates` (Windows) or `Security` (Linux, macOS). */
  CLASSIFICATION = 'CLASSIFICATION',
  /** CVE id, such as `CVE-2018-3615`. */
  CVE_ID = 'CVE_ID',
  /** Package epoch. */
  EPOCH = 'EPOCH',
  /** Microsoft Security Response Center severity, such as `Critical` (Windows). */
  MSRC_SEVERITY = 'MSRC_SEVERITY',
  /** Package name. */
  NAME = 'NAME',
  /** Patch id, such as `KB4516046`. */
  PATCH_ID = 'PATCH_ID',
  /** Windows patch set: `OS` or `APPLICATION`. */
  PATCH_SET = 'PATCH_SET',
  /** Package priority on apt-based systems, such as `Required` or `Important`. */
  PRIORITY = 'PRIORITY',
  /**
   * Product (the release); valid for every operating system, `*` matches every release. Per operating system, e.g.
   * `AmazonLinux2023` (`AMAZON_LINUX_2023`), `RedhatEnterpriseLinux8` or `RedhatEnterpriseLinux8.10`
   * (`REDHAT_ENTERPRISE_LINUX`), `Ubuntu22.04` (`UBUNTU`), `WindowsServer2022` (`WINDOWS`). List them with
   * `aws ssm describe-patch-properties --operating-system <OS> --property PRODUCT`
   * (https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_DescribePatchProperties.html).
   */
  PRODUCT = 'PRODUCT',
  /** Windows product family, such as `Windows` or `Office`. */
  PRODUCT_FAMILY = 'PRODUCT_FAMILY',
  /** Package release. */
  RELEASE = 'RELEASE',
  /** Package repository. */
  REPOSITORY = 'REPOSITORY',
  /** Package section on apt-based systems. */
  SECTION = 'SECTION',
  /** Whether a patch is a security update. */
  SECURITY = 'SECURITY',
  /** Update severity on Linux, such as `Critical` or `Important`. */
  SEVERITY = 'SEVERITY',
  /** Package version. */
  VERSION = 'VERSION',
}

/**
 * Operating-system family of a patch baseline.
 */
export enum PatchOperatingSystemFamily {
  /** Windows Server. */
  WINDOWS = 'WINDOWS',
  /** A Linux distribution. */
  LINUX = 'LINUX',
  /** macOS. */
  MACOS = 'MACOS',
}

/** What this library knows about one operating system. */
interface OperatingSystemFacts {
  readonly family: PatchOperatingSystemFamily;
  readonly filterKeys: PatchFilterKey[];
  readonly approvalDelays: boolean;
  /** Set when AWS documents no filter keys for this OS and the keys are presumed from a related one. */
  readonly presumedFrom?: string;
}

const WINDOWS_KEYS = [
  PatchFilterKey.PATCH_SET,
  PatchFilterKey.PRODUCT,
  PatchFilterKey.PRODUCT_FAMILY,
  PatchFilterKey.CLASSIFICATION,
  PatchFilterKey.MSRC_SEVERITY,
];
const RHEL_FAMILY_KEYS = [PatchFilterKey.PRODUCT, PatchFilterKey.CLASSIFICATION, PatchFilterKey.SEVERITY];
const APT_KEYS = [PatchFilterKey.PRODUCT, PatchFilterKey.PRIORITY, PatchFilterKey.SECTION];
const MACOS_KEYS = [PatchFilterKey.PRODUCT, PatchFilterKey.CLASSIFICATION];

const rhelFamily = (presumedFrom?: string): OperatingSystemFacts => ({
  family: PatchOperatingSystemFamily.LINUX,
  filterKeys: RHEL_FAMILY_KEYS,
  approvalDelays: true,
  presumedFrom,
});
const aptFamily = (presumedFrom?: string): OperatingSystemFacts => ({
  family: PatchOperatingSystemFamily.LINUX,
  filterKeys: APT_KEYS,
  approvalDelays: false,
  presumedFrom,
});

/**
 * Operating system of a patch baseline (`AWS::SSM::PatchBaseline.OperatingSystem`).
 *
 * Each constant knows its family, the patch filter keys Systems Manager accepts for it and whether approval rules
 * may delay auto-approval, so that `PatchBaseline` can check a baseline at synth time. For a value Systems Manager
 * added after this library was released, use `PatchOperatingSystem.of()`.
 *
 * The operating system of a baseline cannot change: a different value replaces the baseline.
 */
export class PatchOperatingSystem {
  /** Windows Server. */
  public static readonly WINDOWS = new PatchOperatingSystem('WINDOWS', {
    family: PatchOperatingSystemFamily.WINDOWS,
    filterKeys: WINDOWS_KEYS,
    approvalDelays: true,
  });

  /** Amazon Linux (2018.03). */
  public static readonly AMAZON_LINUX = new PatchOperatingSystem('AMAZON_LINUX', rhelFamily());

  /** Amazon Linux 2. */
  public static readonly AMAZON_LINUX_2 = new PatchOperatingSystem('AMAZON_LINUX_2', rhelFamily());

  /**
   * Amazon Linux 2022.
   *
   * AWS documents no filter keys for it; this library presumes those of Amazon Linux 2023 (`PRODUCT`,
   * `CLASSIFICATION`, `SEVERITY`). Use `PatchOperatingSystem.of('AMAZON_LINUX_2022')` to skip the key check.
   */
  public static readonly AMAZON_LINUX_2022 = new PatchOperatingSystem('AMAZON_LINUX_2022', rhelFamily('AMAZON_LINUX_2023'));

  /** Amazon Linux 2023. */
  public static readonly AMAZON_LINUX_2023 = new PatchOperatingSystem('AMAZON_LINUX_2023', rhelFamily());

  /**
   * Ubuntu Server.
   *
   * Approval rules cannot delay auto-approval (no `approveAfterDays` or `approveUntilDate`). Filter keys: `PRODUCT`,
   * `PRIORITY` and `SECTION`; `SECTION` is listed only by older API documentation.
   */
  public static readonly UBUNTU = new PatchOperatingSystem('UBUNTU', aptFamily());

  /** Red Hat Enterprise Linux. */
  public static readonly REDHAT_ENTERPRISE_LINUX = new PatchOperatingSystem('REDHAT_ENTERPRISE_LINUX', rhelFamily());

  /** SUSE Linux Enterprise Server. */
  public static readonly SUSE = new PatchOperatingSystem('SUSE', rhelFamily());

  /** CentOS and CentOS Stream. */
  public static readonly CENTOS = new PatchOperatingSystem('CENTOS', rhelFamily());

  /** Oracle Linux. */
  public static readonly ORACLE_LINUX = new PatchOperatingSystem('ORACLE_LINUX', rhelFamily());

  /**
   * Debian Server.
   *
   * Approval rules cannot delay auto-approval (no `approveAfterDays` or `approveUntilDate`). Filter keys: `PRODUCT`,
   * `PRIORITY` and, as on Ubuntu, `SECTION`.
   */
  public static readonly DEBIAN = new PatchOperatingSystem('DEBIAN', aptFamily());

  /** macOS. */
  public static readonly MACOS = new PatchOperatingSystem('MACOS', {
    family: PatchOperatingSystemFamily.MACOS,
    filterKeys: MACOS_KEYS,
    approvalDelays: true,
  });

  /**
   * Raspberry Pi OS (formerly Raspbian).
   *
   * AWS documents no filter keys for it; this library presumes those of Debian (`PRODUCT`, `PRIORITY`, `SECTION`),
   * which it is built on, and treats it like Debian for auto-approval delays (none). Use
   * `PatchOperatingSystem.of('RASPBIAN')` to skip these checks.
   */
  public static readonly RASPBIAN = new PatchOperatingSystem('RASPBIAN', aptFamily('DEBIAN'));

  /**
   * Rocky Linux.
   *
   * AWS documents no filter keys for it; this library presumes those of Red Hat Enterprise Linux (`PRODUCT`,
   * `CLASSIFICATION`, `SEVERITY`). Use `PatchOperatingSystem.of('ROCKY_LINUX')` to skip the key check.
   */
  public static readonly ROCKY_LINUX = new PatchOperatingSystem('ROCKY_LINUX', rhelFamily('REDHAT_ENTERPRISE_LINUX'));

  /**
   * AlmaLinux.
   *
   * AWS documents no filter keys for it; this library presumes those of Red Hat Enterprise Linux (`PRODUCT`,
   * `CLASSIFICATION`, `SEVERITY`). Use `PatchOperatingSystem.of('ALMA_LINUX')` to skip the key check.
   */
  public static readonly ALMA_LINUX = new PatchOperatingSystem('ALMA_LINUX', rhelFamily('REDHAT_ENTERPRISE_LINUX'));

  /**
   * An operating system given by its CloudFormation value, without any of this library's checks.
   *
   * Use it for a value Systems Manager added after this library was released, or to bypass a check that is wrong for
   * your case (the presumed filter keys of `AMAZON_LINUX_2022`, `RASPBIAN`, `ROCKY_LINUX` and `ALMA_LINUX`). A
   * baseline for such an operating system gets no filter-key checks, no Linux-only or Windows-only checks and no
   * auto-approval-delay checks beyond "not both `approveAfterDays` and `approveUntilDate`"; Systems Manager checks
   * them at deployment. Presets need a known operating system: only `PatchRules.allUpdates()` works with it. The
   * CloudFormation schema check of aws-cdk-lib (`@aws-cdk/core:validateAgainstDefaultRules`) warns about a value
   * its schema does not list yet.
   *
   * Prefer the constants: `of('UBUNTU')` is not checked like `PatchOperatingSystem.UBUNTU`.
   *
   * @param value the `OperatingSystem` value, such as `AMAZON_LINUX_2025`
   */
  public static of(value: string): PatchOperatingSystem {
    if (!Token.isUnresolved(value) && !/^[A-Z][A-Z0-9_]*$/.test(value)) {
      throw new Error(
        `\`operatingSystem\` must be an upper-case CloudFormation value such as AMAZON_LINUX_2023 (letters, digits and underscores), got: '${value}'`,
      );
    }
    return new PatchOperatingSystem(value, undefined);
  }

  /** The CloudFormation `OperatingSystem` value. */
  public readonly value: string;

  /**
   * The operating-system family.
   *
   * @default - unknown, for an operating system from `PatchOperatingSystem.of()`
   */
  public readonly family?: PatchOperatingSystemFamily;


  /**
   * Whether approval rules may delay auto-approval with `approveAfterDays` or `approveUntilDate`.
   *
   * False for Ubuntu, Debian and Raspberry Pi OS, where Systems Manager does not support delays because release
   * dates are not reliable. True for an operating system from `PatchOperatingSystem.of()` (not checked).
   */
  public readonly supportsApprovalDelays: boolean;

  /**
   * Whether this is a Linux distribution, which allows `enableNonSecurity`, `approvedPatchesEnableNonSecurity` and
   * `sources`.
   */
  public readonly isLinux: boolean;

  /** Whether this library knows the operating system and checks baselines for it (false for `of()`). */
  public readonly isKnown: boolean;

  private readonly presumedFrom?: string;
  private readonly filterKeys?: PatchFilterKey[];

  private constructor(value: string, facts: OperatingSystemFacts | undefined) {
    this.value = value;
    this.family = facts?.family;
    this.filterKeys = facts ? [...facts.filterKeys] : undefined;
    this.supportsApprovalDelays = facts?.approvalDelays ?? true;
    this.isLinux = facts?.family === PatchOperatingSystemFamily.LINUX;
    this.isKnown = facts !== undefined;
    this.presumedFrom = facts?.presumedFrom;
  }

  /**
   * The patch filter keys a baseline for this operating system may use (from `DescribePatchProperties` and the
   * `PatchFilter` API reference).
   *
   * @default - not known and not checked, for an operating system from `PatchOperatingSystem.of()`
   */
  public get allowedFilterKeys(): PatchFilterKey[] | undefined {
    return this.filterKeys ? [...this.filterKeys] : undefined;
  }

  /**
   * Whether a baseline for this operating system may use a filter key (always true when the keys are not known).
   */
  public supportsFilterKey(key: PatchFilterKey): boolean {
    return this.filterKeys === undefined || this.filterKeys.includes(key);
  }

  /**
   * A note for error messages when the allowed filter keys are presumed rather than documented.
   *
   * @internal
   */
  public _presumptionNote(): string {
    return this.presumedFrom
      ? ` (AWS documents no keys for ${this.value}; those of ${this.presumedFrom} are presumed: use PatchOperatingSystem.of('${this.value}') to skip this check)`
      : '';
  }

  /** The CloudFormation value. */
  public toString(): string {
    return this.value;
  }
}
