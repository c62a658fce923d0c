#!/usr/bin/env bash
# Seed corpora for every core fuzz target from the test vectors: the SMTP
# transcripts (tests/transcripts), the provider answers of PROVIDERS.md
# (Microsoft, Google, RFC 6749 / 8628 / 7628) and the PKCE redirect.
# Usage: bash scripts/fuzz-seed.sh CORPUS_DIR  (one sub-directory per target)
set -euo pipefail
export LC_ALL=C # lengths in octets
cd "$(dirname "$0")/.."
corpus="$1"
targets=(smtp_client smtp_reply sasl_challenge oauth_http oauth_json oauth_client oauth_redirect nv_load mime_compose mailer_session app_assertion api_answer graph_upload)
for target in "${targets[@]}"; do
  mkdir -p "$corpus/$target"
done

# The server's side of a transcript, with CRLF line ends.
server_lines() { sed -n 's/^S: \{0,1\}//p' "$1" | sed 's/$/\r/'; }
# One byte given as a number.
byte() { printf "\\x$(printf %02x "$1")"; }
# A token-endpoint answer as the session targets read it: a length byte
# (times 4), then the answer padded with spaces to a multiple of 4. The
# answer is the output of the command given (trailing CRLFs kept).
answer() {
  local text pad
  text="$("$@"; printf x)"
  text=${text%x}
  pad=$(((4 - ${#text} % 4) % 4))
  byte $(((${#text} + pad) / 4))
  printf '%s%*s' "$text" "$pad" ''
}
http_length() { printf 'HTTP/1.1 %s\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: %d\r\n\r\n%s' "$1" "${#2}" "$2"; }
http_chunked() { printf 'HTTP/1.1 %s\r\nTransfer-Encoding: chunked\r\n\r\n%x;e=1\r\n%s\r\n0\r\nT: 1\r\n\r\n' "$1" "${#2}" "$2"; }

# SMTP: one seed per transcript (the whole-client seeds start with a flags
# byte and a cut byte).
for t in tests/transcripts/*.txt; do
  name=$(basename "$t" .txt)
  for flags in 0 1; do
    { byte $flags; byte 5; server_lines "$t"; } > "$corpus/smtp_client/$name-$flags"
  done
  server_lines "$t" > "$corpus/smtp_reply/$name"
  # The mailer: StartTLS, valid token (flags 0) and implicit TLS (flags 1).
  { byte 0; server_lines "$t"; } > "$corpus/mailer_session/$name-0"
  { byte 1; server_lines "$t"; } > "$corpus/mailer_session/$name-1"
done

# 334 error challenges: the JSON the server encodes (PROVIDERS.md §1,
# RFC 7628 §3.2.2), and the base64 text as sent.
printf '{"status":"401","schemes":"bearer mac","scope":"https://mail.google.com/"}\n' > "$corpus/sasl_challenge/google"
printf '{"status":"invalid_token","scope":"example_scope","openid-configuration":"https://example.com/.well-known/openid-configuration"}' > "$corpus/sasl_challenge/rfc7628"
printf '{"status":"insufficient_scope"}' > "$corpus/sasl_challenge/scope"
printf 'eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIG1hYyIsInNjb3BlIjoiaHR0cHM6Ly9tYWlsLmdvb2dsZS5jb20vIn0K' > "$corpus/sasl_challenge/google-b64"

# Token-endpoint bodies as Microsoft, Google and the RFCs send them.
bodies=(
  '{"token_type":"Bearer","scope":"https://outlook.office.com/SMTP.Send","expires_in":3599,"ext_expires_in":3599,"access_token":"EwBAAl3BAAUF","refresh_token":"0.AAA"}'
  '{"access_token":"ya29.a0AfH6","expires_in":3599,"refresh_token":"1//0g","scope":"https://mail.google.com/","token_type":"Bearer"}'
  '{"access_token":"2YotnFZFEjr1zCsicMWpAA","token_type":"example","expires_in":3600,"refresh_token":"tGzv3JOkF0XG5Qx2TlKWIA","example_parameter":"example_value"}'
  '{"device_code":"GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS","user_code":"WDJB-MJHT","verification_uri":"https://example.com/device","verification_uri_complete":"https://example.com/device?user_code=WDJB-MJHT","expires_in":1800,"interval":5}'
  '{"user_code":"FJ4BWKQ8N","device_code":"DAQABAAEAAAD","verification_uri":"https://microsoft.com/devicelogin","expires_in":900,"interval":5,"message":"To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code FJ4BWKQ8N to authenticate."}'
  '{"device_code":"4/4-GMM","user_code":"GQVQ-JKEC","verification_url":"https:\/\/www.google.com\/device","expires_in":1800,"interval":5}'
  '{"error":"invalid_grant","error_description":"AADSTS700082: The refresh token has expired due to inactivity.","error_codes":[700082],"timestamp":"2026-11-24 10:00:00Z","trace_id":"0","correlation_id":"0"}'
  '{"error":"authorization_pending","error_description":"AADSTS70016: OAuth 2.0 device flow error.","error_codes":[70016]}'
  '{"error":"slow_down"}'
  '{"error":"access_denied","error_description":"Forbidden"}'
  '{"error_code":"rate_limit_exceeded"}'
  '{"error":"invalid_scope","error_description":"Invalid device flow scope: https://www.googleapis.com/auth/gmail.readonly"}'
)
statuses=("200 OK" "200 OK" "200 OK" "200 OK" "200 OK" "200 OK" "400 Bad Request" "400 Bad Request" "403 Forbidden" "403 Forbidden" "403 Forbidden" "400 Bad Request")
for i in "${!bodies[@]}"; do
  body=${bodies[$i]}
  status=${statuses[$i]}
  printf '%s' "$body" > "$corpus/oauth_json/body-$i"
  { printf '\x07'; http_length "$status" "$body"; } > "$corpus/oauth_http/length-$i"
  { printf '\x03'; http_chunked "$status" "$body"; } > "$corpus/oauth_http/chunked-$i"
  # The refresh grant (flags odd) answered once.
  { printf '\x11'; answer http_length "$status" "$body"; } > "$corpus/oauth_client/refresh-$i"
  { printf '\x13'; answer http_chunked "$status" "$body"; } > "$corpus/oauth_client/refresh-chunked-$i"
done
printf 'code=M.C507_BAY.2.U&state=abc&session_state=x%%2By' > "$corpus/oauth_json/form"
# The device flow: authorization, one pending poll, then the tokens.
{ printf '\x10'; answer http_length "200 OK" "${bodies[4]}"; answer http_length "400 Bad Request" "${bodies[7]}"; answer http_length "200 OK" "${bodies[0]}"; } > "$corpus/oauth_client/device-ms"
{ printf '\x20'; answer http_length "200 OK" "${bodies[3]}"; answer http_length "403 Forbidden" "${bodies[8]}"; answer http_chunked "200 OK" "${bodies[2]}"; } > "$corpus/oauth_client/device-rfc"
# Through a proxy: the CONNECT reply and the loopback request parsers.
printf '\x01HTTP/1.1 200 Connection established\r\n\r\n' > "$corpus/oauth_http/connect"
printf '\x01HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="p"\r\nContent-Length: 0\r\n\r\n' > "$corpus/oauth_http/connect-407"
printf '\x01GET /cb?code=M.C507&state=abc HTTP/1.1\r\nHost: 127.0.0.1:8400\r\n\r\n' > "$corpus/oauth_http/redirect"

# The PKCE redirect (STATE stands for the flow's state), then the exchange.
{ printf '\x10GET /cb?code=M.C507_BAY.2.U.6f1e&state=STATE HTTP/1.1\r\nHost: 127.0.0.1:8400\r\n\r\n\n'; answer http_length "200 OK" "${bodies[1]}"; } > "$corpus/oauth_redirect/listener"
{ printf '\x21/cb?state=STATE&code=4%%2F0AX4XfWh&scope=https%%3A%%2F%%2Fmail.google.com%%2F\n'; answer http_chunked "200 OK" "${bodies[1]}"; } > "$corpus/oauth_redirect/google"
printf '\x02/cb?error=access_denied&error_description=The+user+declined&state=STATE\n' > "$corpus/oauth_redirect/declined"
printf '\x03/cb?code=x&state=forged\n' > "$corpus/oauth_redirect/forged"

# The mailer with an expired access token: the refresh first, then the
# session (rotation, then Microsoft's submission transcript).
{ byte 2; answer http_length "200 OK" "${bodies[0]}"; server_lines tests/transcripts/starttls_pipelined.txt; } > "$corpus/mailer_session/refresh-then-send"
{ byte 2; answer http_length "400 Bad Request" "${bodies[6]}"; } > "$corpus/mailer_session/invalid-grant"
{ byte 0; server_lines tests/transcripts/smtp_auth_disabled.txt; } > "$corpus/mailer_session/auth-disabled"

# The composer: honest messages (a text and two files, one with a
# non-ASCII name), then the same with the first file one octet short and
# one octet long. Fields: output and input chunk, lie, To count, file
# count, each file's length (two factors), then length-prefixed strings
# (From, To…, subject, text flag and text, names, content types) and the
# 12 random octets.
field() { byte "${#1}"; printf '%s' "$1"; }
mime_seed() {
  byte 7; byte 50; byte "$1"; byte 1; byte 2; byte 200; byte 3; byte 17; byte 0
  field scanner@contoso.com; field someone@fabrikam.example; field "Scan $(printf '\xc3\xa9')t$(printf '\xc3\xa9')"
  byte 1; field "Scanned on the printer."
  field scan.pdf; field "re$(printf '\xc3\xa7')u.jpg"; byte 0; byte 0
  printf 'randomoctets'
}
mime_seed 0 > "$corpus/mime_compose/two-files"
mime_seed 1 > "$corpus/mime_compose/file-short"
mime_seed 2 > "$corpus/mime_compose/file-long"

# The persistence image: empty slots and a bare prefix.
printf '' > "$corpus/nv_load/empty"
printf '\x00MFPO' > "$corpus/nv_load/magic"

# App-only assertions: flags, then thumbprint text, service account,
# mailbox, key id and signature separated by 0xFF, then the token answers.
ff() { printf '\xff'; }
app_seed() {
  byte "$1"
  printf '5A:0B:6D:3E:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:12:34:56:78:9A:BC:DE:F0:0F:1E:2D:3C'; ff
  printf 'mfp-sender@contoso-mfp.iam.gserviceaccount.com'; ff
  printf 'scanner@contoso.com'; ff
  printf 'k1'; ff
  head -c 256 /dev/zero | tr '\0' 'Z'; ff
  answer http_length '200 OK' '{"token_type":"Bearer","expires_in":3599,"access_token":"eyJ0.app"}'
}
app_seed 0 > "$corpus/app_assertion/certificate"
app_seed 7 > "$corpus/app_assertion/service-account"

# A mail API request (R-XPORT): flags (1 Gmail, 2 app-only mailbox, 0x80
# Retry-After), the size, the transmit buffer, the error parser's split,
# the number of steps, the steps, then the server's answer. Steps: 0x0B the
# next deadline, 0x54 0x40 110 body octets into 64, 0xFC 0x64 341 into 100,
# 0x05 the body's end, 0xC0 25 octets of the answer, 0x02 all of it, 0x07 quit.
api_seed() { local f="$1" size="$2" out="$3" steps="$4"; byte "$f"; byte "$size"; byte "$out"; byte 128; byte $((${#steps} / 4)); printf "$steps"; }
graph_error='{"error":{"code":"ErrorSendAsDenied","message":"The user account which was used to submit this request does not have the right to send mail on behalf of the specified sending account.","innerError":{"date":"2026-12-07T03:00:00","request-id":"8a2c","client-request-id":"8a2c"}}}'
graph_401='{"error":{"code":"InvalidAuthenticationToken","message":"Access token has expired or is not yet valid.","innerError":{"date":"2026-12-07T03:00:00","request-id":"r"}}}'
google_429='{"error":{"code":429,"message":"User-rate limit exceeded.","errors":[{"message":"User-rate limit exceeded.","domain":"usageLimits","reason":"userRateLimitExceeded"}],"status":"RESOURCE_EXHAUSTED"}}'
google_403='{"error":{"code":403,"message":"Request had insufficient authentication scopes.","errors":[{"message":"Insufficient Permission","domain":"global","reason":"insufficientPermissions"}],"status":"PERMISSION_DENIED","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"ACCESS_TOKEN_SCOPE_INSUFFICIENT"}]}}'
gmail_sent='{"id":"18c1f0a2b3c4d5e6","threadId":"18c1f0a2b3c4d5e6","labelIds":["SENT"]}'
{ api_seed 0 100 64 '\x0b\x54\x40\x05'; http_length "202 Accepted" ""; } > "$corpus/api_answer/graph-202"
{ api_seed 0 200 48 '\xc0\xfc\x64\x05\x02\x07'; printf 'HTTP/1.1 100 Continue\r\n\r\n'; http_length "202 Accepted" ""; } > "$corpus/api_answer/graph-continue-202"
{ api_seed 2 50 255 ''; http_length "403 Forbidden" "$graph_error"; } > "$corpus/api_answer/graph-403"
{ api_seed 0 50 7 ''; http_length "401 Unauthorized" "$graph_401"; } > "$corpus/api_answer/graph-401"
{ api_seed 1 10 32 ''; printf 'HTTP/1.1 429 Too Many Requests\r\nRetry-After: 30\r\nContent-Type: application/json; charset=UTF-8\r\nContent-Length: %d\r\n\r\n%s' "${#google_429}" "$google_429"; } > "$corpus/api_answer/gmail-429"
{ api_seed 1 77 16 '\x0b\x54\x40\x05'; http_chunked "200 OK" "$gmail_sent"; } > "$corpus/api_answer/gmail-chunked-200"
{ api_seed $((0x81)) 77 200 '\x0b\xc0\x54\x40\x05'; printf 'HTTP/1.1 100 Continue\r\n\r\n'; http_chunked "200 OK" "$gmail_sent"; } > "$corpus/api_answer/gmail-retry-after-200"
# The resumable upload (0x41: Gmail over 5 MB, 5,242,891 octets): the
# start's 200 with the session URI, a 308 saying 5,242,851 octets are in,
# 100 Continue, the last 40 octets (0x0A: up to the next blank line; 0xFC
# 0xFF: the message from its first octet, the part the server has skipped).
location='https://gmail.googleapis.com/upload/gmail/v1/users/me/messages/send?uploadType=resumable&upload_id=ADPycdvQ2x'
{ api_seed $((0x41)) 10 200 '\x0a\x0a\x0a\xfc\xff\x05\x02'; printf 'HTTP/1.1 200 OK\r\nLocation: %s\r\nContent-Length: 0\r\n\r\n' "$location"; printf 'HTTP/1.1 308 Resume Incomplete\r\nRange: bytes=0-5242850\r\nContent-Length: 0\r\n\r\n'; printf 'HTTP/1.1 100 Continue\r\n\r\n'; http_chunked "200 OK" "$gmail_sent"; } > "$corpus/api_answer/gmail-resumable"
# Bare error bodies, for the error parser.
{ api_seed 0 0 64 ''; printf '%s' "$graph_error"; } > "$corpus/api_answer/graph-error-body"
{ api_seed 1 0 64 ''; printf '%s' "$google_403"; } > "$corpus/api_answer/google-error-body"

# Graph's path over one sendMail request (R-XPORT): flags (1: the 3.2 MiB
# file, through an upload session), the transmit buffer (times 4), then the
# steps: 04 FF 00 00 00 a whole pass of the message with finish_body, 02
# `100 Continue`, 00 00 00 the natural answer to the request on the wire
# (then its choices: 00 the usual id, URL, ranges), 09 the driver's new
# connection, 06 the close, 08 quit.
pass='\x04\xff\x00\x00\x00'
printf "\x00\xff${pass}\x02${pass}\x00\x00\x00\x00\x02${pass}\x00\x00\x00\x00\x00\x00\x08" > "$corpus/graph_upload/attach"
printf "\x01\xff${pass}\x02${pass}\x00\x00\x00\x00\x00\x00\x00\x00\x00\x09\x02${pass}\x00\x00\x00\x09\x00\x00\x00\x08" > "$corpus/graph_upload/upload-session"
# The chunk cut halfway (pieces of 7 octets in a window, output of 95),
# the close, a new connection asking what the server has (GET), the rest.
printf "\x01\x40${pass}\x02${pass}\x00\x00\x00\x00\x00\x00\x00\x00\x00\x09\x02\x04\x80\x07\x80\x40\x06\x09\x00\x00\x00\x40\x00\x02${pass}\x00\x00\x00\x09\x00\x00\x00\x08" > "$corpus/graph_upload/chunk-cut"
