import type { Activation, InstanceInformation } from '@aws-sdk/client-ssm';
import type { Context } from 'aws-lambda';
import 'aws-sdk-client-mock-jest';
import { lambdaContext } from '../support/api-gateway-event';
import { loadHandler, restoreEnv, type LoadedHandler } from '../support/load-handler';
import { captureLogLines } from '../support/log-capture';

type Handler = (typeof import('../../lambda/janitor/index'))['handler'];

const MARKER_KEY = 'hybrid-fleet:activation-api';
const MARKER_VALUE = 'Stack/Api';
const ROLE_NAME = 'HybridFleetInstanceRole';
const NAMESPACE = 'HybridFleet/ActivationJanitor';

const ENV: Readonly<Record<string, string>> = {
  MARKER_TAG_KEY: MARKER_KEY,
  MARKER_TAG_VALUE: MARKER_VALUE,
  INSTANCE_ROLE_NAME: ROLE_NAME,
  DEREGISTER_OFFLINE_AFTER_SECONDS: String(24 * 3600),
  MAX_DEREGISTRATIONS_PER_RUN: '10',
  DRY_RUN: 'false',
  METRICS_NAMESPACE: NAMESPACE,
  SSM_MAX_ATTEMPTS: '1',
  SSM_REQUEST_TIMEOUT_MS: '1000',
  LOG_LEVEL: 'INFO',
};

type Loaded = LoadedHandler<Handler>;

/** Sets the environment (ENV plus `overrides`), then loads fresh copies of the SDK and the handler. */
function load(overrides: Readonly<Record<string, string | undefined>> = {}): Loaded {
  return loadHandler(() => require('../../lambda/janitor/index') as { handler: Handler }, { ...ENV, ...overrides });
}

afterAll(restoreEnv);

/** A Lambda context for the janitor: `remainingMs` left of its 5-minute timeout (plenty, unless told). */
function janitorContext(requestId: string, remainingMs = 5 * 60_000): Context {
  return { ...lambdaContext(requestId, { functionName: 'HybridFleetExample-Janitor' }), getRemainingTimeInMillis: () => remainingMs };
}

const HOUR = 3_600_000;
const mi = (n: number): string => `mi-${n.toString(16).padStart(17, '0')}`;
const ours = [{ Key: 'Name', Value: 'web' }, { Key: MARKER_KEY, Value: MARKER_VALUE }];

function activation(id: string, fields: Partial<Activation> = {}): Activation {
  return { ActivationId: id, Expired: false, RegistrationLimit: 1, RegistrationsCount: 0, Tags: ours, ...fields };
}

function node(id: string, lastPingAgoMs: number, fields: Partial<InstanceInformation> = {}): InstanceInformation {
  return { InstanceId: id, Name: `node-${id}`, PingStatus: 'ConnectionLost', LastPingDateTime: new Date(Date.now() - lastPingAgoMs), ...fields };
}

function sdkError(name: string): Error {
  const err = new Error(`${name} SDKSECRET`);
  err.name = name;
  return err;
}

// Three pages of activations: spent ones of ours on every page, plus live ones and another API's.
const ACTIVATION_PAGES: Record<string, { ActivationList: Activation[]; NextToken?: string }> = {
  '': {
    ActivationList: [activation('p1-expired', { Expired: true }), activation('p1-live')],
    NextToken: 'tok-2',
  },
  'tok-2': {
    ActivationList: [
      activation('p2-used', { RegistrationsCount: 1 }),
      activation('p2-other', { Expired: true, Tags: [{ Key: MARKER_KEY, Value: 'Other/Api' }] }),
    ],
    NextToken: 'tok-3',
  },
  'tok-3': { ActivationList: [activation('p3-expired', { Expired: true })] },
};

// Two pages of nodes of this API.
const NODE_PAGES: Record<string, { InstanceInformationList: InstanceInformation[]; NextToken?: string }> = {
  '': {
    InstanceInformationList: [node(mi(1), 30 * HOUR), node(mi(2), 2 * HOUR), node(mi(3), 50 * HOUR, { PingStatus: 'Online' })],
    NextToken: 'n-2',
  },
  'n-2': { InstanceInformationList: [node(mi(4), 72 * HOUR), node('i-0123456789abcdef0', 72 * HOUR)] },
};

/** The summary fields (all but the times) of a full run over these pages. */
const FULL_RUN = {
  dryRun: false,
  activationsDeleted: ['p1-expired', 'p2-used', 'p3-expired'],
  nodesDeregistered: [mi(4), mi(1)],
  nodesSkippedByCap: [],
  errors: [],
  deferred: 0,
  timedOut: false,
};

function mockPages(loaded: Loaded): void {
  const { mock, ssm } = loaded;
  mock.reset();
  mock.on(ssm.DescribeActivationsCommand).callsFake((input) => ACTIVATION_PAGES[input.NextToken ?? '']);
  mock.on(ssm.DescribeInstanceInformationCommand).callsFake((input) => NODE_PAGES[input.NextToken ?? '']);
  mock.on(ssm.DeleteActivationCommand).resolves({});
  mock.on(ssm.DeregisterManagedInstanceCommand).resolves({});
}

const { lines, parsed } = captureLogLines();
const parsedLines = () => parsed<Record<string, any>>();
const runLines = () => parsedLines().filter((l) => l.message === 'janitor run');
const auditLines = () => parsedLines().filter((l) => l.message === 'node deregistered');

describe('janitor adapter', () => {
  let loaded: Loaded;

  beforeAll(() => {
    loaded = load();
  });

  beforeEach(() => {
    mockPages(loaded);
  });

  test('pages DescribeActivations via NextToken with MaxResults 50, filtered by the instance role; deletes exactly our spent activations', async () => {
    const summary = await loaded.handler({}, janitorContext('req-1'));

    const describeCalls = loaded.mock.commandCalls(loaded.ssm.DescribeActivationsCommand).map((c) => c.args[0].input);
    const Filters = [{ FilterKey: 'IamRole', FilterValues: [ROLE_NAME] }];
    const pass = [
      { Filters, MaxResults: 50, NextToken: undefined },
      { Filters, MaxResults: 50, NextToken: 'tok-2' },
      { Filters, MaxResults: 50, NextToken: 'tok-3' },
    ];
    // The first pass deleted some, so a second pass checks nothing was skipped (it finds only what it already did).
    expect(describeCalls).toEqual([...pass, ...pass]);
    const deletes = loaded.mock.commandCalls(loaded.ssm.DeleteActivationCommand).map((c) => c.args[0].input);
    expect(deletes).toEqual([{ ActivationId: 'p1-expired' }, { ActivationId: 'p2-used' }, { ActivationId: 'p3-expired' }]);
    expect(summary.activationsDeleted).toEqual(['p1-expired', 'p2-used', 'p3-expired']);
  });

  test('streams: the spent activations of a page are deleted before the next page is asked for', async () => {
    await loaded.handler({}, janitorContext('req-stream'));
    const order = loaded.mock.send.getCalls().map((c) => {
      const input = c.args[0].input as { NextToken?: string; ActivationId?: string };
      return c.args[0] instanceof loaded.ssm.DescribeActivationsCommand ? `page:${input.NextToken ?? ''}`
        : c.args[0] instanceof loaded.ssm.DeleteActivationCommand ? `delete:${input.ActivationId}` : undefined;
    }).filter((x) => x !== undefined);
    expect(order.slice(0, 6)).toEqual(['page:', 'delete:p1-expired', 'page:tok-2', 'delete:p2-used', 'page:tok-3', 'delete:p3-expired']);
  });

  test('pages DescribeInstanceInformation with the marker tag filter only; deregisters exactly the long-offline mi- nodes', async () => {
    const summary = await loaded.handler({}, janitorContext('req-2'));

    const filters = [{ Key: `tag:${MARKER_KEY}`, Values: [MARKER_VALUE] }];
    const describeCalls = loaded.mock.commandCalls(loaded.ssm.DescribeInstanceInformationCommand).map((c) => c.args[0].input);
    expect(describeCalls).toEqual([
      { Filters: filters, MaxResults: 50, NextToken: undefined },
      { Filters: filters, MaxResults: 50, NextToken: 'n-2' },
    ]);
    const deregisters = loaded.mock.commandCalls(loaded.ssm.DeregisterManagedInstanceCommand).map((c) => c.args[0].input);
    expect(deregisters).toEqual([{ InstanceId: mi(4) }, { InstanceId: mi(1) }]);
    expect(summary).toEqual({
      ...FULL_RUN,
      startedAt: expect.any(Number),
      durationMs: expect.any(Number),
    });
  });

  test('logs ONE valid EMF line (metadata and metrics top-level) and one audit line per deregistration', async () => {
    const before = Date.now();
    await loaded.handler({ 'detail-type': 'Scheduled Event' }, janitorContext('req-3'));

    const runs = runLines();
    expect(runs).toHaveLength(1);
    const line = runs[0];
    expect(line.level).toBe('INFO');
    expect(line._aws).toEqual({
      Timestamp: expect.any(Number),
      CloudWatchMetrics: [{
        Namespace: NAMESPACE,
        Dimensions: [['MarkerTagValue']],
        Metrics: [
          { Name: 'ActivationsDeleted', Unit: 'Count' },
          { Name: 'NodesDeregistered', Unit: 'Count' },
          { Name: 'NodesSkippedByCap', Unit: 'Count' },
          { Name: 'Errors', Unit: 'Count' },
          { Name: 'Deferred', Unit: 'Count' },
        ],
      }],
    });
    expect(line._aws.Timestamp).toBeGreaterThanOrEqual(before);
    expect(line._aws.Timestamp).toBeLessThanOrEqual(Date.now());
    // Every metric and dimension the directive names has a top-level value.
    for (const { Name } of line._aws.CloudWatchMetrics[0].Metrics) expect(typeof line[Name]).toBe('number');
    expect(line).toMatchObject({
      requestId: 'req-3',
      MarkerTagValue: MARKER_VALUE,
      ActivationsDeleted: 3,
      NodesDeregistered: 2,
      NodesSkippedByCap: 0,
      Errors: 0,
      Deferred: 0,
      ...FULL_RUN,
      durationMs: expect.any(Number),
    });

    expect(auditLines()).toEqual([
      expect.objectContaining({ level: 'INFO', requestId: 'req-3', caller: 'janitor', instanceId: mi(4), name: `node-${mi(4)}`, lastPing: expect.stringMatching(/Z$/), dryRun: false }),
      expect.objectContaining({ caller: 'janitor', instanceId: mi(1), name: `node-${mi(1)}`, dryRun: false }),
    ]);
    expect(lines).toHaveLength(3);
  });

  test('item failures: already gone counts as done, others are reported; the run line goes out at WARN without SDK messages', async () => {
    loaded.mock.on(loaded.ssm.DeleteActivationCommand, { ActivationId: 'p1-expired' }).rejects(sdkError('InvalidActivation'));
    loaded.mock.on(loaded.ssm.DeleteActivationCommand, { ActivationId: 'p2-used' }).rejects(sdkError('ThrottlingException'));
    loaded.mock.on(loaded.ssm.DeregisterManagedInstanceCommand, { InstanceId: mi(4) }).rejects(sdkError('InvalidInstanceId'));
    loaded.mock.on(loaded.ssm.DeregisterManagedInstanceCommand, { InstanceId: mi(1) }).rejects(sdkError('AccessDeniedException'));

    const summary = await loaded.handler({}, janitorContext('req-4'));

    expect(summary.activationsDeleted).toEqual(['p1-expired', 'p3-expired']);
    expect(summary.nodesDeregistered).toEqual([mi(4)]);
    expect(summary.errors).toEqual([
      { id: 'p2-used', action: 'DeleteActivation', errorName: 'ThrottlingException' },
      { id: mi(1), action: 'DeregisterManagedInstance', errorName: 'AccessDeniedException' },
    ]);
    const [run] = runLines();
    expect(run).toMatchObject({ level: 'WARN', Errors: 2, ActivationsDeleted: 2, NodesDeregistered: 1 });
    expect(auditLines().map((l) => l.instanceId)).toEqual([mi(4)]);
    expect(lines.join('\n')).not.toContain('SDKSECRET');
  });

  test('InvalidNextToken (the list changed while paging): the listing starts over from the first page', async () => {
    let staleOnce = true;
    loaded.mock.on(loaded.ssm.DescribeInstanceInformationCommand).callsFake((input) => {
      if (input.NextToken === 'n-2' && staleOnce) {
        staleOnce = false;
        throw sdkError('InvalidNextToken');
      }
      return NODE_PAGES[input.NextToken ?? ''];
    });
    const summary = await loaded.handler({}, janitorContext('req-restart'));
    const tokens = loaded.mock.commandCalls(loaded.ssm.DescribeInstanceInformationCommand).map((c) => c.args[0].input.NextToken);
    expect(tokens).toEqual([undefined, 'n-2', undefined, 'n-2']);
    expect(summary.errors).toEqual([]);
    expect(summary.nodesDeregistered).toEqual([mi(4), mi(1)]);
  });

  test('InvalidNextToken on every restart: after 2 restarts the step ends with one error (page 1 was already cleaned)', async () => {
    loaded.mock.on(loaded.ssm.DescribeActivationsCommand).callsFake((input) => {
      if (input.NextToken) throw sdkError('InvalidNextToken');
      return ACTIVATION_PAGES[''];
    });
    const summary = await loaded.handler({}, janitorContext('req-stale'));
    expect(loaded.mock).toHaveReceivedCommandTimes(loaded.ssm.DescribeActivationsCommand, 6);
    const deletes = loaded.mock.commandCalls(loaded.ssm.DeleteActivationCommand).map((c) => c.args[0].input);
    expect(deletes).toEqual([{ ActivationId: 'p1-expired' }]);
    expect(summary.activationsDeleted).toEqual(['p1-expired']);
    expect(summary.errors).toEqual([{ id: '*', action: 'DescribeActivations', errorName: 'InvalidNextToken' }]);
  });

  test('a failing Describe call ends its step and is counted; the handler still returns a summary', async () => {
    loaded.mock.on(loaded.ssm.DescribeActivationsCommand).rejects(sdkError('InternalServerError'));
    const summary = await loaded.handler({}, janitorContext('req-5'));
    expect(loaded.mock).toHaveReceivedCommandTimes(loaded.ssm.DeleteActivationCommand, 0);
    expect(summary.errors).toEqual([{ id: '*', action: 'DescribeActivations', errorName: 'InternalServerError' }]);
    expect(summary.nodesDeregistered).toEqual([mi(4), mi(1)]);
    expect(runLines()[0]).toMatchObject({ Errors: 1 });
  });

  test('less than 20 s left (context.getRemainingTimeInMillis): no SSM call at all, summary logged at WARN', async () => {
    const summary = await loaded.handler({}, janitorContext('req-late', 19_999));

    expect(loaded.mock.send.callCount).toBe(0);
    expect(summary).toMatchObject({ activationsDeleted: [], nodesDeregistered: [], errors: [], deferred: 0, timedOut: true });
    const runs = runLines();
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ level: 'WARN', requestId: 'req-late', Errors: 0, Deferred: 0, deferred: 0, timedOut: true });
    expect(auditLines()).toEqual([]);
  });

  test('every SSM call carries the run\'s abort signal; a run with time to spare never aborts it', async () => {
    await loaded.handler({}, janitorContext('req-signal'));
    const calls = loaded.mock.send.getCalls();
    expect(calls.length).toBeGreaterThan(0);
    const signals = new Set(calls.map((c) => ((c.args as unknown[])[1] as { abortSignal?: AbortSignal } | undefined)?.abortSignal));
    expect(signals.size).toBe(1);
    const [signal] = signals;
    expect(signal).toBeInstanceOf(AbortSignal);
    expect(signal?.aborted).toBe(false);
  });

  test('the deadline aborts the call in flight: a hung page ends the run in time, deferred, not an error', async () => {
    const signalOf = () => ((loaded.mock.send.lastCall.args as unknown[])[1] as { abortSignal: AbortSignal }).abortSignal;
    let aborted: AbortSignal | undefined;
    loaded.mock.on(loaded.ssm.DescribeActivationsCommand).callsFake((input) => {
      if (!input.NextToken) return ACTIVATION_PAGES[''];
      // Page 2 hangs until the signal it was sent with is aborted, then fails as the SDK does.
      const signal = signalOf();
      return new Promise((_, reject) => signal.addEventListener('abort', () => {
        aborted = signal;
        reject(Object.assign(new Error('Request aborted'), { name: 'AbortError' }));
      }));
    });
    const started = Date.now();
    // 300 ms until the 20 s margin.
    const summary = await loaded.handler({}, janitorContext('req-hung', 20_300));
    const ms = Date.now() - started;

    expect(aborted?.aborted).toBe(true);
    expect(ms).toBeGreaterThanOrEqual(250);
    expect(ms).toBeLessThan(2000);
    expect(summary).toMatchObject({ activationsDeleted: ['p1-expired'], errors: [], deferred: 0, timedOut: true, nodesDeregistered: [] });
    expect(loaded.mock).toHaveReceivedCommandTimes(loaded.ssm.DescribeInstanceInformationCommand, 0);
    expect(runLines()[0]).toMatchObject({ level: 'WARN', Errors: 0, timedOut: true });
  });
});

describe('janitor adapter configuration', () => {
  test('DRY_RUN=true: describes, but no Delete/Deregister; reports and audits what would have been done', async () => {
    const loaded = load({ DRY_RUN: 'true', MAX_DEREGISTRATIONS_PER_RUN: '1' });
    mockPages(loaded);
    const summary = await loaded.handler({}, janitorContext('dry'));
    expect(loaded.mock).toHaveReceivedCommandTimes(loaded.ssm.DescribeActivationsCommand, 3);
    expect(loaded.mock).toHaveReceivedCommandTimes(loaded.ssm.DescribeInstanceInformationCommand, 2);
    expect(loaded.mock).toHaveReceivedCommandTimes(loaded.ssm.DeleteActivationCommand, 0);
    expect(loaded.mock).toHaveReceivedCommandTimes(loaded.ssm.DeregisterManagedInstanceCommand, 0);
    expect(summary).toMatchObject({
      dryRun: true,
      activationsDeleted: ['p1-expired', 'p2-used', 'p3-expired'],
      nodesDeregistered: [mi(4)],
      nodesSkippedByCap: [mi(1)],
    });
    expect(runLines()[0]).toMatchObject({ dryRun: true, NodesSkippedByCap: 1, nodesSkippedByCap: [mi(1)] });
    expect(auditLines()).toEqual([expect.objectContaining({ instanceId: mi(4), dryRun: true })]);
  });

  test('without INSTANCE_ROLE_NAME: DescribeActivations lists without filters (the marker tag still decides)', async () => {
    const loaded = load({ INSTANCE_ROLE_NAME: undefined });
    mockPages(loaded);
    const summary = await loaded.handler({}, janitorContext('no-role'));
    const inputs = loaded.mock.commandCalls(loaded.ssm.DescribeActivationsCommand).map((c) => c.args[0].input);
    expect(inputs.length).toBeGreaterThan(0);
    for (const input of inputs) expect(input).not.toHaveProperty('Filters', expect.anything());
    expect(summary.activationsDeleted).toEqual(['p1-expired', 'p2-used', 'p3-expired']);
  });

  test('DEREGISTER_OFFLINE_AFTER_SECONDS=0: nodes are never described nor deregistered', async () => {
    const loaded = load({ DEREGISTER_OFFLINE_AFTER_SECONDS: '0' });
    mockPages(loaded);
    const summary = await loaded.handler({}, janitorContext('no-nodes'));
    expect(loaded.mock).toHaveReceivedCommandTimes(loaded.ssm.DescribeInstanceInformationCommand, 0);
    expect(loaded.mock).toHaveReceivedCommandTimes(loaded.ssm.DeregisterManagedInstanceCommand, 0);
    expect(summary.activationsDeleted).toHaveLength(3);
  });

  test('LOG_LEVEL=ERROR still writes the metrics line and the audit lines; SILENT writes nothing', async () => {
    const quiet = load({ LOG_LEVEL: 'ERROR' });
    mockPages(quiet);
    await quiet.handler({}, janitorContext('quiet'));
    expect(runLines()).toHaveLength(1);
    expect(auditLines()).toHaveLength(2);

    lines.length = 0;
    const silent = load({ LOG_LEVEL: 'SILENT' });
    mockPages(silent);
    await silent.handler({}, janitorContext('silent'));
    expect(lines).toEqual([]);
  });

  test.each([
    ['MARKER_TAG_KEY', undefined],
    ['MARKER_TAG_VALUE', undefined],
    ['DEREGISTER_OFFLINE_AFTER_SECONDS', undefined],
    ['DEREGISTER_OFFLINE_AFTER_SECONDS', '-1'],
    ['MAX_DEREGISTRATIONS_PER_RUN', '0'],
    ['MAX_DEREGISTRATIONS_PER_RUN', '1001'],
    ['DRY_RUN', 'yes'],
    ['DRY_RUN', undefined],
    ['METRICS_NAMESPACE', undefined],
    ['SSM_MAX_ATTEMPTS', '0'],
    ['SSM_REQUEST_TIMEOUT_MS', 'fast'],
    ['LOG_LEVEL', 'TRACE'],
  ])('%s=%s: loading the handler throws naming the variable', (name, value) => {
    expect(() => load({ [name]: value })).toThrow(new RegExp(name));
  });
});
