import { ArnFormat, Duration, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { PatchGroupTagKey } from '../patching/patch-group';
import { acknowledgeAlarmWithoutAction, acknowledgeComplianceMetricsFindings } from '../private/acknowledgements';
import { HandlerFunction } from '../private/handler-function';
import { checkTagKey, checkTagValue } from '../private/tags';
import { checkDurationRange, checkIntegerRange, fail } from '../private/validate';

/** The function's timeout: room for ~1,000 tag reads at a throttled rate (see the README's bench figures). */
const FUNCTION_TIMEOUT = Duration.minutes(10);
/** SSM compliance type pattern (SSM-API `PutComplianceItems`, AWS-FACTS D.4). */
const COMPLIANCE_TYPE = /^([A-Za-z0-9_-]\w+|Custom:[a-zA-Z0-9_-]\w+)$/;
/** Severities in the order the dashboard stacks them. */
const SEVERITIES = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFORMATIONAL', 'UNSPECIFIED'];
/** Dimension values the function writes for nodes without the tag, EC2 nodes and values beyond the caps. */
const SPECIAL_VALUES = ['(untagged)', '(ec2)', '(other)'];

/**
 * Properties for a `ComplianceDashboard`.
 */
export interface ComplianceDashboardProps {
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
   * The enforce-mode compliance alarm fires when the compliance percentage of enforce-mode nodes is below this.
   * From 0 to 100.
   *
   * @default 95
   */
  readonly enforceComplianceThreshold?: number;

  /**
   * Topic that the alarms notify (on alarm and on return to OK).
   *
   * @default - no action; add one to each alarm
   */
  readonly alarmTopic?: sns.ITopic;

  /**
   * Name of the CloudWatch dashboard.
   *
   * @default - a name CloudFormation generates
   */
  readonly dashboardName?: string;

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
 * A risk dashboard over Systems Manager compliance: a scheduled function reads per-node compliance summaries, the
 * nodes' patch-group and mode tags and their ping status, and publishes metrics in CloudWatch embedded metric format
 * (namespace `METRICS_NAMESPACE`): non-compliant nodes by compliance type × severity × patch group × mode, compliance
 * % per patch group × mode and per mode, nodes online and offline, agent coverage. A CloudWatch dashboard graphs them
 * over time, with the report → enforce progression and a Logs Insights table of the worst nodes, and alarms watch
 * critical non-compliance, the compliance of enforce-mode nodes and the function itself.
 *
 * Compliance data is per account and Region: create one per account and Region.
 */
export class ComplianceDashboard extends Construct {
  /** CloudWatch namespace of the metrics. */
  public static readonly METRICS_NAMESPACE = 'HybridFleet/Compliance';

  /** The function that publishes the metrics. */
  public readonly handler: lambda.IFunction;
  /** Its log group (the metrics and the worst-node lines). */
  public readonly logGroup: logs.ILogGroup;
  /** The schedule rule that runs it. */
  public readonly rule: events.Rule;
  /** The CloudWatch dashboard. */
  public readonly dashboard: cloudwatch.Dashboard;
  /** Alarm: at least one node is non-compliant with a CRITICAL item. */
  public readonly criticalAlarm: cloudwatch.Alarm;
  /** Alarm: the compliance % of enforce-mode nodes is under `enforceComplianceThreshold`. */
  public readonly enforceComplianceAlarm: cloudwatch.Alarm;
  /** Alarm: a run did not read the whole fleet, or no run reported (the data on the dashboard is stale). */
  public readonly scanAlarm: cloudwatch.Alarm;

  private readonly period: Duration;

  constructor(scope: Construct, id: string, props: ComplianceDashboardProps = {}) {
    super(scope, id);
    const interval = props.interval ?? Duration.hours(1);
    checkDurationRange(this, 'interval', interval, Duration.minutes(15), Duration.days(1));
    if (!interval.isUnresolved() && interval.toSeconds() % 60 !== 0) {
      fail(this, `\`interval\` must be a whole number of minutes, got: ${interval.toHumanString()}`);
    }
    const patchGroupTagKey = props.patchGroupTagKey ?? PatchGroupTagKey.PATCH_GROUP;
    const tagKeys: string[] = Object.values(PatchGroupTagKey);
    if (!Token.isUnresolved(patchGroupTagKey) && !tagKeys.includes(patchGroupTagKey)) {
      fail(this, `\`patchGroupTagKey\` must be one of ${tagKeys.map((k) => `'${k}'`).join(', ')} (PatchGroupTagKey), got: '${String(patchGroupTagKey)}'`);
    }
    const modeTagKey = props.modeTagKey ?? 'PatchMode';
    checkTagKey(this, 'modeTagKey', modeTagKey);
    const reportValue = props.reportModeValue ?? 'report';
    const enforceValue = props.enforceModeValue ?? 'enforce';
    for (const [prop, value] of [['reportModeValue', reportValue], ['enforceModeValue', enforceValue]] as const) {
      checkTagValue(this, prop, modeTagKey, value);
      if (!Token.isUnresolved(value) && value.length === 0) fail(this, `\`${prop}\` must not be empty, got: ''`);
    }
    if (!Token.isUnresolved(reportValue) && reportValue === enforceValue) {
      fail(this, `\`reportModeValue\` and \`enforceModeValue\` must differ, got: '${reportValue}' for both`);
    }
    const agentTypes = props.agentComplianceTypes ?? [];
    if (agentTypes.length > 10) fail(this, `\`agentComplianceTypes\` must list at most 10 compliance types, got: ${agentTypes.length}`);
    for (const type of agentTypes) {
      if (!Token.isUnresolved(type) && (type.length > 100 || !COMPLIANCE_TYPE.test(type))) {
        fail(this, `\`agentComplianceTypes\` entries must be 'Custom:<name>' or a compliance type name (letters, digits, _ and -, at most 100 characters), got: '${type}'`);
      }
    }
    const maxPatchGroups = props.maxPatchGroups ?? 10;
    checkIntegerRange(this, 'maxPatchGroups', maxPatchGroups, 1, 100);
    const topNodes = props.topNodes ?? 20;
    checkIntegerRange(this, 'topNodes', topNodes, 0, 100);
    const threshold = props.enforceComplianceThreshold ?? 95;
    if (!Token.isUnresolved(threshold) && (!Number.isFinite(threshold) || threshold < 0 || threshold > 100)) {
      fail(this, `\`enforceComplianceThreshold\` must be a number from 0 to 100, got: ${threshold}`);
    }
    this.period = interval;

    const fn = new HandlerFunction(this, 'Handler', {
      handlerName: 'compliance-metrics',
      description: 'Publishes Systems Manager compliance of the fleet as CloudWatch metrics (risk dashboard)',
      timeout: FUNCTION_TIMEOUT,
      logRetention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
      logEncryptionKey: props.logEncryptionKey,
      environment: {
        METRICS_NAMESPACE: ComplianceDashboard.METRICS_NAMESPACE,
        PATCH_GROUP_TAG_KEY: patchGroupTagKey,
        MODE_TAG_KEY: modeTagKey,
        MODE_VALUES: Stack.of(this).toJsonString([reportValue, enforceValue]),
        AGENT_COMPLIANCE_TYPES: Stack.of(this).toJsonString(agentTypes),
        MAX_PATCH_GROUPS: String(maxPatchGroups),
        TOP_NODES: String(topNodes),
      },
    });
    this.handler = fn.function;
    this.logGroup = fn.logGroup;
    fn.role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ReadFleetCompliance',
      // SAR: neither action supports a resource type.
      actions: ['ssm:DescribeInstanceInformation', 'ssm:ListResourceComplianceSummaries'],
      resources: ['*'],
    }));
    fn.role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ReadNodeTags',
      actions: ['ssm:ListTagsForResource'],
      resources: [Stack.of(this).formatArn({ service: 'ssm', resource: 'managed-instance', resourceName: '*', arnFormat: ArnFormat.SLASH_RESOURCE_NAME })],
    }));
    // A failed run is not retried: the next scheduled run reads the fleet afresh.
    fn.function.configureAsyncInvoke({ retryAttempts: 0 });
    this.rule = new events.Rule(this, 'Schedule', {
      description: 'Runs the compliance metrics function of the risk dashboard',
      schedule: events.Schedule.rate(interval),
      targets: [new targets.LambdaFunction(fn.function, { retryAttempts: 0 })],
    });

    const alarm = (alarmId: string, metric: cloudwatch.Metric, options: Omit<cloudwatch.CreateAlarmOptions, 'evaluationPeriods'>): cloudwatch.Alarm => {
      const created = metric.createAlarm(this, alarmId, { evaluationPeriods: 1, ...options });
      if (props.alarmTopic) {
        created.addAlarmAction(new cwActions.SnsAction(props.alarmTopic));
        created.addOkAction(new cwActions.SnsAction(props.alarmTopic));
      } else {
        acknowledgeAlarmWithoutAction(created);
      }
      return created;
    };
    this.criticalAlarm = alarm('CriticalAlarm', this.metricNonCompliantNodesBySeverity('CRITICAL'), {
      alarmDescription: `Nodes with a CRITICAL non-compliant item (${this.node.path})`,
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.enforceComplianceAlarm = alarm('EnforceComplianceAlarm', this.metricCompliancePercentByMode(enforceValue, { statistic: 'Minimum' }), {
      alarmDescription: `Compliance of ${enforceValue}-mode nodes is under ${threshold} % (${this.node.path})`,
      threshold,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.scanAlarm = alarm('ScanAlarm', this.metric('ScanComplete', {}, { statistic: 'Minimum' }), {
      alarmDescription: `The compliance metrics function did not read the whole fleet, or did not run (${this.node.path})`,
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName,
      defaultInterval: Duration.days(14),
      widgets: this.widgets(fn.logGroup, reportValue, enforceValue, agentTypes, topNodes),
    });
    acknowledgeComplianceMetricsFindings(fn, { logEncryptionKey: props.logEncryptionKey !== undefined });
  }

  /** A metric of the function (default: maximum over the interval). */
  public metric(metricName: string, dimensions: { [name: string]: string } = {}, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: ComplianceDashboard.METRICS_NAMESPACE,
      metricName,
      dimensionsMap: dimensions,
      statistic: 'Maximum',
      period: this.period,
      ...props,
    });
  }

  /** Compliance % of the nodes of one mode value (`report`, `enforce`, `(untagged)`, `(other)`, `(ec2)`). */
  public metricCompliancePercentByMode(mode: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('CompliancePercent', { Mode: mode }, props);
  }

  /** Nodes whose worst non-compliant item has this severity (`CRITICAL`, `HIGH`, …). */
  public metricNonCompliantNodesBySeverity(severity: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('NonCompliantNodes', { Severity: severity }, props);
  }

  private widgets(logGroup: logs.ILogGroup, reportValue: string, enforceValue: string, agentTypes: string[], topNodes: number): cloudwatch.IWidget[][] {
    const ns = ComplianceDashboard.METRICS_NAMESPACE;
    const seconds = this.period.toSeconds();
    const modes = [enforceValue, reportValue, ...SPECIAL_VALUES];
    const percentAxis = { left: { min: 0, max: 100, label: '%', showUnits: false } };
    const search = (dims: string, metric: string, label: string): cloudwatch.MathExpression => new cloudwatch.MathExpression({
      expression: `SEARCH('{${ns},${dims}} MetricName="${metric}"', 'Maximum', ${seconds})`,
      label,
      period: this.period,
    });
    const fleet = (name: string, label: string) => this.metric(name, {}, { label });
    const rows: cloudwatch.IWidget[][] = [
      [
        new cloudwatch.SingleValueWidget({
          title: 'Fleet now',
          width: 16,
          height: 4,
          metrics: [
            fleet('CompliancePercent', 'Compliant %'), fleet('Nodes', 'Nodes'), fleet('OnlineNodes', 'Online'), fleet('OfflineNodes', 'Offline'),
            this.metricNonCompliantNodesBySeverity('CRITICAL', { label: 'Critical nodes' }),
          ],
        }),
        new cloudwatch.AlarmStatusWidget({ title: 'Alarms', width: 8, height: 4, alarms: [this.criticalAlarm, this.enforceComplianceAlarm, this.scanAlarm] }),
      ],
      [
        new cloudwatch.GraphWidget({
          title: 'Compliance % per patch group and mode',
          width: 12,
          height: 7,
          left: [search('Mode,PatchGroup', 'CompliancePercent', '')],
          leftYAxis: percentAxis.left,
        }),
        new cloudwatch.GraphWidget({
          title: 'Compliance % by mode',
          width: 12,
          height: 7,
          left: modes.slice(0, 2).map((m) => this.metricCompliancePercentByMode(m, { label: m })),
          leftYAxis: percentAxis.left,
        }),
      ],
      [
        new cloudwatch.GraphWidget({
          title: 'Report → enforce progression (nodes by mode)',
          width: 12,
          height: 7,
          stacked: true,
          left: modes.map((m) => this.metric('Nodes', { Mode: m }, { label: m })),
          leftYAxis: { min: 0, showUnits: false },
        }),
        new cloudwatch.GraphWidget({
          title: 'Non-compliant nodes by worst severity',
          width: 12,
          height: 7,
          stacked: true,
          left: SEVERITIES.map((s) => this.metricNonCompliantNodesBySeverity(s, { label: s })),
          leftYAxis: { min: 0, showUnits: false },
        }),
      ],
      [
        new cloudwatch.GraphWidget({
          title: 'Non-compliant nodes by type, severity, group and mode',
          width: 12,
          height: 7,
          stacked: true,
          left: [search('ComplianceType,Mode,PatchGroup,Severity', 'NonCompliantNodes', '')],
          leftYAxis: { min: 0, showUnits: false },
        }),
        new cloudwatch.GraphWidget({
          title: agentTypes.length > 0 ? 'Agent coverage % and nodes online' : 'Nodes online and offline',
          width: 12,
          height: 7,
          left: agentTypes.map((t) => this.metric('AgentCoveragePercent', { ComplianceType: t }, { label: t })),
          leftYAxis: agentTypes.length > 0 ? percentAxis.left : undefined,
          right: [fleet('OnlineNodes', 'online'), fleet('OfflineNodes', 'offline')],
          rightYAxis: { min: 0, showUnits: false },
        }),
      ],
    ];
    if (topNodes > 0) {
      rows.push([
        new cloudwatch.LogQueryWidget({
          title: `Worst non-compliant nodes (latest run per node, top ${topNodes})`,
          width: 24,
          height: 8,
          logGroupNames: [logGroup.logGroupName],
          view: cloudwatch.LogQueryVisualizationType.TABLE,
          queryLines: [
            'filter message = "non-compliant node"',
            'stats latest(name) as nodeName, latest(patchGroup) as group, latest(mode) as nodeMode, latest(worstSeverity) as severity,'
              + ' latest(critical) as criticalItems, latest(high) as highItems, latest(medium) as mediumItems, latest(pingStatus) as ping,'
              + ' max(@timestamp) as lastSeen by instanceId',
            'sort criticalItems desc, highItems desc, mediumItems desc',
            `limit ${topNodes}`,
          ],
        }),
      ]);
    }
    return rows;
  }
}
