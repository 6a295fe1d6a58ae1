import { Lazy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import { NodeRemediationRunbook, RemediatedComplianceType } from '../../lib';
import { readDocument } from '../../lib/private/documents';
import { FakeAws, parseRunbook, runAutomation } from '../support/automation';
import { allFindings, testApp } from '../support/gates';

let stack: Stack;
beforeEach(() => {
  stack = new Stack(testApp(), 'Member');
});

const policyStatements = (template: Template) =>
  Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement);

test('the document is the YAML file, read at synth time with its script embedded, as an Automation runbook', () => {
  const runbook = new NodeRemediationRunbook(stack, 'Runbook');
  const template = Template.fromStack(stack);
  template.hasResourceProperties('AWS::SSM::Document', {
    DocumentType: 'Automation',
    DocumentFormat: 'YAML',
    UpdateMethod: 'NewVersion',
    Content: readDocument('compliance', 'remediate-node.yaml'),
  });
  expect(stack.resolve(runbook.documentName)).toEqual({ Ref: stack.getLogicalId(runbook.document) });
});

test('the synthesized runbook executes: an enforce-mode hybrid node gets AWS-RunPatchBaseline Install', () => {
  new NodeRemediationRunbook(stack, 'Runbook');
  const [document] = Object.values(Template.fromStack(stack).findResources('AWS::SSM::Document'));
  const aws = new FakeAws()
    .on('ssm', 'ListTagsForResource', { TagList: [{ Key: 'PatchMode', Value: 'enforce' }] })
    .on('ssm', 'SendCommand', { Command: { CommandId: 'c-1', Status: 'Success' } });
  const result = runAutomation(parseRunbook(document.Properties.Content), {
    aws,
    parameters: { NodeId: 'AWS::SSM::ManagedInstanceInventory/mi-0123456789abcdef0' },
  });
  expect(result.status).toBe('Success');
  expect(aws.callsTo('ssm', 'SendCommand').map((c) => c.params.DocumentName)).toEqual(['AWS-RunPatchBaseline']);
});

test('the automation role reads tags and sends the two documents only to enforce-mode nodes', () => {
  const runbook = new NodeRemediationRunbook(stack, 'Runbook', { modeTagKey: 'Mode', enforceModeValue: 'fix' });
  const template = Template.fromStack(stack);
  template.hasResourceProperties('AWS::IAM::Role', {
    AssumeRolePolicyDocument: {
      Statement: [
        Match.objectLike({
          Principal: { Service: 'ssm.amazonaws.com' },
          Condition: Match.objectLike({ StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } }),
        }),
      ],
    },
  });
  const statements = policyStatements(template);
  const sendToNodes = statements.find((s) => s.Action === 'ssm:SendCommand' && s.Condition);
  expect(sendToNodes.Condition).toEqual({ StringEquals: { 'ssm:resourceTag/Mode': 'fix' } });
  expect(JSON.stringify(sendToNodes.Resource)).toMatch(/instance\/\*.*managed-instance\/\*/);
  const sendDocuments = statements.find((s) => s.Action === 'ssm:SendCommand' && !s.Condition);
  expect(JSON.stringify(sendDocuments.Resource)).toMatch(/::document\/AWS-RunPatchBaseline.*::document\/AWS-RefreshAssociation/);
  expect(statements).toContainEqual({
    Effect: 'Allow',
    Action: 'iam:PassRole',
    Resource: stack.resolve(runbook.role.roleArn),
    Condition: { StringEquals: { 'iam:PassedToService': 'ssm.amazonaws.com' } },
  });
  expect(statements).toContainEqual(expect.objectContaining({ Action: 'ssm:ListTagsForResource', Resource: expect.objectContaining({}) }));
  // Nothing else: no ssm:* or iam:* wildcards.
  expect(statements.flatMap((s) => [s.Action].flat())).not.toEqual(expect.arrayContaining([expect.stringMatching(/\*$/)]));
});

test('static parameters name the compliance type, the mode tag and the role', () => {
  const runbook = new NodeRemediationRunbook(stack, 'Runbook');
  expect(stack.resolve(runbook.staticParameters(RemediatedComplianceType.ASSOCIATION))).toEqual({
    ComplianceType: 'Association',
    ModeTagKey: 'PatchMode',
    EnforceValue: 'enforce',
    RebootOption: 'RebootIfNeeded',
    AutomationAssumeRole: stack.resolve(runbook.role.roleArn),
  });
});

test('the EventBridge target shares one role between rules', () => {
  const runbook = new NodeRemediationRunbook(stack, 'Runbook');
  const pattern = { source: ['aws.ssm'] };
  new events.Rule(stack, 'A', { eventPattern: pattern, targets: [runbook.complianceEventTarget()] });
  new events.Rule(stack, 'B', { eventPattern: pattern, targets: [runbook.complianceEventTarget()] });
  const template = Template.fromStack(stack);
  template.resourceCountIs('AWS::IAM::Role', 2);
  template.hasResourceProperties('AWS::IAM::Role', {
    AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'events.amazonaws.com' } })] },
  });
});

test.each<[string, object, RegExp]>([
  ['an empty enforce value', { enforceModeValue: '' }, /`enforceModeValue` must not be empty/],
  ['a mode tag key with +', { modeTagKey: 'Patch+Mode' }, /`modeTagKey` tag keys must not contain '\+'/],
  ['a token mode tag key', { modeTagKey: Lazy.string({ produce: () => 'PatchMode' }) }, /`modeTagKey` must be a literal/],
])('rejects %s', (_name, props, message) => {
  expect(() => new NodeRemediationRunbook(stack, 'Runbook', props)).toThrow(message);
});

test('NodeRemediationRunbook passes every gate, with its EventBridge target', () => {
  const runbook = new NodeRemediationRunbook(stack, 'Runbook');
  new events.Rule(stack, 'Remediate', { eventPattern: { source: ['aws.ssm'] }, targets: [runbook.complianceEventTarget()] });
  expect(allFindings(stack.node.root as never)).toEqual([]);
});
