import * as path from 'path';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Parser } from 'node-sql-parser/build/trino';
import { InventoryQueryLayer, InventoryQueryLayerProps } from '../../../lib';
import { INVENTORY_QUERIES } from '../../../lib/inventory/private/inventory-queries';
import { LocalAthena } from '../../support/local-athena';
import { testApp } from '../../support/gates';

/*
 * The query layer tested on data: sample files laid out exactly as a resource data sync writes them
 * (test/inventory/fixtures/sync/<prefix>/<TypeName>/accountid=…/region=…/resourcetype=ManagedInstanceInventory/<node>.json),
 * read through the SYNTHESIZED Glue tables (location template, partition projection, columns) and queried with the
 * SYNTHESIZED named queries, in DuckDB (test/support/local-athena.ts).
 *
 * The sample fleet: two accounts, two regions, six nodes (three EC2, three hybrid mi- nodes):
 *   111122223333 eu-west-1  i-0a1b2c3d4e5f60001 web-01          Amazon Linux 2023   linux-web    compliant, falcon-sensor
 *                           mi-0123456789abcdef0 billing-db-01  RHEL 8.9            billing-app  Patch CRITICAL, falcon-sensor
 *                           mi-0fedcba9876543210 BILLING-APP-01 Windows Server 2022 billing-app  Patch HIGH, Association HIGH
 *   111122223333 us-east-1  i-0a1b2c3d4e5f60002 batch-01        Ubuntu 22.04        (no group)   Patch MEDIUM, old agent
 *   444455556666 eu-west-1  mi-00000000000000aa1 legacy-mail    CentOS 6.10         linux-web    Patch CRITICAL, openssl 1.0.1e
 *   444455556666 us-east-1  i-0a1b2c3d4e5f60003 build-01        Amazon Linux 2      linux-web    compliant, openssl-libs 1.0.1e
 *
 * Mode tags (PatchMode): enforce on web-01, BILLING-APP-01 and build-01, report on billing-db-01 and legacy-mail. The
 * falcon installer reports `Custom:CrowdStrikeFalcon` compliant on web-01 and billing-db-01.
 */

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'sync');
const BUCKET = 'central-inventory';
const ACCOUNTS = ['111122223333', '444455556666'];
const REGIONS = ['eu-west-1', 'us-east-1'];

function synthesize(props: Partial<InventoryQueryLayerProps> = {}): { template: { Resources: Record<string, any> }; queries: Map<string, string> } {
  const stack = new Stack(testApp(), 'Central', { env: { account: '111122223333', region: 'eu-west-1' } });
  const bucket = s3.Bucket.fromBucketName(stack, 'Bucket', BUCKET);
  new InventoryQueryLayer(stack, 'Query', { bucket, bucketPrefix: 'inventory', accountIds: ACCOUNTS, regions: REGIONS, ...props });
  const template = Template.fromStack(stack).toJSON() as { Resources: Record<string, any> };
  const queries = new Map<string, string>();
  for (const resource of Object.values<any>(template.Resources)) {
    if (resource.Type === 'AWS::Athena::NamedQuery') queries.set(resource.Properties.Name, resource.Properties.QueryString);
  }
  return { template, queries };
}

let athena: LocalAthena;
let queries: Map<string, string>;

beforeAll(async () => {
  const synthesized = synthesize();
  queries = synthesized.queries;
  athena = await LocalAthena.fromTemplate(synthesized.template, BUCKET, FIXTURES);
});
afterAll(() => athena.close());

async function run(name: string, parameters: string[] = []): Promise<Record<string, unknown>[]> {
  const sql = queries.get(name);
  if (!sql) throw new Error(`no named query ${name} in the template`);
  return athena.query(sql, parameters);
}

describe('sample data through the synthesized tables', () => {
  test('every table reads its sample files, and every Glue column is a key the sync writes', async () => {
    for (const table of Object.keys(athena.columnsWithoutData)) {
      const [{ n }] = await athena.query(`SELECT COUNT(*) AS n FROM ${table}`);
      expect({ table, hasRows: (n as number) > 0 }).toEqual({ table, hasRows: true });
    }
    expect(Object.keys(athena.columnsWithoutData)).toHaveLength(14);
    expect(athena.columnsWithoutData).toEqual(Object.fromEntries(Object.keys(athena.columnsWithoutData).map((t) => [t, []])));
  });

  test('partition columns come from the key layout, and a record field cannot shadow them', async () => {
    const rows = await athena.query(
      'SELECT accountid, region, resourcetype, COUNT(*) AS nodes FROM aws_instanceinformation GROUP BY accountid, region, resourcetype ORDER BY accountid, region',
    );
    expect(rows).toEqual([
      { accountid: '111122223333', region: 'eu-west-1', resourcetype: 'ManagedInstanceInventory', nodes: 3 },
      { accountid: '111122223333', region: 'us-east-1', resourcetype: 'ManagedInstanceInventory', nodes: 1 },
      { accountid: '444455556666', region: 'eu-west-1', resourcetype: 'ManagedInstanceInventory', nodes: 1 },
      { accountid: '444455556666', region: 'us-east-1', resourcetype: 'ManagedInstanceInventory', nodes: 1 },
    ]);
  });

  test('an account left out of the projection is not visible (list every source account)', async () => {
    const { template } = synthesize({ accountIds: ['111122223333'] });
    const partial = await LocalAthena.fromTemplate(template, BUCKET, FIXTURES);
    try {
      const rows = await partial.query('SELECT DISTINCT accountid FROM aws_instanceinformation');
      expect(rows).toEqual([{ accountid: '111122223333' }]);
    } finally {
      partial.close();
    }
  });
});

/*
 * The other half of "the subset Athena and DuckDB share": DuckDB runs the queries below, and a Trino grammar (Athena
 * engine v3 is Trino) parses them, with only functions known to both engines. Parsing cannot check function names,
 * so they are held to an allow-list.
 */
const SHARED_FUNCTIONS = ['COALESCE', 'COUNT', 'LOWER', 'MAX', 'NULLIF', 'SUM', 'TRY_CAST'];

/** The functions, aggregates and casts a query calls (upper case); throws when it does not parse as Trino SQL. */
function trinoFunctions(sql: string): string[] {
  const ast = new Parser().astify(sql, { database: 'trino' });
  const names = new Set<string>();
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!node || typeof node !== 'object') return;
    const n = node as Record<string, any>;
    if (n.type === 'function') names.add((typeof n.name === 'string' ? n.name : n.name.name.map((p: any) => p.value).join('.')).toUpperCase());
    if (n.type === 'aggr_func') names.add(String(n.name).toUpperCase());
    if (n.type === 'cast') names.add(String(n.keyword).toUpperCase());
    Object.values(n).forEach(walk);
  };
  walk(ast);
  return [...names].sort();
}

describe('the SQL stays in the subset Athena (Trino) and DuckDB share', () => {
  test.each(INVENTORY_QUERIES.map((q) => [q.name, q.sql]))('%s parses as Trino SQL and calls only shared functions', (_name, sql) => {
    const calls = trinoFunctions(sql);
    expect(calls.filter((f) => !SHARED_FUNCTIONS.includes(f))).toEqual([]);
  });

  test('the check does catch DuckDB-only syntax and engine-specific functions', () => {
    expect(() => trinoFunctions('SELECT name FROM aws_application GROUP BY ALL')).toThrow();
    expect(() => trinoFunctions('SELECT * EXCLUDE (name) FROM aws_application')).toThrow();
    expect(trinoFunctions("SELECT regexp_matches(name, 'ssl') FROM aws_application")).toEqual(['REGEXP_MATCHES']);
  });
});

describe('named queries answer the operators\' questions', () => {
  test('every query of the library is in the template, with one bound value per ? parameter', () => {
    expect([...queries.keys()].sort()).toEqual(INVENTORY_QUERIES.map((q) => q.name).sort());
    for (const q of INVENTORY_QUERIES) {
      expect({ name: q.name, placeholders: (queries.get(q.name)!.match(/\?/g) ?? []).length }).toEqual({ name: q.name, placeholders: q.parameters.length });
    }
  });

  test('every query runs with its documented example parameters', async () => {
    for (const q of INVENTORY_QUERIES) {
      const values = q.parameters.map((p) => p.example.replace(/^'(.*)'$/, '$1'));
      await expect(run(q.name, values)).resolves.toEqual(expect.any(Array));
    }
  });

  test('applications and versions across the fleet', async () => {
    const rows = await run('fleet-application-versions');
    expect(rows.slice(0, 3)).toEqual([
      { name: 'amazon-ssm-agent', version: '3.3.1142.0', nodes: 3 },
      { name: 'amazon-ssm-agent', version: '3.2.582.0', nodes: 2 },
      { name: 'falcon-sensor', version: '7.10.0', nodes: 2 },
    ]);
    expect(rows.filter((r) => r.name === 'openssl')).toEqual([
      { name: 'openssl', version: '1.0.1e', nodes: 1 },
      { name: 'openssl', version: '1.0.2k', nodes: 1 },
      { name: 'openssl', version: '1.1.1k', nodes: 1 },
      { name: 'openssl', version: '3.0.2', nodes: 1 },
      { name: 'openssl', version: '3.0.8', nodes: 1 },
    ]);
  });

  test('which machines still run OpenSSL 1.0.1e (exact package name, any case; openssl-libs is another package)', async () => {
    expect(await run('fleet-nodes-with-package', ['OpenSSL', '1.0.1e%'])).toEqual([
      {
        accountid: '444455556666', region: 'eu-west-1', resourceid: 'mi-00000000000000aa1', computername: 'legacy-mail',
        platformname: 'CentOS', name: 'openssl', version: '1.0.1e',
      },
    ]);
    const anyVersion = await run('fleet-nodes-with-package', ['openssl', '%']);
    expect(anyVersion.map((r) => r.resourceid)).toEqual([
      'i-0a1b2c3d4e5f60001', 'mi-0123456789abcdef0', 'i-0a1b2c3d4e5f60002', 'mi-00000000000000aa1', 'i-0a1b2c3d4e5f60003',
    ]);
  });

  test('who lacks the security agent', async () => {
    const rows = await run('fleet-nodes-missing-application', ['FALCON-SENSOR']);
    expect(rows.map((r) => [r.accountid, r.region, r.resourceid, r.platformtype])).toEqual([
      ['111122223333', 'eu-west-1', 'mi-0fedcba9876543210', 'Windows'],
      ['111122223333', 'us-east-1', 'i-0a1b2c3d4e5f60002', 'Linux'],
      ['444455556666', 'eu-west-1', 'mi-00000000000000aa1', 'Linux'],
      ['444455556666', 'us-east-1', 'i-0a1b2c3d4e5f60003', 'Linux'],
    ]);
    // The Windows sensor has another package name: asking for it leaves every other node.
    expect((await run('fleet-nodes-missing-application', ['CrowdStrike Windows Sensor'])).map((r) => r.resourceid)).not.toContain('mi-0fedcba9876543210');
  });

  test('non-compliant nodes by compliance type and severity', async () => {
    expect(await run('fleet-non-compliant-by-type')).toEqual([
      { compliancetype: 'Association', overallseverity: 'HIGH', nodes: 1 },
      { compliancetype: 'Patch', overallseverity: 'CRITICAL', nodes: 2 },
      { compliancetype: 'Patch', overallseverity: 'HIGH', nodes: 1 },
      { compliancetype: 'Patch', overallseverity: 'MEDIUM', nodes: 1 },
    ]);
  });

  test('non-compliant nodes, worst first, with their failing items', async () => {
    const rows = await run('fleet-non-compliant-nodes');
    expect(rows.map((r) => [r.resourceid, r.compliancetype, r.overallseverity, r.failing_items])).toEqual([
      ['mi-0123456789abcdef0', 'Patch', 'CRITICAL', 2],
      ['mi-00000000000000aa1', 'Patch', 'CRITICAL', 3],
      ['mi-0fedcba9876543210', 'Association', 'HIGH', 1],
      ['mi-0fedcba9876543210', 'Patch', 'HIGH', 1],
      ['i-0a1b2c3d4e5f60002', 'Patch', 'MEDIUM', 1],
    ]);
  });

  test('patch summary by patch group', async () => {
    expect(await run('fleet-patch-summary-by-patch-group')).toEqual([
      { patch_group: '(no patch group)', nodes: 1, nodes_missing_patches: 1, missing: 12, failed: 0, pending_reboot: 0 },
      { patch_group: 'billing-app', nodes: 2, nodes_missing_patches: 2, missing: 9, failed: 1, pending_reboot: 1 },
      { patch_group: 'linux-web', nodes: 3, nodes_missing_patches: 1, missing: 41, failed: 2, pending_reboot: 0 },
    ]);
  });

  test('SSM Agent versions', async () => {
    expect(await run('fleet-ssm-agent-versions')).toEqual([
      { agentversion: '3.3.1142.0', nodes: 4, hybrid_nodes: 2 },
      { agentversion: '3.2.582.0', nodes: 2, hybrid_nodes: 1 },
    ]);
  });

  test('nodes by platform, hybrid and EC2', async () => {
    expect((await run('fleet-nodes-by-platform')).map((r) => [r.platformname, r.platformversion, r.nodes, r.hybrid_nodes, r.ec2_nodes])).toEqual([
      ['Amazon Linux', '2', 1, 0, 1],
      ['Amazon Linux', '2023', 1, 0, 1],
      ['CentOS', '6.10', 1, 1, 0],
      ['Red Hat Enterprise Linux', '8.9', 1, 1, 0],
      ['Ubuntu', '22.04', 1, 0, 1],
      ['Microsoft Windows Server 2022 Datacenter', '10.0.20348', 1, 1, 0],
    ]);
  });

  test('nodes outside every patch group (no PatchGroup tag)', async () => {
    expect((await run('fleet-nodes-missing-tag', ['PatchGroup'])).map((r) => [r.resourceid, r.computername])).toEqual([
      ['i-0a1b2c3d4e5f60002', 'batch-01'],
    ]);
  });

  test('compliance per patch group and mode, from the nodes\' tags', async () => {
    expect(await run('fleet-compliance-by-patch-group-and-mode', ['PatchGroup', 'PatchMode'])).toEqual([
      { patch_group: '(untagged)', mode: '(untagged)', nodes: 1, compliant_nodes: 0, non_compliant_nodes: 1, nodes_with_critical: 0 },
      { patch_group: 'billing-app', mode: 'enforce', nodes: 1, compliant_nodes: 0, non_compliant_nodes: 1, nodes_with_critical: 0 },
      { patch_group: 'billing-app', mode: 'report', nodes: 1, compliant_nodes: 0, non_compliant_nodes: 1, nodes_with_critical: 1 },
      { patch_group: 'linux-web', mode: 'enforce', nodes: 2, compliant_nodes: 2, non_compliant_nodes: 0, nodes_with_critical: 0 },
      { patch_group: 'linux-web', mode: 'report', nodes: 1, compliant_nodes: 0, non_compliant_nodes: 1, nodes_with_critical: 1 },
    ]);
    // Another tag key: every node falls into (untagged), none is lost.
    expect(await run('fleet-compliance-by-patch-group-and-mode', ['Team', 'NoSuchKey'])).toEqual([
      { patch_group: '(untagged)', mode: '(untagged)', nodes: 3, compliant_nodes: 0, non_compliant_nodes: 3, nodes_with_critical: 2 },
      { patch_group: 'ci', mode: '(untagged)', nodes: 1, compliant_nodes: 1, non_compliant_nodes: 0, nodes_with_critical: 0 },
      { patch_group: 'data', mode: '(untagged)', nodes: 1, compliant_nodes: 0, non_compliant_nodes: 1, nodes_with_critical: 0 },
      { patch_group: 'web', mode: '(untagged)', nodes: 1, compliant_nodes: 1, non_compliant_nodes: 0, nodes_with_critical: 0 },
    ]);
  });

  test('agent coverage per account and Region (a custom compliance type)', async () => {
    expect(await run('fleet-agent-coverage', ['Custom:CrowdStrikeFalcon'])).toEqual([
      { accountid: '111122223333', region: 'eu-west-1', nodes: 3, covered: 2, reporting_non_compliant: 0, not_reporting: 1 },
      { accountid: '111122223333', region: 'us-east-1', nodes: 1, covered: 0, reporting_non_compliant: 0, not_reporting: 1 },
      { accountid: '444455556666', region: 'eu-west-1', nodes: 1, covered: 0, reporting_non_compliant: 0, not_reporting: 1 },
      { accountid: '444455556666', region: 'us-east-1', nodes: 1, covered: 0, reporting_non_compliant: 0, not_reporting: 1 },
    ]);
    // Patch compliance is reported by every node: it counts the non-compliant ones too.
    expect((await run('fleet-agent-coverage', ['Patch']))[0]).toEqual({
      accountid: '111122223333', region: 'eu-west-1', nodes: 3, covered: 1, reporting_non_compliant: 2, not_reporting: 0,
    });
  });

  test('non-compliant items of one severity, most widespread first', async () => {
    expect((await run('fleet-non-compliant-items-by-severity', ['CRITICAL'])).map((r) => [r.compliancetype, r.id, r.nodes])).toEqual([
      ['Patch', 'CESA-2026:0001', 1], ['Patch', 'CESA-2026:0002', 1], ['Patch', 'RHSA-2026:1001', 1],
    ]);
    expect((await run('fleet-non-compliant-items-by-severity', ['HIGH'])).map((r) => [r.compliancetype, r.id, r.nodes])).toEqual([
      ['Association', 'b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e', 1], ['Patch', 'KB5031364', 1], ['Patch', 'RHSA-2026:1002', 1],
    ]);
  });

  test('compliance by account, Region and type, across the sync\'s source accounts', async () => {
    expect((await run('fleet-compliance-by-account-region')).map((r) => [r.accountid, r.region, r.compliancetype, r.nodes, r.non_compliant_nodes, r.last_execution])).toEqual([
      ['111122223333', 'eu-west-1', 'Association', 3, 1, '2026-11-29T03:12:00Z'],
      ['111122223333', 'eu-west-1', 'Custom:CrowdStrikeFalcon', 2, 0, '2026-11-28T22:00:00Z'],
      ['111122223333', 'eu-west-1', 'Patch', 3, 2, '2026-11-29T03:12:00Z'],
      ['111122223333', 'us-east-1', 'Patch', 1, 1, '2026-11-29T03:12:00Z'],
      ['444455556666', 'eu-west-1', 'Association', 1, 0, '2026-11-29T03:12:00Z'],
      ['444455556666', 'eu-west-1', 'Patch', 1, 1, '2026-11-29T03:12:00Z'],
      ['444455556666', 'us-east-1', 'Association', 1, 0, '2026-11-29T03:12:00Z'],
      ['444455556666', 'us-east-1', 'Patch', 1, 0, '2026-11-29T03:12:00Z'],
    ]);
  });
});
