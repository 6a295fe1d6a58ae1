import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { FleetObservabilitySink, FleetObservabilitySinkProps } from '../../lib';
import { allFindings, testApp } from '../support/gates';
import { resourceOf } from '../support/template';

const ORG = 'o-a1b2c3d4e5';
const ACTIONS = ['oam:CreateLink', 'oam:UpdateLink'];
const METRICS_ONLY = { 'ForAllValues:StringEquals': { 'oam:ResourceTypes': ['AWS::CloudWatch::Metric'] } };

let stack: Stack;
beforeEach(() => {
  stack = new Stack(testApp(), 'Central', { env: { account: '111122223333', region: 'eu-west-1' } });
});

function policy(props: FleetObservabilitySinkProps): any {
  const sink = new FleetObservabilitySink(stack, 'Sink', props);
  const template = Template.fromStack(stack);
  expect(resourceOf(template, sink, sink.sinkArn).Type).toBe('AWS::Oam::Sink');
  return resourceOf(template, sink, sink.sinkArn).Properties!.Policy;
}

test('an organization: anyone in it may create or update a link sharing metrics only', () => {
  expect(policy({ organizationId: ORG })).toEqual({
    Version: '2012-10-17',
    Statement: [{
      Sid: 'LinkFromOrganization', Effect: 'Allow', Principal: '*', Action: ACTIONS, Resource: '*',
      Condition: { ...METRICS_ONLY, StringEquals: { 'aws:PrincipalOrgID': ORG } },
    }],
  });
  Template.fromStack(stack).hasResourceProperties('AWS::Oam::Sink', { Name: 'hybrid-fleet' });
});

test('accounts: only those accounts, metrics only', () => {
  expect(policy({ sourceAccounts: ['444455556666', '777788889999'] }).Statement).toEqual([{
    Sid: 'LinkFromAccounts', Effect: 'Allow', Principal: { AWS: ['444455556666', '777788889999'] }, Action: ACTIONS, Resource: '*', Condition: METRICS_ONLY,
  }]);
});

test('both, with log groups and a name', () => {
  const statements = policy({ organizationId: ORG, sourceAccounts: ['444455556666'], logs: true, sinkName: 'fleet.sink_1' }).Statement;
  const types = { 'ForAllValues:StringEquals': { 'oam:ResourceTypes': ['AWS::CloudWatch::Metric', 'AWS::Logs::LogGroup'] } };
  expect(statements.map((s: any) => [s.Sid, s.Condition])).toEqual([
    ['LinkFromOrganization', { ...types, StringEquals: { 'aws:PrincipalOrgID': ORG } }],
    ['LinkFromAccounts', types],
  ]);
  Template.fromStack(stack).hasResourceProperties('AWS::Oam::Sink', { Name: 'fleet.sink_1' });
});

describe('validation', () => {
  test.each<[string, FleetObservabilitySinkProps, string]>([
    ['nobody admitted', {}, '`organizationId` or `sourceAccounts` must say which accounts are admitted (the policy never admits every account), got: neither'],
    ['bad org id', { organizationId: 'o-ABC' }, "`organizationId` must match ^o-[a-z0-9]{10,32}$ (an AWS Organizations id), got: 'o-ABC'"],
    ['bad account', { sourceAccounts: ['1234'] }, "`sourceAccounts` must hold only 12-digit account ids, got: '1234'"],
    ['duplicate account', { sourceAccounts: ['444455556666', '444455556666'] }, "`sourceAccounts` must not list a value twice, got: '444455556666' more than once"],
    ['no account', { sourceAccounts: [] }, '`sourceAccounts` must list at least one 12-digit account id, got: []'],
    ['bad name', { organizationId: ORG, sinkName: 'my sink' }, "`sinkName` must be 1 to 255 letters, digits, _ . and -, got: 'my sink'"],
  ])('%s', (_, props, message) => {
    expect(() => new FleetObservabilitySink(stack, 'Sink', props)).toThrow(`${message} (at Central/Sink)`);
  });
});

test('FleetObservabilitySink passes every gate', () => {
  new FleetObservabilitySink(stack, 'Sink', { organizationId: ORG, sourceAccounts: ['444455556666'] });
  expect(allFindings(stack.node.root as never)).toEqual([]);
});
