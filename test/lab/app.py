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

Python 3 standard library only. Exits 0 when the client ran its course, 1 on a socket error.
"""

import argparse
import json
import random
import socket
import sys
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


def cmd_server(a):
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


def client_video(a):
    s = connect(a, a.cport)
    t0 = time.monotonic()
    segments = 0
    with s:
        s.sendall(b'{"op": "get"}\n')
        next_t = 0.0
        while True:
            t = time.monotonic() - t0
            if t >= a.duration:
                break
            if t < next_t:
                time.sleep(min(0.01, next_t - t))
                continue
            s.sendall(b"%d\n" % a.chunk)
            recv_exact(s, a.chunk)
            segments += 1
            t = time.monotonic() - t0
            # Startup: the next segment right away; steady state: one per period.
            next_t = t if t < a.startup else max(next_t + a.period, t)
    print(json.dumps({"mode": "video", "segments": segments}), flush=True)


def client_web(a):
    rng = random.Random(a.seed)
    t_end = time.monotonic() + a.duration
    stats = {"connections": 0, "bytes": 0, "errors": 0}
    lock = threading.Lock()

    def worker(seed):
        r = random.Random(seed)
        while time.monotonic() < t_end:
            size = int(r.uniform(a.size_min, a.size_max))
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
            time.sleep(min(r.expovariate(a.rate), max(0.0, t_end - time.monotonic())))

    threads = [threading.Thread(target=worker, args=(rng.random(),)) for _ in range(a.parallel)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps(dict(mode="web", **stats)), flush=True)


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
    p = sub.add_parser("client")
    p.add_argument("mode", choices=("paced", "video", "web", "slowread"))
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
    a = ap.parse_args()
    if a.cmd == "server":
        return cmd_server(a)
    try:
        {"paced": client_paced, "video": client_video, "web": client_web,
         "slowread": client_slowread}[a.mode](a)
    except OSError as e:
        print("error: %s" % e, file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
