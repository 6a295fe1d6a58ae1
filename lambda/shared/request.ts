/**
 * Request parsing shared by the API handlers (docs/handler-contract.md): domain errors, body size and JSON checks.
 * Pure: no SDK, no environment, no clock, no logging.
 */

/** Maximum request body size in bytes (after base64 decoding). */
export const MAX_BODY_BYTES = 8192;

/** The request is malformed or not allowed by the configuration (HTTP 400). The message is safe to return. */
export class BadRequest extends Error {
  override readonly name = 'BadRequest';
}

/** The caller may not do this (HTTP 403). The message is safe to return. */
export class Forbidden extends Error {
  override readonly name = 'Forbidden';
}

/** A plain JSON object (not `null`, not an array). */
export const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Length in Unicode code points, the unit AWS length constraints use. */
export const charLength = (value: string): number => [...value].length;

/** Longest base64 text that can decode to at most {@link MAX_BODY_BYTES} bytes (padding included). */
const MAX_BASE64_LENGTH = Math.ceil(MAX_BODY_BYTES / 3) * 4;

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

/** Parses body text that must be a JSON object; throws {@link BadRequest}. */
export function parseJsonObject(text: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new BadRequest('body must be valid JSON');
  }
  if (!isRecord(parsed)) throw new BadRequest('body must be a JSON object');
  return parsed;
}

/**
 * Decodes and parses a JSON object body whose fields must all be in `fields`; throws {@link BadRequest} naming the
 * first unknown field (cut to 64 characters).
 */
export function parseBodyObject(
  body: string | null | undefined,
  isBase64Encoded: boolean | undefined,
  fields: ReadonlySet<string>,
): Record<string, unknown> {
  const parsed = parseJsonObject(decodeBody(body, isBase64Encoded));
  const unknownField = Object.keys(parsed).find((field) => !fields.has(field));
  if (unknownField !== undefined) throw new BadRequest(`unknown field ${JSON.stringify(unknownField.slice(0, 64))}`);
  return parsed;
}
