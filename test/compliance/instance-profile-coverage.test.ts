import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { ConfigRecorderChoice, InstanceProfileCoverage, InstanceProfileCoverageProps, RemediationMode } from '../../lib';
import { allFindings, testApp } from '../support/gates';

let stack: Stack;
beforeEach(() => {
  stack = new Stack(testApp(), 'Member');
});

const existing = { recorder: ConfigRecorderChoice.existing() };
const define = (props: Partial<InstanceProfileCoverageProps> = {}) => new InstanceProfileCoverage(stack, 'Coverage', { ...existing, ...props });
const statements = () =>
  Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement);

test('the EC2 instance-profile rule, remediated manually by AWS-AttachIAMToInstance with the fleet role, never replacing a profile', () => {
  const coverage = define();
  const template = Template.fromStack(stack);
  template.hasResourceProperties('AWS::Config::ConfigRule', {
    Source: { Owner: 'AWS', SourceIdentifier: 'EC2_INSTANCE_PROFILE_ATTACHED' },
    Scope: { ComplianceResourceTypes: ['AWS::EC2::Instance'] },
    InputParameters: Match.absent(),
  });
  template.hasResourceProperties('AWS::Config::RemediationConfiguration', {
    TargetType: 'SSM_DOCUMENT',
    TargetId: 'AWS-AttachIAMToInstance',
    Automatic: false,
    Parameters: {
      InstanceId: { ResourceValue: { Value: 'RESOURCE_ID' } },
      RoleName: { StaticValue: { Values: [stack.resolve(coverage.instanceRole.roleName)] } },
      ForceReplace: { StaticValue: { Values: ['false'] } },
      AutomationAssumeRole: { StaticValue: { Values: [stack.resolve(coverage.automationRole!.roleArn)] } },
    },
  });
  // The default fleet role: EC2 trust and the Systems Manager core policy.
  template.hasResourceProperties('AWS::IAM::Role', {
    AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'ec2.amazonaws.com' } })] },
    ManagedPolicyArns: [{ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/AmazonSSMManagedInstanceCore']] }],
  });
});

test('the automation role passes only the fleet role, only to EC2, and may not disassociate without forceReplace', () => {
  const role = new iam.Role(stack, 'FleetRole', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
  define({ instanceRole: role });
  const all = statements();
  expect(all).toContainEqual({
    Effect: 'Allow',
    Action: 'iam:PassRole',
    Resource: stack.resolve(role.roleArn),
    Condition: { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } },
  });
  expect(all).toContainEqual(expect.objectContaining({ Action: 'iam:ListInstanceProfilesForRole', Resource: stack.resolve(role.roleArn) }));
  const actions = all.flatMap((s) => [s.Action].flat());
  expect(actions).toContain('ec2:AssociateIamInstanceProfile');
  expect(actions).not.toContain('ec2:DisassociateIamInstanceProfile');
});

test('forceReplace, allowed profiles and automatic remediation on request', () => {
  define({
    forceReplace: true,
    allowedInstanceProfileArns: ['arn:aws:iam::111122223333:instance-profile/fleet', 'arn:aws:iam::111122223333:instance-profile/app/web'],
    remediation: RemediationMode.AUTOMATIC,
    remediationMaxAttempts: 2,
    remediationRetryInterval: Duration.minutes(5),
  });
  const template = Template.fromStack(stack);
  template.hasResourceProperties('AWS::Config::ConfigRule', {
    InputParameters: { IamInstanceProfileArnList: 'arn:aws:iam::111122223333:instance-profile/fleet,arn:aws:iam::111122223333:instance-profile/app/web' },
  });
  template.hasResourceProperties('AWS::Config::RemediationConfiguration', {
    Automatic: true,
    MaximumAutomaticAttempts: 2,
    RetryAttemptSeconds: 300,
    Parameters: Match.objectLike({ ForceReplace: { StaticValue: { Values: ['true'] } } }),
  });
  expect(statements().flatMap((s) => [s.Action].flat())).toContain('ec2:DisassociateIamInstanceProfile');
});

test('without remediation: the rule only', () => {
  const coverage = define({ remediation: RemediationMode.NONE });
  Template.fromStack(stack).resourceCountIs('AWS::Config::RemediationConfiguration', 0);
  expect(coverage.automationRole).toBeUndefined();
});

test('its own recorder when asked, and the rule waits for it', () => {
  const coverage = define({ recorder: ConfigRecorderChoice.create() });
  const rule = Object.values(Template.fromStack(stack).findResources('AWS::Config::ConfigRule'))[0];
  expect(rule.DependsOn).toContain(stack.getLogicalId(coverage.createdRecorder!.recorder));
});

test.each<[string, Partial<InstanceProfileCoverageProps>, RegExp]>([
  ['a role EC2 cannot assume', { instanceRole: new iam.Role(new Stack(), 'R', { assumedBy: new iam.ServicePrincipal('ssm.amazonaws.com') }) }, /`instanceRole` must trust ec2.amazonaws.com/],
  ['a role ARN instead of a profile ARN', { allowedInstanceProfileArns: ['arn:aws:iam::111122223333:role/fleet'] }, /`allowedInstanceProfileArns` entries must be instance profile ARNs .*got: 'arn:aws:iam::111122223333:role\/fleet'/],
  ['a wildcard profile', { allowedInstanceProfileArns: ['arn:aws:iam::111122223333:instance-profile/*'] }, /must be exact: the rule does not support wildcards/],
  ['an empty list', { allowedInstanceProfileArns: [] }, /`allowedInstanceProfileArns` must not be empty/],
  ['26 attempts', { remediationMaxAttempts: 26 }, /`remediationMaxAttempts` must be an integer from 1 to 25, got: 26/],
  ['0 % errors', { remediationErrorPercentage: 0 }, /`remediationErrorPercentage` must be an integer from 1 to 100, got: 0/],
])('rejects %s', (_name, props, message) => {
  expect(() => define(props)).toThrow(message);
});

test('InstanceProfileCoverage passes every gate', () => {
  define({ forceReplace: true, remediation: RemediationMode.AUTOMATIC });
  expect(allFindings(stack.node.root as never)).toEqual([]);
});
