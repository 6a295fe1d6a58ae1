import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { ComplianceTopic } from '../../lib';
import { allFindings, testApp } from '../support/gates';
import { customerKey } from '../support/kms';

let stack: Stack;
beforeEach(() => {
  stack = new Stack(testApp(), 'Member');
});

test('a customer-managed, rotated key that EventBridge may use, and a TLS-only topic', () => {
  const topic = new ComplianceTopic(stack, 'Topic');
  const template = Template.fromStack(stack);
  template.hasResourceProperties('AWS::KMS::Key', {
    EnableKeyRotation: true,
    KeyPolicy: {
      Statement: Match.arrayWith([
        Match.objectLike({
          Effect: 'Allow',
          Principal: { Service: 'events.amazonaws.com' },
          Action: ['kms:GenerateDataKey*', 'kms:Decrypt'],
        }),
        Match.objectLike({ Effect: 'Deny', Action: 'kms:CreateGrant' }),
      ]),
    },
  });
  template.hasResourceProperties('AWS::SNS::Topic', {
    KmsMasterKeyId: stack.resolve(topic.encryptionKey.keyArn),
    DisplayName: 'Fleet compliance',
  });
  template.hasResourceProperties('AWS::SNS::TopicPolicy', {
    PolicyDocument: {
      Statement: Match.arrayWith([
        Match.objectLike({ Effect: 'Deny', Action: 'sns:Publish', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      ]),
    },
  });
});

test('a given key is used as is', () => {
  const key = customerKey(stack);
  new ComplianceTopic(stack, 'Topic', { encryptionKey: key });
  const template = Template.fromStack(stack);
  template.resourceCountIs('AWS::KMS::Key', 1);
  template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: stack.resolve(key.keyArn) });
});

test('rejects a display name over 100 characters', () => {
  expect(() => new ComplianceTopic(stack, 'Topic', { displayName: 'x'.repeat(101) })).toThrow(/`displayName` must be at most 100 characters long, got: 101/);
});

test('ComplianceTopic passes every gate', () => {
  new ComplianceTopic(stack, 'Topic');
  expect(allFindings(stack.node.root as never)).toEqual([]);
});
