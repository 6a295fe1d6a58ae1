import { Token } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { checkAdmitted } from './private/fleet-checks';
import {
  ASSOCIATION_STATE_CHANGE,
  associationFailedMessage,
  associationFailedPattern,
  CONFIG_COMPLIANCE_CHANGE,
  configNonCompliantMessage,
  configNonCompliantPattern,
  SSM_COMPLIANCE_CHANGE,
  ssmNonCompliantMessage,
  ssmNonCompliantPattern,
} from '../compliance/private/alert-messages';
import { ComplianceTopic } from '../compliance/compliance-topic';
import { fail } from '../private/validate';

/** Event bus names: 1 to 256 letters, digits, `.`, `-` and `_`, not `default`, no `/` (a custom bus). */
const BUS_NAME = /^[A-Za-z0-9._-]{1,256}$/;

/**
 * Properties for a `FleetAlertBus`.
 */
export interface FleetAlertBusProps {
  /**
   * Name of the bus: 1 to 256 letters, digits, `.`, `-` and `_` (not `default`). A fixed name lets members build the
   * bus ARN (`arn:aws:events:<region>:<account>:event-bus/<name>`) without a cross-stack reference.
   *
   * @default 'hybrid-fleet-alerts'
   */
  readonly eventBusName?: string;

  /**
   * AWS Organizations id whose accounts may put the fleet's alert events on the bus (condition `aws:PrincipalOrgID`).
   * Must match `^o-[a-z0-9]{10,32}$`.
   *
   * @default - no organization-wide statement; give `sourceAccounts`
   */
  readonly organizationId?: string;

  /**
   * Accounts that may put the fleet's alert events on the bus (12-digit ids, no duplicates). `[]`: this account only
   * (its rules forward with a role of this account; no bus policy).
   *
   * @default - no per-account statement; give `organizationId`
   */
  readonly sourceAccounts?: string[];

  /**
   * Topic the readable messages go to. If it is encrypted, its key policy must let `events.amazonaws.com` use the key.
   *
   * @default - a new `ComplianceTopic` (customer-managed key usable by EventBridge, TLS only)
   */
  readonly topic?: sns.ITopic;
}

/**
 * The fleet's central alert bus: a custom EventBridge bus in the central account that members (`FleetCompliance`,
 * `AgentInstaller` with `alertBus`) forward their alert events to, unchanged, and rules that turn them into readable
 * messages on one topic, naming the member account and Region:
 * - AWS Config `Config Rules Compliance Change` to NON_COMPLIANT;
 * - Systems Manager `Configuration Compliance State Change` to `non_compliant`;
 * - State Manager `EC2 State Manager Instance Association State Change` to `Failed` (an agent installer's run).
 *
 * The bus policy admits only `events:PutEvents`, only from `organizationId` (`aws:PrincipalOrgID`) and/or
 * `sourceAccounts`, and only for those sources (`aws.config`, `aws.ssm`) and detail types (`events:source`,
 * `events:detail-type` conditions).
 *
 * @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-bus-perms.html
 * @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-bus-example-policy-cross-account-custom-bus-source.html
 */
export class FleetAlertBus extends Construct {
  /** Detail types the bus admits. */
  public static readonly DETAIL_TYPES = [CONFIG_COMPLIANCE_CHANGE, SSM_COMPLIANCE_CHANGE, ASSOCIATION_STATE_CHANGE];

  /** The bus. */
  public readonly eventBus: events.IEventBus;
  /** The topic the messages go to. */
  public readonly topic: sns.ITopic;
  /** The rules that format the forwarded events. */
  public readonly rules: events.Rule[];

  constructor(scope: Construct, id: string, props: FleetAlertBusProps) {
    super(scope, id);
    checkAdmitted(this, props.organizationId, props.sourceAccounts, true);
    const eventBusName = props.eventBusName ?? 'hybrid-fleet-alerts';
    if (!Token.isUnresolved(eventBusName) && (!BUS_NAME.test(eventBusName) || eventBusName === 'default')) {
      fail(this, `\`eventBusName\` must be 1 to 256 letters, digits, . - and _, and not 'default', got: '${eventBusName}'`);
    }
    const bus = new events.EventBus(this, 'Bus', { eventBusName, description: 'Hybrid fleet alerts forwarded by member accounts' });
    this.eventBus = bus;
    // Only the fleet's alert events: the sources and detail types members forward.
    const conditions = {
      'ForAllValues:StringEquals': { 'events:source': ['aws.config', 'aws.ssm'] },
      'StringEquals': { 'events:detail-type': FleetAlertBus.DETAIL_TYPES },
    };
    if (props.organizationId !== undefined) {
      bus.addToResourcePolicy(new iam.PolicyStatement({
        sid: 'PutAlertsFromOrganization',
        principals: [new iam.AnyPrincipal()],
        actions: ['events:PutEvents'],
        resources: [bus.eventBusArn],
        conditions: { ...conditions, StringEquals: { ...conditions.StringEquals, 'aws:PrincipalOrgID': props.organizationId } },
      }));
    }
    if (props.sourceAccounts !== undefined && props.sourceAccounts.length > 0) {
      bus.addToResourcePolicy(new iam.PolicyStatement({
        sid: 'PutAlertsFromAccounts',
        principals: props.sourceAccounts.map((account) => new iam.AccountPrincipal(account)),
        actions: ['events:PutEvents'],
        resources: [bus.eventBusArn],
        conditions,
      }));
    }

    this.topic = props.topic ?? new ComplianceTopic(this, 'Topic').topic;
    // The members' events carry no tags; the hint says where to look.
    const hint = "Patch group and mode: the node's patch-group and mode tags in its account (events carry no tags)";
    const rule = (ruleId: string, description: string, eventPattern: events.EventPattern, message: events.RuleTargetInput) => new events.Rule(this, ruleId, {
      eventBus: bus,
      description,
      eventPattern,
      targets: [new targets.SnsTopic(this.topic, { message })],
    });
    this.rules = [
      rule('ConfigNonCompliant', 'A member Config rule found a resource NON_COMPLIANT', configNonCompliantPattern(), configNonCompliantMessage(hint)),
      rule('SsmNonCompliant', 'Systems Manager in a member account reports a node non_compliant', ssmNonCompliantPattern(), ssmNonCompliantMessage(hint)),
      rule('AssociationFailed', 'An agent installer run failed on a member node', associationFailedPattern(), associationFailedMessage()),
    ];
  }
}
