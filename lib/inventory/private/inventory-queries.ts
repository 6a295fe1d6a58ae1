/*
 * The named queries the query layer creates: the questions operators ask of fleet inventory.
 *
 * SQL dialect: only the subset that Athena (Trino) and the test engine (DuckDB) share, so that the tests run every
 * query on sample sync files and assert the answers (test/inventory/inventory-queries.test.ts). That means:
 * lower-case unquoted identifiers, single-quoted literals, `?` positional parameters (Athena prepared statements and
 * execution parameters), `||` concatenation, LIKE, CASE, COALESCE, NULLIF, TRY_CAST, COUNT(DISTINCT …), LEFT JOIN,
 * NOT EXISTS, GROUP BY / ORDER BY. No regexp, date parsing, arrays or string aggregation: their names or semantics
 * differ between the two engines. The same test parses every query with a Trino grammar (node-sql-parser) and holds
 * the functions it calls to an allow-list, so DuckDB-only syntax (GROUP BY ALL, EXCLUDE) cannot slip in.
 *
 * A node is identified by (accountid, region, resourceid): node ids are unique per account and region only.
 * Athena execution parameters are SQL literals, so a string parameter is entered with its quotes: 'openssl'.
 */
import { COMPLIANCE_QUERIES } from './compliance-queries';

/** A named query: what it answers and its SQL. */
export interface InventoryQuery {
  /** Stable id, used for the construct id and the output key. */
  readonly id: string;
  /** The Athena named-query name (at most 128 characters). */
  readonly name: string;
  /** What the query answers and how to run it (at most 1,024 characters). */
  readonly description: string;
  /** The inventory tables the query reads (every one must exist for the query to be created). */
  readonly tables: readonly string[];
  /** The positional parameters (`?`), in order, with an example value as entered in Athena. */
  readonly parameters: readonly { readonly name: string; readonly example: string }[];
  /** The SQL. */
  readonly sql: string;
}

const NODE_KEY = "accountid || '/' || region || '/' || resourceid";

export const INVENTORY_QUERIES: readonly InventoryQuery[] = [
  {
    id: 'ApplicationVersions',
    name: 'fleet-application-versions',
    description: 'Every application and version installed across the fleet, with the number of nodes that run it.',
    tables: ['aws_application'],
    parameters: [],
    sql: [
      'SELECT name, version, COUNT(DISTINCT ' + NODE_KEY + ') AS nodes',
      'FROM aws_application',
      'GROUP BY name, version',
      'ORDER BY nodes DESC, name, version',
    ].join('\n'),
  },
  {
    id: 'NodesWithPackage',
    name: 'fleet-nodes-with-package',
    description:
      "Nodes that run a package whose name matches (case-insensitive) at a version matching a LIKE pattern. Parameters: the package name and the version pattern, e.g. 'openssl' and '1.0.1e%' ('%' for any version).",
    tables: ['aws_application', 'aws_instanceinformation'],
    parameters: [
      { name: 'package name', example: "'openssl'" },
      { name: 'version LIKE pattern', example: "'1.0.1e%'" },
    ],
    sql: [
      'SELECT a.accountid, a.region, a.resourceid, i.computername, i.platformname, a.name, a.version',
      'FROM aws_application a',
      'LEFT JOIN aws_instanceinformation i',
      '  ON i.accountid = a.accountid AND i.region = a.region AND i.resourceid = a.resourceid',
      'WHERE lower(a.name) = lower(?) AND a.version LIKE ?',
      'ORDER BY a.accountid, a.region, a.resourceid, a.version',
    ].join('\n'),
  },
  {
    id: 'NodesMissingApplication',
    name: 'fleet-nodes-missing-application',
    description:
      "Nodes on which a required application (the security agent, say) is not installed. Parameter: the application name, case-insensitive, e.g. 'falcon-sensor'.",
    tables: ['aws_instanceinformation', 'aws_application'],
    parameters: [{ name: 'application name', example: "'falcon-sensor'" }],
    sql: [
      'SELECT i.accountid, i.region, i.resourceid, i.computername, i.platformtype, i.platformname',
      'FROM aws_instanceinformation i',
      'WHERE NOT EXISTS (',
      '  SELECT 1 FROM aws_application a',
      '  WHERE a.accountid = i.accountid AND a.region = i.region AND a.resourceid = i.resourceid',
      '    AND lower(a.name) = lower(?)',
      ')',
      'ORDER BY i.accountid, i.region, i.resourceid',
    ].join('\n'),
  },
  {
    id: 'NonCompliantByType',
    name: 'fleet-non-compliant-by-type',
    description: 'The number of non-compliant nodes per compliance type (Patch, Association, custom) and overall severity.',
    tables: ['aws_compliancesummary'],
    parameters: [],
    sql: [
      'SELECT compliancetype, overallseverity, COUNT(DISTINCT ' + NODE_KEY + ') AS nodes',
      'FROM aws_compliancesummary',
      "WHERE status = 'NON_COMPLIANT'",
      'GROUP BY compliancetype, overallseverity',
      'ORDER BY compliancetype,',
      "  CASE overallseverity WHEN 'CRITICAL' THEN 1 WHEN 'HIGH' THEN 2 WHEN 'MEDIUM' THEN 3 WHEN 'LOW' THEN 4",
      "    WHEN 'INFORMATIONAL' THEN 5 ELSE 6 END",
    ].join('\n'),
  },
  {
    id: 'NonCompliantNodes',
    name: 'fleet-non-compliant-nodes',
    description: 'Every non-compliant node with its compliance type, severity and the items that fail, worst first.',
    tables: ['aws_compliancesummary', 'aws_complianceitem'],
    parameters: [],
    sql: [
      'SELECT s.accountid, s.region, s.resourceid, s.compliancetype, s.overallseverity,',
      "  COUNT(CASE WHEN c.status = 'NON_COMPLIANT' THEN 1 END) AS failing_items",
      'FROM aws_compliancesummary s',
      'LEFT JOIN aws_complianceitem c',
      '  ON c.accountid = s.accountid AND c.region = s.region AND c.resourceid = s.resourceid',
      '  AND c.compliancetype = s.compliancetype',
      "WHERE s.status = 'NON_COMPLIANT'",
      'GROUP BY s.accountid, s.region, s.resourceid, s.compliancetype, s.overallseverity',
      "ORDER BY CASE s.overallseverity WHEN 'CRITICAL' THEN 1 WHEN 'HIGH' THEN 2 WHEN 'MEDIUM' THEN 3 WHEN 'LOW' THEN 4",
      "    WHEN 'INFORMATIONAL' THEN 5 ELSE 6 END,",
      '  s.accountid, s.region, s.resourceid, s.compliancetype',
    ].join('\n'),
  },
  {
    id: 'PatchSummaryByGroup',
    name: 'fleet-patch-summary-by-patch-group',
    description:
      "Per patch group: nodes, nodes missing patches, and the missing, failed and installed-pending-reboot patch counts from each node's last scan or install.",
    tables: ['aws_patchsummary'],
    parameters: [],
    sql: [
      "SELECT COALESCE(NULLIF(patchgroup, ''), '(no patch group)') AS patch_group,",
      '  COUNT(DISTINCT ' + NODE_KEY + ') AS nodes,',
      '  SUM(CASE WHEN COALESCE(TRY_CAST(missingcount AS integer), 0) > 0 THEN 1 ELSE 0 END) AS nodes_missing_patches,',
      '  SUM(COALESCE(TRY_CAST(missingcount AS integer), 0)) AS missing,',
      '  SUM(COALESCE(TRY_CAST(failedcount AS integer), 0)) AS failed,',
      '  SUM(COALESCE(TRY_CAST(installedpendingrebootcount AS integer), 0)) AS pending_reboot',
      'FROM aws_patchsummary',
      "GROUP BY COALESCE(NULLIF(patchgroup, ''), '(no patch group)')",
      'ORDER BY patch_group',
    ].join('\n'),
  },
  {
    id: 'AgentVersions',
    name: 'fleet-ssm-agent-versions',
    description: 'SSM Agent versions across the fleet, with the number of nodes (and of hybrid mi- nodes) on each.',
    tables: ['aws_instanceinformation'],
    parameters: [],
    sql: [
      'SELECT agentversion, COUNT(DISTINCT ' + NODE_KEY + ') AS nodes,',
      "  COUNT(DISTINCT CASE WHEN resourceid LIKE 'mi-%' THEN " + NODE_KEY + ' END) AS hybrid_nodes',
      'FROM aws_instanceinformation',
      'GROUP BY agentversion',
      'ORDER BY nodes DESC, agentversion',
    ].join('\n'),
  },
  {
    id: 'NodesByPlatform',
    name: 'fleet-nodes-by-platform',
    description: 'Nodes by platform type, name and version, with the number of hybrid (mi-) and EC2 nodes.',
    tables: ['aws_instanceinformation'],
    parameters: [],
    sql: [
      'SELECT platformtype, platformname, platformversion, COUNT(DISTINCT ' + NODE_KEY + ') AS nodes,',
      "  COUNT(DISTINCT CASE WHEN resourceid LIKE 'mi-%' THEN " + NODE_KEY + ' END) AS hybrid_nodes,',
      "  COUNT(DISTINCT CASE WHEN resourceid LIKE 'i-%' THEN " + NODE_KEY + ' END) AS ec2_nodes',
      'FROM aws_instanceinformation',
      'GROUP BY platformtype, platformname, platformversion',
      'ORDER BY platformtype, platformname, platformversion',
    ].join('\n'),
  },
  {
    id: 'NodesMissingTag',
    name: 'fleet-nodes-missing-tag',
    description:
      "Nodes that lack a tag key, e.g. 'PatchGroup' (nodes outside every patch group are never patched). Parameter: the tag key, case-sensitive.",
    tables: ['aws_instanceinformation', 'aws_tag'],
    parameters: [{ name: 'tag key', example: "'PatchGroup'" }],
    sql: [
      'SELECT i.accountid, i.region, i.resourceid, i.computername, i.platformname',
      'FROM aws_instanceinformation i',
      'WHERE NOT EXISTS (',
      '  SELECT 1 FROM aws_tag t',
      '  WHERE t.accountid = i.accountid AND t.region = i.region AND t.resourceid = i.resourceid AND t.key = ?',
      ')',
      'ORDER BY i.accountid, i.region, i.resourceid',
    ].join('\n'),
  },
  ...COMPLIANCE_QUERIES,
];
