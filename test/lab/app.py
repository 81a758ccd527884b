#!/usr/bin/env python3
"""Tiny TCP applications for the lab: traffic whose demand changes by itself.

iperf3 sends at one rate for a whole test. The lab's controls need applications that change
what they ask for without any intervention in the network, so a detector that mistakes them for
throttling is caught:

  app.py server --port P
      Serves every connection on [::]:P (IPv4 too) in a thread. The client's first line is a
      JSON request: {"op": "send", "schedule": [[t, bps|"max"], ...], "duration": s,
      "chunk": bytes} (send paced per schedule, t relative to the request), {"op": "sink"}
      (read and discard), {"op": "get"} (then lines "N\\n": send N bytes at once, per line).
      It also answers every UDP datagram on P with 48 bytes (the `ntp` client's server).

  app.py client paced  --remote A --port P [--cport C] --direction down|up
                       --schedule 0:3000000,20:1000000 --duration S
      A paced stream (live video) that lowers its own bitrate. No catch-up: an encoder that
      falls behind drops frames, so at most 0.25 s of backlog is kept.
  app.py client video  --remote A --port P [--cport C] --chunk BYTES --period S
                       --startup S --duration S
      Adaptive-streaming-like fetching on one connection: segments back to back for `startup`
      seconds (filling the player's buffer), then one segment every `period` seconds (on/off).
  app.py client web    --remote A --port P --parallel N --rate R --size-min B --size-max B
                       --duration S [--seed N]
      Many short web-like connections: N workers, each opening ~R connections per second
      (exponential gaps), fetching a random size, closing.
  app.py client slowread --remote A --port P [--cport C] --rcvbuf B
                       --schedule 0:4000000,15:300000,30:0,35:4000000 --duration S
      A bulk download (the server sends as fast as TCP lets it) read by a slow receiver with a
      small receive buffer at the scheduled read rates; 0 stops reading (zero window).
  app.py client player --remote A --port P [--cport C] --ladder 500000,1000000,2500000,5000000
                       --segment S --buffer S [--schedule 0:max,30:2500000] --duration S
      An adaptive video player on one connection: segments of `segment` seconds of video at
      the bitrate its throughput estimate allows (one rung up at a time, down at once), fetched
      while the buffer is below `buffer` seconds (on/off once full); the schedule caps the
      bitrate (a user or data-saver choice). Every switch is printed as a JSON line with its ts.
  app.py client browse --remote A --port P --objects N --think S --size-min B --size-max B
                       --duration S [--seed N]
      Browsing one site: a page is 1..N parallel short connections (object sizes spread
      log-uniformly), then an idle gap (exponential, mean `think` seconds) while it is read.
  app.py client ntp    --remote A --port P [--cport C] --period S --duration S
      NTP-like UDP: a 48-byte request every ~period seconds, answered by the server's 48 bytes.
  app.py client keepalive --remote A --port P [--cport C] --period S --duration S
                       [--tcp-keepidle S]
      An idle application's connection: a 64-byte request and answer every ~period seconds
      (0: none), and the kernel's TCP keep-alive probes after `tcp-keepidle` idle seconds.
  app.py client lan    --duration S [--lan-peer ADDR]
      What an office LAN sends by itself: mDNS queries (224.0.0.251:5353), SSDP M-SEARCH and
      NOTIFY (239.255.255.250:1900), and now and then a datagram to an absent neighbour
      (--lan-peer: ARP requests nobody answers). No server.
  app.py client quic   --remote A --port P --chunk BYTES --period S --duration S
      QUIC downloads with a real QUIC stack (ngtcp2's example client, `gtlsclient`): one new
      connection per file of `chunk` bytes, one every `period` seconds (or right after the
      previous one when it took longer). The server is ngtcp2's `gtlsserver` (started by lab.py).

For the blocking scenarios, web services told apart by their server name (SNI) only:

  app.py tls-server --bind ADDR --port P --cert PEM --key PEM [--delay S] [--idle-close S]
                    [--handshake-timeout S] [--control FILE]
      A threaded TLS server on ADDR:P answering any server name with a small HTTP/1.1 200 page
      (keep-alive unless the request says close). --delay: seconds it waits after accepting
      before its handshake (a slow server: the kernel has completed the TCP handshake and ACKs
      the ClientHello meanwhile). --idle-close: it closes a connection idle that long after an
      answer (close_notify, then FIN). A client that sends no ClientHello within
      --handshake-timeout (default 20 s) is dropped. --control: a JSON file {"delay": S,
      "idle_close": S} read again whenever it changes (the lab changes them mid-run). Prints a
      JSON line per connection (server name, outcome).
  app.py client tls_attempts --remote A --port P --name SNI --period S --duration S
      A NEW connection every `period` seconds from an ephemeral port: TLS handshake with
      server_hostname=SNI (no certificate check), a tiny GET, the answer, close. Each attempt in
      a thread of its own with a --timeout (default 10 s) overall, so a hanging one never delays
      the next. A JSON line per attempt: start (epoch s), outcome (ok, reset, refused, timeout,
      tls_error, error), seconds.
  app.py client tls_idle --remote A --port P --name SNI --period S --duration S
      A long-lived connection every `period` seconds: handshake, one keep-alive GET, then left
      idle until the server closes it (or the end). A JSON line per connection (idle seconds).
  app.py client quic_attempts --remote A --port P --name SNI --chunk BYTES --period S
                    --duration S
      A new QUIC connection (ngtcp2's `gtlsclient`, SNI as given) every `period` seconds
      fetching `chunk` bytes, each in a thread of its own, killed after --timeout (default
      10 s). A JSON line per attempt like tls_attempts' (outcome ok, timeout, error).

For the DNS blocking scenarios, a resolver, a censor's injector and a stub resolver (UDP, IPv4):

  app.py dns-server --bind ADDR [--port 53] --zone NAME=ADDR[,ADDR] ... [--delay-min S]
                    [--delay-max S] [--bogon ADDR] [--control FILE]
      A resolver answering A and AAAA questions for the zone's names with their addresses of
      that family (none: NOERROR without answers), NXDOMAIN for any other name, each answer
      after a delay drawn from --delay-min..--delay-max (default 20-40 ms: its path to the
      authoritative servers; what lets an on-path injector win the race). --control: a JSON
      file {"NAME": {"mode": M}, ...} read again whenever it changes, M one of normal, bogon
      (A: the --bogon address, 10.10.34.34 by default, a block page's), nxdomain, slow (with
      "delay": [min, max] s; the same query sent again, same client, port and id, while it
      resolves is answered with it, at the same time).
      Prints a JSON line per query (mode, answer, delay).
  app.py dns-injector --dev DEV --name NAME [--name NAME ...] --answer ADDR [--ttl 64]
      An on-path censor: sniffs the frames arriving on DEV (an AF_PACKET socket, no filter in
      the path) and answers each A query for a NAME (or a name under it) at once from the same
      device with a forged answer, ADDR, as if from the resolver the query went to (same id,
      ports and question), with its own IP TTL; the query goes on, so the real answer follows.
      Prints a JSON line when ready and per forged answer.
  app.py client dns_lookups --remote RESOLVER --port 53 --name NAME --period S [--jitter J]
                    --duration S
      A lookup every ~period seconds, as glibc's stub makes one: A and AAAA queries with
      random ids from a new socket (random port), what is unanswered sent again (same id and
      port) after 1 s, given up after 4 s; the first answer to each query is taken. A JSON line
      per lookup like tls_attempts' (outcome ok, nodata, nxdomain, timeout; the A answer's
      addresses; sends).

For the HTTP block-page scenarios, plain HTTP/1.1 on port 80 (IPv4), services told apart by
their Host header only, and a censor's injector:

  app.py http-server --bind ADDR [--port 80] [--redirect NAME=URL ...] [--request-timeout S]
      A threaded HTTP/1.1 server on ADDR:P answering any Host with a small 200 page (~1.9 kB;
      keep-alive unless the request says close), a --redirect NAME with its own "301 Moved
      Permanently" to URL (a site that sends plain HTTP to https). A connection whose request
      has not come within --request-timeout (default 20 s) is closed. A JSON line per
      connection (host, status, outcome).
  app.py http-injector --dev DEV --name NAME [--name NAME ...] [--port 80] --location URL
                    [--ttl 64]
      An on-path censor: sniffs the frames arriving on DEV (an AF_PACKET socket) and answers
      each IPv4 TCP segment to --port whose payload holds "Host: NAME" at once from the same
      device with a forged "302 Found" to URL (Connection: close), as if from the server: seq
      = the request's ack, ack = its seq + its length, PSH|ACK|FIN, its own IP TTL. Dropping
      the request itself is the router's iptables' job. A JSON line when ready and per answer.
  app.py client http_attempts --remote A --port 80 --name HOST --period S --duration S
      A NEW connection every `period` seconds: GET / with Host HOST and Connection: close, the
      answer read until the server closes it, each attempt in a thread of its own with a
      --timeout (default 10 s). A JSON line per attempt like tls_attempts' (outcome ok,
      redirected, reset, refused, timeout, error; the status and Location).

Python 3 standard library only. Exits 0 when the client ran its course, 1 on a socket error.
"""

import argparse
import heapq
import json
import math
import os
import random
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time

BLOCK = 65536  # bytes per write when sending "max"
MAX_BACKLOG_S = 0.25  # paced senders drop what is older than this (no catch-up bursts)


def parse_schedule(text):
    """'0:3000000,20:max' -> [(0.0, 3000000.0), (20.0, None)] (None = as fast as possible)."""
    out = []
    for part in text.split(","):
        t, r = part.split(":")
        out.append((float(t), None if r == "max" else float(r)))
    return sorted(out)


def rate_at(schedule, t):
    rate = schedule[0][1]
    for ts, r in schedule:
        if ts <= t:
            rate = r
    return rate


class Pacer:
    """Bytes due by now under a rate schedule, with a bounded backlog (no catch-up)."""

    def __init__(self, schedule):
        self.schedule = schedule
        self.t0 = time.monotonic()
        self.last = 0.0
        self.due = 0.0

    def advance(self):
        """Seconds since start; updates the bytes due. Returns (t, rate or None)."""
        t = time.monotonic() - self.t0
        rate = rate_at(self.schedule, t)
        if rate is not None:
            self.due += rate / 8.0 * (t - self.last)
        self.last = t
        return t, rate

    def clamp(self, done, rate):
        """Forgets what an app would drop: keeps at most MAX_BACKLOG_S of backlog."""
        if rate is not None:
            self.due = min(self.due, done + rate / 8.0 * MAX_BACKLOG_S)


def paced_send(sock, schedule, duration, chunk):
    pacer = Pacer(schedule)
    payload = b"\0" * max(chunk, BLOCK)
    sent = 0
    while True:
        t, rate = pacer.advance()
        if t >= duration:
            return sent
        if rate is None:
            sock.sendall(payload[:BLOCK])
            sent += BLOCK
            continue
        pacer.clamp(sent, rate)
        while sent + chunk <= pacer.due:
            sock.sendall(payload[:chunk])
            sent += chunk
        time.sleep(0.005)


def paced_read(sock, schedule, duration):
    """Reads at the scheduled rates (None: as fast as it comes; 0: not at all)."""
    pacer = Pacer(schedule)
    got = 0
    sock.settimeout(0.05)
    while True:
        t, rate = pacer.advance()
        if t >= duration:
            return got
        want = BLOCK if rate is None else int(pacer.due - got)
        if want <= 0:
            time.sleep(0.005)
            continue
        try:
            data = sock.recv(min(want, BLOCK))
        except socket.timeout:
            continue
        if not data:
            return got
        got += len(data)
        if rate is not None and rate > 0:
            time.sleep(0.002)


def drain(sock):
    n = 0
    while True:
        data = sock.recv(BLOCK)
        if not data:
            return n
        n += len(data)


def read_line(sock):
    buf = b""
    while not buf.endswith(b"\n"):
        c = sock.recv(1)
        if not c:
            return None
        buf += c
    return buf.decode()


def recv_exact(sock, n):
    got = 0
    while got < n:
        data = sock.recv(min(BLOCK, n - got))
        if not data:
            raise ConnectionError("server closed after %d of %d bytes" % (got, n))
        got += len(data)


# ---------------------------------------------------------------------------
# Server

def serve_one(conn):
    try:
        with conn:
            line = read_line(conn)
            if line is None:
                return
            req = json.loads(line)
            op = req.get("op")
            if op == "send":
                sched = [(float(t), None if r == "max" else float(r)) for t, r in req["schedule"]]
                paced_send(conn, sched, float(req["duration"]), int(req.get("chunk", 2896)))
                conn.shutdown(socket.SHUT_WR)
                drain(conn)
            elif op == "sink":
                drain(conn)
            elif op == "get":
                payload = b"\0" * BLOCK
                while True:
                    line = read_line(conn)
                    if line is None:
                        return
                    left = int(line)
                    while left > 0:
                        n = min(left, BLOCK)
                        conn.sendall(payload[:n])
                        left -= n
    except (OSError, ValueError) as e:
        print("connection: %s" % e, file=sys.stderr, flush=True)


def serve_udp(port):
    u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    u.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    u.bind(("::", port))
    answer = b"\x24" + b"\0" * 47  # NTP v4, mode 4 (server), the rest zeros
    while True:
        _, peer = u.recvfrom(2048)
        u.sendto(answer, peer)


def cmd_server(a):
    threading.Thread(target=serve_udp, args=(a.port,), daemon=True).start()
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", a.port))
    s.listen(128)
    print("listening on port %d" % a.port, flush=True)
    while True:
        conn, _ = s.accept()
        threading.Thread(target=serve_one, args=(conn,), daemon=True).start()


# ---------------------------------------------------------------------------
# TLS server: several services on one address, told apart by their server name only

PAGE = (b"<!doctype html><html><head><title>lab</title></head><body>" + b"x" * 1800 +
        b"</body></html>\n")


class Control:
    """Server settings from the command line, overridden by a JSON control file that is read
    again whenever its modification time changes."""

    def __init__(self, a):
        self.base = {"delay": a.delay, "idle_close": a.idle_close}
        self.path = a.control
        self.mtime = None
        self.over = {}
        self.lock = threading.Lock()

    def get(self, key):
        with self.lock:
            if self.path:
                try:
                    m = os.stat(self.path).st_mtime_ns
                    if m != self.mtime:
                        with open(self.path) as f:
                            self.over = json.load(f)
                        self.mtime = m
                except (OSError, ValueError):
                    pass
            return self.over.get(key, self.base[key])


def read_request(tls):
    """One HTTP request's head (bytes), or None at EOF."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        data = tls.recv(4096)
        if not data:
            return None
        buf += data
        if len(buf) > 65536:
            raise ValueError("request head too long")
    return buf


def serve_tls_one(conn, peer, ctx, control, a):
    t_accept = time.monotonic()
    info = {"event": "conn", "peer": peer[0], "sni": None, "requests": 0,
            "delay_s": float(control.get("delay") or 0)}
    idle = control.get("idle_close")
    try:
        with conn:
            if info["delay_s"] > 0:
                time.sleep(info["delay_s"])  # accepted: the kernel ACKs what comes meanwhile
            conn.settimeout(a.handshake_timeout)
            tls = ctx.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
            try:
                tls.do_handshake()
            except socket.timeout:
                info["outcome"] = "handshake timeout"
                return
            info["sni"] = getattr(tls, "lab_sni", None)
            while True:
                try:
                    head = read_request(tls)
                except socket.timeout:
                    info["outcome"] = "idle close"
                    close_notify(tls)
                    return
                if head is None:
                    info["outcome"] = "client closed"
                    return
                info["requests"] += 1
                close = b"connection: close" in head.lower()
                tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
                            b"Content-Length: %d\r\nConnection: %s\r\n\r\n" %
                            (len(PAGE), b"close" if close else b"keep-alive") + PAGE)
                if close:
                    info["outcome"] = "answered, closed"
                    close_notify(tls)
                    return
                tls.settimeout(float(idle) if idle else a.keepalive_timeout)
    except (OSError, ValueError) as e:
        info["outcome"] = "error: %s" % e
    finally:
        info["seconds"] = round(time.monotonic() - t_accept, 3)
        emit(**info)


def close_notify(tls):
    """Says goodbye the TLS way (close_notify), then the socket closes (FIN)."""
    try:
        tls.settimeout(0.5)
        tls.unwrap()
    except (OSError, ValueError):
        pass


def cmd_tls_server(a):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)

    def remember(sock, name, _ctx):
        sock.lab_sni = name  # any name is served, with the one certificate

    ctx.sni_callback = remember
    control = Control(a)
    fam = socket.AF_INET6 if ":" in a.bind else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a.bind, a.port))
    s.listen(128)
    print("listening on %s port %d" % (a.bind, a.port), flush=True)
    while True:
        conn, peer = s.accept()
        threading.Thread(target=serve_tls_one, args=(conn, peer, ctx, control, a),
                         daemon=True).start()


# ---------------------------------------------------------------------------
# Plain HTTP: one server per address, services told apart by their Host header

def http_response(status, headers, body):
    """An HTTP/1.1 response: status line ("302 Found"), headers [(name, value)], body."""
    head = "HTTP/1.1 %s\r\n" % status + "".join("%s: %s\r\n" % h for h in headers)
    return head.encode() + b"Content-Length: %d\r\n\r\n" % len(body) + body


def http_host(head):
    """The Host header's value of a request head (bytes), lower case, without a port."""
    for line in head.split(b"\r\n")[1:]:
        if line.lower().startswith(b"host:"):
            return line[5:].strip().decode("ascii", "replace").lower().split(":")[0]
    return None


def serve_http_one(conn, peer, redirects, a):
    info = {"event": "conn", "peer": peer[0], "host": None, "requests": 0}
    t_accept = time.monotonic()
    try:
        with conn:
            while True:
                conn.settimeout(a.request_timeout)
                try:
                    head = read_request(conn)
                except socket.timeout:
                    info["outcome"] = "no request, closed" if not info["requests"] \
                        else "idle close"
                    return
                if head is None:
                    info["outcome"] = "client closed"
                    return
                info["requests"] += 1
                info["host"] = http_host(head)
                close = b"connection: close" in head.lower()
                conn_hdr = ("Connection", "close" if close else "keep-alive")
                if info["host"] in redirects:  # the site's own redirect (to https, say)
                    info["status"] = 301
                    body = b"<html><body>Moved</body></html>\n"
                    conn.sendall(http_response("301 Moved Permanently", [
                        ("Location", redirects[info["host"]]),
                        ("Content-Type", "text/html"), conn_hdr], body))
                else:
                    info["status"] = 200
                    conn.sendall(http_response("200 OK", [("Content-Type", "text/html"),
                                                          conn_hdr], PAGE))
                if close:
                    info["outcome"] = "answered, closed"
                    return
    except (OSError, ValueError) as e:
        info["outcome"] = "error: %s" % e
    finally:
        info["seconds"] = round(time.monotonic() - t_accept, 3)
        emit(**info)


def cmd_http_server(a):
    redirects = {}
    for item in a.redirect:
        name, _, url = item.partition("=")
        redirects[name.lower()] = url
    fam = socket.AF_INET6 if ":" in a.bind else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a.bind, a.port))
    s.listen(128)
    print("listening on %s port %d" % (a.bind, a.port), flush=True)
    while True:
        conn, peer = s.accept()
        threading.Thread(target=serve_http_one, args=(conn, peer, redirects, a),
                         daemon=True).start()


# ---------------------------------------------------------------------------
# DNS: a resolver whose answer for each name can be switched, an on-path injector

DNS_A, DNS_AAAA = 1, 28
DNS_NOERROR, DNS_NXDOMAIN = 0, 3
DNS_ANSWER_TTL = 300  # the resolver's and the injector's record TTL (s)


def dns_name(name):
    """'news.example' -> its wire form (length-prefixed labels, no compression)."""
    out = b""
    for label in name.strip(".").split("."):
        out += bytes([len(label)]) + label.encode("ascii")
    return out + b"\0"


def dns_read_name(msg, p):
    """(name in lower case, offset after it) of the name at offset p, pointers followed."""
    labels, end = [], None
    for _ in range(64):
        n = msg[p]
        if n & 0xC0 == 0xC0:
            end = p + 2 if end is None else end
            p = ((n & 0x3F) << 8) | msg[p + 1]
            continue
        if n == 0:
            return ".".join(labels).lower(), p + 1 if end is None else end
        labels.append(msg[p + 1:p + 1 + n].decode("ascii", "replace"))
        p += 1 + n
    raise ValueError("DNS name too long or a pointer loop")


def dns_parse(msg):
    """A DNS message's header, its one question and its A/AAAA answers: a dict of id, qr, rd,
    rcode, name (lower case), qtype, question (its bytes: name, type, class) and addresses (in
    message order). Raises ValueError, IndexError or struct.error on what it cannot read."""
    ident, flags, qdcount, ancount = struct.unpack("!HHHH", msg[:8])
    if qdcount != 1:
        raise ValueError("%d questions" % qdcount)
    name, p = dns_read_name(msg, 12)
    qtype = struct.unpack("!H", msg[p:p + 2])[0]
    out = {"id": ident, "qr": flags >> 15, "rd": (flags >> 8) & 1, "rcode": flags & 15,
           "name": name, "qtype": qtype, "question": msg[12:p + 4], "addresses": []}
    p += 4
    for _ in range(ancount):
        _, p = dns_read_name(msg, p)
        rtype, _, _, rdlen = struct.unpack("!HHIH", msg[p:p + 10])
        rdata = msg[p + 10:p + 10 + rdlen]
        if len(rdata) != rdlen:
            raise ValueError("answer cut short")
        if (rtype, rdlen) in ((DNS_A, 4), (DNS_AAAA, 16)):
            fam = socket.AF_INET if rdlen == 4 else socket.AF_INET6
            out["addresses"].append(socket.inet_ntop(fam, rdata))
        p += 10 + rdlen
    return out


def dns_query(ident, name, qtype):
    """A recursive query (RD set) for name/qtype, class IN."""
    return (struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + dns_name(name) +
            struct.pack("!HH", qtype, 1))


def dns_answer(q, rcode, addresses, ttl=DNS_ANSWER_TTL):
    """The answer to the parsed query q: its id and question, RA set, RD copied, the addresses
    as A or AAAA records (each naming the question by a pointer)."""
    rrs = b""
    for addr in addresses:
        fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
        rdata = socket.inet_pton(fam, addr)
        rrs += struct.pack("!HHHIH", 0xC00C, DNS_AAAA if fam == socket.AF_INET6 else DNS_A, 1,
                           ttl, len(rdata)) + rdata
    flags = 0x8000 | q["rd"] << 8 | 0x0080 | rcode
    return struct.pack("!HHHHHH", q["id"], flags, 1, len(addresses), 0, 0) + q["question"] + rrs


class WatchedJson:
    """A JSON file read again whenever it is replaced or changes ({} while it is missing)."""

    def __init__(self, path):
        self.path = path
        self.key = None
        self.value = {}

    def get(self):
        if self.path:
            try:
                st = os.stat(self.path)
                key = (st.st_ino, st.st_mtime_ns, st.st_size)
                if key != self.key:
                    with open(self.path) as f:
                        self.value = json.load(f)
                    self.key = key
            except (OSError, ValueError):
                pass
        return self.value


def dns_resolver_answer(q, zone, mode, bogon):
    """(rcode, addresses) the resolver gives query q in `mode` (normal, slow, bogon, nxdomain):
    the zone's addresses of the question's family; NXDOMAIN for a name outside the zone."""
    addrs = zone.get(q["name"])
    if addrs is None or mode == "nxdomain":
        return DNS_NXDOMAIN, []
    if mode == "bogon":
        addrs = [bogon]  # an A record; an AAAA question gets no address
    want = {DNS_A: socket.AF_INET, DNS_AAAA: socket.AF_INET6}.get(q["qtype"])
    return DNS_NOERROR, [x for x in addrs if want == (socket.AF_INET6 if ":" in x
                                                      else socket.AF_INET)]


def cmd_dns_server(a):
    """A resolver on ADDR:53/udp answering from its zone after a small delay (its path to the
    authoritative servers, or its cache); per-name modes from the control file."""
    zone = {}
    for item in a.zone:
        name, addrs = item.split("=", 1)
        zone[name.lower().strip(".")] = addrs.split(",")
    control = WatchedJson(a.control)
    rng = random.Random()
    s = socket.socket(socket.AF_INET6 if ":" in a.bind else socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((a.bind, a.port))
    due = []  # heap of (monotonic due time, seq, answer, peer)
    cond = threading.Condition()

    def sender():
        while True:
            with cond:
                while not due or due[0][0] > time.monotonic():
                    cond.wait(due[0][0] - time.monotonic() if due else None)
                _, _, data, peer = heapq.heappop(due)
            s.sendto(data, peer)

    threading.Thread(target=sender, daemon=True).start()
    pending = {}  # (client, port, id, name, qtype) -> when its slow resolution completes
    seq = 0
    print("listening on %s udp port %d" % (a.bind, a.port), flush=True)
    while True:
        msg, peer = s.recvfrom(4096)
        now = time.monotonic()
        try:
            q = dns_parse(msg)
        except (ValueError, IndexError, struct.error):
            continue
        if q["qr"]:
            continue
        setting = control.get().get(q["name"], {})
        mode = setting.get("mode", "normal")
        delay = rng.uniform(a.delay_min, a.delay_max)
        if mode == "slow":
            # A query sent again (same client, port and id) while it resolves is answered
            # with it, as a recursive resolver joins a duplicate to the pending resolution; a
            # new lookup starts one of its own.
            key = (peer[0], peer[1], q["id"], q["name"], q["qtype"])
            ready = pending.pop(key, 0.0)
            if ready <= now:
                ready = now + rng.uniform(*setting.get("delay", (1.5, 3.0)))
            pending[key] = ready
            for k in [k for k, t in pending.items() if t < now - 10]:
                del pending[k]  # long answered
            delay = ready - now
        rcode, addrs = dns_resolver_answer(q, zone, mode, a.bogon)
        with cond:
            seq += 1
            heapq.heappush(due, (now + delay, seq, dns_answer(q, rcode, addrs), peer))
            cond.notify()
        emit(event="query", peer=peer[0], port=peer[1], id=q["id"], name=q["name"],
             qtype=q["qtype"], mode=mode, rcode=rcode, answer=addrs, delay_s=round(delay, 3))


ETH_P_IP = 0x0800
PACKET_OUTGOING = 4  # what an AF_PACKET socket sees of the frames its device sends


def inet_checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv4_dns_query(frame):
    """(parsed query, IP header length) of an Ethernet frame holding a whole, unfragmented
    IPv4/UDP DNS query to port 53, else None."""
    if len(frame) < 34 or frame[12:14] != b"\x08\x00" or frame[14] >> 4 != 4:
        return None
    ip = frame[14:]
    ihl = (ip[0] & 15) * 4
    total, frag = struct.unpack("!H", ip[2:4])[0], struct.unpack("!H", ip[6:8])[0]
    if ip[9] != 17 or frag & 0x3FFF or len(ip) < total or total < ihl + 8:
        return None
    if struct.unpack("!H", ip[ihl + 2:ihl + 4])[0] != 53:
        return None
    try:
        q = dns_parse(ip[ihl + 8:total])
    except (ValueError, IndexError, struct.error):
        return None
    return (None if q["qr"] else q), ihl


def forged_frame(frame, ihl, q, answer, ttl):
    """The frame answering the query in `frame` (parsed: q) with one A record `answer`, as if
    from the resolver it went to: MAC addresses, IP addresses and ports swapped, IP TTL `ttl`
    (the router's own packet: no hop has counted it down)."""
    ip = frame[14:]
    client, resolver = ip[12:16], ip[16:20]
    cport = ip[ihl:ihl + 2]
    dns = dns_answer(q, DNS_NOERROR, [answer])
    udp = struct.pack("!H2sHH", 53, cport, 8 + len(dns), 0) + dns
    csum = inet_checksum(resolver + client + struct.pack("!BBH", 0, 17, len(udp)) + udp)
    udp = udp[:6] + struct.pack("!H", csum or 0xFFFF) + udp[8:]
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), random.getrandbits(16), 0, ttl,
                      17, 0, resolver, client)
    hdr = hdr[:10] + struct.pack("!H", inet_checksum(hdr)) + hdr[12:]
    return frame[6:12] + frame[0:6] + frame[12:14] + hdr + udp


def cmd_dns_injector(a):
    """Sniffs the frames arriving on --dev (AF_PACKET) and answers every A query for a --name
    (or a name under it) at once with a forged answer; the query itself goes on unharmed."""
    names = [n.lower().strip(".") for n in a.name]
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP))
    s.bind((a.dev, ETH_P_IP))
    emit(event="ready", dev=a.dev, names=names, answer=a.answer, ttl=a.ttl)
    while True:
        frame, addr = s.recvfrom(65535)
        if addr[2] == PACKET_OUTGOING:
            continue
        got = ipv4_dns_query(frame)
        if not got or got[0] is None or got[0]["qtype"] != DNS_A:
            continue
        q, ihl = got
        if not any(q["name"] == n or q["name"].endswith("." + n) for n in names):
            continue
        s.send(forged_frame(frame, ihl, q, a.answer, a.ttl))
        emit(event="forged", client=socket.inet_ntoa(frame[26:30]),
             port=struct.unpack("!H", frame[14 + ihl:16 + ihl])[0], id=q["id"], name=q["name"],
             answer=a.answer)


def ipv4_tcp_segment(frame, port):
    """(IP header length, TCP header length) of an Ethernet frame holding a whole,
    unfragmented IPv4 TCP segment to `port`, else None."""
    if len(frame) < 54 or frame[12:14] != b"\x08\x00" or frame[14] >> 4 != 4:
        return None
    ip = frame[14:]
    ihl = (ip[0] & 15) * 4
    total, frag = struct.unpack("!H", ip[2:4])[0], struct.unpack("!H", ip[6:8])[0]
    if ip[9] != 6 or frag & 0x3FFF or len(ip) < total or total < ihl + 20:
        return None
    if struct.unpack("!H", ip[ihl + 2:ihl + 4])[0] != port:
        return None
    return ihl, (ip[ihl + 12] >> 4) * 4


def forged_tcp_answer(frame, ihl, thl, payload, ttl):
    """The frame answering the TCP segment in `frame` as if from its destination: MAC and IP
    addresses and ports swapped, seq = the segment's ack, ack = its seq + its payload length,
    flags PSH|ACK|FIN, `payload`, IP TTL `ttl` (the router's own packet: no hop has counted it
    down)."""
    ip = frame[14:]
    total = struct.unpack("!H", ip[2:4])[0]
    client, server = ip[12:16], ip[16:20]
    tcp = ip[ihl:]
    cport, sport = tcp[0:2], tcp[2:4]
    seq, ack = struct.unpack("!II", tcp[4:12])
    sent = total - ihl - thl
    hdr = struct.pack("!2s2sIIBBHHH", sport, cport, ack, (seq + sent) & 0xFFFFFFFF,
                      5 << 4, 0x19, 64240, 0, 0) + payload
    csum = inet_checksum(server + client + struct.pack("!BBH", 0, 6, len(hdr)) + hdr)
    seg = hdr[:16] + struct.pack("!H", csum) + hdr[18:]
    iph = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(seg), random.getrandbits(16), 0x4000,
                      ttl, 6, 0, server, client)
    iph = iph[:10] + struct.pack("!H", inet_checksum(iph)) + iph[12:]
    return frame[6:12] + frame[0:6] + frame[12:14] + iph + seg


def blockpage_response(location):
    """A censor's answer: a redirect to its block page, the connection closed."""
    body = b"<html><body>This site is blocked.</body></html>\n"
    return http_response("302 Found", [("Location", location), ("Content-Type", "text/html"),
                                       ("Connection", "close")], body)


def cmd_http_injector(a):
    """Sniffs the frames arriving on --dev (AF_PACKET) and answers every IPv4 TCP segment to
    --port whose payload holds "Host: NAME" at once with a forged redirect to the block page,
    as if from the server (the router's iptables drops the request itself)."""
    needles = [b"Host: " + n.encode() for n in a.name]
    answer = blockpage_response(a.location)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP))
    s.bind((a.dev, ETH_P_IP))
    emit(event="ready", dev=a.dev, names=a.name, location=a.location, ttl=a.ttl)
    while True:
        frame, addr = s.recvfrom(65535)
        if addr[2] == PACKET_OUTGOING:
            continue
        got = ipv4_tcp_segment(frame, a.port)
        if not got:
            continue
        ihl, thl = got
        payload = frame[14 + ihl + thl:14 + struct.unpack("!H", frame[16:18])[0]]
        hit = next((n for n in needles if n in payload), None)
        if hit is None:
            continue
        s.send(forged_tcp_answer(frame, ihl, thl, answer, a.ttl))
        emit(event="forged", client=socket.inet_ntoa(frame[26:30]),
             port=struct.unpack("!H", frame[14 + ihl:16 + ihl])[0],
             server=socket.inet_ntoa(frame[30:34]), host=hit[6:].decode(),
             seq=struct.unpack("!I", frame[18 + ihl:22 + ihl])[0])


# ---------------------------------------------------------------------------
# Clients

def connect(a, cport=None, rcvbuf=None):
    fam = socket.AF_INET6 if ":" in a.remote else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    if rcvbuf:  # before connect, so the window scale and clamp follow it
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    if cport:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", cport))
    s.settimeout(10)
    s.connect((a.remote, a.port))
    s.settimeout(None)
    return s


def chunk_for(remote):
    return 2856 if ":" in remote else 2896  # two full segments (timestamps on)


def client_paced(a):
    sched = parse_schedule(a.schedule)
    s = connect(a, a.cport)
    with s:
        if a.direction == "down":
            req = {"op": "send", "duration": a.duration, "chunk": chunk_for(a.remote),
                   "schedule": [[t, "max" if r is None else r] for t, r in sched]}
            s.sendall((json.dumps(req) + "\n").encode())
            n = drain(s)
        else:
            s.sendall(b'{"op": "sink"}\n')
            n = paced_send(s, sched, a.duration, chunk_for(a.remote))
            s.shutdown(socket.SHUT_WR)
            drain(s)
    print(json.dumps({"mode": "paced", "direction": a.direction, "bytes": n}), flush=True)


def every_period(duration, job, next_due):
    """Runs job(t) (t: seconds since the start) whenever it is due, until `duration`; the first
    run is due at once, the next at next_due(due, now) after each."""
    t0 = time.monotonic()
    due = 0.0
    while True:
        t = time.monotonic() - t0
        if t >= duration:
            return
        if t < due:
            time.sleep(min(0.01, due - t))
            continue
        job(t)
        due = next_due(due, time.monotonic() - t0)


def client_video(a):
    s = connect(a, a.cport)
    segments = 0

    def segment(_t):
        nonlocal segments
        s.sendall(b"%d\n" % a.chunk)
        recv_exact(s, a.chunk)
        segments += 1

    with s:
        s.sendall(b'{"op": "get"}\n')
        # Startup: the next segment right away; steady state: one per period.
        every_period(a.duration, segment,
                     lambda due, now: now if now < a.startup else max(due + a.period, now))
    print(json.dumps({"mode": "video", "segments": segments}), flush=True)


def fetch_object(a, size, stats, lock):
    """One short connection that gets `size` bytes; counts it (or its failure) in stats."""
    try:
        s = connect(a)
        with s:
            s.sendall(b'{"op": "get"}\n%d\n' % size)
            recv_exact(s, size)
        with lock:
            stats["connections"] += 1
            stats["bytes"] += size
    except OSError:
        with lock:
            stats["errors"] += 1


def client_web(a):
    rng = random.Random(a.seed)
    t_end = time.monotonic() + a.duration
    stats = {"connections": 0, "bytes": 0, "errors": 0}
    lock = threading.Lock()

    def worker(seed):
        r = random.Random(seed)
        while time.monotonic() < t_end:
            fetch_object(a, int(r.uniform(a.size_min, a.size_max)), stats, lock)
            time.sleep(min(r.expovariate(a.rate), max(0.0, t_end - time.monotonic())))

    threads = [threading.Thread(target=worker, args=(rng.random(),)) for _ in range(a.parallel)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps(dict(mode="web", **stats)), flush=True)


def emit(**fields):
    print(json.dumps(dict(ts=round(time.time(), 6), **fields)), flush=True)


def client_player(a):
    ladder = sorted(int(x) for x in a.ladder.split(","))
    caps = parse_schedule(a.schedule) if a.schedule != "0:1000000" else [(0.0, None)]
    s = connect(a, a.cport)
    t0 = time.monotonic()
    rung, tputs, buffered, played_to = 0, [], 0.0, None
    stats = {"segments": 0, "switches": 0, "stalls": 0}
    with s:
        s.sendall(b'{"op": "get"}\n')
        while True:
            t = time.monotonic() - t0
            if t >= a.duration:
                break
            if played_to is not None:  # playing: the buffer drains in real time
                level = buffered - (t - played_to)
                if level <= 0 and buffered > 0:
                    stats["stalls"] += 1
                    played_to, buffered, level = None, 0.0, 0.0  # rebuffering
            else:
                level = buffered
            if level > a.buffer - a.segment:
                time.sleep(min(0.05, level - (a.buffer - a.segment)))
                continue
            cap = rate_at(caps, t)
            size = int(ladder[rung] * a.segment / 8)
            t1 = time.monotonic()
            s.sendall(b"%d\n" % size)
            recv_exact(s, size)
            took = time.monotonic() - t1
            stats["segments"] += 1
            tputs = (tputs + [size * 8 / max(took, 1e-3)])[-3:]
            if played_to is None:
                buffered, played_to = level + a.segment, None
                if buffered >= 2 * a.segment:  # start playing with two segments
                    played_to = time.monotonic() - t0
            else:
                now = time.monotonic() - t0
                buffered = max(0.0, buffered - (now - played_to)) + a.segment
                played_to = now
            est = len(tputs) / sum(1.0 / x for x in tputs)  # harmonic mean
            want = max([0] + [i for i, r in enumerate(ladder)
                              if r <= 0.8 * est and (cap is None or r <= cap)])
            new = min(want, rung + 1)  # up one rung at a time, down at once
            if new != rung:
                stats["switches"] += 1
                emit(event="switch", from_bps=ladder[rung], to_bps=ladder[new],
                     estimate_bps=int(est), buffer_s=round(buffered, 2))
                rung = new
    print(json.dumps(dict(mode="player", **stats)), flush=True)


def client_browse(a):
    rng = random.Random("%s:%s:%s" % (a.seed, a.remote, a.port))
    t_end = time.monotonic() + a.duration
    stats = {"pages": 0, "connections": 0, "bytes": 0, "errors": 0}
    lock = threading.Lock()

    def fetch(size):
        fetch_object(a, size, stats, lock)

    lo, hi = math.log(a.size_min), math.log(a.size_max)
    while time.monotonic() < t_end:
        sizes = [int(math.exp(rng.uniform(lo, hi))) for _ in range(rng.randint(1, a.objects))]
        threads = [threading.Thread(target=fetch, args=(n,)) for n in sizes]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        stats["pages"] += 1
        gap = min(rng.expovariate(1.0 / a.think), 3 * a.think)
        time.sleep(max(0.0, min(gap, t_end - time.monotonic())))
    print(json.dumps(dict(mode="browse", **stats)), flush=True)


def udp_socket(remote, cport=None):
    fam = socket.AF_INET6 if ":" in remote else socket.AF_INET
    u = socket.socket(fam, socket.SOCK_DGRAM)
    if cport:
        u.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        u.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", cport))
    return u


def client_ntp(a):
    rng = random.Random(a.port)
    u = udp_socket(a.remote, a.cport)
    u.settimeout(1.0)
    t_end = time.monotonic() + a.duration
    stats = {"requests": 0, "answers": 0}
    request = b"\x23" + b"\0" * 47  # NTP v4, mode 3 (client)
    while time.monotonic() < t_end:
        u.sendto(request, (a.remote, a.port))
        stats["requests"] += 1
        try:
            u.recvfrom(2048)
            stats["answers"] += 1
        except socket.timeout:
            pass
        time.sleep(max(0.0, min(a.period * rng.uniform(0.8, 1.2), t_end - time.monotonic())))
    print(json.dumps(dict(mode="ntp", **stats)), flush=True)


def client_keepalive(a):
    rng = random.Random(a.port)
    s = connect(a, a.cport)
    if a.tcp_keepidle:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, max(1, int(a.tcp_keepidle)))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, max(1, int(a.tcp_keepidle)))
    t_end = time.monotonic() + a.duration
    pings = 0
    with s:
        s.sendall(b'{"op": "get"}\n')
        while time.monotonic() < t_end:
            left = t_end - time.monotonic()
            if a.period <= 0:
                time.sleep(min(1.0, left))
                continue
            time.sleep(max(0.0, min(a.period * rng.uniform(0.8, 1.2), left)))
            if time.monotonic() >= t_end:
                break
            s.sendall(b"64\n")
            recv_exact(s, 64)
            pings += 1
    print(json.dumps({"mode": "keepalive", "pings": pings}), flush=True)


MDNS = ("224.0.0.251", 5353)
SSDP = ("239.255.255.250", 1900)


def client_lan(a):
    rng = random.Random(a.seed)
    mdns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    mdns.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    mdns.bind(("0.0.0.0", MDNS[1]))
    mdns.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
    ssdp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    ssdp.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 2)
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    t0 = time.monotonic()
    due = {"mdns": 0.5, "ssdp": 1.0, "peer": 3.0}
    sent = {k: 0 for k in due}
    search = (b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n"
              b'MAN: "ssdp:discover"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n')
    notify = (b"NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nNT: upnp:rootdevice\r\n"
              b"NTS: ssdp:alive\r\nCACHE-CONTROL: max-age=1800\r\n\r\n")
    while True:
        t = time.monotonic() - t0
        if t >= a.duration:
            break
        if t >= due["mdns"]:  # a query for _services._dns-sd._udp.local, PTR
            q = (b"\0\0\0\0\0\x01\0\0\0\0\0\0\x09_services\x07_dns-sd\x04_udp"
                 b"\x05local\0\0\x0c\0\x01")
            mdns.sendto(q, MDNS)
            sent["mdns"] += 1
            due["mdns"] = t + rng.uniform(1.0, 6.0)
        if t >= due["ssdp"]:
            for _ in range(2):
                ssdp.sendto(search, SSDP)
            ssdp.sendto(notify, SSDP)
            sent["ssdp"] += 3
            due["ssdp"] = t + rng.uniform(5.0, 12.0)
        if t >= due["peer"] and a.lan_peer:  # a printer that is off: ARP, no answer
            peer.sendto(b"\0" * 32, (a.lan_peer, 9))
            sent["peer"] += 1
            due["peer"] = t + rng.uniform(10.0, 20.0)
        time.sleep(0.05)
    print(json.dumps(dict(mode="lan", **sent)), flush=True)


def client_quic(a):
    stats = {"files": 0, "failed": 0}
    url = "https://%s:%d/%d" % ("[%s]" % a.remote if ":" in a.remote else a.remote, a.port,
                                a.chunk)

    def fetch(t):
        left = a.duration - t
        argv = ["gtlsclient", "-q", "--no-quic-dump", "--no-http-dump",
                "--exit-on-all-streams-close", "--timeout", "%ds" % max(1, int(left)),
                a.remote, str(a.port), url]
        t1 = time.monotonic()
        try:
            rc = subprocess.run(argv, stdin=subprocess.DEVNULL, timeout=left + 1).returncode
        except subprocess.TimeoutExpired:
            rc = "timeout"
        emit(event="fetch", bytes=a.chunk, seconds=round(time.monotonic() - t1, 3), rc=rc)
        stats["files" if rc == 0 else "failed"] += 1

    every_period(a.duration, fetch, lambda due, now: max(due + a.period, now))
    print(json.dumps(dict(mode="quic", **stats)), flush=True)


def client_tls_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the lab's certificate is self-signed
    return ctx


def outcome_of(e):
    """What an attempt's failure was, as a user (or OONI) would call it."""
    if isinstance(e, ConnectionRefusedError):
        return "refused"  # RST to the SYN
    if isinstance(e, ConnectionResetError):
        return "reset"  # RST once connected
    if isinstance(e, (socket.timeout, TimeoutError)):
        return "timeout"
    if isinstance(e, ssl.SSLError):
        return "tls_error"
    return "error"


def tls_open(a, ctx, deadline):
    """A new connection from an ephemeral port and its TLS handshake, with SNI a.name."""
    def left():
        return max(0.01, deadline - time.monotonic())
    fam = socket.AF_INET6 if ":" in a.remote else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    try:
        s.settimeout(left())
        s.connect((a.remote, a.port))
        s.settimeout(left())
        tls = ctx.wrap_socket(s, server_hostname=a.name)
    except BaseException:
        s.close()
        raise
    return tls, left


def http_get(tls, a, left, keep_alive):
    """A tiny GET; with keep_alive the answer is read by its length, else up to the close."""
    tls.settimeout(left())
    tls.sendall(b"GET / HTTP/1.1\r\nHost: %s\r\nUser-Agent: lab\r\nConnection: %s\r\n\r\n" %
                (a.name.encode(), b"keep-alive" if keep_alive else b"close"))
    buf = b""
    want = None
    while True:
        tls.settimeout(left())
        data = tls.recv(BLOCK)
        if not data:
            break
        buf += data
        if keep_alive and want is None and b"\r\n\r\n" in buf:
            head, _ = buf.split(b"\r\n\r\n", 1)
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    want = len(head) + 4 + int(line.split(b":")[1])
        if want is not None and len(buf) >= want:
            break
    if not buf.startswith(b"HTTP/1.1 200"):
        raise ConnectionError("no HTTP answer (%d bytes)" % len(buf))
    return len(buf)


def attempts(a, one, kind):
    """Starts one(deadline) in a thread of its own every a.period seconds (each bounded by
    a.timeout, and by the end; with --jitter J each gap is a.period times 1 +- J), logs every
    attempt, and prints the outcome counts. one() may return fields for the attempt's line,
    among them its "outcome" (a DNS lookup answered NXDOMAIN raised nothing)."""
    t_end = time.monotonic() + a.duration
    counts = {}
    lock = threading.Lock()
    threads = []
    rng = random.Random("%s:%s" % (a.seed, a.name))

    def attempt():
        start = time.time()
        t1 = time.monotonic()
        deadline = min(t1 + a.timeout, t_end + 1.0)
        outcome, error, extra = "ok", None, {}
        try:
            extra = one(deadline) or {}
        except Exception as e:  # noqa: BLE001 (every failure is an outcome)
            outcome, error = outcome_of(e), "%s: %s" % (type(e).__name__, e)
        outcome = extra.pop("outcome", outcome)
        emit(event="attempt", start=round(start, 6), name=a.name, remote=a.remote,
             port=a.port, outcome=outcome, seconds=round(time.monotonic() - t1, 3),
             error=error, **extra)
        with lock:
            counts[outcome] = counts.get(outcome, 0) + 1

    def launch(_t):
        th = threading.Thread(target=attempt)
        th.start()
        threads.append(th)

    every_period(a.duration, launch,
                 lambda due, now: due + a.period * rng.uniform(1 - a.jitter, 1 + a.jitter))
    for th in threads:
        th.join()
    print(json.dumps(dict(mode=kind, name=a.name, attempts=len(threads), **counts)), flush=True)


def client_tls_attempts(a):
    ctx = client_tls_context()

    def one(deadline):
        tls, left = tls_open(a, ctx, deadline)
        with tls:
            http_get(tls, a, left, keep_alive=False)

    attempts(a, one, "tls_attempts")


def http_status(buf):
    """(status code, Location or None) of an HTTP/1.x response's head, else (None, None)."""
    head = buf.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    parts = head[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
        return None, None
    loc = next((line[9:].strip().decode("ascii", "replace") for line in head[1:]
                if line.lower().startswith(b"location:")), None)
    return int(parts[1]), loc


def client_http_attempts(a):
    """A new plain-HTTP connection to a.remote:a.port every ~a.period s: GET / with Host
    a.name, Connection: close, the answer read until the server closes (or the attempt's
    time is up). Outcome ok (200), redirected (3xx; its Location logged), reset, timeout,
    error (anything else)."""
    def one(deadline):
        def left():
            return max(0.01, deadline - time.monotonic())
        fam = socket.AF_INET6 if ":" in a.remote else socket.AF_INET
        with socket.socket(fam, socket.SOCK_STREAM) as s:
            s.settimeout(left())
            s.connect((a.remote, a.port))
            s.sendall(b"GET / HTTP/1.1\r\nHost: %s\r\nUser-Agent: lab\r\n"
                      b"Connection: close\r\n\r\n" % a.name.encode())
            buf = b""
            while True:
                s.settimeout(left())
                data = s.recv(BLOCK)
                if not data:
                    break
                buf += data
        status, loc = http_status(buf)
        if status is None:
            raise ConnectionError("no HTTP answer (%d bytes)" % len(buf))
        outcome = ("ok" if status == 200 else "redirected" if 300 <= status < 400 else
                   "error")
        return {"outcome": outcome, "status": status, "location": loc, "bytes": len(buf)}

    attempts(a, one, "http_attempts")


def client_tls_idle(a):
    """Long-lived connections: one GET, then idle until the server closes it."""
    ctx = client_tls_context()
    t_end = time.monotonic() + a.duration

    def one(deadline):
        tls, left = tls_open(a, ctx, deadline)
        with tls:
            http_get(tls, a, left, keep_alive=True)
            t_idle = time.monotonic()
            outcome = "open at the end"
            while time.monotonic() < t_end:
                tls.settimeout(max(0.01, min(0.5, t_end - time.monotonic())))
                try:
                    if not tls.recv(BLOCK):
                        outcome = "closed by the server"
                        break
                except socket.timeout:
                    continue
                except (ssl.SSLEOFError, ConnectionResetError):
                    outcome = "closed by the server"
                    break
            emit(event="idle", name=a.name, outcome=outcome,
                 idle_s=round(time.monotonic() - t_idle, 3))

    a.timeout = a.duration + 1  # the attempt lives until the server closes it
    attempts(a, one, "tls_idle")


def client_quic_attempts(a):
    """gtlsclient (ngtcp2 0.12) sends "localhost" as the SNI when given an address, whatever
    --sni says: it is given the name, which a hosts file resolves to the remote, bind-mounted
    over /etc/hosts in a mount namespace of the attempt's own (unshare: nothing changes
    outside it)."""
    url = "https://%s:%d/%d" % (a.name, a.port, a.chunk)
    tmp = tempfile.mkdtemp(prefix="quic-attempts-")
    hosts = os.path.join(tmp, "hosts")
    with open(hosts, "w") as f:
        f.write("%s %s\n" % (a.remote, a.name))
    names = ["unshare", "--mount", "sh", "-c", 'mount --bind "$0" /etc/hosts && exec "$@"',
             hosts]

    def one(deadline):
        left = max(1.0, deadline - time.monotonic())
        # gtlsclient exits 0 also when its handshake timed out: the downloaded file tells.
        with tempfile.TemporaryDirectory(prefix="quic-attempt-") as d:
            argv = names + [
                "gtlsclient", "-q", "--no-quic-dump", "--no-http-dump",
                "--exit-on-all-streams-close", "--download", d,
                "--handshake-timeout", "%dms" % int(1000 * (left - 0.5)),
                "--timeout", "%ds" % max(1, int(left)), a.name, str(a.port), url]
            try:
                rc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, timeout=left).returncode
            except subprocess.TimeoutExpired:
                raise TimeoutError("no answer in %.1f s" % left) from None
            path = os.path.join(d, str(a.chunk))
            got = os.path.getsize(path) if os.path.exists(path) else 0
        if got == a.chunk:
            return
        if time.monotonic() >= deadline - 1.0:
            raise TimeoutError("no answer in %.1f s (gtlsclient exit %d)" % (left, rc))
        raise OSError("gtlsclient exit %d, %d of %d bytes" % (rc, got, a.chunk))

    try:
        attempts(a, one, "quic_attempts")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


DNS_RETRY_S = 1.0  # the stub sends its unanswered queries again after this (once) ...
DNS_GIVE_UP_S = 4.0  # ... and gives up this long after its first send


def dns_lookup(a, deadline):
    """One lookup of a.name as glibc's stub makes it: an A and an AAAA query (random ids) from a
    new socket (a random port), connected to the resolver; what is still unanswered after
    DNS_RETRY_S is sent again, same id and port; the first answer to each query is taken (a
    later one finds the socket closed). Returns the attempt's fields: outcome (ok, nodata,
    nxdomain, rcode<N>, timeout) and the A answer's addresses."""
    ids = random.sample(range(65536), 2)
    queries = {DNS_A: (ids[0], dns_query(ids[0], a.name, DNS_A)),
               DNS_AAAA: (ids[1], dns_query(ids[1], a.name, DNS_AAAA))}
    got, sends = {}, 1
    u = socket.socket(socket.AF_INET6 if ":" in a.remote else socket.AF_INET, socket.SOCK_DGRAM)
    with u:
        u.connect((a.remote, a.port))
        t1 = time.monotonic()
        for _, data in queries.values():
            u.send(data)
        give_up = min(deadline, t1 + DNS_GIVE_UP_S)
        while len(got) < len(queries):
            now = time.monotonic()
            if sends == 1 and now >= t1 + DNS_RETRY_S:
                for qtype, (_, data) in queries.items():
                    if qtype not in got:
                        u.send(data)
                sends = 2
            until = t1 + DNS_RETRY_S if sends == 1 else give_up
            if until <= now:
                break
            u.settimeout(until - now)
            try:
                r = dns_parse(u.recv(4096))
            except (socket.timeout, ConnectionRefusedError):
                continue  # refused: an ICMP error for an earlier send
            except (ValueError, IndexError, struct.error):
                continue
            for qtype, (ident, _) in queries.items():
                if (qtype not in got and r["qr"] and r["id"] == ident and
                        r["name"] == a.name.lower() and r["qtype"] == qtype):
                    got[qtype] = (r, time.monotonic() - t1)
    out = {"sends": sends, "aaaa": got[DNS_AAAA][0]["addresses"] if DNS_AAAA in got else None}
    if DNS_A not in got:
        return dict(out, outcome="timeout", answer=None)
    r, took = got[DNS_A]
    outcome = {DNS_NOERROR: "ok" if r["addresses"] else "nodata",
               DNS_NXDOMAIN: "nxdomain"}.get(r["rcode"], "rcode%d" % r["rcode"])
    return dict(out, outcome=outcome, answer=r["addresses"], answer_s=round(took, 3))


def client_dns_lookups(a):
    """A lookup of a.name every ~a.period seconds (with --jitter), each in a thread of its
    own; a JSON line per lookup like tls_attempts' (outcome, the A answer, sends)."""
    attempts(a, lambda deadline: dns_lookup(a, deadline), "dns_lookups")


def client_slowread(a):
    sched = parse_schedule(a.schedule)
    s = connect(a, a.cport, rcvbuf=a.rcvbuf)
    with s:
        req = {"op": "send", "duration": a.duration + 5, "chunk": BLOCK,
               "schedule": [[0, "max"]]}
        s.sendall((json.dumps(req) + "\n").encode())
        n = paced_read(s, sched, a.duration)
    print(json.dumps({"mode": "slowread", "bytes": n}), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("server")
    p.add_argument("--port", type=int, required=True)
    p = sub.add_parser("tls-server")
    p.add_argument("--bind", required=True)
    p.add_argument("--port", type=int, default=443)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--delay", type=float, default=0.0)
    p.add_argument("--idle-close", type=float)
    p.add_argument("--handshake-timeout", type=float, default=20.0)
    p.add_argument("--keepalive-timeout", type=float, default=120.0)
    p.add_argument("--control")
    p = sub.add_parser("dns-server")
    p.add_argument("--bind", required=True)
    p.add_argument("--port", type=int, default=53)
    p.add_argument("--zone", action="append", default=[], metavar="NAME=ADDR[,ADDR]")
    p.add_argument("--delay-min", type=float, default=0.02)
    p.add_argument("--delay-max", type=float, default=0.04)
    p.add_argument("--bogon", default="10.10.34.34")
    p.add_argument("--control")
    p = sub.add_parser("dns-injector")
    p.add_argument("--dev", required=True)
    p.add_argument("--name", action="append", required=True)
    p.add_argument("--answer", required=True)
    p.add_argument("--ttl", type=int, default=64)
    p = sub.add_parser("http-server")
    p.add_argument("--bind", required=True)
    p.add_argument("--port", type=int, default=80)
    p.add_argument("--redirect", action="append", default=[], metavar="NAME=URL")
    p.add_argument("--request-timeout", type=float, default=20.0)
    p = sub.add_parser("http-injector")
    p.add_argument("--dev", required=True)
    p.add_argument("--name", action="append", required=True)
    p.add_argument("--port", type=int, default=80)
    p.add_argument("--location", required=True)
    p.add_argument("--ttl", type=int, default=64)
    p = sub.add_parser("client")
    p.add_argument("mode", choices=("paced", "video", "web", "slowread", "player", "browse",
                                    "ntp", "keepalive", "lan", "quic", "tls_attempts",
                                    "tls_idle", "quic_attempts", "dns_lookups",
                                    "http_attempts"))
    p.add_argument("--remote", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--cport", type=int)
    p.add_argument("--duration", type=float, required=True)
    p.add_argument("--direction", choices=("down", "up"), default="down")
    p.add_argument("--schedule", default="0:1000000")
    p.add_argument("--chunk", type=int, default=1_000_000)
    p.add_argument("--period", type=float, default=4.0)
    p.add_argument("--startup", type=float, default=0.0)
    p.add_argument("--parallel", type=int, default=3)
    p.add_argument("--rate", type=float, default=1.0)
    p.add_argument("--size-min", type=int, default=20_000)
    p.add_argument("--size-max", type=int, default=400_000)
    p.add_argument("--rcvbuf", type=int, default=16384)
    p.add_argument("--seed", type=int)
    p.add_argument("--ladder", default="500000,1000000,2500000,5000000")
    p.add_argument("--segment", type=float, default=2.0)
    p.add_argument("--buffer", type=float, default=12.0)
    p.add_argument("--objects", type=int, default=6)
    p.add_argument("--think", type=float, default=6.0)
    p.add_argument("--tcp-keepidle", type=float, default=0)
    p.add_argument("--lan-peer")
    p.add_argument("--name", help="server name (SNI) of tls_attempts, tls_idle, quic_attempts; "
                   "the name dns_lookups looks up; http_attempts' Host")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per attempt")
    p.add_argument("--jitter", type=float, default=0.0,
                   help="each gap between attempts is --period times 1 +- this")
    a = ap.parse_args()
    if a.cmd == "server":
        return cmd_server(a)
    if a.cmd == "tls-server":
        return cmd_tls_server(a)
    if a.cmd == "dns-server":
        return cmd_dns_server(a)
    if a.cmd == "dns-injector":
        return cmd_dns_injector(a)
    if a.cmd == "http-server":
        return cmd_http_server(a)
    if a.cmd == "http-injector":
        return cmd_http_injector(a)
    try:
        {"paced": client_paced, "video": client_video, "web": client_web,
         "slowread": client_slowread, "player": client_player, "browse": client_browse,
         "ntp": client_ntp, "keepalive": client_keepalive, "lan": client_lan,
         "quic": client_quic, "tls_attempts": client_tls_attempts, "tls_idle": client_tls_idle,
         "quic_attempts": client_quic_attempts, "dns_lookups": client_dns_lookups,
         "http_attempts": client_http_attempts}[a.mode](a)
    except OSError as e:
        print("error: %s" % e, file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
