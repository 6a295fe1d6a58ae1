import {
  activationBody,
  buildCreateActivationInput,
  checkConfig,
  classifyError,
  ec2InstanceIdOf,
  handleActivationRequest,
  identifyCaller,
  MAX_BODY_BYTES,
  parseAllowedTags,
  parseDefaultTags,
  routeOf,
  withRoleRetry,
  type ActivationConfig,
  type ActivationPort,
  type ActivationRequest,
  type ActivationResult,
  type CreateActivationInput,
  type IdentityLike,
  type ProxyEventLike,
} from '../../lambda/create-activation/create-activation';

// ---------------------------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------------------------

const NOW = new Date('2030-01-02T03:04:05.000Z');
const INSTANCE_ID = 'i-0123456789abcdef0';
const EC2_ARN = `arn:aws:sts::123456789012:assumed-role/NodeRole/${INSTANCE_ID}`;
const PERSON_ARN = 'arn:aws:sts::123456789012:assumed-role/Admin/alice@example.com';

const CONFIG: ActivationConfig = {
  lifetimeSeconds: 3600,
  markerTag: { key: 'hybrid-fleet:issuer', value: 'Stack/Api' },
  defaultTags: { Env: 'prod', Team: 'platform' },
  allowedTags: [{ key: 'PatchMode', values: ['report', 'enforce'] }, { key: 'Team' }],
  authorization: 'IAM',
  callerBinding: true,
  roleName: 'HybridNodeRole',
  roleRetryBaseMs: 100,
};

type Behaviour = (input: CreateActivationInput) => Promise<{ activationId: string; activationCode: string }>;

/** Records every CreateActivation input; answers with the queued behaviours, then with success. */
class FakePort implements ActivationPort {
  readonly inputs: CreateActivationInput[] = [];
  constructor(private readonly behaviours: readonly Behaviour[] = []) {}

  async create(input: CreateActivationInput): Promise<{ activationId: string; activationCode: string }> {
    this.inputs.push(input);
    const behaviour = this.behaviours[this.inputs.length - 1];
    if (behaviour !== undefined) return behaviour(input);
    const n = this.inputs.length;
    return { activationId: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`, activationCode: `code-${n}-secret` };
  }
}

/** A sleep that records the delays it was asked for and returns at once. */
function fakeSleep(): { sleep: (ms: number) => Promise<void>; delays: number[] } {
  const delays: number[] = [];
  return { delays, sleep: async (ms) => { delays.push(ms); } };
}

const sdkError = (name: string, message = 'boom', extra: Record<string, unknown> = {}): Error =>
  Object.assign(new Error(message), { name, ...extra });
const fail = (err: unknown): Behaviour => async () => { throw err; };

const identity = (userArn: string | null = PERSON_ARN, extra: IdentityLike = {}): IdentityLike =>
  ({ userArn, accountId: '123456789012', sourceIp: '198.51.100.7', apiKeyId: null, ...extra });

function post(body: unknown, id: IdentityLike = identity(), raw?: { body: string | null; isBase64Encoded?: boolean }): ActivationRequest {
  const event: ProxyEventLike = {
    body: raw ? raw.body : JSON.stringify(body),
    isBase64Encoded: raw?.isBase64Encoded ?? false,
    requestContext: { identity: id },
  };
  return { route: 'create', event };
}

function get(
  query: Record<string, string> | null,
  id: IdentityLike = identity(),
  multi?: Record<string, string[]>,
): ActivationRequest {
  const multiValue = multi ?? (query ? Object.fromEntries(Object.entries(query).map(([k, v]) => [k, [v]])) : null);
  return { route: 'activate', event: { queryStringParameters: query, multiValueQueryStringParameters: multiValue, requestContext: { identity: id } } };
}

async function run(request: ActivationRequest, config: ActivationConfig = CONFIG, port = new FakePort(), now = NOW) {
  const { sleep, delays } = fakeSleep();
  const result = await handleActivationRequest(port, config, request, now, sleep);
  return { result, port, delays };
}

function reasonOf(result: ActivationResult): string {
  if (result.outcome !== 'rejected' && result.outcome !== 'forbidden') {
    throw new Error(`expected a 4xx outcome, got ${result.outcome}`);
  }
  return result.reason;
}

function createdOf(result: ActivationResult) {
  if (result.outcome !== 'created') throw new Error(`expected created, got ${result.outcome}: ${JSON.stringify(result)}`);
  return result.activation;
}

// ---------------------------------------------------------------------------------------------------------------
// 400 rules
// ---------------------------------------------------------------------------------------------------------------

describe('POST /activations: 400 rules', () => {
  test.each<[string, string | null, RegExp]>([
    ['invalid JSON', '{"name": ', /valid JSON/],
    ['a JSON array', '["web-01"]', /JSON object/],
    ['a JSON string', '"web-01"', /JSON object/],
    ['JSON null', 'null', /JSON object/],
    ['an empty body', '', /valid JSON/],
    ['no body at all', null, /valid JSON/],
  ])('rejects %s', async (_label, body, reason) => {
    const { result, port } = await run(post(undefined, identity(), { body }));
    expect(result.outcome).toBe('rejected');
    expect(reasonOf(result)).toMatch(reason);
    expect(port.inputs).toHaveLength(0);
  });

  test.each<[string, Record<string, unknown>, RegExp]>([
    ['an unknown field', { name: 'web-01', registrationLimit: 5 }, /unknown field "registrationLimit"/],
    ['a __proto__ field', JSON.parse('{"name":"web-01","__proto__":{"x":1}}') as Record<string, unknown>, /unknown field "__proto__"/],
    ['a missing name (no binding)', { tags: { Team: 'a' } }, /name is required/],
    ['a numeric name', { name: 42 }, /name must be a string/],
    ['a null name', { name: null }, /name must be a string/],
    ['an array name', { name: ['web-01'] }, /name must be a string/],
    ['an empty name', { name: '' }, /1 to 256 characters/],
    ['a 257-character name', { name: 'a'.repeat(257) }, /1 to 256 characters/],
    ['a name with #', { name: 'web#01' }, /name may contain only/],
    ['a name with *', { name: 'web*' }, /name may contain only/],
    ['a name with a newline', { name: 'web\n01' }, /name may contain only/],
    ['a name with a tab', { name: 'web\t01' }, /name may contain only/],
    ['a name with an emoji', { name: 'web🚀' }, /name may contain only/],
    ['tags as an array', { name: 'web-01', tags: [['Team', 'a']] }, /tags must be an object/],
    ['tags as a string', { name: 'web-01', tags: 'Team=a' }, /tags must be an object/],
    ['tags as null', { name: 'web-01', tags: null }, /tags must be an object/],
    ['a numeric tag value', { name: 'web-01', tags: { Team: 1 } }, /tags must be an object of string values/],
    ['a tag key not in the allow-list', { name: 'web-01', tags: { Owner: 'bob' } }, /tag key "Owner" is not allowed/],
    ['the Name tag key', { name: 'web-01', tags: { Name: 'other' } }, /tag key "Name" is not allowed/],
    ['the marker tag key', { name: 'web-01', tags: { 'hybrid-fleet:issuer': 'me' } }, /tag key "hybrid-fleet:issuer" is not allowed/],
    ['a tag key with #', { name: 'web-01', tags: { 'Team#': 'a' } }, /tag keys must be 1 to 128/],
    ['a 129-character tag key', { name: 'web-01', tags: { ['k'.repeat(129)]: 'a' } }, /tag keys must be 1 to 128/],
    ['an empty tag key', { name: 'web-01', tags: { '': 'a' } }, /tag keys must be 1 to 128/],
    ['a tag value not in the allowed values', { name: 'web-01', tags: { PatchMode: 'yolo' } }, /value of tag "PatchMode" is not allowed/],
    ['a tag value with #', { name: 'web-01', tags: { Team: 'a#b' } }, /value of tag "Team" must be 0 to 256/],
    ['a 257-character tag value', { name: 'web-01', tags: { Team: 'v'.repeat(257) } }, /value of tag "Team" must be 0 to 256/],
  ])('rejects %s', async (_label, body, reason) => {
    const { result, port } = await run(post(body));
    expect(result.outcome).toBe('rejected');
    expect(reasonOf(result)).toMatch(reason);
    expect(port.inputs).toHaveLength(0);
  });

  test.each<[string, string]>([
    ['256 ASCII characters', 'a'.repeat(256)],
    ['256 astral letters (512 UTF-16 units)', '𝒜'.repeat(256)],
    ['letters, digits, spaces and every allowed symbol', 'Web 01_.:/=+-@x'],
    ['non-Latin letters', 'Ünïcödé 名前 ٣'],
  ])('accepts a name of %s', async (_label, name) => {
    const { result, port } = await run(post({ name }));
    expect(createdOf(result).instanceName).toBe(name);
    expect(port.inputs[0]?.DefaultInstanceName).toBe(name);
  });

  test('accepts an empty tag value and any value for a key without a value list', async () => {
    const { result, port } = await run(post({ name: 'web-01', tags: { Team: '' } }));
    expect(result.outcome).toBe('created');
    expect(port.inputs[0]?.Tags).toContainEqual({ Key: 'Team', Value: '' });
  });

  describe('body size', () => {
    const sized = (bytes: number): string => {
      const json = '{"name":"web-01"}';
      return json + ' '.repeat(bytes - json.length);
    };

    test(`accepts a body of exactly ${MAX_BODY_BYTES} bytes`, async () => {
      const body = sized(MAX_BODY_BYTES);
      expect(Buffer.byteLength(body)).toBe(MAX_BODY_BYTES);
      const { result } = await run(post(undefined, identity(), { body }));
      expect(result.outcome).toBe('created');
    });

    test(`rejects a body of ${MAX_BODY_BYTES + 1} bytes`, async () => {
      const { result } = await run(post(undefined, identity(), { body: sized(MAX_BODY_BYTES + 1) }));
      expect(reasonOf(result)).toMatch(/at most 8192 bytes/);
    });

    test('counts bytes, not characters', async () => {
      const body = JSON.stringify({ name: 'é'.repeat(200), tags: { Team: 'é'.repeat(200) } }) + ' '.repeat(7600);
      expect(body.length).toBeLessThanOrEqual(MAX_BODY_BYTES);
      expect(Buffer.byteLength(body)).toBeGreaterThan(MAX_BODY_BYTES);
      const { result } = await run(post(undefined, identity(), { body }));
      expect(reasonOf(result)).toMatch(/at most 8192 bytes/);
    });

    test('decodes a base64-encoded body', async () => {
      const body = Buffer.from(JSON.stringify({ name: 'wéb-01', tags: { PatchMode: 'enforce' } })).toString('base64');
      const { result, port } = await run(post(undefined, identity(), { body, isBase64Encoded: true }));
      expect(createdOf(result).instanceName).toBe('wéb-01');
      expect(port.inputs[0]?.Tags).toContainEqual({ Key: 'PatchMode', Value: 'enforce' });
    });

    test('applies the limit to the decoded size of a base64-encoded body', async () => {
      const okBody = Buffer.from(sized(MAX_BODY_BYTES)).toString('base64');
      expect((await run(post(undefined, identity(), { body: okBody, isBase64Encoded: true }))).result.outcome).toBe('created');
      const bigBody = Buffer.from(sized(MAX_BODY_BYTES + 1)).toString('base64');
      const { result } = await run(post(undefined, identity(), { body: bigBody, isBase64Encoded: true }));
      expect(reasonOf(result)).toMatch(/at most 8192 bytes/);
    });
  });

  describe('tag count', () => {
    const manyAllowed: ActivationConfig = {
      ...CONFIG,
      defaultTags: { Env: 'prod' },
      allowedTags: Array.from({ length: 60 }, (_, i) => ({ key: `T${i}` })),
    };
    const tags = (n: number): Record<string, string> => Object.fromEntries(Array.from({ length: n }, (_, i) => [`T${i}`, 'v']));

    test('accepts 50 tags including Name, the marker and the defaults', async () => {
      const { result, port } = await run(post({ name: 'web-01', tags: tags(47) }), manyAllowed);
      expect(result.outcome).toBe('created');
      expect(port.inputs[0]?.Tags).toHaveLength(50);
    });

    test('rejects 51 tags', async () => {
      const { result, port } = await run(post({ name: 'web-01', tags: tags(48) }), manyAllowed);
      expect(reasonOf(result)).toMatch(/too many tags: at most 50/);
      expect(port.inputs).toHaveLength(0);
    });

    test('counts a request tag that overrides a default once', async () => {
      const config: ActivationConfig = { ...manyAllowed, defaultTags: { T0: 'default' } };
      const { result, port } = await run(post({ name: 'web-01', tags: tags(48) }), config);
      expect(result.outcome).toBe('created');
      expect(port.inputs[0]?.Tags).toHaveLength(50);
    });
  });
});

describe('GET /activate: 400 rules', () => {
  test.each<[string, ActivationRequest, RegExp]>([
    ['a missing name (no binding)', get(null), /name is required/],
    ['an empty name', get({ name: '' }), /1 to 256 characters/],
    ['a name that breaks the pattern', get({ name: 'web<01>' }), /name may contain only/],
    ['a 257-character name', get({ name: 'n'.repeat(257) }), /1 to 256 characters/],
    ['a repeated name parameter', get({ name: 'b' }, identity(), { name: ['a', 'b'] }), /at most once/],
    ['an unknown parameter', get({ name: 'web-01', tag: 'x' }), /unknown query parameter "tag"/],
  ])('rejects %s', async (_label, request, reason) => {
    const { result, port } = await run(request);
    expect(result.outcome).toBe('rejected');
    expect(reasonOf(result)).toMatch(reason);
    expect(port.inputs).toHaveLength(0);
  });

  test('accepts a single name and applies no request tags', async () => {
    const { result, port } = await run(get({ name: 'web-01' }));
    expect(createdOf(result).instanceName).toBe('web-01');
    expect(port.inputs[0]?.Tags.map((t) => t.Key)).toEqual(['Name', 'hybrid-fleet:issuer', 'Env', 'Team']);
  });

  test('reads the name from the single-value map when there is no multi-value map', async () => {
    const request: ActivationRequest = { route: 'activate', event: { queryStringParameters: { name: 'web-02' }, requestContext: { identity: identity() } } };
    const { result } = await run(request);
    expect(createdOf(result).instanceName).toBe('web-02');
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Caller identity and binding
// ---------------------------------------------------------------------------------------------------------------

describe('caller binding', () => {
  test('forbids an EC2 instance-profile caller from asking for another name', async () => {
    const { result, port } = await run(post({ name: 'someone-else' }, identity(EC2_ARN)));
    expect(result.outcome).toBe('forbidden');
    expect(reasonOf(result)).toContain(INSTANCE_ID);
    expect(result.name).toBe('someone-else');
    expect(port.inputs).toHaveLength(0);
  });

  test('forbids it on GET as well', async () => {
    const { result } = await run(get({ name: 'i-0fedcba9876543210' }, identity(EC2_ARN)));
    expect(result.outcome).toBe('forbidden');
  });

  test('lets an EC2 caller ask for its own instance id', async () => {
    const { result } = await run(post({ name: INSTANCE_ID }, identity(EC2_ARN)));
    expect(createdOf(result).instanceName).toBe(INSTANCE_ID);
  });

  test.each<[string, ActivationRequest]>([
    ['POST {}', post({}, identity(EC2_ARN))],
    ['POST with tags only', post({ tags: { Team: 'x' } }, identity(EC2_ARN))],
    ['GET without query', get(null, identity(EC2_ARN))],
  ])('defaults the name to the instance id (%s)', async (_label, request) => {
    const { result, port } = await run(request);
    expect(createdOf(result).instanceName).toBe(INSTANCE_ID);
    expect(port.inputs[0]?.DefaultInstanceName).toBe(INSTANCE_ID);
    expect(port.inputs[0]?.Tags[0]).toEqual({ Key: 'Name', Value: INSTANCE_ID });
  });

  test.each<[string, string]>([
    ['aws-cn, 8-hex id', 'arn:aws-cn:sts::123456789012:assumed-role/Node/i-1234abcd'],
    ['aws-us-gov', 'arn:aws-us-gov:sts::123456789012:assumed-role/Node.Role+x=y,z@a_b-c/i-0123456789abcdef0'],
  ])('binds instance-profile sessions in other partitions (%s)', async (_label, arn) => {
    const expected = arn.split('/').pop();
    expect(ec2InstanceIdOf(arn)).toBe(expected);
    const { result } = await run(post({ name: 'other' }, identity(arn)));
    expect(result.outcome).toBe('forbidden');
  });

  test.each<[string, string | null]>([
    ['a person assumed-role session', PERSON_ARN],
    ['a session name that only starts like an instance id', `arn:aws:sts::123456789012:assumed-role/Node/${INSTANCE_ID}-x`],
    ['a 9-hex session name', 'arn:aws:sts::123456789012:assumed-role/Node/i-123456789'],
    ['an upper-case hex session name', 'arn:aws:sts::123456789012:assumed-role/Node/i-0123456789ABCDEF0'],
    ['an IAM user', 'arn:aws:iam::123456789012:user/i-0123456789abcdef0'],
    ['a role ARN, not a session', 'arn:aws:iam::123456789012:role/i-0123456789abcdef0'],
    ['no userArn', null],
  ])('does not bind %s', async (_label, arn) => {
    expect(ec2InstanceIdOf(arn)).toBeUndefined();
    const { result } = await run(post({ name: 'any-name' }, identity(arn)));
    expect(createdOf(result).instanceName).toBe('any-name');
    const { result: omitted } = await run(post({}, identity(arn)));
    expect(reasonOf(omitted)).toMatch(/name is required/);
  });

  test('does not bind when caller binding is off', async () => {
    const config: ActivationConfig = { ...CONFIG, callerBinding: false };
    const { result } = await run(post({ name: 'someone-else' }, identity(EC2_ARN)), config);
    expect(createdOf(result).instanceName).toBe('someone-else');
    const { result: omitted } = await run(post({}, identity(EC2_ARN)), config);
    expect(reasonOf(omitted)).toMatch(/name is required/);
  });

  test('ignores binding with API_KEY authorization and reports the API key as the caller', async () => {
    const config: ActivationConfig = { ...CONFIG, authorization: 'API_KEY', callerBinding: true };
    const id = identity(EC2_ARN, { apiKeyId: 'abc123' });
    const { result } = await run(post({ name: 'someone-else' }, id), config);
    expect(createdOf(result).instanceName).toBe('someone-else');
    expect(result.caller).toEqual({ caller: 'apiKey:abc123', callerAccount: '123456789012', sourceIp: '198.51.100.7', boundInstanceId: undefined });
  });

  test('reports the IAM caller, account and source IP', () => {
    expect(identifyCaller(identity(EC2_ARN), CONFIG)).toEqual({
      caller: EC2_ARN,
      callerAccount: '123456789012',
      sourceIp: '198.51.100.7',
      boundInstanceId: INSTANCE_ID,
    });
    expect(identifyCaller(undefined, CONFIG)).toEqual({});
    expect(identifyCaller({ apiKeyId: null }, { ...CONFIG, authorization: 'API_KEY' }).caller).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------------------------
// CreateActivation input
// ---------------------------------------------------------------------------------------------------------------

describe('CreateActivation input', () => {
  test('is exactly the contract input', async () => {
    const { port } = await run(post({ name: 'web-01', tags: { PatchMode: 'report' } }));
    expect(port.inputs).toEqual([
      {
        IamRole: 'HybridNodeRole',
        RegistrationLimit: 1,
        DefaultInstanceName: 'web-01',
        Description: 'Activation for web-01 issued by Stack/Api',
        ExpirationDate: new Date(NOW.getTime() + 3600 * 1000),
        Tags: [
          { Key: 'Name', Value: 'web-01' },
          { Key: 'hybrid-fleet:issuer', Value: 'Stack/Api' },
          { Key: 'Env', Value: 'prod' },
          { Key: 'Team', Value: 'platform' },
          { Key: 'PatchMode', Value: 'report' },
        ],
      },
    ]);
  });

  test('lets a request tag override a default of the same key', async () => {
    const { port } = await run(post({ name: 'web-01', tags: { Team: 'payments', PatchMode: 'enforce' } }));
    const tags = port.inputs[0]?.Tags ?? [];
    expect(tags.filter((t) => t.Key === 'Team')).toEqual([{ Key: 'Team', Value: 'payments' }]);
    expect(tags.map((t) => t.Key)).toEqual(['Name', 'hybrid-fleet:issuer', 'Env', 'Team', 'PatchMode']);
  });

  test('computes ExpirationDate per request from now and the lifetime', async () => {
    const config: ActivationConfig = { ...CONFIG, lifetimeSeconds: 86_400 };
    const later = new Date(NOW.getTime() + 90_000);
    const first = await run(post({ name: 'a' }), config, new FakePort(), NOW);
    const second = await run(post({ name: 'b' }), config, new FakePort(), later);
    expect(first.port.inputs[0]?.ExpirationDate).toEqual(new Date('2030-01-03T03:04:05.000Z'));
    expect(second.port.inputs[0]?.ExpirationDate).toEqual(new Date(later.getTime() + 86_400_000));
    expect(createdOf(second.result).expiresAt).toBe(new Date(later.getTime() + 86_400_000).toISOString());
  });

  test('truncates the description to 256 characters without splitting a character', () => {
    const name = '𝒜'.repeat(250);
    const input = buildCreateActivationInput(CONFIG, name, new Map(), NOW);
    expect(input.Description).toBe(`Activation for ${'𝒜'.repeat(241)}`);
    expect([...input.Description]).toHaveLength(256);
  });

  test('returns the issued activation; the body adds the region', async () => {
    const { result } = await run(post({ name: 'web-01' }));
    const activation = createdOf(result);
    expect(activation).toEqual({
      activationId: '00000000-0000-4000-8000-000000000001',
      activationCode: 'code-1-secret',
      instanceName: 'web-01',
      expiresAt: '2030-01-02T04:04:05.000Z',
    });
    expect(activationBody(activation, 'eu-west-1')).toEqual({ ...activation, region: 'eu-west-1' });
    expect(Object.keys(activationBody(activation, 'eu-west-1'))).toEqual(['activationId', 'activationCode', 'region', 'instanceName', 'expiresAt']);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Errors and retries
// ---------------------------------------------------------------------------------------------------------------

describe('error classification', () => {
  const notExisting = 'Not existing role: arn:aws:iam::123456789012:role/HybridNodeRole';
  test.each<[string, unknown, ReturnType<typeof classifyError>]>([
    ['ThrottlingException', sdkError('ThrottlingException', 'Rate exceeded', { $metadata: { httpStatusCode: 400 } }), 'throttled'],
    ['TooManyRequestsException', sdkError('TooManyRequestsException'), 'throttled'],
    ['HTTP 429', sdkError('Whatever', 'x', { $metadata: { httpStatusCode: 429 } }), 'throttled'],
    ['$retryable.throttling', sdkError('Whatever', 'x', { $retryable: { throttling: true } }), 'throttled'],
    ['InternalServerError 500', sdkError('InternalServerError', 'x', { $metadata: { httpStatusCode: 500 } }), 'unavailable'],
    ['any 503', sdkError('Unknown', 'x', { $metadata: { httpStatusCode: 503 } }), 'unavailable'],
    ['TimeoutError', sdkError('TimeoutError', 'socket timed out'), 'unavailable'],
    ['RequestTimeout', sdkError('RequestTimeout'), 'unavailable'],
    ['ECONNRESET code', sdkError('Error', 'socket hang up', { code: 'ECONNRESET' }), 'unavailable'],
    ['ECONNREFUSED in the message', sdkError('Error', 'connect ECONNREFUSED 10.0.0.1:443'), 'unavailable'],
    ['$retryable without throttling', sdkError('Whatever', 'x', { $retryable: {} }), 'unavailable'],
    ['ValidationException: Not existing role', sdkError('ValidationException', notExisting), 'role-not-visible'],
    ['InvalidParameters: not existing role', sdkError('InvalidParameters', 'not existing role'), 'role-not-visible'],
    ['ValidationException, other message', sdkError('ValidationException', 'Tags failed to satisfy constraint'), 'internal'],
    ['AccessDeniedException', sdkError('AccessDeniedException', 'not authorized', { $metadata: { httpStatusCode: 400 } }), 'internal'],
    ['"not existing role" from an unrelated error', sdkError('AccessDeniedException', notExisting), 'internal'],
    ['a TypeError', new TypeError('x is undefined'), 'internal'],
    ['a thrown string', 'ECONN', 'internal'],
    ['undefined', undefined, 'internal'],
  ])('%s → %s', (_label, err, expected) => {
    expect(classifyError(err)).toBe(expected);
  });
});

describe('role retry', () => {
  const roleNotVisible = (): Error => sdkError('ValidationException', 'Not existing role: arn:aws:iam::1:role/r');

  test('succeeds on the 3rd try after sleeping base then 2×base', async () => {
    const port = new FakePort([fail(roleNotVisible()), fail(roleNotVisible())]);
    const { result, delays } = await run(post({ name: 'web-01' }), CONFIG, port);
    expect(result.outcome).toBe('created');
    expect(port.inputs).toHaveLength(3);
    expect(delays).toEqual([100, 200]);
  });

  test('gives up after 4 tries and reports unavailable', async () => {
    const port = new FakePort(Array.from({ length: 5 }, () => fail(roleNotVisible())));
    const { result, delays } = await run(post({ name: 'web-01' }), CONFIG, port);
    expect(result).toMatchObject({ outcome: 'unavailable', errorName: 'ValidationException', name: 'web-01' });
    expect(port.inputs).toHaveLength(4);
    expect(delays).toEqual([100, 200, 400]);
  });

  test('does not retry other errors', async () => {
    const { sleep, delays } = fakeSleep();
    let calls = 0;
    const err = sdkError('ThrottlingException');
    await expect(withRoleRetry(async () => { calls++; throw err; }, sleep, 10)).rejects.toBe(err);
    expect(calls).toBe(1);
    expect(delays).toEqual([]);
  });

  test('returns the value of a later success', async () => {
    const { sleep, delays } = fakeSleep();
    let calls = 0;
    const value = await withRoleRetry(async () => {
      calls++;
      if (calls < 4) throw roleNotVisible();
      return 'done';
    }, sleep, 7);
    expect(value).toBe('done');
    expect(delays).toEqual([7, 14, 28]);
  });
});

describe('failure outcomes', () => {
  test.each<[string, Error, ActivationResult['outcome']]>([
    ['throttling after SDK retries', sdkError('ThrottlingException', 'detail-throttle'), 'throttled'],
    ['a 5xx', sdkError('InternalServerError', 'detail-5xx', { $metadata: { httpStatusCode: 500 } }), 'unavailable'],
    ['a timeout', sdkError('TimeoutError', 'detail-timeout'), 'unavailable'],
    ['anything else', sdkError('AccessDeniedException', 'User: arn:aws:sts::1:assumed-role/x is not authorized'), 'error'],
  ])('maps %s to its outcome with the error name and no message', async (_label, err, outcome) => {
    const { result } = await run(post({ name: 'web-01' }), CONFIG, new FakePort([fail(err)]));
    expect(result.outcome).toBe(outcome);
    expect(result).toMatchObject({ errorName: err.name, name: 'web-01' });
    expect(JSON.stringify(result)).not.toContain(err.message);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Routing and configuration
// ---------------------------------------------------------------------------------------------------------------

describe('routing', () => {
  test.each<[string, string, ReturnType<typeof routeOf>]>([
    ['POST', '/activations', 'create'],
    ['POST', '/activations/', 'create'],
    ['GET', '/activate', 'activate'],
    ['GET', '/activations', undefined],
    ['POST', '/activate', undefined],
    ['PUT', '/activations', undefined],
    ['GET', '/activate/extra', undefined],
  ])('%s %s → %s', (method, path, route) => {
    expect(routeOf(method, path)).toBe(route);
  });
});

describe('configuration', () => {
  test('parses default and allowed tags', () => {
    expect(parseDefaultTags({ Env: 'prod', Empty: '' })).toEqual({ Env: 'prod', Empty: '' });
    expect(parseAllowedTags([{ key: 'PatchMode', values: ['report'] }, { key: 'Team' }])).toEqual([
      { key: 'PatchMode', values: ['report'] },
      { key: 'Team' },
    ]);
  });

  test.each<[string, () => unknown, RegExp]>([
    ['default tags not an object', () => parseDefaultTags(['a']), /JSON object/],
    ['a non-string default value', () => parseDefaultTags({ Env: 1 }), /must be a string/],
    ['a bad default key', () => parseDefaultTags({ 'a#': 'x' }), /not a valid tag key/],
    ['allowed tags not an array', () => parseAllowedTags({ key: 'Team' }), /JSON array/],
    ['an allowed tag without key', () => parseAllowedTags([{ values: ['a'] }]), /string "key"/],
    ['an allowed tag with an unknown field', () => parseAllowedTags([{ key: 'Team', value: 'a' }]), /unknown field "value"/],
    ['allowed values not strings', () => parseAllowedTags([{ key: 'Team', values: [1] }]), /array of valid tag values/],
    ['a duplicate allowed key', () => parseAllowedTags([{ key: 'Team' }, { key: 'Team' }]), /listed twice/],
    ['a reserved default key', () => checkConfig({ ...CONFIG, defaultTags: { Name: 'x' } }), /default tag key "Name" is reserved/],
    ['the marker key allowed', () => checkConfig({ ...CONFIG, allowedTags: [{ key: 'hybrid-fleet:issuer' }] }), /is reserved/],
    ['a bad marker value', () => checkConfig({ ...CONFIG, markerTag: { key: 'k', value: 'a#b' } }), /marker tag value/],
    [
      'too many default tags',
      () => checkConfig({ ...CONFIG, defaultTags: Object.fromEntries(Array.from({ length: 49 }, (_, i) => [`D${i}`, 'v'])) }),
      /exceed 50 tags/,
    ],
  ])('rejects %s', (_label, fn, message) => {
    expect(fn).toThrow(message);
  });

  test('accepts the fixture configuration', () => {
    expect(checkConfig(CONFIG)).toBe(CONFIG);
  });
});
