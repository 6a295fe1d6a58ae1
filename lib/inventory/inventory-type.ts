/**
 * An inventory type that a resource data sync writes to S3, one folder per type
 * (`<prefix>/<type>/accountid=…/region=…/resourcetype=ManagedInstanceInventory/<node>.json`).
 *
 * The query layer defines one Glue table per type (`AWS:Application` becomes `aws_application`).
 *
 * @see https://docs.aws.amazon.com/systems-manager/latest/userguide/inventory-schema.html
 */
export enum InventoryType {
  /** Installed applications and packages (`aws_application`). */
  APPLICATION = 'AWS:Application',
  /** AWS components such as the SSM Agent and the EC2 drivers (`aws_awscomponent`). */
  AWS_COMPONENT = 'AWS:AWSComponent',
  /** Node information: agent version, platform, IP address, computer name (`aws_instanceinformation`). */
  INSTANCE_INFORMATION = 'AWS:InstanceInformation',
  /** CPU model, cores and speed, OS service pack (`aws_instancedetailedinformation`). */
  INSTANCE_DETAILED_INFORMATION = 'AWS:InstanceDetailedInformation',
  /** Network interfaces: addresses, gateway, DNS, DHCP (`aws_network`). */
  NETWORK = 'AWS:Network',
  /** Tags of the node (`aws_tag`). */
  TAG = 'AWS:Tag',
  /** Windows services and Linux daemons (`aws_service`). */
  SERVICE = 'AWS:Service',
  /** Installed Windows updates (`aws_windowsupdate`). */
  WINDOWS_UPDATE = 'AWS:WindowsUpdate',
  /** Windows server roles and features (`aws_windowsrole`). */
  WINDOWS_ROLE = 'AWS:WindowsRole',
  /** Collected Windows registry values (`aws_windowsregistry`). */
  WINDOWS_REGISTRY = 'AWS:WindowsRegistry',
  /** Collected files (`aws_file`). */
  FILE = 'AWS:File',
  /** Patch counts of the last patch operation (`aws_patchsummary`). */
  PATCH_SUMMARY = 'AWS:PatchSummary',
  /** Per-item compliance: each patch and association state (`aws_complianceitem`). */
  COMPLIANCE_ITEM = 'AWS:ComplianceItem',
  /** Compliance counts per compliance type (`aws_compliancesummary`). */
  COMPLIANCE_SUMMARY = 'AWS:ComplianceSummary',
}
