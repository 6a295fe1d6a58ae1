/**
 * Pure core of the tag-node handler: `PUT /instances/{instanceId}/tags` (docs/handler-contract.md, "tag-node").
 *
 * Checks the path and the body, confirms the node was registered through this API (it carries the marker tag with
 * this API's value), applies caller binding and the 50-tag limit, adds the tags (all or nothing) and classifies
 * failures. It has no SDK import, reads no environment, has no clock and does not log: the adapter (`index.ts`)
 * passes in the configuration and a {@link TagNodePort}.
 */
import { identifyCaller, owns, type Caller, type CallerPolicy, type IdentityLike } from '../shared/caller';
import { DeadlineExceeded, isDeadlineError, UNLIMITED, type Budget } from '../shared/deadline';
import { MANAGED_INSTANCE_ID, type NodeInfo } from '../shared/nodes';
import { BadRequest, parseBodyObject } from '../shared/request';
import { errorNameOf, errorStackOf, failureOutcomeOf, isErrorNamed, type FailureOutcome } from '../shared/ssm-errors';
import {
  allowListedTags,
  checkTagRules,
  hasMarker,
  MAX_TAGS,
  mergeTags,
  parseRequestTags,
  toSdkTags,
  type AllowedTag,
  type MarkerTag,
  type SdkTag,
} from '../shared/tags';

// ---------------------------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------------------------

/** Handler configuration, read once by the adapter. */
export interface TagNodeConfig extends CallerPolicy {
  readonly markerTag: MarkerTag;
  /** The only keys callers may set (and the only keys the response shows). */
  readonly allowedTags: readonly AllowedTag[];
}

/**
 * Checks that a configuration is consistent (valid marker tag; `Name` and the marker key are not allowed tag keys,
 * so a caller can neither rename a node nor claim one for this API) and returns it. Throws an `Error`.
 */
export function checkTagNodeConfig(config: TagNodeConfig): TagNodeConfig {
  checkTagRules(config.markerTag, config.allowedTags);
  return config;
}

// ---------------------------------------------------------------------------------------------------------------
// Routing and request shapes
// ---------------------------------------------------------------------------------------------------------------

/** The API Gateway resource this handler serves. */
export const TAG_RESOURCE = '/instances/{instanceId}/tags';

const TAG_PATH = /^\/instances\/[^/]+\/tags\/*$/;

/**
 * Whether a method and a path (API Gateway's `resource`, e.g. `/instances/{instanceId}/tags`, or the request
 * `path`, e.g. `/instances/mi-…/tags`) are this handler's route. A trailing slash is ignored.
 */
export function isTagRoute(method: string | undefined, path: string | undefined): boolean {
  return method === 'PUT' && TAG_PATH.test(path ?? '');
}

/** The parts of an API Gateway proxy event the core reads (`APIGatewayProxyEvent` satisfies it). */
export interface TagEventLike {
  readonly body?: string | null;
  readonly isBase64Encoded?: boolean;
  readonly pathParameters?: Readonly<Record<string, string | undefined>> | null;
  readonly requestContext?: { readonly identity?: IdentityLike | null } | null;
}

/** Longest path parameter kept for logs and messages. */
const MAX_ID_ECHO = 64;

/** The `instanceId` path parameter (cut to 64 characters), or `undefined` when absent or empty. */
export function instanceIdOf(event: TagEventLike): string | undefined {
  const id = event.pathParameters?.instanceId;
  return id ? [...id].slice(0, MAX_ID_ECHO).join('') : undefined;
}

const TAG_FIELDS: ReadonlySet<string> = new Set(['tags']);

/**
 * Parses a `PUT /instances/{instanceId}/tags` body `{"tags": {"<key>": "<value>"}}`: 1–50 entries, allow-listed
 * keys and values, the tag patterns. All or nothing: throws {@link BadRequest} on the first problem.
 */
export function parseTagBody(
  body: string | null | undefined,
  isBase64Encoded: boolean | undefined,
  allowedTags: readonly AllowedTag[],
): Map<string, string> {
  const fields = parseBodyObject(body, isBase64Encoded, TAG_FIELDS);
  if (fields.tags === undefined) throw new BadRequest('tags is required');
  const tags = parseRequestTags(fields.tags, allowedTags);
  if (tags.size < 1 || tags.size > MAX_TAGS) throw new BadRequest(`tags must have 1 to ${MAX_TAGS} entries`);
  return tags;
}

// ---------------------------------------------------------------------------------------------------------------
// Decisions
// ---------------------------------------------------------------------------------------------------------------

/** The 404 message, the same whatever the reason (an invalid id, an unknown node, a node of another API). */
export const notFoundMessage = (instanceId: string | undefined): string =>
  instanceId === undefined ? 'no node registered through this API' : `no node ${instanceId} registered through this API`;

/**
 * Ownership: a bound caller (an EC2 instance-profile session, with IAM and binding on) may only tag the node whose
 * `Name` tag is its own instance id; any other caller may only tag a node whose owner tag is its own (the node it
 * registered). Returns the 403 reason, or `undefined` when the caller may tag the node.
 */
export function bindingViolation(caller: Caller, nodeTags: ReadonlyMap<string, string>): string | undefined {
  if (owns(caller, nodeTags)) return undefined;
  const bound = caller.boundInstanceId;
  return bound !== undefined ? `this caller may only tag the node named ${bound}` : 'this caller may only tag nodes it registered';
}

/** The node's tags after adding `requested` (a requested key replaces an existing one). */
export const resultingTags = (existing: ReadonlyMap<string, string>, requested: ReadonlyMap<string, string>): Map<string, string> =>
  mergeTags(existing, requested);

/** The 400 reason when existing ∪ requested keys exceed {@link MAX_TAGS}, else `undefined`. */
export function tagLimitViolation(existing: ReadonlyMap<string, string>, requested: ReadonlyMap<string, string>): string | undefined {
  const total = resultingTags(existing, requested).size;
  if (total <= MAX_TAGS) return undefined;
  return `too many tags: the node would have ${total} tags, at most ${MAX_TAGS} including Name and the marker tag`;
}

// ---------------------------------------------------------------------------------------------------------------
// Request handling
// ---------------------------------------------------------------------------------------------------------------

/** The side effects, one SSM call each; they reject with the SDK error. */
export interface TagNodePort {
  /** `DescribeInstanceInformation` with `Filters=[{Key:"InstanceIds",Values:[id]}]`: the node, or `undefined`. */
  findNode(instanceId: string): Promise<NodeInfo | undefined>;
  /** `ListTagsForResource` (`ResourceType: ManagedInstance`). */
  listTags(instanceId: string): Promise<SdkTag[]>;
  /** One `AddTagsToResource` (`ResourceType: ManagedInstance`). */
  addTags(instanceId: string, tags: SdkTag[]): Promise<void>;
}

/** Fields every result carries for the audit log. */
interface TagResultBase {
  readonly caller: Caller;
  /** The `instanceId` path parameter as given (cut to 64 characters), once read. */
  readonly instanceId?: string;
  /** The requested tag keys (never values), once the body parsed. */
  readonly tagKeys?: readonly string[];
}

/** The outcome of one request; the adapter maps it to HTTP. */
export type TagResult = TagResultBase &
  (
    | { readonly outcome: 'tagged'; readonly instanceId: string; readonly tags: Readonly<Record<string, string>> }
    | { readonly outcome: 'rejected' | 'not-found' | 'forbidden'; readonly reason: string; readonly errorName?: string }
    | { readonly outcome: FailureOutcome | 'deadline'; readonly errorName: string; readonly errorStack?: string }
  );

/** The success body `{instanceId, tags}` (tags: the node's resulting tags whose keys are allow-listed). */
export interface TaggedBody {
  readonly instanceId: string;
  readonly tags: Readonly<Record<string, string>>;
}

/** Shapes the success body. */
export const taggedBody = (instanceId: string, tags: Readonly<Record<string, string>>): TaggedBody => ({ instanceId, tags });

/** Which call failed, for the error mapping. */
type Step = 'find' | 'list' | 'add';

/**
 * Maps a failed SSM step: `InvalidResourceId`/`InvalidInstanceId` (the node is gone or unknown) → not-found;
 * `AccessDeniedException` on `ListTagsForResource` → not-found (the function's role may only read the tags of
 * nodes that carry this API's marker, so a denial means the node is not ours); `TooManyTagsError` → rejected;
 * throttling, 5xx and timeouts → throttled/unavailable; anything else → error.
 */
function failureResult(err: unknown, step: Step, base: TagResultBase, budget: Budget): TagResult {
  const errorName = errorNameOf(err);
  if (isDeadlineError(err, budget)) return { ...base, outcome: 'deadline', errorName };
  if (isErrorNamed(err, 'InvalidResourceId', 'InvalidInstanceId')) {
    return { ...base, outcome: 'not-found', reason: 'SSM does not know the node', errorName };
  }
  if (step === 'list' && isErrorNamed(err, 'AccessDeniedException')) {
    return { ...base, outcome: 'not-found', reason: 'not allowed to read the node tags: not a node of this API', errorName };
  }
  if (step === 'add' && isErrorNamed(err, 'TooManyTagsError')) {
    return { ...base, outcome: 'rejected', reason: `too many tags: at most ${MAX_TAGS} per node`, errorName };
  }
  const outcome = failureOutcomeOf(err);
  return { ...base, outcome, errorName, errorStack: outcome === 'error' ? errorStackOf(err) : undefined };
}

/**
 * Handles one `PUT /instances/{instanceId}/tags` request, in this order: the id must be a hybrid node id (404); the
 * body must be valid (400, nothing applied); the node must exist (404) and carry this API's marker (404); a bound
 * caller must own it (403: see {@link bindingViolation}); existing ∪ requested keys ≤ 50 (400); then one
 * AddTagsToResource (200). Each step starts only within the budget (else `deadline`, 503). Failures of the SSM steps
 * become results (see the error mapping above); an unexpected error while parsing (a bug) is thrown.
 */
export async function handleTagRequest(
  port: TagNodePort,
  config: TagNodeConfig,
  event: TagEventLike,
  budget: Budget = UNLIMITED,
): Promise<TagResult> {
  const inBudget = (): void => {
    if (budget.remainingMs() <= 0) throw new DeadlineExceeded();
  };
  const caller = identifyCaller(event.requestContext?.identity, config);
  const instanceId = instanceIdOf(event);
  if (instanceId === undefined || !MANAGED_INSTANCE_ID.test(instanceId)) {
    return { caller, instanceId, outcome: 'not-found', reason: 'not a hybrid node id (mi- and 17 hex digits)' };
  }
  let requested: Map<string, string>;
  try {
    requested = parseTagBody(event.body, event.isBase64Encoded, config.allowedTags);
  } catch (err) {
    if (err instanceof BadRequest) return { caller, instanceId, outcome: 'rejected', reason: err.message };
    throw err;
  }
  const base: TagResultBase = { caller, instanceId, tagKeys: [...requested.keys()] };

  let step: Step = 'find';
  try {
    inBudget();
    const node = await port.findNode(instanceId);
    if (node?.InstanceId !== instanceId) return { ...base, outcome: 'not-found', reason: 'SSM does not know the node' };
    step = 'list';
    inBudget();
    const existing = mergeTags(await port.listTags(instanceId));
    if (!hasMarker(existing, config.markerTag)) {
      return { ...base, outcome: 'not-found', reason: 'the node lacks the marker tag of this API' };
    }
    const forbidden = bindingViolation(caller, existing);
    if (forbidden !== undefined) return { ...base, outcome: 'forbidden', reason: forbidden };
    const tooMany = tagLimitViolation(existing, requested);
    if (tooMany !== undefined) return { ...base, outcome: 'rejected', reason: tooMany };
    step = 'add';
    inBudget();
    await port.addTags(instanceId, toSdkTags(requested));
    const tags = allowListedTags(resultingTags(existing, requested), config.allowedTags);
    return { ...base, instanceId, outcome: 'tagged', tags };
  } catch (err) {
    return failureResult(err, step, base, budget);
  }
}
