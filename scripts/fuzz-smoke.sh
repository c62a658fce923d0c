#!/usr/bin/env bash
# Short fuzzing run of every core fuzz target (CI); longer runs before a
# release: FUZZ_SECONDS=600 bash scripts/fuzz-smoke.sh
# Seeds come from the SMTP transcripts, so the fuzzer starts from real
# sessions instead of from nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-20}"
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  echo "fuzzing needs the nightly toolchain, which this machine lacks" >&2
  exit 1
fi
command -v cargo-fuzz >/dev/null 2>&1 || cargo install --locked cargo-fuzz
corpus=target/fuzz-corpus
for target in smtp_client smtp_reply; do
  mkdir -p "$corpus/$target"
done
# One seed per transcript: a flags byte, a cut byte, then the server's lines.
for t in tests/transcripts/*.txt; do
  name=$(basename "$t" .txt)
  for flags in 0 1; do
    { printf "\\x$(printf %02x $flags)\\x05"; sed -n 's/^S: \{0,1\}//p' "$t" | sed 's/$/\r/'; } \
      > "$corpus/smtp_client/$name-$flags"
  done
  sed -n 's/^S: \{0,1\}//p' "$t" | sed 's/$/\r/' > "$corpus/smtp_reply/$name"
done
cd core
for target in smtp_client smtp_reply; do
  echo "--- fuzz $target for ${seconds}s"
  log="../target/fuzz-$target.log"
  if ! cargo +nightly fuzz run "$target" "../$corpus/$target" -- \
    -dict=fuzz/smtp.dict -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1; then
    tail -40 "$log" >&2
    echo "fuzz target $target failed (crash or build error); artifacts in core/fuzz/artifacts/$target" >&2
    exit 1
  fi
  grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)' "$log"
done
