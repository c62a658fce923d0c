#!/usr/bin/env bash
# The Linux C example against the interop suite's real servers
# (oidc-provider, Dovecot submission, the sink), built with
# AddressSanitizer and UndefinedBehaviorSanitizer. tests/interop/run.sh
# calls it after the Rust interop tests; by hand, with the servers up
# (`bash tests/interop/run.sh --serve`):
#
#   bash bindings-c/examples/linux/run-interop.sh target/interop/run/servers.env
#
# Installs OpenSSL's headers and pkg-config when missing (Debian), builds
# the debug library (the C tests' build, so usually up to date), runs
# interop.py, and ends with its line "c-linux: N passed, M failed".
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
env_file="$(realpath "${1:?usage: run-interop.sh SERVERS_ENV}")"
target_dir="${CARGO_TARGET_DIR:-$root/target}"

need=()
command -v pkg-config >/dev/null || need+=(pkg-config)
pkg-config --exists openssl 2>/dev/null || need+=(libssl-dev)
command -v cc >/dev/null || need+=(gcc)
if [[ ${#need[@]} -gt 0 ]]; then
  echo "c-linux: installing ${need[*]}"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      --no-install-recommends "${need[@]}"; } >"$target_dir/c-linux-apt.log" 2>&1 \
    || { tail -20 "$target_dir/c-linux-apt.log" >&2; echo "c-linux: FAILED: apt-get install ${need[*]}" >&2; exit 1; }
fi

make -s -C "$here" PROFILE=debug SANITIZE=1 TARGET_DIR="$target_dir" CARGO_FLAGS=--locked
work="$target_dir/c-linux/interop"
rm -rf "$work"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
  python3 "$here/interop.py" "$env_file" "$target_dir/c-linux/debug-asan/mfp-printer" "$work"
