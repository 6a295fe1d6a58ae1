import { Lazy } from 'aws-cdk-lib';
import { PatchFilterKey, PatchOperatingSystem, PatchOperatingSystemFamily } from '../../lib';

const K = PatchFilterKey;
const F = PatchOperatingSystemFamily;

/**
 * Every constant, with its filter keys from DescribePatchProperties
 * (https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_DescribePatchProperties.html; the rows of
 * operating systems that page does not list carry the presumed family's keys).
 */
const TABLE: [PatchOperatingSystem, string, PatchOperatingSystemFamily, PatchFilterKey[], boolean][] = [
  [PatchOperatingSystem.WINDOWS, 'WINDOWS', F.WINDOWS, [K.PATCH_SET, K.PRODUCT, K.PRODUCT_FAMILY, K.CLASSIFICATION, K.MSRC_SEVERITY], true],
  [PatchOperatingSystem.AMAZON_LINUX, 'AMAZON_LINUX', F.LINUX, [K.PRODUCT, K.CLASSIFICATION, K.SEVERITY], true],
  [PatchOperatingSystem.AMAZON_LINUX_2, 'AMAZON_LINUX_2', F.LINUX, [K.PRODUCT, K.CLASSIFICATION, K.SEVERITY], true],
  [PatchOperatingSystem.AMAZON_LINUX_2022, 'AMAZON_LINUX_2022', F.LINUX, [K.PRODUCT, K.CLASSIFICATION, K.SEVERITY], true],
  [PatchOperatingSystem.AMAZON_LINUX_2023, 'AMAZON_LINUX_2023', F.LINUX, [K.PRODUCT, K.CLASSIFICATION, K.SEVERITY], true],
  [PatchOperatingSystem.UBUNTU, 'UBUNTU', F.LINUX, [K.PRODUCT, K.PRIORITY, K.SECTION], false],
  [PatchOperatingSystem.REDHAT_ENTERPRISE_LINUX, 'REDHAT_ENTERPRISE_LINUX', F.LINUX, [K.PRODUCT, K.CLASSIFICATION, K.SEVERITY], true],
  [PatchOperatingSystem.SUSE, 'SUSE', F.LINUX, [K.PRODUCT, K.CLASSIFICATION, K.SEVERITY], true],
  [PatchOperatingSystem.CENTOS, 'CENTOS', F.LINUX, [K.PRODUCT, K.CLASSIFICATION, K.SEVERITY], true],
  [PatchOperatingSystem.ORACLE_LINUX, 'ORACLE_LINUX', F.LINUX, [K.PRODUCT, K.CLASSIFICATION, K.SEVERITY], true],
  [PatchOperatingSystem.DEBIAN, 'DEBIAN', F.LINUX, [K.PRODUCT, K.PRIORITY, K.SECTION], false],
  [PatchOperatingSystem.MACOS, 'MACOS', F.MACOS, [K.PRODUCT, K.CLASSIFICATION], true],
  [PatchOperatingSystem.RASPBIAN, 'RASPBIAN', F.LINUX, [K.PRODUCT, K.PRIORITY, K.SECTION], false],
  [PatchOperatingSystem.ROCKY_LINUX, 'ROCKY_LINUX', F.LINUX, [K.PRODUCT, K.CLASSIFICATION, K.SEVERITY], true],
  [PatchOperatingSystem.ALMA_LINUX, 'ALMA_LINUX', F.LINUX, [K.PRODUCT, K.CLASSIFICATION, K.SEVERITY], true],
];

test('PatchOperatingSystem: one constant per CloudFormation OperatingSystem value', () => {
  const values = TABLE.map(([os]) => os.value);
  expect(new Set(values).size).toBe(15);
  const statics = Object.values(PatchOperatingSystem).filter((v): v is PatchOperatingSystem => v instanceof PatchOperatingSystem);
  expect(statics.map((os) => os.value).sort()).toEqual([...values].sort());
});

test.each(TABLE)('PatchOperatingSystem %s: value, family, filter keys and delay support', (os, value, family, keys, delays) => {
  expect(os.value).toBe(value);
  expect(os.toString()).toBe(value);
  expect(os.family).toBe(family);
  expect([...os.allowedFilterKeys!].sort()).toEqual([...keys].sort());
  expect(os.supportsApprovalDelays).toBe(delays);
  expect(os.isLinux).toBe(family === F.LINUX);
  expect(os.isKnown).toBe(true);
  for (const key of Object.values(PatchFilterKey)) {
    expect(os.supportsFilterKey(key)).toBe(keys.includes(key));
  }
});

test('PatchOperatingSystem: PRODUCT is valid for every operating system', () => {
  for (const [os] of TABLE) expect(os.supportsFilterKey(K.PRODUCT)).toBe(true);
});

test('PatchOperatingSystem: allowedFilterKeys is a copy the caller cannot use to change the checks', () => {
  PatchOperatingSystem.MACOS.allowedFilterKeys!.push(K.SEVERITY);
  expect(PatchOperatingSystem.MACOS.supportsFilterKey(K.SEVERITY)).toBe(false);
});

test('PatchOperatingSystem: PatchFilterKey has the 19 keys of the PatchFilter API', () => {
  expect(Object.values(PatchFilterKey).sort()).toEqual([
    'ADVISORY_ID', 'ARCH', 'BUGZILLA_ID', 'CLASSIFICATION', 'CVE_ID', 'EPOCH', 'MSRC_SEVERITY', 'NAME', 'PATCH_ID',
    'PATCH_SET', 'PRIORITY', 'PRODUCT', 'PRODUCT_FAMILY', 'RELEASE', 'REPOSITORY', 'SECTION', 'SECURITY', 'SEVERITY',
    'VERSION',
  ]);
});

test('PatchOperatingSystem.of: an unknown operating system is not checked', () => {
  const os = PatchOperatingSystem.of('AMAZON_LINUX_2025');
  expect(os.value).toBe('AMAZON_LINUX_2025');
  expect(os.isKnown).toBe(false);
  expect(os.family).toBeUndefined();
  expect(os.allowedFilterKeys).toBeUndefined();
  expect(os.isLinux).toBe(false);
  expect(os.supportsApprovalDelays).toBe(true);
  for (const key of Object.values(PatchFilterKey)) expect(os.supportsFilterKey(key)).toBe(true);
});

test('PatchOperatingSystem.of: a known value is an unchecked escape hatch, not the constant', () => {
  const os = PatchOperatingSystem.of('ROCKY_LINUX');
  expect(os).not.toBe(PatchOperatingSystem.ROCKY_LINUX);
  expect(os.isKnown).toBe(false);
  expect(os.supportsFilterKey(K.PRIORITY)).toBe(true);
});

test('PatchOperatingSystem.of: a token is accepted as is', () => {
  const token = Lazy.string({ produce: () => 'UBUNTU' });
  expect(PatchOperatingSystem.of(token).value).toBe(token);
});

test.each(['', 'ubuntu', 'AMAZON LINUX', '2023_AL', 'AMAZON-LINUX'])('PatchOperatingSystem.of rejects %p', (value) => {
  expect(() => PatchOperatingSystem.of(value)).toThrow(
    new RegExp(`^\`operatingSystem\` must be an upper-case CloudFormation value such as AMAZON_LINUX_2023 \\(letters, digits and underscores\\), got: '${value}'$`),
  );
});
