#!/bin/bash
# install-agent.sh - installs, verifies and health-checks one third-party agent on a Linux managed node.
#
# The Linux step of the AgentInstaller Command document (cdk-ssm-hybrid-fleet). The document runs this file as it
# is; its inputs are the document's parameters, which SSM Agent 3.3.2746.0 or later passes as environment
# variables SSM_<parameter> (interpolationType ENV_VAR), so no value is ever spliced into this text.
#
# 1. Reads the switch(es) from Parameter Store: anything but 'enabled' makes the run a no-op that says "disabled".
# 2. Reads the desired version and the install arguments from Parameter Store.
# 3. When the desired version is installed and healthy: does nothing and says so (reported COMPLIANT).
# 4. Report mode: checks only, changes nothing (COMPLIANT or NON_COMPLIANT with the reason).
# 5. Enforce mode: downloads the package object version for this architecture from S3, refuses it unless its
#    SHA-256 (and, when configured, its detached GPG signature from the trusted key) match, installs it (rpm, deb
#    or a script), starts the service and checks health (service active, version, optional custom command).
# Every outcome but "disabled" is reported as custom compliance (PutComplianceItems, type Custom:<agent>) with
# the node's own credentials. Needs bash, coreutils, the AWS CLI, and gpg when signatures are configured.
#
# INSTALLER_PHASE (set by the document, never by a parameter): all (default); decide (Distributor packages: exit 0
# when an install is needed, 100 when there is nothing to do); verify (Distributor packages: health check only).
set -euo pipefail
umask 077

PROG=install-agent
NOTHING_TO_DO=100

log() { printf '%s: %s\n' "$PROG" "$*"; }
warn() { printf '%s: warning: %s\n' "$PROG" "$*" >&2; }
fatal() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 2; }

AGENT="${SSM_agentName:-}"
[ -n "$AGENT" ] || fatal "SSM_agentName is not set: this document needs SSM Agent 3.3.2746.0 or later, which passes document parameters as environment variables"
[[ "$AGENT" =~ ^[A-Za-z][A-Za-z0-9_]{1,63}$ ]] || fatal "agentName must be 2 to 64 letters, digits or _, got: '$AGENT'"
MODE="${SSM_mode:-}"
[ "$MODE" = enforce ] || [ "$MODE" = report ] || fatal "mode must be 'enforce' or 'report', got: '$MODE'"
PHASE="${INSTALLER_PHASE:-all}"
case "$PHASE" in all | decide | verify) ;; *) fatal "INSTALLER_PHASE must be all, decide or verify, got: '$PHASE'" ;; esac
SEVERITY="${SSM_complianceSeverity:-UNSPECIFIED}"
case "$SEVERITY" in CRITICAL | HIGH | MEDIUM | LOW | INFORMATIONAL | UNSPECIFIED) ;; *) fatal "complianceSeverity is not a compliance severity, got: '$SEVERITY'" ;; esac
REGION="${AWS_SSM_REGION_NAME:-}"
NODE_ID="${AWS_SSM_INSTANCE_ID:-}"
PACKAGE_NAME="${SSM_linuxPackageName:-}"
SERVICE="${SSM_linuxServiceName:-}"
HEALTH_COMMAND="${SSM_linuxHealthCommand:-}"
VERSION_COMMAND="${SSM_linuxVersionCommand:-}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/install-agent.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

aws_cli() {
  if [ -n "$REGION" ]; then aws --region "$REGION" "$@"; else aws "$@"; fi
}

# A JSON string: quotes and backslashes escaped, control characters replaced by spaces.
json_string() {
  local s="$1"
  s="${s//\\/\\\\}"
  s="${s//\"/\\\"}"
  s="$(printf '%s' "$s" | tr '\000-\037' ' ')"
  printf '"%s"' "$s"
}

DESIRED="" INSTALLED=""
# report STATUS OUTCOME MESSAGE: one compliance item of type Custom:<agent> for this node (COMPLETE upload).
report() {
  local status="$1" outcome="$2" message="$3" items
  if [ -z "$NODE_ID" ]; then
    warn "AWS_SSM_INSTANCE_ID is not set: compliance not reported ($status, $outcome)"
    return 1
  fi
  items="[{\"Id\":$(json_string "$AGENT"),\"Title\":$(json_string "$AGENT ${DESIRED:-?}: $outcome"),\"Severity\":\"$SEVERITY\",\"Status\":\"$status\",\"Details\":{\"Outcome\":$(json_string "$outcome"),\"Mode\":\"$MODE\",\"DesiredVersion\":$(json_string "${DESIRED:-}"),\"InstalledVersion\":$(json_string "${INSTALLED:-none}"),\"Message\":$(json_string "${message:0:400}")}}]"
  printf '%s' "$items" >"$WORK/items.json"
  if ! aws_cli ssm put-compliance-items --resource-id "$NODE_ID" --resource-type ManagedInstance \
    --compliance-type "Custom:$AGENT" \
    --execution-summary "{\"ExecutionTime\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\",\"ExecutionType\":\"Command\"}" \
    --items "file://$WORK/items.json" >/dev/null; then
    warn "PutComplianceItems failed: compliance not reported ($status, $outcome)"
    return 1
  fi
  log "reported $status (Custom:$AGENT, $outcome)"
}

# finish STATUS OUTCOME EXIT MESSAGE: says what happened, reports it, exits (1 when the report failed).
finish() {
  local status="$1" outcome="$2" code="$3" message="$4"
  if [ "$code" -eq 0 ] || [ "$code" -eq "$NOTHING_TO_DO" ]; then log "$message"; else printf '%s: %s\n' "$PROG" "$message" >&2; fi
  if ! report "$status" "$outcome" "$message" && [ "$code" -eq 0 ]; then code=1; fi
  exit "$code"
}

read_parameter() {
  aws_cli ssm get-parameter --name "$1" --query Parameter.Value --output text
}

# The switch: 'enabled' lets the run go on; any other value stops it here, before anything is read or changed.
check_switch() {
  local name="$1" value
  [ -n "$name" ] || return 0
  if ! value="$(read_parameter "$name")"; then
    printf '%s: error: cannot read the switch parameter %s: refusing to act\n' "$PROG" "$name" >&2
    exit 3
  fi
  if [ "$value" != enabled ]; then
    log "disabled: the switch $name is '$value' (not 'enabled'): nothing checked, nothing changed"
    if [ "$PHASE" = decide ]; then exit "$NOTHING_TO_DO"; fi
    exit 0
  fi
}

installed_version() {
  local format="$1"
  if [ -n "$VERSION_COMMAND" ]; then
    bash -c "$VERSION_COMMAND" 2>/dev/null | head -n 1 | tr -d '[:space:]'
    return 0
  fi
  [ -n "$PACKAGE_NAME" ] || return 0
  if [ "$format" != rpm ] && [ "$format" != deb ]; then
    if command -v dpkg-query >/dev/null 2>&1; then format=deb; elif command -v rpm >/dev/null 2>&1; then format=rpm; fi
  fi
  # Only a successful query prints a version (rpm -q prints "package ... is not installed" on stdout).
  local version=""
  case "$format" in
    rpm) version="$(rpm -q --qf '%{VERSION}' "$PACKAGE_NAME" 2>/dev/null)" || version="" ;;
    deb) version="$(dpkg-query -W -f='${Version}' "$PACKAGE_NAME" 2>/dev/null)" || version="" ;;
  esac
  printf '%s' "$version"
}

# health: empty output when healthy, else the reason.
health() {
  if [ "$INSTALLED" != "$DESIRED" ]; then
    printf 'installed version is %s, desired %s' "${INSTALLED:-none}" "$DESIRED"
    return 0
  fi
  if [ -n "$SERVICE" ] && ! systemctl is-active --quiet "$SERVICE"; then
    printf 'service %s is not active' "$SERVICE"
    return 0
  fi
  if [ -n "$HEALTH_COMMAND" ] && ! bash -c "$HEALTH_COMMAND" >"$WORK/health.out" 2>&1; then
    printf 'health command failed: %s' "$(tail -c 300 "$WORK/health.out" | tr '\n' ' ')"
  fi
  return 0
}

# The package of this architecture: format|bucket|key|version|sha256|signature key|signature version|trusted key
# key|trusted key version (the last four empty without a signature).
package_spec() {
  local arch
  arch="$(uname -m)"
  case "$arch" in
    x86_64 | amd64) printf '%s' "${SSM_packageLinuxX8664:-}" ;;
    aarch64 | arm64) printf '%s' "${SSM_packageLinuxArm64:-}" ;;
    *) printf '' ;;
  esac
}

download() {
  local bucket="$1" key="$2" version="$3" out="$4"
  aws_cli s3api get-object --bucket "$bucket" --key "$key" --version-id "$version" "$out" >/dev/null
}

verify_signature() {
  local file="$1" signature="$2" trusted_key="$3" home="$WORK/gnupg" status
  mkdir -m 700 "$home"
  if ! GNUPGHOME="$home" gpg --batch --quiet --import "$trusted_key" >/dev/null 2>&1; then
    printf 'the trusted key object is not an OpenPGP public key'
    return 0
  fi
  status="$(GNUPGHOME="$home" gpg --batch --status-fd 1 --verify "$signature" "$file" 2>/dev/null || true)"
  GNUPGHOME="$home" gpgconf --kill all >/dev/null 2>&1 || true
  if ! grep -q '^\[GNUPG:\] VALIDSIG ' <<<"$status"; then
    printf 'the detached signature does not verify with the trusted key'
  fi
  return 0
}

install_package() {
  local format="$1" file="$2"
  local -a args=()
  if [ -n "$INSTALL_ARGS" ] && [ "$INSTALL_ARGS" != "-" ]; then read -r -a args <<<"$INSTALL_ARGS"; fi
  case "$format" in
    rpm) AGENT_INSTALL_ARGS="$INSTALL_ARGS" rpm -U --replacepkgs --oldpackage "$file" ;;
    deb) AGENT_INSTALL_ARGS="$INSTALL_ARGS" dpkg -i "$file" ;;
    script) bash "$file" "${args[@]}" ;;
    *) return 64 ;;
  esac
}

check_switch "${SSM_switchParameter:-}"
check_switch "${SSM_sharedSwitchParameter:-}"

if ! DESIRED="$(read_parameter "${SSM_desiredVersionParameter:-}")"; then
  DESIRED=""
  finish NON_COMPLIANT error 1 "cannot read the desired version parameter ${SSM_desiredVersionParameter:-(unset)}"
fi
[[ "$DESIRED" =~ ^[A-Za-z0-9._+~:-]{1,64}$ ]] || finish NON_COMPLIANT error 1 "the desired version '$DESIRED' is not a version (letters, digits and . _ + ~ : -)"
INSTALL_ARGS=""
if [ -n "${SSM_installArgumentsParameter:-}" ] && ! INSTALL_ARGS="$(read_parameter "$SSM_installArgumentsParameter")"; then
  finish NON_COMPLIANT error 1 "cannot read the install arguments parameter $SSM_installArgumentsParameter"
fi

SPEC="$(package_spec)"
IFS='|' read -r FORMAT BUCKET KEY OBJECT_VERSION SHA256 SIGNATURE_KEY SIGNATURE_VERSION TRUSTED_KEY TRUSTED_KEY_VERSION <<<"$SPEC" || true

INSTALLED="$(installed_version "${FORMAT:-}")"
REASON="$(health)"
if [ "$PHASE" = verify ]; then
  [ -z "$REASON" ] || finish NON_COMPLIANT unhealthy 1 "unhealthy after install: $REASON"
  finish COMPLIANT installed 0 "installed: $AGENT $DESIRED is installed and healthy"
fi
if [ -z "$REASON" ]; then
  finish COMPLIANT already-installed "$([ "$PHASE" = decide ] && echo "$NOTHING_TO_DO" || echo 0)" \
    "nothing to do: $AGENT $DESIRED is installed and healthy"
fi
if [ "$MODE" = report ]; then
  finish NON_COMPLIANT report-only "$([ "$PHASE" = decide ] && echo "$NOTHING_TO_DO" || echo 0)" \
    "report mode: not compliant ($REASON); nothing changed"
fi
if [ "$PHASE" = decide ]; then
  log "install needed ($REASON)"
  exit 0
fi

[ -n "$SPEC" ] || finish NON_COMPLIANT no-package 1 "no package for architecture $(uname -m): nothing installed ($REASON)"
log "installing $AGENT $DESIRED ($REASON)"
PACKAGE="$WORK/package.$FORMAT"
download "$BUCKET" "$KEY" "$OBJECT_VERSION" "$PACKAGE" ||
  finish NON_COMPLIANT download-failed 1 "cannot download s3://$BUCKET/$KEY version $OBJECT_VERSION"
ACTUAL="$(sha256sum "$PACKAGE" | cut -d ' ' -f 1)"
[ "$ACTUAL" = "$SHA256" ] ||
  finish NON_COMPLIANT refused 1 "refused: SHA-256 mismatch for s3://$BUCKET/$KEY version $OBJECT_VERSION: expected $SHA256, got $ACTUAL; nothing installed"
log "SHA-256 matches ($SHA256)"
if [ -n "$SIGNATURE_KEY" ]; then
  command -v gpg >/dev/null 2>&1 || finish NON_COMPLIANT refused 1 "refused: a signature is configured but gpg is not installed; nothing installed"
  download "$BUCKET" "$SIGNATURE_KEY" "$SIGNATURE_VERSION" "$WORK/package.sig" ||
    finish NON_COMPLIANT download-failed 1 "cannot download the signature s3://$BUCKET/$SIGNATURE_KEY version $SIGNATURE_VERSION"
  download "$BUCKET" "$TRUSTED_KEY" "$TRUSTED_KEY_VERSION" "$WORK/trusted.asc" ||
    finish NON_COMPLIANT download-failed 1 "cannot download the trusted key s3://$BUCKET/$TRUSTED_KEY version $TRUSTED_KEY_VERSION"
  PROBLEM="$(verify_signature "$PACKAGE" "$WORK/package.sig" "$WORK/trusted.asc")"
  [ -z "$PROBLEM" ] || finish NON_COMPLIANT refused 1 "refused: $PROBLEM; nothing installed"
  log "signature verified with the trusted key"
fi

if ! install_package "$FORMAT" "$PACKAGE" >"$WORK/install.out" 2>&1; then
  cat "$WORK/install.out" >&2
  INSTALLED="$(installed_version "$FORMAT")"
  finish NON_COMPLIANT install-failed 1 "the $FORMAT install of $AGENT $DESIRED failed: $(tail -c 300 "$WORK/install.out" | tr '\n' ' ')"
fi
cat "$WORK/install.out"
if [ -n "$SERVICE" ]; then systemctl enable --now "$SERVICE" || warn "could not enable and start $SERVICE"; fi
INSTALLED="$(installed_version "$FORMAT")"
REASON="$(health)"
[ -z "$REASON" ] || finish NON_COMPLIANT unhealthy 1 "unhealthy after install: $REASON"
finish COMPLIANT installed 0 "installed: $AGENT $DESIRED is installed and healthy"
