import { Construct } from 'constructs';
import { HybridFleetCentral, HybridFleetCentralProps } from './hybrid-fleet-central';
import { HybridFleetMember, HybridFleetMemberOptions } from './hybrid-fleet-member';

/**
 * Properties for a `HybridFleet`.
 */
export interface HybridFleetProps extends HybridFleetMemberOptions {
  /**
   * The central part: inventory bucket and Athena query layer, alert bus and topic, risk dashboard (and, when other
   * accounts are listed, their grants and an OAM sink).
   *
   * @default - the `HybridFleetCentral` defaults: this account and Region only, no cross-account grant
   */
  readonly central?: HybridFleetCentralProps;
}

/**
 * The whole hybrid fleet in one account and Region: a `HybridFleetCentral` (inventory bucket and query layer, alert
 * bus and topic, risk dashboard) and a `HybridFleetMember` wired to it (activation API, patch groups, inventory sync,
 * compliance and agent installers on request), sharing one node role, one log bucket and the central topic.
 *
 * `new HybridFleet(this, 'Fleet')` deploys a secure, working fleet that touches no account singleton: the default
 * patch baselines are left alone, inventory collection and AWS Config rules are opt-in (`inventory.collect`,
 * `compliance`). Every part can be turned off or given its props.
 *
 * In one account, alerts go straight to the central topic (the member forwards nothing to the bus) and metrics need
 * no cross-account link (an account cannot link to its own sink). The central alert bus and sink still serve members
 * in other accounts, when `central.memberAccounts` or `central.organizationId` list them.
 */
export class HybridFleet extends Construct {
  /** The central part. */
  public readonly central: HybridFleetCentral;

  /** The member part, in the same account and Region. */
  public readonly member: HybridFleetMember;

  constructor(scope: Construct, id: string, props: HybridFleetProps = {}) {
    super(scope, id);
    this.central = new HybridFleetCentral(this, 'Central', props.central);
    // Same account: the topic directly (via the bus every alert would arrive twice), and no link to its own sink.
    const { alertBusArn: _bus, observabilitySinkArns: _sinks, ...reference } = this.central.reference();
    this.member = new HybridFleetMember(this, 'Member', {
      central: reference,
      activation: props.activation,
      patching: props.patching,
      inventory: props.inventory,
      compliance: props.compliance,
      agentInstallers: props.agentInstallers,
      complianceMetrics: props.complianceMetrics,
      logBucket: props.logBucket,
      notificationTopic: this.central.topic,
    });
    // Systems Manager checks the bucket policy when the sync is created: the member names the bucket as a plain value.
    this.member.inventorySync?.node.addDependency(this.central.inventoryBucket);
  }
}
