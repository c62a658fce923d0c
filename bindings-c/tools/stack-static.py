#!/usr/bin/env python3
"""Worst-case stack of each C entry point over the firmware's call graph.

Stack painting (size-report.sh) measures the paths the emulated firmware's
day takes; a path the day does not take (an error, another transport) can
need more. This reads the disassembly of the linked firmware
(`arm-none-eabi-objdump -d`), takes each function's frame from its
prologue (`push`, `vpush`, `sub sp`) and follows its direct calls (`bl`,
`b.w`, `b` to another function) to the deepest chain.

It is a bound of the direct-call graph only: calls through a pointer (a
`dyn` sink, a C callback) are not followed and a cycle is cut, so the
painting stays the measure of record; this catches the deep paths the day
does not exercise (R-MEM).

Usage: stack-static.py FW.ELF [--max BYTES] [--show N] [--top N]
Prints "entry<TAB>bytes" for every exported `mfp_oauth_*` function, the
deepest first; with --max, exits 1 when an entry point's chain is deeper
and prints that chain.
"""

import argparse
import re
import subprocess
import sys

FUNC = re.compile(r"^([0-9a-f]+) <(.+)>:$")
SUB_SP = re.compile(r"\tsub(?:w|\.w)?\s+sp, (?:sp, )?#(\d+)")
PUSH = re.compile(r"\t(?:push|stmdb)(?:\.w)?\s+(?:sp!, )?\{([^}]*)\}")
VPUSH = re.compile(r"\tvpush\s+\{([^}]*)\}")
CALL = re.compile(r"\t(?:bl|b\.w|b)\s+([0-9a-f]+) <[^>]*>")


def read_graph(elf):
    """Each function's frame in bytes, its direct callees, its name."""
    dis = subprocess.run(
        ["arm-none-eabi-objdump", "-d", "-C", elf], check=True, capture_output=True, text=True
    ).stdout
    frame, calls, name = {}, {}, {}
    cur = None
    for line in dis.splitlines():
        m = FUNC.match(line)
        if m:
            cur = int(m.group(1), 16)
            name[cur] = m.group(2)
            frame[cur] = 0
            calls[cur] = set()
            continue
        if cur is None:
            continue
        m = SUB_SP.search(line)
        if m:
            frame[cur] += int(m.group(1))
            continue
        m = PUSH.search(line)
        if m:
            frame[cur] += 4 * len(m.group(1).split(","))
            continue
        m = VPUSH.search(line)
        if m:
            regs = m.group(1).strip()
            r = re.fullmatch(r"d(\d+)-d(\d+)", regs)
            count = int(r.group(2)) - int(r.group(1)) + 1 if r else len(regs.split(","))
            frame[cur] += 8 * count
            continue
        m = CALL.search(line)
        if m:
            target = int(m.group(1), 16)
            if target != cur:
                calls[cur].add(target)
    return frame, calls, name


def deepest(frame, calls):
    """The deepest chain from each function: (bytes, [functions])."""
    memo = {}
    sys.setrecursionlimit(100000)

    def walk(f, on_path):
        if f in memo:
            return memo[f]
        if f in on_path:  # a cycle: cut here
            return (0, [])
        on_path.add(f)
        best = (0, [])
        for c in calls.get(f, ()):
            d = walk(c, on_path)
            if d[0] > best[0]:
                best = d
        on_path.discard(f)
        memo[f] = (frame.get(f, 0) + best[0], [f] + best[1])
        return memo[f]

    return lambda f: walk(f, set())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("elf")
    ap.add_argument("--max", type=int)
    ap.add_argument("--show", type=int, default=0, help="print the chain of the N deepest")
    ap.add_argument("--top", type=int, help="list only the N deepest")
    args = ap.parse_args()
    frame, calls, name = read_graph(args.elf)
    depth = deepest(frame, calls)
    entries = sorted(
        ((depth(a), a) for a, n in name.items() if re.fullmatch(r"mfp_oauth_[a-z0-9_]+", n)),
        key=lambda x: -x[0][0],
    )
    over = []
    for i, ((bytes_, chain), a) in enumerate(entries):
        if args.top is not None and i >= args.top and not (args.max is not None and bytes_ > args.max):
            continue
        print(f"{name[a]}\t{bytes_}")
        if i < args.show or (args.max is not None and bytes_ > args.max):
            for f in chain:
                print(f"    {frame.get(f, 0):6} {name.get(f, '?')}")
        if args.max is not None and bytes_ > args.max:
            over.append(name[a])
    if over:
        print(f"over {args.max} bytes on the direct-call graph: {', '.join(over)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
