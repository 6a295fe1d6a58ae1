import {
  backoffMs,
  capValues,
  EC2,
  fleetDocuments,
  metricCount,
  OTHER,
  readFleet,
  REPEATED_TOKEN_ERROR,
  typeCompliance,
  UNTAGGED,
  worstNodes,
  type ComplianceMetricsConfig,
  type ComplianceMetricsPort,
  type NodeView,
  type SummaryRecord,
} from '../../lambda/compliance-metrics/compliance-metrics';

const CONFIG: ComplianceMetricsConfig = {
  namespace: 'HybridFleet/Compliance',
  patchGroupTagKey: 'PatchGroup',
  modeTagKey: 'PatchMode',
  modeValues: ['report', 'enforce'],
  agentComplianceTypes: ['Custom:Agent'],
  maxPatchGroups: 2,
  topNodes: 2,
};

const sdkError = (name: string, status = 400) => Object.assign(new Error(`${name}: secret detail`), { name, $metadata: { httpStatusCode: status } });

/** A port over fixed data; `fail` decides, per call, whether to throw instead. */
function fakePort(
  nodes: { InstanceId: string; PingStatus?: string }[],
  summaries: SummaryRecord[],
  tags: Record<string, Record<string, string>>,
  fail: (op: string, n: number) => unknown = () => undefined,
): ComplianceMetricsPort & { sleeps: number[]; calls: string[] } {
  const calls: string[] = [];
  const sleeps: number[] = [];
  const paged = <T>(items: T[], token: string | undefined, size: number) => {
    const start = Number(token ?? 0);
    return { items: items.slice(start, start + size), nextToken: start + size < items.length ? String(start + size) : undefined };
  };
  const call = (op: string) => {
    calls.push(op);
    const err = fail(op, calls.filter((c) => c === op).length);
    if (err !== undefined) throw err;
  };
  return {
    calls,
    sleeps,
    describeNodes: async (t) => (call('nodes'), paged(nodes, t, 2)),
    listSummaries: async (t) => (call('summaries'), paged(summaries, t, 2)),
    listTags: async (id) => (call('tags'), Object.entries(tags[id] ?? {}).map(([Key, Value]) => ({ Key, Value }))),
    sleep: async (ms) => {
      sleeps.push(ms);
    },
  };
}

const node = (id: string, patchGroup: string, mode: string, types: [string, SummaryRecord][] = []): NodeView => ({
  instanceId: id, online: true, patchGroup, mode, types: new Map(types.map(([t, s]) => [t, typeCompliance(s)])),
});

describe('typeCompliance', () => {
  test('worst severity with a non-compliant count wins over OverallSeverity', () => {
    expect(typeCompliance({ Status: 'NON_COMPLIANT', OverallSeverity: 'LOW', NonCompliantSummary: { SeveritySummary: { HighCount: 2, LowCount: 1 } } }))
      .toMatchObject({ compliant: false, severity: 'HIGH', counts: { HIGH: 2, LOW: 1, CRITICAL: 0 } });
  });
  test('without counts it falls back to OverallSeverity, then UNSPECIFIED', () => {
    expect(typeCompliance({ Status: 'NON_COMPLIANT', OverallSeverity: 'MEDIUM' }).severity).toBe('MEDIUM');
    expect(typeCompliance({ Status: 'NON_COMPLIANT', OverallSeverity: 'bogus' }).severity).toBe('UNSPECIFIED');
    const compliant = typeCompliance({ Status: 'COMPLIANT', OverallSeverity: 'CRITICAL' });
    expect([compliant.compliant, compliant.severity]).toEqual([true, undefined]);
  });
});

describe('cardinality caps', () => {
  test('the largest patch groups keep their name, the rest become (other); untagged and EC2 stay', () => {
    const cap = capValues(['a', 'b', 'b', 'c', 'c', 'c', UNTAGGED, UNTAGGED, UNTAGGED, UNTAGGED], 2, (v) => v === UNTAGGED);
    expect(['a', 'b', 'c', UNTAGGED].map(cap)).toEqual([OTHER, 'b', 'c', UNTAGGED]);
  });

  test('patch groups beyond maxPatchGroups and unknown modes are published as (other)', () => {
    const nodes = [
      node('mi-1', 'big', 'enforce'), node('mi-2', 'big', 'enforce'), node('mi-3', 'mid', 'report'), node('mi-4', 'mid', 'report'),
      node('mi-5', 'small', 'enforce'), node('mi-6', 'big', 'maybe'), node('i-7', EC2, EC2),
    ];
    const docs = fleetDocuments(nodes, CONFIG, 0);
    const groupDocs = docs.filter((d) => JSON.stringify(d._aws.CloudWatchMetrics[0].Dimensions) === '[["PatchGroup","Mode"]]');
    expect(groupDocs.map((d) => `${d.PatchGroup}/${d.Mode}=${d.Nodes}`)).toEqual([
      '(ec2)/(ec2)=1', '(other)/enforce=1', 'big/(other)=1', 'big/enforce=2', 'mid/report=2',
    ]);
  });

  test('compliance types beyond ten become (other) in the severity documents', () => {
    const types: [string, SummaryRecord][] = Array.from({ length: 12 }, (_, i) => [`Custom:T${String(i).padStart(2, '0')}`, { Status: 'NON_COMPLIANT', OverallSeverity: 'LOW' }]);
    const nodes = [node('mi-1', 'g', 'report', types), node('mi-2', 'g', 'report', types.slice(0, 10))];
    const severityDocs = fleetDocuments(nodes, CONFIG, 0).filter((d) => d.ComplianceType !== undefined && d.Severity !== undefined);
    expect(severityDocs).toHaveLength(11);
    expect(severityDocs.find((d) => d.ComplianceType === OTHER)).toMatchObject({ NonCompliantNodes: 1 });
  });

  test('metricCount counts distinct metric and dimension-value pairs', () => {
    const docs = fleetDocuments([node('mi-1', 'g', 'report', [['Patch', { Status: 'NON_COMPLIANT', OverallSeverity: 'HIGH' }]])], CONFIG, 0);
    // group, mode and fleet 7 each (the node has data, so CompliancePercent too) + 1 severity + 6 severities + agent 3.
    expect(metricCount(docs)).toBe(7 + 7 + 7 + 1 + 6 + 3);
    expect(metricCount([...docs, ...docs])).toBe(metricCount(docs));
  });
});

describe('readFleet', () => {
  const nodes = [{ InstanceId: 'mi-00000000000000001', PingStatus: 'Online' }, { InstanceId: 'i-00000000000000002' }, { InstanceId: 'mi-00000000000000003' }];
  const summaries: SummaryRecord[] = [
    { ResourceId: 'mi-00000000000000001', ComplianceType: 'Patch', Status: 'COMPLIANT' },
    { ResourceId: 'i-00000000000000002', ComplianceType: 'Patch', Status: 'NON_COMPLIANT', OverallSeverity: 'CRITICAL' },
    { ResourceId: 'mi-0000000000000dead', ComplianceType: 'Patch', Status: 'COMPLIANT' },
  ];
  const tags = { 'mi-00000000000000001': { PatchGroup: 'web', PatchMode: 'enforce' } };

  test('pages, reads tags of hybrid nodes only, and counts summaries of unknown nodes as orphans', async () => {
    const port = fakePort(nodes, summaries, tags);
    const result = await readFleet(port, CONFIG);
    expect(result).toMatchObject({ complete: true, timedOut: false, summaries: 3, orphanSummaries: 1, throttled: 0, errors: [] });
    expect(result.calls).toEqual({ DescribeInstanceInformation: 2, ListResourceComplianceSummaries: 2, ListTagsForResource: 2 });
    expect(result.nodes.map((n) => [n.instanceId, n.patchGroup, n.mode])).toEqual([
      ['mi-00000000000000001', 'web', 'enforce'], ['i-00000000000000002', EC2, EC2], ['mi-00000000000000003', UNTAGGED, UNTAGGED],
    ]);
  });

  test('a throttled call is retried after 1 s, 2 s, 4 s; then given up and recorded', async () => {
    const port = fakePort(nodes, summaries, tags, (op) => (op === 'summaries' ? sdkError('ThrottlingException') : undefined));
    const result = await readFleet(port, CONFIG);
    expect(port.sleeps).toEqual([1000, 2000, 4000]);
    expect(result).toMatchObject({ complete: false, throttled: 4, errors: [{ action: 'ListResourceComplianceSummaries', id: '*', errorName: 'ThrottlingException' }] });
    expect(result.errors[0].stack).toBeUndefined();
    expect(port.calls.filter((c) => c === 'tags')).toEqual([]);
    expect(backoffMs(10)).toBe(16_000);
  });

  test('a NextToken SSM returns twice ends the listing as a RepeatedNextToken error instead of looping', async () => {
    const port = fakePort(nodes, summaries, tags);
    const list = port.listSummaries;
    port.listSummaries = async (t) => ({ ...(await list(t)), nextToken: 'again' });
    const result = await readFleet(port, CONFIG);
    expect(result).toMatchObject({ complete: false, timedOut: false, errors: [{ action: 'ListResourceComplianceSummaries', id: '*', errorName: REPEATED_TOKEN_ERROR }] });
    expect(port.calls).toEqual(['nodes', 'nodes', 'summaries', 'summaries']);
    expect(REPEATED_TOKEN_ERROR).toBe('RepeatedNextToken');
  });

  test('an error that is not an SDK error keeps its stack for the log', async () => {
    const port = fakePort(nodes, summaries, tags, (op) => (op === 'tags' ? new TypeError('boom') : undefined));
    const result = await readFleet(port, CONFIG);
    expect(result.complete).toBe(false);
    expect(result.errors[0]).toMatchObject({ action: 'ListTagsForResource', errorName: 'TypeError', stack: expect.stringContaining('TypeError: boom') });
  });

  test('once the deadline is near it starts no more calls and is incomplete', async () => {
    const port = fakePort(nodes, summaries, tags);
    let left = 3;
    const result = await readFleet(port, CONFIG, () => left-- <= 0);
    expect(result).toMatchObject({ complete: false, timedOut: true });
    expect(port.calls).toEqual(['nodes', 'nodes', 'summaries']);
  });
});

describe('worstNodes', () => {
  test('worst severity first, then the most critical and high items, at most topNodes', () => {
    const nc = (counts: object): SummaryRecord => ({ Status: 'NON_COMPLIANT', NonCompliantSummary: { SeveritySummary: counts } });
    const nodes = [
      node('mi-a', 'g', 'report', [['Patch', nc({ HighCount: 5 })]]),
      node('mi-b', 'g', 'report', [['Patch', nc({ CriticalCount: 1 })]]),
      node('mi-c', 'g', 'report', [['Patch', nc({ CriticalCount: 3 })], ['Association', nc({ LowCount: 1 })]]),
      node('mi-d', 'g', 'report', [['Patch', { Status: 'COMPLIANT' }]]),
    ];
    expect(worstNodes(nodes, 2).map((l) => [l.instanceId, l.worstSeverity, l.critical, l.nonCompliantTypes])).toEqual([
      ['mi-c', 'CRITICAL', 3, ['Association', 'Patch']], ['mi-b', 'CRITICAL', 1, ['Patch']],
    ]);
    expect(worstNodes(nodes, 0)).toEqual([]);
  });
});
