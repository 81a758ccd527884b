#!/usr/bin/env python3
"""Replays the nDPI QUIC captures and checks their --flows lines against nDPI's names.

  quic_flow_lines.py THROTTLEWATCH DATA_DIR

DATA_DIR holds the captures and expected.tsv (file, flow "client <-> server", server name, QUIC
version), the shared quic/ndpi/ folder. Every row with a name must come out as a UDP flow line
(verdict "not judged") of that flow with that `service` and `quic_version` (a 5-tuple that comes
back after its flow ended idle is another flow, named only if it opens again). The client side
of each row is given as --local, so the flow is seen from the client; rows whose client and
server are one host (loopback captures) cross no uplink and are skipped. Exits 77 (skipped) when
DATA_DIR is absent, 1 on any failure. Python 3 standard library only.
"""
import collections
import csv
import ipaddress
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "schema"))
import validate_lines  # noqa: E402

SKIP = 77


def endpoint(text):
    """'[v6]:port' or 'v4:port' -> (address text, port)."""
    host, _, port = text.strip().rpartition(":")
    return str(ipaddress.ip_address(host.strip("[]"))), int(port)


def main():
    tw, data = sys.argv[1], sys.argv[2]
    expected = os.path.join(data, "expected.tsv")
    if not os.path.exists(expected):
        print("no QUIC captures in %s: skipped" % data)
        return SKIP
    rows = collections.defaultdict(list)
    with open(expected) as f:
        for r in csv.DictReader(f, delimiter="\t"):
            if r["sni"]:
                rows[r["file"]].append(r)
    failures, checked, skipped = [], 0, 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, file_rows in sorted(rows.items()):
            pairs = [tuple(endpoint(x) for x in r["flow"].split("<->")) for r in file_rows]
            keep = [c[0] != s[0] for c, s in pairs]
            skipped += keep.count(False)
            file_rows = [r for r, k in zip(file_rows, keep) if k]
            pairs = [p for p, k in zip(pairs, keep) if k]
            if not pairs:
                continue
            clients = sorted({c[0] for c, _ in pairs})
            local = ",".join(c + ("/32" if ":" not in c else "/128") for c in clients)
            flows = os.path.join(tmp, name + ".flows.jsonl")
            r = subprocess.run([tw, "replay", "-q", "--local", local, "--flows", flows,
                                "--events", os.devnull, os.path.join(data, name)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            if r.returncode != 0:
                failures.append("%s: exit %d: %s" % (name, r.returncode, r.stderr.strip()))
                continue
            validate_lines.check_and_keep(flows, "quic-flows")
            lines = collections.defaultdict(list)
            with open(flows) as f:
                for line in f:
                    j = json.loads(line)
                    fl = j["flow"]
                    key = ((fl["local"], fl["local_port"]), (fl["remote"], fl["remote_port"]))
                    lines[key].append(j)
            for row, (client, server) in zip(file_rows, pairs):
                checked += 1
                want = (row["sni"], row["quic_version"])
                got = [(j.get("service"), j.get("quic_version")) for j in lines[(client, server)]
                       if j["flow"]["proto"] == "udp" and j["verdict"] == "not judged"]
                if want not in got:
                    failures.append("%s %s: want %s, got %s" % (name, row["flow"], want,
                                                               got or "no line"))
    print("quic flow lines: %d named flows of %d captures checked (%d loopback rows skipped), "
          "%d wrong" % (checked, len(rows), skipped, len(failures)))
    for f in failures:
        print("FAIL " + f)
    return 1 if failures or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
