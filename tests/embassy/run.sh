#!/usr/bin/env bash
# The embassy board driver (issue 10) on a Linux TAP device, against the
# interop suite's real servers (Dovecot submission, oidc-provider):
#
#   bash tests/embassy/run.sh [extra arguments for the test binary]
#
# 1. Makes the TAP device (MFP_EMBASSY_TAP, default mfptap0) with the host
#    end 192.168.69.1/24 (the board's embassy-net stack is 192.168.69.2);
#    needs root and /dev/net/tun, installs iproute2 if missing, and fails
#    loudly when the device cannot be made: never a silent skip.
# 2. Runs tests/interop/run.sh with MFP_INTEROP_TEST=embassy_tap: the same
#    servers on loopback, then `cargo test --test embassy_tap -- --ignored`
#    (the tests forward 192.168.69.1:24550..24552 to the servers; one
#    test runs its own impostor TLS server on 192.168.69.1:24553), then,
#    with the same servers, the tests named rustls_ built with the board
#    driver's rustls option (feature embassy-rustls, issue 20): TLS 1.2-only
#    fronts with an RSA chain on 192.168.69.1:24554 (token endpoint) and
#    24555 (SMTP, implicit TLS). `bash tests/embassy/run.sh rustls_` runs
#    only those.
# 3. Deletes the device on success, failure or interruption.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
tap="${MFP_EMBASSY_TAP:-mfptap0}"

say() { printf 'embassy: %s\n' "$*"; }
die() { printf 'embassy: FAILED: %s\n' "$*" >&2; exit 1; }

if ! command -v ip >/dev/null; then
    say "installing iproute2"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends iproute2; } >/dev/null 2>&1 || die "apt-get install iproute2"
fi
[ "$(id -u)" = 0 ] || die "the TAP device needs root"
[ -c /dev/net/tun ] || die "/dev/net/tun is missing"
if ip link show "$tap" >/dev/null 2>&1; then
    die "$tap already exists (another run?); delete it with: ip link del $tap"
fi
ip tuntap add dev "$tap" mode tap || die "ip tuntap add dev $tap mode tap"
trap 'ip link del "$tap" 2>/dev/null || true' EXIT
ip addr add 192.168.69.1/24 dev "$tap" || die "ip addr add 192.168.69.1/24 dev $tap"
ip link set "$tap" up || die "ip link set $tap up"
say "TAP device $tap up (host 192.168.69.1, board 192.168.69.2)"

status=0
MFP_INTEROP_TEST=embassy_tap MFP_EMBASSY_TAP="$tap" bash "$root/tests/interop/run.sh" "$@" || status=$?
exit "$status"
