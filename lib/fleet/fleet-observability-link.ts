import { Token } from 'aws-cdk-lib';
import * as oam from 'aws-cdk-lib/aws-oam';
import { Construct } from 'constructs';
import { checkLength, fail } from '../private/validate';

/**
 * The ARN of an OAM sink: `arn:<partition>:oam:<region>:<account-id>:sink/<sink-id>`.
 * @see https://docs.aws.amazon.com/OAM/latest/APIReference/API_CreateLink.html
 * @see https://docs.aws.amazon.com/sdk-for-kotlin/api/latest/oam/aws.sdk.kotlin.services.oam.model/-tag-resource-request/resource-arn.html
 */
const SINK_ARN = /^arn:aws[a-z-]*:oam:[a-z]{2}(-[a-z]+)+-\d:\d{12}:sink\/[A-Za-z0-9-]+$/;

/** The resource types a fleet link shares (`ResourceTypes` of `AWS::Oam::Link`). */
const METRICS = 'AWS::CloudWatch::Metric';
const LOG_GROUPS = 'AWS::Logs::LogGroup';

/**
 * Properties for a `FleetObservabilityLink`.
 */
export interface FleetObservabilityLinkProps {
  /**
   * ARN of the central account's OAM sink in this Region (`FleetObservabilitySink.sinkArn`, or the central stack's
   * output): `arn:aws:oam:<region>:<account-id>:sink/<sink-id>`. The sink's policy must admit this account.
   */
  readonly sinkArn: string;

  /**
   * Also share this account's CloudWatch log groups (the central sink must admit `AWS::Logs::LogGroup`).
   *
   * @default false - metrics only
   */
  readonly logs?: boolean;

  /**
   * How the central account labels this account's data: `$AccountName`, `$AccountEmail` and
   * `$AccountEmailNoDomain` are replaced by the account's values. 1 to 64 characters.
   *
   * @default '$AccountName'
   */
  readonly labelTemplate?: string;
}

/**
 * Member side of CloudWatch cross-account observability: an `AWS::Oam::Link` that shares this account's metrics (and,
 * on request, its log groups) in this Region with the central account's sink, so that the central dashboard and
 * alarms read them. One link per account and Region (a source account links to one sink per Region).
 *
 * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch-Unified-Cross-Account.html
 */
export class FleetObservabilityLink extends Construct {
  /** The link. */
  public readonly link: oam.CfnLink;
  /** ARN of the link. */
  public readonly linkArn: string;
  /** The resource types shared with the sink. */
  public readonly resourceTypes: string[];

  constructor(scope: Construct, id: string, props: FleetObservabilityLinkProps) {
    super(scope, id);
    if (!Token.isUnresolved(props.sinkArn) && !SINK_ARN.test(props.sinkArn)) {
      fail(this, `\`sinkArn\` must be the ARN of an OAM sink (arn:aws:oam:<region>:<12-digit account>:sink/<sink-id>), got: '${props.sinkArn}'`);
    }
    const labelTemplate = props.labelTemplate ?? '$AccountName';
    // CreateLink API: LabelTemplate is 1 to 64 characters (not verified against the docs in this repository; the
    // bound is what the API reference lists, https://docs.aws.amazon.com/OAM/latest/APIReference/API_CreateLink.html).
    checkLength(this, 'labelTemplate', labelTemplate, 1, 64);
    this.resourceTypes = props.logs ? [METRICS, LOG_GROUPS] : [METRICS];
    this.link = new oam.CfnLink(this, 'Resource', {
      sinkIdentifier: props.sinkArn,
      resourceTypes: this.resourceTypes,
      labelTemplate,
    });
    this.linkArn = this.link.attrArn;
  }
}
