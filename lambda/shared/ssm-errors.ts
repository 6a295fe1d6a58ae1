/**
 * Classification of failed SSM calls (after the SDK's own retries), shared by the handlers
 * (docs/handler-contract.md). Reads only an error's name, status, code and retry marks, never logs its message.
 * Pure: no SDK import.
 */

/** How a failed SSM call is answered. */
export type ErrorClass = 'throttled' | 'unavailable' | 'role-not-visible' | 'internal';

/** Request outcome for a failed SSM call: `throttled`/`unavailable` → 503 + Retry-After, `error` → 500. */
export type FailureOutcome = 'throttled' | 'unavailable' | 'error';

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

const ABORT_NAMES = new Set(['AbortError', 'TimeoutError']);

/**
 * Whether the error came from the SDK or the network: it carries the SDK's `$metadata`, `$fault` or `$retryable`, a
 * Node.js network error `code`, or is an abort or timeout. Anything else thrown while handling a request is a bug.
 */
export function isSdkError(err: unknown): boolean {
  const e = fieldsOf(err) as SdkErrorLike & { readonly $fault?: unknown };
  return (e.$metadata !== undefined && e.$metadata !== null)
    || e.$fault !== undefined
    || (e.$retryable !== undefined && e.$retryable !== null)
    || NETWORK_CODES.includes(asString(e.code))
    || ABORT_NAMES.has(asString(e.name));
}

/**
 * The stack of an error that is not an SDK or network error (see {@link isSdkError}), for the log: a bug is found by
 * its stack, not by its name. `undefined` for SDK errors, which are logged by name only (their messages may quote
 * request data).
 */
export function errorStackOf(err: unknown): string | undefined {
  if (isSdkError(err)) return undefined;
  if (err instanceof Error) return err.stack ?? `${err.name}: ${err.message}`;
  return `non-Error value thrown: ${typeof err}`;
}

/** Whether the error's `name` is one of `names` (e.g. a modeled SSM exception such as `InvalidInstanceId`). */
export function isErrorNamed(err: unknown, ...names: readonly string[]): boolean {
  return names.includes(asString(fieldsOf(err).name));
}

/**
 * Classifies a failed SSM call (after the SDK's own retries):
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

/** The request outcome of a failed SSM call: a role SSM cannot see yet counts as `unavailable`. */
export function failureOutcomeOf(err: unknown): FailureOutcome {
  const kind = classifyError(err);
  return kind === 'internal' ? 'error' : kind === 'throttled' ? 'throttled' : 'unavailable';
}
