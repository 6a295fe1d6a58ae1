import * as path from 'path';
import { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';

/*
 * A local stand-in for Athena over a resource-data-sync tree on disk, built from the SYNTHESIZED Glue tables.
 *
 * For every AWS::Glue::Table in a template it creates a DuckDB view that behaves as Athena does with that table:
 * - files are found through the table's `storage.location.template` (partition projection), with each `${column}`
 *   matched as a hive path segment, under the local directory that stands for the bucket;
 * - only partitions whose values are listed in `projection.<column>.values` are visible (enum projection);
 * - columns are matched to JSON keys case-insensitively (the openx JsonSerDe's `case.insensitive`), read as text and
 *   cast to the Glue type; a column no record carries reads as NULL, as it does in Athena.
 * The named queries then run unchanged, with `?` parameters bound positionally as Athena's execution parameters are.
 */

/** The parts of a synthesized AWS::Glue::Table this stand-in reads. */
interface GlueTableInput {
  readonly Name: string;
  readonly Parameters: Record<string, string>;
  readonly PartitionKeys: { Name: string; Type: string }[];
  readonly StorageDescriptor: { Columns: { Name: string; Type: string }[]; Location: string; SerdeInfo: { SerializationLibrary: string } };
}

const GLUE_TO_DUCKDB: Record<string, string> = { string: 'VARCHAR', bigint: 'BIGINT', int: 'INTEGER', double: 'DOUBLE', boolean: 'BOOLEAN' };

/** Single-quoted SQL literal. */
const literal = (value: string): string => `'${value.replace(/'/g, "''")}'`;
/** Double-quoted SQL identifier. */
const ident = (value: string): string => `"${value.replace(/"/g, '""')}"`;

export class LocalAthena {
  /**
   * Creates a view per Glue table of `template` (a synthesized template object), reading files under `localRoot`
   * where the tables say `s3://<bucketName>/`.
   */
  public static async fromTemplate(template: { Resources: Record<string, any> }, bucketName: string, localRoot: string): Promise<LocalAthena> {
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    const local = new LocalAthena(connection);
    const tables = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Glue::Table');
    for (const table of tables) {
      await local.createView(table.Properties.TableInput as GlueTableInput, `s3://${bucketName}/`, localRoot);
    }
    return local;
  }

  /** Glue columns that no record of the sample data carries, by table (a misspelt column would show up here). */
  public readonly columnsWithoutData: Record<string, string[]> = {};

  private constructor(private readonly connection: DuckDBConnection) {}

  /** Runs SQL with positional parameters (bound as strings); counts and sums come back as numbers. */
  public async query(sql: string, parameters: string[] = []): Promise<Record<string, unknown>[]> {
    const reader = await this.connection.runAndReadAll(sql, parameters);
    return reader.getRowObjects().map((row) =>
      Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])),
    );
  }

  public close(): void {
    this.connection.closeSync();
  }

  private async createView(table: GlueTableInput, bucketUrl: string, localRoot: string): Promise<void> {
    if (table.StorageDescriptor.SerdeInfo.SerializationLibrary !== 'org.openx.data.jsonserde.JsonSerDe') {
      throw new Error(`${table.Name}: this stand-in reads only the openx JsonSerDe`);
    }
    if (table.Parameters['projection.enabled'] !== 'true') throw new Error(`${table.Name}: partition projection is off`);
    const template = table.Parameters['storage.location.template'];
    if (typeof template !== 'string' || !template.startsWith(bucketUrl)) {
      throw new Error(`${table.Name}: storage.location.template ${JSON.stringify(template)} is not under ${bucketUrl}`);
    }
    const partitions = table.PartitionKeys.map((k) => k.Name);
    let glob = path.join(localRoot, template.slice(bucketUrl.length));
    for (const column of partitions) glob = glob.replace('${' + column + '}', '*');
    if (glob.includes('${')) throw new Error(`${table.Name}: the location template has an unknown placeholder: ${template}`);
    glob = path.join(glob, '*.json');

    const hiveTypes = `{${partitions.map((p) => `${literal(p)}: 'VARCHAR'`).join(', ')}}`;
    const source = (columns?: string) =>
      `read_json(${literal(glob)}, format='newline_delimited', hive_partitioning=true, hive_types=${hiveTypes}, union_by_name=true${columns ? `, columns=${columns}` : ''})`;

    // First pass: the JSON keys the files carry (their case), so that they can be read as text.
    const described = await this.query(`DESCRIBE SELECT * FROM ${source()}`);
    const keys = described.map((row) => String(row.column_name)).filter((k) => !partitions.includes(k.toLowerCase()));
    const textColumns = `{${keys.map((k) => `${literal(k)}: 'VARCHAR'`).join(', ')}}`;

    const missing: string[] = [];
    const selects = table.StorageDescriptor.Columns.map((column) => {
      const type = GLUE_TO_DUCKDB[column.Type];
      if (!type) throw new Error(`${table.Name}.${column.Name}: no local type for Glue type ${column.Type}`);
      const key = keys.find((k) => k.toLowerCase() === column.Name.toLowerCase());
      if (!key) missing.push(column.Name);
      return key ? `TRY_CAST(${ident(key)} AS ${type}) AS ${ident(column.Name)}` : `CAST(NULL AS ${type}) AS ${ident(column.Name)}`;
    });
    this.columnsWithoutData[table.Name] = missing;
    const projected = partitions.map((p) => {
      if (table.Parameters[`projection.${p}.type`] !== 'enum') throw new Error(`${table.Name}: ${p} is not an enum projection`);
      const values = table.Parameters[`projection.${p}.values`].split(',');
      return `${ident(p)} IN (${values.map(literal).join(', ')})`;
    });
    await this.connection.run(
      `CREATE VIEW ${ident(table.Name)} AS SELECT ${[...selects, ...partitions.map(ident)].join(', ')} FROM ${source(textColumns)}` +
        ` WHERE ${projected.join(' AND ')}`,
    );
  }
}
