#!/usr/bin/env python3
"""What the link's owner can put on the wire must not change what the evidence says.

Replays the bundled demo capture together with a small capture written here: DNS answers and TLS
ClientHellos that name the demo's throttled server, first with a real host name, then with names
crafted to break or forge the outputs (quotes that close a JSON string and add fields, control
bytes, markup, a backslash, bytes that are not UTF-8, an address posing as a name, a 255-byte
name). Then checks every output of `replay --events --flows --series --report`:

  names      every event and flow line is one JSON object of printable ASCII; the events are
             those of the demo replayed alone but for the real name on the throttled flow; no
             crafted name reaches any output; the summary counts them as dropped; the report
             is a well-formed page (its tags balance, no script element).
  anonymize  the same replay with --anonymize: no address of the input (every IPv4 and IPv6
             source and destination but multicast) appears in any output: events, flows,
             series, report, or the summary on stderr.

Exit 0 pass, 1 fail.
"""
import argparse
import html.parser
import ipaddress
import json
import os
import re
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "schema"))
import validate_lines  # noqa: E402

DEMO_T0 = 1795901897  # a second into the demo capture, before its throttle
CLIENT, SERVER, RESOLVER = "10.77.1.2", "10.77.2.2", "10.77.0.53"
REAL_NAME = "live-video.example"
FORGED = [
    'x","targeted":false,"y":"',
    'live"}\x01<script>.ex\x7fample',
    "back\\slash.example",
    "\xff\xfe\x80.example",
    "192.0.2.77",
    ".".join(["a" * 63] * 4),  # 255 bytes: a name on the wire may be that long, a host name not
]


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4(proto, src, dst, l4):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 1, 0, 64, proto, 0,
                    ipaddress.ip_address(src).packed, ipaddress.ip_address(dst).packed)
    h = h[:10] + struct.pack("!H", checksum(h)) + h[12:]
    return h + l4


def eth(l3):
    return b"\x02\x00\x00\x00\x00\x01" + b"\x02\x00\x00\x00\x00\x02" + b"\x08\x00" + l3


def dns_answer(name_bytes, address):
    """A response to 'name A?' answering `address`; labels split at '.', bytes as given."""
    m = struct.pack("!HHHHHH", 0x4242, 0x8180, 1, 1, 0, 0)
    for label in name_bytes.split(b"."):
        m += bytes([len(label)]) + label
    m += b"\0" + struct.pack("!HH", 1, 1)
    m += b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + ipaddress.ip_address(address).packed
    return ipv4(17, RESOLVER, CLIENT, struct.pack("!HHHH", 53, 53000, 8 + len(m), 0) + m)


def client_hello(name_bytes, sport):
    sni = struct.pack("!HBH", len(name_bytes) + 3, 0, len(name_bytes)) + name_bytes
    exts = struct.pack("!HH", 0, len(sni)) + sni
    body = b"\x03\x03" + b"\xab" * 32 + b"\x00" + struct.pack("!H", 2) + b"\x13\x01" + b"\x01\x00"
    body += struct.pack("!H", len(exts)) + exts
    hs = b"\x01" + struct.pack("!I", len(body))[1:] + body
    rec = b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs
    tcp = struct.pack("!HHIIBBHHH", sport, 443, 1, 1, 5 << 4, 0x18, 65535, 0, 0)
    return ipv4(6, CLIENT, SERVER, tcp + rec)


def write_names_pcap(path):
    packets = [dns_answer(REAL_NAME.encode(), SERVER)]
    for name in FORGED:
        raw = name.encode("latin-1")
        packets.append(dns_answer(raw, SERVER))
        packets.append(client_hello(raw, 45000 + len(packets)))
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, p in enumerate(packets):
            frame = eth(p)
            f.write(struct.pack("<IIII", DEMO_T0, 1000 * i, len(frame), len(frame)) + frame)
    # Names that must be dropped and counted: all of them, but the 255-byte one in DNS, which
    # the DNS parser already refuses as a name (over 253 characters) before it is a candidate.
    return 2 * len(FORGED) - 1


def addresses_in(path):
    """Every IPv4/IPv6 source and destination of an Ethernet pcap (VLAN tags skipped)."""
    data = open(path, "rb").read()
    out, off = set(), 24
    while off + 16 <= len(data):
        caplen = struct.unpack("<I", data[off + 8:off + 12])[0]
        frame, off = data[off + 16:off + 16 + caplen], off + 16 + caplen
        et, l3 = struct.unpack("!H", frame[12:14])[0], 14
        while et in (0x8100, 0x88A8) and len(frame) >= l3 + 4:
            et, l3 = struct.unpack("!H", frame[l3 + 2:l3 + 4])[0], l3 + 4
        if et == 0x0800 and len(frame) >= l3 + 20:
            out |= {ipaddress.ip_address(frame[l3 + 12:l3 + 16]),
                    ipaddress.ip_address(frame[l3 + 16:l3 + 20])}
        elif et == 0x86DD and len(frame) >= l3 + 40:
            out |= {ipaddress.ip_address(frame[l3 + 8:l3 + 24]),
                    ipaddress.ip_address(frame[l3 + 24:l3 + 40])}
    return {a for a in out if not a.is_multicast}


def address_pattern(a):
    text = re.escape(str(a))
    if a.version == 4:
        return re.compile(r"(?<![\d.])" + text + r"(?![\d])")
    return re.compile(r"(?<![0-9a-fA-F:])" + text + r"(?![0-9a-fA-F:])", re.IGNORECASE)


class TagBalance(html.parser.HTMLParser):
    VOID = {"meta", "br", "img", "input", "link", "hr", "col", "wbr", "area", "base", "source"}

    def __init__(self):
        super().__init__()
        self.stack, self.errors, self.scripts = [], [], 0

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self.scripts += 1
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append("</%s> closes <%s>" % (tag, self.stack[-1] if self.stack else ""))
            return
        self.stack.pop()


def replay(tw, workdir, inputs, extra):
    os.makedirs(workdir, exist_ok=True)
    out = {k: os.path.join(workdir, k) for k in ("flows.jsonl", "series.csv", "report.html")}
    argv = [tw, "replay", "--threads", "2", "--local", "10.77.1.0/24",
            "--flows", out["flows.jsonl"], "--series", out["series.csv"],
            "--report", out["report.html"]] + extra + inputs
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out["events (stdout)"], out["summary (stderr)"] = r.stdout, r.stderr
    return r.returncode, out


def check_schema(out, name, failures):
    """The replay's event and flow lines match the schema, and are kept for the final check."""
    events = os.path.join(os.path.dirname(out["flows.jsonl"]), "events.jsonl")
    with open(events, "wb") as f:
        f.write(out["events (stdout)"])
    try:
        c = validate_lines.check_files([events, out["flows.jsonl"]])
        print("%s: schema: %s" % (name, c.summary()))
    except validate_lines.SchemaError as e:
        failures.append("%s: %s" % (name, e))
    validate_lines.keep([events, out["flows.jsonl"]], "outputs_" + name)


def read(out, key):
    v = out[key]
    return v if isinstance(v, bytes) else open(v, "rb").read()


def check_lines(name, data, failures):
    lines = []
    for i, line in enumerate(data.splitlines(), 1):
        bad = [c for c in line if c < 0x20 or c >= 0x7F]
        if bad:
            failures.append("%s line %d: raw byte 0x%02x" % (name, i, bad[0]))
        try:
            obj = json.loads(line)
        except ValueError as e:
            failures.append("%s line %d is not JSON (%s): %r" % (name, i, e, line[:200]))
            continue
        if not isinstance(obj, dict):
            failures.append("%s line %d is not an object" % (name, i))
        lines.append(obj)
    return lines


def check_names(tw, demo, workdir, failures):
    names_pcap = os.path.join(workdir, "names.pcap")
    dropped = write_names_pcap(names_pcap)
    rc, out = replay(tw, workdir, [demo, names_pcap], [])
    if rc != 0:
        failures.append("replay exited %d: %s" % (rc, read(out, "summary (stderr)").decode()))
        return
    # Event records (not the stream's header), without their chain values, which differ as the
    # header names other inputs.
    def records(lines):
        return [{k: v for k, v in e.items() if k != "chain"} for e in lines
                if e.get("record") == "event"]

    check_schema(out, "names", failures)
    events = records(check_lines("events", read(out, "events (stdout)"), failures))
    check_lines("flows", read(out, "flows.jsonl"), failures)
    # The evidence is that of the demo alone, but for the name the real answer gave its server.
    _, alone = replay(tw, os.path.join(workdir, "alone"), [demo], [])
    check_schema(alone, "alone", failures)
    expected = records(
        check_lines("events of the demo alone", read(alone, "events (stdout)"), failures))
    for e in expected:
        if e.get("flow", {}).get("remote") == SERVER:
            e["service"] = REAL_NAME
    # The crafted packets are traffic too: the link's rates may move by their few bytes.
    def same(a, b):
        return {k: v for k, v in a.items() if not k.endswith("_bps")} == \
            {k: v for k, v in b.items() if not k.endswith("_bps")} and all(
                abs(a[k] - b.get(k, 0)) <= 0.01 * max(abs(a[k]), 1) for k in a if k.endswith("_bps"))
    if len(events) != len(expected) or not all(map(same, events, expected)):
        failures.append("the events differ from the demo's own:\n  got  %s\n  want %s"
                        % (events, expected))
    if not any(e.get("kind") == "throttle" and e.get("service") == REAL_NAME for e in events):
        failures.append("no throttle event carries the real name %s" % REAL_NAME)
    forged_fragments = ["targeted\\\":false", "<script", "back\\\\slash", "192.0.2.77",
                        "a" * 63 + ".a",
                        "\\u0001", "\\u007f", "\\ufffd"]
    for key in out:
        text = read(out, key).decode("latin-1")
        for frag in forged_fragments + ['"y"', "live\"}"]:
            if frag in text:
                failures.append("%s carries a crafted name (%r)" % (key, frag))
    summary = read(out, "summary (stderr)").decode()
    m = re.search(r"(\d+) names in DNS answers or TLS ClientHellos dropped", summary)
    if not m or int(m.group(1)) != dropped:
        failures.append("summary does not count %d dropped names: %s" % (dropped, summary))
    page = read(out, "report.html").decode("utf-8")
    parser = TagBalance()
    parser.feed(page)
    parser.close()
    if parser.errors or parser.stack != []:
        failures.append("report tags do not balance: %s, left open %s"
                        % (parser.errors[:3], parser.stack[:5]))
    if parser.scripts:
        failures.append("report has %d script elements" % parser.scripts)
    print("names: %d events, %d crafted names dropped, report %d bytes"
          % (len(events), dropped, len(page)))


def check_anonymize(tw, demo, workdir, failures):
    names_pcap = os.path.join(workdir, "names.pcap")
    write_names_pcap(names_pcap)
    key = os.path.join(workdir, "anon.key")
    with open(os.open(key, os.O_WRONLY | os.O_CREAT, 0o600), "wb") as f:
        f.write(bytes(range(32)))
    real = addresses_in(demo) | addresses_in(names_pcap)
    rc, out = replay(tw, workdir, [demo, names_pcap], ["--anonymize", key])
    if rc != 0:
        failures.append("replay --anonymize exited %d: %s"
                        % (rc, read(out, "summary (stderr)").decode()))
        return
    check_schema(out, "anonymize", failures)
    sizes = {}
    for k in out:
        text = read(out, k).decode("latin-1")
        sizes[k] = len(text)
        if not text:
            failures.append("%s is empty" % k)
        for a in sorted(real, key=str):
            if address_pattern(a).search(text):
                failures.append("%s shows the real address %s despite --anonymize" % (k, a))
    print("anonymize: %d real addresses looked for in %s" % (len(real), sizes))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--throttlewatch", required=True)
    ap.add_argument("--demo", required=True)
    ap.add_argument("--check", choices=("names", "anonymize"), required=True)
    a = ap.parse_args()
    failures = []
    with tempfile.TemporaryDirectory(prefix="tw-outputs-") as workdir:
        if a.check == "names":
            check_names(a.throttlewatch, a.demo, workdir, failures)
        else:
            check_anonymize(a.throttlewatch, a.demo, workdir, failures)
    for f in failures:
        print("FAIL:", f)
    print("%s: %s" % (a.check, "FAIL" if failures else "ok"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
