/**
 * End-to-end tests of the BUNDLED create-activation handler (`assets/create-activation/index.js`, built by
 * `npm run bundle`) against a loopback server speaking the SSM JSON protocol (test/support/ssm-stub.ts).
 * The SDK inside the bundle is pointed at the stub with `AWS_ENDPOINT_URL_SSM`. Contract: docs/handler-contract.md.
 *
 * The bundle runs in a child node process (test/support/handler-process.ts explains why), a fresh module instance and
 * environment per test unless shared (the file's processes are reused: `HandlerPool`); the stub stays in the jest process.
 */
import { randomUUID } from 'node:crypto';
import { Duration, type Stack } from 'aws-cdk-lib';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { lambdaContext, restApiEvent } from '../support/api-gateway-event';
import { expect503, expectError, parseBody, useE2e, type ApiInvocation } from '../support/e2e';
import { headerOf as header, jsonLines, type HandlerProcess } from '../support/handler-process';
import { Faults } from '../support/ssm-stub';
import { ActivationApiAuthorization, HybridActivationApi, NameConflictPolicy, type AllowedTag, type HybridActivationApiProps } from '../../lib';

const ACCOUNT = '111122223333';
const EXTRA_KEYS = Array.from({ length: 48 }, (_, i) => `T${String(i + 1).padStart(2, '0')}`);
const ALLOWED_TAGS: AllowedTag[] = [
  { key: 'PatchMode', values: ['report', 'enforce'] },
  { key: 'Team' },
  { key: 'Env' },
  ...EXTRA_KEYS.map((key) => ({ key })),
];
const PROVISIONER_ARN = `arn:aws:sts::${ACCOUNT}:assumed-role/Provisioner/ci-session`;
const OWNER_KEY = 'hybrid-fleet:owner';
const INSTANCE_ID = 'i-0123456789abcdef0';
const INSTANCE_ARN = `arn:aws:sts::${ACCOUNT}:assumed-role/HybridNodeBootstrap/${INSTANCE_ID}`;
const SECRET_HEADER = 'AWS4-HMAC-SHA256 Credential=AKIASECRETMARKER/20260101/eu-west-1/execute-api/aws4_request';

/** The API as the tests deploy it; each configuration below changes a few props. */
const BASE_PROPS: HybridActivationApiProps = {
  markerTagValue: 'HybridFleetExample/ActivationApi',
  activationLifetime: Duration.hours(1),
  defaultTags: { Env: 'test' },
  allowedTags: ALLOWED_TAGS,
  callerBinding: false,
  janitor: false,
  serverErrorAlarm: false,
};
const api = (props: HybridActivationApiProps = {}) => (stack: Stack) => {
  new HybridActivationApi(stack, 'Activations', { ...BASE_PROPS, ...props });
};

const e2e = useE2e('create-activation', {
  configs: {
    default: api(),
    bound: api({ callerBinding: true }),
    apiKey: api({ authorization: ActivationApiAuthorization.API_KEY }),
    apiKeyBound: api({ authorization: ActivationApiAuthorization.API_KEY, callerBinding: true }),
    REJECT_IF_ONLINE: api({ nameConflictPolicy: NameConflictPolicy.REJECT_IF_ONLINE }),
    REPLACE_OFFLINE: api({ nameConflictPolicy: NameConflictPolicy.REPLACE_OFFLINE }),
    ALWAYS_REPLACE: api({ nameConflictPolicy: NameConflictPolicy.ALWAYS_REPLACE }),
    ALLOW_DUPLICATES: api({ nameConflictPolicy: NameConflictPolicy.ALLOW_DUPLICATES }),
    ceiling1: api({ maxRegisteredNodes: 1 }),
    ceiling2: api({ maxRegisteredNodes: 2 }),
    ceiling3: api({ maxRegisteredNodes: 3 }),
    duplicatesCeiling60: api({ nameConflictPolicy: NameConflictPolicy.ALLOW_DUPLICATES, maxRegisteredNodes: 60 }),
    duplicatesCeiling61: api({ nameConflictPolicy: NameConflictPolicy.ALLOW_DUPLICATES, maxRegisteredNodes: 61 }),
    nameRules: api({ callerNameRules: [{ caller: `arn:aws:sts::${ACCOUNT}:assumed-role/DataCentre1/*`, names: 'dc1-*' }] }),
  },
  // Faults in milliseconds rather than seconds; logs only where a test reads them.
  tuning: { LOG_LEVEL: 'SILENT', SSM_MAX_ATTEMPTS: '3', SSM_REQUEST_TIMEOUT_MS: '400', ROLE_RETRY_BASE_MS: '10' },
});
/** What the construct put in the function's environment (a token resolved to a fake role name). */
const ROLE_NAME = e2e.constructEnv().INSTANCE_ROLE_NAME;
const MARKER_KEY = HybridActivationApi.MARKER_TAG_KEY;
const MARKER_VALUE = BASE_PROPS.markerTagValue!;
const LIFETIME_SECONDS = BASE_PROPS.activationLifetime!.toSeconds();
const { stub, startHandler } = e2e;

interface EventOptions {
  readonly method?: 'GET' | 'POST';
  /** `POST`: object (JSON-encoded) or raw string. */
  readonly body?: unknown;
  /** `GET /activate`: query parameters; an array makes a repeated parameter. */
  readonly query?: Record<string, string | string[]>;
  /** IAM caller (`requestContext.identity.userArn`); default: a provisioning role session. */
  readonly userArn?: string | null;
  readonly apiKeyId?: string | null;
}

/** An API Gateway REST API (v1) Lambda proxy event for `POST /activations` or `GET /activate`. */
function apiEvent(options: EventOptions = {}): APIGatewayProxyEvent {
  const method = options.method ?? 'POST';
  const body =
    options.body === undefined ? null : typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  const apiKeyId = options.apiKeyId ?? null;
  return restApiEvent({
    method,
    resource: method === 'POST' ? '/activations' : '/activate',
    body,
    query: options.query,
    headers: {
      'Host': 'abc123.execute-api.eu-west-1.amazonaws.com',
      'User-Agent': 'curl/7.88.1',
      'Authorization': SECRET_HEADER,
      'X-Amz-Security-Token': 'SESSIONTOKENSECRETMARKER',
      ...(body !== null ? { 'Content-Type': 'application/json' } : {}),
      ...(apiKeyId ? { 'x-api-key': 'APIKEYSECRETMARKER' } : {}),
    },
    userArn: options.userArn === undefined ? PROVISIONER_ARN : options.userArn,
    apiKeyId,
    accountId: ACCOUNT,
  });
}

interface Invocation extends ApiInvocation {
  readonly ms: number;
}

let handler: HandlerProcess;

async function invoke(options: EventOptions = {}, proc: HandlerProcess = handler): Promise<Invocation> {
  const ctx = lambdaContext(randomUUID(), { accountId: ACCOUNT });
  const started = Date.now();
  const res = await proc.invoke(apiEvent(options), ctx);
  const ms = Date.now() - started;
  return { res, body: parseBody(res), ctx, ms };
}

/** `json` padded with trailing spaces to `chars` characters. */
const padTo = (json: string, chars: number): string => json + ' '.repeat(chars - json.length);

const createRequests = () => stub.requestsFor('CreateActivation');

describe('success', () => {
  beforeEach(async () => {
    handler = await startHandler();
  });

  test('POST /activations: 201 with activation id, code, region, name and expiry', async () => {
    const before = Date.now();
    const inv = await invoke({ body: { name: 'web-01', tags: { PatchMode: 'report', Team: 'platform' } } });
    const after = Date.now();

    expect(inv.res.statusCode).toBe(201);
    expect(header(inv.res, 'content-type')).toMatch(/^application\/json/);
    expect(header(inv.res, 'cache-control')).toBe('no-store');
    expect(Object.keys(inv.body).sort()).toEqual(['activationCode', 'activationId', 'expiresAt', 'instanceName', 'region']);
    const stored = [...stub.state.activations.values()];
    expect(stored).toHaveLength(1);
    expect(inv.body).toEqual({
      activationId: stored[0].ActivationId,
      activationCode: stored[0].ActivationCode,
      region: 'eu-west-1',
      instanceName: 'web-01',
      expiresAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/),
    });
    const expiresAt = Date.parse(inv.body.expiresAt);
    expect(expiresAt).toBeGreaterThanOrEqual(before + LIFETIME_SECONDS * 1000 - 1000);
    expect(expiresAt).toBeLessThanOrEqual(after + LIFETIME_SECONDS * 1000 + 1000);
  });

  test('POST /activations: SSM receives role, limit 1, default name, description, expiry and tags in order', async () => {
    const before = Date.now() / 1000;
    const inv = await invoke({ body: { name: 'web-01', tags: { PatchMode: 'report', Team: 'platform' } } });
    const after = Date.now() / 1000;
    expect(inv.res.statusCode).toBe(201);

    const reqs = createRequests();
    expect(reqs).toHaveLength(1);
    expect(reqs[0].headers['content-type']).toBe('application/x-amz-json-1.1');
    const input = reqs[0].body;
    expect(input).toEqual({
      IamRole: ROLE_NAME,
      RegistrationLimit: 1,
      DefaultInstanceName: 'web-01',
      Description: `Activation for web-01 issued by ${MARKER_VALUE}`,
      ExpirationDate: expect.any(Number),
      Tags: [
        { Key: 'Name', Value: 'web-01' },
        { Key: MARKER_KEY, Value: MARKER_VALUE },
        { Key: OWNER_KEY, Value: PROVISIONER_ARN },
        { Key: 'Env', Value: 'test' },
        { Key: 'PatchMode', Value: 'report' },
        { Key: 'Team', Value: 'platform' },
      ],
    });
    // awsJson1_1 sends timestamps as epoch seconds.
    expect(input.ExpirationDate).toBeGreaterThanOrEqual(before + LIFETIME_SECONDS - 1);
    expect(input.ExpirationDate).toBeLessThanOrEqual(after + LIFETIME_SECONDS + 1);
    expect(Math.abs(Date.parse(inv.body.expiresAt) / 1000 - input.ExpirationDate)).toBeLessThan(1);
  });

  test('POST /activations: a request tag overrides a default tag of the same key', async () => {
    const inv = await invoke({ body: { name: 'web-02', tags: { Env: 'prod' } } });
    expect(inv.res.statusCode).toBe(201);
    const tags: Array<{ Key: string; Value: string }> = createRequests()[0].body.Tags;
    expect(tags.slice(0, 2)).toEqual([
      { Key: 'Name', Value: 'web-02' },
      { Key: MARKER_KEY, Value: MARKER_VALUE },
    ]);
    expect(tags.filter((t) => t.Key === 'Env')).toEqual([{ Key: 'Env', Value: 'prod' }]);
    expect(tags).toHaveLength(4);
  });

  test('POST /activations without tags: Name, marker and default tags only', async () => {
    const inv = await invoke({ body: { name: 'db-01' } });
    expect(inv.res.statusCode).toBe(201);
    expect(createRequests()[0].body.Tags).toEqual([
      { Key: 'Name', Value: 'db-01' },
      { Key: MARKER_KEY, Value: MARKER_VALUE },
      { Key: OWNER_KEY, Value: PROVISIONER_ARN },
      { Key: 'Env', Value: 'test' },
    ]);
  });

  test('POST /activations: names with letters, spaces, digits and _ . : / = + - @ are accepted; description is cut to 256', async () => {
    const prefix = 'Ünïcode host_1.a:b/c=d+e-f@g ';
    const name = prefix + 'x'.repeat(256 - prefix.length);
    expect(name.length).toBe(256);
    const inv = await invoke({ body: { name } });
    expect(inv.res.statusCode).toBe(201);
    expect(inv.body.instanceName).toBe(name);
    const input = createRequests()[0].body;
    expect(input.DefaultInstanceName).toBe(name);
    expect(input.Description).toBe(`Activation for ${name} issued by ${MARKER_VALUE}`.slice(0, 256));
  });

  test('POST /activations: exactly 50 tags (Name + marker + owner + 1 default + 46 requested) is accepted', async () => {
    const tags = Object.fromEntries(EXTRA_KEYS.slice(0, 46).map((k) => [k, 'v']));
    const inv = await invoke({ body: { name: 'many-tags', tags } });
    expect(inv.res.statusCode).toBe(201);
    expect(createRequests()[0].body.Tags).toHaveLength(50);
  });

  test('POST /activations: a body of exactly 8192 bytes is accepted', async () => {
    const inv = await invoke({ body: padTo(JSON.stringify({ name: 'web-03' }), 8192) });
    expect(inv.res.statusCode).toBe(201);
  });

  test('GET /activate?name=: 200 with the same body shape', async () => {
    const inv = await invoke({ method: 'GET', query: { name: 'kiosk-7' } });
    expect(inv.res.statusCode).toBe(200);
    expect(header(inv.res, 'cache-control')).toBe('no-store');
    expect(inv.body).toEqual({
      activationId: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
      activationCode: [...stub.state.activations.values()][0].ActivationCode,
      region: 'eu-west-1',
      instanceName: 'kiosk-7',
      expiresAt: expect.any(String),
    });
    expect(createRequests()[0].body).toMatchObject({ DefaultInstanceName: 'kiosk-7', RegistrationLimit: 1, IamRole: ROLE_NAME });
  });

  test('API_KEY authorization: 201 for a caller identified by its API key', async () => {
    const apiKeyHandler = await startHandler('apiKeyBound');
    const inv = await invoke({ body: { name: 'web-04' }, userArn: null, apiKeyId: 'k3y1d' }, apiKeyHandler);
    expect(inv.res.statusCode).toBe(201);
  });
});

describe('caller binding (IAM)', () => {
  let bound: HandlerProcess;
  beforeEach(async () => {
    bound = await startHandler('bound');
  });

  test('an instance role session asking for its own instance id: 201', async () => {
    const inv = await invoke({ body: { name: INSTANCE_ID }, userArn: INSTANCE_ARN }, bound);
    expect(inv.res.statusCode).toBe(201);
  });

  test('name omitted: defaults to the caller instance id', async () => {
    const inv = await invoke({ body: {}, userArn: INSTANCE_ARN }, bound);
    expect(inv.res.statusCode).toBe(201);
    expect(inv.body.instanceName).toBe(INSTANCE_ID);
    expect(createRequests()[0].body.DefaultInstanceName).toBe(INSTANCE_ID);
  });

  test('name omitted on GET /activate: defaults to the caller instance id', async () => {
    const inv = await invoke({ method: 'GET', userArn: `arn:aws-cn:sts::${ACCOUNT}:assumed-role/Node/i-0abc1234` }, bound);
    expect(inv.res.statusCode).toBe(200);
    expect(inv.body.instanceName).toBe('i-0abc1234');
  });

  test('an instance role session asking for a different name: 403, SSM not called', async () => {
    const inv = await invoke({ body: { name: 'someone-else' }, userArn: INSTANCE_ARN }, bound);
    expectError(inv, 403);
    expect(stub.requests).toHaveLength(0);
  });

  test('a non-instance caller may choose any name', async () => {
    const inv = await invoke({ body: { name: 'web-05' }, userArn: PROVISIONER_ARN }, bound);
    expect(inv.res.statusCode).toBe(201);
  });

  test('without binding, an instance session may ask for another name', async () => {
    const unbound = await startHandler('default');
    const inv = await invoke({ body: { name: 'someone-else' }, userArn: INSTANCE_ARN }, unbound);
    expect(inv.res.statusCode).toBe(201);
  });
});

describe('400: invalid requests never reach SSM', () => {
  // These never reach SSM: one handler process serves them all.
  let shared: HandlerProcess;
  beforeAll(async () => {
    shared = await startHandler('default', {}, true);
  });
  afterAll(async () => {
    await shared.close();
  });

  const tooManyTags = Object.fromEntries(EXTRA_KEYS.map((k) => [k, 'v'])); // 48 + Name + marker + default = 51
  const cases: Array<[string, EventOptions]> = [
    ['bad JSON', { body: '{"name": "web-01",' }],
    ['body is an array', { body: '[]' }],
    ['body is a string', { body: '"web-01"' }],
    ['body is null', { body: 'null' }],
    ['empty body', { body: '' }],
    ['unknown field', { body: { name: 'web-01', role: 'Admin' } }],
    ['missing name (non-instance caller)', { body: {} }],
    ['missing name, no body', {}],
    ['name is not a string', { body: { name: 42 } }],
    ['empty name', { body: { name: '' } }],
    ['name longer than 256', { body: { name: 'a'.repeat(257) } }],
    ['name with a disallowed character (#)', { body: { name: 'web#01' } }],
    ['name with a disallowed character (!)', { body: { name: 'web-01!' } }],
    ['name with a newline', { body: { name: 'web\n01' } }],
    ['tags is an array', { body: { name: 'web-01', tags: ['Team'] } }],
    ['tags is a string', { body: { name: 'web-01', tags: 'Team=x' } }],
    ['tag value is not a string', { body: { name: 'web-01', tags: { Team: 5 } } }],
    ['tag key not allowed', { body: { name: 'web-01', tags: { Owner: 'me' } } }],
    ['tag key Name not allowed', { body: { name: 'web-01', tags: { Name: 'other' } } }],
    ['marker tag key not allowed', { body: { name: 'web-01', tags: { [MARKER_KEY]: 'forged' } } }],
    ['tag value not allowed', { body: { name: 'web-01', tags: { PatchMode: 'yolo' } } }],
    ['tag value with a disallowed character', { body: { name: 'web-01', tags: { Team: 'a#b' } } }],
    ['tag value longer than 256', { body: { name: 'web-01', tags: { Team: 'x'.repeat(257) } } }],
    ['too many tags (51 in total)', { body: { name: 'web-01', tags: tooManyTags } }],
    ['body larger than 8192 bytes', { body: padTo(JSON.stringify({ name: 'web-01' }), 8193) }],
    // 8100 characters but 8300 bytes: the limit is in bytes.
    ['body larger than 8192 bytes in UTF-8 (fewer characters)', { body: padTo(JSON.stringify({ name: 'é'.repeat(200) }), 8100) }],
    ['GET without name', { method: 'GET' }],
    ['GET with an invalid name', { method: 'GET', query: { name: 'a<b' } }],
    ['GET with a repeated name parameter', { method: 'GET', query: { name: ['web-01', 'web-02'] } }],
  ];

  test.each(cases)('%s', async (_label, options) => {
    const inv = await invoke(options, shared);
    expectError(inv, 400);
    expect(inv.body.message.length).toBeGreaterThan(0);
    expect(stub.requests).toHaveLength(0);
  });
});

describe('SSM faults', () => {
  beforeEach(async () => {
    handler = await startHandler();
  });

  test('throttled twice, then success: 201 after 3 attempts', async () => {
    stub.failNext('CreateActivation', 2, Faults.throttling());
    const inv = await invoke({ body: { name: 'web-01' } });
    expect(inv.res.statusCode).toBe(201);
    expect(createRequests()).toHaveLength(3);
    expect(inv.body.activationCode).toBe([...stub.state.activations.values()][0].ActivationCode);
  });

  test('throttled on every attempt: 503 with Retry-After: 5 after SSM_MAX_ATTEMPTS attempts', async () => {
    stub.failAlways('CreateActivation', Faults.throttling());
    const inv = await invoke({ body: { name: 'web-01' } });
    expect503(inv);
    expect(createRequests()).toHaveLength(3);
  });

  test('SSM 500 InternalServerError on every attempt: 503 with Retry-After', async () => {
    stub.failAlways('CreateActivation', Faults.internal());
    const inv = await invoke({ body: { name: 'web-01' } });
    expect503(inv);
    expect(inv.body.message).not.toMatch(/internal error occurred/i);
    expect(createRequests()).toHaveLength(3);
  });

  test('SSM 500 once, then success: 201', async () => {
    stub.failNext('CreateActivation', 1, Faults.internal());
    const inv = await invoke({ body: { name: 'web-01' } });
    expect(inv.res.statusCode).toBe(201);
    expect(createRequests()).toHaveLength(2);
  });

  test('connection reset once, then success: 201', async () => {
    stub.destroyNext('CreateActivation', 1);
    const inv = await invoke({ body: { name: 'web-01' } });
    expect(inv.res.statusCode).toBe(201);
    expect(createRequests()).toHaveLength(2);
  });

  test('connection reset on every attempt: 503 with Retry-After', async () => {
    stub.failAlways('CreateActivation', Faults.destroy());
    const inv = await invoke({ body: { name: 'web-01' } });
    expect503(inv);
    expect(createRequests()).toHaveLength(3);
  });

  test('role not visible to SSM yet (twice), then success: 201 after role retries', async () => {
    stub.failNext('CreateActivation', 2, Faults.roleNotVisible(`arn:aws:iam::${ACCOUNT}:role/${ROLE_NAME}`));
    const inv = await invoke({ body: { name: 'web-01' } });
    expect(inv.res.statusCode).toBe(201);
    expect(createRequests()).toHaveLength(3);
  });

  test('role never visible: 503 with Retry-After after 3 role retries (4 calls), base/2x/4x backoff', async () => {
    stub.failAlways('CreateActivation', Faults.roleNotVisible(`arn:aws:iam::${ACCOUNT}:role/${ROLE_NAME}`));
    const inv = await invoke({ body: { name: 'web-01' } });
    expect503(inv);
    expect(inv.body.message).not.toContain('Not existing role');
    const reqs = createRequests();
    expect(reqs).toHaveLength(4);
    // ROLE_RETRY_BASE_MS=10 → waits of about 10, 20 and 40 ms between the calls.
    expect(reqs[3].receivedAt - reqs[0].receivedAt).toBeGreaterThanOrEqual(60);
  });

  test('slow SSM answer below the per-attempt timeout: 201 on the first attempt', async () => {
    stub.delayNext('CreateActivation', 1, 150);
    const inv = await invoke({ body: { name: 'web-01' } });
    expect(inv.res.statusCode).toBe(201);
    expect(createRequests()).toHaveLength(1);
    expect(inv.ms).toBeGreaterThanOrEqual(140);
  });

  test('slow SSM answer once beyond the per-attempt timeout, then fast: 201 on the second attempt', async () => {
    stub.delayNext('CreateActivation', 1, 1500);
    const inv = await invoke({ body: { name: 'web-01' } });
    expect(inv.res.statusCode).toBe(201);
    expect(createRequests()).toHaveLength(2);
    expect(inv.ms).toBeLessThan(1500);
  });

  test('SSM slower than the per-attempt timeout on every attempt: 503 with Retry-After', async () => {
    stub.failAlways('CreateActivation', Faults.delay(1500));
    const inv = await invoke({ body: { name: 'web-01' } });
    expect503(inv);
    expect(createRequests()).toHaveLength(3);
    // 3 attempts cut at 400 ms each (+ backoff), well before 3 × 1500 ms.
    expect(inv.ms).toBeLessThan(4000);
  });

  test('unknown SSM error: 500 "internal error", no SDK message echoed', async () => {
    const fault = Faults.accessDenied(
      `User: arn:aws:sts::${ACCOUNT}:assumed-role/Fn/x is not authorized to perform: ssm:CreateActivation SDKSECRET`,
    );
    stub.failNext('CreateActivation', 1, fault);
    const inv = await invoke({ body: { name: 'web-01' } });
    expect(inv.res.statusCode).toBe(500);
    expect(inv.body).toEqual({ message: 'internal error', requestId: inv.ctx.awsRequestId });
    expect(inv.res.body).not.toMatch(/SDKSECRET|not authorized|AccessDenied|stack|at /);
    expect(createRequests()).toHaveLength(1);
  });

  test('SSM InvalidParameters (a modeled 400): 500 "internal error"', async () => {
    stub.failNext('CreateActivation', 1, { status: 400, type: 'InvalidParameters', message: 'bad ExpirationDate SDKSECRET' });
    const inv = await invoke({ body: { name: 'web-01' } });
    expect(inv.res.statusCode).toBe(500);
    expect(inv.body).toEqual({ message: 'internal error', requestId: inv.ctx.awsRequestId });
  });
});

describe('name conflicts and node ceiling (lifecycle)', () => {
  const describeRequests = () => stub.requestsFor('DescribeInstanceInformation');
  const deregisterRequests = () => stub.requestsFor('DeregisterManagedInstance');
  const deregisteredIds = () => deregisterRequests().map((r) => r.body.InstanceId);
  const MARKER_FILTER = { Key: `tag:${MARKER_KEY}`, Values: [MARKER_VALUE] };
  const NAME_FILTERS = [MARKER_FILTER, { Key: 'tag:Name', Values: ['web-01'] }];

  /** A node registered through this API (or, with `marker`, another one) named `name`. */
  const seed = (name: string, pingStatus: 'Online' | 'ConnectionLost' | 'Inactive', marker = MARKER_VALUE, instanceId?: string) =>
    stub.addNode({
      name, pingStatus, instanceId, resourceType: instanceId?.startsWith('i-') ? 'EC2Instance' : undefined,
      tags: { [MARKER_KEY]: marker, [OWNER_KEY]: PROVISIONER_ARN },
    });
  const alive = (id: string) => stub.state.nodes.has(id);

  /** Nodes that share the name but must never be touched: another API's (online and offline) and an EC2 instance. */
  function seedNeighbours(): string[] {
    return [
      seed('web-01', 'Online', 'OtherStack/OtherApi').InstanceId,
      seed('web-01', 'ConnectionLost', 'OtherStack/OtherApi').InstanceId,
      seed('web-01', 'ConnectionLost', MARKER_VALUE, 'i-0fedcba9876543210').InstanceId,
    ];
  }

  describe('REJECT_IF_ONLINE', () => {
    beforeEach(async () => {
      handler = await startHandler('REJECT_IF_ONLINE');
    });

    test('an online node of the name: 409 naming no node; nothing deregistered or created', async () => {
      const online = seed('web-01', 'Online');
      const offline = seed('web-01', 'ConnectionLost');
      const inv = await invoke({ body: { name: 'web-01' } });
      expect(inv.res.statusCode).toBe(409);
      expect(inv.body).toEqual({
        message: "a node named 'web-01' registered through this API is online",
        requestId: inv.ctx.awsRequestId,
      });
      expect(inv.res.body).not.toContain(online.InstanceId);
      expect(deregisterRequests()).toHaveLength(0);
      expect(createRequests()).toHaveLength(0);
      expect(alive(offline.InstanceId)).toBe(true);
    });

    test('only offline nodes of the name: 201 and they are left alone', async () => {
      const offline = seed('web-01', 'ConnectionLost');
      const inactive = seed('web-01', 'Inactive');
      const inv = await invoke({ body: { name: 'web-01' } });
      expect(inv.res.statusCode).toBe(201);
      expect(deregisterRequests()).toHaveLength(0);
      expect(alive(offline.InstanceId) && alive(inactive.InstanceId)).toBe(true);
    });
  });

  describe('REPLACE_OFFLINE (the construct default)', () => {
    beforeEach(async () => {
      handler = await startHandler('REPLACE_OFFLINE');
    });

    test('offline nodes of the name are deregistered, then the activation is created', async () => {
      const lost = seed('web-01', 'ConnectionLost');
      const inactive = seed('web-01', 'Inactive');
      const otherName = seed('web-02', 'ConnectionLost');
      const inv = await invoke({ body: { name: 'web-01' } });
      expect(inv.res.statusCode).toBe(201);
      expect(describeRequests().map((r) => r.body)).toEqual([
        { Filters: NAME_FILTERS, MaxResults: 50 },
        { Filters: [...NAME_FILTERS, { Key: `tag:${OWNER_KEY}`, Values: [PROVISIONER_ARN] }], MaxResults: 50 },
      ]);
      expect(deregisteredIds().sort()).toEqual([lost.InstanceId, inactive.InstanceId].sort());
      expect(alive(lost.InstanceId) || alive(inactive.InstanceId)).toBe(false);
      expect(alive(otherName.InstanceId)).toBe(true);
      const order = stub.requests.map((r) => r.operation);
      expect(order.indexOf('CreateActivation')).toBeGreaterThan(order.lastIndexOf('DeregisterManagedInstance'));
    });

    test('an online node of the name: 409; the offline ones are not deregistered either', async () => {
      const lost = seed('web-01', 'ConnectionLost');
      seed('web-01', 'Online');
      const inv = await invoke({ body: { name: 'web-01' } });
      expect(inv.res.statusCode).toBe(409);
      expect(inv.body).not.toHaveProperty('instanceId');
      expect(deregisterRequests()).toHaveLength(0);
      expect(alive(lost.InstanceId)).toBe(true);
    });

    test('pages over more than 50 nodes of the name: all 60 offline ones are replaced', async () => {
      const ids = Array.from({ length: 60 }, () => seed('web-01', 'ConnectionLost').InstanceId);
      const inv = await invoke({ body: { name: 'web-01' } });
      expect(inv.res.statusCode).toBe(201);
      const pages = describeRequests().map((r) => r.body);
      const owned = [...NAME_FILTERS, { Key: `tag:${OWNER_KEY}`, Values: [PROVISIONER_ARN] }];
      expect(pages).toEqual([
        { Filters: NAME_FILTERS, MaxResults: 50 },
        { Filters: NAME_FILTERS, MaxResults: 50, NextToken: expect.any(String) },
        { Filters: owned, MaxResults: 50 },
        { Filters: owned, MaxResults: 50, NextToken: expect.any(String) },
      ]);
      expect(deregisteredIds().sort()).toEqual([...ids].sort());
      expect(stub.state.nodes.size).toBe(0);
    });

    test('an online node on the second page is still found: 409, nothing deregistered', async () => {
      for (let i = 0; i < 55; i++) seed('web-01', 'Inactive');
      seed('web-01', 'Online');
      const inv = await invoke({ body: { name: 'web-01' } });
      expect(inv.res.statusCode).toBe(409);
      expect(inv.body).not.toHaveProperty('instanceId');
      expect(describeRequests()).toHaveLength(2);
      expect(deregisterRequests()).toHaveLength(0);
    });

    test('a node already gone when deregistered (InvalidInstanceId) is fine: 201', async () => {
      const lost = seed('web-01', 'ConnectionLost');
      stub.failNext('DeregisterManagedInstance', 1, { status: 400, type: 'InvalidInstanceId', message: 'The following supplied instance ids are not valid' });
      const inv = await invoke({ body: { name: 'web-01' } });
      expect(inv.res.statusCode).toBe(201);
      expect(deregisteredIds()).toEqual([lost.InstanceId]);
      expect(createRequests()).toHaveLength(1);
    });

    test('DescribeInstanceInformation throttled twice, then success: 201', async () => {
      const lost = seed('web-01', 'ConnectionLost');
      stub.failNext('DescribeInstanceInformation', 2, Faults.throttling());
      const inv = await invoke({ body: { name: 'web-01' } });
      expect(inv.res.statusCode).toBe(201);
      expect(describeRequests()).toHaveLength(4); // 2 throttled + the name lookup + the owner lookup
      expect(alive(lost.InstanceId)).toBe(false);
    });

    test('DescribeInstanceInformation throttled on every attempt: 503 with Retry-After, nothing created', async () => {
      stub.failAlways('DescribeInstanceInformation', Faults.throttling());
      const inv = await invoke({ body: { name: 'web-01' } });
      expect503(inv);
      expect(describeRequests()).toHaveLength(3);
      expect(createRequests()).toHaveLength(0);
    });

    test('DeregisterManagedInstance failing with 5xx after retries: 503, nothing created', async () => {
      seed('web-01', 'ConnectionLost');
      stub.failAlways('DeregisterManagedInstance', Faults.internal());
      const inv = await invoke({ body: { name: 'web-01' } });
      expect503(inv);
      expect(createRequests()).toHaveLength(0);
    });
  });

  describe('ALWAYS_REPLACE', () => {
    test('online and offline nodes of the name are deregistered; the neighbours are never touched', async () => {
      handler = await startHandler('ALWAYS_REPLACE');
      const online = seed('web-01', 'Online');
      const lost = seed('web-01', 'ConnectionLost');
      const neighbours = seedNeighbours();
      const inv = await invoke({ body: { name: 'web-01' } });
      expect(inv.res.statusCode).toBe(201);
      expect(deregisteredIds().sort()).toEqual([online.InstanceId, lost.InstanceId].sort());
      for (const id of neighbours) expect(alive(id)).toBe(true);
    });
  });

  describe('ALLOW_DUPLICATES', () => {
    test('an online node of the name: 201 without looking nodes up', async () => {
      handler = await startHandler('ALLOW_DUPLICATES');
      const online = seed('web-01', 'Online');
      const inv = await invoke({ body: { name: 'web-01' } });
      expect(inv.res.statusCode).toBe(201);
      expect(describeRequests()).toHaveLength(0);
      expect(alive(online.InstanceId)).toBe(true);
    });
  });

  test.each(['REJECT_IF_ONLINE', 'REPLACE_OFFLINE', 'ALWAYS_REPLACE'] as const)(
    '%s: nodes of the same name of another API, or not mi-, are never touched',
    async (policy) => {
      handler = await startHandler(policy);
      const neighbours = seedNeighbours();
      const inv = await invoke({ body: { name: 'web-01' } });
      expect(inv.res.statusCode).toBe(201);
      expect(deregisterRequests()).toHaveLength(0);
      for (const id of neighbours) expect(alive(id)).toBe(true);
    },
  );

  describe('MAX_REGISTERED_NODES', () => {
    test('at the ceiling: 429 naming the count and the ceiling; nothing deregistered or created', async () => {
      handler = await startHandler('ceiling3');
      seed('a', 'Online');
      seed('b', 'Online');
      seed('c', 'Online');
      seed('x', 'Online', 'OtherStack/OtherApi'); // another API's node does not count
      const inv = await invoke({ body: { name: 'web-01' } });
      expect(inv.res.statusCode).toBe(429);
      expect(header(inv.res, 'retry-after')).toBeUndefined();
      expect(inv.body).toEqual({
        message: expect.stringMatching(/^this API has reached its ceiling of registered nodes and unused activations; /),
        requestId: inv.ctx.awsRequestId,
      });
      expect(inv.body.message).not.toMatch(/\d/);
      expect(describeRequests().map((r) => r.body)).toEqual([
        { Filters: NAME_FILTERS, MaxResults: 50 },
        { Filters: [MARKER_FILTER], MaxResults: 50 },
      ]);
      expect(createRequests()).toHaveLength(0);
    });

    test('below the ceiling: 201', async () => {
      handler = await startHandler('ceiling3');
      seed('a', 'Online');
      seed('b', 'Online');
      const inv = await invoke({ body: { name: 'web-01' } });
      expect(inv.res.statusCode).toBe(201);
    });

    test('a node being replaced does not count: at the ceiling, REPLACE_OFFLINE replaces and creates', async () => {
      handler = await startHandler('ceiling3');
      seed('a', 'Online');
      seed('b', 'Online');
      const lost = seed('web-01', 'ConnectionLost');
      const inv = await invoke({ body: { name: 'web-01' } });
      expect(inv.res.statusCode).toBe(201);
      expect(deregisteredIds()).toEqual([lost.InstanceId]);
    });

    test('above the ceiling even after replacement: 429 and the offline node is NOT deregistered', async () => {
      handler = await startHandler('ceiling2');
      seed('a', 'Online');
      seed('b', 'Online');
      const lost = seed('web-01', 'ConnectionLost');
      const inv = await invoke({ body: { name: 'web-01' } });
      expect(inv.res.statusCode).toBe(429);
      expect(deregisterRequests()).toHaveLength(0);
      expect(alive(lost.InstanceId)).toBe(true);
    });

    test('counts over more than 50 nodes (paginated): 60 nodes and a ceiling of 60 → 429; 61 → 201', async () => {
      handler = await startHandler('duplicatesCeiling60');
      for (let i = 0; i < 60; i++) seed(`node-${i}`, i % 2 ? 'Online' : 'ConnectionLost');
      const capped = await invoke({ body: { name: 'web-01' } });
      expect(capped.res.statusCode).toBe(429);
      expect(capped.body.message).toMatch(/reached its ceiling/);
      expect(describeRequests()).toHaveLength(2);

      const raised = await startHandler('duplicatesCeiling61');
      expect((await invoke({ body: { name: 'web-01' } }, raised)).res.statusCode).toBe(201);
    });
  });

  test('the request log line lists the deregistered nodes, and the conflicting node of a 409', async () => {
    const logged = await startHandler('default', { LOG_LEVEL: 'INFO' });
    const lost = seed('web-01', 'ConnectionLost');
    const online = seed('web-02', 'Online');
    await invoke({ body: { name: 'web-01' } }, logged);
    await invoke({ body: { name: 'web-02' } }, logged);
    const capped = await startHandler('ceiling1', { LOG_LEVEL: 'INFO' });
    await invoke({ body: { name: 'web-03' } }, capped);
    await logged.close();
    await capped.close();
    const lines = jsonLines(logged.output() + capped.output()).filter((l) => l.message === 'activation request');
    expect(lines).toEqual([
      expect.objectContaining({ outcome: 'created', status: 201, name: 'web-01', deregistered: [lost.InstanceId] }),
      expect.objectContaining({
        outcome: 'conflict',
        status: 409,
        name: 'web-02',
        deregistered: [],
        conflictingInstanceId: online.InstanceId,
        reason: "a node named 'web-02' registered through this API is online",
      }),
      expect.objectContaining({ outcome: 'ceiling', status: 429, name: 'web-03', deregistered: [], ceilingCount: 2 }),
    ]);
    expect(lines[0]).not.toHaveProperty('conflictingInstanceId');
  });
});

describe('callers bound to what they own; one unused activation per name; deadline', () => {
  const OTHER_ARN = `arn:aws:sts::${ACCOUNT}:assumed-role/DataCentre1/cert-0002`;
  const seedLost = (owner: string) =>
    stub.addNode({ name: 'web-01', pingStatus: 'ConnectionLost', tags: { [MARKER_KEY]: MARKER_VALUE, [OWNER_KEY]: owner } });

  test.each(['REPLACE_OFFLINE', 'ALWAYS_REPLACE'] as const)('%s: another IAM principal cannot take over the node (409, no id)', async (policy) => {
    handler = await startHandler(policy);
    const victim = seedLost(PROVISIONER_ARN);
    const inv = await invoke({ body: { name: 'web-01' }, userArn: OTHER_ARN });
    expect(inv.res.statusCode).toBe(409);
    expect(inv.res.body).not.toContain('mi-');
    expect(stub.requestsFor('DeregisterManagedInstance')).toHaveLength(0);
    expect(createRequests()).toHaveLength(0);
    expect(stub.state.nodes.has(victim.InstanceId)).toBe(true);
  });

  test('API-key callers own by key id: another key gets 409, the same key replaces', async () => {
    handler = await startHandler('apiKey');
    const victim = seedLost('apiKey:key-a');
    const other = await invoke({ body: { name: 'web-01' }, userArn: null, apiKeyId: 'key-b' });
    expect(other.res.statusCode).toBe(409);
    expect(stub.state.nodes.has(victim.InstanceId)).toBe(true);
    const own = await invoke({ body: { name: 'web-01' }, userArn: null, apiKeyId: 'key-a' });
    expect(own.res.statusCode).toBe(201);
    expect(stub.state.nodes.has(victim.InstanceId)).toBe(false);
    const created = [...stub.state.activations.values()].at(-1);
    expect(created?.request.Tags).toContainEqual({ Key: OWNER_KEY, Value: 'apiKey:key-a' });
  });

  test('name rules: 403 outside the caller\'s pattern, 201 inside', async () => {
    handler = await startHandler('nameRules');
    expect((await invoke({ body: { name: 'web-01' }, userArn: OTHER_ARN })).res.statusCode).toBe(403);
    expect((await invoke({ body: { name: 'dc1-web-01' }, userArn: OTHER_ARN })).res.statusCode).toBe(201);
  });

  test('a second request for a name replaces the first unused activation; another caller cannot', async () => {
    handler = await startHandler();
    const first = await invoke({ body: { name: 'web-01' } });
    const second = await invoke({ body: { name: 'web-01' } });
    expect([first.res.statusCode, second.res.statusCode]).toEqual([201, 201]);
    expect(stub.requestsFor('DeleteActivation').map((r) => r.body.ActivationId)).toEqual([first.body.activationId]);
    expect([...stub.state.activations.keys()]).toEqual([second.body.activationId]);
    const other = await invoke({ body: { name: 'web-01' }, userArn: OTHER_ARN });
    expect(other.res.statusCode).toBe(409);
    expect([...stub.state.activations.keys()]).toEqual([second.body.activationId]);
  });

  test('unused activations count toward the ceiling', async () => {
    handler = await startHandler('ceiling2', { CEILING_CACHE_SECONDS: '0' });
    expect((await invoke({ body: { name: 'a' } })).res.statusCode).toBe(201);
    expect((await invoke({ body: { name: 'b' } })).res.statusCode).toBe(201);
    const third = await invoke({ body: { name: 'c' } });
    expect(third.res.statusCode).toBe(429);
    expect(stub.state.nodes.size).toBe(0);
  });

  test('a small remaining time under a slow SSM: 503 + Retry-After before the function timeout, the call aborted', async () => {
    const proc = await e2e.startProcess(e2e.env('default', { SSM_REQUEST_TIMEOUT_MS: '10000' }), { timeoutMs: 3000 });
    e2e.closeAfterTest.add(proc);
    stub.failAlways('DescribeInstanceInformation', Faults.delay(5000));
    const inv = await invoke({ body: { name: 'web-01' } }, proc);
    expect503(inv);
    expect(inv.body.message).toBe('the request ran out of time, retry later');
    expect(inv.ms).toBeLessThan(2500);
    expect(createRequests()).toHaveLength(0);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(stub.requestsFor('DescribeInstanceInformation')[0]?.outcome).not.toBe('ok');
  });

  test('sustained throttling: 503 within the budget, retries stop', async () => {
    const proc = await e2e.startProcess(e2e.env('default', { SSM_MAX_ATTEMPTS: '10', SSM_REQUEST_TIMEOUT_MS: '3000' }), { timeoutMs: 4000 });
    e2e.closeAfterTest.add(proc);
    stub.failAlways('CreateActivation', { ...Faults.throttling(), delayMs: 400 });
    const inv = await invoke({ body: { name: 'web-01' } }, proc);
    expect503(inv);
    expect(inv.ms).toBeLessThan(3500);
  });
});

describe('environment checked at cold start', () => {
  test.each([
    ['INSTANCE_ROLE_NAME', undefined],
    ['ACTIVATION_LIFETIME_SECONDS', '59'],
    ['ACTIVATION_LIFETIME_SECONDS', '2592001'],
    ['MARKER_TAG_KEY', undefined],
    ['MARKER_TAG_VALUE', undefined],
    ['DEFAULT_TAGS', 'not json'],
    ['ALLOWED_TAGS', '{"key":"Team"}'],
    ['AUTHORIZATION', 'COGNITO'],
    ['CALLER_BINDING', 'yes'],
    ['NAME_CONFLICT_POLICY', undefined],
    ['NAME_CONFLICT_POLICY', 'REPLACE'],
    ['MAX_REGISTERED_NODES', undefined],
    ['MAX_REGISTERED_NODES', '-1'],
  ])('%s=%s: loading the bundle throws naming the variable', async (name, value) => {
    await expect(e2e.startProcess(e2e.brokenEnv({ [name]: value }))).rejects.toThrow(new RegExp(name));
  });
});

describe('logging', () => {
  test('LOG_LEVEL=INFO: one JSON line per request with the contract fields, never the activation code or headers', async () => {
    const logged = await startHandler('default', { LOG_LEVEL: 'INFO' });
    const inv = await invoke({ body: { name: 'web-01', tags: { Team: 'platform' } } }, logged);
    await logged.close();
    const output = logged.output();
    expect(inv.res.statusCode).toBe(201);
    const code: string = inv.body.activationCode;
    expect(code.length).toBeGreaterThanOrEqual(20);
    expect(output).not.toContain(code);
    expect(output).not.toContain('SECRETMARKER');

    const lines = jsonLines(output).filter((l) => l.message === 'activation request');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      requestId: inv.ctx.awsRequestId,
      method: 'POST',
      path: '/activations',
      caller: PROVISIONER_ARN,
      callerAccount: ACCOUNT,
      sourceIp: '198.51.100.7',
      name: 'web-01',
      activationId: inv.body.activationId,
      outcome: 'created',
      status: 201,
      durationMs: expect.any(Number),
    });
  });

  test('LOG_LEVEL=DEBUG: the activation code is still never logged', async () => {
    const logged = await startHandler('default', { LOG_LEVEL: 'DEBUG' });
    stub.failNext('CreateActivation', 1, Faults.throttling());
    const inv = await invoke({ body: { name: 'web-01' } }, logged);
    await logged.close();
    const output = logged.output();
    expect(inv.res.statusCode).toBe(201);
    expect(output).not.toContain(inv.body.activationCode);
    expect(output).not.toContain('SECRETMARKER');
  });

  test('rejections, forbidden, throttled and errors are logged with outcome, status and reason/errorName', async () => {
    const logged = await startHandler('bound', { LOG_LEVEL: 'INFO' });
    await invoke({ body: { name: 'web#01' } }, logged);
    await invoke({ body: { name: 'other' }, userArn: INSTANCE_ARN }, logged);
    stub.failAlways('CreateActivation', Faults.internal());
    await invoke({ body: { name: 'web-01' } }, logged);
    stub.clearFaults().failNext('CreateActivation', 1, Faults.accessDenied('SDKSECRET'));
    await invoke({ body: { name: 'web-01' } }, logged);
    // Last, on a fresh process: throttling slows the adaptive rate limiter down for later requests.
    const throttledProc = await startHandler('default', { LOG_LEVEL: 'INFO' });
    stub.failAlways('CreateActivation', Faults.throttling());
    await invoke({ body: { name: 'web-01' } }, throttledProc);
    await logged.close();
    await throttledProc.close();
    const output = logged.output() + throttledProc.output();
    const lines = jsonLines(output).filter((l) => l.message === 'activation request');
    expect(lines.map((l) => [l.outcome, l.status])).toEqual([
      ['rejected', 400],
      ['forbidden', 403],
      ['unavailable', 503],
      ['error', 500],
      ['throttled', 503],
    ]);
    expect(lines[0].reason).toEqual(expect.any(String));
    expect(lines[1].reason).toEqual(expect.any(String));
    expect(lines[2].errorName).toBe('InternalServerError');
    expect(lines[3].errorName).toBe('AccessDeniedException');
    expect(lines[4].errorName).toBe('ThrottlingException');
    expect(output).not.toContain('SDKSECRET');
  });

  test('API key callers are logged as apiKey:<apiKeyId>', async () => {
    const logged = await startHandler('apiKey', { LOG_LEVEL: 'INFO' });
    await invoke({ body: { name: 'web-01' }, userArn: null, apiKeyId: 'k3y1d' }, logged);
    await logged.close();
    const output = logged.output();
    const lines = jsonLines(output).filter((l) => l.message === 'activation request');
    expect(lines).toHaveLength(1);
    expect(lines[0].caller).toBe('apiKey:k3y1d');
    expect(output).not.toContain('APIKEYSECRETMARKER');
  });

  test('LOG_LEVEL=SILENT writes nothing', async () => {
    const silent = await startHandler('default', { LOG_LEVEL: 'SILENT' });
    await invoke({ body: { name: 'web-01' } }, silent);
    await silent.close();
    const output = silent.output();
    expect(output).toBe('');
  });
});
