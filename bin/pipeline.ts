#!/usr/bin/env node
// The example fleet deployed by CDK Pipelines from a tooling account: the gates run in the pipeline's synth step,
// the central account deploys first (inventory, alert bus, OAM sinks, dashboard), then, each after a manual approval
// (patch installs on enforce-mode nodes change what happens on the machines), the member accounts and Regions, and
// the boot site with the organization-wide StackSet rollout. Synth: `npx cdk synth -a "node -r ./scripts/ts-register.js bin/pipeline.ts"`.
// Offline like the example app; the account ids and the connection ARN are examples.
import { App, Duration, Stack, StackProps, Stage, StageProps, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { CodePipeline, CodePipelineSource, ManualApprovalStep, ShellStep } from 'aws-cdk-lib/pipelines';
import { Construct } from 'constructs';
import {
  BOOT_SITE, CENTRAL, CENTRAL_REFERENCE, FLEET_REGIONS, FleetCentralSinkStack, FleetCentralStack, FleetMemberStack, FleetRolloutStack,
  HybridFleetExampleStack, MEMBER_ACCOUNTS, memberChoices,
} from './example';

/** The tooling account and Region that hosts the pipeline (its targets trust it: `cdk bootstrap --trust`). */
export const TOOLING = { account: '999988887777', region: 'eu-west-1' };

/** The repository the pipeline builds, through a CodeConnections connection (no token stored in the account). */
const REPOSITORY = 'example-org/hybrid-fleet';
const CONNECTION_ARN = 'arn:aws:codeconnections:eu-west-1:999988887777:connection/0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9';

/** The synth step's commands: the gates (type checks, README snippets, every test) run before the cloud assembly is made. */
export const SYNTH_COMMANDS = ['npm ci', 'npm test', 'npx cdk synth -a "node -r ./scripts/ts-register.js bin/pipeline.ts"'];

/** The central account: the inventory bucket every member syncs to, the alert bus and the OAM sinks, so it deploys first. */
export class CentralStage extends Stage {
  constructor(scope: Construct, id: string, props?: StageProps) {
    super(scope, id, props);
    new FleetCentralStack(this, 'FleetCentral', { description: 'Fleet central account: inventory and Athena, alert bus, OAM sink, risk dashboard' });
    for (const region of FLEET_REGIONS.filter((r) => r !== CENTRAL.region)) {
      new FleetCentralSinkStack(this, `FleetCentralSink-${region}`, { env: { account: CENTRAL.account, region }, description: `Fleet central account in ${region}: the OAM sink of its members` });
    }
  }
}

/** Properties of a member stage. */
export interface MemberStageProps extends StageProps {
  readonly account: string;
  readonly region: string;
}

/** One member account and Region: patching, inventory sync to the central bucket, compliance, alerts and metrics. */
export class MemberStage extends Stage {
  constructor(scope: Construct, id: string, props: MemberStageProps) {
    super(scope, id, props);
    const { account, region } = props;
    new FleetMemberStack(this, 'FleetMember', {
      env: { account, region },
      // The same choices as the example app (Quick Setup collects in one Region; Control Tower records in one account).
      ...memberChoices(account, region),
      description: `Fleet member ${account} in ${region}: patching, inventory sync, compliance, alerts and metrics to the central account`,
    });
  }
}

/** The boot site (activation API, patch groups, the agent installer's rings) and the organization-wide StackSet rollout. */
export class FleetStage extends Stage {
  constructor(scope: Construct, id: string, props?: StageProps) {
    super(scope, id, props);
    new HybridFleetExampleStack(this, 'HybridFleetExample', {
      env: BOOT_SITE,
      central: CENTRAL_REFERENCE,
      configRecorder: memberChoices(BOOT_SITE.account, BOOT_SITE.region).configRecorder,
      description: 'Example hybrid fleet under AWS Systems Manager (cdk-ssm-hybrid-fleet): the boot site',
    });
    new FleetRolloutStack(this, 'FleetRollout', { description: 'Fleet member rolled out to an OU by a service-managed StackSet' });
  }
}

/** The pipeline stack in the tooling account. */
export class FleetPipelineStack extends Stack {
  public readonly pipeline: CodePipeline;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, { ...props, env: TOOLING });
    this.pipeline = new CodePipeline(this, 'Pipeline', {
      // The targets are other accounts: their deploy roles must read the artifacts, which needs a KMS key.
      crossAccountKeys: true,
      enableKeyRotation: true,
      synth: new ShellStep('Synth', {
        input: CodePipelineSource.connection(REPOSITORY, 'main', { connectionArn: CONNECTION_ARN }),
        commands: SYNTH_COMMANDS,
      }),
    });

    this.pipeline.addStage(new CentralStage(this, 'Central'));
    // Patch installs, the agent installer's enforcing ring and remediation change what happens on the nodes: a person
    // reads the change sets of the stages below and approves.
    const members = this.pipeline.addWave('Members', {
      pre: [new ManualApprovalStep('ApproveMemberChanges', { comment: 'The member stacks change patch installs on enforce-mode nodes' })],
    });
    for (const account of MEMBER_ACCOUNTS) {
      for (const region of FLEET_REGIONS) {
        if (account === BOOT_SITE.account && region === BOOT_SITE.region) continue;
        members.addStage(new MemberStage(this, `Member-${account}-${region}`, { account, region }));
      }
    }
    this.pipeline.addStage(new FleetStage(this, 'Fleet'), {
      pre: [new ManualApprovalStep('ApproveEnforceChanges', {
        comment: 'The Fleet stage changes patch installs, the agent installer and remediation on enforce-mode nodes, and the StackSet rollout',
      })],
    });
    this.pipeline.buildPipeline();
    this.harden();
  }

  /**
   * The artifact buckets (this Region's and the replication bucket of each other Region the stages deploy to): their
   * artifacts expire, their keys grant only to AWS services, and the findings that remain are acknowledged with why.
   */
  private harden(): void {
    const pipeline = this.pipeline.pipeline;
    const buckets: s3.IBucket[] = [pipeline.artifactBucket, ...Object.values(pipeline.crossRegionSupport).map((s) => s.replicationBucket)];
    for (const bucket of buckets) {
      // Artifacts are inputs of one execution; a failed one is retried from the source commit, not from old artifacts.
      if (bucket instanceof s3.Bucket) bucket.addLifecycleRule({ id: 'ExpireArtifacts', expiration: Duration.days(30) });
      // Grants only for AWS services (Control Tower CT.KMS.PR.3): the pipeline and the targets' deploy roles use the
      // key through its policy, never through grants.
      bucket.encryptionKey?.addToResourcePolicy(new iam.PolicyStatement({
        sid: 'GrantsOnlyForAwsServices',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['kms:CreateGrant'],
        resources: ['*'],
        conditions: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
      }));
      acknowledge(bucket, ARTIFACT_BUCKET);
    }
    acknowledge(this.pipeline, PIPELINE_ROLES);
    acknowledge(this.pipeline, CODEBUILD_SOURCE);
    acknowledge(this.pipeline, CODEBUILD_LOGS);
  }
}

/** A finding this app accepts, with why (the library's own acknowledgements live in lib/private/acknowledgements.ts). */
interface Acknowledgement {
  readonly ids: string[];
  readonly reason: string;
}

const nag = (rule: string): string[] => ['NIST.800.53.R5', 'HIPAA.Security'].map((pack) => `${pack}-${rule}`);
const guard = (rule: string): string => `cdk-validator-cfnguard::${rule}`;

const ARTIFACT_BUCKET: Acknowledgement = {
  ids: [
    'AwsSolutions-S1', ...nag('S3BucketLoggingEnabled'), guard('s3_bucket_logging_enabled_check'),
    ...nag('S3BucketVersioningEnabled'), guard('s3_bucket_versioning_enabled_check'),
    ...nag('S3BucketReplicationEnabled'), guard('s3_event_notifications_enabled_check'), guard('s3_bucket_object_lock_enabled_check'),
  ],
  reason:
    'CDK Pipelines artifact bucket: KMS-encrypted with the pipeline key, TLS only, public access blocked, read and written ' +
    'only by the pipeline roles; every object is a new key of one execution, rebuilt from the source commit, so ' +
    'versioning, replication, object lock, event notifications and access logs would keep copies nobody reads',
};

/** The IAM policies CDK Pipelines generates for its own roles, rule ids as cdk-nag prints them for this stack. */
const PIPELINE_ROLES: Acknowledgement = {
  ids: [
    ...nag('IAMNoInlinePolicy'),
    ...['s3:Abort*', 's3:DeleteObject*', 's3:GetBucket*', 's3:GetObject*', 's3:List*', 'kms:GenerateDataKey*', 'kms:ReEncrypt*']
      .map((action) => `AwsSolutions-IAM5[Action::${action}]`),
    ...[
      '*',
      '<PipelineArtifactsBucketAEA9A052.Arn>/*',
      'arn:<AWS::Partition>:s3:::fleetpipeline-support-us-eplicationbuckete27f0f8275feed898868/*',
      'arn:<AWS::Partition>:logs:eu-west-1:999988887777:log-group:/aws/codebuild/<PipelineBuildSynthCdkBuildProject6BEFA8E6>:*',
      'arn:<AWS::Partition>:codebuild:eu-west-1:999988887777:report-group/<PipelineBuildSynthCdkBuildProject6BEFA8E6>-*',
      'arn:<AWS::Partition>:logs:eu-west-1:999988887777:log-group:/aws/codebuild/<PipelineUpdatePipelineSelfMutationDAA41400>:*',
      'arn:<AWS::Partition>:codebuild:eu-west-1:999988887777:report-group/<PipelineUpdatePipelineSelfMutationDAA41400>-*',
      'arn:*:iam::999988887777:role/*',
      'arn:<AWS::Partition>:logs:eu-west-1:999988887777:log-group:/aws/codebuild/*',
      'arn:<AWS::Partition>:codebuild:eu-west-1:999988887777:report-group/*',
    ].map((resource) => `AwsSolutions-IAM5[Resource::${resource}]`),
  ],
  reason:
    'Policies generated by CDK Pipelines for its own roles: object and key actions on the artifact buckets and their keys, ' +
    'CodeBuild log and report groups of its projects, sts:AssumeRole only on roles tagged aws-cdk:bootstrap-role; the ' +
    '`*` resources are KMS actions for the other Region\'s replication key (known there only by alias), ' +
    'cloudformation:DescribeStacks and s3:ListBucket for self-mutation, and starting its own asset builds. The ' +
    'deployments themselves run as the targets\' bootstrap roles, trusted through `cdk bootstrap --trust`',
};

const CODEBUILD_SOURCE: Acknowledgement = {
  ids: nag('CodeBuildProjectSourceRepoUrl').filter((id) => id.startsWith('HIPAA')),
  reason:
    'The CodeBuild projects take their source from the pipeline (CODEPIPELINE artifacts), not from a repository URL; the ' +
    'repository is reached through a CodeConnections connection, so no credentials are stored in a project',
};

const CODEBUILD_LOGS: Acknowledgement = {
  ids: [guard('codebuild_project_logging_enabled_check')],
  reason:
    'CodeBuild writes every build log to CloudWatch Logs (/aws/codebuild/<project>) when LogsConfig is absent; CDK ' +
    'Pipelines only lets the log configuration be set with a log group of our own, which would add a second copy',
};

function acknowledge(scope: Construct, ack: Acknowledgement): void {
  Validations.of(scope).acknowledge(...ack.ids.map((id) => ({ id, reason: ack.reason })));
}

export function buildPipelineApp(app: App = new App(process.env.CDK_OUTDIR ? {} : { outdir: 'cdk.out' })): App {
  new FleetPipelineStack(app, 'FleetPipeline', { description: 'CDK Pipelines deployment of the example hybrid fleet' });
  return app;
}

if (require.main === module) {
  buildPipelineApp().synth();
}
