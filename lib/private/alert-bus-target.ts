import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { acknowledgeAlertForwardingRoleFindings } from './acknowledgements';

/**
 * Sends the events a rule matches, unchanged, to the fleet's alert bus (usually the central account's, in another
 * account and maybe another Region), with a role that may only `events:PutEvents` on that bus. EventBridge needs a role
 * for a bus in another Region and AWS recommends one whenever the target is a bus; with Organizations-scoped bus
 * policies the sender must use one.
 * @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-bus-perms.html
 * @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cross-account.html
 *
 * One role per scope (its rules share it); returns it.
 */
export function forwardToAlertBus(scope: Construct, rules: events.Rule[], bus: events.IEventBus): iam.Role {
  const id = 'AlertBusRole';
  const role = (scope.node.tryFindChild(id) as iam.Role | undefined) ?? createRole(scope, id);
  for (const rule of rules) rule.addTarget(new targets.EventBus(bus, { role }));
  return role;
}

function createRole(scope: Construct, id: string): iam.Role {
  const role = new iam.Role(scope, id, {
    assumedBy: new iam.ServicePrincipal('events.amazonaws.com'),
    description: 'Lets EventBridge forward fleet alerts to the alert bus, and nothing else',
  });
  // Its one statement, events:PutEvents on the bus, is the one the EventBus target adds (identical, so once).
  acknowledgeAlertForwardingRoleFindings(role);
  return role;
}
