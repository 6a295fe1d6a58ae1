import { ArnFormat, Stack, Token } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { PatchRebootOption } from '../patching/patch-group';
import { acknowledgeRemediationEventsRoleFindings, acknowledgeRemediationRunbookFindings } from '../private/acknowledgements';
import { readDocument } from '../private/documents';
import { ssmPrincipal, SSM_SERVICE } from '../private/ssm-principal';
import { checkTagKey, checkTagValue } from '../private/tags';
import { fail } from '../private/validate';

/** What a remediation fixes: the compliance type the runbook's `ComplianceType` parameter takes. */
export enum RemediatedComplianceType {
  /** Patch compliance: `AWS-RunPatchBaseline` with `Operation: Install`. */
  PATCH = 'Patch',
  /** Association compliance: `AWS-RefreshAssociation` (applies every association of the node now). */
  ASSOCIATION = 'Association',
}

/**
 * Properties for a `NodeRemediationRunbook`.
 */
export interface NodeRemediationRunbookProps {
  /**
   * Tag key that chooses report or enforce per node (the `PatchGroup` prop of the same name).
   *
   * @default 'PatchMode'
   */
  readonly modeTagKey?: string;

  /**
   * Value of the mode tag that allows remediation; any other value, or no tag, only reports.
   *
   * @default 'enforce'
   */
  readonly enforceModeValue?: string;

  /**
   * Reboot option of the `AWS-RunPatchBaseline` Install the runbook runs.
   *
   * @default PatchRebootOption.REBOOT_IF_NEEDED
   */
  readonly rebootOption?: PatchRebootOption;
}

/**
 * Define the Automation runbook that remediates one non-compliant managed node when, and only when, its mode tag
 * says enforce (`documents/compliance/remediate-node.yaml`), and the role it runs as.
 *
 * The runbook takes a node id, bare (`mi-…`, `i-…`) or prefixed as AWS Config passes it
 * (`AWS::SSM::ManagedInstanceInventory/mi-…`); reads the node's tags (`ssm:ListTagsForResource` for hybrid nodes,
 * `ec2:DescribeTags` for EC2 instances); and runs `AWS-RunPatchBaseline` Install (patch compliance) or
 * `AWS-RefreshAssociation` (association compliance) only when the mode tag equals the enforce value. Any other node
 * ends with the output `report mode: not remediated`.
 *
 * The role may send those two documents only to nodes that carry the mode tag with the enforce value
 * (`ssm:resourceTag` condition), so a wrong decision in the runbook still cannot patch a report-mode node.
 *
 * @resource AWS::SSM::Document
 */
export class NodeRemediationRunbook extends Construct {
  /** The runbook (Automation document). */
  public readonly document: ssm.CfnDocument;
  /** Name of the runbook. */
  public readonly documentName: string;
  /** The role Automation assumes to run it (`AutomationAssumeRole`). */
  public readonly role: iam.IRole;
  /** The mode tag key the runbook is started with. */
  public readonly modeTagKey: string;
  /** The enforce value the runbook is started with. */
  public readonly enforceModeValue: string;
  /** The reboot option the runbook is started with. */
  public readonly rebootOption: PatchRebootOption;
  private eventsRole?: iam.Role;

  constructor(scope: Construct, id: string, props: NodeRemediationRunbookProps = {}) {
    super(scope, id);
    this.modeTagKey = props.modeTagKey ?? 'PatchMode';
    this.enforceModeValue = props.enforceModeValue ?? 'enforce';
    this.rebootOption = props.rebootOption ?? PatchRebootOption.REBOOT_IF_NEEDED;
    if (Token.isUnresolved(this.modeTagKey)) {
      fail(this, '`modeTagKey` must be a literal: the role conditions name it in a policy key, got: a token');
    }
    checkTagKey(this, 'modeTagKey', this.modeTagKey);
    checkTagValue(this, 'enforceModeValue', this.modeTagKey, this.enforceModeValue);
    if (!Token.isUnresolved(this.enforceModeValue) && this.enforceModeValue.length === 0) {
      fail(this, "`enforceModeValue` must not be empty, got: ''");
    }

    this.document = new ssm.CfnDocument(this, 'Resource', {
      documentType: 'Automation',
      documentFormat: 'YAML',
      content: {},
      updateMethod: 'NewVersion',
    });
    // The runbook goes to CloudFormation as the YAML text of documents/compliance/remediate-node.yaml (Content takes a
    // string with DocumentFormat YAML); the L1 type only accepts an object, so the text is set as an override.
    this.document.addPropertyOverride('Content', readDocument('compliance', 'remediate-node.yaml'));
    this.documentName = this.document.ref;
    this.role = this.createRole();
  }

  /**
   * The ARN of the runbook's automation definition (`…:automation-definition/<name>:<version>`), what
   * `ssm:StartAutomationExecution` and EventBridge targets name.
   *
   * @param version a version number, `$DEFAULT` or `$LATEST`; '*' for any
   */
  public definitionArn(version: string = '$DEFAULT'): string {
    return Stack.of(this).formatArn({
      service: 'ssm',
      resource: 'automation-definition',
      resourceName: `${this.documentName}:${version}`,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
  }

  /**
   * The runbook parameters that remediate one node, as AWS Config or a caller passes them (everything but `NodeId`).
   */
  public staticParameters(complianceType: RemediatedComplianceType): Record<string, string> {
    return {
      ComplianceType: complianceType,
      ModeTagKey: this.modeTagKey,
      EnforceValue: this.enforceModeValue,
      RebootOption: this.rebootOption,
      AutomationAssumeRole: this.role.roleArn,
    };
  }

  /**
   * An EventBridge target that starts the runbook for the node and compliance type of a Systems Manager
   * "Configuration Compliance State Change" event (`detail.resource-id`, `detail.compliance-type`). Use it on a rule
   * that matches only `Patch` and `Association` compliance types. The target's role may only start this runbook and
   * pass its automation role to Systems Manager.
   *
   * @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-targets.html
   */
  public complianceEventTarget(): events.IRuleTarget {
    const role = this.eventsRole ?? this.createEventsRole();
    const list = (value: string) => [value];
    const input = events.RuleTargetInput.fromObject({
      NodeId: list(events.EventField.fromPath('$.detail.resource-id')),
      ComplianceType: list(events.EventField.fromPath('$.detail.compliance-type')),
      ModeTagKey: list(this.modeTagKey),
      EnforceValue: list(this.enforceModeValue),
      RebootOption: list(this.rebootOption),
      AutomationAssumeRole: list(this.role.roleArn),
    });
    const arn = this.definitionArn('$DEFAULT');
    return { bind: () => ({ arn, role, input }) };
  }

  private createRole(): iam.Role {
    const stack = Stack.of(this);
    const role = new iam.Role(this, 'AutomationRole', {
      assumedBy: ssmPrincipal(this),
      description: 'Runs the fleet node remediation runbook: reads node tags, patches or refreshes enforce-mode nodes',
    });
    const nodeArns = [
      stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: '*' }),
      stack.formatArn({ service: 'ssm', resource: 'managed-instance', resourceName: '*' }),
    ];
    // Tags of hybrid nodes (resource type managed-instance) and of EC2 instances (no resource types).
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['ssm:ListTagsForResource'], resources: [nodeArns[1]] }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['ec2:DescribeTags'], resources: ['*'] }));
    // aws:runCommand: the two AWS documents, only on nodes whose mode tag says enforce.
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['ssm:SendCommand'],
        resources: ['AWS-RunPatchBaseline', 'AWS-RefreshAssociation'].map((name) =>
          stack.formatArn({ service: 'ssm', account: '', resource: 'document', resourceName: name }),
        ),
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['ssm:SendCommand'],
        resources: nodeArns,
        conditions: { StringEquals: { [`ssm:resourceTag/${this.modeTagKey}`]: this.enforceModeValue } },
      }),
    );
    // aws:runCommand follows the command it sent (these actions support no resource types).
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['ssm:ListCommands', 'ssm:ListCommandInvocations', 'ssm:GetCommandInvocation', 'ssm:DescribeInstanceInformation'],
        resources: ['*'],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['iam:PassRole'],
        resources: [role.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': SSM_SERVICE } },
      }),
    );
    acknowledgeRemediationRunbookFindings(role);
    return role;
  }

  private createEventsRole(): iam.Role {
    const role = new iam.Role(this, 'EventsRole', {
      assumedBy: new iam.ServicePrincipal('events.amazonaws.com').withConditions({
        StringEquals: { 'aws:SourceAccount': Stack.of(this).account },
      }),
      description: 'Lets EventBridge start the fleet node remediation runbook',
    });
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['ssm:StartAutomationExecution'], resources: [this.definitionArn('*')] }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['iam:PassRole'],
        resources: [this.role.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': SSM_SERVICE } },
      }),
    );
    acknowledgeRemediationEventsRoleFindings(role, Stack.of(this).resolve(this.definitionArn('*')));
    this.eventsRole = role;
    return role;
  }
}
