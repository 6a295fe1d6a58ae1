/**
 * Tag rules shared by the API handlers (docs/handler-contract.md;
 * https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_Tag.html,
 * https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_AddTagsToResource.html): key and value patterns,
 * `DEFAULT_TAGS`/`ALLOWED_TAGS` parsing, the marker tag, allow-list checks of request tags, merging and the 50-tag
 * limit. Pure: no SDK, no environment, no logging.
 */
import { BadRequest, charLength, isRecord } from './request';

/** Pattern shared by `DefaultInstanceName`, tag keys and tag values. */
export const NAME_PATTERN = /^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$/u;
/** Maximum tag key length, in characters. */
export const MAX_TAG_KEY_LENGTH = 128;
/** Maximum tag value length, in characters. */
export const MAX_TAG_VALUE_LENGTH = 256;
/** Maximum number of tags on an activation or a managed node (all tags, including `Name` and the marker). */
export const MAX_TAGS = 50;
/** Tag key carrying the instance name. */
export const NAME_TAG_KEY = 'Name';
/**
 * Tag key carrying the owner of an activation, and so of the node it registers: the caller that asked for it
 * (docs/handler-contract.md, "Callers bound to what they own"). Set by the API only.
 */
export const OWNER_TAG_KEY = 'hybrid-fleet:owner';

/** A tag key callers may set; `values` absent means any value. */
export interface AllowedTag {
  readonly key: string;
  readonly values?: readonly string[];
}

/** The tag that marks activations (and so the nodes they register) issued by this API. */
export interface MarkerTag {
  readonly key: string;
  readonly value: string;
}

/** A tag in the SDK's shape (`Tags`, `TagList`). */
export interface SdkTag {
  readonly Key: string;
  readonly Value: string;
}

/** Whether `key` is 1–128 characters of the tag pattern. */
export const isValidTagKey = (key: string): boolean =>
  charLength(key) >= 1 && charLength(key) <= MAX_TAG_KEY_LENGTH && NAME_PATTERN.test(key);

/** Whether `value` is 0–256 characters of the tag pattern. */
export const isValidTagValue = (value: string): boolean =>
  charLength(value) <= MAX_TAG_VALUE_LENGTH && NAME_PATTERN.test(value);

// ---------------------------------------------------------------------------------------------------------------
// Configuration (read once by an adapter; these throw plain `Error`s that the env helpers prefix with the variable)
// ---------------------------------------------------------------------------------------------------------------

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
 * Checks the marker tag (valid, not `Name`, not the owner key) and that neither the default tags nor the allowed
 * tags use a reserved key (`Name`, the marker key, the owner key): callers must never rename a node, claim one for
 * this API or claim another caller's node. Throws an `Error`.
 */
export function checkTagRules(
  markerTag: MarkerTag,
  allowedTags: readonly AllowedTag[],
  defaultTags: Readonly<Record<string, string>> = {},
): void {
  if (!isValidTagKey(markerTag.key)) throw new Error('marker tag key is not a valid tag key');
  if (!isValidTagValue(markerTag.value)) throw new Error('marker tag value is not a valid tag value');
  if (markerTag.key === NAME_TAG_KEY || markerTag.key === OWNER_TAG_KEY) {
    throw new Error(`marker tag key must not be "${markerTag.key}"`);
  }
  const reserved = new Set([NAME_TAG_KEY, OWNER_TAG_KEY, markerTag.key]);
  for (const key of Object.keys(defaultTags)) {
    if (reserved.has(key)) throw new Error(`default tag key ${JSON.stringify(key)} is reserved`);
  }
  for (const { key } of allowedTags) {
    if (reserved.has(key)) throw new Error(`allowed tag key ${JSON.stringify(key)} is reserved`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Request tags
// ---------------------------------------------------------------------------------------------------------------

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

/**
 * Checks a request `tags` object against the allow-list and the key/value patterns (`undefined` = no tags).
 * All-or-nothing: throws {@link BadRequest} on the first bad tag.
 */
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

// ---------------------------------------------------------------------------------------------------------------
// Merging and shaping
// ---------------------------------------------------------------------------------------------------------------

/** Tags as key/value pairs, from a map, a plain object or an SDK tag list. */
export type TagSource = ReadonlyMap<string, string> | Readonly<Record<string, string>> | readonly SdkTag[];

function entriesOf(source: TagSource): Iterable<readonly [string, string]> {
  if (Array.isArray(source)) return (source as readonly SdkTag[]).map((t) => [t.Key, t.Value] as const);
  if (source instanceof Map) return source.entries();
  return Object.entries(source as Readonly<Record<string, string>>);
}

/**
 * Merges tag layers in order: a later layer replaces the value of an earlier key in place (the key keeps its first
 * position), new keys are appended.
 */
export function mergeTags(...layers: readonly TagSource[]): Map<string, string> {
  const merged = new Map<string, string>();
  for (const layer of layers) {
    for (const [key, value] of entriesOf(layer)) merged.set(key, value);
  }
  return merged;
}

/** A tag map in the SDK's list shape, in map order. */
export const toSdkTags = (tags: ReadonlyMap<string, string>): SdkTag[] => [...tags].map(([Key, Value]) => ({ Key, Value }));

/** Whether `tags` carry the marker key with the marker value. */
export const hasMarker = (tags: ReadonlyMap<string, string>, markerTag: MarkerTag): boolean =>
  tags.get(markerTag.key) === markerTag.value;

/** The tags whose keys are in the allow-list, as a plain object in allow-list order. */
export function allowListedTags(tags: ReadonlyMap<string, string>, allowedTags: readonly AllowedTag[]): Record<string, string> {
  const result: Record<string, string> = {};
  for (const { key } of allowedTags) {
    const value = tags.get(key);
    if (value !== undefined) Object.defineProperty(result, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return result;
}
