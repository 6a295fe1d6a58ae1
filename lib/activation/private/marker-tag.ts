import { Token } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { checkTagValue } from '../../private/tags';
import { fail } from '../../private/validate';

/** Key of the marker tag that every activation issued by an API of this library carries (copied to the node). */
export const MARKER_TAG_KEY = 'hybrid-fleet:activation-api';

/** Checks a marker tag value: a Systems Manager tag value of 1 to 256 characters; tokens are skipped. */
export function checkMarkerTagValue(scope: IConstruct, value: string): void {
  if (!Token.isUnresolved(value) && value.length === 0) {
    fail(scope, "`markerTagValue` must be 1 to 256 characters long, got: ''");
  }
  checkTagValue(scope, 'markerTagValue', MARKER_TAG_KEY, value);
}
