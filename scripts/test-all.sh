#!/usr/bin/env bash
# The whole test suite of mfp-oauth, as CI runs it (README: "Test").
# On a fresh machine it installs what it needs first, then runs every gate.
# It stops at the first failing gate and ends with one summary line.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
log_dir="${root}/target/test-all"
mkdir -p "$log_dir"

# Each stage's heading also gives the disk left: the suite's builds (test
# binaries, the board's, Miri's and the fuzzers' nightly ones) take many
# gigabytes, and a machine short of disk must show where it went.
stage() { printf '\n=== %s (%ss, %s free)\n' "$1" "$SECONDS" "$(df -h --output=avail . | tail -1 | tr -d ' ')"; }

# One clean build per run: incremental caches would only add gigabytes.
export CARGO_INCREMENTAL=0

# A nightly build dir that no later stage reads (Miri's, the fuzzers') is
# removed when less than 20 GiB are left, so a small disk still holds the
# stages after it; a roomy machine keeps it for the next run.
reclaim() {
  local free_kib
  free_kib=$(df -k --output=avail . | tail -1 | tr -d ' ')
  if [[ $free_kib -lt $((20 * 1024 * 1024)) ]]; then
    echo "disk: $((free_kib / 1024)) MiB free, removing $* (rebuilt on the next run)"
    rm -rf "$@"
  fi
}

stage "toolchain: components and the board target"
rustup component add rustfmt clippy >/dev/null 2>&1 || true
rustup target add thumbv7em-none-eabihf >/dev/null

stage "format"
cargo fmt --all -- --check

stage "clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

stage "docs (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked

stage "tests"
cargo test --workspace --locked 2>&1 | tee "$log_dir/cargo-test.log"

stage "core tests without OAuth (R-RULE-7: every entry point answers NotAvailable)"
cargo test -p mfp-oauth-core --no-default-features --locked 2>&1 | tee "$log_dir/cargo-test-no-oauth.log"

stage "core for the board: thumbv7em-none-eabihf, no allocator"
cargo build -p mfp-oauth-core --target thumbv7em-none-eabihf --release --locked
# R-RULE-7: the product without OAuth must build too.
cargo build -p mfp-oauth-core --target thumbv7em-none-eabihf --release --locked --no-default-features

stage "embassy board driver for the board: thumbv7em-none-eabihf (with and without defmt, dns)"
cargo build -p mfp-oauth-embassy --target thumbv7em-none-eabihf --release --locked
cargo build -p mfp-oauth-embassy --target thumbv7em-none-eabihf --release --locked --features defmt,dns
# The firmware image of the footprint report (cortex-m-rt, one job) links.
cargo rustc -p mfp-oauth-embassy --example footprint --target thumbv7em-none-eabihf --release --locked \
  -- -C link-arg=-Tlink.x -C "link-arg=-L$root/embassy/examples"
# The second TLS option (issue 20): rustls, TLS 1.2 and 1.3, RSA chains, a heap.
cargo build -p mfp-oauth-embassy --target thumbv7em-none-eabihf --release --locked --features tls-rustls-all-sigs,defmt,dns
cargo rustc -p mfp-oauth-embassy --example footprint --target thumbv7em-none-eabihf --release --locked \
  --features tls-rustls -- -C link-arg=-Tlink.x -C "link-arg=-L$root/embassy/examples"

stage "embassy's rustls option (feature tls-rustls): clippy, docs, tests against rustls servers on loopback"
cargo clippy -p mfp-oauth-embassy --all-targets --locked --features tls-rustls-all-sigs,defmt,dns -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc -p mfp-oauth-embassy --no-deps --locked --features tls-rustls
cargo test -p mfp-oauth-embassy --locked --features tls-rustls 2>&1 | tee "$log_dir/cargo-test-embassy-rustls.log"

stage "core's defmt output (R-LOG): a test logger captures the frames, no secret in any"
# Its own workspace (core/defmt-check): the defmt feature and the global
# logger must not reach the main workspace's builds.
(
  cd core/defmt-check
  cargo fmt -- --check
  cargo clippy --all-targets --locked -- -D warnings
  cargo test --locked 2>&1 | tee "$log_dir/cargo-test-defmt.log"
)

stage "C API: tools (arm-none-eabi-gcc, newlib, qemu-system-arm, valgrind)"
# Installed only when missing, so that a warm machine skips apt entirely.
need=()
command -v arm-none-eabi-gcc >/dev/null || need+=(gcc-arm-none-eabi)
[[ "$(arm-none-eabi-gcc -print-file-name=libc_nano.a 2>/dev/null)" == /* ]] || need+=(libnewlib-arm-none-eabi)
command -v qemu-system-arm >/dev/null || need+=(qemu-system-arm)
command -v valgrind >/dev/null || need+=(valgrind)
command -v g++ >/dev/null || need+=(g++)
if [[ ${#need[@]} -gt 0 ]]; then
  echo "installing: ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

stage "C API: header and status list match their generators (cbindgen, diag catalogue)"
cargo test -p mfp-oauth-c --test generated --locked

stage "C API: C tests (ASan + UBSan, valgrind, C++)"
bash bindings-c/tests/run-c-tests.sh 2>&1 | tee "$log_dir/c-tests.log"

stage "C API: Cortex-M4F firmware (LTO staticlib) under qemu-system-arm mps2-an386"
bash bindings-c/examples/firmware/build.sh firmware
# R-MEM: the painting above measures the day's paths; every entry point's
# deepest chain over the firmware's direct-call graph must be within 4 KiB
# too (a path the day does not take, such as another transport's).
python3 bindings-c/tools/stack-static.py target/firmware/firmware/fw.elf --max 4096 --top 5

stage "Miri: the core's unit tests and the C API called from Rust (undefined behaviour)"
# Nightly with Miri, installed when missing (the fuzz stage below shares it).
rustup run nightly rustc --version >/dev/null 2>&1 || rustup toolchain install nightly --profile minimal
rustup +nightly component add miri rust-src >/dev/null
cargo +nightly miri setup >/dev/null
# Each property test runs one case under Miri (a case costs about a thousand
# times its native time; the full counts run in "tests" above). Stacked
# Borrows and every other check stay on; so does isolation (the tests need
# no clock, file or randomness from the host): proptest's read of its
# regression files is refused quietly, PROPTEST_CASES is let through. Tests
# too slow for Miri are #[cfg_attr(miri, ignore = "why, and what covers it")].
export PROPTEST_CASES=1
export MIRIFLAGS="-Zmiri-isolation-error=hide -Zmiri-env-forward=PROPTEST_CASES"
miri_failed=0
# The core's tests in two halves of about the same time under Miri (one per
# core: oauth, image and config on one; everything else on the other) and,
# before the second half, every extern "C" function through raw pointers:
# NULLs, short buffers, uncreated, garbage and destroyed storage, whole
# sessions (bindings-c/tests/ffi.rs). Every core test runs in one half.
miri_half_a=(oauth:: image:: config::)
cargo +nightly miri test -p mfp-oauth-core --lib --locked -- "${miri_half_a[@]}" \
  >"$log_dir/cargo-test-miri-core-a.log" 2>&1 &
miri_core=$!
cargo +nightly miri test -p mfp-oauth-c --lib --test ffi --locked >"$log_dir/cargo-test-miri-ffi.log" 2>&1 || miri_failed=1
skip_a=()
for f in "${miri_half_a[@]}"; do skip_a+=(--skip "$f"); done
cargo +nightly miri test -p mfp-oauth-core --lib --locked -- "${skip_a[@]}" \
  >"$log_dir/cargo-test-miri-core-b.log" 2>&1 || miri_failed=1
wait "$miri_core" || miri_failed=1
# R-RULE-7: the tests that exist only without OAuth.
cargo +nightly miri test -p mfp-oauth-core --lib --no-default-features --locked -- without \
  >"$log_dir/cargo-test-miri-core-no-oauth.log" 2>&1 || miri_failed=1
for log in "$log_dir"/cargo-test-miri-*.log; do
  echo "--- ${log##*/}"
  grep -E '^(test result|error|warning: unused)|panicked|Undefined Behavior' "$log" || true
done
if [[ $miri_failed -ne 0 ]]; then
  tail -60 "$log_dir"/cargo-test-miri-*.log >&2
  echo "Miri found a failure or undefined behaviour (logs in $log_dir)" >&2
  exit 1
fi
unset PROPTEST_CASES MIRIFLAGS
reclaim target/miri

stage "fuzzing: every core fuzz target, briefly"
bash scripts/fuzz-smoke.sh
reclaim core/fuzz/target

stage "interop: the real drivers against oidc-provider, Dovecot and Postfix on loopback"
# Installs the servers when missing (apt, npm) and fails if it cannot.
bash tests/interop/run.sh 2>&1 | tee "$log_dir/interop.log"

stage "embassy: the board driver on a TAP device against Dovecot and oidc-provider"
# Root only (the TAP device); fails loudly when the device cannot be made.
bash tests/embassy/run.sh 2>&1 | tee "$log_dir/embassy.log"

stage "summary"
passed=$(cat "$log_dir"/cargo-test*.log "$log_dir/interop.log" "$log_dir/embassy.log" | grep -Eo 'test result: [a-zA-Z]+\. [0-9]+ passed' | awk '{s+=$4} END {print s+0}')
failed=$(cat "$log_dir"/cargo-test*.log "$log_dir/interop.log" "$log_dir/embassy.log" | grep -Eo '[0-9]+ failed' | awk '{s+=$1} END {print s+0}')
# The C tests' cases count too ("c-tests: N passed, M failed").
c_passed=$(sed -nE 's/^c-tests: ([0-9]+) passed.*/\1/p' "$log_dir/c-tests.log")
passed=$((passed + ${c_passed:-0}))
# So do the Linux C example's checks in the interop stage ("c-linux: N passed, M failed").
c_linux_passed=$(sed -nE 's/^c-linux: ([0-9]+) passed.*/\1/p' "$log_dir/interop.log")
passed=$((passed + ${c_linux_passed:-0}))
echo "all gates passed in ${SECONDS}s"
echo "tests: ${passed} passed, ${failed} failed"
