/**
 * What a member account/Region needs to know about the fleet's central account: plain values, so that a member stack
 * in another account (or a StackSet template deployed to a whole OU) can point at the central resources without a
 * cross-stack reference. `HybridFleetCentral.reference()` returns one; in another app, write the values down.
 */
export interface HybridFleetCentralReference {
  /** The central account's id (12 digits). */
  readonly account: string;

  /** The central account's home Region, where the inventory bucket and the alert bus live (e.g. `eu-west-1`). */
  readonly region: string;

  /** Name of the central inventory bucket every member's resource data sync writes to. */
  readonly inventoryBucketName: string;

  /**
   * Key prefix of the central inventory bucket (the syncs' `BucketPrefix`).
   *
   * @default - none: the syncs write at the top of the bucket
   */
  readonly inventoryBucketPrefix?: string;

  /**
   * ARN of the KMS key that encrypts the central inventory bucket, when it is a customer-managed key (the syncs pass
   * it as `S3Destination.KMSKeyArn`).
   *
   * @default - the bucket uses SSE-S3
   */
  readonly inventoryKeyArn?: string;

  /**
   * ARN of the central EventBridge bus that members forward their alerts to.
   *
   * @default - members keep their alerts in their own account
   */
  readonly alertBusArn?: string;

  /**
   * ARN of the CloudWatch cross-account observability (OAM) sink of the central account, per Region (sinks are
   * regional; a member links to the sink of its own Region).
   *
   * @default - members do not share their metrics with the central account
   */
  readonly observabilitySinkArns?: { [region: string]: string };
}
