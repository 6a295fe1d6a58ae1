import { Annotations as CoreAnnotations, App, CfnResource, Duration, Stack, StackProps } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { IConstruct } from 'constructs';
import { buildExampleApp } from '../../bin/example';
import {
  InventoryCollection,
  InventoryDataSync,
  MaintenanceSchedule,
  MaintenanceWindow,
  MaintenanceWindowTarget,
  PatchBaseline,
  PatchGroup,
  PatchOperatingSystem,
} from '../../lib';
import { ensureQuotaGuard, QUOTA_WARNING_PREFIX, QUOTAS, RAISED_QUOTAS_CONTEXT } from '../../lib/private/quota-guard';
import { cdkJsonApp, testApp } from '../support/gates';

const EU = { account: '111122223333', region: 'eu-west-1' };

interface Warning {
  readonly path: string;
  readonly id: string;
  readonly message: string;
}

/**
 * Runs every construct's validations (where the guard counts) and returns the quota warnings with their paths.
 * Used for the large counts (2,000 associations): a full synth would run the schema validation over every resource.
 */
function quotaWarnings(app: App): Warning[] {
  const all = app.node.findAll();
  for (const c of all) c.node.validate();
  return all.flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === 'aws:cdk:warning' && String(m.data).includes(`[ack: ${QUOTA_WARNING_PREFIX}`))
      .map((m) => {
        const message = String(m.data);
        const id = /\[ack: ([^\]]+)\]/.exec(message)![1];
        return { path: c.node.path, id: id.slice(QUOTA_WARNING_PREFIX.length), message };
      }),
  );
}

function ids(app: App): string[] {
  return quotaWarnings(app).map((w) => w.id);
}

function guardedStack(app: App, id = 'Stack', props: StackProps = { env: EU }): Stack {
  const stack = new Stack(app, id, props);
  ensureQuotaGuard(stack);
  return stack;
}

function windows(scope: IConstruct, n: number, prefix = 'W'): ssm.CfnMaintenanceWindow[] {
  return Array.from({ length: n }, (_, i) => new ssm.CfnMaintenanceWindow(scope as Stack, `${prefix}${i}`, {
    name: `window-${prefix}${i}`, schedule: 'rate(7 days)', duration: 2, cutoff: 1, allowUnassociatedTargets: false,
  }));
}

function associations(scope: IConstruct, n: number, key = 'InstanceIds', value = '*', prefix = 'A'): void {
  for (let i = 0; i < n; i++) {
    new ssm.CfnAssociation(scope as Stack, `${prefix}${i}`, { name: 'AWS-GatherSoftwareInventory', targets: [{ key, values: [value] }] });
  }
}

const linux = (scope: Stack, id: string) =>
  PatchBaseline.criticalAndSecurityUpdates(scope, id, { operatingSystem: PatchOperatingSystem.AMAZON_LINUX_2023 });

describe('quota guard: each quota at its default (no warning) and one over (warning)', () => {
  test('maintenance windows: 50 pass, 51 warn on the stack, counting L1 windows a user made', () => {
    const at = testApp();
    windows(guardedStack(at), 50);
    expect(ids(at)).toEqual([]);

    const over = testApp();
    const stack = guardedStack(over);
    windows(stack, 51);
    const [warning, ...rest] = quotaWarnings(over);
    expect(rest).toEqual([]);
    expect(warning.id).toBe('maintenanceWindows');
    expect(warning.path).toBe('Stack');
    expect(warning.message).toContain('"maintenance windows per account and Region": 51 in account/Region 111122223333/eu-west-1 (Stack: 51)');
    expect(warning.message).toContain('the default quota of 50, Service Quotas code L-7727CE5B');
    expect(warning.message).toContain('https://docs.aws.amazon.com/general/latest/gr/ssm.html');
    expect(warning.message).toContain(`\`${RAISED_QUOTAS_CONTEXT}\` ({"maintenanceWindows": <raised value>})`);
    expect(warning.message).toContain('split the windows over more accounts or Regions');
    expect(warning.message).toContain('in this stack: Stack/W0, Stack/W1, Stack/W2, and 48 more');
  });

  test('tasks per window: 20 pass, 21 warn on the window construct (counted by WindowId reference)', () => {
    const build = (n: number) => {
      const app = testApp();
      const stack = guardedStack(app);
      const [window] = windows(stack, 1);
      const other = windows(stack, 1, 'Other')[0];
      for (let i = 0; i < n; i++) {
        new ssm.CfnMaintenanceWindowTask(stack, `T${i}`, { windowId: window.ref, taskArn: 'AWS-RunShellScript', taskType: 'RUN_COMMAND', priority: 1 });
      }
      // Tasks of another window do not count towards this one.
      new ssm.CfnMaintenanceWindowTask(stack, 'OtherTask', { windowId: other.ref, taskArn: 'AWS-RunShellScript', taskType: 'RUN_COMMAND', priority: 1 });
      return app;
    };
    expect(ids(build(20))).toEqual([]);
    const [warning, ...rest] = quotaWarnings(build(21));
    expect(rest).toEqual([]);
    expect(warning).toMatchObject({ id: 'tasksPerWindow', path: 'Stack/W0' });
    expect(warning.message).toContain('"tasks per maintenance window": 21 tasks on the window Stack/W0, over the default quota of 20, Service Quotas code L-3D9CCA6E');
  });

  test('targets per window: 100 pass, 101 warn on the library window (its L2 path)', () => {
    const build = (n: number) => {
      const app = testApp();
      const stack = new Stack(app, 'Stack', { env: EU });
      const window = new MaintenanceWindow(stack, 'Window', { schedule: MaintenanceSchedule.cron({ weekDay: 'SUN', hour: '3', minute: '0' }) });
      for (let i = 0; i < n; i++) window.addTarget(`T${i}`, { tags: { Group: [`g${i}`] } });
      return app;
    };
    expect(ids(build(100))).toEqual([]);
    const [warning, ...rest] = quotaWarnings(build(101));
    expect(rest).toEqual([]);
    expect(warning).toMatchObject({ id: 'targetsPerWindow', path: 'Stack/Window' });
    expect(warning.message).toContain('101 targets on the window Stack/Window, over the default quota of 100, Service Quotas code L-B1A84B8B');
  });

  test('targets of an imported window are counted by its id', () => {
    const app = testApp();
    const stack = new Stack(app, 'Stack', { env: EU });
    const window = MaintenanceWindow.fromMaintenanceWindowId(stack, 'Imported', 'mw-0123456789abcdef0');
    for (let i = 0; i < 101; i++) new MaintenanceWindowTarget(stack, `T${i}`, { maintenanceWindow: window, tags: { Group: [`g${i}`] } });
    const [warning, ...rest] = quotaWarnings(app);
    expect(rest).toEqual([]);
    expect(warning).toMatchObject({ id: 'targetsPerWindow', path: 'Stack' });
    expect(warning.message).toContain('101 targets on the window mw-0123456789abcdef0');
  });

  test('patch baselines: 50 pass, 51 warn', () => {
    const build = (n: number) => {
      const app = testApp();
      const stack = new Stack(app, 'Stack', { env: EU });
      for (let i = 0; i < n; i++) linux(stack, `B${i}`);
      return app;
    };
    expect(ids(build(50))).toEqual([]);
    const [warning, ...rest] = quotaWarnings(build(51));
    expect(rest).toEqual([]);
    expect(warning).toMatchObject({ id: 'patchBaselines', path: 'Stack' });
    expect(warning.message).toContain('51 in account/Region 111122223333/eu-west-1 (Stack: 51)');
    expect(warning.message).toContain('default quota of 50, Service Quotas code L-218CDBD4');
  });

  test('patch groups per baseline: 25 pass, 26 warn on the baseline, with L1 PatchGroups counted too', () => {
    const build = (n: number) => {
      const app = testApp();
      const stack = new Stack(app, 'Stack', { env: EU });
      const baseline = linux(stack, 'Linux');
      for (let i = 0; i < n; i++) new PatchGroup(stack, `G${i}`, { patchGroupName: `g${i}`, baselines: [baseline] });
      new ssm.CfnPatchBaseline(stack, 'Raw', { name: 'raw', patchGroups: Array.from({ length: n }, (_, i) => `raw${i}`) });
      return app;
    };
    expect(ids(build(25))).toEqual([]);
    const warnings = quotaWarnings(build(26)).filter((w) => w.id === 'patchGroupsPerBaseline');
    expect(warnings.map((w) => w.path).sort()).toEqual(['Stack/Linux', 'Stack/Raw']);
    expect(warnings[0].message).toContain('26 patch groups on the baseline');
    expect(warnings[0].message).toContain('default quota of 25, Service Quotas code L-F4012070');
  });

  test('resource data syncs: 5 pass, 6 warn', () => {
    const build = (n: number) => {
      const app = testApp();
      const stack = guardedStack(app);
      for (let i = 0; i < n; i++) {
        new ssm.CfnResourceDataSync(stack, `S${i}`, { syncName: `s${i}`, bucketName: 'b', bucketRegion: 'eu-west-1', syncFormat: 'JsonSerDe' });
      }
      return app;
    };
    expect(ids(build(5))).toEqual([]);
    const [warning, ...rest] = quotaWarnings(build(6));
    expect(rest).toEqual([]);
    expect(warning).toMatchObject({ id: 'resourceDataSyncs', path: 'Stack' });
    expect(warning.message).toContain('6 in account/Region 111122223333/eu-west-1 (Stack: 6), plus any the account already has outside this app, over the default quota of 5 (');
  });

  test('associations: 2,000 pass, 2,001 warn (over several stacks of one account and Region)', () => {
    const build = (n: number) => {
      const app = testApp();
      for (let s = 0; s < 5; s++) {
        const stack = guardedStack(app, `S${s}`);
        // Each on its own tag value, so the per-node check stays quiet.
        for (let i = 0; i < 400 + (s === 4 ? n - 2000 : 0); i++) {
          new ssm.CfnAssociation(stack, `A${i}`, { name: 'AWS-RunShellScript', targets: [{ key: 'tag:Id', values: [`${s}-${i}`] }] });
        }
      }
      return app;
    };
    expect(ids(build(2000))).toEqual([]);
    const warnings = quotaWarnings(build(2001));
    expect(warnings.map((w) => `${w.id} ${w.path}`)).toEqual(['associations S0', 'associations S1', 'associations S2', 'associations S3', 'associations S4']);
    expect(warnings[0].message).toContain('2001 in account/Region 111122223333/eu-west-1 (S0: 400, S1: 400, S2: 400, S3: 400, S4: 401)');
    expect(warnings[0].message).toContain('the default quota of 2000 (');
  });

  test('associations on one node: 20 pass, 21 warn (every node plus the busiest tag value)', () => {
    const build = (everyNode: number, onWeb: number) => {
      const app = testApp();
      const stack = guardedStack(app);
      associations(stack, everyNode);
      associations(stack, onWeb, 'tag:PatchGroup', 'web', 'Web');
      associations(stack, 5, 'tag:PatchGroup', 'db', 'Db');
      return app;
    };
    expect(ids(build(15, 5))).toEqual([]);
    const [warning, ...rest] = quotaWarnings(build(15, 6));
    expect(rest).toEqual([]);
    expect(warning).toMatchObject({ id: 'associationsPerNode', path: 'Stack' });
    expect(warning.message).toContain('at least 21 associations reach one node in account/Region 111122223333/eu-west-1 (15 on every node plus 6 on tag:PatchGroup=web)');
    expect(ids(build(21, 0))).toEqual(['associationsPerNode']);
  });
});

describe('quota guard across stacks', () => {
  test('stacks of one account and Region are counted together; another Region apart', () => {
    const app = testApp();
    windows(guardedStack(app, 'A'), 30);
    windows(guardedStack(app, 'B'), 21);
    windows(guardedStack(app, 'Elsewhere', { env: { ...EU, region: 'us-east-1' } }), 49);
    const warnings = quotaWarnings(app);
    expect(warnings.map((w) => `${w.id} ${w.path}`)).toEqual(['maintenanceWindows A', 'maintenanceWindows B']);
    expect(warnings[0].message).toContain('51 in account/Region 111122223333/eu-west-1 (A: 30, B: 21)');
    expect(warnings[1].message).toContain('in this stack: B/W0, B/W1, B/W2, and 18 more');
  });

  test('a stack without library constructs is counted by the guard of another stack', () => {
    const app = testApp();
    windows(guardedStack(app, 'Library'), 1);
    windows(new Stack(app, 'Plain', { env: EU }), 50);
    expect(quotaWarnings(app).map((w) => `${w.id} ${w.path}`)).toEqual(['maintenanceWindows Library']);
  });

  test('env-agnostic stacks are counted together, and the warning says so', () => {
    const app = testApp();
    windows(guardedStack(app, 'A', {}), 26);
    windows(guardedStack(app, 'B', {}), 25);
    windows(guardedStack(app, 'Explicit'), 49);
    const warnings = quotaWarnings(app);
    expect(warnings.map((w) => w.path)).toEqual(['A', 'B']);
    expect(warnings[0].message).toContain('in account/Region (account unknown at synth)/(Region unknown at synth) (stacks without an explicit account and Region are counted together');
  });

  test('tasks in another stack count towards the window they reference', () => {
    const app = testApp();
    const [window] = windows(guardedStack(app, 'Windows'), 1);
    const tasks = guardedStack(app, 'Tasks');
    for (let i = 0; i < 21; i++) {
      new ssm.CfnMaintenanceWindowTask(tasks, `T${i}`, { windowId: window.ref, taskArn: 'AWS-RunShellScript', taskType: 'RUN_COMMAND', priority: 1 });
    }
    expect(quotaWarnings(app).map((w) => `${w.id} ${w.path}`)).toEqual(['tasksPerWindow Windows/W0']);
  });
});

describe('raised quotas and acknowledgements', () => {
  test('a raised quota in the context silences up to the raised value, and is named when exceeded', () => {
    const build = (n: number) => {
      const app = testApp({ context: { [RAISED_QUOTAS_CONTEXT]: { maintenanceWindows: 60 } } });
      windows(guardedStack(app), n);
      return app;
    };
    expect(ids(build(60))).toEqual([]);
    const [warning] = quotaWarnings(build(61));
    expect(warning.message).toContain('over the raised quota of 60 you declared (default 50, Service Quotas code L-7727CE5B)');
  });

  test('the context may be JSON text (as `cdk synth -c` passes it)', () => {
    const app = testApp({ context: { [RAISED_QUOTAS_CONTEXT]: '{"resourceDataSyncs": 10}' } });
    const stack = guardedStack(app);
    for (let i = 0; i < 6; i++) new ssm.CfnResourceDataSync(stack, `S${i}`, { syncName: `s${i}`, bucketName: 'b', bucketRegion: 'eu-west-1', syncFormat: 'JsonSerDe' });
    expect(ids(app)).toEqual([]);
  });

  test('Annotations.acknowledgeWarning silences a quota warning', () => {
    const app = testApp();
    const stack = guardedStack(app);
    windows(stack, 51);
    CoreAnnotations.of(stack).acknowledgeWarning(`${QUOTA_WARNING_PREFIX}maintenanceWindows`, 'raised to 100 in this account');
    expect(ids(app)).toEqual([]);
  });

  test.each([
    [{ maintenanceWindow: 100 }, "names an unknown quota 'maintenanceWindow'; known quotas: maintenanceWindows, tasksPerWindow, targetsPerWindow, patchBaselines, patchGroupsPerBaseline, resourceDataSyncs, associations, associationsPerNode (at Stack)"],
    [{ maintenanceWindows: 40 }, '`cdk-ssm-hybrid-fleet:raisedQuotas`.maintenanceWindows must be a whole number at least the default quota 50 (the value AWS raised it to), got: 40'],
    [{ maintenanceWindows: '100' }, 'maintenanceWindows must be a whole number at least the default quota 50 (the value AWS raised it to), got: "100"'],
    [[100], 'must be an object of quota names'],
    ['{not json', "must be an object (or its JSON) of quota names to raised values, got: '{not json'"],
  ])('context %j fails at synth with a clear message', (raised, message) => {
    const app = testApp({ context: { [RAISED_QUOTAS_CONTEXT]: raised } });
    expect(() => guardedStack(app)).toThrow(message);
  });
});

describe('quota guard installation', () => {
  test('the warnings reach the cloud assembly', () => {
    const app = testApp();
    const stack = guardedStack(app);
    windows(stack, 51);
    Annotations.fromStack(stack).hasWarning('/Stack', Match.stringLikeRegexp('maintenance windows per account and Region.*51'));
  });

  const makers: [string, (stack: Stack) => void][] = [
    ['MaintenanceWindow', (s) => new MaintenanceWindow(s, 'X', { schedule: MaintenanceSchedule.rate(Duration.days(7)) })],
    ['MaintenanceWindowTarget', (s) => new MaintenanceWindowTarget(s, 'X', { maintenanceWindow: MaintenanceWindow.fromMaintenanceWindowId(s, 'I', 'mw-0123456789abcdef0'), tags: { A: ['b'] } })],
    ['PatchBaseline', (s) => linux(s, 'X')],
    // The baseline in a stack of another Region, so that only the patch group can have installed this stack's guard.
    ['PatchGroup', (s) => new PatchGroup(s, 'X', { patchGroupName: 'x', baselines: [linux(new Stack(s.node.root, 'Baselines', { env: { ...EU, region: 'us-east-1' } }), 'B')] })],
    ['InventoryCollection', (s) => new InventoryCollection(s, 'X')],
    ['InventoryDataSync', (s) => new InventoryDataSync(s, 'X')],
  ];
  test.each(makers)('%s installs the guard once per stack', (_name, make) => {
    const app = testApp();
    const stack = new Stack(app, 'Stack', { env: EU });
    windows(stack, 51, 'Raw');
    expect(ids(app)).toEqual([]);
    const addValidation = jest.spyOn(stack.node, 'addValidation');
    make(stack);
    expect(ids(app)).toEqual(['maintenanceWindows']);
    ensureQuotaGuard(stack);
    ensureQuotaGuard(new CfnResource(stack, 'Child', { type: 'AWS::SNS::Topic' }));
    expect(addValidation).toHaveBeenCalledTimes(1);
  });

  test('every quota has a default from the General Reference', () => {
    expect(Object.fromEntries(Object.entries(QUOTAS).map(([k, q]) => [k, q.defaultValue]))).toEqual({
      maintenanceWindows: 50, tasksPerWindow: 20, targetsPerWindow: 100, patchBaselines: 50,
      patchGroupsPerBaseline: 25, resourceDataSyncs: 5, associations: 2000, associationsPerNode: 20,
    });
  });

  test('the example app raises no quota warning', () => {
    expect(quotaWarnings(buildExampleApp(cdkJsonApp()))).toEqual([]);
  });
});
