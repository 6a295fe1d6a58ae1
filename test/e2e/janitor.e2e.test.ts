/**
 * End-to-end tests of the BUNDLED janitor handler (`assets/janitor/index.js`, built by `npm run bundle`) against the
 * loopback SSM server (test/support/ssm-stub.ts), which the SDK inside the bundle reaches through
 * `AWS_ENDPOINT_URL_SSM`. Contract: docs/handler-contract.md, "janitor".
 *
 * As in create-activation.e2e.test.ts, the bundle runs in a child node process (test/support/handler-process.ts: a
 * Lambda execution environment of its own, with its own module-scope SSM client and adaptive rate limiter, its own
 * environment, real stdout/stderr). Each run sends it one EventBridge "Scheduled Event" with the function's 5-minute
 * timeout counting down in `context.getRemainingTimeInMillis()`.
 */
import { randomUUID } from 'node:crypto';
import { Duration, type Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { ScheduledEvent } from 'aws-lambda';
import { lambdaContext } from '../support/api-gateway-event';
import { useE2e, type Tuning } from '../support/e2e';
import { jsonLines, type HandlerProcess } from '../support/handler-process';
import { DEFAULT_HANDLERS, Faults, SsmStub, type FaultSpec, type StoredNode } from '../support/ssm-stub';
import { ActivationJanitor, HybridActivationApi, type HybridActivationApiProps } from '../../lib';

const ACCOUNT = '111122223333';
const REGION = 'eu-west-1';
const MARKER_KEY = HybridActivationApi.MARKER_TAG_KEY;
const MARKER_VALUE = 'HybridFleetExample/ActivationApi';
const OTHER_VALUE = 'SomeoneElse/ActivationApi';
/** The API's instance role: every activation `stub.addActivation` makes carries it unless told otherwise. */
const ROLE_NAME = 'HybridFleetInstanceRole';
const ROLE_FILTER = [{ FilterKey: 'IamRole', FilterValues: [ROLE_NAME] }];
const NAMESPACE = ActivationJanitor.METRICS_NAMESPACE;
const HOUR = 3_600_000;
const THRESHOLD_SECONDS = 24 * 3600;

/** The janitor as the API builds it (a threshold of one day, no cap to speak of), with an instance role of that name. */
const api = (props: HybridActivationApiProps = {}) => (stack: Stack) => {
  new HybridActivationApi(stack, 'Activations', {
    markerTagValue: MARKER_VALUE,
    instanceRole: iam.Role.fromRoleName(stack, 'InstanceRole', ROLE_NAME),
    deregisterOfflineAfter: Duration.seconds(THRESHOLD_SECONDS),
    maxDeregistrationsPerRun: 1000,
    serverErrorAlarm: false,
    ...props,
  });
};
const e2e = useE2e('janitor', {
  configs: {
    default: api(),
    dryRun: api({ janitorDryRun: true }),
    cap7: api({ maxDeregistrationsPerRun: 7 }),
    activationsOnly: api({ deregisterOfflineAfter: undefined, maxDeregistrationsPerRun: undefined }),
    // The same janitor built on its own.
    standalone: (stack) => {
      new ActivationJanitor(stack, 'Janitor', {
        api: HybridActivationApi.fromHybridActivationApiAttributes(stack, 'Api', { markerTagValue: MARKER_VALUE }),
        instanceRole: iam.Role.fromRoleName(stack, 'InstanceRole', ROLE_NAME),
        deregisterOfflineAfter: Duration.seconds(THRESHOLD_SECONDS),
        maxDeregistrationsPerRun: 1000,
      });
    },
  },
  // The SDK's attempts are the handler's default (8); a shorter per-attempt timeout keeps the fault tests short.
  tuning: { LOG_LEVEL: 'INFO', SSM_REQUEST_TIMEOUT_MS: '1000' },
});
const { stub } = e2e;
type Config = Parameters<typeof e2e.env>[0];

/** The janitor summary as the handler returns it (JSON over IPC). */
interface Summary {
  dryRun: boolean;
  activationsDeleted: string[];
  nodesDeregistered: string[];
  nodesSkippedByCap: string[];
  errors: Array<{ id: string; action: string; errorName: string }>;
  deferred: number;
  timedOut: boolean;
  startedAt: number;
  durationMs: number;
}

/** The bundled handler running in its own node process; `invoke()` sends one scheduled event. */
interface JanitorProcess extends Omit<HandlerProcess<Summary>, 'invoke'> {
  invoke(): Promise<Summary>;
}

/** The janitor function's timeout (lib/activation/activation-janitor.ts). */
const FUNCTION_TIMEOUT_MS = 5 * 60_000;

function scheduledEvent(): ScheduledEvent {
  return {
    'version': '0',
    'id': randomUUID(),
    'detail-type': 'Scheduled Event',
    'source': 'aws.events',
    'account': ACCOUNT,
    'time': new Date().toISOString(),
    'region': REGION,
    'resources': [`arn:aws:events:${REGION}:${ACCOUNT}:rule/HybridFleetExample-Janitor`],
    'detail': {},
  };
}

/**
 * Starts the bundle with the base environment plus `overrides` (`undefined` removes a variable); rejects with the load
 * error on a bad environment.
 */
async function startJanitor(config: Config = 'default', tuning: Tuning = {}, timeoutMs = FUNCTION_TIMEOUT_MS): Promise<JanitorProcess> {
  const proc = await e2e.startProcess<Summary>(e2e.env(config, tuning), { timeoutMs });
  const janitor: JanitorProcess = {
    invoke: () => proc.invoke(scheduledEvent(), lambdaContext(randomUUID(), { functionName: 'HybridFleetExample-Janitor', accountId: ACCOUNT })),
    output: () => proc.output(),
    close: async () => {
      e2e.closeAfterTest.delete(janitor);
      await proc.close();
    },
  };
  e2e.closeAfterTest.add(janitor);
  return janitor;
}

interface Run {
  readonly summary: Summary;
  readonly output: string;
  readonly ms: number;
}

/** One cold start + one scheduled invocation in a fresh process. */
async function runOnce(config: Config = 'default', tuning: Tuning = {}, timeoutMs?: number): Promise<Run> {
  const proc = await startJanitor(config, tuning, timeoutMs);
  const started = Date.now();
  const summary = await proc.invoke();
  const ms = Date.now() - started;
  await proc.close();
  return { summary, output: proc.output(), ms };
}

// ---------------------------------------------------------------------------------------------------------------
// Fleet: 120 activations (3 pages of 50) and 75 nodes, 60 of them ours (2 pages of 50 through the tag filter)
// ---------------------------------------------------------------------------------------------------------------

interface Fleet {
  /** Our expired or fully used activations: the janitor deletes these. */
  readonly spentActivations: string[];
  /** Our live activations and everyone else's: they stay. */
  readonly keptActivations: string[];
  /** Our offline nodes older than the threshold, oldest first: the janitor deregisters these. */
  readonly staleNodes: string[];
  /** Everything else: online, recently offline, other APIs', EC2. */
  readonly keptNodes: string[];
}

const ours = (name: string) => ({ Name: name, [MARKER_KEY]: MARKER_VALUE, Env: 'test' });
const theirs = (name: string) => ({ Name: name, [MARKER_KEY]: OTHER_VALUE });

/** A deterministic shuffle so every page mixes kinds. */
function interleave<T>(groups: T[][]): T[] {
  const out: T[] = [];
  for (let i = 0; groups.some((g) => i < g.length); i++) for (const g of groups) if (i < g.length) out.push(g[i]);
  return out;
}

/** How many of each kind `seedFleet` makes. */
interface FleetSize {
  readonly expired: number;
  readonly used: number;
  readonly live: number;
  readonly others: number;
  readonly stale: number;
  readonly online: number;
  readonly recent: number;
  readonly foreign: number;
  readonly ec2: number;
}

/** 120 activations (3 pages) with 50 to delete; 60 nodes of ours (2 pages) with 30 to deregister, plus 15 others. */
const BIG: FleetSize = { expired: 25, used: 25, live: 30, others: 40, stale: 30, online: 15, recent: 15, foreign: 10, ec2: 5 };

function seedFleet(size: FleetSize = BIG): Fleet {
  const now = Date.now();
  const past = new Date(now - HOUR);
  const future = new Date(now + 6 * HOUR);
  type Seed = () => { id: string; kept: boolean };
  const act = (kept: boolean, seed: Parameters<SsmStub['addActivation']>[0]): Seed => () => ({ id: stub.addActivation(seed).ActivationId, kept });

  const expired = Array.from({ length: size.expired }, (_, i) => act(false, { name: `exp-${i}`, tags: ours(`exp-${i}`), expirationDate: past }));
  const used = Array.from({ length: size.used }, (_, i) =>
    act(false, { name: `used-${i}`, tags: ours(`used-${i}`), registrationLimit: 1 + (i % 3), registrationsCount: 1 + (i % 3), expirationDate: future }));
  const live = Array.from({ length: size.live }, (_, i) =>
    act(true, { name: `live-${i}`, tags: ours(`live-${i}`), registrationLimit: 3, registrationsCount: i % 3, expirationDate: future }));
  const others = Array.from({ length: size.others }, (_, i) => {
    const tags = i % 4 === 0 ? { Name: `x-${i}` } : theirs(`x-${i}`);
    return act(true, { name: `x-${i}`, tags, expirationDate: i % 2 ? past : future, registrationsCount: i % 3 === 0 ? 1 : 0 });
  });
  const seeded = interleave([expired, used, live, others]).map((seed) => seed());

  const node = (kept: boolean, seed: Parameters<SsmStub['addNode']>[0]) => () => ({ node: stub.addNode(seed), kept });
  // Stale: offline for 25, 26, ... hours (distinct ages → a well-defined oldest-first order); mixed ping states.
  const stale = Array.from({ length: size.stale }, (_, i) =>
    node(false, { name: `stale-${i}`, tags: ours(`stale-${i}`), pingStatus: i % 5 === 0 ? 'Inactive' : 'ConnectionLost', lastPing: new Date(now - (25 + i) * HOUR) }));
  const online = Array.from({ length: size.online }, (_, i) =>
    node(true, { name: `on-${i}`, tags: ours(`on-${i}`), pingStatus: 'Online', lastPing: new Date(now - (i % 2 ? 0 : 100 * HOUR)) }));
  const recent = Array.from({ length: size.recent }, (_, i) =>
    node(true, { name: `recent-${i}`, tags: ours(`recent-${i}`), pingStatus: 'ConnectionLost', lastPing: new Date(now - (1 + (i % 20)) * HOUR) }));
  const foreign = Array.from({ length: size.foreign }, (_, i) =>
    node(true, { name: `foreign-${i}`, tags: theirs(`foreign-${i}`), pingStatus: 'ConnectionLost', lastPing: new Date(now - 200 * HOUR) }));
  const ec2 = Array.from({ length: size.ec2 }, (_, i) =>
    node(true, { name: `ec2-${i}`, tags: ours(`ec2-${i}`), pingStatus: 'ConnectionLost', resourceType: 'EC2Instance', lastPing: new Date(now - 200 * HOUR) }));
  const nodes = interleave([stale, online, recent, foreign, ec2]).map((seed) => seed());

  const byAge = (a: StoredNode, b: StoredNode) => a.LastPingDateTime.getTime() - b.LastPingDateTime.getTime();
  return {
    spentActivations: seeded.filter((a) => !a.kept).map((a) => a.id),
    keptActivations: seeded.filter((a) => a.kept).map((a) => a.id),
    staleNodes: nodes.filter((n) => !n.kept).map((n) => n.node).sort(byAge).map((n) => n.InstanceId),
    keptNodes: nodes.filter((n) => n.kept).map((n) => n.node.InstanceId),
  };
}

const sorted = (ids: Iterable<string>): string[] => [...ids].sort();
const activationIds = () => sorted(stub.state.activations.keys());
const nodeIds = () => sorted(stub.state.nodes.keys());

function expectCleaned(fleet: Fleet): void {
  expect(activationIds()).toEqual(sorted(fleet.keptActivations));
  expect(nodeIds()).toEqual(sorted(fleet.keptNodes));
}

/** Resolves once the stub has answered (or dropped) every request of `operation` so far; gives up after 10 s. */
async function settled(operation: string): Promise<void> {
  for (let waited = 0; stub.requestsFor(operation).some((r) => r.outcome === undefined) && waited < 10_000; waited += 50) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const pagesOf = (operation: string) => stub.requestsFor(operation).filter((r) => r.outcome === 'ok');

test('cleans our spent activations and long-offline nodes over several pages; everything else stays', async () => {
  const fleet = seedFleet();
  const { summary, output } = await runOnce();

  expect(summary.errors).toEqual([]);
  expect(summary.dryRun).toBe(false);
  expect(sorted(summary.activationsDeleted)).toEqual(sorted(fleet.spentActivations));
  expect(summary.nodesDeregistered).toEqual(fleet.staleNodes);
  expect(summary.nodesSkippedByCap).toEqual([]);
  expect(summary).toMatchObject({ deferred: 0, timedOut: false });
  expectCleaned(fleet);

  // 120 activations of the instance role, listed by it with MaxResults 50, page by page: the spent ones of a page are
  // deleted before the next page is asked for. The stub's tokens are positions, so deletions make a pass skip items;
  // the passes that follow find them (at most 3 passes of at most 3 pages here).
  const pages = pagesOf('DescribeActivations');
  for (const page of pages) expect(page.body).toMatchObject({ Filters: ROLE_FILTER, MaxResults: 50 });
  expect(pages.slice(0, 2).map((r) => r.body.NextToken)).toEqual([undefined, '50']);
  expect(pages.length).toBeLessThanOrEqual(9);
  const firstDelete = stub.requests.findIndex((r) => r.operation === 'DeleteActivation');
  expect(firstDelete).toBeGreaterThan(-1);
  expect(firstDelete).toBeLessThan(stub.requests.indexOf(pages[1]));
  // 60 nodes of ours → 2 pages, always through the marker tag filter with MaxResults 50.
  const filters = [{ Key: `tag:${MARKER_KEY}`, Values: [MARKER_VALUE] }];
  expect(pagesOf('DescribeInstanceInformation').map((r) => r.body)).toEqual([
    { Filters: filters, MaxResults: 50 },
    { Filters: filters, MaxResults: 50, NextToken: '50' },
  ]);
  expect(stub.requestsFor('DeleteActivation')).toHaveLength(50);
  expect(stub.requestsFor('DeregisterManagedInstance').map((r) => r.body.InstanceId)).toEqual(fleet.staleNodes);

  const lines = jsonLines(output);
  const runs = lines.filter((l) => l.message === 'janitor run');
  expect(runs).toHaveLength(1);
  expect(runs[0]).toMatchObject({
    level: 'INFO',
    _aws: {
      Timestamp: expect.any(Number),
      CloudWatchMetrics: [{ Namespace: NAMESPACE, Dimensions: [['MarkerTagValue']], Metrics: expect.any(Array) }],
    },
    MarkerTagValue: MARKER_VALUE,
    ActivationsDeleted: 50,
    NodesDeregistered: 30,
    NodesSkippedByCap: 0,
    Errors: 0,
    Deferred: 0,
    dryRun: false,
    nodesDeregistered: fleet.staleNodes,
    errors: [],
    deferred: 0,
    timedOut: false,
    durationMs: expect.any(Number),
  });
  expect(runs[0]._aws.CloudWatchMetrics[0].Metrics.map((m: { Name: string }) => m.Name)).toEqual([
    'ActivationsDeleted', 'NodesDeregistered', 'NodesSkippedByCap', 'Errors', 'Deferred',
  ]);
  const audit = lines.filter((l) => l.message === 'node deregistered');
  expect(audit.map((l) => l.instanceId)).toEqual(fleet.staleNodes);
  expect(audit[0]).toMatchObject({ caller: 'janitor', name: expect.stringMatching(/^stale-/), lastPing: expect.any(String), dryRun: false });
});

test('a standalone ActivationJanitor with the same props cleans the same way', async () => {
  const fleet = seedFleet();
  const { summary } = await runOnce('standalone');
  expect(summary.errors).toEqual([]);
  expect(sorted(summary.activationsDeleted)).toEqual(sorted(fleet.spentActivations));
  expect(summary.nodesDeregistered).toEqual(fleet.staleNodes);
  expectCleaned(fleet);
  for (const page of pagesOf('DescribeActivations')) expect(page.body).toMatchObject({ Filters: ROLE_FILTER });
});

test('dry run: reports the same decisions, changes nothing', async () => {
  const fleet = seedFleet();
  const before = { activations: activationIds(), nodes: nodeIds() };
  const { summary, output } = await runOnce('dryRun');

  expect(summary.dryRun).toBe(true);
  expect(summary.errors).toEqual([]);
  expect(sorted(summary.activationsDeleted)).toEqual(sorted(fleet.spentActivations));
  expect(summary.nodesDeregistered).toEqual(fleet.staleNodes);
  expect({ activations: activationIds(), nodes: nodeIds() }).toEqual(before);
  expect(stub.requestsFor('DeleteActivation')).toHaveLength(0);
  expect(stub.requestsFor('DeregisterManagedInstance')).toHaveLength(0);
  const lines = jsonLines(output);
  expect(lines.filter((l) => l.message === 'janitor run')[0]).toMatchObject({ dryRun: true, ActivationsDeleted: 50, NodesDeregistered: 30 });
  expect(lines.filter((l) => l.message === 'node deregistered' && l.dryRun === true)).toHaveLength(30);
});

test('cap: deregisters the 7 oldest; the other 23 stale nodes are skippedByCap (oldest first) and stay', async () => {
  const fleet = seedFleet();
  const { summary } = await runOnce('cap7');

  expect(summary.errors).toEqual([]);
  expect(summary.nodesDeregistered).toEqual(fleet.staleNodes.slice(0, 7));
  expect(summary.nodesSkippedByCap).toEqual(fleet.staleNodes.slice(7));
  expect(nodeIds()).toEqual(sorted([...fleet.keptNodes, ...fleet.staleNodes.slice(7)]));
  expect(activationIds()).toEqual(sorted(fleet.keptActivations));
});

test('DEREGISTER_OFFLINE_AFTER_SECONDS=0: activations are cleaned, nodes are not even described', async () => {
  const fleet = seedFleet();
  const { summary } = await runOnce('activationsOnly');
  expect(summary.errors).toEqual([]);
  expect(activationIds()).toEqual(sorted(fleet.keptActivations));
  expect(nodeIds()).toEqual(sorted([...fleet.keptNodes, ...fleet.staleNodes]));
  expect(stub.requestsFor('DescribeInstanceInformation')).toHaveLength(0);
});

test('throttled Describe/Delete/Deregister requests are retried by the SDK; the run completes with everything cleaned', async () => {
  // Still two pages of each listing, but few items to change: after a throttle the client's adaptive rate limiter
  // sends as little as 0.5 requests per second and recovers over seconds, so every request after it costs time.
  const fleet = seedFleet({ expired: 1, used: 1, live: 30, others: 24, stale: 2, online: 25, recent: 28, foreign: 3, ec2: 2 });
  const ok: FaultSpec = { passthrough: true };
  const throttle = Faults.throttling();
  // One throttle per operation, mid-listing or mid-way through the items.
  stub.script('DescribeActivations', [ok, throttle]);
  stub.script('DeleteActivation', [ok, throttle]);
  stub.script('DescribeInstanceInformation', [ok, throttle]);
  stub.script('DeregisterManagedInstance', [ok, throttle]);
  const { summary, ms } = await runOnce();

  expect(summary.errors).toEqual([]);
  expect(sorted(summary.activationsDeleted)).toEqual(sorted(fleet.spentActivations));
  expect(summary.nodesDeregistered).toEqual(fleet.staleNodes);
  expectCleaned(fleet);
  for (const op of ['DescribeActivations', 'DeleteActivation', 'DescribeInstanceInformation', 'DeregisterManagedInstance']) {
    expect(stub.pending(op)).toBe(0);
    expect(stub.requestsFor(op).some((r) => r.status === 400)).toBe(true);
  }
  expect(ms).toBeLessThan(20_000);
});

test('a NextToken SSM refuses (InvalidNextToken: the list changed while paging) restarts that listing; the run completes', async () => {
  const fleet = seedFleet();
  const stale: FaultSpec = { status: 400, type: 'InvalidNextToken', message: 'The specified token is not valid.' };
  stub.script('DescribeActivations', [{ passthrough: true }, stale]);
  stub.script('DescribeInstanceInformation', [{ passthrough: true }, stale]);
  const { summary } = await runOnce();

  expect(summary.errors).toEqual([]);
  expect(summary.nodesDeregistered).toEqual(fleet.staleNodes);
  expectCleaned(fleet);
  // The refused token sends the listing back to its first page (later passes then check that nothing was skipped).
  expect(stub.requestsFor('DescribeActivations').slice(0, 3).map((r) => r.body.NextToken)).toEqual([undefined, '50', undefined]);
  expect(stub.requestsFor('DescribeInstanceInformation').map((r) => r.body.NextToken)).toEqual([undefined, '50', undefined, '50']);
});

test('a Describe call failing on every attempt ends its step with one error; the other step still runs', async () => {
  const fleet = seedFleet();
  stub.failAlways('DescribeActivations', Faults.internal());
  const { summary, output } = await runOnce('default', { SSM_MAX_ATTEMPTS: '2' });

  expect(summary.errors).toEqual([{ id: '*', action: 'DescribeActivations', errorName: 'InternalServerError' }]);
  expect(summary.activationsDeleted).toEqual([]);
  expect(summary.nodesDeregistered).toEqual(fleet.staleNodes);
  expect(activationIds()).toEqual(sorted([...fleet.keptActivations, ...fleet.spentActivations]));
  expect(stub.requestsFor('DeleteActivation')).toHaveLength(0);
  const [run] = jsonLines(output).filter((l) => l.message === 'janitor run');
  expect(run).toMatchObject({ level: 'WARN', Errors: 1 });
  expect(output).not.toMatch(/injected by ssm-stub|stack/i);
});

test('an item failing on every attempt is reported; the others are still cleaned', async () => {
  const fleet = seedFleet();
  const victim = fleet.staleNodes[3];
  stub.handle('DeregisterManagedInstance', (input, s) => {
    if (input.InstanceId === victim) return { error: { status: 400, type: 'AccessDeniedException', message: 'nope' } };
    return s.state.nodes.delete(input.InstanceId) ? { body: {} } : { error: { status: 400, type: 'InvalidInstanceId', message: 'gone' } };
  });
  const { summary } = await runOnce('default', { SSM_MAX_ATTEMPTS: '2' });

  expect(summary.errors).toEqual([{ id: victim, action: 'DeregisterManagedInstance', errorName: 'AccessDeniedException' }]);
  expect(summary.nodesDeregistered).toEqual(fleet.staleNodes.filter((id) => id !== victim));
  expect(nodeIds()).toEqual(sorted([...fleet.keptNodes, victim]));
  expect(activationIds()).toEqual(sorted(fleet.keptActivations));
});

test('running twice is idempotent: the second run deletes nothing and reports no errors', async () => {
  const fleet = seedFleet();
  const first = await runOnce();
  expect(first.summary.errors).toEqual([]);
  expectCleaned(fleet);

  stub.requests.length = 0;
  const second = await runOnce();
  expect(second.summary).toMatchObject({ activationsDeleted: [], nodesDeregistered: [], nodesSkippedByCap: [], errors: [] });
  expect(stub.requestsFor('DeleteActivation')).toHaveLength(0);
  expect(stub.requestsFor('DeregisterManagedInstance')).toHaveLength(0);
  expectCleaned(fleet);
});

test('two overlapping runs both succeed and the end state is right', async () => {
  const fleet = seedFleet();
  // Hold the first DescribeActivations page until both runs have asked for it, so both start from the full list and
  // race on the same items (the first activation is spent: both will try to delete it).
  const firstPages: Array<() => void> = [];
  stub.handle('DescribeActivations', async (input, s) => {
    if (input.NextToken === undefined && firstPages.length < 2) {
      await new Promise<void>((resolve) => {
        firstPages.push(resolve);
        if (firstPages.length === 2) firstPages.forEach((release) => release());
        else setTimeout(resolve, 5000).unref();
      });
    }
    return DEFAULT_HANDLERS.DescribeActivations(input, s);
  });
  const [a, b] = await Promise.all([startJanitor(), startJanitor()]);
  const [ra, rb] = await Promise.all([a.invoke(), b.invoke()]);

  expect(firstPages).toHaveLength(2);
  expect(ra.errors).toEqual([]);
  expect(rb.errors).toEqual([]);
  expectCleaned(fleet);
  // Between them they covered everything; an item the other run got first counted as done (InvalidActivation).
  expect(sorted(new Set([...ra.activationsDeleted, ...rb.activationsDeleted]))).toEqual(sorted(fleet.spentActivations));
  expect(sorted(new Set([...ra.nodesDeregistered, ...rb.nodesDeregistered]))).toEqual(sorted(fleet.staleNodes));
  expect(stub.requestsFor('DeleteActivation').filter((r) => r.status === 400).length).toBeGreaterThan(0);
});

test('deadline: once less than 20 s of the timeout remain, no Delete/Deregister starts; the rest is deferred and the summary still logged', async () => {
  const fleet = seedFleet();
  // Each deletion takes 250 ms and the run starts with 23 s left: the 20 s margin comes after about 3 s, long before
  // the 50 deletions (12.5 s) are done.
  stub.handle('DeleteActivation', async (input, s) => {
    await new Promise((resolve) => setTimeout(resolve, 250));
    return DEFAULT_HANDLERS.DeleteActivation(input, s);
  });
  const { summary, output, ms } = await runOnce('default', {}, 23_000);

  expect(summary).toMatchObject({ timedOut: true, errors: [], nodesDeregistered: [], nodesSkippedByCap: [] });
  expect(summary.deferred).toBeGreaterThan(0);
  // Deferred: the rest of the page being worked on when the deadline came (later pages were not even listed).
  expect(summary.activationsDeleted.length + summary.deferred).toBeLessThanOrEqual(fleet.spentActivations.length);
  // The Delete in flight at the deadline was aborted (deferred, not an error); the stub still carries it out: wait
  // until it has answered every request (or found the client gone).
  await settled('DeleteActivation');
  const aborted = stub.requestsFor('DeleteActivation').map((r) => r.body.ActivationId).filter((id) => !summary.activationsDeleted.includes(id));
  expect(aborted.length).toBeLessThanOrEqual(1);
  expect(stub.requestsFor('DeleteActivation')).toHaveLength(summary.activationsDeleted.length + aborted.length);
  const left = fleet.spentActivations.filter((id) => !summary.activationsDeleted.includes(id) && stub.state.activations.has(id));
  expect(left.length).toBeGreaterThanOrEqual(summary.deferred - aborted.length);
  expect(activationIds()).toEqual(sorted([...fleet.keptActivations, ...left]));
  // The node step is not started at all: its items are unknown, so not counted.
  expect(stub.requestsFor('DescribeInstanceInformation')).toHaveLength(0);
  expect(nodeIds()).toEqual(sorted([...fleet.keptNodes, ...fleet.staleNodes]));
  expect(ms).toBeLessThan(10_000);

  const runs = jsonLines(output).filter((l) => l.message === 'janitor run');
  expect(runs).toHaveLength(1);
  expect(runs[0]).toMatchObject({
    level: 'WARN',
    ActivationsDeleted: summary.activationsDeleted.length,
    Errors: 0,
    Deferred: summary.deferred,
    deferred: summary.deferred,
    timedOut: true,
  });

  // The next run, with time to spare, finishes the job.
  stub.handle('DeleteActivation', DEFAULT_HANDLERS.DeleteActivation);
  const next = await runOnce();
  expect(next.summary).toMatchObject({ timedOut: false, deferred: 0, errors: [], nodesDeregistered: fleet.staleNodes });
  expect(sorted(next.summary.activationsDeleted)).toEqual(sorted(left));
  expectCleaned(fleet);
});

test('asks SSM only for the instance role\'s activations: another role\'s are never listed, even with our marker', async () => {
  const now = Date.now();
  const spent = (i: number, iamRole?: string) =>
    stub.addActivation({ name: `n-${i}`, tags: ours(`n-${i}`), expirationDate: new Date(now - HOUR), iamRole }).ActivationId;
  const mine = Array.from({ length: 10 }, (_, i) => spent(i));
  const otherRole = Array.from({ length: 100 }, (_, i) => spent(100 + i, 'SomeOtherRole'));
  const { summary } = await runOnce('activationsOnly');

  expect(summary.errors).toEqual([]);
  expect(sorted(summary.activationsDeleted)).toEqual(sorted(mine));
  expect(activationIds()).toEqual(sorted(otherRole));
  // One page for the 10 of the role, and one for the pass that checks nothing was skipped: never the 100 others.
  expect(pagesOf('DescribeActivations').map((r) => r.body)).toEqual([
    { Filters: ROLE_FILTER, MaxResults: 50 },
    { Filters: ROLE_FILTER, MaxResults: 50 },
  ]);
});

test('deadline: a page that hangs is aborted when the margin comes; the run returns in time without an error', async () => {
  // Two pages of activations, the 4 spent ones on page 1.
  const fleet = seedFleet({ expired: 2, used: 2, live: 40, others: 40, stale: 0, online: 0, recent: 0, foreign: 0, ec2: 0 });
  // Page 2 answers only after 8 s; the 20 s margin comes 3 s into the run. The socket timeout is out of the way.
  stub.script('DescribeActivations', [{ passthrough: true }, Faults.delay(8000)]);
  const { summary, output, ms } = await runOnce('default', { SSM_REQUEST_TIMEOUT_MS: '30000' }, 23_000);

  expect(ms).toBeLessThan(7000);
  expect(summary).toMatchObject({ timedOut: true, errors: [], deferred: 0, nodesDeregistered: [] });
  // Page 1's spent activations were deleted before page 2 was asked for.
  const firstPage = stub.requestsFor('DescribeActivations')[0];
  expect(sorted(summary.activationsDeleted)).toEqual(sorted(fleet.spentActivations));
  expect(stub.requestsFor('DeleteActivation').every((r) => r.receivedAt >= firstPage.receivedAt)).toBe(true);
  expect(stub.requestsFor('DescribeInstanceInformation')).toHaveLength(0);
  const [run] = jsonLines(output).filter((l) => l.message === 'janitor run');
  expect(run).toMatchObject({ level: 'WARN', Errors: 0, timedOut: true });

  // The client went away: when the stub comes to answer page 2, its connection is gone.
  await settled('DescribeActivations');
  expect(stub.requestsFor('DescribeActivations')[1].outcome).toBe('aborted');
});

test.each([
  ['MARKER_TAG_KEY', undefined],
  ['DEREGISTER_OFFLINE_AFTER_SECONDS', '-5'],
  ['MAX_DEREGISTRATIONS_PER_RUN', '0'],
  ['DRY_RUN', 'maybe'],
  ['METRICS_NAMESPACE', undefined],
])('cold start with %s=%s fails, naming the variable', async (name, value) => {
  await expect(e2e.startProcess(e2e.brokenEnv({ [name]: value }))).rejects.toThrow(new RegExp(name));
});
