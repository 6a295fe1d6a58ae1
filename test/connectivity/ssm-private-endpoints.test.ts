import { App, Lazy, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { ActivationApiAuthorization, HybridActivationApi, SsmPrivateEndpoints, SsmPrivateEndpointsProps } from '../../lib';
import { allFindings, testApp } from '../support/gates';

let app: App;
let stack: Stack;
let vpc: ec2.IVpc;
beforeEach(() => {
  app = testApp();
  stack = new Stack(app, 'TestStack');
  vpc = importedVpc(stack, 'Vpc', ['eu-west-1a', 'eu-west-1b']);
});

/** A VPC from attributes: no VPC resources in the template, so the gates see only the endpoints. */
function importedVpc(scope: Stack, id: string, zones: string[]): ec2.IVpc {
  return ec2.Vpc.fromVpcAttributes(scope, id, {
    vpcId: `vpc-0123456789abcdef${zones.length}`,
    vpcCidrBlock: '10.0.0.0/16',
    availabilityZones: zones,
    privateSubnetIds: zones.map((_, i) => `subnet-private${i}`),
    privateSubnetRouteTableIds: zones.map((_, i) => `rtb-private${i}`),
    isolatedSubnetIds: zones.map((_, i) => `subnet-isolated${i}`),
    isolatedSubnetRouteTableIds: zones.map((_, i) => `rtb-isolated${i}`),
  });
}

function build(props: Partial<SsmPrivateEndpointsProps> = {}): { endpoints: SsmPrivateEndpoints; template: Template } {
  const endpoints = new SsmPrivateEndpoints(stack, 'Endpoints', { vpc, ...props });
  return { endpoints, template: Template.fromStack(stack) };
}

const serviceName = (service: string) => ({ 'Fn::Join': ['', ['com.amazonaws.', { Ref: 'AWS::Region' }, `.${service}`]] });

/** The endpoint resource of a service, with its properties. */
function endpointOf(template: Template, service: string): Record<string, any> {
  const found = Object.values(template.findResources('AWS::EC2::VPCEndpoint', { Properties: { ServiceName: serviceName(service) } }));
  expect(found).toHaveLength(1);
  return found[0].Properties;
}

describe('SsmPrivateEndpoints defaults', () => {
  test('creates interface endpoints for ssm, ssmmessages and ec2messages with private DNS, in the private subnets', () => {
    const { template } = build();
    template.resourceCountIs('AWS::EC2::VPCEndpoint', 3);
    for (const service of ['ssm', 'ssmmessages', 'ec2messages']) {
      expect(endpointOf(template, service)).toMatchObject({
        VpcEndpointType: 'Interface',
        PrivateDnsEnabled: true,
        VpcId: 'vpc-0123456789abcdef2',
        SubnetIds: ['subnet-private0', 'subnet-private1'],
      });
    }
  });

  test('one security group admits HTTPS from the VPC CIDR only and sends nothing out', () => {
    const { template } = build();
    template.resourceCountIs('AWS::EC2::SecurityGroup', 1);
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      SecurityGroupIngress: [{ CidrIp: '10.0.0.0/16', FromPort: 443, ToPort: 443, IpProtocol: 'tcp', Description: 'HTTPS from the VPC' }],
      SecurityGroupEgress: [Match.objectLike({ CidrIp: '255.255.255.255/32', Description: 'Disallow all traffic' })],
    });
    template.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
  });

  test('every endpoint policy lets through only principals of this account and AWS service principals', () => {
    const { template } = build();
    for (const service of ['ssmmessages', 'ec2messages']) {
      expect(endpointOf(template, service).PolicyDocument.Statement).toEqual([
        {
          Sid: 'PrincipalsOfThisAccount', Effect: 'Allow', Principal: { AWS: '*' }, Action: '*', Resource: '*',
          Condition: { StringEquals: { 'aws:PrincipalAccount': { Ref: 'AWS::AccountId' } } },
        },
        {
          Sid: 'AwsServicePrincipals', Effect: 'Allow', Principal: { AWS: '*' }, Action: '*', Resource: '*',
          Condition: { Bool: { 'aws:PrincipalIsAWSService': 'true' } },
        },
      ]);
    }
  });

  test('the ssm endpoint also lets hybrid nodes of this account register and fetch credentials (no IAM principal)', () => {
    const { template } = build();
    expect(endpointOf(template, 'ssm').PolicyDocument.Statement).toContainEqual({
      Sid: 'ManagedNodesOfThisAccount', Effect: 'Allow', Principal: { AWS: '*' }, Resource: '*',
      Action: ['ssm:RegisterManagedInstance', 'ssm:RequestManagedInstanceRoleToken', 'ssm:UpdateManagedInstancePublicKey'],
      Condition: { StringEquals: { 'ssm:NodeAccountId': { Ref: 'AWS::AccountId' } } },
    });
  });
});

describe('SsmPrivateEndpoints options', () => {
  test('organizationId widens the perimeter to the organization (principals and nodes)', () => {
    const { template } = build({ organizationId: 'o-a1b2c3d4e5' });
    const statements = endpointOf(template, 'ssm').PolicyDocument.Statement;
    expect(statements[0]).toMatchObject({ Sid: 'PrincipalsOfTheOrganization', Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-a1b2c3d4e5' } } });
    expect(statements[2].Condition).toEqual({ StringEquals: { 'ssm:NodeOrgId': 'o-a1b2c3d4e5' } });
  });

  test('restrictEndpointPolicies false keeps the AWS default policy', () => {
    const { template } = build({ restrictEndpointPolicies: false });
    expect(endpointOf(template, 'ssm').PolicyDocument).toBeUndefined();
  });

  test('ec2Messages false leaves out the ec2messages endpoint (agents 3.3.40.0 and later use ssmmessages)', () => {
    const { endpoints, template } = build({ ec2Messages: false });
    template.resourceCountIs('AWS::EC2::VPCEndpoint', 2);
    expect(endpoints.ec2MessagesEndpoint).toBeUndefined();
  });

  test('kms, logs and ec2 add interface endpoints with the same perimeter', () => {
    const { template } = build({ kms: true, logs: true, ec2: true });
    template.resourceCountIs('AWS::EC2::VPCEndpoint', 6);
    for (const service of ['kms', 'logs', 'ec2']) {
      const endpoint = endpointOf(template, service);
      expect(endpoint.SecurityGroupIds).toEqual(endpointOf(template, 'ssm').SecurityGroupIds);
      expect(endpoint.PolicyDocument.Statement.map((s: any) => s.Sid)).toEqual(['PrincipalsOfThisAccount', 'AwsServicePrincipals']);
    }
  });

  test('an S3 gateway lets anyone read only the AWS-owned buckets patching and agent updates need', () => {
    const { template } = build({ s3Gateway: true });
    const gateway = endpointOf(template, 's3');
    expect(gateway.VpcEndpointType).toBe('Gateway');
    // Every subnet's route table: nodes anywhere in the VPC reach S3 through the gateway.
    expect(gateway.RouteTableIds).toEqual(['rtb-private0', 'rtb-private1', 'rtb-isolated0', 'rtb-isolated1']);
    const buckets = gateway.PolicyDocument.Statement.find((s: any) => s.Sid === 'AwsOwnedSystemsManagerBuckets');
    expect(buckets).toMatchObject({ Principal: { AWS: '*' }, Action: 's3:GetObject' });
    expect(buckets.Condition).toBeUndefined();
    const names = buckets.Resource.map((r: any) => JSON.stringify(r));
    for (const bucket of ['patch-baseline-snapshot-', 'aws-ssm-', 'amazon-ssm-']) {
      expect(names).toContainEqual(expect.stringContaining(`:s3:::${bucket}"`));
    }
  });

  test('an S3 interface endpoint alone answers every resolver; with a gateway only the Resolver inbound endpoint', () => {
    const alone = build({ s3Interface: true }).template;
    expect(endpointOf(alone, 's3')).toMatchObject({ VpcEndpointType: 'Interface', PrivateDnsEnabled: true });
    expect(endpointOf(alone, 's3').DnsOptions).toBeUndefined();

    app = testApp();
    stack = new Stack(app, 'Both');
    vpc = importedVpc(stack, 'Vpc', ['eu-west-1a', 'eu-west-1b']);
    const both = build({ s3Interface: true, s3Gateway: true }).template;
    const resources = both.findResources('AWS::EC2::VPCEndpoint', { Properties: { VpcEndpointType: 'Interface', ServiceName: serviceName('s3') } });
    const [interfaceId] = Object.keys(resources);
    expect(resources[interfaceId].Properties.DnsOptions).toEqual({ PrivateDnsOnlyForInboundResolverEndpoint: 'OnlyInboundResolver' });
    expect(resources[interfaceId].DependsOn).toEqual([expect.stringMatching(/^EndpointsS3Gateway/)]);
  });

  test('executeApi lets callers (API-key callers have no IAM principal) invoke only APIs of this account', () => {
    const { template } = build({ executeApi: true });
    expect(endpointOf(template, 'execute-api').PolicyDocument.Statement).toEqual([{
      Sid: 'ApisOfThisAccount', Effect: 'Allow', Principal: { AWS: '*' }, Action: 'execute-api:Invoke',
      Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':execute-api:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':*']] },
    }]);
  });

  test('the execute-api endpoint makes the activation API private', () => {
    const endpoints = new SsmPrivateEndpoints(stack, 'Endpoints', { vpc, executeApi: true });
    new HybridActivationApi(stack, 'Api', {
      authorization: ActivationApiAuthorization.API_KEY,
      vpcEndpoints: [endpoints.executeApiEndpoint!],
      markerTagValue: 'private-api',
    });
    const template = Template.fromStack(stack);
    const [endpointId] = Object.keys(template.findResources('AWS::EC2::VPCEndpoint', { Properties: { ServiceName: serviceName('execute-api') } }));
    template.hasResourceProperties('AWS::ApiGateway::RestApi', {
      EndpointConfiguration: { Types: ['PRIVATE'], VpcEndpointIds: [{ Ref: endpointId }] },
    });
  });

  test('allowed security groups and IPv4/IPv6 CIDRs replace the VPC CIDR; repeated CIDRs are admitted once', () => {
    const nodes = new ec2.SecurityGroup(stack, 'Nodes', { vpc });
    const { endpoints, template } = build({
      allowedSecurityGroups: [nodes],
      allowedCidrs: ['192.168.0.0/16', '2001:db8:1200::/40', '192.168.0.0/16'],
    });
    const ingress = template.findResources('AWS::EC2::SecurityGroup', { Properties: { GroupDescription: Match.stringLikeRegexp('Systems Manager') } });
    expect(Object.values(ingress)[0].Properties.SecurityGroupIngress).toEqual([
      { CidrIp: '192.168.0.0/16', Description: 'HTTPS from an allowed range', FromPort: 443, IpProtocol: 'tcp', ToPort: 443 },
      { CidrIpv6: '2001:db8:1200::/40', Description: 'HTTPS from an allowed range', FromPort: 443, IpProtocol: 'tcp', ToPort: 443 },
    ]);
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      FromPort: 443,
      ToPort: 443,
      SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Nodes'), 'GroupId'] },
      GroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^EndpointsSecurityGroup'), 'GroupId'] },
    });
    expect(endpoints.connections.defaultPort?.toString()).toBe('443');
  });

  test('subnets chooses where the network interfaces go (one per zone)', () => {
    const { template } = build({ subnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED } });
    expect(endpointOf(template, 'ssm').SubnetIds).toEqual(['subnet-isolated0', 'subnet-isolated1']);
  });

  test('warns when every network interface is in one Availability Zone', () => {
    vpc = importedVpc(stack, 'OneZone', ['eu-west-1a']);
    build();
    Annotations.fromStack(stack).hasWarning('/TestStack/Endpoints', Match.stringLikeRegexp('one Availability Zone only \\(eu-west-1a\\).*\\[ack: cdk-ssm-hybrid-fleet:privateEndpointsInOneZone\\]'));
  });

  test('two zones raise no warning', () => {
    build();
    expect(Annotations.fromStack(stack).findWarning('*', Match.anyValue())).toEqual([]);
  });
});

describe('SsmPrivateEndpoints validation', () => {
  test.each([
    ['10.0.0.0', /`allowedCidrs` must hold IPv4 or IPv6 CIDR blocks such as '10.20.0.0\/16' or '2001:db8::\/56', got: '10.0.0.0'/],
    ['10.0.0.256/24', /must hold IPv4 or IPv6 CIDR blocks .*got: '10.0.0.256\/24'/],
    ['10.0.0.0/33', /must hold IPv4 or IPv6 CIDR blocks .*got: '10.0.0.0\/33'/],
    ['2001:db8::/129', /must hold IPv4 or IPv6 CIDR blocks .*got: '2001:db8::\/129'/],
    ['on-prem', /must hold IPv4 or IPv6 CIDR blocks .*got: 'on-prem'/],
    ['0.0.0.0/0', /`allowedCidrs` must not admit the whole address space \(\/0\).*got: '0.0.0.0\/0'/],
    ['::/0', /must not admit the whole address space .*got: '::\/0'/],
    ['10.1.2.3/16', /`allowedCidrs` CIDR blocks must not have host bits set \(the network is '10.1.0.0\/16'\), got: '10.1.2.3\/16' \(at TestStack\/Endpoints\)/],
    ['2001:db8::1/64', /must not have host bits set, got: '2001:db8::1\/64'/],
  ])('refuses the CIDR %s', (cidr, message) => {
    expect(() => build({ allowedCidrs: [cidr] })).toThrow(message);
  });

  test.each(['10.0.0.0/8', '172.16.0.0/12', '10.20.30.40/32', '2001:db8::/32', 'fd00::/8'])('accepts the CIDR %s', (cidr) => {
    expect(() => build({ allowedCidrs: [cidr] })).not.toThrow();
  });

  test('CIDRs given as tokens are not inspected', () => {
    expect(() => build({ allowedCidrs: [Lazy.string({ produce: () => '10.1.2.3/16' })] })).not.toThrow();
  });

  test('refuses an organization id that is not one', () => {
    expect(() => build({ organizationId: 'r-ab12' })).toThrow(/`organizationId` must be an AWS Organizations id such as 'o-a1b2c3d4e5', got: 'r-ab12'/);
  });

  test('refuses organizationId without endpoint policies', () => {
    expect(() => build({ organizationId: 'o-a1b2c3d4e5', restrictEndpointPolicies: false })).toThrow(/`organizationId` applies only to the endpoint policies/);
  });

  test('refuses a subnet selection that selects nothing', () => {
    expect(() => build({ subnets: { availabilityZones: ['eu-west-1c'] } })).toThrow(
      /`subnets` must select at least one subnet of TestStack\/Vpc, got: \{"availabilityZones":\["eu-west-1c"\]\}/,
    );
  });

  test('refuses a second endpoint for a service the VPC already has', () => {
    vpc.addInterfaceEndpoint('ExistingSsm', { service: ec2.InterfaceVpcEndpointAwsService.SSM });
    expect(() => build()).toThrow(
      /the VPC TestStack\/Vpc may have one ssm interface endpoint: TestStack\/Endpoints\/Ssm\/Resource duplicates TestStack\/Vpc\/ExistingSsm\/Resource/,
    );
  });

  test('finds an endpoint the VPC holds in another stack (a network stack)', () => {
    const network = new Stack(app, 'Network');
    const shared = new ec2.Vpc(network, 'Shared', { maxAzs: 2, natGateways: 0, subnetConfiguration: [{ name: 'nodes', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
    shared.addInterfaceEndpoint('Messages', { service: ec2.InterfaceVpcEndpointAwsService.SSM_MESSAGES });
    expect(() => new SsmPrivateEndpoints(stack, 'Endpoints', { vpc: shared })).toThrow(
      /the VPC Network\/Shared may have one ssmmessages interface endpoint: TestStack\/Endpoints\/SsmMessages\/Resource duplicates Network\/Shared\/Messages\/Resource/,
    );
  });

  test('refuses an endpoint added elsewhere in the stack after the construct, at synth', () => {
    new SsmPrivateEndpoints(stack, 'Endpoints', { vpc, s3Gateway: true });
    new ec2.GatewayVpcEndpoint(stack, 'MoreS3', { vpc, service: ec2.GatewayVpcEndpointAwsService.S3 });
    expect(() => app.synth()).toThrow(/may have one s3 gateway endpoint: TestStack\/Endpoints\/S3Gateway\/Resource duplicates TestStack\/MoreS3\/Resource/);
  });

  test('an endpoint written with a literal Region counts as the same service', () => {
    const pinned = new Stack(app, 'Pinned', { env: { account: '111122223333', region: 'eu-west-1' } });
    vpc = importedVpc(pinned, 'Vpc', ['eu-west-1a', 'eu-west-1b']);
    new ec2.CfnVPCEndpoint(pinned, 'Raw', { vpcId: vpc.vpcId, serviceName: 'com.amazonaws.eu-west-1.ssmmessages', vpcEndpointType: 'Interface' });
    expect(() => new SsmPrivateEndpoints(pinned, 'Endpoints', { vpc })).toThrow(/may have one ssmmessages interface endpoint/);
  });

  test('allows the same service in another VPC, and an S3 interface next to an S3 gateway', () => {
    importedVpc(stack, 'Other', ['eu-west-1a']).addInterfaceEndpoint('Ssm', { service: ec2.InterfaceVpcEndpointAwsService.SSM });
    vpc.addGatewayEndpoint('S3', { service: ec2.GatewayVpcEndpointAwsService.S3 });
    build({ s3Interface: true });
    expect(() => app.synth()).not.toThrow();
  });
});

test('SsmPrivateEndpoints: with every option, passes every gate', () => {
  const nodes = new ec2.SecurityGroup(stack, 'Nodes', { vpc, allowAllOutbound: false, description: 'Fleet nodes' });
  build({
    allowedSecurityGroups: [nodes],
    allowedCidrs: ['192.168.0.0/16', '2001:db8::/56'],
    organizationId: 'o-a1b2c3d4e5',
    kms: true,
    logs: true,
    ec2: true,
    s3Gateway: true,
    s3Interface: true,
    executeApi: true,
  });
  expect(allFindings(app)).toEqual([]);
});
