#!/usr/bin/env python3
"""Writes the small crafted capture files used by test/capture/capture_file_test.cc.

Each file has one defect (or one survivable anomaly). Run from this directory to regenerate;
the files are committed so the tests do not depend on Python.
"""
import struct

T0 = 1_700_000_000


def packet(i, size=66):
    """Ethernet + IPv4 + TCP from 10.0.0.2:40000+i to 192.0.2.1:443, `size` bytes."""
    eth = bytes(6) + bytes(6) + b"\x08\x00"
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, size - 14, 0, 0, 64, 6, 0,
                     bytes([10, 0, 0, 2]), bytes([192, 0, 2, 1]))
    tcp = struct.pack(">HHIIBBHHH", 40000 + i, 443, 1, 0, 5 << 4, 0x10, 65535, 0, 0)
    return (eth + ip + tcp + bytes(size))[:size]


def pcap(records, linktype=1, snaplen=65535, endian="<", magic=0xA1B2C3D4):
    out = struct.pack(endian + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype)
    for ts, frac, data, caplen, wire in records:
        out += struct.pack(endian + "IIII", ts, frac, caplen, wire) + data
    return out


def rec(i, t=None, data=None, caplen=None, wire=None):
    data = packet(i) if data is None else data
    t = T0 + i if t is None else t
    return (t, 0, data, len(data) if caplen is None else caplen,
            len(data) if wire is None else wire)


def block(btype, body, endian="<"):
    body += bytes((-len(body)) % 4)
    n = len(body) + 12
    return struct.pack(endian + "II", btype, n) + body + struct.pack(endian + "I", n)


def shb(endian="<"):
    return block(0x0A0D0D0A, struct.pack(endian + "IHHq", 0x1A2B3C4D, 1, 0, -1), endian)


def idb(linktype, endian="<", tsresol=None):
    body = struct.pack(endian + "HHI", linktype, 0, 65535)
    if tsresol is not None:
        body += struct.pack(endian + "HH", 9, 1) + bytes([tsresol, 0, 0, 0])
        body += struct.pack(endian + "HH", 0, 0)
    return block(1, body, endian)


def epb(iface, ts_us, data, endian="<"):
    return block(6, struct.pack(endian + "IIIII", iface, ts_us >> 32, ts_us & 0xFFFFFFFF,
                                len(data), len(data)) + data, endian)


def write(name, data):
    with open(name, "wb") as f:
        f.write(data)


good = [rec(i) for i in range(3)]
write("ok_big_endian_nanosecond.pcap",
      pcap([(T0 + i, 500, packet(i), 66, 1514) for i in range(3)], endian=">",
           magic=0xA1B23C4D))
write("wrong_magic.pcap", b"GIF89a, certainly not a capture" + bytes(64))
write("truncated_header.pcap", pcap([])[:10])
write("truncated_last_packet.pcap", pcap(good)[:-20])
write("caplen_absurd.pcap",
      pcap([rec(0), (T0 + 1, 0, b"", 1_000_000, 1_000_000), rec(2)])[: 24 + 16 + 66 + 16 + 8])
write("caplen_over_snaplen.pcap", pcap([rec(0), rec(1)], snaplen=64))
write("zero_length.pcap", pcap([rec(0), rec(1, data=b"", wire=60), rec(2)]))
write("time_backwards.pcap", pcap([rec(0, t=T0 + 5), rec(1, t=T0 + 3), rec(2, t=T0 + 6)]))
write("time_jump.pcap",
      pcap([rec(0), rec(1, t=T0 + 5 * 366 * 86400), rec(2, t=T0 + 2), rec(3, t=T0 + 3)]))
write("unknown_link_type.pcap", pcap(good, linktype=147))
# pcapng: an Ethernet and a raw-IP interface (microseconds), a USER0 interface whose packets
# are skipped, an unknown block type that is skipped, and a second section.
us = T0 * 1_000_000
write("multi_interface.pcapng",
      shb() + idb(1) + idb(101) + idb(147) +
      epb(0, us, packet(0)) + epb(1, us + 1000, packet(1)[14:]) +
      block(0x0BADF00D & 0x7FFFFFFF, b"mystery") + epb(2, us + 1500, b"\x00" * 20) +
      epb(0, us + 2000, packet(2)) +
      shb() + idb(1, tsresol=9) + epb(0, (T0 + 3) * 1_000_000_000, packet(3)))
# pcapng whose only interface has a link type that cannot be decoded: fatal, as in pcap.
write("unknown_link_type.pcapng",
      shb() + idb(147) + epb(0, us, b"\x00" * 20) + epb(0, us + 1000, b"\x00" * 20))
write("multi_interface_big_endian.pcapng",
      shb(">") + idb(1, ">") + idb(101, ">") + epb(0, us, packet(0), ">") +
      epb(1, us + 1000, packet(1)[14:], ">"))
bad = bytearray(shb() + idb(1) + epb(0, us, packet(0)) + epb(0, us + 1, packet(1)))
bad[-4] ^= 0xFF  # the last block's trailing length disagrees with its leading length
write("bad_block_trailer.pcapng", bytes(bad))
write("undeclared_interface.pcapng", shb() + idb(1) + epb(0, us, packet(0)) + epb(3, us + 1, packet(1)))
write("truncated_block.pcapng", (shb() + idb(1) + epb(0, us, packet(0)) + epb(0, us + 1, packet(1)))[:-30])
