import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import 'aws-sdk-client-mock-jest';
import { lambdaContext, restApiEvent } from '../support/api-gateway-event';
import { loadHandler, restoreEnv, type LoadedHandler } from '../support/load-handler';
import { captureLogLines } from '../support/log-capture';

type Handler = (typeof import('../../lambda/tag-node/index'))['handler'];

const MARKER_KEY = 'hybrid-fleet:activation-api';
const MARKER_VALUE = 'Stack/Api';

const ENV: Readonly<Record<string, string>> = {
  MARKER_TAG_KEY: MARKER_KEY,
  MARKER_TAG_VALUE: MARKER_VALUE,
  ALLOWED_TAGS: '[{"key":"PatchMode","values":["report","enforce"]},{"key":"Team"}]',
  AUTHORIZATION: 'IAM',
  CALLER_BINDING: 'true',
  SSM_MAX_ATTEMPTS: '1',
  SSM_REQUEST_TIMEOUT_MS: '1000',
  LOG_LEVEL: 'SILENT',
};

const NODE_ID = 'mi-0123456789abcdef0';
const INSTANCE_ID = 'i-0123456789abcdef0';
const EC2_ARN = `arn:aws:sts::123456789012:assumed-role/NodeRole/${INSTANCE_ID}`;
const PERSON_ARN = 'arn:aws:sts::123456789012:assumed-role/Admin/alice@example.com';
const SECRET_HEADER = 'AWS4-HMAC-SHA256 Credential=SECRET-HEADER-VALUE';
const API_ACCOUNT = '999999999999';
const JSON_HEADERS = { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' };

type Loaded = LoadedHandler<Handler>;

/** Sets the environment (ENV plus `overrides`), then loads a fresh copy of the SDK and the handler. */
function load(overrides: Readonly<Record<string, string | undefined>> = {}): Loaded {
  return loadHandler(() => require('../../lambda/tag-node/index') as { handler: Handler }, { ...ENV, ...overrides });
}

function put(tags: unknown, options: { id?: string; userArn?: string; path?: string; method?: string; body?: string } = {}): APIGatewayProxyEvent {
  const id = options.id ?? NODE_ID;
  return restApiEvent({
    method: options.method ?? 'PUT',
    resource: '/instances/{instanceId}/tags',
    path: options.path ?? `/instances/${id}/tags`,
    pathParameters: { instanceId: id },
    body: options.body ?? JSON.stringify({ tags }),
    headers: { Authorization: SECRET_HEADER, 'Content-Type': 'application/json' },
    userAgent: 'curl/8.0',
    userArn: options.userArn ?? PERSON_ARN,
    accountId: API_ACCOUNT,
  });
}

let invocation = 0;
function context(): Context {
  invocation += 1;
  return lambdaContext(`lambda-request-${invocation}`, { functionName: 'tag-node', accountId: API_ACCOUNT });
}

const bodyOf = (response: APIGatewayProxyResult): Record<string, unknown> => JSON.parse(response.body) as Record<string, unknown>;

/** Mocks SSM for one node with these tags. */
function seed(loaded: Loaded, tags: Record<string, string>): void {
  const { mock, ssm } = loaded;
  mock.on(ssm.DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [{ InstanceId: NODE_ID, Name: tags.Name, PingStatus: 'Online' }] });
  mock.on(ssm.ListTagsForResourceCommand).resolves({ TagList: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) });
  mock.on(ssm.AddTagsToResourceCommand).resolves({});
}

const OUR_TAGS = { Name: 'web-01', [MARKER_KEY]: MARKER_VALUE, 'hybrid-fleet:owner': PERSON_ARN, Team: 'old', Env: 'prod' };

afterAll(restoreEnv);

describe('tag-node adapter', () => {
  let loaded: Loaded;

  beforeAll(() => {
    loaded = load();
  });

  beforeEach(() => {
    loaded.mock.reset();
    seed(loaded, OUR_TAGS);
  });

  test('PUT → 200 with the allow-listed resulting tags; exactly the contract SSM calls', async () => {
    const response = await loaded.handler(put({ PatchMode: 'enforce' }), context());
    expect(response.statusCode).toBe(200);
    expect(response.headers).toEqual(JSON_HEADERS);
    expect(bodyOf(response)).toEqual({ instanceId: NODE_ID, tags: { PatchMode: 'enforce', Team: 'old' } });

    const { mock, ssm } = loaded;
    expect(mock.commandCalls(ssm.DescribeInstanceInformationCommand).map((c) => c.args[0].input)).toEqual([
      { Filters: [{ Key: 'InstanceIds', Values: [NODE_ID] }] },
    ]);
    expect(mock.commandCalls(ssm.ListTagsForResourceCommand).map((c) => c.args[0].input)).toEqual([
      { ResourceType: 'ManagedInstance', ResourceId: NODE_ID },
    ]);
    expect(mock.commandCalls(ssm.AddTagsToResourceCommand).map((c) => c.args[0].input)).toEqual([
      { ResourceType: 'ManagedInstance', ResourceId: NODE_ID, Tags: [{ Key: 'PatchMode', Value: 'enforce' }] },
    ]);
  });

  test('routes by resource when the path carries a custom-domain base path', async () => {
    const response = await loaded.handler(put({ Team: 'a' }, { path: `/v1/instances/${NODE_ID}/tags` }), context());
    expect(response.statusCode).toBe(200);
  });

  test.each<[string, APIGatewayProxyEvent]>([
    ['a wrong method', put({ Team: 'a' }, { method: 'POST' })],
    ['another resource', { ...put({ Team: 'a' }), resource: '/activations', path: '/activations' }],
  ])('404 "not found" for %s', async (_label, event) => {
    const ctx = context();
    const response = await loaded.handler(event, ctx);
    expect(response.statusCode).toBe(404);
    expect(bodyOf(response)).toEqual({ message: 'not found', requestId: ctx.awsRequestId });
    expect(loaded.mock.calls()).toHaveLength(0);
  });

  test('404 with the contract message for a node of another API; nothing tagged', async () => {
    seed(loaded, { Name: 'web-01', [MARKER_KEY]: 'Other/Api' });
    const ctx = context();
    const response = await loaded.handler(put({ Team: 'a' }), ctx);
    expect(response.statusCode).toBe(404);
    expect(response.headers).toEqual(JSON_HEADERS);
    expect(bodyOf(response)).toEqual({ message: `no node ${NODE_ID} registered through this API`, requestId: ctx.awsRequestId });
    expect(loaded.mock).toHaveReceivedCommandTimes(loaded.ssm.AddTagsToResourceCommand, 0);
  });

  test('404 for an unknown node (empty DescribeInstanceInformation)', async () => {
    loaded.mock.on(loaded.ssm.DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [] });
    const response = await loaded.handler(put({ Team: 'a' }), context());
    expect(response.statusCode).toBe(404);
    expect(loaded.mock).toHaveReceivedCommandTimes(loaded.ssm.ListTagsForResourceCommand, 0);
  });

  test('404 for an id that is not mi-, without calling SSM', async () => {
    const response = await loaded.handler(put({ Team: 'a' }, { id: INSTANCE_ID }), context());
    expect(response.statusCode).toBe(404);
    expect(bodyOf(response).message).toBe(`no node ${INSTANCE_ID} registered through this API`);
    expect(loaded.mock.calls()).toHaveLength(0);
  });

  test('400 for a tag not allowed, without calling SSM', async () => {
    const ctx = context();
    const response = await loaded.handler(put({ Team: 'a', Env: 'dev' }), ctx);
    expect(response.statusCode).toBe(400);
    expect(bodyOf(response)).toEqual({ message: 'tag key "Env" is not allowed', requestId: ctx.awsRequestId });
    expect(loaded.mock.calls()).toHaveLength(0);
  });

  test('400 when SSM says TooManyTagsError', async () => {
    loaded.mock.on(loaded.ssm.AddTagsToResourceCommand).rejects(Object.assign(new Error('too many'), { name: 'TooManyTagsError', $metadata: {} }));
    const response = await loaded.handler(put({ Team: 'a' }), context());
    expect(response.statusCode).toBe(400);
  });

  test('403 when an EC2 instance tags a node not named after it', async () => {
    const response = await loaded.handler(put({ Team: 'a' }, { userArn: EC2_ARN }), context());
    expect(response.statusCode).toBe(403);
    expect(bodyOf(response).message).toContain(INSTANCE_ID);
    expect(loaded.mock).toHaveReceivedCommandTimes(loaded.ssm.AddTagsToResourceCommand, 0);
  });

  test('403 when another caller tags a node it did not register; nothing tagged', async () => {
    const response = await loaded.handler(put({ PatchMode: 'enforce' }, { userArn: 'arn:aws:sts::123456789012:assumed-role/Ci/job-7' }), context());
    expect(response.statusCode).toBe(403);
    expect(bodyOf(response).message).toBe('this caller may only tag nodes it registered');
    expect(loaded.mock).toHaveReceivedCommandTimes(loaded.ssm.AddTagsToResourceCommand, 0);
  });

  test('503 + Retry-After in time when the remaining time is small and SSM does not answer', async () => {
    loaded.mock.on(loaded.ssm.ListTagsForResourceCommand).callsFake(() => new Promise(() => undefined));
    const started = Date.now();
    const response = await loaded.handler(put({ Team: 'a' }), { ...context(), getRemainingTimeInMillis: () => 2300 });
    expect(Date.now() - started).toBeLessThan(1500);
    expect(response.statusCode).toBe(503);
    expect(response.headers?.['Retry-After']).toBe('5');
    expect(loaded.mock).toHaveReceivedCommandTimes(loaded.ssm.AddTagsToResourceCommand, 0);
  });

  test('200 when an EC2 instance tags its own node', async () => {
    seed(loaded, { ...OUR_TAGS, Name: INSTANCE_ID });
    const response = await loaded.handler(put({ Team: 'a' }, { userArn: EC2_ARN }), context());
    expect(response.statusCode).toBe(200);
  });

  test('503 with Retry-After when SSM still throttles', async () => {
    loaded.mock.on(loaded.ssm.ListTagsForResourceCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: {} }));
    const response = await loaded.handler(put({ Team: 'a' }), context());
    expect(response.statusCode).toBe(503);
    expect(response.headers).toEqual({ ...JSON_HEADERS, 'Retry-After': '5' });
    expect(response.body).not.toContain('Rate exceeded');
  });

  test('500 with a generic body on an unknown error', async () => {
    loaded.mock.on(loaded.ssm.AddTagsToResourceCommand).rejects(Object.assign(new Error('not authorized SECRET'), { name: 'AccessDeniedException', $metadata: {} }));
    const ctx = context();
    const response = await loaded.handler(put({ Team: 'a' }), ctx);
    expect(response.statusCode).toBe(500);
    expect(bodyOf(response)).toEqual({ message: 'internal error', requestId: ctx.awsRequestId });
  });

  test('404 when ListTagsForResource is denied (the role may only read nodes with the marker)', async () => {
    loaded.mock.on(loaded.ssm.ListTagsForResourceCommand).rejects(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException', $metadata: {} }));
    const response = await loaded.handler(put({ Team: 'a' }), context());
    expect(response.statusCode).toBe(404);
  });
});

describe('tag-node adapter logging', () => {
  let loaded: Loaded;
  const { lines, parsed: parsedLines } = captureLogLines();

  beforeAll(() => {
    loaded = load({ LOG_LEVEL: 'INFO' });
  });

  beforeEach(() => {
    loaded.mock.reset();
    seed(loaded, OUR_TAGS);
  });

  test('one audit line per request with tag keys but never values, headers or the body', async () => {
    const ctx = context();
    await loaded.handler(put({ Team: 'payments-secret-value', PatchMode: 'report' }), ctx);
    expect(lines).toHaveLength(1);
    const text = lines.join('\n');
    expect(text).not.toContain('payments-secret-value');
    expect(text).not.toContain('SECRET-HEADER-VALUE');
    expect(text).not.toContain('curl/8.0');
    const [line] = parsedLines();
    expect(line).toEqual({
      level: 'INFO',
      message: 'tag request',
      timestamp: expect.any(String),
      requestId: ctx.awsRequestId,
      caller: PERSON_ARN,
      callerAccount: '123456789012',
      sourceIp: '198.51.100.7',
      instanceId: NODE_ID,
      tagKeys: ['Team', 'PatchMode'],
      outcome: 'tagged',
      status: 200,
      durationMs: expect.any(Number),
    });
  });

  test('outcomes, statuses and reason/errorName of failures', async () => {
    await loaded.handler(put({ Env: 'x' }), context());
    await loaded.handler(put({ Team: 'a' }, { id: 'mi-nope' }), context());
    await loaded.handler(put({ Team: 'a' }, { userArn: EC2_ARN }), context());
    loaded.mock.on(loaded.ssm.AddTagsToResourceCommand).rejects(Object.assign(new Error('SDKSECRET'), { name: 'InternalServerError', $metadata: { httpStatusCode: 500 } }));
    await loaded.handler(put({ Team: 'a' }), context());
    loaded.mock.on(loaded.ssm.AddTagsToResourceCommand).rejects(Object.assign(new Error('SDKSECRET'), { name: 'ThrottlingException', $metadata: {} }));
    await loaded.handler(put({ Team: 'a' }), context());
    loaded.mock.on(loaded.ssm.AddTagsToResourceCommand).rejects(Object.assign(new Error('SDKSECRET'), { name: 'AccessDeniedException', $metadata: {} }));
    await loaded.handler(put({ Team: 'a' }), context());

    const parsed = parsedLines();
    expect(parsed.map((l) => [l.level, l.outcome, l.status])).toEqual([
      ['WARN', 'rejected', 400],
      ['WARN', 'not-found', 404],
      ['WARN', 'forbidden', 403],
      ['ERROR', 'unavailable', 503],
      ['ERROR', 'throttled', 503],
      ['ERROR', 'error', 500],
    ]);
    expect(parsed[0]).toMatchObject({ reason: 'tag key "Env" is not allowed', instanceId: NODE_ID });
    expect(parsed[0]).not.toHaveProperty('tagKeys');
    expect(parsed[1]).toMatchObject({ instanceId: 'mi-nope', reason: expect.any(String) });
    expect(parsed[2]).toMatchObject({ tagKeys: ['Team'], reason: expect.stringContaining(INSTANCE_ID) });
    expect(parsed.slice(3).map((l) => l.errorName)).toEqual(['InternalServerError', 'ThrottlingException', 'AccessDeniedException']);
    expect(lines.join('\n')).not.toContain('SDKSECRET');
  });
});

describe('tag-node cold start', () => {
  test.each<[string, Record<string, string | undefined>, RegExp]>([
    ['a missing MARKER_TAG_KEY', { MARKER_TAG_KEY: undefined }, /MARKER_TAG_KEY is required/],
    ['a missing MARKER_TAG_VALUE', { MARKER_TAG_VALUE: undefined }, /MARKER_TAG_VALUE is required/],
    ['ALLOWED_TAGS that is not JSON', { ALLOWED_TAGS: '[{key:Team}]' }, /ALLOWED_TAGS is not valid JSON/],
    ['ALLOWED_TAGS of the wrong shape', { ALLOWED_TAGS: '{"key":"Team"}' }, /ALLOWED_TAGS is invalid: must be a JSON array/],
    ['Name among ALLOWED_TAGS', { ALLOWED_TAGS: '[{"key":"Name"}]' }, /allowed tag key "Name" is reserved/],
    ['the marker among ALLOWED_TAGS', { ALLOWED_TAGS: `[{"key":"${MARKER_KEY}"}]` }, /is reserved/],
    ['an unknown AUTHORIZATION', { AUTHORIZATION: 'NONE' }, /AUTHORIZATION must be one of IAM, API_KEY/],
    ['a CALLER_BINDING that is not a boolean', { CALLER_BINDING: '1' }, /CALLER_BINDING must be "true" or "false"/],
    ['SSM_MAX_ATTEMPTS out of range', { SSM_MAX_ATTEMPTS: '11' }, /SSM_MAX_ATTEMPTS must be an integer/],
    ['SSM_REQUEST_TIMEOUT_MS out of range', { SSM_REQUEST_TIMEOUT_MS: '5' }, /SSM_REQUEST_TIMEOUT_MS must be an integer/],
    ['an unknown LOG_LEVEL', { LOG_LEVEL: 'TRACE' }, /LOG_LEVEL must be one of/],
  ])('fails on %s, naming the variable', (_label, overrides, message) => {
    expect(() => load(overrides)).toThrow(message);
  });

  test('does not need the create-activation variables', () => {
    expect(() => load({ INSTANCE_ROLE_NAME: undefined, DEFAULT_TAGS: undefined, NAME_CONFLICT_POLICY: undefined })).not.toThrow();
  });
});
