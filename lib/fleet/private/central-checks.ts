import { Token } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { REGION_PATTERN } from './fleet-checks';
import { ACCOUNT_ID_PATTERN, fail } from '../../private/validate';
import { HybridFleetCentralReference } from '../hybrid-fleet-central-reference';

/**
 * S3 bucket names: 3 to 63 lowercase letters, digits, `.` and `-`, starting and ending with a letter or digit.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
 */
const BUCKET_NAME_PATTERN = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** An EventBridge event bus ARN. */
const EVENT_BUS_ARN_PATTERN = /^arn:aws[a-z-]*:events:([a-z0-9-]+):(\d{12}):event-bus\/[A-Za-z0-9._\-/]{1,256}$/;

/** A CloudWatch Observability Access Manager sink ARN. */
const SINK_ARN_PATTERN = /^arn:aws[a-z-]*:oam:([a-z0-9-]+):(\d{12}):sink\/[A-Za-z0-9-]+$/;

/** A KMS key ARN. */
const KEY_ARN_PATTERN = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):(\d{12}):key\/[A-Za-z0-9-]+$/;

const literal = (value: string | undefined): value is string => value !== undefined && !Token.isUnresolved(value);

/**
 * Checks the plain values of a `HybridFleetCentralReference` (each literal value; tokens are skipped): formats, and
 * that the bus, the key and the sinks belong to the central account and the Regions they claim.
 */
export function checkCentralReference(scope: IConstruct, central: HybridFleetCentralReference): void {
  const { account, region } = central;
  if (literal(account) && !ACCOUNT_ID_PATTERN.test(account)) {
    fail(scope, `\`central.account\` must be a 12-digit AWS account id, got: '${account}'`);
  }
  if (literal(region) && !REGION_PATTERN.test(region)) {
    fail(scope, `\`central.region\` must be a Region name such as eu-west-1, got: '${region}'`);
  }
  if (literal(central.inventoryBucketName) && !BUCKET_NAME_PATTERN.test(central.inventoryBucketName)) {
    fail(scope, `\`central.inventoryBucketName\` must be an S3 bucket name (3 to 63 lowercase letters, digits, . and -, starting and ending with a letter or digit), got: '${central.inventoryBucketName}'`);
  }
  checkArn(scope, 'central.alertBusArn', central.alertBusArn, EVENT_BUS_ARN_PATTERN, 'an EventBridge event bus ARN (arn:aws:events:<region>:<account>:event-bus/<name>)', account, region);
  checkArn(scope, 'central.inventoryKeyArn', central.inventoryKeyArn, KEY_ARN_PATTERN, 'a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)', account, region);
  for (const [sinkRegion, arn] of Object.entries(central.observabilitySinkArns ?? {})) {
    const prop = `central.observabilitySinkArns['${sinkRegion}']`;
    if (literal(sinkRegion) && !REGION_PATTERN.test(sinkRegion)) {
      fail(scope, `\`central.observabilitySinkArns\` must be keyed by Region names such as eu-west-1, got: '${sinkRegion}'`);
    }
    checkArn(scope, prop, arn, SINK_ARN_PATTERN, 'an OAM sink ARN (arn:aws:oam:<region>:<account>:sink/<id>)', account, sinkRegion);
  }
}

function checkArn(
  scope: IConstruct, prop: string, arn: string | undefined, pattern: RegExp, what: string, account: string, region: string,
): void {
  if (!literal(arn)) return;
  const match = pattern.exec(arn);
  if (!match) fail(scope, `\`${prop}\` must be ${what}, got: '${arn}'`);
  const [, arnRegion, arnAccount] = match;
  if (literal(account) && arnAccount !== account) {
    fail(scope, `\`${prop}\` must be in the central account ${account}, got: '${arn}'`);
  }
  if (literal(region) && arnRegion !== region) {
    fail(scope, `\`${prop}\` must be in the Region ${region}, got: '${arn}'`);
  }
}
