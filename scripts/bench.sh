#!/usr/bin/env bash
# Benchmarks against the peers (issue 8): lettre, curl, serde_json, measured
# side by side on this machine in one run. Prints one table and writes
# BENCHMARKS.md (date, machine, this command). Not part of the test suite:
# nothing here asserts a figure. A few minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."

need() { command -v "$1" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "$2" >/dev/null; }; }
need valgrind valgrind
need curl curl

echo "=== build (release)" >&2
cargo build --release --locked -p mfp-oauth-benches --bins
echo "=== criterion: wall time of the in-memory cases" >&2
mkdir -p target/bench
cargo bench --locked -p mfp-oauth-benches --bench wall -- --noplot >target/bench/criterion.log 2>&1 \
  || { cat target/bench/criterion.log >&2; exit 1; }
grep -E '^[a-z0-9-]+/|time:|thrpt:' target/bench/criterion.log >&2 || true
echo "=== callgrind, loopback transfers, round trips, allocations" >&2
target/release/bench-report

# ---------------------------------------------------------------- issue 11
# Against real servers, in this same run: the interop suite's Dovecot
# (PIPELINING, CHUNKING) and oidc-provider, started here and stopped after.
# Client flights (the flight-counting relay of tests/src/relay.rs) for
# mfp-oauth, curl and lettre; peak RSS (`/usr/bin/time -v`) and upload time
# of a scan-to-email job with a 20 MiB attachment, each client building
# the MIME message itself from the file: the mfp-oauth CLI (`send`, which
# also runs a refresh grant first), curl (`-F … encoder=base64`) and
# lettre (benches/src/bin/lettre-send.rs, its message builder), STARTTLS,
# three recipients. Appended to BENCHMARKS.md.
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
echo "=== real servers: build" >&2
cargo build --release --locked -p mfp-oauth-host --bin mfp-oauth -p mfp-oauth-benches --bin lettre-send
serve_log=target/bench/interop-serve.log
serve_pid=
stop_servers() {
    [ -n "$serve_pid" ] || return 0
    kill -TERM -- "-$serve_pid" 2>/dev/null || true
    wait "$serve_pid" 2>/dev/null || true
    serve_pid=
}
trap stop_servers EXIT
# The suite's ports may be taken for a while by another run of it on this
# machine: try again for up to five minutes.
for attempt in $(seq 10); do
    setsid bash tests/interop/run.sh --serve >"$serve_log" 2>&1 &
    serve_pid=$!
    for _ in $(seq 1200); do
        grep -q '^interop: serving' "$serve_log" && break
        kill -0 "$serve_pid" 2>/dev/null || break
        sleep 0.5
    done
    grep -q '^interop: serving' "$serve_log" && break
    wait "$serve_pid" 2>/dev/null || true
    serve_pid=
    grep -q 'is in use' "$serve_log" || { cat "$serve_log" >&2; echo "bench: servers did not start" >&2; exit 1; }
    echo "bench: interop ports busy (attempt $attempt), waiting 30 s" >&2
    sleep 30
done
grep -q '^interop: serving' "$serve_log" || { echo "bench: servers did not start in time" >&2; exit 1; }
env_file="$PWD/target/interop/run/servers.env"
# shellcheck disable=SC1090
. "$env_file"
echo "=== real servers: flights (interop tests flights::*)" >&2
rm -f "$LOGS/flights.txt"
MFP_INTEROP_ENV="$env_file" cargo test --locked -p mfp-oauth-tests --test interop \
    -- --ignored --test-threads=1 flights:: >target/bench/flights-tests.log 2>&1 \
    || { cat target/bench/flights-tests.log >&2; exit 1; }

echo "=== real servers: 20 MiB scan, peak RSS and upload time (3 runs each)" >&2
store="$LOGS/scratch/printer-stream"
token_file="$store/bench-access-token"
scan=target/bench/scan-20MiB.pdf
head -c $((20 * 1024 * 1024)) /dev/urandom >"$scan"
from=admin@contoso.test
rcpts=(scan-inbox@example.test archive@example.test boss@example.test)
measure() { # label command...
    local label=$1; shift
    local out=target/bench/time-$label.txt
    if ! /usr/bin/time -v -o "$out" "$@" >target/bench/out-$label.txt 2>&1; then
        cat target/bench/out-$label.txt "$out" >&2
        echo "bench: $label failed" >&2
        exit 1
    fi
    local rss wall
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$out")
    wall=$(awk '/Elapsed \(wall clock\)/ {print $NF}' "$out" | awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }')
    echo "$label $rss $wall" >>target/bench/rss.txt
}
rm -f target/bench/rss.txt
ours_cmd=(target/release/mfp-oauth --store "$store" --ca-file "$CA" send --function scan-to-email)
for r in "${rcpts[@]}"; do ours_cmd+=(--to "$r"); done
ours_cmd+=("$scan")
curl_cmd=(curl --silent --show-error --url "smtp://127.0.0.2:$DOVECOT_SUBMISSION/printer.bench.test"
    --ssl-reqd --cacert "$CA" --mail-from "$from" --user "$from:" --oauth2-bearer "$(cat "$token_file")"
    -H "Subject: Scan from MFP" -H "From: <$from>" -H "To: <${rcpts[0]}>, <${rcpts[1]}>, <${rcpts[2]}>"
    -F "=Scanned document attached.;type=text/plain" -F "=@$scan;type=application/pdf;encoder=base64")
for r in "${rcpts[@]}"; do curl_cmd+=(--mail-rcpt "$r"); done
lettre_cmd=(target/release/lettre-send 127.0.0.2 "$DOVECOT_SUBMISSION" "$CA" "$token_file" "$from"
    "$(IFS=,; echo "${rcpts[*]}")" "$scan")
for _ in 1 2 3; do
    measure mfp-oauth "${ours_cmd[@]}"
    measure curl "${curl_cmd[@]}"
    measure lettre "${lettre_cmd[@]}"
done
stop_servers
trap - EXIT

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
{
    echo
    echo "## Against real servers (issue 11)"
    echo
    echo "Same run, same servers: the interop suite's Dovecot 2.3 submission (PIPELINING, CHUNKING; it relays to the suite's sink and answers the final \`250\` once the sink has stored the message) and oidc-provider, on loopback, started by \`tests/interop/run.sh --serve\` and stopped after. curl $(curl --version | head -1 | cut -d' ' -f2), lettre 0.11 (blocking transport, rustls)."
    echo
    echo "### Client flights, one message to three recipients, connect to the final 250"
    echo
    echo "| client | path | token | flights | note |"
    echo "|---|---|---|---:|---|"
    sort -t'|' -k1,1 -k2,2 -k3,3 "$LOGS/flights.txt" | awk -F'|' '{ n = ($4 == 0 ? "—" : $4); printf "| %s | %s | %s | %s | %s |\n", $1, $2, $3, n, $5 }'
    echo
    echo "- A flight is a maximal run of client octets with no server octets delivered to the client in between (\`tests/src/relay.rs\`: a relay between client and server that holds the server's octets until the client has been quiet for 50 ms and is not held back by the server, so the count depends only on what the client waits for). Counted to the final \`250\`: the flights that started before the sink stored the message."
    echo "- \"plain\": AUTH in the clear, which Dovecot allows from 127.0.0.1 to itself; curl and lettre send the token there, the product never sends a token without TLS, so its plain-path figure is the SMTP flights over implicit TLS (the relay's count minus the 2 client flights of the TLS 1.3 handshake: ClientHello; Finished). Protocol minimum: EHLO | AUTH with the initial response | MAIL + 3 RCPT + BDAT chunks = 3; a 2,500-octet token does not fit the 512-octet AUTH line (RFC 4954 §4), AUTH, \`334\`, response: 4."
    echo "- STARTTLS: EHLO | STARTTLS | ClientHello | Finished and the new EHLO in one TCP write | AUTH | transaction = 6 (7 with the long token)."
    echo "- lettre sends the 3.4 KB AUTH line with a 2,500-octet token; Dovecot answers \`500 5.5.2 Line too long\` and the message is not sent (\"—\")."
    echo
    echo "### 20 MiB attachment, three recipients, STARTTLS: peak RSS and upload time (median of 3)"
    echo
    echo "| client | peak RSS | wall time | RSS / ours |"
    echo "|---|---:|---:|---:|"
    ours_rss=$(awk '$1 == "mfp-oauth" {print $2}' target/bench/rss.txt | median)
    for c in mfp-oauth curl lettre; do
        rss=$(awk -v c=$c '$1 == c {print $2}' target/bench/rss.txt | median)
        wall=$(awk -v c=$c '$1 == c {print $3}' target/bench/rss.txt | median)
        awk -v c=$c -v r="$rss" -v w="$wall" -v o="$ours_rss" 'BEGIN { printf "| %s | %.1f MiB | %.2f s | %.2f× |\n", c, r / 1024, w, r / o }'
    done
    echo
    echo "- Each client builds the MIME message itself from the 20 MiB file: \`mfp-oauth send\` (streams it, base64 on the fly through one fixed buffer; its time includes the refresh grant at oidc-provider that a job starts with), curl with \`-F '=@scan.pdf;encoder=base64'\` (streams too), lettre's message builder (the whole message in memory). \`/usr/bin/time -v\`: maximum resident set size and elapsed wall time of the whole process. The times are the whole chain's (Dovecot hands the message to the suite's Python sink, which reads it line by line, before its \`250\`) on a shared 2-core machine (load average in the header): they move from run to run, the peak RSS does not."
} >>BENCHMARKS.md
echo "bench: real-server figures appended to BENCHMARKS.md" >&2
