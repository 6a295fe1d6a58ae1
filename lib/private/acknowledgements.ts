import { Stack, Validations } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/*
 * Every cdk-nag / cfn-guard finding this library acknowledges, with its reason, in one place.
 *
 * The library acknowledges a finding only where it is a deliberate design choice of the construct, and only for as
 * long as that choice holds: when a prop lets the user satisfy the rule (a KMS key for logs, a web ACL, reserved
 * concurrency, an alarm action), passing it removes the acknowledgement. The README lists these so that consumers can
 * review them; they appear in the construct metadata `aws:cdk:acknowledged-rules`.
 */

/** An acknowledgement: rule ids (as the checker prints them) and why the finding is intended. */
interface Acknowledgement {
  readonly ids: string[];
  readonly reason: string;
}

const NAG_PACKS = ['NIST.800.53.R5', 'HIPAA.Security'];
const nag = (rule: string): string[] => NAG_PACKS.map((pack) => `${pack}-${rule}`);
const guard = (rule: string): string => `cdk-validator-cfnguard::${rule}`;

/**
 * The findings of a retained data bucket (`retainedBucketProps`) that a construct may acknowledge, by topic: written
 * once here, with each bucket's own reasons below.
 */
const RETAINED_BUCKET_RULES = {
  noAccessLogs: ['AwsSolutions-S1', ...nag('S3BucketLoggingEnabled'), guard('s3_bucket_logging_enabled_check')],
  sseS3: [...nag('S3DefaultEncryptionKMS'), guard('s3_bucket_default_encryption_kms_check')],
  noReplication: nag('S3BucketReplicationEnabled'),
  noEvents: [guard('s3_event_notifications_enabled_check')],
  noObjectLock: [guard('s3_bucket_object_lock_enabled_check')],
};

/** Reasons, by topic. Exported for the README check and the tests. */
export const ACKNOWLEDGEMENTS = {
  instanceRoleManagedPolicy: {
    ids: ['AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore]'],
    reason:
      'AmazonSSMManagedInstanceCore is the AWS-maintained minimum a Systems Manager managed node needs; AWS updates it when the agent needs new actions',
  },
  handlerWildcardResource: {
    ids: ['AwsSolutions-IAM5[Resource::*]'],
    reason:
      'ssm:CreateActivation, DescribeInstanceInformation, DescribeActivations, DeleteActivation and the X-Ray trace actions support no resource types; CreateActivation is narrowed by aws:RequestTag (marker tag) and aws:TagKeys conditions, and the code deletes only activations that carry the marker',
  },
  markedNodesWildcard: {
    ids: ['AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ssm:<AWS::Region>:<AWS::AccountId>:managed-instance/*]'],
    reason:
      "Node ids are not known in advance; every action on managed-instance/* is conditioned on the node carrying this API's marker tag, so only nodes it registered can be deregistered or tagged",
  },
  handlerInlinePolicy: {
    ids: nag('IAMNoInlinePolicy'),
    reason:
      "The handler role's policy belongs to that one role, is created and deleted with it, and grants only what the handler calls",
  },
  handlerOutsideVpc: {
    ids: [...nag('LambdaInsideVPC'), guard('lambda_inside_vpc_check')],
    reason:
      'The handler reaches only the Systems Manager public endpoint and no VPC resource; a VPC would add NAT or endpoint cost without narrowing access',
  },
  handlerSynchronous: {
    ids: nag('LambdaDLQ'),
    reason: 'API Gateway invokes the handler synchronously and returns its error to the caller; a dead-letter queue applies only to asynchronous invocations',
  },
  scheduledRunNoDlq: {
    ids: nag('LambdaDLQ'),
    reason:
      'The janitor runs on a schedule and is idempotent: a failed run is picked up by the next one and counted by its Errors metric and alarm, so a dead-letter queue would hold nothing worth replaying',
  },
  scheduledRunConcurrency: {
    ids: nag('LambdaConcurrency'),
    reason: 'The janitor runs once per schedule tick and is safe to overlap; reserving concurrency would only take it from the account pool',
  },
  handlerUnreservedConcurrency: {
    ids: nag('LambdaConcurrency'),
    reason:
      'Stage throttling (throttlingRateLimit/throttlingBurstLimit) caps the request rate; reserving concurrency would take it from the account pool and can fail deployment in small accounts. Set reservedConcurrentExecutions to reserve it',
  },
  logsServiceEncryption: {
    ids: [...nag('CloudWatchLogGroupEncrypted'), guard('cloudwatch_log_group_encrypted_check')],
    reason:
      'CloudWatch Logs encrypts log data at rest with service keys and the logs never contain activation codes; set logEncryptionKey to use a customer-managed KMS key',
  },
  apiNoCognito: {
    ids: ['AwsSolutions-COG4'],
    reason: 'Machines authenticate with AWS SigV4 (IAM authorization) or, on-premises, an API key; there are no Cognito users',
  },
  apiValidatedByHandler: {
    ids: ['AwsSolutions-APIG2'],
    reason:
      'The handler validates every field exactly as Systems Manager does (Unicode patterns a JSON-schema model cannot express) and answers 400 with a JSON message before any AWS call',
  },
  apiNoWaf: {
    ids: ['AwsSolutions-APIG3', 'NIST.800.53.R5-APIGWAssociatedWithWAF'],
    reason:
      'Every method requires authorization and the stage is throttled; set webAclArn to associate a regional AWS WAF web ACL',
  },
  apiNoCache: {
    ids: nag('APIGWCacheEnabledAndEncrypted'),
    reason: 'Responses carry single-use activation codes and must never be cached',
  },
  apiNoClientCertificate: {
    ids: nag('APIGWSSLEnabled'),
    reason: 'The integration is a Lambda proxy; backend client certificates apply only to HTTP backends',
  },
  invokePermissionScoped: {
    ids: [guard('lambda_function_public_access_prohibited_check')],
    reason:
      "API Gateway's invoke permission carries SourceArn (this API's method) and SourceAccount (this account); the rule only accepts literal strings, and both are deploy-time references in an environment-agnostic stack",
  },
  invokeAnyNode: {
    // The finding names the API and stage by logical id; see acknowledgeInvokeAnyNode.
    ids: ['AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<API>/<STAGE>/PUT/instances/*/tags]'],
    reason:
      "A machine learns its node id only after it registers, so the tagging route is granted for any node id; the handler tags only nodes of this API and, with caller binding, only the caller's own node",
  },
  patchLogsNoAccessLogs: {
    ids: RETAINED_BUCKET_RULES.noAccessLogs,
    reason:
      'Server access logging needs a second bucket the construct cannot choose for you; reads and writes of patch output are also in CloudTrail data events if enabled. Set serverAccessLogsBucket to turn it on',
  },
  patchLogsSseS3: {
    ids: RETAINED_BUCKET_RULES.sseS3,
    reason:
      'Patch command output is encrypted at rest with SSE-S3, which every node can write without extra KMS grants; set encryptionKey to use SSE-KMS with a customer-managed key',
  },
  patchLogsNoReplication: {
    ids: RETAINED_BUCKET_RULES.noReplication,
    reason: 'Patch command output is operational, re-creatable log data with a lifecycle expiry; cross-region replication would double its cost without a recovery need',
  },
  patchLogsNoEvents: {
    ids: RETAINED_BUCKET_RULES.noEvents,
    reason: 'Nothing consumes events for patch command output; failures are reported by the maintenance-window task notifications and compliance data',
  },
  patchLogsNoObjectLock: {
    ids: RETAINED_BUCKET_RULES.noObjectLock,
    reason: 'The bucket is versioned and retained, and its lifecycle rule expires old output; object lock would forbid that expiry',
  },
  nodeOutputPrefix: {
    // The finding names the bucket by logical id and the group's prefix; see acknowledgeNodeOutputPrefix.
    ids: ['AwsSolutions-IAM5[Resource::<BUCKET_OBJECTS>]'],
    reason:
      "Run Command writes output under keys that hold command and node ids, so nodes may put objects anywhere under their patch group's prefix, and only there (s3:PutObject only)",
  },
  alarmWithoutAction: {
    ids: [...nag('CloudWatchAlarmAction'), guard('cloudwatch_alarm_action_check')],
    reason:
      'The construct cannot know where to notify; set alarmAction (or add an action to the alarm yourself)',
  },
  apiKeyWithoutIam: {
    ids: ['AwsSolutions-APIG4'],
    reason:
      'authorization API_KEY was chosen for on-premises machines without AWS credentials: every method requires the key (apiKeyRequired); see the README on narrowing it with allowedSourceCidrs or vpcEndpoints',
  },
  // Maintenance windows (lib/patching/maintenance-window.ts).
  maintenanceWindowRoleInlinePolicy: {
    ids: nag('IAMNoInlinePolicy'),
    reason:
      "The maintenance window service role's policy belongs to that one role, is created and deleted with it, and grants only what the registered tasks need",
  },
  maintenanceWindowNotificationRoleInlinePolicy: {
    ids: nag('IAMNoInlinePolicy'),
    reason:
      "The notification role's policy belongs to that one role, is created and deleted with it, and only publishes to the topics of the window's Run Command tasks",
  },
  maintenanceWindowNotificationEncryptedTopic: {
    ids: ['AwsSolutions-IAM5[Action::kms:GenerateDataKey*]'],
    reason:
      "Publishing to an SSE-KMS topic needs a data key from the topic's key; the topic's grantPublish allows the kms:GenerateDataKey* family on that one key only",
  },
  maintenanceWindowAnyCommand: {
    ids: ['AwsSolutions-IAM5[Resource::*]'],
    reason:
      'ssm:CancelCommand, GetCommandInvocation, ListCommandInvocations, ListCommands and tag:GetResources support no resource types; Systems Manager calls them to follow, cancel and resolve the targets of the commands it sends for the window',
  },
  maintenanceWindowAnyNode: {
    ids: [
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:instance/*]',
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ssm:<AWS::Region>:<AWS::AccountId>:managed-instance/*]',
    ],
    reason:
      "The nodes a window target selects (including hybrid nodes registered later) are only known when the window runs, so node ARNs end in *; for tag targets ssm:SendCommand on them carries ssm:resourceTag/<key> conditions with the targets' tag values (only nodes carrying them can receive the commands), and only for resource-group targets or targets given as tokens is it any node; documents are limited to those of the registered tasks",
  },
  maintenanceWindowAutomationExecutions: {
    ids: ['AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ssm:<AWS::Region>:<AWS::AccountId>:automation-execution/*]'],
    reason: 'Automation execution ids are created when the window runs; the role may only read and stop executions',
  },
  maintenanceWindowAutomationVersions: {
    // The finding names the runbook's automation-definition ARN; see acknowledgeMaintenanceWindowWildcard.
    ids: ['AwsSolutions-IAM5[Resource::<DEFINITION>]'],
    reason:
      'ssm:StartAutomationExecution is checked against the runbook version that runs ($DEFAULT unless documentVersion is set), which changes whenever the runbook is updated; the resource names the runbook and allows any of its versions',
  },
  // Stopped-instance patching runbook (lib/patching/stopped-instance-patching.ts).
  stoppedPatchingDescribe: {
    ids: ['AwsSolutions-IAM5[Resource::*]'],
    reason:
      'ec2:DescribeInstances, ec2:DescribeInstanceStatus, ssm:DescribeInstanceInformation, ssm:ListCommands and ssm:ListCommandInvocations support no resource types; the runbook only reads with them',
  },
  stoppedPatchingTaggedInstances: {
    ids: ['AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:instance/*]'],
    reason:
      "The stopped instances are found when the runbook runs; ec2:StartInstances/StopInstances carry aws:ResourceTag conditions and ssm:SendCommand ssm:resourceTag conditions with the group's tags, so only its instances can be started, stopped or patched",
  },
  // Inventory query layer (lib/inventory/inventory-query-layer.ts).
  inventoryQueryResultsNoAccessLogs: {
    ids: RETAINED_BUCKET_RULES.noAccessLogs,
    reason:
      'Server access logging needs a second bucket the construct cannot choose for you; every query that writes results is recorded by Athena (query history, CloudTrail StartQueryExecution). Set serverAccessLogsBucket to turn it on',
  },
  inventoryQueryResultsSseS3: {
    ids: RETAINED_BUCKET_RULES.sseS3,
    reason:
      'Athena query results are encrypted at rest with SSE-S3 (workgroup EncryptionOption SSE_S3, enforced), which needs no KMS grants for the people who query; set resultsEncryptionKey to use SSE-KMS with a customer-managed key',
  },
  inventoryQueryWorkGroupSseS3: {
    ids: [guard('athena_workgroup_results_encrypted_at_rest_kms_check')],
    reason:
      'The workgroup enforces encryption of every query result with SSE-S3, which needs no KMS grants for the people who query; set resultsEncryptionKey to make it SSE_KMS with a customer-managed key',
  },
  inventoryQueryResultsNoReplication: {
    ids: RETAINED_BUCKET_RULES.noReplication,
    reason: 'Query results are re-creatable by running the query again and expire after resultsExpiration; replication would double their cost without a recovery need',
  },
  inventoryQueryResultsNoEvents: {
    ids: RETAINED_BUCKET_RULES.noEvents,
    reason: 'Nothing consumes events for query results; Athena reports query state through its API and CloudWatch metrics',
  },
  inventoryQueryResultsNoObjectLock: {
    ids: RETAINED_BUCKET_RULES.noObjectLock,
    reason: 'The bucket is versioned and retained, and its lifecycle rule expires old results; object lock would forbid that expiry',
  },
  inventoryQueryTypeFolders: {
    // The finding names the inventory bucket and one inventory type folder; see acknowledgeInventoryQueryGrant.
    ids: ['AwsSolutions-IAM5[Resource::<OBJECTS>]'],
    reason:
      'Sync files are named after node ids, which are not known in advance; readers may get objects only under the folders of the inventory types the query layer defines (s3:GetObject only)',
  },
  inventoryQueryResultObjects: {
    // The finding names the results bucket's results/ prefix; see acknowledgeInventoryQueryGrant.
    ids: ['AwsSolutions-IAM5[Resource::<OBJECTS>]'],
    reason:
      "Athena names result files after query execution ids, which are created when a query runs; the grant covers only the results/ prefix of the layer's own results bucket",
  },
  // Inventory bucket (lib/inventory/inventory-bucket.ts).
  inventoryBucketSseS3: {
    ids: RETAINED_BUCKET_RULES.sseS3,
    reason:
      'Inventory is encrypted at rest with SSE-S3, which resource data syncs of every source account can write without a KMS key policy; set encryptionKey to use SSE-KMS with a customer-managed key (the syncs must then name it)',
  },
  inventoryBucketNoReplication: {
    ids: RETAINED_BUCKET_RULES.noReplication,
    reason:
      'The bucket holds a copy of Systems Manager Inventory, which stays in each source account and region; the syncs rewrite every reporting node, so a lost bucket refills without a replica',
  },
  inventoryBucketNoEvents: {
    ids: RETAINED_BUCKET_RULES.noEvents,
    reason: 'Inventory is read on demand (Athena, Glue crawlers, grantRead); nothing consumes an event per overwritten node file',
  },
  inventoryBucketNoObjectLock: {
    ids: RETAINED_BUCKET_RULES.noObjectLock,
    reason:
      'Resource data sync refuses a destination bucket with S3 Object Lock; the bucket is versioned and retained on stack deletion instead',
  },
  inventoryAccessLogsNoAccessLogs: {
    ids: [guard('s3_bucket_logging_enabled_check')],
    reason:
      "This is the inventory bucket's server access log bucket; logging it would need yet another bucket. Pass serverAccessLogsBucket to send the logs to an existing log bucket instead",
  },
  inventoryAccessLogsSseS3: {
    ids: RETAINED_BUCKET_RULES.sseS3,
    reason: 'S3 server access logs can be delivered only to a bucket whose default encryption is SSE-S3; SSE-KMS is not supported for log target buckets',
  },
  inventoryAccessLogsNoReplication: {
    ids: RETAINED_BUCKET_RULES.noReplication,
    reason: 'Server access logs are an audit aid that expires after 365 days; a cross-region replica would double their cost without a recovery need',
  },
  inventoryAccessLogsNoEvents: {
    ids: RETAINED_BUCKET_RULES.noEvents,
    reason: 'Nothing consumes events for access-log files; they are read when investigating access to the inventory',
  },
  inventoryAccessLogsNoObjectLock: {
    ids: RETAINED_BUCKET_RULES.noObjectLock,
    reason:
      'A server access log target must not have an Object Lock default retention, and the logs expire after 365 days; the bucket is versioned and retained on stack deletion instead',
  },
  // Compliance (lib/compliance/).
  configRecorderManagedPolicy: {
    ids: ['AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWS_ConfigRole]'],
    reason:
      'AWS_ConfigRole is the AWS-maintained policy a configuration recorder needs to describe every resource type it records; AWS updates it when Config supports new types',
  },
  configRecorderInlinePolicy: {
    ids: nag('IAMNoInlinePolicy'),
    reason: "The recorder role's policy belongs to that one role, is created and deleted with it, and only lets Config write to its delivery bucket",
  },
  configDeliveryNoAccessLogs: {
    ids: ['AwsSolutions-S1', ...nag('S3BucketLoggingEnabled'), guard('s3_bucket_logging_enabled_check')],
    reason:
      'Server access logging needs a second bucket the construct cannot choose for you; Config writes to this bucket with its own role, recorded in CloudTrail. Set serverAccessLogsBucket to turn it on',
  },
  configDeliveryObjects: {
    // The finding names the delivery bucket's AWSLogs/<account>/Config/ prefix; see acknowledgeConfigDeliveryObjects.
    ids: ['AwsSolutions-IAM5[Resource::<OBJECTS>]'],
    reason:
      'Config names snapshot and history files after the Region, date and delivery id, so the recorder role may put objects under AWSLogs/<account>/Config/ of its delivery bucket, and only there (s3:PutObject only)',
  },
  configDeliverySseS3: {
    ids: [...nag('S3DefaultEncryptionKMS'), guard('s3_bucket_default_encryption_kms_check')],
    reason: 'Configuration snapshots and history are encrypted at rest with SSE-S3, which Config can write without KMS grants; set encryptionKey to use SSE-KMS with a customer-managed key',
  },
  configDeliveryNoReplication: {
    ids: nag('S3BucketReplicationEnabled'),
    reason: 'The bucket holds copies of what AWS Config keeps itself (configuration history and snapshots stay queryable in Config); a replica would double the cost without a recovery need',
  },
  configDeliveryNoEvents: {
    ids: [guard('s3_event_notifications_enabled_check')],
    reason: 'Nothing consumes an event per delivered snapshot; compliance changes are notified through EventBridge rules on the Config events',
  },
  configDeliveryNoObjectLock: {
    ids: [guard('s3_bucket_object_lock_enabled_check')],
    reason: 'The bucket is versioned and retained on stack deletion; Object Lock would also have to be chosen when the bucket is created and cannot be undone',
  },
  remediationRoleInlinePolicy: {
    ids: nag('IAMNoInlinePolicy'),
    reason: "The automation role's policy belongs to that one role, is created and deleted with it, and grants only what the remediation runbook calls",
  },
  remediationRoleAnyResource: {
    ids: ['AwsSolutions-IAM5[Resource::*]'],
    reason:
      'ec2:DescribeTags, ssm:ListCommands, ListCommandInvocations, GetCommandInvocation and DescribeInstanceInformation support no resource types; they only read tags and the state of the commands the runbook sent',
  },
  remediationRoleAnyNode: {
    ids: [
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:instance/*]',
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ssm:<AWS::Region>:<AWS::AccountId>:managed-instance/*]',
    ],
    reason:
      'Which node is non-compliant is known only when the runbook runs; ssm:SendCommand on nodes carries an ssm:resourceTag condition on the mode tag with the enforce value, so only enforce-mode nodes can receive a command, and reading tags is the decision itself',
  },
  remediationEventsInlinePolicy: {
    ids: nag('IAMNoInlinePolicy'),
    reason: "The EventBridge role's policy belongs to that one role and only starts the remediation runbook and passes its automation role to Systems Manager",
  },
  remediationEventsAnyVersion: {
    // The finding names the runbook's automation-definition ARN; see acknowledgeRemediationEventsRoleFindings.
    ids: ['AwsSolutions-IAM5[Resource::<DEFINITION>]'],
    reason:
      'ssm:StartAutomationExecution is checked against the runbook version that runs ($DEFAULT), which changes whenever the library updates the runbook; the resource names the runbook and allows any of its versions',
  },
  instanceProfileRemediationInlinePolicy: {
    ids: nag('IAMNoInlinePolicy'),
    reason: "The automation role's policy belongs to that one role, is created and deleted with it, and grants only what AWS-AttachIAMToInstance calls",
  },
  instanceProfileRemediationWildcards: {
    ids: [
      'AwsSolutions-IAM5[Resource::*]',
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:instance/*]',
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:instance-profile/*]',
    ],
    reason:
      'The instance without a profile is known only when the remediation runs, ec2:DescribeIamInstanceProfileAssociations supports no resource types, and AWS-AttachIAMToInstance names the profile it creates for the role at run time; iam:PassRole is limited to the fleet role and ec2.amazonaws.com',
  },
  // Risk dashboard (lib/compliance/compliance-dashboard.ts).
  complianceMetricsWildcard: {
    ids: ['AwsSolutions-IAM5[Resource::*]'],
    reason:
      'ssm:DescribeInstanceInformation, ssm:ListResourceComplianceSummaries and the X-Ray trace actions support no resource types; the function only reads',
  },
  complianceMetricsAnyNodeTags: {
    ids: ['AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ssm:<AWS::Region>:<AWS::AccountId>:managed-instance/*]'],
    reason:
      'The function reads the patch-group and mode tags of every hybrid node of the account, whose ids are not known in advance; ssm:ListTagsForResource only, which reads tags',
  },
  complianceMetricsNoDlq: {
    ids: nag('LambdaDLQ'),
    reason:
      'The compliance metrics function runs on a schedule and only reads: a failed run is followed by the next one, and the scan alarm fires when a run did not read the whole fleet or did not report',
  },
  complianceMetricsConcurrency: {
    ids: nag('LambdaConcurrency'),
    reason: 'The function runs once per schedule tick; reserving concurrency would only take it from the account pool',
  },
} satisfies Record<string, Acknowledgement>;

function acknowledge(scope: IConstruct, ack: Acknowledgement): void {
  const inStack = forStackEnvironment(scope);
  const ids = new Set(ack.ids.flatMap(inStack));
  Validations.of(scope).acknowledge(...[...ids].map((id) => ({ id, reason: ack.reason })));
}

/**
 * The rule ids above name ARNs as an environment-agnostic stack renders them (`<AWS::Region>`, `<AWS::AccountId>`,
 * `<AWS::Partition>`), but cdk-nag prints an ARN as the stack renders it: a stack with an explicit account and Region
 * has literals there instead. Returns a function that rewrites an id for the stack of `scope`. The partition is
 * literal only in ARNs built from the stack (`formatArn`) with the partition-literals feature flag on, while
 * aws-cdk-lib writes AWS-managed policy ARNs with `AWS::Partition` always, so both forms are kept.
 */
function forStackEnvironment(scope: IConstruct): (id: string) => string[] {
  const stack = Stack.of(scope);
  const text = (value: string): string => flattenReference(stack.resolve(value));
  const substitute = (id: string, pairs: [string, string][]): string =>
    pairs.reduce((result, [placeholder, value]) => result.split(placeholder).join(value), id);
  const environment: [string, string][] = [
    ['<AWS::Region>', text(stack.region)],
    ['<AWS::AccountId>', text(stack.account)],
  ];
  const partition: [string, string][] = [['<AWS::Partition>', text(stack.partition)]];
  return (id) => {
    const inEnvironment = substitute(id, environment);
    return [inEnvironment, substitute(inEnvironment, partition)];
  };
}

/** A function of this library with its role and log group (see `HandlerFunction`). */
interface HandlerParts {
  readonly function: IConstruct;
  readonly role: IConstruct;
  readonly logGroup: IConstruct;
}

/** Acknowledges the intended findings of one of the library's functions. */
export function acknowledgeHandlerFindings(
  handler: HandlerParts,
  choices: {
    readonly reservedConcurrency: boolean;
    readonly logEncryptionKey: boolean;
    readonly asynchronous: boolean;
    readonly markedNodes?: boolean;
  },
): void {
  acknowledge(handler.role, ACKNOWLEDGEMENTS.handlerWildcardResource);
  if (choices.markedNodes) acknowledge(handler.role, ACKNOWLEDGEMENTS.markedNodesWildcard);
  acknowledge(handler.role, ACKNOWLEDGEMENTS.handlerInlinePolicy);
  acknowledge(handler.function, ACKNOWLEDGEMENTS.handlerOutsideVpc);
  acknowledge(handler.function, choices.asynchronous ? ACKNOWLEDGEMENTS.scheduledRunNoDlq : ACKNOWLEDGEMENTS.handlerSynchronous);
  if (!choices.reservedConcurrency) {
    acknowledge(handler.function, choices.asynchronous ? ACKNOWLEDGEMENTS.scheduledRunConcurrency : ACKNOWLEDGEMENTS.handlerUnreservedConcurrency);
  }
  if (!choices.logEncryptionKey) acknowledge(handler.logGroup, ACKNOWLEDGEMENTS.logsServiceEncryption);
}

/** Acknowledges the intended findings of the risk dashboard's compliance metrics function. */
export function acknowledgeComplianceMetricsFindings(handler: HandlerParts, choices: { readonly logEncryptionKey: boolean }): void {
  acknowledge(handler.role, ACKNOWLEDGEMENTS.complianceMetricsWildcard);
  acknowledge(handler.role, ACKNOWLEDGEMENTS.complianceMetricsAnyNodeTags);
  acknowledge(handler.role, ACKNOWLEDGEMENTS.handlerInlinePolicy);
  acknowledge(handler.function, ACKNOWLEDGEMENTS.handlerOutsideVpc);
  acknowledge(handler.function, ACKNOWLEDGEMENTS.complianceMetricsNoDlq);
  acknowledge(handler.function, ACKNOWLEDGEMENTS.complianceMetricsConcurrency);
  if (!choices.logEncryptionKey) acknowledge(handler.logGroup, ACKNOWLEDGEMENTS.logsServiceEncryption);
}

/** Acknowledges that an alarm has no action (the user adds one, or passes `alarmAction`). */
export function acknowledgeAlarmWithoutAction(alarm: IConstruct): void {
  acknowledge(alarm, ACKNOWLEDGEMENTS.alarmWithoutAction);
}

/** Acknowledges the intended findings of the activation REST API and its access-log group. */
export function acknowledgeRestApiFindings(
  restApi: IConstruct,
  accessLogGroup: IConstruct,
  choices: { readonly logEncryptionKey: boolean; readonly webAcl: boolean; readonly apiKey: boolean },
): void {
  acknowledge(restApi, ACKNOWLEDGEMENTS.apiNoCognito);
  acknowledge(restApi, ACKNOWLEDGEMENTS.apiValidatedByHandler);
  acknowledge(restApi, ACKNOWLEDGEMENTS.apiNoCache);
  acknowledge(restApi, ACKNOWLEDGEMENTS.apiNoClientCertificate);
  acknowledge(restApi, ACKNOWLEDGEMENTS.invokePermissionScoped);
  if (!choices.webAcl) acknowledge(restApi, ACKNOWLEDGEMENTS.apiNoWaf);
  if (choices.apiKey) acknowledge(restApi, ACKNOWLEDGEMENTS.apiKeyWithoutIam);
  if (!choices.logEncryptionKey) acknowledge(accessLogGroup, ACKNOWLEDGEMENTS.logsServiceEncryption);
}

/** Acknowledges the managed policy of the node role the library creates. */
export function acknowledgeInstanceRoleFindings(role: IConstruct): void {
  acknowledge(role, ACKNOWLEDGEMENTS.instanceRoleManagedPolicy);
}

/**
 * Acknowledges the node-id wildcard of the tagging route on a policy or grantee that may invoke the API; the rule id
 * carries the logical ids of the REST API and its stage.
 */
export function acknowledgeInvokeAnyNode(scope: IConstruct, apiLogicalId: string, stageLogicalId: string): void {
  const ack = ACKNOWLEDGEMENTS.invokeAnyNode;
  acknowledge(scope, {
    ids: ack.ids.map((id) => id.replace('<API>', `<${apiLogicalId}>`).replace('<STAGE>', `<${stageLogicalId}>`)),
    reason: ack.reason,
  });
}

/** The acknowledgements of one retained data bucket, by topic (see `RETAINED_BUCKET_RULES`). */
interface RetainedBucketAcknowledgements {
  /** Given unless the bucket logs its access. */
  readonly noAccessLogs?: Acknowledgement;
  /** Given unless the bucket is encrypted with a customer-managed key. */
  readonly sseS3?: Acknowledgement;
  readonly noReplication: Acknowledgement;
  readonly noEvents: Acknowledgement;
  readonly noObjectLock: Acknowledgement;
}

/** The one acknowledgement of a retained data bucket's intended findings. */
function acknowledgeRetainedBucket(bucket: IConstruct, acks: RetainedBucketAcknowledgements): void {
  for (const ack of [acks.noAccessLogs, acks.sseS3, acks.noReplication, acks.noEvents, acks.noObjectLock]) {
    if (ack) acknowledge(bucket, ack);
  }
}

/** Acknowledges the intended findings of a patch log bucket. */
export function acknowledgePatchLogBucketFindings(bucket: IConstruct, choices: { readonly accessLogs: boolean; readonly kms: boolean }): void {
  acknowledgeRetainedBucket(bucket, {
    noAccessLogs: choices.accessLogs ? undefined : ACKNOWLEDGEMENTS.patchLogsNoAccessLogs,
    sseS3: choices.kms ? undefined : ACKNOWLEDGEMENTS.patchLogsSseS3,
    noReplication: ACKNOWLEDGEMENTS.patchLogsNoReplication,
    noEvents: ACKNOWLEDGEMENTS.patchLogsNoEvents,
    noObjectLock: ACKNOWLEDGEMENTS.patchLogsNoObjectLock,
  });
}

/*
 * Maintenance windows (lib/patching/maintenance-window.ts).
 */
const WILDCARD_TOPICS = {
  anyCommand: 'maintenanceWindowAnyCommand',
  anyNode: 'maintenanceWindowAnyNode',
  automationExecutions: 'maintenanceWindowAutomationExecutions',
  automationVersions: 'maintenanceWindowAutomationVersions',
} as const;

/** Acknowledges the inline policy of a maintenance window service role the library creates. */
export function acknowledgeMaintenanceWindowRoleFindings(role: IConstruct): void {
  acknowledge(role, ACKNOWLEDGEMENTS.maintenanceWindowRoleInlinePolicy);
}

/** Acknowledges the inline policy of a Run Command notification role the library creates. */
export function acknowledgeNotificationRoleFindings(role: IConstruct): void {
  acknowledge(role, ACKNOWLEDGEMENTS.maintenanceWindowNotificationRoleInlinePolicy);
}

/** Acknowledges the key grant of a notification role the library creates that publishes to an encrypted topic. */
export function acknowledgeNotificationRoleEncryptedTopic(role: IConstruct): void {
  acknowledge(role, ACKNOWLEDGEMENTS.maintenanceWindowNotificationEncryptedTopic);
}

/**
 * Acknowledges one wildcard resource of a maintenance window service role the library creates. For
 * `automationVersions`, `resolvedResource` is the resolved automation-definition ARN the finding names.
 */
export function acknowledgeMaintenanceWindowWildcard(
  role: IConstruct,
  topic: 'anyCommand' | 'anyNode' | 'automationExecutions' | 'automationVersions',
  resolvedResource?: unknown,
): void {
  const ack = ACKNOWLEDGEMENTS[WILDCARD_TOPICS[topic]];
  const flattened = flattenReference(resolvedResource);
  acknowledge(role, { ids: ack.ids.map((id) => id.replace('<DEFINITION>', flattened)), reason: ack.reason });
}

/** Renders a resolved CloudFormation value the way cdk-nag prints it in rule ids (`<AWS::Region>`, `<Res.Arn>`). */
function flattenReference(node: unknown): string {
  if (node === undefined) return '';
  if (typeof node === 'string') return node.replace(/\${/g, '<').replace(/}/g, '>');
  const value = node as Record<string, unknown>;
  if (Array.isArray(value['Fn::Join'])) {
    const [delimiter, items] = value['Fn::Join'] as [string, unknown[]];
    return items.map(flattenReference).join(delimiter);
  }
  if (value['Fn::Sub'] !== undefined) return flattenReference(value['Fn::Sub']);
  if (Array.isArray(value['Fn::GetAtt'])) {
    const [resource, attribute] = value['Fn::GetAtt'] as [unknown, unknown];
    return `<${flattenReference(resource)}.${flattenReference(attribute)}>`;
  }
  if (value['Fn::ImportValue'] !== undefined) return flattenReference(value['Fn::ImportValue']);
  if (value.Ref !== undefined) return `<${flattenReference(value.Ref)}>`;
  return JSON.stringify(node);
}

/** Acknowledges the key wildcard under a patch group's output prefix on a node role that writes command output. */
export function acknowledgeNodeOutputPrefix(role: IConstruct, objectsResource: string): void {
  const ack = ACKNOWLEDGEMENTS.nodeOutputPrefix;
  acknowledge(role, { ids: ack.ids.map((id) => id.replace('<BUCKET_OBJECTS>', objectsResource)), reason: ack.reason });
}

/*
 * Inventory bucket (lib/inventory/inventory-bucket.ts).
 */

/** Acknowledges the intended findings of an inventory bucket. */
export function acknowledgeInventoryBucketFindings(bucket: IConstruct, choices: { readonly kms: boolean }): void {
  acknowledgeRetainedBucket(bucket, {
    sseS3: choices.kms ? undefined : ACKNOWLEDGEMENTS.inventoryBucketSseS3,
    noReplication: ACKNOWLEDGEMENTS.inventoryBucketNoReplication,
    noEvents: ACKNOWLEDGEMENTS.inventoryBucketNoEvents,
    noObjectLock: ACKNOWLEDGEMENTS.inventoryBucketNoObjectLock,
  });
}

/** Acknowledges the intended findings of the access-log bucket an inventory bucket creates. */
export function acknowledgeInventoryAccessLogBucketFindings(bucket: IConstruct): void {
  acknowledgeRetainedBucket(bucket, {
    noAccessLogs: ACKNOWLEDGEMENTS.inventoryAccessLogsNoAccessLogs,
    sseS3: ACKNOWLEDGEMENTS.inventoryAccessLogsSseS3,
    noReplication: ACKNOWLEDGEMENTS.inventoryAccessLogsNoReplication,
    noEvents: ACKNOWLEDGEMENTS.inventoryAccessLogsNoEvents,
    noObjectLock: ACKNOWLEDGEMENTS.inventoryAccessLogsNoObjectLock,
  });
}

/*
 * Inventory query layer (lib/inventory/inventory-query-layer.ts).
 */

/** Acknowledges the intended findings of the results bucket of an inventory query layer. */
export function acknowledgeInventoryQueryResultsBucketFindings(bucket: IConstruct, choices: { readonly accessLogs: boolean; readonly kms: boolean }): void {
  acknowledgeRetainedBucket(bucket, {
    noAccessLogs: choices.accessLogs ? undefined : ACKNOWLEDGEMENTS.inventoryQueryResultsNoAccessLogs,
    sseS3: choices.kms ? undefined : ACKNOWLEDGEMENTS.inventoryQueryResultsSseS3,
    noReplication: ACKNOWLEDGEMENTS.inventoryQueryResultsNoReplication,
    noEvents: ACKNOWLEDGEMENTS.inventoryQueryResultsNoEvents,
    noObjectLock: ACKNOWLEDGEMENTS.inventoryQueryResultsNoObjectLock,
  });
}

/** Acknowledges the intended findings of the Athena workgroup of an inventory query layer. */
export function acknowledgeInventoryQueryWorkGroupFindings(workGroup: IConstruct, choices: { readonly kms: boolean }): void {
  if (!choices.kms) acknowledge(workGroup, ACKNOWLEDGEMENTS.inventoryQueryWorkGroupSseS3);
}

/**
 * Acknowledges the object wildcards of the query statements on what holds them (a `grantQuery` grantee or the
 * `queryManagedPolicy`): one per inventory type folder and the results prefix, given as resolved CloudFormation values
 * (the finding prints them flattened).
 */
export function acknowledgeInventoryQueryGrant(
  grantee: IConstruct,
  resources: { readonly inventoryObjects: unknown[]; readonly resultObjects: unknown[] },
): void {
  const forResources = (ack: Acknowledgement, resolved: unknown[]): Acknowledgement => ({
    ids: resolved.flatMap((resource) => ack.ids.map((id) => id.replace('<OBJECTS>', flattenReference(resource)))),
    reason: ack.reason,
  });
  acknowledge(grantee, forResources(ACKNOWLEDGEMENTS.inventoryQueryTypeFolders, resources.inventoryObjects));
  acknowledge(grantee, forResources(ACKNOWLEDGEMENTS.inventoryQueryResultObjects, resources.resultObjects));
}

/*
 * Stopped-instance patching runbook (lib/patching/stopped-instance-patching.ts).
 */

/** Acknowledges the describe wildcard and the tag-conditioned instance wildcard of the runbook's policy. */
export function acknowledgeStoppedInstancePatchingFindings(policy: IConstruct): void {
  acknowledge(policy, ACKNOWLEDGEMENTS.stoppedPatchingDescribe);
  acknowledge(policy, ACKNOWLEDGEMENTS.stoppedPatchingTaggedInstances);
}

/*
 * Agent installer (lib/installer/agent-installer.ts).
 */
const INSTALLER_ACKNOWLEDGEMENTS = {
  installerOutputNoAccessLogs: {
    ids: ['AwsSolutions-S1', ...nag('S3BucketLoggingEnabled'), guard('s3_bucket_logging_enabled_check')],
    reason:
      'Server access logging needs a second bucket the construct cannot choose for you; installer output is also in the association history and CloudTrail data events if enabled. Pass outputBucket to use a logged bucket',
  },
  installerOutputSseS3: {
    ids: [...nag('S3DefaultEncryptionKMS'), guard('s3_bucket_default_encryption_kms_check')],
    reason:
      'Installer command output is encrypted at rest with SSE-S3, which every node can write without extra KMS grants; set outputEncryptionKey to use SSE-KMS with a customer-managed key',
  },
  installerOutputNoReplication: {
    ids: nag('S3BucketReplicationEnabled'),
    reason: 'Installer command output is operational log data with a lifecycle expiry; a cross-region replica would double its cost without a recovery need',
  },
  installerOutputNoEvents: {
    ids: [guard('s3_event_notifications_enabled_check')],
    reason: 'Nothing consumes events for installer output; failed runs are reported by EventBridge rules on association state changes and by compliance',
  },
  installerOutputNoObjectLock: {
    ids: [guard('s3_bucket_object_lock_enabled_check')],
    reason: 'The bucket is versioned and retained, and its lifecycle rule expires old output; object lock would forbid that expiry',
  },
  installerNodeOutputPrefix: {
    // The finding names the bucket and the installer's output prefix; see acknowledgeInstallerNodeGrant.
    ids: ['AwsSolutions-IAM5[Resource::<OBJECTS>]'],
    reason:
      "State Manager writes output under keys that hold association, execution and node ids, so nodes may put objects anywhere under the installer's account/Region prefix, and only there (s3:PutObject only)",
  },
} satisfies Record<string, Acknowledgement>;
Object.assign(ACKNOWLEDGEMENTS, INSTALLER_ACKNOWLEDGEMENTS);

/** Acknowledges the intended findings of the output bucket an agent installer creates. */
export function acknowledgeInstallerOutputBucketFindings(bucket: IConstruct, choices: { readonly kms: boolean }): void {
  acknowledge(bucket, INSTALLER_ACKNOWLEDGEMENTS.installerOutputNoAccessLogs);
  if (!choices.kms) acknowledge(bucket, INSTALLER_ACKNOWLEDGEMENTS.installerOutputSseS3);
  acknowledge(bucket, INSTALLER_ACKNOWLEDGEMENTS.installerOutputNoReplication);
  acknowledge(bucket, INSTALLER_ACKNOWLEDGEMENTS.installerOutputNoEvents);
  acknowledge(bucket, INSTALLER_ACKNOWLEDGEMENTS.installerOutputNoObjectLock);
}

/** Acknowledges the key wildcard under the installer's output prefix (a resolved CloudFormation value) on the node policy. */
export function acknowledgeInstallerNodeGrant(policy: IConstruct, resolvedOutputObjects: unknown): void {
  const ack = INSTALLER_ACKNOWLEDGEMENTS.installerNodeOutputPrefix;
  acknowledge(policy, { ids: ack.ids.map((id) => id.replace('<OBJECTS>', flattenReference(resolvedOutputObjects))), reason: ack.reason });
}

/*
 * Compliance (lib/compliance/).
 */

/** Acknowledges the managed and inline policies of a configuration recorder role the library creates. */
export function acknowledgeConfigRecorderRoleFindings(role: IConstruct): void {
  acknowledge(role, ACKNOWLEDGEMENTS.configRecorderManagedPolicy);
  acknowledge(role, ACKNOWLEDGEMENTS.configRecorderInlinePolicy);
}

/** Acknowledges the intended findings of a Config delivery bucket the library creates. */
export function acknowledgeConfigDeliveryBucketFindings(bucket: IConstruct, choices: { readonly accessLogs: boolean; readonly kms: boolean }): void {
  if (!choices.accessLogs) acknowledge(bucket, ACKNOWLEDGEMENTS.configDeliveryNoAccessLogs);
  if (!choices.kms) acknowledge(bucket, ACKNOWLEDGEMENTS.configDeliverySseS3);
  acknowledge(bucket, ACKNOWLEDGEMENTS.configDeliveryNoReplication);
  acknowledge(bucket, ACKNOWLEDGEMENTS.configDeliveryNoEvents);
  acknowledge(bucket, ACKNOWLEDGEMENTS.configDeliveryNoObjectLock);
}

/** Acknowledges the intended findings of the remediation runbook's automation role. */
export function acknowledgeRemediationRunbookFindings(role: IConstruct): void {
  acknowledge(role, ACKNOWLEDGEMENTS.remediationRoleInlinePolicy);
  acknowledge(role, ACKNOWLEDGEMENTS.remediationRoleAnyResource);
  acknowledge(role, ACKNOWLEDGEMENTS.remediationRoleAnyNode);
}

/** Acknowledges the findings of the role EventBridge uses to start the runbook (`definition`: the resolved ARN). */
export function acknowledgeRemediationEventsRoleFindings(role: IConstruct, definition: unknown): void {
  const ack = ACKNOWLEDGEMENTS.remediationEventsAnyVersion;
  acknowledge(role, ACKNOWLEDGEMENTS.remediationEventsInlinePolicy);
  acknowledge(role, { ids: ack.ids.map((id) => id.replace('<DEFINITION>', flattenReference(definition))), reason: ack.reason });
}

/** Acknowledges the intended findings of the AWS-AttachIAMToInstance automation role. */
export function acknowledgeInstanceProfileRemediationFindings(role: IConstruct): void {
  acknowledge(role, ACKNOWLEDGEMENTS.instanceProfileRemediationInlinePolicy);
  acknowledge(role, ACKNOWLEDGEMENTS.instanceProfileRemediationWildcards);
}

/** Acknowledges the object wildcard of a recorder role on its delivery prefix (`objects`: the resolved ARN). */
export function acknowledgeConfigDeliveryObjects(role: IConstruct, objects: unknown): void {
  const ack = ACKNOWLEDGEMENTS.configDeliveryObjects;
  acknowledge(role, { ids: ack.ids.map((id) => id.replace('<OBJECTS>', flattenReference(objects))), reason: ack.reason });
}

/*
 * Fleet (lib/fleet/) and alert forwarding (lib/private/alert-bus-target.ts).
 */
const FLEET_ACKNOWLEDGEMENTS = {
  alertForwardingInlinePolicy: {
    ids: nag('IAMNoInlinePolicy'),
    reason: "The forwarding role's policy belongs to that one role and grants only events:PutEvents on the fleet's alert bus",
  },
} satisfies Record<string, Acknowledgement>;
Object.assign(ACKNOWLEDGEMENTS, FLEET_ACKNOWLEDGEMENTS);

/** Acknowledges the inline policy of the role EventBridge uses to forward alerts to the alert bus. */
export function acknowledgeAlertForwardingRoleFindings(role: IConstruct): void {
  acknowledge(role, FLEET_ACKNOWLEDGEMENTS.alertForwardingInlinePolicy);
}
