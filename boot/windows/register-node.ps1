# register-node.ps1 - registers this Windows machine as an AWS Systems Manager managed node.
#
# It asks a HybridActivationApi (cdk-ssm-hybrid-fleet) for a one-time activation, then registers the SSM Agent
# with it and (re)starts the AmazonSSMAgent service. Windows PowerShell 5.1 or later; no modules needed.
# Optionally (--tag-after-registration) it then re-applies the --tag tags to the new managed node through the
# API (PUT <api-url>/instances/<mi-id>/tags), because activation tags do not always reach the node.
#
# The construct bakes the API URL and the authentication mode into this file; the unrendered file shipped in
# the package works on-premises with ACTIVATION_API_URL (or --api-url) and an API key. Run with --help.
# There is deliberately no param() block, so the script can also be pasted into EC2 user data after other
# commands; options come from $args.
#
# The activation code, the API key and the instance-profile credentials are never written to any output.

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

$ApiUrl = if ($env:ACTIVATION_API_URL) { $env:ACTIVATION_API_URL } else { '@@ACTIVATION_API_URL@@' }
$AuthMode = if ($env:ACTIVATION_AUTH) { $env:ACTIVATION_AUTH } else { '@@ACTIVATION_AUTH@@' }

$UserAgent = 'cdk-ssm-hybrid-fleet-register-node/1'
$NodeName = $env:NODE_NAME
$Region = $env:ACTIVATION_API_REGION
$ApiKey = $env:ACTIVATION_API_KEY
$ApiKeyFile = $null
$Imds = if ($env:IMDS_ENDPOINT) { $env:IMDS_ENDPOINT.TrimEnd('/') } else { 'http://169.254.169.254' }
$Tags = [ordered]@{}
$MaxDelaySeconds = 60.0
$TagAfterRegistration = if ($env:ACTIVATION_TAG_AFTER_REGISTRATION) { $env:ACTIVATION_TAG_AFTER_REGISTRATION } else { 'false' }
$StrictTagging = $false
$RegistrationFile = if ($env:SSM_REGISTRATION_FILE) { $env:SSM_REGISTRATION_FILE } else { Join-Path $env:ProgramData 'Amazon\SSM\InstanceData\registration' }
$TaggingFailedExitCode = 3 # with --strict-tagging, when the node registered but the tagging step failed

# Secrets, filled in later; Protect-Text replaces them in anything that is logged.
$script:AccessKeyId = $null
$script:SecretAccessKey = $null
$script:SessionToken = $null
$script:ActivationCode = $null
$script:ImdsToken = $null

function Write-Log([string]$Message) {
    [Console]::Error.WriteLine("register-node: $Message")
}

function Write-Warn([string]$Message) {
    [Console]::Error.WriteLine("register-node: warning: $Message")
}

function Stop-WithError([string]$Message) {
    [Console]::Error.WriteLine("register-node: error: $Message")
    exit 1
}

function Protect-Text([string]$Text) {
    if ($null -eq $Text) { return '' }
    foreach ($secret in @($script:ActivationCode, $ApiKey, $script:SecretAccessKey, $script:SessionToken, $script:AccessKeyId)) {
        if ($secret) { $Text = $Text.Replace([string]$secret, '***') }
    }
    return $Text
}

function Show-Usage {
    @'
Usage: register-node.ps1 [options]

Registers this machine as an AWS Systems Manager managed node: requests a one-time activation from the
activation API (POST <api-url>/activations), registers the SSM Agent with it and (re)starts the agent.

Options:
  --name NAME           managed-node name (env NODE_NAME; default: the EC2 instance id with iam auth,
                        otherwise the short host name)
  --tag KEY=VALUE       tag for the activation (repeatable)
  --api-url URL         activation API base URL (env ACTIVATION_API_URL)
  --auth MODE           iam (SigV4 with EC2 instance-profile credentials) or api-key (env ACTIVATION_AUTH;
                        with neither set and the script not rendered, api-key when a key is given)
  --api-key-file PATH   file holding the API key (api-key auth; or env ACTIVATION_API_KEY)
  --region REGION       region of the API for SigV4 (env ACTIVATION_API_REGION; default: from the URL host,
                        else the EC2 instance's region)
  --tag-after-registration
                        after the agent registered, read the new managed-node id (mi-...) from the agent's
                        registration file and re-apply the --tag tags to it with
                        PUT <api-url>/instances/<mi-id>/tags (same auth and retries as the activation request;
                        env ACTIVATION_TAG_AFTER_REGISTRATION=true). Does nothing without --tag. Activation tags
                        do not always show on the node; this applies them explicitly. If this step fails the
                        registration stands: a warning is printed and the exit code stays 0
  --strict-tagging      with --tag-after-registration: exit with code 3 (node registered, tagging failed)
                        instead of only warning
  --help                print this help and exit

Environment:
  ACTIVATION_MAX_ATTEMPTS            request attempts, including the first (default 8)
  ACTIVATION_RETRY_BASE_SECONDS      first backoff step, may be fractional (default 2; doubles each retry,
                                     with jitter, capped at 60); a Retry-After header wins
  ACTIVATION_RETRY_MAX_SECONDS       total retry budget in seconds (default 300)
  ACTIVATION_REQUEST_TIMEOUT_SECONDS timeout of one request (default 35)
  IMDS_ENDPOINT                      instance metadata service (default http://169.254.169.254)
  SSM_AGENT_BIN                      agent executable (default: $env:ProgramFiles\Amazon\SSM\amazon-ssm-agent.exe)
  SSM_REGISTRATION_FILE              the agent's registration file, read by --tag-after-registration
                                     (default: $env:ProgramData\Amazon\SSM\InstanceData\registration)

Retries on HTTP 429, 5xx and network errors; fails at once on any other HTTP 4xx.
'@
}

function Get-EnvInt([string]$Name, [int]$Default, [int]$Min) {
    $raw = [Environment]::GetEnvironmentVariable($Name)
    if (-not $raw) { return $Default }
    $value = 0
    if (-not [int]::TryParse($raw, [Globalization.NumberStyles]::None, [Globalization.CultureInfo]::InvariantCulture, [ref]$value) -or $value -lt $Min) {
        Stop-WithError "$Name must be an integer >= $Min (got '$raw')"
    }
    return $value
}

function Get-EnvDouble([string]$Name, [double]$Default) {
    $raw = [Environment]::GetEnvironmentVariable($Name)
    if (-not $raw) { return $Default }
    $value = 0.0
    if (-not [double]::TryParse($raw, [Globalization.NumberStyles]::AllowDecimalPoint, [Globalization.CultureInfo]::InvariantCulture, [ref]$value)) {
        Stop-WithError "$Name must be a non-negative number (got '$raw')"
    }
    return $value
}

function Add-Tag([string]$KeyValue) {
    $eq = $KeyValue.IndexOf('=')
    if ($eq -lt 1) { Stop-WithError "--tag needs KEY=VALUE with a non-empty key, got '$KeyValue'" }
    $key = $KeyValue.Substring(0, $eq)
    if ($Tags.Contains($key)) { Stop-WithError "tag key '$key' given more than once" }
    $Tags[$key] = $KeyValue.Substring($eq + 1)
}

# ------------------------------------------------------------------------------------------------ arguments
$argList = @($args)
$i = 0
while ($i -lt $argList.Count) {
    $arg = [string]$argList[$i]
    $hasValue = ($i + 1) -lt $argList.Count
    $value = if ($hasValue) { [string]$argList[$i + 1] } else { $null }
    if ($arg -in @('--help', '-help', '-h', '/?')) { Show-Usage; exit 0 }
    if ($arg -in @('--tag-after-registration', '-tagafterregistration')) { $TagAfterRegistration = 'true'; $i += 1; continue }
    if ($arg -in @('--strict-tagging', '-stricttagging')) { $StrictTagging = $true; $i += 1; continue }
    if ($arg -in @('--name', '-name', '--tag', '-tag', '--api-url', '-apiurl', '--auth', '-auth', '--api-key-file', '-apikeyfile', '--region', '-region')) {
        if (-not $hasValue) { Stop-WithError "option $arg needs a value (see --help)" }
        switch ($arg.TrimStart('-').Replace('-', '').ToLowerInvariant()) {
            'name' { $NodeName = $value }
            'tag' { Add-Tag $value }
            'apiurl' { $ApiUrl = $value }
            'auth' { $AuthMode = $value }
            'apikeyfile' { $ApiKeyFile = $value }
            'region' { $Region = $value }
        }
        $i += 2
        continue
    }
    Stop-WithError "unknown argument '$arg' (see --help)"
}

# ------------------------------------------------------------------------------------------------ settings
if (-not $ApiUrl -or $ApiUrl.StartsWith('@@')) {
    Stop-WithError 'no activation API URL: this script was not rendered by the construct; set ACTIVATION_API_URL or pass --api-url'
}
$ApiUrl = $ApiUrl.TrimEnd('/')
$apiUri = $null
if (-not [Uri]::TryCreate($ApiUrl, [UriKind]::Absolute, [ref]$apiUri)) { Stop-WithError "invalid activation API URL '$ApiUrl'" }
if ($apiUri.Scheme -ne 'https' -and -not ($apiUri.Scheme -eq 'http' -and $apiUri.IsLoopback)) {
    Stop-WithError "activation API URL must start with https:// (got '$ApiUrl')"
}
$Endpoint = [Uri]"$ApiUrl/activations"

if ($ApiKeyFile) {
    if (-not (Test-Path -LiteralPath $ApiKeyFile -PathType Leaf)) { Stop-WithError "cannot read API key file '$ApiKeyFile'" }
    $ApiKey = [string](Get-Content -LiteralPath $ApiKeyFile -Raw)
    $ApiKey = $ApiKey.Trim()
    if (-not $ApiKey) { Stop-WithError "API key file '$ApiKeyFile' is empty" }
}

if (-not $AuthMode -or $AuthMode.StartsWith('@@')) {
    if ($ApiKey) { $AuthMode = 'api-key' }
    else { Stop-WithError 'no authentication mode: set ACTIVATION_AUTH or pass --auth (iam or api-key); api-key auth also needs ACTIVATION_API_KEY or --api-key-file' }
}
$AuthMode = $AuthMode.ToLowerInvariant()
if ($AuthMode -notin @('iam', 'api-key')) { Stop-WithError "unknown authentication mode '$AuthMode' (expected iam or api-key)" }
if ($AuthMode -eq 'api-key' -and -not $ApiKey) {
    Stop-WithError 'api-key auth needs the API key: set ACTIVATION_API_KEY or pass --api-key-file'
}

$MaxAttempts = Get-EnvInt 'ACTIVATION_MAX_ATTEMPTS' 8 1
$RetryBase = Get-EnvDouble 'ACTIVATION_RETRY_BASE_SECONDS' 2.0
$RetryMaxSeconds = Get-EnvInt 'ACTIVATION_RETRY_MAX_SECONDS' 300 0
$RequestTimeoutMs = (Get-EnvInt 'ACTIVATION_REQUEST_TIMEOUT_SECONDS' 35 1) * 1000

switch -Regex ($TagAfterRegistration.Trim()) {
    '^(true|1|yes)$' { $TagAfterRegistration = $true; break }
    '^(false|0|no|)$' { $TagAfterRegistration = $false; break }
    default { Stop-WithError "ACTIVATION_TAG_AFTER_REGISTRATION must be true or false (got '$TagAfterRegistration')" }
}
if ($StrictTagging -and -not $TagAfterRegistration) {
    Stop-WithError '--strict-tagging only makes sense with --tag-after-registration (or ACTIVATION_TAG_AFTER_REGISTRATION=true)'
}

# ------------------------------------------------------------------------------------------------ prerequisites
# Checked before asking for an activation: an activation is single-use and would be wasted.
$Agent = if ($env:SSM_AGENT_BIN) { $env:SSM_AGENT_BIN } else { Join-Path $env:ProgramFiles 'Amazon\SSM\amazon-ssm-agent.exe' }
if (-not (Test-Path -LiteralPath $Agent -PathType Leaf)) {
    Stop-WithError "SSM Agent not found at '$Agent': install the SSM Agent first (or set SSM_AGENT_BIN)"
}

# API Gateway needs TLS 1.2; Windows PowerShell 5.1 on older Windows does not offer it by default.
[Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor [Net.SecurityProtocolType]::Tls12

# ------------------------------------------------------------------------------------------------ IMDSv2
# IMDS is link-local and must never go through a proxy: a system (WinINET/WinHTTP) or environment proxy would
# get 169.254.169.254 forwarded to itself, or refused. Invoke-RestMethod -NoProxy exists only in PowerShell 7,
# so the calls use HttpWebRequest with no proxy at all (https://learn.microsoft.com/dotnet/api/system.net.httpwebrequest.proxy).
# Throws on network errors and on any non-2xx answer (WebException).
function Invoke-Imds([string]$Method, [string]$Path, [hashtable]$Headers) {
    $request = [Net.HttpWebRequest]::Create("$Imds/latest/$Path")
    $request.Method = $Method
    $request.Proxy = $null
    $request.Timeout = 5000
    $request.ReadWriteTimeout = 5000
    $request.AllowAutoRedirect = $false
    $request.UserAgent = $UserAgent
    foreach ($name in $Headers.Keys) { $request.Headers.Add($name, $Headers[$name]) }
    if ($Method -eq 'PUT') { $request.ContentLength = 0 }
    $response = $request.GetResponse()
    try {
        $reader = New-Object IO.StreamReader($response.GetResponseStream(), [Text.Encoding]::UTF8)
        try { return $reader.ReadToEnd() } finally { $reader.Dispose() }
    } finally {
        $response.Close()
    }
}

function Initialize-ImdsToken {
    $last = ''
    for ($attempt = 1; $attempt -le 3; $attempt++) {
        try {
            $script:ImdsToken = [string](Invoke-Imds 'PUT' 'api/token' @{ 'X-aws-ec2-metadata-token-ttl-seconds' = '21600' })
            if ($script:ImdsToken) { return }
        } catch {
            $last = $_.Exception.Message
        }
        if ($attempt -lt 3) { Start-Sleep -Seconds 1 }
    }
    Stop-WithError "cannot reach the EC2 instance metadata service at $Imds (iam auth works on EC2 with an instance profile; use api-key auth elsewhere): $last"
}

function Get-ImdsValue([string]$Path) {
    return Invoke-Imds 'GET' $Path @{ 'X-aws-ec2-metadata-token' = $script:ImdsToken }
}

if ($AuthMode -eq 'iam') {
    Initialize-ImdsToken
    if (-not $NodeName) {
        try { $NodeName = ([string](Get-ImdsValue 'meta-data/instance-id')).Trim() }
        catch { Stop-WithError "cannot read the instance id from IMDS: $($_.Exception.Message)" }
    }
    try { $role = (([string](Get-ImdsValue 'meta-data/iam/security-credentials/')) -split "`n")[0].Trim() }
    catch { Stop-WithError 'cannot read the instance-profile role from IMDS (does the instance have an instance profile?)' }
    if (-not $role) { Stop-WithError 'the instance has no instance-profile role (IMDS returned none)' }
    try { $creds = Get-ImdsValue "meta-data/iam/security-credentials/$role" }
    catch { Stop-WithError "cannot read the instance-profile credentials of role '$role' from IMDS" }
    if ($creds -is [string]) { $creds = $creds | ConvertFrom-Json }
    $script:AccessKeyId = [string]$creds.AccessKeyId
    $script:SecretAccessKey = [string]$creds.SecretAccessKey
    $script:SessionToken = [string]$creds.Token
    $creds = $null
    if (-not $script:AccessKeyId -or -not $script:SecretAccessKey -or -not $script:SessionToken) {
        Stop-WithError 'the instance-profile credentials from IMDS lack AccessKeyId, SecretAccessKey or Token'
    }
    if (-not $Region -and $apiUri.Host -match '^[^.]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$') {
        $Region = $Matches[1]
    }
    if (-not $Region) {
        try { $Region = ([string](Get-ImdsValue 'meta-data/placement/region')).Trim() }
        catch { Stop-WithError 'cannot tell the API region: set ACTIVATION_API_REGION or pass --region' }
    }
    if ($Region -notmatch '^[a-z0-9-]+$') { Stop-WithError "invalid region '$Region'" }
}

if (-not $NodeName) {
    $NodeName = ([Net.Dns]::GetHostName() -split '\.')[0]
    if (-not $NodeName) { $NodeName = $env:COMPUTERNAME }
}
if (-not $NodeName) { Stop-WithError "cannot tell this machine's name: pass --name or set NODE_NAME" }

$requestObject = [ordered]@{ name = $NodeName }
if ($Tags.Count -gt 0) { $requestObject['tags'] = $Tags }
$RequestBytes = [Text.Encoding]::UTF8.GetBytes(($requestObject | ConvertTo-Json -Compress -Depth 4))

# ------------------------------------------------------------------------------------------------ SigV4
function ConvertTo-Hex([byte[]]$Bytes) {
    return (($Bytes | ForEach-Object { $_.ToString('x2') }) -join '')
}

function Get-Sha256Hex([byte[]]$Bytes) {
    $sha = [Security.Cryptography.SHA256]::Create()
    try { return ConvertTo-Hex ($sha.ComputeHash($Bytes)) } finally { $sha.Dispose() }
}

function Get-HmacSha256([byte[]]$Key, [string]$Data) {
    $hmac = New-Object Security.Cryptography.HMACSHA256
    try {
        $hmac.Key = $Key
        return ,($hmac.ComputeHash([Text.Encoding]::UTF8.GetBytes($Data)))
    } finally { $hmac.Dispose() }
}

# Returns the headers (name -> value) that sign a $Method of $Body to $Uri for execute-api with the session credentials.
function Get-SigV4Headers([string]$Method, [Uri]$Uri, [byte[]]$Body, [string]$ContentType) {
    $now = [DateTime]::UtcNow
    $amzDate = $now.ToString("yyyyMMdd'T'HHmmss'Z'", [Globalization.CultureInfo]::InvariantCulture)
    $dateStamp = $now.ToString('yyyyMMdd', [Globalization.CultureInfo]::InvariantCulture)
    $service = 'execute-api'
    $hostHeader = $Uri.Authority
    $canonicalHeaders = "content-type:$ContentType`nhost:$hostHeader`nx-amz-date:$amzDate`nx-amz-security-token:$($script:SessionToken)`n"
    $signedHeaders = 'content-type;host;x-amz-date;x-amz-security-token'
    $canonicalRequest = @($Method, $Uri.AbsolutePath, $Uri.Query.TrimStart('?'), $canonicalHeaders, $signedHeaders, (Get-Sha256Hex $Body)) -join "`n"
    $scope = "$dateStamp/$Region/$service/aws4_request"
    $stringToSign = @('AWS4-HMAC-SHA256', $amzDate, $scope, (Get-Sha256Hex ([Text.Encoding]::UTF8.GetBytes($canonicalRequest)))) -join "`n"
    $kDate = Get-HmacSha256 ([Text.Encoding]::UTF8.GetBytes("AWS4$($script:SecretAccessKey)")) $dateStamp
    $kRegion = Get-HmacSha256 $kDate $Region
    $kService = Get-HmacSha256 $kRegion $service
    $kSigning = Get-HmacSha256 $kService 'aws4_request'
    $signature = ConvertTo-Hex (Get-HmacSha256 $kSigning $stringToSign)
    return @{
        'x-amz-date'           = $amzDate
        'x-amz-security-token' = $script:SessionToken
        'Authorization'        = "AWS4-HMAC-SHA256 Credential=$($script:AccessKeyId)/$scope, SignedHeaders=$signedHeaders, Signature=$signature"
    }
}

# ------------------------------------------------------------------------------------------------ request
# One attempt. Returns @{ Status = <int, 0 on network error>; Body; RetryAfter; Error; Retryable }.
function Send-ApiRequest([string]$Method, [Uri]$Uri, [byte[]]$Body) {
    $contentType = 'application/json'
    $result = @{ Status = 0; Body = ''; RetryAfter = $null; Error = ''; Retryable = $false }
    $response = $null
    try {
        $request = [Net.HttpWebRequest]::Create($Uri)
        $request.Method = $Method
        $request.ContentType = $contentType
        $request.Accept = 'application/json'
        $request.UserAgent = $UserAgent
        $request.Timeout = $RequestTimeoutMs
        $request.ReadWriteTimeout = $RequestTimeoutMs
        $request.AllowAutoRedirect = $false
        if ($AuthMode -eq 'iam') {
            $signed = Get-SigV4Headers $Method $Uri $Body $contentType
            foreach ($name in $signed.Keys) { $request.Headers.Add($name, $signed[$name]) }
        } else {
            $request.Headers.Add('x-api-key', $ApiKey)
        }
        $request.ContentLength = $Body.Length
        $stream = $request.GetRequestStream()
        try { $stream.Write($Body, 0, $Body.Length) } finally { $stream.Close() }
        $response = $request.GetResponse()
    } catch {
        $ex = $_.Exception
        while ($ex -and -not ($ex -is [Net.WebException]) -and $ex.InnerException) { $ex = $ex.InnerException }
        if ($ex -is [Net.WebException] -and $ex.Response) {
            $response = $ex.Response
        } else {
            $result.Error = Protect-Text $ex.Message
            $retryableStatuses = @('ConnectFailure', 'NameResolutionFailure', 'ProxyNameResolutionFailure', 'Timeout',
                'ReceiveFailure', 'SendFailure', 'ConnectionClosed', 'KeepAliveFailure', 'PipelineFailure',
                'RequestCanceled', 'SecureChannelFailure', 'UnknownError')
            $result.Retryable = (-not ($ex -is [Net.WebException])) -or ($retryableStatuses -contains [string]$ex.Status)
            return $result
        }
    }
    try {
        $result.Status = [int]$response.StatusCode
        $result.RetryAfter = $response.Headers['Retry-After']
        $reader = New-Object IO.StreamReader($response.GetResponseStream(), [Text.Encoding]::UTF8)
        try { $result.Body = $reader.ReadToEnd() } finally { $reader.Dispose() }
    } catch {
        $result.Status = 0
        $result.Error = Protect-Text $_.Exception.Message
        $result.Retryable = $true
    } finally {
        $response.Close()
    }
    return $result
}

function Get-ServerMessage([string]$Body) {
    $message = ''
    try { $message = [string](($Body | ConvertFrom-Json).message) } catch { $message = '' }
    if ($message.Length -gt 500) { $message = $message.Substring(0, 500) }
    $message = Protect-Text $message
    if (-not $message) { return 'no message' }
    return $message
}

# Sends the request with the retry rules: 429, 5xx and network errors are retried with backoff (or Retry-After)
# within ACTIVATION_MAX_ATTEMPTS and ACTIVATION_RETRY_MAX_SECONDS; any other 4xx fails at once. $What names the
# request in messages ('request', 'tag request'). Returns @{ Response = <the 200/201 attempt, or $null>;
# Error = <the masked reason when Response is $null> }; the caller decides whether a failure is fatal.
# -RetryNotFound: a node that has just registered may not be listed by Systems Manager yet, so the tag request retries 404.
function Invoke-ApiRequest([string]$Method, [Uri]$Uri, [byte[]]$Body, [string]$What, [switch]$RetryNotFound) {
    $clock = [Diagnostics.Stopwatch]::StartNew()
    $attempt = 1
    while ($true) {
        $r = Send-ApiRequest $Method $Uri $Body
        $retryAfter = $null
        if ($r.Status -eq 200 -or $r.Status -eq 201) { return @{ Response = $r; Error = '' } }
        if ($r.Status -eq 0) {
            if (-not $r.Retryable) { return @{ Response = $null; Error = "request to $Uri failed: $($r.Error)" } }
            $reason = "network error: $($r.Error)"
        } elseif ($r.Status -eq 429 -or $r.Status -ge 500 -or ($RetryNotFound -and $r.Status -eq 404)) {
            $reason = "HTTP $($r.Status): $(Get-ServerMessage $r.Body)"
            $seconds = 0
            if ($r.RetryAfter -and [int]::TryParse(([string]$r.RetryAfter).Trim(), [ref]$seconds) -and $seconds -ge 0) { $retryAfter = $seconds }
        } elseif ($r.Status -ge 400 -and $r.Status -lt 500) {
            return @{ Response = $null; Error = "activation API refused the $What (HTTP $($r.Status)): $(Get-ServerMessage $r.Body)" }
        } else {
            return @{ Response = $null; Error = "unexpected answer from the activation API (HTTP $($r.Status)): $(Get-ServerMessage $r.Body)" }
        }

        if ($attempt -ge $MaxAttempts) { return @{ Response = $null; Error = "giving up after $attempt attempts; last: $reason" } }
        if ($null -ne $retryAfter) {
            $delay = [double]$retryAfter
        } else {
            # Exponential backoff with jitter: between half and all of min(base * 2^(attempt-1), 60 s).
            $step = [Math]::Min($RetryBase * [Math]::Pow(2, $attempt - 1), $MaxDelaySeconds)
            $delay = $step / 2 + ($step / 2) * (Get-Random -Minimum 0.0 -Maximum 1.0)
        }
        $elapsed = [int][Math]::Floor($clock.Elapsed.TotalSeconds)
        if ($elapsed + [Math]::Ceiling($delay) -gt $RetryMaxSeconds) {
            return @{ Response = $null; Error = "giving up after $attempt attempts and ${elapsed}s (retry budget ${RetryMaxSeconds}s); last: $reason" }
        }
        $delayText = $delay.ToString('0.###', [Globalization.CultureInfo]::InvariantCulture)
        Write-Log "attempt $attempt/$MaxAttempts failed ($reason); retrying in ${delayText}s"
        Start-Sleep -Milliseconds ([int][Math]::Round($delay * 1000))
        $attempt++
    }
}

Write-Log "requesting an activation for '$NodeName' from $Endpoint ($AuthMode auth)"
$outcome = Invoke-ApiRequest 'POST' $Endpoint $RequestBytes 'request'
if ($null -eq $outcome.Response) { Stop-WithError $outcome.Error }
$response = $outcome.Response
$outcome = $null

try { $answer = $response.Body | ConvertFrom-Json } catch { Stop-WithError "activation API answered HTTP $($response.Status) with a body that is not JSON" }
$ActivationId = [string]$answer.activationId
$script:ActivationCode = [string]$answer.activationCode
$ActivationRegion = [string]$answer.region
$InstanceName = [string]$answer.instanceName
$ExpiresAt = [string]$answer.expiresAt
$answer = $null
$response = $null
if (-not $ActivationId -or -not $script:ActivationCode) {
    Stop-WithError "activation API answered HTTP 2xx without an activation id or code"
}
if (-not $ActivationRegion) { $ActivationRegion = $Region }
if (-not $ActivationRegion -or $ActivationRegion -notmatch '^[a-z0-9-]+$') { Stop-WithError 'activation API answered without a valid region' }
if (-not $InstanceName) { $InstanceName = $NodeName }
Write-Log "got activation $ActivationId for '$InstanceName' in $ActivationRegion (expires $ExpiresAt)"

# ------------------------------------------------------------------------------------------------ register
Write-Log 'stopping AmazonSSMAgent'
Stop-Service -Name AmazonSSMAgent -Force -ErrorAction SilentlyContinue

Write-Log "registering the SSM Agent ($Agent) with activation $ActivationId"
$code = $script:ActivationCode
$previousPreference = $ErrorActionPreference
$ErrorActionPreference = 'Continue' # native stderr must not turn into terminating errors in Windows PowerShell 5.1
$agentOutput = & $Agent -register -code $code -id $ActivationId -region $ActivationRegion -y 2>&1
$agentExit = $LASTEXITCODE
$ErrorActionPreference = $previousPreference
$code = $null
foreach ($line in @($agentOutput)) {
    $text = Protect-Text ([string]$line)
    if ($text.Trim()) { Write-Log "agent: $text" }
}
$agentOutput = $null
$script:ActivationCode = $null
if ($agentExit -ne 0) { Stop-WithError "amazon-ssm-agent.exe -register failed (exit $agentExit)" }

Write-Log 'starting AmazonSSMAgent'
try { Start-Service -Name AmazonSSMAgent -ErrorAction Stop }
catch { Stop-WithError "registered, but the AmazonSSMAgent service could not be started: $($_.Exception.Message)" }

# ------------------------------------------------------------------------------------------------ tag the node
# Optional: activation tags do not always show on the node (known agent/SDK issues), so re-apply them to the
# managed node the agent just registered. The registration stands whatever happens here.

# Warns and carries on, or with --strict-tagging fails with $TaggingFailedExitCode.
function Resolve-TaggingFailure([string]$Message) {
    if ($StrictTagging) {
        [Console]::Error.WriteLine("register-node: error: $Message")
        exit $TaggingFailedExitCode
    }
    Write-Warn "$Message (the node is registered; continuing)"
}

function Set-NodeTags {
    $managedId = ''
    try {
        if (-not (Test-Path -LiteralPath $RegistrationFile -PathType Leaf)) { throw 'no such file' }
        $registration = [string](Get-Content -LiteralPath $RegistrationFile -Raw) | ConvertFrom-Json
        $managedId = [string]$registration.ManagedInstanceID
    } catch {
        Resolve-TaggingFailure "cannot read the agent's registration file '$RegistrationFile' to learn the managed-node id ($($_.Exception.Message)); the tags were not re-applied"
        return
    }
    if ($managedId -cnotmatch '^mi-[0-9a-f]{17}$') {
        Resolve-TaggingFailure "the agent's registration file '$RegistrationFile' holds no managed-node id (ManagedInstanceID mi-...); the tags were not re-applied"
        return
    }
    $tagsUri = [Uri]"$ApiUrl/instances/$managedId/tags"
    $tagBytes = [Text.Encoding]::UTF8.GetBytes(([ordered]@{ tags = $Tags } | ConvertTo-Json -Compress -Depth 4))
    Write-Log "re-applying $($Tags.Count) tag(s) to ${managedId}: PUT $tagsUri"
    $tagOutcome = Invoke-ApiRequest 'PUT' $tagsUri $tagBytes 'tag request' -RetryNotFound
    if ($null -eq $tagOutcome.Response) {
        Resolve-TaggingFailure "could not tag ${managedId}: $($tagOutcome.Error)"
        return
    }
    Write-Log "tagged $managedId"
}

if ($TagAfterRegistration) {
    if ($Tags.Count -gt 0) { Set-NodeTags }
    else { Write-Log '--tag-after-registration: no --tag given, nothing to re-apply' }
}
Write-Log "done: registered as '$InstanceName' (activation $ActivationId, region $ActivationRegion)"
exit 0
