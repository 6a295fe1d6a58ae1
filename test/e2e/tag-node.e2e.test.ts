/**
 * End-to-end tests of the BUNDLED tag-node handler (`assets/tag-node/index.js`, built by `npm run bundle`) against
 * the loopback SSM stub (test/support/ssm-stub.ts), with the SDK inside the bundle pointed at it by
 * `AWS_ENDPOINT_URL_SSM`. Contract: docs/handler-contract.md, "tag-node". The bundle runs in a child node process
 * (test/support/handler-process.ts), one per test unless shared.
 */
import { randomUUID } from 'node:crypto';
import type { Stack } from 'aws-cdk-lib';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { lambdaContext, restApiEvent } from '../support/api-gateway-event';
import { expect503, expectError, parseBody, useE2e, type ApiInvocation } from '../support/e2e';
import { headerOf, jsonLines, type HandlerProcess } from '../support/handler-process';
import { Faults, type StoredNode } from '../support/ssm-stub';
import { HybridActivationApi, type AllowedTag, type HybridActivationApiProps } from '../../lib';

const ACCOUNT = '111122223333';
const MARKER_KEY = HybridActivationApi.MARKER_TAG_KEY;
const MARKER_VALUE = 'HybridFleetExample/ActivationApi';
const EXTRA_KEYS = Array.from({ length: 50 }, (_, i) => `T${String(i + 1).padStart(2, '0')}`);
const ALLOWED_TAGS: AllowedTag[] = [{ key: 'PatchMode', values: ['report', 'enforce'] }, { key: 'Team' }, ...EXTRA_KEYS.map((key) => ({ key }))];
const PROVISIONER_ARN = `arn:aws:sts::${ACCOUNT}:assumed-role/Provisioner/ci-session`;
const OWNER_KEY = 'hybrid-fleet:owner';
const INSTANCE_ID = 'i-0123456789abcdef0';
const INSTANCE_ARN = `arn:aws:sts::${ACCOUNT}:assumed-role/HybridNodeBootstrap/${INSTANCE_ID}`;
const SECRET_HEADER = 'AWS4-HMAC-SHA256 Credential=AKIASECRETMARKER/20260101/eu-west-1/execute-api/aws4_request';

/** The API as the tests deploy it: IAM authorization, caller binding on (the defaults). */
const api = (props: HybridActivationApiProps = {}) => (stack: Stack) => {
  new HybridActivationApi(stack, 'Activations', { markerTagValue: MARKER_VALUE, allowedTags: ALLOWED_TAGS, janitor: false, serverErrorAlarm: false, ...props });
};
const e2e = useE2e('tag-node', {
  configs: { default: api(), unbound: api({ callerBinding: false }) },
  // Faults in milliseconds rather than seconds; logs only where a test reads them.
  tuning: { LOG_LEVEL: 'SILENT', SSM_MAX_ATTEMPTS: '3', SSM_REQUEST_TIMEOUT_MS: '400' },
});
const { stub, startHandler } = e2e;

interface EventOptions {
  /** `tags` object, JSON-encoded as `{"tags": ...}`; or a raw body string. */
  readonly tags?: unknown;
  readonly body?: string;
  readonly userArn?: string | null;
  readonly method?: string;
}

/** An API Gateway REST API (v1) Lambda proxy event for `PUT /instances/{instanceId}/tags`. */
function tagEvent(instanceId: string, options: EventOptions = {}): APIGatewayProxyEvent {
  return restApiEvent({
    method: options.method ?? 'PUT',
    resource: '/instances/{instanceId}/tags',
    path: `/instances/${instanceId}/tags`,
    pathParameters: { instanceId },
    body: options.body ?? JSON.stringify({ tags: options.tags }),
    headers: {
      'Host': 'abc123.execute-api.eu-west-1.amazonaws.com',
      'User-Agent': 'curl/7.88.1',
      'Authorization': SECRET_HEADER,
      'X-Amz-Security-Token': 'SESSIONTOKENSECRETMARKER',
      'Content-Type': 'application/json',
    },
    userArn: options.userArn === undefined ? PROVISIONER_ARN : options.userArn,
    accountId: ACCOUNT,
  });
}

let handler: HandlerProcess;

async function invoke(instanceId: string, options: EventOptions = {}, proc: HandlerProcess = handler): Promise<ApiInvocation> {
  const ctx = lambdaContext(randomUUID(), { accountId: ACCOUNT, functionName: 'HybridFleetExample-TagNode' });
  const res = await proc.invoke(tagEvent(instanceId, options), ctx);
  return { res, body: parseBody(res), ctx };
}

function expect404(inv: ApiInvocation, instanceId: string): void {
  expectError(inv, 404);
  expect(inv.body.message).toBe(`no node ${instanceId} registered through this API`);
}

/** A node registered through this API the way SSM does it: an activation with the marker, then a registration. */
function registeredNode(name = 'web-01', extraTags: Record<string, string> = {}): StoredNode {
  const activation = stub.addActivation({ name, tags: { Name: name, [MARKER_KEY]: MARKER_VALUE, [OWNER_KEY]: PROVISIONER_ARN, Env: 'test', ...extraTags } });
  return stub.register(activation.ActivationId);
}

const tagsOf = (node: StoredNode): Record<string, string> => Object.fromEntries(stub.state.nodes.get(node.InstanceId)?.tags ?? []);
const addTagRequests = () => stub.requestsFor('AddTagsToResource');
const many = (n: number, from = 0): Record<string, string> => Object.fromEntries(EXTRA_KEYS.slice(from, from + n).map((k) => [k, 'v']));

describe('success', () => {
  beforeEach(async () => {
    handler = await startHandler();
  });

  test('200 with the node id and its allow-listed resulting tags; the node is tagged', async () => {
    const node = registeredNode('web-01', { Team: 'old', T01: 'kept' });
    const inv = await invoke(node.InstanceId, { tags: { PatchMode: 'enforce', Team: 'payments' } });

    expect(inv.res.statusCode).toBe(200);
    expect(headerOf(inv.res, 'content-type')).toMatch(/^application\/json/);
    expect(headerOf(inv.res, 'cache-control')).toBe('no-store');
    // Name, the marker and Env (not allow-listed) are on the node but not in the answer.
    expect(inv.body).toEqual({ instanceId: node.InstanceId, tags: { PatchMode: 'enforce', Team: 'payments', T01: 'kept' } });
    expect(tagsOf(node)).toEqual({
      Name: 'web-01', [MARKER_KEY]: MARKER_VALUE, [OWNER_KEY]: PROVISIONER_ARN, Env: 'test', Team: 'payments', T01: 'kept', PatchMode: 'enforce',
    });
  });

  test('SSM receives the lookup, the tag listing and ONE AddTagsToResource with the requested tags', async () => {
    const node = registeredNode();
    await invoke(node.InstanceId, { tags: { Team: 'a', PatchMode: 'report' } });
    expect(stub.requests.map((r) => [r.operation, r.body])).toEqual([
      ['DescribeInstanceInformation', { Filters: [{ Key: 'InstanceIds', Values: [node.InstanceId] }] }],
      ['ListTagsForResource', { ResourceType: 'ManagedInstance', ResourceId: node.InstanceId }],
      ['AddTagsToResource', {
        ResourceType: 'ManagedInstance',
        ResourceId: node.InstanceId,
        Tags: [{ Key: 'Team', Value: 'a' }, { Key: 'PatchMode', Value: 'report' }],
      }],
    ]);
  });

  test('existing ∪ requested = 50 tags is accepted', async () => {
    const node = registeredNode(); // Name, marker, owner, Env
    const inv = await invoke(node.InstanceId, { tags: many(46) });
    expect(inv.res.statusCode).toBe(200);
    expect(Object.keys(tagsOf(node))).toHaveLength(50);
  });
});

describe('400: nothing is applied (all or nothing)', () => {
  let shared: HandlerProcess;
  beforeAll(async () => {
    shared = await startHandler('default', {}, true);
  });
  afterAll(async () => {
    await shared.close();
  });

  const cases: Array<[string, EventOptions]> = [
    ['one tag key not allowed among allowed ones', { tags: { Team: 'a', PatchMode: 'report', Env: 'prod' } }],
    ['one tag value not allowed among allowed ones', { tags: { Team: 'a', PatchMode: 'yolo' } }],
    ['one tag value with a bad character', { tags: { Team: 'a', T01: 'b#c' } }],
    ['a tag value longer than 256', { tags: { Team: 'x'.repeat(257) } }],
    ['the Name tag', { tags: { Name: INSTANCE_ID } }],
    ['the marker tag', { tags: { [MARKER_KEY]: 'OtherStack/OtherApi' } }],
    ['a non-string value', { tags: { Team: 1 } }],
    ['no tags', { tags: {} }],
    ['tags missing', { body: '{}' }],
    ['an unknown field', { body: JSON.stringify({ tags: { Team: 'a' }, name: 'x' }) }],
    ['bad JSON', { body: '{"tags":' }],
    ['more than 50 requested tags', { tags: { ...many(50), Team: 'a' } }],
    ['a body over 8192 bytes', { body: JSON.stringify({ tags: { Team: 'a' } }) + ' '.repeat(8200) }],
  ];

  test.each(cases)('%s', async (_label, options) => {
    const node = registeredNode('web-01', { Team: 'old' });
    const before = tagsOf(node);
    const inv = await invoke(node.InstanceId, options, shared);
    expectError(inv, 400);
    expect(addTagRequests()).toHaveLength(0);
    expect(tagsOf(node)).toEqual(before);
  });

  test('existing ∪ requested = 51 tags: 400 after reading the tags, nothing applied', async () => {
    const node = registeredNode(); // 4 tags
    const before = tagsOf(node);
    const inv = await invoke(node.InstanceId, { tags: many(47) }, shared);
    expectError(inv, 400);
    expect(inv.body.message).toMatch(/51 tags, at most 50/);
    expect(stub.requestsFor('ListTagsForResource')).toHaveLength(1);
    expect(addTagRequests()).toHaveLength(0);
    expect(tagsOf(node)).toEqual(before);
  });

  test('SSM says TooManyTagsError (tags added meanwhile): 400', async () => {
    const node = registeredNode();
    stub.failNext('AddTagsToResource', 1, { status: 400, type: 'TooManyTagsError', message: 'too many tags' });
    const inv = await invoke(node.InstanceId, { tags: { Team: 'a' } }, shared);
    expectError(inv, 400);
  });
});

describe('404: not a node of this API', () => {
  let shared: HandlerProcess;
  beforeAll(async () => {
    shared = await startHandler('default', {}, true);
  });
  afterAll(async () => {
    await shared.close();
  });

  test.each([
    ['an EC2 instance id', INSTANCE_ID],
    ['upper-case hex', 'mi-0123456789ABCDEF0'],
    ['too short', 'mi-0123'],
    ['not an id at all', 'web-01'],
  ])('%s: 404 without calling SSM', async (_label, id) => {
    const inv = await invoke(id, { tags: { Team: 'a' } }, shared);
    expect404(inv, id);
    expect(stub.requests).toHaveLength(0);
  });

  test('an unknown mi- node: 404', async () => {
    registeredNode();
    const inv = await invoke('mi-0fedcba9876543210', { tags: { Team: 'a' } }, shared);
    expect404(inv, 'mi-0fedcba9876543210');
    expect(addTagRequests()).toHaveLength(0);
  });

  test.each<[string, Record<string, string>]>([
    ['without a marker tag', { Name: 'web-01', Team: 'x' }],
    ['of another API', { Name: 'web-01', [MARKER_KEY]: 'OtherStack/OtherApi' }],
  ])('a node %s: 404 and its tags unchanged', async (_label, tags) => {
    const node = stub.addNode({ name: 'web-01', tags });
    const inv = await invoke(node.InstanceId, { tags: { Team: 'mine' } }, shared);
    expect404(inv, node.InstanceId);
    expect(addTagRequests()).toHaveLength(0);
    expect(tagsOf(node)).toEqual(tags);
  });

  test('an EC2 instance of this API (not mi-): 404, never tagged', async () => {
    const ec2 = stub.addNode({ instanceId: 'i-0aaaaaaaaaaaaaaaa', resourceType: 'EC2Instance', name: 'ec2', tags: { [MARKER_KEY]: MARKER_VALUE } });
    const inv = await invoke(ec2.InstanceId, { tags: { Team: 'a' } }, shared);
    expect404(inv, ec2.InstanceId);
    expect(stub.requests).toHaveLength(0);
  });

  test('a node deregistered between the lookup and the tagging (InvalidResourceId): 404', async () => {
    const node = registeredNode();
    stub.failNext('AddTagsToResource', 1, { status: 400, type: 'InvalidResourceId', message: 'The resource ID is not valid.' });
    const inv = await invoke(node.InstanceId, { tags: { Team: 'a' } }, shared);
    expect404(inv, node.InstanceId);
  });
});

describe('caller binding (IAM)', () => {
  beforeEach(async () => {
    handler = await startHandler();
  });

  test('an instance session tagging the node named after it: 200', async () => {
    const node = registeredNode(INSTANCE_ID);
    const inv = await invoke(node.InstanceId, { tags: { PatchMode: 'enforce' }, userArn: INSTANCE_ARN });
    expect(inv.res.statusCode).toBe(200);
    expect(tagsOf(node).PatchMode).toBe('enforce');
  });

  test('an instance session tagging another node: 403, nothing applied', async () => {
    const node = registeredNode('web-01');
    const before = tagsOf(node);
    const inv = await invoke(node.InstanceId, { tags: { PatchMode: 'enforce' }, userArn: INSTANCE_ARN });
    expectError(inv, 403);
    expect(inv.body.message).toContain(INSTANCE_ID);
    expect(addTagRequests()).toHaveLength(0);
    expect(tagsOf(node)).toEqual(before);
  });

  test('the caller that registered the node (owner tag) may tag it', async () => {
    const node = registeredNode('web-01');
    const inv = await invoke(node.InstanceId, { tags: { PatchMode: 'enforce' }, userArn: PROVISIONER_ARN });
    expect(inv.res.statusCode).toBe(200);
  });

  test('another IAM principal may not tag a node it did not register (PatchMode=enforce): 403, nothing applied', async () => {
    const node = registeredNode('web-01');
    const before = tagsOf(node);
    const inv = await invoke(node.InstanceId, { tags: { PatchMode: 'enforce' }, userArn: `arn:aws:sts::${ACCOUNT}:assumed-role/Other/x` });
    expectError(inv, 403);
    expect(inv.body.message).toBe('this caller may only tag nodes it registered');
    expect(addTagRequests()).toHaveLength(0);
    expect(tagsOf(node)).toEqual(before);
  });

  test('without binding, an instance session still may not tag a node it did not register', async () => {
    const unbound = await startHandler('unbound');
    const node = registeredNode('web-01');
    const inv = await invoke(node.InstanceId, { tags: { Team: 'x' }, userArn: INSTANCE_ARN }, unbound);
    expectError(inv, 403);
    expect(addTagRequests()).toHaveLength(0);
  });

  test('a small remaining time under a slow SSM: 503 + Retry-After in time, nothing applied', async () => {
    const proc = await e2e.startProcess(e2e.env('default', { SSM_REQUEST_TIMEOUT_MS: '10000' }), { timeoutMs: 3000 });
    e2e.closeAfterTest.add(proc);
    const node = registeredNode('web-01');
    stub.failAlways('ListTagsForResource', Faults.delay(5000));
    const started = Date.now();
    const inv = await invoke(node.InstanceId, { tags: { Team: 'x' } }, proc);
    expect503(inv);
    expect(Date.now() - started).toBeLessThan(2500);
    expect(addTagRequests()).toHaveLength(0);
  });
});

describe('SSM faults', () => {
  beforeEach(async () => {
    handler = await startHandler();
  });

  test('throttled twice, then success: 200', async () => {
    const node = registeredNode();
    stub.failNext('ListTagsForResource', 2, Faults.throttling());
    const inv = await invoke(node.InstanceId, { tags: { Team: 'a' } });
    expect(inv.res.statusCode).toBe(200);
    expect(stub.requestsFor('ListTagsForResource')).toHaveLength(3);
    expect(tagsOf(node).Team).toBe('a');
  });

  test('throttled on every attempt: 503 with Retry-After after SSM_MAX_ATTEMPTS attempts; nothing applied', async () => {
    const node = registeredNode();
    const before = tagsOf(node);
    stub.failAlways('AddTagsToResource', Faults.throttling());
    const inv = await invoke(node.InstanceId, { tags: { Team: 'a' } });
    expect503(inv);
    expect(addTagRequests()).toHaveLength(3);
    expect(tagsOf(node)).toEqual(before);
    expect(inv.res.body).not.toContain('Rate exceeded');
  });

  test('the lookup throttled on every attempt: 503', async () => {
    const node = registeredNode();
    stub.failAlways('DescribeInstanceInformation', Faults.throttling());
    expect503(await invoke(node.InstanceId, { tags: { Team: 'a' } }));
  });

  test('SSM 500 on every attempt: 503', async () => {
    const node = registeredNode();
    stub.failAlways('ListTagsForResource', Faults.internal());
    expect503(await invoke(node.InstanceId, { tags: { Team: 'a' } }));
  });

  test('connection reset on every attempt: 503', async () => {
    const node = registeredNode();
    stub.failAlways('DescribeInstanceInformation', Faults.destroy());
    expect503(await invoke(node.InstanceId, { tags: { Team: 'a' } }));
  });

  test('unknown SSM error: 500 "internal error", no SDK message echoed', async () => {
    const node = registeredNode();
    stub.failNext('AddTagsToResource', 1, Faults.accessDenied('not authorized to perform: ssm:AddTagsToResource SDKSECRET'));
    const inv = await invoke(node.InstanceId, { tags: { Team: 'a' } });
    expect(inv.res.statusCode).toBe(500);
    expect(inv.body).toEqual({ message: 'internal error', requestId: inv.ctx.awsRequestId });
    expect(inv.res.body).not.toMatch(/SDKSECRET|AccessDenied/);
  });
});

describe('environment checked at cold start', () => {
  test.each([
    ['MARKER_TAG_KEY', undefined],
    ['MARKER_TAG_VALUE', undefined],
    ['ALLOWED_TAGS', undefined],
    ['ALLOWED_TAGS', '[{"key":"Name"}]'],
    ['AUTHORIZATION', 'COGNITO'],
    ['CALLER_BINDING', 'yes'],
    ['SSM_MAX_ATTEMPTS', '0'],
  ])('%s=%s: loading the bundle throws naming the variable', async (name, value) => {
    await expect(e2e.startProcess(e2e.brokenEnv({ [name]: value }))).rejects.toThrow(new RegExp(name));
  });
});

describe('audit log', () => {
  test('one JSON line per request: caller, node, tag keys (never values), outcome, status', async () => {
    const logged = await startHandler('default', { LOG_LEVEL: 'INFO' });
    const node = registeredNode();
    const ok = await invoke(node.InstanceId, { tags: { Team: 'payments-VALUESECRET' } }, logged);
    await invoke(node.InstanceId, { tags: { Env: 'x' } }, logged);
    await invoke('mi-0fedcba9876543210', { tags: { Team: 'a' } }, logged);
    await invoke(node.InstanceId, { tags: { Team: 'a' }, userArn: INSTANCE_ARN }, logged);
    stub.failNext('AddTagsToResource', 1, Faults.accessDenied('SDKSECRET'));
    await invoke(node.InstanceId, { tags: { Team: 'a' } }, logged);
    await logged.close();
    const output = logged.output();
    expect(output).not.toMatch(/VALUESECRET|SECRETMARKER|SDKSECRET|curl/);

    const lines = jsonLines(output).filter((l) => l.message === 'tag request');
    expect(lines[0]).toEqual({
      level: 'INFO',
      message: 'tag request',
      timestamp: expect.any(String),
      requestId: ok.ctx.awsRequestId,
      caller: PROVISIONER_ARN,
      callerAccount: ACCOUNT,
      sourceIp: '198.51.100.7',
      instanceId: node.InstanceId,
      tagKeys: ['Team'],
      outcome: 'tagged',
      status: 200,
      durationMs: expect.any(Number),
    });
    expect(lines.map((l) => [l.outcome, l.status])).toEqual([
      ['tagged', 200],
      ['rejected', 400],
      ['not-found', 404],
      ['forbidden', 403],
      ['error', 500],
    ]);
    expect(lines[1].reason).toMatch(/"Env" is not allowed/);
    expect(lines[2]).toMatchObject({ instanceId: 'mi-0fedcba9876543210', tagKeys: ['Team'], reason: expect.any(String) });
    expect(lines[3]).toMatchObject({ caller: INSTANCE_ARN, reason: expect.stringContaining(INSTANCE_ID) });
    expect(lines[4].errorName).toBe('AccessDeniedException');
  });

  test('LOG_LEVEL=SILENT writes nothing', async () => {
    const silent = await startHandler('default', { LOG_LEVEL: 'SILENT' });
    await invoke(registeredNode().InstanceId, { tags: { Team: 'a' } }, silent);
    await silent.close();
    expect(silent.output()).toBe('');
  });
});
