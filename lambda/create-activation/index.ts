/**
 * Adapter for the create-activation handler (docs/handler-contract.md): reads the environment once, owns the SSM
 * client and the logger, routes API Gateway events to the pure core and maps its results to HTTP.
 */
import {
  CreateActivationCommand,
  DeleteActivationCommand,
  DeregisterManagedInstanceCommand,
  DescribeActivationsCommand,
  DescribeInstanceInformationCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { AUTHORIZATIONS, callerLogFields, identifyCaller, parseCallerNameRules } from '../shared/caller';
import { startDeadline, withinDeadline } from '../shared/deadline';
import { boolEnv, enumEnv, intEnv, jsonEnv, optionalEnv, requireEnv } from '../shared/env';
import {
  badRequest,
  conflict,
  created,
  forbidden,
  internalError,
  notFound,
  ok,
  sdkFailure,
  tooManyRequests,
} from '../shared/http';
import { createLogger, LOG_LEVELS, type LogFields } from '../shared/logger';
import { DESCRIBE_PAGE_SIZE } from '../shared/nodes';
import { collectAll, type Page } from '../shared/pager';
import { ssmClientConfig } from '../shared/ssm-client';
import { errorNameOf, errorStackOf } from '../shared/ssm-errors';
import { parseAllowedTags, parseDefaultTags } from '../shared/tags';
import {
  activationBody,
  CEILING_CACHE_MS,
  CeilingCache,
  checkConfig,
  handleActivationRequest,
  NAME_CONFLICT_POLICIES,
  routeOf,
  type ActivationConfig,
  type ActivationInfo,
  type ActivationPort,
  type ActivationResult,
  type Route,
} from './create-activation';

// ---- module scope: runs once per cold start; a bad variable fails here, naming it ----

const logger = createLogger(enumEnv('LOG_LEVEL', LOG_LEVELS, 'INFO'));

function readConfig(): ActivationConfig {
  const markerTag = { key: requireEnv('MARKER_TAG_KEY'), value: requireEnv('MARKER_TAG_VALUE') };
  const config: ActivationConfig = {
    roleName: requireEnv('INSTANCE_ROLE_NAME'),
    lifetimeSeconds: intEnv('ACTIVATION_LIFETIME_SECONDS', { min: 60, max: 2_592_000 }),
    markerTag,
    defaultTags: jsonEnv('DEFAULT_TAGS', parseDefaultTags),
    allowedTags: jsonEnv('ALLOWED_TAGS', parseAllowedTags),
    authorization: enumEnv('AUTHORIZATION', AUTHORIZATIONS),
    callerBinding: boolEnv('CALLER_BINDING'),
    roleRetryBaseMs: intEnv('ROLE_RETRY_BASE_MS', { min: 0, max: 10_000, defaultValue: 500 }),
    nameConflictPolicy: enumEnv('NAME_CONFLICT_POLICY', NAME_CONFLICT_POLICIES),
    maxRegisteredNodes: intEnv('MAX_REGISTERED_NODES', { min: 0, max: Number.MAX_SAFE_INTEGER }),
    callerNameRules: optionalEnv('CALLER_NAME_RULES') === undefined ? [] : jsonEnv('CALLER_NAME_RULES', parseCallerNameRules),
  };
  try {
    return checkConfig(config);
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    throw new Error(`Invalid tag configuration (MARKER_TAG_KEY, MARKER_TAG_VALUE, DEFAULT_TAGS, ALLOWED_TAGS, INSTANCE_ROLE_NAME): ${detail}`);
  }
}

const config = readConfig();

const ssm = new SSMClient(ssmClientConfig());

/** The ceiling count, reused for `CEILING_CACHE_SECONDS` (default 30, `0` = never) by the requests this container serves. */
const ceilingCache = new CeilingCache(intEnv('CEILING_CACHE_SECONDS', { min: 0, max: 300, defaultValue: CEILING_CACHE_MS / 1000 }) * 1000);

/**
 * The SSM calls of one request. Every call carries the request's abort signal and settles by its deadline; listings
 * go through the shared pager (the SDK paginators take no signal), which stops between pages once the signal has
 * aborted and refuses a `NextToken` SSM already returned.
 */
function portFor(signal: AbortSignal): ActivationPort {
  const send = <T>(call: (abortSignal: AbortSignal) => Promise<T>): Promise<T> => withinDeadline(signal, call);
  const paging = { deadlineNear: () => signal.aborted };
  return {
    async create(input) {
      const out = await send((abortSignal) => ssm.send(new CreateActivationCommand(input), { abortSignal }));
      if (!out.ActivationId || !out.ActivationCode) {
        throw new Error('CreateActivation returned no activation id or code');
      }
      return { activationId: out.ActivationId, activationCode: out.ActivationCode };
    },
    findNodes(filters) {
      const Filters = filters.map(({ Key, Values }) => ({ Key, Values: [...Values] }));
      return collectAll(async (NextToken) => {
        const out = await send((abortSignal) => ssm.send(new DescribeInstanceInformationCommand({ Filters, MaxResults: DESCRIBE_PAGE_SIZE, NextToken }), { abortSignal }));
        return { items: out.InstanceInformationList, nextToken: out.NextToken };
      }, paging);
    },
    async deregister(instanceId) {
      await send((abortSignal) => ssm.send(new DeregisterManagedInstanceCommand({ InstanceId: instanceId }), { abortSignal }));
    },
    findActivations(filters) {
      const Filters = filters.map(({ FilterKey, FilterValues }) => ({ FilterKey, FilterValues: [...FilterValues] }));
      return collectAll(async (NextToken): Promise<Page<ActivationInfo>> => {
        const out = await send((abortSignal) => ssm.send(new DescribeActivationsCommand({ Filters, MaxResults: DESCRIBE_PAGE_SIZE, NextToken }), { abortSignal }));
        const items = (out.ActivationList ?? []).map((a) => ({
          ...a,
          Tags: (a.Tags ?? []).map((t) => ({ Key: t.Key ?? '', Value: t.Value ?? '' })),
        }));
        return { items, nextToken: out.NextToken };
      }, paging);
    },
    async deleteActivation(activationId) {
      await send((abortSignal) => ssm.send(new DeleteActivationCommand({ ActivationId: activationId }), { abortSignal }));
    },
  };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

let region: string | undefined;

/** The client's region (resolved once), falling back to `AWS_REGION`. */
async function currentRegion(): Promise<string> {
  if (region === undefined) {
    try {
      region = await ssm.config.region();
    } catch {
      region = optionalEnv('AWS_REGION') ?? '';
    }
  }
  return region;
}

// ---- per request ----

async function respond(result: ActivationResult, route: Route, requestId: string): Promise<APIGatewayProxyResult> {
  switch (result.outcome) {
    case 'created': {
      const body = activationBody(result.activation, await currentRegion());
      return route === 'create' ? created(body) : ok(body);
    }
    case 'rejected':
      return badRequest(result.reason, requestId);
    case 'forbidden':
      return forbidden(result.reason, requestId);
    case 'conflict':
      return conflict(result.reason, requestId);
    case 'ceiling':
      return tooManyRequests(result.reason, requestId);
    case 'throttled':
    case 'unavailable':
    case 'deadline':
    case 'error':
      return sdkFailure(result.outcome, requestId);
  }
}

/** Caller log fields straight from the event, for requests that never reach the core. */
const eventCallerFields = (event: APIGatewayProxyEvent): LogFields =>
  callerLogFields(identifyCaller(event.requestContext?.identity, config));

/** Request-log fields for a core result. Never the activation code. */
function resultFields(result: ActivationResult): LogFields {
  return {
    ...callerLogFields(result.caller),
    name: result.name,
    activationId: result.outcome === 'created' ? result.activation.activationId : undefined,
    deregistered: result.deregistered,
    replacedActivations: result.replacedActivations,
    conflictingInstanceId: result.outcome === 'conflict' ? result.conflictingInstanceId : undefined,
    ceilingCount: result.outcome === 'ceiling' ? result.check.registered : undefined,
    outcome: result.outcome,
    reason: 'reason' in result ? result.reason : undefined,
    errorName: 'errorName' in result ? result.errorName : undefined,
    errorStack: 'errorStack' in result ? result.errorStack : undefined,
  };
}

function logRequest(event: APIGatewayProxyEvent, requestId: string, startedAt: number, status: number, fields: LogFields): void {
  const line: LogFields = {
    requestId,
    method: event.httpMethod,
    path: event.path,
    ...fields,
    status,
    durationMs: Date.now() - startedAt,
  };
  if (status >= 500) logger.error('activation request', line);
  else if (status >= 400) logger.warn('activation request', line);
  else logger.info('activation request', line);
}

/**
 * Lambda entry point for `POST /activations` and `GET /activate` (API Gateway REST, proxy integration).
 * Always resolves to a response; a bug becomes a logged 500.
 */
export async function handler(event: APIGatewayProxyEvent, context: Context): Promise<APIGatewayProxyResult> {
  const startedAt = Date.now();
  const requestId = context.awsRequestId;
  try {
    const route = routeOf(event.httpMethod, event.resource) ?? routeOf(event.httpMethod, event.path);
    if (route === undefined) {
      const response = notFound(requestId);
      const fields = { ...eventCallerFields(event), outcome: 'rejected', reason: 'no such route' };
      logRequest(event, requestId, startedAt, response.statusCode, fields);
      return response;
    }
    const deadline = startDeadline(context.getRemainingTimeInMillis());
    try {
      const options = { budget: deadline, ceilingCache };
      const result = await handleActivationRequest(portFor(deadline.signal), config, { route, event }, new Date(), sleep, options);
      const response = await respond(result, route, requestId);
      logRequest(event, requestId, startedAt, response.statusCode, resultFields(result));
      return response;
    } finally {
      deadline.dispose();
    }
  } catch (err) {
    const response = internalError(requestId);
    const fields = { ...eventCallerFields(event), outcome: 'error', errorName: errorNameOf(err), errorStack: errorStackOf(err) };
    logRequest(event, requestId, startedAt, response.statusCode, fields);
    return response;
  }
}
