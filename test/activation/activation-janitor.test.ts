import { CfnElement, Duration, Lazy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { ActivationJanitor, ActivationJanitorProps, HybridActivationApi, type IHybridActivationApi } from '../../lib';
import { allFindings, testApp } from '../support/gates';
import { resourceOf } from '../support/template';

let stack: Stack;
beforeEach(() => {
  stack = new Stack(testApp(), 'TestStack');
});

/** The janitor takes the API it cleans up after; here one from another app, known by its marker tag value. */
function api(markerTagValue = 'c8abc') {
  return HybridActivationApi.fromHybridActivationApiAttributes(stack, 'Api', { markerTagValue });
}

function build(props: Partial<ActivationJanitorProps> = {}): { janitor: ActivationJanitor; template: Template } {
  const janitor = new ActivationJanitor(stack, 'Janitor', { api: api(), ...props });
  return { janitor, template: Template.fromStack(stack) };
}

function janitorEnv(template: Template): Record<string, string> {
  const fns = Object.values(template.findResources('AWS::Lambda::Function'));
  expect(fns).toHaveLength(1);
  return (fns[0] as { Properties: { Environment: { Variables: Record<string, string> } } }).Properties.Environment.Variables;
}

test('ActivationJanitor: runs hourly, deletes activations only, and deregisters nothing by default', () => {
  const { template } = build();
  template.hasResourceProperties('AWS::Events::Rule', {
    ScheduleExpression: 'rate(1 hour)',
    Targets: [Match.objectLike({ RetryPolicy: { MaximumRetryAttempts: 0 } })],
  });
  // Nor does Lambda retry a failed (or timed-out) asynchronous invocation.
  template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { MaximumRetryAttempts: 0, Qualifier: '$LATEST' });
  expect(janitorEnv(template)).toMatchObject({
    MARKER_TAG_KEY: 'hybrid-fleet:activation-api',
    MARKER_TAG_VALUE: 'c8abc',
    DEREGISTER_OFFLINE_AFTER_SECONDS: '0',
    MAX_DEREGISTRATIONS_PER_RUN: '10',
    DRY_RUN: 'false',
    METRICS_NAMESPACE: 'HybridFleet/ActivationJanitor',
  });
  template.hasResourceProperties('AWS::IAM::Policy', {
    PolicyDocument: {
      Statement: Match.arrayWith([
        Match.objectLike({ Sid: 'FindAndDeleteActivations', Action: ['ssm:DescribeActivations', 'ssm:DeleteActivation'], Resource: '*' }),
      ]),
    },
  });
  expect(JSON.stringify(template.toJSON())).not.toContain('ssm:DeregisterManagedInstance');
});

test('ActivationJanitor: deregisterOfflineAfter lets it deregister only marked nodes, capped per run', () => {
  const { template } = build({ deregisterOfflineAfter: Duration.days(2), maxDeregistrationsPerRun: 25, dryRun: true });
  expect(janitorEnv(template)).toMatchObject({
    DEREGISTER_OFFLINE_AFTER_SECONDS: String(2 * 86400),
    MAX_DEREGISTRATIONS_PER_RUN: '25',
    DRY_RUN: 'true',
  });
  template.hasResourceProperties('AWS::IAM::Policy', {
    PolicyDocument: {
      Statement: Match.arrayWith([
        Match.objectLike({
          Sid: 'DeregisterMarkedNodes',
          Action: 'ssm:DeregisterManagedInstance',
          Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ssm:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':managed-instance/*']] },
          Condition: { StringEquals: { 'ssm:resourceTag/hybrid-fleet:activation-api': 'c8abc' } },
        }),
      ]),
    },
  });
});

test('ActivationJanitor: with instanceRole, the function gets the role name to list only that role\'s activations', () => {
  const role = new iam.Role(stack, 'InstanceRole', { assumedBy: new iam.ServicePrincipal('ssm.amazonaws.com') });
  const { template } = build({ instanceRole: role });
  expect(janitorEnv(template).INSTANCE_ROLE_NAME).toEqual({ Ref: stack.getLogicalId(role.node.defaultChild as iam.CfnRole) });
});

test('ActivationJanitor: without instanceRole, no role name (every activation is listed)', () => {
  const { template } = build();
  expect(janitorEnv(template)).not.toHaveProperty('INSTANCE_ROLE_NAME');
});

test('ActivationJanitor: schedule is configurable', () => {
  const { template } = build({ schedule: events.Schedule.cron({ minute: '15', hour: '3' }) });
  template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'cron(15 3 * * ? *)' });
});

test('ActivationJanitor: an error alarm on its Errors metric, with an optional action', () => {
  const topic = new sns.Topic(stack, 'Topic');
  const { janitor, template } = build({ alarmAction: new cwActions.SnsAction(topic) });
  template.hasResourceProperties('AWS::CloudWatch::Alarm', {
    Namespace: 'HybridFleet/ActivationJanitor',
    MetricName: 'Errors',
    Dimensions: [{ Name: 'MarkerTagValue', Value: 'c8abc' }],
    Statistic: 'Sum',
    Threshold: 1,
    AlarmActions: [{ Ref: Match.stringLikeRegexp('^Topic') }],
  });
  expect(resourceOf(template, janitor, janitor.errorAlarm!.alarmArn)).toMatchObject({
    Type: 'AWS::CloudWatch::Alarm', Properties: { Namespace: 'HybridFleet/ActivationJanitor', MetricName: 'Errors' },
  });
  for (const [metric, name] of [
    [janitor.metricActivationsDeleted(), 'ActivationsDeleted'],
    [janitor.metricNodesDeregistered(), 'NodesDeregistered'],
    [janitor.metricNodesSkippedByCap(), 'NodesSkippedByCap'],
    [janitor.metricDeferred(), 'Deferred'],
    [janitor.metricErrors({ period: Duration.minutes(5) }), 'Errors'],
  ] as const) {
    expect(stack.resolve(metric)).toMatchObject({ namespace: 'HybridFleet/ActivationJanitor', metricName: name, dimensions: { MarkerTagValue: 'c8abc' } });
  }
});

test('ActivationJanitor: alarms on the function\'s own Errors and on a Duration of 80 % of its timeout, with the same action', () => {
  const topic = new sns.Topic(stack, 'Topic');
  const { janitor, template } = build({ alarmAction: new cwActions.SnsAction(topic) });
  const functionName = { Ref: stack.getLogicalId(janitor.handler.node.defaultChild as CfnElement) };
  template.hasResourceProperties('AWS::CloudWatch::Alarm', {
    Namespace: 'AWS/Lambda',
    MetricName: 'Errors',
    Dimensions: [{ Name: 'FunctionName', Value: functionName }],
    Statistic: 'Sum',
    Period: 3600,
    Threshold: 1,
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    TreatMissingData: 'notBreaching',
    AlarmActions: [{ Ref: Match.stringLikeRegexp('^Topic') }],
  });
  template.hasResourceProperties('AWS::Lambda::Function', { Timeout: 300 });
  template.hasResourceProperties('AWS::CloudWatch::Alarm', {
    Namespace: 'AWS/Lambda',
    MetricName: 'Duration',
    Dimensions: [{ Name: 'FunctionName', Value: functionName }],
    Statistic: 'Maximum',
    Period: 3600,
    Threshold: 240_000,
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    TreatMissingData: 'notBreaching',
    AlarmActions: [{ Ref: Match.stringLikeRegexp('^Topic') }],
  });
  template.resourceCountIs('AWS::CloudWatch::Alarm', 3);
  const alarmOf = (alarm: { readonly node: { readonly defaultChild?: unknown } } | undefined) =>
    template.toJSON().Resources[stack.getLogicalId(alarm?.node.defaultChild as CfnElement)]?.Properties;
  expect(alarmOf(janitor.functionErrorAlarm)).toMatchObject({ MetricName: 'Errors', Namespace: 'AWS/Lambda' });
  expect(alarmOf(janitor.timeoutAlarm)).toMatchObject({ MetricName: 'Duration', Statistic: 'Maximum' });
});

test('ActivationJanitor: errorAlarm false creates no alarm', () => {
  const { janitor, template } = build({ errorAlarm: false });
  expect(janitor.errorAlarm).toBeUndefined();
  expect(janitor.functionErrorAlarm).toBeUndefined();
  expect(janitor.timeoutAlarm).toBeUndefined();
  template.resourceCountIs('AWS::CloudWatch::Alarm', 0);
});

test('ActivationJanitor: passes every gate, with node deregistration on', () => {
  build({ deregisterOfflineAfter: Duration.days(1) });
  expect(allFindings(stack.node.root as never)).toEqual([]);
});

test.each([
  [{ deregisterOfflineAfter: Duration.minutes(10) }, /`deregisterOfflineAfter` must be a whole number of seconds from 30 minutes to 365 days, got: 10 minutes/],
  [{ deregisterOfflineAfter: Duration.days(400) }, /`deregisterOfflineAfter` .* got: 400 days/],
  [{ deregisterOfflineAfter: Duration.days(1), maxDeregistrationsPerRun: 0 }, /`maxDeregistrationsPerRun` must be an integer from 1 to 1000, got: 0/],
  [{ maxDeregistrationsPerRun: 5 }, /`maxDeregistrationsPerRun` only applies with `deregisterOfflineAfter`; set both or neither, got: 5/],
] as [Partial<ActivationJanitorProps>, RegExp][])('ActivationJanitor: rejects %j', (props, message) => {
  expect(() => new ActivationJanitor(stack, 'Janitor', { api: api(), ...props })).toThrow(message);
});

test.each([
  ['', /^`markerTagValue` must be 1 to 256 characters long, got: '' \(at TestStack\/Api\)$/],
  ['bad#value', /^`markerTagValue` tag values may contain only letters, numbers, spaces and _ \. : \/ = \+ - @, got: 'bad#value'/],
  ['v'.repeat(257), /^`markerTagValue` tag values must be at most 256 characters long, got 257/],
])('ActivationJanitor: an API from attributes refuses the marker tag value %j, as the API itself does', (value, message) => {
  expect(() => api(value)).toThrow(message);
  expect(() => new HybridActivationApi(new Stack(testApp(), 'Other'), 'Api', { markerTagValue: value })).toThrow(/`markerTagValue`/);
});

test.each([
  ['', /^`markerTagValue` must be 1 to 256 characters long, got: '' \(at TestStack\/Janitor\)$/],
  ['bad#value', /^`markerTagValue` tag values may contain only letters, numbers, spaces and _ \. : \/ = \+ - @, got: 'bad#value' for key 'hybrid-fleet:activation-api' \(at TestStack\/Janitor\)$/],
])('ActivationJanitor: refuses the marker tag value %j of an API implemented outside this library', (value, message) => {
  // Plain JavaScript (or any class implementing the interface) reaches the janitor without the library's checks.
  class OwnApi extends Construct implements IHybridActivationApi {
    public readonly markerTagValue = value;
  }
  expect(() => new ActivationJanitor(stack, 'Janitor', { api: new OwnApi(stack, 'OwnApi') })).toThrow(message);
});

test('ActivationJanitor: takes the API of the same app and cleans up after its marker', () => {
  const realApi = new HybridActivationApi(stack, 'Activations', { markerTagValue: 'fleet-eu', janitor: false });
  new ActivationJanitor(stack, 'Janitor', { api: realApi });
  const template = Template.fromStack(stack);
  const janitorFns = Object.values(template.findResources('AWS::Lambda::Function'))
    .map((f) => (f as { Properties: { Environment: { Variables: Record<string, string> } } }).Properties.Environment.Variables)
    .filter((v) => v.DEREGISTER_OFFLINE_AFTER_SECONDS !== undefined);
  expect(janitorFns).toEqual([expect.objectContaining({ MARKER_TAG_KEY: HybridActivationApi.MARKER_TAG_KEY, MARKER_TAG_VALUE: 'fleet-eu' })]);
});

test('ActivationJanitor: a marker value given as a token is not inspected at synth time', () => {
  new ActivationJanitor(stack, 'Janitor', {
    api: HybridActivationApi.fromHybridActivationApiAttributes(stack, 'Api', { markerTagValue: Lazy.string({ produce: () => 'c8abc' }) }),
  });
  expect(janitorEnv(Template.fromStack(stack))).toMatchObject({ MARKER_TAG_KEY: 'hybrid-fleet:activation-api', MARKER_TAG_VALUE: 'c8abc' });
});
