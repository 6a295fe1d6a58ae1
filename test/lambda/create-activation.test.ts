import {
  activationBody,
  buildCreateActivationInput,
  CEILING_MESSAGE,
  CeilingCache,
  checkCeiling,
  checkConfig,
  conflictMessage,
  decideNameConflict,
  handleActivationRequest,
  NAME_CONFLICT_POLICIES,
  nodesNamed,
  routeOf,
  withRoleRetry,
  type ActivationConfig,
  type ActivationFilter,
  type ActivationInfo,
  type ActivationPort,
  type ActivationRequest,
  type ActivationResult,
  type ConflictDecision,
  type CreateActivationInput,
  type NameConflictPolicy,
  type ProxyEventLike,
} from '../../lambda/create-activation/create-activation';
import { ec2InstanceIdOf, identifyCaller, nameAllowed, ownerTagValue, type IdentityLike } from '../../lambda/shared/caller';
import type { NodeFilter, NodeInfo } from '../../lambda/shared/nodes';
import { MAX_BODY_BYTES } from '../../lambda/shared/request';

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
  nameConflictPolicy: 'REPLACE_OFFLINE',
  maxRegisteredNodes: 0,
};
const MARKER = { 'hybrid-fleet:issuer': 'Stack/Api' };
const OWNER_KEY = 'hybrid-fleet:owner';

type Behaviour = (input: CreateActivationInput) => Promise<{ activationId: string; activationCode: string }>;

/** A node the fake SSM knows: what DescribeInstanceInformation returns, plus its tags (for the tag filters). */
interface FakeNode extends NodeInfo {
  readonly InstanceId: string;
  readonly tags: Readonly<Record<string, string>>;
}

/** Port faults: errors thrown by the n-th findNodes call (0-based), or by deregister of an instance id. */
interface PortFaults {
  readonly find?: Readonly<Record<number, unknown>>;
  readonly deregister?: Readonly<Record<string, unknown>>;
  readonly findActivations?: Readonly<Record<number, unknown>>;
}

/**
 * A fake SSM: records every call in order; CreateActivation answers with the queued behaviours, then with success;
 * findNodes applies tag filters (AND) to the seeded nodes like DescribeInstanceInformation; deregister removes a node.
 */
class FakePort implements ActivationPort {
  readonly inputs: CreateActivationInput[] = [];
  readonly finds: (readonly NodeFilter[])[] = [];
  readonly deregisterCalls: string[] = [];
  /** `find`, `deregister <id>`, `create`, in call order. */
  readonly calls: string[] = [];
  readonly nodes: Map<string, FakeNode>;
  readonly activations: Map<string, ActivationInfo & { readonly IamRole?: string }>;
  readonly activationFinds: (readonly ActivationFilter[])[] = [];
  readonly deleteCalls: string[] = [];

  constructor(
    private readonly behaviours: readonly Behaviour[] = [],
    nodes: readonly FakeNode[] = [],
    private readonly faults: PortFaults = {},
    activations: readonly (ActivationInfo & { readonly IamRole?: string })[] = [],
  ) {
    this.nodes = new Map(nodes.map((node) => [node.InstanceId, node]));
    this.activations = new Map(activations.map((a) => [a.ActivationId!, a]));
  }

  async findActivations(filters: readonly ActivationFilter[]): Promise<ActivationInfo[]> {
    this.calls.push('activations');
    const fault = this.faults.findActivations?.[this.activationFinds.length];
    this.activationFinds.push(filters);
    if (fault !== undefined) throw fault;
    return [...this.activations.values()].filter((a) => filters.every((f) =>
      f.FilterValues.includes((f.FilterKey === 'IamRole' ? a.IamRole ?? 'HybridNodeRole' : a.DefaultInstanceName) ?? '')));
  }

  async deleteActivation(activationId: string): Promise<void> {
    this.calls.push(`delete ${activationId}`);
    this.deleteCalls.push(activationId);
    if (!this.activations.delete(activationId)) throw sdkError('InvalidActivation');
  }

  async create(input: CreateActivationInput): Promise<{ activationId: string; activationCode: string }> {
    this.calls.push('create');
    this.inputs.push(input);
    const behaviour = this.behaviours[this.inputs.length - 1];
    if (behaviour !== undefined) return behaviour(input);
    const n = this.inputs.length;
    return { activationId: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`, activationCode: `code-${n}-secret` };
  }

  async findNodes(filters: readonly NodeFilter[]): Promise<NodeInfo[]> {
    this.calls.push('find');
    const fault = this.faults.find?.[this.finds.length];
    this.finds.push(filters);
    if (fault !== undefined) throw fault;
    const matches = (node: FakeNode): boolean => filters.every((f) => {
      const value = f.Key.startsWith('tag:') ? node.tags[f.Key.slice(4)] : undefined;
      return value !== undefined && f.Values.includes(value);
    });
    return [...this.nodes.values()].filter(matches).map(({ InstanceId, Name, PingStatus }) => ({ InstanceId, Name, PingStatus }));
  }

  async deregister(instanceId: string): Promise<void> {
    this.calls.push(`deregister ${instanceId}`);
    this.deregisterCalls.push(instanceId);
    const fault = this.faults.deregister?.[instanceId];
    if (fault !== undefined) throw fault;
    this.nodes.delete(instanceId);
  }
}

/** A sleep that records the delays it was asked for and returns at once. */
function fakeSleep(): { sleep: (ms: number) => Promise<void>; delays: number[] } {
  const delays: number[] = [];
  return { delays, sleep: async (ms) => { delays.push(ms); } };
}

/** An error shaped like the SDK's: a modeled name and `$metadata` (which the handlers tell SDK errors by). */
const sdkError = (name: string, message = 'boom', extra: Record<string, unknown> = {}): Error =>
  Object.assign(new Error(message), { name, $metadata: {}, ...extra });
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

    test('accepts 50 tags including Name, the marker, the owner and the defaults', async () => {
      const { result, port } = await run(post({ name: 'web-01', tags: tags(46) }), manyAllowed);
      expect(result.outcome).toBe('created');
      expect(port.inputs[0]?.Tags).toHaveLength(50);
    });

    test('rejects 51 tags (the owner tag counts)', async () => {
      const { result, port } = await run(post({ name: 'web-01', tags: tags(47) }), manyAllowed);
      expect(reasonOf(result)).toMatch(/too many tags: at most 50/);
      expect(port.inputs).toHaveLength(0);
    });

    test('counts a request tag that overrides a default once', async () => {
      const config: ActivationConfig = { ...manyAllowed, defaultTags: { T0: 'default' } };
      const { result, port } = await run(post({ name: 'web-01', tags: tags(47) }), config);
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
    expect(port.inputs[0]?.Tags.map((t) => t.Key)).toEqual(['Name', 'hybrid-fleet:issuer', OWNER_KEY, 'Env', 'Team']);
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
    expect(result.caller).toEqual({
      caller: 'apiKey:abc123', callerAccount: '123456789012', sourceIp: '198.51.100.7', boundInstanceId: undefined, owner: 'apiKey:abc123',
    });
  });

  test('reports the IAM caller, account and source IP', () => {
    expect(identifyCaller(identity(EC2_ARN), CONFIG)).toEqual({
      caller: EC2_ARN,
      callerAccount: '123456789012',
      sourceIp: '198.51.100.7',
      boundInstanceId: INSTANCE_ID,
      owner: EC2_ARN,
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
          { Key: OWNER_KEY, Value: PERSON_ARN },
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
    expect(tags.map((t) => t.Key)).toEqual(['Name', 'hybrid-fleet:issuer', OWNER_KEY, 'Env', 'Team', 'PatchMode']);
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
// Name conflicts and the node ceiling (docs/handler-contract.md, "Lifecycle")
// ---------------------------------------------------------------------------------------------------------------

const hex17 = (n: number): string => n.toString(16).padStart(17, '0');
const mi = (n: number): string => `mi-${hex17(n)}`;

/** A node of this API (marker tag) named `name` and registered by PERSON_ARN, unless `tags` say otherwise. */
function node(n: number | string, name: string, pingStatus: string, tags: Record<string, string> = {}): FakeNode {
  const InstanceId = typeof n === 'number' ? mi(n) : n;
  return { InstanceId, Name: name, PingStatus: pingStatus, tags: { ...MARKER, [OWNER_KEY]: PERSON_ARN, Name: name, ...tags } };
}

const runWith = (policy: NameConflictPolicy, nodes: FakeNode[], extra: Partial<ActivationConfig> = {}, faults: PortFaults = {}) =>
  run(post({ name: 'web-01' }), { ...CONFIG, nameConflictPolicy: policy, ...extra }, new FakePort([], nodes, faults));

describe('name conflict policy', () => {
  const ONLINE = node(1, 'web-01', 'Online');
  const LOST = node(2, 'web-01', 'ConnectionLost');
  const INACTIVE = node(3, 'web-01', 'Inactive');
  const EC2_SAME_NAME = node('i-0123456789abcdef0', 'web-01', 'Online');
  const OTHER_API_SAME_NAME = node(4, 'web-01', 'Online', { 'hybrid-fleet:issuer': 'Other/Api' });
  const UNMARKED_SAME_NAME = { InstanceId: mi(5), Name: 'web-01', PingStatus: 'ConnectionLost', tags: { Name: 'web-01' } };
  const OTHER_NAME = node(6, 'web-02', 'ConnectionLost');
  const NEIGHBOURS = [EC2_SAME_NAME, OTHER_API_SAME_NAME, UNMARKED_SAME_NAME, OTHER_NAME];

  type Expected = { conflict: string } | { deregistered: string[] };
  const STATES: Array<[string, FakeNode[], Record<NameConflictPolicy, Expected>]> = [
    ['no node with the name', [], {
      REJECT_IF_ONLINE: { deregistered: [] },
      REPLACE_OFFLINE: { deregistered: [] },
      ALWAYS_REPLACE: { deregistered: [] },
      ALLOW_DUPLICATES: { deregistered: [] },
    }],
    ['one online node', [ONLINE], {
      REJECT_IF_ONLINE: { conflict: ONLINE.InstanceId },
      REPLACE_OFFLINE: { conflict: ONLINE.InstanceId },
      ALWAYS_REPLACE: { deregistered: [ONLINE.InstanceId] },
      ALLOW_DUPLICATES: { deregistered: [] },
    }],
    ['one offline (ConnectionLost) node', [LOST], {
      REJECT_IF_ONLINE: { deregistered: [] },
      REPLACE_OFFLINE: { deregistered: [LOST.InstanceId] },
      ALWAYS_REPLACE: { deregistered: [LOST.InstanceId] },
      ALLOW_DUPLICATES: { deregistered: [] },
    }],
    ['one Inactive node', [INACTIVE], {
      REJECT_IF_ONLINE: { deregistered: [] },
      REPLACE_OFFLINE: { deregistered: [INACTIVE.InstanceId] },
      ALWAYS_REPLACE: { deregistered: [INACTIVE.InstanceId] },
      ALLOW_DUPLICATES: { deregistered: [] },
    }],
    ['several offline nodes', [LOST, INACTIVE], {
      REJECT_IF_ONLINE: { deregistered: [] },
      REPLACE_OFFLINE: { deregistered: [LOST.InstanceId, INACTIVE.InstanceId] },
      ALWAYS_REPLACE: { deregistered: [LOST.InstanceId, INACTIVE.InstanceId] },
      ALLOW_DUPLICATES: { deregistered: [] },
    }],
    ['several mixed nodes (offline first)', [LOST, ONLINE, INACTIVE], {
      REJECT_IF_ONLINE: { conflict: ONLINE.InstanceId },
      REPLACE_OFFLINE: { conflict: ONLINE.InstanceId },
      ALWAYS_REPLACE: { deregistered: [LOST.InstanceId, ONLINE.InstanceId, INACTIVE.InstanceId] },
      ALLOW_DUPLICATES: { deregistered: [] },
    }],
    ['only nodes of the same name that are not mi-, not of this API or not marked', NEIGHBOURS, {
      REJECT_IF_ONLINE: { deregistered: [] },
      REPLACE_OFFLINE: { deregistered: [] },
      ALWAYS_REPLACE: { deregistered: [] },
      ALLOW_DUPLICATES: { deregistered: [] },
    }],
  ];
  const CASES = STATES.flatMap(([state, nodes, byPolicy]) =>
    NAME_CONFLICT_POLICIES.map((policy) => [policy, state, nodes, byPolicy[policy]] as [NameConflictPolicy, string, FakeNode[], Expected]));

  test.each(CASES)('%s with %s', async (policy, _state, nodes, expected) => {
    const { result, port } = await runWith(policy, [...nodes, ...NEIGHBOURS]);
    if ('conflict' in expected) {
      expect(result).toMatchObject({
        outcome: 'conflict',
        conflictingInstanceId: expected.conflict,
        reason: "a node named 'web-01' registered through this API is online",
        deregistered: [],
        name: 'web-01',
      });
      expect(port.deregisterCalls).toEqual([]);
      expect(port.inputs).toHaveLength(0);
    } else {
      expect(result.outcome).toBe('created');
      expect(result.deregistered).toEqual(expected.deregistered);
      expect(port.deregisterCalls).toEqual(expected.deregistered);
      expect(port.calls.slice(-1)).toEqual(['create']);
    }
    // Nodes outside the rules are never touched, whatever the policy.
    for (const neighbour of NEIGHBOURS) expect(port.nodes.has(neighbour.InstanceId)).toBe(true);
  });

  test('looks nodes up with the marker and Name tag filters only, before deregistering and creating', async () => {
    const { port } = await runWith('REPLACE_OFFLINE', [LOST]);
    expect(port.finds.slice(0, 1)).toEqual([[
      { Key: 'tag:hybrid-fleet:issuer', Values: ['Stack/Api'] },
      { Key: 'tag:Name', Values: ['web-01'] },
    ]]);
    expect(port.finds[1]).toEqual([
      { Key: 'tag:hybrid-fleet:issuer', Values: ['Stack/Api'] },
      { Key: 'tag:Name', Values: ['web-01'] },
      { Key: `tag:${OWNER_KEY}`, Values: [PERSON_ARN] },
    ]);
    expect(port.calls).toEqual(['find', 'find', 'activations', `deregister ${LOST.InstanceId}`, 'create']);
  });

  test('ALLOW_DUPLICATES without a ceiling looks nothing up', async () => {
    const { result, port } = await runWith('ALLOW_DUPLICATES', [ONLINE]);
    expect(result.outcome).toBe('created');
    expect(port.calls).toEqual(['create']);
  });

  test('uses the name a bound caller defaults to', async () => {
    const own = node(7, INSTANCE_ID, 'Online');
    const port = new FakePort([], [own]);
    const { result } = await run(post({}, identity(EC2_ARN)), CONFIG, port);
    expect(result).toMatchObject({ outcome: 'conflict', conflictingInstanceId: own.InstanceId, name: INSTANCE_ID });
    expect(port.finds[0]?.[1]).toEqual({ Key: 'tag:Name', Values: [INSTANCE_ID] });
  });

  test.each<[string, ActivationRequest]>([
    ['a bad request', post({ name: 'web#01' })],
    ['a forbidden name', post({ name: 'other' }, identity(EC2_ARN))],
  ])('%s never reaches SSM', async (_label, request) => {
    const port = new FakePort([], [ONLINE]);
    const { result } = await run(request, { ...CONFIG, maxRegisteredNodes: 5 }, port);
    expect(['rejected', 'forbidden']).toContain(result.outcome);
    expect(result.deregistered).toEqual([]);
    expect(port.calls).toEqual([]);
  });

  test('a node already gone (InvalidInstanceId) counts as deregistered', async () => {
    const { result, port } = await runWith('REPLACE_OFFLINE', [LOST, INACTIVE], {}, {
      deregister: { [LOST.InstanceId]: sdkError('InvalidInstanceId', 'The following supplied instance ids are not valid') },
    });
    expect(result.outcome).toBe('created');
    expect(result.deregistered).toEqual([LOST.InstanceId, INACTIVE.InstanceId]);
    expect(port.inputs).toHaveLength(1);
  });

  test.each<[string, Error, ActivationResult['outcome']]>([
    ['throttling', sdkError('ThrottlingException'), 'throttled'],
    ['a 5xx', sdkError('InternalServerError', 'x', { $metadata: { httpStatusCode: 500 } }), 'unavailable'],
    ['access denied', sdkError('AccessDeniedException', 'not authorized SECRET'), 'error'],
  ])('a deregistration failing with %s stops before CreateActivation; earlier ones are reported', async (_label, err, outcome) => {
    const { result, port } = await runWith('ALWAYS_REPLACE', [LOST, ONLINE, INACTIVE], {}, { deregister: { [ONLINE.InstanceId]: err } });
    expect(result).toMatchObject({ outcome, errorName: err.name, deregistered: [LOST.InstanceId] });
    expect(port.deregisterCalls).toEqual([LOST.InstanceId, ONLINE.InstanceId]);
    expect(port.inputs).toHaveLength(0);
    expect(JSON.stringify(result)).not.toContain('SECRET');
  });

  test.each<[string, Error, ActivationResult['outcome']]>([
    ['throttling', sdkError('ThrottlingException'), 'throttled'],
    ['a timeout', sdkError('TimeoutError'), 'unavailable'],
    ['a validation error', sdkError('ValidationException', 'Tag filters cannot be combined'), 'error'],
  ])('a lookup failing with %s maps like CreateActivation failures', async (_label, err, outcome) => {
    const { result, port } = await runWith('REPLACE_OFFLINE', [LOST], {}, { find: { 0: err } });
    expect(result).toMatchObject({ outcome, errorName: err.name, deregistered: [] });
    expect(port.calls).toEqual(['find']);
  });
});

describe('node ceiling', () => {
  /** `n` nodes of this API with other names, online. */
  const others = (n: number, from = 100): FakeNode[] => Array.from({ length: n }, (_, i) => node(from + i, `other-${i}`, 'Online'));

  test('below the ceiling: created, after counting all nodes of this API (marker filter only)', async () => {
    const { result, port } = await runWith('REPLACE_OFFLINE', others(2), { maxRegisteredNodes: 3 });
    expect(result.outcome).toBe('created');
    expect(port.finds).toEqual([
      [{ Key: 'tag:hybrid-fleet:issuer', Values: ['Stack/Api'] }, { Key: 'tag:Name', Values: ['web-01'] }],
      [{ Key: 'tag:hybrid-fleet:issuer', Values: ['Stack/Api'] }],
    ]);
  });

  test('at the ceiling: ceiling (429) with the count and the maximum, nothing created', async () => {
    const { result, port } = await runWith('REPLACE_OFFLINE', others(3), { maxRegisteredNodes: 3 });
    expect(result).toMatchObject({ outcome: 'ceiling', reason: CEILING_MESSAGE, check: { registered: 3, max: 3 }, deregistered: [] });
    expect(port.inputs).toHaveLength(0);
  });

  test('above the ceiling (it was lowered): ceiling', async () => {
    const { result } = await runWith('ALLOW_DUPLICATES', others(7), { maxRegisteredNodes: 5 });
    expect(result).toMatchObject({ outcome: 'ceiling', check: { registered: 7, max: 5, exceeded: true } });
  });

  test('ALLOW_DUPLICATES counts without the name lookup', async () => {
    const { port } = await runWith('ALLOW_DUPLICATES', others(1), { maxRegisteredNodes: 3 });
    expect(port.finds).toEqual([[{ Key: 'tag:hybrid-fleet:issuer', Values: ['Stack/Api'] }]]);
  });

  test('a replaced node does not count: at the ceiling with an offline node of the name → created, node replaced', async () => {
    const lost = node(1, 'web-01', 'ConnectionLost');
    const { result, port } = await runWith('REPLACE_OFFLINE', [...others(2), lost], { maxRegisteredNodes: 3 });
    expect(result).toMatchObject({ outcome: 'created', deregistered: [lost.InstanceId] });
    expect(port.calls).toEqual(['find', 'find', 'activations', 'find', 'activations', `deregister ${lost.InstanceId}`, 'create']);
  });

  test('ALWAYS_REPLACE: replaced online nodes do not count either', async () => {
    const online = node(1, 'web-01', 'Online');
    const { result } = await runWith('ALWAYS_REPLACE', [...others(2), online], { maxRegisteredNodes: 3 });
    expect(result).toMatchObject({ outcome: 'created', deregistered: [online.InstanceId] });
  });

  test('REJECT_IF_ONLINE keeps offline nodes of the name, so they count', async () => {
    const lost = node(1, 'web-01', 'ConnectionLost');
    const { result, port } = await runWith('REJECT_IF_ONLINE', [...others(2), lost], { maxRegisteredNodes: 3 });
    expect(result.outcome).toBe('ceiling');
    expect(port.deregisterCalls).toEqual([]);
  });

  test('still above the ceiling after replacement: ceiling and nothing is deregistered', async () => {
    const lost = node(1, 'web-01', 'ConnectionLost');
    const { result, port } = await runWith('REPLACE_OFFLINE', [...others(3), lost], { maxRegisteredNodes: 3 });
    expect(result).toMatchObject({ outcome: 'ceiling', check: { registered: 3, max: 3 }, deregistered: [] });
    expect(port.deregisterCalls).toEqual([]);
    expect(port.nodes.has(lost.InstanceId)).toBe(true);
  });

  test('a conflict is decided before the ceiling', async () => {
    const { result, port } = await runWith('REPLACE_OFFLINE', [...others(5), node(1, 'web-01', 'Online')], { maxRegisteredNodes: 3 });
    expect(result.outcome).toBe('conflict');
    expect(port.finds).toHaveLength(1);
  });

  test('nodes of other APIs do not count; EC2 nodes of this API do', async () => {
    const foreign = Array.from({ length: 5 }, (_, i) => node(200 + i, `f-${i}`, 'Online', { 'hybrid-fleet:issuer': 'Other/Api' }));
    expect((await runWith('REPLACE_OFFLINE', foreign, { maxRegisteredNodes: 1 })).result.outcome).toBe('created');
    const ec2 = node('i-0123456789abcdef0', 'ec2-node', 'Online');
    expect((await runWith('REPLACE_OFFLINE', [ec2], { maxRegisteredNodes: 1 })).result.outcome).toBe('ceiling');
  });

  test('MAX_REGISTERED_NODES 0 is no ceiling: nothing counted', async () => {
    const { result, port } = await runWith('REPLACE_OFFLINE', others(100), { maxRegisteredNodes: 0 });
    expect(result.outcome).toBe('created');
    expect(port.finds).toHaveLength(1);
  });

  test('a failing count maps like CreateActivation failures', async () => {
    const { result, port } = await runWith('REPLACE_OFFLINE', others(1), { maxRegisteredNodes: 3 }, { find: { 1: sdkError('ThrottlingException') } });
    expect(result).toMatchObject({ outcome: 'throttled', errorName: 'ThrottlingException' });
    expect(port.inputs).toHaveLength(0);
  });
});

describe('lifecycle decisions (pure)', () => {
  const info = (id: string, name: string | undefined, PingStatus?: string): NodeInfo => ({ InstanceId: id, Name: name, PingStatus });

  test('nodesNamed keeps mi- nodes whose Name equals the name, once each', () => {
    const nodes = [
      info(mi(1), 'web-01', 'Online'),
      info('i-0123456789abcdef0', 'web-01', 'Online'),
      info(mi(2), 'web-01-old', 'Online'),
      info(mi(3), undefined),
      info(mi(1), 'web-01', 'Online'),
      { Name: 'web-01' },
    ];
    expect(nodesNamed(nodes, 'web-01')).toEqual([info(mi(1), 'web-01', 'Online')]);
  });

  test.each<[NameConflictPolicy, NodeInfo[], ConflictDecision]>([
    ['REJECT_IF_ONLINE', [info(mi(1), 'n', 'Inactive'), info(mi(2), 'n', 'Online'), info(mi(3), 'n', 'Online')], { kind: 'conflict', instanceId: mi(2), reason: 'online' }],
    ['REJECT_IF_ONLINE', [info(mi(1), 'n', 'Inactive')], { kind: 'proceed', deregister: [] }],
    ['REPLACE_OFFLINE', [info(mi(1), 'n', 'Inactive'), info(mi(2), 'n', 'ConnectionLost')], { kind: 'proceed', deregister: [mi(1), mi(2)] }],
    ['REPLACE_OFFLINE', [info(mi(1), 'n', undefined)], { kind: 'proceed', deregister: [mi(1)] }],
    ['ALWAYS_REPLACE', [info(mi(1), 'n', 'Online')], { kind: 'proceed', deregister: [mi(1)] }],
    ['ALLOW_DUPLICATES', [info(mi(1), 'n', 'Online')], { kind: 'proceed', deregister: [] }],
  ])('decideNameConflict %s %j', (policy, nodes, expected) => {
    expect(decideNameConflict(policy, nodes)).toEqual(expected);
  });

  test('checkCeiling counts nodes and unused activations not being replaced', () => {
    const count = { nodes: new Set([mi(1), mi(2), 'i-0123456789abcdef0']), activations: new Set(['act-1']) };
    expect(checkCeiling(count, [], 4)).toEqual({ registered: 4, max: 4, exceeded: true });
    expect(checkCeiling(count, [mi(2)], 4)).toEqual({ registered: 3, max: 4, exceeded: false });
    expect(checkCeiling(count, ['act-1'], 4)).toEqual({ registered: 3, max: 4, exceeded: false });
    expect(checkCeiling(count, [], 0)).toEqual({ registered: 4, max: 0, exceeded: false });
    expect(checkCeiling(count, [], 5).exceeded).toBe(false);
  });

  test('messages name no node id and no count', () => {
    expect(conflictMessage('web-01', 'online')).toBe("a node named 'web-01' registered through this API is online");
    expect(conflictMessage('web-01', 'not-owned')).toBe("a node named 'web-01' registered through this API was registered by another caller");
    expect(conflictMessage('web-01', 'activation-not-owned')).toBe("an unused activation for 'web-01' issued to another caller is still valid");
    expect(CEILING_MESSAGE).not.toMatch(/\d/);
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
  test.each<[string, () => unknown, RegExp]>([
    ['a reserved default key', () => checkConfig({ ...CONFIG, defaultTags: { Name: 'x' } }), /default tag key "Name" is reserved/],
    ['the marker key allowed', () => checkConfig({ ...CONFIG, allowedTags: [{ key: 'hybrid-fleet:issuer' }] }), /is reserved/],
    ['a bad marker value', () => checkConfig({ ...CONFIG, markerTag: { key: 'k', value: 'a#b' } }), /marker tag value/],
    [
      'too many default tags',
      () => checkConfig({ ...CONFIG, defaultTags: Object.fromEntries(Array.from({ length: 49 }, (_, i) => [`D${i}`, 'v'])) }),
      /exceed 50 tags/,
    ],
    ['an empty role name', () => checkConfig({ ...CONFIG, roleName: '' }), /role name/],
    ['a negative node ceiling', () => checkConfig({ ...CONFIG, maxRegisteredNodes: -1 }), /ceiling/],
    ['a fractional node ceiling', () => checkConfig({ ...CONFIG, maxRegisteredNodes: 1.5 }), /ceiling/],
  ])('rejects %s', (_label, fn, message) => {
    expect(fn).toThrow(message);
  });

  test('accepts the fixture configuration', () => {
    expect(checkConfig(CONFIG)).toBe(CONFIG);
  });

  test('knows the four name conflict policies', () => {
    expect(NAME_CONFLICT_POLICIES).toEqual(['REJECT_IF_ONLINE', 'REPLACE_OFFLINE', 'ALWAYS_REPLACE', 'ALLOW_DUPLICATES']);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Callers bound to what they own, unused activations, the cached ceiling and the time budget
// ---------------------------------------------------------------------------------------------------------------

describe('callers bound to what they own', () => {
  const OTHER_ARN = 'arn:aws:sts::123456789012:assumed-role/OnPrem/cert-0002';
  const lost = (n: number, owner?: string): FakeNode => {
    const base = node(n, 'web-01', 'ConnectionLost');
    const tags: Record<string, string> = { ...base.tags };
    if (owner === undefined) delete tags[OWNER_KEY];
    else tags[OWNER_KEY] = owner;
    return { ...base, tags };
  };
  const runAs = (policy: NameConflictPolicy, nodes: FakeNode[], id: IdentityLike, extra: Partial<ActivationConfig> = {}) =>
    run(post({ name: 'web-01' }, id), { ...CONFIG, nameConflictPolicy: policy, ...extra }, new FakePort([], nodes));

  test.each<NameConflictPolicy>(['REPLACE_OFFLINE', 'ALWAYS_REPLACE'])(
    '%s: another IAM principal may not replace the node (409 naming no node, nothing deregistered)', async (policy) => {
      const victim = lost(1, PERSON_ARN);
      const { result, port } = await run(post({ name: 'web-01' }, identity(OTHER_ARN)), { ...CONFIG, nameConflictPolicy: policy }, new FakePort([], [victim]));
      expect(result).toMatchObject({ outcome: 'conflict', reason: "a node named 'web-01' registered through this API was registered by another caller" });
      expect(port.deregisterCalls).toEqual([]);
      expect(port.inputs).toHaveLength(0);
      if (result.outcome === 'conflict') expect(result.reason).not.toContain('mi-');
    });

  test('ALWAYS_REPLACE: another caller may not replace an online node either', async () => {
    const online = { ...node(1, 'web-01', 'Online') };
    const { result, port } = await run(post({ name: 'web-01' }, identity(OTHER_ARN)), { ...CONFIG, nameConflictPolicy: 'ALWAYS_REPLACE' }, new FakePort([], [online]));
    expect(result.outcome).toBe('conflict');
    expect(port.deregisterCalls).toEqual([]);
  });

  test('the owner replaces its own node', async () => {
    const mine = lost(1, OTHER_ARN);
    const { result, port } = await run(post({ name: 'web-01' }, identity(OTHER_ARN)), CONFIG, new FakePort([], [mine]));
    expect(result).toMatchObject({ outcome: 'created', deregistered: [mine.InstanceId] });
    expect(port.deregisterCalls).toEqual([mine.InstanceId]);
  });

  test('a node without an owner tag belongs to no IAM or API-key caller', async () => {
    const legacy = lost(1);
    const { result, port } = await runAs('REPLACE_OFFLINE', [legacy], identity());
    expect(result.outcome).toBe('conflict');
    expect(port.deregisterCalls).toEqual([]);
  });

  test('API-key callers own by key id', async () => {
    const config: ActivationConfig = { ...CONFIG, authorization: 'API_KEY' };
    const byKey = (key: string) => identity(null, { apiKeyId: key });
    const mine = lost(1, 'apiKey:key-a');
    const foreign = await run(post({ name: 'web-01' }, byKey('key-b')), config, new FakePort([], [mine]));
    expect(foreign.result.outcome).toBe('conflict');
    expect(foreign.port.deregisterCalls).toEqual([]);
    const own = await run(post({ name: 'web-01' }, byKey('key-a')), config, new FakePort([], [mine]));
    expect(own.result).toMatchObject({ outcome: 'created', deregistered: [mine.InstanceId] });
    expect(own.port.inputs[0]?.Tags).toContainEqual({ Key: OWNER_KEY, Value: 'apiKey:key-a' });
  });

  test('an EC2 caller bound to its instance id replaces the node of that name, owner tag or not', async () => {
    const old = { ...node(1, INSTANCE_ID, 'ConnectionLost') };
    const tags: Record<string, string> = { ...old.tags };
    delete tags[OWNER_KEY];
    const { result } = await run(post({}, identity(EC2_ARN)), CONFIG, new FakePort([], [{ ...old, tags }]));
    expect(result).toMatchObject({ outcome: 'created', deregistered: [old.InstanceId] });
  });

  test('with binding off, an EC2 caller may pick any name but still not replace a node it did not register', async () => {
    const victim = lost(1, PERSON_ARN);
    const { result, port } = await run(post({ name: 'web-01' }, identity(EC2_ARN)), { ...CONFIG, callerBinding: false }, new FakePort([], [victim]));
    expect(result.outcome).toBe('conflict');
    expect(port.deregisterCalls).toEqual([]);
  });

  test('records the caller as owner; an identity that is no valid tag value is hashed', async () => {
    const comma = 'arn:aws:sts::123456789012:assumed-role/Ops/a,b';
    const { port } = await run(post({ name: 'web-01' }, identity(comma)));
    const owner = port.inputs[0]?.Tags.find((t) => t.Key === OWNER_KEY)?.Value;
    expect(owner).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(owner).toBe(ownerTagValue(comma));
    expect(ownerTagValue(PERSON_ARN)).toBe(PERSON_ARN);
    expect(ownerTagValue(`arn:aws:iam::123456789012:user/${'p/'.repeat(130)}u`)).toMatch(/^sha256:/);
  });

  describe('per-caller name rules', () => {
    const rules = [{ caller: 'arn:aws:sts::123456789012:assumed-role/OnPrem/*', names: 'dc1-*' }];
    const config: ActivationConfig = { ...CONFIG, callerNameRules: rules };

    test('a matching caller may ask only for matching names (403, nothing looked up)', async () => {
      const { result, port } = await run(post({ name: 'web-01' }, identity(OTHER_ARN)), config);
      expect(result).toMatchObject({ outcome: 'forbidden', reason: 'this caller may not request an activation with this name' });
      expect(port.calls).toEqual([]);
      const ok = await run(post({ name: 'dc1-web-01' }, identity(OTHER_ARN)), config);
      expect(ok.result.outcome).toBe('created');
    });

    test('callers no rule matches are not restricted; globs are literal apart from *', async () => {
      expect((await run(post({ name: 'web-01' }, identity(PERSON_ARN)), config)).result.outcome).toBe('created');
      expect(nameAllowed([{ caller: '*', names: 'a.b*' }], 'x', 'aXb')).toBe(false);
      expect(nameAllowed([{ caller: '*', names: 'a.b*' }], 'x', 'a.b-1')).toBe(true);
      expect(nameAllowed([{ caller: 'apiKey:k1', names: 'x' }, { caller: 'apiKey:*', names: 'y' }], 'apiKey:k1', 'y')).toBe(true);
    });
  });
});

describe('at most one unused activation per name', () => {
  const FUTURE = new Date(NOW.getTime() + 3_600_000);
  const activation = (id: string, extra: Partial<ActivationInfo> = {}, owner: string = PERSON_ARN): ActivationInfo => ({
    ActivationId: id,
    DefaultInstanceName: 'web-01',
    RegistrationLimit: 1,
    RegistrationsCount: 0,
    Expired: false,
    ExpirationDate: FUTURE,
    Tags: [{ Key: 'Name', Value: 'web-01' }, { Key: 'hybrid-fleet:issuer', Value: 'Stack/Api' }, { Key: OWNER_KEY, Value: owner }],
    ...extra,
  });
  const runActs = (acts: ActivationInfo[], id: IdentityLike = identity(), extra: Partial<ActivationConfig> = {}) =>
    run(post({ name: 'web-01' }, id), { ...CONFIG, ...extra }, new FakePort([], [], {}, acts));

  test('the caller\'s own unused activation is deleted before the new one is created', async () => {
    const { result, port } = await runActs([activation('act-old')]);
    expect(result).toMatchObject({ outcome: 'created', replacedActivations: ['act-old'] });
    expect(port.activationFinds[0]).toEqual([{ FilterKey: 'DefaultInstanceName', FilterValues: ['web-01'] }]);
    expect(port.calls).toEqual(['find', 'activations', 'delete act-old', 'create']);
  });

  test('another caller\'s unused activation is a conflict: nothing deleted, nothing created', async () => {
    const { result, port } = await runActs([activation('act-x', {}, 'arn:aws:sts::123456789012:assumed-role/OnPrem/cert-9')]);
    expect(result).toMatchObject({ outcome: 'conflict', reason: "an unused activation for 'web-01' issued to another caller is still valid" });
    expect(port.deleteCalls).toEqual([]);
    expect(port.inputs).toHaveLength(0);
  });

  test('used, expired, other-API and other-name activations are left alone', async () => {
    const acts = [
      activation('used', { RegistrationsCount: 1 }),
      activation('expired', { Expired: true }),
      activation('past', { ExpirationDate: new Date(NOW.getTime() - 1) }),
      activation('other-api', { Tags: [{ Key: 'hybrid-fleet:issuer', Value: 'Other/Api' }] }),
      activation('other-name', { DefaultInstanceName: 'web-010' }),
    ];
    const { result, port } = await runActs(acts);
    expect(result.outcome).toBe('created');
    expect(port.deleteCalls).toEqual([]);
  });

  test('an activation already gone counts as replaced', async () => {
    const port = new FakePort([], [], {}, [activation('act-old')]);
    port.deleteActivation = async (id) => { port.deleteCalls.push(id); throw sdkError('InvalidActivationId'); };
    const { result } = await run(post({ name: 'web-01' }), CONFIG, port);
    expect(result).toMatchObject({ outcome: 'created', replacedActivations: ['act-old'] });
  });

  test('ALLOW_DUPLICATES does not look names up', async () => {
    const { result, port } = await runActs([activation('act-old')], identity(), { nameConflictPolicy: 'ALLOW_DUPLICATES' });
    expect(result.outcome).toBe('created');
    expect(port.calls).toEqual(['create']);
  });

  test('unused activations of this API count toward the ceiling; the replaced one does not', async () => {
    const others = [activation('a1', { DefaultInstanceName: 'x1' }), activation('a2', { DefaultInstanceName: 'x2' })];
    const full = await runActs(others, identity(), { maxRegisteredNodes: 2 });
    expect(full.result).toMatchObject({ outcome: 'ceiling', reason: CEILING_MESSAGE, check: { registered: 2, max: 2 } });
    expect(full.port.activationFinds[1]).toEqual([{ FilterKey: 'IamRole', FilterValues: ['HybridNodeRole'] }]);
    const replacing = await runActs([others[0]!, activation('mine')], identity(), { maxRegisteredNodes: 2 });
    expect(replacing.result).toMatchObject({ outcome: 'created', replacedActivations: ['mine'] });
  });
});

describe('cached ceiling count', () => {
  test('reused for 30 s per container, updated with what the container did', async () => {
    const cache = new CeilingCache();
    const port = new FakePort([], [node(1, 'other', 'Online')]);
    const config: ActivationConfig = { ...CONFIG, maxRegisteredNodes: 3 };
    const go = (name: string, at: Date) => handleActivationRequest(port, config, post({ name }), at, async () => undefined, { ceilingCache: cache });
    expect((await go('a', NOW)).outcome).toBe('created');
    const countsAfterFirst = port.finds.length;
    expect((await go('b', new Date(NOW.getTime() + 29_000))).outcome).toBe('created');
    expect(port.finds.length - countsAfterFirst).toBe(1); // the name lookup only, no count
    // 1 node + 2 activations this container created = 3: the cached count refuses the third without listing.
    const third = await go('c', new Date(NOW.getTime() + 29_500));
    expect(third.outcome).toBe('ceiling');
    const before = port.activationFinds.length;
    await go('d', new Date(NOW.getTime() + 30_000));
    expect(port.activationFinds.slice(before).map((f) => f[0]?.FilterKey)).toEqual(['DefaultInstanceName', 'IamRole']);
  });
});

describe('time budget', () => {
  const budgetOf = (ms: number[]): { remainingMs: () => number } => {
    let i = 0;
    return { remainingMs: () => ms[Math.min(i++, ms.length - 1)]! };
  };

  test('no budget left: deadline (503), no SSM call', async () => {
    const port = new FakePort();
    const result = await handleActivationRequest(port, CONFIG, post({ name: 'web-01' }), NOW, async () => undefined, { budget: budgetOf([0]) });
    expect(result).toMatchObject({ outcome: 'deadline', errorName: 'DeadlineExceeded' });
    expect(port.calls).toEqual([]);
  });

  test('the budget running out between steps stops before CreateActivation', async () => {
    const port = new FakePort([], [node(1, 'web-01', 'ConnectionLost')]);
    const result = await handleActivationRequest(port, CONFIG, post({ name: 'web-01' }), NOW, async () => undefined, { budget: budgetOf([5000, 5000, 0]) });
    expect(result.outcome).toBe('deadline');
    expect(port.inputs).toHaveLength(0);
  });

  test('an aborted SDK call is a deadline, not a 500', async () => {
    const abort = Object.assign(new Error('Request aborted'), { name: 'AbortError' });
    const { result } = await run(post({ name: 'web-01' }), CONFIG, new FakePort([fail(abort)]));
    expect(result.outcome).toBe('deadline');
  });

  test('role retries stop when the budget has no room for the next sleep', async () => {
    const notVisible = sdkError('ValidationException', 'Not existing role: arn:aws:iam::1:role/x');
    const port = new FakePort([fail(notVisible), fail(notVisible), fail(notVisible), fail(notVisible)]);
    const delays: number[] = [];
    const result = await handleActivationRequest(port, { ...CONFIG, roleRetryBaseMs: 1000 }, post({ name: 'web-01' }), NOW,
      async (ms) => { delays.push(ms); }, { budget: budgetOf([10_000, 10_000, 10_000, 10_000, 1500]) });
    expect(result.outcome).toBe('unavailable');
    expect(delays).toEqual([1000]);
    expect(port.inputs).toHaveLength(2);
  });
});
