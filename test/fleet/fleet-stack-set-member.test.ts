import * as fs from 'fs';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import {
  ConfigRecorderChoice,
  FleetCompliance,
  FleetStackSet,
  FleetStackSetTemplate,
  InventoryDataSync,
  PatchBaseline,
  PatchGroup,
  PatchOperatingSystem,
  StackSetCallAs,
  StackSetFailureTolerance,
  StackSetMaxConcurrentAccounts,
  StackSetRegionConcurrency,
} from '../../lib';
import { allFindings, testApp } from '../support/gates';

/*
 * The library's asset-free member constructs, rolled out as a StackSet template: what docs/decisions/0001-stacksets.md
 * says travels on the StackSet (patching, inventory sync to the central bucket, compliance rules).
 */

const ADMIN = { account: '111122223333', region: 'eu-west-1' };

function memberRollout(): { app: App; admin: Stack; member: FleetStackSetTemplate } {
  const app = testApp();
  const admin = new Stack(app, 'Admin', { env: ADMIN });
  const member = new FleetStackSetTemplate(admin, 'Member', { description: 'Hybrid fleet member: patching, inventory sync, compliance' });
  const linux = PatchBaseline.criticalAndSecurityUpdates(member, 'Linux', { operatingSystem: PatchOperatingSystem.AMAZON_LINUX_2023 });
  const windows = PatchBaseline.criticalAndSecurityUpdates(member, 'Windows', { operatingSystem: PatchOperatingSystem.WINDOWS });
  new PatchGroup(member, 'Servers', { patchGroupName: 'servers', baselines: [linux, windows] });
  new InventoryDataSync(member, 'InventorySync', {
    bucket: s3.Bucket.fromBucketName(member, 'Central', 'inventory-central-111122223333'),
    bucketRegion: 'eu-west-1',
    bucketPrefix: 'inventory',
  });
  new FleetCompliance(member, 'Compliance', { recorder: ConfigRecorderChoice.existing() });
  new FleetStackSet(admin, 'Rollout', {
    template: member,
    stackSetName: 'hybrid-fleet-member',
    callAs: StackSetCallAs.DELEGATED_ADMIN,
    organizationalUnitIds: ['ou-ab12-cdef3456'],
    regions: ['eu-west-1', 'us-east-1'],
    operationPreferences: {
      maxConcurrentAccounts: StackSetMaxConcurrentAccounts.percentage(25),
      failureTolerance: StackSetFailureTolerance.percentage(10),
      regionConcurrency: StackSetRegionConcurrency.PARALLEL,
    },
  });
  return { app, admin, member };
}

test('patching, inventory sync and compliance rules synthesize as a StackSet template', () => {
  const { app, admin, member } = memberRollout();
  const assembly = app.synth();
  const body = JSON.parse(fs.readFileSync(path.join(assembly.directory, member.templateFile), 'utf8'));
  const types = new Set(Object.values<{ Type: string }>(body.Resources).map((r) => r.Type));
  for (const type of ['AWS::SSM::PatchBaseline', 'AWS::SSM::MaintenanceWindow', 'AWS::SSM::Association', 'AWS::SSM::ResourceDataSync', 'AWS::Config::ConfigRule']) {
    expect(types.has(type)).toBe(true);
  }
  expect([...types].filter((t) => t.startsWith('AWS::Lambda::'))).toEqual([]);
  const stackSet = Object.values(Template.fromStack(admin).findResources('AWS::CloudFormation::StackSet'))[0].Properties;
  expect(stackSet.Capabilities).toEqual(['CAPABILITY_IAM']);
  // Nothing with a name that would collide in a second Region or account.
  expect(Annotations.fromStack(admin).findWarning('*', Match.stringLikeRegexp('stackSetGlobalName'))).toEqual([]);
});

test('passes every gate, the admin stack and the template', () => {
  const { app } = memberRollout();
  expect(allFindings(app)).toEqual([]);
});
