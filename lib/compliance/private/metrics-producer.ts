import { ArnFormat, Duration, Stack, Token } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
// Type only (no cycle at run time): the producer takes exactly the public props of ComplianceMetrics.
import type { ComplianceMetricsProps } from '../compliance-metrics';
import { PatchGroupTagKey } from '../../patching/patch-group';
import { acknowledgeComplianceMetricsFindings } from '../../private/acknowledgements';
import { HandlerFunction } from '../../private/handler-function';
import { checkTagKey, checkTagValue } from '../../private/tags';
import { checkDurationRange, checkIntegerRange, fail } from '../../private/validate';

/*
 * The producer of the risk dashboard's metrics (the scheduled function, its role, log group and schedule), written
 * once: `ComplianceMetrics` is it alone, `ComplianceDashboard` adds it in its own scope (so that its logical ids stay
 * those of the dashboard before the split).
 */

/** CloudWatch namespace of the metrics. */
export const METRICS_NAMESPACE = 'HybridFleet/Compliance';
/** The function's timeout: room for ~1,000 tag reads at a throttled rate (see the README's bench figures). */
const FUNCTION_TIMEOUT = Duration.minutes(10);
/** SSM compliance type pattern (SSM-API `PutComplianceItems`, AWS-FACTS D.4). */
const COMPLIANCE_TYPE = /^([A-Za-z0-9_-]\w+|Custom:[a-zA-Z0-9_-]\w+)$/;

/** The producer's settings, validated, with defaults. */
export interface MetricsSettings {
  readonly interval: Duration;
  readonly patchGroupTagKey: string;
  readonly modeTagKey: string;
  readonly reportValue: string;
  readonly enforceValue: string;
  readonly agentTypes: string[];
  readonly maxPatchGroups: number;
  readonly topNodes: number;
}

/** Validates the producer's props (errors name `scope`) and fills in the defaults. */
export function metricsSettings(scope: Construct, props: ComplianceMetricsProps): MetricsSettings {
  const interval = props.interval ?? Duration.hours(1);
  checkDurationRange(scope, 'interval', interval, Duration.minutes(15), Duration.days(1));
  if (!interval.isUnresolved() && interval.toSeconds() % 60 !== 0) {
    fail(scope, `\`interval\` must be a whole number of minutes, got: ${interval.toHumanString()}`);
  }
  const patchGroupTagKey = props.patchGroupTagKey ?? PatchGroupTagKey.PATCH_GROUP;
  const tagKeys: string[] = Object.values(PatchGroupTagKey);
  if (!Token.isUnresolved(patchGroupTagKey) && !tagKeys.includes(patchGroupTagKey)) {
    fail(scope, `\`patchGroupTagKey\` must be one of ${tagKeys.map((k) => `'${k}'`).join(', ')} (PatchGroupTagKey), got: '${String(patchGroupTagKey)}'`);
  }
  const modeTagKey = props.modeTagKey ?? 'PatchMode';
  checkTagKey(scope, 'modeTagKey', modeTagKey);
  const reportValue = props.reportModeValue ?? 'report';
  const enforceValue = props.enforceModeValue ?? 'enforce';
  for (const [prop, value] of [['reportModeValue', reportValue], ['enforceModeValue', enforceValue]] as const) {
    checkTagValue(scope, prop, modeTagKey, value);
    if (!Token.isUnresolved(value) && value.length === 0) fail(scope, `\`${prop}\` must not be empty, got: ''`);
  }
  if (!Token.isUnresolved(reportValue) && reportValue === enforceValue) {
    fail(scope, `\`reportModeValue\` and \`enforceModeValue\` must differ, got: '${reportValue}' for both`);
  }
  const agentTypes = props.agentComplianceTypes ?? [];
  if (agentTypes.length > 10) fail(scope, `\`agentComplianceTypes\` must list at most 10 compliance types, got: ${agentTypes.length}`);
  for (const type of agentTypes) {
    if (!Token.isUnresolved(type) && (type.length > 100 || !COMPLIANCE_TYPE.test(type))) {
      fail(scope, `\`agentComplianceTypes\` entries must be 'Custom:<name>' or a compliance type name (letters, digits, _ and -, at most 100 characters), got: '${type}'`);
    }
  }
  const maxPatchGroups = props.maxPatchGroups ?? 10;
  checkIntegerRange(scope, 'maxPatchGroups', maxPatchGroups, 1, 100);
  const topNodes = props.topNodes ?? 20;
  checkIntegerRange(scope, 'topNodes', topNodes, 0, 100);
  return { interval, patchGroupTagKey, modeTagKey, reportValue, enforceValue, agentTypes, maxPatchGroups, topNodes };
}

/** The producer's parts. */
export interface MetricsProducer {
  readonly handler: lambda.IFunction;
  readonly logGroup: logs.ILogGroup;
  readonly rule: events.Rule;
}

/** Adds the scheduled function that publishes the metrics to `scope` (ids `Handler` and `Schedule`). */
export function addMetricsProducer(scope: Construct, settings: MetricsSettings, props: ComplianceMetricsProps): MetricsProducer {
  const stack = Stack.of(scope);
  const fn = new HandlerFunction(scope, 'Handler', {
    handlerName: 'compliance-metrics',
    description: 'Publishes Systems Manager compliance of the fleet as CloudWatch metrics (risk dashboard)',
    timeout: FUNCTION_TIMEOUT,
    logRetention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
    logEncryptionKey: props.logEncryptionKey,
    environment: {
      METRICS_NAMESPACE,
      PATCH_GROUP_TAG_KEY: settings.patchGroupTagKey,
      MODE_TAG_KEY: settings.modeTagKey,
      MODE_VALUES: stack.toJsonString([settings.reportValue, settings.enforceValue]),
      AGENT_COMPLIANCE_TYPES: stack.toJsonString(settings.agentTypes),
      MAX_PATCH_GROUPS: String(settings.maxPatchGroups),
      TOP_NODES: String(settings.topNodes),
    },
  });
  fn.role.addToPrincipalPolicy(new iam.PolicyStatement({
    sid: 'ReadFleetCompliance',
    // SAR: neither action supports a resource type.
    actions: ['ssm:DescribeInstanceInformation', 'ssm:ListResourceComplianceSummaries'],
    resources: ['*'],
  }));
  fn.role.addToPrincipalPolicy(new iam.PolicyStatement({
    sid: 'ReadNodeTags',
    actions: ['ssm:ListTagsForResource'],
    resources: [stack.formatArn({ service: 'ssm', resource: 'managed-instance', resourceName: '*', arnFormat: ArnFormat.SLASH_RESOURCE_NAME })],
  }));
  // A failed run is not retried: the next scheduled run reads the fleet afresh.
  fn.function.configureAsyncInvoke({ retryAttempts: 0 });
  const rule = new events.Rule(scope, 'Schedule', {
    description: 'Runs the compliance metrics function of the risk dashboard',
    schedule: events.Schedule.rate(settings.interval),
    targets: [new targets.LambdaFunction(fn.function, { retryAttempts: 0 })],
  });
  acknowledgeComplianceMetricsFindings(fn, { logEncryptionKey: props.logEncryptionKey !== undefined });
  return { handler: fn.function, logGroup: fn.logGroup, rule };
}
