/**
 * Caller identity of an API Gateway (REST, Lambda proxy) request and caller binding of EC2 instance-profile
 * sessions (docs/handler-contract.md). Pure: no SDK, no environment, no logging.
 */

/** How API Gateway authenticates callers. */
export type Authorization = 'IAM' | 'API_KEY';

/** Authorization modes, for env parsing. */
export const AUTHORIZATIONS: readonly Authorization[] = ['IAM', 'API_KEY'];

/** The configuration caller identification reads. */
export interface CallerPolicy {
  readonly authorization: Authorization;
  /** With `IAM`, bind EC2 instance-profile callers to their own instance id. */
  readonly callerBinding: boolean;
}

/** The caller fields of `requestContext.identity` that the handlers read. */
export interface IdentityLike {
  readonly userArn?: string | null;
  readonly apiKeyId?: string | null;
  readonly accountId?: string | null;
  readonly sourceIp?: string | null;
}

/** Who called, for logging and binding. */
export interface Caller {
  /** The IAM `userArn`, or `apiKey:<apiKeyId>` with API keys. */
  readonly caller?: string;
  readonly callerAccount?: string;
  readonly sourceIp?: string;
  /** Set when caller binding applies: the EC2 instance id the caller is bound to. */
  readonly boundInstanceId?: string;
}

/**
 * An EC2 instance-profile session: `arn:<partition>:sts::<account>:assumed-role/<role>/<instance id>`.
 * Any other assumed-role session (a person, a CI job) is not bound.
 */
const EC2_SESSION_ARN = /^arn:[a-z][a-z0-9-]*:sts::\d{12}:assumed-role\/[\w+=,.@-]{1,64}\/(i-[0-9a-f]{8}|i-[0-9a-f]{17})$/;

/** The EC2 instance id in an instance-profile session ARN, or `undefined` for any other ARN. */
export function ec2InstanceIdOf(userArn: string | null | undefined): string | undefined {
  return userArn ? EC2_SESSION_ARN.exec(userArn)?.[1] : undefined;
}

const present = (value: string | null | undefined): string | undefined => (value ? value : undefined);

/** Extracts the caller and decides binding (only with `IAM` authorization and `callerBinding` on). */
export function identifyCaller(identity: IdentityLike | null | undefined, policy: CallerPolicy): Caller {
  const apiKeyId = present(identity?.apiKeyId);
  const userArn = present(identity?.userArn);
  const isIam = policy.authorization === 'IAM';
  const caller = isIam ? userArn : apiKeyId && `apiKey:${apiKeyId}`;
  const boundInstanceId = isIam && policy.callerBinding ? ec2InstanceIdOf(userArn) : undefined;
  return {
    caller,
    callerAccount: present(identity?.accountId),
    sourceIp: present(identity?.sourceIp),
    boundInstanceId,
  };
}

/** Caller fields for a request log line (no binding detail). */
export function callerLogFields({ caller, callerAccount, sourceIp }: Caller): { caller?: string; callerAccount?: string; sourceIp?: string } {
  return { caller, callerAccount, sourceIp };
}
