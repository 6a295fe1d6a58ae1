import { Aws, Token } from 'aws-cdk-lib';
import * as ram from 'aws-cdk-lib/aws-ram';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { fail } from '../private/validate';

const PARAMETER_NAME = /^(\/[a-zA-Z0-9_.-]+)+$/;
const PRINCIPAL = /^([0-9]{12}|arn:aws[a-z-]*:organizations::[0-9]{12}:(organization|ou)\/[a-z0-9\/-]+)$/;

/**
 * Properties for an `AgentInstallerSharedSwitch`.
 */
export interface AgentInstallerSharedSwitchProps {
  /**
   * Name of the parameter, e.g. `/org/agent-installer/SecurityAgent/switch`.
   */
  readonly parameterName: string;

  /**
   * Who may read the switch: account ids, or organization / OU ARNs (sharing with an organization or OU needs
   * AWS RAM sharing with AWS Organizations turned on). At least one.
   */
  readonly principals: string[];

  /**
   * Value the switch is created with; after that, `aws ssm put-parameter --overwrite` in this account is the switch.
   *
   * @default true
   */
  readonly enabled?: boolean;
}

/**
 * Define one switch for the agent installers of many accounts: an Advanced-tier String parameter (only Advanced
 * parameters can be shared) shared read-only through AWS RAM. Consumer installers name it by full ARN
 * (`sharedSwitchArn`); their runs act only while it is `enabled`, so one `put-parameter` in this account stops the
 * rollout in every consumer account of this Region.
 *
 * Advanced parameters are charged per parameter and month; parameters are Regional, so define one per Region.
 *
 * @see https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-shared-parameters.html
 */
export class AgentInstallerSharedSwitch extends Construct {
  /** The switch parameter. */
  public readonly parameter: ssm.StringParameter;
  /** Its full ARN, which consumers pass as `sharedSwitchArn`. */
  public readonly parameterArn: string;
  /** The AWS RAM share. */
  public readonly share: ram.CfnResourceShare;

  constructor(scope: Construct, id: string, props: AgentInstallerSharedSwitchProps) {
    super(scope, id);
    const name = props.parameterName;
    if (!Token.isUnresolved(name) && !PARAMETER_NAME.test(name)) {
      fail(this, `\`parameterName\` must be a parameter name such as '/org/agent-installer/Agent/switch', got: '${name}'`);
    }
    if (props.principals.length === 0) fail(this, '`principals` must list at least one account, organization or OU, got: []');
    for (const principal of props.principals) {
      if (!Token.isUnresolved(principal) && !PRINCIPAL.test(principal)) {
        fail(this, `\`principals\` entries must be 12-digit account ids or organization / OU ARNs, got: '${principal}'`);
      }
    }
    this.parameter = new ssm.StringParameter(this, 'Parameter', {
      parameterName: name,
      stringValue: props.enabled === false ? 'disabled' : 'enabled',
      tier: ssm.ParameterTier.ADVANCED,
      description: "Shared safety switch of agent installers: 'enabled' lets their runs act, anything else stops them",
    });
    this.parameterArn = this.parameter.parameterArn;
    this.share = new ram.CfnResourceShare(this, 'Share', {
      name: Token.isUnresolved(name) ? 'agent-installer-switch' : `agent-installer-switch${name.replace(/[^a-zA-Z0-9-]/g, '-')}`.slice(0, 255),
      resourceArns: [this.parameter.parameterArn],
      principals: [...props.principals],
      allowExternalPrincipals: false,
      permissionArns: [`arn:${Aws.PARTITION}:ram::aws:permission/AWSRAMDefaultPermissionSSMParameterReadOnly`],
    });
  }
}
