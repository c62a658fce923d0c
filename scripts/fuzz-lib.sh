# Shared by scripts/fuzz-smoke.sh (CI) and scripts/fuzz-long.sh (before a
# release): the targets, their dictionaries, the toolchain. Sourced.

# Every target of core/fuzz/Cargo.toml, parsers first, then sessions.
FUZZ_TARGETS=(smtp_reply sasl_challenge oauth_http oauth_json nv_load mime_compose oauth_redirect oauth_client smtp_client mailer_session app_assertion api_answer graph_upload)

# The dictionary option of target $1: the dictionaries of the protocols its
# input speaks, concatenated into $2 (libFuzzer takes one -dict). Prints
# `-dict=$2`, or nothing for a target without one.
fuzz_dict() {
  local target="$1" out="$2" dicts=()
  case "$target" in
    smtp_reply | smtp_client) dicts=(smtp json) ;;
    sasl_challenge | oauth_json) dicts=(json) ;;
    oauth_http | oauth_client | oauth_redirect | app_assertion) dicts=(http json) ;;
    api_answer | graph_upload) dicts=(http json api) ;;
    mailer_session) dicts=(smtp http json) ;;
    nv_load | mime_compose) dicts=() ;;
  esac
  mkdir -p "$(dirname "$out")"
  : > "$out"
  for d in "${dicts[@]}"; do cat "core/fuzz/$d.dict" >> "$out"; done
  if [[ -s "$out" ]]; then echo "-dict=$out"; fi
}

# The nightly toolchain and cargo-fuzz, installed when missing.
fuzz_toolchain() {
  if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    rustup toolchain install nightly --profile minimal
  fi
  command -v cargo-fuzz >/dev/null 2>&1 || cargo install --locked cargo-fuzz
}
