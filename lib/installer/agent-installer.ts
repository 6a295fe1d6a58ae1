import { Duration, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { AgentTargets } from './agent-targets';
import { AssociationSchedule } from '../common/association-schedule';
import {
  acknowledgeAlarmWithoutAction, acknowledgeInstallerNodeGrant, acknowledgeInstallerOutputBucketFindings,
} from '../private/acknowledgements';
import { forwardToAlertBus } from '../private/alert-bus-target';
import { installerDocument } from '../private/installer-document';
import { checkRateControl } from '../private/rate-control';
import { retainedBucketProps } from '../private/retained-bucket';
import { checkIntegerRange, fail } from '../private/validate';

/** The operating system a package is for. */
export enum AgentPlatform {
  /** Linux (the `aws:runShellScript` step). */
  LINUX = 'Linux',
  /** Windows (the `aws:runPowerShellScript` step, Windows PowerShell 5.1). */
  WINDOWS = 'Windows',
}

/** The processor architecture a package is for. */
export enum AgentArchitecture {
  /** x86_64 / AMD64. */
  X86_64 = 'x86_64',
  /** arm64 / aarch64. */
  ARM64 = 'arm64',
}

/** How a package is installed. */
export enum AgentPackageFormat {
  /** `rpm -U --replacepkgs --oldpackage` (Linux); install arguments in `AGENT_INSTALL_ARGS`. */
  RPM = 'rpm',
  /** `dpkg -i` (Linux); install arguments in `AGENT_INSTALL_ARGS`. */
  DEB = 'deb',
  /** `msiexec /i <file> /qn /norestart <arguments>` (Windows). */
  MSI = 'msi',
  /** `<file> <arguments>` (Windows). */
  EXE = 'exe',
  /** A bash script (Linux) or PowerShell script (Windows), run with the install arguments. */
  SCRIPT = 'script',
}

/** Whether a rollout stage changes nodes. */
export enum AgentInstallMode {
  /** Install, upgrade and start the agent where it is missing, old or unhealthy. */
  ENFORCE = 'enforce',
  /** Check and report only; nothing is downloaded or changed. */
  REPORT = 'report',
}

/** Severity of the installer's association and of its custom compliance items. */
export enum AgentComplianceSeverity {
  /** Critical. */
  CRITICAL = 'CRITICAL',
  /** High. */
  HIGH = 'HIGH',
  /** Medium. */
  MEDIUM = 'MEDIUM',
  /** Low. */
  LOW = 'LOW',
  /** Unspecified. */
  UNSPECIFIED = 'UNSPECIFIED',
}

/**
 * One agent package: a versioned S3 object for one platform and architecture, with its expected SHA-256 and an
 * optional signature check.
 */
export interface AgentPackage {
  /** Operating system. */
  readonly platform: AgentPlatform;
  /**
   * Architecture.
   *
   * @default AgentArchitecture.X86_64
   */
  readonly architecture?: AgentArchitecture;
  /** How it is installed: RPM, DEB or SCRIPT on Linux; MSI, EXE or SCRIPT on Windows. */
  readonly format: AgentPackageFormat;
  /** Bucket that holds the package (versioning must be on: nodes fetch `objectVersion`, nothing else). */
  readonly bucket: s3.IBucket;
  /** Object key (letters, digits and / _ . + = @ -). */
  readonly key: string;
  /** The S3 version id of the object; nodes may read this version only. */
  readonly objectVersion: string;
  /** Expected SHA-256 of the object, 64 hex digits; any other content is refused. */
  readonly sha256: string;
  /**
   * Linux: key of a detached GPG signature of the package, in the same bucket. Needs `gpg` on the nodes.
   *
   * @default - no signature check
   */
  readonly gpgSignatureKey?: string;
  /**
   * Version id of the signature object.
   *
   * @default - required with `gpgSignatureKey`
   */
  readonly gpgSignatureObjectVersion?: string;
  /**
   * Linux: key of the trusted OpenPGP public key (armored or binary), in the same bucket; the signature must verify
   * with it and nothing else.
   *
   * @default - required with `gpgSignatureKey`
   */
  readonly gpgTrustedKeyKey?: string;
  /**
   * Version id of the trusted key object.
   *
   * @default - required with `gpgSignatureKey`
   */
  readonly gpgTrustedKeyObjectVersion?: string;
  /**
   * Windows: the exact subject of the certificate that must have signed the package (Authenticode status Valid),
   * e.g. `CN=Example Security Ltd, O=Example Security Ltd, C=GB`.
   *
   * @default - no signature check
   */
  readonly authenticodeSigner?: string;
}

/** One rollout stage: one State Manager association of the installer document. */
export interface AgentRolloutStage {
  /** Stage name (1 to 32 letters, digits, `_` or `-`), e.g. `canary`; part of the association name and output prefix. */
  readonly name: string;
  /** The nodes of this stage; no two stages of an installer may reach the same node. */
  readonly targets: AgentTargets;
  /**
   * Whether the stage installs or only reports. This is how a node learns its mode: the association of its stage
   * passes it as the document parameter `mode`.
   *
   * @default AgentInstallMode.ENFORCE
   */
  readonly mode?: AgentInstallMode;
  /**
   * How many nodes of this stage run at once (a number, or 1% to 100%).
   *
   * @default - the installer's `maxConcurrency`
   */
  readonly maxConcurrency?: string;
  /**
   * How many failures stop this stage's run on its remaining nodes (a number, or 0% to 100%).
   *
   * @default - the installer's `maxErrors`
   */
  readonly maxErrors?: string;
}

/**
 * Properties for an `AgentInstaller`.
 */
export interface AgentInstallerProps {
  /**
   * Agent name: 2 to 64 letters, digits or `_`, starting with a letter. The compliance type is `Custom:<agentName>`
   * (a node holds at most 10 custom compliance types).
   */
  readonly agentName: string;

  /** The version the nodes must run (letters, digits and `. _ + ~ : -`), written to the desired-version parameter. */
  readonly agentVersion: string;

  /**
   * S3 packages, at most one per platform and architecture. Set these or `distributorPackageName`.
   *
   * @default - none
   */
  readonly packages?: AgentPackage[];

  /**
   * A Distributor package (name, or ARN when shared) installed through `AWS-ConfigureAWSPackage`, instead of
   * `packages`.
   *
   * @default - none
   */
  readonly distributorPackageName?: string;

  /**
   * Version of the Distributor package (required with `distributorPackageName`: a rollout installs a known version).
   *
   * @default - none
   */
  readonly distributorPackageVersion?: string;

  /**
   * Install arguments, written to the install-arguments parameter (`-` means none). Nodes read the parameter at run
   * time, so they can be changed there without a deploy. They are split into words, never evaluated.
   *
   * @default '-'
   */
  readonly installArguments?: string;

  /**
   * rpm/deb package name whose installed version is compared with `agentVersion` (`rpm -q`, `dpkg-query -W`).
   *
   * @default - none; set this or `linuxVersionCommand` for Linux nodes
   */
  readonly linuxPackageName?: string;
  /**
   * systemd unit that must be active after the install.
   *
   * @default - no service check
   */
  readonly linuxServiceName?: string;
  /**
   * bash command that exits 0 when the agent is healthy (e.g. `/opt/agent/bin/agentctl status`).
   *
   * @default - no custom health check
   */
  readonly linuxHealthCommand?: string;
  /**
   * bash command that prints the installed version (instead of the package manager query).
   *
   * @default - the rpm/deb query of `linuxPackageName`
   */
  readonly linuxVersionCommand?: string;
  /**
   * `DisplayName` of the agent in the Uninstall registry keys, whose `DisplayVersion` is the installed version.
   *
   * @default - none; set this or `windowsVersionCommand` for Windows nodes
   */
  readonly windowsProductName?: string;
  /**
   * Windows service that must be running after the install.
   *
   * @default - no service check
   */
  readonly windowsServiceName?: string;
  /**
   * PowerShell command that succeeds when the agent is healthy.
   *
   * @default - no custom health check
   */
  readonly windowsHealthCommand?: string;
  /**
   * PowerShell command that prints the installed version.
   *
   * @default - the registry lookup of `windowsProductName`
   */
  readonly windowsVersionCommand?: string;

  /**
   * Rollout stages, one association each (at most 10), e.g. canary, early and broad rings by tag.
   *
   * @default - one stage `all` that enforces on every node (`InstanceIds=*`)
   */
  readonly stages?: AgentRolloutStage[];

  /**
   * When every stage runs again (it also runs when created and when a node joins its targets).
   *
   * @default AssociationSchedule.rate(Duration.hours(12))
   */
  readonly schedule?: AssociationSchedule;

  /**
   * How many nodes run at once, per stage (a number, or 1% to 100%).
   *
   * @default '10%'
   */
  readonly maxConcurrency?: string;

  /**
   * How many failures stop a stage's run on its remaining nodes (a number, or 0% to 100%).
   *
   * @default '10%'
   */
  readonly maxErrors?: string;

  /**
   * Compliance severity of the associations and of the `Custom:<agentName>` items.
   *
   * @default AgentComplianceSeverity.HIGH
   */
  readonly complianceSeverity?: AgentComplianceSeverity;

  /**
   * Value the switch parameter is created with. After that, the parameter is the switch: `enabled` lets runs act,
   * anything else turns every run into a no-op that says "disabled". A deploy sets it again only when this value
   * changes.
   *
   * @default true
   */
  readonly enabled?: boolean;

  /**
   * Full ARN of a switch parameter shared with this account through AWS RAM (see `AgentInstallerSharedSwitch`):
   * runs act only when both switches are `enabled`.
   *
   * @default - only this installer's own switch
   */
  readonly sharedSwitchArn?: string;

  /**
   * Parameter Store path of the agent's parameters (`<path>/switch`, `<path>/desired-version`,
   * `<path>/install-arguments`).
   *
   * @default '/agent-installer/<agentName>'
   */
  readonly parameterPath?: string;

  /**
   * Bucket for the associations' command output (written under `<account>/<region>/agent-installer/<agentName>/`).
   *
   * @default - a new bucket: retained on stack deletion, versioned, encrypted, TLS only, no public access
   */
  readonly outputBucket?: s3.IBucket;

  /**
   * Customer-managed key for the output bucket the installer creates (ignored with `outputBucket`).
   *
   * @default - SSE-S3
   */
  readonly outputEncryptionKey?: kms.IKey;

  /**
   * Node roles that get the policy `nodePolicy`: read the package object versions, their keys and the agent's
   * parameters, write the output prefix.
   *
   * @default - none; attach `nodePolicy` yourself
   */
  readonly nodeRoles?: iam.IRole[];

  /**
   * Topic that gets every failed association run of the installer (EventBridge) and the failure-rate alarm.
   *
   * @default - no notifications
   */
  readonly fleetTopic?: sns.ITopic;

  /**
   * An EventBridge bus (usually the central account's `FleetAlertBus`, in another account or Region) that also gets
   * every failed association run of the installer, unformatted, through a role that may only `events:PutEvents` on
   * that bus.
   *
   * @default - the events stay in this account
   */
  readonly alertBus?: events.IEventBus;

  /**
   * Failure rate of association runs, in percent (1 to 100), that raises the alarm: failed runs / finished runs in
   * one hour.
   *
   * @default 10
   */
  readonly failureRateThreshold?: number;
}

const AGENT_NAME = /^[A-Za-z][A-Za-z0-9_]{1,63}$/;
const VERSION = /^[A-Za-z0-9._+~:-]{1,64}$/;
const KEY = /^[A-Za-z0-9/_.+=@-]{1,1024}$/;
const OBJECT_VERSION = /^[A-Za-z0-9._-]{1,1024}$/;
const SHA256 = /^[A-Fa-f0-9]{64}$/;
const SIGNER = /^[A-Za-z0-9 =,.@&()_+-]{1,512}$/;
const STAGE_NAME = /^[A-Za-z0-9_-]{1,32}$/;
const PARAMETER_PATH = /^(\/[a-zA-Z0-9_.-]+)+$/;
const SHARED_SWITCH_ARN = /^arn:aws[a-z-]*:ssm:[a-z0-9-]+:[0-9]{12}:parameter(\/[a-zA-Z0-9_.-]+)+$/;
const DISTRIBUTOR_NAME = /^[a-zA-Z0-9_\-.:/]{3,128}$/;
const DISTRIBUTOR_VERSION = /^[A-Za-z0-9._-]{1,128}$/;
const COMMAND = /^[^\r\n]{1,1024}$/;
const FORMATS: Record<AgentPlatform, AgentPackageFormat[]> = {
  [AgentPlatform.LINUX]: [AgentPackageFormat.RPM, AgentPackageFormat.DEB, AgentPackageFormat.SCRIPT],
  [AgentPlatform.WINDOWS]: [AgentPackageFormat.MSI, AgentPackageFormat.EXE, AgentPackageFormat.SCRIPT],
};
const MAX_STAGES = 10;
const EVENT_DETAIL_TYPE = 'EC2 State Manager Instance Association State Change';

/**
 * Define an agent installer: a Command document of this library (schemaVersion 2.2, Linux and Windows steps whose
 * scripts ship in `documents/installer/`), the agent's parameters (switch, desired version, install arguments), one
 * State Manager association per rollout stage, an output bucket, EventBridge rules and a failure-rate alarm, and a
 * least-privilege policy for the node roles.
 *
 * Each run reads the switch first: anything but `enabled` makes it a no-op that says "disabled". Otherwise it reads
 * the desired version; when that version is installed and healthy it does nothing and says so; report-mode stages
 * only check; enforce-mode stages download the package object version for the node's architecture, refuse it unless
 * its SHA-256 (and signature, when configured) match, install it, start the service and check health. Every outcome
 * is reported as custom compliance `Custom:<agentName>` with the node's own credentials (`ssm:PutComplianceItems`,
 * which `AmazonSSMManagedInstanceCore` grants every managed node).
 *
 * Nodes need SSM Agent 3.3.2746.0 or later (document parameters as environment variables) and the AWS CLI.
 */
export class AgentInstaller extends Construct {
  /** The Command document. */
  public readonly document: ssm.CfnDocument;
  /** The document name. */
  public readonly documentName: string;
  /** The switch parameter: `enabled`, or anything else to stop every run. */
  public readonly switchParameter: ssm.StringParameter;
  /** The desired-version parameter. */
  public readonly desiredVersionParameter: ssm.StringParameter;
  /** The install-arguments parameter. */
  public readonly installArgumentsParameter: ssm.StringParameter;
  /** One association per stage, in stage order. */
  public readonly associations: ssm.CfnAssociation[];
  /** The output bucket. */
  public readonly outputBucket: s3.IBucket;
  /** Key prefix of the command output, `<account>/<region>/agent-installer/<agentName>/`. */
  public readonly outputPrefix: string;
  /** The alarm on the failure rate of association runs. */
  public readonly failureRateAlarm: cloudwatch.Alarm;
  /** Rule matching failed association runs of the installer document. */
  public readonly failedRunsRule: events.Rule;
  /** Rule matching finished (successful or failed) association runs of the installer document. */
  public readonly finishedRunsRule: events.Rule;
  /** The policy that lets node roles do what the installer needs, and no more. */
  public readonly nodePolicy: iam.ManagedPolicy;

  private readonly agentName: string;

  constructor(scope: Construct, id: string, props: AgentInstallerProps) {
    super(scope, id);
    const packages = props.packages ?? [];
    const stages = props.stages ?? [{ name: 'all', targets: AgentTargets.allNodes(), mode: AgentInstallMode.ENFORCE }];
    const schedule = props.schedule ?? AssociationSchedule.rate(Duration.hours(12));
    const maxConcurrency = props.maxConcurrency ?? '10%';
    const maxErrors = props.maxErrors ?? '10%';
    const severity = props.complianceSeverity ?? AgentComplianceSeverity.HIGH;
    const parameterPath = props.parameterPath ?? `/agent-installer/${props.agentName}`;
    const threshold = props.failureRateThreshold ?? 10;
    this.validate(props, packages, stages, parameterPath);
    schedule._validate(this, 'schedule');
    checkRateControl(this, 'maxConcurrency', maxConcurrency, 'concurrency');
    checkRateControl(this, 'maxErrors', maxErrors, 'errors');
    checkIntegerRange(this, 'failureRateThreshold', threshold, 1, 100);
    this.agentName = props.agentName;

    const stack = Stack.of(this);
    const distributor = props.distributorPackageName !== undefined;
    this.document = new ssm.CfnDocument(this, 'Document', {
      documentType: 'Command',
      documentFormat: 'JSON',
      content: installerDocument(distributor ? 'distributor' : 's3'),
      updateMethod: 'NewVersion',
    });
    this.documentName = this.document.ref;

    this.switchParameter = new ssm.StringParameter(this, 'Switch', {
      parameterName: `${parameterPath}/switch`,
      stringValue: props.enabled === false ? 'disabled' : 'enabled',
      description: `Safety switch of the ${props.agentName} installer: 'enabled' lets runs act, anything else makes every run a no-op`,
    });
    this.desiredVersionParameter = new ssm.StringParameter(this, 'DesiredVersion', {
      parameterName: `${parameterPath}/desired-version`,
      stringValue: props.agentVersion,
      description: `Version of ${props.agentName} that nodes must run`,
    });
    this.installArgumentsParameter = new ssm.StringParameter(this, 'InstallArguments', {
      parameterName: `${parameterPath}/install-arguments`,
      stringValue: props.installArguments ?? '-',
      description: `Install arguments of ${props.agentName} ('-' for none)`,
    });

    this.outputBucket = props.outputBucket ?? this.createOutputBucket(props.outputEncryptionKey);
    this.outputPrefix = `${stack.account}/${stack.region}/agent-installer/${props.agentName}/`;

    const common: Record<string, string[]> = {
      agentName: [props.agentName],
      complianceSeverity: [severity],
      switchParameter: [this.switchParameter.parameterName],
      ...optional('sharedSwitchParameter', props.sharedSwitchArn),
      desiredVersionParameter: [this.desiredVersionParameter.parameterName],
      installArgumentsParameter: [this.installArgumentsParameter.parameterName],
      ...this.packageParameters(packages),
      ...(distributor ? { distributorPackage: [props.distributorPackageName!], distributorVersion: [props.distributorPackageVersion!] } : {}),
      ...optional('linuxPackageName', props.linuxPackageName),
      ...optional('linuxServiceName', props.linuxServiceName),
      ...optional('linuxHealthCommand', props.linuxHealthCommand),
      ...optional('linuxVersionCommand', props.linuxVersionCommand),
      ...optional('windowsProductName', props.windowsProductName),
      ...optional('windowsServiceName', props.windowsServiceName),
      ...optional('windowsHealthCommand', props.windowsHealthCommand),
      ...optional('windowsVersionCommand', props.windowsVersionCommand),
    };
    this.associations = stages.map((stage) => new ssm.CfnAssociation(this, `Stage-${stage.name}`, {
      name: this.documentName,
      documentVersion: '$LATEST',
      associationName: associationName(stack, props.agentName, stage.name),
      targets: stage.targets._inner._targets,
      parameters: { ...common, mode: [stage.mode ?? AgentInstallMode.ENFORCE] },
      scheduleExpression: schedule.expressionString,
      maxConcurrency: stage.maxConcurrency ?? maxConcurrency,
      maxErrors: stage.maxErrors ?? maxErrors,
      complianceSeverity: severity,
      syncCompliance: 'AUTO',
      outputLocation: { s3Location: { outputS3BucketName: this.outputBucket.bucketName, outputS3KeyPrefix: `${this.outputPrefix}${stage.name}/` } },
    }));

    const runs = (id: string, statuses: string[], description: string): events.Rule => new events.Rule(this, id, {
      description,
      eventPattern: {
        source: ['aws.ssm'],
        detailType: [EVENT_DETAIL_TYPE],
        detail: { 'document-name': [this.documentName], 'status': statuses },
      },
    });
    this.failedRunsRule = runs('FailedRuns', ['Failed'], `Failed runs of the ${props.agentName} installer on a node`);
    this.finishedRunsRule = runs('FinishedRuns', ['Success', 'Failed'], `Finished runs of the ${props.agentName} installer on a node`);
    if (props.fleetTopic) this.failedRunsRule.addTarget(new targets.SnsTopic(props.fleetTopic));
    if (props.alertBus) forwardToAlertBus(this, [this.failedRunsRule], props.alertBus);
    this.failureRateAlarm = this.createAlarm(threshold, props.fleetTopic);

    this.nodePolicy = this.createNodePolicy(packages, props.sharedSwitchArn);
    for (const role of props.nodeRoles ?? []) this.nodePolicy.attachToRole(role);
  }

  /** Let a node role (or other grantee) do what the installer needs on a node (same as `nodeRoles`). */
  public grantNode(role: iam.IRole): void {
    this.nodePolicy.attachToRole(role);
  }

  private createOutputBucket(encryptionKey?: kms.IKey): s3.IBucket {
    const bucket = new s3.Bucket(this, 'Output', {
      ...retainedBucketProps(encryptionKey),
      lifecycleRules: [{
        id: 'ExpireInstallerOutput',
        expiration: Duration.days(365),
        noncurrentVersionExpiration: Duration.days(7),
        abortIncompleteMultipartUploadAfter: Duration.days(1),
      }],
    });
    acknowledgeInstallerOutputBucketFindings(bucket, { kms: encryptionKey !== undefined });
    return bucket;
  }

  /** Failed runs / finished runs of the last hour, from the rules' `TriggeredRules` metrics (AWS/Events). */
  private createAlarm(threshold: number, topic?: sns.ITopic): cloudwatch.Alarm {
    const triggered = (rule: events.Rule): cloudwatch.Metric => new cloudwatch.Metric({
      namespace: 'AWS/Events',
      metricName: 'TriggeredRules',
      dimensionsMap: { RuleName: rule.ruleName },
      statistic: 'Sum',
      period: Duration.hours(1),
    });
    const rate = new cloudwatch.MathExpression({
      expression: 'IF(finished > 0, 100 * failed / finished, 0)',
      usingMetrics: { failed: triggered(this.failedRunsRule), finished: triggered(this.finishedRunsRule) },
      period: Duration.hours(1),
      label: `${this.agentName} installer failure rate (%)`,
    });
    const alarm = rate.createAlarm(this, 'FailureRateAlarm', {
      alarmDescription: `More than ${threshold}% of the ${this.agentName} installer's runs failed in an hour: read the output under the installer's output prefix; to stop the rollout set its switch parameter to 'disabled'`,
      threshold,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    if (topic) alarm.addAlarmAction(new cloudwatchActions.SnsAction(topic));
    else acknowledgeAlarmWithoutAction(alarm);
    return alarm;
  }

  /**
   * Package object versions (and signature and key objects) read-only, the agent's parameters read-only, the output
   * prefix write-only.
   */
  private createNodePolicy(packages: AgentPackage[], sharedSwitchArn?: string): iam.ManagedPolicy {
    const policy = new iam.ManagedPolicy(this, 'NodePolicy', {
      description: `Lets managed nodes run the ${this.agentName} installer: read its package versions and parameters, write its output`,
    });
    const objects: [s3.IBucket, string, string][] = packages.flatMap((p) => [
      [p.bucket, p.key, p.objectVersion] as [s3.IBucket, string, string],
      ...(p.gpgSignatureKey ? [[p.bucket, p.gpgSignatureKey, p.gpgSignatureObjectVersion!] as [s3.IBucket, string, string]] : []),
      ...(p.gpgTrustedKeyKey ? [[p.bucket, p.gpgTrustedKeyKey, p.gpgTrustedKeyObjectVersion!] as [s3.IBucket, string, string]] : []),
    ]);
    objects.forEach(([bucket, key, version], i) => policy.addStatements(new iam.PolicyStatement({
      sid: `ReadPackageObject${i}`,
      actions: ['s3:GetObjectVersion'],
      resources: [bucket.arnForObjects(key)],
      conditions: { StringEquals: { 's3:versionid': version } },
    })));
    const keys = new Set(packages.map((p) => p.bucket.encryptionKey).filter((k): k is kms.IKey => k !== undefined));
    if (keys.size > 0) {
      policy.addStatements(new iam.PolicyStatement({ sid: 'DecryptPackages', actions: ['kms:Decrypt'], resources: [...keys].map((k) => k.keyArn) }));
    }
    policy.addStatements(new iam.PolicyStatement({
      sid: 'ReadAgentParameters',
      actions: ['ssm:GetParameter'],
      resources: [this.switchParameter.parameterArn, this.desiredVersionParameter.parameterArn, this.installArgumentsParameter.parameterArn,
        ...(sharedSwitchArn ? [sharedSwitchArn] : [])],
    }));
    const outputObjects = this.outputBucket.arnForObjects(`${this.outputPrefix}*`);
    policy.addStatements(new iam.PolicyStatement({ sid: 'WriteOutput', actions: ['s3:PutObject'], resources: [outputObjects] }));
    if (this.outputBucket.encryptionKey) {
      policy.addStatements(new iam.PolicyStatement({
        sid: 'EncryptOutput', actions: ['kms:GenerateDataKey', 'kms:Encrypt'], resources: [this.outputBucket.encryptionKey.keyArn],
      }));
    }
    acknowledgeInstallerNodeGrant(policy, Stack.of(this).resolve(outputObjects));
    return policy;
  }

  private packageParameters(packages: AgentPackage[]): Record<string, string[]> {
    const result: Record<string, string[]> = {};
    for (const p of packages) {
      const slot = `package${p.platform}${p.architecture === AgentArchitecture.ARM64 ? 'Arm64' : 'X8664'}`;
      const sha = Token.isUnresolved(p.sha256) ? p.sha256 : p.sha256.toLowerCase();
      const fields = p.platform === AgentPlatform.LINUX
        ? [p.format, p.bucket.bucketName, p.key, p.objectVersion, sha, p.gpgSignatureKey ?? '', p.gpgSignatureObjectVersion ?? '',
          p.gpgTrustedKeyKey ?? '', p.gpgTrustedKeyObjectVersion ?? '']
        : [p.format, p.bucket.bucketName, p.key, p.objectVersion, sha, p.authenticodeSigner ?? ''];
      result[slot] = [fields.join('|')];
    }
    return result;
  }

  private validate(props: AgentInstallerProps, packages: AgentPackage[], stages: AgentRolloutStage[], parameterPath: string): void {
    const literal = (value: string | undefined): value is string => value !== undefined && !Token.isUnresolved(value);
    if (literal(props.agentName) && !AGENT_NAME.test(props.agentName)) {
      fail(this, `\`agentName\` must be 2 to 64 letters, digits or _, starting with a letter (it becomes the compliance type Custom:<agentName>), got: '${props.agentName}'`);
    }
    if (literal(props.agentVersion) && !VERSION.test(props.agentVersion)) {
      fail(this, `\`agentVersion\` must be 1 to 64 letters, digits or . _ + ~ : -, got: '${props.agentVersion}'`);
    }
    if (literal(parameterPath) && (!PARAMETER_PATH.test(parameterPath) || parameterPath.length > 1000)) {
      fail(this, `\`parameterPath\` must be a parameter path such as '/agent-installer/Agent' ('/' then letters, digits, _ . - separated by '/', no trailing '/'), got: '${parameterPath}'`);
    }
    if (literal(props.sharedSwitchArn) && !SHARED_SWITCH_ARN.test(props.sharedSwitchArn)) {
      fail(this, `\`sharedSwitchArn\` must be the full ARN of a parameter (arn:aws:ssm:<region>:<account>:parameter/<path>), got: '${props.sharedSwitchArn}'`);
    }
    if (literal(props.installArguments) && !COMMAND.test(props.installArguments)) {
      fail(this, `\`installArguments\` must be 1 to 1024 characters on one line ('-' for none), got: '${props.installArguments}'`);
    }
    this.validatePackages(props, packages);
    this.validateHealth(props);
    this.validateStages(stages);
  }

  private validatePackages(props: AgentInstallerProps, packages: AgentPackage[]): void {
    const distributor = props.distributorPackageName !== undefined;
    if (distributor === (packages.length > 0)) {
      fail(this, `\`packages\` and \`distributorPackageName\`: set exactly one package source, got: ${packages.length} packages and ${distributor ? 'a' : 'no'} Distributor package`);
    }
    if (distributor) {
      const name = props.distributorPackageName!;
      if (!Token.isUnresolved(name) && !DISTRIBUTOR_NAME.test(name)) {
        fail(this, `\`distributorPackageName\` must be a package name or ARN of 3 to 128 letters, digits or _ - . : /, got: '${name}'`);
      }
      const version = props.distributorPackageVersion;
      if (version === undefined || (!Token.isUnresolved(version) && !DISTRIBUTOR_VERSION.test(version))) {
        fail(this, `\`distributorPackageVersion\` must pin the version to install (1 to 128 letters, digits or . _ -), got: ${version === undefined ? 'nothing' : `'${version}'`}`);
      }
    } else if (props.distributorPackageVersion !== undefined) {
      fail(this, '`distributorPackageVersion` needs `distributorPackageName`, got: a version without a package');
    }
    const slots = new Set<string>();
    packages.forEach((p, i) => {
      const prop = `packages[${i}]`;
      const slot = `${p.platform}/${p.architecture ?? AgentArchitecture.X86_64}`;
      if (slots.has(slot)) fail(this, `\`${prop}\` is a second package for ${slot}; give at most one per platform and architecture, got: '${p.key}'`);
      slots.add(slot);
      if (!FORMATS[p.platform].includes(p.format)) {
        fail(this, `\`${prop}.format\` must be one of ${FORMATS[p.platform].join(', ')} for ${p.platform}, got: '${p.format}'`);
      }
      const check = (field: string, value: string | undefined, pattern: RegExp, rule: string): void => {
        if (value !== undefined && !Token.isUnresolved(value) && !pattern.test(value)) fail(this, `\`${prop}.${field}\` must be ${rule}, got: '${value}'`);
      };
      check('key', p.key, KEY, 'an object key of letters, digits and / _ . + = @ - (1 to 1024 characters)');
      check('objectVersion', p.objectVersion, OBJECT_VERSION, 'an S3 version id (letters, digits and . _ -)');
      check('sha256', p.sha256, SHA256, 'the SHA-256 of the object in 64 hex digits');
      check('gpgSignatureKey', p.gpgSignatureKey, KEY, 'an object key of letters, digits and / _ . + = @ -');
      check('gpgSignatureObjectVersion', p.gpgSignatureObjectVersion, OBJECT_VERSION, 'an S3 version id');
      check('gpgTrustedKeyKey', p.gpgTrustedKeyKey, KEY, 'an object key of letters, digits and / _ . + = @ -');
      check('gpgTrustedKeyObjectVersion', p.gpgTrustedKeyObjectVersion, OBJECT_VERSION, 'an S3 version id');
      check('authenticodeSigner', p.authenticodeSigner, SIGNER, 'a certificate subject of letters, digits, spaces and = , . @ & ( ) _ + -');
      const gpg = [p.gpgSignatureKey, p.gpgSignatureObjectVersion, p.gpgTrustedKeyKey, p.gpgTrustedKeyObjectVersion];
      if (gpg.some((v) => v !== undefined) && gpg.some((v) => v === undefined)) {
        fail(this, `\`${prop}\` GPG verification needs all of gpgSignatureKey, gpgSignatureObjectVersion, gpgTrustedKeyKey and gpgTrustedKeyObjectVersion, got: ${gpg.filter((v) => v !== undefined).length} of 4`);
      }
      if (p.platform === AgentPlatform.WINDOWS && gpg.some((v) => v !== undefined)) {
        fail(this, `\`${prop}\` GPG signatures are checked on Linux; use authenticodeSigner for Windows packages, got: a GPG signature`);
      }
      if (p.platform === AgentPlatform.LINUX && p.authenticodeSigner !== undefined) {
        fail(this, `\`${prop}.authenticodeSigner\` applies to Windows packages; use the GPG fields for Linux, got: '${p.authenticodeSigner}'`);
      }
    });
  }

  private validateHealth(props: AgentInstallerProps): void {
    const commands: [string, string | undefined][] = [
      ['linuxHealthCommand', props.linuxHealthCommand], ['linuxVersionCommand', props.linuxVersionCommand],
      ['windowsHealthCommand', props.windowsHealthCommand], ['windowsVersionCommand', props.windowsVersionCommand],
    ];
    for (const [prop, value] of commands) {
      if (value !== undefined && !Token.isUnresolved(value) && !COMMAND.test(value)) fail(this, `\`${prop}\` must be one line of 1 to 1024 characters, got: '${value}'`);
    }
    const names: [string, string | undefined, RegExp][] = [
      ['linuxPackageName', props.linuxPackageName, /^[A-Za-z0-9_.+-]{1,128}$/],
      ['linuxServiceName', props.linuxServiceName, /^[A-Za-z0-9_.@:-]{1,256}$/],
      ['windowsProductName', props.windowsProductName, /^[A-Za-z0-9 _.,()&+-]{1,256}$/],
      ['windowsServiceName', props.windowsServiceName, /^[A-Za-z0-9 _.-]{1,256}$/],
    ];
    for (const [prop, value, pattern] of names) {
      if (value !== undefined && !Token.isUnresolved(value) && !pattern.test(value)) fail(this, `\`${prop}\` must match ${pattern.source}, got: '${value}'`);
    }
    const platforms = new Set((props.packages ?? []).map((p) => p.platform));
    if (platforms.has(AgentPlatform.LINUX) && !props.linuxPackageName && !props.linuxVersionCommand) {
      fail(this, '`linuxPackageName` or `linuxVersionCommand` must say how to read the installed version on Linux, got: neither');
    }
    if (platforms.has(AgentPlatform.WINDOWS) && !props.windowsProductName && !props.windowsVersionCommand) {
      fail(this, '`windowsProductName` or `windowsVersionCommand` must say how to read the installed version on Windows, got: neither');
    }
  }

  private validateStages(stages: AgentRolloutStage[]): void {
    if (stages.length < 1 || stages.length > MAX_STAGES) fail(this, `\`stages\` must list 1 to ${MAX_STAGES} stages, got: ${stages.length}`);
    const names = new Set<string>();
    stages.forEach((stage, i) => {
      const prop = `stages[${i}]`;
      if (!Token.isUnresolved(stage.name) && !STAGE_NAME.test(stage.name)) {
        fail(this, `\`${prop}.name\` must be 1 to 32 letters, digits, _ or -, got: '${stage.name}'`);
      }
      if (names.has(stage.name)) fail(this, `\`${prop}.name\` must be unique, got: '${stage.name}' twice`);
      names.add(stage.name);
      stage.targets._validate(this, `${prop}.targets`);
      checkRateControl(this, `${prop}.maxConcurrency`, stage.maxConcurrency, 'concurrency');
      checkRateControl(this, `${prop}.maxErrors`, stage.maxErrors, 'errors');
      for (const earlier of stages.slice(0, i)) {
        const overlap = stage.targets._overlap(earlier.targets);
        if (overlap) {
          fail(this, `\`${prop}.targets\` must not reach nodes of stage '${earlier.name}' (${overlap}): a node in two stages runs the installer twice with different modes, got: ${stage.targets.description}`);
        }
      }
    });
  }
}

function optional(name: string, value: string | undefined): Record<string, string[]> {
  return value === undefined ? {} : { [name]: [value] };
}

/** `<stack>-<agent>-<stage>` when that is a valid association name (the stack name makes it unique per Region). */
function associationName(stack: Stack, agentName: string, stage: string): string | undefined {
  const name = `${stack.stackName}-${agentName}-${stage}`;
  return !Token.isUnresolved(name) && /^[a-zA-Z0-9_\-.]{3,128}$/.test(name) ? name : undefined;
}
