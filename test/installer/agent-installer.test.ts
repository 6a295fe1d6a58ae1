import * as fs from 'fs';
import * as path from 'path';
import { Duration, Lazy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import {
  AgentArchitecture, AgentComplianceSeverity, AgentInstallMode, AgentInstaller, AgentInstallerProps, AgentInstallerSharedSwitch,
  AgentPackage, AgentPackageFormat, AgentPlatform, AgentTargets, AssociationSchedule,
} from '../../lib';
import { installerDocument } from '../../lib/private/installer-document';
import { allFindings, testApp } from '../support/gates';
import { LINUX_SCRIPT, WINDOWS_SCRIPT } from './harness';

const SHA = 'ab'.repeat(32);
let stack: Stack;
let bucket: s3.IBucket;
beforeEach(() => {
  stack = new Stack(testApp(), 'TestStack');
  bucket = s3.Bucket.fromBucketName(stack, 'Packages', 'agent-packages-111122223333');
});

function linuxPackage(overrides: Partial<AgentPackage> = {}): AgentPackage {
  return { platform: AgentPlatform.LINUX, format: AgentPackageFormat.RPM, bucket, key: 'agent/agent-7.2.1.x86_64.rpm', objectVersion: 'v1', sha256: SHA, ...overrides };
}

function props(overrides: Partial<AgentInstallerProps> = {}): AgentInstallerProps {
  return { agentName: 'SecurityAgent', agentVersion: '7.2.1', linuxPackageName: 'securityagent', packages: [linuxPackage()], ...overrides };
}

function build(overrides: Partial<AgentInstallerProps> = {}): { installer: AgentInstaller; template: Template } {
  const installer = new AgentInstaller(stack, 'Agent', props(overrides));
  return { installer, template: Template.fromStack(stack) };
}

type Json = Record<string, any>;
function documentContent(template: Template): Json {
  const [doc] = Object.values(template.findResources('AWS::SSM::Document')) as Json[];
  return doc.Properties.Content;
}
function associationParameters(template: Template): Json[] {
  return (Object.values(template.findResources('AWS::SSM::Association')) as Json[]).map((a) => stack.resolve(a.Properties.Parameters));
}

describe('AgentInstaller: the document', () => {
  test('a schemaVersion 2.2 Command document whose steps are the script files, line for line (no drifting copy)', () => {
    const { template } = build();
    template.hasResourceProperties('AWS::SSM::Document', { DocumentType: 'Command', DocumentFormat: 'JSON', UpdateMethod: 'NewVersion' });
    const content = documentContent(template);
    expect(content.schemaVersion).toBe('2.2');
    expect(content.mainSteps.map((s: Json) => [s.action, s.name, s.precondition])).toEqual([
      ['aws:runShellScript', 'installAgentLinux', { StringEquals: ['platformType', 'Linux'] }],
      ['aws:runPowerShellScript', 'installAgentWindows', { StringEquals: ['platformType', 'Windows'] }],
    ]);
    expect(content.mainSteps[0].inputs.runCommand.join('\n') + '\n').toBe(fs.readFileSync(LINUX_SCRIPT, 'utf8'));
    expect(content.mainSteps[1].inputs.runCommand.join('\n') + '\n').toBe(fs.readFileSync(WINDOWS_SCRIPT, 'utf8'));
  });

  test('every parameter reaches the scripts as an environment variable, and the steps hold no {{ }} for SSM to splice', () => {
    const content = documentContent(build().template);
    for (const [name, parameter] of Object.entries(content.parameters as Record<string, Json>)) {
      expect({ name, interpolationType: parameter.interpolationType, type: parameter.type }).toEqual({ name, interpolationType: 'ENV_VAR', type: 'String' });
    }
    expect(JSON.stringify(content.mainSteps)).not.toContain('{{');
  });

  test('the parameter values the construct renders match the allowed patterns the document declares', () => {
    const signed = linuxPackage({ gpgSignatureKey: 'agent/agent.rpm.sig', gpgSignatureObjectVersion: 's1', gpgTrustedKeyKey: 'keys/release.asc', gpgTrustedKeyObjectVersion: 'k1' });
    const { template } = build({
      packages: [signed, linuxPackage({ architecture: AgentArchitecture.ARM64, format: AgentPackageFormat.DEB }),
        { platform: AgentPlatform.WINDOWS, format: AgentPackageFormat.MSI, bucket, key: 'agent/agent.msi', objectVersion: 'w1', sha256: SHA.toUpperCase(), authenticodeSigner: 'CN=Example Security Ltd, O=Example Security Ltd, C=GB' }],
      windowsProductName: 'Example Security Agent',
      linuxHealthCommand: '/opt/agent/bin/agentctl status | grep -q running',
      sharedSwitchArn: 'arn:aws:ssm:eu-west-1:999988887777:parameter/org/agent-installer/switch',
    });
    const declared = documentContent(template).parameters as Record<string, Json>;
    const [parameters] = associationParameters(template);
    expect(parameters.packageLinuxX8664).toEqual([`rpm|agent-packages-111122223333|agent/agent-7.2.1.x86_64.rpm|v1|${SHA}|agent/agent.rpm.sig|s1|keys/release.asc|k1`]);
    expect(parameters.packageWindowsX8664).toEqual([`msi|agent-packages-111122223333|agent/agent.msi|w1|${SHA}|CN=Example Security Ltd, O=Example Security Ltd, C=GB`]);
    let checked = 0;
    for (const [name, [value]] of Object.entries(parameters as Record<string, string[]>)) {
      expect(declared[name]).toBeDefined();
      if (typeof value !== 'string') continue; // a parameter name (Ref)
      if (declared[name].allowedValues) expect(declared[name].allowedValues).toContain(value);
      else expect({ name, value, ok: new RegExp(declared[name].allowedPattern).test(value) }).toEqual({ name, value, ok: true });
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(10);
    // And the patterns do refuse a value that would break the field format.
    expect(new RegExp(declared.packageLinuxX8664.allowedPattern).test(`rpm|b|k;rm -rf /|v1|${SHA}||||`)).toBe(false);
  });

  test('a Distributor package: decide (successAndExit), AWS-ConfigureAWSPackage through aws:runDocument, then verify', () => {
    const { template } = build({ packages: undefined, distributorPackageName: 'ExampleSecurityAgent', distributorPackageVersion: '7.2.1' });
    const content = documentContent(template);
    expect(content.mainSteps.map((s: Json) => s.name)).toEqual(['decideLinux', 'decideWindows', 'installDistributorPackage', 'verifyLinux', 'verifyWindows']);
    expect(content.mainSteps[0].inputs.onFailure).toBe('successAndExit');
    expect(content.mainSteps[0].inputs.runCommand.slice(0, 2)).toEqual(['#!/bin/bash', 'INSTALLER_PHASE=decide']);
    expect(content.mainSteps[0].inputs.runCommand.slice(2).join('\n') + '\n').toBe(fs.readFileSync(LINUX_SCRIPT, 'utf8').split('\n').slice(1).join('\n'));
    expect(content.mainSteps[4].inputs.runCommand[0]).toBe("$env:INSTALLER_PHASE = 'verify'");
    expect(content.mainSteps[2]).toMatchObject({ action: 'aws:runDocument', inputs: { documentType: 'SSMDocument', documentPath: 'AWS-ConfigureAWSPackage' } });
    expect(associationParameters(template)[0]).toMatchObject({ distributorPackage: ['ExampleSecurityAgent'], distributorVersion: ['7.2.1'] });
  });
});

describe('AgentInstaller: parameters, associations, output', () => {
  test('creates the switch (enabled), desired-version and install-arguments parameters under /agent-installer/<agent>', () => {
    const { template } = build({ installArguments: 'CID=1234' });
    template.hasResourceProperties('AWS::SSM::Parameter', { Name: '/agent-installer/SecurityAgent/switch', Value: 'enabled', Type: 'String' });
    template.hasResourceProperties('AWS::SSM::Parameter', { Name: '/agent-installer/SecurityAgent/desired-version', Value: '7.2.1' });
    template.hasResourceProperties('AWS::SSM::Parameter', { Name: '/agent-installer/SecurityAgent/install-arguments', Value: 'CID=1234' });
  });

  test('enabled: false creates the switch disabled', () => {
    build({ enabled: false }).template.hasResourceProperties('AWS::SSM::Parameter', { Name: '/agent-installer/SecurityAgent/switch', Value: 'disabled' });
  });

  test('default: one enforce association on every node, new nodes included, every 12 hours, 10%/10%, severity HIGH, S3 output', () => {
    const { template } = build();
    template.resourceCountIs('AWS::SSM::Association', 1);
    template.hasResourceProperties('AWS::SSM::Association', {
      Name: { Ref: Match.stringLikeRegexp('AgentDocument') },
      DocumentVersion: '$LATEST',
      AssociationName: 'TestStack-SecurityAgent-all',
      Targets: [{ Key: 'InstanceIds', Values: ['*'] }],
      ScheduleExpression: 'rate(12 hours)',
      ApplyOnlyAtCronInterval: Match.absent(),
      WaitForSuccessTimeoutSeconds: Match.absent(),
      MaxConcurrency: '10%',
      MaxErrors: '10%',
      ComplianceSeverity: 'HIGH',
      SyncCompliance: 'AUTO',
      OutputLocation: { S3Location: {
        OutputS3BucketName: { Ref: Match.stringLikeRegexp('AgentOutput') },
        OutputS3KeyPrefix: { 'Fn::Join': ['', [{ Ref: 'AWS::AccountId' }, '/', { Ref: 'AWS::Region' }, '/agent-installer/SecurityAgent/all/']] },
      } },
    });
    const [parameters] = associationParameters(template);
    expect(parameters).toMatchObject({ mode: ['enforce'], agentName: ['SecurityAgent'], complianceSeverity: ['HIGH'] });
    // No shared switch: the parameter is left out, so the document's default (empty) applies.
    expect(Object.keys(parameters)).not.toContain('sharedSwitchParameter');
  });

  test('the output bucket is retained, versioned, encrypted, TLS only and private', () => {
    const { template } = build();
    template.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({
        VersioningConfiguration: { Status: 'Enabled' },
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      }),
    });
  });

  test('staged rollout: one association per stage with its targets, mode and rate control', () => {
    const { template } = build({
      stages: [
        { name: 'canary', targets: AgentTargets.tags({ Ring: ['canary'] }), maxConcurrency: '1', maxErrors: '0' },
        { name: 'early', targets: AgentTargets.tags({ Ring: ['early'] }) },
        { name: 'broad', targets: AgentTargets.resourceGroup('fleet-broad'), mode: AgentInstallMode.REPORT },
      ],
      schedule: AssociationSchedule.rate(Duration.hours(1)),
      complianceSeverity: AgentComplianceSeverity.CRITICAL,
    });
    template.resourceCountIs('AWS::SSM::Association', 3);
    template.hasResourceProperties('AWS::SSM::Association', { AssociationName: 'TestStack-SecurityAgent-canary', Targets: [{ Key: 'tag:Ring', Values: ['canary'] }], MaxConcurrency: '1', MaxErrors: '0', Parameters: Match.objectLike({ mode: ['enforce'] }) });
    template.hasResourceProperties('AWS::SSM::Association', { AssociationName: 'TestStack-SecurityAgent-early', MaxConcurrency: '10%', ComplianceSeverity: 'CRITICAL', ScheduleExpression: 'rate(1 hour)' });
    template.hasResourceProperties('AWS::SSM::Association', { Targets: [{ Key: 'resource-groups:Name', Values: ['fleet-broad'] }], Parameters: Match.objectLike({ mode: ['report'] }) });
  });
});

describe('AgentInstaller: communicative', () => {
  test('EventBridge rules match failed and finished State Manager runs of the document; the alarm divides their TriggeredRules', () => {
    const { template } = build();
    const pattern = (status: string[]) => ({
      EventPattern: {
        'source': ['aws.ssm'],
        'detail-type': ['EC2 State Manager Instance Association State Change'],
        'detail': { 'document-name': [{ Ref: Match.stringLikeRegexp('AgentDocument') }], 'status': status },
      },
    });
    template.hasResourceProperties('AWS::Events::Rule', pattern(['Failed']));
    template.hasResourceProperties('AWS::Events::Rule', pattern(['Success', 'Failed']));
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: 10,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'IF(finished > 0, 100 * failed / finished, 0)' }),
        Match.objectLike({ Id: 'failed', MetricStat: Match.objectLike({ Metric: Match.objectLike({ Namespace: 'AWS/Events', MetricName: 'TriggeredRules' }), Stat: 'Sum', Period: 3600 }) }),
      ]),
    });
  });

  test('a fleet topic gets the failed runs and the alarm', () => {
    const topic = new sns.Topic(stack, 'Fleet', { enforceSSL: true, masterKey: new kms.Key(stack, 'TopicKey', { enableKeyRotation: true }) });
    const { template } = build({ fleetTopic: topic, failureRateThreshold: 25 });
    template.hasResourceProperties('AWS::Events::Rule', { EventPattern: Match.objectLike({ detail: Match.objectLike({ status: ['Failed'] }) }), Targets: [Match.objectLike({ Arn: { Ref: Match.stringLikeRegexp('Fleet') } })] });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { Threshold: 25, AlarmActions: [{ Ref: Match.stringLikeRegexp('Fleet') }] });
  });
});

describe('AgentInstaller: least privilege for nodes', () => {
  test('node roles may read only the package object versions and the agent parameters, and write only the output prefix', () => {
    const role = new iam.Role(stack, 'NodeRole', { assumedBy: new iam.ServicePrincipal('ssm.amazonaws.com') });
    const signed = linuxPackage({ gpgSignatureKey: 'agent/agent.rpm.sig', gpgSignatureObjectVersion: 's1', gpgTrustedKeyKey: 'keys/release.asc', gpgTrustedKeyObjectVersion: 'k1' });
    const { template } = build({ packages: [signed], nodeRoles: [role], sharedSwitchArn: 'arn:aws:ssm:eu-west-1:999988887777:parameter/org/switch' });
    const [policy] = Object.values(template.findResources('AWS::IAM::ManagedPolicy')) as Json[];
    const statements = stack.resolve(policy.Properties.PolicyDocument.Statement) as Json[];
    const objectArn = (key: string) => ({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:s3:::agent-packages-111122223333/${key}`]] });
    expect(statements.filter((s) => s.Action === 's3:GetObjectVersion').map((s) => [s.Resource, s.Condition])).toEqual([
      [objectArn('agent/agent-7.2.1.x86_64.rpm'), { StringEquals: { 's3:versionid': 'v1' } }],
      [objectArn('agent/agent.rpm.sig'), { StringEquals: { 's3:versionid': 's1' } }],
      [objectArn('keys/release.asc'), { StringEquals: { 's3:versionid': 'k1' } }],
    ]);
    const parameters = statements.find((s) => s.Sid === 'ReadAgentParameters')!;
    expect(parameters.Action).toBe('ssm:GetParameter');
    expect(parameters.Resource).toHaveLength(4);
    expect(parameters.Resource[3]).toBe('arn:aws:ssm:eu-west-1:999988887777:parameter/org/switch');
    const output = statements.find((s) => s.Sid === 'WriteOutput')!;
    expect(output.Action).toBe('s3:PutObject');
    expect(JSON.stringify(output.Resource)).toContain('/agent-installer/SecurityAgent/*');
    expect(statements.map((s) => s.Action).flat()).not.toContain('s3:GetObject');
    template.hasResourceProperties('AWS::IAM::ManagedPolicy', { Roles: [{ Ref: Match.stringLikeRegexp('NodeRole') }] });
  });

  test('a KMS-encrypted package bucket adds kms:Decrypt on its key, an encrypted output bucket kms:GenerateDataKey', () => {
    const key = new kms.Key(stack, 'PackageKey', { enableKeyRotation: true });
    const encrypted = s3.Bucket.fromBucketAttributes(stack, 'Encrypted', { bucketName: 'encrypted-packages', encryptionKey: key });
    const outputKey = new kms.Key(stack, 'OutputKey', { enableKeyRotation: true });
    const { template } = build({ packages: [linuxPackage({ bucket: encrypted })], outputEncryptionKey: outputKey });
    const [policy] = Object.values(template.findResources('AWS::IAM::ManagedPolicy')) as Json[];
    const statements = stack.resolve(policy.Properties.PolicyDocument.Statement) as Json[];
    expect(statements.find((s) => s.Sid === 'DecryptPackages')).toMatchObject({ Action: 'kms:Decrypt', Resource: { 'Fn::GetAtt': [expect.stringMatching(/^PackageKey/), 'Arn'] } });
    expect(statements.find((s) => s.Sid === 'EncryptOutput')).toBeDefined();
  });
});

describe('AgentInstaller: validation', () => {
  test.each<[string, Partial<AgentInstallerProps>, RegExp]>([
    ['agent name with a hyphen', { agentName: 'Security-Agent' }, /`agentName` must be 2 to 64 letters, digits or _.*got: 'Security-Agent'/],
    ['bad version', { agentVersion: '7.2 beta' }, /`agentVersion` must be .*got: '7.2 beta'/],
    ['no package source', { packages: [] }, /set exactly one package source, got: 0 packages and no Distributor package/],
    ['two package sources', { distributorPackageName: 'Agent', distributorPackageVersion: '1' }, /set exactly one package source, got: 1 packages and a Distributor package/],
    ['Distributor without version', { packages: undefined, distributorPackageName: 'Agent' }, /`distributorPackageVersion` must pin the version to install .*got: nothing/],
    ['bad sha256', { packages: [linuxPackage({ sha256: 'abc' })] }, /`packages\[0\]\.sha256` must be the SHA-256 of the object in 64 hex digits, got: 'abc'/],
    ['key with a quote', { packages: [linuxPackage({ key: "a'b.rpm" })] }, /`packages\[0\]\.key` must be an object key.*got: 'a'b\.rpm'/],
    ['msi on Linux', { packages: [linuxPackage({ format: AgentPackageFormat.MSI })] }, /`packages\[0\]\.format` must be one of rpm, deb, script for Linux, got: 'msi'/],
    ['two packages for one slot', { packages: [linuxPackage(), linuxPackage({ key: 'other.rpm' })] }, /`packages\[1\]` is a second package for Linux\/x86_64/],
    ['half a GPG setup', { packages: [linuxPackage({ gpgSignatureKey: 'a.sig' })] }, /needs all of gpgSignatureKey, .*got: 1 of 4/],
    ['Authenticode on Linux', { packages: [linuxPackage({ authenticodeSigner: 'CN=x' })] }, /`packages\[0\]\.authenticodeSigner` applies to Windows packages/],
    ['no Linux version source', { linuxPackageName: undefined }, /`linuxPackageName` or `linuxVersionCommand` must say how to read the installed version on Linux/],
    ['multi-line health command', { linuxHealthCommand: 'a\nb' }, /`linuxHealthCommand` must be one line/],
    ['bad max concurrency', { maxConcurrency: '0' }, /`maxConcurrency` must be a number from 1 or a percentage from 1% to 100%.*got: '0'/],
    ['bad max errors', { maxErrors: '101%' }, /`maxErrors` must be a number from 0 or a percentage from 0% to 100%.*got: '101%'/],
    ['bad stage max errors', { stages: [{ name: 'a', targets: AgentTargets.allNodes(), maxErrors: 'x' }] }, /`stages\[0\]\.maxErrors` must be/],
    ['bad threshold', { failureRateThreshold: 0 }, /`failureRateThreshold` must be an integer from 1 to 100, got: 0/],
    ['no stages', { stages: [] }, /`stages` must list 1 to 10 stages, got: 0/],
    ['bad stage name', { stages: [{ name: 'ring 1', targets: AgentTargets.allNodes() }] }, /`stages\[0\]\.name` must be 1 to 32 letters, digits, _ or -, got: 'ring 1'/],
    ['overlapping stages', { stages: [{ name: 'a', targets: AgentTargets.tags({ Ring: ['1', '2'] }) }, { name: 'b', targets: AgentTargets.tags({ Ring: ['2'] }) }] }, /`stages\[1\]\.targets` must not reach nodes of stage 'a' \(both target tag Ring=2\)/],
    ['all nodes and another stage', { stages: [{ name: 'a', targets: AgentTargets.allNodes() }, { name: 'b', targets: AgentTargets.resourceGroup('g') }] }, /one of them targets all nodes/],
    ['bad target tag', { stages: [{ name: 'a', targets: AgentTargets.tags({ 'aws:x': ['1'] }) }] }, /`stages\[0\]\.targets` tag keys must not start with the reserved prefix 'aws:'/],
    ['bad schedule', { schedule: AssociationSchedule.rate(Duration.minutes(5)) }, /`schedule` /],
    ['bad shared switch', { sharedSwitchArn: '/org/switch' }, /`sharedSwitchArn` must be the full ARN of a parameter.*got: '\/org\/switch'/],
    ['bad parameter path', { parameterPath: 'agent/' }, /`parameterPath` must be a parameter path/],
  ])('rejects %s', (_name, overrides, message) => {
    expect(() => build(overrides)).toThrow(message);
  });

  test('tokens are not validated', () => {
    const token = Lazy.string({ produce: () => 'abc' });
    const percent = Lazy.string({ produce: () => '5%' });
    expect(() => build({ agentVersion: token, packages: [linuxPackage({ sha256: token, objectVersion: token })], maxErrors: percent })).not.toThrow();
  });
});

describe('AgentInstallerSharedSwitch', () => {
  test('an Advanced-tier parameter shared read-only through AWS RAM with the given principals', () => {
    const shared = new AgentInstallerSharedSwitch(stack, 'Shared', { parameterName: '/org/agent-installer/switch', principals: ['444455556666', 'arn:aws:organizations::111122223333:ou/o-abc123/ou-ab12-cdef3456'] });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::SSM::Parameter', { Name: '/org/agent-installer/switch', Tier: 'Advanced', Value: 'enabled' });
    template.hasResourceProperties('AWS::RAM::ResourceShare', {
      Principals: ['444455556666', 'arn:aws:organizations::111122223333:ou/o-abc123/ou-ab12-cdef3456'],
      AllowExternalPrincipals: false,
      PermissionArns: [{ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ram::aws:permission/AWSRAMDefaultPermissionSSMParameterReadOnly']] }],
    });
    expect(stack.resolve(shared.parameterArn)).toBeDefined();
  });

  test.each<[string, { parameterName: string; principals: string[] }, RegExp]>([
    ['no principals', { parameterName: '/org/switch', principals: [] }, /`principals` must list at least one/],
    ['a bad principal', { parameterName: '/org/switch', principals: ['everyone'] }, /`principals` entries must be 12-digit account ids or organization \/ OU ARNs, got: 'everyone'/],
    ['a bad name', { parameterName: 'switch', principals: ['444455556666'] }, /`parameterName` must be a parameter name/],
  ])('rejects %s', (_name, p, message) => {
    expect(() => new AgentInstallerSharedSwitch(stack, 'Shared', p)).toThrow(message);
  });
});

describe('AgentInstaller: gates', () => {
  test('passes every gate (cdk-nag packs, cfn-guard Control Tower, schema) with nodes, a topic and a staged rollout', () => {
    const app = testApp();
    const gated = new Stack(app, 'Gated');
    const packages = s3.Bucket.fromBucketName(gated, 'Packages', 'agent-packages-111122223333');
    const role = new iam.Role(gated, 'NodeRole', { assumedBy: new iam.ServicePrincipal('ssm.amazonaws.com') });
    const topic = sns.Topic.fromTopicArn(gated, 'Fleet', 'arn:aws:sns:eu-west-1:111122223333:fleet');
    new AgentInstaller(gated, 'Agent', {
      ...props({ packages: [linuxPackage({ bucket: packages })] }),
      nodeRoles: [role],
      fleetTopic: topic,
      stages: [
        { name: 'canary', targets: AgentTargets.tags({ Ring: ['canary'] }) },
        { name: 'broad', targets: AgentTargets.tags({ Ring: ['broad'] }), mode: AgentInstallMode.REPORT },
      ],
    });
    new AgentInstaller(gated, 'Distributed', {
      agentName: 'Other', agentVersion: '1.0', distributorPackageName: 'OtherAgent', distributorPackageVersion: '1.0', linuxPackageName: 'other',
    });
    expect(allFindings(app)).toEqual([]);
  });
});

test('both documents stay under the 64 KB Systems Manager document size limit (the Distributor one holds each script twice)', () => {
  const sizes = (['s3', 'distributor'] as const).map((source) => Buffer.byteLength(JSON.stringify(installerDocument(source))));
  for (const size of sizes) expect(size).toBeLessThan(64 * 1024);
  expect(sizes[1]).toBeGreaterThan(sizes[0]);
});

test('the document skeleton files are plain JSON in documents/installer', () => {
  const dir = path.dirname(LINUX_SCRIPT);
  expect(fs.readdirSync(dir).sort()).toEqual(['distributor-package-steps.json', 'install-agent.ps1', 'install-agent.sh', 'parameters.json', 's3-package-steps.json']);
});

describe('alert bus', () => {
  const BUS_ARN = 'arn:aws:events:us-east-1:111122223333:event-bus/hybrid-fleet-alerts';

  test('failed runs also go, raw, to the alert bus through a role that may only PutEvents on it; finished runs do not', () => {
    const { installer, template } = build({ alertBus: events.EventBus.fromEventBusArn(stack, 'Bus', BUS_ARN) });
    const failed = template.toJSON().Resources[stack.getLogicalId(installer.failedRunsRule.node.defaultChild as never)];
    const finished = template.toJSON().Resources[stack.getLogicalId(installer.finishedRunsRule.node.defaultChild as never)];
    const roleId = stack.getLogicalId(installer.node.findChild('AlertBusRole').node.defaultChild as never);
    expect(failed.Properties.Targets).toEqual([{ Arn: BUS_ARN, Id: 'Target0', RoleArn: { 'Fn::GetAtt': [roleId, 'Arn'] } }]);
    expect(finished.Properties.Targets).toBeUndefined();
    template.hasResourceProperties('AWS::IAM::Role', { AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'events.amazonaws.com' } })] } });
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: roleId }],
      PolicyDocument: { Statement: [{ Effect: 'Allow', Action: 'events:PutEvents', Resource: BUS_ARN }] },
    });
  });

  test('passes every gate with an alert bus', () => {
    build({ alertBus: events.EventBus.fromEventBusArn(stack, 'Bus', BUS_ARN) });
    expect(allFindings(stack.node.root as never)).toEqual([]);
  });
});
