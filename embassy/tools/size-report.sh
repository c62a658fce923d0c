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
#
# Both TLS options (issue 20): embedded-tls (the default: TLS 1.3, no
# allocator) and rustls (feature `tls-rustls`: TLS 1.2 and 1.3, RSA chains,
# a 64 KiB heap in the image). The heap's high-water mark is measured on the
# host (tests/rustls_link.rs, `heap_high_water`: one connection, and two
# at once as during a refresh in the middle of a session), where pointers
# are twice a Cortex-M's size.
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
options=(embedded-tls rustls)
declare -A option_features=([embedded-tls]="" [rustls]="--features tls-rustls")
groups=("core (mfp-oauth-core)" "driver and job (mfp-oauth-embassy, the example's main)" \
    "TLS (embedded-tls or rustls, webpki, and their crypto: p256, rsa, aes-gcm, sha2, hmac, ...)" \
    "network (embassy-net, smoltcp, embassy-time, embassy-sync)" \
    "runtime (core, alloc, compiler_builtins, cortex-m-rt, embedded-alloc, other)")
for o in "${options[@]}"; do
for p in "${profiles[@]}"; do
    # shellcheck disable=SC2086 # the features are two words or none
    (cd "$root" && cargo rustc -q -p mfp-oauth-embassy --example footprint \
        --target thumbv7em-none-eabihf --profile "$p" --locked ${option_features[$o]} -- \
        -C link-arg=-Tlink.x -C "link-arg=-L$crate/examples")
    elf="$target_dir/thumbv7em-none-eabihf/$p/examples/footprint"
    k="$o $p"
    while read -r name size; do fig["$k sec $name"]=$size; done \
        < <(arm-none-eabi-size -A "$elf" | awk 'NF == 3 && $1 ~ /^\./ {print $1, $2}')
    # The caller's buffers (a static in the example), lent to the driver.
    fig["$k lent"]=$(arm-none-eabi-nm -S -C "$elf" | awk '
        function hex(s,   i, n) { n = 0; s = tolower(s); for (i = 1; i <= length(s); i++) n = n * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1; return n }
        $4 ~ /image::__cortex_m_rt_main::/ && $3 ~ /^[bB]$/ {n += hex($2)} END {print n + 0}')
    # The heap region (rustls only).
    fig["$k heap"]=$(arm-none-eabi-nm -S -C "$elf" | awk '
        function hex(s,   i, n) { n = 0; s = tolower(s); for (i = 1; i <= length(s); i++) n = n * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1; return n }
        $4 ~ /image::HEAP_MEM$/ {n += hex($2)} END {print n + 0}')
    while IFS=$'\t' read -r g bytes; do fig["$k grp $g"]=$bytes; done < <(
        arm-none-eabi-nm -S -C --size-sort "$elf" | awk '
            function hex(s,   i, n) { n = 0; s = tolower(s); for (i = 1; i <= length(s); i++) n = n * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1; return n }
            $3 ~ /^[tTrRdD]$/ {
                size = hex($2)
                name = $0; sub(/^[^ ]+ [^ ]+ [^ ]+ /, "", name)
                sub(/^[<&]+/, "", name)
                c = name; sub(/::.*/, "", c)
                if (c == "mfp_oauth_core") g = 0
                else if (c == "mfp_oauth_embassy" || c == "footprint") g = 1
                else if (c ~ /^(embedded_tls|p256|p384|elliptic_curve|primeorder|crypto_bigint|ecdsa|der|const_oid|aes|aes_gcm|ghash|polyval|universal_hash|cipher|ctr|sha2|hkdf|hmac|digest|subtle|generic_array|signature|rustls|webpki|rustls_pki_types|untrusted|rsa|num_bigint_dig|num_integer|num_traits|num_iter|pkcs1|pkcs8|spki|rand_chacha|ppv_lite86|rand_core)$/) g = 2
                else if (c ~ /^(embassy_net|smoltcp|embassy_time|embassy_sync|embassy_net_driver|managed|heapless)$/) g = 3
                else g = 4
                sum[g] += size
            }
            END { for (g = 0; g < 5; g++) printf "%d\t%d\n", g, sum[g] + 0 }')
done
done
# The heap's high-water mark (host, x86_64): one connection of each kind,
# two at once.
hw=$(cd "$root" && cargo test -q -p mfp-oauth-embassy --features tls-rustls --locked \
    --test rustls_link heap_high_water -- --nocapture 2>/dev/null | grep 'heap high-water' || true)
hw_of() { grep -F "$1" <<<"$hw" | grep -Eo '[0-9]+ B' | head -1; }
v() { echo "${fig["$1"]:-0}"; }
flash() { echo $(( $(v "$1 sec .vector_table") + $(v "$1 sec .text") + $(v "$1 sec .rodata") + $(v "$1 sec .data") )); }
ram() { echo $(( $(v "$1 sec .data") + $(v "$1 sec .bss") + $(v "$1 sec .uninit") )); }

{
    echo "## Footprint of the embassy board driver on a Cortex-M4F (thumbv7em-none-eabihf, fat LTO)"
    echo
    echo "Measured by \`embassy/tools/size-report.sh\` on the image of"
    echo "\`embassy/examples/footprint.rs\` (a whole firmware: start-up, embassy-net, one job, one sign-in),"
    echo "with each TLS option: embedded-tls (default; TLS 1.3, ECDSA P-256 chains, no heap) and rustls"
    echo "(feature \`tls-rustls\`; TLS 1.2 and 1.3, RSA and ECDSA P-256 chains, a 64 KiB heap)."
    for o in "${options[@]}"; do
        if [ "$o" = rustls ]; then with=" with rustls"; else with=""; fi
        echo
        echo "### TLS option: $o"
        echo
        echo "| embassy board image$with | opt-level s | opt-level z |"
        echo "|---|---:|---:|"
        for k in .text .rodata .data .bss; do
            echo "| ${k#.} | $(v "$o firmware sec $k") B | $(v "$o firmware-z sec $k") B |"
        done
        echo "| **embassy image$with flash** (vectors + text + rodata + data) | **$(flash "$o firmware") B** | **$(flash "$o firmware-z") B** |"
        if [ "$o" = rustls ]; then
            echo "| **embassy image$with static RAM** (data + bss), of which the lent buffers, the heap region | **$(ram "$o firmware") B**, $(v "$o firmware lent") B, $(v "$o firmware heap") B | **$(ram "$o firmware-z") B**, $(v "$o firmware-z lent") B, $(v "$o firmware-z heap") B |"
        else
            echo "| **embassy image static RAM** (data + bss), of which the lent buffers | **$(ram "$o firmware") B**, $(v "$o firmware lent") B | **$(ram "$o firmware-z") B**, $(v "$o firmware-z lent") B |"
        fi
        echo
        echo "| flash by component$with (symbols' crates; text + rodata + data) | opt-level s | opt-level z |"
        echo "|---|---:|---:|"
        for i in "${!groups[@]}"; do
            echo "| ${groups[$i]} | $(v "$o firmware grp $i") B | $(v "$o firmware-z grp $i") B |"
        done
    done
    echo
    echo "| rustls heap high-water mark (host, x86_64; tests/rustls_link.rs) | bytes |"
    echo "|---|---:|"
    echo "| one connection, TLS 1.2, RSA-2048 chain | $(hw_of 'TLS 1.2, RSA') |"
    echo "| one connection, TLS 1.3, ECDSA P-256 chain | $(hw_of 'TLS 1.3, ECDSA') |"
    echo "| two connections at once (SMTP open, token refresh), TLS 1.2, RSA-2048 | $(hw_of 'two links') |"
} >"$report"
cat "$report"
