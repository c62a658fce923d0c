#!/usr/bin/env bash
# C tests of the C API on the host (R-FFI): every tests/c/test_*.c is built
# against the host staticlib twice, with -Wall -Wextra -Werror and
# AddressSanitizer + UndefinedBehaviorSanitizer, and without sanitizers to
# run under valgrind; the header is also compiled and linked as C++.
# Ends with one line: "c-tests: N passed, M failed" (test cases, each run
# under both tools counts once per tool).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
crate="$(dirname "$here")"
root="$(dirname "$crate")"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
out="$target_dir/c-tests"
mkdir -p "$out"

locked=()
[[ -n "${CI:-}" || -n "${MFP_OAUTH_LOCKED:-}" ]] && locked=(--locked)
# The plain build must leave the archive (Cargo.toml lists staticlib): no
# explicit crate type here, and no stale archive from an earlier build.
lib="$target_dir/debug/libmfp_oauth.a"
rm -f "$lib"
( cd "$root" && cargo build -q -p mfp-oauth-c "${locked[@]}" )
libs=(-lpthread -ldl -lm)
warn=(-Wall -Wextra -Werror -pedantic -g -I"$crate/include" -I"$here/c")

passed=0
failed=0
# Runs one test binary and adds its "suite: N passed, M failed" line.
run_one() {
  local label="$1"
  shift
  local log="$out/$label.log"
  local rc=0
  "$@" >"$log" 2>&1 || rc=$?
  local line
  line=$(grep -E '^[a-z_+]+: [0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1 || true)
  if [[ -z "$line" ]]; then
    echo "$label: no result line (exit $rc)"
    cat "$log"
    failed=$((failed + 1))
    return
  fi
  local p f
  p=$(sed -E 's/.*: ([0-9]+) passed.*/\1/' <<<"$line")
  f=$(sed -E 's/.* ([0-9]+) failed$/\1/' <<<"$line")
  if [[ $rc -ne 0 && $f -eq 0 ]]; then
    f=1 # a sanitizer or valgrind error after the cases ran
  fi
  echo "$label: $p passed, $f failed"
  if [[ $f -ne 0 ]]; then cat "$log"; fi
  passed=$((passed + p))
  failed=$((failed + f))
}

for src in "$here"/c/test_*.c; do
  name="$(basename "$src" .c)"
  gcc -std=c11 -D_GNU_SOURCE "${warn[@]}" -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
    -fno-sanitize-recover=all "$src" "$lib" "${libs[@]}" -o "$out/$name.asan"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
    run_one "$name [asan+ubsan]" "$out/$name.asan" "$root/tests/transcripts"
  gcc -std=c11 -D_GNU_SOURCE "${warn[@]}" -O0 "$src" "$lib" "${libs[@]}" -o "$out/$name.plain"
  run_one "$name [valgrind]" valgrind -q --error-exitcode=99 --leak-check=full \
    --errors-for-leak-kinds=definite "$out/$name.plain" "$root/tests/transcripts"
done

# The header is valid C99 and C++ (and links from C++).
gcc -std=c99 "${warn[@]}" -fsyntax-only -x c "$crate/include/mfp_oauth.h"
g++ -std=c++11 "${warn[@]}" "$here/c/header_cpp.cpp" "$lib" "${libs[@]}" -o "$out/header_cpp"
run_one "header_cpp [c++]" "$out/header_cpp"

# Every C example of the README's "Using it from C" guide compiles as written.
rm -f "$out"/readme_example_*.c
awk -v dir="$out" '
  /^## / { inside = ($0 == "## Using it from C") }
  inside && /^```c$/ { n++; file = sprintf("%s/readme_example_%d.c", dir, n); next }
  file && /^```$/ { close(file); file = ""; next }
  file { print > file }
' "$root/README.md"
examples=("$out"/readme_example_*.c)
[[ -e "${examples[0]}" ]]
for ex in "${examples[@]}"; do
  gcc -std=c11 "${warn[@]}" -fsyntax-only "$ex"
done

echo "c-tests: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
