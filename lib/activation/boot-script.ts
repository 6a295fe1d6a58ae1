/**
 * Operating-system family of a boot script that registers a machine through a `HybridActivationApi`.
 */
export enum BootScriptPlatform {
  /** Bash script for Linux (`boot/linux/register-node.sh`). */
  LINUX = 'LINUX',
  /** PowerShell 5.1+ script for Windows (`boot/windows/register-node.ps1`). */
  WINDOWS = 'WINDOWS',
}

/**
 * How a boot script authenticates to the activation API.
 */
export enum BootScriptAuth {
  /**
   * SigV4 with AWS credentials: the EC2 instance profile's, read from IMDSv2, or (Linux script, on-premises) those
   * a credential process prints, such as IAM Roles Anywhere's `aws_signing_helper` (`--credential-process`).
   */
  IAM = 'iam',
  /** The API key, read from `ACTIVATION_API_KEY` or a key file on the machine; never baked into the script. */
  API_KEY = 'api-key',
}
