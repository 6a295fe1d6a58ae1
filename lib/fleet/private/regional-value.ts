import { Aws, CfnCondition, CfnMapping, Fn, ICfnConditionExpression, Stack, Token } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { fail } from '../../private/validate';

/** A value of the stack's Region, and the condition under which it exists (a Region known only at deploy time). */
export interface RegionalValue {
  readonly value: string;
  readonly condition?: CfnCondition;
}

/** `Fn::Or` takes 2 to 10 conditions. */
const MAX_OR = 10;

/**
 * The value for the stack's Region out of a per-Region table.
 *
 * - The stack's Region is known at synth time (or is exactly a key of the table): that entry, or nothing.
 * - It is not (an environment-agnostic stack, a StackSet template): a `CfnMapping` keyed by `AWS::Region` and a
 *   condition that holds in the Regions of the table, so a stack instance in any other Region gets nothing. Put the
 *   condition on every resource that reads the value: CloudFormation evaluates no property of a resource whose
 *   condition is false, so `Fn::FindInMap` never runs in a Region without an entry.
 *
 * @param prop the prop that holds the table, for error messages
 */
export function regionalValue(scope: Construct, id: string, prop: string, table: { [region: string]: string }): RegionalValue | undefined {
  const region = Stack.of(scope).region;
  if (table[region] !== undefined) return { value: table[region] };
  if (!Token.isUnresolved(region)) return undefined;
  const regions = Object.keys(table);
  if (regions.length === 0) return undefined;
  const tokens = regions.filter((r) => Token.isUnresolved(r));
  if (tokens.length > 0) {
    fail(scope, `\`${prop}\` must be keyed by literal Region names when the stack's Region is known only at deploy time (a StackSet template), got: a key that is a deploy-time value`);
  }
  const mapping = new CfnMapping(scope, `${id}Map`, {
    mapping: Object.fromEntries(regions.map((r) => [r, { Value: table[r] }])),
  });
  const condition = new CfnCondition(scope, `${id}InRegion`, { expression: anyRegion(regions) });
  return { value: mapping.findInMap(Aws.REGION, 'Value'), condition };
}

/** `AWS::Region` is one of `regions` (nested `Fn::Or` beyond ten). */
function anyRegion(regions: string[]): ICfnConditionExpression {
  const equals: ICfnConditionExpression[] = regions.map((r) => Fn.conditionEquals(Aws.REGION, r));
  return or(equals);
}

function or(conditions: ICfnConditionExpression[]): ICfnConditionExpression {
  if (conditions.length === 1) return conditions[0];
  if (conditions.length <= MAX_OR) return Fn.conditionOr(...conditions);
  const groups: ICfnConditionExpression[] = [];
  for (let i = 0; i < conditions.length; i += MAX_OR) groups.push(or(conditions.slice(i, i + MAX_OR)));
  return or(groups);
}
