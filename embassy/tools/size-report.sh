#!/usr/bin/env bash
# Footprint of the embassy board driver (issue 10) in a minimal firmware
# image for the Cortex-M4F (embassy/examples/footprint.rs: cortex-m-rt,
# an embassy-net stack, one Board::run job and one Board::drive_oauth
# sign-in), at opt-level "s" (profile firmware) and "z" (firmware-z), fat
# LTO. Flash and static RAM of the whole ELF (arm-none-eabi-size), and the
# flash by component, from the symbols' crate names (arm-none-eabi-nm;
# inlined code counts for the function it was inlined into, mostly the
# example's main, listed as "driver and job"). A benchmark, not a test: it
# writes target/embassy-size-report.md and prints it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
crate="$(dirname "$here")"
root="$(dirname "$crate")"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
report="$target_dir/embassy-size-report.md"

command -v arm-none-eabi-size >/dev/null || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends binutils-arm-none-eabi >/dev/null
}
rustup target add thumbv7em-none-eabihf >/dev/null 2>&1

declare -A fig
profiles=(firmware firmware-z)
groups=("core (mfp-oauth-core)" "driver and job (mfp-oauth-embassy, the example's main)" \
    "TLS 1.3 (embedded-tls, p256, der, aes-gcm, sha2, hkdf, hmac)" \
    "network (embassy-net, smoltcp, embassy-time, embassy-sync)" \
    "runtime (core, compiler_builtins, cortex-m-rt, other)")
for p in "${profiles[@]}"; do
    (cd "$root" && cargo rustc -q -p mfp-oauth-embassy --example footprint \
        --target thumbv7em-none-eabihf --profile "$p" --locked -- \
        -C link-arg=-Tlink.x -C "link-arg=-L$crate/examples")
    elf="$target_dir/thumbv7em-none-eabihf/$p/examples/footprint"
    while read -r name size; do fig["$p sec $name"]=$size; done \
        < <(arm-none-eabi-size -A "$elf" | awk 'NF == 3 && $1 ~ /^\./ {print $1, $2}')
    # The caller's buffers (a static in the example), lent to the driver.
    fig["$p lent"]=$(arm-none-eabi-nm -S -C "$elf" | awk '
        function hex(s,   i, n) { n = 0; s = tolower(s); for (i = 1; i <= length(s); i++) n = n * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1; return n }
        $4 ~ /image::__cortex_m_rt_main::/ && $3 ~ /^[bB]$/ {n += hex($2)} END {print n + 0}')
    while IFS=$'\t' read -r g bytes; do fig["$p grp $g"]=$bytes; done < <(
        arm-none-eabi-nm -S -C --size-sort "$elf" | awk '
            function hex(s,   i, n) { n = 0; s = tolower(s); for (i = 1; i <= length(s); i++) n = n * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1; return n }
            $3 ~ /^[tTrRdD]$/ {
                size = hex($2)
                name = $0; sub(/^[^ ]+ [^ ]+ [^ ]+ /, "", name)
                sub(/^[<&]+/, "", name)
                c = name; sub(/::.*/, "", c)
                if (c == "mfp_oauth_core") g = 0
                else if (c == "mfp_oauth_embassy" || c == "footprint") g = 1
                else if (c ~ /^(embedded_tls|p256|elliptic_curve|primeorder|crypto_bigint|ecdsa|der|const_oid|aes|aes_gcm|ghash|polyval|universal_hash|cipher|ctr|sha2|hkdf|hmac|digest|subtle|generic_array|signature)$/) g = 2
                else if (c ~ /^(embassy_net|smoltcp|embassy_time|embassy_sync|embassy_net_driver|managed|heapless)$/) g = 3
                else g = 4
                sum[g] += size
            }
            END { for (g = 0; g < 5; g++) printf "%d\t%d\n", g, sum[g] + 0 }')
done
v() { echo "${fig["$1"]:-0}"; }
flash() { echo $(( $(v "$1 sec .vector_table") + $(v "$1 sec .text") + $(v "$1 sec .rodata") + $(v "$1 sec .data") )); }
ram() { echo $(( $(v "$1 sec .data") + $(v "$1 sec .bss") + $(v "$1 sec .uninit") )); }

{
    echo "## Footprint of the embassy board driver on a Cortex-M4F (thumbv7em-none-eabihf, fat LTO)"
    echo
    echo "Measured by \`embassy/tools/size-report.sh\` on the image of"
    echo "\`embassy/examples/footprint.rs\` (a whole firmware: start-up, embassy-net, one job, one sign-in)."
    echo
    echo "| embassy board image | opt-level s | opt-level z |"
    echo "|---|---:|---:|"
    for k in .text .rodata .data .bss; do
        echo "| ${k#.} | $(v "firmware sec $k") B | $(v "firmware-z sec $k") B |"
    done
    echo "| **embassy image flash** (vectors + text + rodata + data) | **$(flash firmware) B** | **$(flash firmware-z) B** |"
    echo "| **embassy image static RAM** (data + bss), of which the lent buffers | **$(ram firmware) B**, $(v "firmware lent") B | **$(ram firmware-z) B**, $(v "firmware-z lent") B |"
    echo
    echo "| flash by component (symbols' crates; text + rodata + data) | opt-level s | opt-level z |"
    echo "|---|---:|---:|"
    for i in "${!groups[@]}"; do
        echo "| ${groups[$i]} | $(v "firmware grp $i") B | $(v "firmware-z grp $i") B |"
    done
} >"$report"
cat "$report"
