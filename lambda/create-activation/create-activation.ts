/**
 * Pure core of the create-activation handler (see docs/handler-contract.md).
 *
 * Parses and validates requests, decides caller binding, builds the CreateActivation input, applies the name
 * conflict policy and the node ceiling, and classifies failures. It has no SDK import, reads no environment, has no
 * clock and does not log: the adapter (`index.ts`) passes in the configuration, the current time, a sleep function
 * and an {@link ActivationPort}. Rules shared with other handlers live in `lambda/shared/` (request parsing, tags, caller
 * identity, SSM error classification, nodes of this API).
 */
import { identifyCaller, nameAllowed, owns, type Caller, type CallerNameRule, type CallerPolicy, type IdentityLike } from '../shared/caller';
import { DeadlineExceeded, isDeadlineError, UNLIMITED, type Budget } from '../shared/deadline';
import { isHybridNodeId, isOnline, markerFilters, type NodeFilter, type NodeInfo } from '../shared/nodes';
import { BadRequest, charLength, Forbidden, parseBodyObject } from '../shared/request';
import { classifyError, errorNameOf, errorStackOf, failureOutcomeOf, isErrorNamed, type FailureOutcome } from '../shared/ssm-errors';
import {
  checkTagRules,
  MAX_TAGS,
  mergeTags,
  NAME_PATTERN,
  NAME_TAG_KEY,
  OWNER_TAG_KEY,
  parseRequestTags,
  toSdkTags,
  type AllowedTag,
  type MarkerTag,
  type SdkTag,
} from '../shared/tags';

// ---------------------------------------------------------------------------------------------------------------
// Limits (https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_CreateActivation.html;
// docs/handler-contract.md). Tag limits live in lambda/shared/tags.ts.
// ---------------------------------------------------------------------------------------------------------------

/** Maximum instance name length, in characters. */
export const MAX_NAME_LENGTH = 256;
/** Maximum CreateActivation `Description` length, in characters. */
export const MAX_DESCRIPTION_LENGTH = 256;
/** Extra attempts when SSM cannot see the instance role yet; backoff is base, 2×base, 4×base. */
export const ROLE_RETRIES = 3;
/** Tags the API sets on every activation: `Name`, the marker and the owner. */
export const FIXED_TAGS = 3;

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
  /** Ceiling on the nodes plus unused activations of this API; `0` = none. */
  readonly maxRegisteredNodes: number;
  /** Per-caller name rules (`CALLER_NAME_RULES`); none = any caller may ask for any name. */
  readonly callerNameRules?: readonly CallerNameRule[];
}

/**
 * Checks that a configuration is consistent (valid marker tag, no reserved keys among default or allowed tags,
 * room for at least the fixed tags) and returns it. Throws an `Error` naming the problem.
 */
export function checkConfig(config: ActivationConfig): ActivationConfig {
  checkTagRules(config.markerTag, config.allowedTags, config.defaultTags);
  if (FIXED_TAGS + Object.keys(config.defaultTags).length > MAX_TAGS) {
    throw new Error(`Name, the marker tag, the owner tag and the default tags exceed ${MAX_TAGS} tags`);
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

/** Throws {@link Forbidden} when the per-caller name rules do not let this caller ask for `name`. */
export function checkNameRules(rules: readonly CallerNameRule[] | undefined, caller: Caller, name: string): void {
  if (rules !== undefined && !nameAllowed(rules, caller.caller, name)) {
    throw new Forbidden('this caller may not request an activation with this name');
  }
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
 * Merges the tags in contract order: `Name`, the marker tag, the owner tag (when the caller is known), the defaults,
 * then the request tags (a request tag replaces a default with the same key, in place). Throws {@link BadRequest}
 * above {@link MAX_TAGS}.
 */
export function activationTags(config: ActivationConfig, name: string, requestTags: ReadonlyMap<string, string>, owner?: string): ActivationTag[] {
  const fixed = new Map([[NAME_TAG_KEY, name], [config.markerTag.key, config.markerTag.value]]);
  if (owner !== undefined) fixed.set(OWNER_TAG_KEY, owner);
  const merged = mergeTags(fixed, config.defaultTags, requestTags);
  if (merged.size > MAX_TAGS) {
    throw new BadRequest(`too many tags: at most ${MAX_TAGS} including Name, the marker tag, the owner tag and the default tags`);
  }
  return toSdkTags(merged);
}

/** Builds the CreateActivation input; `ExpirationDate` is `now + lifetimeSeconds`. Throws {@link BadRequest}. */
export function buildCreateActivationInput(
  config: ActivationConfig,
  name: string,
  requestTags: ReadonlyMap<string, string>,
  now: Date,
  owner?: string,
): CreateActivationInput {
  return {
    IamRole: config.roleName,
    RegistrationLimit: 1,
    DefaultInstanceName: name,
    Description: truncate(`Activation for ${name} issued by ${config.markerTag.value}`, MAX_DESCRIPTION_LENGTH),
    ExpirationDate: new Date(now.getTime() + config.lifetimeSeconds * 1000),
    Tags: activationTags(config, name, requestTags, owner),
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
// Role retry (failures are classified by lambda/shared/ssm-errors.ts)
// ---------------------------------------------------------------------------------------------------------------

/** Waits the given milliseconds. */
export type Sleep = (ms: number) => Promise<void>;

/**
 * Runs `fn`, retrying up to `retries` more times while it fails with a `role-not-visible` error, sleeping
 * `baseMs`, `2×baseMs`, `4×baseMs`… before each retry. Other errors, and the last one, are rethrown; so is the
 * error when the budget has no room for the sleep and one more try.
 */
export async function withRoleRetry<T>(
  fn: () => Promise<T>,
  sleep: Sleep,
  baseMs: number,
  retries = ROLE_RETRIES,
  budget: Budget = UNLIMITED,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= retries || classifyError(err) !== 'role-not-visible') throw err;
      const delay = baseMs * 2 ** attempt;
      if (budget.remainingMs() <= delay) throw err;
      await sleep(delay);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Name conflicts, unused activations and the ceiling (docs/handler-contract.md, "Lifecycle" and "Callers bound to
// what they own")
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

/** Why a request clashes: an online node of the name, a node the caller does not own, an unused activation it does not own. */
export type ConflictReason = 'online' | 'not-owned' | 'activation-not-owned';

/** What the name conflict policy decided. */
export type ConflictDecision =
  | { readonly kind: 'conflict'; readonly instanceId?: string; readonly reason: ConflictReason }
  | { readonly kind: 'proceed'; readonly deregister: readonly string[] };

/**
 * Applies the name conflict policy to the hybrid nodes of this API that already carry the name (see
 * {@link nodesNamed}); `owned` holds the ids of those the caller owns (`undefined`: all of them):
 * - `REJECT_IF_ONLINE`: any online → conflict (the first online one); offline ones are left alone;
 * - `REPLACE_OFFLINE`: any online → conflict; any the caller does not own → conflict; else deregister them;
 * - `ALWAYS_REPLACE`: any the caller does not own → conflict; else deregister all of them;
 * - `ALLOW_DUPLICATES`: proceed, deregister nothing.
 */
export function decideNameConflict(policy: NameConflictPolicy, sameName: readonly NodeInfo[], owned?: ReadonlySet<string>): ConflictDecision {
  const ids = (nodes: readonly NodeInfo[]): string[] => nodes.map((node) => node.InstanceId).filter(isHybridNodeId);
  if (policy === 'ALLOW_DUPLICATES') return { kind: 'proceed', deregister: [] };
  const online = ids(sameName.filter(isOnline));
  if (policy !== 'ALWAYS_REPLACE' && online.length > 0) return { kind: 'conflict', instanceId: online[0]!, reason: 'online' };
  if (policy === 'REJECT_IF_ONLINE') return { kind: 'proceed', deregister: [] };
  const foreign = ids(sameName).filter((id) => owned !== undefined && !owned.has(id));
  if (foreign.length > 0) return { kind: 'conflict', instanceId: foreign[0]!, reason: 'not-owned' };
  return { kind: 'proceed', deregister: ids(sameName) };
}

/** The 409 message. It never names a node id: the caller may not own the node. */
export function conflictMessage(name: string, reason: ConflictReason): string {
  switch (reason) {
    case 'online':
      return `a node named '${name}' registered through this API is online`;
    case 'not-owned':
      return `a node named '${name}' registered through this API was registered by another caller`;
    case 'activation-not-owned':
      return `an unused activation for '${name}' issued to another caller is still valid`;
  }
}

/** The fields of a `DescribeActivations` entry the handler reads (SDK shape). */
export interface ActivationInfo {
  readonly ActivationId?: string;
  readonly DefaultInstanceName?: string;
  readonly RegistrationLimit?: number;
  readonly RegistrationsCount?: number;
  readonly Expired?: boolean;
  readonly ExpirationDate?: Date;
  readonly Tags?: readonly SdkTag[];
}

/** A `DescribeActivations` filter (SDK shape). */
export interface ActivationFilter {
  readonly FilterKey: 'DefaultInstanceName' | 'IamRole';
  readonly FilterValues: string[];
}

/** Whether an activation is this API's (marker tag) and still usable: not expired and registrations left. */
export function isOutstanding(activation: ActivationInfo, markerTag: MarkerTag, now: Date): boolean {
  const tags = mergeTags(activation.Tags ?? []);
  return tags.get(markerTag.key) === markerTag.value
    && activation.ActivationId !== undefined
    && activation.Expired !== true
    && (activation.ExpirationDate === undefined || activation.ExpirationDate.getTime() > now.getTime())
    && (activation.RegistrationsCount ?? 0) < (activation.RegistrationLimit ?? 1);
}

/** The ceiling count: nodes of this API and its unused activations, by id. */
export interface CeilingCount {
  readonly nodes: ReadonlySet<string>;
  readonly activations: ReadonlySet<string>;
}

/** The ceiling check's verdict (logged; the 429 body carries no count). */
export interface CeilingCheck {
  /** Nodes and unused activations of this API that remain once `replaced` nodes and activations are gone. */
  readonly registered: number;
  readonly max: number;
  /** `registered >= max` (with `max > 0`): one more activation would exceed the ceiling. */
  readonly exceeded: boolean;
}

/** Counts the nodes and unused activations that remain once `replaced` (node or activation ids) are gone. */
export function checkCeiling(count: CeilingCount, replaced: readonly string[], max: number): CeilingCheck {
  const gone = new Set(replaced);
  let registered = 0;
  for (const id of [...count.nodes, ...count.activations]) if (!gone.has(id)) registered++;
  return { registered, max, exceeded: max > 0 && registered >= max };
}

/** The 429 message when the ceiling is reached: no count and no maximum. */
export const CEILING_MESSAGE = 'this API has reached its ceiling of registered nodes and unused activations; '
  + 'deregister nodes that are no longer needed or raise the ceiling';

/** How long a container reuses its ceiling count, in milliseconds. */
export const CEILING_CACHE_MS = 30_000;

/**
 * The ceiling count, kept per container for `ttlMs` and updated with what this container did since (nodes it
 * deregistered, activations it deleted or created). Creations by other containers show up when the count expires.
 */
export class CeilingCache {
  private count?: { readonly nodes: Set<string>; readonly activations: Set<string>; readonly at: number };

  constructor(private readonly ttlMs = CEILING_CACHE_MS) {}

  /** The cached count, or `undefined` when there is none or it is `ttlMs` old. */
  public get(nowMs: number): CeilingCount | undefined {
    const count = this.count;
    return count !== undefined && nowMs - count.at < this.ttlMs && nowMs >= count.at ? count : undefined;
  }

  /** Stores a fresh count taken at `nowMs`. */
  public set(count: CeilingCount, nowMs: number): void {
    this.count = { nodes: new Set(count.nodes), activations: new Set(count.activations), at: nowMs };
  }

  /** Records what a request did: these ids are gone, this activation is new. */
  public update(gone: readonly string[], created?: string): void {
    if (this.count === undefined) return;
    for (const id of gone) {
      this.count.nodes.delete(id);
      this.count.activations.delete(id);
    }
    if (created !== undefined) this.count.activations.add(created);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Request handling
// ---------------------------------------------------------------------------------------------------------------

/** The side effects: look up and deregister nodes of this API, look up and delete activations, create one. */
export interface ActivationPort {
  create(input: CreateActivationInput): Promise<{ activationId: string; activationCode: string }>;
  /** Every node `DescribeInstanceInformation` finds with these (tag) filters, over all pages. */
  findNodes(filters: readonly NodeFilter[]): Promise<NodeInfo[]>;
  /** `DeregisterManagedInstance`; rejects with the SDK error (`InvalidInstanceId` when the node is already gone). */
  deregister(instanceId: string): Promise<void>;
  /** Every activation `DescribeActivations` finds with these filters, over all pages. */
  findActivations(filters: readonly ActivationFilter[]): Promise<ActivationInfo[]>;
  /** `DeleteActivation`; rejects with the SDK error (`InvalidActivation`/`InvalidActivationId` when already gone). */
  deleteActivation(activationId: string): Promise<void>;
}

/** Per-request extras: the time budget and the container's ceiling cache. */
export interface RequestOptions {
  readonly budget?: Budget;
  readonly ceilingCache?: CeilingCache;
}

/** Fields every result carries for the request log. */
interface ResultBase {
  readonly caller: Caller;
  /** The (validated) instance name, once known. */
  readonly name?: string;
  /** Nodes deregistered (or found already gone) for this request, in order. */
  readonly deregistered: readonly string[];
  /** Unused activations of this name deleted (or found already gone) for this request, in order. */
  readonly replacedActivations?: readonly string[];
}

/** The outcome of one request; the adapter maps it to HTTP. */
export type ActivationResult = ResultBase &
  (
    | { readonly outcome: 'created'; readonly activation: IssuedActivation }
    | { readonly outcome: 'rejected' | 'forbidden'; readonly reason: string }
    | { readonly outcome: 'ceiling'; readonly reason: string; readonly check: CeilingCheck }
    | { readonly outcome: 'conflict'; readonly reason: string; readonly conflictingInstanceId?: string }
    | { readonly outcome: FailureOutcome | 'deadline'; readonly errorName: string; readonly errorStack?: string }
  );

/** What to do before CreateActivation: stop with a 409/429, or remove these nodes and activations and go on. */
type Plan =
  | { readonly kind: 'conflict'; readonly instanceId?: string; readonly reason: ConflictReason }
  | { readonly kind: 'ceiling'; readonly check: CeilingCheck }
  | { readonly kind: 'proceed'; readonly deregister: readonly string[]; readonly deleteActivations: readonly string[] };

/** One request's view of the port: every call first checks the budget. */
class Steps {
  constructor(private readonly port: ActivationPort, private readonly budget: Budget) {}

  private check(): void {
    if (this.budget.remainingMs() <= 0) throw new DeadlineExceeded();
  }

  public async findNodes(filters: readonly NodeFilter[]): Promise<NodeInfo[]> {
    this.check();
    return this.port.findNodes(filters);
  }

  public async findActivations(filters: readonly ActivationFilter[]): Promise<ActivationInfo[]> {
    this.check();
    return this.port.findActivations(filters);
  }

  /** Deregisters one node; `InvalidInstanceId` means it is already gone, which is fine. */
  public async deregister(instanceId: string): Promise<void> {
    this.check();
    try {
      await this.port.deregister(instanceId);
    } catch (err) {
      if (!isErrorNamed(err, 'InvalidInstanceId')) throw err;
    }
  }

  /** Deletes one activation; `InvalidActivation`/`InvalidActivationId` means it is already gone, which is fine. */
  public async deleteActivation(activationId: string): Promise<void> {
    this.check();
    try {
      await this.port.deleteActivation(activationId);
    } catch (err) {
      if (!isErrorNamed(err, 'InvalidActivation', 'InvalidActivationId')) throw err;
    }
  }

  public async create(input: CreateActivationInput, config: ActivationConfig, sleep: Sleep): Promise<IssuedActivation> {
    this.check();
    const { activationId, activationCode } = await withRoleRetry(
      () => this.port.create(input),
      sleep,
      config.roleRetryBaseMs,
      ROLE_RETRIES,
      this.budget,
    );
    return { activationId, activationCode, instanceName: input.DefaultInstanceName, expiresAt: input.ExpirationDate.toISOString() };
  }
}

/** The ids of the same-name nodes the caller owns (all of them for a bound EC2 caller, none for an unknown one). */
async function ownedNodes(steps: Steps, config: ActivationConfig, caller: Caller, name: string, sameName: readonly NodeInfo[]): Promise<Set<string>> {
  if (sameName.length === 0 || caller.boundInstanceId !== undefined) return new Set(sameName.map((n) => n.InstanceId!));
  if (caller.owner === undefined) return new Set();
  const filters = [...markerFilters(config.markerTag, name), { Key: `tag:${OWNER_TAG_KEY}`, Values: [caller.owner] }];
  return new Set(nodesNamed(await steps.findNodes(filters), name).map((n) => n.InstanceId!));
}

/** Counts the nodes and unused activations of this API (or reuses the container's count). */
async function ceilingCount(steps: Steps, config: ActivationConfig, now: Date, cache?: CeilingCache): Promise<CeilingCount> {
  const cached = cache?.get(now.getTime());
  if (cached !== undefined) return cached;
  const nodes = await steps.findNodes(markerFilters(config.markerTag));
  const activations = await steps.findActivations([{ FilterKey: 'IamRole', FilterValues: [config.roleName] }]);
  const count: CeilingCount = {
    nodes: new Set(nodes.map((n) => n.InstanceId).filter((id): id is string => id !== undefined)),
    activations: new Set(activations.filter((a) => isOutstanding(a, config.markerTag, now)).map((a) => a.ActivationId!)),
  };
  cache?.set(count, now.getTime());
  return count;
}

/**
 * Steps 1–3 of the contract: nodes with the name (unless duplicates are allowed) under the conflict policy and
 * ownership; unused activations of the name (at most one per name: the caller's own are replaced, another caller's
 * are a conflict); then the ceiling over nodes and unused activations.
 */
async function plan(steps: Steps, config: ActivationConfig, caller: Caller, name: string, now: Date, cache?: CeilingCache): Promise<Plan> {
  let deregister: readonly string[] = [];
  let deleteActivations: string[] = [];
  if (config.nameConflictPolicy !== 'ALLOW_DUPLICATES') {
    const sameName = nodesNamed(await steps.findNodes(markerFilters(config.markerTag, name)), name);
    const policy = config.nameConflictPolicy;
    const needsOwners = sameName.length > 0 && (policy === 'ALWAYS_REPLACE' || (policy === 'REPLACE_OFFLINE' && !sameName.some(isOnline)));
    const owned = needsOwners ? await ownedNodes(steps, config, caller, name, sameName) : undefined;
    const decision = decideNameConflict(policy, sameName, owned);
    if (decision.kind === 'conflict') return decision;
    deregister = decision.deregister;
    const unused = (await steps.findActivations([{ FilterKey: 'DefaultInstanceName', FilterValues: [name] }]))
      .filter((a) => a.DefaultInstanceName === name && isOutstanding(a, config.markerTag, now));
    if (unused.some((a) => !owns(caller, mergeTags(a.Tags ?? [])))) return { kind: 'conflict', reason: 'activation-not-owned' };
    deleteActivations = unused.map((a) => a.ActivationId!);
  }
  if (config.maxRegisteredNodes > 0) {
    const check = checkCeiling(await ceilingCount(steps, config, now, cache), [...deregister, ...deleteActivations], config.maxRegisteredNodes);
    if (check.exceeded) return { kind: 'ceiling', check };
  }
  return { kind: 'proceed', deregister, deleteActivations };
}

/**
 * Handles one routed request: identifies the caller, parses and validates the request, applies caller binding and
 * the per-caller name rules, applies the name conflict policy (with ownership), replaces the caller's unused
 * activation of the name, checks the ceiling, deregisters replaced nodes, creates the activation (with
 * role-visibility retries) and classifies failures, all within the budget. Domain errors and port failures become
 * results; anything else (a bug) is thrown.
 */
export async function handleActivationRequest(
  port: ActivationPort,
  config: ActivationConfig,
  request: ActivationRequest,
  now: Date,
  sleep: Sleep,
  options: RequestOptions = {},
): Promise<ActivationResult> {
  const caller = identifyCaller(request.event.requestContext?.identity, config);
  const budget = options.budget ?? UNLIMITED;
  let name: string | undefined;
  let input: CreateActivationInput;
  try {
    const requested = request.route === 'create'
      ? parseCreateBody(request.event.body, request.event.isBase64Encoded, config.allowedTags)
      : parseActivateQuery(request.event);
    name = requested.name; // logged as asked if binding forbids it
    name = resolveName(requested.name, caller);
    checkNameRules(config.callerNameRules, caller, name);
    input = buildCreateActivationInput(config, name, requested.tags, now, caller.owner);
  } catch (err) {
    const base = { caller, name, deregistered: [] };
    if (err instanceof BadRequest) return { ...base, outcome: 'rejected', reason: err.message };
    if (err instanceof Forbidden) return { ...base, outcome: 'forbidden', reason: err.message };
    throw err;
  }
  const steps = new Steps(port, budget);
  const deregistered: string[] = [];
  const replacedActivations: string[] = [];
  const base = (): ResultBase => ({ caller, name, deregistered: [...deregistered], replacedActivations: [...replacedActivations] });
  try {
    const next = await plan(steps, config, caller, input.DefaultInstanceName, now, options.ceilingCache);
    if (next.kind === 'conflict') {
      return { ...base(), outcome: 'conflict', reason: conflictMessage(input.DefaultInstanceName, next.reason), conflictingInstanceId: next.instanceId };
    }
    if (next.kind === 'ceiling') return { ...base(), outcome: 'ceiling', reason: CEILING_MESSAGE, check: next.check };
    for (const instanceId of next.deregister) {
      await steps.deregister(instanceId);
      deregistered.push(instanceId);
    }
    for (const activationId of next.deleteActivations) {
      await steps.deleteActivation(activationId);
      replacedActivations.push(activationId);
    }
    const activation = await steps.create(input, config, sleep);
    options.ceilingCache?.update([...deregistered, ...replacedActivations], activation.activationId);
    return { ...base(), outcome: 'created', activation };
  } catch (err) {
    options.ceilingCache?.update([...deregistered, ...replacedActivations]);
    const outcome = isDeadlineError(err, budget) ? 'deadline' : failureOutcomeOf(err);
    return { ...base(), outcome, errorName: errorNameOf(err), errorStack: outcome === 'error' ? errorStackOf(err) : undefined };
  }
}
