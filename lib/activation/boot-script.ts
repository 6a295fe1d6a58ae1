/**
 * Operating-system family of a boot script that registers a machine through a `HybridActivationApi`.
 */
export enum BootScriptPlatform {
  /** Bash script for Linux (`boot/linux/register-node.sh`). */
  LINUX = 'LINUX',
  /** PowerShell 5.1+ script for Windows (`boot/windows/register-node.ps1`). */
  WINDOWS = 'WINDOWS',
}
