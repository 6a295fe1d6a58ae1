# install-agent.ps1 - installs, verifies and health-checks one third-party agent on a Windows managed node.
#
# The Windows step of the AgentInstaller Command document (cdk-ssm-hybrid-fleet), for Windows PowerShell 5.1. The
# document runs this file as it is; its inputs are the document's parameters, which SSM Agent 3.3.2746.0 or later
# passes as environment variables SSM_<parameter> (interpolationType ENV_VAR), so no value is spliced into this text.
# Same flow as install-agent.sh: switch(es), desired version and install arguments from Parameter Store; nothing to
# do when the desired version is installed and healthy; report mode checks only; enforce mode downloads the package
# object version for this architecture, refuses it unless its SHA-256 (and, when configured, its Authenticode
# signature by the expected signer) match, installs it (msi, exe or a PowerShell script), starts the service and
# checks health. Outcomes are reported as custom compliance (Custom:<agent>). Needs the AWS CLI (aws.exe).
# INSTALLER_PHASE (set by the document): all (default), decide (exit 0: install needed, 100: nothing to do), verify.
$ErrorActionPreference = 'Stop'
$NothingToDo = 100

function Write-Log([string]$Message) { Write-Output "install-agent: $Message" }
function Stop-Fatal([string]$Message) { [Console]::Error.WriteLine("install-agent: error: $Message"); exit 2 }

$Agent = $env:SSM_agentName
if (-not $Agent) { Stop-Fatal 'SSM_agentName is not set: this document needs SSM Agent 3.3.2746.0 or later, which passes document parameters as environment variables' }
if ($Agent -cnotmatch '^[A-Za-z][A-Za-z0-9_]{1,63}$') { Stop-Fatal "agentName must be 2 to 64 letters, digits or _, got: '$Agent'" }
$Mode = $env:SSM_mode
if ($Mode -cne 'enforce' -and $Mode -cne 'report') { Stop-Fatal "mode must be 'enforce' or 'report', got: '$Mode'" }
$Phase = if ($env:INSTALLER_PHASE) { $env:INSTALLER_PHASE } else { 'all' }
if (@('all', 'decide', 'verify') -notcontains $Phase) { Stop-Fatal "INSTALLER_PHASE must be all, decide or verify, got: '$Phase'" }
$Severity = if ($env:SSM_complianceSeverity) { $env:SSM_complianceSeverity } else { 'UNSPECIFIED' }
$Region = $env:AWS_SSM_REGION_NAME
$NodeId = $env:AWS_SSM_INSTANCE_ID
$ProductName = $env:SSM_windowsProductName
$ServiceName = $env:SSM_windowsServiceName
$HealthCommand = $env:SSM_windowsHealthCommand
$VersionCommand = $env:SSM_windowsVersionCommand
$Work = Join-Path ([IO.Path]::GetTempPath()) ("install-agent-" + [Guid]::NewGuid().ToString('N'))
New-Item -ItemType Directory -Path $Work | Out-Null
$script:Desired = ''
$script:Installed = ''

function Invoke-Aws([string[]]$Arguments) {
  $all = @()
  if ($Region) { $all += @('--region', $Region) }
  $all += $Arguments
  $output = & aws.exe @all
  if ($LASTEXITCODE -ne 0) { throw "aws $($Arguments[0]) $($Arguments[1]) failed with exit code $LASTEXITCODE" }
  return $output
}

function Read-Parameter([string]$Name) {
  return ((Invoke-Aws @('ssm', 'get-parameter', '--name', $Name, '--query', 'Parameter.Value', '--output', 'text')) -join "`n").Trim()
}

function Send-Compliance([string]$Status, [string]$Outcome, [string]$Message) {
  if (-not $NodeId) {
    [Console]::Error.WriteLine("install-agent: warning: AWS_SSM_INSTANCE_ID is not set: compliance not reported ($Status, $Outcome)")
    return $false
  }
  $installedText = if ($script:Installed) { $script:Installed } else { 'none' }
  $shortMessage = if ($Message.Length -gt 400) { $Message.Substring(0, 400) } else { $Message }
  $item = [ordered]@{
    Id = $Agent
    Title = "$Agent $($script:Desired): $Outcome"
    Severity = $Severity
    Status = $Status
    Details = [ordered]@{ Outcome = $Outcome; Mode = $Mode; DesiredVersion = $script:Desired; InstalledVersion = $installedText; Message = $shortMessage }
  }
  $itemsFile = Join-Path $Work 'items.json'
  # ConvertTo-Json of a one-element array: wrap it so that 5.1 keeps the brackets.
  [IO.File]::WriteAllText($itemsFile, (ConvertTo-Json -InputObject @($item) -Depth 4 -Compress))
  $summary = '{"ExecutionTime":"' + (Get-Date).ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ') + '","ExecutionType":"Command"}'
  try {
    Invoke-Aws @('ssm', 'put-compliance-items', '--resource-id', $NodeId, '--resource-type', 'ManagedInstance',
      '--compliance-type', "Custom:$Agent", '--execution-summary', $summary, '--items', "file://$itemsFile") | Out-Null
  } catch {
    [Console]::Error.WriteLine("install-agent: warning: PutComplianceItems failed: compliance not reported ($Status, $Outcome)")
    return $false
  }
  Write-Log "reported $Status (Custom:$Agent, $Outcome)"
  return $true
}

function Complete-Run([string]$Status, [string]$Outcome, [int]$Code, [string]$Message) {
  if ($Code -eq 0 -or $Code -eq $NothingToDo) { Write-Log $Message } else { [Console]::Error.WriteLine("install-agent: $Message") }
  $reported = Send-Compliance $Status $Outcome $Message
  if (-not $reported -and $Code -eq 0) { $Code = 1 }
  Remove-Item -Recurse -Force $Work -ErrorAction SilentlyContinue
  exit $Code
}

function Test-Switch([string]$Name) {
  if (-not $Name) { return }
  try { $value = Read-Parameter $Name } catch {
    [Console]::Error.WriteLine("install-agent: error: cannot read the switch parameter ${Name}: refusing to act")
    exit 3
  }
  if ($value -cne 'enabled') {
    Write-Log "disabled: the switch $Name is '$value' (not 'enabled'): nothing checked, nothing changed"
    if ($Phase -eq 'decide') { exit $NothingToDo }
    exit 0
  }
}

function Get-InstalledVersion {
  if ($VersionCommand) {
    try { return ((& ([ScriptBlock]::Create($VersionCommand)) | Select-Object -First 1) -as [string]).Trim() } catch { return '' }
  }
  if (-not $ProductName) { return '' }
  $roots = @('HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\*', 'HKLM:\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall\*')
  foreach ($entry in (Get-ItemProperty -Path $roots -ErrorAction SilentlyContinue)) {
    if ($entry.DisplayName -eq $ProductName -and $entry.DisplayVersion) { return [string]$entry.DisplayVersion }
  }
  return ''
}

function Get-HealthProblem {
  if ($script:Installed -ne $script:Desired) {
    $shown = if ($script:Installed) { $script:Installed } else { 'none' }
    return "installed version is $shown, desired $($script:Desired)"
  }
  if ($ServiceName) {
    $service = Get-Service -Name $ServiceName -ErrorAction SilentlyContinue
    if (-not $service -or $service.Status -ne 'Running') { return "service $ServiceName is not running" }
  }
  if ($HealthCommand) {
    try {
      $output = & ([ScriptBlock]::Create($HealthCommand)) 2>&1 | Out-String
      if (-not $?) { return "health command failed: $output" }
    } catch { return "health command failed: $($_.Exception.Message)" }
  }
  return ''
}

function Get-PackageSpec {
  $arch = if ($env:PROCESSOR_ARCHITEW6432) { $env:PROCESSOR_ARCHITEW6432 } else { $env:PROCESSOR_ARCHITECTURE }
  switch ($arch) {
    'AMD64' { return $env:SSM_packageWindowsX8664 }
    'ARM64' { return $env:SSM_packageWindowsArm64 }
    default { return '' }
  }
}

function Save-Object([string]$Bucket, [string]$Key, [string]$Version, [string]$OutFile) {
  Invoke-Aws @('s3api', 'get-object', '--bucket', $Bucket, '--key', $Key, '--version-id', $Version, $OutFile) | Out-Null
}

function Install-Package([string]$Format, [string]$File, [string]$Arguments) {
  $extra = if ($Arguments -and $Arguments -ne '-') { $Arguments } else { '' }
  switch ($Format) {
    'msi' { $process = Start-Process -FilePath 'msiexec.exe' -ArgumentList "/i `"$File`" /qn /norestart $extra" -Wait -PassThru }
    'exe' { $process = Start-Process -FilePath $File -ArgumentList $extra -Wait -PassThru }
    'script' { & powershell.exe -NoProfile -ExecutionPolicy Bypass -File $File $extra; return $LASTEXITCODE }
    default { return 64 }
  }
  return $process.ExitCode
}

Test-Switch $env:SSM_switchParameter
Test-Switch $env:SSM_sharedSwitchParameter

try { $script:Desired = Read-Parameter $env:SSM_desiredVersionParameter } catch {
  Complete-Run 'NON_COMPLIANT' 'error' 1 "cannot read the desired version parameter $($env:SSM_desiredVersionParameter)"
}
if ($script:Desired -cnotmatch '^[A-Za-z0-9._+~:-]{1,64}$') {
  Complete-Run 'NON_COMPLIANT' 'error' 1 "the desired version '$($script:Desired)' is not a version (letters, digits and . _ + ~ : -)"
}
$InstallArgs = ''
if ($env:SSM_installArgumentsParameter) {
  try { $InstallArgs = Read-Parameter $env:SSM_installArgumentsParameter } catch {
    Complete-Run 'NON_COMPLIANT' 'error' 1 "cannot read the install arguments parameter $($env:SSM_installArgumentsParameter)"
  }
}

# format|bucket|key|version|sha256|expected Authenticode signer subject (empty: no signature check)
$Spec = Get-PackageSpec
$Fields = @(([string]$Spec).Split('|')) + @('', '', '', '', '', '')
$Format, $Bucket, $Key, $ObjectVersion, $Sha256, $Signer = $Fields[0..5]

$script:Installed = Get-InstalledVersion
$Problem = Get-HealthProblem
$IdleCode = if ($Phase -eq 'decide') { $NothingToDo } else { 0 }
if ($Phase -eq 'verify') {
  if ($Problem) { Complete-Run 'NON_COMPLIANT' 'unhealthy' 1 "unhealthy after install: $Problem" }
  Complete-Run 'COMPLIANT' 'installed' 0 "installed: $Agent $($script:Desired) is installed and healthy"
}
if (-not $Problem) { Complete-Run 'COMPLIANT' 'already-installed' $IdleCode "nothing to do: $Agent $($script:Desired) is installed and healthy" }
if ($Mode -eq 'report') { Complete-Run 'NON_COMPLIANT' 'report-only' $IdleCode "report mode: not compliant ($Problem); nothing changed" }
if ($Phase -eq 'decide') { Write-Log "install needed ($Problem)"; exit 0 }

if (-not $Spec) { Complete-Run 'NON_COMPLIANT' 'no-package' 1 "no package for architecture $($env:PROCESSOR_ARCHITECTURE): nothing installed ($Problem)" }
Write-Log "installing $Agent $($script:Desired) ($Problem)"
$Package = Join-Path $Work "package.$Format"
if ($Format -eq 'script') { $Package = Join-Path $Work 'package.ps1' }
try { Save-Object $Bucket $Key $ObjectVersion $Package } catch {
  Complete-Run 'NON_COMPLIANT' 'download-failed' 1 "cannot download s3://$Bucket/$Key version $ObjectVersion"
}
$Actual = (Get-FileHash -Algorithm SHA256 -Path $Package).Hash.ToLowerInvariant()
if ($Actual -ne $Sha256) {
  Complete-Run 'NON_COMPLIANT' 'refused' 1 "refused: SHA-256 mismatch for s3://$Bucket/$Key version ${ObjectVersion}: expected $Sha256, got $Actual; nothing installed"
}
Write-Log "SHA-256 matches ($Sha256)"
if ($Signer) {
  $signature = Get-AuthenticodeSignature -FilePath $Package
  if ($signature.Status -ne 'Valid') {
    Complete-Run 'NON_COMPLIANT' 'refused' 1 "refused: the Authenticode signature is $($signature.Status) ($($signature.StatusMessage)); nothing installed"
  }
  if ($signature.SignerCertificate.Subject -cne $Signer) {
    Complete-Run 'NON_COMPLIANT' 'refused' 1 "refused: signed by '$($signature.SignerCertificate.Subject)', expected '$Signer'; nothing installed"
  }
  Write-Log "Authenticode signature valid, signed by $Signer"
}

$ExitCode = Install-Package $Format $Package $InstallArgs
if ($ExitCode -ne 0 -and $ExitCode -ne 3010) {
  $script:Installed = Get-InstalledVersion
  Complete-Run 'NON_COMPLIANT' 'install-failed' 1 "the $Format install of $Agent $($script:Desired) failed with exit code $ExitCode"
}
if ($ServiceName) {
  try { Set-Service -Name $ServiceName -StartupType Automatic; Start-Service -Name $ServiceName } catch {
    [Console]::Error.WriteLine("install-agent: warning: could not start ${ServiceName}: $($_.Exception.Message)")
  }
}
$script:Installed = Get-InstalledVersion
$Problem = Get-HealthProblem
if ($Problem) { Complete-Run 'NON_COMPLIANT' 'unhealthy' 1 "unhealthy after install: $Problem" }
Complete-Run 'COMPLIANT' 'installed' 0 "installed: $Agent $($script:Desired) is installed and healthy"
