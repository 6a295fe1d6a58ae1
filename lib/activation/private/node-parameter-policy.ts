import { Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { fail } from '../../private/validate';

/** A parameter hierarchy path: `/` then segments of letters, digits, `_`, `.` and `-`, optionally ending in `/`. */
const PARAMETER_PATH_PATTERN = /^(\/[a-zA-Z0-9_.-]+)+\/?$/;
const MAX_PATHS = 20;

/**
 * Denies the parameter reads that `AmazonSSMManagedInstanceCore` allows on `*` (`ssm:GetParameter`,
 * `ssm:GetParameters`; `ssm:GetParametersByPath` too) outside the given hierarchy paths, through one customer-managed
 * policy attached to the node role. An explicit Deny wins over the managed policy's Allow
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html). An empty list denies
 * every parameter read. A path allows the parameters under it (`<path>/*`, any account, for shared and AWS public
 * parameters) and `GetParametersByPath` on the path itself.
 */
export function restrictNodeParameters(scope: Construct, prop: string, role: iam.IRole, paths: string[] | undefined): iam.ManagedPolicy | undefined {
  if (paths === undefined) return undefined;
  if (Token.isUnresolved(paths)) fail(scope, `\`${prop}\` must be a list written out in the app (its elements may be tokens), got: a list token`);
  if (paths.length > MAX_PATHS) fail(scope, `\`${prop}\` must list at most ${MAX_PATHS} paths, got: ${paths.length}`);
  for (const path of paths) {
    if (Token.isUnresolved(path)) continue;
    if (!PARAMETER_PATH_PATTERN.test(path) || path.length > 1011) {
      fail(scope, `\`${prop}\` entries must be parameter hierarchy paths such as '/fleet/' ('/' then letters, digits, _ . - separated by '/', up to 1011 characters), got: '${path}'`);
    }
  }
  const stack = Stack.of(scope);
  const allowed = paths.flatMap((path) => {
    const name = path.replace(/^\//, '').replace(/\/$/, '');
    return [name, `${name}/*`].map((resourceName) => stack.formatArn({ service: 'ssm', account: '*', resource: 'parameter', resourceName }));
  });
  const actions = ['ssm:GetParameter', 'ssm:GetParameters', 'ssm:GetParametersByPath'];
  const statement = allowed.length > 0
    ? new iam.PolicyStatement({ sid: 'DenyParametersOutsideAllowedPaths', effect: iam.Effect.DENY, actions, notResources: allowed })
    : new iam.PolicyStatement({ sid: 'DenyAllParameters', effect: iam.Effect.DENY, actions, resources: ['*'] });
  return new iam.ManagedPolicy(scope, 'NodeParameterPolicy', {
    description: `Limits the parameters that nodes of ${scope.node.path} may read`,
    roles: [role],
    statements: [statement],
  });
}
