#!/usr/bin/env python3
"""throttlewatch network lab: scripted throttles, outages and blocks with ground truth.

Builds three network namespaces per run (office <-> isp <-> net), shapes the
office's link on the ISP router with tc HTB + u32 (and blocks websites there
with iptables), runs iperf3 downloads, small apps and a ping probe, captures
headers on the office uplink with tcpdump, and writes a ground-truth JSON next
to the pcap.  Everything it creates is removed again, also on failure and on
SIGINT/SIGTERM/SIGHUP; `lab.py cleanup` removes leftovers of killed runs by
name prefix.

Traffic never leaves the namespaces this script creates.

Usage:
  lab.py list
  lab.py run SCENARIO --out DIR [--seed N]
  lab.py cleanup [--force]
  lab.py rates PCAP [--truth FILE] [--bin S]      per-second rates per flow
  lab.py verify TRUTH.json                         check a capture against its truth

Python 3 standard library only.  Needs root, iproute2 (ip, tc, ss), iperf3,
tcpdump, ethtool, ping (iputils-ping); some scenarios more (tools_needed():
ngtcp2's examples, openssl, iptables).
"""

import argparse
import ipaddress
import json
import os
import random
import re
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import time

# ---------------------------------------------------------------------------
# Addressing.  Small private/ULA subnets used only inside the lab namespaces.

OFFICE_NETS = ["10.77.1.0/24", "fd77:1::/64"]  # the NGO's "local networks"
OFFICE4, OFFICE6 = "10.77.1.2", "fd77:1::2"  # the office client
ISP_OFFICE4, ISP_OFFICE6 = "10.77.1.1", "fd77:1::1"  # ISP router, office side
ISP_NET4, ISP_NET6 = "10.77.2.1", "fd77:2::1"  # ISP router, internet side
# "The internet": several remote servers, all in the net namespace.
SERVERS4 = ["10.77.2.2", "10.77.2.3", "10.77.2.4"]
SERVERS6 = ["fd77:2::2", "fd77:2::3", "fd77:2::4"]
SERVER4, SERVER6 = SERVERS4[0], SERVERS6[0]
# Servers with public addresses, from the documentation ranges (RFC 5737, RFC 3849: never routed
# anywhere), also in the net namespace; the isp routes them on-link. Throttlewatch follows no
# private address for blocking (one does not cross the ISP), so the blocking scenarios use these.
PUBLIC_NET4, PUBLIC_NET6 = "203.0.113.0/24", "2001:db8:77:2::/64"
PUBLIC4 = ["203.0.113.2", "203.0.113.3", "203.0.113.4"]
PUBLIC6 = ["2001:db8:77:2::2", "2001:db8:77:2::3", "2001:db8:77:2::4"]

# Interface names live inside their namespace, so they never collide between
# parallel runs; only namespace names carry the per-run prefix.
DEV_OFFICE = "tw-up"  # office ns: the office's uplink (capture point)
DEV_ISP_OFFICE = "tw-office"  # isp ns: toward the office (downlink shaper)
DEV_ISP_NET = "tw-net"  # isp ns: toward the internet (uplink shaper, outage)
DEV_NET = "tw-isp"  # net ns: toward the isp

NS_ROLES = ("office", "isp", "net")
NS_RE = re.compile(r"^tw(\d+)-(office|isp|net)$")

MTU_FRAME = 1514  # bytes per full-size frame on the wire (for queue limits)
CPORT_BASE = 40001  # client ports of lab flows: CPORT_BASE, CPORT_BASE+1, ...

APP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "app.py")
REQUIRED_TOOLS = ("ip", "tc", "iperf3", "tcpdump", "ethtool", "ping", "ss")
SNAPLEN = 128  # headers only, as the daemon captures (lab.set_snaplen() for more)

# app.py modes that open a new connection (ephemeral port) per fetch or attempt.
EPHEMERAL_MODES = ("web", "browse", "quic", "tls_attempts", "tls_idle", "quic_attempts",
                   "dns_lookups", "http_attempts")
UDP_MODES = ("ntp", "lan", "quic", "quic_attempts", "dns_lookups")
TLS_MODES = ("tls_attempts", "tls_idle")  # served by app.py tls-server (one per address)
QUIC_MODES = ("quic", "quic_attempts")  # served by ngtcp2's gtlsserver
DNS_MODES = ("dns_lookups",)  # served by app.py dns-server (one per address)
HTTP_MODES = ("http_attempts",)  # served by app.py http-server (one per address)
# A JSON line per attempt (a lookup for dns_lookups) in the app's log.
ATTEMPT_MODES = ("tls_attempts", "quic_attempts", "dns_lookups", "http_attempts")
# The protocols a server takes its port for (iperf3 runs UDP tests on its port too; app.py's
# server answers UDP on it).
SERVER_PROTOS = {"iperf3": ("tcp", "udp"), "app": ("tcp", "udp"), "quic": ("udp",),
                 "tls": ("tcp",), "dns": ("udp",), "http": ("tcp",)}

# DNS: the lab's resolver (app.py dns-server, in the net namespace on a public address) knows
# these names; any other name is NXDOMAIN. Its answers come after 20-40 ms (its own path), so
# an injector on the ISP's router answers first.
RESOLVER4 = PUBLIC4[0]
DNS_ZONE = {
    "news.example": [PUBLIC4[1], PUBLIC6[1]],
    "weather.example": [PUBLIC4[1], PUBLIC6[1]],
    "chat.example": [PUBLIC4[1], PUBLIC6[1]],
    "maps.example": [PUBLIC4[0], PUBLIC6[0]],
    "video.example": [PUBLIC4[2], PUBLIC6[2]],
}
DNS_BOGON = "10.10.34.34"  # a block page's private address (Iran's), a resolver's block answer
DNS_FORGED = "198.51.100.7"  # the injector's answer: public-looking (documentation range)
INJECTOR_TTL = 64  # the IP TTL of the injector's answers (the router's own packets)
# http_blockpage: the censor's answer to a blocked site's plain-HTTP request, a redirect to its
# block page (on a private address, as Iran's is).
BLOCKPAGE_URL = "http://%s/" % DNS_BOGON

# Website blocking on the ISP's router (iptables in the isp namespace, FORWARD chain):
#   tcp_rst         TCP to the port whose payload holds the name (the TLS ClientHello's SNI):
#                   REJECT with a TCP reset (the client gets the router's RST; the ClientHello
#                   never reaches the server)
#   sni_blackhole   the same match, DROP (the client retransmits its ClientHello; no answer)
#   ip_blackhole    everything to and from the remote address, DROP
#   quic_blackhole  UDP from the remote's port, DROP (the QUIC server's datagrams never reach
#                   the client; it re-sends its Initial)
# and by DNS (the name's lookups at the resolver, `remote`, port 53, get a false answer):
#   dns_injection   app.py dns-injector on the router (isp ns) answers the name's A queries with
#                   a forged address at once; the resolver's true answer follows (a race)
#   dns_bogon       the resolver itself answers the name with DNS_BOGON (an ISP's resolver)
#   dns_nxdomain    the resolver itself answers the name with NXDOMAIN
# and of plain HTTP:
#   http_blockpage  IPv4 TCP to the port (80) whose payload holds "Host: NAME" dropped (the
#                   server never sees the request) and answered by app.py http-injector on
#                   the router with a forged 302 to BLOCKPAGE_URL, as if from the server
DNS_METHODS = ("dns_injection", "dns_bogon", "dns_nxdomain")
HTTP_METHODS = ("http_blockpage",)
BLOCK_METHODS = ("tcp_rst", "sni_blackhole", "ip_blackhole", "quic_blackhole") + DNS_METHODS + \
    HTTP_METHODS
NAME_METHODS = ("tcp_rst", "sni_blackhole")  # the rule matches the server name


class LabError(Exception):
    pass


class Interrupted(BaseException):
    """Raised from a signal handler; BaseException so `except Exception` misses it."""


def log(msg):
    print(msg, flush=True)


def run(argv, check=True):
    """Runs a command to completion; returns stdout.  Raises LabError on failure."""
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True)
    if check and p.returncode != 0:
        raise LabError("command failed (%d): %s\n%s" %
                       (p.returncode, " ".join(argv), p.stderr.strip()))
    return p.stdout


def fmt_rate(bps):
    if bps >= 1e6:
        return "%g Mbit/s" % (bps / 1e6)
    return "%g kbit/s" % (bps / 1e3)


def family(addr):
    return ipaddress.ip_address(addr).version


# ---------------------------------------------------------------------------
# The lab: topology, processes, shaping, timeline, truth.

class Lab:
    def __init__(self, name, outdir, seed=None, prefix=None):
        self.name = name
        self.outdir = os.path.abspath(outdir)
        self.seed = seed
        self.rng = random.Random(seed)
        self.prefix = prefix or "tw%d" % os.getpid()
        self.ns = {role: "%s-%s" % (self.prefix, role) for role in NS_ROLES}
        self.pcap = os.path.join(self.outdir, name + ".pcap")
        self.truth_path = os.path.join(self.outdir, name + ".truth.json")
        self.logdir = os.path.join(self.outdir, name + ".logs")
        self.plan = {"down": 20_000_000, "up": 10_000_000}
        self.created_ns = []
        self.procs = []  # dicts: role, popen, logfile, ...
        self.servers = {}  # port -> proc
        self.events = []  # (t, seq, label, fn)
        self.flows = []
        self.probes = []
        self.actions = []
        self.duration = None
        self.t0_mono = None
        self.t0_wall = None
        self.capture = None
        self.capture_stats = {}
        self.capture_parts = []  # later files of a capture that stopped and resumed
        self.throttle_seq = 0
        self.routes = []  # (role, argv) to re-apply after an outage
        self.watch = []  # token-bucket throttles whose squeeze is awaited
        self.last_poll = 0.0
        self.snaplen = SNAPLEN
        self.blocks = []  # block actions (iptables rules on the isp router, DNS)
        self.server_opts = {}  # (remote, port) -> app.py tls-server options
        self.dns_modes = {}  # (remote, port) -> {name: setting} of the resolver there

    # -- scenario-facing API (declarative: schedules events on the timeline) --

    def jitter(self, t, spread=1.0):
        """t, moved by up to +-spread seconds if the run has a --seed."""
        if self.seed is None:
            return t
        return t + self.rng.uniform(-spread, spread)

    def set_plan(self, down_bps=None, up_bps=None):
        """The office's contracted rates (HTB root classes).  Call first."""
        if down_bps:
            self.plan["down"] = int(down_bps)
        if up_bps:
            self.plan["up"] = int(up_bps)

    def download(self, remote, port, rate_bps, start, end, proto="tcp"):
        """An app-limited download (iperf3 -R) from remote:port, t=start..end."""
        return self._flow("down", remote, port, rate_bps, start, end, proto)

    def upload(self, remote, port, rate_bps, start, end, proto="tcp"):
        """An app-limited upload (iperf3 client sends) to remote:port."""
        return self._flow("up", remote, port, rate_bps, start, end, proto)

    def app(self, mode, remote, port, start, end, direction="down",
            schedule=None, **opts):
        """A flow of app.py (demand that changes by itself), t=start..end.

        mode "paced" (schedule [(t, bps), ...], t after the flow start; the
        stream lowers or raises its own rate), "video" (opts chunk, period,
        startup: on/off segment fetching), "web" (opts parallel, rate,
        size_min, size_max: many short connections from ephemeral ports),
        "slowread" (schedule of read rates, 0 = stop reading; opts rcvbuf:
        a bulk download held back by its receiver).  Rate changes of "paced"
        and "slowread" are written to the truth as "demand" actions (not
        interventions: a detector must not report them).
        """
        local = OFFICE4 if family(remote) == 4 else OFFICE6
        sched = [(float(t), float(r) if r is not None else None)
                 for t, r in (schedule or [])]
        if mode in EPHEMERAL_MODES:
            local_port = None  # a new connection (ephemeral port) per fetch
        elif mode == "lan":
            local_port = port  # mDNS speaks from 5353 to 5353
        else:
            local_port = CPORT_BASE + len(self.flows)
        fl = {"id": "f%d" % (len(self.flows) + 1),
              "proto": "udp" if mode in UDP_MODES else "tcp",
              "direction": direction, "local": local, "local_port": local_port,
              "remote": remote, "remote_port": int(port),
              "rate_bps": int(sched[0][1]) if sched and sched[0][1] else None,
              "tool": "app.py %s" % mode, "app": {"mode": mode, **opts},
              "planned_start_t": start, "planned_end_t": end,
              "start": None, "end": None, "exit_code": None}
        if sched:
            fl["app"]["schedule"] = sched
        if opts.get("name"):
            fl["service"] = opts["name"]  # the server name (SNI) it asks for
        self.flows.append(fl)
        self._at(start, "flow start", lambda: self._start_flow(fl))
        for t, r in sched[1:]:
            self._at(start + t, "demand change",
                     lambda r=r: self._record("demand", "change", flow=fl["id"],
                                              direction=direction,
                                              rate_bps=None if r is None
                                              else int(r),
                                              by="player cap" if mode == "player"
                                              else mode))
        return fl

    def serve(self, remote, port, rate_bps, start, end):
        """The office serves: an iperf3 server in the office on `port`, a client
        at `remote` (in the net namespace) downloads from it at rate_bps (0:
        as fast as TCP goes). Seen from the office an upload, but opened by
        the remote; captured at the sender, before the ISP's uplink shaper."""
        fl = {"id": "f%d" % (len(self.flows) + 1), "proto": "tcp",
              "direction": "up", "local": OFFICE4 if family(remote) == 4
              else OFFICE6, "local_port": int(port), "remote": remote,
              "remote_port": CPORT_BASE + len(self.flows),
              "rate_bps": int(rate_bps) or None, "opened_by": "remote",
              "tool": "iperf3 -R (client in net, server in office)",
              "planned_start_t": start, "planned_end_t": end,
              "start": None, "end": None, "exit_code": None}
        self.flows.append(fl)
        self._at(start, "flow start", lambda: self._start_flow(fl))
        return fl

    def capture_gap(self, start, seconds):
        """The sensor stops capturing at `start` and starts again `seconds`
        later (a restart); traffic goes on. The two files are joined into
        the scenario's pcap at the end. Not an intervention in the network."""
        self._at(start, "capture stop", self._capture_pause)
        self._at(start + seconds, "capture resume", self._capture_resume)

    def blackhole(self, start, seconds):
        """Traffic without answers: the ISP router silently drops everything
        it forwards (ip rule blackhole, v4 and v6) while all links stay up."""
        self._at(start, "blackhole start", self._blackhole_start)
        self._at(start + seconds, "blackhole end", self._blackhole_end)

    def probe(self, remote, start=0.5, end=None, interval=1.0):
        """ICMP echo probe from the office to remote (ping -i interval)."""
        local = OFFICE4 if family(remote) == 4 else OFFICE6
        pr = {"kind": "icmp_echo", "local": local, "remote": remote,
              "interval_s": interval, "planned_start_t": start,
              "planned_end_t": end, "start": None, "end": None}
        self.probes.append(pr)
        self._at(start, "probe start %s" % remote, lambda: self._start_probe(pr))
        if end is not None:
            self._at(end, "probe end %s" % remote, lambda: self._stop_probe(pr))
        return pr

    def throttle(self, start, end, rate_bps, direction="down", remote=None,
                 remote_port=None, proto=None, burst_bytes=None,
                 queue_bytes=None, policer=False):
        """Throttles matching traffic to rate_bps between t=start and t=end.

        scope "flow"/"server" (a child HTB class selected by u32): give
        remote_port (+ proto) and/or remote.  With neither, the whole link is
        throttled (root class rate changed).  burst_bytes: token bucket depth
        (HTB burst/cburst).  queue_bytes: shaper queue (bfifo limit); a tiny
        queue makes the shaper drop like a policer.  policer: instead of a
        shaper, a token bucket of burst_bytes that drops what exceeds it (tc
        tbf with a queue of one frame on an ifb fed by the isp's ingress,
        ahead of the plan's shaper: the kernel has no police action here);
        flow or server scope only.
        """
        if remote is None and remote_port is None:
            scope = "link"
        elif remote_port is None:
            scope = "server"
        else:
            scope = "flow"
        target = {}
        if proto or remote_port is not None:
            target["proto"] = proto or "tcp"
        if remote is not None:
            target["remote"] = remote
        if remote_port is not None:
            target["remote_port"] = remote_port
        self.throttle_seq += 1
        th = {"id": "th%d" % self.throttle_seq, "seq": self.throttle_seq,
              "direction": direction, "scope": scope, "target": target,
              "rate_bps": int(rate_bps), "burst_bytes": burst_bytes,
              "queue_bytes": queue_bytes, "policer": bool(policer)}
        if policer and (scope == "link" or not burst_bytes):
            raise ValueError("a policer needs a flow or server target and a burst")
        self._at(start, "throttle start", lambda: self._throttle_start(th))
        self._at(end, "throttle end", lambda: self._throttle_end(th))
        return th

    def outage(self, start, seconds):
        """Cuts the ISP's link toward the internet (link down) for `seconds`."""
        self._at(start, "outage start", self._outage_start)
        self._at(start + seconds, "outage end", self._outage_end)

    def set_snaplen(self, snaplen):
        """Bytes captured per packet (default 128, headers only). Blocking scenarios keep
        TLS ClientHellos and QUIC Initials whole (2048, as the daemon's second capture handle
        does), so a replay can read the server names."""
        self.snaplen = int(snaplen)

    def block(self, method, start, end, name=None, remote=None, port=None):
        """Website blocking on the ISP's router between t=start and t=end (BLOCK_METHODS).

        tcp_rst and sni_blackhole match the server name `name` in TCP payload to `port` (443)
        on any address (a DPI box; `remote`, where the lab serves the name, is recorded for
        the truth); ip_blackhole drops all traffic to and from `remote`; quic_blackhole drops
        UDP from `remote`:`port`. Ending it deletes exactly the rules it added. The DNS
        methods falsify the answers to lookups of `name` at the resolver `remote` (default
        RESOLVER4), port 53: dns_injection races them with a forged answer from the router,
        dns_bogon and dns_nxdomain switch the resolver's own answer for the name.
        http_blockpage drops IPv4 HTTP requests to `port` (80) holding "Host: `name`" and
        answers each with a forged redirect to the block page (`remote`, where the lab serves
        the name, is recorded for the truth).
        """
        if method not in BLOCK_METHODS:
            raise ValueError("block method %r: one of %s" % (method, ", ".join(BLOCK_METHODS)))
        named = method in NAME_METHODS + DNS_METHODS + HTTP_METHODS
        if named and not name:
            raise ValueError("%s needs the name it matches" % method)
        if method in DNS_METHODS:
            remote = remote or RESOLVER4
        if (not named or method in HTTP_METHODS) and not remote:
            raise ValueError("%s needs the remote address" % method)
        if port is None:
            port = 53 if method in DNS_METHODS else 80 if method in HTTP_METHODS else 443
        bl = {"id": "bl%d" % (len(self.blocks) + 1), "method": method,
              "name": name if named else None, "remote": remote,
              "port": None if method == "ip_blackhole" else int(port),
              "proto": "udp" if method in DNS_METHODS else
              {"tcp_rst": "tcp", "sni_blackhole": "tcp", "quic_blackhole": "udp",
               "http_blockpage": "tcp"}.get(method)}
        self.blocks.append(bl)
        self._at(start, "block start", lambda: self._block_start(bl))
        self._at(end, "block end", lambda: self._block_end(bl))
        return bl

    def tls_server(self, remote, port=443, delay=None, idle_close=None):
        """Options of the TLS server at remote:port (app.py tls-server, started for the
        tls_* flows): delay before each handshake, idle_close (s) of kept-alive connections."""
        opts = self.server_opts.setdefault((remote, int(port)), {})
        if delay is not None:
            opts["delay"] = delay
        if idle_close is not None:
            opts["idle_close"] = idle_close

    def http_server(self, remote, port=80, redirect=None):
        """Options of the HTTP server at remote:port (app.py http-server, started for the
        http_attempts flows): redirect {name: url}, names it answers with its own 301."""
        opts = self.server_opts.setdefault((remote, int(port)), {})
        opts.setdefault("redirect", {}).update(redirect or {})

    def server_down(self, remote, port, start, end):
        """The TLS server at remote:port is stopped at t=start and started again at t=end:
        meanwhile its host's kernel answers SYNs with a RST. A server failure, no block
        (truth: kind "server", state "down"/"up")."""
        self._at(start, "server down", lambda: self._server_stop(remote, int(port)))
        self._at(end, "server up", lambda: self._server_restart(remote, int(port)))

    def server_slow(self, remote, port, start, end, delay):
        """The TLS server at remote:port waits `delay` s after accepting each connection
        before its handshake, t=start..end (the kernel still ACKs everything). A slow server,
        no block (truth: kind "server", state "slow"/"normal")."""
        self._at(start, "server slow", lambda: self._server_control(remote, int(port),
                                                                     delay=delay))
        self._at(end, "server normal", lambda: self._server_control(remote, int(port)))

    def resolver_slow(self, name, start, end, delay=(1.5, 3.0), remote=RESOLVER4, port=53):
        """The resolver at remote:port answers `name` after `delay` (min, max) s, t=start..end
        (a slow authoritative server: the stubs send their queries again, and both sends get
        the same answer). A slow resolver, no block (truth: kind "server", state
        "slow"/"normal", with the name)."""
        self._at(start, "resolver slow", lambda: self._resolver_slow(remote, int(port), name,
                                                                     delay))
        self._at(end, "resolver normal", lambda: self._resolver_slow(remote, int(port), name,
                                                                     None))

    def end(self, t):
        """Stops the capture at t (scenario duration)."""
        self.duration = t

    # -- internals: timeline --

    def _at(self, t, label, fn):
        self.events.append((float(t), len(self.events), label, fn))

    def t(self):
        return time.monotonic() - self.t0_mono

    def _sleep_until(self, t):
        while True:
            self._reap()
            self._poll_buckets()
            left = t - self.t()
            if left <= 0:
                break
            time.sleep(min(left, 0.05))
        late = self.t() - t
        if late > 0.5:
            log("  (warning: %.2f s late for t=%.1f)" % (late, t))

    def _record(self, kind, state, **fields):
        ts = time.time()
        a = {"kind": kind, "state": state, "ts": round(ts, 6),
             "t_rel": round(ts - self.t0_wall, 3)}
        a.update({k: v for k, v in fields.items() if v is not None})
        self.actions.append(a)
        return a

    def _say(self, msg):
        log("[t=%+7.2fs] %s" % (self.t(), msg))

    # -- internals: namespaces and topology --

    def nsx(self, role, argv):
        return ["ip", "netns", "exec", self.ns[role]] + list(argv)

    def sh(self, role, argv, check=True):
        return run(self.nsx(role, argv), check)

    def _sysctl(self, role, key, value):
        path = "/proc/sys/" + key.replace(".", "/")
        self.sh(role, ["sh", "-c", "echo %s > %s" % (value, path)])

    def setup(self):
        os.makedirs(self.outdir, exist_ok=True)
        os.makedirs(self.logdir, exist_ok=True)
        for role in NS_ROLES:
            run(["ip", "netns", "add", self.ns[role]])
            self.created_ns.append(self.ns[role])
            self.sh(role, ["ip", "link", "set", "lo", "up"])
            self._sysctl(role, "net.ipv6.conf.all.accept_dad", 0)
            self._sysctl(role, "net.ipv6.conf.default.accept_dad", 0)
        self._sysctl("isp", "net.ipv4.ip_forward", 1)
        self._sysctl("isp", "net.ipv6.conf.all.forwarding", 1)
        # veths are created directly inside their namespaces.
        run(["ip", "link", "add", DEV_OFFICE, "netns", self.ns["office"],
             "type", "veth", "peer", "name", DEV_ISP_OFFICE,
             "netns", self.ns["isp"]])
        run(["ip", "link", "add", DEV_ISP_NET, "netns", self.ns["isp"],
             "type", "veth", "peer", "name", DEV_NET, "netns", self.ns["net"]])
        addrs = {
            ("office", DEV_OFFICE): [OFFICE4 + "/24", OFFICE6 + "/64"],
            ("isp", DEV_ISP_OFFICE): [ISP_OFFICE4 + "/24", ISP_OFFICE6 + "/64"],
            ("isp", DEV_ISP_NET): [ISP_NET4 + "/24", ISP_NET6 + "/64"],
            ("net", DEV_NET): [a + "/24" for a in SERVERS4] +
                              [a + "/64" for a in SERVERS6] +
                              [a + "/24" for a in PUBLIC4] + [a + "/64" for a in PUBLIC6],
        }
        for (role, dev), alist in addrs.items():
            for a in alist:
                extra = ["nodad"] if ":" in a else []
                self.sh(role, ["ip", "addr", "add", a, "dev", dev] + extra)
            # Wire-sized packets: no segmentation/receive offloads.
            self.sh(role, ["ethtool", "-K", dev, "tso", "off", "gso", "off",
                           "gro", "off"])
            self.sh(role, ["ip", "link", "set", dev, "up"])
        self.routes = [
            ("office", ["ip", "-4", "route", "replace", "default", "via",
                        ISP_OFFICE4, "dev", DEV_OFFICE]),
            ("office", ["ip", "-6", "route", "replace", "default", "via",
                        ISP_OFFICE6, "dev", DEV_OFFICE]),
            ("net", ["ip", "-4", "route", "replace", "default", "via",
                     ISP_NET4, "dev", DEV_NET]),
            ("net", ["ip", "-6", "route", "replace", "default", "via",
                     ISP_NET6, "dev", DEV_NET]),
            # The public servers sit on the isp's link to the net namespace.
            ("isp", ["ip", "-4", "route", "replace", PUBLIC_NET4, "dev", DEV_ISP_NET]),
            ("isp", ["ip", "-6", "route", "replace", PUBLIC_NET6, "dev", DEV_ISP_NET]),
        ]
        self._apply_routes()
        self._shaper_setup("down", DEV_ISP_OFFICE, self.plan["down"])
        self._shaper_setup("up", DEV_ISP_NET, self.plan["up"])
        # Reachability check before anything else.
        for dst in (SERVER4, SERVER6):
            self.sh("office", ["ping", "-n", "-c", "1", "-W", "2", dst])

    def _apply_routes(self, check=True):
        for role, argv in self.routes:
            self.sh(role, argv, check)

    def teardown(self):
        errors = []
        self._stop_all_processes()
        for ns in reversed(self.created_ns):
            try:
                kill_ns_pids(ns)
                run(["ip", "netns", "del", ns])
            except Exception as e:  # keep going: remove as much as possible
                errors.append(str(e))
        self.created_ns = []
        left = [n for n in list_netns() if n.startswith(self.prefix + "-")]
        if left:
            errors.append("namespaces left: %s" % left)
        return errors

    # -- internals: processes --

    def _spawn(self, role, argv, logname, kind, **extra):
        logpath = os.path.join(self.logdir, logname)
        f = open(logpath, "w")
        p = subprocess.Popen(self.nsx(role, argv), stdout=f,
                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True)  # our Ctrl-C is ours
        proc = {"kind": kind, "popen": p, "log": logpath, "file": f,
                "argv": argv, "exit_ts": None}
        proc.update(extra)
        self.procs.append(proc)
        return proc

    def _reap(self):
        for proc in self.procs:
            if proc["exit_ts"] is None and proc["popen"].poll() is not None:
                proc["exit_ts"] = time.time()
                flow = proc.get("flow")
                if flow is not None:
                    flow["end"] = round(proc["exit_ts"], 6)
                    flow["exit_code"] = proc["popen"].returncode
                    self._say("flow %s end (exit %d)" %
                              (flow["id"], proc["popen"].returncode))

    def _stop(self, proc, sig=signal.SIGTERM, wait=5.0):
        p = proc["popen"]
        if p.poll() is None:
            try:
                p.send_signal(sig)
                p.wait(wait)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
            except ProcessLookupError:
                pass
        self._reap()
        proc["file"].close()

    def _stop_all_processes(self):
        order = {"flow": 0, "probe": 1, "capture": 2, "server": 3}
        for proc in sorted(self.procs, key=lambda p: order.get(p["kind"], 9)):
            sig = signal.SIGINT if proc["kind"] in ("probe", "capture") \
                else signal.SIGTERM
            try:
                self._stop(proc, sig)
            except Exception as e:
                log("  (warning: stopping %s: %s)" % (proc["kind"], e))

    def _wait_log(self, proc, needle, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with open(proc["log"]) as f:
                if needle in f.read():
                    return
            if proc["popen"].poll() is not None:
                break
            time.sleep(0.05)
        with open(proc["log"]) as f:
            raise LabError("%s did not report %r:\n%s" %
                           (proc["argv"][0], needle, f.read()))

    def tools_needed(self):
        """Programs this scenario needs beyond REQUIRED_TOOLS."""
        modes = {f.get("app", {}).get("mode") for f in self.flows}
        need = []
        if modes & set(QUIC_MODES):
            need += ["gtlsserver", "gtlsclient"]  # ngtcp2's examples
        if "quic_attempts" in modes:
            need += ["unshare", "mount"]  # its server name from a hosts file of its own
        if modes & set(QUIC_MODES + TLS_MODES):
            need.append("openssl")  # a self-signed certificate
        if any(bl["method"] in HTTP_METHODS for bl in self.blocks):
            need.append("iptables")  # IPv4 only
        if any(bl["method"] not in DNS_METHODS + HTTP_METHODS for bl in self.blocks):
            need += ["iptables", "ip6tables"]
        return need

    def _server_of(self, f):
        """(namespace, port, tool, address bound or None) of the server a flow needs, or None.
        TLS and QUIC servers bind the flow's remote address: one per address."""
        if f.get("opened_by") == "remote":
            return ("office", f["local_port"], "iperf3", None)
        mode = f.get("app", {}).get("mode")
        if mode == "lan":
            return None  # multicast and an absent neighbour: nobody serves
        if mode in QUIC_MODES:
            return ("net", f["remote_port"], "quic", f["remote"])
        if mode in TLS_MODES:
            return ("net", f["remote_port"], "tls", f["remote"])
        if mode in DNS_MODES:
            return ("net", f["remote_port"], "dns", f["remote"])
        if mode in HTTP_MODES:
            return ("net", f["remote_port"], "http", f["remote"])
        return ("net", f["remote_port"], "app" if mode else "iperf3", None)

    def _self_signed(self, stem):
        """A self-signed certificate (CN=lab), made now: (key, cert) paths in the logs."""
        key = os.path.join(self.logdir, stem + "-key.pem")
        cert = os.path.join(self.logdir, stem + "-cert.pem")
        if not os.path.exists(cert):
            run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                 "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                 "-subj", "/CN=lab", "-keyout", key, "-out", cert])
        return key, cert

    def _tls_control_path(self, remote, port):
        return os.path.join(self.logdir, "tls-control-%s-%d.json" %
                            (remote.replace(":", "_"), port))

    def _tls_server_argv(self, remote, port):
        """app.py's TLS server on remote:port (any server name, one certificate)."""
        key, cert = self._self_signed("tls")
        argv = [sys.executable, APP, "tls-server", "--bind", remote, "--port", str(port),
                "--cert", cert, "--key", key, "--control",
                self._tls_control_path(remote, port)]
        for k, v in sorted(self.server_opts.get((remote, port), {}).items()):
            argv += ["--" + k.replace("_", "-"), str(v)]
        return argv

    def _dns_control_path(self, remote, port):
        return os.path.join(self.logdir, "dns-control-%s-%d.json" %
                            (remote.replace(":", "_"), port))

    def _dns_server_argv(self, remote, port):
        """app.py's resolver on remote:port: the lab's zone, per-name modes from its control
        file (the lab rewrites it to switch a name's answers)."""
        argv = [sys.executable, APP, "dns-server", "--bind", remote, "--port", str(port),
                "--bogon", DNS_BOGON, "--control", self._dns_control_path(remote, port)]
        for name, addrs in sorted(DNS_ZONE.items()):
            argv += ["--zone", "%s=%s" % (name, ",".join(addrs))]
        return argv

    def _http_server_argv(self, remote, port):
        """app.py's HTTP server on remote:port (any Host; the names it redirects itself)."""
        argv = [sys.executable, APP, "http-server", "--bind", remote, "--port", str(port)]
        for name, url in sorted(self.server_opts.get((remote, port), {}).get(
                "redirect", {}).items()):
            argv += ["--redirect", "%s=%s" % (name, url)]
        return argv

    def _quic_server_argv(self, f):
        """ngtcp2's example server, with a self-signed cert made now."""
        key, cert = self._self_signed("quic")
        htdocs = os.path.join(self.logdir, "quic-htdocs")  # empty: /N is N generated bytes
        os.makedirs(htdocs, exist_ok=True)
        return ["gtlsserver", "-q", "--no-quic-dump", "--no-http-dump", "-d",
                htdocs, f["remote"], str(f["remote_port"]), key, cert]

    def _start_servers(self):
        tools = {}  # (ns, port, tool, address bound or None) -> the first flow it serves
        taken = {}  # (ns, port, proto) -> tool: one kind of server per port and protocol
        for f in self.flows:
            srv = self._server_of(f)
            if srv is None:
                continue
            ns, port, tool, _ = srv
            for proto in SERVER_PROTOS[tool]:
                if taken.setdefault((ns, port, proto), tool) != tool:
                    raise LabError("port %d used by two kinds of server" % port)
            tools.setdefault(srv, f)
        keys = sorted(tools, key=lambda k: (k[0], k[1], k[2], k[3] or ""))
        for key in keys:
            ns, port, tool, bind = key
            f = tools[key]
            if tool == "app":
                argv = [sys.executable, APP, "server", "--port", str(port)]
            elif tool == "quic":
                argv = self._quic_server_argv(f)
            elif tool == "tls":
                argv = self._tls_server_argv(bind, port)
            elif tool == "dns":
                argv = self._dns_server_argv(bind, port)
            elif tool == "http":
                argv = self._http_server_argv(bind, port)
            else:
                argv = ["iperf3", "-s", "-p", str(port)]
            logname = "%s-server-%s-%d.log" % (tool, ns, port)
            if tool in ("tls", "dns", "http") or sum(k[:3] == key[:3] for k in keys) > 1:
                logname = "%s-server-%s-%s-%d.log" % (tool, ns, bind.replace(":", "_"), port)
            self.servers[key] = self._spawn(ns, argv, logname, "server")
        deadline = time.monotonic() + 5
        for key in keys:
            self._wait_listening(key, deadline)

    def _listening(self, key):
        ns, port, tool, bind = key
        ss = ["ss", "-Hlun" if tool in ("quic", "dns") else "-Hltn", "sport = :%d" % port]
        if bind:  # a server of one address
            ss[-1] = "src %s:%d" % ("[%s]" % bind if ":" in bind else bind, port)
        return bool(self.sh(ns, ss).strip())

    def _wait_listening(self, key, deadline):
        while not self._listening(key):
            if time.monotonic() > deadline:
                raise LabError("%s server on port %d did not start" % (key[2], key[1]))
            time.sleep(0.05)

    # -- internals: a TLS server's failures (no interventions) --

    def _tls_key(self, remote, port):
        key = ("net", port, "tls", remote)
        if key not in self.servers:
            raise LabError("no TLS server at %s port %d" % (remote, port))
        return key

    def _server_stop(self, remote, port):
        key = self._tls_key(remote, port)
        self._stop(self.servers[key])
        deadline = time.monotonic() + 5
        while self._listening(key):  # gone when its socket is: SYNs then get the kernel's RST
            if time.monotonic() > deadline:
                raise LabError("TLS server at %s port %d did not stop" % (remote, port))
            time.sleep(0.02)
        self._record("server", "down", remote=remote, port=port,
                     mechanism="app.py tls-server stopped (SIGTERM): its host's kernel "
                     "answers SYNs with a RST; a server failure, not an intervention")
        self._say("server %s:%d down" % (remote, port))

    def _server_restart(self, remote, port):
        key = self._tls_key(remote, port)
        old = self.servers[key]
        n = sum(1 for p in self.procs if p["argv"] == old["argv"]) + 1
        stem = re.sub(r"(\.\d+)?\.log$", "", os.path.basename(old["log"]))
        self.servers[key] = self._spawn("net", old["argv"], "%s.%d.log" % (stem, n), "server")
        self._wait_listening(key, time.monotonic() + 5)
        self._record("server", "up", remote=remote, port=port,
                     mechanism="app.py tls-server started again (listening)")
        self._say("server %s:%d up" % (remote, port))

    def _server_control(self, remote, port, **settings):
        """Changes a running TLS server's settings (its --control file; read at each
        accept). No settings: back to its command line's."""
        self._tls_key(remote, port)
        path = self._tls_control_path(remote, port)
        with open(path + ".tmp", "w") as f:
            json.dump(settings, f)
        os.replace(path + ".tmp", path)
        delay = settings.get("delay")
        self._record("server", "slow" if delay else "normal", remote=remote, port=port,
                     delay_s=delay,
                     mechanism="app.py tls-server waits %s s after accepting a connection "
                     "before its TLS handshake (the kernel ACKs meanwhile); a slow server, "
                     "not an intervention" % delay if delay else
                     "app.py tls-server handshakes at once again")
        self._say("server %s:%d %s" % (remote, port, "slow (%g s before each handshake)" %
                                       delay if delay else "normal again"))

    # -- internals: the resolver's answers (DNS blocks on the resolver's side, a slow name) --

    def _dns_set(self, remote, port, name, setting):
        """Switches the resolver at remote:port's answers for `name` (setting None: normal
        again): its control file replaced at once (os.replace), read at its next query."""
        if ("net", port, "dns", remote) not in self.servers:
            raise LabError("no resolver at %s port %d" % (remote, port))
        modes = self.dns_modes.setdefault((remote, port), {})
        if setting is None:
            modes.pop(name, None)
        else:
            modes[name] = setting
        path = self._dns_control_path(remote, port)
        with open(path + ".tmp", "w") as f:
            json.dump(modes, f)
        os.replace(path + ".tmp", path)

    def _resolver_slow(self, remote, port, name, delay):
        self._dns_set(remote, port, name, {"mode": "slow", "delay": list(delay)} if delay
                      else None)
        self._record("server", "slow" if delay else "normal", remote=remote, port=port,
                     proto="udp", name=name, delay_range_s=list(delay) if delay else None,
                     mechanism="app.py dns-server answers %s after %g-%g s (the same query "
                     "sent again meanwhile gets the same answer at the same time); a slow "
                     "resolver, not an intervention" % ((name,) + tuple(delay)) if delay else
                     "app.py dns-server answers %s after 20-40 ms again" % name)
        self._say("resolver %s: %s %s" % (remote, name, "slow (%g-%g s)" % tuple(delay)
                                          if delay else "normal again"))

    def _start_capture(self):
        self.capture = self._spawn(
            "office", ["tcpdump", "-i", DEV_OFFICE, "-n", "-s", str(self.snaplen), "-U",
                       "--immediate-mode", "-Z", "root", "-w", self.pcap],
            "tcpdump.log", "capture")
        self._wait_log(self.capture, "listening on")

    def _stop_capture(self):
        self._stop(self.capture, signal.SIGINT, wait=10)
        with open(self.capture["log"]) as f:
            text = f.read()
        for key in ("captured", "received by filter", "dropped by kernel"):
            m = re.search(r"(\d+) packets? " + key, text)
            if m:
                k = key.replace(" ", "_")
                self.capture_stats[k] = self.capture_stats.get(k, 0) + int(m.group(1))

    def _capture_pause(self):
        self._stop_capture()
        self._record("capture", "stop", mechanism="tcpdump stopped (SIGINT); "
                     "the traffic goes on")
        self._say("capture stopped (a sensor restart); traffic goes on")

    def _capture_resume(self):
        part = os.path.join(self.outdir, "%s.part%d.pcap" %
                            (self.name, len(self.capture_parts) + 2))
        self.capture_parts.append(part)
        self.capture = self._spawn(
            "office", ["tcpdump", "-i", DEV_OFFICE, "-n", "-s", str(self.snaplen), "-U",
                       "--immediate-mode", "-Z", "root", "-w", part],
            "tcpdump-%d.log" % (len(self.capture_parts) + 1), "capture")
        self._wait_log(self.capture, "listening on")
        self._record("capture", "resume", mechanism="a new tcpdump, "
                     "joined to the first file at the end")
        self._say("capture resumed -> %s" % part)

    def _join_capture_parts(self):
        """Appends the records of each later part to the scenario's pcap."""
        with open(self.pcap, "ab") as out, open(self.pcap, "rb") as first:
            head = first.read(24)
            for part in self.capture_parts:
                with open(part, "rb") as f:
                    h = f.read(24)
                    if h[:4] != head[:4] or h[20:24] != head[20:24]:
                        raise LabError("%s: not the first file's pcap format" % part)
                    shutil.copyfileobj(f, out)
                os.unlink(part)
        self.capture_parts = []

    # -- internals: flows and probes --

    def _flow(self, direction, remote, port, rate_bps, start, end, proto):
        local = OFFICE4 if family(remote) == 4 else OFFICE6
        fl = {"id": "f%d" % (len(self.flows) + 1), "proto": proto,
              "direction": direction, "local": local,
              "local_port": CPORT_BASE + len(self.flows), "remote": remote,
              "remote_port": int(port), "rate_bps": int(rate_bps),
              "tool": "iperf3" + (" -R" if direction == "down" else ""),
              "planned_start_t": start, "planned_end_t": end,
              "start": None, "end": None, "exit_code": None}
        self.flows.append(fl)
        self._at(start, "flow start", lambda: self._start_flow(fl))
        return fl

    def _start_flow(self, fl):
        if fl["tool"].startswith("app.py"):
            return self._start_app(fl)
        dur = max(1, int(round(fl["planned_end_t"] - self.t())))
        if fl.get("opened_by") == "remote":
            argv = ["iperf3", "-c", fl["local"], "-p", str(fl["local_port"]),
                    "--cport", str(fl["remote_port"]), "-t", str(dur), "-R",
                    "-J", "--connect-timeout", "3000",
                    "-b", str(fl["rate_bps"] or 0), "-B", fl["remote"]]
            self._spawn("net", argv, "iperf3-%s-%d.json" %
                        (fl["id"], fl["local_port"]), "flow", flow=fl)
            fl["start"] = round(time.time(), 6)
            self._say("flow %s start: %s downloads from office port %d at %s "
                      "for %d s" % (fl["id"], fl["remote"], fl["local_port"],
                                    fmt_rate(fl["rate_bps"] or 0), dur))
            return
        argv = ["iperf3", "-c", fl["remote"], "-p", str(fl["remote_port"]),
                "--cport", str(fl["local_port"]), "-b", str(fl["rate_bps"]),
                "-t", str(dur), "-J", "--connect-timeout", "3000"]
        if fl["direction"] == "down":
            argv.append("-R")
        # Small writes keep the app-limited flow smooth: iperf3's default
        # 128 KB write would make a 1 Mbit/s flow one ~50 ms burst per second.
        # Two segments per write (not one) halve the ACKs: the receiver ACKs
        # every lone segment, which made the demo pcap ~4.8 MB.
        if fl["proto"] == "udp":
            argv += ["-u", "-l", "1400"]
        else:  # 2 x MSS (TCP timestamps on: 1448 over IPv4, 1428 over IPv6)
            argv += ["-l", "2896" if family(fl["remote"]) == 4 else "2856"]
        self._spawn("office", argv, "iperf3-%s-%d.json" %
                    (fl["id"], fl["remote_port"]), "flow", flow=fl)
        fl["start"] = round(time.time(), 6)
        self._say("flow %s start %s %s %s:%d <- local port %d at %s for %d s" %
                  (fl["id"], fl["proto"], fl["direction"], fl["remote"],
                   fl["remote_port"], fl["local_port"], fmt_rate(fl["rate_bps"]),
                   dur))

    def _start_app(self, fl):
        dur = max(1.0, fl["planned_end_t"] - self.t())
        app = fl["app"]
        argv = [sys.executable, APP, "client", app["mode"], "--remote",
                fl["remote"], "--port", str(fl["remote_port"]), "--duration",
                "%.2f" % dur, "--direction", fl["direction"]]
        if fl["local_port"]:
            argv += ["--cport", str(fl["local_port"])]
        if "schedule" in app:
            argv += ["--schedule", ",".join(
                "%g:%s" % (t, "max" if r is None else "%d" % r)
                for t, r in app["schedule"])]
        for k, v in app.items():
            if k not in ("mode", "schedule"):
                argv += ["--" + k.replace("_", "-"), str(v)]
        if app["mode"] in ("web", "browse", "lan", "dns_lookups", "http_attempts") and \
                self.seed is not None:
            argv += ["--seed", str(self.seed)]
        self._spawn("office", argv, "app-%s-%d.log" % (fl["id"], fl["remote_port"]),
                    "flow", flow=fl)
        fl["start"] = round(time.time(), 6)
        self._say("flow %s start app.py %s %s %s:%d for %.0f s" %
                  (fl["id"], app["mode"], fl["direction"], fl["remote"],
                   fl["remote_port"], dur))

    def _start_probe(self, pr):
        argv = ["ping", "-n", "-D", "-i", str(pr["interval_s"]), pr["remote"]]
        pr["proc"] = self._spawn("office", argv, "ping-%s.log" %
                                 pr["remote"].replace(":", "_"), "probe")
        pr["start"] = round(time.time(), 6)
        self._say("probe start ping -i %g %s" % (pr["interval_s"], pr["remote"]))

    def _stop_probe(self, pr):
        if pr.get("proc"):
            self._stop(pr["proc"], signal.SIGINT)
            pr["end"] = round(time.time(), 6)

    # -- internals: shaping --

    @staticmethod
    def _qlimit(rate_bps, queue_bytes=None, seconds=0.2):
        """Shaper queue in bytes: ~seconds of traffic, at least 10 frames."""
        if queue_bytes:
            return int(queue_bytes)
        return max(int(rate_bps * seconds / 8), 10 * MTU_FRAME)

    def _shaper_dev(self, direction):
        return DEV_ISP_OFFICE if direction == "down" else DEV_ISP_NET

    def _shaper_setup(self, direction, dev, rate):
        """root 1: htb; 1:1 = the plan; 1:10 = default leaf (everything)."""
        tc = ["tc"]
        self.sh("isp", tc + ["qdisc", "replace", "dev", dev, "root", "handle",
                             "1:", "htb", "default", "10"])
        for classid, parent in (("1:1", "1:"), ("1:10", "1:1")):
            self.sh("isp", tc + ["class", "add", "dev", dev, "parent", parent,
                                 "classid", classid, "htb", "rate", str(rate),
                                 "ceil", str(rate), "quantum", str(MTU_FRAME)])
        self.sh("isp", tc + ["qdisc", "add", "dev", dev, "parent", "1:10",
                             "handle", "10:", "bfifo", "limit",
                             str(self._qlimit(rate))])

    def _set_link_rate(self, direction, rate):
        dev = self._shaper_dev(direction)
        for classid, parent in (("1:1", "1:"), ("1:10", "1:1")):
            self.sh("isp", ["tc", "class", "change", "dev", dev, "parent",
                            parent, "classid", classid, "htb", "rate",
                            str(rate), "ceil", str(rate), "quantum",
                            str(MTU_FRAME)])
        self.sh("isp", ["tc", "qdisc", "change", "dev", dev, "parent", "1:10",
                        "handle", "10:", "bfifo", "limit",
                        str(self._qlimit(rate))])

    def _u32_matches(self, th, fam):
        """u32 match args for throttle th, IP family fam (4 or 6)."""
        down = th["direction"] == "down"  # remote is the source on downlink
        tgt = th["target"]
        m = []
        ip = "ip" if fam == 4 else "ip6"
        if "remote" in tgt:
            plen = 32 if fam == 4 else 128
            m += ["match", ip, "src" if down else "dst",
                  "%s/%d" % (tgt["remote"], plen)]
        if "proto" in tgt:
            m += ["match", ip, "protocol",
                  "6" if tgt["proto"] == "tcp" else "17", "0xff"]
        if "remote_port" in tgt:
            m += ["match", ip, "sport" if down else "dport",
                  str(tgt["remote_port"]), "0xffff"]
        return m

    def _ingress_dev(self, direction):
        """The isp device the throttled direction's traffic enters by."""
        return DEV_ISP_NET if direction == "down" else DEV_ISP_OFFICE

    def _policer_start(self, th):
        """A policer ahead of the plan's shaper, as an ISP polices where traffic enters: the
        target's packets are redirected at the ingress to an ifb whose only qdisc is a tbf with a
        queue of one frame (what finds the bucket short is dropped), then go on to the plan's
        shaper like all traffic. Under the plan's class instead, the one-frame queue would overflow
        whenever a line-rate burst met the plan's pacing: drops that are not the bucket's."""
        d = th["direction"]
        dev_in = self._ingress_dev(d)
        th["ifb"] = "tw-pol%d" % th["seq"]
        self.sh("isp", ["ip", "link", "add", th["ifb"], "type", "ifb"])
        self.sh("isp", ["ip", "link", "set", th["ifb"], "up"])
        self.sh("isp", ["tc", "qdisc", "add", "dev", th["ifb"], "root", "handle", "1:",
                        "tbf", "rate", str(th["rate_bps"]), "burst", str(th["burst_bytes"]),
                        "limit", str(MTU_FRAME)])
        self.sh("isp", ["tc", "qdisc", "replace", "dev", dev_in, "ingress"])
        th["filters"] = []
        fams = [family(th["target"]["remote"])] if "remote" in th["target"] else [4, 6]
        for fam in fams:
            prio = 2 * (100 + th["seq"]) + (fam == 6)
            proto = "ip" if fam == 4 else "ipv6"
            self.sh("isp", ["tc", "filter", "add", "dev", dev_in, "parent", "ffff:",
                            "protocol", proto, "prio", str(prio), "u32"] +
                    self._u32_matches(th, fam) +
                    ["action", "mirred", "egress", "redirect", "dev", th["ifb"]])
            th["filters"].append((proto, prio))
        return "tbf policer on ifb %s fed by the ingress of %s via u32 + mirred " \
               "(burst %d B, limit %d B), ahead of the plan's shaper" % (
                   th["ifb"], dev_in, th["burst_bytes"], MTU_FRAME)

    def _throttle_start(self, th):
        d = th["direction"]
        dev = self._shaper_dev(d)
        rate = th["rate_bps"]
        if th["scope"] == "link":
            self._set_link_rate(d, rate)
            how = "htb on isp egress %s, root class 1:1 rate -> %d" % (dev, rate)
        elif th["policer"]:
            how = self._policer_start(th)
        else:
            minor = 100 + th["seq"]
            th["classid"] = "1:%d" % minor
            burst = []
            if th["burst_bytes"]:
                burst = ["burst", str(th["burst_bytes"]),
                         "cburst", str(th["burst_bytes"])]
            self.sh("isp", ["tc", "class", "add", "dev", dev, "parent", "1:1",
                            "classid", th["classid"], "htb", "rate", str(rate),
                            "ceil", str(rate), "quantum", str(MTU_FRAME)] + burst)
            self.sh("isp", ["tc", "qdisc", "add", "dev", dev, "parent",
                            th["classid"], "handle", "%d:" % minor, "bfifo",
                            "limit", str(self._qlimit(rate, th["queue_bytes"]))])
            fams = ([family(th["target"]["remote"])] if "remote" in th["target"]
                    else [4, 6])
            th["filters"] = []
            # The filters go in last: one command each, the last one's return
            # is the moment the throttle is in force.
            for fam in fams:
                prio = 2 * minor + (fam == 6)
                proto = "ip" if fam == 4 else "ipv6"
                self.sh("isp", ["tc", "filter", "add", "dev", dev, "parent",
                                "1:", "protocol", proto, "prio", str(prio),
                                "u32"] + self._u32_matches(th, fam) +
                        ["flowid", th["classid"]])
                th["filters"].append((proto, prio))
            how = "htb on isp egress %s, class %s via u32" % (dev, th["classid"])
        th["action"] = self._record(
            "throttle", "start", id=th["id"], direction=d, scope=th["scope"],
            target=th["target"] or None, rate_bps=rate,
            burst_bytes=th["burst_bytes"],
            limiter="policer" if th["policer"] else "shaper",
            mechanism="tc " + how)
        if th["scope"] != "link":
            # The squeeze begins when the class first holds traffic back
            # (overlimits > 0), not now: at once for a flow above the rate,
            # when its bucket runs dry for one with a burst, at the next page
            # for a site browsed in bursts.
            th["last_poll_ts"] = time.time()
            self.watch.append(th)
        self._say("throttle %s start %s %s %s -> %s" %
                  (th["id"], d, th["scope"], json.dumps(th["target"]),
                   fmt_rate(rate)))

    def _throttle_end(self, th):
        if th in self.watch:
            self.watch.remove(th)  # ended before its bucket ran dry
        d = th["direction"]
        dev = self._shaper_dev(d)
        if th["scope"] == "link":
            self._set_link_rate(d, self.plan[d])
        else:
            fdev, parent = ((self._ingress_dev(d), "ffff:") if th["policer"] else (dev, "1:"))
            for proto, prio in th["filters"]:
                self.sh("isp", ["tc", "filter", "del", "dev", fdev, "parent",
                                parent, "protocol", proto, "prio", str(prio)])
        # Recorded when the traffic stopped being classified into the throttle.
        self._record("throttle", "end", id=th["id"], direction=d,
                     scope=th["scope"], target=th["target"] or None,
                     rate_bps=th["rate_bps"])
        if th["policer"]:
            # Tidy up: the ifb and its tbf (nothing is redirected to it any more).
            self.sh("isp", ["ip", "link", "del", th["ifb"]], check=False)
        elif th["scope"] != "link":
            # Tidy up: the class is now unreferenced (its queue drains first).
            self.sh("isp", ["tc", "class", "del", "dev", dev, "classid",
                            th["classid"]], check=False)
        self._say("throttle %s end" % th["id"])

    def _poll_buckets(self, every=0.1):
        if not self.watch or self.t() - self.last_poll < every:
            return
        self.last_poll = self.t()
        for th in list(self.watch):
            dev = self._shaper_dev(th["direction"])
            # A policer's bucket is the tbf's (the counters of its ifb's
            # root qdisc), a shaper's the HTB class's.
            out = self.sh("isp", (["tc", "-s", "qdisc", "show", "dev", th["ifb"]]
                                  if th["policer"] else
                                  ["tc", "-s", "class", "show", "dev", dev, "classid",
                                   th["classid"]]), check=False)
            now = time.time()
            m = re.search(r"Sent (\d+) bytes .*overlimits (\d+)", out)
            if m and int(m.group(2)) > 0:
                a = th["action"]
                # Somewhere between the previous poll and this one.
                a["onset_ts"] = round((now + th["last_poll_ts"]) / 2, 6)
                a["onset_t_rel"] = round(a["onset_ts"] - self.t0_wall, 3)
                a["onset_uncertainty_s"] = round((now - th["last_poll_ts"]) / 2, 3)
                a["burst_bytes_measured"] = int(m.group(1))
                self.watch.remove(th)
                self._say("throttle %s: bucket empty after %s bytes, squeezed "
                          "from now on" % (th["id"], m.group(1)))
            th["last_poll_ts"] = now

    def _blackhole_start(self):
        for v in ("-4", "-6"):
            self.sh("isp", ["ip", v, "rule", "add", "prio", "5", "blackhole"])
        self._record("outage", "start", scope="link",
                     mechanism="ip rule blackhole (isp ns): everything "
                     "forwarded is dropped silently, links stay up")
        self._say("blackhole start: isp drops everything it forwards")

    def _blackhole_end(self):
        for v in ("-4", "-6"):
            self.sh("isp", ["ip", v, "rule", "del", "prio", "5"])
        self._record("outage", "end", scope="link",
                     mechanism="ip rule blackhole removed")
        self._say("blackhole end")

    def _block_rules(self, bl):
        """[(iptables or ip6tables, rule spec)] of a block, the family of its remote last (its
        return is the moment the block is in force)."""
        m = bl["method"]
        if m in HTTP_METHODS:
            return [("iptables", ["-p", "tcp", "--dport", str(bl["port"]), "-m", "string",
                                  "--string", "Host: %s" % bl["name"], "--algo", "bm",
                                  "-j", "DROP"])]
        if m in NAME_METHODS:
            match = ["-p", "tcp", "--dport", str(bl["port"]), "-m", "string", "--string",
                     bl["name"], "--algo", "bm"]
            target = (["-j", "REJECT", "--reject-with", "tcp-reset"] if m == "tcp_rst"
                      else ["-j", "DROP"])
            cmds = ["ip6tables", "iptables"]
            if bl["remote"] and family(bl["remote"]) == 6:
                cmds.reverse()
            return [(c, match + target) for c in cmds]
        cmd = "iptables" if family(bl["remote"]) == 4 else "ip6tables"
        if m == "ip_blackhole":
            return [(cmd, ["-s", bl["remote"], "-j", "DROP"]),
                    (cmd, ["-d", bl["remote"], "-j", "DROP"])]
        return [(cmd, ["-p", "udp", "-s", bl["remote"], "--sport", str(bl["port"]),
                       "-j", "DROP"])]

    def _block_fields(self, bl):
        return dict(id=bl["id"], method=bl["method"], name=bl["name"], remote=bl["remote"],
                    port=bl["port"], proto=bl["proto"])

    def _dns_block_start(self, bl):
        """dns_injection: the injector started in the isp namespace, on its office-facing veth
        (ts: when it reported its socket bound); dns_bogon, dns_nxdomain: the resolver's answer
        for the name switched (ts: its control file replaced)."""
        if bl["method"] == "dns_injection":
            bl["proc"] = self._spawn(
                "isp", [sys.executable, APP, "dns-injector", "--dev", DEV_ISP_OFFICE, "--name",
                        bl["name"], "--answer", DNS_FORGED, "--ttl", str(INJECTOR_TTL)],
                "dns-injector-%s.log" % bl["id"], "injector")
            ready = self._wait_log_json(bl["proc"], "ready")
            how = ("app.py dns-injector (isp ns): an AF_PACKET socket on %s answers each A "
                   "query for %s at once with %s, IP TTL %d, as if from the resolver; the "
                   "query goes on" % (DEV_ISP_OFFICE, bl["name"], DNS_FORGED, INJECTOR_TTL))
        else:
            mode = bl["method"][len("dns_"):]
            self._dns_set(bl["remote"], bl["port"], bl["name"], {"mode": mode})
            ready = None
            how = ("app.py dns-server (the resolver) answers %s with %s" % (
                bl["name"], DNS_BOGON if mode == "bogon" else "NXDOMAIN"))
        a = self._record("block", "start", **self._block_fields(bl), mechanism=how)
        if ready is not None:  # in force from the moment the injector's socket was bound
            a["ts"] = round(ready["ts"], 6)
            a["t_rel"] = round(ready["ts"] - self.t0_wall, 3)

    def _dns_block_end(self, bl):
        if bl["method"] == "dns_injection":
            self._stop(bl["proc"])
            how = "the injector stopped (SIGTERM, exited)"
        else:
            self._dns_set(bl["remote"], bl["port"], bl["name"], None)
            how = "the resolver answers %s normally again" % bl["name"]
        self._record("block", "end", **self._block_fields(bl), mechanism=how)

    def _wait_log_json(self, proc, event, timeout=5.0):
        """The first JSON line of proc's log whose "event" is `event`."""
        self._wait_log(proc, '"event": "%s"' % event, timeout)
        with open(proc["log"]) as f:
            for line in f:
                if line.startswith("{") and json.loads(line).get("event") == event:
                    return json.loads(line)
        raise LabError("%s: no %s line" % (proc["argv"][0], event))

    def _http_block_start(self, bl):
        """http_blockpage: the request dropped first (iptables), then the injector started on
        the router's office-facing veth (ts: when it reported its socket bound). In this order
        a request in between is only delayed (dropped, sent again), never answered twice."""
        for cmd, spec in bl["rules"]:
            self.sh("isp", [cmd, "-w", "-A", "FORWARD"] + spec)
        bl["proc"] = self._spawn(
            "isp", [sys.executable, APP, "http-injector", "--dev", DEV_ISP_OFFICE, "--name",
                    bl["name"], "--port", str(bl["port"]), "--location", BLOCKPAGE_URL,
                    "--ttl", str(INJECTOR_TTL)],
            "http-injector-%s.log" % bl["id"], "injector")
        ready = self._wait_log_json(bl["proc"], "ready")
        a = self._record("block", "start", **self._block_fields(bl), mechanism=(
            "iptables (isp ns): %s; app.py http-injector (isp ns): an AF_PACKET socket on %s "
            "answers each such request at once with a forged '302 Found' to %s (Connection: "
            "close, PSH|ACK|FIN, seq = the request's ack), as if from the server, IP TTL %d" % (
                "; ".join("%s -A FORWARD %s" % (c, " ".join(shlex.quote(x) for x in r))
                          for c, r in bl["rules"]),
                DEV_ISP_OFFICE, BLOCKPAGE_URL, INJECTOR_TTL)))
        a["ts"] = round(ready["ts"], 6)  # in force once the injector's socket was bound
        a["t_rel"] = round(ready["ts"] - self.t0_wall, 3)

    def _http_block_end(self, bl):
        """The injector stopped first, then the rules deleted (ts): a request in between is
        dropped and sent again, then answered by the server."""
        self._stop(bl["proc"])
        for cmd, spec in bl["rules"]:
            self.sh("isp", [cmd, "-w", "-D", "FORWARD"] + spec)
        self._record("block", "end", **self._block_fields(bl),
                     mechanism="the injector stopped (SIGTERM, exited), then the block's "
                     "iptables rules deleted")

    def _block_start(self, bl):
        if bl["method"] in DNS_METHODS:
            self._dns_block_start(bl)
            self._say("block %s start: %s %s" % (bl["id"], bl["method"], bl["name"]))
            return
        bl["rules"] = self._block_rules(bl)
        if bl["method"] in HTTP_METHODS:
            self._http_block_start(bl)
            self._say("block %s start: %s %s" % (bl["id"], bl["method"], bl["name"]))
            return
        for cmd, spec in bl["rules"]:
            self.sh("isp", [cmd, "-w", "-A", "FORWARD"] + spec)
        self._record("block", "start", **self._block_fields(bl),
                     mechanism="iptables (isp ns): " + "; ".join(
                         "%s -A FORWARD %s" % (c, " ".join(r)) for c, r in bl["rules"]))
        self._say("block %s start: %s %s" % (bl["id"], bl["method"],
                                             bl["name"] or bl["remote"]))

    def _block_end(self, bl):
        if bl["method"] in DNS_METHODS:
            self._dns_block_end(bl)
            self._say("block %s end" % bl["id"])
            return
        if bl["method"] in HTTP_METHODS:
            self._http_block_end(bl)
            self._say("block %s end" % bl["id"])
            return
        for cmd, spec in bl["rules"]:  # exactly the rules it added
            self.sh("isp", [cmd, "-w", "-D", "FORWARD"] + spec)
        self._record("block", "end", **self._block_fields(bl),
                     mechanism="the block's iptables rules deleted")
        self._say("block %s end" % bl["id"])

    def _outage_start(self):
        self.sh("isp", ["ip", "link", "set", DEV_ISP_NET, "down"])
        self._record("outage", "start", scope="link",
                     mechanism="ip link set %s down (isp ns, toward internet)"
                     % DEV_ISP_NET)
        self._say("outage start: isp %s down" % DEV_ISP_NET)

    def _outage_end(self):
        self.sh("isp", ["ip", "link", "set", DEV_ISP_NET, "up"])
        self._record("outage", "end", scope="link",
                     mechanism="ip link set %s up" % DEV_ISP_NET)
        # Connected routes come back with the link; defaults may not.
        self._apply_routes(check=False)
        self._say("outage end: isp %s up, routes re-applied" % DEV_ISP_NET)

    # -- the run --

    def execute(self):
        if self.duration is None:
            raise LabError("scenario did not call lab.end(t)")
        self.setup()
        self._start_servers()
        self.t0_mono = time.monotonic()
        self.t0_wall = time.time()
        self._start_capture()
        self._say("capture on office %s -> %s" % (DEV_OFFICE, self.pcap))
        for t, _, _, fn in sorted(self.events, key=lambda e: (e[0], e[1])):
            self._sleep_until(t)
            fn()
        self._sleep_until(self.duration - 1.5)
        # Flows should have finished by themselves; give them a moment.
        deadline = time.monotonic() + 8
        while any(p["exit_ts"] is None for p in self.procs
                  if p["kind"] == "flow") and time.monotonic() < deadline:
            self._reap()
            time.sleep(0.05)
        for p in self.procs:
            if p["kind"] == "flow" and p["exit_ts"] is None:
                self._say("flow %s still running at the end: stopping it" %
                          p["flow"]["id"])
                self._stop(p)
        for pr in self.probes:
            if pr["end"] is None:
                self._stop_probe(pr)
        self._sleep_until(self.duration)
        self._stop_capture()
        self._join_capture_parts()
        self._collect_app_events()
        self._say("capture stopped: %s" % json.dumps(self.capture_stats))

    def _collect_app_events(self):
        """A player's bitrate switches are its own demand changes: into the
        truth as "demand" actions (a detector must not report them). The
        attempts of tls_attempts and quic_attempts flows go into their flow:
        what each attempt saw, to check the truth against."""
        for proc in self.procs:
            fl = proc.get("flow")
            mode = (fl or {}).get("app", {}).get("mode")
            if mode in ATTEMPT_MODES + ("tls_idle",):
                self._collect_attempts(fl, proc["log"])
                continue
            if not fl or mode != "player":
                continue
            with open(proc["log"]) as f:
                for line in f:
                    try:
                        ev = json.loads(line)
                    except ValueError:
                        continue
                    if ev.get("event") != "switch":
                        continue
                    self.actions.append({
                        "kind": "demand", "state": "change", "ts": ev["ts"],
                        "t_rel": round(ev["ts"] - self.t0_wall, 3),
                        "flow": fl["id"], "direction": fl["direction"],
                        "rate_bps": ev["to_bps"], "by": "player abr",
                        "estimate_bps": ev["estimate_bps"]})
        self.actions.sort(key=lambda a: a["ts"])

    def _collect_attempts(self, fl, logpath):
        fl["attempts"], fl["idle_closes"], counts = [], [], {}
        with open(logpath) as f:
            for line in f:
                try:
                    ev = json.loads(line)
                except ValueError:
                    continue
                if ev.get("event") == "attempt":
                    at = {"t": round(ev["start"] - self.t0_wall, 3),
                          "outcome": ev["outcome"], "s": ev["seconds"]}
                    if fl["app"]["mode"] in DNS_MODES:
                        at.update(answer=ev.get("answer"), sends=ev.get("sends"),
                                  seen=dns_seen(fl["service"], ev["outcome"], ev.get("answer")))
                    if fl["app"]["mode"] in HTTP_MODES:
                        at.update(status=ev.get("status"), location=ev.get("location"),
                                  seen="blockpage" if ev.get("location") == BLOCKPAGE_URL
                                  else ev["outcome"])
                    fl["attempts"].append(at)
                    counts[ev["outcome"]] = counts.get(ev["outcome"], 0) + 1
                elif ev.get("event") == "idle":
                    fl["idle_closes"].append({"t": round(ev["ts"] - self.t0_wall, 3),
                                              "outcome": ev["outcome"], "idle_s": ev["idle_s"]})
        fl["attempts"].sort(key=lambda x: x["t"])
        fl["attempt_outcomes"] = counts
        if fl["app"]["mode"] in HTTP_MODES:
            # What the site itself answers: its 200 page, or its own redirect.
            own = self.server_opts.get((fl["remote"], fl["remote_port"]), {}).get("redirect", {})
            fl["normal_outcome"] = "redirected" if fl["service"] in own else "ok"
        if fl["app"]["mode"] != "tls_idle":
            del fl["idle_closes"]

    def truth(self, complete, error=None):
        def clean_probe(pr):
            return {k: v for k, v in pr.items() if k != "proc"}
        out = {
            "version": 1,
            "scenario": self.name,
            "capture": os.path.basename(self.pcap),
            "complete": complete,
            "error": error,
            "seed": self.seed,
            "start_ts": round(self.t0_wall, 6) if self.t0_wall else None,
            "end_ts": round(time.time(), 6),
            "vantage": "office uplink (office side of the office<->isp link), "
                       "tcpdump -s %d: downloads are seen after the ISP's "
                       "shaper, uploads before it" % self.snaplen,
            "capture_snaplen": self.snaplen,
            "local_networks": OFFICE_NETS,
            "plan_bps": dict(self.plan),
            "topology": {
                "office": [OFFICE4, OFFICE6],
                "isp_router": [ISP_OFFICE4, ISP_OFFICE6, ISP_NET4, ISP_NET6],
                "servers": SERVERS4 + SERVERS6 + PUBLIC4 + PUBLIC6,
            },
            "actions": self.actions,
            "flows": self.flows,
            "probes": [clean_probe(p) for p in self.probes],
            "notes": [
                "ts are epoch seconds taken right after the tc/ip command "
                "returned; t_rel = ts - start_ts (start_ts: capture started)",
                "each iperf3 flow also has a control connection from an "
                "ephemeral office port to the same remote_port",
                "flow rate_bps is iperf3's payload rate (-b); iperf3 catches up "
                "after a stall (its limiter targets the average since start)",
            ],
            "capture_stats": self.capture_stats,
        }
        if any(f.get("app", {}).get("mode") in DNS_MODES for f in self.flows):
            out["dns"] = {"resolvers": sorted({f["remote"] for f in self.flows
                                               if f["app"]["mode"] in DNS_MODES}),
                          "zone": DNS_ZONE, "forged_answer": DNS_FORGED,
                          "injector_ttl": INJECTOR_TTL, "bogon_answer": DNS_BOGON}
            out["notes"] += [
                "DNS block ts: dns_injection from when the injector's socket was bound to "
                "when it exited; dns_bogon and dns_nxdomain right after the resolver's "
                "control file was replaced (it reads it at each query)",
                "dns_lookups attempts are lookups: outcome (ok, nodata, nxdomain, timeout) and "
                "answer (the A addresses) of the first answer to the A query, sends (2: sent "
                "again after 1 s), seen (ok: the zone's answer, NXDOMAIN for a name outside "
                "it; forged, bogon, nxdomain, timeout, wrong)",
            ]
        if any(f.get("app", {}).get("mode") in HTTP_MODES for f in self.flows):
            out["http"] = {"blockpage": BLOCKPAGE_URL, "injector_ttl": INJECTOR_TTL,
                           "redirects": {"%s:%d" % k: v["redirect"] for k, v in
                                         sorted(self.server_opts.items()) if v.get("redirect")}}
            out["notes"] += [
                "http_blockpage block ts: from when the injector's socket was bound (the "
                "iptables rule added just before) to when the rule was deleted (the injector "
                "stopped just before)",
                "http_attempts attempts: outcome (ok: 200, redirected: 3xx, reset, timeout, "
                "error), status, location, seen (blockpage: redirected to the block page, else "
                "the outcome); a flow's normal_outcome is what its site answers by itself",
            ]
        if self.blocks or any(f.get("app", {}).get("mode") in ATTEMPT_MODES
                              for f in self.flows):
            out["notes"] += [
                "block ts: right after the last iptables command that added (start) or "
                "deleted (end) the block's rules in the isp namespace",
                "flows of tls_attempts/quic_attempts open a new connection per attempt; "
                "their attempts[] list each attempt's start (t, s after start_ts), outcome "
                "(ok, reset, refused, timeout, tls_error, error) and seconds",
                "server actions (down/up, slow/normal) are a server's own failures, not "
                "interventions: a detector must not report them as blocks",
            ]
        return out


def dns_seen(name, outcome, answer):
    """What a lookup of `name` got, against the lab's zone: "ok" (the zone's A addresses; for a
    name outside it, NXDOMAIN), "forged" (the injector's), "bogon", "nxdomain" (for a name in
    the zone), "timeout", else "wrong"."""
    want = DNS_ZONE.get(name.lower())
    if outcome == "timeout":
        return "timeout"
    if want is None:
        return "ok" if outcome == "nxdomain" else "wrong"
    if outcome == "nxdomain":
        return "nxdomain"
    return {(DNS_FORGED,): "forged", (DNS_BOGON,): "bogon",
            tuple(a for a in want if ":" not in a): "ok"}.get(tuple(answer or ()), "wrong")


# ---------------------------------------------------------------------------
# Namespace housekeeping (also used by `cleanup`).

def list_netns():
    out = run(["ip", "netns", "list"], check=False)
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def kill_ns_pids(ns):
    for sig in (signal.SIGTERM, signal.SIGKILL):
        out = run(["ip", "netns", "pids", ns], check=False)
        pids = [int(x) for x in out.split() if x.isdigit()]
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        time.sleep(0.5)


def pid_is_lab(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return b"lab.py" in f.read()
    except OSError:
        return False


def cmd_cleanup(args):
    removed = 0
    for ns in list_netns():
        m = NS_RE.match(ns)
        if not m:
            continue
        owner = int(m.group(1))
        if (owner != os.getpid() and pid_is_lab(owner) and not args.force):
            log("skip %s: its run (pid %d) is still alive (use --force)" %
                (ns, owner))
            continue
        kill_ns_pids(ns)
        run(["ip", "netns", "del", ns], check=False)
        log("removed namespace %s (and its veths, qdiscs, processes)" % ns)
        removed += 1
    log("cleanup: %d namespace(s) removed" % removed)
    return 0


# ---------------------------------------------------------------------------
# Scenarios.  Each is a small function that schedules things on the lab.
# Times are seconds after the capture starts.

SCENARIOS = {}
DEMO_PORTS = (5201, 5202, 5203)


def scenario(name, help):
    def deco(fn):
        SCENARIOS[name] = (fn, help)
        return fn
    return deco


def two_anchors(lab):
    """Echo probes to two servers, as an office watching for outages runs them: one remote's
    silence may be its own failure; an outage silences both (throttlewatch needs two witnesses)."""
    lab.probe(SERVERS4[0])
    lab.probe(SERVERS4[2])


def three_downloads(lab, server, end, rate=1_000_000, start=1.0):
    return [lab.download(server, port, rate, start, end) for port in DEMO_PORTS]


@scenario("demo", "3 TCP downloads @1 Mbit/s in a 20 Mbit/s plan; port 5202 "
                  "throttled to 250 kbit/s t=20..45; outage t=55..65; 88 s")
def sc_demo(lab):
    two_anchors(lab)
    three_downloads(lab, SERVER4, end=85)
    lab.throttle(lab.jitter(20), lab.jitter(45), 250_000, direction="down",
                 remote=SERVER4, remote_port=5202, proto="tcp")
    lab.outage(lab.jitter(55), 10)
    lab.end(88)


@scenario("control", "same 3 downloads and probe, no intervention; 60 s")
def sc_control(lab):
    lab.probe(SERVER4)
    three_downloads(lab, SERVER4, end=57)
    lab.end(60)


@scenario("throttle_v6", "demo's throttle over IPv6 (5202 -> 250 kbit/s "
                         "t=20..45), no outage; 60 s")
def sc_throttle_v6(lab):
    lab.probe(SERVER6)
    three_downloads(lab, SERVER6, end=57)
    lab.throttle(lab.jitter(20), lab.jitter(45), 250_000, direction="down",
                 remote=SERVER6, remote_port=5202, proto="tcp")
    lab.end(60)


# -- controls: demand changes, no intervention (a throttle event here is wrong)

@scenario("control_bitrate", "a paced stream lowers its own bitrate 3 -> 1 -> "
                             "0.4 Mbit/s (down), an upload 2 -> 0.5 Mbit/s, "
                             "two steady downloads; 60 s")
def sc_control_bitrate(lab):
    lab.probe(SERVER4)
    lab.download(SERVER4, 5201, 1_000_000, 1, 57)
    lab.download(SERVER4, 5202, 1_000_000, 1, 57)
    lab.app("paced", SERVERS4[1], 8001, 1, 57, direction="down",
            schedule=[(0, 3e6), (lab.jitter(19), 1e6), (lab.jitter(38), 4e5)])
    lab.app("paced", SERVERS4[1], 8002, 1, 57, direction="up",
            schedule=[(0, 2e6), (lab.jitter(29), 5e5)])
    lab.end(60)


@scenario("control_video", "adaptive-streaming-like fetching: 1.5 MB segments "
                           "back to back for 8 s, then one every 4 s (on/off); "
                           "a steady 1 Mbit/s download; 60 s")
def sc_control_video(lab):
    lab.probe(SERVER4)
    lab.download(SERVER4, 5201, 1_000_000, 1, 57)
    lab.app("video", SERVERS4[1], 8001, 1, 57, chunk=1_500_000,
            period=lab.jitter(4, 0.5), startup=lab.jitter(8))
    lab.end(60)


@scenario("control_flows_end", "4 downloads @1.5 Mbit/s ending at t=15, 25, "
                               "35, 57 and an upload ending at t=30; 60 s")
def sc_control_flows_end(lab):
    lab.probe(SERVER4)
    for port, end in zip((5201, 5202, 5203, 5204),
                         (lab.jitter(15), lab.jitter(25), lab.jitter(35), 57)):
        lab.download(SERVER4, port, 1_500_000, 1, end)
    lab.upload(SERVERS4[1], 5205, 1_000_000, 1, lab.jitter(30))
    lab.end(60)


@scenario("control_web", "many short web-like connections (3 workers, "
                         "20-400 KB each, ~4/s) and a steady download; 60 s")
def sc_control_web(lab):
    lab.probe(SERVER4)
    lab.download(SERVER4, 5201, 1_000_000, 1, 57)
    lab.app("web", SERVERS4[1], 8080, 2, 56, parallel=3, rate=1.5,
            size_min=20_000, size_max=400_000)
    lab.end(60)


@scenario("control_slow_receiver", "bulk download read by a slow receiver "
                                   "(32 KB buffer): 4 Mbit/s, 0.3 Mbit/s from "
                                   "t=16, stops reading t=31..37 (zero "
                                   "window), 3 Mbit/s; 60 s")
def sc_control_slow_receiver(lab):
    lab.probe(SERVER4)
    lab.download(SERVER4, 5201, 1_000_000, 1, 57)
    lab.app("slowread", SERVERS4[1], 8001, 1, 57, rcvbuf=32768,
            schedule=[(0, 4e6), (lab.jitter(15), 3e5), (lab.jitter(30), 0),
                      (lab.jitter(36), 3e6)])
    lab.end(60)


@scenario("control_v6", "IPv6 control: a download ending at t=25, a steady "
                        "one, a paced stream 2 -> 0.5 -> 1.5 Mbit/s; 60 s")
def sc_control_v6(lab):
    lab.probe(SERVER6)
    lab.download(SERVER6, 5201, 1_500_000, 1, lab.jitter(25))
    lab.download(SERVER6, 5202, 1_500_000, 1, 57)
    lab.app("paced", SERVERS6[1], 8001, 1, 57, direction="down",
            schedule=[(0, 2e6), (lab.jitter(19), 5e5), (lab.jitter(39), 1.5e6)])
    lab.end(60)


# -- throttles

@scenario("throttle_port_down", "3 downloads @2 Mbit/s; port 5202 throttled "
                                "downstream to 500 kbit/s t=20..50; 65 s")
def sc_throttle_port_down(lab):
    srv = SERVERS4[1]
    lab.probe(srv)
    for port in DEMO_PORTS:
        lab.download(srv, port, 2_000_000, 1, 62)
    lab.throttle(lab.jitter(20), lab.jitter(50), 500_000, direction="down",
                 remote=srv, remote_port=5202, proto="tcp")
    lab.end(65)


@scenario("throttle_port_up", "the office livestreams: upload @2.5 Mbit/s to "
                              "port 1935 throttled upstream to 600 kbit/s "
                              "t=20..50; another upload and a download stay "
                              "fast; 65 s")
def sc_throttle_port_up(lab):
    lab.probe(SERVER4)
    lab.upload(SERVER4, 1935, 2_500_000, 1, 62)
    lab.upload(SERVER4, 5201, 1_000_000, 1, 62)
    lab.download(SERVER4, 5202, 1_000_000, 1, 62)
    lab.throttle(lab.jitter(20), lab.jitter(50), 600_000, direction="up",
                 remote=SERVER4, remote_port=1935, proto="tcp")
    lab.end(65)


@scenario("throttle_server", "server 10.77.2.3 (2 downloads @1.5 Mbit/s) "
                             "throttled to 800 kbit/s in all t=20..50; "
                             "10.77.2.2 stays fast; 65 s")
def sc_throttle_server(lab):
    target = SERVERS4[1]
    lab.probe(SERVER4)
    lab.download(target, 5201, 1_500_000, 1, 62)
    lab.download(target, 5202, 1_500_000, 1, 62)
    lab.download(SERVER4, 5203, 1_500_000, 1, 62)
    lab.throttle(lab.jitter(20), lab.jitter(50), 800_000, direction="down",
                 remote=target)
    lab.end(65)


@scenario("throttle_link", "neighbourhood throttling: the whole downlink "
                           "shaped 20 -> 1.5 Mbit/s t=20..50 under 3 downloads "
                           "@2 Mbit/s from 3 servers (+ an upload); 65 s")
def sc_throttle_link(lab):
    lab.probe(SERVER4)
    for srv, port in zip(SERVERS4, DEMO_PORTS):
        lab.download(srv, port, 2_000_000, 1, 62)
    lab.upload(SERVER4, 5204, 1_000_000, 1, 62)
    lab.throttle(lab.jitter(20), lab.jitter(50), 1_500_000, direction="down")
    lab.end(65)


@scenario("throttle_bucket", "delayed throttling: a token bucket (1 Mbit/s, "
                             "6 MB burst) on port 5202 from t=3; a 6 Mbit/s "
                             "download starts t=6, squeezed ~10 s later; "
                             "ends t=45; a 1 Mbit/s download stays; 60 s")
def sc_throttle_bucket(lab):
    lab.probe(SERVER4)
    lab.download(SERVER4, 5201, 1_000_000, 1, 57)
    lab.throttle(3, lab.jitter(45), 1_000_000, direction="down",
                 remote=SERVER4, remote_port=5202, proto="tcp",
                 burst_bytes=6_000_000)
    lab.download(SERVER4, 5202, 6_000_000, lab.jitter(6), 57)
    lab.end(60)


@scenario("throttle_onoff", "port 5202 throttled to 300 kbit/s three times "
                            "(t=15..25, 35..45, 55..65) under 2 downloads "
                            "@1.5 Mbit/s; 75 s")
def sc_throttle_onoff(lab):
    lab.probe(SERVER4)
    lab.download(SERVER4, 5201, 1_500_000, 1, 72)
    lab.download(SERVER4, 5202, 1_500_000, 1, 72)
    for t in (15, 35, 55):
        lab.throttle(lab.jitter(t, 0.5), lab.jitter(t + 10, 0.5), 300_000,
                     direction="down", remote=SERVER4, remote_port=5202,
                     proto="tcp")
    lab.end(75)


@scenario("throttle_udp", "a UDP constant-bitrate stream (2 Mbit/s, like live "
                          "video) throttled downstream to 500 kbit/s t=20..50; "
                          "a TCP download stays fast; 65 s")
def sc_throttle_udp(lab):
    lab.probe(SERVER4)
    lab.download(SERVER4, 5201, 1_000_000, 1, 62)
    lab.download(SERVER4, 5204, 2_000_000, 1, 62, proto="udp")
    lab.throttle(lab.jitter(20), lab.jitter(50), 500_000, direction="down",
                 remote=SERVER4, remote_port=5204, proto="udp")
    lab.end(65)


# -- outages

@scenario("outage_10s", "3 downloads, an upload and the probe; link down "
                        "t=20..30; 50 s")
def sc_outage_10s(lab):
    two_anchors(lab)
    three_downloads(lab, SERVER4, end=47)
    lab.upload(SERVERS4[1], 5204, 1_000_000, 1, 47)
    lab.outage(lab.jitter(20), 10)
    lab.end(50)


@scenario("outage_60s", "3 downloads and the probe; link down t=15..75 (a "
                        "router without power); 95 s")
def sc_outage_60s(lab):
    two_anchors(lab)
    three_downloads(lab, SERVER4, end=92)
    lab.outage(lab.jitter(15), 60)
    lab.end(95)


@scenario("outage_blackhole", "3 downloads and the probe; t=20..35 the ISP "
                              "drops everything silently, links up (traffic "
                              "but no answers); 60 s")
def sc_outage_blackhole(lab):
    two_anchors(lab)
    three_downloads(lab, SERVER4, end=57)
    lab.blackhole(lab.jitter(20), 15)
    lab.end(60)


# -- real life: players, QUIC, chatter, browsing, the sender's side, a sensor gap

PLAYER_LADDER = "500000,1000000,2500000,5000000"


def video_player(lab, server, port, end):
    """An adaptive player (2 s segments, 12 s buffer target, bitrate ladder
    0.5-5 Mbit/s, starting low and climbing); the viewer caps the quality at
    2.5 Mbit/s mid-way (a switch down that is no throttle), lifted later."""
    return lab.app("player", server, port, 1, end, ladder=PLAYER_LADDER,
                   segment=2.0, buffer=12.0,
                   schedule=[(0, None), (lab.jitter(12), 2_500_000),
                             (lab.jitter(22), None)])


@scenario("video_player", "an adaptive player (2 s segments, 12 s buffer, "
                          "0.5-5 Mbit/s ladder, capped to 2.5 Mbit/s "
                          "t~13..23) on/off; a 1 Mbit/s download; 65 s")
def sc_video_player(lab):
    lab.probe(SERVER4)
    lab.download(SERVER4, 5201, 1_000_000, 1, 62)
    video_player(lab, SERVERS4[1], 8001, 62)
    lab.end(65)


@scenario("video_player_throttled", "video_player, its server's port "
                                    "throttled to 1.5 Mbit/s (below the top "
                                    "bitrate) t=30..55: the player steps "
                                    "down; 65 s")
def sc_video_player_throttled(lab):
    lab.probe(SERVER4)
    lab.download(SERVER4, 5201, 1_000_000, 1, 62)
    video_player(lab, SERVERS4[1], 8001, 62)
    lab.throttle(lab.jitter(30), lab.jitter(55), 1_500_000, direction="down",
                 remote=SERVERS4[1], remote_port=8001, proto="tcp")
    lab.end(65)


def quic_fetches(lab, end):
    """ngtcp2 example client and server: a 3 MB file every ~4 s over QUIC
    (a new connection each) from 10.77.2.4:443, beside a TCP download."""
    lab.probe(SERVER4)
    lab.download(SERVER4, 5201, 1_000_000, 1, end)
    return lab.app("quic", SERVERS4[2], 443, 1, end, chunk=3_000_000,
                   period=lab.jitter(4, 0.5))


@scenario("quic_transfer", "QUIC (ngtcp2 examples): a 3 MB file every ~4 s, "
                           "each a new connection, at the plan's rate; a "
                           "1 Mbit/s TCP download; 60 s")
def sc_quic_transfer(lab):
    quic_fetches(lab, 57)
    lab.end(60)


@scenario("quic_throttled", "quic_transfer, the QUIC server (its udp/443, "
                            "all it serves) throttled to 2 Mbit/s t=20..45: "
                            "fetches run back to back over new connections; "
                            "the TCP download keeps its rate; 60 s")
def sc_quic_throttled(lab):
    quic_fetches(lab, 57)
    # Each fetch is a new connection: the throttle is one of the server, and throttlewatch's
    # answer is a service event for it (no single flow has a before and an after).
    lab.throttle(lab.jitter(20), lab.jitter(45), 2_000_000, direction="down",
                 remote=SERVERS4[2])
    lab.end(60)


def chatter(lab, end):
    """What an idle office sends: mDNS, SSDP, ARP for an absent printer, NTP
    every ~4 s, a chat app's keep-alive every ~8 s, an idle connection with
    kernel keep-alives only, and a player fetching a 2 MB chunk every ~8 s
    (long silences between). No ping probes."""
    lab.app("lan", "224.0.0.251", 5353, 0.5, end, lan_peer="10.77.1.50")
    lab.app("ntp", SERVERS4[2], 123, 1, end, period=4.0)
    lab.app("keepalive", SERVERS4[0], 5228, 1, end, period=lab.jitter(8, 1))
    lab.app("keepalive", SERVERS4[2], 5938, 1, end, period=0, tcp_keepidle=5)
    lab.app("video", SERVERS4[1], 8001, 2, end, chunk=2_000_000,
            period=lab.jitter(8, 1), startup=lab.jitter(3, 0.5))


@scenario("chatter", "background chatter only: mDNS, SSDP, ARP nobody "
                     "answers, NTP, keep-alives, a 2 MB chunk every ~8 s; "
                     "no probe; 60 s")
def sc_chatter(lab):
    chatter(lab, 57)
    lab.end(60)


@scenario("chatter_outage", "chatter with the two ping anchors; link down "
                            "t=25..45; 65 s")
def sc_chatter_outage(lab):
    two_anchors(lab)
    chatter(lab, 62)
    lab.outage(lab.jitter(25), 20)
    lab.end(65)


def browsing(lab, end):
    """Three sites browsed at once (tabs): pages of 1-8 parallel short
    connections, 5-800 KB objects, ~5 s reading gaps."""
    return [lab.app("browse", srv, 443, 2, end, objects=8, think=5.0,
                    size_min=5_000, size_max=800_000) for srv in SERVERS4]


@scenario("browsing", "three sites browsed: pages of 1-8 short "
                      "connections, idle gaps of ~5 s; 60 s")
def sc_browsing(lab):
    browsing(lab, 57)
    lab.end(60)


@scenario("browsing_throttled", "browsing, site 10.77.2.3 throttled to "
                                "1 Mbit/s t=30..55 (all its connections); "
                                "65 s")
def sc_browsing_throttled(lab):
    # 30 s before the throttle: a site read in ~5 s gaps shows its rate in
    # a few busy seconds per page, and a drop needs a before (score.py's
    # MIN_REFERENCE_S).
    browsing(lab, 62)
    lab.throttle(lab.jitter(30), lab.jitter(55), 1_000_000, direction="down",
                 remote=SERVERS4[1])
    lab.end(65)


@scenario("sender_side", "the office serves: 10.77.2.3 downloads from it at "
                         "4 Mbit/s, shaped on the uplink to 1 Mbit/s "
                         "t=20..45 (captured before the shaper); a 1 Mbit/s "
                         "upload to 10.77.2.2; 60 s")
def sc_sender_side(lab):
    two_anchors(lab)
    fl = lab.serve(SERVERS4[1], 5301, 4_000_000, 1, 57)
    lab.upload(SERVER4, 5201, 1_000_000, 1, 57)
    # That client's connection (one flow: a host-wide throttle could not be
    # told from a flow's).
    lab.throttle(lab.jitter(20), lab.jitter(45), 1_000_000, direction="up",
                 remote=fl["remote"], remote_port=fl["remote_port"],
                 proto="tcp")
    lab.end(60)


# -- policers from the flow's first byte, judged by the flow verdicts (policed, at what rate:
# there is no change for the change-point detector to see), and a shaper that drops.

def policed_download(lab, burst_bytes):
    lab.probe(SERVER4)
    lab.download(SERVER4, 5201, 1_000_000, 1, 57)
    lab.throttle(0.5, 58, 3_000_000, direction="down", remote=SERVER4, remote_port=5202,
                 proto="tcp", burst_bytes=burst_bytes, policer=True)
    lab.download(SERVER4, 5202, 8_000_000, 1, 57)
    lab.end(60)


@scenario("policer_small", "a policer with an 8 kB bucket (tc tbf, one frame of "
                           "queue) holds port 5202 to 3 Mbit/s from its first "
                           "byte; it offers 8 Mbit/s; a 1 Mbit/s download stays; 60 s")
def sc_policer_small(lab):
    policed_download(lab, 8_000)


@scenario("policer_large", "a policer with a 1 MB bucket holds port 5202 to "
                           "3 Mbit/s once the bucket runs dry (~2 s); it offers "
                           "8 Mbit/s; a 1 Mbit/s download stays; 60 s")
def sc_policer_large(lab):
    policed_download(lab, 1_000_000)


@scenario("shaper_tail_drops", "an HTB shaper with a 15 kB queue holds port 5202 "
                               "(offering 4 Mbit/s) to 1 Mbit/s t=20..50: it queues "
                               "and drops what overflows, which is no policer; 60 s")
def sc_shaper_tail_drops(lab):
    lab.probe(SERVER4)
    lab.download(SERVER4, 5201, 1_000_000, 1, 57)
    lab.download(SERVER4, 5202, 4_000_000, 1, 57)
    lab.throttle(lab.jitter(20), lab.jitter(50), 1_000_000, direction="down",
                 remote=SERVER4, remote_port=5202, proto="tcp", queue_bytes=15_000)
    lab.end(60)


@scenario("capture_gap", "3 downloads, an upload, two probes; the capture "
                         "stops t=20..50 (a sensor restart) while traffic "
                         "goes on; one joined pcap; 65 s")
def sc_capture_gap(lab):
    two_anchors(lab)
    three_downloads(lab, SERVER4, end=62)
    lab.upload(SERVERS4[1], 5204, 1_000_000, 1, 62)
    lab.capture_gap(lab.jitter(20), 30)
    lab.end(65)


# -- website blocking (a censor on the ISP's router) and its controls. Services are told apart
# by their server name: news.example and weather.example share 10.77.2.3. Every ~1 s a new
# connection asks each service for a page (app.py tls_attempts); two services beside each other
# and a probe show the link working. ClientHellos and QUIC Initials are captured whole.

NEWS, WEATHER = "news.example", "weather.example"


def web_services(lab, news_at=PUBLIC4[1], weather_at=PUBLIC4[1], end=57):
    """news.example and weather.example fetched over a new TLS connection every ~1 s each
    (half a period apart), a probe to 10.77.2.2. The services have public addresses
    (PUBLIC4): a private one is no service throttlewatch judges for blocking."""
    lab.set_snaplen(2048)
    lab.probe(SERVER4)
    period = lab.jitter(1.0, 0.1)
    lab.app("tls_attempts", news_at, 443, 1, end, name=NEWS, period=period)
    lab.app("tls_attempts", weather_at, 443, 1 + period / 2, end, name=WEATHER, period=period)


@scenario("block_tcp_rst", "news.example and weather.example on 203.0.113.3, a new TLS "
                           "connection to each every ~1 s; t=15..40 the ISP answers "
                           "news.example's ClientHello with a TCP RST; 60 s")
def sc_block_tcp_rst(lab):
    web_services(lab)
    lab.block("tcp_rst", lab.jitter(15), lab.jitter(40), name=NEWS, remote=PUBLIC4[1])
    lab.end(60)


@scenario("block_sni_blackhole", "block_tcp_rst's services; t=15..40 the ISP drops "
                                 "news.example's ClientHellos (retransmitted, no "
                                 "answer); 60 s")
def sc_block_sni_blackhole(lab):
    web_services(lab)
    lab.block("sni_blackhole", lab.jitter(15), lab.jitter(40), name=NEWS,
              remote=PUBLIC4[1])
    lab.end(60)


@scenario("block_ip_blackhole", "news.example on 203.0.113.3, weather.example on 203.0.113.4; "
                                "t=15..40 the ISP drops everything to and from 203.0.113.3; "
                                "60 s")
def sc_block_ip_blackhole(lab):
    web_services(lab, weather_at=PUBLIC4[2])
    lab.block("ip_blackhole", lab.jitter(15), lab.jitter(40), remote=PUBLIC4[1])
    lab.end(60)


@scenario("block_quic_blackhole", "a new QUIC connection every ~1 s to video.example "
                                  "(203.0.113.4 udp/443) and to maps.example "
                                  "(203.0.113.2), TLS to news.example (203.0.113.3); "
                                  "t=15..40 the ISP drops video.example's server's "
                                  "datagrams; 60 s")
def sc_block_quic_blackhole(lab):
    lab.set_snaplen(2048)
    lab.probe(SERVER4)
    period = lab.jitter(1.0, 0.1)
    lab.app("quic_attempts", PUBLIC4[2], 443, 1, 57, name="video.example", period=period,
            chunk=2000)
    # QUIC that keeps working beside the blocked server: a block of one server's QUIC, not of
    # QUIC (or UDP) as a whole; and TLS beside it.
    lab.app("quic_attempts", PUBLIC4[0], 443, 1 + period / 3, 57, name="maps.example",
            period=period, chunk=2000)
    lab.app("tls_attempts", PUBLIC4[1], 443, 1 + 2 * period / 3, 57, name=NEWS,
            period=period)
    lab.block("quic_blackhole", lab.jitter(15), lab.jitter(40), remote=PUBLIC4[2], port=443)
    lab.end(60)


@scenario("block_from_start", "block_tcp_rst's services; news.example's ClientHellos "
                              "answered with a RST from before the first attempt (t=0) "
                              "to t=30; 60 s")
def sc_block_from_start(lab):
    web_services(lab)
    lab.block("tcp_rst", 0, lab.jitter(30), name=NEWS, remote=PUBLIC4[1])
    lab.end(60)


# Controls: failures and oddities that are no block (a block event here is wrong).

@scenario("block_control_server_down", "news.example (203.0.113.3) and weather.example "
                                       "(203.0.113.4) every ~1 s; news.example's server "
                                       "is stopped t=15..40 (its kernel answers SYNs "
                                       "with a RST); no block; 60 s")
def sc_block_control_server_down(lab):
    web_services(lab, weather_at=PUBLIC4[2])
    lab.server_down(PUBLIC4[1], 443, lab.jitter(15), lab.jitter(40))
    lab.end(60)


@scenario("block_control_slow_server", "news.example (203.0.113.3) and weather.example "
                                       "(203.0.113.4) every ~1 s; news.example's server "
                                       "waits 3 s before every handshake t=15..40; no "
                                       "block; 60 s")
def sc_block_control_slow_server(lab):
    web_services(lab, weather_at=PUBLIC4[2])
    lab.server_slow(PUBLIC4[1], 443, lab.jitter(15), lab.jitter(40), delay=3.0)
    lab.end(60)


@scenario("block_control_idle_close", "block_tcp_rst's services, and every ~10 s a "
                                      "long-lived connection to chat.example (203.0.113.3) "
                                      "left idle after one request, which the server "
                                      "closes after 5 s idle; no block; 60 s")
def sc_block_control_idle_close(lab):
    web_services(lab)
    lab.tls_server(PUBLIC4[1], 443, idle_close=5)
    # Ends at 55: the last connection is the client's to close (the server's 5 s would
    # otherwise fall on the client's end and race it).
    lab.app("tls_idle", PUBLIC4[1], 443, 2, 55, name="chat.example",
            period=lab.jitter(10, 1))
    lab.end(60)


# -- DNS blocking (a censor on the ISP's router, or the ISP's resolver) and its controls. Every
# ~1.5 s a stub looks up news.example (and, half a period later, weather.example: the witness)
# at the lab's resolver, 203.0.113.2; a probe shows the link working. DNS packets are captured
# whole.

NONEXISTENT = "nonexistent.example"  # a name that exists nowhere: NXDOMAIN from the start


def dns_lookups(lab, names=(NEWS, WEATHER), end=57):
    """A lookup (A and AAAA, glibc-like) of each name at the resolver every ~1.5 s (each gap
    +-15 %, so a change is seen within 2 s), the names spread over the period, and a probe to
    10.77.2.2."""
    lab.set_snaplen(2048)
    lab.probe(SERVER4)
    period = lab.jitter(1.5, 0.1)
    for i, name in enumerate(names):
        lab.app("dns_lookups", RESOLVER4, 53, 1 + i * period / len(names), end, name=name,
                period=period, jitter=0.15)


@scenario("block_dns_injection", "news.example and weather.example looked up every ~1.5 s "
                                 "at the resolver 203.0.113.2; t=15..40 the ISP's router "
                                 "answers news.example's A queries at once with a forged "
                                 "198.51.100.7 (TTL 64), the resolver's answer ~30 ms "
                                 "later; 60 s")
def sc_block_dns_injection(lab):
    dns_lookups(lab)
    lab.block("dns_injection", lab.jitter(15), lab.jitter(40), name=NEWS)
    lab.end(60)


@scenario("block_dns_bogon", "block_dns_injection's lookups; t=15..40 the resolver answers "
                             "news.example with 10.10.34.34 (a block page's private "
                             "address); 60 s")
def sc_block_dns_bogon(lab):
    dns_lookups(lab)
    lab.block("dns_bogon", lab.jitter(15), lab.jitter(40), name=NEWS)
    lab.end(60)


@scenario("block_dns_nxdomain", "block_dns_injection's lookups; t=15..40 the resolver "
                                "answers news.example with NXDOMAIN; 60 s")
def sc_block_dns_nxdomain(lab):
    dns_lookups(lab)
    lab.block("dns_nxdomain", lab.jitter(15), lab.jitter(40), name=NEWS)
    lab.end(60)


@scenario("block_control_dns_nonexistent", "nonexistent.example (NXDOMAIN from the start) "
                                           "and weather.example looked up every ~1.5 s; no "
                                           "block; 60 s")
def sc_block_control_dns_nonexistent(lab):
    dns_lookups(lab, names=(NONEXISTENT, WEATHER))
    lab.end(60)


@scenario("block_control_dns_slow", "block_dns_injection's lookups; t=15..40 the resolver "
                                    "answers news.example after 1.5-3 s: the stub sends "
                                    "again after 1 s, both sends get the same answer; no "
                                    "block; 60 s")
def sc_block_control_dns_slow(lab):
    dns_lookups(lab)
    lab.resolver_slow(NEWS, lab.jitter(15), lab.jitter(40), delay=(1.5, 3.0))
    lab.end(60)


# -- blocking of plain HTTP: a censor on the ISP's router answers a blocked site's request with
# its own block page. news.example and weather.example are served over plain HTTP from one
# address (203.0.113.3:80), told apart by their Host header only; every ~1 s a new connection
# asks each for its page (app.py http_attempts). Requests and answers are captured whole.

def http_services(lab, end=57):
    """news.example and weather.example fetched over a new plain-HTTP connection every ~1 s
    each (each gap +-10 %, half a period apart), a probe to 10.77.2.2."""
    lab.set_snaplen(2048)
    lab.probe(SERVER4)
    period = lab.jitter(1.0, 0.1)
    for i, name in enumerate((NEWS, WEATHER)):
        lab.app("http_attempts", PUBLIC4[1], 80, 1 + i * period / 2, end, name=name,
                period=period, jitter=0.1)


@scenario("block_http_blockpage", "news.example and weather.example over plain HTTP on "
                                  "203.0.113.3:80, a new connection to each every ~1 s; "
                                  "t=15..40 the ISP drops news.example's requests and "
                                  "answers them itself with a 302 to its block page (TTL 64, "
                                  "as if from the server); 60 s")
def sc_block_http_blockpage(lab):
    http_services(lab)
    lab.block("http_blockpage", lab.jitter(15), lab.jitter(40), name=NEWS, remote=PUBLIC4[1],
              port=80)
    lab.end(60)


@scenario("block_control_http_redirect", "block_http_blockpage's services; the server itself "
                                         "answers news.example with a 301 to https the whole "
                                         "time (its own TTL), weather.example with its page; "
                                         "no block; 60 s")
def sc_block_control_http_redirect(lab):
    lab.http_server(PUBLIC4[1], 80, redirect={NEWS: "https://news.example/"})
    http_services(lab)
    lab.end(60)


def cmd_list(args):
    for name, (_, help) in SCENARIOS.items():
        log("%-22s %s" % (name, help))
    return 0


def cmd_run(args):
    if os.geteuid() != 0:
        log("lab.py run needs root (network namespaces, tc)")
        return 2
    missing = [t for t in REQUIRED_TOOLS if not shutil.which(t)]
    if missing:
        log("missing tools: %s (apt-get install iproute2 iperf3 tcpdump "
            "ethtool iputils-ping)" % " ".join(missing))
        return 2
    if args.scenario not in SCENARIOS:
        log("unknown scenario %r; try `lab.py list`" % args.scenario)
        return 2
    lab = Lab(args.scenario, args.out, seed=args.seed)
    SCENARIOS[args.scenario][0](lab)
    missing = [t for t in lab.tools_needed() if not shutil.which(t)]
    if missing:
        log("missing tools for %s: %s (deploy/install-deps.sh --test installs "
            "them)" % (args.scenario, " ".join(missing)))
        return 2

    def on_signal(signum, frame):
        # Only the first signal interrupts; later ones must not break cleanup.
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(s, lambda *a: log("cleaning up, please wait"))
        raise Interrupted(signal.Signals(signum).name)

    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)
    log("lab %s: scenario %s, namespaces %s" %
        (lab.prefix, lab.name, ", ".join(lab.ns.values())))
    rc, error = 0, None
    try:
        lab.execute()
    except Interrupted as e:
        rc, error = 130, "interrupted by %s" % e
    except Exception as e:
        rc, error = 1, "%s: %s" % (type(e).__name__, e)
    finally:
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(s, lambda *a: log("cleaning up, please wait"))
        errors = lab.teardown()
        if lab.t0_wall is not None:
            with open(lab.truth_path, "w") as f:
                json.dump(lab.truth(rc == 0, error), f, indent=2)
                f.write("\n")
        for e in errors:
            log("teardown: %s" % e)
    if error:
        log("FAILED: %s" % error)
        return rc
    size = os.path.getsize(lab.pcap)
    log("wrote %s (%.2f MB, %s packets) and %s" %
        (lab.pcap, size / 1e6, lab.capture_stats.get("captured", "?"),
         lab.truth_path))
    return 1 if errors else 0


# ---------------------------------------------------------------------------
# A tiny pcap reader for `rates` and `verify` (classic pcap, Ethernet/SLL/raw).

def read_pcap(path):
    """Yields (ts, wire_len, src, dst, proto, sport, dport) per IP packet."""
    for ts, orig, et, ip in read_pcap_ip(path):
        if et == 0x0800 and len(ip) >= 20:
            ihl = (ip[0] & 15) * 4
            proto = ip[9]
            src = str(ipaddress.IPv4Address(ip[12:16]))
            dst = str(ipaddress.IPv4Address(ip[16:20]))
            l4 = ip[ihl:]
        elif et == 0x86DD and len(ip) >= 40:
            proto = ip[6]
            src = str(ipaddress.IPv6Address(ip[8:24]))
            dst = str(ipaddress.IPv6Address(ip[24:40]))
            l4 = ip[40:]
        else:
            continue
        sport = dport = None
        if proto in (6, 17) and len(l4) >= 4:
            sport, dport = struct.unpack("!HH", l4[:4])
        yield ts, orig, src, dst, proto, sport, dport


def read_pcap_ip(path):
    """Yields (ts, wire_len, ethertype, IP packet bytes as captured) per record."""
    with open(path, "rb") as f:
        hdr = f.read(24)
        magic = hdr[:4]
        if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
            e = "<"
        elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
            e = ">"
        else:
            raise LabError("%s: not a classic pcap file" % path)
        nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
        linktype = struct.unpack(e + "I", hdr[20:24])[0] & 0x0FFFFFFF
        div = 1e9 if nano else 1e6
        while True:
            rh = f.read(16)
            if len(rh) < 16:
                return
            sec, frac, incl, orig = struct.unpack(e + "IIII", rh)
            data = f.read(incl)
            ts = sec + frac / div
            if linktype == 1:  # Ethernet
                off, et = 14, struct.unpack("!H", data[12:14])[0]
                while et in (0x8100, 0x88A8) and len(data) >= off + 4:
                    et = struct.unpack("!H", data[off + 2:off + 4])[0]
                    off += 4
            elif linktype == 113:  # Linux SLL
                off, et = 16, struct.unpack("!H", data[14:16])[0]
            elif linktype == 276:  # Linux SLL2
                off, et = 20, struct.unpack("!H", data[0:2])[0]
            elif linktype in (101, 12, 14):  # raw IP
                off = 0
                et = 0x0800 if data and data[0] >> 4 == 4 else 0x86DD
            else:
                raise LabError("unsupported linktype %d" % linktype)
            yield ts, orig, et, data[off:]


def flow_bins(pcap, flows, binw, t0):
    """bytes per bin per flow id (both directions), plus 'other'."""
    keys = {}
    for fl in flows:
        p = 6 if fl["proto"] == "tcp" else 17
        keys[(p, fl["local"], fl["local_port"], fl["remote"],
              fl["remote_port"])] = fl["id"]
    bins = {}
    first = None
    for ts, wlen, src, dst, proto, sport, dport in read_pcap(pcap):
        if first is None:
            first = ts
        fid = keys.get((proto, dst, dport, src, sport)) or \
            keys.get((proto, src, sport, dst, dport))
        if fid is None:
            fid = "other"
        i = int((ts - (t0 if t0 is not None else first)) // binw)
        bins.setdefault(fid, {}).setdefault(i, 0)
        bins[fid][i] += wlen
    return bins, first


def cmd_rates(args):
    truth = None
    if args.truth:
        with open(args.truth) as f:
            truth = json.load(f)
    flows = truth["flows"] if truth else []
    t0 = truth["start_ts"] if truth else None
    if not flows:  # no truth: group by remote endpoint on the 5201-5203 style
        flows = []
    bins, first = flow_bins(args.pcap, flows, args.bin, t0)
    ids = [fl["id"] for fl in flows] + ["other"]
    names = {fl["id"]: "%s:%d" % (fl["remote"], fl["remote_port"])
             for fl in flows}
    names["other"] = "other"
    marks = {}
    if truth:
        for a in truth["actions"]:
            i = int((a["ts"] - t0) // args.bin)
            marks[i] = marks.get(i, "") + " %s-%s" % (a["kind"], a["state"])
    last = max((max(b) for b in bins.values() if b), default=-1)
    print("t(s)  " + "".join("%14s" % names[i][-14:] for i in ids) +
          "   (kbit/s, L2 wire bytes incl. both directions)")
    for i in range(0, last + 1):
        row = "".join("%14.0f" % (bins.get(fid, {}).get(i, 0) * 8 / args.bin /
                                  1e3) for fid in ids)
        print("%5g %s%s" % (i * args.bin, row, marks.get(i, "")))
    return 0


# -- blocking: what each attempt saw, and what the wire shows --

VERIFY_MARGIN_S = 0.1  # attempts this close to a window's edge are not judged
# What an attempt inside a window sees (it may also succeed late, once the window is over).
EXPECT_OUTCOME = {"tcp_rst": "reset", "sni_blackhole": "timeout", "ip_blackhole": "timeout",
                  "quic_blackhole": "timeout", "down": "refused", "slow": "ok",
                  "dns_injection": "forged", "dns_bogon": "bogon", "dns_nxdomain": "nxdomain",
                  "http_blockpage": "blockpage"}


def effect_windows(truth):
    """[(what, start action, end action)] of blocks (what = method) and server failures
    (what = "down" or "slow"), with the end of the same id (blocks) or server."""
    acts = sorted(truth["actions"], key=lambda a: a["ts"])
    out = []
    for kind, on, off in (("block", "start", "end"), ("server", "down", "up"),
                          ("server", "slow", "normal")):
        for a in acts:
            if a["kind"] != kind or a["state"] != on:
                continue
            e = next((x for x in acts if x["kind"] == kind and x["state"] == off and
                      x["ts"] > a["ts"] and x.get("id") == a.get("id") and
                      x.get("remote") == a.get("remote")), None)
            out.append((a.get("method", on), a, e))
    return out


def affects(action, fl):
    """Does a block or server action concern this flow's attempts?"""
    m = action.get("method")
    lookups = fl.get("app", {}).get("mode") in DNS_MODES
    if m in DNS_METHODS or (action["kind"] == "server" and action.get("proto") == "udp"):
        # The injector answers whatever resolver the query went to; the others are one's.
        return lookups and fl.get("service") == action["name"] and (
            m == "dns_injection" or fl["remote"] == action["remote"])
    if m in NAME_METHODS + HTTP_METHODS:
        return (fl.get("service") == action["name"] and fl["proto"] == "tcp" and
                fl["remote_port"] == action["port"])
    if m == "ip_blackhole":
        return fl["remote"] == action["remote"]
    if m == "quic_blackhole":
        return (fl["proto"] == "udp" and fl["remote"] == action["remote"] and
                fl["remote_port"] == action["port"])
    return (fl["proto"] == "tcp" and fl["remote"] == action["remote"] and  # a server's failure
            fl["remote_port"] == action["port"])


def verify_attempts(truth):
    """Every attempt of a tls_attempts/quic_attempts flow (a lookup of a dns_lookups flow,
    judged by what it got: its "seen") against the truth: inside a block or server failure
    that concerns it, the failure it makes (or, for a slow server, a late success; for a slow
    resolver, a success sent twice; or a success after the window ended); everywhere else, a
    prompt success."""
    ok = True
    wins = effect_windows(truth)
    end_t = truth["end_ts"] - truth["start_ts"]
    for fl in truth["flows"]:
        if "idle_closes" in fl:  # tls_idle: connections left idle until the server closes them
            closes = fl["idle_closes"]
            by_server = [c for c in closes if c["outcome"] == "closed by the server"]
            good = (len(by_server) >= len(closes) - 1 and len(by_server) > 0 and
                    all(at["outcome"] == "ok" for at in fl["attempts"]))
            ok &= good
            print("%s idle connections %s %s: %d of %d closed by the server, after %s s idle" %
                  ("PASS" if good else "FAIL", fl["id"], fl.get("service"), len(by_server),
                   len(closes), ",".join("%.1f" % c["idle_s"] for c in by_server) or "-"))
            continue
        if "attempts" not in fl:
            continue
        mine = [(w, a["t_rel"], e["t_rel"] if e else end_t) for w, a, e in wins
                if affects(a, fl)]
        dns = fl.get("app", {}).get("mode") in DNS_MODES
        normal = fl.get("normal_outcome", "ok")  # what the service answers by itself
        inside = {i: [0, 0] for i in range(len(mine))}  # judged, right
        outside, out_right, unjudged = 0, 0, 0
        for at in fl["attempts"]:
            t, t_done = at["t"], at["t"] + at["s"]
            got = at.get("seen", at["outcome"])
            where = None
            for i, (_, ws, we) in enumerate(mine):
                if ws + VERIFY_MARGIN_S <= t <= we - VERIFY_MARGIN_S:
                    where = i
                elif t_done >= ws - VERIFY_MARGIN_S and t <= we + VERIFY_MARGIN_S:
                    where = "edge"  # under way when the window opened or closed
                if where is not None:
                    break
            if where == "edge":
                unjudged += 1
            elif where is None:
                outside += 1
                out_right += got == normal and at["s"] < 2.0
            else:
                what, ws, we = mine[where]
                want = EXPECT_OUTCOME[what]
                if what == "slow":
                    right = got == "ok" and (at.get("sends") == 2 if dns else at["s"] >= 2.0)
                else:
                    right = got == want or (got == normal and t_done > we)
                inside[where][0] += 1
                inside[where][1] += right
        for i, (what, ws, we) in enumerate(mine):
            n, right = inside[i]
            good = n > 0 and right == n
            ok &= good
            print("%s attempts %s %s: %d of %d started in %s t=%.1f..%.1f saw %s%s" % (
                "PASS" if good else "FAIL", fl["id"], fl.get("service"), right, n, what, ws,
                we, want_text(what, dns), "" if what == "slow" else " (or ok after its end)"))
        good = outside > 0 and out_right == outside
        ok &= good
        print("%s attempts %s %s: %d of %d %s were %s%s" % (
            "PASS" if good else "FAIL", fl["id"], fl.get("service"), out_right, outside,
            "outside its windows" if mine else "(nothing concerns it)", normal,
            ", %d at a window's edge not judged" % unjudged if unjudged else ""))
    return ok


def want_text(what, dns=False):
    if what == "slow":
        return "ok, sent twice" if dns else "ok after >= 2 s"
    return EXPECT_OUTCOME[what]


def tls_server_name(payload):
    """The server name in a TLS record holding a ClientHello: None when it is none (or cut
    short), "" when it has no SNI."""
    try:
        if len(payload) < 9 or payload[0] != 0x16 or payload[5] != 0x01:
            return None
        p = 5 + 4 + 2 + 32
        p += 1 + payload[p]  # session id
        p += 2 + int.from_bytes(payload[p:p + 2], "big")  # cipher suites
        p += 1 + payload[p]  # compression methods
        end = p + 2 + int.from_bytes(payload[p:p + 2], "big")
        p += 2
        while p + 4 <= end:
            etype = int.from_bytes(payload[p:p + 2], "big")
            elen = int.from_bytes(payload[p + 2:p + 4], "big")
            if etype == 0:  # server_name: list length, type, name length, name
                n = int.from_bytes(payload[p + 7:p + 9], "big")
                name = payload[p + 9:p + 9 + n]
                return name.decode("ascii", "replace") if len(name) == n else None
            p += 4 + elen
        return "" if p <= len(payload) else None
    except IndexError:
        return None


def wire_packets(pcap, local_nets):
    """TCP and UDP packets as dicts: ts, up (from the office), conn (local ip, local port,
    remote ip, remote port, proto), ttl, flags, seq, payload (as captured), udp_len."""
    local = [ipaddress.ip_network(n) for n in local_nets]
    out = []
    for ts, _, et, ip in read_pcap_ip(pcap):
        if et == 0x0800 and len(ip) >= 20:
            ttl, proto, ihl = ip[8], ip[9], (ip[0] & 15) * 4
            src, dst = ipaddress.IPv4Address(ip[12:16]), ipaddress.IPv4Address(ip[16:20])
            l4 = ip[ihl:]
        elif et == 0x86DD and len(ip) >= 40:
            ttl, proto = ip[7], ip[6]
            src, dst = ipaddress.IPv6Address(ip[8:24]), ipaddress.IPv6Address(ip[24:40])
            l4 = ip[40:]
        else:
            continue
        if proto not in (6, 17) or len(l4) < 8:
            continue
        sport, dport = struct.unpack("!HH", l4[:4])
        up = any(src.version == n.version and src in n for n in local)
        conn = ((str(src), sport, str(dst), dport) if up else
                (str(dst), dport, str(src), sport)) + ("tcp" if proto == 6 else "udp",)
        pk = {"ts": ts, "up": up, "conn": conn, "ttl": ttl}
        if proto == 6 and len(l4) >= 20:
            pk["seq"] = struct.unpack("!I", l4[4:8])[0]
            pk["flags"] = l4[13]
            pk["payload"] = l4[(l4[12] >> 4) * 4:]
        elif proto == 17:
            pk["flags"] = 0
            pk["payload"] = l4[8:]
        else:
            continue
        out.append(pk)
    return out


def tls_facts(pkts):
    """What the TCP side of a capture says about TLS openings: the TTLs of each remote's
    SYN-ACKs, the ClientHellos' first transmissions [(ts, conn, name, seq)], how often each
    (conn, seq) ClientHello was sent, when each connection first got payload from the remote,
    and the RSTs from the remote side per connection [(ts, ttl)]."""
    f = {"synack_ttl": {}, "hellos": [], "sent": {}, "answered": {}, "rst": {}}
    for pk in pkts:
        c = pk["conn"]
        if c[4] != "tcp":
            continue
        if not pk["up"] and pk["flags"] & 0x12 == 0x12:
            f["synack_ttl"].setdefault(c[2], set()).add(pk["ttl"])
        if not pk["up"] and pk["flags"] & 0x04:
            f["rst"].setdefault(c, []).append((pk["ts"], pk["ttl"]))
        if not pk["up"] and pk["payload"] and c not in f["answered"]:
            f["answered"][c] = pk["ts"]
        if pk["up"] and pk["payload"]:
            name = tls_server_name(pk["payload"])
            if name is not None:
                key = (c, pk["seq"])
                f["sent"][key] = f["sent"].get(key, 0) + 1
                if f["sent"][key] == 1:
                    f["hellos"].append((pk["ts"], c, name, pk["seq"]))
    return f


def verify_name_block(a, be, span, inside, outside, f):
    """tcp_rst: every ClientHello of the name in the window answered within 0.1 s by a RST
    whose TTL is none of the server's SYN-ACKs', none outside it or for other names.
    sni_blackhole: the name's ClientHellos in the window retransmitted and not answered before
    the end; all others answered."""
    mine = [h for h in f["hellos"] if h[2] == a["name"] and h[1][3] == a["port"]]
    others = [h for h in f["hellos"] if h[2] != a["name"]]
    ins = [h for h in mine if inside(h[0])]
    outs = [h for h in mine if outside(h[0])]

    def rst_after(h, within=0.1):
        return [x for x in f["rst"].get(h[1], []) if 0 <= x[0] - h[0] <= within]
    if a["method"] == "tcp_rst":
        hit = [h for h in ins if rst_after(h)]
        ttls = sorted({x[1] for h in hit for x in rst_after(h)})
        server = sorted({t for h in ins for t in f["synack_ttl"].get(h[1][2], ())})
        bad_out = [h for h in outs if rst_after(h)]
        bad_other = [h for h in others if rst_after(h)]
        good = bool(ins and len(hit) == len(ins) and not bad_out and not bad_other and
                    not set(ttls) & set(server))
        print("%s wire %s tcp_rst %s %s: %d of %d ClientHellos answered by a RST within 0.1 s "
              "(RST TTL %s, the server's SYN-ACKs' TTL %s); outside it %d of %d; other names "
              "%d of %d" % ("PASS" if good else "FAIL", a["id"], a["name"], span, len(hit),
                            len(ins), ",".join(map(str, ttls)) or "-",
                            ",".join(map(str, server)) or "-", len(bad_out), len(outs),
                            len(bad_other), len(others)))
        return good
    again = [h for h in ins if f["sent"][(h[1], h[3])] > 1]
    early = [h for h in ins if h[1] in f["answered"] and f["answered"][h[1]] < be]
    copies = sum(f["sent"][(h[1], h[3])] for h in ins)
    rest = outs + others
    unanswered = [h for h in rest if h[1] not in f["answered"]]
    good = bool(ins and len(again) == len(ins) and not early and not unanswered)
    print("%s wire %s sni_blackhole %s %s: %d ClientHellos, %d retransmitted (%d copies in "
          "all), %d answered before the end; outside it and other names: %d of %d answered" % (
              "PASS" if good else "FAIL", a["id"], a["name"], span, len(ins), len(again),
              copies, len(early), len(rest) - len(unanswered), len(rest)))
    return good


def verify_address_block(a, span, inside, outside, pkts):
    """ip_blackhole, quic_blackhole: nothing from the address (its UDP port) in the window,
    while the office keeps sending to it, more than once per connection or client port, and
    other remotes answer."""
    r, m = a["remote"], a["method"]
    mine = [pk for pk in pkts if pk["conn"][2] == r and (
        m == "ip_blackhole" or (pk["conn"][4] == "udp" and pk["conn"][3] == a["port"]))]
    got_in = [pk for pk in mine if not pk["up"] and inside(pk["ts"])]
    got_out = [pk for pk in mine if not pk["up"] and outside(pk["ts"])]
    per = {}  # connection (TCP) or client port (QUIC) -> packets sent in the window
    for pk in mine:
        if pk["up"] and inside(pk["ts"]):
            per[pk["conn"]] = per.get(pk["conn"], 0) + 1
    again = sum(1 for n in per.values() if n > 1)
    others = [pk for pk in pkts if not pk["up"] and pk["conn"][2] != r and inside(pk["ts"])]
    good = bool(not got_in and got_out and per and again and others)
    print("%s wire %s %s %s %s: %d packets from it in the window (%d outside); the office sent "
          "%d on %d %s (%d sent more than once); %d packets from other remotes in the "
          "window" % ("PASS" if good else "FAIL", a["id"], m,
                      r if m == "ip_blackhole" else "%s udp/%d" % (r, a["port"]), span,
                      len(got_in), len(got_out), sum(per.values()), len(per),
                      "connections" if m == "ip_blackhole" else "client ports", again,
                      len(others)))
    return good


def dns_facts(pkts):
    """The DNS queries the office sent over UDP and their answers, in capture order:
    {(conn, id, name, qtype): {"sends": [ts, ...], "answers": [(ts, ttl, rcode, addresses)]}}."""
    import app  # noqa: E402  (the lab's DNS message reader; standard library only)
    out = {}
    for pk in pkts:
        c = pk["conn"]
        if c[4] != "udp" or c[3] != 53:
            continue
        try:
            m = app.dns_parse(pk["payload"])
        except (ValueError, IndexError, struct.error):
            continue
        q = out.setdefault((c, m["id"], m["name"], m["qtype"]), {"sends": [], "answers": []})
        if pk["up"] and not m["qr"]:
            q["sends"].append(pk["ts"])
        elif not pk["up"] and m["qr"]:
            q["answers"].append((pk["ts"], pk["ttl"], m["rcode"], m["addresses"]))
    return out


def dns_class(dns, name, qtype, answer):
    """An answer against the truth's zone: right (the zone's addresses of the question's family;
    NXDOMAIN for a name outside it), forged, bogon, nxdomain, nodata, wrong."""
    want = dns["zone"].get(name)
    rcode, addrs = answer[2], answer[3]
    if want is None:
        return "right" if rcode == 3 else "wrong"
    if rcode == 3:
        return "nxdomain"
    if addrs == [dns["forged_answer"]]:
        return "forged"
    if addrs == [dns["bogon_answer"]]:
        return "bogon"
    fam = [a for a in want if (":" in a) == (qtype == 28)]
    if sorted(addrs) == sorted(fam):
        return "right"
    return "nodata" if not addrs else "wrong"


def median_ms(values):
    v = sorted(values)
    return "%.1f ms" % (1000 * v[len(v) // 2]) if v else "-"


def verify_dns_window(what, a, span, inside, outside, facts, dns):
    """One DNS block (what: its method) or slow name (what: "slow") on the wire. In the window,
    every A query of the name (A and AAAA for dns_nxdomain and a slow name) got what the method
    makes: dns_injection two answers, the forged one first with the injector's TTL, then the
    resolver's with another; dns_bogon the bogon, dns_nxdomain NXDOMAIN to every send; a slow
    name: sent twice, answered twice the same, late. Outside it, and for other names, each send
    got the zone's answer once."""
    name, ttl = a["name"], dns["injector_ttl"]
    types = (1, 28) if what in ("dns_nxdomain", "slow") else (1,)
    ins = [(k, q) for k, q in facts.items() if q["sends"] and k[2] == name and k[3] in types and
           inside(q["sends"][0])]
    rest = [(k, q) for k, q in facts.items() if q["sends"] and (
        (k[2] == name and outside(q["sends"][0])) or (k[2] != name and inside(q["sends"][0])))]

    def cls(k, ans):
        return dns_class(dns, k[2], k[3], ans)
    right = []
    for k, q in ins:
        got = [cls(k, x) for x in q["answers"]]
        if what == "dns_injection":
            good = (got == ["forged", "right"] and q["answers"][0][1] == ttl and
                    q["answers"][1][1] != ttl and len(q["sends"]) == 1)
        elif what == "slow":
            good = (len(q["sends"]) == 2 and got == ["right", "right"] and
                    q["answers"][0][2:] == q["answers"][1][2:] and
                    q["answers"][0][0] - q["sends"][0] >= 1.0)
        else:
            want = "bogon" if what == "dns_bogon" else "nxdomain"
            good = got == [want] * len(q["sends"])
        right.append(good)
    bad_rest = [k for k, q in rest if len(q["answers"]) != len(q["sends"]) or
                any(cls(k, x) != "right" for x in q["answers"])]
    good = bool(ins) and all(right) and not bad_rest
    first = [q["answers"][0][0] - q["sends"][0] for _, q in ins if q["answers"]]
    if what == "dns_injection":
        gap = [q["answers"][1][0] - q["answers"][0][0] for _, q in ins if len(q["answers"]) > 1]
        ttls = sorted({x[1] for _, q in ins for x in q["answers"]})
        how = ("answered twice, the forged %s first (TTL %d) after %s, the resolver's %s "
               "later (TTLs seen %s)" % (dns["forged_answer"], ttl, median_ms(first),
                                         median_ms(gap), ",".join(map(str, ttls))))
    elif what == "slow":
        how = "sent twice and answered twice alike, the first answer after %s" % (
            median_ms(first))
    else:
        how = "answered %s to every send (after %s)" % (
            dns["bogon_answer"] if what == "dns_bogon" else "NXDOMAIN", median_ms(first))
    print("%s wire %s %s %s %s: %d of %d queries (%s) %s; outside it and other names: %d of "
          "%d queries answered once per send by the zone" % (
              "PASS" if good else "FAIL", a.get("id", "server"), what, name, span, sum(right),
              len(ins), "/".join("A" if t == 1 else "AAAA" for t in types), how,
              len(rest) - len(bad_rest), len(rest)))
    return good


def verify_blocks_on_wire(truth, pcap):
    """What each block (and a slow resolver) does on the wire, from the capture (the
    ClientHellos must be whole: lab.set_snaplen): see verify_name_block, verify_address_block
    and verify_dns_window."""
    blocks = [(w, a, e) for w, a, e in effect_windows(truth) if a["kind"] == "block" or
              (w == "slow" and a.get("proto") == "udp")]
    if not blocks:
        return True
    ok = True
    t0 = truth["start_ts"]
    pkts = wire_packets(pcap, truth["local_networks"])
    facts = tls_facts(pkts)
    dns = dns_facts(pkts) if "dns" in truth else {}
    for what, a, e in blocks:
        bs, be = a["ts"], e["ts"] if e else truth["end_ts"]
        span = "t=%.1f..%.1f" % (bs - t0, be - t0)

        def inside(ts, bs=bs, be=be):
            return bs + VERIFY_MARGIN_S <= ts <= be - VERIFY_MARGIN_S

        def outside(ts, bs=bs, be=be):
            return ts < bs - VERIFY_MARGIN_S or ts > be + VERIFY_MARGIN_S
        if what in HTTP_METHODS:
            continue  # verify_http_wire
        if what in DNS_METHODS or what == "slow":
            ok &= verify_dns_window(what, a, span, inside, outside, dns, truth["dns"])
        elif a["method"] in NAME_METHODS:
            ok &= verify_name_block(a, be, span, inside, outside, facts)
        else:
            ok &= verify_address_block(a, span, inside, outside, pkts)
    return ok


def http_facts(pkts):
    """Plain-HTTP connections (TCP to port 80) of a capture: {conn: {"synack_ttl", "get" (ts,
    Host) of the first request, "answers" [(ts, ttl, payload)] of the remote's segments with
    data}}."""
    import app  # noqa: E402  (the lab's HTTP helpers; standard library only)
    out = {}
    for pk in pkts:
        c = pk["conn"]
        if c[4] != "tcp" or c[3] != 80:
            continue
        x = out.setdefault(c, {"synack_ttl": None, "get": None, "answers": []})
        if not pk["up"] and pk["flags"] & 0x12 == 0x12:
            x["synack_ttl"] = pk["ttl"]
        elif pk["up"] and pk["payload"] and x["get"] is None:
            x["get"] = (pk["ts"], app.http_host(pk["payload"]))
        elif not pk["up"] and pk["payload"]:
            x["answers"].append((pk["ts"], pk["ttl"], pk["payload"]))
    return out


def verify_http_wire(truth, pcap):
    """Plain HTTP on the wire. In an http_blockpage window every request for the name got as
    its first answer the forged 302 to the block page with the injector's TTL (the SYN-ACK
    with another: the server's), and nothing else with data; outside it, and for other names,
    the first answer is the server's own (the SYN-ACK's TTL) status: 200, or 301 for a name
    it redirects itself; nothing with the injector's TTL."""
    if "http" not in truth:
        return True
    import app  # noqa: E402
    http, t0, m = truth["http"], truth["start_ts"], VERIFY_MARGIN_S
    ttl = http["injector_ttl"]
    wins = [(a, e["ts"] if e else truth["end_ts"]) for w, a, e in effect_windows(truth)
            if w in HTTP_METHODS]
    facts = http_facts(wire_packets(pcap, truth["local_networks"]))
    ok = True
    judged = {i: [0, 0, set(), set()] for i in range(len(wins) + 1)}  # n, right, TTLs, SYN-ACK
    unjudged = 0
    for c, x in facts.items():
        if x["get"] is None:
            continue
        ts, host = x["get"]
        where = len(wins)  # not blocked
        for i, (a, be) in enumerate(wins):
            if host != a["name"] or c[3] != a["port"]:
                continue
            if a["ts"] + m <= ts <= be - m:
                where = i
            elif a["ts"] - m <= ts <= be + m:
                where = None
        if where is None:
            unjudged += 1
            continue
        first = x["answers"][0] if x["answers"] else None
        status, loc = app.http_status(first[2]) if first else (None, None)
        if where < len(wins):
            right = (first is not None and status == 302 and loc == http["blockpage"] and
                     first[1] == ttl and x["synack_ttl"] not in (None, ttl) and
                     all(t == ttl for _, t, _ in x["answers"]))
        else:
            own = http["redirects"].get("%s:%d" % (c[2], c[3]), {})
            right = (first is not None and status == (301 if host in own else 200) and
                     first[1] == x["synack_ttl"] != ttl and
                     all(t != ttl for _, t, _ in x["answers"]))
        j = judged[where]
        j[0] += 1
        j[1] += right
        if first:
            j[2].add(first[1])
        if x["synack_ttl"] is not None:
            j[3].add(x["synack_ttl"])
    for i, (a, be) in enumerate(wins):
        n, right, ttls, syn = judged[i]
        good = n > 0 and right == n
        ok &= good
        print("%s wire %s http_blockpage %s t=%.1f..%.1f: %d of %d requests answered first by "
              "the forged 302 to %s and by nothing else with data (its TTL %s; the SYN-ACKs' "
              "%s)" % ("PASS" if good else "FAIL", a["id"], a["name"], a["ts"] - t0, be - t0,
                       right, n, http["blockpage"], ",".join(map(str, sorted(ttls))) or "-",
                       ",".join(map(str, sorted(syn))) or "-"))
    n, right, ttls, syn = judged[len(wins)]
    good = n > 0 and right == n
    ok &= good
    print("%s wire http: %d of %d requests %sanswered first by the server itself (200, or 301 "
          "where it redirects; TTL %s, the SYN-ACKs' %s), nothing with TTL %d%s" % (
              "PASS" if good else "FAIL", right, n, "outside the blocks " if wins else "",
              ",".join(map(str, sorted(ttls))) or "-", ",".join(map(str, sorted(syn))) or "-",
              ttl, "; %d at a window's edge not judged" % unjudged if unjudged else ""))
    return ok


def cmd_verify(args):
    """Checks a capture against its truth: throttled rate, others, outage."""
    with open(args.truth) as f:
        truth = json.load(f)
    pcap = os.path.join(os.path.dirname(os.path.abspath(args.truth)),
                        truth["capture"])
    t0 = truth["start_ts"]
    bins, _ = flow_bins(pcap, truth["flows"], 1.0, t0)
    ok = True

    def mean_kbps(fid, a, b):
        i0, i1 = int(a - t0), int(b - t0)
        n = max(1, i1 - i0)
        return sum(bins.get(fid, {}).get(i, 0) for i in range(i0, i1)) * 8 / n / 1e3

    acts = truth["actions"]
    for a in acts:
        if a["kind"] != "throttle" or a["state"] != "start":
            continue
        end = next(x for x in acts if x["kind"] == "throttle" and
                   x["state"] == "end" and x.get("id") == a.get("id"))
        # Skip the queue/backlog transient; a token bucket squeezes once dry.
        lo, hi = a.get("onset_ts", a["ts"]) + 5, end["ts"]
        tgt = a.get("target", {})
        hits = []
        for fl in truth["flows"]:
            if fl["local_port"] is None or not fl.get("rate_bps") or \
                    fl["tool"].startswith("app.py"):
                continue  # app flows change their own demand: not judged here
            hit = (fl["direction"] == a["direction"] and
                   tgt.get("remote", fl["remote"]) == fl["remote"] and
                   tgt.get("remote_port", fl["remote_port"]) == fl["remote_port"]
                   and tgt.get("proto", fl["proto"]) == fl["proto"])
            k = mean_kbps(fl["id"], lo, hi)
            if hit:
                hits.append((fl, k))
                continue
            want = fl["rate_bps"] / 1e3
            good = 0.8 * want <= k <= 1.25 * want
            ok &= good
            print("%s throttle %s t=%.0f..%.0f: flow %s %s:%d %.0f kbit/s "
                  "(expect ~%.0f, not throttled)" % (
                      "PASS" if good else "FAIL", a["id"], lo - t0, hi - t0,
                      fl["id"], fl["remote"], fl["remote_port"], k, want))
        # What the throttle caught shares its rate (wire bytes both ways).
        demand = sum(fl["rate_bps"] for fl, _ in hits) / 1e3
        want = min(a["rate_bps"] / 1e3, demand)
        k = sum(k for _, k in hits)
        good = bool(hits) and 0.8 * want <= k <= 1.25 * want
        ok &= good
        print("%s throttle %s t=%.0f..%.0f: %d throttled flow(s) %s: %.0f "
              "kbit/s (expect ~%.0f)" % (
                  "PASS" if good else "FAIL", a["id"], lo - t0, hi - t0,
                  len(hits), ",".join(fl["id"] for fl, _ in hits), k, want))
    outages = [a for a in acts if a["kind"] == "outage" and a["state"] == "start"]
    for a in outages:
        end = next(x for x in acts if x["kind"] == "outage" and
                   x["ts"] > a["ts"] and x["state"] == "end")
        for fl in truth["flows"]:
            k = mean_kbps(fl["id"], a["ts"] + 1, end["ts"])
            good = k < 5
            ok &= good
            print("%s outage t=%.0f..%.0f: flow %s %.1f kbit/s (expect ~0)" %
                  ("PASS" if good else "FAIL", a["ts"] - t0, end["ts"] - t0,
                   fl["id"], k))
            if not fl.get("rate_bps") or not fl.get("end") or \
                    fl["end"] - end["ts"] < 15:
                continue  # TCP resumes at its next RTO: too little time left
            k2 = mean_kbps(fl["id"], end["ts"] + 10, fl["end"] - 1)
            good = k2 > 0.5 * fl["rate_bps"] / 1e3
            ok &= good
            print("%s after outage: flow %s resumed at %.0f kbit/s" %
                  ("PASS" if good else "FAIL", fl["id"], k2))
    for fl in truth["flows"]:
        good = fl.get("exit_code") == 0 or bool(outages)  # a long outage may end a test
        ok &= good
        print("%s flow %s exit code %s" % ("PASS" if good else "FAIL",
                                           fl["id"], fl.get("exit_code")))
    ok &= verify_attempts(truth)
    ok &= verify_blocks_on_wire(truth, pcap)
    ok &= verify_http_wire(truth, pcap)
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="lab.py", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="list scenarios")
    p = sub.add_parser("run", help="run a scenario")
    p.add_argument("scenario")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--seed", type=int, default=None,
                   help="jitter action times by up to +-1 s with this seed")
    p = sub.add_parser("cleanup", help="remove leftovers of lab runs (tw<pid>-*)")
    p.add_argument("--force", action="store_true",
                   help="also remove namespaces of runs that are still alive")
    p = sub.add_parser("rates", help="per-bin rate per flow of a capture")
    p.add_argument("pcap")
    p.add_argument("--truth", help="truth JSON (names flows, marks actions)")
    p.add_argument("--bin", type=float, default=1.0)
    p = sub.add_parser("verify", help="check a capture against its truth")
    p.add_argument("truth")
    args = ap.parse_args(argv)
    try:
        return {"list": cmd_list, "run": cmd_run, "cleanup": cmd_cleanup,
                "rates": cmd_rates, "verify": cmd_verify}[args.cmd](args)
    except LabError as e:
        log("error: %s" % e)
        return 1


if __name__ == "__main__":
    sys.exit(main())
