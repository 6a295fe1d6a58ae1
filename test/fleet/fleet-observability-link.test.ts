import { Aws, CfnMapping, Stack, Token } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { FleetObservabilityLink } from '../../lib';
import { allFindings, testApp } from '../support/gates';
import { resourceOf } from '../support/template';

const SINK = 'arn:aws:oam:eu-west-1:111122223333:sink/f3b0c1d2-1234-4abc-9def-0123456789ab';

let stack: Stack;
beforeEach(() => {
  stack = new Stack(testApp(), 'Member', { env: { account: '444455556666', region: 'eu-west-1' } });
});

test('shares metrics only with the sink, labelled by account name', () => {
  const link = new FleetObservabilityLink(stack, 'Link', { sinkArn: SINK });
  const template = Template.fromStack(stack);
  template.resourceCountIs('AWS::Oam::Link', 1);
  template.hasResourceProperties('AWS::Oam::Link', {
    SinkIdentifier: SINK,
    ResourceTypes: ['AWS::CloudWatch::Metric'],
    LabelTemplate: '$AccountName',
  });
  expect(resourceOf(template, link, link.linkArn).Type).toBe('AWS::Oam::Link');
});

test('logs: true also shares log groups; a label template is passed as given', () => {
  new FleetObservabilityLink(stack, 'Link', { sinkArn: SINK, logs: true, labelTemplate: 'fleet-$AccountEmailNoDomain' });
  Template.fromStack(stack).hasResourceProperties('AWS::Oam::Link', {
    ResourceTypes: ['AWS::CloudWatch::Metric', 'AWS::Logs::LogGroup'],
    LabelTemplate: 'fleet-$AccountEmailNoDomain',
  });
});

test('a token sink ARN (a parameter, a mapping) is not inspected', () => {
  const sinks = new CfnMapping(stack, 'Sinks', { mapping: { 'eu-west-1': { arn: SINK } } });
  const arn = sinks.findInMap(Aws.REGION, 'arn');
  expect(Token.isUnresolved(arn)).toBe(true);
  new FleetObservabilityLink(stack, 'Link', { sinkArn: arn });
  Template.fromStack(stack).hasResourceProperties('AWS::Oam::Link', { SinkIdentifier: stack.resolve(arn) });
});

test.each([
  ['a link ARN', 'arn:aws:oam:eu-west-1:111122223333:link/abc'],
  ['an account id of 11 digits', 'arn:aws:oam:eu-west-1:11112222333:sink/abc'],
  ['no Region', 'arn:aws:oam::111122223333:sink/abc'],
  ['a sink id alone', 'f3b0c1d2-1234-4abc-9def-0123456789ab'],
  ['another service', 'arn:aws:logs:eu-west-1:111122223333:sink/abc'],
])('rejects %s as sinkArn, naming the prop, the value and the shape', (_, sinkArn) => {
  expect(() => new FleetObservabilityLink(stack, 'Link', { sinkArn })).toThrow(
    `\`sinkArn\` must be the ARN of an OAM sink (arn:aws:oam:<region>:<12-digit account>:sink/<sink-id>), got: '${sinkArn}' (at Member/Link)`,
  );
});

test('accepts a sink in another partition', () => {
  expect(() => new FleetObservabilityLink(stack, 'Link', { sinkArn: 'arn:aws-us-gov:oam:us-gov-west-1:111122223333:sink/abc-1' })).not.toThrow();
});

test('rejects a label template over 64 characters or empty', () => {
  expect(() => new FleetObservabilityLink(stack, 'Link', { sinkArn: SINK, labelTemplate: 'x'.repeat(65) }))
    .toThrow('`labelTemplate` must be 1 to 64 characters long, got: 65 characters');
  expect(() => new FleetObservabilityLink(stack, 'Empty', { sinkArn: SINK, labelTemplate: '' }))
    .toThrow('`labelTemplate` must be 1 to 64 characters long, got: 0 characters');
});

test('FleetObservabilityLink passes every gate', () => {
  new FleetObservabilityLink(stack, 'Link', { sinkArn: SINK, logs: true });
  expect(allFindings(stack.node.root as never)).toEqual([]);
});
