/**
 * API Gateway REST API (v1) Lambda proxy events and Lambda contexts for invoking the API handlers (create-activation,
 * tag-node) by hand: the adapter tests, the end-to-end tests and `scripts/bench.ts` (which loads this file through
 * scripts/ts-register.js, so no jest imports here). Contract: docs/handler-contract.md.
 *
 * The handlers read `httpMethod`, `resource`, `path`, `pathParameters`, `body`, `isBase64Encoded`, the query string
 * maps and `requestContext.identity.{userArn, apiKeyId, accountId, sourceIp}` of the event, and `awsRequestId` of the
 * context; everything else is filled in the way API Gateway and Lambda fill it, so that "never logged"
 * assertions have real header and identity values to look for.
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';

/** Account that owns the API and the function, unless a caller passes `accountId`. */
export const DEFAULT_ACCOUNT = '111122223333';
export const DEFAULT_REGION = 'eu-west-1';
export const DEFAULT_SOURCE_IP = '198.51.100.7';

export interface RestApiEventOptions {
  readonly method: 'GET' | 'POST' | string;
  /** API Gateway resource (`/activations`); also `requestContext.resourcePath`. */
  readonly resource: string;
  /** Request path; default `resource` (differs behind a custom-domain base path mapping). */
  readonly path?: string;
  /** Raw body; default `null`. */
  readonly body?: string | null;
  readonly isBase64Encoded?: boolean;
  /**
   * Query parameters; an array is a repeated parameter. Fills `queryStringParameters` (the last value of each,
   * as API Gateway does) and `multiValueQueryStringParameters`. Default: both `null`.
   */
  readonly query?: Readonly<Record<string, string | readonly string[]>> | null;
  /** Overrides the `queryStringParameters` derived from `query`. */
  readonly queryStringParameters?: Record<string, string> | null;
  /** Overrides the `multiValueQueryStringParameters` derived from `query`. */
  readonly multiValueQueryStringParameters?: Record<string, string[]> | null;
  /**
   * Path parameters (`{"instanceId": "mi-…"}` for `/instances/{instanceId}/tags`); default `null`. `path` is not
   * derived from them: pass the request path too.
   */
  readonly pathParameters?: Record<string, string> | null;
  /**
   * Request headers (`multiValueHeaders` mirrors them). Default: `Content-Type: application/json` when there is a
   * body, none otherwise. An `x-api-key` header becomes `identity.apiKey` when `apiKeyId` is set.
   */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * IAM caller (`identity.userArn`); default `null`. When set, the identity also gets an access key, a
   * `caller`/`user`, and `accountId` = the account in the ARN.
   */
  readonly userArn?: string | null;
  /** `identity.apiKeyId` (API key authorization); default `null`. */
  readonly apiKeyId?: string | null;
  /** `identity.userAgent`; default the `User-Agent` header, or `null`. */
  readonly userAgent?: string;
  /** Account that owns the API (`requestContext.accountId`); default {@link DEFAULT_ACCOUNT}. */
  readonly accountId?: string;
  /** `identity.sourceIp`; default {@link DEFAULT_SOURCE_IP}. */
  readonly sourceIp?: string;
  /** Stage name; default `prod`. */
  readonly stage?: string;
  /** API Gateway request id (`requestContext.requestId`); default a fresh UUID. */
  readonly requestId?: string;
  /** `requestContext.requestTimeEpoch`; default now. */
  readonly requestTimeEpoch?: number;
}

/** The account id in an ARN (`arn:partition:service:region:account:resource`), or `null`. */
const accountOf = (arn: string): string | null => arn.split(':')[4] || null;

function headerValue(headers: Readonly<Record<string, string>>, name: string): string | undefined {
  return Object.entries(headers).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
}

/** An API Gateway REST API (v1) Lambda proxy integration event. */
export function restApiEvent(options: RestApiEventOptions): APIGatewayProxyEvent {
  const { method, resource } = options;
  const path = options.path ?? resource;
  const stage = options.stage ?? 'prod';
  const body = options.body ?? null;
  const headers: Record<string, string> = {
    ...(options.headers ?? (body !== null ? { 'Content-Type': 'application/json' } : {})),
  };
  let queryStringParameters: Record<string, string> | null = null;
  let multiValueQueryStringParameters: Record<string, string[]> | null = null;
  if (options.query) {
    queryStringParameters = {};
    multiValueQueryStringParameters = {};
    for (const [k, v] of Object.entries(options.query)) {
      const values: string[] = typeof v === 'string' ? [v] : [...v];
      queryStringParameters[k] = values[values.length - 1];
      multiValueQueryStringParameters[k] = values;
    }
  }
  if (options.queryStringParameters !== undefined) queryStringParameters = options.queryStringParameters;
  if (options.multiValueQueryStringParameters !== undefined) {
    multiValueQueryStringParameters = options.multiValueQueryStringParameters;
  }
  const userArn = options.userArn ?? null;
  const apiKeyId = options.apiKeyId ?? null;
  return {
    resource,
    path,
    httpMethod: method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters,
    multiValueQueryStringParameters,
    pathParameters: options.pathParameters ?? null,
    stageVariables: null,
    body,
    isBase64Encoded: options.isBase64Encoded ?? false,
    requestContext: {
      accountId: options.accountId ?? DEFAULT_ACCOUNT,
      apiId: 'abc123',
      authorizer: null,
      httpMethod: method,
      protocol: 'HTTP/1.1',
      path: `/${stage}${path}`,
      stage,
      requestId: options.requestId ?? randomUUID(),
      requestTimeEpoch: options.requestTimeEpoch ?? Date.now(),
      resourceId: 'res123',
      resourcePath: resource,
      identity: {
        accessKey: userArn ? 'ASIAEXAMPLE' : null,
        accountId: userArn ? accountOf(userArn) : null,
        apiKey: apiKeyId ? (headerValue(headers, 'x-api-key') ?? null) : null,
        apiKeyId,
        caller: userArn ? 'AROAEXAMPLE:session' : null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: options.sourceIp ?? DEFAULT_SOURCE_IP,
        user: userArn ? 'AROAEXAMPLE:session' : null,
        userAgent: options.userAgent ?? headerValue(headers, 'User-Agent') ?? null,
        userArn,
      },
    },
  };
}

export interface LambdaContextOptions {
  /** Default `HybridFleetExample-CreateActivation`. */
  readonly functionName?: string;
  /** Account of the function ARN; default {@link DEFAULT_ACCOUNT}. */
  readonly accountId?: string;
}

/** A Lambda context with `awsRequestId` = `requestId` (default a fresh UUID) and 10 s remaining. */
export function lambdaContext(requestId: string = randomUUID(), options: LambdaContextOptions = {}): Context {
  const functionName = options.functionName ?? 'HybridFleetExample-CreateActivation';
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${DEFAULT_REGION}:${options.accountId ?? DEFAULT_ACCOUNT}:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: '2026/01/01/[$LATEST]abcdef',
    getRemainingTimeInMillis: () => 10_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
