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
for target in smtp_client smtp_reply oauth_http oauth_json oauth_client nv_load; do
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
# OAuth seeds: token-endpoint answers as Microsoft and Google send them.
ms_token='{"token_type":"Bearer","scope":"https://outlook.office.com/SMTP.Send","expires_in":3599,"ext_expires_in":3599,"access_token":"EwBAAl3BAAUF","refresh_token":"0.AAA"}'
g_device='{"device_code":"4/4-GMM","user_code":"GQVQ-JKEC","verification_url":"https:\/\/www.google.com\/device","expires_in":1800,"interval":5}'
ms_error='{"error":"invalid_grant","error_description":"AADSTS700082: expired.","error_codes":[700082]}'
i=0
for body in "$ms_token" "$g_device" "$ms_error"; do
  i=$((i + 1))
  printf '%s' "$body" > "$corpus/oauth_json/seed-$i"
  printf '\x07HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s' "${#body}" "$body" > "$corpus/oauth_http/length-$i"
  printf '\x03HTTP/1.1 400 X\r\nTransfer-Encoding: chunked\r\n\r\n%x;e=1\r\n%s\r\n0\r\nT: 1\r\n\r\n' "${#body}" "$body" > "$corpus/oauth_http/chunked-$i"
  printf '\x10\xffHTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s' "${#body}" "$body" > "$corpus/oauth_client/seed-$i"
done
cd core
for target in smtp_client smtp_reply oauth_http oauth_json oauth_client nv_load; do
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
