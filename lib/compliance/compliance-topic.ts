import { Duration, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { fail } from '../private/validate';

/**
 * Properties for a `ComplianceTopic`.
 */
export interface ComplianceTopicProps {
  /**
   * Customer-managed KMS key that encrypts the topic. Its key policy must let `events.amazonaws.com` use it
   * (`kms:GenerateDataKey*`, `kms:Decrypt`); the key this construct creates does.
   *
   * @default - a new key with rotation on
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * Display name of the topic (the sender of e-mail notifications), up to 100 characters.
   *
   * @default 'Fleet compliance'
   */
  readonly displayName?: string;
}

/**
 * Define an SNS topic for compliance notifications that EventBridge can publish to: encrypted with a
 * customer-managed KMS key whose policy lets EventBridge use it (the AWS-managed `alias/aws/sns` key cannot be used
 * by EventBridge), and a topic policy that refuses requests without TLS.
 *
 * @see https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services
 */
export class ComplianceTopic extends Construct {
  /** The topic. */
  public readonly topic: sns.ITopic;
  /** The key that encrypts it. */
  public readonly encryptionKey: kms.IKey;

  constructor(scope: Construct, id: string, props: ComplianceTopicProps = {}) {
    super(scope, id);
    const displayName = props.displayName ?? 'Fleet compliance';
    if (!Token.isUnresolved(displayName) && displayName.length > 100) {
      fail(this, `\`displayName\` must be at most 100 characters long, got: ${displayName.length}`);
    }
    const key =
      props.encryptionKey ??
      new kms.Key(this, 'Key', {
        description: 'Encrypts the fleet compliance notification topic',
        enableKeyRotation: true,
        pendingWindow: Duration.days(30),
      });
    if (!props.encryptionKey) {
      key.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'AllowEventBridgeToPublishToTheEncryptedTopic',
          principals: [new iam.ServicePrincipal('events.amazonaws.com')],
          actions: ['kms:GenerateDataKey*', 'kms:Decrypt'],
          resources: ['*'],
        }),
      );
      // Grants only for AWS services (Control Tower CT.KMS.PR.3).
      key.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'GrantsOnlyForAwsServices',
          effect: iam.Effect.DENY,
          principals: [new iam.AnyPrincipal()],
          actions: ['kms:CreateGrant'],
          resources: ['*'],
          conditions: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
        }),
      );
    }
    this.encryptionKey = key;
    this.topic = new sns.Topic(this, 'Resource', {
      displayName,
      masterKey: key,
      enforceSSL: true,
    });
  }
}
