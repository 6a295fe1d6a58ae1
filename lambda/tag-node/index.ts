/**
 * Adapter for the tag-node handler (`PUT /instances/{instanceId}/tags`, docs/handler-contract.md): reads the
 * environment once, owns the SSM client and the logger, hands API Gateway events to the pure core and maps its
 * results to HTTP, with one audit log line per request.
 */
import {
  AddTagsToResourceCommand,
  DescribeInstanceInformationCommand,
  ListTagsForResourceCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { AUTHORIZATIONS, callerLogFields, identifyCaller } from '../shared/caller';
import { startDeadline, withinDeadline } from '../shared/deadline';
import { boolEnv, enumEnv, jsonEnv, requireEnv } from '../shared/env';
import { badRequest, forbidden, internalError, notFound, ok, sdkFailure } from '../shared/http';
import { createLogger, LOG_LEVELS, type LogFields } from '../shared/logger';
import { ssmClientConfig } from '../shared/ssm-client';
import { errorNameOf, errorStackOf } from '../shared/ssm-errors';
import { parseAllowedTags } from '../shared/tags';
import {
  checkTagNodeConfig,
  handleTagRequest,
  instanceIdOf,
  isTagRoute,
  notFoundMessage,
  taggedBody,
  type TagNodeConfig,
  type TagNodePort,
  type TagResult,
} from './tag-node';

// ---- module scope: runs once per cold start; a bad variable fails here, naming it ----

const logger = createLogger(enumEnv('LOG_LEVEL', LOG_LEVELS, 'INFO'));

function readConfig(): TagNodeConfig {
  const config: TagNodeConfig = {
    markerTag: { key: requireEnv('MARKER_TAG_KEY'), value: requireEnv('MARKER_TAG_VALUE') },
    allowedTags: jsonEnv('ALLOWED_TAGS', parseAllowedTags),
    authorization: enumEnv('AUTHORIZATION', AUTHORIZATIONS),
    callerBinding: boolEnv('CALLER_BINDING'),
  };
  try {
    return checkTagNodeConfig(config);
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    throw new Error(`Invalid tag configuration (MARKER_TAG_KEY, MARKER_TAG_VALUE, ALLOWED_TAGS): ${detail}`);
  }
}

const config = readConfig();

const ssm = new SSMClient(ssmClientConfig());

/** The SSM calls of one request; each carries the request's abort signal and settles by its deadline. */
function portFor(signal: AbortSignal): TagNodePort {
  return {
    async findNode(instanceId) {
      const out = await withinDeadline(signal, (abortSignal) =>
        ssm.send(new DescribeInstanceInformationCommand({ Filters: [{ Key: 'InstanceIds', Values: [instanceId] }] }), { abortSignal }));
      return out.InstanceInformationList?.find((node) => node.InstanceId === instanceId);
    },
    async listTags(instanceId) {
      const out = await withinDeadline(signal, (abortSignal) =>
        ssm.send(new ListTagsForResourceCommand({ ResourceType: 'ManagedInstance', ResourceId: instanceId }), { abortSignal }));
      return (out.TagList ?? []).map((tag) => ({ Key: tag.Key ?? '', Value: tag.Value ?? '' }));
    },
    async addTags(instanceId, tags) {
      await withinDeadline(signal, (abortSignal) =>
        ssm.send(new AddTagsToResourceCommand({ ResourceType: 'ManagedInstance', ResourceId: instanceId, Tags: tags }), { abortSignal }));
    },
  };
}

// ---- per request ----

function respond(result: TagResult, requestId: string): APIGatewayProxyResult {
  switch (result.outcome) {
    case 'tagged':
      return ok(taggedBody(result.instanceId, result.tags));
    case 'rejected':
      return badRequest(result.reason, requestId);
    case 'not-found':
      return notFound(requestId, notFoundMessage(result.instanceId));
    case 'forbidden':
      return forbidden(result.reason, requestId);
    case 'throttled':
    case 'unavailable':
    case 'deadline':
    case 'error':
      return sdkFailure(result.outcome, requestId);
  }
}

/** Audit-log fields for a core result: tag keys, never tag values. */
function resultFields(result: TagResult): LogFields {
  return {
    ...callerLogFields(result.caller),
    instanceId: result.instanceId,
    tagKeys: result.tagKeys,
    outcome: result.outcome,
    reason: 'reason' in result ? result.reason : undefined,
    errorName: 'errorName' in result ? result.errorName : undefined,
    errorStack: 'errorStack' in result ? result.errorStack : undefined,
  };
}

function logRequest(requestId: string, startedAt: number, status: number, fields: LogFields): void {
  const line: LogFields = { requestId, ...fields, status, durationMs: Date.now() - startedAt };
  if (status >= 500) logger.error('tag request', line);
  else if (status >= 400) logger.warn('tag request', line);
  else logger.info('tag request', line);
}

/** Caller and id log fields straight from the event, for requests that never reach the core. */
const eventFields = (event: APIGatewayProxyEvent): LogFields => ({
  ...callerLogFields(identifyCaller(event.requestContext?.identity, config)),
  instanceId: instanceIdOf(event),
});

/**
 * Lambda entry point for `PUT /instances/{instanceId}/tags` (API Gateway REST, proxy integration).
 * Always resolves to a response; a bug becomes a logged 500.
 */
export async function handler(event: APIGatewayProxyEvent, context: Context): Promise<APIGatewayProxyResult> {
  const startedAt = Date.now();
  const requestId = context.awsRequestId;
  try {
    if (!isTagRoute(event.httpMethod, event.resource) && !isTagRoute(event.httpMethod, event.path)) {
      const response = notFound(requestId);
      logRequest(requestId, startedAt, response.statusCode, { ...eventFields(event), outcome: 'rejected', reason: 'no such route' });
      return response;
    }
    const deadline = startDeadline(context.getRemainingTimeInMillis());
    try {
      const result = await handleTagRequest(portFor(deadline.signal), config, event, deadline);
      const response = respond(result, requestId);
      logRequest(requestId, startedAt, response.statusCode, resultFields(result));
      return response;
    } finally {
      deadline.dispose();
    }
  } catch (err) {
    const response = internalError(requestId);
    logRequest(requestId, startedAt, response.statusCode, { ...eventFields(event), outcome: 'error', errorName: errorNameOf(err), errorStack: errorStackOf(err) });
    return response;
  }
}
