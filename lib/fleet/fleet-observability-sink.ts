import { Token } from 'aws-cdk-lib';
import * as oam from 'aws-cdk-lib/aws-oam';
import { Construct } from 'constructs';
import { checkAdmitted } from './private/fleet-checks';
import { fail } from '../private/validate';

/** Sink names (`AWS::Oam::Sink` `Name`): 1 to 255 letters, digits, `_`, `.` and `-`. */
const SINK_NAME = /^[a-zA-Z0-9_.-]{1,255}$/;

/**
 * Properties for a `FleetObservabilitySink`.
 */
export interface FleetObservabilitySinkProps {
  /**
   * AWS Organizations id whose accounts may link to the sink (condition `aws:PrincipalOrgID`). Must match
   * `^o-[a-z0-9]{10,32}$`.
   *
   * @default - no organization-wide statement; give `sourceAccounts`
   */
  readonly organizationId?: string;

  /**
   * Accounts that may link to the sink (12-digit ids, no duplicates). Do not list the sink's own account: a
   * monitoring account does not link to itself.
   *
   * @default - no per-account statement; give `organizationId`
   */
  readonly sourceAccounts?: string[];

  /**
   * Also let the linked accounts share their CloudWatch log groups (`AWS::Logs::LogGroup`).
   *
   * @default false - metrics only
   */
  readonly logs?: boolean;

  /**
   * Name of the sink: 1 to 255 letters, digits, `_`, `.` and `-`.
   *
   * @default 'hybrid-fleet'
   */
  readonly sinkName?: string;
}

/**
 * Central side of CloudWatch cross-account observability, one per Region of the central account: an `AWS::Oam::Sink`
 * whose policy lets the fleet's member accounts (`organizationId` and/or `sourceAccounts`) create and update links
 * that share CloudWatch metrics (and log groups only with `logs`). Members link with `FleetObservabilityLink`.
 *
 * The policy grants `oam:CreateLink` and `oam:UpdateLink` only, with `ForAllValues:StringEquals` on
 * `oam:ResourceTypes`, so a link that asks for any other type (traces, log groups when `logs` is off) is refused.
 *
 * @see https://docs.aws.amazon.com/OAM/latest/APIReference/API_PutSinkPolicy.html
 * @see https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatchobservabilityaccessmanager.html
 */
export class FleetObservabilitySink extends Construct {
  /** The sink. */
  public readonly sink: oam.CfnSink;
  /** ARN of the sink (what members pass as `FleetObservabilityLink`'s `sinkArn`). Known only after deployment. */
  public readonly sinkArn: string;
  /** The resource types members may share. */
  public readonly resourceTypes: string[];

  constructor(scope: Construct, id: string, props: FleetObservabilitySinkProps) {
    super(scope, id);
    checkAdmitted(this, props.organizationId, props.sourceAccounts);
    const sinkName = props.sinkName ?? 'hybrid-fleet';
    if (!Token.isUnresolved(sinkName) && !SINK_NAME.test(sinkName)) {
      fail(this, `\`sinkName\` must be 1 to 255 letters, digits, _ . and -, got: '${sinkName}'`);
    }
    this.resourceTypes = props.logs ? ['AWS::CloudWatch::Metric', 'AWS::Logs::LogGroup'] : ['AWS::CloudWatch::Metric'];
    this.sink = new oam.CfnSink(this, 'Resource', {
      name: sinkName,
      policy: sinkPolicy(this.resourceTypes, props.organizationId, props.sourceAccounts),
    });
    this.sinkArn = this.sink.attrArn;
  }
}

/**
 * The sink policy. The statement shapes (Principal `*` with `aws:PrincipalOrgID` for an organization, account ids as
 * principals otherwise, `Resource: *`, `ForAllValues:StringEquals` on `oam:ResourceTypes`) are those of the
 * PutSinkPolicy examples: https://docs.aws.amazon.com/OAM/latest/APIReference/API_PutSinkPolicy.html (the account
 * example was checked in this session; the organization example is as the API reference is remembered to show it).
 */
function sinkPolicy(resourceTypes: string[], organizationId: string | undefined, sourceAccounts: string[] | undefined): Record<string, unknown> {
  const types = { 'ForAllValues:StringEquals': { 'oam:ResourceTypes': resourceTypes } };
  const actions = ['oam:CreateLink', 'oam:UpdateLink'];
  const statements: Record<string, unknown>[] = [];
  if (organizationId !== undefined) {
    statements.push({
      Sid: 'LinkFromOrganization', Effect: 'Allow', Principal: '*', Action: actions, Resource: '*',
      Condition: { ...types, StringEquals: { 'aws:PrincipalOrgID': organizationId } },
    });
  }
  if (sourceAccounts !== undefined && sourceAccounts.length > 0) {
    statements.push({
      Sid: 'LinkFromAccounts', Effect: 'Allow', Principal: { AWS: sourceAccounts }, Action: actions, Resource: '*', Condition: types,
    });
  }
  return { Version: '2012-10-17', Statement: statements };
}
