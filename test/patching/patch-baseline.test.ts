import { App, CfnResource, Lazy, Stack, Token, Validations } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import {
  AvailableSecurityUpdatesComplianceStatus,
  PatchApprovalRule,
  PatchBaseline,
  PatchBaselineProps,
  PatchComplianceLevel,
  PatchFilterKey,
  PatchOperatingSystem,
  PatchRules,
  RejectedPatchesAction,
} from '../../lib';
import { allFindings, testApp } from '../support/gates';

const K = PatchFilterKey;
const OS = PatchOperatingSystem;
const AL2023 = OS.AMAZON_LINUX_2023;
const SECURITY: PatchApprovalRule = { filters: [{ key: K.CLASSIFICATION, values: ['Security'] }], approveAfterDays: 7 };
const TYPE = 'AWS::SSM::PatchBaseline';

let app: App;
let stack: Stack;
beforeEach(() => {
  app = testApp();
  stack = new Stack(app, 'TestStack');
});

function baseline(props: Partial<PatchBaselineProps> = {}): PatchBaseline {
  return new PatchBaseline(stack, 'Baseline', { operatingSystem: AL2023, approvalRules: [SECURITY], ...props });
}

function baselineProps(template: Template): Record<string, unknown> {
  const resources = Object.values(template.findResources(TYPE));
  expect(resources).toHaveLength(1);
  return (resources[0] as { Properties: Record<string, unknown> }).Properties;
}

describe('PatchBaseline defaults', () => {
  test('renders the operating system, a name derived from the construct path and the rules, nothing else', () => {
    const b = baseline();
    const template = Template.fromStack(stack);
    template.resourceCountIs(TYPE, 1);
    const props = baselineProps(template);
    expect(props).toEqual({
      Name: expect.stringMatching(/^TestStack-Baseline-[A-Z0-9]{8}$/),
      OperatingSystem: 'AMAZON_LINUX_2023',
      ApprovalRules: {
        PatchRules: [{ PatchFilterGroup: { PatchFilters: [{ Key: 'CLASSIFICATION', Values: ['Security'] }] }, ApproveAfterDays: 7 }],
      },
    });
    expect(props.Name).toMatch(/^[a-zA-Z0-9_\-.]{3,128}$/);
    expect(b.patchBaselineName).toBe(props.Name);
    expect(b.node.defaultChild!.node.id).toBe('Resource');
  });

  test('the OperatingSystem is rendered for Windows too (never left to the CloudFormation default)', () => {
    new PatchBaseline(stack, 'Baseline', {
      operatingSystem: OS.WINDOWS,
      approvalRules: [PatchRules.criticalAndSecurity({ operatingSystem: OS.WINDOWS })],
    });
    Template.fromStack(stack).hasResourceProperties(TYPE, { OperatingSystem: 'WINDOWS' });
  });

  test('patchBaselineId is the Ref of the resource; the operating system and defaultBaseline are exposed', () => {
    const b = baseline();
    expect(stack.resolve(b.patchBaselineId)).toEqual({ Ref: stack.getLogicalId(b.node.defaultChild as never) });
    expect(b.operatingSystem).toBe(AL2023);
    expect(b.defaultBaseline).toBe(false);
    expect(b.patchGroups).toEqual([]);
    expect(PatchBaseline.isPatchBaseline(b)).toBe(true);
    expect(PatchBaseline.isPatchBaseline(stack)).toBe(false);
  });

  test('names stay unique per construct path and within 128 characters', () => {
    const deep = new Stack(app, 'S'.repeat(100));
    const a = new PatchBaseline(deep, 'A'.repeat(100), { operatingSystem: AL2023, approvalRules: [SECURITY] });
    const b = new PatchBaseline(deep, 'B'.repeat(100), { operatingSystem: AL2023, approvalRules: [SECURITY] });
    expect(a.patchBaselineName.length).toBeLessThanOrEqual(128);
    expect(a.patchBaselineName).toMatch(/^[a-zA-Z0-9_\-.]{3,128}$/);
    expect(a.patchBaselineName).not.toBe(b.patchBaselineName);
  });

  test('empty lists render nothing', () => {
    baseline({ approvedPatches: [], rejectedPatches: [], globalFilters: [], sources: [] });
    const props = baselineProps(Template.fromStack(stack));
    for (const key of ['ApprovedPatches', 'RejectedPatches', 'GlobalFilters', 'Sources', 'PatchGroups']) {
      expect(props).not.toHaveProperty(key);
    }
  });

  test('a baseline that approves nothing is legal but warned about', () => {
    baseline({ approvalRules: [] });
    Template.fromStack(stack).hasResourceProperties(TYPE, { ApprovalRules: Match.absent() });
    Annotations.fromStack(stack).hasWarning(
      '/TestStack/Baseline',
      Match.stringLikeRegexp('The baseline approves no patches: it has no `approvalRules` and no `approvedPatches`'),
    );
  });

  test('approvedPatches alone is enough not to be warned about', () => {
    baseline({ approvalRules: undefined, approvedPatches: ['kernel-6.1.*'] });
    Annotations.fromStack(stack).hasNoWarning('*', Match.stringLikeRegexp('approves no patches'));
  });
});

describe('PatchBaseline options', () => {
  test('every Linux option is rendered', () => {
    baseline({
      patchBaselineName: 'al2023-prod_v1.2',
      description: 'Production Amazon Linux 2023',
      approvalRules: [
        {
          filters: [
            { key: K.CLASSIFICATION, values: ['Security'] },
            { key: K.SEVERITY, values: ['Critical', 'Important'] },
          ],
          approveAfterDays: 0,
          complianceLevel: PatchComplianceLevel.CRITICAL,
          enableNonSecurity: false,
        },
        {
          filters: [{ key: K.CLASSIFICATION, values: ['Bugfix'] }],
          approveUntilDate: '2024-02-29',
          complianceLevel: PatchComplianceLevel.LOW,
          enableNonSecurity: true,
        },
      ],
      approvedPatches: ['ALAS2023-2024-001', 'openssl*'],
      approvedPatchesComplianceLevel: PatchComplianceLevel.HIGH,
      approvedPatchesEnableNonSecurity: true,
      rejectedPatches: ['kernel-6.1.0*'],
      rejectedPatchesAction: RejectedPatchesAction.BLOCK,
      globalFilters: [{ key: K.PRODUCT, values: ['AmazonLinux2023'] }],
      sources: [
        {
          name: 'internal-mirror',
          products: ['AmazonLinux2023'],
          configuration: '[mirror]\nname=Mirror\nbaseurl=https://mirror.example.com/al2023\nenabled=1',
        },
      ],
    });
    expect(baselineProps(Template.fromStack(stack))).toEqual({
      Name: 'al2023-prod_v1.2',
      OperatingSystem: 'AMAZON_LINUX_2023',
      Description: 'Production Amazon Linux 2023',
      ApprovalRules: {
        PatchRules: [
          {
            PatchFilterGroup: {
              PatchFilters: [
                { Key: 'CLASSIFICATION', Values: ['Security'] },
                { Key: 'SEVERITY', Values: ['Critical', 'Important'] },
              ],
            },
            ApproveAfterDays: 0,
            ComplianceLevel: 'CRITICAL',
            EnableNonSecurity: false,
          },
          {
            PatchFilterGroup: { PatchFilters: [{ Key: 'CLASSIFICATION', Values: ['Bugfix'] }] },
            ApproveUntilDate: '2024-02-29',
            ComplianceLevel: 'LOW',
            EnableNonSecurity: true,
          },
        ],
      },
      ApprovedPatches: ['ALAS2023-2024-001', 'openssl*'],
      ApprovedPatchesComplianceLevel: 'HIGH',
      ApprovedPatchesEnableNonSecurity: true,
      RejectedPatches: ['kernel-6.1.0*'],
      RejectedPatchesAction: 'BLOCK',
      GlobalFilters: { PatchFilters: [{ Key: 'PRODUCT', Values: ['AmazonLinux2023'] }] },
      Sources: [
        {
          Name: 'internal-mirror',
          Products: ['AmazonLinux2023'],
          Configuration: '[mirror]\nname=Mirror\nbaseurl=https://mirror.example.com/al2023\nenabled=1',
        },
      ],
    });
  });

  test('Windows-only options are rendered for Windows', () => {
    new PatchBaseline(stack, 'Baseline', {
      operatingSystem: OS.WINDOWS,
      approvalRules: [
        {
          filters: [
            { key: K.PATCH_SET, values: ['OS'] },
            { key: K.PRODUCT_FAMILY, values: ['Windows'] },
            { key: K.CLASSIFICATION, values: ['SecurityUpdates'] },
            { key: K.MSRC_SEVERITY, values: ['Critical'] },
          ],
          approveAfterDays: 3,
        },
      ],
      approvedPatches: ['KB4516046'],
      rejectedPatchesAction: RejectedPatchesAction.ALLOW_AS_DEPENDENCY,
      availableSecurityUpdatesComplianceStatus: AvailableSecurityUpdatesComplianceStatus.NON_COMPLIANT,
    });
    Template.fromStack(stack).hasResourceProperties(TYPE, {
      OperatingSystem: 'WINDOWS',
      ApprovedPatches: ['KB4516046'],
      RejectedPatchesAction: 'ALLOW_AS_DEPENDENCY',
      AvailableSecurityUpdatesComplianceStatus: 'NON_COMPLIANT',
      ApprovalRules: { PatchRules: [Match.objectLike({ ApproveAfterDays: 3 })] },
    });
    Annotations.fromStack(stack).hasNoWarning('*', Match.anyValue());
  });

  test('Ubuntu rules carry no approval delay', () => {
    new PatchBaseline(stack, 'Baseline', {
      operatingSystem: OS.UBUNTU,
      approvalRules: [{ filters: [{ key: K.PRIORITY, values: ['Required'] }, { key: K.SECTION, values: ['*'] }] }],
    });
    Template.fromStack(stack).hasResourceProperties(TYPE, {
      OperatingSystem: 'UBUNTU',
      ApprovalRules: {
        PatchRules: [
          {
            PatchFilterGroup: { PatchFilters: [{ Key: 'PRIORITY', Values: ['Required'] }, { Key: 'SECTION', Values: ['*'] }] },
          },
        ],
      },
    });
  });

  test('defaultBaseline renders DefaultBaseline and warns that it changes an account-wide setting', () => {
    const b = baseline({ defaultBaseline: true });
    expect(b.defaultBaseline).toBe(true);
    Template.fromStack(stack).hasResourceProperties(TYPE, { DefaultBaseline: true });
    Annotations.fromStack(stack).hasWarning(
      '/TestStack/Baseline',
      Match.stringLikeRegexp(
        '`defaultBaseline` makes this the default patch baseline for AMAZON_LINUX_2023 in the whole account and Region: every node without a patch group uses it',
      ),
    );
  });

  test('defaultBaseline false is rendered as given and not warned about', () => {
    baseline({ defaultBaseline: false });
    Template.fromStack(stack).hasResourceProperties(TYPE, { DefaultBaseline: false });
    Annotations.fromStack(stack).hasNoWarning('*', Match.stringLikeRegexp('defaultBaseline'));
  });

  test('one default baseline per operating system may be set in a stack; other operating systems are fine', () => {
    baseline({ defaultBaseline: true });
    new PatchBaseline(stack, 'Windows', {
      operatingSystem: OS.WINDOWS,
      defaultBaseline: true,
      approvalRules: [PatchRules.allUpdates({ operatingSystem: OS.WINDOWS })],
    });
    Template.fromStack(stack).resourcePropertiesCountIs(TYPE, { DefaultBaseline: true }, 2);
  });
});

describe('PatchBaseline filter values', () => {
  test.each([
    [OS.WINDOWS, K.CLASSIFICATION, ['Security', 'SecurityUpdates'], "'Security', not a known CLASSIFICATION value for WINDOWS"],
    [OS.WINDOWS, K.MSRC_SEVERITY, ['critical'], "'critical', not a known MSRC_SEVERITY value for WINDOWS"],
    [OS.DEBIAN, K.PRIORITY, ['High'], "'High', not a known PRIORITY value for DEBIAN"],
  ])('%s %s %p is accepted with a warning', (os, key, values, message) => {
    new PatchBaseline(stack, 'Baseline', {
      operatingSystem: os,
      approvalRules: [{ filters: [{ key, values }], approveAfterDays: os.supportsApprovalDelays ? 1 : undefined }],
    });
    Template.fromStack(stack).hasResourceProperties(TYPE, {
      ApprovalRules: { PatchRules: [Match.objectLike({ PatchFilterGroup: { PatchFilters: [{ Key: key, Values: values }] } })] },
    });
    Annotations.fromStack(stack).hasWarning('/TestStack/Baseline', Match.stringLikeRegexp(message));
  });

  test('known values, `*` and values of properties without a closed set are not warned about', () => {
    new PatchBaseline(stack, 'Baseline', {
      operatingSystem: OS.WINDOWS,
      approvalRules: [
        {
          filters: [
            { key: K.CLASSIFICATION, values: ['CriticalUpdates', '*'] },
            { key: K.PRODUCT, values: ['WindowsServer2025', 'Some future product'] },
          ],
          approveAfterDays: 7,
        },
      ],
    });
    new PatchBaseline(stack, 'Oracle', {
      operatingSystem: OS.ORACLE_LINUX,
      approvalRules: [{ filters: [{ key: K.SEVERITY, values: ['Moderate', 'Whatever'] }], approveAfterDays: 1 }],
    });
    Annotations.fromStack(stack).hasNoWarning('*', Match.anyValue());
  });
});

describe('PatchRules presets', () => {
  const RHEL_FAMILY = [
    OS.AMAZON_LINUX, OS.AMAZON_LINUX_2, OS.AMAZON_LINUX_2022, OS.AMAZON_LINUX_2023, OS.REDHAT_ENTERPRISE_LINUX,
    OS.CENTOS, OS.ORACLE_LINUX, OS.SUSE, OS.ROCKY_LINUX, OS.ALMA_LINUX,
  ];
  const CASES: [PatchOperatingSystem, { Key: string; Values: string[] }[], number | undefined][] = [
    [OS.WINDOWS, [{ Key: 'CLASSIFICATION', Values: ['CriticalUpdates', 'SecurityUpdates'] }, { Key: 'MSRC_SEVERITY', Values: ['Critical', 'Important'] }], 7],
    ...RHEL_FAMILY.map((os): [PatchOperatingSystem, { Key: string; Values: string[] }[], number | undefined] => [
      os,
      [{ Key: 'CLASSIFICATION', Values: ['Security'] }, { Key: 'SEVERITY', Values: ['Critical', 'Important'] }],
      7,
    ]),
    [OS.UBUNTU, [{ Key: 'PRIORITY', Values: ['Required', 'Important'] }], undefined],
    [OS.DEBIAN, [{ Key: 'PRIORITY', Values: ['Required', 'Important'] }], undefined],
    [OS.RASPBIAN, [{ Key: 'PRIORITY', Values: ['Required', 'Important'] }], undefined],
    [OS.MACOS, [{ Key: 'CLASSIFICATION', Values: ['Security'] }], 7],
  ];

  test('cover every operating system constant', () => {
    expect(CASES.map(([os]) => os.value).sort()).toEqual(
      Object.values(PatchOperatingSystem).filter((v) => v instanceof PatchOperatingSystem).map((os) => os.value).sort(),
    );
  });

  test.each(CASES)('PatchBaseline.criticalAndSecurityUpdates for %s', (os, filters, days) => {
    const b = PatchBaseline.criticalAndSecurityUpdates(stack, 'Baseline', { operatingSystem: os });
    expect(b.operatingSystem).toBe(os);
    const rule: Record<string, unknown> = { PatchFilterGroup: { PatchFilters: filters }, ComplianceLevel: 'CRITICAL' };
    if (days !== undefined) rule.ApproveAfterDays = days;
    const description = days === undefined ? 'Critical and security updates, approved on release' : `Critical and security updates, approved ${days} days after release`;
    expect(baselineProps(Template.fromStack(stack))).toEqual({
      Name: expect.any(String),
      OperatingSystem: os.value,
      Description: description,
      ApprovalRules: { PatchRules: [rule] },
    });
    Annotations.fromStack(stack).hasNoWarning('*', Match.anyValue());
  });

  test('criticalAndSecurityUpdates takes the delay, compliance level, name and description', () => {
    PatchBaseline.criticalAndSecurityUpdates(stack, 'Baseline', {
      operatingSystem: OS.WINDOWS,
      approveAfterDays: 14,
      complianceLevel: PatchComplianceLevel.HIGH,
      patchBaselineName: 'windows-security',
      description: 'Windows security',
    });
    Template.fromStack(stack).hasResourceProperties(TYPE, {
      Name: 'windows-security',
      Description: 'Windows security',
      ApprovalRules: { PatchRules: [Match.objectLike({ ApproveAfterDays: 14, ComplianceLevel: 'HIGH' })] },
    });
  });

  test('criticalAndSecurityUpdates with approveUntilDate instead of a delay', () => {
    PatchBaseline.criticalAndSecurityUpdates(stack, 'Baseline', { operatingSystem: AL2023, approveUntilDate: '2025-01-31' });
    Template.fromStack(stack).hasResourceProperties(TYPE, {
      Description: 'Critical and security updates, approved if released by a cutoff date',
      ApprovalRules: { PatchRules: [Match.objectLike({ ApproveUntilDate: '2025-01-31', ApproveAfterDays: Match.absent() })] },
    });
  });

  test('a delay asked for on Ubuntu is passed through and rejected by the baseline', () => {
    expect(() => PatchBaseline.criticalAndSecurityUpdates(stack, 'Baseline', { operatingSystem: OS.UBUNTU, approveAfterDays: 7 })).toThrow(
      /^`approvalRules\[0\].approveAfterDays` is not supported for UBUNTU .* got: 7 \(at TestStack\/Baseline\)$/,
    );
  });

  test('criticalAndSecurity needs a known operating system', () => {
    expect(() => PatchRules.criticalAndSecurity({ operatingSystem: OS.of('AMAZON_LINUX_2025') })).toThrow(
      /^`operatingSystem` must be a PatchOperatingSystem constant for PatchRules.criticalAndSecurity\(\) .* got: AMAZON_LINUX_2025$/,
    );
  });

  test.each([OS.WINDOWS, AL2023, OS.UBUNTU, OS.MACOS, OS.of('AMAZON_LINUX_2025')])('allUpdates for %s approves PRODUCT *', (os) => {
    const rule = PatchRules.allUpdates({ operatingSystem: os, enableNonSecurity: os.isLinux ? true : undefined });
    expect(rule).toEqual({
      filters: [{ key: K.PRODUCT, values: ['*'] }],
      approveAfterDays: os.supportsApprovalDelays ? 7 : undefined,
      complianceLevel: undefined,
      enableNonSecurity: os.isLinux ? true : undefined,
    });
    const b = new PatchBaseline(stack, 'Baseline', { operatingSystem: os, approvalRules: [rule] });
    if (!os.isKnown) {
      // aws-cdk-lib's schema check warns about an OperatingSystem value its schema does not list yet.
      Validations.of(b).acknowledge({ id: 'CloudFormation-Validate::W3030', reason: 'a value newer than the schema' });
    }
    Template.fromStack(stack).hasResourceProperties(TYPE, {
      OperatingSystem: os.value,
      ApprovalRules: { PatchRules: [Match.objectLike({ PatchFilterGroup: { PatchFilters: [{ Key: 'PRODUCT', Values: ['*'] }] } })] },
    });
  });

  test('presets take an explicit compliance level and delay', () => {
    expect(
      PatchRules.criticalAndSecurity({ operatingSystem: AL2023, approveAfterDays: 0, complianceLevel: PatchComplianceLevel.MEDIUM }),
    ).toMatchObject({ approveAfterDays: 0, complianceLevel: 'MEDIUM' });
    expect(PatchRules.allUpdates({ operatingSystem: AL2023, complianceLevel: PatchComplianceLevel.INFORMATIONAL })).toMatchObject({
      approveAfterDays: 7,
      complianceLevel: 'INFORMATIONAL',
    });
  });
});

describe('PatchBaseline.addPatchGroup', () => {
  test('appends to PatchGroups, also after other constructs were added', () => {
    const b = baseline();
    b.addPatchGroup('web');
    b.addPatchGroup('Patch Group: db/eu-west-1 @prod');
    expect(b.patchGroups).toEqual(['web', 'Patch Group: db/eu-west-1 @prod']);
    b.patchGroups.push('not-registered');
    Template.fromStack(stack).hasResourceProperties(TYPE, { PatchGroups: ['web', 'Patch Group: db/eu-west-1 @prod'] });
  });

  test('the same group may be registered with baselines of different operating systems', () => {
    baseline().addPatchGroup('web');
    new PatchBaseline(stack, 'Windows', { operatingSystem: OS.WINDOWS, approvedPatches: ['KB1'] }).addPatchGroup('web');
    Template.fromStack(stack).resourcePropertiesCountIs(TYPE, { PatchGroups: ['web'] }, 2);
  });

  test('a token group name is not validated', () => {
    const b = baseline();
    b.addPatchGroup(Lazy.string({ produce: () => 'web' }));
    Template.fromStack(stack).hasResourceProperties(TYPE, { PatchGroups: ['web'] });
  });

  test.each([
    ['an empty name', (b: PatchBaseline) => b.addPatchGroup(''), /^`patchGroupName` must be 1 to 256 characters long, got: '' \(at TestStack\/Baseline\)$/],
    ['257 characters', (b: PatchBaseline) => b.addPatchGroup('g'.repeat(257)), /^`patchGroupName` must be 1 to 256 characters long, got: 'g{257}' \(at TestStack\/Baseline\)$/],
    ['a forbidden character', (b: PatchBaseline) => b.addPatchGroup('web#1'), /^`patchGroupName` may contain only letters, numbers, spaces and _ \. : \/ = \+ - @, got: 'web#1' \(at TestStack\/Baseline\)$/],
    ['a duplicate', (b: PatchBaseline) => { b.addPatchGroup('web'); b.addPatchGroup('web'); }, /^`patchGroupName` is already registered with this baseline, got: 'web' \(at TestStack\/Baseline\)$/],
    [
      'a second baseline of the same operating system in the stack',
      (b: PatchBaseline) => {
        b.addPatchGroup('web');
        new PatchBaseline(stack, 'Other', { operatingSystem: AL2023, approvedPatches: ['x'] }).addPatchGroup('web');
      },
      /^`patchGroupName` is already registered with TestStack\/Baseline for AMAZON_LINUX_2023; a patch group can have only one baseline per operating system, got: 'web' \(at TestStack\/Other\)$/,
    ],
  ])('rejects %s', (_name, act, error) => {
    const b = baseline();
    expect(() => act(b)).toThrow(error);
  });
});

describe('PatchBaseline.fromPatchBaselineId', () => {
  test('imports a baseline by id, creating no resource', () => {
    const imported = PatchBaseline.fromPatchBaselineId(stack, 'Imported', 'pb-0123456789abcdef0');
    expect(imported.patchBaselineId).toBe('pb-0123456789abcdef0');
    expect(imported.stack).toBe(stack);
    expect(stack.node.findAll().filter((c) => c instanceof CfnResource)).toEqual([]);
  });

  test('imports an AWS-predefined baseline by ARN', () => {
    const arn = 'arn:aws:ssm:us-east-1:075727635805:patchbaseline/pb-0c10e65780EXAMPLE';
    expect(PatchBaseline.fromPatchBaselineId(stack, 'Predefined', arn).patchBaselineId).toBe(arn);
  });

  test('a token id is not validated', () => {
    const id = Lazy.string({ produce: () => 'nope' });
    expect(Token.isUnresolved(PatchBaseline.fromPatchBaselineId(stack, 'Imported', id).patchBaselineId)).toBe(true);
  });

  test.each(['pb-123', 'pb-0123456789abcdef0 ', 'baseline#0123456789abcdef', `pb-${'0'.repeat(126)}`])('rejects %p', (id) => {
    expect(() => PatchBaseline.fromPatchBaselineId(stack, 'Imported', id)).toThrow(
      /^`patchBaselineId` must be a baseline id like pb-0123456789abcdef0 or a baseline ARN \(20 to 128 letters, digits and _ - : \/\), got: '.*' \(at TestStack\/Imported\)$/,
    );
  });
});

describe('PatchBaseline validation', () => {
  const rule = (r: Partial<PatchApprovalRule>): PatchApprovalRule[] => [{ ...SECURITY, ...r }];
  const filters = (n: number) => Array.from({ length: n }, () => ({ key: K.PRODUCT, values: ['*'] }));
  const list = (n: number, prefix = 'p') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
  const source = { name: 'mirror', products: ['AmazonLinux2023'], configuration: '[mirror]' };

  test.each<[string, Partial<PatchBaselineProps>, RegExp]>([
    ['patchBaselineName with a space', { patchBaselineName: 'my baseline' }, /^`patchBaselineName` must be 3 to 128 letters, digits, _ - and \., got: 'my baseline'/],
    ['patchBaselineName of 2 characters', { patchBaselineName: 'ab' }, /^`patchBaselineName` must be 3 to 128 .* got: 'ab'/],
    ['patchBaselineName of 129 characters', { patchBaselineName: 'n'.repeat(129) }, /^`patchBaselineName` must be 3 to 128 .* got: 'n{129}'/],
    ['an empty description', { description: '' }, /^`description` must be 1 to 1024 characters long, got: 0 characters/],
    ['a description of 1025 characters', { description: 'd'.repeat(1025) }, /^`description` must be 1 to 1024 characters long, got: 1025 characters/],
    ['11 approval rules', { approvalRules: Array.from({ length: 11 }, () => SECURITY) }, /^`approvalRules` must have at most 10 rules, got: 11/],
    ['a rule without filters', { approvalRules: rule({ filters: [] }) }, /^`approvalRules\[0\]\.filters` must have 1 to 4 filters, got: 0/],
    ['a rule with 5 filters', { approvalRules: rule({ filters: filters(5) }) }, /^`approvalRules\[0\]\.filters` must have 1 to 4 filters, got: 5/],
    [
      'a filter key of another operating system',
      { operatingSystem: OS.WINDOWS, approvalRules: rule({ filters: [{ key: K.PRODUCT, values: ['*'] }, { key: K.SEVERITY, values: ['Critical'] }] }) },
      /^`approvalRules\[0\]\.filters\[1\]\.key` must be one of PATCH_SET, PRODUCT, PRODUCT_FAMILY, CLASSIFICATION, MSRC_SEVERITY for WINDOWS, got: SEVERITY \(at TestStack\/Baseline\)$/,
    ],
    [
      'a filter key not presumed for an operating system AWS lists no keys for',
      { operatingSystem: OS.ROCKY_LINUX, approvalRules: rule({ filters: [{ key: K.PRIORITY, values: ['Required'] }] }) },
      /^`approvalRules\[0\]\.filters\[0\]\.key` must be one of PRODUCT, CLASSIFICATION, SEVERITY for ROCKY_LINUX \(AWS documents no keys for ROCKY_LINUX; those of REDHAT_ENTERPRISE_LINUX are presumed: use PatchOperatingSystem\.of\('ROCKY_LINUX'\) to skip this check\), got: PRIORITY/,
    ],
    ['a filter without values', { approvalRules: rule({ filters: [{ key: K.PRODUCT, values: [] }] }) }, /^`approvalRules\[0\]\.filters\[0\]\.values` must have 1 to 20 values, got: 0/],
    ['a filter with 21 values', { approvalRules: rule({ filters: [{ key: K.PRODUCT, values: list(21) }] }) }, /^`approvalRules\[0\]\.filters\[0\]\.values` must have 1 to 20 values, got: 21/],
    ['an empty filter value', { approvalRules: rule({ filters: [{ key: K.PRODUCT, values: [''] }] }) }, /^`approvalRules\[0\]\.filters\[0\]\.values` entries must be 1 to 64 characters long, got: ''/],
    ['a filter value of 65 characters', { approvalRules: rule({ filters: [{ key: K.PRODUCT, values: ['v'.repeat(65)] }] }) }, /^`approvalRules\[0\]\.filters\[0\]\.values` entries must be 1 to 64 .* got: 'v{65}'/],
    ['approveAfterDays 361', { approvalRules: rule({ approveAfterDays: 361 }) }, /^`approvalRules\[0\]\.approveAfterDays` must be an integer from 0 to 360, got: 361/],
    ['approveAfterDays -1', { approvalRules: rule({ approveAfterDays: -1 }) }, /^`approvalRules\[0\]\.approveAfterDays` must be an integer from 0 to 360, got: -1/],
    ['approveAfterDays 1.5', { approvalRules: rule({ approveAfterDays: 1.5 }) }, /^`approvalRules\[0\]\.approveAfterDays` must be an integer from 0 to 360, got: 1\.5/],
    ['approveUntilDate not YYYY-MM-DD', { approvalRules: rule({ approveAfterDays: undefined, approveUntilDate: '2024/01/31' }) }, /^`approvalRules\[0\]\.approveUntilDate` must be a date as YYYY-MM-DD, got: '2024\/01\/31'/],
    ['approveUntilDate that is no real date', { approvalRules: rule({ approveAfterDays: undefined, approveUntilDate: '2023-02-29' }) }, /^`approvalRules\[0\]\.approveUntilDate` must be a date as YYYY-MM-DD, got: '2023-02-29'/],
    ['approveUntilDate with month 13', { approvalRules: rule({ approveAfterDays: undefined, approveUntilDate: '2024-13-01' }) }, /^`approvalRules\[0\]\.approveUntilDate` .* got: '2024-13-01'/],
    [
      'both approveAfterDays and approveUntilDate',
      { approvalRules: rule({ approveAfterDays: 7, approveUntilDate: '2024-01-31' }) },
      /^`approvalRules\[0\]` must set only one of approveAfterDays and approveUntilDate, got: approveAfterDays 7 and approveUntilDate '2024-01-31'/,
    ],
    [
      'both also for an operating system from of()',
      { operatingSystem: OS.of('AMAZON_LINUX_2025'), approvalRules: rule({ approveAfterDays: 7, approveUntilDate: '2024-01-31' }) },
      /^`approvalRules\[0\]` must set only one of approveAfterDays and approveUntilDate/,
    ],
    ['neither on an operating system with delays', { approvalRules: rule({ approveAfterDays: undefined }) }, /^`approvalRules\[0\]` must set approveAfterDays or approveUntilDate for AMAZON_LINUX_2023, got: neither/],
    [
      'approveAfterDays on Ubuntu',
      { operatingSystem: OS.UBUNTU, approvalRules: [{ filters: [{ key: K.PRIORITY, values: ['Required'] }], approveAfterDays: 0 }] },
      /^`approvalRules\[0\]\.approveAfterDays` is not supported for UBUNTU \(Systems Manager approves its patches without a delay; omit it\), got: 0/,
    ],
    [
      'approveUntilDate on Debian',
      { operatingSystem: OS.DEBIAN, approvalRules: [{ filters: [{ key: K.PRIORITY, values: ['Required'] }], approveUntilDate: '2024-01-31' }] },
      /^`approvalRules\[0\]\.approveUntilDate` is not supported for DEBIAN .* got: '2024-01-31'/,
    ],
    [
      'enableNonSecurity on Windows',
      { operatingSystem: OS.WINDOWS, approvalRules: [{ filters: [{ key: K.PRODUCT, values: ['*'] }], approveAfterDays: 7, enableNonSecurity: true }] },
      /^`approvalRules\[0\]\.enableNonSecurity` applies to Linux only, not WINDOWS, got: true/,
    ],
    ['51 approved patches', { approvedPatches: list(51) }, /^`approvedPatches` must have at most 50 entries, got: 51/],
    ['an empty approved patch', { approvedPatches: [''] }, /^`approvedPatches` entries must be 1 to 100 characters long, got: ''/],
    ['an approved patch of 101 characters', { approvedPatches: ['p'.repeat(101)] }, /^`approvedPatches` entries must be 1 to 100 .* got: 'p{101}'/],
    ['51 rejected patches', { rejectedPatches: list(51) }, /^`rejectedPatches` must have at most 50 entries, got: 51/],
    ['a rejected patch of 101 characters', { rejectedPatches: ['p'.repeat(101)] }, /^`rejectedPatches` entries must be 1 to 100 .* got: 'p{101}'/],
    [
      'approvedPatchesEnableNonSecurity on macOS',
      { operatingSystem: OS.MACOS, approvedPatchesEnableNonSecurity: true },
      /^`approvedPatchesEnableNonSecurity` applies to Linux only, not MACOS, got: true/,
    ],
    ['5 global filters', { globalFilters: filters(5) }, /^`globalFilters` must have at most 4 filters, got: 5/],
    [
      'a global filter key of another operating system',
      { operatingSystem: OS.UBUNTU, approvalRules: [{ filters: [{ key: K.PRIORITY, values: ['Required'] }] }], globalFilters: [{ key: K.MSRC_SEVERITY, values: ['Critical'] }] },
      /^`globalFilters\[0\]\.key` must be one of PRODUCT, PRIORITY, SECTION for UBUNTU, got: MSRC_SEVERITY/,
    ],
    ['an empty global filter', { globalFilters: [{ key: K.PRODUCT, values: [] }] }, /^`globalFilters\[0\]\.values` must have 1 to 20 values, got: 0/],
    [
      'sources on Windows',
      { operatingSystem: OS.WINDOWS, approvalRules: [], approvedPatches: ['KB1'], sources: [source] },
      /^`sources` applies to Linux only, not WINDOWS, got: 1 source\(s\)/,
    ],
    ['21 sources', { sources: Array.from({ length: 21 }, (_, i) => ({ ...source, name: `mirror${i}` })) }, /^`sources` must have at most 20 sources, got: 21/],
    ['a source name of 2 characters', { sources: [{ ...source, name: 'ab' }] }, /^`sources\[0\]\.name` must be 3 to 50 letters, digits, _ - or \., got: 'ab'/],
    ['a source name with a slash', { sources: [{ ...source, name: 'repo/x' }] }, /^`sources\[0\]\.name` must be 3 to 50 .* got: 'repo\/x'/],
    ['a source without products', { sources: [{ ...source, products: [] }] }, /^`sources\[0\]\.products` must have 1 to 20 products, got: 0/],
    ['a source with 21 products', { sources: [{ ...source, products: list(21) }] }, /^`sources\[0\]\.products` must have 1 to 20 products, got: 21/],
    ['a source product of 129 characters', { sources: [{ ...source, products: ['p'.repeat(129)] }] }, /^`sources\[0\]\.products` entries must be 1 to 128 characters long, got: 'p{129}'/],
    ['an empty source configuration', { sources: [{ ...source, configuration: '' }] }, /^`sources\[0\]\.configuration` must be 1 to 1024 characters long, got: 0 characters/],
    ['a source configuration of 1025 characters', { sources: [{ ...source, configuration: 'c'.repeat(1025) }] }, /^`sources\[0\]\.configuration` must be 1 to 1024 .* got: 1025 characters/],
    [
      'availableSecurityUpdatesComplianceStatus on Linux',
      { availableSecurityUpdatesComplianceStatus: AvailableSecurityUpdatesComplianceStatus.COMPLIANT },
      /^`availableSecurityUpdatesComplianceStatus` applies to Windows Server only, not AMAZON_LINUX_2023, got: COMPLIANT/,
    ],
  ])('rejects %s', (_name, props, error) => {
    // Every message names the prop, shows the value and ends with the construct path.
    const full = error.source.endsWith('$') ? error : new RegExp(`${error.source}.* \\(at TestStack/Baseline\\)$`);
    expect(() => baseline(props)).toThrow(full);
  });

  test('rejects a second default baseline for the same operating system in a stack', () => {
    new PatchBaseline(stack, 'First', { operatingSystem: AL2023, approvalRules: [SECURITY], defaultBaseline: true });
    expect(() => baseline({ defaultBaseline: true })).toThrow(
      /^`defaultBaseline` is already set by TestStack\/First; there is one default baseline per operating system \(AMAZON_LINUX_2023\), got: true \(at TestStack\/Baseline\)$/,
    );
  });

  test('an operating system from of() skips the key, delay and platform checks', () => {
    baseline({
      operatingSystem: OS.of('AMAZON_LINUX_2022'),
      approvalRules: [{ filters: [{ key: K.PRIORITY, values: ['Required'] }], enableNonSecurity: true }],
      approvedPatchesEnableNonSecurity: true,
      availableSecurityUpdatesComplianceStatus: AvailableSecurityUpdatesComplianceStatus.COMPLIANT,
      sources: [source],
    });
    Template.fromStack(stack).hasResourceProperties(TYPE, {
      OperatingSystem: 'AMAZON_LINUX_2022',
      ApprovalRules: { PatchRules: [{ PatchFilterGroup: { PatchFilters: [{ Key: 'PRIORITY', Values: ['Required'] }] }, EnableNonSecurity: true }] },
    });
  });

  test('tokens are not validated (their encoded forms would fail every check)', () => {
    const str = (v: string) => Lazy.string({ produce: () => v });
    const num = (v: number) => Lazy.number({ produce: () => v });
    const strs = (v: string[]) => Lazy.list({ produce: () => v });
    baseline({
      patchBaselineName: str('from-a-token'),
      description: str('described later'),
      approvalRules: [
        { filters: [{ key: K.PRODUCT, values: strs(['AmazonLinux2023']) }], approveAfterDays: num(30) },
        { filters: [{ key: K.CLASSIFICATION, values: [str('Security')] }], approveUntilDate: str('2024-12-31') },
      ],
      approvedPatches: strs(['openssl*']),
      rejectedPatches: [str('kernel-6.1.0*')],
      globalFilters: [{ key: K.PRODUCT, values: [str('*')] }],
      sources: [{ name: str('mirror'), products: strs(['AmazonLinux2023']), configuration: str('[mirror]') }],
    });
    expect(baselineProps(Template.fromStack(stack))).toMatchObject({
      Name: 'from-a-token',
      Description: 'described later',
      ApprovalRules: {
        PatchRules: [
          { PatchFilterGroup: { PatchFilters: [{ Key: 'PRODUCT', Values: ['AmazonLinux2023'] }] }, ApproveAfterDays: 30 },
          { PatchFilterGroup: { PatchFilters: [{ Key: 'CLASSIFICATION', Values: ['Security'] }] }, ApproveUntilDate: '2024-12-31' },
        ],
      },
      ApprovedPatches: ['openssl*'],
      RejectedPatches: ['kernel-6.1.0*'],
      GlobalFilters: { PatchFilters: [{ Key: 'PRODUCT', Values: ['*'] }] },
      Sources: [{ Name: 'mirror', Products: ['AmazonLinux2023'], Configuration: '[mirror]' }],
    });
  });
});

describe('PatchBaseline gates', () => {
  test('a set of baselines passes every gate (schema, cdk-nag, cfn-guard) with nothing acknowledged', () => {
    const linux = PatchBaseline.criticalAndSecurityUpdates(stack, 'Linux', { operatingSystem: AL2023 });
    linux.addPatchGroup('web');
    PatchBaseline.criticalAndSecurityUpdates(stack, 'Windows', { operatingSystem: OS.WINDOWS }).addPatchGroup('web');
    PatchBaseline.criticalAndSecurityUpdates(stack, 'Ubuntu', { operatingSystem: OS.UBUNTU });
    new PatchBaseline(stack, 'Custom', {
      operatingSystem: OS.REDHAT_ENTERPRISE_LINUX,
      description: 'Everything, from a mirror',
      approvalRules: [PatchRules.allUpdates({ operatingSystem: OS.REDHAT_ENTERPRISE_LINUX, enableNonSecurity: true })],
      rejectedPatches: ['kernel-5.14.0-70*'],
      rejectedPatchesAction: RejectedPatchesAction.BLOCK,
      globalFilters: [{ key: K.PRODUCT, values: ['RedhatEnterpriseLinux9*'] }],
      sources: [{ name: 'mirror', products: ['RedhatEnterpriseLinux9.4'], configuration: '[mirror]\nbaseurl=https://mirror.example.com' }],
    });
    expect(allFindings(app)).toEqual([]);
  });
});
