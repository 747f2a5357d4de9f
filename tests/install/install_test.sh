#!/usr/bin/env bash
# Installs the build into a temporary DESTDIR (meson install --no-rebuild) and checks the installed
# tree as a user would run it: the binary, the config and pipelines.d under sysconfdir, the static
# pages, the systemd unit pointing at them; `estuary --version` and `estuary --check-config` against
# the installed config succeed. Prints what it checks; exits non-zero on the first failure.
set -euo pipefail
build="$1"
dest="$(mktemp -d)"
trap 'rm -rf "$dest"' EXIT
meson install -C "$build" --destdir "$dest" --no-rebuild --quiet >/dev/null
prefix="$(meson introspect "$build" --buildoptions | python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"][0])')"
sysconfdir="$(meson introspect "$build" --buildoptions | python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="sysconfdir"][0])')"
case "$sysconfdir" in /*) etc="$sysconfdir" ;; *) etc="$prefix/$sysconfdir" ;; esac
root="$dest$prefix"
fail() { echo "FAIL: $*"; exit 1; }
check_file() { [ -e "$1" ] || fail "missing $1"; echo "ok: $1"; }
check_file "$root/bin/estuary"
check_file "$dest$etc/estuary/estuary.conf"
check_file "$dest$etc/estuary/pipelines.d"
check_file "$root/share/estuary/www"
unit="$root/lib/systemd/system/estuary.service"
check_file "$unit"
grep -q "^ExecStart=$prefix/bin/estuary --config $etc/estuary/estuary.conf$" "$unit" || fail "unit ExecStart: $(grep ExecStart "$unit")"
for key in DynamicUser=yes ProtectSystem=strict NoNewPrivileges=yes Restart=on-failure; do
  grep -q "^$key$" "$unit" || fail "unit lacks $key"
done
echo "ok: unit starts the installed binary on the installed config, hardened"
"$root/bin/estuary" --version | tee /dev/stderr | grep -q "^Estuary " || fail "--version"
"$root/bin/estuary" --check-config --config "$dest$etc/estuary/estuary.conf" || fail "--check-config on the installed config"
echo "ok: --check-config on the installed config"
