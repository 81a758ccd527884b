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

Python 3 standard library only. Exits 0 when the client ran its course, 1 on a socket error.
"""

import argparse
import json
import math
import os
import random
import shutil
import socket
import ssl
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
    a.timeout, and by the end), logs every attempt, and prints the outcome counts."""
    t_end = time.monotonic() + a.duration
    counts = {}
    lock = threading.Lock()
    threads = []

    def attempt():
        start = time.time()
        t1 = time.monotonic()
        deadline = min(t1 + a.timeout, t_end + 1.0)
        outcome, error = "ok", None
        try:
            one(deadline)
        except Exception as e:  # noqa: BLE001 (every failure is an outcome)
            outcome, error = outcome_of(e), "%s: %s" % (type(e).__name__, e)
        emit(event="attempt", start=round(start, 6), name=a.name, remote=a.remote,
             port=a.port, outcome=outcome, seconds=round(time.monotonic() - t1, 3),
             error=error)
        with lock:
            counts[outcome] = counts.get(outcome, 0) + 1

    def launch(_t):
        th = threading.Thread(target=attempt)
        th.start()
        threads.append(th)

    every_period(a.duration, launch, lambda due, now: due + a.period)
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
    p = sub.add_parser("client")
    p.add_argument("mode", choices=("paced", "video", "web", "slowread", "player", "browse",
                                    "ntp", "keepalive", "lan", "quic", "tls_attempts",
                                    "tls_idle", "quic_attempts"))
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
    p.add_argument("--name", help="server name (SNI) of tls_attempts, tls_idle, quic_attempts")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per attempt")
    a = ap.parse_args()
    if a.cmd == "server":
        return cmd_server(a)
    if a.cmd == "tls-server":
        return cmd_tls_server(a)
    try:
        {"paced": client_paced, "video": client_video, "web": client_web,
         "slowread": client_slowread, "player": client_player, "browse": client_browse,
         "ntp": client_ntp, "keepalive": client_keepalive, "lan": client_lan,
         "quic": client_quic, "tls_attempts": client_tls_attempts, "tls_idle": client_tls_idle,
         "quic_attempts": client_quic_attempts}[a.mode](a)
    except OSError as e:
        print("error: %s" % e, file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
