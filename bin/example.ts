#!/usr/bin/env node
// The example app: what `npm run synth` builds into cdk.out/ (offline, no AWS account needed).
// It uses the library exactly as a consumer does.
import { Annotations, App, Duration, Environment, Stack, StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import {
  AgentInstallerProps,
  AgentInstallMode,
  AgentPackageFormat,
  AgentPlatform,
  AgentTargets,
  BootScriptPlatform,
  CompliancePlatform,
  ComplianceTopic,
  ConfigRecorderChoice,
  FleetComplianceProps,
  FleetObservabilitySink,
  FleetPatchGroupOptions,
  FleetStackSet,
  FleetStackSetTemplate,
  HybridActivationApi,
  HybridFleetCentral,
  HybridFleetCentralReference,
  HybridFleetMember,
  MaintenanceSchedule,
  NameConflictPolicy,
  PatchBaseline,
  PatchGroup,
  PatchOperatingSystem,
  PatchRebootOption,
  PatchRules,
  RejectedPatchesAction,
  SsmPrivateEndpoints,
  StackSetCallAs,
  StackSetConcurrencyMode,
  StackSetFailureTolerance,
  StackSetMaxConcurrentAccounts,
  StackSetRegionConcurrency,
} from '../lib';

/** Properties of the stack where machines boot. */
export interface HybridFleetExampleStackProps extends StackProps {
  /**
   * The fleet's central account: inventory syncs there, alerts are forwarded to its bus, metrics linked to its sink.
   * @default - standalone: the member's own inventory bucket and topic, and no sync (as bin/pipeline.ts deploys it)
   */
  readonly central?: HybridFleetCentralReference;
  /** Where the AWS Config recorder of this account and Region comes from. @default ConfigRecorderChoice.existing() */
  readonly configRecorder?: ConfigRecorderChoice;
}

/**
 * Where machines boot: a `HybridFleetMember` with the activation API (EC2 instances allowed to call it, a launch
 * template whose instances register at first boot), three patch groups, inventory collection and the sync to the
 * central bucket, compliance, and the agent installer's rings.
 */
export class HybridFleetExampleStack extends Stack {
  public readonly fleet: HybridFleetMember;
  public readonly activations: HybridActivationApi;

  constructor(scope: Construct, id: string, props: HybridFleetExampleStackProps = {}) {
    super(scope, id, props);
    this.fleet = new HybridFleetMember(this, 'Fleet', {
      central: props.central,
      activation: {
        // The marker that identifies this API's nodes, pinned so that renaming the stack or construct keeps them
        // managed (this is the value the default derived from the path HybridFleetExample/Activations).
        markerTagValue: 'c88cc453c197692dd2fa02a681083f3af0cf98f631',
        activationLifetime: Duration.hours(1),
        defaultTags: { PatchGroup: 'linux-web', PatchMode: 'report', AgentRing: 'broad' },
        allowedTags: [{ key: 'PatchMode', values: ['report', 'enforce'] }, { key: 'Team' }, { key: 'AgentRing', values: ['canary', 'early', 'broad'] }],
        // Lifecycle: a re-imaged machine that comes back under its old name replaces its offline registration;
        // an online one is refused with 409.
        nameConflictPolicy: NameConflictPolicy.REPLACE_OFFLINE,
        // Keep room under the standard tier's 1,000 hybrid nodes for other registrations.
        maxRegisteredNodes: 900,
        // The hourly janitor deletes used and expired activations and deregisters nodes gone for a week, 25 a run.
        deregisterOfflineAfter: Duration.days(7),
        maxDeregistrationsPerRun: 25,
      },
      patching: { groups: this.patchGroups() },
      // Collection here is the fleet's (nothing else collects in this account and Region); sync with a central account.
      inventory: { collect: true, sync: props.central !== undefined },
      compliance: this.compliance(props.configRecorder ?? ConfigRecorderChoice.existing()),
      agentInstallers: [this.securityAgent()],
      notificationTopic: new ComplianceTopic(this, 'ComplianceTopic', { displayName: 'Hybrid fleet compliance' }).topic,
    });
    this.activations = this.fleet.activationApi!;

    // EC2 machines that boot with the rendered script sign their request with their instance profile.
    const bootRole = new iam.Role(this, 'BootInstanceRole', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: 'Instance profile role of EC2 machines that register through the activation API',
    });
    // Grant through the API's customer-managed policy (`grantInvoke(bootRole)` does the same with an inline policy).
    this.activations.invokeManagedPolicy().attachToRole(bootRole);

    // A launch template whose instances register themselves at first boot.
    new ec2.LaunchTemplate(this, 'BootTemplate', {
      machineImage: ec2.MachineImage.latestAmazonLinux2023(),
      instanceType: new ec2.InstanceType('t3.micro'),
      role: bootRole,
      requireImdsv2: true,
      detailedMonitoring: true,
      userData: this.activations.userData(BootScriptPlatform.LINUX),
      blockDevices: [{ deviceName: '/dev/xvda', volume: ec2.BlockDeviceVolume.ebs(8, { encrypted: true }) }],
    });

    // All three groups register through one activation API, so their nodes share one role: each can write the other
    // groups' output prefixes. Accepted here (one team runs these nodes); one API per group would keep them apart.
    for (const group of this.fleet.patchGroups) {
      Annotations.of(group).acknowledgeWarning('cdk-ssm-hybrid-fleet:nodeRoleSharedByPatchGroups', 'One team runs every group; their patch logs need not be kept apart');
    }
  }

  /**
   * Compliance, Datacom's way: Config rules over the fleet (patch and association compliance, the security agent
   * every Linux node must run, no telnet anywhere, EC2 instances with a role), NON_COMPLIANT transitions to one
   * topic for the account, and remediation that patches only nodes tagged PatchMode=enforce (manual: an operator
   * starts it from the Config console). The recorder is the stack's choice (this member account is not under Control Tower).
   */
  private compliance(recorder: ConfigRecorderChoice): FleetComplianceProps {
    return {
      recorder,
      requiredApplications: [{ platform: CompliancePlatform.LINUX, applications: [{ name: 'amazon-ssm-agent', version: '3.3.0.0' }] }],
      blockedApplications: [{ applications: [{ name: 'telnet-server' }, { name: 'telnetd' }] }],
      instanceProfileCoverage: true,
    };
  }

  /**
   * Patching, the Moody's way: Linux and Windows groups plus an application group, each scanned daily; nodes whose
   * PatchMode tag says enforce are patched in their group's window, the others are only scanned (Datacom's report
   * first, enforce by switching a tag). New machines arrive in `linux-web` in report mode (the API's defaultTags).
   */
  private patchGroups(): FleetPatchGroupOptions[] {
    const linux = PatchBaseline.criticalAndSecurityUpdates(this, 'LinuxBaseline', {
      operatingSystem: PatchOperatingSystem.AMAZON_LINUX_2023,
      approveAfterDays: 7,
    });
    const windows = PatchBaseline.criticalAndSecurityUpdates(this, 'WindowsBaseline', {
      operatingSystem: PatchOperatingSystem.WINDOWS,
      approveAfterDays: 7,
    });
    // The billing application runs on RHEL and Windows: everything after two weeks, one pinned package held back.
    const billingRhel = new PatchBaseline(this, 'BillingRhelBaseline', {
      operatingSystem: PatchOperatingSystem.REDHAT_ENTERPRISE_LINUX,
      description: 'All updates after 14 days for the billing application; its database driver is held back',
      approvalRules: [PatchRules.allUpdates({ operatingSystem: PatchOperatingSystem.REDHAT_ENTERPRISE_LINUX, approveAfterDays: 14 })],
      rejectedPatches: ['postgresql-jdbc*'],
      rejectedPatchesAction: RejectedPatchesAction.BLOCK,
    });
    return [
      { patchGroupName: 'linux-web', baselines: [linux] },
      { patchGroupName: 'windows', baselines: [windows], installSchedule: MaintenanceSchedule.cron({ weekDay: 'SAT', hour: '22', minute: '0' }) },
      { patchGroupName: 'billing-app', baselines: [billingRhel, windows], rebootOption: PatchRebootOption.NO_REBOOT, maxConcurrency: '1', maxErrors: '0' },
    ];
  }

  /**
   * Agent installer: a sample security agent on every hybrid and EC2 node, rolled out in rings by the node tag
   * AgentRing (set it at registration, e.g. `--tag AgentRing=canary`): about 10 % of the nodes in `canary`, 40 % in
   * `early`, the rest in `broad`. Rollout 10 % → 50 % → 100 %: deploy with only canary enforcing (below), watch the
   * Custom:ExampleSecurityAgent compliance and the failure-rate alarm, then set `early` to ENFORCE and deploy, then
   * `broad`. To stop a bad rollout anywhere in this account and Region without a deploy:
   * `aws ssm put-parameter --name /agent-installer/ExampleSecurityAgent/switch --value disabled --overwrite`.
   */
  private securityAgent(): AgentInstallerProps {
    // The vendor's packages, uploaded to a versioned bucket of yours; nodes may read exactly these object versions.
    const packages = s3.Bucket.fromBucketName(this, 'AgentPackages', 'example-security-agent-packages');
    return {
      agentName: 'ExampleSecurityAgent',
      agentVersion: '7.2.1',
      packages: [
        {
          platform: AgentPlatform.LINUX,
          format: AgentPackageFormat.RPM,
          bucket: packages,
          key: 'example-security-agent/7.2.1/example-security-agent-7.2.1.x86_64.rpm',
          objectVersion: '3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY',
          sha256: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
          // The vendor's detached signature and release key, pinned to their object versions too.
          gpgSignatureKey: 'example-security-agent/7.2.1/example-security-agent-7.2.1.x86_64.rpm.sig',
          gpgSignatureObjectVersion: 'Wq2Pn4nP0s7ZuCx9hWlA8yGmKJ1bLdVt',
          gpgTrustedKeyKey: 'example-security-agent/release-key.asc',
          gpgTrustedKeyObjectVersion: 'Ab7yUq0xW3cLs9Ve5KtR2nPjHd6GmFi4',
        },
        {
          platform: AgentPlatform.WINDOWS,
          format: AgentPackageFormat.MSI,
          bucket: packages,
          key: 'example-security-agent/7.2.1/ExampleSecurityAgent-7.2.1-x64.msi',
          objectVersion: 'Lm3Kp8Qw1Zr5Tx7Vb9Nc2Hd4Jf6Gs0Ya',
          sha256: '60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752',
          authenticodeSigner: 'CN=Example Security Ltd, O=Example Security Ltd, C=GB',
        },
      ],
      linuxPackageName: 'example-security-agent',
      linuxServiceName: 'example-security-agentd',
      linuxHealthCommand: '/opt/example-security-agent/bin/esactl status',
      windowsProductName: 'Example Security Agent',
      windowsServiceName: 'ExampleSecurityAgent',
      stages: [
        { name: 'canary', targets: AgentTargets.tags({ AgentRing: ['canary'] }), mode: AgentInstallMode.ENFORCE, maxConcurrency: '5', maxErrors: '1' },
        { name: 'early', targets: AgentTargets.tags({ AgentRing: ['early'] }), mode: AgentInstallMode.REPORT },
        { name: 'broad', targets: AgentTargets.tags({ AgentRing: ['broad'] }), mode: AgentInstallMode.REPORT },
      ],
      maxConcurrency: '10%',
      maxErrors: '5%',
    };
  }
}

/*
 * The fleet, Moody's shape: one central account for data and reporting, member accounts in two Regions where the
 * nodes are, and a StackSet that rolls the member out to an organizational unit. The ids are examples; synth needs no
 * AWS account.
 */
/** The central (security/tooling) account and its home Region; also the StackSets delegated administrator. */
export const CENTRAL = { account: '111122223333', region: 'eu-west-1' };
/** The member accounts deployed as stacks of this app. */
export const MEMBER_ACCOUNTS = ['444455556666', '777788889999'];
/** The Regions the members run in (each member account in each). */
export const FLEET_REGIONS = ['eu-west-1', 'us-east-1'];
/** The member account and Region where machines boot: the activation API's home (`-c env=` places it). */
export const BOOT_SITE = { account: '444455556666', region: 'eu-west-1' };
/** The organization, and the OU whose accounts (present and future) get the member through the StackSet. */
export const ORGANIZATION_ID = 'o-a1b2c3d4e5';
export const ROLLOUT_OU = 'ou-ab12-cdef3456';
const INVENTORY_BUCKET = `hybrid-fleet-inventory-${CENTRAL.account}-${CENTRAL.region}`;
const INVENTORY_PREFIX = 'inventory';

/**
 * What members in other accounts know of the central account: plain values (a cross-account stack cannot reference
 * another's tokens), the outputs of FleetCentral and FleetCentralSink-<region> written down after their first deploy.
 * The gates check them against HybridFleetCentral.reference().
 */
export const CENTRAL_REFERENCE: HybridFleetCentralReference = {
  account: CENTRAL.account,
  region: CENTRAL.region,
  inventoryBucketName: INVENTORY_BUCKET,
  inventoryBucketPrefix: INVENTORY_PREFIX,
  alertBusArn: `arn:aws:events:${CENTRAL.region}:${CENTRAL.account}:event-bus/hybrid-fleet-alerts`,
  observabilitySinkArns: {
    'eu-west-1': `arn:aws:oam:eu-west-1:${CENTRAL.account}:sink/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0`,
    'us-east-1': `arn:aws:oam:us-east-1:${CENTRAL.account}:sink/1a2b3c4d-5e6f-7081-92a3-b4c5d6e7f809`,
  },
};

/** Properties of the central stack. */
export interface FleetCentralStackProps extends StackProps {
  /** @default MEMBER_ACCOUNTS */
  readonly memberAccounts?: string[];
  /** @default FLEET_REGIONS */
  readonly regions?: string[];
}

/**
 * The central account's home Region: the inventory bucket and Athena, the alert bus and its topic, the OAM sink of
 * this Region and the risk dashboard over every member account and Region (`HybridFleetCentral`).
 */
export class FleetCentralStack extends Stack {
  public readonly central: HybridFleetCentral;

  constructor(scope: Construct, id: string, props: FleetCentralStackProps = {}) {
    super(scope, id, { ...props, env: CENTRAL });
    this.central = new HybridFleetCentral(this, 'Central', {
      organizationId: ORGANIZATION_ID,
      // The OU's accounts (the StackSet's, present and future) sync here too, each into its own partition.
      organizationSyncs: true,
      memberAccounts: props.memberAccounts ?? MEMBER_ACCOUNTS,
      memberRegions: props.regions ?? FLEET_REGIONS,
      inventoryBucketName: INVENTORY_BUCKET,
      inventoryBucketPrefix: INVENTORY_PREFIX,
    });
    // Operators who run the named queries (a customer-managed policy; `grantQuery(role)` adds the same inline).
    const analysts = new iam.Role(this, 'InventoryAnalysts', {
      assumedBy: new iam.AccountRootPrincipal(),
      description: 'Runs the fleet inventory named queries in Athena',
    });
    this.central.queryLayer!.queryManagedPolicy().attachToRole(analysts);
  }
}

/** The central account in another Region: the OAM sink its members link their metrics to (sinks are regional). */
export class FleetCentralSinkStack extends Stack {
  constructor(scope: Construct, id: string, props: StackProps & { readonly memberAccounts?: string[] }) {
    super(scope, id, props);
    new FleetObservabilitySink(this, 'Observability', { organizationId: ORGANIZATION_ID, sourceAccounts: props.memberAccounts ?? MEMBER_ACCOUNTS });
  }
}

/**
 * The organization-wide rollout, in the central account (the StackSets delegated administrator): the member, without
 * an activation API (no machine boots there; the template carries no Lambda asset) and without the metrics producer,
 * on every account of ROLLOUT_OU in each Region, accounts that join later included.
 */
export class FleetRolloutStack extends Stack {
  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, { ...props, env: CENTRAL });
    const template = new FleetStackSetTemplate(this, 'Member', { description: 'Hybrid fleet member: patching, inventory sync, compliance, alert forwarding, metrics link' });
    new HybridFleetMember(template, 'Fleet', {
      central: CENTRAL_REFERENCE,
      activation: { enabled: false },
      complianceMetrics: false,
      // The OU is under Control Tower, which records with AWS Config in every account and Region.
      compliance: { recorder: ConfigRecorderChoice.existing() },
    });
    new FleetStackSet(this, 'MemberRollout', {
      template,
      stackSetName: 'hybrid-fleet-member',
      callAs: StackSetCallAs.DELEGATED_ADMIN,
      organizationalUnitIds: [ROLLOUT_OU],
      regions: FLEET_REGIONS,
      operationPreferences: {
        maxConcurrentAccounts: StackSetMaxConcurrentAccounts.percentage(25),
        failureTolerance: StackSetFailureTolerance.percentage(10),
        regionConcurrency: StackSetRegionConcurrency.PARALLEL,
        concurrencyMode: StackSetConcurrencyMode.SOFT_FAILURE_TOLERANCE,
      },
    });
  }
}

/** Properties of a member account/Region stack. */
export interface FleetMemberStackProps extends StackProps {
  /** Collect inventory here; false when Quick Setup or Inspector already does (two inventory associations = none). */
  readonly collect: boolean;
  /** Where the AWS Config recorder of this account and Region comes from (one per account and Region). */
  readonly configRecorder: ConfigRecorderChoice;
}

/**
 * A member account and Region whose nodes are EC2 instances (they need no activation API): the default patch group,
 * inventory collection (unless something else collects) and the sync to the central bucket, compliance rules, alerts
 * forwarded to the central bus, metrics published and linked to the central sink of this Region.
 */
export class FleetMemberStack extends Stack {
  public readonly fleet: HybridFleetMember;

  constructor(scope: Construct, id: string, props: FleetMemberStackProps) {
    super(scope, id, props);
    this.fleet = new HybridFleetMember(this, 'Fleet', {
      central: CENTRAL_REFERENCE,
      activation: { enabled: false },
      inventory: { collect: props.collect },
      compliance: { recorder: props.configRecorder },
    });
  }
}

/** A private fleet: EC2 instances in isolated subnets reach Systems Manager only through VPC endpoints. */
export class PrivateFleetStack extends Stack {
  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    // The VPC belongs to the network team (imported, not created here); its subnets have no route to the internet.
    const vpc = ec2.Vpc.fromVpcAttributes(this, 'Vpc', {
      vpcId: 'vpc-0a1b2c3d4e5f60718',
      vpcCidrBlock: '10.40.0.0/16',
      availabilityZones: ['eu-west-1a', 'eu-west-1b'],
      isolatedSubnetIds: ['subnet-0a1b2c3d4e5f60718', 'subnet-0f1e2d3c4b5a69788'],
      isolatedSubnetRouteTableIds: ['rtb-0a1b2c3d4e5f60718', 'rtb-0f1e2d3c4b5a69788'],
    });
    new SsmPrivateEndpoints(this, 'Endpoints', {
      vpc,
      allowedCidrs: ['10.40.0.0/16', '10.20.0.0/16'],
      kms: true,
      logs: true,
      s3Gateway: true,
    });
    // Dev/test instances sleep at night: the group's install window starts the stopped ones, patches them and stops them.
    const linux = PatchBaseline.criticalAndSecurityUpdates(this, 'LinuxBaseline', {
      operatingSystem: PatchOperatingSystem.AMAZON_LINUX_2023,
      approveAfterDays: 7,
    });
    new PatchGroup(this, 'DevTest', { patchGroupName: 'dev-test', baselines: [linux], patchStoppedInstances: true });
  }
}

/**
 * The environment of the stack where machines boot (the activation API), from context: `cdk synth -c
 * env=444455556666/eu-west-1` (BOOT_SITE, a member account and Region). Without it the stack is environment-agnostic
 * and deploys where the CLI's credentials point; the gates build the app both ways.
 */
export function exampleEnv(app: App): Environment | undefined {
  const value: unknown = app.node.tryGetContext('env');
  if (value === undefined) return undefined;
  const match = typeof value === 'string' ? /^(\d{12})\/([a-z]{2}(-[a-z]+)+-\d)$/.exec(value) : null;
  if (!match) throw new Error(`context 'env' must be <account>/<region> like 111122223333/eu-west-1, got: '${String(value)}'`);
  return { account: match[1], region: match[2] };
}

/** Options of the example app (the benchmark grows the fleet with them; `npm run synth` takes the defaults). */
export interface ExampleAppOptions {
  /** The member accounts, each in each Region. @default MEMBER_ACCOUNTS */
  readonly memberAccounts?: string[];
  /** @default FLEET_REGIONS */
  readonly regions?: string[];
}

export function buildExampleApp(app: App = new App(process.env.CDK_OUTDIR ? {} : { outdir: 'cdk.out' }), options: ExampleAppOptions = {}): App {
  const memberAccounts = options.memberAccounts ?? MEMBER_ACCOUNTS;
  const regions = options.regions ?? FLEET_REGIONS;
  new FleetCentralStack(app, 'FleetCentral', {
    memberAccounts, regions, description: 'Fleet central account: inventory and Athena, alert bus, OAM sink, risk dashboard',
  });
  for (const region of regions.filter((r) => r !== CENTRAL.region)) {
    new FleetCentralSinkStack(app, `FleetCentralSink-${region}`, {
      env: { account: CENTRAL.account, region }, memberAccounts, description: `Fleet central account in ${region}: the OAM sink of its members`,
    });
  }
  new FleetRolloutStack(app, 'FleetRollout', { description: `Fleet member rolled out to ${ROLLOUT_OU} by a service-managed StackSet` });
  for (const account of memberAccounts) {
    for (const region of regions) {
      // The boot site's stack (below) is the member of its account and Region.
      if (account === BOOT_SITE.account && region === BOOT_SITE.region) continue;
      new FleetMemberStack(app, memberStackId(account, region), {
        env: { account, region },
        ...memberChoices(account, region),
        description: `Fleet member ${account} in ${region}: patching, inventory sync, compliance, alerts and metrics to the central account`,
      });
    }
  }
  new HybridFleetExampleStack(app, 'HybridFleetExample', {
    env: exampleEnv(app),
    central: CENTRAL_REFERENCE,
    configRecorder: ConfigRecorderChoice.create(),
    description: `Where the machines boot, the fleet member ${BOOT_SITE.account} in ${BOOT_SITE.region}: activation API, patch groups, agent installer rings, inventory, compliance`,
  });
  new PrivateFleetStack(app, 'PrivateFleet', {
    env: { account: '777788889999', region: 'eu-west-1' },
    description: 'A private fleet: VPC endpoints for Systems Manager, and a dev/test group patched even while stopped',
  });
  return app;
}

/** What differs between the member accounts and Regions (bin/pipeline.ts makes the same choices). */
export function memberChoices(account: string, region: string): { collect: boolean; configRecorder: ConfigRecorderChoice } {
  return {
    // In the last member account, us-east-1 is already covered by Quick Setup host management: sync only.
    collect: !(account === '777788889999' && region === 'us-east-1'),
    // 777788889999 is enrolled in Control Tower (which records with AWS Config); 444455556666 is not, so its stacks
    // define the recorder, one per Region.
    configRecorder: account === '444455556666' ? ConfigRecorderChoice.create() : ConfigRecorderChoice.existing(),
  };
}

/** The id (and name) of a member account's stack in a Region. */
export function memberStackId(account: string, region: string): string {
  return `FleetMember-${account}-${region}`;
}

if (require.main === module) {
  buildExampleApp().synth();
}
