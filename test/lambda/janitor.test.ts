import {
  ABORT_ERROR,
  LISTING_RESTARTS,
  REPEATED_TOKEN_ERROR,
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
  type Page,
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

/**
 * A fake SSM behind the port: pages its lists `pageSize` items at a time with POSITIONAL tokens (the index of the next
 * item, the worst case for a listing that deletes as it goes), removes what is deleted or deregistered, records calls
 * (`activations`, `activations@<token>`, `delete:<id>`, `nodes`, `nodes@<token>`, `deregister:<id>`) and fails the
 * keys listed in `failures` (a call name, or `activations`/`nodes` for every page) with the given error name.
 */
class FakePort implements JanitorPort {
  public readonly calls: string[] = [];
  public activations: ActivationRecord[];
  public nodes: NodeRecord[];
  /** Called on each call before it is answered (it may throw, e.g. to abort it). */
  public onCall: (call: string) => void = () => undefined;
  /** Failures of one call each (call name → error name), used up as they fire. */
  public readonly failOnce = new Map<string, string>();
  constructor(
    activations: readonly ActivationRecord[] = [],
    nodes: readonly NodeRecord[] = [],
    public readonly failures: Record<string, string> = {},
    public readonly pageSize = 50,
  ) {
    this.activations = [...activations];
    this.nodes = [...nodes];
  }
  private call(name: string, ...failureKeys: string[]): void {
    this.calls.push(name);
    this.onCall(name);
    const once = this.failOnce.get(name);
    if (once !== undefined) {
      this.failOnce.delete(name);
      throw sdkError(once);
    }
    for (const key of [name, ...failureKeys]) {
      const errorName = this.failures[key];
      if (errorName !== undefined) throw sdkError(errorName);
    }
  }
  private page<T>(items: readonly T[], token: string | undefined): Page<T> {
    const start = token === undefined ? 0 : Number(token);
    const end = start + this.pageSize;
    return { items: items.slice(start, end), nextToken: end < items.length ? String(end) : undefined };
  }
  async describeActivations(token: string | undefined) {
    this.call(token === undefined ? 'activations' : `activations@${token}`, 'activations');
    return this.page(this.activations, token);
  }
  async deleteActivation(id: string) {
    this.call(`delete:${id}`);
    this.activations = this.activations.filter((a) => a.ActivationId !== id);
  }
  async describeNodes(token: string | undefined) {
    this.call(token === undefined ? 'nodes' : `nodes@${token}`, 'nodes');
    return this.page(this.nodes, token);
  }
  async deregister(id: string) {
    this.call(`deregister:${id}`);
    this.nodes = this.nodes.filter((n) => n.InstanceId !== id);
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

  test('deletes our spent activations, checks with a second pass, then deregisters long-offline nodes oldest first', async () => {
    const port = new FakePort(activations, nodes);
    const { summary, deregistered } = await runJanitor(port, CONFIG, NOW);
    expect(port.calls).toEqual([
      'activations', 'delete:expired', 'delete:used', 'activations', 'nodes', `deregister:${mi(2)}`, `deregister:${mi(1)}`,
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
    expect(port.calls).toEqual(['activations', 'nodes']);
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
      { 'delete:a': 'InvalidActivation', 'delete:b': 'InvalidActivationId', [`deregister:${mi(1)}`]: 'InvalidInstanceId' },
    );
    const { summary, deregistered } = await runJanitor(port, CONFIG, NOW);
    expect(summary.activationsDeleted).toEqual(['a', 'b']);
    expect(summary.nodesDeregistered).toEqual([mi(1)]);
    expect(deregistered.map((n) => n.instanceId)).toEqual([mi(1)]);
    expect(summary.errors).toEqual([]);
  });

  test('one item\'s failure does not stop the others, nor is it retried by the second pass; it is reported with id, action and error name', async () => {
    const port = new FakePort(
      [activation('a', { Expired: true }), activation('b', { Expired: true }), activation('c', { Expired: true })],
      [node(mi(1), 48 * HOUR), node(mi(2), 36 * HOUR), node(mi(3), 30 * HOUR)],
      { 'delete:b': 'ThrottlingException', [`deregister:${mi(2)}`]: 'AccessDeniedException' },
    );
    const { summary, deregistered } = await runJanitor(port, CONFIG, NOW);
    expect(port.calls).toEqual([
      'activations', 'delete:a', 'delete:b', 'delete:c', 'activations',
      'nodes', `deregister:${mi(1)}`, `deregister:${mi(2)}`, `deregister:${mi(3)}`,
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
    const port = new FakePort(activations, nodes, { activations: 'InternalServerError' });
    const { summary } = await runJanitor(port, CONFIG, NOW);
    expect(port.calls).toEqual(['activations', 'nodes', `deregister:${mi(2)}`, `deregister:${mi(1)}`]);
    expect(summary.activationsDeleted).toEqual([]);
    expect(summary.nodesDeregistered).toEqual([mi(2), mi(1)]);
    expect(summary.errors).toEqual([{ id: WHOLE_STEP, action: 'DescribeActivations', errorName: 'InternalServerError' }]);
  });

  test('DescribeInstanceInformation failure ends step 2 (counted once); activations are still cleaned', async () => {
    const port = new FakePort(activations, nodes, { nodes: 'ThrottlingException' });
    const { summary } = await runJanitor(port, CONFIG, NOW);
    expect(port.calls).toEqual(['activations', 'delete:expired', 'delete:used', 'activations', 'nodes']);
    expect(summary.activationsDeleted).toEqual(['expired', 'used']);
    expect(summary.nodesDeregistered).toEqual([]);
    expect(summary.nodesSkippedByCap).toEqual([]);
    expect(summary.errors).toEqual([{ id: WHOLE_STEP, action: 'DescribeInstanceInformation', errorName: 'ThrottlingException' }]);
  });

  test('threshold 0: no node work at all (nodes are not even listed)', async () => {
    const port = new FakePort(activations, nodes);
    const { summary } = await runJanitor(port, { ...CONFIG, deregisterOfflineAfterSeconds: 0 }, NOW);
    expect(port.calls).toEqual(['activations', 'delete:expired', 'delete:used', 'activations']);
    expect(summary.nodesDeregistered).toEqual([]);
    expect(summary.nodesSkippedByCap).toEqual([]);
  });

  test('nothing to do: no calls beyond the listings, empty summary', async () => {
    const port = new FakePort([activation('live')], [node(mi(1), HOUR)]);
    const { summary } = await runJanitor(port, CONFIG, NOW);
    expect(port.calls).toEqual(['activations', 'nodes']);
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

describe('runJanitor pagination', () => {
  const spent = (id: string) => activation(id, { Expired: true });
  const live = (id: string) => activation(id);

  test('page by page: each page\'s spent activations are deleted before the next page is asked for', async () => {
    const port = new FakePort([spent('s1'), live('l1'), live('l2'), spent('s2'), live('l3')], [], {}, 2);
    const { summary } = await runJanitor(port, { ...CONFIG, deregisterOfflineAfterSeconds: 0 }, NOW);
    // s1 is deleted before page 2 is asked for, s2 before page 3.
    expect(port.calls.slice(0, 4)).toEqual(['activations', 'delete:s1', 'activations@2', 'delete:s2']);
    expect(summary).toMatchObject({ activationsDeleted: ['s1', 's2'], errors: [], deferred: 0, timedOut: false });
  });

  test('positional tokens skip what deletions shifted: further passes catch it, until a pass deletes nothing', async () => {
    const list = [spent('s1'), live('l1'), spent('s2'), live('l2'), spent('s3'), live('l3')];
    const port = new FakePort(list, [], {}, 2);
    const { summary } = await runJanitor(port, { ...CONFIG, deregisterOfflineAfterSeconds: 0 }, NOW);
    expect(port.calls).toEqual([
      // Pass 1: deleting s1 moves s2 onto page 1, which was already read: s2 is skipped.
      'activations', 'delete:s1', 'activations@2', 'delete:s3', 'activations@4',
      // Pass 2 finds s2; pass 3 deletes nothing and ends the step.
      'activations', 'delete:s2', 'activations@2',
      'activations', 'activations@2',
    ]);
    expect(summary.activationsDeleted).toEqual(['s1', 's3', 's2']);
    expect(port.activations.map((a) => a.ActivationId)).toEqual(['l1', 'l2', 'l3']);
  });

  test('an item listed by several passes (or on several pages) is acted on once per run', async () => {
    const port = new FakePort([spent('a'), live('l1'), spent('b')], [], { 'delete:a': 'ThrottlingException' }, 2);
    const { summary } = await runJanitor(port, { ...CONFIG, deregisterOfflineAfterSeconds: 0 }, NOW);
    expect(port.calls.filter((c) => c === 'delete:a')).toHaveLength(1);
    expect(summary.errors).toEqual([{ id: 'a', action: 'DeleteActivation', errorName: 'ThrottlingException' }]);
    expect(summary.activationsDeleted).toEqual(['b']);
  });

  test('InvalidNextToken: the listing starts over from the first page; what page 1 deleted is not deleted again', async () => {
    const port = new FakePort([spent('s1'), live('l1'), live('l2'), spent('s2')], [], {}, 2);
    port.failOnce.set('activations@2', 'InvalidNextToken');
    const { summary } = await runJanitor(port, { ...CONFIG, deregisterOfflineAfterSeconds: 0 }, NOW);
    expect(port.calls.slice(0, 5)).toEqual(['activations', 'delete:s1', 'activations@2', 'activations', 'activations@2']);
    expect(summary).toMatchObject({ activationsDeleted: ['s1', 's2'], errors: [] });
    expect(port.calls.filter((c) => c === 'delete:s1')).toHaveLength(1);
  });

  test(`InvalidNextToken on every restart: after ${LISTING_RESTARTS} restarts the step ends with one error; the node step still runs`, async () => {
    const port = new FakePort([spent('s1'), live('l1'), live('l2'), spent('s2')], [node(mi(1), 48 * HOUR)], { 'activations@2': 'InvalidNextToken' }, 2);
    const { summary } = await runJanitor(port, CONFIG, NOW);
    expect(port.calls).toEqual([
      'activations', 'delete:s1', 'activations@2', 'activations', 'activations@2', 'activations', 'activations@2',
      'nodes', `deregister:${mi(1)}`,
    ]);
    expect(summary.activationsDeleted).toEqual(['s1']);
    expect(summary.errors).toEqual([{ id: WHOLE_STEP, action: 'DescribeActivations', errorName: 'InvalidNextToken' }]);
  });

  test('nodes are listed page by page with the same restarts; the oldest-first order spans all pages', async () => {
    const nodes = [node(mi(1), 30 * HOUR), node(mi(2), 2 * HOUR), node(mi(3), 90 * HOUR), node(mi(4), 50 * HOUR), node(mi(5), 70 * HOUR)];
    const port = new FakePort([], nodes, {}, 2);
    port.failOnce.set('nodes@4', 'InvalidNextToken');
    const { summary } = await runJanitor(port, { ...CONFIG, maxDeregistrationsPerRun: 3 }, NOW);
    expect(port.calls).toEqual([
      'activations', 'nodes', 'nodes@2', 'nodes@4', 'nodes', 'nodes@2', 'nodes@4',
      `deregister:${mi(3)}`, `deregister:${mi(5)}`, `deregister:${mi(4)}`,
    ]);
    expect(summary).toMatchObject({ nodesDeregistered: [mi(3), mi(5), mi(4)], nodesSkippedByCap: [mi(1)], errors: [] });
  });

  test('a NextToken SSM returns twice ends the step with one RepeatedNextToken error instead of looping; the node step still runs', async () => {
    const port = new FakePort([spent('s1'), live('l1'), live('l2')], [node(mi(1), 48 * HOUR)], {}, 2);
    const describe = port.describeActivations.bind(port);
    // Every page points at position 2 again.
    port.describeActivations = async (token) => ({ ...(await describe(token)), nextToken: '2' });
    const { summary } = await runJanitor(port, CONFIG, NOW);
    expect(port.calls).toEqual(['activations', 'delete:s1', 'activations@2', 'nodes', `deregister:${mi(1)}`]);
    expect(summary).toMatchObject({
      activationsDeleted: ['s1'],
      errors: [{ id: WHOLE_STEP, action: 'DescribeActivations', errorName: REPEATED_TOKEN_ERROR }],
    });
    expect(REPEATED_TOKEN_ERROR).toBe('RepeatedNextToken');
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
    const port = new FakePort(spent('a', 'b', 'c', 'd'), stale(2), { 'delete:b': 'ThrottlingException' });
    // Asked before the page, before delete:a, before delete:b: the 4th answer is "stop".
    const { summary, deregistered } = await runJanitor(port, CONFIG, NOW, undefined, stopAfter(3));
    expect(port.calls).toEqual(['activations', 'delete:a', 'delete:b']);
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

  test('checked between pages: once near, the next page is not asked for (its items are unknown, so not counted)', async () => {
    const port = new FakePort([...spent('a'), activation('l1'), ...spent('b', 'c')], stale(1), {}, 2);
    // Asked before page 1 and before delete:a; the third question, before page 2, answers "stop".
    const stop = stopAfter(2);
    const { summary } = await runJanitor(port, CONFIG, NOW, undefined, stop);
    expect(port.calls).toEqual(['activations', 'delete:a']);
    expect(summary).toMatchObject({ activationsDeleted: ['a'], deferred: 0, timedOut: true, errors: [] });
    expect(stop.asked).toBe(3);
  });

  test('checked between node pages: a cut listing deregisters nothing; the candidates found, up to the cap, are deferred', async () => {
    const port = new FakePort([], stale(5), {}, 2);
    const stop = () => port.calls.includes('nodes@2');
    const { summary } = await runJanitor(port, { ...CONFIG, maxDeregistrationsPerRun: 3 }, NOW, undefined, stop);
    expect(port.calls).toEqual(['activations', 'nodes', 'nodes@2']);
    expect(summary).toMatchObject({ nodesDeregistered: [], nodesSkippedByCap: [], deferred: 3, timedOut: true, errors: [] });
  });

  test('hit during the nodes: no more deregistrations, the rest deferred; the cap\'s skipped are still reported', async () => {
    const port = new FakePort(spent('a'), stale(5));
    // Asked before the page, delete:a, the second pass's page, the node page and each deregistration: the 6th is "stop".
    const stop = stopAfter(5);
    const { summary, deregistered } = await runJanitor(port, { ...CONFIG, maxDeregistrationsPerRun: 4 }, NOW, undefined, stop);
    expect(port.calls).toEqual(['activations', 'delete:a', 'activations', 'nodes', `deregister:${mi(1)}`]);
    expect(summary).toMatchObject({
      activationsDeleted: ['a'],
      nodesDeregistered: [mi(1)],
      nodesSkippedByCap: [mi(5)],
      errors: [],
      deferred: 3,
      timedOut: true,
    });
    expect(deregistered.map((n) => n.instanceId)).toEqual([mi(1)]);
    expect(stop.asked).toBe(6);
  });

  test('already near at the start: no call at all; nothing is known, so nothing is deferred', async () => {
    const port = new FakePort(spent('a', 'b'), stale(3));
    const { summary } = await runJanitor(port, CONFIG, NOW, undefined, () => true);
    expect(port.calls).toEqual([]);
    expect(summary).toMatchObject({ activationsDeleted: [], nodesDeregistered: [], errors: [], deferred: 0, timedOut: true });
  });

  test('once near, it stays near: a later "not near" answer does not resume the run', async () => {
    const answers = [false, false, true, false, false, false];
    const port = new FakePort(spent('a', 'b', 'c'), stale(1));
    const { summary } = await runJanitor(port, CONFIG, NOW, undefined, () => answers.shift() ?? false);
    expect(port.calls).toEqual(['activations', 'delete:a']);
    expect(summary).toMatchObject({ activationsDeleted: ['a'], deferred: 2, timedOut: true });
  });

  test('a deadline that comes when nothing is left to start does not mark the run timed out', async () => {
    const port = new FakePort([activation('live')]);
    const { summary } = await runJanitor(port, { ...CONFIG, deregisterOfflineAfterSeconds: 0 }, NOW, undefined, stopAfter(1));
    expect(port.calls).toEqual(['activations']);
    expect(summary).toMatchObject({ activationsDeleted: [], deferred: 0, timedOut: false });
  });

  test('dry run: decisions need no calls and are all reported; the next listing waits for the deadline', async () => {
    const port = new FakePort(spent('a', 'b'), stale(2));
    const { summary } = await runJanitor(port, { ...CONFIG, dryRun: true }, NOW, undefined, stopAfter(1));
    expect(port.calls).toEqual(['activations']);
    expect(summary).toMatchObject({ dryRun: true, activationsDeleted: ['a', 'b'], nodesDeregistered: [], deferred: 0, timedOut: true });
  });

  test('a failed listing and then the deadline: the summary is still returned, nothing thrown', async () => {
    const port = new FakePort(spent('a'), stale(1), { activations: 'InternalServerError' });
    await expect(runJanitor(port, CONFIG, NOW, undefined, stopAfter(1))).resolves.toMatchObject({
      summary: { errors: [{ id: WHOLE_STEP, action: 'DescribeActivations', errorName: 'InternalServerError' }], deferred: 0, timedOut: true },
    });
    expect(port.calls).toEqual(['activations']);
  });
});

describe('runJanitor abort (a call in flight cut short by the adapter at the deadline)', () => {
  /** A deadline that comes as the adapter aborts: `abortOn` throws AbortError and flips the deadline. */
  function aborting(port: FakePort, abortOn: string): ShouldStop {
    let aborted = false;
    port.onCall = (call) => {
      if (call === abortOn) {
        aborted = true;
        throw sdkError(ABORT_ERROR);
      }
    };
    return () => aborted;
  }

  test('an aborted Delete is deferred with the rest of its page, not an error; nothing more starts', async () => {
    const port = new FakePort(['a', 'b', 'c'].map((id) => activation(id, { Expired: true })), [node(mi(1), 48 * HOUR)]);
    const { summary } = await runJanitor(port, CONFIG, NOW, undefined, aborting(port, 'delete:b'));
    expect(port.calls).toEqual(['activations', 'delete:a', 'delete:b']);
    expect(summary).toMatchObject({ activationsDeleted: ['a'], errors: [], deferred: 2, timedOut: true, nodesDeregistered: [] });
  });

  test('an aborted page ends the listing without an error', async () => {
    const port = new FakePort([activation('a', { Expired: true }), activation('l'), activation('b', { Expired: true })], [], {}, 2);
    const { summary } = await runJanitor(port, CONFIG, NOW, undefined, aborting(port, 'activations@2'));
    expect(port.calls).toEqual(['activations', 'delete:a', 'activations@2']);
    expect(summary).toMatchObject({ activationsDeleted: ['a'], errors: [], deferred: 0, timedOut: true });
  });

  test('an aborted node page or Deregister: deferred, not an error', async () => {
    const nodes = [node(mi(1), 48 * HOUR), node(mi(2), 36 * HOUR), node(mi(3), 30 * HOUR)];
    const cut = new FakePort([], nodes, {}, 2);
    const onPage = await runJanitor(cut, CONFIG, NOW, undefined, aborting(cut, 'nodes@2'));
    expect(onPage.summary).toMatchObject({ nodesDeregistered: [], errors: [], deferred: 2, timedOut: true });

    const port = new FakePort([], nodes);
    const { summary } = await runJanitor(port, CONFIG, NOW, undefined, aborting(port, `deregister:${mi(2)}`));
    expect(port.calls).toEqual(['activations', 'nodes', `deregister:${mi(1)}`, `deregister:${mi(2)}`]);
    expect(summary).toMatchObject({ nodesDeregistered: [mi(1)], errors: [], deferred: 2, timedOut: true });
  });

  test('an AbortError while the deadline is not near is an ordinary failure (recorded, the run goes on)', async () => {
    const port = new FakePort([activation('a', { Expired: true }), activation('b', { Expired: true })], [], { 'delete:a': ABORT_ERROR });
    const { summary } = await runJanitor(port, { ...CONFIG, deregisterOfflineAfterSeconds: 0 }, NOW);
    expect(summary).toMatchObject({ activationsDeleted: ['b'], errors: [{ id: 'a', action: 'DeleteActivation', errorName: ABORT_ERROR }], timedOut: false });
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
