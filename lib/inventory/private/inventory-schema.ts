/*
 * The inventory types a resource data sync writes, with the attributes of each
 * (https://docs.aws.amazon.com/systems-manager/latest/userguide/inventory-schema.html; the sync's S3 layout:
 * https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_CreateResourceDataSync.html). This one table drives the Glue table definitions, the named queries' tests and the sample data.
 *
 * Every record of a sync file also carries `resourceId` (the node id), `captureTime` and `schemaVersion`. All columns
 * are declared `string`: the sync writes inventory values as strings (the documented Athena DDL does the same for the
 * NUMBER attributes), and queries CAST where they need numbers.
 *
 * The partition columns are `accountid`, `region` and `resourcetype`, from the key layout. A data attribute whose
 * lower-case name equals a partition column is left out of the data columns: `AWS:InstanceInformation` records carry
 * `ResourceType` (EC2Instance / ManagedInstance), which collides with the `resourcetype` partition. That collision is
 * what the AWS sample's crawler-fixing Lambda removes; here it never arises. The node kind is still known from the id
 * (`mi-` is a hybrid node).
 */

/** The attributes every sync record carries besides the type's own. */
export const RECORD_ATTRIBUTES = ['resourceId', 'captureTime', 'schemaVersion'] as const;

/** The partition columns, in key order. */
export const PARTITION_COLUMNS = ['accountid', 'region', 'resourcetype'] as const;

/** The `resourcetype=` value the sync writes for managed-node inventory. */
export const MANAGED_INSTANCE_INVENTORY = 'ManagedInstanceInventory';

/** One inventory type: its S3 folder, its Glue table and the JSON keys of its records. */
export interface InventoryTypeSchema {
  /** The type name, which is also the S3 folder, e.g. `AWS:Application`. */
  readonly typeName: string;
  /** The Glue/Athena table name, e.g. `aws_application`. */
  readonly tableName: string;
  /** The JSON keys of a record, as the sync writes them (the column is the key in lower case). */
  readonly attributes: readonly string[];
}

const TYPE_ATTRIBUTES: Record<string, readonly string[]> = {
  'AWS:Application': ['Name', 'ApplicationType', 'Publisher', 'Version', 'InstalledTime', 'Architecture', 'URL', 'Summary', 'PackageId', 'Release', 'Epoch'],
  'AWS:AWSComponent': ['Name', 'ApplicationType', 'Publisher', 'Version', 'InstalledTime', 'Architecture', 'URL'],
  'AWS:InstanceInformation': [
    'AgentType', 'AgentVersion', 'ComputerName', 'IamRole', 'InstanceId', 'InstanceStatus', 'IpAddress',
    'PlatformName', 'PlatformType', 'PlatformVersion', 'ResourceType',
  ],
  'AWS:InstanceDetailedInformation': ['CPUModel', 'CPUCores', 'CPUs', 'CPUSpeedMHz', 'CPUSockets', 'CPUHyperThreadEnabled', 'OSServicePack'],
  'AWS:Network': ['Name', 'SubnetMask', 'Gateway', 'DHCPServer', 'DNSServer', 'MacAddress', 'IPV4', 'IPV6'],
  'AWS:Tag': ['Key', 'Value'],
  'AWS:Service': ['Name', 'DisplayName', 'ServiceType', 'Status', 'DependentServices', 'ServicesDependedOn', 'StartType'],
  'AWS:WindowsUpdate': ['HotFixId', 'Description', 'InstalledTime', 'InstalledBy'],
  'AWS:WindowsRole': [
    'Name', 'DisplayName', 'Path', 'FeatureType', 'DependsOn', 'Description', 'Installed', 'InstalledState',
    'SubFeatures', 'ServerComponentDescriptor', 'Parent',
  ],
  'AWS:WindowsRegistry': ['KeyPath', 'ValueName', 'ValueType', 'Value'],
  'AWS:File': [
    'Name', 'Size', 'Description', 'FileVersion', 'InstalledDate', 'ModificationTime', 'LastAccessTime', 'ProductName',
    'InstalledDir', 'ProductLanguage', 'CompanyName', 'ProductVersion',
  ],
  // InstalledPendingRebootCount, InstalledRejectedCount and RebootOption are in DescribeInstancePatchStates but not in
  // the published inventory schema [U]; a record without them reads as NULL.
  'AWS:PatchSummary': [
    'PatchGroup', 'BaselineId', 'SnapshotId', 'OwnerInformation', 'InstalledCount', 'InstalledOtherCount',
    'InstalledPendingRebootCount', 'InstalledRejectedCount', 'NotApplicableCount', 'MissingCount', 'FailedCount',
    'OperationType', 'OperationStartTime', 'OperationEndTime', 'RebootOption',
  ],
  'AWS:ComplianceItem': [
    'ComplianceType', 'ExecutionId', 'ExecutionType', 'ExecutionTime', 'Id', 'Title', 'Status', 'Severity',
    'DocumentName', 'DocumentVersion', 'Classification', 'PatchBaselineId', 'PatchSeverity', 'PatchState', 'PatchGroup',
    'InstalledTime',
  ],
  'AWS:ComplianceSummary': [
    'ComplianceType', 'PatchGroup', 'PatchBaselineId', 'Status', 'OverallSeverity', 'ExecutionId', 'ExecutionType',
    'ExecutionTime', 'CompliantCriticalCount', 'CompliantHighCount', 'CompliantMediumCount', 'CompliantLowCount',
    'CompliantInformationalCount', 'CompliantUnspecifiedCount', 'LastComplianceStateModifiedTime',
    'NonCompliantCriticalCount', 'NonCompliantHighCount', 'NonCompliantMediumCount', 'NonCompliantLowCount',
    'NonCompliantInformationalCount', 'NonCompliantUnspecifiedCount',
  ],
};

/** `AWS:Application` → `aws_application` (Glue table names are lower case, `[a-z0-9_]`). */
export function tableNameOf(typeName: string): string {
  return typeName.toLowerCase().replace(/[^a-z0-9_]/g, '_');
}

/** The schema of an inventory type; throws for a type this library does not know. */
export function inventorySchema(typeName: string): InventoryTypeSchema {
  const own = TYPE_ATTRIBUTES[typeName];
  if (!own) throw new Error(`Unknown inventory type: ${typeName}`);
  const partitions: readonly string[] = PARTITION_COLUMNS;
  return {
    typeName,
    tableName: tableNameOf(typeName),
    attributes: [...own, ...RECORD_ATTRIBUTES].filter((key) => !partitions.includes(key.toLowerCase())),
  };
}

/** Every inventory type this library defines a table for, in a stable order. */
export const INVENTORY_TYPE_NAMES: readonly string[] = Object.keys(TYPE_ATTRIBUTES);
