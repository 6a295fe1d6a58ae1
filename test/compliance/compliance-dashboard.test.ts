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

describe('sources (central dashboard over members, read through OAM)', () => {
  const SOURCES = [
    { account: '444455556666', region: 'eu-west-1' },
    { account: '777788889999', region: 'eu-west-1' },
    { account: '444455556666', region: 'us-east-1' },
  ];

  beforeEach(() => {
    app = testApp();
    stack = new Stack(app, 'Central', { env: { account: '111122223333', region: 'eu-west-1' } });
  });

  test('metrics off: no function; alarms are MAX/MIN over the sources in this Region, each metric read in its account', () => {
    const { dashboard, template } = build({ metrics: false, sources: SOURCES });
    expect(dashboard.handler).toBeUndefined();
    template.resourceCountIs('AWS::Lambda::Function', 0);
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')) as any[];
    expect(alarms).toHaveLength(3);
    const critical = alarms.find((a) => a.Properties.Threshold === 0).Properties;
    expect(critical.MetricName).toBeUndefined();
    const expression = critical.Metrics.find((m: any) => m.Expression);
    expect(expression.Expression).toBe('MAX([m0, m1])');
    expect(critical.Metrics.filter((m: any) => m.MetricStat).map((m: any) => [m.AccountId, m.MetricStat.Metric.Dimensions])).toEqual([
      ['444455556666', [{ Name: 'Severity', Value: 'CRITICAL' }]],
      ['777788889999', [{ Name: 'Severity', Value: 'CRITICAL' }]],
    ]);
    const scan = alarms.find((a) => a.Properties.TreatMissingData === 'breaching').Properties;
    expect(scan.Metrics.find((m: any) => m.Expression).Expression).toBe('MIN([FILL(m0, 0), FILL(m1, 0)])');
  });

  test('the widgets show every source, other Regions included, labelled account and Region', () => {
    const { template } = build({ metrics: false, sources: SOURCES });
    const body = dashboardBody(template);
    const titles = body.widgets.map((w: any) => w.properties.title);
    expect(titles).toEqual(['Compliant % per source', 'Alarms', 'Compliance % per source', 'enforce-mode compliance % per source', 'Critical nodes per source', 'Nodes offline per source']);
    const graph = body.widgets.find((w: any) => w.properties.title === 'Compliance % per source').properties;
    expect(graph.metrics.map((m: any) => [m[0], m[1], m[2].label, m[2].accountId, m[2].region])).toEqual([
      ['HybridFleet/Compliance', 'CompliancePercent', '444455556666 eu-west-1', '444455556666', 'eu-west-1'],
      ['HybridFleet/Compliance', 'CompliancePercent', '777788889999 eu-west-1', '777788889999', 'eu-west-1'],
      ['HybridFleet/Compliance', 'CompliancePercent', '444455556666 us-east-1', '444455556666', 'us-east-1'],
    ]);
  });

  test('metrics on: this account is a source too, with its own function and worst-node table', () => {
    const { dashboard, template } = build({ sources: [SOURCES[0], { account: '111122223333', region: 'eu-west-1' }] });
    expect(dashboard.handler).toBeDefined();
    const critical = (Object.values(template.findResources('AWS::CloudWatch::Alarm')) as any[]).find((a) => a.Properties.Threshold === 0).Properties;
    // The central's own source is the local metric (no AccountId), listed once.
    expect(critical.Metrics.filter((m: any) => m.MetricStat).map((m: any) => m.AccountId)).toEqual([undefined, '444455556666']);
    const body = dashboardBody(template);
    expect(body.widgets.at(-1).type).toBe('log');
    expect(body.widgets[2].properties.metrics.map((m: any) => m.at(-1).label)).toEqual(['111122223333 eu-west-1', '444455556666 eu-west-1']);
  });

  test('a stack without an explicit Region cannot tell which sources its alarms may read', () => {
    const agnostic = new Stack(app, 'Agnostic');
    expect(() => new ComplianceDashboard(agnostic, 'Risk', { metrics: false, sources: SOURCES })).toThrow(
      "`sources` must include an account in this stack's Region, which the alarms watch (CloudWatch alarms read only their own Region's metrics), got: a stack without an explicit Region (give it env.region) (at Agnostic/Risk)",
    );
  });

  test.each<[string, ComplianceDashboardProps, string]>([
    ['metrics off, no sources', { metrics: false }, '`metrics` is off and no `sources` are given: the dashboard would show nothing, got: metrics false'],
    ['empty sources', { sources: [] }, '`sources` must list at least one account and Region (omit it for this account only), got: []'],
    ['bad account', { sources: [{ account: '4444', region: 'eu-west-1' }] }, "`sources[0].account` must be a 12-digit account id, got: '4444'"],
    ['bad region', { sources: [{ account: '444455556666', region: 'Ireland' }] }, "`sources[0].region` must be a Region code such as eu-west-1, got: 'Ireland'"],
    ['none in this Region', { metrics: false, sources: [SOURCES[2]] },
      "`sources` must include an account in this stack's Region, which the alarms watch (CloudWatch alarms read only their own Region's metrics), got: no source in eu-west-1"],
    ['twice', { sources: [SOURCES[0], SOURCES[0]] }, '`sources` must not list an account and Region twice, got: 444455556666 eu-west-1 twice'],
    ['too many in this Region', { metrics: false, sources: Array.from({ length: 11 }, (_, i) => ({ account: `4444555566${String(i).padStart(2, '0')}`, region: 'eu-west-1' })) },
      "`sources` in this stack's Region must be at most 10 (each alarm reads one metric per source), got: 11; split them over several dashboards"],
  ])('rejects %s', (_, props, message) => {
    expect(() => new ComplianceDashboard(stack, 'Risk', props)).toThrow(`${message} (at Central/Risk)`);
  });

  test('passes every gate as a central dashboard', () => {
    build({ metrics: false, sources: SOURCES, alarmTopic: new sns.Topic(stack, 'Topic', { enforceSSL: true, masterKey: customerKey(stack) }) });
    expect(allFindings(app)).toEqual([]);
  });
});
