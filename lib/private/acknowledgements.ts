import { Validations } from 'aws-cdk-lib';
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
      'ssm:CreateActivation and the X-Ray trace actions support no resource types; CreateActivation is narrowed by aws:RequestTag (marker tag) and aws:TagKeys conditions',
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
  alarmWithoutAction: {
    ids: [...nag('CloudWatchAlarmAction'), guard('cloudwatch_alarm_action_check')],
    reason:
      'The construct cannot know where to notify; set serverErrorAlarmAction (or add an action to serverErrorAlarm and acknowledge nothing)',
  },
  apiKeyWithoutIam: {
    ids: ['AwsSolutions-APIG4'],
    reason:
      'authorization API_KEY was chosen for on-premises machines without AWS credentials: every method requires the key (apiKeyRequired); see the README on narrowing it with allowedSourceCidrs or vpcEndpoints',
  },
} satisfies Record<string, Acknowledgement>;

function acknowledge(scope: IConstruct, ack: Acknowledgement): void {
  Validations.of(scope).acknowledge(...ack.ids.map((id) => ({ id, reason: ack.reason })));
}

/** The parts of a `HybridActivationApi` that carry acknowledgements, and the choices that decide them. */
export interface ActivationApiParts {
  readonly handler: IConstruct;
  readonly handlerRole: IConstruct;
  readonly ownInstanceRole?: IConstruct;
  readonly restApi: IConstruct;
  readonly logGroups: IConstruct[];
  readonly alarmWithoutAction?: IConstruct;
  readonly logEncryptionKey: boolean;
  readonly webAcl: boolean;
  readonly reservedConcurrency: boolean;
  readonly apiKey: boolean;
}

/** Acknowledges the intended findings of a `HybridActivationApi`, on the constructs they concern. */
export function acknowledgeActivationApiFindings(parts: ActivationApiParts): void {
  if (parts.ownInstanceRole) acknowledge(parts.ownInstanceRole, ACKNOWLEDGEMENTS.instanceRoleManagedPolicy);
  acknowledge(parts.handlerRole, ACKNOWLEDGEMENTS.handlerWildcardResource);
  acknowledge(parts.handlerRole, ACKNOWLEDGEMENTS.handlerInlinePolicy);
  acknowledge(parts.handler, ACKNOWLEDGEMENTS.handlerOutsideVpc);
  acknowledge(parts.handler, ACKNOWLEDGEMENTS.handlerSynchronous);
  if (!parts.reservedConcurrency) acknowledge(parts.handler, ACKNOWLEDGEMENTS.handlerUnreservedConcurrency);
  if (!parts.logEncryptionKey) {
    for (const logGroup of parts.logGroups) acknowledge(logGroup, ACKNOWLEDGEMENTS.logsServiceEncryption);
  }
  acknowledge(parts.restApi, ACKNOWLEDGEMENTS.apiNoCognito);
  acknowledge(parts.restApi, ACKNOWLEDGEMENTS.apiValidatedByHandler);
  acknowledge(parts.restApi, ACKNOWLEDGEMENTS.apiNoCache);
  acknowledge(parts.restApi, ACKNOWLEDGEMENTS.invokePermissionScoped);
  acknowledge(parts.restApi, ACKNOWLEDGEMENTS.apiNoClientCertificate);
  if (!parts.webAcl) acknowledge(parts.restApi, ACKNOWLEDGEMENTS.apiNoWaf);
  if (parts.apiKey) acknowledge(parts.restApi, ACKNOWLEDGEMENTS.apiKeyWithoutIam);
  if (parts.alarmWithoutAction) acknowledge(parts.alarmWithoutAction, ACKNOWLEDGEMENTS.alarmWithoutAction);
}
