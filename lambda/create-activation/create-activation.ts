/**
 * Pure core of the create-activation handler (see docs/handler-contract.md).
 *
 * Parses and validates requests, decides caller binding, builds the CreateActivation input and classifies
 * failures. It has no SDK import, reads no environment, has no clock and does not log: the adapter
 * (`index.ts`) passes in the configuration, the current time, a sleep function and an {@link ActivationPort}.
 */

// ---------------------------------------------------------------------------------------------------------------
// Limits (AWS-FACTS 1.1 and 1.5; docs/handler-contract.md)
// ---------------------------------------------------------------------------------------------------------------

/** Pattern shared by `DefaultInstanceName`, tag keys and tag values. */
export const NAME_PATTERN = /^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$/u;
/** Maximum instance name length, in characters. */
export const MAX_NAME_LENGTH = 256;
/** Maximum tag key length, in characters. */
export const MAX_TAG_KEY_LENGTH = 128;
/** Maximum tag value length, in characters. */
export const MAX_TAG_VALUE_LENGTH = 256;
/** Maximum CreateActivation `Description` length, in characters. */
export const MAX_DESCRIPTION_LENGTH = 256;
/** Maximum number of tags on the activation, including `Name`, the marker tag and the default tags. */
export const MAX_TAGS = 50;
/** Maximum request body size in bytes (after base64 decoding). */
export const MAX_BODY_BYTES = 8192;
/** Extra attempts when SSM cannot see the instance role yet; backoff is base, 2×base, 4×base. */
export const ROLE_RETRIES = 3;
/** Tag key carrying the instance name. */
export const NAME_TAG_KEY = 'Name';

// ---------------------------------------------------------------------------------------------------------------
// Domain errors
// ---------------------------------------------------------------------------------------------------------------

/** The request is malformed or not allowed by the configuration (HTTP 400). The message is safe to return. */
export class BadRequest extends Error {
  override readonly name = 'BadRequest';
}

/** The caller may not ask for this activation (HTTP 403). The message is safe to return. */
export class Forbidden extends Error {
  override readonly name = 'Forbidden';
}

// ---------------------------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------------------------

/** How API Gateway authenticates callers. */
export type Authorization = 'IAM' | 'API_KEY';

/** Authorization modes, for env parsing. */
export const AUTHORIZATIONS: readonly Authorization[] = ['IAM', 'API_KEY'];

/** A tag key callers may set; `values` absent means any value. */
export interface AllowedTag {
  readonly key: string;
  readonly values?: readonly string[];
}

/** The tag that marks activations issued by this API. */
export interface MarkerTag {
  readonly key: string;
  readonly value: string;
}

/** Handler configuration, read once by the adapter. */
export interface ActivationConfig {
  /** Seconds from the request until the activation expires. */
  readonly lifetimeSeconds: number;
  readonly markerTag: MarkerTag;
  /** Tags always applied; an allowed request tag with the same key overrides one. */
  readonly defaultTags: Readonly<Record<string, string>>;
  readonly allowedTags: readonly AllowedTag[];
  readonly authorization: Authorization;
  /** With `IAM`, bind EC2 instance-profile callers to their own instance id as the name. */
  readonly callerBinding: boolean;
  /** Instance role name (may include a path), passed as `IamRole`. */
  readonly roleName: string;
  /** Base backoff for the role-visibility retries, in milliseconds. */
  readonly roleRetryBaseMs: number;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Length in Unicode code points, the unit AWS length constraints use. */
const charLength = (value: string): number => [...value].length;

const isValidTagKey = (key: string): boolean =>
  charLength(key) >= 1 && charLength(key) <= MAX_TAG_KEY_LENGTH && NAME_PATTERN.test(key);

const isValidTagValue = (value: string): boolean =>
  charLength(value) <= MAX_TAG_VALUE_LENGTH && NAME_PATTERN.test(value);

/** Parses `DEFAULT_TAGS` (a JSON object of strings, may be empty); throws an `Error` on a bad shape or tag. */
export function parseDefaultTags(value: unknown): Record<string, string> {
  if (!isRecord(value)) throw new Error('must be a JSON object mapping tag keys to string values');
  const tags: Record<string, string> = {};
  for (const [key, tagValue] of Object.entries(value)) {
    if (typeof tagValue !== 'string') throw new Error(`value of tag ${JSON.stringify(key)} must be a string`);
    if (!isValidTagKey(key)) throw new Error(`tag key ${JSON.stringify(key)} is not a valid tag key`);
    if (!isValidTagValue(tagValue)) throw new Error(`value of tag ${JSON.stringify(key)} is not a valid tag value`);
    Object.defineProperty(tags, key, { value: tagValue, enumerable: true, writable: false });
  }
  return tags;
}

function parseAllowedTag(entry: unknown): AllowedTag {
  if (!isRecord(entry) || typeof entry.key !== 'string') throw new Error('each entry must be an object with a string "key"');
  const unknown = Object.keys(entry).filter((k) => k !== 'key' && k !== 'values');
  if (unknown.length > 0) throw new Error(`unknown field ${JSON.stringify(unknown[0])} in allowed tag ${JSON.stringify(entry.key)}`);
  if (!isValidTagKey(entry.key)) throw new Error(`allowed tag key ${JSON.stringify(entry.key)} is not a valid tag key`);
  if (entry.values === undefined) return { key: entry.key };
  const values = entry.values;
  if (!Array.isArray(values) || !values.every((v): v is string => typeof v === 'string' && isValidTagValue(v))) {
    throw new Error(`values of allowed tag ${JSON.stringify(entry.key)} must be an array of valid tag values`);
  }
  return { key: entry.key, values: [...values] };
}

/** Parses `ALLOWED_TAGS` (a JSON array of `{key, values?}`, may be empty); throws an `Error` on a bad shape. */
export function parseAllowedTags(value: unknown): AllowedTag[] {
  if (!Array.isArray(value)) throw new Error('must be a JSON array of {"key", "values"?} objects');
  const tags = value.map(parseAllowedTag);
  const keys = new Set<string>();
  for (const { key } of tags) {
    if (keys.has(key)) throw new Error(`allowed tag key ${JSON.stringify(key)} is listed twice`);
    keys.add(key);
  }
  return tags;
}

/**
 * Checks that a configuration is consistent (valid marker tag, no reserved keys among default or allowed tags,
 * room for at least the fixed tags) and returns it. Throws an `Error` naming the problem.
 */
export function checkConfig(config: ActivationConfig): ActivationConfig {
  const { markerTag } = config;
  if (!isValidTagKey(markerTag.key)) throw new Error('marker tag key is not a valid tag key');
  if (!isValidTagValue(markerTag.value)) throw new Error('marker tag value is not a valid tag value');
  if (markerTag.key === NAME_TAG_KEY) throw new Error(`marker tag key must not be "${NAME_TAG_KEY}"`);
  const reserved = new Set([NAME_TAG_KEY, markerTag.key]);
  for (const key of Object.keys(config.defaultTags)) {
    if (reserved.has(key)) throw new Error(`default tag key ${JSON.stringify(key)} is reserved`);
  }
  for (const { key } of config.allowedTags) {
    if (reserved.has(key)) throw new Error(`allowed tag key ${JSON.stringify(key)} is reserved`);
  }
  if (2 + Object.keys(config.defaultTags).length > MAX_TAGS) {
    throw new Error(`Name, the marker tag and the default tags exceed ${MAX_TAGS} tags`);
  }
  if (config.roleName.length === 0) throw new Error('role name must not be empty');
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

/** The caller fields of `requestContext.identity` that this handler reads. */
export interface IdentityLike {
  readonly userArn?: string | null;
  readonly apiKeyId?: string | null;
  readonly accountId?: string | null;
  readonly sourceIp?: string | null;
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

const CREATE_FIELDS = new Set(['name', 'tags']);
const ACTIVATE_PARAMETERS = new Set(['name']);
/** Longest base64 text that can decode to at most {@link MAX_BODY_BYTES} bytes (padding included). */
const MAX_BASE64_LENGTH = Math.ceil(MAX_BODY_BYTES / 3) * 4;

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

/** Decodes the raw body text, enforcing {@link MAX_BODY_BYTES}; throws {@link BadRequest}. */
export function decodeBody(body: string | null | undefined, isBase64Encoded: boolean | undefined): string {
  const tooLarge = (): BadRequest => new BadRequest(`body must be at most ${MAX_BODY_BYTES} bytes`);
  let text = body ?? '';
  if (isBase64Encoded) {
    if (text.length > MAX_BASE64_LENGTH) throw tooLarge();
    const bytes = Buffer.from(text, 'base64');
    if (bytes.length > MAX_BODY_BYTES) throw tooLarge();
    text = bytes.toString('utf8');
  } else if (Buffer.byteLength(text, 'utf8') > MAX_BODY_BYTES) {
    throw tooLarge();
  }
  return text;
}

function parseJsonObject(text: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new BadRequest('body must be valid JSON');
  }
  if (!isRecord(parsed)) throw new BadRequest('body must be a JSON object');
  return parsed;
}

function checkRequestTag(key: string, value: unknown, allowed: ReadonlyMap<string, AllowedTag>): string {
  if (typeof value !== 'string') throw new BadRequest('tags must be an object of string values');
  if (!isValidTagKey(key)) {
    throw new BadRequest(`tag keys must be 1 to ${MAX_TAG_KEY_LENGTH} characters of letters, numbers, spaces and _ . : / = + - @`);
  }
  const rule = allowed.get(key);
  if (rule === undefined) throw new BadRequest(`tag key ${JSON.stringify(key)} is not allowed`);
  if (!isValidTagValue(value)) {
    throw new BadRequest(
      `value of tag ${JSON.stringify(key)} must be 0 to ${MAX_TAG_VALUE_LENGTH} characters of letters, numbers, spaces and _ . : / = + - @`,
    );
  }
  if (rule.values !== undefined && !rule.values.includes(value)) {
    throw new BadRequest(`value of tag ${JSON.stringify(key)} is not allowed`);
  }
  return value;
}

/** Checks the request `tags` object against the allow-list; throws {@link BadRequest}. */
export function parseRequestTags(tags: unknown, allowedTags: readonly AllowedTag[]): Map<string, string> {
  if (tags === undefined) return new Map();
  if (!isRecord(tags)) throw new BadRequest('tags must be an object of string values');
  const allowed = new Map(allowedTags.map((rule) => [rule.key, rule]));
  const result = new Map<string, string>();
  for (const [key, value] of Object.entries(tags)) {
    result.set(key, checkRequestTag(key, value, allowed));
  }
  return result;
}

/** Parses a `POST /activations` body (`{"name"?, "tags"?}`); throws {@link BadRequest}. */
export function parseCreateBody(
  body: string | null | undefined,
  isBase64Encoded: boolean | undefined,
  allowedTags: readonly AllowedTag[],
): RequestedActivation {
  const fields = parseJsonObject(decodeBody(body, isBase64Encoded));
  const unknownField = Object.keys(fields).find((field) => !CREATE_FIELDS.has(field));
  if (unknownField !== undefined) throw new BadRequest(`unknown field ${JSON.stringify(unknownField.slice(0, 64))}`);
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

/** Who called, for logging and binding. */
export interface Caller {
  /** The IAM `userArn`, or `apiKey:<apiKeyId>` with API keys. */
  readonly caller?: string;
  readonly callerAccount?: string;
  readonly sourceIp?: string;
  /** Set when caller binding applies: the EC2 instance id the caller may only ask activations for. */
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
export function identifyCaller(identity: IdentityLike | null | undefined, config: ActivationConfig): Caller {
  const apiKeyId = present(identity?.apiKeyId);
  const userArn = present(identity?.userArn);
  const isIam = config.authorization === 'IAM';
  const caller = isIam ? userArn : apiKeyId && `apiKey:${apiKeyId}`;
  const boundInstanceId = isIam && config.callerBinding ? ec2InstanceIdOf(userArn) : undefined;
  return {
    caller,
    callerAccount: present(identity?.accountId),
    sourceIp: present(identity?.sourceIp),
    boundInstanceId,
  };
}

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
export interface ActivationTag {
  readonly Key: string;
  readonly Value: string;
}

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
export function mergeTags(config: ActivationConfig, name: string, requestTags: ReadonlyMap<string, string>): ActivationTag[] {
  const merged = new Map<string, string>([[NAME_TAG_KEY, name], [config.markerTag.key, config.markerTag.value]]);
  for (const [key, value] of Object.entries(config.defaultTags)) merged.set(key, value);
  for (const [key, value] of requestTags) merged.set(key, value);
  if (merged.size > MAX_TAGS) {
    throw new BadRequest(`too many tags: at most ${MAX_TAGS} including Name, the marker tag and the default tags`);
  }
  return [...merged].map(([Key, Value]) => ({ Key, Value }));
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
    Tags: mergeTags(config, name, requestTags),
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
// Failure classification and role retry
// ---------------------------------------------------------------------------------------------------------------

/** How a CreateActivation failure is answered. */
export type ErrorClass = 'throttled' | 'unavailable' | 'role-not-visible' | 'internal';

/** The fields of an SDK (or Node.js network) error the classification reads. */
export interface SdkErrorLike {
  readonly name?: unknown;
  readonly message?: unknown;
  readonly code?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: unknown } | null;
  readonly $retryable?: { readonly throttling?: unknown } | null;
}

/**
 * Throttling error names, as in the SDK's retry classification, minus `LimitExceededException`, which
 * can be a hard quota rather than a rate limit.
 */
const THROTTLING_NAMES = new Set([
  'BandwidthLimitExceeded', 'EC2ThrottledException', 'PriorRequestNotComplete', 'ProvisionedThroughputExceededException',
  'RequestLimitExceeded', 'RequestThrottled', 'RequestThrottledException', 'SlowDown', 'ThrottledException',
  'Throttling', 'ThrottlingException', 'TooManyRequestsException', 'TransactionInProgressException',
]);
const TRANSIENT_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'InternalServerError', 'ServiceUnavailable']);
const NETWORK_CODES = ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN'];
const NETWORK_CODE_IN_TEXT = new RegExp(`\\b(${NETWORK_CODES.join('|')})\\b`);
const ROLE_NOT_VISIBLE = /not existing role/i;

const asString = (value: unknown): string => (typeof value === 'string' ? value : '');

function fieldsOf(err: unknown): SdkErrorLike {
  return typeof err === 'object' && err !== null ? (err as SdkErrorLike) : {};
}

/** The error's `name`, or `'Error'` when it has none (for logs; never its message). */
export function errorNameOf(err: unknown): string {
  return asString(fieldsOf(err).name) || 'Error';
}

/**
 * Classifies a failed CreateActivation call (after the SDK's own retries):
 * - `throttled`: a throttling error name, HTTP 429 or `$retryable.throttling`;
 * - `role-not-visible`: `ValidationException`/`InvalidParameters` saying "Not existing role" (IAM propagation);
 * - `unavailable`: HTTP 5xx, timeouts, connection errors, or a service-marked retryable error;
 * - `internal`: anything else.
 */
export function classifyError(err: unknown): ErrorClass {
  const e = fieldsOf(err);
  const name = asString(e.name);
  const status = typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : 0;
  if (THROTTLING_NAMES.has(name) || status === 429 || e.$retryable?.throttling === true) return 'throttled';
  if ((name === 'ValidationException' || name === 'InvalidParameters') && ROLE_NOT_VISIBLE.test(asString(e.message))) {
    return 'role-not-visible';
  }
  const networkCode = NETWORK_CODES.includes(asString(e.code)) || NETWORK_CODE_IN_TEXT.test(`${name} ${asString(e.message)}`);
  if (status >= 500 || TRANSIENT_NAMES.has(name) || networkCode || (e.$retryable !== undefined && e.$retryable !== null)) {
    return 'unavailable';
  }
  return 'internal';
}

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
// Request handling
// ---------------------------------------------------------------------------------------------------------------

/** The side effect: create one activation. */
export interface ActivationPort {
  create(input: CreateActivationInput): Promise<{ activationId: string; activationCode: string }>;
}

/** Fields every result carries for the request log. */
interface ResultBase {
  readonly caller: Caller;
  /** The (validated) instance name, once known. */
  readonly name?: string;
}

/** The outcome of one request; the adapter maps it to HTTP. */
export type ActivationResult = ResultBase &
  (
    | { readonly outcome: 'created'; readonly activation: IssuedActivation }
    | { readonly outcome: 'rejected' | 'forbidden'; readonly reason: string }
    | { readonly outcome: 'throttled' | 'unavailable' | 'error'; readonly errorName: string }
  );

function failureResult(err: unknown, base: ResultBase): ActivationResult {
  const kind = classifyError(err);
  const outcome = kind === 'internal' ? 'error' : kind === 'throttled' ? 'throttled' : 'unavailable';
  return { ...base, outcome, errorName: errorNameOf(err) };
}

async function issue(port: ActivationPort, input: CreateActivationInput, config: ActivationConfig, sleep: Sleep): Promise<IssuedActivation> {
  const { activationId, activationCode } = await withRoleRetry(() => port.create(input), sleep, config.roleRetryBaseMs);
  return {
    activationId,
    activationCode,
    instanceName: input.DefaultInstanceName,
    expiresAt: input.ExpirationDate.toISOString(),
  };
}

/**
 * Handles one routed request: identifies the caller, parses and validates the request, applies caller binding,
 * creates the activation (with role-visibility retries) and classifies failures. Domain errors and port failures
 * become results; anything else (a bug) is thrown.
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
    if (err instanceof BadRequest) return { caller, name, outcome: 'rejected', reason: err.message };
    if (err instanceof Forbidden) return { caller, name, outcome: 'forbidden', reason: err.message };
    throw err;
  }
  try {
    return { caller, name, outcome: 'created', activation: await issue(port, input, config, sleep) };
  } catch (err) {
    return failureResult(err, { caller, name });
  }
}
