import { readFileSync } from 'fs';
import * as path from 'path';
import { readDocument } from '../../lib/private/documents';
import { AutomationResult, FakeAws, parseRunbook, runAutomation, runPythonHandler } from '../support/automation';

// The remediation runbook, executed: the same text the construct puts into AWS::SSM::Document, run by the test
// interpreter against a fake AWS, with its script steps run by python3.

const RUNBOOK = parseRunbook(readDocument('compliance', 'remediate-node.yaml'));
const SCRIPT = readFileSync(path.join(__dirname, '..', '..', 'documents', 'compliance', 'remediate-node.py'), 'utf8');
const MI = 'mi-0123456789abcdef0';
const I = 'i-0123456789abcdef0';

function managedNode(tags: Record<string, string>): FakeAws {
  return new FakeAws()
    .on('ssm', 'ListTagsForResource', { TagList: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) })
    .on('ssm', 'SendCommand', (params: Record<string, unknown>) => ({
      Command: { CommandId: `cmd-${String(params.DocumentName)}`, Status: 'Success' },
    }));
}

function ec2Instance(modeTag?: string): FakeAws {
  return new FakeAws()
    .on('ec2', 'DescribeTags', { Tags: modeTag === undefined ? [] : [{ Key: 'PatchMode', Value: modeTag, ResourceId: I, ResourceType: 'instance' }] })
    .on('ssm', 'SendCommand', (params: Record<string, unknown>) => ({
      Command: { CommandId: `cmd-${String(params.DocumentName)}`, Status: 'Success' },
    }));
}

const sent = (aws: FakeAws) => aws.callsTo('ssm', 'SendCommand').map((c) => c.params);
const reported = (result: AutomationResult) => result.outputs['NotRemediated.Message'];

test('the script is embedded in place of every #include line', () => {
  const scripts = RUNBOOK.mainSteps.filter((s) => s.action === 'aws:executeScript').map((s) => s.inputs?.Script);
  expect(scripts).toHaveLength(4);
  for (const script of scripts) expect(script).toBe(SCRIPT.trimEnd());
  expect(readDocument('compliance', 'remediate-node.yaml')).not.toMatch(/^\s*#include /m);
});

test('mi- node in enforce mode, patch compliance: AWS-RunPatchBaseline Install on the bare id', () => {
  const aws = managedNode({ PatchMode: 'enforce', PatchGroup: 'linux-web' });
  const result = runAutomation(RUNBOOK, { aws, parameters: { NodeId: MI, ComplianceType: 'Patch' } });

  expect(result.status).toBe('Success');
  expect(aws.callsTo('ssm', 'ListTagsForResource')[0].params).toEqual({ ResourceType: 'ManagedInstance', ResourceId: MI });
  expect(aws.callsTo('ec2', 'DescribeTags')).toHaveLength(0);
  expect(sent(aws)).toEqual([
    { DocumentName: 'AWS-RunPatchBaseline', InstanceIds: [MI], Parameters: { Operation: 'Install', RebootOption: 'RebootIfNeeded' } },
  ]);
  expect(result.outputs).toEqual({
    'NormalizeNodeId.NodeId': MI,
    'DecideForManagedNode.Mode': 'enforce',
    'InstallPatches.CommandId': 'cmd-AWS-RunPatchBaseline',
  });
});

test('i- instance in report mode: not remediated, no command sent', () => {
  const aws = ec2Instance('report');
  const result = runAutomation(RUNBOOK, { aws, parameters: { NodeId: I } });

  expect(result.status).toBe('Success');
  expect(aws.callsTo('ec2', 'DescribeTags')[0].params).toEqual({
    Filters: [
      { Name: 'resource-id', Values: [I] },
      { Name: 'key', Values: ['PatchMode'] },
    ],
  });
  expect(aws.callsTo('ssm', 'ListTagsForResource')).toHaveLength(0);
  expect(sent(aws)).toEqual([]);
  expect(reported(result)).toBe('report mode: not remediated');
  expect(result.outputs['DecideForEc2Instance.Mode']).toBe('report');
});

test('i- instance in enforce mode is patched too', () => {
  const aws = ec2Instance('enforce');
  const result = runAutomation(RUNBOOK, { aws, parameters: { NodeId: I, ComplianceType: 'Patch' } });
  expect(sent(aws).map((p) => p.DocumentName)).toEqual(['AWS-RunPatchBaseline']);
  expect(result.executedSteps).toEqual([
    'NormalizeNodeId', 'ChooseTagSource', 'ReadEc2InstanceTags', 'DecideForEc2Instance', 'ActOnEc2Instance', 'InstallPatches',
  ]);
});

test('the prefixed resource id AWS Config passes is stripped before any call', () => {
  const aws = managedNode({ PatchMode: 'enforce' });
  const result = runAutomation(RUNBOOK, { aws, parameters: { NodeId: `AWS::SSM::ManagedInstanceInventory/${MI}` } });

  expect(result.status).toBe('Success');
  expect(aws.callsTo('ssm', 'ListTagsForResource')[0].params.ResourceId).toBe(MI);
  expect(sent(aws)[0].InstanceIds).toEqual([MI]);
});

test('a node without the mode tag is only reported', () => {
  const aws = managedNode({ PatchGroup: 'linux-web' });
  const result = runAutomation(RUNBOOK, { aws, parameters: { NodeId: MI } });
  expect(sent(aws)).toEqual([]);
  expect(reported(result)).toBe('report mode: not remediated');
  expect(result.outputs['DecideForManagedNode.Mode']).toBe('(no PatchMode tag)');
});

test('an EC2 instance without tags is only reported', () => {
  const aws = ec2Instance(undefined);
  const result = runAutomation(RUNBOOK, { aws, parameters: { NodeId: `AWS::SSM::ManagedInstanceInventory/${I}` } });
  expect(sent(aws)).toEqual([]);
  expect(reported(result)).toBe('report mode: not remediated');
});

test('association compliance in enforce mode: AWS-RefreshAssociation', () => {
  const aws = managedNode({ PatchMode: 'enforce' });
  const result = runAutomation(RUNBOOK, { aws, parameters: { NodeId: MI, ComplianceType: 'Association' } });
  expect(sent(aws)).toEqual([{ DocumentName: 'AWS-RefreshAssociation', InstanceIds: [MI] }]);
  expect(result.outputs['RefreshAssociations.CommandId']).toBe('cmd-AWS-RefreshAssociation');
  expect(reported(result)).toBeUndefined();
});

test('the enforce value must match exactly, with the tag key and value the construct passes', () => {
  const upper = managedNode({ PatchMode: 'Enforce' });
  runAutomation(RUNBOOK, { aws: upper, parameters: { NodeId: MI } });
  expect(sent(upper)).toEqual([]);

  const custom = managedNode({ Mode: 'fix', PatchMode: 'report' });
  runAutomation(RUNBOOK, { aws: custom, parameters: { NodeId: MI, ModeTagKey: 'Mode', EnforceValue: 'fix', RebootOption: 'NoReboot' } });
  expect(sent(custom)).toEqual([
    { DocumentName: 'AWS-RunPatchBaseline', InstanceIds: [MI], Parameters: { Operation: 'Install', RebootOption: 'NoReboot' } },
  ]);
});

test('a failed patch command fails the execution', () => {
  const aws = managedNode({ PatchMode: 'enforce' }).on('ssm', 'SendCommand', { Command: { CommandId: 'c', Status: 'Failed' } });
  const result = runAutomation(RUNBOOK, { aws, parameters: { NodeId: MI } });
  expect(result.status).toBe('Failed');
  expect(result.failureMessage).toMatch(/Step InstallPatches failed/);
});

test('tag reads are retried on throttling', () => {
  const aws = managedNode({ PatchMode: 'enforce' }).onSequence('ssm', 'ListTagsForResource', [
    Object.assign(new Error('Rate exceeded'), { name: 'AwsApiError' }),
    { TagList: [{ Key: 'PatchMode', Value: 'enforce' }] },
  ]);
  const result = runAutomation(RUNBOOK, { aws, parameters: { NodeId: MI } });
  expect(aws.callsTo('ssm', 'ListTagsForResource')).toHaveLength(2);
  expect(result.status).toBe('Success');
});

test('ids that are not nodes are refused before any step runs', () => {
  for (const NodeId of ['mi-123', 'AWS::SSM::ManagedInstanceInventory/', 'i-0123456789abcdef0; rm', 'vm-0123456789abcdef0']) {
    expect(() => runAutomation(RUNBOOK, { parameters: { NodeId } })).toThrow(/parameter NodeId must match/);
  }
  expect(() => runAutomation(RUNBOOK, { parameters: { NodeId: MI, ComplianceType: 'Custom:Agents' } })).toThrow(/must be one of/);
});

describe('the step script on its own', () => {
  const call = (handler: string, events: unknown) => runPythonHandler(SCRIPT, handler, events, {}, 30);

  test('normalize_node_id accepts 8- and 17-digit EC2 ids and refuses others with a clear message', () => {
    expect(call('normalize_node_id', { NodeId: 'i-0123abcd' }).payload).toEqual({ NodeId: 'i-0123abcd', NodeKind: 'EC2Instance' });
    const bad = call('normalize_node_id', { NodeId: 'AWS::EC2::Instance/x-1' });
    expect(bad.ok).toBe(false);
    expect(bad.error).toMatch(/ValueError: NodeId must be a managed node id .* got: 'AWS::EC2::Instance\/x-1'/);
  });

  test('decide refuses an unknown compliance type in enforce mode', () => {
    const result = call('decide', { Tags: [{ Key: 'PatchMode', Value: 'enforce' }], ModeTagKey: 'PatchMode', EnforceValue: 'enforce', ComplianceType: 'Custom:x' });
    expect(result.error).toMatch(/ComplianceType must be Patch or Association/);
  });
});
