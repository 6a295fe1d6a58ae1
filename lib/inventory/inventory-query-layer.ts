import { ArnFormat, Duration, Fn, Size, Stack, Token } from 'aws-cdk-lib';
import * as athena from 'aws-cdk-lib/aws-athena';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { InventoryType } from './inventory-type';
import {
  acknowledgeInventoryQueryGrant,
  acknowledgeInventoryQueryResultsBucketFindings,
  acknowledgeInventoryQueryWorkGroupFindings,
} from '../private/acknowledgements';
import { INVENTORY_QUERIES } from './private/inventory-queries';
import { INVENTORY_TYPE_NAMES, inventorySchema, InventoryTypeSchema, MANAGED_INSTANCE_INVENTORY, PARTITION_COLUMNS } from './private/inventory-schema';
import { ACCOUNT_ID_PATTERN, checkInventoryPrefix } from './private/inventory-checks';
import { checkWholeDays, fail } from '../private/validate';
import { retainedBucketProps } from '../private/retained-bucket';

/** Athena's smallest per-query data usage limit (10 MB). */
const MIN_BYTES_SCANNED_CUTOFF = 10_485_760;
/** Where Athena writes query results in the results bucket. */
const RESULTS_PREFIX = 'results/';

const REGION_PATTERN = /^[a-z]{2}(-[a-z]+)+-\d$/;
const DATABASE_NAME_PATTERN = /^[a-z0-9][a-z0-9_]{0,254}$/;
const WORKGROUP_NAME_PATTERN = /^[a-zA-Z0-9._-]{1,128}$/;

/**
 * Properties for an `InventoryQueryLayer`.
 */
export interface InventoryQueryLayerProps {
  /**
   * The central inventory bucket that the resource data syncs write to.
   */
  readonly bucket: s3.IBucket;

  /**
   * The key prefix of the resource data syncs in `bucket` (their `BucketPrefix`).
   *
   * 1 to 256 characters, without a leading or trailing `/`, without `//`, and without `*` or `?` (they would widen
   * the object resources that `grantQuery` grants).
   *
   * @default - the syncs write at the top of the bucket (`<TypeName>/accountid=…/…`)
   */
  readonly bucketPrefix?: string;

  /**
   * The KMS key that encrypts the inventory bucket, if the syncs write with SSE-KMS. `grantQuery` then also grants
   * `kms:Decrypt` on it.
   *
   * @default - the bucket's own `encryptionKey` if it has one, otherwise none (SSE-S3)
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * The accounts whose resource data syncs write to the bucket: the values of the `accountid` partition.
   *
   * The tables use Athena partition projection of type `enum`: Athena computes the partitions from these values and
   * the bucket layout, so every listed account is queryable at once, without a Glue crawler and without
   * `MSCK REPAIR TABLE`. Adding an account is a change of this prop and a `cdk deploy`, which updates the table
   * parameters (nothing is crawled). An account that is not listed is not visible to queries, even if it syncs to
   * the bucket.
   *
   * `enum` is chosen because account ids are arbitrary 12-digit numbers: an `integer` range would make Athena
   * consider up to 10^12 partitions, and `injected` would make every query filter on one account.
   *
   * At least one; each 12 digits; no duplicates.
   */
  readonly accountIds: string[];

  /**
   * The Regions whose resource data syncs write to the bucket (one sync per Region and account): the values of the
   * `region` partition.
   *
   * Like `accountIds`, these are enum-projected: a new Region becomes queryable with a change of this prop and a
   * `cdk deploy`, without a crawler or `MSCK REPAIR TABLE`.
   *
   * At least one; each a Region code such as `eu-west-1` or `us-gov-west-1`; no duplicates.
   */
  readonly regions: string[];

  /**
   * The Glue (and Athena) database that holds the tables.
   *
   * 1 to 255 characters of lower-case letters, digits and `_`, starting with a letter or a digit. Database names are
   * unique per account and Region.
   *
   * @default 'ssm_inventory'
   */
  readonly databaseName?: string;

  /**
   * The inventory types to define tables for (one table per type).
   *
   * A named query is created only when every table it reads is defined.
   *
   * @default - every `InventoryType`
   */
  readonly inventoryTypes?: InventoryType[];

  /**
   * The Athena workgroup to create for the queries.
   *
   * 1 to 128 letters, digits, `.`, `_` or `-`. Workgroup names are unique per account and Region.
   *
   * @default - `databaseName` with `_` replaced by `-` (`ssm-inventory` by default)
   */
  readonly workGroupName?: string;

  /**
   * The most data one query of the workgroup may scan; Athena cancels a query that reaches it.
   *
   * Athena accepts 10 MB (10,485,760 bytes) or more. Sync files are uncompressed JSON and a query reads every file of
   * the types it joins, so the data a query scans grows with the fleet: about 2 GB of application inventory for
   * 10,000 nodes. 10 GiB lets fleet-wide queries run for large fleets while capping a runaway query at about
   * 5 US cents (at $5 per TB scanned).
   *
   * @default Size.gibibytes(10)
   */
  readonly bytesScannedCutoffPerQuery?: Size;

  /**
   * Delete query results after this long (noncurrent versions one day later).
   *
   * A whole number of days, from 1 to 3650.
   *
   * @default Duration.days(30)
   */
  readonly resultsExpiration?: Duration;

  /**
   * Customer-managed KMS key that encrypts the query results (Athena `SSE_KMS`, and the results bucket's default
   * encryption). `grantQuery` then also grants `kms:GenerateDataKey` and `kms:Decrypt` on it.
   *
   * @default - S3-managed encryption (Athena `SSE_S3`)
   */
  readonly resultsEncryptionKey?: kms.IKey;

  /**
   * Bucket that receives the S3 server access logs of the results bucket.
   *
   * @default - no server access logs for the results bucket
   */
  readonly serverAccessLogsBucket?: s3.IBucket;
}

/**
 * A crawler-free Athena query layer over the bucket that resource data syncs write fleet inventory to.
 *
 * It defines a Glue database with one external table per inventory type, whose partitions (account, Region, resource
 * type) are computed by Athena partition projection from `accountIds` and `regions`; an Athena workgroup (engine
 * version 3, enforced settings, encrypted results, a per-query scan limit) with its own results bucket; and the
 * library's named queries (application versions, nodes missing an application or a tag, non-compliant nodes, patch
 * summary per patch group, agent versions, platforms).
 *
 * Nothing is crawled and no partition is loaded: a new node appears in queries as soon as its sync file lands, and a
 * new account or Region is a prop change. Grant people or roles the right to run the queries with `grantQuery`.
 *
 * The workgroup enforces its settings, so a client cannot send results elsewhere, unencrypted, or past the scan
 * limit. On stack deletion the results bucket is retained, and the workgroup is not force-deleted
 * (`RecursiveDeleteOption: false`): queries users saved in it themselves must be removed before CloudFormation can
 * delete it.
 */
export class InventoryQueryLayer extends Construct {
  /**
   * The name of the Glue database.
   *
   * The L1 resources are children of this construct (escape hatch): `node.findChild('Database')` is the
   * `glue.CfnDatabase`, `node.findChild('WorkGroup')` the `athena.CfnWorkGroup`.
   */
  public readonly databaseName: string;

  /** The name of the Athena workgroup. */
  public readonly workGroupName: string;

  /** The bucket that holds the query results (under `results/`). */
  public readonly resultsBucket: s3.IBucket;

  /** The inventory types that have a table. */
  public readonly inventoryTypes: InventoryType[];

  /**
   * The ids of the Athena named queries, by query id (for example `ApplicationVersions`, `NodesMissingApplication`,
   * `NonCompliantNodes`, `PatchSummaryByGroup`). Queries whose tables are not defined are left out.
   */
  public readonly namedQueryIds: { [queryId: string]: string };

  private readonly bucket: s3.IBucket;
  private readonly bucketPrefix?: string;
  private readonly encryptionKey?: kms.IKey;
  private readonly resultsEncryptionKey?: kms.IKey;
  private readonly schemas: InventoryTypeSchema[];
  private readonly database: glue.CfnDatabase;
  private readonly workGroup: athena.CfnWorkGroup;

  constructor(scope: Construct, id: string, props: InventoryQueryLayerProps) {
    super(scope, id);
    const databaseName = props.databaseName ?? 'ssm_inventory';
    const workGroupName = props.workGroupName ?? (Token.isUnresolved(databaseName) ? databaseName : databaseName.replace(/_/g, '-'));
    const inventoryTypes = props.inventoryTypes ?? Object.values(InventoryType);
    const bytesScannedCutoff = props.bytesScannedCutoffPerQuery ?? Size.gibibytes(10);
    const resultsExpiration = props.resultsExpiration ?? Duration.days(30);
    this.validate(props, { databaseName, workGroupName, inventoryTypes, bytesScannedCutoff, resultsExpiration });

    this.bucket = props.bucket;
    this.bucketPrefix = props.bucketPrefix;
    this.encryptionKey = props.encryptionKey ?? props.bucket.encryptionKey;
    this.resultsEncryptionKey = props.resultsEncryptionKey;
    this.databaseName = databaseName;
    this.workGroupName = workGroupName;
    this.inventoryTypes = [...inventoryTypes];
    this.schemas = inventoryTypes.map((type) => inventorySchema(type));

    this.database = this.createDatabase();
    this.createTables(props.accountIds, props.regions);
    this.resultsBucket = this.createResultsBucket(resultsExpiration, props.serverAccessLogsBucket);
    this.workGroup = this.createWorkGroup(bytesScannedCutoff);
    this.namedQueryIds = this.createNamedQueries();
  }

  /** The Glue table name of an inventory type of this layer, e.g. `aws_application` for `InventoryType.APPLICATION`. */
  public tableName(inventoryType: InventoryType): string {
    const schema = this.schemas.find((s) => s.typeName === inventoryType);
    if (!schema) {
      fail(this, `\`inventoryType\` must be one of this layer's inventoryTypes (${this.inventoryTypes.join(', ')}), got: '${inventoryType}'`);
    }
    return schema.tableName;
  }

  /**
   * Let a principal run queries in the workgroup, the named queries included: start, follow, stop and read queries
   * and named queries of the workgroup; read the database and its tables in the Glue Data Catalog; read the inventory
   * type folders of the inventory bucket; read and write query results; and use the KMS keys involved.
   *
   * The statements are added to the principal's policy. Object keys hold node and query execution ids, so the
   * object resources end in `/*` (one per inventory type folder, and the results prefix); when the grantee is a
   * construct, those wildcards are acknowledged for cdk-nag on it, with their reason.
   */
  public grantQuery(grantee: iam.IGrantable): iam.Grant {
    const grants = this.queryPolicyStatements().map((statement) =>
      iam.Grant.addToPrincipal({
        grantee,
        actions: statement.actions,
        resourceArns: statement.resources,
        conditions: Object.keys(statement.conditions).length > 0 ? statement.conditions : undefined,
      }),
    );
    if (Construct.isConstruct(grantee)) this.acknowledgeQueryWildcards(grantee);
    return grants.reduce((all, grant) => all.combine(grant));
  }

  /**
   * A customer-managed policy with the statements of `grantQuery`, created once: attach it to the roles, groups or
   * users who run the queries (`policy.attachToRole(role)`), instead of adding an inline policy to each.
   */
  public queryManagedPolicy(): iam.ManagedPolicy {
    const existing = this.node.tryFindChild('QueryPolicy');
    if (existing instanceof iam.ManagedPolicy) return existing;
    const policy = new iam.ManagedPolicy(this, 'QueryPolicy', {
      description: `Runs the fleet inventory queries of ${this.node.path} in Athena`,
      statements: this.queryPolicyStatements(),
    });
    this.acknowledgeQueryWildcards(policy);
    return policy;
  }

  /**
   * The statements that `grantQuery` adds, for policies you manage yourself (a permission set, another account's
   * role).
   */
  public queryPolicyStatements(): iam.PolicyStatement[] {
    const stack = Stack.of(this);
    const workGroupArn = stack.formatArn({ service: 'athena', resource: 'workgroup', resourceName: this.workGroupName });
    const catalogArn = stack.formatArn({ service: 'glue', resource: 'catalog', arnFormat: ArnFormat.NO_RESOURCE_NAME });
    const databaseArn = stack.formatArn({ service: 'glue', resource: 'database', resourceName: this.databaseName });
    const tableArns = this.schemas.map((s) =>
      stack.formatArn({ service: 'glue', resource: 'table', resourceName: `${this.databaseName}/${s.tableName}` }),
    );
    const statement = (actions: string[], resources: string[]) => new iam.PolicyStatement({ actions, resources });
    const statements = [
      // Every action is scoped to this workgroup: Athena authorizes query executions and named queries by workgroup.
      statement(
        [
          'athena:StartQueryExecution',
          'athena:GetQueryExecution',
          'athena:GetQueryResults',
          'athena:StopQueryExecution',
          'athena:GetWorkGroup',
          'athena:ListNamedQueries',
          'athena:GetNamedQuery',
          'athena:BatchGetNamedQuery',
        ],
        [workGroupArn],
      ),
      // Glue authorizes a table read on the catalog, the database and the table; only this layer's tables are named.
      statement(['glue:GetDatabase', 'glue:GetTable', 'glue:GetTables', 'glue:GetPartition', 'glue:GetPartitions'], [catalogArn, databaseArn, ...tableArns]),
      statement(['s3:GetBucketLocation'], [this.bucket.bucketArn]),
      // Listing only inside this layer's type folders, as reading is.
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [this.bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': this.schemas.flatMap((s) => [`${this.keyPrefix()}${s.typeName}`, `${this.keyPrefix()}${s.typeName}/*`]) } },
      }),
      statement(['s3:GetObject'], this.typeFolderArns()),
      statement(['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'], [this.resultsBucket.bucketArn]),
      statement(['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'], [this.resultObjectsArn()]),
    ];
    if (this.encryptionKey) statements.push(statement(['kms:Decrypt'], [this.encryptionKey.keyArn]));
    if (this.resultsEncryptionKey) statements.push(statement(['kms:Decrypt', 'kms:GenerateDataKey'], [this.resultsEncryptionKey.keyArn]));
    return statements;
  }

  private typeFolderArns(): string[] {
    return this.schemas.map((s) => this.bucket.arnForObjects(`${this.keyPrefix()}${s.typeName}/*`));
  }

  private resultObjectsArn(): string {
    return this.resultsBucket.arnForObjects(`${RESULTS_PREFIX}*`);
  }

  /** Acknowledges, on the policy or grantee that holds them, the object wildcards of the query statements. */
  private acknowledgeQueryWildcards(holder: Construct): void {
    const holderStack = Stack.of(holder);
    acknowledgeInventoryQueryGrant(holder, {
      inventoryObjects: this.typeFolderArns().map((arn) => holderStack.resolve(arn)),
      resultObjects: [holderStack.resolve(this.resultObjectsArn())],
    });
  }

  /** `<prefix>/` or '' when the syncs write at the top of the bucket. */
  private keyPrefix(): string {
    return this.bucketPrefix === undefined ? '' : `${this.bucketPrefix}/`;
  }

  private createDatabase(): glue.CfnDatabase {
    return new glue.CfnDatabase(this, 'Database', {
      catalogId: Stack.of(this).account,
      databaseInput: {
        name: this.databaseName,
        description: 'Fleet inventory written by Systems Manager resource data syncs (one table per inventory type)',
      },
    });
  }

  private createTables(accountIds: string[], regions: string[]): void {
    const bucketRoot = `s3://${this.bucket.bucketName}/${this.keyPrefix()}`;
    const partitions: readonly string[] = PARTITION_COLUMNS;
    for (const schema of this.schemas) {
      const typeRoot = `${bucketRoot}${schema.typeName}/`;
      const table = new glue.CfnTable(this, `${schema.typeName.replace(/[^A-Za-z0-9]/g, '')}Table`, {
        catalogId: Stack.of(this).account,
        databaseName: this.databaseName,
        tableInput: {
          name: schema.tableName,
          description: `Systems Manager inventory type ${schema.typeName}, one row per item of each node`,
          tableType: 'EXTERNAL_TABLE',
          parameters: {
            'classification': 'json',
            'EXTERNAL': 'TRUE',
            'projection.enabled': 'true',
            'projection.accountid.type': 'enum',
            'projection.accountid.values': joinValues(accountIds),
            'projection.region.type': 'enum',
            'projection.region.values': joinValues(regions),
            'projection.resourcetype.type': 'enum',
            'projection.resourcetype.values': MANAGED_INSTANCE_INVENTORY,
            // Athena's own placeholders, not CDK tokens: they stay literal in the template.
            'storage.location.template': `${typeRoot}${partitions.map((column) => `${column}=\${${column}}`).join('/')}`,
          },
          storageDescriptor: {
            location: typeRoot,
            inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
            outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
            serdeInfo: {
              serializationLibrary: 'org.openx.data.jsonserde.JsonSerDe',
              parameters: { 'serialization.format': '1', 'case.insensitive': 'TRUE' },
            },
            columns: schema.attributes.map((key) => ({ name: key.toLowerCase(), type: 'string' })),
          },
          partitionKeys: partitions.map((column) => ({ name: column, type: 'string' })),
        },
      });
      table.node.addDependency(this.database);
    }
  }

  private createResultsBucket(expiration: Duration, accessLogs: s3.IBucket | undefined): s3.IBucket {
    const key = this.resultsEncryptionKey;
    const bucket = new s3.Bucket(this, 'ResultsBucket', {
      ...retainedBucketProps(key),
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: accessLogs ? 'inventory-query-results/' : undefined,
      lifecycleRules: [
        {
          id: 'ExpireQueryResults',
          expiration,
          noncurrentVersionExpiration: Duration.days(1),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
        // Expiring results leaves delete markers behind once the noncurrent versions are gone; remove them too.
        { id: 'RemoveExpiredDeleteMarkers', expiredObjectDeleteMarker: true },
      ],
    });
    acknowledgeInventoryQueryResultsBucketFindings(bucket, { accessLogs: accessLogs !== undefined, kms: key !== undefined });
    return bucket;
  }

  private createWorkGroup(bytesScannedCutoff: Size): athena.CfnWorkGroup {
    const key = this.resultsEncryptionKey;
    const workGroup = new athena.CfnWorkGroup(this, 'WorkGroup', {
      name: this.workGroupName,
      description: `Queries of the fleet inventory in the Glue database ${this.databaseName}`,
      state: 'ENABLED',
      // Deleting the workgroup must not silently delete the saved queries and the query history it holds.
      recursiveDeleteOption: false,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: bytesScannedCutoff.toBytes(),
        requesterPaysEnabled: false,
        engineVersion: { selectedEngineVersion: 'Athena engine version 3' },
        resultConfiguration: {
          outputLocation: `s3://${this.resultsBucket.bucketName}/${RESULTS_PREFIX}`,
          expectedBucketOwner: Stack.of(this).account,
          encryptionConfiguration: key ? { encryptionOption: 'SSE_KMS', kmsKey: key.keyArn } : { encryptionOption: 'SSE_S3' },
        },
      },
    });
    acknowledgeInventoryQueryWorkGroupFindings(workGroup, { kms: key !== undefined });
    return workGroup;
  }

  private createNamedQueries(): { [queryId: string]: string } {
    const tables = new Set(this.schemas.map((s) => s.tableName));
    const ids: { [queryId: string]: string } = {};
    for (const query of INVENTORY_QUERIES) {
      if (!query.tables.every((table) => tables.has(table))) continue;
      const namedQuery = new athena.CfnNamedQuery(this, `${query.id}Query`, {
        name: query.name,
        description: query.description,
        database: this.databaseName,
        workGroup: this.workGroupName,
        queryString: query.sql,
      });
      namedQuery.node.addDependency(this.workGroup);
      namedQuery.node.addDependency(this.database);
      ids[query.id] = namedQuery.attrNamedQueryId;
    }
    return ids;
  }

  private validate(
    props: InventoryQueryLayerProps,
    resolved: {
      readonly databaseName: string;
      readonly workGroupName: string;
      readonly inventoryTypes: InventoryType[];
      readonly bytesScannedCutoff: Size;
      readonly resultsExpiration: Duration;
    },
  ): void {
    checkInventoryPrefix(this, 'bucketPrefix', props.bucketPrefix);
    checkValueList(this, 'accountIds', props.accountIds, ACCOUNT_ID_PATTERN, 'a 12-digit account id');
    checkValueList(this, 'regions', props.regions, REGION_PATTERN, 'a Region code such as eu-west-1 or us-gov-west-1');

    const { databaseName, workGroupName, inventoryTypes, bytesScannedCutoff, resultsExpiration } = resolved;
    if (!Token.isUnresolved(databaseName) && !DATABASE_NAME_PATTERN.test(databaseName)) {
      fail(
        this,
        `\`databaseName\` must be 1 to 255 lower-case letters, digits or '_', starting with a letter or a digit, got: '${databaseName}'`,
      );
    }
    if (!Token.isUnresolved(workGroupName) && !WORKGROUP_NAME_PATTERN.test(workGroupName)) {
      const derived = props.workGroupName === undefined ? ' (by default `databaseName` with - for _; set it explicitly)' : '';
      fail(this, `\`workGroupName\`${derived} must be 1 to 128 letters, digits, '.', '_' or '-', got: '${workGroupName}'`);
    }

    if (inventoryTypes.length === 0) {
      fail(this, '`inventoryTypes` must list at least one inventory type, got: []');
    }
    for (const type of inventoryTypes) {
      if (!INVENTORY_TYPE_NAMES.includes(type)) {
        fail(this, `\`inventoryTypes\` may hold only InventoryType values (${INVENTORY_TYPE_NAMES.join(', ')}), got: '${type}'`);
      }
    }
    const duplicateType = firstDuplicate(inventoryTypes);
    if (duplicateType !== undefined) {
      fail(this, `\`inventoryTypes\` must not list a type twice, got: '${duplicateType}' more than once`);
    }

    if (!bytesScannedCutoff.isUnresolved()) {
      const bytes = bytesScannedCutoff.toBytes();
      if (bytes < MIN_BYTES_SCANNED_CUTOFF) {
        fail(this, `\`bytesScannedCutoffPerQuery\` must be at least 10 MB (${MIN_BYTES_SCANNED_CUTOFF} bytes), got: ${bytes} bytes`);
      }
    }
    checkWholeDays(this, 'resultsExpiration', resultsExpiration, 1, 3650);
  }
}

/** Comma-joins projection values; a list token (from `Fn.split`, a parameter) is joined at deploy time. */
function joinValues(values: string[]): string {
  return Token.isUnresolved(values) ? Fn.join(',', values) : values.join(',');
}

/** Checks a non-empty list of distinct values against a pattern; unresolved lists and elements are not inspected. */
function checkValueList(scope: Construct, prop: string, values: string[], pattern: RegExp, what: string): void {
  if (Token.isUnresolved(values)) return;
  if (values.length === 0) {
    fail(scope, `\`${prop}\` must list at least one value, got: []`);
  }
  for (const value of values) {
    if (!Token.isUnresolved(value) && !pattern.test(value)) {
      fail(scope, `\`${prop}\` must hold only values of the form ${what}, got: '${value}'`);
    }
  }
  const duplicate = firstDuplicate(values.filter((value) => !Token.isUnresolved(value)));
  if (duplicate !== undefined) {
    fail(scope, `\`${prop}\` must not list a value twice, got: '${duplicate}' more than once`);
  }
}

function firstDuplicate(values: readonly string[]): string | undefined {
  return values.find((value, index) => values.indexOf(value) !== index);
}
