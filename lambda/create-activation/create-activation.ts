/**
 * Pure core of the create-activation handler (see docs/handler-contract.md).
 *
 * Parses and validates requests, decides caller binding, builds the CreateActivation input, applies the name
 * conflict policy and the node ceiling, and classifies failures. It has no SDK import, reads no environment, has no
 * clock and does not log: the adapter (`index.ts`) passes in the configuration, the current time, a sleep function
 * and an {@link ActivationPort}. Rules shared with other handlers live in `../shared/` (request parsing, tags, caller
 * identity, SSM error classification, nodes of this API).
 */
import { identifyCaller, type Caller, type CallerPolicy, type IdentityLike } from '../shared/caller';
import { isHybridNodeId, isOnline, markerFilters, type NodeFilter, type NodeInfo } from '../shared/nodes';
import { BadRequest, charLength, Forbidden, parseBodyObject } from '../shared/request';
import { classifyError, errorNameOf, failureOutcomeOf, isErrorNamed, type FailureOutcome } from '../shared/ssm-errors';
import {
  checkTagRules,
  MAX_TAGS,
  mergeTags,
  NAME_PATTERN,
  NAME_TAG_KEY,
  parseRequestTags,
  toSdkTags,
  type AllowedTag,
  type MarkerTag,
  type SdkTag,
} from '../shared/tags';

// ---------------------------------------------------------------------------------------------------------------
// Limits (AWS-FACTS 1.1 and 1.5; docs/handler-contract.md). Tag limits live in ../shared/tags.
// ---------------------------------------------------------------------------------------------------------------

/** Maximum instance name length, in characters. */
export const MAX_NAME_LENGTH = 256;
/** Maximum CreateActivation `Description` length, in characters. */
export const MAX_DESCRIPTION_LENGTH = 256;
/** Extra attempts when SSM cannot see the instance role yet; backoff is base, 2×base, 4×base. */
export const ROLE_RETRIES = 3;

// ---------------------------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------------------------

/** What to do when nodes of this API already carry the requested name (`NAME_CONFLICT_POLICY`). */
export type NameConflictPolicy = 'REJECT_IF_ONLINE' | 'REPLACE_OFFLINE' | 'ALWAYS_REPLACE' | 'ALLOW_DUPLICATES';

/** Name conflict policies, for env parsing. */
export const NAME_CONFLICT_POLICIES: readonly NameConflictPolicy[] = ['REJECT_IF_ONLINE', 'REPLACE_OFFLINE', 'ALWAYS_REPLACE', 'ALLOW_DUPLICATES'];

/** Handler configuration, read once by the adapter. */
export interface ActivationConfig extends CallerPolicy {
  /** Seconds from the request until the activation expires. */
  readonly lifetimeSeconds: number;
  readonly markerTag: MarkerTag;
  /** Tags always applied; an allowed request tag with the same key overrides one. */
  readonly defaultTags: Readonly<Record<string, string>>;
  readonly allowedTags: readonly AllowedTag[];
  /** Instance role name (may include a path), passed as `IamRole`. */
  readonly roleName: string;
  /** Base backoff for the role-visibility retries, in milliseconds. */
  readonly roleRetryBaseMs: number;
  readonly nameConflictPolicy: NameConflictPolicy;
  /** Ceiling on the nodes of this API; `0` = none. */
  readonly maxRegisteredNodes: number;
}

/**
 * Checks that a configuration is consistent (valid marker tag, no reserved keys among default or allowed tags,
 * room for at least the fixed tags) and returns it. Throws an `Error` naming the problem.
 */
export function checkConfig(config: ActivationConfig): ActivationConfig {
  checkTagRules(config.markerTag, config.allowedTags, config.defaultTags);
  if (2 + Object.keys(config.defaultTags).length > MAX_TAGS) {
    throw new Error(`Name, the marker tag and the default tags exceed ${MAX_TAGS} tags`);
  }
  if (config.roleName.length === 0) throw new Error('role name must not be empty');
  if (!Number.isSafeInteger(config.maxRegisteredNodes) || config.maxRegisteredNodes < 0) {
    throw new Error('the node ceiling must be an integer >= 0');
  }
  return config;
}

// ---------------------------------------------------------------------------------------------------------------
// Routing and request shapes
// ---------------------------------------------------------------------------------------------------------------

/** `create` is `POST /activations` (201); `activate` is `GET /activate` (200). */
export type Route = 'create' | 'activate';

/**
 * The route for a method and a path (API Gateway's `resource`, else the request `path`), or `undefined`.
 * A trailing slash is ignored.
 */
export function routeOf(method: string | undefined, path: string | undefined): Route | undefined {
  const normalized = (path ?? '').replace(/\/+$/, '');
  if (method === 'POST' && normalized === '/activations') return 'create';
  if (method === 'GET' && normalized === '/activate') return 'activate';
  return undefined;
}

/** The parts of an API Gateway proxy event the core reads (`APIGatewayProxyEvent` satisfies it). */
export interface ProxyEventLike {
  readonly body?: string | null;
  readonly isBase64Encoded?: boolean;
  readonly queryStringParameters?: Readonly<Record<string, string | undefined>> | null;
  readonly multiValueQueryStringParameters?: Readonly<Record<string, readonly string[] | undefined>> | null;
  readonly requestContext?: { readonly identity?: IdentityLike | null } | null;
}

/** A routed request. */
export interface ActivationRequest {
  readonly route: Route;
  readonly event: ProxyEventLike;
}

/** What the caller asked for; `name` is `undefined` when omitted. */
export interface RequestedActivation {
  readonly name?: string;
  readonly tags: ReadonlyMap<string, string>;
}

const CREATE_FIELDS: ReadonlySet<string> = new Set(['name', 'tags']);
const ACTIVATE_PARAMETERS = new Set(['name']);

/** Checks an instance name and returns it; throws {@link BadRequest}. */
export function checkName(name: unknown): string {
  if (typeof name !== 'string') throw new BadRequest('name must be a string');
  const length = charLength(name);
  if (length < 1 || length > MAX_NAME_LENGTH) {
    throw new BadRequest(`name must be 1 to ${MAX_NAME_LENGTH} characters long`);
  }
  if (!NAME_PATTERN.test(name)) {
    throw new BadRequest('name may contain only letters, numbers, spaces and _ . : / = + - @');
  }
  return name;
}

/** Parses a `POST /activations` body (`{"name"?, "tags"?}`); throws {@link BadRequest}. */
export function parseCreateBody(
  body: string | null | undefined,
  isBase64Encoded: boolean | undefined,
  allowedTags: readonly AllowedTag[],
): RequestedActivation {
  const fields = parseBodyObject(body, isBase64Encoded, CREATE_FIELDS);
  const name = fields.name === undefined ? undefined : checkName(fields.name);
  return { name, tags: parseRequestTags(fields.tags, allowedTags) };
}

/** Parses `GET /activate` query parameters (`name` only, at most once); throws {@link BadRequest}. */
export function parseActivateQuery(event: ProxyEventLike): RequestedActivation {
  const single = event.queryStringParameters ?? {};
  const multi = event.multiValueQueryStringParameters ?? {};
  const parameters = new Set([...Object.keys(single), ...Object.keys(multi)]);
  const unknownParameter = [...parameters].find((p) => !ACTIVATE_PARAMETERS.has(p));
  if (unknownParameter !== undefined) {
    throw new BadRequest(`unknown query parameter ${JSON.stringify(unknownParameter.slice(0, 64))}`);
  }
  const values = multi.name ?? (single.name === undefined ? [] : [single.name]);
  if (values.length > 1) throw new BadRequest('name query parameter must be given at most once');
  const name = values.length === 0 ? undefined : checkName(values[0]);
  return { name, tags: new Map() };
}

// ---------------------------------------------------------------------------------------------------------------
// Caller identity and binding
// ---------------------------------------------------------------------------------------------------------------

/**
 * The instance name for this request: the requested name, or the bound instance id when the name is omitted.
 * Throws {@link BadRequest} when there is neither, {@link Forbidden} when a bound caller asks for another name.
 */
export function resolveName(requested: string | undefined, caller: Caller): string {
  const bound = caller.boundInstanceId;
  if (requested === undefined) {
    if (bound === undefined) throw new BadRequest('name is required');
    return bound;
  }
  if (bound !== undefined && requested !== bound) {
    throw new Forbidden(`this caller may only request an activation named ${bound}`);
  }
  return requested;
}

// ---------------------------------------------------------------------------------------------------------------
// CreateActivation input and response
// ---------------------------------------------------------------------------------------------------------------

/** A CreateActivation tag (SDK shape). */
export type ActivationTag = SdkTag;

/** CreateActivation input, in the SDK's field names so the adapter passes it through unchanged. */
export interface CreateActivationInput {
  readonly IamRole: string;
  readonly RegistrationLimit: 1;
  readonly DefaultInstanceName: string;
  readonly Description: string;
  readonly ExpirationDate: Date;
  readonly Tags: ActivationTag[];
}

const truncate = (text: string, max: number): string => [...text].slice(0, max).join('');

/**
 * Merges the tags in contract order: `Name`, the marker tag, the defaults, then the request tags (a request tag
 * replaces a default with the same key, in place). Throws {@link BadRequest} above {@link MAX_TAGS}.
 */
export function activationTags(config: ActivationConfig, name: string, requestTags: ReadonlyMap<string, string>): ActivationTag[] {
  const fixed = new Map([[NAME_TAG_KEY, name], [config.markerTag.key, config.markerTag.value]]);
  const merged = mergeTags(fixed, config.defaultTags, requestTags);
  if (merged.size > MAX_TAGS) {
    throw new BadRequest(`too many tags: at most ${MAX_TAGS} including Name, the marker tag and the default tags`);
  }
  return toSdkTags(merged);
}

/** Builds the CreateActivation input; `ExpirationDate` is `now + lifetimeSeconds`. Throws {@link BadRequest}. */
export function buildCreateActivationInput(
  config: ActivationConfig,
  name: string,
  requestTags: ReadonlyMap<string, string>,
  now: Date,
): CreateActivationInput {
  return {
    IamRole: config.roleName,
    RegistrationLimit: 1,
    DefaultInstanceName: name,
    Description: truncate(`Activation for ${name} issued by ${config.markerTag.value}`, MAX_DESCRIPTION_LENGTH),
    ExpirationDate: new Date(now.getTime() + config.lifetimeSeconds * 1000),
    Tags: activationTags(config, name, requestTags),
  };
}

/** An activation SSM issued. The code is a credential: return it to the caller, never log it. */
export interface IssuedActivation {
  readonly activationId: string;
  readonly activationCode: string;
  readonly instanceName: string;
  /** ISO-8601 UTC. */
  readonly expiresAt: string;
}

/** The success response body. */
export interface ActivationBody extends IssuedActivation {
  readonly region: string;
}

/** Shapes the success body `{activationId, activationCode, region, instanceName, expiresAt}`. */
export function activationBody(activation: IssuedActivation, region: string): ActivationBody {
  return {
    activationId: activation.activationId,
    activationCode: activation.activationCode,
    region,
    instanceName: activation.instanceName,
    expiresAt: activation.expiresAt,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Role retry (failures are classified by ../shared/ssm-errors)
// ---------------------------------------------------------------------------------------------------------------

/** Waits the given milliseconds. */
export type Sleep = (ms: number) => Promise<void>;

/**
 * Runs `fn`, retrying up to `retries` more times while it fails with a `role-not-visible` error, sleeping
 * `baseMs`, `2×baseMs`, `4×baseMs`… before each retry. Other errors, and the last one, are rethrown.
 */
export async function withRoleRetry<T>(fn: () => Promise<T>, sleep: Sleep, baseMs: number, retries = ROLE_RETRIES): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= retries || classifyError(err) !== 'role-not-visible') throw err;
      await sleep(baseMs * 2 ** attempt);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Name conflicts and the node ceiling (docs/handler-contract.md, "Lifecycle")
// ---------------------------------------------------------------------------------------------------------------

/**
 * The hybrid nodes among `nodes` that carry `name`: `InstanceId` starts with `mi-` and `Name` equals `name`
 * (the tag filter matched the `Name` tag; EC2 instances and renamed nodes are left out). Duplicates are dropped.
 */
export function nodesNamed(nodes: readonly NodeInfo[], name: string): NodeInfo[] {
  const seen = new Set<string>();
  return nodes.filter((node) => {
    if (!isHybridNodeId(node.InstanceId) || node.Name !== name || seen.has(node.InstanceId)) return false;
    seen.add(node.InstanceId);
    return true;
  });
}

/** What the name conflict policy decided. */
export type ConflictDecision =
  | { readonly kind: 'conflict'; readonly instanceId: string }
  | { readonly kind: 'proceed'; readonly deregister: readonly string[] };

/**
 * Applies the name conflict policy to the hybrid nodes of this API that already carry the name (see
 * {@link nodesNamed}):
 * - `REJECT_IF_ONLINE`: any online → conflict (the first online one); offline ones are left alone;
 * - `REPLACE_OFFLINE`: any online → conflict; else deregister the offline ones;
 * - `ALWAYS_REPLACE`: deregister all of them;
 * - `ALLOW_DUPLICATES`: proceed, deregister nothing.
 */
export function decideNameConflict(policy: NameConflictPolicy, sameName: readonly NodeInfo[]): ConflictDecision {
  const ids = (nodes: readonly NodeInfo[]): string[] => nodes.map((node) => node.InstanceId).filter(isHybridNodeId);
  if (policy === 'ALLOW_DUPLICATES') return { kind: 'proceed', deregister: [] };
  if (policy === 'ALWAYS_REPLACE') return { kind: 'proceed', deregister: ids(sameName) };
  const online = ids(sameName.filter(isOnline));
  if (online.length > 0) return { kind: 'conflict', instanceId: online[0]! };
  return { kind: 'proceed', deregister: policy === 'REPLACE_OFFLINE' ? ids(sameName) : [] };
}

/** The 409 message for an online node that already carries the name. */
export const conflictMessage = (name: string, instanceId: string): string =>
  `a node named '${name}' registered through this API is online: ${instanceId}`;

/** The ceiling check's verdict. */
export interface CeilingCheck {
  /** Nodes of this API that stay registered: all of them minus the ones about to be replaced. */
  readonly registered: number;
  readonly max: number;
  /** `registered >= max` (with `max > 0`): one more node would exceed the ceiling. */
  readonly exceeded: boolean;
}

/**
 * Counts the nodes of this API (distinct instance ids, any type) that stay registered once `replaced` are
 * deregistered, and compares the count with the ceiling `max` (`0` = no ceiling).
 */
export function checkCeiling(nodesOfApi: readonly NodeInfo[], replaced: readonly string[], max: number): CeilingCheck {
  const gone = new Set(replaced);
  const remaining = new Set<string>();
  for (const node of nodesOfApi) {
    if (node.InstanceId !== undefined && !gone.has(node.InstanceId)) remaining.add(node.InstanceId);
  }
  return { registered: remaining.size, max, exceeded: max > 0 && remaining.size >= max };
}

/** The 429 message when the ceiling is reached. */
export const ceilingMessage = ({ registered, max }: CeilingCheck): string =>
  `this API has registered ${registered} nodes and its ceiling is ${max}; `
  + 'deregister nodes that are no longer needed or raise the ceiling';

// ---------------------------------------------------------------------------------------------------------------
// Request handling
// ---------------------------------------------------------------------------------------------------------------

/** The side effects: look up and deregister nodes of this API, create one activation. */
export interface ActivationPort {
  create(input: CreateActivationInput): Promise<{ activationId: string; activationCode: string }>;
  /** Every node `DescribeInstanceInformation` finds with these (tag) filters, over all pages. */
  findNodes(filters: readonly NodeFilter[]): Promise<NodeInfo[]>;
  /** `DeregisterManagedInstance`; rejects with the SDK error (`InvalidInstanceId` when the node is already gone). */
  deregister(instanceId: string): Promise<void>;
}

/** Fields every result carries for the request log. */
interface ResultBase {
  readonly caller: Caller;
  /** The (validated) instance name, once known. */
  readonly name?: string;
  /** Nodes deregistered (or found already gone) for this request, in order. */
  readonly deregistered: readonly string[];
}

/** The outcome of one request; the adapter maps it to HTTP. */
export type ActivationResult = ResultBase &
  (
    | { readonly outcome: 'created'; readonly activation: IssuedActivation }
    | { readonly outcome: 'rejected' | 'forbidden' | 'ceiling'; readonly reason: string }
    | { readonly outcome: 'conflict'; readonly reason: string; readonly conflictingInstanceId: string }
    | { readonly outcome: FailureOutcome; readonly errorName: string }
  );

async function issue(port: ActivationPort, input: CreateActivationInput, config: ActivationConfig, sleep: Sleep): Promise<IssuedActivation> {
  const { activationId, activationCode } = await withRoleRetry(() => port.create(input), sleep, config.roleRetryBaseMs);
  return {
    activationId,
    activationCode,
    instanceName: input.DefaultInstanceName,
    expiresAt: input.ExpirationDate.toISOString(),
  };
}

/** What to do before CreateActivation: stop with a 409/429, or deregister these nodes and go on. */
type Plan =
  | { readonly kind: 'conflict'; readonly instanceId: string }
  | { readonly kind: 'ceiling'; readonly check: CeilingCheck }
  | { readonly kind: 'proceed'; readonly deregister: readonly string[] };

/** Steps 1–2 of the contract: find nodes with the name (unless duplicates are allowed), then check the ceiling. */
async function plan(port: ActivationPort, config: ActivationConfig, name: string): Promise<Plan> {
  const sameName = config.nameConflictPolicy === 'ALLOW_DUPLICATES'
    ? []
    : nodesNamed(await port.findNodes(markerFilters(config.markerTag, name)), name);
  const decision = decideNameConflict(config.nameConflictPolicy, sameName);
  if (decision.kind === 'conflict' || config.maxRegisteredNodes === 0) return decision;
  const check = checkCeiling(await port.findNodes(markerFilters(config.markerTag)), decision.deregister, config.maxRegisteredNodes);
  return check.exceeded ? { kind: 'ceiling', check } : decision;
}

/** Deregisters one node; `InvalidInstanceId` means it is already gone, which is fine. Other errors are rethrown. */
async function deregisterNode(port: ActivationPort, instanceId: string): Promise<void> {
  try {
    await port.deregister(instanceId);
  } catch (err) {
    if (!isErrorNamed(err, 'InvalidInstanceId')) throw err;
  }
}

/**
 * Handles one routed request: identifies the caller, parses and validates the request, applies caller binding,
 * applies the name conflict policy and the node ceiling, deregisters replaced nodes, creates the activation (with
 * role-visibility retries) and classifies failures. Domain errors and port failures become results; anything else
 * (a bug) is thrown.
 */
export async function handleActivationRequest(
  port: ActivationPort,
  config: ActivationConfig,
  request: ActivationRequest,
  now: Date,
  sleep: Sleep,
): Promise<ActivationResult> {
  const caller = identifyCaller(request.event.requestContext?.identity, config);
  let name: string | undefined;
  let input: CreateActivationInput;
  try {
    const requested = request.route === 'create'
      ? parseCreateBody(request.event.body, request.event.isBase64Encoded, config.allowedTags)
      : parseActivateQuery(request.event);
    name = requested.name; // logged as asked if binding forbids it
    name = resolveName(requested.name, caller);
    input = buildCreateActivationInput(config, name, requested.tags, now);
  } catch (err) {
    const base = { caller, name, deregistered: [] };
    if (err instanceof BadRequest) return { ...base, outcome: 'rejected', reason: err.message };
    if (err instanceof Forbidden) return { ...base, outcome: 'forbidden', reason: err.message };
    throw err;
  }
  const deregistered: string[] = [];
  const base = (): ResultBase => ({ caller, name, deregistered: [...deregistered] });
  try {
    const next = await plan(port, config, input.DefaultInstanceName);
    if (next.kind === 'conflict') {
      return { ...base(), outcome: 'conflict', reason: conflictMessage(input.DefaultInstanceName, next.instanceId), conflictingInstanceId: next.instanceId };
    }
    if (next.kind === 'ceiling') return { ...base(), outcome: 'ceiling', reason: ceilingMessage(next.check) };
    for (const instanceId of next.deregister) {
      await deregisterNode(port, instanceId);
      deregistered.push(instanceId);
    }
    return { ...base(), outcome: 'created', activation: await issue(port, input, config, sleep) };
  } catch (err) {
    return { ...base(), outcome: failureOutcomeOf(err), errorName: errorNameOf(err) };
  }
}
