import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import 'aws-sdk-client-mock-jest';
import { lambdaContext, restApiEvent } from '../support/api-gateway-event';
import { loadHandler, restoreEnv, type LoadedHandler } from '../support/load-handler';
import { captureLogLines } from '../support/log-capture';

type Handler = (typeof import('../../lambda/create-activation/index'))['handler'];

const ENV: Readonly<Record<string, string>> = {
  INSTANCE_ROLE_NAME: 'HybridNodeRole',
  ACTIVATION_LIFETIME_SECONDS: '3600',
  MARKER_TAG_KEY: 'hybrid-fleet:issuer',
  MARKER_TAG_VALUE: 'Stack/Api',
  DEFAULT_TAGS: '{"Env":"prod"}',
  ALLOWED_TAGS: '[{"key":"PatchMode","values":["report","enforce"]},{"key":"Team"}]',
  AUTHORIZATION: 'IAM',
  CALLER_BINDING: 'true',
  SSM_MAX_ATTEMPTS: '1',
  SSM_REQUEST_TIMEOUT_MS: '1000',
  ROLE_RETRY_BASE_MS: '1',
  NAME_CONFLICT_POLICY: 'REPLACE_OFFLINE',
  MAX_REGISTERED_NODES: '0',
  CEILING_CACHE_SECONDS: '0',
  LOG_LEVEL: 'SILENT',
};

const ACTIVATION_ID = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const ACTIVATION_CODE = 'Xyz123SecretActivationCode+/=';
const INSTANCE_ID = 'i-0123456789abcdef0';
const EC2_ARN = `arn:aws:sts::123456789012:assumed-role/NodeRole/${INSTANCE_ID}`;
const PERSON_ARN = 'arn:aws:sts::123456789012:assumed-role/Admin/alice@example.com';
const SECRET_HEADER = 'AWS4-HMAC-SHA256 Credential=SECRET-HEADER-VALUE';
/** Account that owns the API and the function (callers are in 123456789012). */
const API_ACCOUNT = '999999999999';

type Loaded = LoadedHandler<Handler>;

/** Sets the environment (ENV plus `overrides`), then loads a fresh copy of the SDK and the handler. */
function load(overrides: Readonly<Record<string, string | undefined>> = {}): Loaded {
  return loadHandler(() => require('../../lambda/create-activation/index') as { handler: Handler }, { ...ENV, ...overrides });
}

function event(options: {
  method: string;
  path: string;
  resource?: string;
  body?: string | null;
  query?: Record<string, string> | null;
  userArn?: string | null;
}): APIGatewayProxyEvent {
  return restApiEvent({
    method: options.method,
    resource: options.resource ?? options.path,
    path: options.path,
    body: options.body ?? null,
    query: options.query ?? null,
    headers: { Authorization: SECRET_HEADER, 'Content-Type': 'application/json' },
    userAgent: 'curl/8.0',
    userArn: options.userArn === undefined ? PERSON_ARN : options.userArn,
    accountId: API_ACCOUNT,
    requestId: 'apigw-request-id',
    requestTimeEpoch: 1_900_000_000_000,
  });
}

const postActivation = (body: unknown, userArn?: string | null): APIGatewayProxyEvent =>
  event({ method: 'POST', path: '/activations', body: typeof body === 'string' ? body : JSON.stringify(body), userArn });

let invocation = 0;
function context(): Context {
  invocation += 1;
  return lambdaContext(`lambda-request-${invocation}`, { functionName: 'create-activation', accountId: API_ACCOUNT });
}

const bodyOf = (response: APIGatewayProxyResult): Record<string, unknown> => JSON.parse(response.body) as Record<string, unknown>;

const JSON_HEADERS = { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' };

afterAll(restoreEnv);

describe('create-activation adapter', () => {
  let loaded: Loaded;

  beforeAll(() => {
    loaded = load();
  });

  beforeEach(() => {
    loaded.mock.reset();
    loaded.mock.on(loaded.ssm.CreateActivationCommand).resolves({ ActivationId: ACTIVATION_ID, ActivationCode: ACTIVATION_CODE });
    loaded.mock.on(loaded.ssm.DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [] });
    loaded.mock.on(loaded.ssm.DescribeActivationsCommand).resolves({ ActivationList: [] });
  });

  test('POST /activations → 201 with the activation, region and expiry', async () => {
    const before = Date.now();
    const ctx = context();
    const response = await loaded.handler(postActivation({ name: 'web-01', tags: { PatchMode: 'enforce' } }), ctx);
    const after = Date.now();

    expect(response.statusCode).toBe(201);
    expect(response.headers).toEqual(JSON_HEADERS);
    const body = bodyOf(response);
    expect(Object.keys(body)).toEqual(['activationId', 'activationCode', 'region', 'instanceName', 'expiresAt']);
    expect(body).toMatchObject({ activationId: ACTIVATION_ID, activationCode: ACTIVATION_CODE, region: 'eu-west-1', instanceName: 'web-01' });
    const expiresAt = Date.parse(String(body.expiresAt));
    expect(String(body.expiresAt)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(expiresAt).toBeGreaterThanOrEqual(before + 3_600_000);
    expect(expiresAt).toBeLessThanOrEqual(after + 3_600_000);

    expect(loaded.mock).toHaveReceivedCommandTimes(loaded.ssm.CreateActivationCommand, 1);
    expect(loaded.mock).toHaveReceivedCommandWith(loaded.ssm.CreateActivationCommand, {
      IamRole: 'HybridNodeRole',
      RegistrationLimit: 1,
      DefaultInstanceName: 'web-01',
      Description: 'Activation for web-01 issued by Stack/Api',
      ExpirationDate: new Date(expiresAt),
      Tags: [
        { Key: 'Name', Value: 'web-01' },
        { Key: 'hybrid-fleet:issuer', Value: 'Stack/Api' },
        { Key: 'hybrid-fleet:owner', Value: PERSON_ARN },
        { Key: 'Env', Value: 'prod' },
        { Key: 'PatchMode', Value: 'enforce' },
      ],
    });
  });

  test('GET /activate → 200', async () => {
    const response = await loaded.handler(event({ method: 'GET', path: '/activate', query: { name: 'web-02' } }), context());
    expect(response.statusCode).toBe(200);
    expect(response.headers).toEqual(JSON_HEADERS);
    expect(bodyOf(response)).toMatchObject({ activationId: ACTIVATION_ID, activationCode: ACTIVATION_CODE, instanceName: 'web-02' });
  });

  test('routes by resource when the path carries a custom-domain base path', async () => {
    const response = await loaded.handler(
      event({ method: 'POST', path: '/v1/activations', resource: '/activations', body: '{"name":"web-03"}' }),
      context(),
    );
    expect(response.statusCode).toBe(201);
  });

  test.each<[string, APIGatewayProxyEvent]>([
    ['an unknown path', event({ method: 'GET', path: '/nope' })],
    ['a wrong method', event({ method: 'DELETE', path: '/activations' })],
    ['GET /activations', event({ method: 'GET', path: '/activations' })],
  ])('404 JSON for %s', async (_label, request) => {
    const ctx = context();
    const response = await loaded.handler(request, ctx);
    expect(response.statusCode).toBe(404);
    expect(response.headers).toEqual(JSON_HEADERS);
    expect(bodyOf(response)).toEqual({ message: 'not found', requestId: ctx.awsRequestId });
    expect(loaded.mock).toHaveReceivedCommandTimes(loaded.ssm.CreateActivationCommand, 0);
  });

  test.each<[string, APIGatewayProxyEvent, RegExp]>([
    ['bad JSON', postActivation('{"name":'), /valid JSON/],
    ['an unknown field', postActivation({ name: 'web-01', limit: 3 }), /unknown field/],
    ['a tag not allowed', postActivation({ name: 'web-01', tags: { Owner: 'x' } }), /not allowed/],
    ['a repeated name parameter', {
      ...event({ method: 'GET', path: '/activate', query: { name: 'b' } }),
      multiValueQueryStringParameters: { name: ['a', 'b'] },
    }, /at most once/],
  ])('400 for %s', async (_label, request, message) => {
    const ctx = context();
    const response = await loaded.handler(request, ctx);
    expect(response.statusCode).toBe(400);
    expect(response.headers).toEqual(JSON_HEADERS);
    const body = bodyOf(response);
    expect(Object.keys(body).sort()).toEqual(['message', 'requestId']);
    expect(body.message).toMatch(message);
    expect(body.requestId).toBe(ctx.awsRequestId);
    expect(loaded.mock).toHaveReceivedCommandTimes(loaded.ssm.CreateActivationCommand, 0);
  });

  test('403 when an EC2 instance asks for another name; its own id defaults the name', async () => {
    const forbidden = await loaded.handler(postActivation({ name: 'other' }, EC2_ARN), context());
    expect(forbidden.statusCode).toBe(403);
    expect(bodyOf(forbidden).message).toContain(INSTANCE_ID);
    expect(loaded.mock).toHaveReceivedCommandTimes(loaded.ssm.CreateActivationCommand, 0);

    const own = await loaded.handler(postActivation({}, EC2_ARN), context());
    expect(own.statusCode).toBe(201);
    expect(bodyOf(own).instanceName).toBe(INSTANCE_ID);
  });

  test('503 with Retry-After when SSM still throttles', async () => {
    const throttled = Object.assign(new Error('Rate exceeded for account 123456789012'), {
      name: 'ThrottlingException',
      $metadata: { httpStatusCode: 400 },
    });
    loaded.mock.on(loaded.ssm.CreateActivationCommand).rejects(throttled);
    const ctx = context();
    const response = await loaded.handler(postActivation({ name: 'web-01' }), ctx);
    expect(response.statusCode).toBe(503);
    expect(response.headers).toEqual({ ...JSON_HEADERS, 'Retry-After': '5' });
    expect(bodyOf(response).requestId).toBe(ctx.awsRequestId);
    expect(response.body).not.toContain('Rate exceeded');
  });

  test('503 after the role retries when SSM cannot see the role', async () => {
    const notVisible = Object.assign(new Error('Not existing role: arn:aws:iam::123456789012:role/HybridNodeRole'), {
      name: 'ValidationException',
    });
    loaded.mock.on(loaded.ssm.CreateActivationCommand).rejects(notVisible);
    const response = await loaded.handler(postActivation({ name: 'web-01' }), context());
    expect(response.statusCode).toBe(503);
    expect(response.headers?.['Retry-After']).toBe('5');
    expect(loaded.mock).toHaveReceivedCommandTimes(loaded.ssm.CreateActivationCommand, 4);
  });

  test('500 with a generic body on an unknown error, leaking no SDK message', async () => {
    const denied = Object.assign(new Error('User: arn:aws:sts::1:assumed-role/fn is not authorized to perform: iam:PassRole'), {
      name: 'AccessDeniedException',
      $metadata: { httpStatusCode: 400 },
    });
    loaded.mock.on(loaded.ssm.CreateActivationCommand).rejects(denied);
    const ctx = context();
    const response = await loaded.handler(postActivation({ name: 'web-01' }), ctx);
    expect(response.statusCode).toBe(500);
    expect(response.headers).toEqual(JSON_HEADERS);
    expect(bodyOf(response)).toEqual({ message: 'internal error', requestId: ctx.awsRequestId });
    expect(response.body).not.toMatch(/PassRole|AccessDenied|not authorized/);
  });

  test('500 when SSM answers without an activation code', async () => {
    loaded.mock.on(loaded.ssm.CreateActivationCommand).resolves({ ActivationId: ACTIVATION_ID });
    const response = await loaded.handler(postActivation({ name: 'web-01' }), context());
    expect(response.statusCode).toBe(500);
  });
});

const MI_ONLINE = 'mi-0aaaaaaaaaaaaaaa1';
const MI_LOST = 'mi-0bbbbbbbbbbbbbbb2';
const MI_INACTIVE = 'mi-0ccccccccccccccc3';
const NAME_FILTERS = [
  { Key: 'tag:hybrid-fleet:issuer', Values: ['Stack/Api'] },
  { Key: 'tag:Name', Values: ['web-01'] },
];

describe('create-activation adapter: name conflicts and ceiling', () => {
  let loaded: Loaded;

  beforeAll(() => {
    loaded = load({ MAX_REGISTERED_NODES: '3' });
  });

  beforeEach(() => {
    loaded.mock.reset();
    loaded.mock.on(loaded.ssm.CreateActivationCommand).resolves({ ActivationId: ACTIVATION_ID, ActivationCode: ACTIVATION_CODE });
    loaded.mock.on(loaded.ssm.DeregisterManagedInstanceCommand).resolves({});
    loaded.mock.on(loaded.ssm.DescribeActivationsCommand).resolves({ ActivationList: [] });
  });

  test('pages DescribeInstanceInformation (MaxResults 50, NextToken) and deregisters the offline nodes of the name', async () => {
    const { mock, ssm } = loaded;
    // The SDK paginator reuses one input object across pages: copy each input when it is sent.
    const describes: unknown[] = [];
    const pages: Record<string, object> = {
      'name:': { InstanceInformationList: [{ InstanceId: MI_LOST, Name: 'web-01', PingStatus: 'ConnectionLost' }], NextToken: 'page-2' },
      'name:page-2': { InstanceInformationList: [{ InstanceId: MI_INACTIVE, Name: 'web-01', PingStatus: 'Inactive' }] },
      'all:': { InstanceInformationList: [{ InstanceId: MI_LOST }, { InstanceId: MI_INACTIVE }, { InstanceId: 'mi-0ddddddddddddddd4' }] },
    };
    mock.on(ssm.DescribeInstanceInformationCommand).callsFake((input: { Filters?: unknown[]; NextToken?: string }) => {
      describes.push(JSON.parse(JSON.stringify(input)));
      // Three filters: the name lookup narrowed to the caller's owner tag; the caller owns both nodes.
      return pages[`${(input.Filters?.length ?? 0) >= 2 ? 'name' : 'all'}:${input.NextToken ?? ''}`];
    });
    mock.on(ssm.DeregisterManagedInstanceCommand, { InstanceId: MI_INACTIVE })
      .rejects(Object.assign(new Error('The following supplied instance ids are not valid'), { name: 'InvalidInstanceId' }));

    const response = await loaded.handler(postActivation({ name: 'web-01' }), context());
    expect(response.statusCode).toBe(201);

    const OWNED_FILTERS = [...NAME_FILTERS, { Key: 'tag:hybrid-fleet:owner', Values: [PERSON_ARN] }];
    expect(describes).toEqual([
      { Filters: NAME_FILTERS, MaxResults: 50 },
      { Filters: NAME_FILTERS, MaxResults: 50, NextToken: 'page-2' },
      { Filters: OWNED_FILTERS, MaxResults: 50 },
      { Filters: OWNED_FILTERS, MaxResults: 50, NextToken: 'page-2' },
      { Filters: [NAME_FILTERS[0]], MaxResults: 50 },
    ]);
    expect(mock.commandCalls(ssm.DescribeActivationsCommand).map((call) => call.args[0].input)).toEqual([
      { Filters: [{ FilterKey: 'DefaultInstanceName', FilterValues: ['web-01'] }], MaxResults: 50 },
      { Filters: [{ FilterKey: 'IamRole', FilterValues: ['HybridNodeRole'] }], MaxResults: 50 },
    ]);
    expect(mock.commandCalls(ssm.DeregisterManagedInstanceCommand).map((call) => call.args[0].input)).toEqual([
      { InstanceId: MI_LOST },
      { InstanceId: MI_INACTIVE },
    ]);
    expect(mock).toHaveReceivedCommandTimes(ssm.CreateActivationCommand, 1);
  });

  test('409 naming no node; nothing deregistered or created', async () => {
    const { mock, ssm } = loaded;
    mock.on(ssm.DescribeInstanceInformationCommand).resolves({
      InstanceInformationList: [
        { InstanceId: MI_LOST, Name: 'web-01', PingStatus: 'ConnectionLost' },
        { InstanceId: MI_ONLINE, Name: 'web-01', PingStatus: 'Online' },
      ],
    });
    const ctx = context();
    const response = await loaded.handler(postActivation({ name: 'web-01' }), ctx);
    expect(response.statusCode).toBe(409);
    expect(response.headers).toEqual(JSON_HEADERS);
    expect(bodyOf(response)).toEqual({
      message: "a node named 'web-01' registered through this API is online",
      requestId: ctx.awsRequestId,
    });
    expect(response.body).not.toContain('mi-');
    expect(mock).toHaveReceivedCommandTimes(ssm.DeregisterManagedInstanceCommand, 0);
    expect(mock).toHaveReceivedCommandTimes(ssm.CreateActivationCommand, 0);
  });

  test('429 at the ceiling, without Retry-After; nothing created', async () => {
    const { mock, ssm } = loaded;
    mock.on(ssm.DescribeInstanceInformationCommand, { Filters: NAME_FILTERS }).resolves({ InstanceInformationList: [] });
    mock.on(ssm.DescribeInstanceInformationCommand, { Filters: [NAME_FILTERS[0]!] }).resolves({
      InstanceInformationList: [{ InstanceId: MI_ONLINE }, { InstanceId: MI_LOST }, { InstanceId: MI_INACTIVE }],
    });
    const ctx = context();
    const response = await loaded.handler(postActivation({ name: 'web-01' }), ctx);
    expect(response.statusCode).toBe(429);
    expect(response.headers).toEqual(JSON_HEADERS);
    expect(bodyOf(response)).toEqual({ message: expect.stringMatching(/^this API has reached its ceiling/), requestId: ctx.awsRequestId });
    expect(response.body).not.toMatch(/\d+ nodes|\b3\b/);
    expect(mock).toHaveReceivedCommandTimes(ssm.CreateActivationCommand, 0);
  });

  test('503 with Retry-After when DescribeInstanceInformation still throttles', async () => {
    const { mock, ssm } = loaded;
    mock.on(ssm.DescribeInstanceInformationCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    const response = await loaded.handler(postActivation({ name: 'web-01' }), context());
    expect(response.statusCode).toBe(503);
    expect(response.headers?.['Retry-After']).toBe('5');
    expect(mock).toHaveReceivedCommandTimes(ssm.CreateActivationCommand, 0);
  });

  test('500 when a deregistration is denied', async () => {
    const { mock, ssm } = loaded;
    mock.on(ssm.DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [{ InstanceId: MI_LOST, Name: 'web-01', PingStatus: 'ConnectionLost' }] });
    mock.on(ssm.DeregisterManagedInstanceCommand).rejects(Object.assign(new Error('not authorized SECRET'), { name: 'AccessDeniedException' }));
    const response = await loaded.handler(postActivation({ name: 'web-01' }), context());
    expect(response.statusCode).toBe(500);
    expect(response.body).not.toContain('SECRET');
    expect(mock).toHaveReceivedCommandTimes(ssm.CreateActivationCommand, 0);
  });
});

describe('create-activation adapter logging', () => {
  let loaded: Loaded;
  const { lines, parsed: parsedLines } = captureLogLines();

  beforeAll(() => {
    loaded = load({ LOG_LEVEL: 'INFO' });
  });

  beforeEach(() => {
    loaded.mock.reset();
    loaded.mock.on(loaded.ssm.CreateActivationCommand).resolves({ ActivationId: ACTIVATION_ID, ActivationCode: ACTIVATION_CODE });
    loaded.mock.on(loaded.ssm.DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [] });
    loaded.mock.on(loaded.ssm.DescribeActivationsCommand).resolves({ ActivationList: [] });
  });

  test('logs one line per created activation with the id but never the code, headers or body', async () => {
    const ctx = context();
    await loaded.handler(postActivation({ name: 'web-01', tags: { Team: 'payments-team-secret-tag' } }), ctx);

    expect(lines).toHaveLength(1);
    const text = lines.join('\n');
    expect(text).toContain(ACTIVATION_ID);
    expect(text).not.toContain(ACTIVATION_CODE);
    expect(text).not.toContain('SECRET-HEADER-VALUE');
    expect(text).not.toContain('payments-team-secret-tag');
    expect(text).not.toContain('curl/8.0');

    const [line] = parsedLines();
    expect(line).toMatchObject({
      level: 'INFO',
      message: 'activation request',
      requestId: ctx.awsRequestId,
      method: 'POST',
      path: '/activations',
      caller: PERSON_ARN,
      callerAccount: '123456789012',
      sourceIp: '198.51.100.7',
      name: 'web-01',
      activationId: ACTIVATION_ID,
      outcome: 'created',
      status: 201,
    });
    expect(typeof line?.timestamp).toBe('string');
    expect(typeof line?.durationMs).toBe('number');
  });

  test('logs the reason of a 400 and the error name (not message) of a 500', async () => {
    await loaded.handler(postActivation({ name: 'web#01' }), context());
    const denied = Object.assign(new Error('detail that must not be logged'), {
      name: 'AccessDeniedException', $fault: 'client', $metadata: { httpStatusCode: 400 },
    });
    loaded.mock.on(loaded.ssm.CreateActivationCommand).rejects(denied);
    await loaded.handler(postActivation({ name: 'web-01' }), context());

    const [rejected, failed] = parsedLines();
    expect(lines).toHaveLength(2);
    expect(rejected).toMatchObject({ level: 'WARN', outcome: 'rejected', status: 400 });
    expect(String(rejected?.reason)).toMatch(/name may contain only/);
    expect(failed).toMatchObject({ level: 'ERROR', outcome: 'error', status: 500, errorName: 'AccessDeniedException', name: 'web-01' });
    expect(failed).not.toHaveProperty('errorStack');
    expect(lines.join('\n')).not.toContain('detail that must not be logged');
  });

  test('an error that is not an SDK error (a bug) is logged with its stack; the answer stays a generic 500', async () => {
    loaded.mock.on(loaded.ssm.CreateActivationCommand).callsFake(() => {
      throw new TypeError("Cannot read properties of undefined (reading 'ActivationId')");
    });
    const response = await loaded.handler(postActivation({ name: 'web-01' }), context());
    expect(response.statusCode).toBe(500);
    expect(response.body).not.toContain('ActivationId');
    const [failed] = parsedLines();
    expect(failed).toMatchObject({ level: 'ERROR', outcome: 'error', status: 500, errorName: 'TypeError' });
    expect(String(failed?.errorStack)).toMatch(/^TypeError: Cannot read properties of undefined \(reading 'ActivationId'\)\n\s+at /);
  });

  test('a NextToken SSM returns twice ends the listing: a logged 500 (ListingIncomplete), not a loop until the deadline', async () => {
    const { mock, ssm } = loaded;
    mock.on(ssm.DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [], NextToken: 'same-token' });
    const response = await loaded.handler(postActivation({ name: 'web-01' }), context());
    expect(response.statusCode).toBe(500);
    expect(mock).toHaveReceivedCommandTimes(ssm.DescribeInstanceInformationCommand, 2);
    expect(mock).toHaveReceivedCommandTimes(ssm.CreateActivationCommand, 0);
    expect(parsedLines()).toEqual([expect.objectContaining({ level: 'ERROR', outcome: 'error', status: 500, errorName: 'ListingIncomplete' })]);
  });

  test('logs the deregistered nodes, and the conflicting node of a 409', async () => {
    const { mock, ssm } = loaded;
    mock.on(ssm.DeregisterManagedInstanceCommand).resolves({});
    mock.on(ssm.DescribeInstanceInformationCommand).callsFake((input: { Filters?: { Key: string; Values: string[] }[] }) => {
      const name = input.Filters?.find((f) => f.Key === 'tag:Name')?.Values[0];
      if (name === 'web-01') return { InstanceInformationList: [{ InstanceId: MI_LOST, Name: 'web-01', PingStatus: 'ConnectionLost' }] };
      return { InstanceInformationList: name === 'web-02' ? [{ InstanceId: MI_ONLINE, Name: 'web-02', PingStatus: 'Online' }] : [] };
    });
    await loaded.handler(postActivation({ name: 'web-01' }), context());
    await loaded.handler(postActivation({ name: 'web-02' }), context());
    const [createdLine, conflictLine] = parsedLines();
    expect(createdLine).toMatchObject({ level: 'INFO', outcome: 'created', status: 201, deregistered: [MI_LOST] });
    expect(createdLine).not.toHaveProperty('conflictingInstanceId');
    expect(conflictLine).toMatchObject({
      level: 'WARN',
      outcome: 'conflict',
      status: 409,
      deregistered: [],
      conflictingInstanceId: MI_ONLINE,
      reason: "a node named 'web-02' registered through this API is online",
    });
  });

  test('logs a ceiling as outcome ceiling with status 429', async () => {
    const capped = load({ LOG_LEVEL: 'INFO', MAX_REGISTERED_NODES: '1', NAME_CONFLICT_POLICY: 'ALLOW_DUPLICATES' });
    capped.mock.on(capped.ssm.DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [{ InstanceId: MI_ONLINE }] });
    capped.mock.on(capped.ssm.DescribeActivationsCommand).resolves({ ActivationList: [] });
    await capped.handler(postActivation({ name: 'web-01' }), context());
    expect(parsedLines()).toEqual([expect.objectContaining({ outcome: 'ceiling', status: 429, deregistered: [], ceilingCount: 1 })]);
  });

  test('logs throttling as outcome throttled with status 503', async () => {
    loaded.mock.on(loaded.ssm.CreateActivationCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    await loaded.handler(postActivation({ name: 'web-01' }), context());
    expect(parsedLines()).toEqual([expect.objectContaining({ outcome: 'throttled', status: 503, errorName: 'ThrottlingException' })]);
  });
});

describe('create-activation adapter: deadline and cached ceiling', () => {
  test('a small remaining time: 503 + Retry-After before the budget ends, even when an SSM call never answers', async () => {
    const loaded = load();
    loaded.mock.on(loaded.ssm.DescribeInstanceInformationCommand).callsFake(() => new Promise(() => undefined));
    const ctx = { ...context(), getRemainingTimeInMillis: () => 2300 }; // 300 ms after the 2 s safety margin
    const started = Date.now();
    const response = await loaded.handler(postActivation({ name: 'web-01' }), ctx);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(response.statusCode).toBe(503);
    expect(response.headers?.['Retry-After']).toBe('5');
    expect(bodyOf(response).message).toBe('the request ran out of time, retry later');
    expect(loaded.mock).toHaveReceivedCommandTimes(loaded.ssm.CreateActivationCommand, 0);
  });

  test('the ceiling count is listed once per CEILING_CACHE_SECONDS per container', async () => {
    const loaded = load({ MAX_REGISTERED_NODES: '10', CEILING_CACHE_SECONDS: undefined });
    loaded.mock.on(loaded.ssm.CreateActivationCommand).resolves({ ActivationId: ACTIVATION_ID, ActivationCode: ACTIVATION_CODE });
    loaded.mock.on(loaded.ssm.DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [] });
    loaded.mock.on(loaded.ssm.DescribeActivationsCommand).resolves({ ActivationList: [] });
    for (const name of ['a', 'b', 'c']) expect((await loaded.handler(postActivation({ name }), context())).statusCode).toBe(201);
    const countCalls = loaded.mock.commandCalls(loaded.ssm.DescribeActivationsCommand)
      .filter((call) => call.args[0].input.Filters?.[0]?.FilterKey === 'IamRole');
    expect(countCalls).toHaveLength(1);
  });
});

describe('create-activation cold start', () => {
  test.each<[string, Record<string, string | undefined>, RegExp]>([
    ['a missing INSTANCE_ROLE_NAME', { INSTANCE_ROLE_NAME: undefined }, /INSTANCE_ROLE_NAME is required/],
    ['a lifetime below 60 seconds', { ACTIVATION_LIFETIME_SECONDS: '59' }, /ACTIVATION_LIFETIME_SECONDS must be an integer from 60 to 2592000/],
    ['a non-numeric lifetime', { ACTIVATION_LIFETIME_SECONDS: '1h' }, /ACTIVATION_LIFETIME_SECONDS must be an integer/],
    ['DEFAULT_TAGS that is not JSON', { DEFAULT_TAGS: '{Env:prod}' }, /DEFAULT_TAGS is not valid JSON/],
    ['ALLOWED_TAGS of the wrong shape', { ALLOWED_TAGS: '{"key":"Team"}' }, /ALLOWED_TAGS is invalid: must be a JSON array/],
    ['an unknown AUTHORIZATION', { AUTHORIZATION: 'COGNITO' }, /AUTHORIZATION must be one of IAM, API_KEY/],
    ['a CALLER_BINDING that is not a boolean', { CALLER_BINDING: 'yes' }, /CALLER_BINDING must be "true" or "false"/],
    ['an unknown LOG_LEVEL', { LOG_LEVEL: 'TRACE' }, /LOG_LEVEL must be one of/],
    ['SSM_MAX_ATTEMPTS out of range', { SSM_MAX_ATTEMPTS: '0' }, /SSM_MAX_ATTEMPTS must be an integer/],
    ['a reserved default tag', { DEFAULT_TAGS: '{"Name":"x"}' }, /default tag key "Name" is reserved/],
    ['a missing NAME_CONFLICT_POLICY', { NAME_CONFLICT_POLICY: undefined }, /NAME_CONFLICT_POLICY is required/],
    ['an unknown NAME_CONFLICT_POLICY', { NAME_CONFLICT_POLICY: 'REPLACE' }, /NAME_CONFLICT_POLICY must be one of REJECT_IF_ONLINE, REPLACE_OFFLINE, ALWAYS_REPLACE, ALLOW_DUPLICATES/],
    ['a missing MAX_REGISTERED_NODES', { MAX_REGISTERED_NODES: undefined }, /MAX_REGISTERED_NODES is required/],
    ['a negative MAX_REGISTERED_NODES', { MAX_REGISTERED_NODES: '-1' }, /MAX_REGISTERED_NODES must be an integer from 0/],
    ['a non-integer MAX_REGISTERED_NODES', { MAX_REGISTERED_NODES: '2.5' }, /MAX_REGISTERED_NODES must be an integer/],
    ['CALLER_NAME_RULES of the wrong shape', { CALLER_NAME_RULES: '[{"caller":"*"}]' }, /CALLER_NAME_RULES is invalid: "names" must be a non-empty string/],
    ['CEILING_CACHE_SECONDS out of range', { CEILING_CACHE_SECONDS: '301' }, /CEILING_CACHE_SECONDS must be an integer from 0 to 300/],
  ])('fails on %s, naming the variable', (_label, overrides, message) => {
    expect(() => load(overrides)).toThrow(message);
  });
});
