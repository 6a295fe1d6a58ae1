import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { ComplianceDashboard, ComplianceMetrics } from '../../lib';
import { allFindings, testApp } from '../support/gates';
import { resourceOf } from '../support/template';

let stack: Stack;
beforeEach(() => {
  stack = new Stack(testApp(), 'Member');
});

test('the producer alone: the function, its schedule and log group, and no dashboard or alarm', () => {
  const metrics = new ComplianceMetrics(stack, 'Metrics', { topNodes: 5, modeTagKey: 'Rollout' });
  const template = Template.fromStack(stack);
  expect(resourceOf(template, metrics, metrics.handler.functionArn).Type).toBe('AWS::Lambda::Function');
  expect(resourceOf(template, metrics, metrics.logGroup.logGroupName).Type).toBe('AWS::Logs::LogGroup');
  expect(resourceOf(template, metrics, metrics.rule.ruleArn).Properties!.ScheduleExpression).toBe('rate(1 hour)');
  template.hasResourceProperties('AWS::Lambda::Function', {
    Environment: { Variables: Match.objectLike({ METRICS_NAMESPACE: 'HybridFleet/Compliance', MODE_TAG_KEY: 'Rollout', TOP_NODES: '5' }) },
  });
  template.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
  template.resourceCountIs('AWS::CloudWatch::Alarm', 0);
  expect(ComplianceMetrics.METRICS_NAMESPACE).toBe(ComplianceDashboard.METRICS_NAMESPACE);
});

test('validates like the dashboard, naming its own path', () => {
  expect(() => new ComplianceMetrics(stack, 'Metrics', { topNodes: 101 })).toThrow('`topNodes` must be an integer from 0 to 100, got: 101 (at Member/Metrics)');
});

test('ComplianceMetrics passes every gate', () => {
  new ComplianceMetrics(stack, 'Metrics');
  expect(allFindings(stack.node.root as never)).toEqual([]);
});
