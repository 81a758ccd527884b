#!/usr/bin/env python3
"""Runs one lab scenario, replays its capture with throttlewatch and checks the events.

Exits 0 when the events match the truth (score.py --check), 1 when they do not, and 77 (ctest's
skip code) when the lab cannot run here: not root, or no network namespaces.
"""

import argparse
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SKIP = 77


def lab_unavailable():
    if os.geteuid() != 0:
        return "the lab needs root (network namespaces, tc)"
    for tool in ("ip", "tc", "iperf3", "tcpdump", "ethtool", "ping"):
        if shutil.which(tool) is None:
            return "missing tool: %s (deploy/install-deps.sh --test installs it)" % tool
    probe = "twprobe%d" % os.getpid()
    r = subprocess.run(["ip", "netns", "add", probe], stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        return "cannot create a network namespace: %s" % r.stderr.strip()
    subprocess.run(["ip", "netns", "del", probe])
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenario", required=True)
    ap.add_argument("--throttlewatch", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--seed", default="1")
    a = ap.parse_args()
    why = lab_unavailable()
    if why:
        print("SKIPPED: lab scenario %s: %s" % (a.scenario, why))
        return SKIP
    shutil.rmtree(a.workdir, ignore_errors=True)
    os.makedirs(a.workdir)
    r = subprocess.run([sys.executable, os.path.join(HERE, "lab.py"), "run", a.scenario,
                        "--out", a.workdir, "--seed", a.seed])
    if r.returncode != 0:
        print("lab run failed (%d)" % r.returncode)
        return 1
    truth = os.path.join(a.workdir, a.scenario + ".truth.json")
    r = subprocess.run([sys.executable, os.path.join(HERE, "score.py"), "--check",
                        "--truth", truth, "--throttlewatch", a.throttlewatch])
    return r.returncode


if __name__ == "__main__":
    sys.exit(main())
