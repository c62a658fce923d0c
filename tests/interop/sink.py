#!/usr/bin/env python3
"""Delivery sink of the interop suite: the SMTP server that Dovecot and
Postfix relay accepted mail to. Standard library only.

    sink.py HOST PORT DIR

Every message that completes DATA is stored as DIR/<n>.eml: exactly the
octets of the message after SMTP transparency is undone (RFC 5321 4.5.2),
CRLF line ends kept, and DIR/<n>.json with the envelope. The file appears
under its final name only once complete (written to a temporary name, then
renamed), so a test that sees it can read all of it.

Bounded like every server of the suite: 64 MiB per message, 1000 octets per
command line, 60 s idle per connection, 32 connections at once. Binds only
the address it is given (the suite gives 127.0.0.1).
"""

import asyncio
import itertools
import json
import os
import sys

MAX_MESSAGE = 64 * 1024 * 1024
MAX_LINE = 1000
IDLE = 60
MAX_CONNECTIONS = 32

counter = itertools.count(1)
active = 0


def store(directory, mail_from, rcpt_to, data):
    n = next(counter)
    base = os.path.join(directory, f"{os.getpid()}-{n:05d}")
    with open(base + ".json.tmp", "w", encoding="utf-8") as f:
        json.dump({"mail_from": mail_from, "rcpt_to": rcpt_to, "size": len(data)}, f)
    with open(base + ".eml.tmp", "wb") as f:
        f.write(data)
    os.rename(base + ".json.tmp", base + ".json")
    os.rename(base + ".eml.tmp", base + ".eml")


async def session(reader, writer, directory):
    global active
    active += 1
    try:
        if active > MAX_CONNECTIONS:
            writer.write(b"421 4.3.2 too many connections\r\n")
            return
        await serve(reader, writer, directory)
    except (asyncio.TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        pass
    finally:
        active -= 1
        try:
            await writer.drain()
            writer.close()
        except ConnectionError:
            pass


async def line(reader):
    raw = await asyncio.wait_for(reader.readuntil(b"\n"), IDLE)
    if len(raw) > MAX_LINE + 2:
        raise ConnectionError("line too long")
    return raw


async def serve(reader, writer, directory):
    say = lambda text: writer.write(text.encode("ascii") + b"\r\n")
    say("220 sink.interop.test ESMTP mfp-oauth interop sink")
    mail_from, rcpt_to = None, []
    while True:
        await writer.drain()
        raw = await line(reader)
        cmd = raw.rstrip(b"\r\n").decode("ascii", "replace")
        verb = cmd.split(" ", 1)[0].upper()
        if verb in ("EHLO", "HELO"):
            mail_from, rcpt_to = None, []
            if verb == "EHLO":
                say(f"250-sink.interop.test\r\n250-8BITMIME\r\n250 SIZE {MAX_MESSAGE}")
            else:
                say("250 sink.interop.test")
        elif verb == "MAIL":
            mail_from, rcpt_to = cmd[10:].split(" ")[0].strip("<>"), []
            say("250 2.1.0 OK")
        elif verb == "RCPT":
            if mail_from is None:
                say("503 5.5.1 MAIL first")
                continue
            rcpt = cmd[8:].split(" ")[0].strip("<>")
            if rcpt.startswith("refused-"):
                # A mailbox that does not exist, for the refused-recipient tests.
                say("550 5.1.1 no such mailbox")
                continue
            rcpt_to.append(rcpt)
            say("250 2.1.5 OK")
        elif verb == "DATA":
            if not rcpt_to:
                say("503 5.5.1 RCPT first")
                continue
            say("354 End data with <CR><LF>.<CR><LF>")
            await writer.drain()
            data = bytearray()
            while True:
                chunk = await asyncio.wait_for(reader.readuntil(b"\n"), IDLE)
                if chunk == b".\r\n":
                    break
                if chunk.startswith(b"."):
                    chunk = chunk[1:]
                data += chunk
                if len(data) > MAX_MESSAGE:
                    raise ConnectionError("message too large")
            store(directory, mail_from, rcpt_to, bytes(data))
            say("250 2.0.0 stored")
            mail_from, rcpt_to = None, []
        elif verb == "RSET":
            mail_from, rcpt_to = None, []
            say("250 2.0.0 OK")
        elif verb == "NOOP":
            say("250 2.0.0 OK")
        elif verb == "QUIT":
            say("221 2.0.0 bye")
            return
        else:
            say("502 5.5.2 command not implemented")


async def main():
    host, port, directory = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    os.makedirs(directory, exist_ok=True)
    server = await asyncio.start_server(
        lambda r, w: session(r, w, directory), host, port, limit=MAX_LINE * 2 + 70000
    )
    print(f"sink ready on {host}:{port}, storing in {directory}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
