import { Duration, Stack, Token } from 'aws-cdk-lib';
import * as config from 'aws-cdk-lib/aws-config';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { ConfigRecorderChoice } from './config-recorder-choice';
import { FleetConfigRecorder } from './fleet-config-recorder';
import { RemediationMode } from './remediation-mode';
import {
  acknowledgeInstanceProfileRemediationFindings,
  acknowledgeInstanceRoleFindings,
} from '../private/acknowledgements';
import { checkCsvItem, checkEnumValue, checkInputParameters, checkRemediationLimits } from '../private/compliance-checks';
import { ssmPrincipal } from '../private/ssm-principal';
import { fail } from '../private/validate';

const EC2_SERVICE = 'ec2.amazonaws.com';
const INSTANCE_PROFILE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:instance-profile\/[\w+=,.@/-]{1,128}$/;

/**
 * Properties for an `InstanceProfileCoverage`.
 */
export interface InstanceProfileCoverageProps {
  /**
   * Where the AWS Config recorder comes from. The rule evaluates `AWS::EC2::Instance`, which the recorder must record.
   */
  readonly recorder: ConfigRecorderChoice;

  /**
   * The fleet's EC2 instance role, which remediation attaches (through an instance profile for it) to instances that
   * have none. It must trust `ec2.amazonaws.com` and carry the Systems Manager permissions
   * (`AmazonSSMManagedInstanceCore`).
   *
   * @default - a new role trusted by `ec2.amazonaws.com` with `AmazonSSMManagedInstanceCore`
   */
  readonly instanceRole?: iam.IRole;

  /**
   * ARNs of the instance profiles that count as compliant (`IamInstanceProfileArnList`); instances with another
   * profile are non-compliant. Exact ARNs, no wildcards.
   *
   * @default - any attached instance profile is compliant
   */
  readonly allowedInstanceProfileArns?: string[];

  /**
   * How AWS Config remediates instances without a profile, with `AWS-AttachIAMToInstance`.
   *
   * @default RemediationMode.MANUAL
   */
  readonly remediation?: RemediationMode;

  /**
   * Whether remediation replaces a profile that is already attached (`ForceReplace`). Off by default, so that an
   * instance whose application role is not in `allowedInstanceProfileArns` is reported and not silently re-roled.
   *
   * @default false
   */
  readonly forceReplace?: boolean;

  /**
   * Automatic remediation: attempts per instance (`MaximumAutomaticAttempts`), 1 to 25.
   *
   * @default 5
   */
  readonly remediationMaxAttempts?: number;

  /**
   * Automatic remediation: time between attempts (`RetryAttemptSeconds`), 1 second to 2,678,000 seconds.
   *
   * @default Duration.seconds(60)
   */
  readonly remediationRetryInterval?: Duration;

  /**
   * Percentage of non-compliant instances remediated at the same time (`ConcurrentExecutionRatePercentage`), 1 to 100.
   *
   * @default 10
   */
  readonly remediationConcurrencyPercentage?: number;

  /**
   * Percentage of failed remediations that stops the rest (`ErrorPercentage`), 1 to 100.
   *
   * @default 50
   */
  readonly remediationErrorPercentage?: number;
}

/**
 * Define instance-role coverage for EC2 instances: the AWS Config rule `ec2-instance-profile-attached` and, unless
 * turned off, its remediation with AWS's `AWS-AttachIAMToInstance` runbook, which attaches the fleet's instance role
 * (manual by default). EC2 only: hybrid `mi-` nodes get their role from the activation.
 *
 * @see https://docs.aws.amazon.com/config/latest/developerguide/ec2-instance-profile-attached.html
 * @see https://docs.aws.amazon.com/systems-manager-automation-runbooks/latest/userguide/automation-aws-attachiamtoinstance.html
 */
export class InstanceProfileCoverage extends Construct {
  /** The Config rule. */
  public readonly rule: config.ManagedRule;
  /** The instance role remediation attaches. */
  public readonly instanceRole: iam.IRole;
  /** The role `AWS-AttachIAMToInstance` runs as; undefined without remediation. */
  public readonly automationRole?: iam.IRole;
  /** The recorder this construct created, if `recorder` asked for one. */
  public readonly createdRecorder?: FleetConfigRecorder;

  constructor(scope: Construct, id: string, props: InstanceProfileCoverageProps) {
    super(scope, id);
    const remediation = props.remediation ?? RemediationMode.MANUAL;
    checkEnumValue(this, 'remediation', remediation, Object.values(RemediationMode));
    checkRemediationLimits(this, {
      maxAttempts: props.remediationMaxAttempts,
      retryInterval: props.remediationRetryInterval,
      concurrencyPercentage: props.remediationConcurrencyPercentage,
      errorPercentage: props.remediationErrorPercentage,
    });
    const inputParameters = this.inputParameters(props.allowedInstanceProfileArns);

    if (props.recorder.createsRecorder) this.createdRecorder = new FleetConfigRecorder(this, 'Recorder', props.recorder.createOptions);
    this.instanceRole = props.instanceRole ?? this.createInstanceRole();
    checkTrustsEc2(this, this.instanceRole);

    this.rule = new config.ManagedRule(this, 'Rule', {
      identifier: config.ManagedRuleIdentifiers.EC2_INSTANCE_PROFILE_ATTACHED,
      ruleScope: config.RuleScope.fromResources([config.ResourceType.EC2_INSTANCE]),
      inputParameters,
      description: 'EC2 instances of the fleet have an instance profile (Systems Manager needs a role on EC2)',
    });
    if (this.createdRecorder) this.rule.node.addDependency(this.createdRecorder);

    if (remediation !== RemediationMode.NONE) {
      this.automationRole = this.createAutomationRole(props.forceReplace ?? false);
      const automatic = remediation === RemediationMode.AUTOMATIC;
      new config.CfnRemediationConfiguration(this, 'Remediation', {
        configRuleName: this.rule.configRuleName,
        targetType: 'SSM_DOCUMENT',
        targetId: 'AWS-AttachIAMToInstance',
        automatic,
        maximumAutomaticAttempts: automatic ? (props.remediationMaxAttempts ?? 5) : undefined,
        retryAttemptSeconds: automatic ? (props.remediationRetryInterval ?? Duration.seconds(60)).toSeconds() : undefined,
        executionControls: {
          ssmControls: {
            concurrentExecutionRatePercentage: props.remediationConcurrencyPercentage ?? 10,
            errorPercentage: props.remediationErrorPercentage ?? 50,
          },
        },
        parameters: {
          InstanceId: { ResourceValue: { Value: 'RESOURCE_ID' } },
          RoleName: { StaticValue: { Values: [this.instanceRole.roleName] } },
          ForceReplace: { StaticValue: { Values: [String(props.forceReplace ?? false)] } },
          AutomationAssumeRole: { StaticValue: { Values: [this.automationRole.roleArn] } },
        },
      });
    }
  }

  private inputParameters(arns: string[] | undefined): Record<string, string> | undefined {
    if (arns === undefined) return undefined;
    if (arns.length === 0) fail(this, '`allowedInstanceProfileArns` must not be empty (leave it out to accept any profile), got: []');
    for (const arn of arns) {
      checkCsvItem(this, 'allowedInstanceProfileArns', 'entries', arn);
      if (!Token.isUnresolved(arn) && !INSTANCE_PROFILE_ARN.test(arn)) {
        fail(this, `\`allowedInstanceProfileArns\` entries must be instance profile ARNs (arn:aws:iam::<account>:instance-profile/<name>), got: '${arn}'`);
      }
    }
    const parameters = { IamInstanceProfileArnList: arns.join(',') };
    checkInputParameters(this, 'allowedInstanceProfileArns', parameters);
    return parameters;
  }

  private createInstanceRole(): iam.Role {
    const role = new iam.Role(this, 'InstanceRole', {
      assumedBy: new iam.ServicePrincipal(EC2_SERVICE),
      description: 'Instance role that instance-profile remediation attaches to fleet EC2 instances without one',
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AmazonSSMManagedInstanceCore')],
    });
    acknowledgeInstanceRoleFindings(role);
    return role;
  }

  // The calls of AWS-AttachIAMToInstance (its steps: DescribeIamInstanceProfileAssociations, optionally
  // DisassociateIamInstanceProfile, ListInstanceProfilesForRole, CreateInstanceProfile + AddRoleToInstanceProfile when
  // the role has no profile, AssociateIamInstanceProfile).
  private createAutomationRole(forceReplace: boolean): iam.Role {
    const stack = Stack.of(this);
    const role = new iam.Role(this, 'AutomationRole', {
      assumedBy: ssmPrincipal(this),
      description: 'Runs AWS-AttachIAMToInstance for the fleet instance-profile rule',
    });
    const instances = stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: '*' });
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['ec2:DescribeIamInstanceProfileAssociations'], resources: ['*'] }));
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['ec2:AssociateIamInstanceProfile', ...(forceReplace ? ['ec2:DisassociateIamInstanceProfile'] : [])],
        resources: [instances],
      }),
    );
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['iam:ListInstanceProfilesForRole'], resources: [this.instanceRole.roleArn] }));
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['iam:CreateInstanceProfile', 'iam:AddRoleToInstanceProfile', 'iam:GetInstanceProfile'],
        resources: [stack.formatArn({ service: 'iam', region: '', resource: 'instance-profile', resourceName: '*' })],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['iam:PassRole'],
        resources: [this.instanceRole.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': EC2_SERVICE } },
      }),
    );
    acknowledgeInstanceProfileRemediationFindings(role);
    return role;
  }
}

/** A role defined in this app must trust ec2.amazonaws.com to be an instance profile's role; imported ones are not inspected. */
function checkTrustsEc2(scope: Construct, role: iam.IRole): void {
  if (!(role instanceof iam.Role)) return;
  const trust = JSON.stringify(Stack.of(scope).resolve(role.assumeRolePolicy?.toJSON() ?? {}));
  if (!trust.includes(EC2_SERVICE)) {
    fail(scope, `\`instanceRole\` must trust ec2.amazonaws.com to be attached as an instance profile, got: a role trusted by ${trust}`);
  }
}
