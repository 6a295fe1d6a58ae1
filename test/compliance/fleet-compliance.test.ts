import { Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sns from 'aws-cdk-lib/aws-sns';
import {
  CompliancePlatform,
  ConfigRecorderChoice,
  FleetCompliance,
  FleetComplianceProps,
  PatchRebootOption,
  RemediationMode,
} from '../../lib';
import { allFindings, testApp } from '../support/gates';

let stack: Stack;
beforeEach(() => {
  stack = new Stack(testApp(), 'Member');
});

const existing = { recorder: ConfigRecorderChoice.existing() };
const define = (props: Partial<FleetComplianceProps> = {}) => new FleetCompliance(stack, 'Compliance', { ...existing, ...props });
const identifiers = () =>
  Object.values(Template.fromStack(stack).findResources('AWS::Config::ConfigRule')).map((r) => r.Properties.Source.SourceIdentifier);

describe('rules', () => {
  test('association and patch compliance by default, on the SSM compliance types, with no recorder', () => {
    define();
    const template = Template.fromStack(stack);
    expect(identifiers()).toEqual(['EC2_MANAGEDINSTANCE_ASSOCIATION_COMPLIANCE_STATUS_CHECK', 'EC2_MANAGEDINSTANCE_PATCH_COMPLIANCE_STATUS_CHECK']);
    template.hasResourceProperties('AWS::Config::ConfigRule', {
      Source: { Owner: 'AWS', SourceIdentifier: 'EC2_MANAGEDINSTANCE_PATCH_COMPLIANCE_STATUS_CHECK' },
      Scope: { ComplianceResourceTypes: ['AWS::SSM::PatchCompliance'] },
    });
    template.hasResourceProperties('AWS::Config::ConfigRule', {
      Source: { SourceIdentifier: 'EC2_MANAGEDINSTANCE_ASSOCIATION_COMPLIANCE_STATUS_CHECK' },
      Scope: { ComplianceResourceTypes: ['AWS::SSM::AssociationCompliance'] },
    });
    template.resourceCountIs('AWS::Config::ConfigurationRecorder', 0);
    template.resourceCountIs('AWS::Config::DeliveryChannel', 0);
  });

  test('applications required per platform (exact names, minimum versions) and blocked, on inventory', () => {
    define({
      requiredApplications: [
        { platform: CompliancePlatform.LINUX, applications: [{ name: 'falcon-sensor', version: '7.10' }, { name: 'amazon-ssm-agent' }] },
        { platform: CompliancePlatform.WINDOWS, applications: [{ name: 'CrowdStrike Windows Sensor' }] },
      ],
      blockedApplications: [{ applications: [{ name: 'telnet-server' }, { name: 'openssl', version: '1.0.2' }] }],
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Config::ConfigRule', {
      Source: { SourceIdentifier: 'EC2_MANAGEDINSTANCE_APPLICATIONS_REQUIRED' },
      InputParameters: { applicationNames: 'falcon-sensor:7.10,amazon-ssm-agent', platformType: 'Linux' },
      Scope: { ComplianceResourceTypes: ['AWS::SSM::ManagedInstanceInventory'] },
    });
    template.hasResourceProperties('AWS::Config::ConfigRule', {
      Source: { SourceIdentifier: 'EC2_MANAGEDINSTANCE_APPLICATIONS_REQUIRED' },
      InputParameters: { applicationNames: 'CrowdStrike Windows Sensor', platformType: 'Windows' },
    });
    template.hasResourceProperties('AWS::Config::ConfigRule', {
      Source: { SourceIdentifier: 'EC2_MANAGEDINSTANCE_APPLICATIONS_BLACKLISTED' },
      InputParameters: { applicationNames: 'telnet-server,openssl:1.0.2' },
    });
    expect(identifiers()).toHaveLength(5);
  });

  test('platform check, blocked inventory and EC2 managed-by-SSM on request', () => {
    define({
      platformRequirement: { platform: CompliancePlatform.LINUX, platformName: 'Amazon Linux', platformVersion: '2023' },
      blockedInventoryTypes: ['AWS:Network', 'Custom:Secrets'],
      blockedInventoryPlatform: CompliancePlatform.WINDOWS,
      ec2ManagedBySsm: true,
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Config::ConfigRule', {
      Source: { SourceIdentifier: 'EC2_MANAGEDINSTANCE_PLATFORM_CHECK' },
      InputParameters: { platformType: 'Linux', platformName: 'Amazon Linux', platformVersion: '2023' },
    });
    template.hasResourceProperties('AWS::Config::ConfigRule', {
      Source: { SourceIdentifier: 'EC2_MANAGEDINSTANCE_INVENTORY_BLACKLISTED' },
      InputParameters: { inventoryNames: 'AWS:Network,Custom:Secrets', platformType: 'Windows' },
    });
    template.hasResourceProperties('AWS::Config::ConfigRule', {
      Source: { SourceIdentifier: 'EC2_INSTANCE_MANAGED_BY_SSM' },
      Scope: { ComplianceResourceTypes: ['AWS::EC2::Instance'] },
    });
  });

  test('the default rules can be turned off when others remain', () => {
    define({ associationCompliance: false, patchCompliance: false, ec2ManagedBySsm: true });
    expect(identifiers()).toEqual(['EC2_INSTANCE_MANAGED_BY_SSM']);
    Template.fromStack(stack).resourceCountIs('AWS::Config::RemediationConfiguration', 0);
    Template.fromStack(stack).resourceCountIs('AWS::SSM::Document', 0);
  });
});

describe('rule parameter validation', () => {
  const linux = CompliancePlatform.LINUX;
  test.each<[string, Partial<FleetComplianceProps>, RegExp]>([
    ['a wildcard', { requiredApplications: [{ applications: [{ name: 'falcon*' }] }] }, /`requiredApplications` application names must be exact: the rule does not support wildcards \('\*', '\?'\), got: 'falcon\*'/],
    ['a comma', { blockedApplications: [{ applications: [{ name: 'a,b' }] }] }, /`blockedApplications` application names must not contain ',' .*got: 'a,b'/],
    ['a colon in a name', { requiredApplications: [{ applications: [{ name: 'agent:1' }] }] }, /must not contain ':' \(the rule reads 'name:version'\), got: 'agent:1'/],
    ['a wildcard version', { requiredApplications: [{ applications: [{ name: 'agent', version: '7.*' }] }] }, /`requiredApplications` versions must be exact.*got: '7\.\*'/],
    ['an empty name', { requiredApplications: [{ applications: [{ name: ' ' }] }] }, /application names must not be empty, got: ' '/],
    ['outer spaces', { requiredApplications: [{ applications: [{ name: ' agent' }] }] }, /must not start or end with spaces, got: ' agent'/],
    ['no applications', { requiredApplications: [{ platform: linux, applications: [] }] }, /entries need at least one application, got: \[\] for platform Linux/],
    ['an empty list', { blockedApplications: [] }, /`blockedApplications` must not be empty/],
    ['two lists for one platform', { requiredApplications: [{ platform: linux, applications: [{ name: 'a' }] }, { platform: linux, applications: [{ name: 'b' }] }] }, /two entries for platform Linux/],
    ['a duplicate name', { requiredApplications: [{ applications: [{ name: 'a' }, { name: 'a', version: '2' }] }] }, /lists 'a' twice/],
    ['an unknown platform', { requiredApplications: [{ platform: 'Solaris' as CompliancePlatform, applications: [{ name: 'a' }] }] }, /`requiredApplications.platform` must be one of Linux, Windows, MacOS, got: 'Solaris'/],
    ['parameters over 1,024 characters', { requiredApplications: [{ applications: Array.from({ length: 60 }, (_, i) => ({ name: `security-agent-number-${i}` })) }] }, /InputParameters \d+ characters long; AWS Config accepts at most 1024/],
    ['an inventory type without namespace', { blockedInventoryTypes: ['Network'] }, /`blockedInventoryTypes` entries must be inventory type names like AWS:Network or Custom:MyType, got: 'Network'/],
    ['a wildcard inventory type', { blockedInventoryTypes: ['AWS:*'] }, /must be exact: the rule does not support wildcards.*got: 'AWS:\*'/],
    ['a platform without inventory types', { blockedInventoryPlatform: linux }, /`blockedInventoryPlatform` needs `blockedInventoryTypes`, got: 'Linux' alone/],
    ['a wildcard platform version', { platformRequirement: { platform: linux, platformVersion: '20*' } }, /`platformRequirement.platformVersion` values must be exact.*got: '20\*'/],
    ['an unknown required platform', { platformRequirement: { platform: 'BeOS' as CompliancePlatform } }, /`platformRequirement.platform` must be one of Linux, Windows, MacOS, got: 'BeOS'/],
    ['no rule at all', { associationCompliance: false, patchCompliance: false }, /FleetCompliance would define no rule/],
  ])('rejects %s', (_name, props, message) => {
    expect(() => define(props)).toThrow(message);
  });

  test('the recorder choice is required at run time too (for callers without types)', () => {
    expect(() => new FleetCompliance(stack, 'C', {} as FleetComplianceProps)).toThrow(/`recorder` is required: ConfigRecorderChoice.existing\(\).*ConfigRecorderChoice.create\(\)/);
  });
});

describe('recorder choice', () => {
  test('create() defines the recorder, and every rule waits for it and its delivery channel', () => {
    const compliance = define({ recorder: ConfigRecorderChoice.create(), ec2ManagedBySsm: true });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::Config::ConfigurationRecorder', 1);
    const recorderId = stack.getLogicalId(compliance.recorder!.recorder);
    const channelId = stack.getLogicalId(compliance.recorder!.deliveryChannel);
    const rules = Object.values(template.findResources('AWS::Config::ConfigRule'));
    expect(rules).toHaveLength(3);
    for (const rule of rules) expect(rule.DependsOn).toEqual(expect.arrayContaining([recorderId, channelId]));
  });

  test('never two recorders in one stack', () => {
    define({ recorder: ConfigRecorderChoice.create() });
    expect(() => new FleetCompliance(stack, 'Second', { recorder: ConfigRecorderChoice.create() })).toThrow(
      /ConfigRecorderChoice.create\(\) would define a second configuration recorder.*the first is at Member\/Compliance\/Recorder/,
    );
    expect(() => new FleetCompliance(stack, 'Third', existing)).not.toThrow();
  });

  test('nor in two stacks of the app with the same account and Region; other environments may have their own', () => {
    const app = testApp();
    const env = { account: '111122223333', region: 'eu-west-1' };
    new FleetCompliance(new Stack(app, 'A', { env }), 'C', { recorder: ConfigRecorderChoice.create() });
    new FleetCompliance(new Stack(app, 'B', { env: { ...env, region: 'us-east-1' } }), 'C', { recorder: ConfigRecorderChoice.create() });
    expect(() => new FleetCompliance(new Stack(app, 'D', { env }), 'C', { recorder: ConfigRecorderChoice.create() })).toThrow(/second configuration recorder.*A\/C\/Recorder/);
  });
});

describe('remediation', () => {
  test('manual by default, for the patch and association rules, with the runbook and its role', () => {
    const compliance = define();
    const template = Template.fromStack(stack);
    const runbookId = stack.getLogicalId(compliance.remediationRunbook!.document);
    const roleArn = { 'Fn::GetAtt': [stack.getLogicalId(compliance.remediationRunbook!.role.node.defaultChild as iam.CfnRole), 'Arn'] };
    template.resourceCountIs('AWS::Config::RemediationConfiguration', 2);
    template.hasResourceProperties('AWS::Config::RemediationConfiguration', {
      ConfigRuleName: { Ref: stack.getLogicalId(compliance.patchComplianceRule!.node.defaultChild as never) },
      TargetType: 'SSM_DOCUMENT',
      TargetId: { Ref: runbookId },
      Automatic: false,
      MaximumAutomaticAttempts: Match.absent(),
      RetryAttemptSeconds: Match.absent(),
      ExecutionControls: { SsmControls: { ConcurrentExecutionRatePercentage: 10, ErrorPercentage: 50 } },
      Parameters: {
        NodeId: { ResourceValue: { Value: 'RESOURCE_ID' } },
        ComplianceType: { StaticValue: { Values: ['Patch'] } },
        ModeTagKey: { StaticValue: { Values: ['PatchMode'] } },
        EnforceValue: { StaticValue: { Values: ['enforce'] } },
        RebootOption: { StaticValue: { Values: ['RebootIfNeeded'] } },
        AutomationAssumeRole: { StaticValue: { Values: [roleArn] } },
      },
    });
    template.hasResourceProperties('AWS::Config::RemediationConfiguration', {
      ConfigRuleName: { Ref: stack.getLogicalId(compliance.associationComplianceRule!.node.defaultChild as never) },
      Parameters: Match.objectLike({ ComplianceType: { StaticValue: { Values: ['Association'] } } }),
    });
  });

  test('automatic on request, with attempts, retry interval, concurrency and error percentage', () => {
    define({
      remediation: RemediationMode.AUTOMATIC,
      remediationMaxAttempts: 3,
      remediationRetryInterval: Duration.minutes(10),
      remediationConcurrencyPercentage: 25,
      remediationErrorPercentage: 5,
      modeTagKey: 'Mode',
      enforceModeValue: 'fix',
      rebootOption: PatchRebootOption.NO_REBOOT,
    });
    Template.fromStack(stack).hasResourceProperties('AWS::Config::RemediationConfiguration', {
      Automatic: true,
      MaximumAutomaticAttempts: 3,
      RetryAttemptSeconds: 600,
      ExecutionControls: { SsmControls: { ConcurrentExecutionRatePercentage: 25, ErrorPercentage: 5 } },
      Parameters: Match.objectLike({
        ModeTagKey: { StaticValue: { Values: ['Mode'] } },
        EnforceValue: { StaticValue: { Values: ['fix'] } },
        RebootOption: { StaticValue: { Values: ['NoReboot'] } },
      }),
    });
  });

  test('NONE defines no remediation and no runbook', () => {
    define({ remediation: RemediationMode.NONE });
    Template.fromStack(stack).resourceCountIs('AWS::Config::RemediationConfiguration', 0);
    Template.fromStack(stack).resourceCountIs('AWS::SSM::Document', 0);
  });

  test.each<[string, Partial<FleetComplianceProps>, RegExp]>([
    ['0 attempts', { remediationMaxAttempts: 0 }, /`remediationMaxAttempts` must be an integer from 1 to 25, got: 0/],
    ['26 attempts', { remediationMaxAttempts: 26 }, /`remediationMaxAttempts` must be an integer from 1 to 25, got: 26/],
    ['a retry interval over 2,678,000 s', { remediationRetryInterval: Duration.seconds(2_678_001) }, /`remediationRetryInterval` must be a whole number of seconds from 1 second to .*got: /],
    ['a fractional retry interval', { remediationRetryInterval: Duration.millis(1500) }, /`remediationRetryInterval` must be a whole number of seconds/],
    ['0 % concurrency', { remediationConcurrencyPercentage: 0 }, /`remediationConcurrencyPercentage` must be an integer from 1 to 100, got: 0/],
    ['101 % errors', { remediationErrorPercentage: 101 }, /`remediationErrorPercentage` must be an integer from 1 to 100, got: 101/],
    ['an unknown mode', { remediation: 'SOMETIMES' as RemediationMode }, /`remediation` must be one of NONE, MANUAL, AUTOMATIC, got: 'SOMETIMES'/],
    ['a reserved mode tag key', { modeTagKey: 'aws:mode' }, /`modeTagKey` tag keys must not start with the reserved prefix 'aws:'/],
    ['an empty enforce value', { enforceModeValue: '' }, /`enforceModeValue` must not be empty/],
    ['event remediation without the rules', { associationCompliance: false, patchCompliance: false, ec2ManagedBySsm: true, remediateFromEvents: true }, /`remediateFromEvents` needs the patch or association compliance rule/],
  ])('rejects %s', (_name, props, message) => {
    expect(() => define(props)).toThrow(message);
  });

  test('warns when retries are set for manual remediation, and when Config and EventBridge would both remediate', () => {
    define({ remediationMaxAttempts: 3 });
    Annotations.fromStack(stack).hasWarning('/Member/Compliance', Match.stringLikeRegexp('apply only to RemediationMode.AUTOMATIC'));
    const other = new Stack(testApp(), 'Other');
    new FleetCompliance(other, 'C', { ...existing, remediation: RemediationMode.AUTOMATIC, remediateFromEvents: true });
    Annotations.fromStack(other).hasWarning('/Other/C', Match.stringLikeRegexp('both start the runbook'));
  });

  test('remediateFromEvents starts the runbook from Systems Manager compliance events, with a role that may do only that', () => {
    const compliance = define({ remediateFromEvents: true });
    const runbook = compliance.remediationRunbook!;
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.ssm'],
        'detail-type': ['Configuration Compliance State Change'],
        detail: { 'compliance-status': ['non_compliant'], 'compliance-type': ['Patch', 'Association'], 'resource-type': ['managed-instance'] },
      },
      Targets: [
        Match.objectLike({
          Arn: stack.resolve(runbook.definitionArn('$DEFAULT')),
          InputTransformer: {
            InputPathsMap: { 'detail-resource-id': '$.detail.resource-id', 'detail-compliance-type': '$.detail.compliance-type' },
            InputTemplate: Match.anyValue(),
          },
        }),
      ],
    });
    const rules = template.findResources('AWS::Events::Rule', { Properties: { Targets: [Match.objectLike({ Arn: stack.resolve(runbook.definitionArn('$DEFAULT')) })] } });
    const inputTemplate = JSON.stringify(stack.resolve(Object.values(rules)[0].Properties.Targets[0].InputTransformer.InputTemplate));
    expect(inputTemplate).toContain('{\\"NodeId\\":[<detail-resource-id>],\\"ComplianceType\\":[<detail-compliance-type>],\\"ModeTagKey\\":[\\"PatchMode\\"]');
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          { Effect: 'Allow', Action: 'ssm:StartAutomationExecution', Resource: stack.resolve(runbook.definitionArn('*')) },
          {
            Effect: 'Allow',
            Action: 'iam:PassRole',
            Resource: stack.resolve(runbook.role.roleArn),
            Condition: { StringEquals: { 'iam:PassedToService': 'ssm.amazonaws.com' } },
          },
        ],
      },
    });
  });
});

describe('notifications', () => {
  test('Config NON_COMPLIANT transitions of these rules only, to a created encrypted topic, with a readable message', () => {
    const compliance = define({ ec2ManagedBySsm: true });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::SNS::Topic', 1);
    const ruleRefs = compliance.rules.map((r) => stack.resolve(r.configRuleName));
    expect(ruleRefs).toHaveLength(3);
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.config'],
        'detail-type': ['Config Rules Compliance Change'],
        detail: {
          messageType: ['ComplianceChangeNotification'],
          configRuleName: ruleRefs,
          newEvaluationResult: { complianceType: ['NON_COMPLIANT'] },
          $or: [
            { oldEvaluationResult: { complianceType: [{ 'anything-but': ['NON_COMPLIANT'] }] } },
            { oldEvaluationResult: { complianceType: [{ exists: false }] } },
          ],
        },
      },
      Targets: [
        Match.objectLike({
          Arn: stack.resolve(compliance.topic!.topicArn),
          InputTransformer: {
            InputPathsMap: {
              'detail-resourceId': '$.detail.resourceId',
              'detail-resourceType': '$.detail.resourceType',
              'detail-configRuleName': '$.detail.configRuleName',
              account: '$.account',
              region: '$.region',
            },
            InputTemplate: Match.stringLikeRegexp(
              'NON_COMPLIANT: <detail-resourceId>[\\s\\S]*Rule: <detail-configRuleName>[\\s\\S]*Account <account>, Region <region>[\\s\\S]*PatchGroup and PatchMode tags[\\s\\S]*https://<region>.console.aws.amazon.com/config/home\\?region=<region>#/rules/details\\?configRuleName=<detail-configRuleName>',
            ),
          },
        }),
      ],
    });
  });

  test('Systems Manager non_compliant events for the compliance types of the rules on', () => {
    const compliance = define({ associationCompliance: false, modeTagKey: 'Mode' });
    Template.fromStack(stack).hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.ssm'],
        'detail-type': ['Configuration Compliance State Change'],
        detail: { 'compliance-status': ['non_compliant'], 'compliance-type': ['Patch'], 'resource-type': ['managed-instance'] },
      },
      Targets: [
        Match.objectLike({
          Arn: stack.resolve(compliance.topic!.topicArn),
          InputTransformer: Match.objectLike({
            InputTemplate: Match.stringLikeRegexp('non_compliant: <detail-compliance-type> compliance of node <detail-resource-id>[\\s\\S]*PatchGroup and Mode tags[\\s\\S]*systems-manager/compliance\\?region=<region>'),
          }),
        }),
      ],
    });
  });

  test('a given topic is used; notifications can be turned off', () => {
    const topic = new sns.Topic(stack, 'Central');
    const compliance = define({ notificationTopic: topic });
    expect(compliance.topic).toBe(topic);
    Template.fromStack(stack).resourceCountIs('AWS::SNS::Topic', 1);
    Template.fromStack(stack).resourceCountIs('AWS::KMS::Key', 0);

    const quiet = new Stack(testApp(), 'Quiet');
    new FleetCompliance(quiet, 'C', { ...existing, notifications: false });
    Template.fromStack(quiet).resourceCountIs('AWS::Events::Rule', 0);
    Template.fromStack(quiet).resourceCountIs('AWS::SNS::Topic', 0);
    expect(() => new FleetCompliance(quiet, 'D', { ...existing, notifications: false, notificationTopic: topic })).toThrow(/`notificationTopic` needs `notifications` on/);
  });
});

describe('instance-role coverage', () => {
  test('opt-in: the instance-profile rule joins the notified rules, remediated manually with the fleet role', () => {
    const role = new iam.Role(stack, 'FleetRole', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
    const compliance = define({ instanceProfileCoverage: true, instanceRole: role });
    const template = Template.fromStack(stack);
    expect(identifiers()).toContain('EC2_INSTANCE_PROFILE_ATTACHED');
    expect(compliance.rules).toContain(compliance.instanceProfileCoverage!.rule);
    template.hasResourceProperties('AWS::Config::RemediationConfiguration', {
      TargetId: 'AWS-AttachIAMToInstance',
      Automatic: false,
      Parameters: Match.objectLike({ RoleName: { StaticValue: { Values: [stack.resolve(role.roleName)] } } }),
    });
  });

  test('its props need it on', () => {
    expect(() => define({ instanceProfileRemediation: RemediationMode.AUTOMATIC })).toThrow(/need `instanceProfileCoverage: true`/);
  });
});

test('FleetCompliance passes every gate, with every rule, a created recorder, remediation and notifications', () => {
  const app = testApp();
  const full = new Stack(app, 'Full');
  new FleetCompliance(full, 'Compliance', {
    recorder: ConfigRecorderChoice.create(),
    requiredApplications: [{ platform: CompliancePlatform.LINUX, applications: [{ name: 'falcon-sensor', version: '7.10' }] }],
    blockedApplications: [{ applications: [{ name: 'telnet-server' }] }],
    platformRequirement: { platform: CompliancePlatform.LINUX },
    blockedInventoryTypes: ['AWS:WindowsRegistry'],
    ec2ManagedBySsm: true,
    instanceProfileCoverage: true,
    remediation: RemediationMode.AUTOMATIC,
    remediateFromEvents: false,
  });
  const env = new Stack(app, 'WithEnv', { env: { account: '111122223333', region: 'eu-west-1' } });
  new FleetCompliance(env, 'Compliance', { recorder: ConfigRecorderChoice.existing(), remediateFromEvents: true, instanceProfileCoverage: true });
  expect(allFindings(app)).toEqual([]);
});

describe('alert bus', () => {
  const BUS_ARN = 'arn:aws:events:eu-west-1:111122223333:event-bus/hybrid-fleet-alerts';

  test('the non-compliance rules also send the raw events to the bus, with a role that may only PutEvents on it', () => {
    const alertBus = events.EventBus.fromEventBusArn(stack, 'Bus', BUS_ARN);
    const compliance = define({ alertBus });
    const template = Template.fromStack(stack);
    const rules = Object.values(template.findResources('AWS::Events::Rule')) as any[];
    expect(rules).toHaveLength(2);
    const roles = template.findResources('AWS::IAM::Role', { Properties: { AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'events.amazonaws.com' } })] } } });
    expect(Object.keys(roles)).toHaveLength(1);
    const [roleId] = Object.keys(roles);
    for (const rule of rules) {
      const targets = rule.Properties.Targets;
      expect(targets).toHaveLength(2);
      expect(targets[0].Arn).toEqual(stack.resolve(compliance.topic!.topicArn));
      // Raw: no input transformer on the bus target.
      expect(targets[1]).toEqual({ Arn: BUS_ARN, Id: 'Target1', RoleArn: { 'Fn::GetAtt': [roleId, 'Arn'] } });
    }
    const policies = Object.values(template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: roleId }] } })) as any[];
    expect(policies.map((p) => p.Properties.PolicyDocument.Statement)).toEqual([[{ Effect: 'Allow', Action: 'events:PutEvents', Resource: BUS_ARN }]]);
  });

  test('with notifications off, the rules exist for the bus alone', () => {
    define({ notifications: false, alertBus: events.EventBus.fromEventBusArn(stack, 'Bus', BUS_ARN) });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::SNS::Topic', 0);
    template.allResourcesProperties('AWS::Events::Rule', { Targets: [Match.objectLike({ Arn: BUS_ARN })] });
    template.resourceCountIs('AWS::Events::Rule', 2);
  });

  test('passes every gate with an alert bus', () => {
    define({ alertBus: events.EventBus.fromEventBusArn(stack, 'Bus', BUS_ARN) });
    expect(allFindings(stack.node.root as never)).toEqual([]);
  });
});
