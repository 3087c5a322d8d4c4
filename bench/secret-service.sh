#!/usr/bin/env bash
# Run a command inside a private D-Bus session with an unlocked gnome-keyring (the real
# Secret Service), its data in a throwaway directory — the same setup as ./scripts/test.
#
#   bench/secret-service.sh .venv/bin/python bench/run.py
#
# Needs gnome-keyring-daemon and dbus-run-session (./scripts/test installs them on Debian:
# apt-get install --no-install-recommends gnome-keyring dbus-x11).
set -euo pipefail
if [ -z "${_PROVCTL_BENCH_TMP:-}" ]; then
  for tool in gnome-keyring-daemon dbus-run-session; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is missing (see ./scripts/test)" >&2; exit 1; }
  done
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/provctl-bench.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  status=0
  _PROVCTL_BENCH_TMP="$tmp" dbus-run-session -- "$0" "$@" || status=$?
  exit "$status"
fi
export XDG_DATA_HOME="$_PROVCTL_BENCH_TMP/data" XDG_CONFIG_HOME="$_PROVCTL_BENCH_TMP/config" \
       XDG_RUNTIME_DIR="$_PROVCTL_BENCH_TMP/run"
mkdir -p -m 700 "$XDG_DATA_HOME" "$XDG_CONFIG_HOME" "$XDG_RUNTIME_DIR"
unset GNOME_KEYRING_CONTROL PYTHON_KEYRING_BACKEND
out=$(printf %s provctl-bench | gnome-keyring-daemon --unlock --components=secrets)
while IFS= read -r line; do [ -n "$line" ] && export "$line"; done <<<"$out"
"$@"
