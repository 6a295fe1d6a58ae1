/*
 * Named queries over the compliance data a resource data sync writes (`AWS:ComplianceSummary`, one record per node and
 * compliance type; `AWS:ComplianceItem`, one record per item): the fleet-wide, cross-account view behind the risk
 * dashboard. Same SQL subset and tests as the inventory queries (see inventory-queries.ts).
 */
import type { InventoryQuery } from './inventory-queries';

const NODE_KEY = "accountid || '/' || region || '/' || resourceid";
const SAME_NODE = (alias: string, other: string) =>
  `${alias}.accountid = ${other}.accountid AND ${alias}.region = ${other}.region AND ${alias}.resourceid = ${other}.resourceid`;

export const COMPLIANCE_QUERIES: readonly InventoryQuery[] = [
  {
    id: 'ComplianceByPatchGroupAndMode',
    name: 'fleet-compliance-by-patch-group-and-mode',
    description:
      "Nodes with compliance data per patch group and report/enforce mode (from the nodes' tags): compliant, non-compliant and with a critical item. Parameters: the patch-group and mode tag keys, e.g. 'PatchGroup' and 'PatchMode'.",
    tables: ['aws_compliancesummary', 'aws_tag'],
    parameters: [
      { name: 'patch-group tag key', example: "'PatchGroup'" },
      { name: 'mode tag key', example: "'PatchMode'" },
    ],
    sql: [
      "SELECT COALESCE(g.value, '(untagged)') AS patch_group, COALESCE(m.value, '(untagged)') AS mode, COUNT(*) AS nodes,",
      '  SUM(CASE WHEN n.non_compliant_types = 0 THEN 1 ELSE 0 END) AS compliant_nodes,',
      '  SUM(CASE WHEN n.non_compliant_types > 0 THEN 1 ELSE 0 END) AS non_compliant_nodes,',
      '  SUM(CASE WHEN n.critical_items > 0 THEN 1 ELSE 0 END) AS nodes_with_critical',
      'FROM (',
      '  SELECT accountid, region, resourceid,',
      "    COUNT(CASE WHEN status = 'NON_COMPLIANT' THEN 1 END) AS non_compliant_types,",
      '    SUM(COALESCE(TRY_CAST(noncompliantcriticalcount AS integer), 0)) AS critical_items',
      '  FROM aws_compliancesummary',
      '  GROUP BY accountid, region, resourceid',
      ') n',
      `LEFT JOIN aws_tag g ON ${SAME_NODE('g', 'n')} AND g.key = ?`,
      `LEFT JOIN aws_tag m ON ${SAME_NODE('m', 'n')} AND m.key = ?`,
      "GROUP BY COALESCE(g.value, '(untagged)'), COALESCE(m.value, '(untagged)')",
      'ORDER BY patch_group, mode',
    ].join('\n'),
  },
  {
    id: 'AgentCoverage',
    name: 'fleet-agent-coverage',
    description:
      "Per account and Region: nodes, and how many report a compliance type compliant, non-compliant or not at all, e.g. the 'Custom:<agent>' type an agent installer writes. Parameter: the compliance type, e.g. 'Custom:CrowdStrikeFalcon'.",
    tables: ['aws_instanceinformation', 'aws_compliancesummary'],
    parameters: [{ name: 'compliance type', example: "'Custom:CrowdStrikeFalcon'" }],
    sql: [
      'SELECT i.accountid, i.region, COUNT(*) AS nodes,',
      "  SUM(CASE WHEN s.status = 'COMPLIANT' THEN 1 ELSE 0 END) AS covered,",
      "  SUM(CASE WHEN s.status = 'NON_COMPLIANT' THEN 1 ELSE 0 END) AS reporting_non_compliant,",
      '  SUM(CASE WHEN s.status IS NULL THEN 1 ELSE 0 END) AS not_reporting',
      'FROM aws_instanceinformation i',
      `LEFT JOIN aws_compliancesummary s ON ${SAME_NODE('s', 'i')} AND s.compliancetype = ?`,
      'GROUP BY i.accountid, i.region',
      'ORDER BY i.accountid, i.region',
    ].join('\n'),
  },
  {
    id: 'NonCompliantItemsBySeverity',
    name: 'fleet-non-compliant-items-by-severity',
    description:
      "The non-compliant items (missing patches, failed associations, custom checks) of one severity, with the number of nodes that lack each, most widespread first. Parameter: the severity, e.g. 'CRITICAL'.",
    tables: ['aws_complianceitem'],
    parameters: [{ name: 'severity', example: "'CRITICAL'" }],
    sql: [
      'SELECT compliancetype, id, title, COUNT(DISTINCT ' + NODE_KEY + ') AS nodes',
      'FROM aws_complianceitem',
      "WHERE status = 'NON_COMPLIANT' AND severity = ?",
      'GROUP BY compliancetype, id, title',
      'ORDER BY nodes DESC, compliancetype, id',
    ].join('\n'),
  },
  {
    id: 'ComplianceByAccountRegion',
    name: 'fleet-compliance-by-account-region',
    description:
      'Per account, Region and compliance type: nodes reporting, non-compliant nodes and the latest execution time, across every source account of the sync.',
    tables: ['aws_compliancesummary'],
    parameters: [],
    sql: [
      'SELECT accountid, region, compliancetype, COUNT(DISTINCT resourceid) AS nodes,',
      "  COUNT(DISTINCT CASE WHEN status = 'NON_COMPLIANT' THEN resourceid END) AS non_compliant_nodes,",
      '  MAX(executiontime) AS last_execution',
      'FROM aws_compliancesummary',
      'GROUP BY accountid, region, compliancetype',
      'ORDER BY accountid, region, compliancetype',
    ].join('\n'),
  },
];
