import { Duration, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { ComplianceMetricsProps } from './compliance-metrics';
import { addMetricsProducer, METRICS_NAMESPACE, metricsSettings } from './private/metrics-producer';
import { acknowledgeAlarmWithoutAction } from '../private/acknowledgements';
import { ACCOUNT_ID_PATTERN, fail } from '../private/validate';

/** Severities in the order the dashboard stacks them. */
const SEVERITIES = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFORMATIONAL', 'UNSPECIFIED'];
/** Dimension values the function writes for nodes without the tag, EC2 nodes and values beyond the caps. */
const SPECIAL_VALUES = ['(untagged)', '(ec2)', '(other)'];
/** A Region code such as `eu-west-1`. */
const REGION_PATTERN = /^[a-z]{2}(-[a-z]+)+-\d$/;

/** An account and Region whose `ComplianceMetrics` a central dashboard reads (through CloudWatch cross-account observability). */
export interface ComplianceMetricsSource {
  /** The account id (12 digits). */
  readonly account: string;
  /** The Region, e.g. `eu-west-1`. */
  readonly region: string;
}

/**
 * Properties for a `ComplianceDashboard`.
 */
export interface ComplianceDashboardProps extends ComplianceMetricsProps {
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
   * Publish this account's and Region's compliance metrics here (a local `ComplianceMetrics`: the function, its
   * schedule and log group). Turn it off in a central account that only reads `sources`.
   *
   * @default true
   */
  readonly metrics?: boolean;

  /**
   * Other accounts and Regions whose `ComplianceMetrics` the dashboard shows, read through CloudWatch cross-account
   * observability (their accounts linked to this account's `FleetObservabilitySink` in each Region). With sources, the
   * dashboard graphs each source's fleet figures side by side, and the alarms watch every source in this stack's
   * Region, this account's own metrics included (a CloudWatch alarm cannot read another Region's metrics; at most 10
   * sources per alarm). Each account 12 digits, each Region a Region code, no pair twice.
   *
   * @default - this account and Region only
   */
  readonly sources?: ComplianceMetricsSource[];
}

/** A source as the dashboard reads it: `account`/`region` undefined for this account and Region. */
interface View {
  readonly account?: string;
  readonly region?: string;
  readonly label: string;
}

/**
 * A risk dashboard over Systems Manager compliance. Its producer (`ComplianceMetrics`, on by default): a scheduled
 * function reads per-node compliance summaries, the nodes' patch-group and mode tags and their ping status, and
 * publishes metrics in CloudWatch embedded metric format (namespace `METRICS_NAMESPACE`): non-compliant nodes by
 * compliance type × severity × patch group × mode, compliance % per patch group × mode and per mode, nodes online and
 * offline, agent coverage. A CloudWatch dashboard graphs them over time, with the report → enforce progression and a
 * Logs Insights table of the worst nodes, and alarms watch critical non-compliance, the compliance of enforce-mode
 * nodes and the function itself.
 *
 * Compliance data is per account and Region: one `ComplianceMetrics` per account and Region. In a central account,
 * `sources` shows the members' metrics (read through CloudWatch cross-account observability) on one dashboard.
 */
export class ComplianceDashboard extends Construct {
  /** CloudWatch namespace of the metrics. */
  public static readonly METRICS_NAMESPACE = METRICS_NAMESPACE;

  /**
   * Most sources in the stack's Region one dashboard's alarms read (one metric each in their metric math).
   * CloudWatch's own cap on an alarm's metric queries is not verified here; 10 stays well inside it.
   */
  public static readonly MAX_ALARM_SOURCES = 10;

  /** The function that publishes the metrics, when `metrics` is on. */
  public readonly handler?: lambda.IFunction;
  /** Its log group (the metrics and the worst-node lines), when `metrics` is on. */
  public readonly logGroup?: logs.ILogGroup;
  /** The schedule rule that runs it, when `metrics` is on. */
  public readonly rule?: events.Rule;
  /** The CloudWatch dashboard. */
  public readonly dashboard: cloudwatch.Dashboard;
  /** Alarm: at least one node is non-compliant with a CRITICAL item (in any watched source). */
  public readonly criticalAlarm: cloudwatch.Alarm;
  /** Alarm: the compliance % of enforce-mode nodes is under `enforceComplianceThreshold` (in any watched source). */
  public readonly enforceComplianceAlarm: cloudwatch.Alarm;
  /** Alarm: a run did not read the whole fleet, or no run reported (the data on the dashboard is stale). */
  public readonly scanAlarm: cloudwatch.Alarm;

  private readonly period: Duration;

  constructor(scope: Construct, id: string, props: ComplianceDashboardProps = {}) {
    super(scope, id);
    const settings = metricsSettings(this, props);
    const threshold = props.enforceComplianceThreshold ?? 95;
    if (!Token.isUnresolved(threshold) && (!Number.isFinite(threshold) || threshold < 0 || threshold > 100)) {
      fail(this, `\`enforceComplianceThreshold\` must be a number from 0 to 100, got: ${threshold}`);
    }
    const local = props.metrics ?? true;
    const sources = props.sources;
    this.checkSources(sources, local);
    this.period = settings.interval;
    const { reportValue, enforceValue, agentTypes, topNodes } = settings;

    if (local) {
      const producer = addMetricsProducer(this, settings, props);
      this.handler = producer.handler;
      this.logGroup = producer.logGroup;
      this.rule = producer.rule;
    }

    const alarm = (alarmId: string, metric: cloudwatch.IMetric, options: Omit<cloudwatch.CreateAlarmOptions, 'evaluationPeriods'>): cloudwatch.Alarm => {
      const created = new cloudwatch.Alarm(this, alarmId, { metric, evaluationPeriods: 1, ...options });
      if (props.alarmTopic) {
        created.addAlarmAction(new cwActions.SnsAction(props.alarmTopic));
        created.addOkAction(new cwActions.SnsAction(props.alarmTopic));
      } else {
        acknowledgeAlarmWithoutAction(created);
      }
      return created;
    };
    const views = this.views(sources, local);
    const watched = sources === undefined ? views : this.watched(views);
    // One source: the metric itself (as before sources existed); several: MAX/MIN over them.
    const across = (fn: 'MAX' | 'MIN', label: string, metric: (view: View) => cloudwatch.Metric, fill?: number): cloudwatch.IMetric => {
      if (sources === undefined) return metric(views[0]);
      const usingMetrics: Record<string, cloudwatch.IMetric> = {};
      watched.forEach((view, i) => { usingMetrics[`m${i}`] = metric(view); });
      const ids = Object.keys(usingMetrics).map((m) => (fill === undefined ? m : `FILL(${m}, ${fill})`));
      return new cloudwatch.MathExpression({ expression: `${fn}([${ids.join(', ')}])`, usingMetrics, label, period: this.period });
    };
    this.criticalAlarm = alarm('CriticalAlarm', across('MAX', 'Critical nodes (worst source)', (v) => this.metricNonCompliantNodesBySeverity('CRITICAL', this.at(v))), {
      alarmDescription: `Nodes with a CRITICAL non-compliant item (${this.node.path})`,
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.enforceComplianceAlarm = alarm('EnforceComplianceAlarm',
      across('MIN', `${enforceValue}-mode compliance % (worst source)`, (v) => this.metricCompliancePercentByMode(enforceValue, { statistic: 'Minimum', ...this.at(v) })), {
        alarmDescription: `Compliance of ${enforceValue}-mode nodes is under ${threshold} % (${this.node.path})`,
        threshold,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    // A source that did not report counts as an incomplete scan (FILL 0).
    this.scanAlarm = alarm('ScanAlarm', across('MIN', 'Complete scans (worst source)', (v) => this.metric('ScanComplete', {}, { statistic: 'Minimum', ...this.at(v) }), 0), {
      alarmDescription: `The compliance metrics function did not read the whole fleet, or did not run (${this.node.path})`,
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName,
      defaultInterval: Duration.days(14),
      widgets: sources === undefined
        ? this.widgets(this.logGroup!, reportValue, enforceValue, agentTypes, topNodes)
        : this.sourceWidgets(views, enforceValue, topNodes),
    });
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

  private checkSources(sources: ComplianceMetricsSource[] | undefined, local: boolean): void {
    if (sources === undefined) {
      if (!local) fail(this, '`metrics` is off and no `sources` are given: the dashboard would show nothing, got: metrics false');
      return;
    }
    if (Token.isUnresolved(sources)) fail(this, '`sources` must be a list written out in the app, got: a list token');
    if (sources.length === 0) fail(this, '`sources` must list at least one account and Region (omit it for this account only), got: []');
    const seen = new Set<string>();
    sources.forEach((source, i) => {
      if (!Token.isUnresolved(source.account) && !ACCOUNT_ID_PATTERN.test(source.account)) {
        fail(this, `\`sources[${i}].account\` must be a 12-digit account id, got: '${source.account}'`);
      }
      if (!Token.isUnresolved(source.region) && !REGION_PATTERN.test(source.region)) {
        fail(this, `\`sources[${i}].region\` must be a Region code such as eu-west-1, got: '${source.region}'`);
      }
      const key = `${source.account} ${source.region}`;
      if (seen.has(key)) fail(this, `\`sources\` must not list an account and Region twice, got: ${key} twice`);
      seen.add(key);
    });
  }

  private views(sources: ComplianceMetricsSource[] | undefined, local: boolean): View[] {
    const stack = Stack.of(this);
    const here = (value: string, name: string) => (Token.isUnresolved(value) ? name : value);
    const own: View[] = local ? [{ label: `${here(stack.account, 'this account')} ${here(stack.region, 'this Region')}` }] : [];
    const others = (sources ?? [])
      // This account and Region is the local view when the dashboard publishes its own metrics.
      .filter((s) => !(local && s.account === stack.account && s.region === stack.region))
      .map((s) => ({ account: s.account, region: s.region, label: `${s.account} ${s.region}` }));
    return [...own, ...others];
  }

  /** The views in this stack's Region (the only ones an alarm can read). */
  private watched(views: View[]): View[] {
    const region = Stack.of(this).region;
    const watched = views.filter((v) => v.region === undefined || v.region === region);
    if (watched.length === 0) {
      const got = Token.isUnresolved(region) ? 'a stack without an explicit Region (give it env.region)' : `no source in ${region}`;
      fail(this, `\`sources\` must include an account in this stack's Region, which the alarms watch (CloudWatch alarms read only their own Region's metrics), got: ${got}`);
    }
    if (watched.length > ComplianceDashboard.MAX_ALARM_SOURCES) {
      fail(this, `\`sources\` in this stack's Region must be at most ${ComplianceDashboard.MAX_ALARM_SOURCES} (each alarm reads one metric per source), got: ${watched.length}; split them over several dashboards`);
    }
    return watched;
  }

  /** The metric options that read a view's account and Region. */
  private at(view: View): cloudwatch.MetricOptions {
    return { account: view.account, region: view.region };
  }

  private sourceWidgets(views: View[], enforceValue: string, topNodes: number): cloudwatch.IWidget[][] {
    const per = (name: string, dims: Record<string, string> = {}, props: cloudwatch.MetricOptions = {}) =>
      views.map((v) => this.metric(name, dims, { label: v.label, ...this.at(v), ...props }));
    const percentAxis = { min: 0, max: 100, label: '%', showUnits: false };
    const rows: cloudwatch.IWidget[][] = [
      [
        new cloudwatch.SingleValueWidget({ title: 'Compliant % per source', width: 16, height: 4, metrics: per('CompliancePercent') }),
        new cloudwatch.AlarmStatusWidget({ title: 'Alarms', width: 8, height: 4, alarms: [this.criticalAlarm, this.enforceComplianceAlarm, this.scanAlarm] }),
      ],
      [
        new cloudwatch.GraphWidget({ title: 'Compliance % per source', width: 12, height: 7, left: per('CompliancePercent'), leftYAxis: percentAxis }),
        new cloudwatch.GraphWidget({
          title: `${enforceValue}-mode compliance % per source`, width: 12, height: 7, left: per('CompliancePercent', { Mode: enforceValue }), leftYAxis: percentAxis,
        }),
      ],
      [
        new cloudwatch.GraphWidget({
          title: 'Critical nodes per source', width: 12, height: 7, stacked: true, left: per('NonCompliantNodes', { Severity: 'CRITICAL' }), leftYAxis: { min: 0, showUnits: false },
        }),
        new cloudwatch.GraphWidget({
          title: 'Nodes offline per source', width: 12, height: 7, stacked: true, left: per('OfflineNodes'), leftYAxis: { min: 0, showUnits: false },
        }),
      ],
    ];
    if (this.logGroup && topNodes > 0) rows.push([this.worstNodesWidget(this.logGroup, topNodes)]);
    return rows;
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
    if (topNodes > 0) rows.push([this.worstNodesWidget(logGroup, topNodes)]);
    return rows;
  }

  private worstNodesWidget(logGroup: logs.ILogGroup, topNodes: number): cloudwatch.IWidget {
    return new cloudwatch.LogQueryWidget({
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
    });
  }
}
