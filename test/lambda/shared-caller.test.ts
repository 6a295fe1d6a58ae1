import { callerLogFields, ec2InstanceIdOf, identifyCaller, type CallerPolicy, type IdentityLike } from '../../lambda/shared/caller';

// Caller identity and EC2 instance-profile session detection, shared by create-activation and tag-node. Binding as
// each handler applies it is tested through its core.

const INSTANCE_ID = 'i-0123456789abcdef0';
const EC2_ARN = `arn:aws:sts::123456789012:assumed-role/NodeRole/${INSTANCE_ID}`;
const IAM_BOUND: CallerPolicy = { authorization: 'IAM', callerBinding: true };

const identity = (userArn: string | null, extra: IdentityLike = {}): IdentityLike =>
  ({ userArn, accountId: '123456789012', sourceIp: '198.51.100.7', apiKeyId: null, ...extra });

describe('ec2InstanceIdOf', () => {
  test.each<[string, string]>([
    ['a 17-hex instance', EC2_ARN],
    ['an 8-hex instance in aws-cn', 'arn:aws-cn:sts::123456789012:assumed-role/Node/i-1234abcd'],
    ['a role name with every allowed symbol in aws-us-gov', 'arn:aws-us-gov:sts::123456789012:assumed-role/Node.Role+x=y,z@a_b-c/i-0123456789abcdef0'],
  ])('finds the instance id of %s', (_label, arn) => {
    expect(ec2InstanceIdOf(arn)).toBe(arn.split('/').pop());
  });

  test.each<[string, string | null | undefined]>([
    ['a person session', 'arn:aws:sts::123456789012:assumed-role/Admin/alice@example.com'],
    ['a session name that only starts like an instance id', `${EC2_ARN}-x`],
    ['a 9-hex session name', 'arn:aws:sts::123456789012:assumed-role/Node/i-123456789'],
    ['upper-case hex', 'arn:aws:sts::123456789012:assumed-role/Node/i-0123456789ABCDEF0'],
    ['a hybrid node id as session name', 'arn:aws:sts::123456789012:assumed-role/Node/mi-0123456789abcdef0'],
    ['an IAM user', 'arn:aws:iam::123456789012:user/i-0123456789abcdef0'],
    ['a role ARN', 'arn:aws:iam::123456789012:role/i-0123456789abcdef0'],
    ['null', null],
    ['undefined', undefined],
    ['empty', ''],
  ])('finds none in %s', (_label, arn) => {
    expect(ec2InstanceIdOf(arn)).toBeUndefined();
  });
});

describe('identifyCaller', () => {
  test('IAM with binding: the userArn is the caller, an instance session is bound', () => {
    expect(identifyCaller(identity(EC2_ARN), IAM_BOUND)).toEqual({
      caller: EC2_ARN,
      callerAccount: '123456789012',
      sourceIp: '198.51.100.7',
      boundInstanceId: INSTANCE_ID,
      owner: EC2_ARN,
    });
  });

  test('IAM without binding: never bound', () => {
    expect(identifyCaller(identity(EC2_ARN), { authorization: 'IAM', callerBinding: false }).boundInstanceId).toBeUndefined();
  });

  test('API_KEY: the caller is apiKey:<id>, never bound even with binding on', () => {
    const caller = identifyCaller(identity(EC2_ARN, { apiKeyId: 'k3y' }), { authorization: 'API_KEY', callerBinding: true });
    expect(caller).toEqual({
      caller: 'apiKey:k3y', callerAccount: '123456789012', sourceIp: '198.51.100.7', boundInstanceId: undefined, owner: 'apiKey:k3y',
    });
    expect(identifyCaller({ apiKeyId: null }, { authorization: 'API_KEY', callerBinding: false }).caller).toBeUndefined();
  });

  test('no identity: nothing known', () => {
    expect(identifyCaller(undefined, IAM_BOUND)).toEqual({});
    expect(identifyCaller(null, IAM_BOUND)).toEqual({});
  });

  test('callerLogFields drops the binding detail', () => {
    expect(callerLogFields(identifyCaller(identity(EC2_ARN), IAM_BOUND))).toEqual({
      caller: EC2_ARN,
      callerAccount: '123456789012',
      sourceIp: '198.51.100.7',
    });
  });
});
