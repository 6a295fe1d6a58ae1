import { App, CfnParameter, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import {
  FleetStackSet,
  FleetStackSetProps,
  FleetStackSetTemplate,
  StackSetAccountFilter,
  StackSetCallAs,
  StackSetConcurrencyMode,
  StackSetFailureTolerance,
  StackSetMaxConcurrentAccounts,
  StackSetRegionConcurrency,
} from '../../lib';
import { allFindings, nagFindings, testApp } from '../support/gates';

const ADMIN = { account: '111122223333', region: 'eu-west-1' };
const OU = 'ou-ab12-cdef3456';

let app: App;
let admin: Stack;
let member: FleetStackSetTemplate;
beforeEach(() => {
  app = testApp();
  admin = new Stack(app, 'Admin', { env: ADMIN });
  member = new FleetStackSetTemplate(admin, 'Member');
  new ssm.StringParameter(member, 'Marker', { stringValue: 'member' });
});

const define = (props: Partial<FleetStackSetProps> = {}) =>
  new FleetStackSet(admin, 'StackSet', {
    template: member,
    callAs: StackSetCallAs.DELEGATED_ADMIN,
    organizationalUnitIds: [OU],
    regions: ['eu-west-1', 'us-east-1'],
    ...props,
  });
const properties = () => Object.values(Template.fromStack(admin).findResources('AWS::CloudFormation::StackSet'))[0].Properties;
const warnings = (id: string) =>
  Annotations.fromStack(admin).findWarning('/Admin/StackSet', Match.stringLikeRegexp(`cdk-ssm-hybrid-fleet:${id}`));

describe('FleetStackSet', () => {
  test('service-managed, auto-deployed, managed execution, the template by URL, no operation preferences by default', () => {
    const set = define();
    const props = properties();
    expect(props).toEqual({
      StackSetName: 'Admin-StackSet-B24D7423',
      PermissionModel: 'SERVICE_MANAGED',
      CallAs: 'DELEGATED_ADMIN',
      AutoDeployment: { Enabled: true, RetainStacksOnAccountRemoval: false },
      ManagedExecution: { Active: true },
      TemplateURL: expect.objectContaining({ 'Fn::Sub': expect.stringMatching(/^https:\/\/s3\.eu-west-1\..*\.json$/) }),
      StackInstancesGroup: [{ DeploymentTargets: { OrganizationalUnitIds: [OU] }, Regions: ['eu-west-1', 'us-east-1'] }],
    });
    expect(set.stackSetName).toBe('Admin-StackSet-B24D7423');
    expect(admin.resolve(set.stackSetId)).toEqual({ 'Fn::GetAtt': [admin.getLogicalId(set.node.defaultChild as never), 'StackSetId'] });
  });

  test('name, description, auto-deployment off, parameters, account filter and a second target group', () => {
    new CfnParameter(member, 'CentralBucket', { type: 'String' });
    const set = define({
      stackSetName: 'hybrid-fleet-member',
      description: 'Fleet member parts',
      callAs: StackSetCallAs.SELF,
      autoDeployment: false,
      managedExecution: false,
      parameters: { CentralBucket: 'inventory-central' },
      accounts: ['444455556666'],
      accountFilter: StackSetAccountFilter.DIFFERENCE,
    });
    set.addTarget({ organizationalUnitIds: ['r-ab12'], regions: ['ap-southeast-2'], parameterOverrides: { CentralBucket: 'inventory-apac' } });
    expect(properties()).toMatchObject({
      StackSetName: 'hybrid-fleet-member',
      Description: 'Fleet member parts',
      CallAs: 'SELF',
      AutoDeployment: { Enabled: false },
      ManagedExecution: { Active: false },
      Parameters: [{ ParameterKey: 'CentralBucket', ParameterValue: 'inventory-central' }],
      StackInstancesGroup: [
        {
          DeploymentTargets: { OrganizationalUnitIds: [OU], Accounts: ['444455556666'], AccountFilterType: 'DIFFERENCE' },
          Regions: ['eu-west-1', 'us-east-1'],
        },
        {
          DeploymentTargets: { OrganizationalUnitIds: ['r-ab12'] },
          Regions: ['ap-southeast-2'],
          ParameterOverrides: [{ ParameterKey: 'CentralBucket', ParameterValue: 'inventory-apac' }],
        },
      ],
    });
    expect(properties().AutoDeployment.RetainStacksOnAccountRemoval).toBeUndefined();
  });

  test('operation preferences: exactly one of each pair, the rest as given', () => {
    define({
      operationPreferences: {
        maxConcurrentAccounts: StackSetMaxConcurrentAccounts.percentage(25),
        failureTolerance: StackSetFailureTolerance.percentage(10),
        regionConcurrency: StackSetRegionConcurrency.SEQUENTIAL,
        regionOrder: ['us-east-1', 'eu-west-1'],
        concurrencyMode: StackSetConcurrencyMode.SOFT_FAILURE_TOLERANCE,
      },
    });
    expect(properties().OperationPreferences).toEqual({
      MaxConcurrentPercentage: 25,
      FailureTolerancePercentage: 10,
      RegionConcurrencyType: 'SEQUENTIAL',
      RegionOrder: ['us-east-1', 'eu-west-1'],
      ConcurrencyMode: 'SOFT_FAILURE_TOLERANCE',
    });
  });

  test("a pair left out gets CloudFormation's default explicitly (one account at a time, no failure)", () => {
    define({ operationPreferences: { regionConcurrency: StackSetRegionConcurrency.PARALLEL } });
    expect(properties().OperationPreferences).toEqual({ MaxConcurrentCount: 1, FailureToleranceCount: 0, RegionConcurrencyType: 'PARALLEL' });
  });

  describe('STRICT_FAILURE_TOLERANCE caps the concurrency at failure tolerance + 1', () => {
    test('warns when the count says more', () => {
      define({ operationPreferences: { maxConcurrentAccounts: StackSetMaxConcurrentAccounts.count(10), failureTolerance: StackSetFailureTolerance.count(2) } });
      expect(warnings('stackSetConcurrencyCapped').map((w) => w.entry.data)).toEqual([
        expect.stringContaining('`operationPreferences.maxConcurrentAccounts` of 10 accounts is more than failureTolerance + 1 (3)'),
      ]);
    });

    test('no warning at tolerance + 1, with SOFT_FAILURE_TOLERANCE, or with percentages', () => {
      define({ operationPreferences: { maxConcurrentAccounts: StackSetMaxConcurrentAccounts.count(3), failureTolerance: StackSetFailureTolerance.count(2) } });
      const soft = new FleetStackSet(admin, 'Soft', {
        template: member,
        callAs: StackSetCallAs.SELF,
        organizationalUnitIds: [OU],
        regions: ['eu-west-1'],
        operationPreferences: { maxConcurrentAccounts: StackSetMaxConcurrentAccounts.count(10), concurrencyMode: StackSetConcurrencyMode.SOFT_FAILURE_TOLERANCE },
      });
      expect(warnings('stackSetConcurrencyCapped')).toEqual([]);
      expect(Annotations.fromStack(admin).findWarning(soft.node.path, Match.anyValue())).toEqual([]);
    });
  });

  test('an account filter of UNION warns that CloudFormation refuses it on create', () => {
    define({ accounts: ['444455556666'], accountFilter: StackSetAccountFilter.UNION });
    expect(warnings('stackSetUnionFilter')).toHaveLength(1);
  });

  test('passes every gate, the admin stack and the template', () => {
    new iam.Role(member, 'NodeRole', { assumedBy: new iam.ServicePrincipal('ssm.amazonaws.com') });
    define({ operationPreferences: { maxConcurrentAccounts: StackSetMaxConcurrentAccounts.percentage(25) } });
    expect(allFindings(app)).toEqual([]);
  });

  test("the nag packs see the template's constructs", () => {
    new iam.Role(member, 'NodeRole', {
      assumedBy: new iam.ServicePrincipal('ssm.amazonaws.com'),
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AmazonSSMManagedInstanceCore')],
    });
    define();
    expect(nagFindings(app)).toEqual([expect.objectContaining({ rule: expect.stringMatching(/^AwsSolutions-IAM4/), paths: ['Admin/Member/NodeRole/Resource'] })]);
  });
});

describe('validation', () => {
  test.each<[string, Partial<FleetStackSetProps>, string]>([
    ['an OU id', { organizationalUnitIds: ['ou-AB12-cdef3456'] }, "`organizationalUnitIds` must be organizational unit ids (ou-<4 to 32 characters>-<8 to 32 characters>) or a root id (r-<4 to 32 characters>), lower-case letters and digits, got: 'ou-AB12-cdef3456'"],
    ['an account id as OU', { organizationalUnitIds: ['444455556666'] }, "`organizationalUnitIds` must be organizational unit ids (ou-<4 to 32 characters>-<8 to 32 characters>) or a root id (r-<4 to 32 characters>), lower-case letters and digits, got: '444455556666'"],
    ['no OU', { organizationalUnitIds: [] }, '`organizationalUnitIds` must list at least one value (organizational unit ids (ou-<4 to 32 characters>-<8 to 32 characters>) or a root id (r-<4 to 32 characters>), lower-case letters and digits), got: []'],
    ['a Region', { regions: ['eu-west-1', 'Europe'] }, "`regions` must be AWS Region names such as eu-west-1, got: 'Europe'"],
    ['a Region twice', { regions: ['eu-west-1', 'eu-west-1'] }, "`regions` must list each value once, got: 'eu-west-1' twice"],
    ['an account', { accounts: ['4444'], accountFilter: StackSetAccountFilter.INTERSECTION }, "`accounts` must be 12-digit account ids, got: '4444'"],
    ['accounts without a filter', { accounts: ['444455556666'] }, '`accountFilter` must be set with `accounts` (INTERSECTION, DIFFERENCE or UNION), got: undefined'],
    ['a filter without accounts', { accountFilter: StackSetAccountFilter.DIFFERENCE }, '`accountFilter` needs `accounts` to filter by, got: accountFilter DIFFERENCE without accounts'],
    ['a name', { stackSetName: '1-fleet' }, "`stackSetName` must be a letter then up to 127 letters, digits and -, got: '1-fleet'"],
    ['a name with _', { stackSetName: 'fleet_member' }, "`stackSetName` must be a letter then up to 127 letters, digits and -, got: 'fleet_member'"],
    ['a long name', { stackSetName: `f${'x'.repeat(128)}` }, `\`stackSetName\` must be a letter then up to 127 letters, digits and -, got: 'f${'x'.repeat(128)}'`],
    ['a description', { description: 'x'.repeat(1025) }, '`description` must be 1 to 1024 characters long, got: 1025 characters'],
    ['retain without auto-deployment', { autoDeployment: false, retainStacksOnAccountRemoval: true }, '`retainStacksOnAccountRemoval` applies only with `autoDeployment`, got: true with autoDeployment false'],
    ['callAs from plain JavaScript', { callAs: 'ADMIN' as StackSetCallAs }, '`callAs` must be StackSetCallAs.SELF or StackSetCallAs.DELEGATED_ADMIN, got: ADMIN'],
    ['concurrency count 0', { operationPreferences: { maxConcurrentAccounts: StackSetMaxConcurrentAccounts.count(0) } }, '`operationPreferences.maxConcurrentAccounts.count` must be a whole number of at least 1, got: 0'],
    ['concurrency 0 %', { operationPreferences: { maxConcurrentAccounts: StackSetMaxConcurrentAccounts.percentage(0) } }, '`operationPreferences.maxConcurrentAccounts.percentage` must be a whole number from 1 to 100, got: 0'],
    ['concurrency 101 %', { operationPreferences: { maxConcurrentAccounts: StackSetMaxConcurrentAccounts.percentage(101) } }, '`operationPreferences.maxConcurrentAccounts.percentage` must be a whole number from 1 to 100, got: 101'],
    ['tolerance -1', { operationPreferences: { failureTolerance: StackSetFailureTolerance.count(-1) } }, '`operationPreferences.failureTolerance.count` must be a whole number of at least 0, got: -1'],
    ['tolerance 1.5', { operationPreferences: { failureTolerance: StackSetFailureTolerance.count(1.5) } }, '`operationPreferences.failureTolerance.count` must be a whole number of at least 0, got: 1.5'],
    ['tolerance 101 %', { operationPreferences: { failureTolerance: StackSetFailureTolerance.percentage(101) } }, '`operationPreferences.failureTolerance.percentage` must be a whole number from 0 to 100, got: 101'],
    ['a Region order name', { operationPreferences: { regionOrder: ['EU'] } }, "`operationPreferences.regionOrder` must be AWS Region names such as eu-west-1, got: 'EU'"],
  ])('%s', (_, props, message) => {
    expect(() => define(props)).toThrow(`${message} (at Admin/StackSet)`);
  });

  test('the Region order lists target Regions only, also those of added targets', () => {
    const set = define({ operationPreferences: { regionOrder: ['ap-southeast-2', 'eu-west-1'] } });
    set.addTarget({ organizationalUnitIds: [OU], regions: ['ap-southeast-2'] });
    expect(() => app.synth()).not.toThrow();
  });

  test('a Region order outside the targets fails at synth', () => {
    define({ operationPreferences: { regionOrder: ['eu-central-1', 'eu-west-1'] } });
    expect(() => app.synth()).toThrow('`operationPreferences.regionOrder` must list only target Regions (eu-west-1, us-east-1), got: eu-central-1');
  });

  test('parameters must exist in the template, and every parameter without a default needs a value', () => {
    new CfnParameter(member, 'CentralBucket', { type: 'String' });
    new CfnParameter(member, 'Prefix', { type: 'String', default: 'inventory' });
    define({ parameters: { Prefix: 'x', Bucket: 'y' } });
    expect(() => app.synth()).toThrow(
      "`parameters` names a parameter the template does not declare (declared: CentralBucket, Prefix), got: 'Bucket'",
    );
    expect(() => app.synth()).toThrow('`parameters` must give every template parameter without a default a value, missing: CentralBucket');
  });

  test('parameter overrides must exist in the template', () => {
    define().addTarget({ organizationalUnitIds: [OU], regions: ['eu-central-1'], parameterOverrides: { Bucket: 'y' } });
    expect(() => app.synth()).toThrow("`parameterOverrides` names a parameter the template does not declare (the template declares none), got: 'Bucket'");
  });

  test('the template must be created in the stack of the StackSet', () => {
    const other = new FleetStackSetTemplate(new Stack(app, 'Other', { env: ADMIN }), 'Member');
    expect(() => define({ template: other })).toThrow(
      '`template` must be created in the stack of this FleetStackSet (Admin), got: a template created in Other (at Admin/StackSet)',
    );
  });
});
