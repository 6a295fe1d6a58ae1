import type { APIGatewayProxyResult } from 'aws-lambda';

/**
 * HTTP responses for API Gateway (REST, Lambda proxy integration). Status codes and response shapes are decided
 * here and nowhere else; handlers pick a builder by outcome.
 */

/** Seconds a client should wait before retrying a 503. */
export const RETRY_AFTER_SECONDS = 5;

/** A JSON response with `Content-Type: application/json` and `Cache-Control: no-store`, plus `headers`. */
export function json(status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): APIGatewayProxyResult {
  return {
    statusCode: status,
    headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...headers },
    body: JSON.stringify(body),
  };
}

/** Error body shared by every non-2xx response. */
export interface ErrorBody {
  readonly message: string;
  readonly requestId: string;
}

function error(status: number, message: string, requestId: string, headers?: Record<string, string>): APIGatewayProxyResult {
  const body: ErrorBody = { message, requestId };
  return json(status, body, headers);
}

/** `201 Created` with `body`. */
export const created = (body: unknown): APIGatewayProxyResult => json(201, body);

/** `200 OK` with `body`. */
export const ok = (body: unknown): APIGatewayProxyResult => json(200, body);

/** `400 Bad Request`; `message` says what is wrong with the request (it must not carry secrets). */
export const badRequest = (message: string, requestId: string): APIGatewayProxyResult => error(400, message, requestId);

/** `403 Forbidden`; `message` says why the caller may not do this. */
export const forbidden = (message: string, requestId: string): APIGatewayProxyResult => error(403, message, requestId);

/** `404 Not Found`: an unknown method or path (default message), or a resource that does not exist for this API. */
export const notFound = (requestId: string, message = 'not found'): APIGatewayProxyResult => error(404, message, requestId);

/**
 * `409 Conflict`: the request clashes with an existing node or activation (e.g. an online node of the same name).
 * The body is the plain error body: never a node id, which the caller may not own.
 */
export const conflict = (message: string, requestId: string): APIGatewayProxyResult => error(409, message, requestId);

/**
 * `429 Too Many Requests` for a quota of this API (e.g. its node ceiling), not a rate limit: no `Retry-After`, as
 * waiting does not help until nodes are deregistered or the quota is raised. The message must not carry counts.
 */
export const tooManyRequests = (message: string, requestId: string): APIGatewayProxyResult => error(429, message, requestId);

/** `503 Service Unavailable` with `Retry-After`, for throttling and transient failures of a dependency. */
export const unavailable = (message: string, requestId: string): APIGatewayProxyResult =>
  error(503, message, requestId, { 'Retry-After': String(RETRY_AFTER_SECONDS) });

/** `500` with a generic message: never a stack trace or a dependency's error message. */
export const internalError = (requestId: string): APIGatewayProxyResult => error(500, 'internal error', requestId);

/**
 * The answer to an SSM call that failed after the SDK's retries: `503` + `Retry-After` when throttled or unavailable,
 * or when the request's time budget ran out (`deadline`), a generic `500` otherwise (never the SDK's message).
 */
export function sdkFailure(outcome: 'throttled' | 'unavailable' | 'deadline' | 'error', requestId: string): APIGatewayProxyResult {
  switch (outcome) {
    case 'deadline':
      return unavailable('the request ran out of time, retry later', requestId);
    case 'throttled':
      return unavailable('too many requests, retry later', requestId);
    case 'unavailable':
      return unavailable('service temporarily unavailable, retry later', requestId);
    case 'error':
      return internalError(requestId);
  }
}
