#!/usr/bin/env python3
"""Replays the real captures beside the repository and fails on events their packets do not prove.

  realworld_check.py THROTTLEWATCH DATA_DIR EXCEPTIONS_TSV

DATA_DIR is the shared realworld/ folder:
- requet/*.pcap.xz: real sessions nobody throttled. Every throttle fails the test; every outage
  must be listed in EXCEPTIONS_TSV (file and start time), where its packets' evidence is written.
- odd/*.pcap: odd link types, tunnels, time jumps. No event may lie outside the capture's time
  range, and no outage may last longer than the capture.
Prints the real-traffic table (files, hours, events). Exits 77 (skipped) when DATA_DIR is absent,
1 on any failure. Python 3 standard library and xz only.
"""
import csv
import glob
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "schema"))
import validate_lines  # noqa: E402

SKIP = 77


def replay(tw, pcap, events):
    """Runs a replay; returns (exit code, stderr)."""
    r = subprocess.run([tw, "replay", "-q", "--events", events, pcap],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return r.returncode, r.stderr


def read_events(path):
    """The events of a replay's event file, checked against the schema (exits on a bad line)."""
    validate_lines.check_and_keep(path, "realworld")
    out = []
    with open(path) as f:
        for line in f:
            e = json.loads(line)
            if e.get("record") == "event":
                out.append(e)
    return out


def pcap_times(path):
    """First and last packet time and the packet count of a classic pcap file, or None."""
    with open(path, "rb") as f:
        head = f.read(24)
        if len(head) < 24:
            return None
        magic = struct.unpack("<I", head[:4])[0]
        endian = {0xa1b2c3d4: "<", 0xd4c3b2a1: ">", 0xa1b23c4d: "<", 0x4d3cb2a1: ">"}.get(magic)
        if endian is None:
            return None
        nano = magic in (0xa1b23c4d, 0x4d3cb2a1)
        times = []
        while True:
            rec = f.read(16)
            if len(rec) < 16:
                break
            sec, frac, incl, _ = struct.unpack(endian + "IIII", rec)
            times.append(sec + frac * (1e-9 if nano else 1e-6))
            f.seek(incl, 1)
    return (min(times), max(times), len(times)) if times else None


def check_requet(tw, folder, exceptions, work):
    allowed = {}
    with open(exceptions) as f:
        rows = csv.DictReader((l for l in f if not l.startswith("#")), delimiter="\t")
        for r in rows:
            allowed[(r["file"], round(float(r["start"]), 3))] = r
    files = sorted(glob.glob(os.path.join(folder, "*.pcap.xz")))
    failures, seconds, kept = [], 0.0, set()
    counts = {"outage": 0, "throttle": 0}
    for xz in files:
        name = os.path.basename(xz)[:-len(".pcap.xz")]
        pcap = os.path.join(work, "session.pcap")
        with open(pcap, "wb") as out:
            subprocess.run(["xz", "-dc", xz], stdout=out, check=True)
        span = pcap_times(pcap)
        seconds += span[1] - span[0] if span else 0
        ev = os.path.join(work, "session.events")
        code, err = replay(tw, pcap, ev)
        if code != 0:
            failures.append("%s: replay exited %d: %s" % (name, code, err.strip()))
            continue
        for e in read_events(ev):
            if e["state"] != "start":
                continue
            counts[e["kind"]] = counts.get(e["kind"], 0) + 1
            key = (name, round(e["ts"], 3))
            if e["kind"] == "outage" and key in allowed:
                kept.add(key)
                continue
            failures.append("%s: unproved %s at %.3f (%s), confidence %s" %
                            (name, e["kind"], e["ts"], e["time"], e["confidence"]))
    for key in sorted(set(allowed) - kept):
        print("note: listed outage no longer raised: %s at %.3f" % key)
    print("| real sessions | files | hours | outage starts | throttle starts | unproved |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    print("| %s | %d | %.1f | %d | %d | %d |" %
          (os.path.basename(folder.rstrip("/")), len(files), seconds / 3600, counts["outage"],
           counts["throttle"], len(failures)))
    return failures


def check_odd(tw, folder, work):
    failures = []
    for pcap in sorted(glob.glob(os.path.join(folder, "*.pcap"))):
        name = os.path.basename(pcap)
        span = pcap_times(pcap)
        ev = os.path.join(work, "odd.events")
        code, err = replay(tw, pcap, ev)
        if code == 3 and "unsupported link type" in err:
            print("note: %s: %s" % (name, err.strip()))
            continue
        if code != 0:
            failures.append("%s: replay exited %d: %s" % (name, code, err.strip()))
            continue
        for e in read_events(ev):
            if span and not (span[0] - 1 <= e["ts"] <= span[1] + 1):
                failures.append("%s: event %d %s at %.3f, outside the capture [%.3f, %.3f]" %
                                (name, e["id"], e["state"], e["ts"], span[0], span[1]))
            if span and e.get("duration_s", 0) > span[1] - span[0] + 1:
                failures.append("%s: event %d lasts %.0f s, longer than the capture" %
                                (name, e["id"], e["duration_s"]))
    return failures


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    tw, data, exceptions = sys.argv[1:]
    if not os.path.isdir(os.path.join(data, "requet")):
        print("real captures not found at %s (clone the shared data beside the repository)" % data)
        return SKIP
    if shutil.which("xz") is None:
        print("xz is not installed (deploy/install-deps.sh --test)")
        return SKIP
    with tempfile.TemporaryDirectory() as work:
        failures = check_requet(tw, os.path.join(data, "requet"), exceptions, work)
        failures += check_odd(tw, os.path.join(data, "odd"), work)
    for f in failures:
        print("FAIL " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
