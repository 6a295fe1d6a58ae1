/**
 * Managed nodes of this API (docs/handler-contract.md, "Lifecycle"): the marker-tag filter that finds them with
 * `DescribeInstanceInformation`, and the hybrid-node (`mi-…`) checks. Only hybrid nodes are ever deregistered or
 * tagged. Pure: no SDK import.
 */
import type { MarkerTag } from './tags';

/** Page size for `DescribeInstanceInformation` (its maximum). */
export const DESCRIBE_PAGE_SIZE = 50;

/** A hybrid (managed instance) node id: `mi-` and 17 lower-case hex digits. */
export const MANAGED_INSTANCE_ID = /^mi-[0-9a-f]{17}$/;

/** Whether an instance id is a hybrid node's (starts with `mi-`; EC2 instances start with `i-`). */
export const isHybridNodeId = (instanceId: string | undefined): instanceId is string =>
  instanceId !== undefined && instanceId.startsWith('mi-');

/** A `DescribeInstanceInformation` filter (SDK shape). */
export interface NodeFilter {
  readonly Key: string;
  readonly Values: string[];
}

/** The fields of a `DescribeInstanceInformation` entry the handlers read (SDK shape). */
export interface NodeInfo {
  readonly InstanceId?: string;
  readonly Name?: string;
  readonly PingStatus?: string;
}

/** Whether SSM reports the node `Online` (`ConnectionLost` and `Inactive` are offline). */
export const isOnline = (node: NodeInfo): boolean => node.PingStatus === 'Online';

/**
 * Filters for the nodes of this API: `tag:<marker key>` = marker value, and `tag:Name` = `name` when given.
 * Tag filters only: SSM refuses to mix them with other filter types.
 */
export function markerFilters(markerTag: MarkerTag, name?: string): NodeFilter[] {
  const filters: NodeFilter[] = [{ Key: `tag:${markerTag.key}`, Values: [markerTag.value] }];
  if (name !== undefined) filters.push({ Key: 'tag:Name', Values: [name] });
  return filters;
}
