#!/usr/bin/env bash
# The long fuzzing run before a release: every core fuzz target for
# FUZZ_SECONDS (default 600) in turn, at the lowest CPU priority, from a
# snapshot of the fuzz binaries (rebuilding meanwhile does not disturb it).
# Usage: bash scripts/fuzz-long.sh OUT_DIR [TARGET...]
# OUT_DIR gets bin/, corpus/ (kept between runs), artifacts/, one log per
# target and summary.tsv: target, executions, exec/s, cov, ft, corpus
# files, crashes, seconds, commit. Exit status 1 if any target crashed.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/fuzz-lib.sh
out="$(mkdir -p "$1" && cd "$1" && pwd)"
shift
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=("${FUZZ_TARGETS[@]}")
seconds="${FUZZ_SECONDS:-600}"
commit=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- core scripts || echo "+dirty")
fuzz_toolchain
(cd core && nice -n 19 cargo +nightly fuzz build)
mkdir -p "$out/bin"
for target in "${targets[@]}"; do
  cp "core/fuzz/target/x86_64-unknown-linux-gnu/release/$target" "$out/bin/$target"
done
bash scripts/fuzz-seed.sh "$out/corpus"
[[ -f "$out/summary.tsv" ]] || printf 'target\texecutions\texec_per_s\tcov\tft\tcorpus\tcrashes\tseconds\tcommit\tfinished\n' > "$out/summary.tsv"
failed=0
for target in "${targets[@]}"; do
  log="$out/$target.log"
  mkdir -p "$out/artifacts/$target"
  dict=$(fuzz_dict "$target" "$out/dicts/$target.dict")
  echo "--- $target for ${seconds}s: $log"
  status=0
  # shellcheck disable=SC2086 # $dict is one option or none
  nice -n 19 "$out/bin/$target" $dict -max_total_time="$seconds" -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$out/artifacts/$target/" "$out/corpus/$target" \
    >"$log" 2>&1 || status=$?
  execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$log" | tail -1)
  rate=$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+)/\1/p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$last")
  ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")
  files=$(find "$out/corpus/$target" -type f | wc -l)
  crashes=$(find "$out/artifacts/$target" -type f | wc -l)
  [[ $status -eq 0 ]] || failed=1
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$target" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" \
    "$files" "$crashes" "$seconds" "$commit" "$(date -u +%FT%TZ)" >> "$out/summary.tsv"
  tail -1 "$out/summary.tsv"
done
exit $failed
