import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { IHybridActivationApi } from './hybrid-activation-api';
import { checkMarkerTagValue, MARKER_TAG_KEY } from './private/marker-tag';
import { acknowledgeHandlerFindings, acknowledgeAlarmWithoutAction } from '../private/acknowledgements';
import { HandlerFunction } from '../private/handler-function';
import { checkDurationRange, checkIntegerRange, fail } from '../private/validate';

/** The janitor function's timeout. */
const JANITOR_TIMEOUT = Duration.minutes(5);
/** The timeout alarm fires once a run lasts this share of the function's timeout. */
const TIMEOUT_ALARM_SHARE = 0.8;

/**
 * Properties for an `ActivationJanitor`.
 */
export interface ActivationJanitorProps {
  /**
   * The API whose activations and nodes this janitor may clean up: those that carry its marker tag
   * (`HybridActivationApi.MARKER_TAG_KEY` = `api.markerTagValue`).
   *
   * A `HybridActivationApi` of this app, or one from another stack or app through
   * `HybridActivationApi.fromHybridActivationApiAttributes()`.
   */
  readonly api: IHybridActivationApi;

  /**
   * The role that the API's activations give to the machines they register (their `IamRole`, e.g.
   * `HybridActivationApi.instanceRole`).
   *
   * The janitor then asks Systems Manager only for the activations of this role instead of listing every activation
   * in the account and Region; it still touches only those that carry the marker tag. Activations created with
   * another role (for example before the API's role was replaced) are then no longer seen.
   *
   * @default - every activation in the account and Region is listed
   */
  readonly instanceRole?: iam.IRole;

  /**
   * When the janitor runs.
   *
   * @default events.Schedule.rate(Duration.hours(1))
   */
  readonly schedule?: events.Schedule;

  /**
   * Deregister nodes registered through the API that have been offline (not `Online`) for longer than this.
   *
   * For ephemeral machines that vanish without deregistering. Systems Manager keeps such nodes, and they count
   * toward the 1,000 hybrid nodes of the standard tier. Between 30 minutes and 365 days.
   *
   * @default - nodes are never deregistered
   */
  readonly deregisterOfflineAfter?: Duration;

  /**
   * At most this many nodes are deregistered in one run; the oldest offline nodes go first, the rest wait for the
   * next run (and are counted as skipped by the cap).
   *
   * A whole number from 1 to 1,000.
   *
   * @default 10
   */
  readonly maxDeregistrationsPerRun?: number;

  /**
   * Only report what would be deleted and deregistered; change nothing.
   *
   * @default false
   */
  readonly dryRun?: boolean;

  /**
   * How long the janitor's logs are kept.
   *
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Customer-managed KMS key that encrypts the janitor's log group.
   *
   * @default - CloudWatch Logs' own encryption at rest
   */
  readonly logEncryptionKey?: kms.IKey;

  /**
   * Create the janitor's alarms: `errorAlarm` (a run reported items it could not delete or deregister),
   * `functionErrorAlarm` (an invocation failed, e.g. was killed by the timeout, and so reported nothing) and
   * `timeoutAlarm` (a run lasted 80 % of the function's timeout or longer).
   *
   * @default true
   */
  readonly errorAlarm?: boolean;

  /**
   * Action of the alarms.
   *
   * @default - no action; add one to each alarm
   */
  readonly alarmAction?: cloudwatch.IAlarmAction;
}

/**
 * Define a scheduled function that cleans up after a `HybridActivationApi`: it deletes the API's activations that
 * are expired or fully used and, optionally, deregisters the API's nodes that have been offline for too long.
 *
 * It only ever touches activations and nodes that carry the API's marker tag. Runs are idempotent and safe to overlap.
 * Each run logs a summary in CloudWatch embedded metric format (namespace `METRICS_NAMESPACE`): `ActivationsDeleted`,
 * `NodesDeregistered`, `NodesSkippedByCap`, `Errors`, and `Deferred` (items left for the next run because the run
 * neared its 5-minute timeout). It works through the listings page by page and, 20 seconds before the timeout, starts
 * no more calls and aborts the one in flight; alarms also watch the function's own errors and durations, which catch
 * a run that never got to log its summary.
 */
export class ActivationJanitor extends Construct {
  /** CloudWatch namespace of the janitor's metrics (dimension `MarkerTagValue`). */
  public static readonly METRICS_NAMESPACE = 'HybridFleet/ActivationJanitor';

  /** The janitor function. */
  public readonly handler: lambda.IFunction;

  /** The schedule rule that runs it. */
  public readonly rule: events.Rule;

  /** Alarm on run errors (the `Errors` metric of the run summary), unless `errorAlarm` is false. */
  public readonly errorAlarm?: cloudwatch.Alarm;

  /**
   * Alarm on failed invocations (the function's own `Errors` metric), unless `errorAlarm` is false. A run that crashes
   * or is killed by the timeout logs no summary, so `errorAlarm` cannot see it.
   */
  public readonly functionErrorAlarm?: cloudwatch.Alarm;

  /** Alarm on a run lasting 80 % of the function's timeout or longer (its `Duration`), unless `errorAlarm` is false. */
  public readonly timeoutAlarm?: cloudwatch.Alarm;

  private readonly markerTagValue: string;

  constructor(scope: Construct, id: string, props: ActivationJanitorProps) {
    super(scope, id);

    const maxDeregistrations = props.maxDeregistrationsPerRun ?? 10;
    checkIntegerRange(this, 'maxDeregistrationsPerRun', maxDeregistrations, 1, 1000);
    checkDurationRange(this, 'deregisterOfflineAfter', props.deregisterOfflineAfter, Duration.minutes(30), Duration.days(365));
    if (props.maxDeregistrationsPerRun !== undefined && props.deregisterOfflineAfter === undefined) {
      fail(this, `\`maxDeregistrationsPerRun\` only applies with \`deregisterOfflineAfter\`; set both or neither, got: ${props.maxDeregistrationsPerRun}`);
    }
    const markerTagValue = props.api.markerTagValue;
    // An API implemented outside this library may carry any string: refuse what a tag value cannot hold.
    checkMarkerTagValue(this, markerTagValue);
    this.markerTagValue = markerTagValue;

    const deregister = props.deregisterOfflineAfter !== undefined;
    const fn = new HandlerFunction(this, 'Handler', {
      handlerName: 'janitor',
      description: `Deletes used or expired activations${deregister ? ' and deregisters long-offline nodes' : ''} of ${markerTagValue}`,
      timeout: JANITOR_TIMEOUT,
      logRetention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
      logEncryptionKey: props.logEncryptionKey,
      environment: {
        MARKER_TAG_KEY: MARKER_TAG_KEY,
        MARKER_TAG_VALUE: markerTagValue,
        DEREGISTER_OFFLINE_AFTER_SECONDS: String(props.deregisterOfflineAfter?.toSeconds() ?? 0),
        MAX_DEREGISTRATIONS_PER_RUN: String(maxDeregistrations),
        DRY_RUN: String(props.dryRun ?? false),
        METRICS_NAMESPACE: ActivationJanitor.METRICS_NAMESPACE,
        ...(props.instanceRole ? { INSTANCE_ROLE_NAME: props.instanceRole.roleName } : {}),
      },
    });
    this.handler = fn.function;

    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'FindAndDeleteActivations',
        // None of these actions supports resource types; the function deletes only activations with the marker tag.
        actions: ['ssm:DescribeActivations', 'ssm:DeleteActivation', ...(deregister ? ['ssm:DescribeInstanceInformation'] : [])],
        resources: ['*'],
      }),
    );
    if (deregister) {
      fn.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'DeregisterMarkedNodes',
          actions: ['ssm:DeregisterManagedInstance'],
          resources: [Stack.of(this).formatArn({ service: 'ssm', resource: 'managed-instance', resourceName: '*', arnFormat: ArnFormat.SLASH_RESOURCE_NAME })],
          conditions: { StringEquals: { [`ssm:resourceTag/${MARKER_TAG_KEY}`]: markerTagValue } },
        }),
      );
    }

    // A failed run is not retried, neither by EventBridge nor by Lambda's own asynchronous retries (2 by default,
    // https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html): the next scheduled run picks
    // up whatever is left, and a run killed by its timeout is not run twice more back to back.
    fn.function.configureAsyncInvoke({ retryAttempts: 0 });
    this.rule = new events.Rule(this, 'Schedule', {
      description: `Runs the activation janitor of ${markerTagValue}`,
      schedule: props.schedule ?? events.Schedule.rate(Duration.hours(1)),
      targets: [new targets.LambdaFunction(fn.function, { retryAttempts: 0 })],
    });

    if (props.errorAlarm ?? true) {
      const alarm = (id: string, metric: cloudwatch.Metric, threshold: number, description: string): cloudwatch.Alarm => {
        const created = metric.createAlarm(this, id, {
          alarmDescription: `The activation janitor ${this.node.path} ${description}`,
          threshold,
          evaluationPeriods: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        });
        if (props.alarmAction) created.addAlarmAction(props.alarmAction);
        else acknowledgeAlarmWithoutAction(created);
        return created;
      };
      this.errorAlarm = alarm('ErrorAlarm', this.metricErrors(), 1, 'could not delete or deregister some items');
      this.functionErrorAlarm = alarm(
        'FunctionErrorAlarm',
        fn.function.metricErrors({ period: Duration.hours(1) }),
        1,
        'failed or was killed by its timeout (such a run logs no summary)',
      );
      this.timeoutAlarm = alarm(
        'TimeoutAlarm',
        fn.function.metricDuration({ statistic: 'Maximum', period: Duration.hours(1) }),
        JANITOR_TIMEOUT.toMilliseconds() * TIMEOUT_ALARM_SHARE,
        `ran for ${TIMEOUT_ALARM_SHARE * 100} % of its ${JANITOR_TIMEOUT.toHumanString()} timeout or longer`,
      );
    }
    acknowledgeHandlerFindings(fn, {
      reservedConcurrency: false,
      logEncryptionKey: props.logEncryptionKey !== undefined,
      asynchronous: true,
      markedNodes: deregister,
    });
  }

  /** Activations deleted per run (sum over 1 hour). */
  public metricActivationsDeleted(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('ActivationsDeleted', props);
  }

  /** Nodes deregistered per run (sum over 1 hour). */
  public metricNodesDeregistered(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('NodesDeregistered', props);
  }

  /** Offline nodes left for a later run because of `maxDeregistrationsPerRun` (sum over 1 hour). */
  public metricNodesSkippedByCap(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('NodesSkippedByCap', props);
  }

  /** Items left for the next run because a run neared its timeout (sum over 1 hour). */
  public metricDeferred(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('Deferred', props);
  }

  /** Items the janitor failed to delete or deregister (sum over 1 hour). */
  public metricErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('Errors', props);
  }

  private metric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: ActivationJanitor.METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { MarkerTagValue: this.markerTagValue },
      statistic: 'Sum',
      period: Duration.hours(1),
      ...props,
    });
  }
}
