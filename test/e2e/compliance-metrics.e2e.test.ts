/**
 * End-to-end tests of the BUNDLED compliance-metrics function (`assets/compliance-metrics/index.js`, built by
 * `npm run bundle`) against the loopback SSM stub, in a child node process (test/support/handler-process.ts) with a
 * 5-minute timeout counting down. The fleet is hand-made so every expected figure below is counted by hand, not by the
 * code under test: 55 compliant enforce-mode nodes of linux-web and five nodes that each exercise one case.
 */
import { randomUUID } from 'node:crypto';
import { lambdaContext } from '../support/api-gateway-event';
import { ComplianceDashboard } from '../../lib';
import { AGENT_TYPE, ec2Id, hybridId } from '../support/compliance-fleet';
import { useE2e } from '../support/e2e';
import { jsonLines } from '../support/handler-process';
import { Faults } from '../support/ssm-stub';

// The function's environment is the one ComplianceDashboard gives it (synthesized), with the agent's compliance type.
const e2e = useE2e('compliance-metrics', {
  configs: { default: (stack) => new ComplianceDashboard(stack, 'Dashboard', { agentComplianceTypes: [AGENT_TYPE] }) },
  tuning: { LOG_LEVEL: 'INFO', SSM_MAX_ATTEMPTS: '1', SSM_REQUEST_TIMEOUT_MS: '2000' },
});
const { stub } = e2e;
const NS = 'HybridFleet/Compliance';

const A = hybridId(0xa1);
const B = hybridId(0xb2);
const C = hybridId(0xc3);
const D = ec2Id(0xd4);
const E = hybridId(0xe5);

/** 60 nodes (two DescribeInstanceInformation pages of 50), 171 summaries (four pages of at most 50). */
function seed(): void {
  for (let i = 1; i <= 55; i++) {
    const id = hybridId(i);
    stub.addNode({ instanceId: id, name: `web-${i}`, tags: { PatchGroup: 'linux-web', PatchMode: 'enforce' } });
    stub.addCompliance(id, 'Patch');
    stub.addCompliance(id, 'Association');
    stub.addCompliance(id, AGENT_TYPE);
  }
  stub.addNode({ instanceId: A, name: 'web-report', tags: { PatchGroup: 'linux-web', PatchMode: 'report' } });
  stub.addCompliance(A, 'Patch', { CRITICAL: 2, HIGH: 1 });
  stub.addCompliance(A, AGENT_TYPE);
  stub.addNode({ instanceId: B, name: 'billing-1', pingStatus: 'ConnectionLost', tags: { PatchGroup: 'billing-app', PatchMode: 'enforce' } });
  stub.addCompliance(B, 'Patch', { HIGH: 1 });
  stub.addCompliance(B, 'Association', { MEDIUM: 1 });
  // C: a hybrid node without any tag.
  stub.addNode({ instanceId: C, name: 'no-tags' });
  stub.addCompliance(C, 'Patch');
  stub.addNode({ instanceId: D, name: 'ec2-1', resourceType: 'EC2Instance', tags: { PatchGroup: 'linux-web', PatchMode: 'enforce' } });
  stub.addCompliance(D, 'Patch', { LOW: 3 });
  // E: an unknown mode value and no compliance data at all.
  stub.addNode({ instanceId: E, name: 'odd-mode', tags: { PatchGroup: 'billing-app', PatchMode: 'sometimes' } });
}

interface Outcome {
  complete: boolean;
  nodes: number;
  metricCount: number;
}

async function runOnce(): Promise<{ outcome: Outcome; lines: any[] }> {
  const proc = await e2e.startProcess<Outcome>(e2e.env(), { timeoutMs: 5 * 60_000 });
  e2e.closeAfterTest.add(proc);
  const outcome = await proc.invoke(
    { 'detail-type': 'Scheduled Event', 'source': 'aws.events', 'id': randomUUID(), 'detail': {} },
    lambdaContext(randomUUID(), { functionName: 'HybridFleetExample-ComplianceMetrics' }),
  );
  await proc.close();
  return { outcome, lines: jsonLines(proc.output()) };
}

/** The EMF documents with exactly these dimension names, keyed by their dimension values. */
function docs(lines: any[], dims: string[]): Map<string, any> {
  const out = new Map<string, any>();
  for (const line of lines) {
    const directive = line._aws?.CloudWatchMetrics?.[0];
    if (!directive || JSON.stringify(directive.Dimensions) !== JSON.stringify([dims]) || line.message === 'compliance metrics run') continue;
    expect(directive.Namespace).toBe(NS);
    out.set(dims.map((d) => line[d]).join('|'), line);
  }
  return out;
}

const figures = (doc: any) => ({
  Nodes: doc.Nodes, CompliantNodes: doc.CompliantNodes, NonCompliantNodes: doc.NonCompliantNodes, NoDataNodes: doc.NoDataNodes,
  OnlineNodes: doc.OnlineNodes, OfflineNodes: doc.OfflineNodes, CompliancePercent: doc.CompliancePercent,
});

describe('compliance-metrics bundle against the SSM stub', () => {
  test('pages through nodes and summaries, backs off on throttling, and publishes the fleet as EMF', async () => {
    seed();
    // SSM_MAX_ATTEMPTS=1: the SDK does not retry, so the function's own backoff must (1 s, then 2 s).
    stub.failNext('ListResourceComplianceSummaries', 2, Faults.throttling());
    stub.failNext('ListTagsForResource', 1, Faults.throttling());
    const { outcome, lines } = await runOnce();

    expect(outcome).toEqual({ complete: true, nodes: 60, metricCount: expect.any(Number) });
    expect(stub.requestsFor('DescribeInstanceInformation').map((r) => r.body.NextToken)).toEqual([undefined, '50']);
    const summaryTokens = stub.requestsFor('ListResourceComplianceSummaries').map((r) => [r.body.NextToken, r.errorType ?? 'ok']);
    expect(summaryTokens).toEqual([
      [undefined, 'ThrottlingException'], [undefined, 'ThrottlingException'], [undefined, 'ok'], ['50', 'ok'], ['100', 'ok'], ['150', 'ok'],
    ]);
    const gap = stub.requestsFor('ListResourceComplianceSummaries').map((r) => r.receivedAt);
    expect(gap[1] - gap[0]).toBeGreaterThanOrEqual(900);
    expect(gap[2] - gap[1]).toBeGreaterThanOrEqual(1900);
    // Tags of the 59 hybrid nodes, one retried; never of the EC2 node.
    const tagReads = stub.requestsFor('ListTagsForResource');
    expect(tagReads).toHaveLength(60);
    expect(tagReads.map((r) => r.body.ResourceId)).not.toContain(D);

    const byGroup = docs(lines, ['PatchGroup', 'Mode']);
    expect([...byGroup.keys()].sort()).toEqual([
      '(ec2)|(ec2)', '(untagged)|(untagged)', 'billing-app|(other)', 'billing-app|enforce', 'linux-web|enforce', 'linux-web|report',
    ]);
    expect(figures(byGroup.get('linux-web|enforce'))).toEqual({
      Nodes: 55, CompliantNodes: 55, NonCompliantNodes: 0, NoDataNodes: 0, OnlineNodes: 55, OfflineNodes: 0, CompliancePercent: 100,
    });
    expect(figures(byGroup.get('linux-web|report'))).toEqual({
      Nodes: 1, CompliantNodes: 0, NonCompliantNodes: 1, NoDataNodes: 0, OnlineNodes: 1, OfflineNodes: 0, CompliancePercent: 0,
    });
    expect(figures(byGroup.get('billing-app|enforce'))).toMatchObject({ Nodes: 1, NonCompliantNodes: 1, OfflineNodes: 1, OnlineNodes: 0 });
    expect(figures(byGroup.get('(untagged)|(untagged)'))).toMatchObject({ Nodes: 1, CompliantNodes: 1, CompliancePercent: 100 });
    expect(figures(byGroup.get('billing-app|(other)'))).toEqual({
      Nodes: 1, CompliantNodes: 0, NonCompliantNodes: 0, NoDataNodes: 1, OnlineNodes: 1, OfflineNodes: 0, CompliancePercent: undefined,
    });
    expect(byGroup.get('linux-web|report')._aws.CloudWatchMetrics[0].Metrics).toContainEqual({ Name: 'CompliancePercent', Unit: 'Percent' });

    const byMode = docs(lines, ['Mode']);
    // enforce: 55 compliant + B non-compliant → 55/56.
    expect(figures(byMode.get('enforce'))).toMatchObject({ Nodes: 56, CompliantNodes: 55, NonCompliantNodes: 1, CompliancePercent: 98.21 });
    expect([...byMode.keys()].sort()).toEqual(['(ec2)', '(other)', '(untagged)', 'enforce', 'report']);
    expect(figures(docs(lines, []).get(''))).toMatchObject({ Nodes: 60, OnlineNodes: 59, OfflineNodes: 1, NonCompliantNodes: 3, NoDataNodes: 1 });

    const bySeverity = docs(lines, ['ComplianceType', 'Severity', 'PatchGroup', 'Mode']);
    expect(Object.fromEntries([...bySeverity].map(([k, d]) => [k, d.NonCompliantNodes]))).toEqual({
      'Association|MEDIUM|billing-app|enforce': 1,
      'Patch|CRITICAL|linux-web|report': 1,
      'Patch|HIGH|billing-app|enforce': 1,
      'Patch|LOW|(ec2)|(ec2)': 1,
    });
    const worst = docs(lines, ['Severity']);
    expect(Object.fromEntries([...worst].map(([k, d]) => [k, d.NonCompliantNodes]))).toEqual({
      CRITICAL: 1, HIGH: 1, MEDIUM: 0, LOW: 1, INFORMATIONAL: 0, UNSPECIFIED: 0,
    });
    // Agent coverage: the 55 and A report the agent compliant; 56 of 60.
    expect(docs(lines, ['ComplianceType']).get(AGENT_TYPE)).toMatchObject({ NodesWithAgent: 56, NodesWithoutAgent: 4, AgentCoveragePercent: 93.33 });

    const top = lines.filter((l) => l.message === 'non-compliant node');
    expect(top.map((l) => [l.instanceId, l.worstSeverity, l.critical, l.high, l.patchGroup, l.mode])).toEqual([
      [A, 'CRITICAL', 2, 1, 'linux-web', 'report'],
      [B, 'HIGH', 0, 1, 'billing-app', 'enforce'],
      [D, 'LOW', 0, 0, '(ec2)', '(ec2)'],
    ]);
    expect(top[1]).toMatchObject({ pingStatus: 'ConnectionLost', nonCompliantTypes: ['Association', 'Patch'], medium: 1, name: 'billing-1' });

    const run = lines.find((l) => l.message === 'compliance metrics run');
    expect(run).toMatchObject({
      level: 'INFO', complete: true, ScanComplete: 1, Throttled: 3, Errors: 0, nodes: 60, summaries: 171, orphanSummaries: 0,
      calls: { DescribeInstanceInformation: 2, ListResourceComplianceSummaries: 6, ListTagsForResource: 60 },
      SsmCalls: 68, metricCount: outcome.metricCount,
    });
    expect(run._aws.CloudWatchMetrics[0].Dimensions).toEqual([[]]);
    // Every metric line and the run line: nothing but JSON on the output.
    expect(lines.every((l) => typeof l.requestId === 'string')).toBe(true);
  });

  test('a listing that keeps failing publishes no fleet metrics, only the run line with ScanComplete 0', async () => {
    seed();
    stub.failAlways('ListResourceComplianceSummaries', Faults.accessDenied('User: arn:aws:sts::111122223333:assumed-role/x is not authorized'));
    const { outcome, lines } = await runOnce();
    expect(outcome).toEqual({ complete: false, nodes: 60, metricCount: 5 });
    expect(lines.filter((l) => l._aws !== undefined)).toHaveLength(1);
    const run = lines.find((l) => l.message === 'compliance metrics run');
    expect(run).toMatchObject({
      level: 'WARN', ScanComplete: 0, Errors: 1, errors: [{ action: 'ListResourceComplianceSummaries', id: '*', errorName: 'AccessDeniedException' }],
    });
    // The error's message (which names a role) is not logged, and an SDK error gets no stack line.
    expect(JSON.stringify(lines)).not.toContain('not authorized');
    expect(lines.filter((l) => l.message === 'unexpected error')).toEqual([]);
    expect(stub.requestsFor('ListTagsForResource')).toHaveLength(0);
  });

  test('a bad environment fails the cold start, naming the variable', async () => {
    await expect(e2e.startProcess(e2e.brokenEnv({ MAX_PATCH_GROUPS: '0' }))).rejects.toThrow(/MAX_PATCH_GROUPS must be an integer from 1 to 100/);
    await expect(e2e.startProcess(e2e.brokenEnv({ MODE_VALUES: '"report"' }))).rejects.toThrow(/MODE_VALUES is invalid/);
  });
});
