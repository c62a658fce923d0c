#!/usr/bin/env python3
"""Runs the Linux C example (mfp-printer) against the interop suite's real
servers: oidc-provider and Dovecot submission, as tests/interop/run.sh
started them. Standard library only.

    interop.py SERVERS_ENV MFP_PRINTER WORK_DIR

1. `mfp-printer signin`: first start (both slot files absent: the mailer is
   created), device flow; this script plays the administrator on the
   provider's own pages (enter the code the printer printed, sign in,
   consent), as tests/tests/interop/browser.rs does; the refresh token is
   sealed into the slot files.
2. Power cycle: `mfp-printer send` is a new process that loads the mailer
   from the slot files, refreshes (no access token survives), and sends a
   scan (a 200 KB file) to three recipients over STARTTLS at Dovecot; the
   sink refuses one (`refused-...`). The sink's copy must be the message
   the library composed, octet for octet after the servers' Received
   fields, and its attachment must decode to the file, byte-identical.
3. Error path: a job with another From than the administrator's address is
   refused before the network (E209, its text printed); nothing delivered.
4. Power-on with another device key: E507, nothing created or saved, both
   slot files unchanged; with the right key the token is still there.
5. A printer trusting only the public roots: the provider's certificate is
   refused (E609) and the sign-in ends, no code shown.

Ends with "c-linux: N passed, M failed"; exits 1 if anything failed.
"""

import email
import email.policy
import http.cookiejar
import os
import random
import re
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request

ADMIN = "c-printer@contoso.test"
CLIENT_ID = "mfp-printer"

passed = 0
failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
        print(f"c-linux: ok   {what}")
    else:
        failed += 1
        print(f"c-linux: FAIL {what}")
    return cond


def read_env(path):
    env = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                env[k] = v
    return env


class Browser:
    """The administrator's browser on oidc-provider's devInteractions pages."""

    def __init__(self, ca):
        ctx = ssl.create_default_context(cafile=ca)
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPSHandler(context=ctx),
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
        )

    def open(self, url, form=None):
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        with self.opener.open(url, data=data, timeout=30) as r:
            return r.geturl(), r.read().decode("utf-8", "replace")


def input_value(html, name):
    m = re.search(r'<input[^>]*name="%s"[^>]*>' % re.escape(name), html)
    if not m:
        return None
    v = re.search(r'value="([^"]*)"', m.group(0))
    return v.group(1) if v else None


def form_action(html, base):
    m = re.search(r'<form[^>]*action="([^"]*)"', html)
    return urllib.parse.urljoin(base, m.group(1).replace("&amp;", "&")) if m else None


def approve_device_code(ca, issuer, user_code, login):
    """Enter the code, confirm, sign in as `login`, consent. Returns the last page."""
    b = Browser(ca)
    device = f"{issuer}/device"
    _, page = b.open(f"{device}?user_code={urllib.parse.quote(user_code)}")
    xsrf = input_value(page, "xsrf")
    _, page = b.open(device, {"xsrf": xsrf, "user_code": user_code})
    xsrf = input_value(page, "xsrf")
    url, page = b.open(device, {"xsrf": xsrf, "user_code": user_code, "confirm": "yes"})
    for _ in range(6):
        prompt = input_value(page, "prompt")
        if prompt == "login":
            url, page = b.open(form_action(page, url),
                               {"prompt": "login", "login": login, "password": "any"})
        elif prompt == "consent":
            url, page = b.open(form_action(page, url), {"prompt": "consent"})
        else:
            return page
    return page


def run(cmd, env, on_line=None, limit_s=90):
    """Runs the printer, echoing its output; returns (status, output). A run
    past `limit_s` (a printer left polling for a code nobody approves) is
    killed and fails."""
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True, encoding="utf-8", errors="replace")
    watchdog = threading.Timer(limit_s, p.kill)
    watchdog.start()
    out = []
    try:
        for line in p.stdout:
            sys.stdout.write("  | " + line)
            out.append(line)
            if on_line:
                on_line(line)
    finally:
        watchdog.cancel()
    rc = p.wait()
    if rc < 0:
        print(f"c-linux: mfp-printer {cmd[5]} killed after {limit_s} s")
    return rc, "".join(out)


def delivered(sink_dir, marker, patience):
    deadline = time.monotonic() + patience
    needle = marker.encode()
    while True:
        for name in sorted(os.listdir(sink_dir)) if os.path.isdir(sink_dir) else []:
            if name.endswith(".eml"):
                with open(os.path.join(sink_dir, name), "rb") as f:
                    data = f.read()
                if needle in data:
                    return data, name
        if time.monotonic() >= deadline:
            return None, None
        time.sleep(0.05)


def main():
    servers_env, binary, work = sys.argv[1:4]
    s = read_env(servers_env)
    os.makedirs(work, exist_ok=True)
    flash = os.path.join(work, "flash")
    for name in ("slot-a.bin", "slot-b.bin", "device.key"):
        if os.path.exists(os.path.join(flash, name)):
            os.remove(os.path.join(flash, name))
    scan_path = os.path.join(work, "scan-0001.pdf")
    scan = random.Random(0x5CA9).randbytes(200 * 1024)
    with open(scan_path, "wb") as f:
        f.write(scan)
    env = dict(os.environ,
               MFP_ISSUER=s["ISSUER"], MFP_CLIENT_ID=CLIENT_ID, MFP_ADMIN=ADMIN,
               MFP_SMTP_HOST="127.0.0.2", MFP_SMTP_PORT=s["DOVECOT_SUBMISSION"],
               MFP_SMTP_SECURITY="starttls")
    base = [binary, "--flash", flash, "--ca", s["CA"]]

    # 1. Acquire, device flow, the test approving on the provider's pages.
    print("c-linux: 1. first start and device sign-in")
    approvals = []

    def on_line(line):
        m = re.match(r"device code: (\S+)", line)
        if m:
            def approve(code=m.group(1)):
                try:
                    approvals.append(approve_device_code(s["CA"], s["ISSUER"], code, ADMIN))
                except Exception as e:  # reported; the printer then times out
                    print(f"c-linux: approving the code failed: {e!r}")
            t = threading.Thread(target=approve)
            t.start()
            approvals.append(t)

    rc, out = run(base + ["signin"], env, on_line)
    for t in [a for a in approvals if isinstance(a, threading.Thread)]:
        t.join(60)
    check(rc == 0, "signin exits 0")
    check("power-on: first start" in out, "first start: NV_EMPTY, the mailer was created")
    check("administrator's token: Acquired" in out, "the administrator's token is Acquired")
    check(any(os.path.exists(os.path.join(flash, n)) and os.path.getsize(os.path.join(flash, n)) > 0
              for n in ("slot-a.bin", "slot-b.bin")), "the image is in the slot files")
    secrets = [line for line in out.splitlines() if re.search(r"access_token|refresh_token", line)]
    check(not secrets, "no token in the printer's output")

    # 2. Power cycle (a new process), then a scan through Dovecot STARTTLS.
    print("c-linux: 2. power cycle, scan-to-email over STARTTLS")
    marker = f"c-linux-{os.getpid()}-{int(time.time())}"
    copy = os.path.join(work, "sent.eml")
    to = ["scan-a@example.test", "scan-b@example.test", "refused-c@example.test"]
    send = base + ["send", "--attach", scan_path, "--subject", f"Scan {marker}", "--copy", copy]
    for addr in to:
        send += ["--to", addr]
    rc, out = run(send, env)
    check(rc == 0, "send exits 0")
    check(re.search(r"power-on: image \d+ loaded from slot [AB]", out) is not None
          and "first start" not in out, "power-on loads the image from the slot files (no create)")
    check("refresh grant" in out, "a refresh grant before the job (no access token survived)")
    check(f"job: From {ADMIN} (the sender policy's)" in out,
          "the plan names the policy's From, the message's From")
    check("TLS established after STARTTLS" in out, "STARTTLS")
    check(re.search(r"job: sent \(250\), 2 accepted, 1 refused", out) is not None,
          "sent: 2 recipients accepted, refused-c refused")
    m = re.search(r"support log: server replied (.*)", out)
    if m and os.path.isdir(s.get("LOGS", "")):
        with open(os.path.join(s["LOGS"], "replies.txt"), "a", encoding="utf-8") as f:
            f.write(f"C example, scan through Dovecot STARTTLS: {m.group(1)}\n")
    data, name = delivered(s["SINK_DIR"], marker, 30 if rc == 0 else 0.5)
    if check(data is not None, "the sink stored the message"):
        with open(copy, "rb") as f:
            composed = f.read()
        start = len(data) - len(composed)
        check(start >= 0 and data[start:] == composed,
              "the sink's copy is the composed message octet for octet")
        prefix = data[:max(start, 0)].decode("ascii", "replace")
        check(all(line.startswith(("Received: ", " ", "\t"))
                  for line in prefix.split("\r\n") if line),
              "only Received fields were added in transit")
        msg = email.message_from_bytes(data, policy=email.policy.default)
        parts = [p for p in msg.iter_attachments() if p.get_filename() == "scan-0001.pdf"]
        check(len(parts) == 1 and parts[0].get_content() == scan,
              "the attachment arrives byte-identical (200 KB)")
        check(msg["From"] == ADMIN, "From is the administrator's address (the policy's)")

    # 3. Error path: another From than the token's account, before the network.
    print("c-linux: 3. error path: a From the token cannot sign")
    marker2 = marker + "-wrong-from"
    rc, out = run(base + ["send", "--attach", scan_path, "--subject", f"Scan {marker2}",
                          "--from", "other@contoso.test", "--to", to[0]], env)
    check(rc == 2, "the refused job exits 2")
    check("E209 FromNotTokenAccount" in out and "does not match the account" in out,
          "E209 and its text are shown")
    check("connecting to" not in out and "no server reply" in out, "refused before the network")
    data, _ = delivered(s["SINK_DIR"], marker2, 0.5)
    check(data is None, "nothing delivered")

    # 4. Power-on with the wrong device key (a replaced board): the images
    # cannot be opened; the printer must not create a fresh mailer and save
    # it (that would erase the other slot and the refresh token).
    print("c-linux: 4. power-on with another device key: the slots stay untouched")
    key = os.path.join(flash, "device.key")
    slots = {n: open(os.path.join(flash, n), "rb").read()
             for n in ("slot-a.bin", "slot-b.bin") if os.path.exists(os.path.join(flash, n))}
    os.rename(key, key + ".saved")
    rc, out = run(base + ["status"], env)
    os.replace(key + ".saved", key)
    check(rc == 2 and "E507 NvSealOpenFailed" in out, "E507 at power-on, shown with its text")
    check("first start" not in out and "flash: image" not in out, "nothing created, nothing saved")
    check(all(open(os.path.join(flash, n), "rb").read() == d for n, d in slots.items()),
          "both slot files unchanged")
    rc, out = run(base + ["status"], env)
    check(rc == 0 and "administrator's token: Acquired" in out,
          "with the right key, the token is still there")

    # 5. A printer that trusts only the public roots: the provider's
    # certificate (the run's private CA) is refused before any request.
    print("c-linux: 5. the provider's certificate not trusted")
    other = os.path.join(work, "flash-public-roots")
    rc, out = run([binary, "--flash", other, "--ca", "", "signin"], env)
    check(rc == 2 and "sign-in: E609 CertificateUntrusted" in out,
          "E609 at the token endpoint, the sign-in ends (no retry loop)")
    check("device code:" not in out, "no code shown")

    print(f"c-linux: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
