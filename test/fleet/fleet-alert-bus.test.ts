import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { FleetAlertBus, FleetAlertBusProps } from '../../lib';
import { allFindings, testApp } from '../support/gates';

const ORG = 'o-a1b2c3d4e5';
const DETAIL_TYPES = ['Config Rules Compliance Change', 'Configuration Compliance State Change', 'EC2 State Manager Instance Association State Change'];

let stack: Stack;
beforeEach(() => {
  stack = new Stack(testApp(), 'Central', { env: { account: '111122223333', region: 'eu-west-1' } });
});

function statements(template: Template): any[] {
  return Object.values(template.findResources('AWS::Events::EventBusPolicy')).map((p: any) => p.Properties.Statement);
}

test('the bus admits PutEvents of the alert events from the organization only', () => {
  const alerts = new FleetAlertBus(stack, 'Alerts', { organizationId: ORG });
  const template = Template.fromStack(stack);
  template.hasResourceProperties('AWS::Events::EventBus', { Name: 'hybrid-fleet-alerts' });
  const busArn = stack.resolve(alerts.eventBus.eventBusArn);
  expect(statements(template)).toEqual([{
    Sid: 'cdk-PutAlertsFromOrganization',
    Effect: 'Allow',
    Principal: { AWS: '*' },
    Action: 'events:PutEvents',
    Resource: busArn,
    Condition: {
      'ForAllValues:StringEquals': { 'events:source': ['aws.config', 'aws.ssm'] },
      'StringEquals': { 'events:detail-type': DETAIL_TYPES, 'aws:PrincipalOrgID': ORG },
    },
  }]);
});

test('listed accounts: their root principals, the same conditions, no organization statement', () => {
  const alerts = new FleetAlertBus(stack, 'Alerts', { sourceAccounts: ['444455556666', '777788889999'], eventBusName: 'fleet.alerts' });
  const template = Template.fromStack(stack);
  template.hasResourceProperties('AWS::Events::EventBus', { Name: 'fleet.alerts' });
  const root = (account: string) => ({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:iam::${account}:root`]] });
  expect(statements(template)).toEqual([{
    Sid: 'cdk-PutAlertsFromAccounts',
    Effect: 'Allow',
    Principal: { AWS: [root('444455556666'), root('777788889999')] },
    Action: 'events:PutEvents',
    Resource: stack.resolve(alerts.eventBus.eventBusArn),
    Condition: {
      'ForAllValues:StringEquals': { 'events:source': ['aws.config', 'aws.ssm'] },
      'StringEquals': { 'events:detail-type': DETAIL_TYPES },
    },
  }]);
});

test('rules on the bus format Config, SSM and installer events, naming the member account and Region, to a new topic', () => {
  const alerts = new FleetAlertBus(stack, 'Alerts', { organizationId: ORG });
  const template = Template.fromStack(stack);
  template.resourceCountIs('AWS::SNS::Topic', 1);
  const rules = Object.values(template.findResources('AWS::Events::Rule')) as any[];
  expect(rules).toHaveLength(3);
  const busRef = stack.resolve(alerts.eventBus.eventBusName);
  for (const rule of rules) {
    expect(rule.Properties.EventBusName).toEqual(busRef);
    expect(rule.Properties.Targets).toHaveLength(1);
    expect(rule.Properties.Targets[0].Arn).toEqual(stack.resolve(alerts.topic.topicArn));
    expect(rule.Properties.Targets[0].InputTransformer.InputTemplate).toMatch(/Account <account>, Region <region>/);
    expect(rule.Properties.Targets[0].InputTransformer.InputPathsMap).toMatchObject({ account: '$.account', region: '$.region' });
  }
  const byType = (type: string) => rules.find((r) => r.Properties.EventPattern['detail-type'][0] === type).Properties;
  // The central patterns do not name the members' rules or documents: only forwarded events reach the bus.
  expect(byType('Config Rules Compliance Change').EventPattern.detail).toEqual({
    messageType: ['ComplianceChangeNotification'],
    newEvaluationResult: { complianceType: ['NON_COMPLIANT'] },
    $or: [
      { oldEvaluationResult: { complianceType: [{ 'anything-but': ['NON_COMPLIANT'] }] } },
      { oldEvaluationResult: { complianceType: [{ exists: false }] } },
    ],
  });
  expect(byType('Configuration Compliance State Change').EventPattern.detail).toEqual({ 'compliance-status': ['non_compliant'], 'resource-type': ['managed-instance'] });
  const failed = byType('EC2 State Manager Instance Association State Change');
  expect(failed.EventPattern).toEqual({ 'source': ['aws.ssm'], 'detail-type': ['EC2 State Manager Instance Association State Change'], 'detail': { status: ['Failed'] } });
  expect(failed.Targets[0].InputTransformer.InputTemplate).toMatch(/Failed: association run of <detail-document-name> on node <detail-instance-id>/);
});

test('a given topic is used and no topic is created', () => {
  const topic = new sns.Topic(stack, 'Ops', { enforceSSL: true });
  const alerts = new FleetAlertBus(stack, 'Alerts', { organizationId: ORG, topic });
  expect(alerts.topic).toBe(topic);
  const template = Template.fromStack(stack);
  template.resourceCountIs('AWS::SNS::Topic', 1);
  template.resourceCountIs('AWS::KMS::Key', 0);
  template.allResourcesProperties('AWS::Events::Rule', { Targets: [Match.objectLike({ Arn: stack.resolve(topic.topicArn) })] });
});

describe('validation', () => {
  test.each<[string, FleetAlertBusProps, string]>([
    ['nobody admitted', {}, '`organizationId` or `sourceAccounts` must say which accounts are admitted (the policy never admits every account), got: neither'],
    ['bad org id', { organizationId: 'org-1' }, "`organizationId` must match ^o-[a-z0-9]{10,32}$ (an AWS Organizations id), got: 'org-1'"],
    ['bad account', { sourceAccounts: ['44445555666x'] }, "`sourceAccounts` must hold only 12-digit account ids, got: '44445555666x'"],
    ['default bus', { organizationId: ORG, eventBusName: 'default' }, "`eventBusName` must be 1 to 256 letters, digits, . - and _, and not 'default', got: 'default'"],
    ['bus name with /', { organizationId: ORG, eventBusName: 'a/b' }, "`eventBusName` must be 1 to 256 letters, digits, . - and _, and not 'default', got: 'a/b'"],
  ])('%s', (_, props, message) => {
    expect(() => new FleetAlertBus(stack, 'Alerts', props)).toThrow(`${message} (at Central/Alerts)`);
  });
});

test('FleetAlertBus passes every gate', () => {
  new FleetAlertBus(stack, 'Alerts', { organizationId: ORG, sourceAccounts: ['444455556666'] });
  expect(allFindings(stack.node.root as never)).toEqual([]);
});

test('sourceAccounts [] alone: this account only, no bus policy', () => {
  new FleetAlertBus(stack, 'Alerts', { sourceAccounts: [] });
  const template = Template.fromStack(stack);
  template.resourceCountIs('AWS::Events::EventBusPolicy', 0);
  template.resourceCountIs('AWS::Events::Rule', 3);
});
