#!/usr/bin/env bash
# Short fuzzing run of every core fuzz target (CI): FUZZ_SECONDS per target
# (default 10). The long run before a release is scripts/fuzz-long.sh.
# Seeds come from the test vectors (scripts/fuzz-seed.sh), so the fuzzer
# starts from real sessions instead of from nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/fuzz-lib.sh
seconds="${FUZZ_SECONDS:-10}"
fuzz_toolchain
corpus=target/fuzz-corpus
bash scripts/fuzz-seed.sh "$corpus"
(cd core && cargo +nightly fuzz build)
for target in "${FUZZ_TARGETS[@]}"; do
  echo "--- fuzz $target for ${seconds}s"
  log="target/fuzz-$target.log"
  dict=$(fuzz_dict "$target" "$PWD/target/fuzz-dicts/$target.dict")
  if ! (cd core && cargo +nightly fuzz run "$target" "../$corpus/$target" -- \
    $dict -max_total_time="$seconds" -timeout=10 -print_final_stats=1) >"$log" 2>&1; then
    tail -40 "$log" >&2
    echo "fuzz target $target failed (crash or build error); artifacts in core/fuzz/artifacts/$target" >&2
    exit 1
  fi
  grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)' "$log"
done
