/**
 * The Windows boot script (boot/windows/register-node.ps1) cannot run here: it is parsed with a real PowerShell
 * grammar (syntax errors and constructs Windows PowerShell 5.1 lacks fail the test), and checked statically.
 */
import * as fs from 'fs';
import { Parser } from 'web-tree-sitter';
import { BootScriptPlatform } from '../../lib/activation/boot-script';
import { BootScriptAuth, renderBootScript } from '../../lib/activation/private/render-boot-script';
import { WINDOWS_SCRIPT } from './harness';
import { checkWindowsPowerShell51, powerShellParser } from './powershell51';

describe('windows boot script (register-node.ps1): parses as Windows PowerShell 5.1', () => {
  let parser: Parser;
  beforeAll(async () => { parser = await powerShellParser(); });

  test('the script, unrendered and rendered, has no syntax error and no PowerShell 6/7-only construct', () => {
    expect(checkWindowsPowerShell51(parser, fs.readFileSync(WINDOWS_SCRIPT, 'utf8'))).toEqual([]);
    const rendered = renderBootScript(BootScriptPlatform.WINDOWS, 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod/', BootScriptAuth.IAM);
    expect(checkWindowsPowerShell51(parser, rendered)).toEqual([]);
  });

  test('valid 5.1 code passes (no false alarms on ? as Where-Object, % as ForEach-Object, ConvertTo-Json -Depth)', () => {
    const ok = [
      '$x = @(1, 2, 3) | ? { $_ -gt 1 } | % { $_ * 2 }',
      '$json = @{ a = 1 } | ConvertTo-Json -Depth 4 -Compress',
      '$v = if ($x) { 1 } else { 2 }',
      'Invoke-RestMethod -Uri $u -UseBasicParsing -Proxy $p -TimeoutSec 5',
      'try { Get-Item $p } catch { Write-Error $_ } finally { $null = 1 }',
      'foreach ($i in 1..3) { $i }',
    ].join('\n');
    expect(checkWindowsPowerShell51(parser, ok)).toEqual([]);
  });

  test.each([
    ['if ($a { Write-Host 1 }', /syntax error/],
    ["$s = 'never closed", /syntax error/],
    ['function f { $x = (1 + }', /syntax error/],
  ])('a syntax error fails: %s', (snippet, message) => {
    const findings = checkWindowsPowerShell51(parser, `$ok = 1\n${snippet}\n`);
    expect(findings.length).toBeGreaterThan(0);
    expect(findings[0].message).toMatch(message);
  });

  test.each([
    ['$a = $b ?? 1', "null-coalescing operator '??'"],
    ['$a ??= 1', "null-coalescing assignment '??='"],
    ['$n = $b?.Name', "null-conditional access '?.'"],
    ['$n = ${b}?[0]', "null-conditional access '?.'"],
    ['$a = $x ? 1 : 2', "ternary operator '? :'"],
    ['Invoke-RestMethod -Uri $u -SkipHttpErrorCheck', 'Invoke-RestMethod/Invoke-WebRequest -SkipHttpErrorCheck'],
    ['Invoke-WebRequest -Uri $u -NoProxy', 'Invoke-RestMethod/Invoke-WebRequest -NoProxy'],
    ['Invoke-RestMethod -Uri $u -NoProxy:$true', 'Invoke-RestMethod/Invoke-WebRequest -NoProxy'],
    ['Invoke-RestMethod -Uri $u -Proxy $null', '-Proxy $null'],
    ['$o = $t | ConvertFrom-Json -AsHashtable', 'ConvertFrom-Json -AsHashtable'],
    ['$o = $t | ConvertFrom-Json -Depth 5', 'ConvertFrom-Json -Depth'],
    ['Get-Thing && Write-Host ok', "pipeline chain operator '&&' / '||'"],
    ['Get-Thing || Write-Host failed', "pipeline chain operator '&&' / '||'"],
    ['1..3 | ForEach-Object -Parallel { $_ }', 'ForEach-Object -Parallel'],
    ['1..3 | % -Parallel { $_ } -ThrottleLimit 2', 'ForEach-Object -Parallel'],
    ['$t | Test-Json', 'command Test-Json'],
  ])('a PowerShell 6/7-only construct fails: %s', (snippet, what) => {
    const findings = checkWindowsPowerShell51(parser, `$ok = 1\n${snippet}\n`);
    expect(findings.map((f) => f.message).join('; ')).toContain(what);
    expect(findings[0].line).toBe(2);
  });
});

describe('windows boot script (register-node.ps1), static checks', () => {
  const text = fs.readFileSync(WINDOWS_SCRIPT, 'utf8');

  test('IMDS calls bypass any proxy: HttpWebRequest with .Proxy = $null (Invoke-RestMethod -NoProxy is 7+ only)', () => {
    const imds = /function Invoke-Imds\b[\s\S]*?\n\}/.exec(text)![0];
    expect(imds).toMatch(/\$request = \[Net\.HttpWebRequest\]::Create\("\$Imds\/latest\/\$Path"\)/);
    expect(imds).toContain('$request.Proxy = $null');
    // Every IMDS call goes through it; no cmdlet that would pick the system proxy up.
    expect(text).not.toMatch(/^(?!\s*#).*\bInvoke-(RestMethod|WebRequest)\b/m);
    expect(text.match(/\bInvoke-Imds '(PUT|GET)'/g)).toHaveLength(2);
    expect(text.match(/\$Imds\//g)).toHaveLength(1);
  });

  test('never sends credentials other than in a SigV4 signature: no Basic auth, no Credentials on the request', () => {
    expect(text).not.toMatch(/Basic|NetworkCredential|\.Credentials\s*=|UseDefaultCredentials/);
    expect(text).toMatch(/'Authorization'\s*= "AWS4-HMAC-SHA256 Credential=/);
  });

  test('contains both placeholders and renders like the Linux script', () => {
    expect(text).toContain('@@ACTIVATION_API_URL@@');
    expect(text).toContain('@@ACTIVATION_AUTH@@');
    const rendered = renderBootScript(BootScriptPlatform.WINDOWS, 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod/', BootScriptAuth.IAM);
    expect(rendered).not.toContain('@@ACTIVATION_API_URL@@');
    expect(rendered).not.toContain('@@ACTIVATION_AUTH@@');
    expect(rendered).toContain('https://abc123.execute-api.eu-west-1.amazonaws.com/prod/');
  });

  test('never writes the activation code to output', () => {
    const outputLine = /\b(Write-Host|Write-Output|Write-Verbose|Write-Warning|Write-Error|Write-Information|Write-Log|Write-Debug|Out-Host|Out-File|Add-Content|Set-Content|Stop-WithError|Console\]::(?:Error\.)?Write(?:Line)?)\b/i;
    const codeVar = /\$(ActivationCode|Code)\b|activationCode/i;
    const offending = text.split(/\r?\n/).filter((l) => !/^\s*#/.test(l) && outputLine.test(l) && codeVar.test(l));
    expect(offending).toEqual([]);
    expect(text).not.toMatch(/Set-PSDebug\s+-Trace/i);
    expect(text).not.toMatch(/Start-Transcript/i);
  });

  test('registers the agent with -register -code -id -region -y between Stop-Service and Start-Service', () => {
    const stop = text.indexOf('Stop-Service');
    const register = text.search(/-register\s+-code\s+\$\w+\s+-id\s+\$\w+\s+-region\s+\$\w+\s+-y/);
    const start = text.lastIndexOf('Start-Service');
    expect(stop).toBeGreaterThan(-1);
    expect(register).toBeGreaterThan(stop);
    expect(start).toBeGreaterThan(register);
    expect(text).toContain('AmazonSSMAgent');
    expect(text).toContain('amazon-ssm-agent.exe');
  });

  test('retries 429 and 5xx, honours Retry-After, signs SigV4 for execute-api, supports the API key header', () => {
    expect(text).toMatch(/429/);
    expect(text).toMatch(/Retry-After/);
    expect(text).toMatch(/-ge 500/);
    expect(text).toMatch(/AWS4-HMAC-SHA256/);
    expect(text).toMatch(/execute-api/);
    expect(text).toMatch(/x-amz-security-token/);
    expect(text).toMatch(/x-api-key/);
    expect(text).toMatch(/X-aws-ec2-metadata-token/);
    expect(text).toMatch(/ACTIVATION_MAX_ATTEMPTS/);
    expect(text).toMatch(/ACTIVATION_RETRY_BASE_SECONDS/);
  });

  test('optionally re-applies the tags after registration: PUT /instances/<mi-id>/tags through the one retry loop', () => {
    const usage = /@'\r?\n(Usage: register-node\.ps1[\s\S]*?)\r?\n'@/.exec(text)![1];
    expect(usage).toContain('--tag-after-registration');
    expect(usage).toContain('ACTIVATION_TAG_AFTER_REGISTRATION=true');
    expect(usage).toContain('PUT <api-url>/instances/<mi-id>/tags');
    expect(usage).toContain('--strict-tagging');
    expect(usage).toContain('SSM_REGISTRATION_FILE');
    // Flags are parsed; the env var is read.
    expect(text).toMatch(/'--tag-after-registration'[^\n]*\$TagAfterRegistration = 'true'/);
    expect(text).toMatch(/'--strict-tagging'[^\n]*\$StrictTagging = \$true/);
    expect(text).toContain('$env:ACTIVATION_TAG_AFTER_REGISTRATION');
    // The node id comes from the agent's registration file.
    expect(text).toMatch(/Join-Path \$env:ProgramData 'Amazon\\SSM\\InstanceData\\registration'/);
    expect(text).toContain('$env:SSM_REGISTRATION_FILE');
    expect(text).toMatch(/\.ManagedInstanceID\b/);
    expect(text).toContain("-cnotmatch '^mi-[0-9a-f]{17}$'");
    // The PUT goes to /instances/<id>/tags with {"tags": ...} through the same request function as the POST.
    expect(text).toMatch(/"\$ApiUrl\/instances\/\$managedId\/tags"/);
    expect(text).toMatch(/@\{ tags = \$Tags \}/);
    expect(text).toMatch(/Invoke-ApiRequest 'POST' \$Endpoint/);
    expect(text).toMatch(/Invoke-ApiRequest 'PUT' \$tagsUri/);
    expect(text.match(/Start-Sleep -Milliseconds/g)).toHaveLength(1); // one retry loop, not a copy
    // SigV4 signs whichever method is sent, not a hard-coded POST.
    expect(text).toMatch(/\$canonicalRequest = @\(\$Method,/);
    expect(text).toMatch(/Get-SigV4Headers \$Method \$Uri \$Body/);
    // The step runs after the agent started; a failure warns, or exits non-zero with --strict-tagging.
    const callSite = text.search(/^\s*if \(\$Tags\.Count -gt 0\) \{ Set-NodeTags \}/m);
    expect(callSite).toBeGreaterThan(text.lastIndexOf('Start-Service'));
    expect(text).toContain('register-node: warning: ');
    expect(text).toMatch(/if \(\$StrictTagging\) \{[\s\S]{0,200}?exit \$TaggingFailedExitCode/);
  });
});
