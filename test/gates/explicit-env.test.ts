import { App, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import {
  HybridActivationApi,
  InventoryBucket,
  InventoryCollection,
  InventoryDataSync,
  InventoryQueryLayer,
  MaintenanceSchedule,
  MaintenanceWindow,
  PatchBaseline,
  PatchGroup,
  PatchLogBucket,
  PatchOperatingSystem,
} from '../../lib';
import { allFindings, testApp } from '../support/gates';

// The acknowledgements name ARNs as cdk-nag prints them, which depends on how the stack's environment is given: an
// explicit account and Region (and, with the partition-literals feature flag, the partition) are literals in the
// policy. Each construct family, fully featured, must pass every gate in such a stack too. The whole fleet
// (`HybridFleet`, with its compliance and installer parts), by default and fully featured, is gated in both kinds of
// stack in test/fleet/hybrid-fleet.test.ts, and a fleet member in test/fleet/hybrid-fleet-member.test.ts.

const ENV = { account: '111122223333', region: 'eu-west-1' };
const PARTITION_LITERALS = { '@aws-cdk/core:enablePartitionLiterals': true };

function stackIn(context: Record<string, unknown> = {}): Stack {
  return new Stack(testApp({ context }), 'Explicit', { env: ENV });
}

/** `grantInvoke`/`grantQuery` add an inline policy to the grantee: the consumer's choice, so the consumer acknowledges it. */
function consumersInlinePolicy(role: iam.IRole): void {
  Validations.of(role).acknowledge(
    ...['NIST.800.53.R5-IAMNoInlinePolicy', 'HIPAA.Security-IAMNoInlinePolicy'].map((id) => ({
      id, reason: 'This role exists only to call the fleet APIs; its inline policy is created and deleted with it',
    })),
  );
}

function activationFamily(stack: Stack): void {
  const api = new HybridActivationApi(stack, 'Activations', {
    markerTagValue: 'fleet-eu',
    allowedTags: [{ key: 'PatchMode', values: ['report', 'enforce'] }],
    deregisterOfflineAfter: Duration.days(7),
  });
  const caller = new iam.Role(stack, 'Caller', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
  api.grantInvoke(caller);
  consumersInlinePolicy(caller);
  api.invokeManagedPolicy().attachToRole(new iam.Role(stack, 'Other', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') }));
}

function patchingFamily(stack: Stack): void {
  const baseline = PatchBaseline.criticalAndSecurityUpdates(stack, 'Linux', { operatingSystem: PatchOperatingSystem.AMAZON_LINUX_2023 });
  const logs = new PatchLogBucket(stack, 'PatchLogs');
  const nodes = new iam.Role(stack, 'Nodes', { assumedBy: new iam.ServicePrincipal('ssm.amazonaws.com') });
  new PatchGroup(stack, 'Web', { patchGroupName: 'web', baselines: [baseline], outputBucket: logs.bucket, nodeRoles: [nodes] });
  const window = new MaintenanceWindow(stack, 'Window', { schedule: MaintenanceSchedule.cron({ weekDay: 'SUN', hour: '3' }) });
  const web = window.addTarget('Web', { tags: { PatchGroup: ['web'] } });
  const group = window.addTarget('Group', { resourceGroupName: 'web-servers' });
  window.addRunCommandTask('Patch', {
    documentName: 'AWS-RunPatchBaseline',
    targets: [web, group],
    notificationTopic: sns.Topic.fromTopicArn(stack, 'Topic', 'arn:aws:sns:eu-west-1:111122223333:patching'),
    outputS3Bucket: s3.Bucket.fromBucketName(stack, 'Output', 'patch-output'),
  });
  window.addAutomationTask('Restart', { documentName: 'AWS-RestartEC2Instance', targets: [web] });
  window.addAutomationTask('Custom', { documentName: 'Company-Runbook' });
  window.addLambdaTask('Tidy', {
    lambdaFunction: lambda.Function.fromFunctionArn(stack, 'Fn', 'arn:aws:lambda:eu-west-1:111122223333:function:tidy'),
  });
}

function inventoryFamily(stack: Stack): void {
  const inventory = new InventoryBucket(stack, 'Inventory', { sourceAccounts: [ENV.account, '444455556666'] });
  new InventoryCollection(stack, 'Collection');
  new InventoryDataSync(stack, 'Sync', { bucket: inventory.bucket });
  const query = new InventoryQueryLayer(stack, 'Query', {
    bucket: inventory.bucket, accountIds: [ENV.account, '444455556666'], regions: ['eu-west-1', 'us-east-1'],
  });
  const analyst = new iam.Role(stack, 'Analyst', { assumedBy: new iam.AccountRootPrincipal() });
  query.grantQuery(analyst);
  consumersInlinePolicy(analyst);
  query.queryManagedPolicy();
}

const FAMILIES: [string, (stack: Stack) => void][] = [
  ['activation (API, janitor, tag route, grantInvoke, invokeManagedPolicy)', activationFamily],
  ['patching (patch group, window with every task type)', patchingFamily],
  ['inventory (bucket, collection, sync, query layer with grantQuery)', inventoryFamily],
];

describe.each(FAMILIES)('in a stack with an explicit account and Region: %s', (_name, define) => {
  test('passes every gate with zero unacknowledged findings', () => {
    const stack = stackIn();
    define(stack);
    expect(allFindings(stack.node.root as App)).toEqual([]);
  });
});

test('with partition literals on (a recommended feature flag), the activation family passes every gate', () => {
  const stack = stackIn(PARTITION_LITERALS);
  expect(stack.resolve(stack.partition)).toBe('aws');
  activationFamily(stack);
  expect(allFindings(stack.node.root as App)).toEqual([]);
});
