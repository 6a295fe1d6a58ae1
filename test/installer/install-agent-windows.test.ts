/**
 * The Windows step of the AgentInstaller document (documents/installer/install-agent.ps1) cannot run here: it is
 * parsed with a real PowerShell grammar (syntax errors and constructs Windows PowerShell 5.1 lacks fail the test),
 * in the file and as the document's Distributor steps assemble it, and checked statically.
 */
import * as fs from 'fs';
import { Parser } from 'web-tree-sitter';
import { scriptLines } from '../../lib/private/installer-document';
import { checkWindowsPowerShell51, powerShellParser } from '../boot/powershell51';
import { WINDOWS_SCRIPT } from './harness';

const text = fs.readFileSync(WINDOWS_SCRIPT, 'utf8');

describe('install-agent.ps1: parses as Windows PowerShell 5.1', () => {
  let parser: Parser;
  beforeAll(async () => { parser = await powerShellParser(); });

  test('the file and the decide/verify steps have no syntax error and no PowerShell 6/7-only construct', () => {
    expect(checkWindowsPowerShell51(parser, text)).toEqual([]);
    expect(checkWindowsPowerShell51(parser, scriptLines('install-agent.ps1', 'decide').join('\n'))).toEqual([]);
  });

  test('the check would catch a break in this very script', () => {
    const broken = text.replace("$Phase = if ($env:INSTALLER_PHASE) { $env:INSTALLER_PHASE } else { 'all' }", '$Phase = $env:INSTALLER_PHASE ?? \'all\'');
    expect(broken).not.toBe(text);
    expect(checkWindowsPowerShell51(parser, broken).map((f) => f.message).join('; ')).toContain("null-coalescing operator '??'");
  });
});

describe('install-agent.ps1: static checks', () => {
  test('holds no {{ }} for SSM to splice values into; reads its inputs from SSM_ environment variables', () => {
    expect(text).not.toContain('{{');
    const inputs = [...new Set(text.match(/\$env:SSM_[A-Za-z0-9]+/g))].sort();
    expect(inputs).toEqual([
      '$env:SSM_agentName', '$env:SSM_complianceSeverity', '$env:SSM_desiredVersionParameter', '$env:SSM_installArgumentsParameter',
      '$env:SSM_mode', '$env:SSM_packageWindowsArm64', '$env:SSM_packageWindowsX8664', '$env:SSM_sharedSwitchParameter',
      '$env:SSM_switchParameter', '$env:SSM_windowsHealthCommand', '$env:SSM_windowsProductName', '$env:SSM_windowsServiceName',
      '$env:SSM_windowsVersionCommand',
    ]);
  });

  test('refuses a SHA-256 mismatch before installing, and checks Authenticode status and the exact signer', () => {
    const hash = text.indexOf('Get-FileHash -Algorithm SHA256');
    const install = text.indexOf('$ExitCode = Install-Package');
    expect(hash).toBeGreaterThan(0);
    expect(install).toBeGreaterThan(hash);
    expect(text).toContain("Complete-Run 'NON_COMPLIANT' 'refused' 1 \"refused: SHA-256 mismatch");
    expect(text).toContain("if ($signature.Status -ne 'Valid')");
    expect(text).toContain('if ($signature.SignerCertificate.Subject -cne $Signer)');
    expect(text.indexOf('Get-AuthenticodeSignature')).toBeLessThan(install);
  });

  test('reports through PutComplianceItems with the compliance type Custom:<agent> and downloads by version id', () => {
    expect(text).toContain("'put-compliance-items', '--resource-id', $NodeId, '--resource-type', 'ManagedInstance'");
    expect(text).toContain("'--compliance-type', \"Custom:$Agent\"");
    expect(text).toContain("'s3api', 'get-object', '--bucket', $Bucket, '--key', $Key, '--version-id', $Version");
  });

  test('the switch is read first and stops the run before anything else is read', () => {
    const switches = text.indexOf('Test-Switch $env:SSM_switchParameter');
    expect(switches).toBeGreaterThan(0);
    expect(text.indexOf('Read-Parameter $env:SSM_desiredVersionParameter')).toBeGreaterThan(switches);
  });
});
