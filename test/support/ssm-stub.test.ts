import {
  AddTagsToResourceCommand,
  DeleteActivationCommand,
  DeregisterManagedInstanceCommand,
  DescribeInstanceInformationCommand,
  ListTagsForResourceCommand,
  paginateDescribeActivations,
  paginateDescribeInstanceInformation,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { SsmStub } from './ssm-stub';

// The loopback SSM stub is a test double; these tests pin the protocol details later tests rely on, using the real
// SDK client and its paginators.

const stub = new SsmStub();
let ssm: SSMClient;

beforeAll(async () => {
  const endpoint = await stub.start();
  ssm = new SSMClient({ endpoint, region: 'eu-west-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
});
afterAll(async () => {
  ssm.destroy();
  await stub.stop();
});
beforeEach(() => stub.reset());

test('ssm-stub: DescribeActivations pages through more than one page with the SDK paginator', async () => {
  for (let i = 0; i < 73; i++) stub.addActivation({ name: `node-${i}`, tags: { Name: `node-${i}` } });
  const ids: string[] = [];
  let pages = 0;
  for await (const p of paginateDescribeActivations({ client: ssm, pageSize: 50 }, {})) {
    pages += 1;
    ids.push(...(p.ActivationList ?? []).map((a) => a.ActivationId!));
  }
  expect(pages).toBe(2);
  expect(new Set(ids).size).toBe(73);
});

test('ssm-stub: DescribeInstanceInformation filters by tags (AND), pages, and refuses mixed filter types', async () => {
  for (let i = 0; i < 12; i++) stub.addNode({ name: `web-${i}`, tags: { 'hybrid-fleet:activation-api': 'api1' } });
  stub.addNode({ name: 'web-0', tags: { 'hybrid-fleet:activation-api': 'other' } });
  const found: string[] = [];
  for await (const p of paginateDescribeInstanceInformation({ client: ssm, pageSize: 5 }, {
    Filters: [{ Key: 'tag:hybrid-fleet:activation-api', Values: ['api1'] }],
  })) found.push(...(p.InstanceInformationList ?? []).map((n) => n.Name!));
  expect(found).toHaveLength(12);

  const both = await ssm.send(new DescribeInstanceInformationCommand({
    Filters: [{ Key: 'tag:hybrid-fleet:activation-api', Values: ['api1'] }, { Key: 'tag:Name', Values: ['web-0'] }],
  }));
  expect(both.InstanceInformationList).toHaveLength(1);

  await expect(ssm.send(new DescribeInstanceInformationCommand({
    Filters: [{ Key: 'tag:Name', Values: ['web-0'] }, { Key: 'PingStatus', Values: ['Online'] }],
  }))).rejects.toMatchObject({ name: 'ValidationException' });
});

test('ssm-stub: register copies activation tags to a new node; tags, deregister and delete behave like SSM', async () => {
  const activation = stub.addActivation({ name: 'db-1', tags: { Name: 'db-1', Team: 'data' } });
  const node = stub.register(activation.ActivationId);
  expect(node.InstanceId).toMatch(/^mi-[0-9a-f]{17}$/);
  expect(Object.fromEntries(node.tags)).toEqual({ Name: 'db-1', Team: 'data' });

  await ssm.send(new AddTagsToResourceCommand({ ResourceType: 'ManagedInstance', ResourceId: node.InstanceId, Tags: [{ Key: 'Team', Value: 'ops' }] }));
  const listed = await ssm.send(new ListTagsForResourceCommand({ ResourceType: 'ManagedInstance', ResourceId: node.InstanceId }));
  expect(listed.TagList).toEqual(expect.arrayContaining([{ Key: 'Team', Value: 'ops' }]));

  await ssm.send(new DeregisterManagedInstanceCommand({ InstanceId: node.InstanceId }));
  await expect(ssm.send(new DeregisterManagedInstanceCommand({ InstanceId: node.InstanceId }))).rejects.toMatchObject({ name: 'InvalidInstanceId' });
  await ssm.send(new DeleteActivationCommand({ ActivationId: activation.ActivationId }));
  await expect(ssm.send(new DeleteActivationCommand({ ActivationId: activation.ActivationId }))).rejects.toMatchObject({ name: 'InvalidActivation' });
});

/** A raw awsJson1_1 call (RegisterManagedInstance is not in the public SDK). */
async function rawCall(operation: string, body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(stub.url, {
    method: 'POST',
    headers: { 'X-Amz-Target': `AmazonSSM.${operation}`, 'Content-Type': 'application/x-amz-json-1.1' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

test('ssm-stub: RegisterManagedInstance registers once per code, with the activation tags, and refuses a wrong or used code', async () => {
  const activation = stub.addActivation({ name: 'app-7', tags: { Name: 'app-7', PatchGroup: 'linux' } });
  const wrong = await rawCall('RegisterManagedInstance', { ActivationId: activation.ActivationId, ActivationCode: 'not-the-code' });
  expect(wrong).toEqual({ status: 400, body: expect.objectContaining({ __type: 'InvalidActivation' }) });
  expect(stub.state.nodes.size).toBe(0);

  const ok = await rawCall('RegisterManagedInstance', { ActivationId: activation.ActivationId, ActivationCode: activation.ActivationCode });
  expect(ok.status).toBe(200);
  expect(ok.body.InstanceId).toMatch(/^mi-[0-9a-f]{17}$/);
  const node = stub.state.nodes.get(ok.body.InstanceId)!;
  expect({ name: node.Name, tags: Object.fromEntries(node.tags), activationId: node.ActivationId })
    .toEqual({ name: 'app-7', tags: { Name: 'app-7', PatchGroup: 'linux' }, activationId: activation.ActivationId });

  const again = await rawCall('RegisterManagedInstance', { ActivationId: activation.ActivationId, ActivationCode: activation.ActivationCode });
  expect(again).toEqual({ status: 400, body: expect.objectContaining({ __type: 'InvalidActivation' }) });
  const expired = stub.addActivation({ expirationDate: new Date(Date.now() - 1000) });
  expect((await rawCall('RegisterManagedInstance', { ActivationId: expired.ActivationId, ActivationCode: expired.ActivationCode })).status).toBe(400);
  expect(stub.state.nodes.size).toBe(1);
});

test('ssm-stub: a rate limit throttles each operation beyond its burst, spares exempt ones, and refills over time', async () => {
  stub.rateLimit({ tps: 2, burst: 3, exempt: ['ListTagsForResource'] });
  const describe = () => ssm.send(new DescribeInstanceInformationCommand({})).then(() => 'ok', (e) => e.name);
  const first = await Promise.all(Array.from({ length: 5 }, describe));
  expect(first.filter((r) => r === 'ok')).toHaveLength(3);
  expect(first.filter((r) => r === 'ThrottlingException')).toHaveLength(2);
  // Another operation has its own bucket.
  await expect(ssm.send(new DeleteActivationCommand({ ActivationId: 'nope' }))).rejects.toMatchObject({ name: 'InvalidActivation' });
  // Exempt: never throttled (it fails on the missing node, not on the rate).
  const exempt = await Promise.all(Array.from({ length: 5 }, () =>
    ssm.send(new ListTagsForResourceCommand({ ResourceType: 'ManagedInstance', ResourceId: 'mi-00000000000000000' })).catch((e) => e.name)));
  expect(exempt).toEqual(Array(5).fill('InvalidResourceId'));
  expect(stub.requests.filter((r) => r.rateLimited)).toHaveLength(2);
  expect(stub.requests.filter((r) => r.rateLimited).every((r) => r.errorType === 'ThrottlingException')).toBe(true);

  await new Promise((resolve) => setTimeout(resolve, 600)); // 2 TPS: a token back
  expect(await describe()).toBe('ok');

  stub.reset(); // back to no limit
  expect(await Promise.all(Array.from({ length: 6 }, describe))).toEqual(Array(6).fill('ok'));
});
