import { Duration, Stack, Token } from 'aws-cdk-lib';
import * as config from 'aws-cdk-lib/aws-config';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct, IConstruct } from 'constructs';
import { ConfigRecorderOptions } from './config-recorder-choice';
import {
  acknowledgeConfigDeliveryBucketFindings,
  acknowledgeConfigDeliveryObjects,
  acknowledgeConfigRecorderRoleFindings,
} from '../private/acknowledgements';
import { retainedBucketProps } from '../private/retained-bucket';
import { fail } from '../private/validate';

/** The resource types the fleet rules evaluate, which every recorder this library creates records. */
export const FLEET_RECORDED_TYPES: readonly config.ResourceType[] = [
  config.ResourceType.SYSTEMS_MANAGER_MANAGED_INSTANCE_INVENTORY,
  config.ResourceType.SYSTEMS_MANAGER_PATCH_COMPLIANCE,
  config.ResourceType.SYSTEMS_MANAGER_ASSOCIATION_COMPLIANCE,
  config.ResourceType.EC2_INSTANCE,
];

/**
 * Properties for a `FleetConfigRecorder`.
 */
export interface FleetConfigRecorderProps extends ConfigRecorderOptions {}

/**
 * Define the AWS Config configuration recorder of an account and Region, recording the types the fleet rules
 * evaluate, with its role, delivery channel and delivery bucket.
 *
 * There can be only one recorder per account and Region: this construct refuses to be defined twice in a stack, or
 * in two stacks of the app with the same explicit account and Region. `FleetCompliance` creates it for
 * `ConfigRecorderChoice.create()`.
 *
 * @resource AWS::Config::ConfigurationRecorder
 */
export class FleetConfigRecorder extends Construct {
  /** The recorder. */
  public readonly recorder: config.CfnConfigurationRecorder;
  /** The delivery channel (recording starts once it exists). */
  public readonly deliveryChannel: config.CfnDeliveryChannel;
  /** The bucket configuration snapshots and history go to. */
  public readonly bucket: s3.IBucket;
  /** The role the recorder uses. */
  public readonly role: iam.IRole;

  constructor(scope: Construct, id: string, props: FleetConfigRecorderProps = {}) {
    super(scope, id);
    refuseSecondRecorder(this);
    const stack = Stack.of(this);

    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('config.amazonaws.com').withConditions({
        StringEquals: { 'aws:SourceAccount': stack.account },
      }),
      description: 'AWS Config recorder of the hybrid fleet',
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWS_ConfigRole')],
    });
    acknowledgeConfigRecorderRoleFindings(role);
    this.role = role;

    const bucket =
      props.deliveryBucket ??
      new s3.Bucket(this, 'Bucket', {
        ...retainedBucketProps(props.encryptionKey),
        serverAccessLogsBucket: props.serverAccessLogsBucket,
        serverAccessLogsPrefix: props.serverAccessLogsBucket ? 'config-delivery/' : undefined,
        // Current objects are the configuration history and stay; overwritten versions and failed uploads go.
        lifecycleRules: [
          { id: 'ExpireOldVersions', noncurrentVersionExpiration: Duration.days(90), abortIncompleteMultipartUploadAfter: Duration.days(1) },
        ],
      });
    if (!props.deliveryBucket) {
      acknowledgeConfigDeliveryBucketFindings(bucket, {
        accessLogs: props.serverAccessLogsBucket !== undefined,
        kms: props.encryptionKey !== undefined,
      });
    }
    this.bucket = bucket;
    // What Config needs on the delivery bucket, for its role and (same account) for the service principal:
    // https://docs.aws.amazon.com/config/latest/developerguide/s3-bucket-policy.html
    const objects = bucket.arnForObjects(`AWSLogs/${stack.account}/Config/*`);
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:GetBucketAcl', 's3:ListBucket'], resources: [bucket.bucketArn] }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [objects] }));
    acknowledgeConfigDeliveryObjects(role, stack.resolve(objects));
    const service = new iam.ServicePrincipal('config.amazonaws.com');
    const sourceAccount = { StringEquals: { 'AWS:SourceAccount': stack.account } };
    bucket.addToResourcePolicy(
      new iam.PolicyStatement({ principals: [service], actions: ['s3:GetBucketAcl', 's3:ListBucket'], resources: [bucket.bucketArn], conditions: sourceAccount }),
    );
    bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [service],
        actions: ['s3:PutObject'],
        resources: [objects],
        conditions: { StringEquals: { ...sourceAccount.StringEquals, 's3:x-amz-acl': 'bucket-owner-full-control' } },
      }),
    );
    // SSE-KMS uploads need GenerateDataKey (and Decrypt for multipart uploads).
    props.encryptionKey?.grant(role, 'kms:GenerateDataKey', 'kms:Decrypt');

    const resourceTypes = [...new Set([...FLEET_RECORDED_TYPES, ...(props.additionalResourceTypes ?? [])].map((t) => t.complianceResourceType))];
    this.recorder = new config.CfnConfigurationRecorder(this, 'Resource', {
      roleArn: role.roleArn,
      recordingGroup: {
        allSupported: false,
        includeGlobalResourceTypes: false,
        resourceTypes,
        recordingStrategy: { useOnly: 'INCLUSION_BY_RESOURCE_TYPES' },
      },
    });
    this.deliveryChannel = new config.CfnDeliveryChannel(this, 'DeliveryChannel', {
      s3BucketName: bucket.bucketName,
      s3KmsKeyArn: props.encryptionKey?.keyArn,
    });
    this.deliveryChannel.addResourceDependency(this.recorder);
    this.deliveryChannel.node.addDependency(role);
  }
}

/** Stacks that deploy to the same account and Region for certain: the same stack, or equal literal environments. */
function sameEnvironment(a: Stack, b: Stack): boolean {
  if (a === b) return true;
  const literal = (s: Stack) => !Token.isUnresolved(s.account) && !Token.isUnresolved(s.region);
  return literal(a) && literal(b) && a.account === b.account && a.region === b.region;
}

function refuseSecondRecorder(scope: IConstruct): void {
  const here = Stack.of(scope);
  const other = scope.node.root.node
    .findAll()
    .find((c) => c instanceof config.CfnConfigurationRecorder && sameEnvironment(Stack.of(c), here));
  if (other) {
    fail(
      scope,
      `\`recorder\`: ConfigRecorderChoice.create() would define a second configuration recorder for this account and Region, but there can be only one; use ConfigRecorderChoice.existing() here (the first is at ${other.node.path}), got: a second create()`,
    );
  }
}
