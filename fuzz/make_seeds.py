#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (fuzz/<target>/<target>_fuzz.cc) into
fuzz/<target>/corpus/, beside each target.

The seeds are small, valid examples of what each target parses, so the fuzzer starts from
inputs that reach deep into the code. Run from anywhere; rewrites only seed-* files (the
regression-* inputs of past findings are kept).
"""
import hashlib
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def write(target, name, data):
    d = os.path.join(HERE, target, "corpus")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def tcp(sport, dport, seq, ack, flags, payload=b"", opts=b""):
    while len(opts) % 4:
        opts += b"\x01"
    off = (20 + len(opts)) // 4
    return struct.pack("!HHIIBBHHH", sport, dport, seq, ack, off << 4, flags, 65535, 0, 0) + opts + payload


def udp(sport, dport, payload):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def ipv4(proto, src, dst, l4, frag=0):
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 1, frag, 64, proto, 0,
                       bytes(src), bytes(dst)) + l4


def ipv6(nh, src, dst, l4):
    return struct.pack("!IHBB16s16s", 6 << 28, len(l4), nh, 64, bytes(src), bytes(dst)) + l4


def eth(ethertype, l3, vlans=()):
    h = b"\x00\x11\x22\x33\x44\x55" + b"\x66\x77\x88\x99\xaa\xbb"
    for tpid, vid in vlans:
        h += struct.pack("!HH", tpid, vid)
    return h + struct.pack("!H", ethertype) + l3


def client_hello(host):
    host = host.encode("latin-1")
    sni = struct.pack("!HBH", len(host) + 3, 0, len(host)) + host
    exts = struct.pack("!HH", 16, 3) + b"\x00\x01h" + struct.pack("!HH", 0, len(sni)) + sni
    body = b"\x03\x03" + b"\xab" * 32 + b"\x00" + struct.pack("!H", 2) + b"\x13\x01" + b"\x01\x00"
    body += struct.pack("!H", len(exts)) + exts
    hs = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


def dns_response():
    m = bytes([0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0])
    m += bytes([5]) + b"Video" + bytes([7]) + b"Example" + bytes([3]) + b"com" + bytes([0, 0, 1, 0, 1])
    m += bytes([0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 6, 3]) + b"cdn" + bytes([0xc0, 18])
    m += bytes([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 198, 51, 100, 7])
    m += bytes([0xc0, 12, 0, 28, 0, 1, 0, 0, 0, 60, 0, 16]) + bytes(range(16))
    return m


L, R = [10, 0, 0, 2], [192, 0, 2, 1]
L6 = [0xfd] + [0] * 14 + [2]
R6 = [0x20, 0x01, 0x0d, 0xb8] + [0] * 11 + [1]
TS = bytes([1, 1, 8, 10]) + struct.pack("!II", 1000, 2000)
SYN_OPTS = bytes([2, 4, 5, 0xb4, 4, 2, 8, 10]) + struct.pack("!II", 1000, 0) + bytes([1, 3, 3, 7])
SACK = bytes([1, 1, 5, 10]) + struct.pack("!II", 100, 200)

# decode: first byte selects the link type (see kLinkTypes in decode/decode_fuzz.cc).
NULL, ETH, RAW, RAWALT, RAWFILE, LOOP, SLL, V4, V6, SLL2 = range(10)
syn = ipv4(6, L, R, tcp(40000, 443, 1, 0, 0x02, opts=SYN_OPTS))
data = ipv4(6, R, L, tcp(443, 40000, 500, 2, 0x10, b"x" * 40, TS))
hello = ipv4(6, L, R, tcp(40000, 443, 2, 501, 0x18, client_hello("video.example.com"), TS))
dns = ipv4(17, R, L, udp(53, 5353, dns_response()))
v6 = ipv6(6, L6, R6, tcp(40001, 443, 7, 9, 0x10, b"", SACK))
v6ext = ipv6(0, L6, R6, bytes([17, 0, 1, 4, 0, 0, 0, 0]) + udp(5000, 53, b"\x00" * 12))
icmp_err = ipv4(1, R, L, bytes([3, 3, 0, 0, 0, 0, 0, 0]) + syn[:28])
frag = ipv4(17, R, L, b"\x00" * 16, frag=0x0010)
write("decode", "eth-syn", bytes([ETH]) + eth(0x0800, syn))
write("decode", "eth-data", bytes([ETH]) + eth(0x0800, data))
write("decode", "eth-qinq-hello", bytes([ETH]) + eth(0x0800, hello, [(0x88a8, 10), (0x8100, 20)]))
write("decode", "eth-dns", bytes([ETH]) + eth(0x0800, dns))
write("decode", "eth-v6-sack", bytes([ETH]) + eth(0x86dd, v6))
write("decode", "eth-arp", bytes([ETH]) + eth(0x0806, b"\x00" * 28))
write("decode", "null-icmp-error", bytes([NULL]) + struct.pack("<I", 2) + icmp_err)
write("decode", "raw-fragment", bytes([RAW]) + frag)
write("decode", "rawalt-v6ext", bytes([RAWALT]) + v6ext)
write("decode", "rawfile-syn", bytes([RAWFILE]) + syn)
write("decode", "loop-v6", bytes([LOOP]) + struct.pack("!I", 24) + v6)
write("decode", "sll-hello", bytes([SLL]) + struct.pack("!HHH8sH", 0, 1, 6, b"\x00" * 8, 0x0800) + hello)
write("decode", "sll2-dns", bytes([SLL2]) + struct.pack("!HHIHBB8s", 0x0800, 0, 2, 1, 0, 6, b"\x00" * 8) + dns)
write("decode", "v4-data", bytes([V4]) + data)
write("decode", "v6-ext", bytes([V6]) + v6ext)
# The encapsulations and the link types of serial lines, wireless and netfilter.
PPP, PPP_HDLC, CHDLC, WLAN, RADIOTAP, NFLOG = range(10, 16)
tcp_in = ipv4(6, L, R, tcp(40000, 443, 2, 501, 0x18, b"y" * 16, TS))
tcp6_in = ipv6(6, L6, R6, tcp(40001, 443, 7, 9, 0x10, b"z" * 8, SACK))
frame_in = eth(0x0800, tcp_in)[:12] + struct.pack("!H", 0x0800) + tcp_in
mpls2 = struct.pack("!II", 16 << 12 | 64, 17 << 12 | 0x100 | 64)
gre_ck = struct.pack("!HHIII", 0xb000, 0x0800, 0, 7, 1)
pptp = struct.pack("!HHHHII", 0x3081, 0x880b, 3 + len(tcp_in), 7, 1, 0) + b"\xff\x03\x21" + tcp_in
gtp_ext = bytes([0, 1, 0, 0x85, 1, 0x10, 0x01, 0x00])
gtpu = struct.pack("!BBHI", 0x36, 0xff, len(gtp_ext) + len(tcp6_in), 1) + gtp_ext + tcp6_in
teredo = b"\x00\x01\x02\x00ab" + b"\x00" * 9 + b"\x00\x00\x12\x34\x01\x02\x03\x04" + tcp6_in
geneve = struct.pack("!BBHI", 2, 0, 0x6558, 42 << 8) + b"\x00" * 8 + frame_in
erspan3 = struct.pack("!HHHH", 0x2064, 1, 0, 0) + b"\x00\x00\x00\x01" + b"\x00" * 8 + frame_in
wlan = bytes([0x88, 0x03]) + b"\x11" * 28 + b"\x00\x00" + b"\xaa\xaa\x03\x00\x00\x00\x08\x00" + tcp_in
nflog = (b"\x02\x00\x00\x00" + struct.pack("<HH", 8, 1) + b"\x08\x00\x01\x00"
         + struct.pack("<HH", 4 + len(tcp_in), 9) + tcp_in)
first_frag = ipv4(17, R, L, udp(5000, 53, b"\x00" * 24), frag=0x2000)
later_frag = ipv4(17, R, L, b"\x00" * 16, frag=0x0004)
write("decode", "eth-pppoe", bytes([ETH]) + eth(0x8864, struct.pack("!BBHHH", 0x11, 0, 1, 2 + len(tcp_in), 0x0021) + tcp_in))
write("decode", "eth-vlan-mpls", bytes([ETH]) + eth(0x8847, mpls2 + tcp6_in, [(0x8100, 5)]))
write("decode", "raw-gre-key-seq", bytes([RAW]) + ipv4(47, L, R, gre_ck + tcp_in))
write("decode", "raw-pptp", bytes([RAW]) + ipv4(47, L, R, pptp))
write("decode", "raw-vxlan", bytes([RAW]) + ipv4(17, L, R, udp(50000, 4789, b"\x08\x00\x00\x00\x00\x00\x2a\x00" + frame_in)))
write("decode", "raw-geneve", bytes([RAW]) + ipv6(17, L6, R6, udp(50000, 6081, geneve)))
write("decode", "raw-gtpu", bytes([RAW]) + ipv4(17, L, R, udp(2152, 2152, gtpu)))
write("decode", "raw-teredo", bytes([RAW]) + ipv4(17, L, R, udp(3544, 50000, teredo)))
write("decode", "raw-6in4", bytes([RAW]) + ipv4(41, L, R, tcp6_in))
write("decode", "raw-4in6", bytes([RAW]) + ipv6(4, L6, R6, tcp_in))
write("decode", "raw-erspan2", bytes([RAW]) + ipv4(47, L, R, struct.pack("!HHI", 0x1000, 0x88be, 1) + struct.pack("!HHI", 0x1064, 1, 0) + frame_in))
write("decode", "raw-erspan3", bytes([RAW]) + ipv4(47, L, R, struct.pack("!HHI", 0x1000, 0x22eb, 1) + erspan3))
write("decode", "raw-gre-4-deep", bytes([RAW]) + ipv4(4, L, R, ipv4(47, L, R, struct.pack("!HH", 0, 0x0800) + ipv4(4, L, R, ipv4(41, L, R, tcp6_in)))))
write("decode", "raw-fragments", bytes([RAW]) + first_frag)
write("decode", "raw-fragments-later", bytes([RAW]) + later_frag)
write("decode", "ppp-v4", bytes([PPP]) + b"\xff\x03\x00\x21" + tcp_in)
write("decode", "ppphdlc-v6", bytes([PPP_HDLC]) + b"\xff\x03\x00\x57" + tcp6_in)
write("decode", "chdlc-v4", bytes([CHDLC]) + b"\x0f\x00\x08\x00" + tcp_in)
write("decode", "wlan-qos-4addr", bytes([WLAN]) + wlan)
write("decode", "radiotap-wlan", bytes([RADIOTAP]) + b"\x00\x00\x08\x00\x00\x00\x00\x00" + wlan)
write("decode", "nflog-v4", bytes([NFLOG]) + nflog)

write("tls_sni", "client-hello", client_hello("video.example.com"))
write("tls_sni", "client-hello-cut", client_hello("cdn.example.net")[:90])
write("dns", "response", dns_response())
write("http_host", "get", b"GET /index.html HTTP/1.1\r\nAccept: */*\r\nHost: news.example:8080\r\n\r\n")
write("http_host", "get-cut", b"GET / HTTP/1.1\r\nHost: news.exam")


def dns_message(ident, response, rcode, name, qtype, addresses=()):
    """A query or response with one question; one A/AAAA record per address (4 or 16 bytes)."""
    flags = 0x8180 | rcode if response else 0x0100
    m = struct.pack("!HHHHHH", ident, flags, 1, len(addresses), 0, 0)
    for label in name.split("."):
        m += bytes([len(label)]) + label.encode("ascii")
    m += struct.pack("!BHH", 0, qtype, 1)
    for a in addresses:
        m += struct.pack("!HHHIH", 0xc00c, 1 if len(a) == 4 else 28, 1, 60, len(a)) + bytes(a)
    return m


write("dns", "query", dns_message(7, False, 0, "blocked.example.net", 1))
write("dns", "nxdomain", dns_message(7, True, 3, "blocked.example.net", 1))


# dns_outcomes: datagrams of op, time step, TTL, length (2 bytes, little-endian), bytes (see
# dns_outcomes/dns_outcomes_fuzz.cc). op bit 0: up (a query); bits 1-2: the flow; bit 3: cut.
def datagram(op, step, ttl, payload):
    return struct.pack("<BBBH", op, step, ttl, len(payload)) + payload


q = dns_message(7, False, 0, "blocked.example.net", 1)
forged = dns_message(7, True, 0, "blocked.example.net", 1, [[10, 10, 34, 36]])
real = dns_message(7, True, 0, "blocked.example.net", 1, [[198, 51, 100, 80]])
write("dns_outcomes", "racing",
      datagram(1, 0, 64, q) + datagram(0, 1, 64, forged) + datagram(0, 3, 52, real))
write("dns_outcomes", "retried-then-nxdomain",
      datagram(1, 0, 64, q) + datagram(1, 100, 64, q) + datagram(3, 110, 64, q) +
      datagram(0x20, 0xc1, 52, real) +
      datagram(0x02, 2, 52, dns_message(7, True, 3, "blocked.example.net", 1)) +
      datagram(0x1b, 1, 64, q[:20]) + datagram(0x0a, 1, 52, real[:40]))


def quic_sample(name):
    """A client Initial of an RFC's appendix, as test/support/quic_samples.h holds it."""
    import re
    with open(os.path.join(HERE, "..", "test", "support", "quic_samples.h")) as f:
        text = f.read()
    body = text[text.index(name):].split(";", 1)[0]
    return bytes.fromhex("".join(re.findall(r'"([0-9a-f]*)"', body)))


write("quic_initial", "rfc9001-v1", quic_sample("kRfc9001ClientInitialHex"))
write("quic_initial", "rfc9369-v2", quic_sample("kRfc9369ClientInitialHex"))
# Google QUIC Q043's public header (version flag, 8-byte connection id, "Q043", a 1-byte packet
# number), a 12-byte hash and a STREAM frame on stream 1 holding a CHLO with an SNI tag.
chlo = b"CHLO" + struct.pack("<HH", 1, 0) + b"SNI\x00" + struct.pack("<I", 11) + b"example.com"
write("quic_initial", "gquic-q043-chlo",
      bytes([0x09]) + b"\x11" * 8 + b"Q043" + b"\x01" + b"\x00" * 12 +
      bytes([0xa0, 0x01]) + struct.pack(">H", len(chlo)) + chlo)

# server_name_event: first byte 0 = a DNS response, 1 = a ClientHello; then the payload. The
# forged names are those of the reports that made events invalid or added fields.
FORGED = ['x","targeted":false,"y":"', 'live"}\x01<script>.ex\x7fample']
write("server_name_event", "dns", b"\x00" + dns_response())
write("server_name_event", "hello", b"\x01" + client_hello("Live-Video.Example"))
for i, name in enumerate(FORGED):
    write("server_name_event", "hello-forged-%d" % i, b"\x01" + client_hello(name))
    label = name.encode("latin-1")[:63]
    forged_dns = bytes([0, 1, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, len(label)]) + label + bytes(
        [0, 0, 1, 0, 1, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 9, 0, 4, 192, 0, 2, 9])
    write("server_name_event", "dns-forged-%d" % i, b"\x00" + forged_dns)

write("series_reader", "plain", b"\x00" + b"10\n11\n9.5\n10.2\n3\n2.9\n3.1\n3e0\n")
write("series_reader", "csv-header", b"\x04" + b"time,mbps\n# comment\n1,\"10\"\r\n2,+11\n3,2.5\n4,2.4\n")
write("series_reader", "csv-index", b"\x02" + b"a,b,c\n1,2,3\n4,5,-6\n")

# tcp_tracker: 18-byte records: op, step, seq(4), len(2), ts_or_ack(4), ecr(4).
def rec(op, step, seq, length, ts_or_ack, ecr):
    m = 0xffffffff
    return struct.pack("<BBIHII", op, step, seq & m, length, ts_or_ack & m, ecr & m)

t = b""
t += rec(0b0010, 0, 0xfffff000, 0, 0, 0)  # local SYN near wrap
t += rec(0b0011, 5, 7, 0, 0, 0)           # remote SYN-ACK
for i in range(6):
    t += rec(0b1000, 2, 0xfffff001 + i * 1000, 1000, 100 + i, 0)   # local data with TS, wraps
    t += rec(0b1101, 20, 8, 0, 0xfffff001 + (i + 1) * 1000, 100 + i)  # remote ACK echoing
t += rec(0b1000, 1, 0xfffff001, 1000, 200, 0)  # retransmission
t += rec(0b1000, 0x41, 0x7fffffff, 1000, 201, 0)  # huge jump, time backwards
t += rec(0b1101, 0xc0, 8, 0, 5000, 201)  # zero-length time
write("tcp_tracker", "wrap-and-jump", t)

# binner: byte 0 picks the bin width; 24-ish bytes per packet (see binner/binner_fuzz.cc).
def pkt(op, hosts, step, flags, seq, ack, tsval, tsecr, win, payload):
    b = struct.pack("<BBB", op, hosts, step)
    if (op >> 1) & 3 in (0, 1):
        b += bytes([flags])
    b += struct.pack("<IIIIH", seq, ack, tsval, tsecr, win)
    if flags & 0x02 and (op >> 1) & 3 in (0, 1):
        b += bytes([7])
    b += struct.pack("<H", payload)
    return b

b = bytes([1])
b += pkt(0x11, 0x00, 0, 0x02, 1, 0, 1, 0, 65535, 0)
b += pkt(0x10, 0x00, 4, 0x12, 500, 2, 2, 1, 65535, 0)
seq = 501
for i in range(120):
    ms = 2 if i < 60 else 20  # the rate falls ten-fold half way, RTT inflates
    b += pkt(0x10, 0x00, ms, 0x10, seq, 2, 1000 + i, 900 + i - (0 if i < 60 else 100), 65535, 1400)
    seq += 1400
    if i % 2:
        b += pkt(0x11, 0x00, 0, 0x10, 2, seq, 900 + i, 1000 + i, 65535, 0)
b += pkt(0x13, 0x10, 0, 0, 0, 0, 0, 0, 0, 512)  # UDP
b += pkt(0x16, 0x20, 0x45, 0, 0, 0, 0, 0, 0, 0)  # ICMP, backwards
b += pkt(0x10, 0x00, 0x82, 0x01, seq, 2, 5000, 5000, 0, 0)  # FIN, years later
write("binner", "download-throttled", b)


# evidence_chain: event streams as throttlewatch writes them (evidence_chain.h): every line
# ends with ,"chain":"<hex>", the SHA-256 of the previous chain value (hex) and the line
# without the field; a header first. Lines fed one by one to ChainVerifier, ParseEventLine.
def sealed(lines, prev=b"0" * 64):
    out = []
    for body in lines:
        body = body.replace(b'"previous_head":""', b'"previous_head":"' + prev + b'"', 1)
        chain = hashlib.sha256(prev + body).hexdigest().encode()
        out.append(body[:-1] + b',"chain":"' + chain + b'"}')
        prev = chain
    return out, prev


def event(i, state, ts):
    return (b'{"schema":1,"id":%d,"kind":"throttle","state":"%s","ts":%d.000,"time":"x",'
            b'"detected_at":%d.000,"scope":"flow","direction":"down","flow":{"proto":"tcp",'
            b'"local":"10.0.0.2","local_port":40002,"remote":"192.0.2.1","remote_port":443},'
            b'"rate_before_bps":1000000,"rate_after_bps":250000,"targeted":true,'
            b'"confidence":0.90}') % (i, state, ts, ts + 4)


replay_header = (b'{"schema":1,"record":"header","program":"throttlewatch","version":"0.1.0",'
                 b'"mode":"replay","inputs":[{"file":"a.pcap","bytes":3,"sha256":"'
                 + hashlib.sha256(b"abc").hexdigest().encode() + b'"},{"file":"-",'
                 b'"sha256":null,"note":"sha256 unavailable for standard input"}],'
                 b'"previous_head":""}')
stream, head = sealed([replay_header, event(1, b"start", 1700000000),
                       event(1, b"end", 1700000060)])
write("evidence_chain", "replay", b"\n".join(stream) + b"\n")
edited = list(stream)
edited[1] = edited[1].replace(b'"rate_after_bps":250000', b'"rate_after_bps":950000')
write("evidence_chain", "edited", b"\n".join(edited) + b"\n")
live = (b'{"schema":1,"record":"header","program":"throttlewatch","version":"0.1.0",'
        b'"mode":"live","reason":"%s","host":"sensor-1","interface":"eth0",'
        b'"started_at":"2023-11-14T22:13:20.000Z","written_at":"2023-11-14T22:13:20.000Z",'
        b'"previous_head":""}')
first, head = sealed([live % b"start", event(1, b"start", 1700000000)])
second, _ = sealed([live % b"reopen", event(1, b"end", 1700000060)], head)
write("evidence_chain", "live-rotated", b"\n".join(first + second) + b"\n")
write("evidence_chain", "names", 'caf\u00e9 "q" \\ \x01\n'.encode() + b"\xff\xed\xa0\x80\n")
