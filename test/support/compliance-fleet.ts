/**
 * A sample fleet with compliance data for the compliance-metrics function, seeded into the SSM stub: used by the e2e
 * test (test/e2e/compliance-metrics.e2e.test.ts), the bench (`npm run bench -- compliance-dashboard`) and the
 * dashboard picture (scripts/render-dashboard.ts). Deterministic. No test-framework imports.
 */
import type { ComplianceSeverity, SsmStub } from './ssm-stub';

/** The agent's compliance type (an installer reporting `Custom:<agent>` per node). */
export const AGENT_TYPE = 'Custom:CrowdStrikeFalcon';
/** Patch groups of the example fleet, largest first. */
export const EXAMPLE_GROUPS = ['linux-web', 'linux-db', 'windows-app', 'billing-app', 'batch'] as const;

/** The function environment of the example fleet (the construct's defaults plus the agent type). */
export const EXAMPLE_ENV: Readonly<Record<string, string>> = {
  METRICS_NAMESPACE: 'HybridFleet/Compliance',
  PATCH_GROUP_TAG_KEY: 'PatchGroup',
  MODE_TAG_KEY: 'PatchMode',
  MODE_VALUES: JSON.stringify(['report', 'enforce']),
  AGENT_COMPLIANCE_TYPES: JSON.stringify([AGENT_TYPE]),
  MAX_PATCH_GROUPS: '10',
  TOP_NODES: '20',
};

/** A hybrid node id from a number: `mi-` and 17 hex digits. */
export const hybridId = (n: number): string => `mi-${n.toString(16).padStart(17, '0')}`;
/** An EC2 instance id from a number. */
export const ec2Id = (n: number): string => `i-${n.toString(16).padStart(17, '0')}`;

/**
 * Seeds `count` nodes: every tenth an EC2 instance, every 25th hybrid node untagged, the rest spread over
 * {@link EXAMPLE_GROUPS} (the first groups larger); about two thirds in report mode and one third in enforce (the
 * progression); each node reports Patch and Association compliance and most report the agent. Non-compliance follows
 * fixed residues (a few CRITICAL, more HIGH/MEDIUM), enforce-mode nodes less often than report-mode ones; 1 in 12
 * nodes is offline.
 */
export function seedExampleFleet(stub: SsmStub, count: number): void {
  for (let i = 1; i <= count; i++) {
    const ec2 = i % 10 === 0;
    const untagged = !ec2 && i % 25 === 0;
    const group = EXAMPLE_GROUPS[Math.min(EXAMPLE_GROUPS.length - 1, Math.floor(Math.sqrt((i * 7) % 25)))];
    const enforce = i % 3 === 0;
    const tags: Record<string, string> = untagged ? {} : { PatchGroup: group, PatchMode: enforce ? 'enforce' : 'report' };
    const node = stub.addNode({
      instanceId: ec2 ? ec2Id(i) : hybridId(i),
      resourceType: ec2 ? 'EC2Instance' : 'ManagedInstance',
      name: `node-${i}`,
      pingStatus: i % 12 === 0 ? 'ConnectionLost' : 'Online',
      tags,
    });
    const patch: Partial<Record<ComplianceSeverity, number>> = {};
    const r = i % (enforce ? 29 : 11);
    if (r === 1) patch.CRITICAL = 1 + (i % 3);
    if (r === 2 || r === 3) patch.HIGH = 1 + (i % 4);
    if (r === 4) patch.MEDIUM = 2;
    if (r === 5) patch.LOW = 1;
    stub.addCompliance(node.InstanceId, 'Patch', patch, { compliantCount: 40 + (i % 30) });
    stub.addCompliance(node.InstanceId, 'Association', i % 17 === 0 ? { HIGH: 1 } : {});
    if (i % 9 !== 0) stub.addCompliance(node.InstanceId, AGENT_TYPE, i % 31 === 0 ? { MEDIUM: 1 } : {});
  }
}
