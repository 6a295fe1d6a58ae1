import { Duration, Lazy, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import {
  AssociationSchedule,
  InventoryCollection,
  InventoryCollectionProps,
  InventoryTargets,
} from '../../lib';
import { allFindings, testApp } from '../support/gates';

let stack: Stack;
beforeEach(() => {
  stack = new Stack(testApp(), 'TestStack');
});

function build(props: InventoryCollectionProps = {}): { collection: InventoryCollection; template: Template } {
  const collection = new InventoryCollection(stack, 'Inventory', props);
  return { collection, template: Template.fromStack(stack) };
}

const ALL_ENABLED = {
  applications: ['Enabled'],
  awsComponents: ['Enabled'],
  networkConfig: ['Enabled'],
  instanceDetailedInformation: ['Enabled'],
  services: ['Enabled'],
  windowsRoles: ['Enabled'],
  windowsUpdates: ['Enabled'],
  customInventory: ['Enabled'],
};

describe('InventoryCollection defaults', () => {
  test('one association of AWS-GatherSoftwareInventory on every node (hybrid included), every 30 minutes', () => {
    const { template } = build();
    template.resourceCountIs('AWS::SSM::Association', 1);
    template.hasResourceProperties('AWS::SSM::Association', {
      Name: 'AWS-GatherSoftwareInventory',
      Targets: [{ Key: 'InstanceIds', Values: ['*'] }],
      ScheduleExpression: 'rate(30 minutes)',
      MaxConcurrency: '10%',
      MaxErrors: '10%',
    });
  });

  test('sets every inventory type explicitly to Enabled, and no files or registry parameters', () => {
    const { template } = build();
    const associations = template.findResources('AWS::SSM::Association');
    const [association] = Object.values(associations) as { Properties: { Parameters: unknown } }[];
    expect(association.Properties.Parameters).toEqual(ALL_ENABLED);
  });

  test('never waits for success (offline hybrid nodes would fail the deploy) and sets no document version', () => {
    const { template } = build();
    template.hasResourceProperties('AWS::SSM::Association', {
      WaitForSuccessTimeoutSeconds: Match.absent(),
      DocumentVersion: Match.absent(),
      AssociationName: Match.absent(),
      ApplyOnlyAtCronInterval: Match.absent(),
      OutputLocation: Match.absent(),
    });
  });

  test('exposes the association (as node.defaultChild), its id and the targets', () => {
    const { collection } = build();
    const association = collection.node.defaultChild as ssm.CfnAssociation;
    expect(association.name).toBe('AWS-GatherSoftwareInventory');
    expect(stack.resolve(collection.associationId)).toEqual({
      'Fn::GetAtt': [stack.getLogicalId(association), 'AssociationId'],
    });
    expect(collection.associationName).toBeUndefined();
    expect(collection.targets.isAllNodes).toBe(true);
    expect(collection.schedule.expressionString).toBe('rate(30 minutes)');
  });

  test('passes every gate', () => {
    build();
    expect(allFindings(stack.node.root as never)).toEqual([]);
  });
});

describe('InventoryCollection parameters', () => {
  test.each([
    'applications',
    'awsComponents',
    'networkConfig',
    'instanceDetailedInformation',
    'services',
    'windowsRoles',
    'windowsUpdates',
    'customInventory',
  ])('%s: false writes Disabled and leaves the others Enabled', (name) => {
    const { template } = build({ [name]: false });
    template.hasResourceProperties('AWS::SSM::Association', {
      Parameters: { ...ALL_ENABLED, [name]: ['Disabled'] },
    });
  });

  test('true is the same as the default', () => {
    const { template } = build({ applications: true, windowsUpdates: true });
    template.hasResourceProperties('AWS::SSM::Association', { Parameters: ALL_ENABLED });
  });

  test('files are written as the JSON the document expects, Windows paths with forward slashes', () => {
    const { template } = build({
      files: [
        { path: '/home/ec2-user', patterns: ['*.sh'] },
        { path: 'C:\\Program Files', patterns: ['*.exe', '*.dll'], recursive: true, directoryScanLimit: 1000 },
      ],
    });
    template.hasResourceProperties('AWS::SSM::Association', {
      Parameters: {
        ...ALL_ENABLED,
        files: [
          '[{"Path":"/home/ec2-user","Pattern":["*.sh"],"Recursive":false},' +
            '{"Path":"C:/Program Files","Pattern":["*.exe","*.dll"],"Recursive":true,"DirScanLimit":1000}]',
        ],
        windowsRegistry: Match.absent(),
      },
    });
  });

  test('registry keys are written as the JSON the document expects', () => {
    const { template } = build({
      windowsRegistry: [
        { path: 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Amazon', recursive: true },
        { path: 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Amazon\\MachineImage', valueNames: ['AMIName'] },
      ],
    });
    template.hasResourceProperties('AWS::SSM::Association', {
      Parameters: {
        ...ALL_ENABLED,
        files: Match.absent(),
        windowsRegistry: [
          '[{"Path":"HKEY_LOCAL_MACHINE/SOFTWARE/Amazon","Recursive":true},' +
            '{"Path":"HKEY_LOCAL_MACHINE/SOFTWARE/Amazon/MachineImage","Recursive":false,"ValueNames":["AMIName"]}]',
        ],
      },
    });
  });

  test('empty files and registry lists are left out', () => {
    const { template } = build({ files: [], windowsRegistry: [] });
    template.hasResourceProperties('AWS::SSM::Association', { Parameters: ALL_ENABLED });
  });

  test('tokens in filters are rendered, not inspected', () => {
    const path = Lazy.string({ produce: () => '/opt/app' });
    const { template } = build({ files: [{ path, patterns: ['*'], directoryScanLimit: Lazy.number({ produce: () => 9999 }) }] });
    template.hasResourceProperties('AWS::SSM::Association', {
      Parameters: Match.objectLike({ files: ['[{"Path":"/opt/app","Pattern":["*"],"Recursive":false,"DirScanLimit":9999}]'] }),
    });
  });

  test('a directory scan limit without recursion is a warning', () => {
    build({ files: [{ path: '/var/log', patterns: ['*.log'], directoryScanLimit: 10 }] });
    Annotations.fromStack(stack).hasWarning(
      '/TestStack/Inventory',
      Match.stringLikeRegexp('`files\\[0\\].directoryScanLimit` has no effect without `recursive: true`'),
    );
  });
});

describe('InventoryCollection targets, schedule and association settings', () => {
  test('tag targets: one tag:<key> target per key', () => {
    const { collection, template } = build({ targets: InventoryTargets.tags({ Env: ['prod', 'staging'], Inventory: ['on'] }) });
    template.hasResourceProperties('AWS::SSM::Association', {
      Targets: [
        { Key: 'tag:Env', Values: ['prod', 'staging'] },
        { Key: 'tag:Inventory', Values: ['on'] },
      ],
    });
    expect(collection.targets.isAllNodes).toBe(false);
    expect(collection.targets.description).toBe('tag Env=prod|staging, tag Inventory=on');
  });

  test('resource group target', () => {
    const { collection, template } = build({ targets: InventoryTargets.resourceGroup('on-prem-servers') });
    template.hasResourceProperties('AWS::SSM::Association', {
      Targets: [{ Key: 'resource-groups:Name', Values: ['on-prem-servers'] }],
    });
    expect(collection.targets.isAllNodes).toBe(false);
  });

  test('a cron schedule, applied only at the cron times', () => {
    const { template } = build({
      schedule: AssociationSchedule.cron({ minute: '0', hour: '0/4' }),
      applyOnlyAtCronInterval: true,
    });
    template.hasResourceProperties('AWS::SSM::Association', {
      ScheduleExpression: 'cron(0 0/4 * * ? *)',
      ApplyOnlyAtCronInterval: true,
    });
  });

  test('a daily rate, a name and rate controls', () => {
    const { collection, template } = build({
      schedule: AssociationSchedule.rate(Duration.days(1)),
      associationName: 'fleet-inventory',
      maxConcurrency: '50',
      maxErrors: '0',
    });
    template.hasResourceProperties('AWS::SSM::Association', {
      ScheduleExpression: 'rate(1 day)',
      AssociationName: 'fleet-inventory',
      MaxConcurrency: '50',
      MaxErrors: '0',
    });
    expect(collection.associationName).toBe('fleet-inventory');
  });

  test('applyOnlyAtCronInterval: false with a rate is the default and not written', () => {
    const { template } = build({ applyOnlyAtCronInterval: false });
    template.hasResourceProperties('AWS::SSM::Association', { ApplyOnlyAtCronInterval: Match.absent() });
  });

  test('tokens are not validated', () => {
    // The construct does not inspect them; CloudFormation schema validation still checks the resolved values.
    const token = (value: string) => Lazy.string({ produce: () => value });
    const { template } = build({
      associationName: token('fleet-inventory'),
      maxConcurrency: token('25%'),
      maxErrors: token('5'),
      schedule: AssociationSchedule.expression(token('cron(0 2 ? * SUN *)')),
      applyOnlyAtCronInterval: true,
      targets: InventoryTargets.tags({ Env: [token('prod')] }),
    });
    template.hasResourceProperties('AWS::SSM::Association', {
      AssociationName: 'fleet-inventory',
      MaxConcurrency: '25%',
      MaxErrors: '5',
      ScheduleExpression: 'cron(0 2 ? * SUN *)',
      ApplyOnlyAtCronInterval: true,
      Targets: [{ Key: 'tag:Env', Values: ['prod'] }],
    });
  });
});

/** A readable test title for props: targets and schedules by what they select and their expression. */
function label(props: InventoryCollectionProps): string {
  return JSON.stringify(props, (_key, value: unknown) => {
    if (value instanceof InventoryTargets) return value.description;
    if (value instanceof AssociationSchedule) return value.expressionString;
    return value;
  });
}

describe('InventoryCollection validation', () => {
  test.each(([
    [{ targets: InventoryTargets.tags({}) }, /`targets` must use 1 to 5 tag keys \(one target each\), got: 0/],
    [
      { targets: InventoryTargets.tags({ a: ['1'], b: ['1'], c: ['1'], d: ['1'], e: ['1'], f: ['1'] }) },
      /`targets` must use 1 to 5 tag keys \(one target each\), got: 6 \(a, b, c, d, e, f\)/,
    ],
    [{ targets: InventoryTargets.tags({ Env: [] }) }, /`targets` must give 1 to 50 values for tag key 'Env', got: 0/],
    [
      { targets: InventoryTargets.tags({ Env: Array.from({ length: 51 }, (_, i) => `v${i}`) }) },
      /`targets` must give 1 to 50 values for tag key 'Env', got: 51/,
    ],
    [{ targets: InventoryTargets.tags({ 'aws:cloudformation': ['x'] }) }, /`targets` tag keys must not start with the reserved prefix 'aws:', got: 'aws:cloudformation'/],
    [{ targets: InventoryTargets.tags({ 'Env+1': ['x'] }) }, /`targets` tag keys must not contain '\+'.*got: 'Env\+1'/],
    [{ targets: InventoryTargets.tags({ Env: ['a&b'] }) }, /`targets` tag values may contain only .* got: 'a&b' for key 'Env'/],
    [{ targets: InventoryTargets.resourceGroup('my group') }, /`targets` resource group names must be 1 to 300 letters, numbers, _ \. or -, got: 'my group'/],
    [{ schedule: AssociationSchedule.rate(Duration.minutes(10)) }, /`schedule` must be a rate of at least 30 minutes and less than 31 days, got: 'rate\(10 minutes\)'/],
    [{ schedule: AssociationSchedule.rate(Duration.days(31)) }, /`schedule` must be a rate of at least 30 minutes .* got: 'rate\(31 days\)'/],
    [
      { schedule: AssociationSchedule.at(new Date('2030-01-01T00:00:00Z')) },
      /`schedule` must recur for inventory \(a rate of at least 30 minutes and less than 31 days, or a cron\), not run once, got: 'at\(2030-01-01T00:00:00\)'/,
    ],
    [{ schedule: AssociationSchedule.expression('at(2030-06-01T12:00:00)') }, /`schedule` must recur for inventory .* got: 'at\(2030-06-01T12:00:00\)'/],
    [{ applyOnlyAtCronInterval: true }, /`applyOnlyAtCronInterval` needs a cron `schedule` .* got: 'rate\(30 minutes\)'/],
    [{ associationName: 'ab' }, /`associationName` must be 3 to 128 letters, digits, _ - and \., got: 'ab'/],
    [{ associationName: 'inventory collection' }, /`associationName` .* got: 'inventory collection'/],
    [{ associationName: 'a'.repeat(129) }, /`associationName` must be 3 to 128/],
    [{ maxConcurrency: '0' }, /`maxConcurrency` must be a number from 1 or a percentage from 1% to 100% \(at most 7 characters\), got: '0'/],
    [{ maxErrors: '101%' }, /`maxErrors` must be a number from 0 or a percentage from 0% to 100% \(at most 7 characters\), got: '101%'/],
    [{ files: [{ path: '', patterns: ['*'] }] }, /`files\[0\].path` must not be empty, got: ''/],
    [{ files: [{ path: '/opt', patterns: ['*'] }, { path: '  ', patterns: ['*'] }] }, /`files\[1\].path` must not be empty, got: ' {2}'/],
    [{ files: [{ path: '/opt', patterns: [] }] }, /`files\[0\].patterns` must list at least one file name pattern, got: \[\]/],
    [{ files: [{ path: '/opt', patterns: ['*.sh', ''] }] }, /`files\[0\].patterns` must be non-empty file name patterns without \/ or \\, got: ''/],
    [{ files: [{ path: '/opt', patterns: ['logs/*.log'] }] }, /`files\[0\].patterns` .* got: 'logs\/\*\.log'/],
    [{ files: [{ path: '/opt', patterns: ['*'], directoryScanLimit: 0 }] }, /`files\[0\].directoryScanLimit` must be an integer from 1 to 5000, got: 0/],
    [{ files: [{ path: '/opt', patterns: ['*'], directoryScanLimit: 5001 }] }, /`files\[0\].directoryScanLimit` must be an integer from 1 to 5000, got: 5001/],
    [{ files: [{ path: '/opt', patterns: ['*'], directoryScanLimit: 2.5 }] }, /`files\[0\].directoryScanLimit` must be an integer from 1 to 5000, got: 2.5/],
    [{ windowsRegistry: [{ path: '' }] }, /`windowsRegistry\[0\].path` must not be empty, got: ''/],
    [
      { windowsRegistry: [{ path: 'HKLM\\SOFTWARE\\Amazon' }] },
      /`windowsRegistry\[0\].path` must start with HKEY_LOCAL_MACHINE, HKEY_CURRENT_USER, HKEY_USERS, HKEY_CLASSES_ROOT or HKEY_CURRENT_CONFIG, got: 'HKLM\\SOFTWARE\\Amazon'/,
    ],
    [{ windowsRegistry: [{ path: 'HKEY_LOCAL_MACHINEX\\SOFTWARE' }] }, /`windowsRegistry\[0\].path` must start with .* got: 'HKEY_LOCAL_MACHINEX/],
    [{ windowsRegistry: [{ path: 'HKEY_USERS', valueNames: [] }] }, /`windowsRegistry\[0\].valueNames` must list at least one value name, or be left out to collect every value, got: \[\]/],
    [{ windowsRegistry: [{ path: 'HKEY_USERS', valueNames: ['a', ''] }] }, /`windowsRegistry\[0\].valueNames` must not contain an empty value name, got: ''/],
  ] as [InventoryCollectionProps, RegExp][]).map(([props, message]) => [label(props), props, message] as const))(
    'rejects %s',
    (_label, props, message) => {
      expect(() => build(props)).toThrow(message);
    },
  );

  test('errors name the construct path', () => {
    expect(() => build({ maxErrors: 'x' })).toThrow(/\(at TestStack\/Inventory\)$/);
  });

  test('registry hives are accepted in any case and alone', () => {
    expect(() => build({ windowsRegistry: [{ path: 'hkey_current_config' }, { path: 'HKEY_CLASSES_ROOT\\.txt' }] })).not.toThrow();
  });
});

describe('InventoryCollection: one inventory association per node', () => {
  const conflicts: [string, InventoryTargets, InventoryTargets, RegExp][] = [
    ['two on all nodes', InventoryTargets.allNodes(), InventoryTargets.allNodes(), /\(both target all nodes\)/],
    ['all nodes, then tags', InventoryTargets.allNodes(), InventoryTargets.tags({ Env: ['prod'] }), /\(it targets all nodes\)/],
    ['tags, then all nodes', InventoryTargets.tags({ Env: ['prod'] }), InventoryTargets.allNodes(), /\(this one targets all nodes\)/],
    ['all nodes, then a resource group', InventoryTargets.allNodes(), InventoryTargets.resourceGroup('web'), /\(it targets all nodes\)/],
    [
      'a shared tag key and value',
      InventoryTargets.tags({ Env: ['prod', 'test'] }),
      InventoryTargets.tags({ Role: ['web'], Env: ['dev', 'test'] }),
      /\(both target tag Env=test\)/,
    ],
    ['the same resource group', InventoryTargets.resourceGroup('web'), InventoryTargets.resourceGroup('web'), /\(both target resource group web\)/],
  ];

  test.each(conflicts)('%s is refused, naming both constructs', (_name, first, second, reason) => {
    new InventoryCollection(stack, 'First', { targets: first });
    expect(() => new InventoryCollection(stack, 'Second', { targets: second })).toThrow(
      /`targets` must not reach nodes that TestStack\/First also collects inventory from/,
    );
    expect(() => new InventoryCollection(stack, 'Third', { targets: second })).toThrow(reason);
    expect(() => new InventoryCollection(stack, 'Fourth', { targets: second })).toThrow(
      /a node with two AWS-GatherSoftwareInventory associations runs neither.*\(at TestStack\/Fourth\)$/,
    );
  });

  test('the refused collection is not recorded: a later disjoint one still deploys', () => {
    new InventoryCollection(stack, 'Prod', { targets: InventoryTargets.tags({ Env: ['prod'] }) });
    expect(() => new InventoryCollection(stack, 'All', {})).toThrow(/TestStack\/Prod/);
    new InventoryCollection(stack, 'Dev', { targets: InventoryTargets.tags({ Env: ['dev'] }) });
    Template.fromStack(stack).resourceCountIs('AWS::SSM::Association', 2);
  });

  test('disjoint tag values, different keys and different resource groups may coexist', () => {
    new InventoryCollection(stack, 'Prod', { targets: InventoryTargets.tags({ Env: ['prod'] }) });
    new InventoryCollection(stack, 'Dev', { targets: InventoryTargets.tags({ Env: ['dev'] }) });
    new InventoryCollection(stack, 'Web', { targets: InventoryTargets.resourceGroup('web') });
    new InventoryCollection(stack, 'Db', { targets: InventoryTargets.resourceGroup('db') });
    Template.fromStack(stack).resourceCountIs('AWS::SSM::Association', 4);
  });

  test('collections in different stacks are not compared', () => {
    const app = testApp();
    const a = new Stack(app, 'A');
    const b = new Stack(app, 'B');
    new InventoryCollection(a, 'Inventory');
    expect(() => new InventoryCollection(b, 'Inventory')).not.toThrow();
    Template.fromStack(a).resourceCountIs('AWS::SSM::Association', 1);
    Template.fromStack(b).resourceCountIs('AWS::SSM::Association', 1);
  });
});
