# sourced by the fake rpm and dpkg
field() { grep -m1 "^$1=" "$2" | cut -d= -f2-; }
install_file() {
  local file="$1" name version service exit_code
  grep -qx '#fake-package' "$file" || { echo "error: $file: not a package" >&2; exit 1; }
  name="$(field name "$file")"; version="$(field version "$file")"; service="$(field service "$file")"
  exit_code="$(field install_exit "$file")"
  if [ -n "$exit_code" ]; then echo "error: scriptlet failed for $name" >&2; exit "$exit_code"; fi
  mkdir -p "$FAKE_STATE/db" "$FAKE_STATE/services"
  printf '%s' "$version" >"$FAKE_STATE/db/$name"
  printf '%s\n' "$AGENT_INSTALL_ARGS" >"$FAKE_STATE/db/$name.args"
  if [ -n "$service" ]; then field starts "$file" >"$FAKE_STATE/services/$service.unit"; fi
  echo "installed $name-$version"
}
