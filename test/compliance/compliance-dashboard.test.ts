import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { ComplianceDashboard, ComplianceDashboardProps, PatchGroupTagKey } from '../../lib';
import { allFindings, testApp } from '../support/gates';
import { customerKey } from '../support/kms';

let app: App;
let stack: Stack;
beforeEach(() => {
  app = testApp();
  stack = new Stack(app, 'TestStack');
});

function build(props: ComplianceDashboardProps = {}): { dashboard: ComplianceDashboard; template: Template } {
  const dashboard = new ComplianceDashboard(stack, 'Risk', props);
  return { dashboard, template: Template.fromStack(stack) };
}

function env(template: Template): Record<string, unknown> {
  const fns = Object.values(template.findResources('AWS::Lambda::Function'));
  expect(fns).toHaveLength(1);
  return (fns[0] as any).Properties.Environment.Variables;
}

/** The dashboard body with the stack's pseudo parameters and references flattened. */
function dashboardBody(template: Template): any {
  const [dash] = Object.values(template.findResources('AWS::CloudWatch::Dashboard')) as any[];
  const parts: unknown[] = dash.Properties.DashboardBody['Fn::Join'][1];
  return JSON.parse(parts.map((p) => (typeof p === 'string' ? p : 'REF')).join(''));
}

test('defaults: hourly run, the patching tag keys, the function environment and a one-year log group', () => {
  const { template } = build();
  template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 hour)', Targets: [Match.objectLike({ RetryPolicy: { MaximumRetryAttempts: 0 } })] });
  template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { MaximumRetryAttempts: 0 });
  expect(env(template)).toMatchObject({
    METRICS_NAMESPACE: 'HybridFleet/Compliance', PATCH_GROUP_TAG_KEY: 'PatchGroup', MODE_TAG_KEY: 'PatchMode',
    MODE_VALUES: '["report","enforce"]', AGENT_COMPLIANCE_TYPES: '[]', MAX_PATCH_GROUPS: '10', TOP_NODES: '20',
  });
  template.hasResourceProperties('AWS::Lambda::Function', { Runtime: 'nodejs24.x', Timeout: 600, TracingConfig: { Mode: 'Active' } });
  template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 365 });
});

test('least privilege: the two List/Describe actions on *, tag reads on managed instances only, nothing else of SSM', () => {
  const { template } = build();
  const policies = Object.values(template.findResources('AWS::IAM::Policy')) as any[];
  const statements = policies.flatMap((p) => p.Properties.PolicyDocument.Statement);
  const ssm = statements.filter((s) => [s.Action].flat().some((a: string) => a.startsWith('ssm:')));
  expect(ssm).toEqual([
    { Sid: 'ReadFleetCompliance', Effect: 'Allow', Action: ['ssm:DescribeInstanceInformation', 'ssm:ListResourceComplianceSummaries'], Resource: '*' },
    {
      Sid: 'ReadNodeTags', Effect: 'Allow', Action: 'ssm:ListTagsForResource',
      Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ssm:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':managed-instance/*']] },
    },
  ]);
});

test('alarms: critical > 0, enforce compliance under the threshold, incomplete or missing runs; all to the topic', () => {
  const topic = new sns.Topic(stack, 'Topic');
  const { template } = build({ alarmTopic: topic, enforceComplianceThreshold: 90, enforceModeValue: 'patch-me', interval: Duration.minutes(30) });
  const topicRef = { Ref: stack.getLogicalId(topic.node.defaultChild as never) };
  template.hasResourceProperties('AWS::CloudWatch::Alarm', {
    MetricName: 'NonCompliantNodes', Namespace: 'HybridFleet/Compliance', Dimensions: [{ Name: 'Severity', Value: 'CRITICAL' }],
    Threshold: 0, ComparisonOperator: 'GreaterThanThreshold', Period: 1800, AlarmActions: [topicRef], OKActions: [topicRef],
  });
  template.hasResourceProperties('AWS::CloudWatch::Alarm', {
    MetricName: 'CompliancePercent', Dimensions: [{ Name: 'Mode', Value: 'patch-me' }], Statistic: 'Minimum',
    Threshold: 90, ComparisonOperator: 'LessThanThreshold', TreatMissingData: 'notBreaching', AlarmActions: [topicRef],
  });
  template.hasResourceProperties('AWS::CloudWatch::Alarm', {
    MetricName: 'ScanComplete', Dimensions: Match.absent(), Threshold: 1, ComparisonOperator: 'LessThanThreshold', TreatMissingData: 'breaching',
  });
  template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(30 minutes)' });
});

test('the dashboard graphs compliance per patch group and mode, severities, the progression, agents and the worst nodes', () => {
  const { template } = build({ agentComplianceTypes: ['Custom:CrowdStrikeFalcon'], topNodes: 15 });
  const body = dashboardBody(template);
  const titles = body.widgets.map((w: any) => w.properties.title);
  expect(titles).toEqual([
    'Fleet now', 'Alarms', 'Compliance % per patch group and mode', 'Compliance % by mode', 'Report → enforce progression (nodes by mode)',
    'Non-compliant nodes by worst severity', 'Non-compliant nodes by type, severity, group and mode',
    'Agent coverage % and nodes online', 'Worst non-compliant nodes (latest run per node, top 15)',
  ]);
  const byTitle = (t: string) => body.widgets.find((w: any) => w.properties.title === t).properties;
  expect(JSON.stringify(byTitle('Compliance % per patch group and mode').metrics)).toContain(
    `SEARCH('{HybridFleet/Compliance,Mode,PatchGroup} MetricName=\\"CompliancePercent\\"', 'Maximum', 3600)`,
  );
  const progression = byTitle('Report → enforce progression (nodes by mode)');
  expect(progression.stacked).toBe(true);
  expect(progression.metrics.map((m: any) => m[3])).toEqual(['enforce', 'report', '(untagged)', '(ec2)', '(other)']);
  expect(byTitle('Non-compliant nodes by worst severity').metrics.map((m: any) => m[3])).toEqual(['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFORMATIONAL', 'UNSPECIFIED']);
  expect(byTitle('Agent coverage % and nodes online').metrics[0]).toEqual(expect.arrayContaining(['AgentCoveragePercent', 'ComplianceType', 'Custom:CrowdStrikeFalcon']));
  const table = body.widgets.find((w: any) => w.type === 'log').properties;
  expect(table.query).toMatch(/filter message = "non-compliant node"\s*\| stats [\s\S]* by instanceId\s*\| sort criticalItems desc[\s\S]*\| limit 15$/);
  expect(env(template)).toMatchObject({ AGENT_COMPLIANCE_TYPES: '["Custom:CrowdStrikeFalcon"]', TOP_NODES: '15' });
});

test('topNodes 0 drops the table; other tag keys reach the function', () => {
  const { template } = build({ topNodes: 0, patchGroupTagKey: PatchGroupTagKey.PATCH_GROUP_WITH_SPACE, modeTagKey: 'Rollout', reportModeValue: 'watch' });
  expect(dashboardBody(template).widgets.filter((w: any) => w.type === 'log')).toEqual([]);
  expect(env(template)).toMatchObject({ PATCH_GROUP_TAG_KEY: 'Patch Group', MODE_TAG_KEY: 'Rollout', MODE_VALUES: '["watch","enforce"]' });
});

describe('validation', () => {
  test.each<[string, ComplianceDashboardProps, RegExp]>([
    ['interval too short', { interval: Duration.minutes(5) }, /`interval` must be a whole number of seconds from 15 minutes to 1 day, got: 5 minutes/],
    ['interval too long', { interval: Duration.days(2) }, /`interval` must be .* got: 2 days/],
    ['interval not whole minutes', { interval: Duration.seconds(1230) }, /`interval` must be a whole number of minutes, got: 20 minutes 30 seconds/],
    ['threshold over 100', { enforceComplianceThreshold: 101 }, /`enforceComplianceThreshold` must be a number from 0 to 100, got: 101/],
    ['threshold negative', { enforceComplianceThreshold: -1 }, /`enforceComplianceThreshold` must be a number from 0 to 100, got: -1/],
    ['maxPatchGroups 0', { maxPatchGroups: 0 }, /`maxPatchGroups` must be an integer from 1 to 100, got: 0/],
    ['topNodes 101', { topNodes: 101 }, /`topNodes` must be an integer from 0 to 100, got: 101/],
    ['mode tag key', { modeTagKey: 'aws:mode' }, /`modeTagKey` tag keys must not start with the reserved prefix 'aws:'/],
    ['same mode values', { reportModeValue: 'enforce' }, /`reportModeValue` and `enforceModeValue` must differ, got: 'enforce' for both/],
    ['empty mode value', { enforceModeValue: '' }, /`enforceModeValue` must not be empty/],
    ['agent type', { agentComplianceTypes: ['Falcon*'] }, /`agentComplianceTypes` entries must be 'Custom:<name>'.*got: 'Falcon\*'/],
    ['too many agent types', { agentComplianceTypes: Array.from({ length: 11 }, (_, i) => `Custom:A${i}`) }, /at most 10 compliance types, got: 11/],
    ['patch group key', { patchGroupTagKey: 'Group' as PatchGroupTagKey }, /`patchGroupTagKey` must be one of 'PatchGroup', 'Patch Group'.*got: 'Group'/],
  ])('%s', (_name, props, message) => {
    expect(() => new ComplianceDashboard(stack, 'Risk', props)).toThrow(message);
  });

  test('errors name the construct path', () => {
    expect(() => new ComplianceDashboard(stack, 'Risk', { topNodes: -1 })).toThrow(/\(at TestStack\/Risk\)/);
  });
});

describe('gates', () => {
  test('passes every gate with the defaults', () => {
    build();
    expect(allFindings(app)).toEqual([]);
  });

  test('passes every gate with a topic, a log key and an explicit environment', () => {
    app = testApp();
    stack = new Stack(app, 'Explicit', { env: { account: '111122223333', region: 'eu-west-1' } });
    const key = customerKey(stack);
    build({ alarmTopic: new sns.Topic(stack, 'Topic', { enforceSSL: true, masterKey: key }), logEncryptionKey: key });
    expect(allFindings(app)).toEqual([]);
  });
});
