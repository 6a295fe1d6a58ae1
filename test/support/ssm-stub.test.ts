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
