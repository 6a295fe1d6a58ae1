import * as events from 'aws-cdk-lib/aws-events';

/*
 * The fleet's alert events and the readable messages made of them: one code path for the rules of `FleetCompliance`
 * (in a member account) and those of `FleetAlertBus` (on the central bus, where the same events arrive forwarded from
 * every member). The message always names the account and Region the event comes from (`$.account`, `$.region` keep
 * the member's values when EventBridge forwards an event to another bus).
 * @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cross-account.html
 */

/** Detail type of AWS Config's rule compliance events. */
export const CONFIG_COMPLIANCE_CHANGE = 'Config Rules Compliance Change';
/** Detail type of Systems Manager's configuration compliance events. */
export const SSM_COMPLIANCE_CHANGE = 'Configuration Compliance State Change';
/** Detail type of State Manager's association run events on a node (what `AgentInstaller` watches). */
export const ASSOCIATION_STATE_CHANGE = 'EC2 State Manager Instance Association State Change';

/** Config found a resource NON_COMPLIANT, transitions only; `ruleNames` limits it to those rules. */
export function configNonCompliantPattern(ruleNames?: string[]): events.EventPattern {
  return {
    source: ['aws.config'],
    detailType: [CONFIG_COMPLIANCE_CHANGE],
    detail: {
      messageType: ['ComplianceChangeNotification'],
      ...(ruleNames ? { configRuleName: ruleNames } : {}),
      newEvaluationResult: { complianceType: ['NON_COMPLIANT'] },
      // Only transitions: the previous result was something else, or there was none (first evaluation).
      $or: [
        { oldEvaluationResult: { complianceType: [{ 'anything-but': ['NON_COMPLIANT'] }] } },
        { oldEvaluationResult: { complianceType: [{ exists: false }] } },
      ],
    },
  };
}

/** Systems Manager reports a managed node `non_compliant`; `types` limits it to those compliance types. */
export function ssmNonCompliantPattern(types?: string[]): events.EventPattern {
  return {
    source: ['aws.ssm'],
    detailType: [SSM_COMPLIANCE_CHANGE],
    detail: {
      'compliance-status': ['non_compliant'],
      ...(types ? { 'compliance-type': types } : {}),
      'resource-type': ['managed-instance'],
    },
  };
}

/** A State Manager association run failed on a node; `documentNames` limits it to those documents. */
export function associationFailedPattern(documentNames?: string[]): events.EventPattern {
  return {
    source: ['aws.ssm'],
    detailType: [ASSOCIATION_STATE_CHANGE],
    detail: { ...(documentNames ? { 'document-name': documentNames } : {}), status: ['Failed'] },
  };
}

const field = (path: string): string => events.EventField.fromPath(path);
const origin = (): string => `Account ${field('$.account')}, Region ${field('$.region')}`;

/** The message of a Config NON_COMPLIANT event. `tagsHint`: where to read the node's patch group and mode. */
export function configNonCompliantMessage(tagsHint: string): events.RuleTargetInput {
  return events.RuleTargetInput.fromMultilineText([
    `NON_COMPLIANT: ${field('$.detail.resourceId')} (${field('$.detail.resourceType')})`,
    `Rule: ${field('$.detail.configRuleName')}`,
    origin(),
    tagsHint,
    `https://${field('$.region')}.console.aws.amazon.com/config/home?region=${field('$.region')}#/rules/details?configRuleName=${field('$.detail.configRuleName')}`,
  ].join('\n'));
}

/** The message of a Systems Manager `non_compliant` event. */
export function ssmNonCompliantMessage(tagsHint: string): events.RuleTargetInput {
  return events.RuleTargetInput.fromMultilineText([
    `non_compliant: ${field('$.detail.compliance-type')} compliance of node ${field('$.detail.resource-id')}`,
    origin(),
    tagsHint,
    `https://${field('$.region')}.console.aws.amazon.com/systems-manager/compliance?region=${field('$.region')}`,
  ].join('\n'));
}

/** The message of a failed association run on a node (an agent installer's run). */
export function associationFailedMessage(): events.RuleTargetInput {
  return events.RuleTargetInput.fromMultilineText([
    `Failed: association run of ${field('$.detail.document-name')} on node ${field('$.detail.instance-id')}`,
    `Association ${field('$.detail.association-id')}: ${field('$.detail.detailed-status')}`,
    origin(),
    `https://${field('$.region')}.console.aws.amazon.com/systems-manager/state-manager?region=${field('$.region')}`,
  ].join('\n'));
}

/** The patch-group and mode hint of a message. */
export function tagsHint(modeTagKey: string): string {
  return `Patch group and mode: the node's PatchGroup and ${modeTagKey} tags (events carry no tags)`;
}
