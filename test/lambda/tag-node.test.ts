import type { IdentityLike } from '../../lambda/shared/caller';
import type { NodeInfo } from '../../lambda/shared/nodes';
import type { SdkTag } from '../../lambda/shared/tags';
import {
  bindingViolation,
  checkTagNodeConfig,
  handleTagRequest,
  instanceIdOf,
  isTagRoute,
  notFoundMessage,
  parseTagBody,
  tagLimitViolation,
  taggedBody,
  type TagEventLike,
  type TagNodeConfig,
  type TagNodePort,
  type TagResult,
} from '../../lambda/tag-node/tag-node';

// ---------------------------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------------------------

const NODE_ID = 'mi-0123456789abcdef0';
const INSTANCE_ID = 'i-0123456789abcdef0';
const EC2_ARN = `arn:aws:sts::123456789012:assumed-role/NodeRole/${INSTANCE_ID}`;
const PERSON_ARN = 'arn:aws:sts::123456789012:assumed-role/Admin/alice@example.com';
const MARKER_KEY = 'hybrid-fleet:activation-api';

const CONFIG: TagNodeConfig = {
  markerTag: { key: MARKER_KEY, value: 'Stack/Api' },
  allowedTags: [{ key: 'PatchMode', values: ['report', 'enforce'] }, { key: 'Team' }, { key: 'Owner' }],
  authorization: 'IAM',
  callerBinding: true,
};

const OWNER_KEY = 'hybrid-fleet:owner';

/** Tags of a node registered through this API by PERSON_ARN, named `name`. */
const ourTags = (name = 'web-01', extra: Record<string, string> = {}): Record<string, string> =>
  ({ Name: name, [MARKER_KEY]: 'Stack/Api', [OWNER_KEY]: PERSON_ARN, Env: 'prod', ...extra });

/** An error shaped like the SDK's: a modeled name and `$metadata` (which the handlers tell SDK errors by). */
const sdkError = (name: string, message = 'boom', extra: Record<string, unknown> = {}): Error =>
  Object.assign(new Error(message), { name, $metadata: {}, ...extra });

type Step = 'find' | 'list' | 'add';

/** A fake SSM holding nodes and their tags; records every call; `faults` make a step throw. */
class FakePort implements TagNodePort {
  readonly calls: string[] = [];
  readonly added: { instanceId: string; tags: SdkTag[] }[] = [];
  readonly nodes = new Map<string, { info: NodeInfo; tags: Map<string, string> }>();

  constructor(nodes: Record<string, Record<string, string>> = {}, private readonly faults: Partial<Record<Step, unknown>> = {}) {
    for (const [id, tags] of Object.entries(nodes)) {
      this.nodes.set(id, { info: { InstanceId: id, Name: tags.Name, PingStatus: 'Online' }, tags: new Map(Object.entries(tags)) });
    }
  }

  private fault(step: Step): void {
    if (this.faults[step] !== undefined) throw this.faults[step];
  }

  async findNode(instanceId: string): Promise<NodeInfo | undefined> {
    this.calls.push(`find ${instanceId}`);
    this.fault('find');
    return this.nodes.get(instanceId)?.info;
  }

  async listTags(instanceId: string): Promise<SdkTag[]> {
    this.calls.push(`list ${instanceId}`);
    this.fault('list');
    const node = this.nodes.get(instanceId);
    if (!node) throw sdkError('InvalidResourceId');
    return [...node.tags].map(([Key, Value]) => ({ Key, Value }));
  }

  async addTags(instanceId: string, tags: SdkTag[]): Promise<void> {
    this.calls.push(`add ${instanceId}`);
    this.fault('add');
    this.added.push({ instanceId, tags });
    for (const { Key, Value } of tags) this.nodes.get(instanceId)?.tags.set(Key, Value);
  }

  tagsOf(instanceId: string): Record<string, string> {
    return Object.fromEntries(this.nodes.get(instanceId)?.tags ?? []);
  }
}

const identity = (userArn: string | null = PERSON_ARN, extra: IdentityLike = {}): IdentityLike =>
  ({ userArn, accountId: '123456789012', sourceIp: '198.51.100.7', apiKeyId: null, ...extra });

function put(
  tags: unknown,
  options: { id?: string | null; userArn?: string | null; rawBody?: string | null; isBase64Encoded?: boolean } = {},
): TagEventLike {
  const id = options.id === undefined ? NODE_ID : options.id;
  return {
    body: options.rawBody !== undefined ? options.rawBody : JSON.stringify({ tags }),
    isBase64Encoded: options.isBase64Encoded ?? false,
    pathParameters: id === null ? null : { instanceId: id },
    requestContext: { identity: identity(options.userArn === undefined ? PERSON_ARN : options.userArn) },
  };
}

async function run(event: TagEventLike, port = new FakePort({ [NODE_ID]: ourTags() }), config: TagNodeConfig = CONFIG) {
  const result = await handleTagRequest(port, config, event);
  return { result, port };
}

function reasonOf(result: TagResult): string {
  if (!('reason' in result)) throw new Error(`expected a 4xx outcome, got ${JSON.stringify(result)}`);
  return result.reason;
}

// ---------------------------------------------------------------------------------------------------------------
// Success
// ---------------------------------------------------------------------------------------------------------------

describe('tagging', () => {
  test('adds the requested tags with one AddTagsToResource and returns the allow-listed resulting tags', async () => {
    const port = new FakePort({ [NODE_ID]: ourTags('web-01', { Team: 'old', Owner: 'ops' }) });
    const { result } = await run(put({ PatchMode: 'enforce', Team: 'payments' }), port);
    expect(result).toEqual({
      caller: { caller: PERSON_ARN, callerAccount: '123456789012', sourceIp: '198.51.100.7', boundInstanceId: undefined, owner: PERSON_ARN },
      instanceId: NODE_ID,
      tagKeys: ['PatchMode', 'Team'],
      outcome: 'tagged',
      tags: { PatchMode: 'enforce', Team: 'payments', Owner: 'ops' },
    });
    expect(port.calls).toEqual([`find ${NODE_ID}`, `list ${NODE_ID}`, `add ${NODE_ID}`]);
    expect(port.added).toEqual([{ instanceId: NODE_ID, tags: [{ Key: 'PatchMode', Value: 'enforce' }, { Key: 'Team', Value: 'payments' }] }]);
    // Name, the marker and tags outside the allow-list are kept on the node but not shown.
    expect(port.tagsOf(NODE_ID)).toEqual({ ...ourTags(), Team: 'payments', Owner: 'ops', PatchMode: 'enforce' });
  });

  test('the body has the node id and the tags in allow-list order', async () => {
    const { result } = await run(put({ Team: 't', PatchMode: 'report' }));
    if (result.outcome !== 'tagged') throw new Error(result.outcome);
    expect(Object.keys(result.tags)).toEqual(['PatchMode', 'Team']);
    expect(taggedBody(result.instanceId, result.tags)).toEqual({ instanceId: NODE_ID, tags: { PatchMode: 'report', Team: 't' } });
  });

  test('accepts an empty value for a key without a value list', async () => {
    const { result } = await run(put({ Team: '' }));
    expect(result).toMatchObject({ outcome: 'tagged', tags: { Team: '' } });
  });

  test('decodes a base64-encoded body', async () => {
    const rawBody = Buffer.from(JSON.stringify({ tags: { Team: 'wéb' } })).toString('base64');
    const { result } = await run(put(undefined, { rawBody, isBase64Encoded: true }));
    expect(result).toMatchObject({ outcome: 'tagged', tags: { Team: 'wéb' } });
  });
});

// ---------------------------------------------------------------------------------------------------------------
// 404: not a node of this API
// ---------------------------------------------------------------------------------------------------------------

describe('not found', () => {
  test.each<[string, string | null]>([
    ['an EC2 instance id', INSTANCE_ID],
    ['upper-case hex', 'mi-0123456789ABCDEF0'],
    ['16 hex digits', 'mi-0123456789abcdef'],
    ['18 hex digits', 'mi-0123456789abcdef01'],
    ['a path traversal attempt', '..%2F..%2Factivations'],
    ['no path parameter', null],
    ['an empty path parameter', ''],
  ])('%s → not-found without calling SSM or reading the body', async (_label, id) => {
    const { result, port } = await run(put({ Owner: 'x' }, { id, rawBody: '{not json' }));
    expect(result.outcome).toBe('not-found');
    expect(port.calls).toEqual([]);
  });

  test('an unknown node → not-found after the lookup', async () => {
    const { result, port } = await run(put({ Team: 'x' }), new FakePort({}));
    expect(result).toMatchObject({ outcome: 'not-found', instanceId: NODE_ID, tagKeys: ['Team'] });
    expect(port.calls).toEqual([`find ${NODE_ID}`]);
  });

  test.each<[string, Record<string, string>]>([
    ['no marker tag', { Name: 'web-01', Team: 'x' }],
    ['the marker of another API', { Name: 'web-01', [MARKER_KEY]: 'Other/Api' }],
    ['the marker value under another key', { Name: 'web-01', 'hybrid-fleet:issuer': 'Stack/Api' }],
  ])('a node with %s is not ours → not-found, nothing tagged', async (_label, tags) => {
    const port = new FakePort({ [NODE_ID]: tags });
    const { result } = await run(put({ Team: 'x' }), port);
    expect(result.outcome).toBe('not-found');
    expect(port.calls).toEqual([`find ${NODE_ID}`, `list ${NODE_ID}`]);
    expect(port.tagsOf(NODE_ID)).toEqual(tags);
  });

  test.each<[string, Step, Error]>([
    ['DescribeInstanceInformation says InvalidInstanceId', 'find', sdkError('InvalidInstanceId')],
    ['ListTagsForResource says InvalidResourceId (deregistered meanwhile)', 'list', sdkError('InvalidResourceId')],
    ['ListTagsForResource is denied (the role may only read marked nodes)', 'list', sdkError('AccessDeniedException', 'not authorized')],
    ['AddTagsToResource says InvalidResourceId', 'add', sdkError('InvalidResourceId')],
  ])('%s → not-found with the error name', async (_label, step, err) => {
    const port = new FakePort({ [NODE_ID]: ourTags() }, { [step]: err });
    const { result } = await run(put({ Team: 'x' }), port);
    expect(result).toMatchObject({ outcome: 'not-found', errorName: err.name });
  });

  test('the 404 message is the same whatever the reason', () => {
    expect(notFoundMessage(NODE_ID)).toBe(`no node ${NODE_ID} registered through this API`);
    expect(notFoundMessage(undefined)).toBe('no node registered through this API');
  });
});

// ---------------------------------------------------------------------------------------------------------------
// 400: bad bodies and tags (all or nothing)
// ---------------------------------------------------------------------------------------------------------------

describe('400 rules', () => {
  const many = (n: number): Record<string, string> => Object.fromEntries(Array.from({ length: n }, (_, i) => [`T${i}`, 'v']));
  const MANY_ALLOWED: TagNodeConfig = { ...CONFIG, allowedTags: Array.from({ length: 60 }, (_, i) => ({ key: `T${i}` })) };

  test.each<[string, string | null, RegExp]>([
    ['invalid JSON', '{"tags":', /valid JSON/],
    ['an array body', '[]', /JSON object/],
    ['no body', null, /valid JSON/],
    ['no tags field', '{}', /tags is required/],
    ['an unknown field', '{"tags":{"Team":"a"},"name":"x"}', /unknown field "name"/],
    ['tags not an object', '{"tags":["Team"]}', /tags must be an object/],
    ['tags null', '{"tags":null}', /tags must be an object/],
    ['no tags at all', '{"tags":{}}', /1 to 50 entries/],
    ['a number value', '{"tags":{"Team":1}}', /string values/],
    ['a key not allowed', '{"tags":{"Env":"x"}}', /tag key "Env" is not allowed/],
    ['the Name key', '{"tags":{"Name":"i-0fedcba9876543210"}}', /tag key "Name" is not allowed/],
    ['the marker key', `{"tags":{"${MARKER_KEY}":"Stack/Api"}}`, /is not allowed/],
    ['a value not allowed', '{"tags":{"PatchMode":"yolo"}}', /value of tag "PatchMode" is not allowed/],
    ['a value with #', '{"tags":{"Team":"a#b"}}', /must be 0 to 256/],
    ['a 257-character value', `{"tags":{"Team":"${'v'.repeat(257)}"}}`, /must be 0 to 256/],
    ['a key with #', '{"tags":{"Team#":"a"}}', /tag keys must be 1 to 128/],
    ['one bad tag among good ones', '{"tags":{"Team":"a","Owner":"b","PatchMode":"nope"}}', /PatchMode/],
    ['a body over 8192 bytes', JSON.stringify({ tags: { Team: 'a' } }) + ' '.repeat(8200), /at most 8192 bytes/],
  ])('rejects %s; SSM is not called', async (_label, rawBody, reason) => {
    const { result, port } = await run(put(undefined, { rawBody }));
    expect(result.outcome).toBe('rejected');
    expect(reasonOf(result)).toMatch(reason);
    expect(port.calls).toEqual([]);
    expect(port.tagsOf(NODE_ID)).toEqual(ourTags());
  });

  test('rejects 51 requested tags', async () => {
    const { result } = await run(put(many(51)), undefined, MANY_ALLOWED);
    expect(reasonOf(result)).toMatch(/1 to 50 entries/);
  });

  test('existing ∪ requested = 50 is accepted', async () => {
    const port = new FakePort({ [NODE_ID]: ourTags() }); // 4 tags
    const { result } = await run(put(many(46)), port, MANY_ALLOWED);
    expect(result.outcome).toBe('tagged');
    expect(port.nodes.get(NODE_ID)?.tags.size).toBe(50);
  });

  test('existing ∪ requested = 51 is rejected and nothing is applied', async () => {
    const port = new FakePort({ [NODE_ID]: ourTags() });
    const { result } = await run(put(many(47)), port, MANY_ALLOWED);
    expect(result.outcome).toBe('rejected');
    expect(reasonOf(result)).toMatch(/the node would have 51 tags, at most 50/);
    expect(port.calls).toEqual([`find ${NODE_ID}`, `list ${NODE_ID}`]);
  });

  test('a requested key the node already has counts once', async () => {
    const port = new FakePort({ [NODE_ID]: ourTags('web-01', many(46)) }); // 50 tags
    const { result } = await run(put({ T0: 'new', T45: 'new' }), port, MANY_ALLOWED);
    expect(result.outcome).toBe('tagged');
  });

  test('SSM TooManyTagsError (a race) → rejected', async () => {
    const port = new FakePort({ [NODE_ID]: ourTags() }, { add: sdkError('TooManyTagsError') });
    const { result } = await run(put({ Team: 'x' }), port);
    expect(result).toMatchObject({ outcome: 'rejected', errorName: 'TooManyTagsError', reason: expect.stringMatching(/too many tags/) });
  });

  test('tagLimitViolation counts distinct keys', () => {
    const existing = new Map(Object.entries(ourTags()));
    expect(tagLimitViolation(existing, new Map(Object.entries(many(46))))).toBeUndefined();
    expect(tagLimitViolation(existing, new Map(Object.entries(many(47))))).toMatch(/51 tags/);
    expect(tagLimitViolation(existing, new Map([['Name', 'x']]))).toBeUndefined();
  });

  test('parseTagBody returns the tags in request order', () => {
    expect([...parseTagBody('{"tags":{"Team":"a","PatchMode":"report"}}', false, CONFIG.allowedTags)]).toEqual([['Team', 'a'], ['PatchMode', 'report']]);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Caller binding
// ---------------------------------------------------------------------------------------------------------------

describe('caller binding', () => {
  test('an instance-profile session may tag the node named after its instance id', async () => {
    const port = new FakePort({ [NODE_ID]: ourTags(INSTANCE_ID) });
    const { result } = await run(put({ Team: 'x' }, { userArn: EC2_ARN }), port);
    expect(result.outcome).toBe('tagged');
  });

  test('an instance-profile session may not tag another node → forbidden, nothing tagged', async () => {
    const port = new FakePort({ [NODE_ID]: ourTags('web-01') });
    const { result } = await run(put({ Team: 'x' }, { userArn: EC2_ARN }), port);
    expect(result.outcome).toBe('forbidden');
    expect(reasonOf(result)).toContain(INSTANCE_ID);
    expect(port.calls).toEqual([`find ${NODE_ID}`, `list ${NODE_ID}`]);
    expect(port.tagsOf(NODE_ID)).toEqual(ourTags('web-01'));
  });

  test('a node without a Name tag → forbidden for a bound caller', async () => {
    const tags = ourTags();
    delete tags.Name;
    const { result } = await run(put({ Team: 'x' }, { userArn: EC2_ARN }), new FakePort({ [NODE_ID]: tags }));
    expect(result.outcome).toBe('forbidden');
  });

  test('a node of another API → not-found before binding is checked', async () => {
    const port = new FakePort({ [NODE_ID]: { Name: INSTANCE_ID } });
    const { result } = await run(put({ Team: 'x' }, { userArn: EC2_ARN }), port);
    expect(result.outcome).toBe('not-found');
  });

  test('the caller that registered the node (its owner tag) may tag it', async () => {
    const { result } = await run(put({ Team: 'x' }, { userArn: PERSON_ARN }));
    expect(result.outcome).toBe('tagged');
  });

  test.each<[string, TagNodeConfig, string | null]>([
    ['binding off and an EC2 caller', { ...CONFIG, callerBinding: false }, EC2_ARN],
    ['API_KEY authorization and an EC2 caller', { ...CONFIG, authorization: 'API_KEY' }, EC2_ARN],
    ['another person session', CONFIG, 'arn:aws:sts::123456789012:assumed-role/Admin/bob@example.com'],
  ])('%s may not tag a node it did not register → forbidden, nothing tagged', async (_label, config, userArn) => {
    const port = new FakePort({ [NODE_ID]: ourTags() });
    const { result } = await run(put({ PatchMode: 'enforce' }, { userArn }), port, config);
    expect(result).toMatchObject({ outcome: 'forbidden', reason: 'this caller may only tag nodes it registered' });
    expect(port.added).toEqual([]);
  });

  test('API-key callers own by key id', async () => {
    const config: TagNodeConfig = { ...CONFIG, authorization: 'API_KEY' };
    const event = (key: string): TagEventLike => ({ ...put({ Team: 'x' }), requestContext: { identity: identity(null, { apiKeyId: key }) } });
    const port = new FakePort({ [NODE_ID]: ourTags('web-01', { [OWNER_KEY]: 'apiKey:key-a' }) });
    expect((await run(event('key-b'), port, config)).result.outcome).toBe('forbidden');
    expect(port.added).toEqual([]);
    expect((await run(event('key-a'), port, config)).result.outcome).toBe('tagged');
  });

  test('a node without an owner tag belongs to no IAM or API-key caller', async () => {
    const tags = ourTags();
    delete tags[OWNER_KEY];
    const { result } = await run(put({ Team: 'x' }), new FakePort({ [NODE_ID]: tags }));
    expect(result.outcome).toBe('forbidden');
  });

  test('bindingViolation', () => {
    const named = (name: string) => new Map([['Name', name]]);
    expect(bindingViolation({ boundInstanceId: INSTANCE_ID }, named(INSTANCE_ID))).toBeUndefined();
    expect(bindingViolation({ boundInstanceId: INSTANCE_ID }, named('web-01'))).toMatch(/may only tag the node named i-0123456789abcdef0/);
    expect(bindingViolation({}, named('web-01'))).toBe('this caller may only tag nodes it registered');
    expect(bindingViolation({ owner: 'o' }, new Map([[OWNER_KEY, 'o']]))).toBeUndefined();
  });

  test('no budget left: deadline (503) and no SSM call', async () => {
    const port = new FakePort({ [NODE_ID]: ourTags() });
    const result = await handleTagRequest(port, CONFIG, put({ Team: 'x' }), { remainingMs: () => 0 });
    expect(result).toMatchObject({ outcome: 'deadline', errorName: 'DeadlineExceeded' });
    expect(port.calls).toEqual([]);
  });

  test('an aborted SDK call is a deadline', async () => {
    const abort = Object.assign(new Error('aborted'), { name: 'AbortError' });
    const { result } = await run(put({ Team: 'x' }), new FakePort({ [NODE_ID]: ourTags() }, { add: abort }));
    expect(result.outcome).toBe('deadline');
  });
});

// ---------------------------------------------------------------------------------------------------------------
// SSM failures
// ---------------------------------------------------------------------------------------------------------------

describe('SSM failures', () => {
  test.each<[string, Step, Error, TagResult['outcome']]>([
    ['throttled lookup', 'find', sdkError('ThrottlingException', 'Rate exceeded SECRET'), 'throttled'],
    ['5xx on ListTagsForResource', 'list', sdkError('InternalServerError', 'x SECRET', { $metadata: { httpStatusCode: 500 } }), 'unavailable'],
    ['timeout on AddTagsToResource', 'add', sdkError('TimeoutError', 'SECRET'), 'unavailable'],
    ['throttled AddTagsToResource', 'add', sdkError('ThrottlingException', 'SECRET'), 'throttled'],
    ['AddTagsToResource denied', 'add', sdkError('AccessDeniedException', 'not authorized SECRET'), 'error'],
    ['lookup denied', 'find', sdkError('AccessDeniedException', 'SECRET'), 'error'],
    ['anything else', 'list', sdkError('ValidationException', 'SECRET'), 'error'],
  ])('%s → %s with the error name only', async (_label, step, err, outcome) => {
    const { result } = await run(put({ Team: 'x' }), new FakePort({ [NODE_ID]: ourTags() }, { [step]: err }));
    expect(result).toMatchObject({ outcome, errorName: err.name, instanceId: NODE_ID, tagKeys: ['Team'] });
    expect(JSON.stringify(result)).not.toContain('SECRET');
  });

  test('an unexpected error in a port call becomes an error outcome (500)', async () => {
    const port = new FakePort({ [NODE_ID]: ourTags() });
    const broken = { ...port, findNode: () => { throw new TypeError('bug'); } } as unknown as TagNodePort;
    await expect(handleTagRequest(broken, CONFIG, put({ Team: 'x' }))).resolves.toMatchObject({ outcome: 'error', errorName: 'TypeError' });
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Routing, path and configuration
// ---------------------------------------------------------------------------------------------------------------

describe('routing and path', () => {
  test.each<[string, string, boolean]>([
    ['PUT', '/instances/{instanceId}/tags', true],
    ['PUT', `/instances/${NODE_ID}/tags`, true],
    ['PUT', `/instances/${NODE_ID}/tags/`, true],
    ['POST', '/instances/{instanceId}/tags', false],
    ['GET', `/instances/${NODE_ID}/tags`, false],
    ['PUT', '/instances/tags', false],
    ['PUT', `/instances/${NODE_ID}/tags/extra`, false],
    ['PUT', '/activations', false],
  ])('%s %s → %s', (method, path, expected) => {
    expect(isTagRoute(method, path)).toBe(expected);
  });

  test('instanceIdOf reads pathParameters.instanceId, cut to 64 characters', () => {
    expect(instanceIdOf({ pathParameters: { instanceId: NODE_ID } })).toBe(NODE_ID);
    expect(instanceIdOf({ pathParameters: { instanceId: 'x'.repeat(100) } })).toBe('x'.repeat(64));
    expect(instanceIdOf({ pathParameters: null })).toBeUndefined();
    expect(instanceIdOf({})).toBeUndefined();
  });
});

describe('configuration', () => {
  test('accepts the fixture', () => {
    expect(checkTagNodeConfig(CONFIG)).toBe(CONFIG);
  });

  test.each<[string, TagNodeConfig, RegExp]>([
    ['Name allowed', { ...CONFIG, allowedTags: [{ key: 'Name' }] }, /"Name" is reserved/],
    ['the marker key allowed', { ...CONFIG, allowedTags: [{ key: MARKER_KEY }] }, /is reserved/],
    ['a bad marker value', { ...CONFIG, markerTag: { key: MARKER_KEY, value: 'a#b' } }, /marker tag value/],
  ])('rejects %s', (_label, config, message) => {
    expect(() => checkTagNodeConfig(config)).toThrow(message);
  });
});
