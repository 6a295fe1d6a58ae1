import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { addMetricsProducer, METRICS_NAMESPACE, metricsSettings } from './private/metrics-producer';
import { PatchGroupTagKey } from '../patching/patch-group';

/**
 * Properties for `ComplianceMetrics` (and the producer part of a `ComplianceDashboard`).
 */
export interface ComplianceMetricsProps {
  /**
   * How often the function reads the fleet and publishes metrics: whole minutes from 15 minutes to 1 day. It is also
   * the period of the dashboard's graphs and of the alarms.
   *
   * @default Duration.hours(1)
   */
  readonly interval?: Duration;

  /**
   * The patch-group tag key of the fleet's `PatchGroup`s.
   *
   * @default PatchGroupTagKey.PATCH_GROUP
   */
  readonly patchGroupTagKey?: PatchGroupTagKey;

  /**
   * The tag key that chooses report or enforce per node (`PatchGroup`'s `modeTagKey`).
   *
   * @default 'PatchMode'
   */
  readonly modeTagKey?: string;

  /**
   * The mode tag value of nodes that are only scanned.
   *
   * @default 'report'
   */
  readonly reportModeValue?: string;

  /**
   * The mode tag value of nodes that are patched (`PatchGroup`'s `enforceModeValue`).
   *
   * @default 'enforce'
   */
  readonly enforceModeValue?: string;

  /**
   * Compliance types whose coverage is published and graphed: a node is covered when it reports the type compliant,
   * e.g. `Custom:CrowdStrikeFalcon` written by an agent installer with `PutComplianceItems`. At most 10, each
   * `Custom:<name>` or a built-in type name.
   *
   * @default - no agent coverage
   */
  readonly agentComplianceTypes?: string[];

  /**
   * The largest patch groups (by nodes) that keep their own dimension value; the others are published as `(other)`.
   * Bounds the metric count (see the README formula). From 1 to 100.
   *
   * @default 10
   */
  readonly maxPatchGroups?: number;

  /**
   * How many of the worst non-compliant nodes each run logs for the dashboard's table. From 0 to 100.
   *
   * @default 20
   */
  readonly topNodes?: number;

  /**
   * How long the function's logs (the metrics and the worst-node lines) are kept.
   *
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Customer-managed KMS key that encrypts the function's log group.
   *
   * @default - CloudWatch Logs' own encryption at rest
   */
  readonly logEncryptionKey?: kms.IKey;
}

/**
 * The producer half of the risk dashboard: a scheduled function reads per-node compliance summaries, the nodes'
 * patch-group and mode tags and their ping status, and publishes metrics in CloudWatch embedded metric format
 * (namespace `HybridFleet/Compliance`). Use it alone in a member account/Region whose metrics a central
 * `ComplianceDashboard` reads through CloudWatch cross-account observability (`sources`); a `ComplianceDashboard`
 * without `metrics: false` has one of its own.
 *
 * Compliance data is per account and Region: create one per account and Region.
 */
export class ComplianceMetrics extends Construct {
  /** CloudWatch namespace of the metrics. */
  public static readonly METRICS_NAMESPACE = METRICS_NAMESPACE;

  /** The function that publishes the metrics. */
  public readonly handler: lambda.IFunction;
  /** Its log group (the metrics and the worst-node lines). */
  public readonly logGroup: logs.ILogGroup;
  /** The schedule rule that runs it. */
  public readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: ComplianceMetricsProps = {}) {
    super(scope, id);
    const producer = addMetricsProducer(this, metricsSettings(this, props), props);
    this.handler = producer.handler;
    this.logGroup = producer.logGroup;
    this.rule = producer.rule;
  }
}
