#!/usr/bin/env bash
# Benchmarks against the peers (issue 8): lettre, curl, serde_json, measured
# side by side on this machine in one run. Prints one table and writes
# BENCHMARKS.md (date, machine, this command). Not part of the test suite:
# nothing here asserts a figure. A few minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."

need() { command -v "$1" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "$2" >/dev/null; }; }
need valgrind valgrind
need curl curl

echo "=== build (release)" >&2
cargo build --release --locked -p mfp-oauth-benches --bins
echo "=== criterion: wall time of the in-memory cases" >&2
mkdir -p target/bench
cargo bench --locked -p mfp-oauth-benches --bench wall -- --noplot >target/bench/criterion.log 2>&1 \
  || { cat target/bench/criterion.log >&2; exit 1; }
grep -E '^[a-z0-9-]+/|time:|thrpt:' target/bench/criterion.log >&2 || true
echo "=== callgrind, loopback transfers, round trips, allocations" >&2
target/release/bench-report
