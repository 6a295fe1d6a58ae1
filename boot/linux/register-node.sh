#!/usr/bin/env bash
# register-node.sh - registers this Linux machine as an AWS Systems Manager managed node.
#
# It asks a HybridActivationApi (cdk-ssm-hybrid-fleet) for a one-time activation, then registers
# amazon-ssm-agent with it and (re)starts the agent. Needs bash, POSIX tools, curl and an installed agent.
# With iam auth it signs with AWS Signature Version 4: with curl's --aws-sigv4 when this curl has it (7.75 or later),
# otherwise in the script itself (SHA-256 from sha256sum or openssl). Credentials are never sent any other way.
# Credentials come from the EC2 instance profile (IMDSv2) or, on-premises, from a credential process such as IAM
# Roles Anywhere's aws_signing_helper (--credential-process).
# Optionally (--tag-after-registration) it then re-applies the --tag tags to the new managed node through the
# API (PUT <api-url>/instances/<mi-id>/tags), because activation tags do not always reach the node.
#
# The construct bakes the API URL and the authentication mode into this file; the unrendered file shipped in
# the package works on-premises with ACTIVATION_API_URL (or --api-url) and an API key. Run with --help.
#
# The activation code, the API key and the credentials are never printed (and never put on a command line other
# than the agent's own -register call): curl gets them through a config on stdin, and the script's own SigV4
# signer feeds every key to SHA-256 on stdin.
set -euo pipefail

API_URL="${ACTIVATION_API_URL:-@@ACTIVATION_API_URL@@}"
AUTH="${ACTIVATION_AUTH:-@@ACTIVATION_AUTH@@}"

PROG=register-node
USER_AGENT="cdk-ssm-hybrid-fleet-register-node/1"

NAME="${NODE_NAME:-}"
REGION="${ACTIVATION_API_REGION:-}"
API_KEY="${ACTIVATION_API_KEY:-}"
API_KEY_FILE=""
CREDENTIAL_PROCESS="${ACTIVATION_CREDENTIAL_PROCESS:-}"
CREDENTIAL_PROCESS_TIMEOUT=120 # seconds
IMDS="${IMDS_ENDPOINT:-http://169.254.169.254}"
MAX_ATTEMPTS="${ACTIVATION_MAX_ATTEMPTS:-8}"
RETRY_BASE="${ACTIVATION_RETRY_BASE_SECONDS:-2}"
RETRY_MAX_SECONDS="${ACTIVATION_RETRY_MAX_SECONDS:-300}"
REQUEST_TIMEOUT="${ACTIVATION_REQUEST_TIMEOUT_SECONDS:-35}"
CONNECT_TIMEOUT=10
MAX_DELAY=60 # cap of one exponential backoff step, in seconds
TAGS_JSON=""
declare -A SEEN_TAG_KEYS=()
TAG_AFTER_REGISTRATION="${ACTIVATION_TAG_AFTER_REGISTRATION:-false}"
STRICT_TAGGING=0
REGISTRATION_FILE="${SSM_REGISTRATION_FILE:-/var/lib/amazon/ssm/registration}"
TAGGING_FAILED_EXIT=3 # exit status with --strict-tagging when the node registered but the tagging step failed

# Secrets, filled in later; mask() replaces them in anything that is logged.
AKID="" SECRET="" SESSION_TOKEN="" CODE=""
TMP=""

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
warn() { printf '%s: warning: %s\n' "$PROG" "$*" >&2; }
die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }

usage() {
  cat <<'EOF'
Usage: register-node.sh [options]

Registers this machine as an AWS Systems Manager managed node: requests a one-time activation from the
activation API (POST <api-url>/activations), registers amazon-ssm-agent with it and (re)starts the agent.

Options:
  --name NAME           managed-node name (env NODE_NAME; default: the EC2 instance id with iam auth,
                        otherwise the short hostname)
  --tag KEY=VALUE       tag for the activation (repeatable; the API decides which keys/values it accepts)
  --api-url URL         activation API base URL (env ACTIVATION_API_URL)
  --auth MODE           iam (SigV4 with AWS credentials) or api-key (env ACTIVATION_AUTH; with neither set and
                        the script not rendered: iam with --credential-process, api-key when a key is given)
  --credential-process COMMAND
                        iam auth with the credentials this command prints (the AWS credential_process JSON:
                        Version 1, AccessKeyId, SecretAccessKey, SessionToken) instead of the EC2 instance
                        profile; run with sh -c. For IAM Roles Anywhere:
                        "aws_signing_helper credential-process --certificate C --private-key K
                         --trust-anchor-arn TA --profile-arn P --role-arn R"
                        (env ACTIVATION_CREDENTIAL_PROCESS). Needs the region (--region or an execute-api URL)
  --api-key-file PATH   file holding the API key (api-key auth; or env ACTIVATION_API_KEY)
  --region REGION       region of the API for SigV4 (env ACTIVATION_API_REGION; default: from the URL host,
                        else the EC2 instance's region)
  --tag-after-registration
                        after the agent registered, read the new managed-node id (mi-...) from the agent's
                        registration file and re-apply the --tag tags to it with
                        PUT <api-url>/instances/<mi-id>/tags (same auth and retries as the activation request;
                        env ACTIVATION_TAG_AFTER_REGISTRATION=true). Does nothing without --tag. Activation tags
                        do not always show on the node; this applies them explicitly. If this step fails the
                        registration stands: a warning is printed and the exit status stays 0
  --strict-tagging      with --tag-after-registration: exit with status 3 (node registered, tagging failed)
                        instead of only warning
  -h, --help            print this help and exit

Environment:
  ACTIVATION_MAX_ATTEMPTS            request attempts, including the first (default 8)
  ACTIVATION_RETRY_BASE_SECONDS      first backoff step, may be fractional (default 2; doubles each retry,
                                     with jitter, capped at 60); a Retry-After header wins
  ACTIVATION_RETRY_MAX_SECONDS       total retry budget in seconds (default 300)
  ACTIVATION_REQUEST_TIMEOUT_SECONDS timeout of one request (default 35)
  IMDS_ENDPOINT                      instance metadata service (default http://169.254.169.254)
  SSM_AGENT_BIN                      amazon-ssm-agent binary (default: on PATH, /usr/bin, or the snap)
  SSM_REGISTRATION_FILE              the agent's registration file, read by --tag-after-registration
                                     (default /var/lib/amazon/ssm/registration)

SigV4 signing: curl --aws-sigv4 when curl is 7.75 or later and accepts the option, otherwise the script signs
itself (needs sha256sum or openssl, and od). Credentials are read only once one of the two is known to work.
Retries on HTTP 429, 5xx and network errors; fails at once on any other HTTP 4xx. Logs go to stderr.
EOF
}

cleanup() {
  if [ -n "$TMP" ] && [ -d "$TMP" ]; then rm -rf -- "$TMP"; fi
}

# mask TEXT: TEXT with every secret known so far replaced by ***.
mask() {
  local s=$1 secret
  for secret in "$CODE" "$API_KEY" "$SECRET" "$SESSION_TOKEN" "$AKID"; do
    if [ -n "$secret" ]; then s=${s//"$secret"/***}; fi
  done
  printf '%s' "$s"
}

# json_escape TEXT: TEXT as the inside of a JSON string.
json_escape() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\n'/\\n}
  s=${s//$'\r'/\\r}
  s=${s//$'\t'/\\t}
  case $s in
    *[[:cntrl:]]*) return 1 ;;
  esac
  printf '%s' "$s"
}

# curl_quote TEXT: TEXT as the inside of a double-quoted curl config value.
curl_quote() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  printf '%s' "$s"
}

# json_string KEY < JSON: the string value of KEY in a flat JSON object (last one wins), unescaped; empty when
# absent or not a string. \uXXXX escapes are kept as they are; \n, \t and friends become spaces.
json_string() {
  tr -d '\r\n' | sed -E -n 's/.*"'"$1"'"[[:space:]]*:[[:space:]]*"(([^"\\]|\\.)*)".*/\1/p' | awk '{
    out = ""; n = length($0)
    for (i = 1; i <= n; i++) {
      c = substr($0, i, 1)
      if (c == "\\" && i < n) {
        i++; c = substr($0, i, 1)
        if (c == "n" || c == "t" || c == "r" || c == "b" || c == "f") c = " "
        else if (c == "u") c = "\\u"
      }
      out = out c
    }
    print out
  }'
}

is_uint() { case $1 in '' | *[!0-9]*) return 1 ;; *) return 0 ;; esac; }
is_number() { printf '%s' "$1" | grep -Eq '^[0-9]+([.][0-9]+)?$'; }

need_value() { [ "$#" -ge 2 ] || die "option $1 needs a value (see --help)"; }

add_tag() {
  local kv=$1 key value ekey evalue
  case $kv in
    *=*) ;;
    *) die "--tag needs KEY=VALUE, got '$kv'" ;;
  esac
  key=${kv%%=*}
  value=${kv#*=}
  [ -n "$key" ] || die "--tag needs a non-empty key, got '$kv'"
  [ -z "${SEEN_TAG_KEYS[$key]+x}" ] || die "tag key '$key' given more than once"
  SEEN_TAG_KEYS[$key]=1
  ekey=$(json_escape "$key") || die "tag key '$key' contains control characters"
  evalue=$(json_escape "$value") || die "value of tag '$key' contains control characters"
  TAGS_JSON="${TAGS_JSON:+$TAGS_JSON,}\"$ekey\":\"$evalue\""
}

# ---------------------------------------------------------------------------------------------- arguments
while [ "$#" -gt 0 ]; do
  case $1 in
    -h | --help) usage; exit 0 ;;
    --name) need_value "$@"; NAME=$2; shift 2 ;;
    --name=*) NAME=${1#*=}; shift ;;
    --tag) need_value "$@"; add_tag "$2"; shift 2 ;;
    --tag=*) add_tag "${1#*=}"; shift ;;
    --api-url) need_value "$@"; API_URL=$2; shift 2 ;;
    --api-url=*) API_URL=${1#*=}; shift ;;
    --auth) need_value "$@"; AUTH=$2; shift 2 ;;
    --auth=*) AUTH=${1#*=}; shift ;;
    --credential-process) need_value "$@"; CREDENTIAL_PROCESS=$2; shift 2 ;;
    --credential-process=*) CREDENTIAL_PROCESS=${1#*=}; shift ;;
    --api-key-file) need_value "$@"; API_KEY_FILE=$2; shift 2 ;;
    --api-key-file=*) API_KEY_FILE=${1#*=}; shift ;;
    --region) need_value "$@"; REGION=$2; shift 2 ;;
    --region=*) REGION=${1#*=}; shift ;;
    --tag-after-registration) TAG_AFTER_REGISTRATION=true; shift ;;
    --strict-tagging) STRICT_TAGGING=1; shift ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done

# ---------------------------------------------------------------------------------------------- settings
case $API_URL in
  '' | @@*) die "no activation API URL: this script was not rendered by the construct; set ACTIVATION_API_URL or pass --api-url" ;;
esac
API_URL=${API_URL%/}
API_URL=${API_URL%/}
case $API_URL in
  https://*) ;;
  http://127.* | http://localhost | http://localhost[:/]* | http://\[::1\]*) ;; # loopback only (tests, tunnels)
  *) die "activation API URL must start with https:// (got '$API_URL')" ;;
esac
API_HOST=${API_URL#*://}
API_HOST=${API_HOST%%/*}

if [ -n "$API_KEY_FILE" ]; then
  [ -r "$API_KEY_FILE" ] || die "cannot read API key file '$API_KEY_FILE'"
  API_KEY=$(tr -d '\r\n' <"$API_KEY_FILE")
  [ -n "$API_KEY" ] || die "API key file '$API_KEY_FILE' is empty"
fi

case $AUTH in
  @@* | '')
    if [ -n "$CREDENTIAL_PROCESS" ]; then AUTH=iam
    elif [ -n "$API_KEY" ]; then AUTH=api-key
    else die "no authentication mode: set ACTIVATION_AUTH or pass --auth (iam or api-key); api-key auth also needs ACTIVATION_API_KEY or --api-key-file"
    fi ;;
  iam | api-key) ;;
  *) die "unknown authentication mode '$AUTH' (expected iam or api-key)" ;;
esac
if [ "$AUTH" = api-key ] && [ -z "$API_KEY" ]; then
  die "api-key auth needs the API key: set ACTIVATION_API_KEY or pass --api-key-file"
fi
if [ "$AUTH" = api-key ] && [ -n "$CREDENTIAL_PROCESS" ]; then
  die "--credential-process (ACTIVATION_CREDENTIAL_PROCESS) needs iam auth, not api-key"
fi
if [ -z "$REGION" ]; then
  REGION=$(printf '%s' "$API_HOST" | sed -E -n 's/^[^.]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?(:[0-9]+)?$/\1/p')
fi
if [ -n "$CREDENTIAL_PROCESS" ] && [ -z "$REGION" ]; then
  die "--credential-process needs the API's region: set ACTIVATION_API_REGION or pass --region"
fi

if ! is_uint "$MAX_ATTEMPTS" || [ "$MAX_ATTEMPTS" -lt 1 ]; then
  die "ACTIVATION_MAX_ATTEMPTS must be an integer >= 1 (got '$MAX_ATTEMPTS')"
fi
is_number "$RETRY_BASE" || die "ACTIVATION_RETRY_BASE_SECONDS must be a non-negative number (got '$RETRY_BASE')"
is_uint "$RETRY_MAX_SECONDS" || die "ACTIVATION_RETRY_MAX_SECONDS must be a non-negative integer (got '$RETRY_MAX_SECONDS')"
if ! is_uint "$REQUEST_TIMEOUT" || [ "$REQUEST_TIMEOUT" -lt 1 ]; then
  die "ACTIVATION_REQUEST_TIMEOUT_SECONDS must be an integer >= 1 (got '$REQUEST_TIMEOUT')"
fi
IMDS=${IMDS%/}

case $TAG_AFTER_REGISTRATION in
  true | TRUE | True | 1 | yes) TAG_AFTER_REGISTRATION=1 ;;
  false | FALSE | False | 0 | no | '') TAG_AFTER_REGISTRATION=0 ;;
  *) die "ACTIVATION_TAG_AFTER_REGISTRATION must be true or false (got '$TAG_AFTER_REGISTRATION')" ;;
esac
if [ "$STRICT_TAGGING" = 1 ] && [ "$TAG_AFTER_REGISTRATION" = 0 ]; then
  die "--strict-tagging only makes sense with --tag-after-registration (or ACTIVATION_TAG_AFTER_REGISTRATION=true)"
fi

# ---------------------------------------------------------------------------------------------- prerequisites
# Checked before asking for an activation: an activation is single-use and would be wasted.
command -v curl >/dev/null 2>&1 || die "curl is not installed"
command -v awk >/dev/null 2>&1 || die "awk is not installed"
command -v sed >/dev/null 2>&1 || die "sed is not installed"

AGENT=""
USE_SNAP=0
if [ -n "${SSM_AGENT_BIN:-}" ]; then
  AGENT=$(command -v -- "$SSM_AGENT_BIN" 2>/dev/null) || die "SSM_AGENT_BIN='$SSM_AGENT_BIN' is not an executable"
elif command -v amazon-ssm-agent >/dev/null 2>&1; then
  AGENT=$(command -v amazon-ssm-agent)
elif [ -x /usr/bin/amazon-ssm-agent ]; then
  AGENT=/usr/bin/amazon-ssm-agent
elif [ -x /snap/amazon-ssm-agent/current/amazon-ssm-agent ]; then
  AGENT=/snap/amazon-ssm-agent/current/amazon-ssm-agent
else
  die "amazon-ssm-agent not found: install the SSM Agent first (or set SSM_AGENT_BIN)"
fi
case $AGENT in
  /snap/*)
    USE_SNAP=1
    if [ -x /snap/amazon-ssm-agent/current/amazon-ssm-agent ]; then AGENT=/snap/amazon-ssm-agent/current/amazon-ssm-agent; fi ;;
esac
[ -x "$AGENT" ] || die "amazon-ssm-agent at '$AGENT' is not executable"

# Files holding secrets are private while the script runs; the agent is (re)started with the caller's umask
# (a SysV `service` start inherits it).
ORIGINAL_UMASK=$(umask)
umask 077
TMP=$(mktemp -d "${TMPDIR:-/tmp}/register-node.XXXXXX") || die "cannot create a temporary directory"
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------------------------- SigV4 signer
# Decided before any credential is read, and failing closed: credentials go out only in a SigV4 signature.
# curl < 7.75 does not know --aws-sigv4; given the option in a -K config it only warns (hidden by -s) and
# would send `user` as HTTP Basic auth, i.e. the secret key in clear. So curl signs only when it reports 7.75 or
# later AND accepts the option on its command line without a word (probed against nothing, with no
# credentials); the option is also passed on the command line, where an unknown option is a fatal error.
# Otherwise the script signs itself and `user` is never given to curl.
SIGNER=""
HASHER=""
CURL_VERSION=""

curl_can_sign() {
  local banner major minor rest probe_err
  banner=$(curl --version 2>/dev/null) || return 1
  banner=${banner%%$'\n'*}
  CURL_VERSION=$(printf '%s' "$banner" | awk '{ print $2 }')
  major=${CURL_VERSION%%.*}
  rest=${CURL_VERSION#*.}
  minor=${rest%%.*}
  is_uint "$major" && is_uint "$minor" || return 1
  if [ "$major" -lt 7 ] || { [ "$major" -eq 7 ] && [ "$minor" -lt 75 ]; }; then return 1; fi
  : >"$TMP/probe"
  probe_err=$(curl -sS --aws-sigv4 'aws:amz:us-east-1:execute-api' -o /dev/null "file://$TMP/probe" 2>&1) || return 1
  [ -z "$probe_err" ]
}

choose_signer() {
  if curl_can_sign; then
    SIGNER=curl
    return 0
  fi
  if command -v sha256sum >/dev/null 2>&1; then HASHER=sha256sum
  elif command -v openssl >/dev/null 2>&1; then HASHER=openssl
  fi
  if [ -z "$HASHER" ] || ! command -v od >/dev/null 2>&1; then
    die "cannot sign requests: curl ${CURL_VERSION:-(unknown version)} lacks --aws-sigv4 (needs 7.75 or later) and the script's own SigV4 signer needs sha256sum or openssl, and od; no credentials were read"
  fi
  SIGNER=script
  log "curl ${CURL_VERSION:-(unknown version)} cannot sign (--aws-sigv4 needs 7.75 or later): signing SigV4 in the script ($HASHER)"
}

# sha256_hex < DATA: the lowercase hex SHA-256 of stdin.
sha256_hex() {
  local out
  if [ "$HASHER" = sha256sum ]; then out=$(sha256sum); else out=$(openssl dgst -sha256 -r); fi
  printf '%s' "${out:0:64}"
}

# hex_escapes HEX: HEX as \xNN escapes for printf %b.
hex_escapes() {
  local h=$1 out="" i
  for ((i = 0; i < ${#h}; i += 2)); do out+="\\x${h:i:2}"; done
  printf '%s' "$out"
}

# hmac_hex KEY_HEX MESSAGE: HMAC-SHA256 (RFC 2104) of MESSAGE, in hex. Built on SHA-256 over stdin (printf is a
# shell builtin) so that no key ever appears in a command line, which every user can read (ps, /proc).
hmac_hex() {
  local key=$1 msg=$2 ipad="" opad="" i b inner
  if [ "${#key}" -gt 128 ]; then key=$(printf '%b' "$(hex_escapes "$key")" | sha256_hex); fi
  while [ "${#key}" -lt 128 ]; do key+=00; done
  for ((i = 0; i < 128; i += 2)); do
    b=$((16#${key:i:2}))
    printf -v ipad '%s\\x%02x' "$ipad" $((b ^ 0x36))
    printf -v opad '%s\\x%02x' "$opad" $((b ^ 0x5c))
  done
  inner=$({ printf '%b' "$ipad"; printf '%s' "$msg"; } | sha256_hex)
  { printf '%b' "$opad"; printf '%b' "$(hex_escapes "$inner")"; } | sha256_hex
}

# sigv4_config METHOD URL BODY_FILE: curl config lines with the headers that sign the request for execute-api
# (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html). Host is sent as signed.
sigv4_config() {
  local method=$1 url=$2 body_file=$3 rest path host amz_date date_stamp payload_hash headers signed_headers
  local canonical scope string_to_sign key signature
  rest=${url#*://}
  host=${rest%%/*}
  case $rest in */*) path="/${rest#*/}" ;; *) path=/ ;; esac
  case $path in *[!A-Za-z0-9/._~-]*) die "cannot sign the path '$path': only unreserved characters are supported" ;; esac
  case $url in
    https://*:443 | https://*:443/*) host=${host%:443} ;;
    http://*:80 | http://*:80/*) host=${host%:80} ;;
  esac
  amz_date=$(date -u +%Y%m%dT%H%M%SZ)
  date_stamp=${amz_date%%T*}
  payload_hash=$(sha256_hex <"$body_file")
  headers="content-type:application/json"$'\n'"host:$host"$'\n'"x-amz-content-sha256:$payload_hash"$'\n'"x-amz-date:$amz_date"$'\n'
  signed_headers="content-type;host;x-amz-content-sha256;x-amz-date"
  if [ -n "$SESSION_TOKEN" ]; then
    headers+="x-amz-security-token:$SESSION_TOKEN"$'\n'
    signed_headers+=";x-amz-security-token"
  fi
  canonical="$method"$'\n'"$path"$'\n\n'"$headers"$'\n'"$signed_headers"$'\n'"$payload_hash"
  scope="$date_stamp/$REGION/execute-api/aws4_request"
  string_to_sign="AWS4-HMAC-SHA256"$'\n'"$amz_date"$'\n'"$scope"$'\n'"$(printf '%s' "$canonical" | sha256_hex)"
  key=$(printf '%s' "AWS4$SECRET" | od -An -v -tx1 | tr -d ' \n')
  key=$(hmac_hex "$key" "$date_stamp")
  key=$(hmac_hex "$key" "$REGION")
  key=$(hmac_hex "$key" execute-api)
  key=$(hmac_hex "$key" aws4_request)
  signature=$(hmac_hex "$key" "$string_to_sign")
  [ "${#signature}" -eq 64 ] || die "the script's SigV4 signer failed"
  printf 'header = "%s"\n' "Host: $host" "X-Amz-Date: $amz_date" "X-Amz-Content-Sha256: $payload_hash"
  if [ -n "$SESSION_TOKEN" ]; then printf 'header = "%s"\n' "$(curl_quote "X-Amz-Security-Token: $SESSION_TOKEN")"; fi
  printf 'header = "%s"\n' "$(curl_quote "Authorization: AWS4-HMAC-SHA256 Credential=$AKID/$scope, SignedHeaders=$signed_headers, Signature=$signature")"
}

if [ "$AUTH" = iam ]; then choose_signer; fi

# ---------------------------------------------------------------------------------------------- IMDSv2
IMDS_TOKEN=""

imds_token() {
  local i
  for i in 1 2 3; do
    if IMDS_TOKEN=$(curl -sS -f --noproxy '*' --connect-timeout 2 --max-time 5 -X PUT \
      -H 'X-aws-ec2-metadata-token-ttl-seconds: 21600' "$IMDS/latest/api/token" 2>"$TMP/imds.err") &&
      [ -n "$IMDS_TOKEN" ]; then
      return 0
    fi
    [ "$i" -lt 3 ] && sleep 1
  done
  log "IMDS: $(head -c 300 "$TMP/imds.err" 2>/dev/null | tr -d '\r\n')"
  return 1
}

# imds_get PATH: prints the metadata at PATH (relative to latest/).
imds_get() {
  printf 'header = "X-aws-ec2-metadata-token: %s"\n' "$(curl_quote "$IMDS_TOKEN")" |
    curl -sS -f --noproxy '*' --connect-timeout 2 --max-time 5 -K - "$IMDS/latest/$1" 2>"$TMP/imds.err"
}

imds_required() {
  [ -n "$IMDS_TOKEN" ] && return 0
  imds_token || die "cannot reach the EC2 instance metadata service at $IMDS (iam auth works on EC2 with an instance profile; use api-key auth elsewhere)"
}

# read_credential_process: AKID, SECRET and SESSION_TOKEN from the credential process's JSON (the AWS
# credential_process format, https://docs.aws.amazon.com/sdkref/latest/guide/feature-process-credentials.html).
read_credential_process() {
  local out rc=0 version err
  log "reading credentials from the credential process"
  if command -v timeout >/dev/null 2>&1; then
    out=$(timeout "$CREDENTIAL_PROCESS_TIMEOUT" sh -c "$CREDENTIAL_PROCESS" </dev/null 2>"$TMP/credential-process.err") || rc=$?
  else
    out=$(sh -c "$CREDENTIAL_PROCESS" </dev/null 2>"$TMP/credential-process.err") || rc=$?
  fi
  AKID=$(printf '%s' "$out" | json_string AccessKeyId)
  SECRET=$(printf '%s' "$out" | json_string SecretAccessKey)
  SESSION_TOKEN=$(printf '%s' "$out" | json_string SessionToken)
  version=$(printf '%s' "$out" | tr -d '\r\n' | sed -E -n 's/.*"Version"[[:space:]]*:[[:space:]]*([0-9]+).*/\1/p')
  out=""
  if [ "$rc" -ne 0 ]; then
    err=$(head -c 300 "$TMP/credential-process.err" | tr -d '\r\n')
    die "the credential process failed (exit $rc): $(mask "$err")"
  fi
  [ "$version" = 1 ] || die "the credential process printed no JSON with \"Version\": 1 (got '${version:-none}')"
  if [ -z "$AKID" ] || [ -z "$SECRET" ]; then
    die "the credential process printed no AccessKeyId or SecretAccessKey"
  fi
}

if [ "$AUTH" = iam ] && [ -n "$CREDENTIAL_PROCESS" ]; then
  read_credential_process
  printf '%s' "$REGION" | grep -Eq '^[a-z0-9-]+$' || die "invalid region '$REGION'"
elif [ "$AUTH" = iam ]; then
  imds_required
  if [ -z "$NAME" ]; then
    NAME=$(imds_get meta-data/instance-id) || die "cannot read the instance id from IMDS: $(head -c 300 "$TMP/imds.err")"
  fi
  ROLE=$(imds_get meta-data/iam/security-credentials/ | head -n 1 | tr -d '\r') ||
    die "cannot read the instance-profile role from IMDS (does the instance have an instance profile?)"
  [ -n "$ROLE" ] || die "the instance has no instance-profile role (IMDS returned none)"
  CREDS=$(imds_get "meta-data/iam/security-credentials/$ROLE") ||
    die "cannot read the instance-profile credentials of role '$ROLE' from IMDS"
  AKID=$(printf '%s' "$CREDS" | json_string AccessKeyId)
  SECRET=$(printf '%s' "$CREDS" | json_string SecretAccessKey)
  SESSION_TOKEN=$(printf '%s' "$CREDS" | json_string Token)
  CREDS=""
  if [ -z "$AKID" ] || [ -z "$SECRET" ] || [ -z "$SESSION_TOKEN" ]; then
    die "the instance-profile credentials from IMDS lack AccessKeyId, SecretAccessKey or Token"
  fi
  if [ -z "$REGION" ]; then
    REGION=$(imds_get meta-data/placement/region) || die "cannot tell the API's region: set ACTIVATION_API_REGION or pass --region"
  fi
  printf '%s' "$REGION" | grep -Eq '^[a-z0-9-]+$' || die "invalid region '$REGION'"
fi

if [ -z "$NAME" ]; then
  NAME=$(hostname -s 2>/dev/null || hostname 2>/dev/null || uname -n) || true
  NAME=${NAME%%.*}
fi
[ -n "$NAME" ] || die "cannot tell this machine's name: pass --name or set NODE_NAME"
ENAME=$(json_escape "$NAME") || die "the name contains control characters"

if [ -n "$TAGS_JSON" ]; then
  printf '{"name":"%s","tags":{%s}}' "$ENAME" "$TAGS_JSON" >"$TMP/request.json"
else
  printf '{"name":"%s"}' "$ENAME" >"$TMP/request.json"
fi

# ---------------------------------------------------------------------------------------------- request
HTTP_STATUS=000
CURL_RC=0

# curl_config METHOD URL BODY_FILE: the curl config with the credentials. `user` (which curl sends as HTTP
# Basic auth unless it signs) only when curl is known to sign; --aws-sigv4 itself is on the command line.
curl_config() {
  printf 'user-agent = "%s"\n' "$USER_AGENT"
  if [ "$AUTH" = iam ] && [ "$SIGNER" = curl ]; then
    printf 'user = "%s"\n' "$(curl_quote "$AKID:$SECRET")"
    if [ -n "$SESSION_TOKEN" ]; then printf 'header = "%s"\n' "$(curl_quote "x-amz-security-token: $SESSION_TOKEN")"; fi
  elif [ "$AUTH" = iam ] && [ "$SIGNER" = script ]; then
    sigv4_config "$@"
  elif [ "$AUTH" = iam ]; then
    die "internal error: no SigV4 signer"
  else
    printf 'header = "%s"\n' "$(curl_quote "x-api-key: $API_KEY")"
  fi
}

# send_request METHOD URL BODY_FILE: one attempt; sets HTTP_STATUS and CURL_RC, the answer lands in $TMP/body
# and $TMP/headers.
send_request() {
  : >"$TMP/body"
  : >"$TMP/headers"
  : >"$TMP/curl.err"
  CURL_RC=0
  local config sign_args=()
  config=$(curl_config "$1" "$2" "$3")
  if [ "$AUTH" = iam ] && [ "$SIGNER" = curl ]; then sign_args=(--aws-sigv4 "aws:amz:$REGION:execute-api"); fi
  HTTP_STATUS=$(printf '%s\n' "$config" | curl -sS -K - ${sign_args[@]+"${sign_args[@]}"} -X "$1" \
    --connect-timeout "$CONNECT_TIMEOUT" --max-time "$REQUEST_TIMEOUT" \
    -H 'Content-Type: application/json' -H 'Accept: application/json' \
    --data-binary "@$3" \
    -o "$TMP/body" -D "$TMP/headers" -w '%{http_code}' \
    "$2" 2>"$TMP/curl.err") || CURL_RC=$?
}

# curl exit codes worth another try: resolve/connect failures, timeouts, TLS handshake, broken transfers.
curl_retryable() {
  case $1 in
    5 | 6 | 7 | 16 | 18 | 28 | 35 | 52 | 55 | 56 | 92) return 0 ;;
    *) return 1 ;;
  esac
}

# backoff_delay ATTEMPT: exponential backoff with jitter, in seconds (fractional): a random value between half
# and all of min(base * 2^(attempt-1), MAX_DELAY).
backoff_delay() {
  awk -v b="$RETRY_BASE" -v a="$1" -v m="$MAX_DELAY" -v r="$RANDOM" 'BEGIN {
    d = b * 2 ^ (a - 1); if (d > m) d = m
    printf "%.3f", d / 2 + (d / 2) * (r / 32767)
  }'
}

server_message() {
  local msg
  msg=$(json_string message <"$TMP/body" | head -c 500)
  msg=$(mask "$msg")
  printf '%s' "${msg:-no message}"
}

# api_request METHOD URL BODY_FILE WHAT [RETRY_404]: sends the request with the retry rules (429, 5xx and network
# errors are retried with backoff or Retry-After, within ACTIVATION_MAX_ATTEMPTS and ACTIVATION_RETRY_MAX_SECONDS;
# any other 4xx fails at once; with RETRY_404=retry-404 a 404 is retried too: a node that has just registered may
# not be listed by Systems Manager yet). WHAT names the request in messages ("request", "tag request").
# On success (HTTP 200/201) REQUEST_ERROR is empty and the answer is in $TMP/body; otherwise REQUEST_ERROR holds
# the (masked) reason. Always returns 0, so that callers decide whether a failure is fatal and `set -e` stays in
# force inside (a function called as `f || ...` would run with errexit off).
REQUEST_ERROR=""
api_request() {
  local method=$1 url=$2 body_file=$3 what=$4 retry_404=${5:-} start attempt=1 reason retry_after delay elapsed delay_ceil
  REQUEST_ERROR=""
  start=$(date +%s)
  while :; do
    send_request "$method" "$url" "$body_file"
    retry_after=""
    if [ "$CURL_RC" -eq 0 ]; then
      case $HTTP_STATUS in
        200 | 201) return 0 ;;
        429 | 5??)
          reason="HTTP $HTTP_STATUS: $(server_message)"
          retry_after=$(grep -i '^retry-after:' "$TMP/headers" | tail -n 1 | sed 's/^[^:]*:[[:space:]]*//' | tr -d '[:space:]') || true
          is_uint "$retry_after" || retry_after="" ;;
        404) if [ "$retry_404" = retry-404 ]; then
               reason="HTTP 404: $(server_message)"
             else
               REQUEST_ERROR="activation API refused the $what (HTTP 404): $(server_message)"; return 0
             fi ;;
        4??) REQUEST_ERROR="activation API refused the $what (HTTP $HTTP_STATUS): $(server_message)"; return 0 ;;
        *) REQUEST_ERROR="unexpected answer from the activation API (HTTP $HTTP_STATUS): $(server_message)"; return 0 ;;
      esac
    elif curl_retryable "$CURL_RC"; then
      reason="network error (curl exit $CURL_RC): $(mask "$(head -c 300 "$TMP/curl.err" | tr -d '\r\n')")"
    else
      REQUEST_ERROR="request to $url failed (curl exit $CURL_RC): $(mask "$(head -c 300 "$TMP/curl.err" | tr -d '\r\n')")"
      return 0
    fi

    if [ "$attempt" -ge "$MAX_ATTEMPTS" ]; then
      REQUEST_ERROR="giving up after $attempt attempts; last: $reason"
      return 0
    fi
    if [ -n "$retry_after" ]; then delay=$retry_after; else delay=$(backoff_delay "$attempt"); fi
    elapsed=$(($(date +%s) - start))
    delay_ceil=$(awk -v d="$delay" 'BEGIN { c = int(d); if (c < d) c++; print c }')
    if [ $((elapsed + delay_ceil)) -gt "$RETRY_MAX_SECONDS" ]; then
      REQUEST_ERROR="giving up after $attempt attempts and ${elapsed}s (retry budget ${RETRY_MAX_SECONDS}s); last: $reason"
      return 0
    fi
    log "attempt $attempt/$MAX_ATTEMPTS failed ($reason); retrying in ${delay}s"
    sleep "$delay"
    attempt=$((attempt + 1))
  done
}

ENDPOINT="$API_URL/activations"
log "requesting an activation for '$NAME' from $ENDPOINT ($AUTH auth)"
api_request POST "$ENDPOINT" "$TMP/request.json" request
[ -z "$REQUEST_ERROR" ] || die "$REQUEST_ERROR"

ACT_ID=$(json_string activationId <"$TMP/body")
CODE=$(json_string activationCode <"$TMP/body")
ACT_REGION=$(json_string region <"$TMP/body")
INSTANCE_NAME=$(json_string instanceName <"$TMP/body")
EXPIRES=$(json_string expiresAt <"$TMP/body")
rm -f -- "$TMP/body"
if [ -z "$ACT_ID" ] || [ -z "$CODE" ]; then
  die "activation API answered HTTP $HTTP_STATUS without activationId/activationCode"
fi
[ -n "$ACT_REGION" ] || ACT_REGION=$REGION
[ -n "$ACT_REGION" ] || die "activation API answered without a region"
printf '%s' "$ACT_REGION" | grep -Eq '^[a-z0-9-]+$' || die "activation API answered an invalid region"
log "got activation $(mask "$ACT_ID") for '${INSTANCE_NAME:-$NAME}' in $ACT_REGION${EXPIRES:+ (expires $EXPIRES)}"

# ---------------------------------------------------------------------------------------------- register
stop_agent() {
  if [ "$USE_SNAP" = 1 ] && command -v snap >/dev/null 2>&1; then
    snap stop amazon-ssm-agent </dev/null >&2 2>&1 || true
  elif command -v systemctl >/dev/null 2>&1; then
    systemctl stop amazon-ssm-agent </dev/null >&2 2>&1 || true
  elif command -v service >/dev/null 2>&1; then
    service amazon-ssm-agent stop </dev/null >&2 2>&1 || true
  fi
}

start_agent() {
  if [ "$USE_SNAP" = 1 ] && command -v snap >/dev/null 2>&1; then
    snap start amazon-ssm-agent </dev/null >&2 2>&1
  elif command -v systemctl >/dev/null 2>&1; then
    systemctl start amazon-ssm-agent </dev/null >&2 2>&1
  elif command -v service >/dev/null 2>&1; then
    service amazon-ssm-agent start </dev/null >&2 2>&1
  else
    log "no snap, systemctl or service command to start the agent with"
    return 1
  fi
}

# The agent and its service manager get the caller's umask back, not 077 (a SysV init script started with
# `service` inherits it, and so would every file the agent creates).
umask "$ORIGINAL_UMASK"
log "stopping amazon-ssm-agent"
stop_agent
log "registering amazon-ssm-agent ($AGENT) with activation $(mask "$ACT_ID")"
REG_RC=0
REG_OUT=$("$AGENT" -register -code "$CODE" -id "$ACT_ID" -region "$ACT_REGION" -y </dev/null 2>&1) || REG_RC=$?
if [ -n "$REG_OUT" ]; then
  printf "%s\n" "$(mask "$REG_OUT")" | sed "s/^/$PROG: agent: /" >&2
fi
CODE=""
[ "$REG_RC" -eq 0 ] || die "amazon-ssm-agent -register failed (exit $REG_RC)"
log "starting amazon-ssm-agent"
start_agent || die "registered, but amazon-ssm-agent could not be started"

# ---------------------------------------------------------------------------------------------- tag the node
# Optional: activation tags do not always show on the node (known agent/SDK issues), so re-apply them to the
# managed node the agent just registered. The registration stands whatever happens here.

# tagging_failed MESSAGE: warns and carries on, or with --strict-tagging fails with TAGGING_FAILED_EXIT.
tagging_failed() {
  if [ "$STRICT_TAGGING" = 1 ]; then
    printf '%s: error: %s\n' "$PROG" "$*" >&2
    exit "$TAGGING_FAILED_EXIT"
  fi
  warn "$* (the node is registered; continuing)"
}

tag_node() {
  local mi url
  if [ ! -f "$REGISTRATION_FILE" ] || [ ! -r "$REGISTRATION_FILE" ]; then
    tagging_failed "cannot read the agent's registration file '$REGISTRATION_FILE' to learn the managed-node id; the tags were not re-applied"
    return 0
  fi
  mi=$(json_string ManagedInstanceID <"$REGISTRATION_FILE" | head -n 1)
  if ! printf '%s' "$mi" | grep -Eq '^mi-[0-9a-f]{17}$'; then
    tagging_failed "the agent's registration file '$REGISTRATION_FILE' holds no managed-node id (ManagedInstanceID mi-...); the tags were not re-applied"
    return 0
  fi
  url="$API_URL/instances/$mi/tags"
  printf '{"tags":{%s}}' "$TAGS_JSON" >"$TMP/tags.json"
  log "re-applying ${#SEEN_TAG_KEYS[@]} tag(s) to $mi: PUT $url"
  api_request PUT "$url" "$TMP/tags.json" "tag request" retry-404
  if [ -n "$REQUEST_ERROR" ]; then
    tagging_failed "could not tag $mi: $REQUEST_ERROR"
    return 0
  fi
  log "tagged $mi"
}

if [ "$TAG_AFTER_REGISTRATION" = 1 ]; then
  if [ -n "$TAGS_JSON" ]; then
    tag_node
  else
    log "--tag-after-registration: no --tag given, nothing to re-apply"
  fi
fi
log "done: registered as '${INSTANCE_NAME:-$NAME}' (activation $ACT_ID, region $ACT_REGION)"
