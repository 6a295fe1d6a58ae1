/**
 * Caller identity of an API Gateway (REST, Lambda proxy) request, caller binding of EC2 instance-profile sessions,
 * the owner of what a caller registers, and per-caller name rules (docs/handler-contract.md, "Callers bound to what
 * they own"). Pure: no SDK, no environment, no clock, no logging.
 */
import { createHash } from 'node:crypto';
import { isValidTagValue, NAME_TAG_KEY, OWNER_TAG_KEY } from './tags';

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
  /**
   * The owner tag value of what this caller registers (see {@link ownerTagValue}); `undefined` when the caller is
   * unknown, and then it owns nothing.
   */
  readonly owner?: string;
}

/**
 * The owner tag value for a caller identity (`userArn`, or `apiKey:<id>`): the identity itself when it is a valid tag
 * value (at most 256 characters of letters, numbers, spaces and `_ . : / = + - @`), else `sha256:` and the hex
 * SHA-256 of it (an ARN with a comma, or an IAM user with a long path). Assumed-role sessions are kept whole, session
 * name included: every machine signing through one Roles Anywhere profile shares the role, but each certificate has
 * its own session name, so the session (not the role) is what a machine owns.
 */
export function ownerTagValue(identity: string): string {
  return isValidTagValue(identity) ? identity : `sha256:${createHash('sha256').update(identity, 'utf8').digest('hex')}`;
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
    owner: caller === undefined ? undefined : ownerTagValue(caller),
  };
}

/**
 * Whether the caller may replace or re-tag a node (or replace an unused activation) with these tags: an EC2 caller
 * bound to its instance id owns what is named after it; any other caller owns what carries its owner tag value.
 * A node without an owner tag (registered before owners were recorded) belongs to no such caller.
 */
export function owns(caller: Caller, tags: ReadonlyMap<string, string>): boolean {
  if (caller.boundInstanceId !== undefined) return tags.get(NAME_TAG_KEY) === caller.boundInstanceId;
  return caller.owner !== undefined && tags.get(OWNER_TAG_KEY) === caller.owner;
}

// ---------------------------------------------------------------------------------------------------------------
// Per-caller name rules (`CALLER_NAME_RULES`)
// ---------------------------------------------------------------------------------------------------------------

/**
 * Callers matching `caller` may only ask for names matching `names`. Both are globs where `*` stands for any run of
 * characters (none included) and everything else is literal; they match the whole text. `caller` is matched against
 * the caller identity (`userArn`, or `apiKey:<id>`).
 */
export interface CallerNameRule {
  readonly caller: string;
  readonly names: string;
}

/** A glob (`*` = any run of characters) as an anchored regular expression. */
export function globToRegExp(glob: string): RegExp {
  const body = glob.split('*').map((part) => part.replace(/[\\^$.|?+()[\]{}]/g, '\\$&')).join('[\\s\\S]*');
  return new RegExp(`^${body}$`, 'u');
}

/** Parses `CALLER_NAME_RULES` (a JSON array of `{caller, names}` strings, may be empty); throws an `Error`. */
export function parseCallerNameRules(value: unknown): CallerNameRule[] {
  if (!Array.isArray(value)) throw new Error('must be a JSON array of {"caller", "names"} objects');
  return value.map((entry: unknown) => {
    const rule = entry as Record<string, unknown> | null;
    if (typeof rule !== 'object' || rule === null || Array.isArray(rule)) throw new Error('each entry must be an object');
    const extra = Object.keys(rule).find((k) => k !== 'caller' && k !== 'names');
    if (extra !== undefined) throw new Error(`unknown field ${JSON.stringify(extra)} in a name rule`);
    if (typeof rule.caller !== 'string' || rule.caller.length === 0) throw new Error('"caller" must be a non-empty string');
    if (typeof rule.names !== 'string' || rule.names.length === 0) throw new Error('"names" must be a non-empty string');
    return { caller: rule.caller, names: rule.names };
  });
}

/**
 * Whether the rules let this caller ask for `name`: a caller that matches no rule may ask for any name; one that
 * matches rules must ask for a name that one of them allows. An unknown caller is matched as the empty text.
 */
export function nameAllowed(rules: readonly CallerNameRule[], caller: string | undefined, name: string): boolean {
  const mine = rules.filter((rule) => globToRegExp(rule.caller).test(caller ?? ''));
  return mine.length === 0 || mine.some((rule) => globToRegExp(rule.names).test(name));
}

/** Caller fields for a request log line (no binding detail). */
export function callerLogFields({ caller, callerAccount, sourceIp }: Caller): { caller?: string; callerAccount?: string; sourceIp?: string } {
  return { caller, callerAccount, sourceIp };
}
