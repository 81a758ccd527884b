#!/usr/bin/env python3
"""End-to-end comparison: throttlewatch replay against the tools people would otherwise use.

    bench/compare.py [--file CAPTURE | --packets N] [--reps R] [--slow-reps S]
                     [--throttlewatch PATH] [--make-capture PATH] [--threads N]

Without --file it writes a realistic capture with bench/make_capture (default 5 million
packets: full-size data packets and ACKs, thousands of flows including long-lived ones, IPv4
and IPv6) into a temporary directory. Then it runs every tool on the same file, alternating
(round 1: every tool, round 2: every tool, ...), and prints the median wall time, CPU time
(user + sys) and peak resident memory of each, and throttlewatch's ratio to each. Slow tools
(tshark, tcptrace) run --slow-reps rounds. Tools that are not installed are listed as skipped.

Measurements use GNU time (/usr/bin/time -f). softflowd is not run: version 1.1.0 with -r
blocks in accept() on its control socket before it reads the file (strace shows it), so it
cannot be timed unattended.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
LOCAL = "10.20.0.0/16,2001:db8:20::/48"  # what make_capture uses as the office side


def find_binary(name, *candidates):
    """An absolute path: the tools run in a temporary directory."""
    for c in candidates:
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return os.path.abspath(c)
    return shutil.which(name)


def gnu_time(cmd, workdir):
    """Runs cmd under /usr/bin/time; returns (wall s, cpu s, peak RSS KiB) or raises."""
    out = os.path.join(workdir, "time.txt")
    proc = subprocess.run(["/usr/bin/time", "-o", out, "-f", "%e %U %S %M"] + cmd,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=workdir)
    with open(out) as f:
        last = f.read().strip().splitlines()[-1].split()
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} exited {proc.returncode}: "
                           f"{proc.stderr.decode(errors='replace')[-500:]}")
    wall, user, sys_, rss = float(last[0]), float(last[1]), float(last[2]), int(last[3])
    return wall, user + sys_, rss


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--file", help="an existing capture (else one is generated)")
    ap.add_argument("--packets", type=int, default=5_000_000)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--slow-reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0,
                    help="also time throttlewatch --threads N (the default row uses one "
                         "thread per core, and a --threads 1 row is always timed)")
    ap.add_argument("--throttlewatch")
    ap.add_argument("--make-capture")
    ap.add_argument("--only", help="comma-separated tool names to run")
    args = ap.parse_args()

    for given in (args.throttlewatch, args.make_capture):
        if given and not (os.path.isfile(given) and os.access(given, os.X_OK)):
            sys.exit(f"compare: {given}: not an executable file")
    tw = find_binary("throttlewatch", args.throttlewatch,
                     os.path.join(ROOT, "build/release/throttlewatch"))
    if not tw:
        sys.exit("compare: build throttlewatch first (cmake --preset release && "
                 "cmake --build --preset release)")
    work = tempfile.mkdtemp(prefix="tw-compare-")
    try:
        capture = args.file
        if not capture:
            mk = find_binary("make_capture", args.make_capture,
                             os.path.join(ROOT, "build/release/bench/make_capture"))
            if not mk:
                sys.exit("compare: make_capture not built")
            capture = os.path.join(work, "capture.pcap")
            subprocess.run([mk, "--packets", str(args.packets), capture], check=True)
        capture = os.path.abspath(capture)

        flowdir = os.path.join(work, "nfpcapd")
        os.makedirs(flowdir, exist_ok=True)
        tools = [
            # (name, command, slow, special)
            ("throttlewatch replay", [tw, "replay", "-q", "--bin", "1", "--local", LOCAL,
                                      "--events", "/dev/null", capture], False, None),
            ("throttlewatch replay --threads 1",
             [tw, "replay", "-q", "--bin", "1", "--threads", "1", "--local", LOCAL,
              "--events", "/dev/null", capture], False, None),
        ]
        if args.threads > 1:
            tools.append((f"throttlewatch replay --threads {args.threads}",
                          [tw, "replay", "-q", "--bin", "1", "--threads", str(args.threads),
                           "--local", LOCAL, "--events", "/dev/null", capture], False, None))
        skipped = []
        optional = [
            ("tcpdump -r FILE -w /dev/null", "tcpdump",
             ["-r", capture, "-w", "/dev/null"], False, None),
            ("tshark -n -q -z conv,tcp", "tshark",
             ["-n", "-q", "-z", "conv,tcp", "-r", capture], True, None),
            ("tcptrace -n", "tcptrace", ["-n", capture], True, None),
            ("nfpcapd -r (to nfcapd files)", "nfpcapd", ["-r", capture, "-w", flowdir], False,
             None),
        ]
        for name, binary, argv, slow, special in optional:
            path = shutil.which(binary)
            if path:
                tools.append((name, [path] + argv, slow, special))
            else:
                skipped.append(f"{name}: {binary} is not installed")
        skipped.append("softflowd -r: blocks on its control socket before reading the file")
        if args.only:
            keep = [w.strip() for w in args.only.split(",")]
            tools = [t for t in tools if any(t[0].startswith(k) for k in keep)]

        size = os.path.getsize(capture)
        print(f"capture: {capture} ({size / 1e6:.0f} MB)", flush=True)
        results = {t[0]: [] for t in tools}
        failed = {}
        for rnd in range(args.reps):
            for name, cmd, slow, special in tools:
                if (slow and rnd >= args.slow_reps) or name in failed:
                    continue
                try:
                    r = gnu_time(cmd, work)
                except RuntimeError as e:
                    failed[name] = str(e)
                    continue
                results[name].append(r)
                print(f"  round {rnd + 1}: {name}: {r[0]:.2f} s wall, {r[1]:.2f} s cpu, "
                      f"{r[2] / 1024:.0f} MiB", file=sys.stderr, flush=True)
                if name.startswith("nfpcapd"):
                    for f in os.listdir(flowdir):
                        os.remove(os.path.join(flowdir, f))

        base = results[tools[0][0]]
        if not base:
            sys.exit(f"compare: {tools[0][0]} failed, no ratio to give: "
                     f"{failed.get(tools[0][0], 'not run')}")
        bw = statistics.median(r[0] for r in base)
        bc = statistics.median(r[1] for r in base)
        print()
        print("| tool | runs | wall s (median) | CPU s (median) | peak RSS MiB | "
              "throttlewatch wall ratio | tool / throttlewatch |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for name, _, _, _ in tools:
            rs = results[name]
            if not rs:
                continue
            w = statistics.median(r[0] for r in rs)
            c = statistics.median(r[1] for r in rs)
            m = max(r[2] for r in rs) / 1024
            print(f"| `{name}` | {len(rs)} | {w:.2f} | {c:.2f} | {m:.0f} | {bw / w:.2f} | "
                  f"{w / bw:.1f}x |")
        print()
        print(f"throttlewatch CPU {bc:.2f} s; ratio = throttlewatch wall / tool wall "
              "(below 1: throttlewatch is faster)")
        for name, why in failed.items():
            print(f"failed: {name}: {why}")
        for s in skipped:
            print(f"skipped: {s}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
