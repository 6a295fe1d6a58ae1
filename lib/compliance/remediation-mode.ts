/**
 * How AWS Config remediates the non-compliant resources of a rule.
 *
 * @see https://docs.aws.amazon.com/config/latest/developerguide/remediation.html
 */
export enum RemediationMode {
  /** No remediation configuration. */
  NONE = 'NONE',
  /** A remediation configuration that people start from the Config console or API (`Automatic: false`). */
  MANUAL = 'MANUAL',
  /** Config starts the remediation for every non-compliant resource (`Automatic: true`), with retries. */
  AUTOMATIC = 'AUTOMATIC',
}
