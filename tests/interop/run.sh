#!/usr/bin/env bash
# Interop suite (issue 7): the product's real drivers against servers nobody
# on this team wrote, all on loopback, with a private CA made for this run.
#
#   bash tests/interop/run.sh [extra arguments for the test binary]
#   bash tests/interop/run.sh --serve    (servers only, until Ctrl-C)
#
# 1. Installs what is missing (Debian: dovecot-core, dovecot-submissiond,
#    postfix, nodejs, npm, openssl; npm ci for oidc-provider) and fails
#    loudly when something cannot be installed: never a silent skip.
# 2. Makes a private CA and a server certificate (localhost,
#    mail.interop.test, 127.0.0.1, 127.0.0.2, ::1; not a CA) with openssl.
# 3. Starts, each in its own session and process group, bound to 127.0.0.1
#    (and 127.0.0.2 where a test needs a non-loopback-looking peer) only:
#    - oidc-provider (tests/interop/provider.mjs), HTTPS issuer + HTTP
#      introspection listener;
#    - the delivery sink (tests/interop/sink.py);
#    - Dovecot submission (STARTTLS and implicit TLS, XOAUTH2/OAUTHBEARER,
#      oauth2 passdb by introspection), failure delays off;
#    - a second Dovecot with its normal failure delays (the slow case);
#    - Postfix submission (STARTTLS and implicit TLS) with Dovecot SASL.
# 4. Runs `cargo test -p mfp-oauth-tests --test interop -- --ignored`
#    (MFP_INTEROP_TEST names another test target of mfp-oauth-tests:
#    tests/embassy/run.sh runs `embassy_tap` on the same servers), then
#    the Linux C example (bindings-c/examples/linux/run-interop.sh).
# 5. Stops exactly the processes it started (their process groups, by the
#    ids it recorded), on success, failure or interruption.
#
# Ports: MFP_INTEROP_PORT_BASE (default 24500) + 1..32 and + 40; all must be free.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
run="$root/target/interop/run"
base="${MFP_INTEROP_PORT_BASE:-24500}"

say() { printf 'interop: %s\n' "$*"; }
die() { printf 'interop: FAILED: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- install
need_apt=()
command -v dovecot >/dev/null || need_apt+=(dovecot-core)
[ -x /usr/lib/dovecot/submission ] || need_apt+=(dovecot-submissiond)
command -v postfix >/dev/null || need_apt+=(postfix)
command -v node >/dev/null || need_apt+=(nodejs)
command -v npm >/dev/null || need_apt+=(npm)
command -v openssl >/dev/null || need_apt+=(openssl)
command -v python3 >/dev/null || need_apt+=(python3)
command -v ss >/dev/null || need_apt+=(iproute2)
command -v curl >/dev/null || need_apt+=(curl) # issue 11: flights beside curl
if [ ${#need_apt[@]} -gt 0 ]; then
    say "installing ${need_apt[*]}"
    # Packages must not start their system-wide daemons (they would listen
    # on every address): deny service starts while installing, unless the
    # machine already does.
    made_policy=no
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        made_policy=yes
    fi
    apt_ok=yes
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends "${need_apt[@]}"; } >"$root/target/interop-apt.log" 2>&1 || apt_ok=no
    [ "$made_policy" = yes ] && rm -f /usr/sbin/policy-rc.d
    [ "$apt_ok" = yes ] || { tail -20 "$root/target/interop-apt.log" >&2; die "apt-get install ${need_apt[*]}"; }
fi
for tool in dovecot postfix node npm openssl python3 ss curl; do
    command -v "$tool" >/dev/null || die "$tool is not installed"
done
[ -x /usr/lib/dovecot/submission ] || die "dovecot-submissiond is not installed"
if [ ! -f "$here/node_modules/oidc-provider/package.json" ] \
    || [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
    say "npm ci (oidc-provider)"
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci in tests/interop"
fi

# ---------------------------------------------------------------- ports
port() { echo $((base + $1)); }
P_HTTPS=$(port 1) P_HTTP=$(port 2) P_SINK=$(port 10)
P_DC_SUB=$(port 20) P_DC_SUBS=$(port 21) P_DC_AUTH=$(port 22)
P_SLOW_SUB=$(port 25)
P_PF_SUB=$(port 30) P_PF_SUBS=$(port 31)
# Issue 11 (flights): Postfix without PIPELINING and CHUNKING.
P_PF_LOCKSTEP=$(port 40)
for p in $P_HTTPS $P_HTTP $P_SINK $P_DC_SUB $P_DC_SUBS $P_DC_AUTH $P_SLOW_SUB $P_PF_SUB $P_PF_SUBS \
    $P_PF_LOCKSTEP; do
    if ss -Htln "sport = :$p" | grep -q .; then
        die "port $p is in use (set MFP_INTEROP_PORT_BASE to move the suite)"
    fi
done

# ---------------------------------------------------------------- stop
pgids=()
postfix_started=no
stop_all() {
    local status=$?
    set +e
    if [ "$postfix_started" = yes ]; then
        local master
        master=$(tr -dc 0-9 < "$run/postfix/spool/pid/master.pid" 2>/dev/null)
        postfix -c "$run/postfix/etc" stop >/dev/null 2>&1
        [ -n "$master" ] && pgids+=("$master")
    fi
    for g in "${pgids[@]}"; do kill -TERM -- "-$g" 2>/dev/null; done
    for _ in $(seq 50); do
        local alive=no
        for g in "${pgids[@]}"; do kill -0 -- "-$g" 2>/dev/null && alive=yes; done
        [ "$alive" = no ] && break
        sleep 0.1
    done
    for g in "${pgids[@]}"; do kill -KILL -- "-$g" 2>/dev/null; done
    sleep 0.1
    for g in "${pgids[@]}"; do
        if ps -eo pgid=,stat= | awk -v g="$g" '$1 == g && $2 !~ /^Z/' | grep -q .; then
            printf 'interop: FAILED: process group %s is still running\n' "$g" >&2
            status=1
        fi
    done
    [ ${#pgids[@]} -gt 0 ] && say "stopped process groups ${pgids[*]}"
    exit "$status"
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Start "$@" in a new session (its own process group), output to $log.
start() {
    local log=$1; shift
    setsid "$@" >"$log" 2>&1 </dev/null &
    pgids+=("$!")
}

wait_port() { # host port what
    for _ in $(seq 200); do
        if (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    die "$3 did not listen on $1:$2 (log in $run)"
}

# ---------------------------------------------------------------- files
rm -rf "$run"
mkdir -p "$run"/{pki,sink,dovecot,dovecot-slow,postfix/etc,postfix/spool,postfix/data}
chmod 755 "$run" "$run/pki"

pki="$run/pki"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=mfp-oauth interop CA $$" -keyout "$pki/ca.key" -out "$pki/ca.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
    -keyout "$pki/server.key" -out "$pki/server.csr" 2>/dev/null
cat > "$pki/server.ext" <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,DNS:mail.interop.test,IP:127.0.0.1,IP:127.0.0.2,IP:::1
EOF
openssl x509 -req -in "$pki/server.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" -CAcreateserial \
    -days 2 -extfile "$pki/server.ext" -out "$pki/server.pem" 2>/dev/null
chmod 644 "$pki/server.key" # read by Dovecot's and Postfix's unprivileged processes
secret=$(openssl rand -hex 16)
# The client secret of the app-only client `mfp-app-secret` (issue 18).
app_secret=$(openssl rand -hex 24)
short_ttl=3

cat > "$run/provider.json" <<EOF
{"https_port": $P_HTTPS, "http_port": $P_HTTP, "cert": "$pki/server.pem",
 "key": "$pki/server.key", "introspection_secret": "$secret", "short_ttl": $short_ttl,
 "app_secret": "$app_secret"}
EOF

# One Dovecot configuration; the slow instance differs in name, ports and
# the failure delays it keeps.
dovecot_conf() { # dir name sub_port subs_port auth_port fast
    local dir=$1
    mkdir -p "$dir/run" "$dir/state" "$dir/home"
    cat > "$dir/oauth2.conf.ext" <<EOF
introspection_mode = post
introspection_url = http://dovecot:$secret@127.0.0.1:$P_HTTP/token/introspection
force_introspection = yes
username_attribute = sub
active_attribute = active
active_value = true
scope = smtp
openid_configuration_url = https://127.0.0.1:$P_HTTPS/.well-known/openid-configuration
EOF
    cat > "$dir/dovecot.conf" <<EOF
instance_name = $2
base_dir = $dir/run
state_dir = $dir/state
log_path = $dir/dovecot.log
protocols = submission
listen = 127.0.0.1, 127.0.0.2
hostname = submission.interop.test
ssl = yes
ssl_cert = <$pki/server.pem
ssl_key = <$pki/server.key
ssl_dh = </usr/share/dovecot/dh.pem
auth_mechanisms = xoauth2 oauthbearer
auth_verbose = yes
mail_location = maildir:$dir/home/%u
passdb {
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = $dir/oauth2.conf.ext
}
userdb {
  driver = static
  args = uid=dovecot gid=dovecot home=$dir/home/%u allow_all_users=yes
}
first_valid_uid = $(id -u dovecot)
last_valid_uid = $(id -u dovecot)
submission_relay_host = 127.0.0.1
submission_relay_port = $P_SINK
submission_relay_trusted = no
service submission-login {
  inet_listener submission {
    port = $3
  }
  inet_listener submissions {
    port = $4
    ssl = yes
  }
}
EOF
    if [ "$6" = fast ]; then
        cat >> "$dir/dovecot.conf" <<EOF
auth_failure_delay = 0
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
service auth {
  inet_listener {
    address = 127.0.0.1
    port = $5
  }
}
EOF
    fi
}
dovecot_conf "$run/dovecot" mfp-interop "$P_DC_SUB" "$P_DC_SUBS" "$P_DC_AUTH" fast
# The slow instance's implicit-TLS listener is not used; it takes the next port.
dovecot_conf "$run/dovecot-slow" mfp-interop-slow "$P_SLOW_SUB" "$((P_SLOW_SUB + 1))" 0 slow

pf="$run/postfix"
cat > "$pf/etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $pf/spool
data_directory = $pf/data
mail_owner = postfix
setgid_group = postdrop
myhostname = relay.interop.test
mydomain = interop.test
myorigin = \$myhostname
mydestination =
local_transport = error:local delivery is off
alias_maps =
alias_database =
# Postfix checks inet_interfaces against the interfaces' own addresses;
# the 127.0.0.2 listener below is named explicitly in master.cf.
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.1/32
relayhost = [127.0.0.1]:$P_SINK
smtp_bind_address = 127.0.0.1
smtp_tls_security_level = none
smtpd_tls_cert_file = $pki/server.pem
smtpd_tls_key_file = $pki/server.key
smtpd_tls_security_level = encrypt
smtpd_tls_auth_only = yes
# No CHUNKING here: the printer then sends DATA with dot-stuffing (Dovecot
# offers CHUNKING, so BDAT is exercised there).
smtpd_discard_ehlo_keywords = chunking
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = inet:127.0.0.1:$P_DC_AUTH
smtpd_sasl_security_options = noanonymous
smtpd_relay_restrictions = permit_sasl_authenticated, reject
smtpd_recipient_restrictions = permit_sasl_authenticated, reject
message_size_limit = 52428800
maillog_file_prefixes = $pf
maillog_file = $pf/postfix.log
biff = no
EOF
cat > "$pf/etc/master.cf" <<EOF
127.0.0.1:$P_PF_SUB inet n - n - - smtpd
127.0.0.2:$P_PF_SUB inet n - n - - smtpd
127.0.0.1:$P_PF_SUBS inet n - n - - smtpd -o smtpd_tls_wrappermode=yes
127.0.0.2:$P_PF_LOCKSTEP inet n - n - - smtpd -o smtpd_discard_ehlo_keywords=pipelining,chunking
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
chown postfix "$pf/data"

# ---------------------------------------------------------------- start
say "starting servers in $run"
start "$run/provider.log" node "$here/provider.mjs" "$run/provider.json"
start "$run/sink.log" python3 "$here/sink.py" 127.0.0.1 "$P_SINK" "$run/sink/messages"
start "$run/dovecot/stdout.log" dovecot -F -c "$run/dovecot/dovecot.conf"
start "$run/dovecot-slow/stdout.log" dovecot -F -c "$run/dovecot-slow/dovecot.conf"
# Postfix writes its fatal errors only to a terminal: `postfix check` runs
# under script(1) first so that a bad configuration is reported here.
if ! script -qec "postfix -c $pf/etc check" /dev/null </dev/null >"$pf/check.log" 2>&1 \
    || grep -q fatal "$pf/check.log"; then
    cat "$pf/check.log" >&2
    die "postfix check"
fi
postfix_started=yes
# The master becomes its own session leader; stop_all stops it by its pid
# file (and `postfix stop` with this configuration).
start "$pf/start.log" postfix -c "$pf/etc" start-fg

wait_port 127.0.0.1 "$P_HTTPS" oidc-provider
wait_port 127.0.0.1 "$P_HTTP" oidc-provider
wait_port 127.0.0.1 "$P_SINK" sink
wait_port 127.0.0.2 "$P_DC_SUB" dovecot
wait_port 127.0.0.1 "$P_DC_SUBS" dovecot
wait_port 127.0.0.1 "$P_DC_AUTH" "dovecot auth"
wait_port 127.0.0.2 "$P_SLOW_SUB" "dovecot (slow)"
wait_port 127.0.0.2 "$P_PF_SUB" postfix
wait_port 127.0.0.1 "$P_PF_SUBS" postfix
wait_port 127.0.0.2 "$P_PF_LOCKSTEP" "postfix (no pipelining)"

pf_master=$(tr -dc 0-9 < "$pf/spool/pid/master.pid")
# Nothing of ours may listen anywhere but 127.0.0.1 / 127.0.0.2.
ours="$(IFS='|'; echo "${pgids[*]}")|$pf_master"
stray=$(ss -Htlnup | grep -E "pid=($ours)," | awk '{print $5}' \
    | grep -vE '^127\.0\.0\.[12]:' || true)
[ -z "$stray" ] || die "a server listens beyond loopback: $stray"

cat > "$run/servers.env" <<EOF
CA=$pki/ca.pem
ISSUER=https://127.0.0.1:$P_HTTPS
SHORT_TTL_S=$short_ttl
APP_SECRET=$app_secret
DOVECOT_SUBMISSION=$P_DC_SUB
DOVECOT_SUBMISSIONS=$P_DC_SUBS
DOVECOT_SLOW_SUBMISSION=$P_SLOW_SUB
POSTFIX_SUBMISSION=$P_PF_SUB
POSTFIX_SUBMISSIONS=$P_PF_SUBS
POSTFIX_LOCKSTEP_SUBMISSION=$P_PF_LOCKSTEP
SINK_DIR=$run/sink/messages
LOGS=$run
EOF
say "servers up after ${SECONDS}s"

cd "$root"
if [ "${1:-}" = --serve ]; then
    # For a developer: keep the servers up until interrupted.
    say "serving; MFP_INTEROP_ENV=$run/servers.env; Ctrl-C stops them"
    while true; do sleep 3600 & wait $!; done
fi
status=0
# `run.sh c-linux` runs only the C example below.
if [ "${1:-}" != c-linux ]; then
    MFP_INTEROP_ENV="$run/servers.env" cargo test -p mfp-oauth-tests --test "${MFP_INTEROP_TEST:-interop}" --locked \
        -- --ignored --test-threads=2 "$@" || status=$?
fi
# The embassy board driver's rustls option (issue 20): the same servers, the
# tests named rustls_ of the TAP run, built with the feature embassy-rustls.
# Run in the whole TAP run (no filters) and by `tests/embassy/run.sh rustls_...`.
if [ "${MFP_INTEROP_TEST:-interop}" = embassy_tap ] && { [ $# -eq 0 ] || [[ "$1" == rustls_* ]]; }; then
    [ $# -eq 0 ] && set -- rustls_
    MFP_INTEROP_ENV="$run/servers.env" cargo test -p mfp-oauth-tests --test embassy_tap \
        --features embassy-rustls --locked -- --ignored --test-threads=2 "$@" || status=$?
fi
# The Linux C example (bindings-c/examples/linux, issue 16): the C API with
# OpenSSL and files as flash, built with ASan and UBSan, against the same
# oidc-provider and Dovecot; it ends with "c-linux: N passed, M failed".
# Run in the whole suite (no filters) and by `run.sh c-linux`.
if [ "${MFP_INTEROP_TEST:-interop}" = interop ] && { [ $# -eq 0 ] || [ "$1" = c-linux ]; }; then
    bash "$root/bindings-c/examples/linux/run-interop.sh" "$run/servers.env" || status=1
fi
if [ -f "$run/replies.txt" ]; then
    say "server replies seen:"
    sed 's/^/    /' "$run/replies.txt"
fi
exit "$status"
