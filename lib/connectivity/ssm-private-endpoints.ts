import { Annotations, Aws, Stack, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct, IConstruct } from 'constructs';
import { checkCidr } from '../private/cidr';
import { fail } from '../private/validate';

const SINGLE_AZ_WARNING = 'cdk-ssm-hybrid-fleet:privateEndpointsInOneZone';
const ORGANIZATION_ID_PATTERN = /^o-[a-z0-9]{10,32}$/;

/**
 * AWS-owned buckets SSM Agent reads during patching, agent updates and Distributor operations. Requests to them
 * are unauthenticated or presigned by AWS (the patch snapshot), so the endpoint policy allows them by resource
 * rather than by principal.
 * @see https://docs.aws.amazon.com/systems-manager/latest/userguide/ssm-agent-minimum-s3-permissions.html
 * @see https://docs.aws.amazon.com/systems-manager/latest/userguide/patch-operations-s3-buckets.html
 */
const AWS_OWNED_SSM_BUCKETS = [
  'aws-ssm-<region>',
  'patch-baseline-snapshot-<region>',
  'amazon-ssm-<region>',
  'amazon-ssm-packages-<region>',
  '<region>-birdwatcher-prod',
  'aws-ssm-distributor-file-<region>',
  'aws-ssm-document-attachments-<region>',
  'aws-windows-downloads-<region>',
  'aws-patchmanager-macos-<region>',
];

/**
 * Properties of `SsmPrivateEndpoints`.
 */
export interface SsmPrivateEndpointsProps {
  /**
   * The VPC that gets the endpoints.
   */
  readonly vpc: ec2.IVpc;

  /**
   * Subnets for the endpoint network interfaces; one per Availability Zone is used.
   *
   * @default - the VPC's private subnets (with egress, else isolated)
   */
  readonly subnets?: ec2.SubnetSelection;

  /**
   * Security groups whose members may reach the endpoints on port 443 (EC2 nodes, the activation API's callers).
   *
   * @default - none
   */
  readonly allowedSecurityGroups?: ec2.ISecurityGroup[];

  /**
   * IPv4 or IPv6 CIDR blocks that may reach the endpoints on port 443: node subnets, on-premises ranges routed over
   * Direct Connect or VPN. Network addresses only (no host bits), no `/0`.
   *
   * @default - the VPC's primary IPv4 CIDR block, when `allowedSecurityGroups` is empty too
   */
  readonly allowedCidrs?: string[];

  /**
   * Organization whose principals (and managed nodes) may use the endpoints, instead of this account's only.
   *
   * @default - only principals and managed nodes of this account
   */
  readonly organizationId?: string;

  /**
   * Whether to attach endpoint policies that limit the endpoints to this account (or `organizationId`). `false` keeps
   * the AWS default (full access through the endpoint), e.g. while troubleshooting.
   *
   * @default true
   */
  readonly restrictEndpointPolicies?: boolean;

  /**
   * Whether to create the `ec2messages` endpoint. SSM Agent 3.3.40.0 and later takes commands over `ssmmessages`
   * and does not need it.
   *
   * @default true
   */
  readonly ec2Messages?: boolean;

  /**
   * Whether to create a `kms` endpoint (Session Manager or Parameter Store encryption with a customer-managed key).
   *
   * @default false
   */
  readonly kms?: boolean;

  /**
   * Whether to create a `logs` endpoint (command output and session logs to CloudWatch Logs).
   *
   * @default false
   */
  readonly logs?: boolean;

  /**
   * Whether to create an `ec2` endpoint (EC2 API calls from the VPC, e.g. `aws:ResourceTag` look-ups by scripts).
   *
   * @default false
   */
  readonly ec2?: boolean;

  /**
   * Whether to create an S3 gateway endpoint (patch snapshots, agent updates and command output for nodes in the
   * VPC; free, but unreachable from on-premises).
   *
   * @default false
   */
  readonly s3Gateway?: boolean;

  /**
   * Whether to create an S3 interface endpoint, which on-premises nodes can reach over Direct Connect or VPN. With
   * `s3Gateway` its private DNS answers only the Route 53 Resolver inbound endpoint (nodes in the VPC keep the free
   * gateway).
   *
   * @default false
   */
  readonly s3Interface?: boolean;

  /**
   * Whether to create an `execute-api` endpoint for the activation API's private mode (pass `executeApiEndpoint` to
   * its `vpcEndpoints`). Private DNS on this endpoint sends every `*.execute-api` name in the VPC to it, so public
   * APIs of other accounts are then unreachable from the VPC by their default names.
   *
   * @default false
   */
  readonly executeApi?: boolean;
}

/**
 * Define the VPC endpoints a private fleet needs to reach Systems Manager without internet access: interface
 * endpoints for `ssm`, `ssmmessages` and `ec2messages` (optional `kms`, `logs`, `ec2`, S3 interface, `execute-api`)
 * and an S3 gateway endpoint, behind one security group that admits HTTPS only from the given peers, with private
 * DNS, and with endpoint policies that let only this account's (or organization's) principals and managed nodes
 * through.
 *
 * Refuses a second endpoint for the same service and type in the same VPC (in this stack or among the VPC's
 * children): the second private hosted zone would fail the deployment.
 *
 * @see https://docs.aws.amazon.com/systems-manager/latest/userguide/setup-create-vpc.html
 */
export class SsmPrivateEndpoints extends Construct implements ec2.IConnectable {
  /** The security group of the interface endpoints (port 443 from the allowed peers only). */
  public readonly securityGroup: ec2.SecurityGroup;

  /** Connections of the interface endpoints: `connections.allowDefaultPortFrom(peer)` admits another peer. */
  public readonly connections: ec2.Connections;

  /** The `ssm` interface endpoint. */
  public readonly ssmEndpoint: ec2.InterfaceVpcEndpoint;

  /** The `ssmmessages` interface endpoint. */
  public readonly ssmMessagesEndpoint: ec2.InterfaceVpcEndpoint;

  /** The `ec2messages` interface endpoint, unless `ec2Messages` is false. */
  public readonly ec2MessagesEndpoint?: ec2.InterfaceVpcEndpoint;

  /** The `kms` interface endpoint, with `kms`. */
  public readonly kmsEndpoint?: ec2.InterfaceVpcEndpoint;

  /** The `logs` interface endpoint, with `logs`. */
  public readonly logsEndpoint?: ec2.InterfaceVpcEndpoint;

  /** The `ec2` interface endpoint, with `ec2`. */
  public readonly ec2Endpoint?: ec2.InterfaceVpcEndpoint;

  /** The S3 interface endpoint, with `s3Interface`. */
  public readonly s3InterfaceEndpoint?: ec2.InterfaceVpcEndpoint;

  /** The S3 gateway endpoint, with `s3Gateway`. */
  public readonly s3GatewayEndpoint?: ec2.GatewayVpcEndpoint;

  /** The `execute-api` interface endpoint, with `executeApi`: pass it to the activation API's `vpcEndpoints`. */
  public readonly executeApiEndpoint?: ec2.InterfaceVpcEndpoint;

  private readonly vpc: ec2.IVpc;
  private readonly restrict: boolean;
  private readonly organizationId?: string;

  constructor(scope: Construct, id: string, props: SsmPrivateEndpointsProps) {
    super(scope, id);
    this.vpc = props.vpc;
    this.restrict = props.restrictEndpointPolicies ?? true;
    this.organizationId = props.organizationId;
    if (props.organizationId !== undefined && !Token.isUnresolved(props.organizationId)
      && !ORGANIZATION_ID_PATTERN.test(props.organizationId)) {
      fail(this, `\`organizationId\` must be an AWS Organizations id such as 'o-a1b2c3d4e5', got: '${props.organizationId}'`);
    }
    if (props.organizationId !== undefined && !this.restrict) {
      fail(this, '`organizationId` applies only to the endpoint policies; drop it or keep `restrictEndpointPolicies`, got: restrictEndpointPolicies false');
    }
    const subnets = this.selectSubnets(props);

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'HTTPS to the Systems Manager VPC endpoints from the fleet',
      allowAllOutbound: false,
    });
    this.connections = new ec2.Connections({ securityGroups: [this.securityGroup], defaultPort: ec2.Port.tcp(443) });
    this.admitPeers(props);

    const iface = (name: string, service: ec2.IInterfaceVpcEndpointService, options: Partial<ec2.InterfaceVpcEndpointOptions> = {}) =>
      new ec2.InterfaceVpcEndpoint(this, name, {
        vpc: props.vpc,
        service,
        subnets,
        securityGroups: [this.securityGroup],
        open: false,
        privateDnsEnabled: true,
        ...options,
      });
    this.ssmEndpoint = iface('Ssm', ec2.InterfaceVpcEndpointAwsService.SSM);
    this.ssmMessagesEndpoint = iface('SsmMessages', ec2.InterfaceVpcEndpointAwsService.SSM_MESSAGES);
    if (props.ec2Messages ?? true) this.ec2MessagesEndpoint = iface('Ec2Messages', ec2.InterfaceVpcEndpointAwsService.EC2_MESSAGES);
    if (props.kms) this.kmsEndpoint = iface('Kms', ec2.InterfaceVpcEndpointAwsService.KMS);
    if (props.logs) this.logsEndpoint = iface('Logs', ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS);
    if (props.ec2) this.ec2Endpoint = iface('Ec2', ec2.InterfaceVpcEndpointAwsService.EC2);
    if (props.s3Gateway) {
      this.s3GatewayEndpoint = new ec2.GatewayVpcEndpoint(this, 'S3Gateway', { vpc: props.vpc, service: ec2.GatewayVpcEndpointAwsService.S3 });
    }
    if (props.s3Interface) {
      this.s3InterfaceEndpoint = iface('S3', ec2.InterfaceVpcEndpointAwsService.S3, {
        // With a gateway in the VPC, only the Resolver inbound endpoint (on-premises) answers with the interface.
        privateDnsOnlyForInboundResolverEndpoint: props.s3Gateway
          ? ec2.VpcEndpointPrivateDnsOnlyForInboundResolverEndpoint.ONLY_INBOUND_RESOLVER
          : undefined,
      });
      // EC2 accepts OnlyInboundResolver only when the VPC already has an S3 gateway endpoint.
      if (this.s3GatewayEndpoint) this.s3InterfaceEndpoint.node.addDependency(this.s3GatewayEndpoint);
    }
    if (props.executeApi) this.executeApiEndpoint = iface('ExecuteApi', ec2.InterfaceVpcEndpointAwsService.APIGATEWAY);

    this.attachPolicies();
    this.checkNoDuplicates();
    this.node.addValidation({ validate: () => this.duplicates() });
  }

  private selectSubnets(props: SsmPrivateEndpointsProps): ec2.SubnetSelection {
    const requested = props.subnets ?? {};
    const selection = props.vpc.selectSubnets({ ...requested, onePerAz: true });
    if (!selection.isPendingLookup && selection.subnets.length === 0) {
      const shown = props.subnets ? JSON.stringify({ ...props.subnets, subnets: props.subnets.subnets?.map((s) => s.node.path) }) : 'the default (private subnets)';
      fail(this, `\`subnets\` must select at least one subnet of ${props.vpc.node.path}, got: ${shown}`);
    }
    const zones = new Set(selection.subnets.map((s) => s.availabilityZone));
    if (!selection.isPendingLookup && zones.size === 1 && ![...zones].some((z) => Token.isUnresolved(z))) {
      Annotations.of(this).addWarningV2(
        SINGLE_AZ_WARNING,
        `The endpoints get network interfaces in one Availability Zone only (${[...zones][0]}): nodes lose Systems Manager when it fails. Select subnets in two or more zones`,
      );
    }
    return { subnets: selection.subnets };
  }

  private admitPeers(props: SsmPrivateEndpointsProps): void {
    const groups = props.allowedSecurityGroups ?? [];
    const cidrs = [...new Set(props.allowedCidrs ?? [])];
    for (const group of groups) this.connections.allowDefaultPortFrom(group, 'HTTPS from a fleet security group');
    for (const cidr of cidrs) {
      const parsed = checkCidr(this, 'allowedCidrs', cidr);
      const peer = parsed.version === 6 ? ec2.Peer.ipv6(cidr) : ec2.Peer.ipv4(cidr);
      this.connections.allowDefaultPortFrom(peer, 'HTTPS from an allowed range');
    }
    if (groups.length === 0 && cidrs.length === 0) {
      this.connections.allowDefaultPortFrom(ec2.Peer.ipv4(props.vpc.vpcCidrBlock), 'HTTPS from the VPC');
    }
  }

  /** Endpoint policies: the principal perimeter on every endpoint, plus what each service needs beyond it. */
  private attachPolicies(): void {
    if (!this.restrict) return;
    const org = this.organizationId;
    const principalCondition = org ? { 'aws:PrincipalOrgID': org } : { 'aws:PrincipalAccount': Aws.ACCOUNT_ID };
    const perimeter = [
      new iam.PolicyStatement({
        sid: org ? 'PrincipalsOfTheOrganization' : 'PrincipalsOfThisAccount',
        principals: [new iam.AnyPrincipal()],
        actions: ['*'],
        resources: ['*'],
        conditions: { StringEquals: principalCondition },
      }),
      new iam.PolicyStatement({
        sid: 'AwsServicePrincipals',
        principals: [new iam.AnyPrincipal()],
        actions: ['*'],
        resources: ['*'],
        conditions: { Bool: { 'aws:PrincipalIsAWSService': 'true' } },
      }),
    ];
    const perimeterEndpoints = [
      this.ssmEndpoint, this.ssmMessagesEndpoint, this.ec2MessagesEndpoint, this.kmsEndpoint, this.logsEndpoint,
      this.ec2Endpoint, this.s3InterfaceEndpoint, this.s3GatewayEndpoint,
    ];
    for (const endpoint of perimeterEndpoints) for (const statement of perimeter) endpoint?.addToPolicy(statement);

    // Hybrid nodes register and fetch their credentials with the activation and their own key, not an IAM principal;
    // these calls carry the node's account and organization instead.
    // https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssystemsmanager.html
    this.ssmEndpoint.addToPolicy(new iam.PolicyStatement({
      sid: 'ManagedNodesOfThisAccount',
      principals: [new iam.AnyPrincipal()],
      actions: ['ssm:RegisterManagedInstance', 'ssm:RequestManagedInstanceRoleToken', 'ssm:UpdateManagedInstancePublicKey'],
      resources: ['*'],
      conditions: { StringEquals: org ? { 'ssm:NodeOrgId': org } : { 'ssm:NodeAccountId': Aws.ACCOUNT_ID } },
    }));

    const bucketObjects = AWS_OWNED_SSM_BUCKETS.map((bucket) =>
      `arn:${Aws.PARTITION}:s3:::${bucket.replace('<region>', Aws.REGION)}/*`);
    for (const endpoint of [this.s3GatewayEndpoint, this.s3InterfaceEndpoint]) {
      endpoint?.addToPolicy(new iam.PolicyStatement({
        sid: 'AwsOwnedSystemsManagerBuckets',
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:GetObject'],
        resources: bucketObjects,
      }));
    }

    // API-key callers of the activation API carry no IAM principal: limit the endpoint to this account's APIs.
    this.executeApiEndpoint?.addToPolicy(new iam.PolicyStatement({
      sid: 'ApisOfThisAccount',
      principals: [new iam.AnyPrincipal()],
      actions: ['execute-api:Invoke'],
      resources: [Stack.of(this).formatArn({ service: 'execute-api', resource: '*' })],
    }));
  }

  private checkNoDuplicates(): void {
    const errors = this.duplicates();
    if (errors.length > 0) fail(this, errors[0]);
  }

  /**
   * Endpoints of the same service and type in the same VPC as one of ours: found among the resources of this
   * construct's stack and the VPC's children (which may live in another stack, e.g. a network stack).
   */
  private duplicates(): string[] {
    const stack = Stack.of(this);
    const candidates = new Set<IConstruct>([...stack.node.findAll(), ...this.vpc.node.findAll()]);
    const ours = new Map<string, ec2.CfnVPCEndpoint>();
    for (const child of this.node.findAll()) {
      if (child instanceof ec2.CfnVPCEndpoint) ours.set(endpointKey(child), child);
    }
    const mine = new Set<IConstruct>(ours.values());
    const errors: string[] = [];
    for (const other of candidates) {
      if (!(other instanceof ec2.CfnVPCEndpoint) || mine.has(other)) continue;
      const otherStack = Stack.of(other);
      if (JSON.stringify(otherStack.resolve(other.vpcId)) !== JSON.stringify(otherStack.resolve(this.vpc.vpcId))) continue;
      const duplicated = ours.get(endpointKey(other));
      if (duplicated) {
        errors.push(
          `the VPC ${this.vpc.node.path} may have one ${serviceLabel(duplicated)} endpoint: ${duplicated.node.path} duplicates ${other.node.path}; drop one of them (turn the option off here, or remove the other endpoint)`,
        );
      }
    }
    return errors;
  }
}

/** Service name and endpoint type, with the Region resolved so that literal and pseudo-parameter names compare. */
function endpointKey(endpoint: ec2.CfnVPCEndpoint): string {
  const stack = Stack.of(endpoint);
  const region = Token.isUnresolved(stack.region) ? '<region>' : stack.region;
  const name = flatten(stack.resolve(endpoint.serviceName)).replace('${AWS::Region}', region);
  return `${name}|${endpoint.vpcEndpointType ?? 'Gateway'}`;
}

function serviceLabel(endpoint: ec2.CfnVPCEndpoint): string {
  const name = endpointKey(endpoint).split('|')[0].split('.').slice(3).join('.') || endpointKey(endpoint);
  return `${name} ${(endpoint.vpcEndpointType ?? 'Gateway').toLowerCase()}`;
}

function flatten(value: unknown): string {
  if (typeof value === 'string') return value;
  const node = value as Record<string, unknown>;
  if (Array.isArray(node?.['Fn::Join'])) {
    const [delimiter, parts] = node['Fn::Join'] as [string, unknown[]];
    return parts.map(flatten).join(delimiter);
  }
  if (node?.Ref !== undefined) return `\${${String(node.Ref)}}`;
  return JSON.stringify(value);
}
