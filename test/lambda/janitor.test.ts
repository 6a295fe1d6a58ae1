import {
  planCleanup,
  runJanitor,
  selectActivations,
  selectNodes,
  STOP_MARGIN_MS,
  stopBefore,
  toEmfLogLine,
  WHOLE_STEP,
  type ActivationRecord,
  type JanitorConfig,
  type JanitorPort,
  type NodeRecord,
  type ShouldStop,
} from '../../lambda/janitor/janitor';

const NOW = new Date('2026-03-01T12:00:00.000Z');
const HOUR = 3_600_000;
const MARKER = { key: 'hybrid-fleet:activation-api', value: 'Stack/Api' };
const OURS = [{ Key: 'Name', Value: 'web' }, { Key: MARKER.key, Value: MARKER.value }];
const CONFIG: JanitorConfig = { markerTag: MARKER, deregisterOfflineAfterSeconds: 24 * 3600, maxDeregistrationsPerRun: 10, dryRun: false };

const ago = (ms: number): Date => new Date(NOW.getTime() - ms);
const mi = (n: number): string => `mi-${n.toString(16).padStart(17, '0')}`;

function activation(id: string, fields: Partial<ActivationRecord> = {}): ActivationRecord {
  return { ActivationId: id, Expired: false, RegistrationLimit: 1, RegistrationsCount: 0, Tags: OURS, ...fields };
}

function node(id: string, lastPingAgoMs: number, fields: Partial<NodeRecord> = {}): NodeRecord {
  return { InstanceId: id, Name: `node-${id}`, PingStatus: 'ConnectionLost', LastPingDateTime: ago(lastPingAgoMs), ...fields };
}

/** An SSM error as the SDK throws it (only `name` matters to the core). */
function sdkError(name: string): Error {
  const err = new Error(`${name}: something SECRET happened`);
  err.name = name;
  return err;
}

/** A fake port that records calls and fails the ids listed in `failures` (id → error name). */
class FakePort implements JanitorPort {
  public readonly calls: string[] = [];
  constructor(
    public activations: readonly ActivationRecord[] = [],
    public nodes: readonly NodeRecord[] = [],
    public readonly failures: Record<string, string> = {},
  ) {}
  private maybeFail(key: string): void {
    const name = this.failures[key];
    if (name !== undefined) throw sdkError(name);
  }
  async listActivations() {
    this.calls.push('listActivations');
    this.maybeFail('listActivations');
    return this.activations;
  }
  async deleteActivation(id: string) {
    this.calls.push(`delete:${id}`);
    this.maybeFail(id);
  }
  async listNodes() {
    this.calls.push('listNodes');
    this.maybeFail('listNodes');
    return this.nodes;
  }
  async deregister(id: string) {
    this.calls.push(`deregister:${id}`);
    this.maybeFail(id);
  }
}

describe('selectActivations', () => {
  test('only ours: other APIs\' and untagged activations are never chosen, even when spent', () => {
    const list = [
      activation('ours-expired', { Expired: true }),
      activation('other-value', { Expired: true, Tags: [{ Key: MARKER.key, Value: 'Other/Api' }] }),
      activation('other-key', { Expired: true, Tags: [{ Key: 'hybrid-fleet:other', Value: MARKER.value }] }),
      activation('untagged', { Expired: true, Tags: undefined }),
      activation('empty-tags', { Expired: true, Tags: [] }),
    ];
    expect(selectActivations(list, MARKER)).toEqual(['ours-expired']);
  });

  test('expired or fully used are chosen; live ones are not', () => {
    const list = [
      activation('expired', { Expired: true, RegistrationsCount: 0 }),
      activation('used', { RegistrationLimit: 1, RegistrationsCount: 1 }),
      activation('over-used', { RegistrationLimit: 2, RegistrationsCount: 3 }),
      activation('live', { RegistrationLimit: 1, RegistrationsCount: 0 }),
      activation('partly-used', { RegistrationLimit: 5, RegistrationsCount: 4 }),
      activation('no-counts', { RegistrationLimit: undefined, RegistrationsCount: undefined }),
      activation('expired-undefined', { Expired: undefined }),
    ];
    expect(selectActivations(list, MARKER)).toEqual(['expired', 'used', 'over-used']);
  });

  test('an activation listed twice is chosen once; one without an id is ignored', () => {
    const list = [activation('a', { Expired: true }), activation('a', { Expired: true }), activation('', { Expired: true })];
    expect(selectActivations(list, MARKER)).toEqual(['a']);
  });
});

describe('selectNodes', () => {
  const cfg = { deregisterOfflineAfterSeconds: 3600, maxDeregistrationsPerRun: 10 };

  test('online never, offline younger than the threshold never, offline older yes, non-mi never', () => {
    const nodes = [
      node(mi(1), 10 * HOUR, { PingStatus: 'Online' }),
      node(mi(2), 30 * 60_000),
      node(mi(3), 2 * HOUR),
      node(mi(4), 3 * HOUR, { PingStatus: 'Inactive' }),
      node('i-0123456789abcdef0', 5 * HOUR),
      node(mi(5), HOUR), // exactly at the threshold: not older
      node(mi(6), HOUR + 1),
      node(mi(7), 0, { LastPingDateTime: undefined }),
      node(mi(8), 0, { LastPingDateTime: new Date(Number.NaN) }),
    ];
    const plan = selectNodes(nodes, cfg, NOW);
    expect(plan.nodesToDeregister.map((n) => n.instanceId)).toEqual([mi(4), mi(3), mi(6)]);
    expect(plan.nodesSkippedByCap).toEqual([]);
    expect(plan.nodesToDeregister[0]).toEqual({ instanceId: mi(4), name: `node-${mi(4)}`, lastPing: ago(3 * HOUR) });
  });

  test('cap: the oldest go first, the rest are skippedByCap, oldest first; ties ordered by id', () => {
    const nodes = [node(mi(1), 2 * HOUR), node(mi(2), 9 * HOUR), node(mi(3), 5 * HOUR), node(mi(5), 4 * HOUR), node(mi(4), 4 * HOUR)];
    const plan = selectNodes(nodes, { ...cfg, maxDeregistrationsPerRun: 2 }, NOW);
    expect(plan.nodesToDeregister.map((n) => n.instanceId)).toEqual([mi(2), mi(3)]);
    expect(plan.nodesSkippedByCap.map((n) => n.instanceId)).toEqual([mi(4), mi(5), mi(1)]);
  });

  test('threshold 0 selects nothing', () => {
    const plan = selectNodes([node(mi(1), 1000 * HOUR)], { ...cfg, deregisterOfflineAfterSeconds: 0 }, NOW);
    expect(plan).toEqual({ nodesToDeregister: [], nodesSkippedByCap: [] });
  });

  test('a node listed twice is chosen once', () => {
    const plan = selectNodes([node(mi(1), 2 * HOUR), node(mi(1), 2 * HOUR)], cfg, NOW);
    expect(plan.nodesToDeregister.map((n) => n.instanceId)).toEqual([mi(1)]);
  });
});

test('planCleanup combines both decisions', () => {
  const plan = planCleanup(
    [activation('used', { RegistrationsCount: 1 }), activation('live')],
    [node(mi(1), 48 * HOUR), node(mi(2), 30 * HOUR), node(mi(3), 2 * HOUR)],
    { ...CONFIG, maxDeregistrationsPerRun: 1 },
    NOW,
  );
  expect(plan.activationsToDelete).toEqual(['used']);
  expect(plan.nodesToDeregister.map((n) => n.instanceId)).toEqual([mi(1)]);
  expect(plan.nodesSkippedByCap.map((n) => n.instanceId)).toEqual([mi(2)]);
});

describe('runJanitor', () => {
  const activations = [
    activation('expired', { Expired: true }),
    activation('live'),
    activation('used', { RegistrationsCount: 1 }),
    activation('others', { Expired: true, Tags: [{ Key: MARKER.key, Value: 'Other/Api' }] }),
  ];
  const nodes = [
    node(mi(1), 30 * HOUR),
    node(mi(2), 72 * HOUR),
    node(mi(3), 2 * HOUR),
    node(mi(4), 100 * HOUR, { PingStatus: 'Online' }),
    node('i-0123456789abcdef0', 100 * HOUR),
  ];

  test('deletes our spent activations, then deregisters long-offline nodes oldest first', async () => {
    const port = new FakePort(activations, nodes);
    const { summary, deregistered } = await runJanitor(port, CONFIG, NOW);
    expect(port.calls).toEqual([
      'listActivations', 'delete:expired', 'delete:used', 'listNodes', `deregister:${mi(2)}`, `deregister:${mi(1)}`,
    ]);
    expect(summary).toEqual({
      dryRun: false,
      activationsDeleted: ['expired', 'used'],
      nodesDeregistered: [mi(2), mi(1)],
      nodesSkippedByCap: [],
      errors: [],
      deferred: 0,
      timedOut: false,
      startedAt: NOW.getTime(),
      durationMs: 0,
    });
    expect(deregistered).toEqual([
      { instanceId: mi(2), name: `node-${mi(2)}`, lastPing: ago(72 * HOUR) },
      { instanceId: mi(1), name: `node-${mi(1)}`, lastPing: ago(30 * HOUR) },
    ]);
  });

  test('the cap limits deregistrations; the rest are reported as skippedByCap, oldest first', async () => {
    const many = [5, 1, 4, 2, 3].map((i) => node(mi(i), (24 + i) * HOUR));
    const port = new FakePort([], many);
    const { summary } = await runJanitor(port, { ...CONFIG, maxDeregistrationsPerRun: 2 }, NOW);
    expect(port.calls.filter((c) => c.startsWith('deregister:'))).toEqual([`deregister:${mi(5)}`, `deregister:${mi(4)}`]);
    expect(summary.nodesDeregistered).toEqual([mi(5), mi(4)]);
    expect(summary.nodesSkippedByCap).toEqual([mi(3), mi(2), mi(1)]);
  });

  test('dry run: lists, but calls no Delete/Deregister, and reports what would have been done', async () => {
    const port = new FakePort(activations, nodes);
    const { summary, deregistered } = await runJanitor(port, { ...CONFIG, dryRun: true, maxDeregistrationsPerRun: 1 }, NOW);
    expect(port.calls).toEqual(['listActivations', 'listNodes']);
    expect(summary).toMatchObject({
      dryRun: true,
      activationsDeleted: ['expired', 'used'],
      nodesDeregistered: [mi(2)],
      nodesSkippedByCap: [mi(1)],
      errors: [],
    });
    expect(deregistered.map((n) => n.instanceId)).toEqual([mi(2)]);
  });

  test('already gone (InvalidActivation, InvalidActivationId, InvalidInstanceId) counts as done, not as an error', async () => {
    const port = new FakePort(
      [activation('a', { Expired: true }), activation('b', { Expired: true })],
      [node(mi(1), 48 * HOUR)],
      { a: 'InvalidActivation', b: 'InvalidActivationId', [mi(1)]: 'InvalidInstanceId' },
    );
    const { summary, deregistered } = await runJanitor(port, CONFIG, NOW);
    expect(summary.activationsDeleted).toEqual(['a', 'b']);
    expect(summary.nodesDeregistered).toEqual([mi(1)]);
    expect(deregistered.map((n) => n.instanceId)).toEqual([mi(1)]);
    expect(summary.errors).toEqual([]);
  });

  test('one item\'s failure does not stop the others; it is reported with id, action and error name', async () => {
    const port = new FakePort(
      [activation('a', { Expired: true }), activation('b', { Expired: true }), activation('c', { Expired: true })],
      [node(mi(1), 48 * HOUR), node(mi(2), 36 * HOUR), node(mi(3), 30 * HOUR)],
      { b: 'ThrottlingException', [mi(2)]: 'AccessDeniedException' },
    );
    const { summary, deregistered } = await runJanitor(port, CONFIG, NOW);
    expect(port.calls).toEqual([
      'listActivations', 'delete:a', 'delete:b', 'delete:c',
      'listNodes', `deregister:${mi(1)}`, `deregister:${mi(2)}`, `deregister:${mi(3)}`,
    ]);
    expect(summary.activationsDeleted).toEqual(['a', 'c']);
    expect(summary.nodesDeregistered).toEqual([mi(1), mi(3)]);
    expect(deregistered.map((n) => n.instanceId)).toEqual([mi(1), mi(3)]);
    expect(summary.errors).toEqual([
      { id: 'b', action: 'DeleteActivation', errorName: 'ThrottlingException' },
      { id: mi(2), action: 'DeregisterManagedInstance', errorName: 'AccessDeniedException' },
    ]);
    expect(JSON.stringify(summary)).not.toContain('SECRET');
  });

  test('a failed item without an error name is reported as "Error"', async () => {
    const port = new FakePort([activation('a', { Expired: true })]);
    port.deleteActivation = async () => {
      throw 'boom';
    };
    const { summary } = await runJanitor(port, CONFIG, NOW);
    expect(summary.errors).toEqual([{ id: 'a', action: 'DeleteActivation', errorName: 'Error' }]);
  });

  test('DescribeActivations failure ends step 1 (counted once); the node step still runs', async () => {
    const port = new FakePort(activations, nodes, { listActivations: 'InternalServerError' });
    const { summary } = await runJanitor(port, CONFIG, NOW);
    expect(port.calls).toEqual(['listActivations', 'listNodes', `deregister:${mi(2)}`, `deregister:${mi(1)}`]);
    expect(summary.activationsDeleted).toEqual([]);
    expect(summary.nodesDeregistered).toEqual([mi(2), mi(1)]);
    expect(summary.errors).toEqual([{ id: WHOLE_STEP, action: 'DescribeActivations', errorName: 'InternalServerError' }]);
  });

  test('DescribeInstanceInformation failure ends step 2 (counted once); activations are still cleaned', async () => {
    const port = new FakePort(activations, nodes, { listNodes: 'ThrottlingException' });
    const { summary } = await runJanitor(port, CONFIG, NOW);
    expect(port.calls).toEqual(['listActivations', 'delete:expired', 'delete:used', 'listNodes']);
    expect(summary.activationsDeleted).toEqual(['expired', 'used']);
    expect(summary.nodesDeregistered).toEqual([]);
    expect(summary.nodesSkippedByCap).toEqual([]);
    expect(summary.errors).toEqual([{ id: WHOLE_STEP, action: 'DescribeInstanceInformation', errorName: 'ThrottlingException' }]);
  });

  test('threshold 0: no node work at all (nodes are not even listed)', async () => {
    const port = new FakePort(activations, nodes);
    const { summary } = await runJanitor(port, { ...CONFIG, deregisterOfflineAfterSeconds: 0 }, NOW);
    expect(port.calls).toEqual(['listActivations', 'delete:expired', 'delete:used']);
    expect(summary.nodesDeregistered).toEqual([]);
    expect(summary.nodesSkippedByCap).toEqual([]);
  });

  test('nothing to do: no calls beyond the listings, empty summary', async () => {
    const port = new FakePort([activation('live')], [node(mi(1), HOUR)]);
    const { summary } = await runJanitor(port, CONFIG, NOW);
    expect(port.calls).toEqual(['listActivations', 'listNodes']);
    expect(summary).toMatchObject({ activationsDeleted: [], nodesDeregistered: [], nodesSkippedByCap: [], errors: [] });
  });

  test('durationMs comes from the injected clock', async () => {
    let t = 1000;
    const clock = () => (t += 250);
    const { summary } = await runJanitor(new FakePort(), CONFIG, NOW, clock);
    expect(summary.durationMs).toBe(250);
    expect(summary.startedAt).toBe(NOW.getTime());
  });
});

describe('runJanitor deadline', () => {
  /** A deadline that is not near for the first `n` questions, then is; records how often it was asked. */
  function stopAfter(n: number): ShouldStop & { asked: number } {
    const stop = Object.assign(() => ++stop.asked > n, { asked: 0 });
    return stop;
  }

  const spent = (...ids: string[]) => ids.map((id) => activation(id, { Expired: true }));
  /** Stale nodes, mi(1) the oldest. */
  const stale = (count: number) => Array.from({ length: count }, (_, i) => node(mi(i + 1), (100 - i) * HOUR));

  test('hit during the activations: no more deletions, the rest deferred, nodes not listed, summary returned', async () => {
    const port = new FakePort(spent('a', 'b', 'c', 'd'), stale(2), { b: 'ThrottlingException' });
    const { summary, deregistered } = await runJanitor(port, CONFIG, NOW, undefined, stopAfter(2));
    expect(port.calls).toEqual(['listActivations', 'delete:a', 'delete:b']);
    expect(summary).toEqual({
      dryRun: false,
      activationsDeleted: ['a'],
      nodesDeregistered: [],
      nodesSkippedByCap: [],
      errors: [{ id: 'b', action: 'DeleteActivation', errorName: 'ThrottlingException' }],
      deferred: 2,
      timedOut: true,
      startedAt: NOW.getTime(),
      durationMs: 0,
    });
    expect(deregistered).toEqual([]);
  });

  test('hit during the nodes: no more deregistrations, the rest deferred; the cap\'s skipped are still reported', async () => {
    const port = new FakePort(spent('a'), stale(5));
    // Asked before delete:a, before listNodes, before each deregistration: the 4th answer is "stop".
    const stop = stopAfter(3);
    const { summary, deregistered } = await runJanitor(port, { ...CONFIG, maxDeregistrationsPerRun: 4 }, NOW, undefined, stop);
    expect(port.calls).toEqual(['listActivations', 'delete:a', 'listNodes', `deregister:${mi(1)}`]);
    expect(summary).toMatchObject({
      activationsDeleted: ['a'],
      nodesDeregistered: [mi(1)],
      nodesSkippedByCap: [mi(5)],
      errors: [],
      deferred: 3,
      timedOut: true,
    });
    expect(deregistered.map((n) => n.instanceId)).toEqual([mi(1)]);
    expect(stop.asked).toBe(4);
  });

  test('already near at the start: only the activation listing runs; everything chosen is deferred', async () => {
    const port = new FakePort(spent('a', 'b'), stale(3));
    const { summary } = await runJanitor(port, CONFIG, NOW, undefined, () => true);
    expect(port.calls).toEqual(['listActivations']);
    expect(summary).toMatchObject({ activationsDeleted: [], nodesDeregistered: [], errors: [], deferred: 2, timedOut: true });
  });

  test('once near, it stays near: a later "not near" answer does not resume the run', async () => {
    const answers = [false, true, false, false, false];
    const port = new FakePort(spent('a', 'b', 'c'), stale(1));
    const { summary } = await runJanitor(port, CONFIG, NOW, undefined, () => answers.shift() ?? false);
    expect(port.calls).toEqual(['listActivations', 'delete:a']);
    expect(summary).toMatchObject({ activationsDeleted: ['a'], deferred: 2, timedOut: true });
  });

  test('a deadline that comes when nothing is left to start does not mark the run timed out', async () => {
    const port = new FakePort(spent('a'));
    const { summary } = await runJanitor(port, { ...CONFIG, deregisterOfflineAfterSeconds: 0 }, NOW, undefined, stopAfter(1));
    expect(port.calls).toEqual(['listActivations', 'delete:a']);
    expect(summary).toMatchObject({ activationsDeleted: ['a'], deferred: 0, timedOut: false });
  });

  test('dry run: decisions need no calls and are all reported; only the node listing waits for the deadline', async () => {
    const port = new FakePort(spent('a', 'b'), stale(2));
    const { summary } = await runJanitor(port, { ...CONFIG, dryRun: true }, NOW, undefined, () => true);
    expect(port.calls).toEqual(['listActivations']);
    expect(summary).toMatchObject({ dryRun: true, activationsDeleted: ['a', 'b'], nodesDeregistered: [], deferred: 0, timedOut: true });
  });

  test('a failed listing and then the deadline: the summary is still returned, nothing thrown', async () => {
    const port = new FakePort(spent('a'), stale(1), { listActivations: 'InternalServerError' });
    await expect(runJanitor(port, CONFIG, NOW, undefined, stopAfter(0))).resolves.toMatchObject({
      summary: { errors: [{ id: WHOLE_STEP, action: 'DescribeActivations', errorName: 'InternalServerError' }], deferred: 0, timedOut: true },
    });
    expect(port.calls).toEqual(['listActivations']);
  });
});

describe('stopBefore', () => {
  test(`stops once less than ${STOP_MARGIN_MS} ms remain`, () => {
    expect(STOP_MARGIN_MS).toBe(20_000);
    expect(stopBefore(() => 300_000)()).toBe(false);
    expect(stopBefore(() => 20_000)()).toBe(false);
    expect(stopBefore(() => 19_999)()).toBe(true);
    expect(stopBefore(() => 0)()).toBe(true);
  });

  test('asks for the remaining time on every question; takes another margin', () => {
    let remaining = 10_000;
    const stop = stopBefore(() => remaining, 5_000);
    expect(stop()).toBe(false);
    remaining = 4_999;
    expect(stop()).toBe(true);
  });
});

describe('toEmfLogLine', () => {
  const summary = {
    dryRun: false,
    activationsDeleted: ['a1', 'a2'],
    nodesDeregistered: [mi(1)],
    nodesSkippedByCap: [mi(2), mi(3), mi(4)],
    errors: [{ id: 'a3', action: 'DeleteActivation' as const, errorName: 'ThrottlingException' }],
    deferred: 5,
    timedOut: true,
    startedAt: NOW.getTime(),
    durationMs: 1234,
  };

  test('CloudWatch embedded metric format: _aws metadata, dimension and metric values top-level', () => {
    const line = toEmfLogLine(summary, 'HybridFleet/ActivationJanitor', 'Stack/Api');
    expect(line).toEqual({
      message: 'janitor run',
      _aws: {
        Timestamp: NOW.getTime(),
        CloudWatchMetrics: [{
          Namespace: 'HybridFleet/ActivationJanitor',
          Dimensions: [['MarkerTagValue']],
          Metrics: [
            { Name: 'ActivationsDeleted', Unit: 'Count' },
            { Name: 'NodesDeregistered', Unit: 'Count' },
            { Name: 'NodesSkippedByCap', Unit: 'Count' },
            { Name: 'Errors', Unit: 'Count' },
            { Name: 'Deferred', Unit: 'Count' },
          ],
        }],
      },
      MarkerTagValue: 'Stack/Api',
      ActivationsDeleted: 2,
      NodesDeregistered: 1,
      NodesSkippedByCap: 3,
      Errors: 1,
      Deferred: 5,
      dryRun: false,
      activationsDeleted: ['a1', 'a2'],
      nodesDeregistered: [mi(1)],
      nodesSkippedByCap: [mi(2), mi(3), mi(4)],
      errors: [{ id: 'a3', action: 'DeleteActivation', errorName: 'ThrottlingException' }],
      deferred: 5,
      timedOut: true,
      durationMs: 1234,
    });
  });

  test('every declared metric and dimension has a top-level value of the right type; survives JSON', () => {
    const line = JSON.parse(JSON.stringify(toEmfLogLine(summary, 'NS', 'Stack/Api')));
    const directive = line._aws.CloudWatchMetrics[0];
    expect(Number.isInteger(line._aws.Timestamp)).toBe(true);
    for (const metric of directive.Metrics) expect(typeof line[metric.Name]).toBe('number');
    for (const dimensionSet of directive.Dimensions) for (const d of dimensionSet) expect(typeof line[d]).toBe('string');
  });

  test('an empty run reports zeros', () => {
    const empty = { ...summary, activationsDeleted: [], nodesDeregistered: [], nodesSkippedByCap: [], errors: [], deferred: 0, timedOut: false };
    expect(toEmfLogLine(empty, 'NS', 'v')).toMatchObject({
      ActivationsDeleted: 0, NodesDeregistered: 0, NodesSkippedByCap: 0, Errors: 0, Deferred: 0, timedOut: false,
    });
  });
});
