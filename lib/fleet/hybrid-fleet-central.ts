import { Annotations, ArnFormat, CfnOutput, Stack, Token } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { FleetAlertBus } from './fleet-alert-bus';
import { FleetObservabilitySink } from './fleet-observability-sink';
import { HybridFleetCentralReference } from './hybrid-fleet-central-reference';
import { checkList, checkOrganizationId, REGION_PATTERN } from './private/fleet-checks';
import { ComplianceDashboard } from '../compliance/compliance-dashboard';
import { InventoryBucket } from '../inventory/inventory-bucket';
import { InventoryQueryLayer } from '../inventory/inventory-query-layer';
import { ACCOUNT_ID_PATTERN, fail } from '../private/validate';

/**
 * Properties for a `HybridFleetCentral`.
 */
export interface HybridFleetCentralProps {
  /**
   * AWS Organizations id of the fleet (`^o-[a-z0-9]{10,32}$`): every account of the organization may link its metrics
   * to the sink and put alert events on the bus (`aws:PrincipalOrgID`). Inventory syncs are admitted per account
   * (`memberAccounts`), and for every account of the organization only with `organizationSyncs`.
   *
   * @default - only `memberAccounts`
   */
  readonly organizationId?: string;

  /**
   * The member accounts (12-digit ids, no duplicates): their resource data syncs may write to the inventory bucket,
   * the query layer and the dashboard read them, and (without `organizationId`) they may link to the sink and put
   * alerts on the bus. This account is always a member of its own bucket, query layer and dashboard.
   *
   * @default - this account only
   */
  readonly memberAccounts?: string[];

  /**
   * Admit the inventory syncs of every account of `organizationId`, each into its own partition (`InventoryBucket`'s
   * `organizationSyncs`): what a StackSet with automatic deployment needs, so that an account joining the OU later
   * delivers without a change here. Whether Systems Manager sends `aws:SourceOrgID` on sync deliveries is not
   * verified; the statement fails closed (admits nothing) if it does not, so keep known accounts in `memberAccounts`.
   *
   * @default false - syncs are admitted per account (`memberAccounts`)
   */
  readonly organizationSyncs?: boolean;

  /**
   * The Regions the members run in (Region codes, no duplicates): the query layer's `region` partitions and the
   * dashboard's sources. This stack's Region is always included. The alarms watch the sources in this stack's Region;
   * the other Regions are graphed (each needs a `FleetObservabilitySink` of the central account in that Region).
   *
   * @default - this stack's Region only
   */
  readonly memberRegions?: string[];

  /**
   * Physical name of the inventory bucket, which every member's sync names.
   *
   * @default 'hybrid-fleet-inventory-<account>-<region>' (this stack's account and Region)
   */
  readonly inventoryBucketName?: string;

  /**
   * Key prefix the members' syncs write under (see `InventoryBucket`'s `bucketPrefix`).
   *
   * @default 'inventory'
   */
  readonly inventoryBucketPrefix?: string;

  /**
   * Customer-managed KMS key of the inventory bucket (SSE-KMS; the members' syncs must name it).
   *
   * @default - SSE-S3
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * Add the Athena query layer over the inventory (member accounts × Regions).
   *
   * @default true
   */
  readonly queryLayer?: boolean;

  /**
   * Name of the central alert bus.
   *
   * @default 'hybrid-fleet-alerts'
   */
  readonly alertBusName?: string;

  /**
   * Topic the central alert messages and the dashboard's alarms go to.
   *
   * @default - a new `ComplianceTopic`
   */
  readonly notificationTopic?: sns.ITopic;

  /**
   * Add a CloudWatch cross-account observability sink in this Region that the other member accounts link their metrics
   * to (only when there is another account: `organizationId` or `memberAccounts` beyond this one).
   *
   * @default true
   */
  readonly observability?: boolean;

  /**
   * Add the risk dashboard over every member account and Region (reading their `ComplianceMetrics`).
   *
   * @default true
   */
  readonly dashboard?: boolean;
}

/**
 * The fleet's central account (one Region): the inventory bucket every member syncs to and its Athena query layer,
 * the alert bus members forward their alerts to with a topic of readable messages, the CloudWatch cross-account
 * observability sink members link their metrics to, and the risk dashboard over every member account and Region.
 *
 * Members (`HybridFleetMember`, in other accounts, Regions or StackSets) need the values of `reference()`; the stack
 * outputs carry them too, the sink ARN among them (it is known only after deployment).
 */
export class HybridFleetCentral extends Construct {
  /** The inventory bucket. */
  public readonly inventoryBucket: InventoryBucket;
  /** The Athena query layer, when on. */
  public readonly queryLayer?: InventoryQueryLayer;
  /** The alert bus and its topic. */
  public readonly alertBus: FleetAlertBus;
  /** The topic of alert messages and alarms. */
  public readonly topic: sns.ITopic;
  /** The observability sink of this Region, when on and there is another account. */
  public readonly observabilitySink?: FleetObservabilitySink;
  /** The risk dashboard, when on. */
  public readonly dashboard?: ComplianceDashboard;
  /** Every member account, this one first. */
  public readonly memberAccounts: string[];
  /** Every member Region, this one first. */
  public readonly memberRegions: string[];

  private readonly bucketName: string;
  private readonly busName: string;
  private readonly bucketPrefix?: string;
  private readonly encryptionKey?: kms.IKey;

  constructor(scope: Construct, id: string, props: HybridFleetCentralProps = {}) {
    super(scope, id);
    const stack = Stack.of(this);
    checkOrganizationId(this, 'organizationId', props.organizationId);
    if (props.organizationSyncs && props.organizationId === undefined) {
      fail(this, '`organizationSyncs` needs `organizationId` (the organization whose accounts may deliver), got: organizationSyncs true without it');
    }
    checkList(this, 'memberAccounts', props.memberAccounts, ACCOUNT_ID_PATTERN, '12-digit account id', '12-digit account ids', true);
    checkList(this, 'memberRegions', props.memberRegions, REGION_PATTERN, 'Region code', 'Region codes such as eu-west-1 or us-gov-west-1', true);
    this.memberAccounts = unique([stack.account, ...(props.memberAccounts ?? [])]);
    this.memberRegions = unique([stack.region, ...(props.memberRegions ?? [])]);
    const otherAccounts = this.memberAccounts.filter((a) => a !== stack.account);
    const crossAccount = props.organizationId !== undefined || otherAccounts.length > 0;
    this.bucketPrefix = props.inventoryBucketPrefix ?? 'inventory';
    this.encryptionKey = props.encryptionKey;

    if (crossAccount && props.inventoryBucketName === undefined && (Token.isUnresolved(stack.account) || Token.isUnresolved(stack.region))) {
      Annotations.of(this).addWarningV2('cdk-ssm-hybrid-fleet:centralBucketNameToken',
        "The inventory bucket's name holds this stack's account and Region, which are resolved only at deployment: members in other accounts cannot name it. Set `inventoryBucketName`, or give the stack env.account and env.region");
    }
    this.bucketName = props.inventoryBucketName ?? `hybrid-fleet-inventory-${stack.account}-${stack.region}`;
    this.busName = props.alertBusName ?? 'hybrid-fleet-alerts';
    this.inventoryBucket = new InventoryBucket(this, 'Inventory', {
      bucketName: this.bucketName,
      bucketPrefix: this.bucketPrefix,
      encryptionKey: props.encryptionKey,
      // Per account, and with organizationSyncs for every account of the organization (each into its own partition).
      sourceAccounts: this.memberAccounts,
      ...(props.organizationSyncs ? { organizationId: props.organizationId, organizationSyncs: true } : {}),
    });
    if (props.queryLayer ?? true) {
      this.queryLayer = new InventoryQueryLayer(this, 'Query', {
        bucket: this.inventoryBucket.bucket,
        bucketPrefix: this.bucketPrefix,
        encryptionKey: props.encryptionKey,
        accountIds: this.memberAccounts,
        regions: this.memberRegions,
      });
    }
    this.alertBus = new FleetAlertBus(this, 'Alerts', {
      eventBusName: this.busName,
      organizationId: props.organizationId,
      // This account's own rules need no bus policy (their role is of this account).
      sourceAccounts: otherAccounts,
      topic: props.notificationTopic,
    });
    this.topic = this.alertBus.topic;
    if ((props.observability ?? true) && crossAccount) {
      this.observabilitySink = new FleetObservabilitySink(this, 'Observability', {
        organizationId: props.organizationId,
        sourceAccounts: otherAccounts.length > 0 ? otherAccounts : undefined,
      });
    }
    if (props.dashboard ?? true) {
      if (this.memberAccounts.length > ComplianceDashboard.MAX_ALARM_SOURCES) {
        fail(this, `\`memberAccounts\` with \`dashboard\` on: the dashboard's alarms read at most ${ComplianceDashboard.MAX_ALARM_SOURCES} accounts in this Region, got: ${this.memberAccounts.length} (this account included); set \`dashboard: false\` and add ComplianceDashboards with \`sources\` over groups of accounts`);
      }
      this.dashboard = new ComplianceDashboard(this, 'Dashboard', {
        metrics: false,
        sources: this.memberAccounts.flatMap((account) => this.memberRegions.map((region) => ({ account, region }))),
        alarmTopic: this.topic,
      });
    }
    this.addOutputs();
  }

  /**
   * The plain values a member needs (`HybridFleetMember`'s `central`). In another account or app, use the stack
   * outputs: the sink ARN is known only after deployment.
   */
  public reference(): HybridFleetCentralReference {
    const stack = Stack.of(this);
    return {
      account: stack.account,
      region: stack.region,
      inventoryBucketName: this.bucketName,
      inventoryBucketPrefix: this.bucketPrefix,
      inventoryKeyArn: this.encryptionKey?.keyArn,
      alertBusArn: this.alertBusArn(),
      observabilitySinkArns: this.observabilitySink ? { [stack.region]: this.observabilitySink.sinkArn } : undefined,
    };
  }

  /** The bus ARN built from its name (a plain value when the stack's account and Region are). */
  private alertBusArn(): string {
    return Stack.of(this).formatArn({ service: 'events', resource: 'event-bus', resourceName: this.busName, arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
  }

  private addOutputs(): void {
    const output = (id: string, value: string, description: string) => new CfnOutput(this, id, { value, description });
    output('InventoryBucketName', this.bucketName, 'Central inventory bucket (members\' resource data syncs write here)');
    if (this.bucketPrefix) output('InventoryBucketPrefix', this.bucketPrefix, 'Key prefix of the members\' resource data syncs');
    if (this.encryptionKey) output('InventoryKeyArn', this.encryptionKey.keyArn, 'KMS key the members\' syncs encrypt inventory with');
    output('AlertBusArn', this.alertBus.eventBus.eventBusArn, 'Central alert bus (members forward their alerts here)');
    if (this.observabilitySink) output('ObservabilitySinkArn', this.observabilitySink.sinkArn, 'OAM sink of this Region (members link their metrics here)');
  }
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
