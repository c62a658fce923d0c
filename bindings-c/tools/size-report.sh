#!/usr/bin/env bash
# Footprint of the C library inside the Cortex-M4F firmware
# (examples/firmware), at opt-level "s" (profile firmware) and "z"
# (firmware-z): flash and static RAM of libmfp_oauth.a's code and data from
# the linker map, the stack high-water mark of the main entry points
# measured by stack painting on the emulated board, and the deepest chains
# of the C entry points over the firmware's direct-call graph
# (tools/stack-static.py). A benchmark, not a test: it writes
# target/size-report.md and prints it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
crate="$(dirname "$here")"
root="$(dirname "$crate")"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
report="$target_dir/size-report.md"

declare -A fig
flash=()
ram=()
profiles=(firmware firmware-z)
for p in "${profiles[@]}"; do
  "$crate/examples/firmware/build.sh" "$p" >/dev/null
  out="$target_dir/firmware/$p"
  while read -r comp kind bytes; do fig["$p $comp $kind"]=$bytes; done \
    < <(awk -f "$here/map-sizes.awk" "$out/fw.map")
  while read -r _ entry bytes; do fig["$p stack $entry"]=$bytes; done \
    < <(grep '^stack: ' "$out/run.log")
  # What the firmware lends the library for its day ("lent: <what> <bytes>").
  lent=0
  while read -r line; do lent=$((lent + ${line##* })); done < <(grep '^lent: ' "$out/run.log")
  fig["$p lent"]=$lent
  fig["$p lent items"]=$(grep '^lent: ' "$out/run.log" | sed 's/^lent: //; s/ \([0-9]*\)$/ \1 B/' | paste -sd, - | sed 's/,/, /g')
  # The deepest chains over the direct-call graph (tools/stack-static.py):
  # paths the day does not take are bounded too.
  while IFS=$'\t' read -r entry bytes; do fig["$p static $entry"]=$bytes; done \
    < <(python3 "$here/stack-static.py" "$out/fw.elf")
  read -r text data bss _ < <(arm-none-eabi-size "$out/fw.elf" | tail -n 1)
  fig["$p elf text"]=$text
  fig["$p elf data"]=$data
  fig["$p elf bss"]=$bss
done
v() { echo "${fig["$1"]:-0}"; }

{
  echo "## Footprint on a Cortex-M4F (thumbv7em-none-eabihf, fat LTO)"
  echo
  echo "Measured by \`bindings-c/tools/size-report.sh\` in the firmware of"
  echo "\`bindings-c/examples/firmware\` (arm-none-eabi-gcc, newlib-nano, QEMU mps2-an386)."
  echo
  echo "| libmfp_oauth.a in the firmware | opt-level s | opt-level z |"
  echo "|---|---:|---:|"
  for k in text rodata data bss; do
    echo "| $k | $(v "firmware lib $k") B | $(v "firmware-z lib $k") B |"
  done
  for p in "${profiles[@]}"; do
    flash[${#flash[@]}]=$(( $(v "$p lib text") + $(v "$p lib rodata") + $(v "$p lib data") ))
    ram[${#ram[@]}]=$(( $(v "$p lib data") + $(v "$p lib bss") ))
  done
  echo "| **flash** (text + rodata + data) | **${flash[0]} B** | **${flash[1]} B** |"
  echo "| **static RAM** (data + bss) | **${ram[0]} B** | **${ram[1]} B** |"
  echo "| **caller RAM for a day** (lent by the firmware: $(v "firmware lent items")) | **$(v "firmware lent") B** | **$(v "firmware-z lent") B** |"
  echo "| whole firmware ELF: text / data / bss | $(v "firmware elf text") / $(v "firmware elf data") / $(v "firmware elf bss") B | $(v "firmware-z elf text") / $(v "firmware-z elf data") / $(v "firmware-z elf bss") B |"
  echo
  echo "| stack high-water (painting, from the caller's SP) | opt-level s | opt-level z |"
  echo "|---|---:|---:|"
  for key in "${!fig[@]}"; do
    if [[ $key == "firmware stack "* ]]; then echo "${key#firmware stack }"; fi
  done | sort | while read -r entry; do
    echo "| \`$entry\` | $(v "firmware stack $entry") B | $(v "firmware-z stack $entry") B |"
  done
  echo
  echo "| deepest chains over the direct-call graph (\`tools/stack-static.py\`: frames from the prologues, calls through pointers not followed) | opt-level s | opt-level z |"
  echo "|---|---:|---:|"
  python3 "$here/stack-static.py" "$target_dir/firmware/firmware/fw.elf" --top 12 | while IFS=$'\t' read -r entry _; do
    echo "| \`$entry\`, deepest chain over the call graph | $(v "firmware static $entry") B | $(v "firmware-z static $entry") B |"
  done
} >"$report"
cat "$report"

# The same stack figures, checked in beside the header: the `generated`
# test writes each function's figures into its comment in mfp_oauth.h
# (issue 16: a C reader sees what each call needs). Re-run this script and
# bless the header after a change that moves them.
figures="$crate/tools/stack-figures.tsv"
{
  echo "# entry point<TAB>stack at opt-level s<TAB>at opt-level z, in bytes: written by tools/size-report.sh"
  for key in "${!fig[@]}"; do
    if [[ $key == "firmware stack "* ]]; then echo "${key#firmware stack }"; fi
  done | sort | while read -r entry; do
    printf '%s\t%s\t%s\n' "$entry" "$(v "firmware stack $entry")" "$(v "firmware-z stack $entry")"
  done
} >"$figures"
