#!/usr/bin/env bash
# Builds the Cortex-M4F firmware against the LTO staticlib and runs it under
# QEMU (mps2-an386, semihosting). Usage: build.sh [profile] [--no-run]
# profile: firmware (opt-level s, default) or firmware-z (opt-level z).
# FW_STACK=<bytes> sets the main stack's size (default 8 KiB, see the
# linker script); a call that reaches its painted guard fails the run.
# Output: target/firmware/<profile>/fw.elf, fw.map, run.log.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
crate="$(cd "$here/../.." && pwd)"
root="$(dirname "$crate")"
profile="${1:-firmware}"
run=1
[[ "${2:-}" == "--no-run" ]] && run=0
target_dir="${CARGO_TARGET_DIR:-$root/target}"
out="$target_dir/firmware/$profile"
mkdir -p "$out"

locked=()
[[ -n "${CI:-}" || -n "${MFP_OAUTH_LOCKED:-}" ]] && locked=(--locked)
# An explicit crate type: listing staticlib in Cargo.toml would skip LTO.
( cd "$root" && cargo rustc -q -p mfp-oauth-c "${locked[@]}" --profile "$profile" \
    --target thumbv7em-none-eabihf --crate-type staticlib )
lib="$target_dir/thumbv7em-none-eabihf/$profile/libmfp_oauth.a"

cpu=(-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16)
cflags=("${cpu[@]}" -std=gnu11 -Os -g -Wall -Wextra -Werror -ffunction-sections -fdata-sections
  -I"$crate/include")
arm-none-eabi-gcc "${cflags[@]}" -c "$here/startup.c" -o "$out/startup.o"
arm-none-eabi-gcc "${cflags[@]}" -c "$here/main.c" -o "$out/main.o"
# libc and libgcc before the Rust archive: otherwise memcpy and friends come
# from Rust's compiler_builtins, inside the archive. The Rust code calls the ARM
# EABI names (__aeabi_memcpy, ...), which the C objects do not, so they are
# asked for up front (-u): newlib's, a few octets each around the memcpy,
# memmove and memset already linked, instead of the archive's own copies
# (3,196 B at opt-level s; R-MEM, issue 15).
aeabi=()
for f in memcpy memcpy4 memcpy8 memmove memmove4 memmove8 memset memset4 memset8 memclr memclr4 memclr8; do
  aeabi+=(-Wl,-u,__aeabi_$f)
done
stack=()
[[ -n "${FW_STACK:-}" ]] && stack=(-Wl,--defsym=__main_stack_size="$FW_STACK")
arm-none-eabi-gcc "${cpu[@]}" --specs=nano.specs --specs=rdimon.specs -nostartfiles \
  -T "$here/mps2-an386.ld" "${stack[@]}" "${aeabi[@]}" -Wl,--gc-sections -Wl,--no-warn-execstack -Wl,-Map="$out/fw.map" \
  "$out/startup.o" "$out/main.o" \
  -Wl,--start-group -lc_nano -lgcc -Wl,--end-group "$lib" -o "$out/fw.elf"

if [[ $run -eq 1 ]]; then
  rc=0
  timeout 60 qemu-system-arm -M mps2-an386 -nographic -monitor none -serial none \
    -semihosting-config enable=on,target=native -kernel "$out/fw.elf" >"$out/run.log" 2>&1 || rc=$?
  cat "$out/run.log"
  echo "firmware ($profile) under qemu mps2-an386: exit status $rc"
  exit "$rc"
fi
