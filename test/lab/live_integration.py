#!/usr/bin/env python3
"""End-to-end test of the live daemon in the lab (needs root and network namespaces).

The daemon watches the office uplink of the lab (test/lab/lab.py); a real Prometheus server
(Debian's `prometheus`, listening on the office namespace's loopback only) scrapes it every
second with the shipped alert rules (deploy/prometheus/throttlewatch.rules.yml). Timeline:

  t=1..87   three 1 Mbit/s downloads (ports 5201-5203), pings to two anchors, TCP probes
  t=1..56   news.example and weather.example looked up every ~1.5 s (DNS, read by the daemon
            from its second capture handle)
  t=8..24   the ISP's router forges news.example's answers -> a dns_injection block, ended
  t=20..45  port 5202 throttled to 250 kbit/s  -> ThrottlewatchThrottle must fire within 30 s
  t=38      the daemon is killed with SIGKILL and started again at once
  t=60..72  outage                             -> ThrottlewatchOutage must fire within 30 s
  t=86      SIGTERM: the daemon flushes and exits 0

Then the event file must hold every event exactly once (no (id, state) twice, every end after
its start, the throttle left open by the killed daemon ended with reason "restart"), and the
live detection delay (detected_at - ts) is printed. Exits 0 on success, 1 on failure, 77
(skip) when the lab cannot run here.
"""

import argparse
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import lab as labmod  # noqa: E402
sys.path.insert(0, os.path.join(HERE, "..", "schema"))
import validate_lines  # noqa: E402

SKIP = 77
PROM_PORT = 19090
METRICS = "127.0.0.1:10470"
PROBE_PORT = 8443


def unavailable():
    if os.geteuid() != 0:
        return "needs root (network namespaces, tc)"
    for tool, pkg in (("ip", "iproute2"), ("tc", "iproute2"), ("iperf3", "iperf3"),
                      ("tcpdump", "tcpdump"), ("ethtool", "ethtool"), ("ping", "iputils-ping"),
                      ("prometheus", "prometheus")):
        if shutil.which(tool) is None:
            return "missing %s (apt-get install %s; deploy/install-deps.sh --test)" % (tool, pkg)
    try:
        pwd.getpwnam("nobody")
    except KeyError:
        return "no user 'nobody' to drop privileges to"
    probe = "twprobe%d" % os.getpid()
    r = subprocess.run(["ip", "netns", "add", probe], stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        return "cannot create a network namespace: %s" % r.stderr.strip()
    subprocess.run(["ip", "netns", "del", probe])
    return None


LISTENER = """
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(64)
while True:
    c, _ = s.accept(); c.close()
"""

# A TLS ClientHello naming "lab-video.example", sent over a real connection from the office:
# the daemon's second capture handle must see it whole and learn the name.
HELLO = """
import socket, struct, sys
host = b"lab-video.example"
sni = struct.pack("!HBH", len(host) + 3, 0, len(host)) + host
exts = struct.pack("!HH", 0, len(sni)) + sni
body = b"\\x03\\x03" + b"\\xab" * 32 + b"\\x00" + struct.pack("!H", 2) + b"\\x13\\x01" + b"\\x01\\x00"
body += struct.pack("!H", len(exts)) + exts
hs = b"\\x01\\x00" + struct.pack("!H", len(body)) + body
rec = b"\\x16\\x03\\x01" + struct.pack("!H", len(hs)) + hs
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2)
c.sendall(rec)
c.close()
"""

QUERY = """
import json, sys, urllib.request
print(urllib.request.urlopen(sys.argv[1], timeout=2).read().decode())
"""


class Run:
    def __init__(self, lab, tw, workdir):
        self.lab = lab
        self.tw = tw
        self.workdir = workdir
        self.events = os.path.join(workdir, "state", "events.jsonl")
        self.report = os.path.join(workdir, "state", "report.html")
        self.metrics = os.path.join(workdir, "metrics.txt")
        self.key = os.path.join(workdir, "anon.key")
        self.daemons = []
        self.first_firing = {}  # alertname -> epoch s
        self.names_learned = None
        self.polling = True
        self.failures = []

    # -- helpers on the lab's timeline --

    def start_prometheus(self):
        cfg = os.path.join(self.workdir, "prometheus.yml")
        rules = os.path.join(ROOT, "deploy", "prometheus", "throttlewatch.rules.yml")
        with open(cfg, "w") as f:
            f.write("global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
                    "rule_files: [%s]\n"
                    "scrape_configs:\n"
                    "  - job_name: throttlewatch\n"
                    "    static_configs: [{targets: ['%s'], labels: {neighbourhood: lab}}]\n"
                    % (json.dumps(rules), METRICS))
        self.lab._spawn("office", ["prometheus", "--config.file=" + cfg,
                                   "--storage.tsdb.path=" + os.path.join(self.workdir, "tsdb"),
                                   "--web.listen-address=127.0.0.1:%d" % PROM_PORT],
                        "prometheus.log", "helper")

    def start_listener(self):
        self.lab._spawn("net", [sys.executable, "-c", LISTENER, labmod.SERVER4, str(PROBE_PORT)],
                        "listener.log", "helper")

    def start_daemon(self):
        n = len(self.daemons) + 1
        argv = [self.tw, "live", "-i", labmod.DEV_OFFICE, "--local", ",".join(labmod.OFFICE_NETS),
                "--events", self.events, "--metrics", METRICS, "--user", "nobody",
                "--probe", "%s:%d" % (labmod.SERVER4, PROBE_PORT), "--probe-interval", "1",
                "--anonymize", self.key, "--report", self.report, "--report-every", "10"]
        proc = self.lab._spawn("office", argv, "daemon%d.log" % n, "daemon")
        self.daemons.append(proc)
        self.lab._say("daemon %d started" % n)

    def send_client_hello(self):
        self.lab._spawn("office", [sys.executable, "-c", HELLO, labmod.SERVER4, str(PROBE_PORT)],
                        "hello.log", "helper")

    def check_service_names(self):
        """Asks Prometheus whether the running daemon learned a service name."""
        url = ("http://127.0.0.1:%d/api/v1/query?query=throttlewatch_service_names_learned_total"
               % PROM_PORT)
        r = subprocess.run(["ip", "netns", "exec", self.lab.ns["office"], sys.executable, "-c",
                            QUERY, url], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                           text=True)
        try:
            result = json.loads(r.stdout)["data"]["result"]
            self.names_learned = max(float(x["value"][1]) for x in result) if result else 0
        except (ValueError, KeyError):
            self.names_learned = None
        self.lab._say("service names learned: %s" % self.names_learned)
        # The daemon's own exposition, kept for the --anonymize check (probe target labels).
        r = subprocess.run(["ip", "netns", "exec", self.lab.ns["office"], sys.executable, "-c",
                            QUERY, "http://%s/metrics" % METRICS], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True)
        with open(self.metrics, "w") as f:
            f.write(r.stdout)

    def kill_daemon(self):
        p = self.daemons[-1]["popen"]
        os.killpg(p.pid, signal.SIGKILL)  # the whole session: ip netns exec and the daemon
        p.wait(5)
        self.lab._say("daemon %d killed with SIGKILL" % len(self.daemons))

    def stop_daemon(self):
        p = self.daemons[-1]["popen"]
        p.send_signal(signal.SIGTERM)
        try:
            rc = p.wait(15)
        except subprocess.TimeoutExpired:
            rc = "timeout"
            p.kill()
        self.lab._say("daemon %d stopped with SIGTERM: exit %s" % (len(self.daemons), rc))
        if rc != 0:
            self.failures.append("daemon exited %s after SIGTERM (want 0)" % rc)

    # -- Prometheus' HTTP API, polled from a thread --

    def poll_alerts(self):
        url = "http://127.0.0.1:%d/api/v1/alerts" % PROM_PORT
        while self.polling:
            if self.lab.t0_wall is not None and "office" in self.lab.ns:
                r = subprocess.run(["ip", "netns", "exec", self.lab.ns["office"], sys.executable,
                                    "-c", QUERY, url], stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL, text=True)
                now = time.time()
                if r.returncode == 0:
                    try:
                        for a in json.loads(r.stdout)["data"]["alerts"]:
                            if a["state"] == "firing":
                                self.first_firing.setdefault(a["labels"]["alertname"], now)
                    except (ValueError, KeyError):
                        pass
            time.sleep(0.5)


def check_events(path, truth_actions, failures):
    try:
        validate_lines.check_files([path])
    except validate_lines.SchemaError as e:
        failures.append("the event file: %s" % e)
    validate_lines.keep([path], "lab_live")
    lines = open(path).read().splitlines()
    records = [json.loads(l) for l in lines]
    events = [r for r in records if r.get("record") == "event"]  # not the headers of each start
    if sum(1 for r in records if r.get("record") == "header") < 2:
        failures.append("the event file lacks a header line for each of the two starts")
    seen = set()
    starts = {}
    for e in events:
        key = (e["id"], e["state"])
        if key in seen:
            failures.append("event %s %s written twice" % key)
        seen.add(key)
        if e["state"] == "start":
            starts[e["id"]] = e
        elif e["id"] not in starts:
            failures.append("end of event %d without its start" % e["id"])
    throttles = [e for e in events if e["kind"] == "throttle" and e["state"] == "start"
                 and e.get("flow", {}).get("remote_port") == 5202]
    outages = [e for e in events if e["kind"] == "outage" and e["state"] == "start"]
    blocks = [(e["state"], e.get("method"), e.get("service")) for e in events
              if e["kind"] == "block"]
    if blocks != [("start", "dns_injection", labmod.NEWS), ("end", "dns_injection", labmod.NEWS)]:
        failures.append("want one dns_injection block of %s, started and ended; the block "
                        "events: %s" % (labmod.NEWS, blocks))
    if not throttles:
        failures.append("no throttle start for port 5202 in the event file")
    if not outages:
        failures.append("no outage start in the event file")
    restarts = [e for e in events if e.get("reason") == "restart"]
    print("events (%d lines):" % len(lines))
    for l in lines:
        print("  " + l)
    delays = sorted(e["detected_at"] - e["ts"] for e in events if e["state"] == "start")
    if delays:
        print("live detection delay (detected_at - ts) of start events: %s; median %.2f s"
              % (", ".join("%.2f" % d for d in delays), delays[len(delays) // 2]))
    return throttles, outages, restarts


# Every address and network of the lab, as the outputs would write them.
REAL_ADDRESSES = ([labmod.OFFICE4, labmod.OFFICE6, labmod.ISP_OFFICE4, labmod.ISP_OFFICE6,
                   labmod.ISP_NET4, labmod.ISP_NET6] + labmod.SERVERS4 + labmod.SERVERS6
                  + labmod.OFFICE_NETS)


def shows(text, address):
    """Whether `address` stands in `text` whole: not inside a longer address or number (an
    IPv4 address may be followed by ':port')."""
    after = r"(?![0-9A-Fa-f:])" if ":" in address else r"(?![0-9]|\.[0-9])"
    return re.search(r"(?<![0-9A-Fa-f.:])" + re.escape(address) + after, text) is not None


def check_private_outputs(run, failures):
    """--anonymize and --report: no lab address in any output; the report is whole and 0600.

    Whole addresses are looked for, not their first digits: Crypto-PAn's pad bits are
    correlated along a prefix (an address bit equal to the pad's bit gives the next position
    the same AES input), so an anonymized prefix keeps its first 16 bits (fd77:) in a few runs
    in a hundred, and a test of the first digits fails on a correct anonymization."""
    outputs = [run.events, run.report, run.metrics] + [d["log"] for d in run.daemons]
    for path in outputs:
        if not os.path.exists(path):
            failures.append("%s was not written" % os.path.basename(path))
            continue
        text = open(path, errors="replace").read()
        for r in REAL_ADDRESSES:
            if shows(text, r):
                failures.append("%s shows a real address (%s) despite --anonymize"
                                % (os.path.basename(path), r))
    if not os.path.exists(run.report):
        return
    html = open(run.report).read()
    mode = os.stat(run.report).st_mode & 0o777
    print("rolling report: %d bytes, mode %o" % (len(html), mode))
    if mode != 0o600:
        failures.append("report mode %o (want 600)" % mode)
    if not html.startswith("<!DOCTYPE html>") or not html.rstrip().endswith("</html>"):
        failures.append("the report is not a whole HTML page")
    # The last report was written at SIGTERM by the second daemon, which saw the outage.
    if '<tr class="outage" id="row-' not in html:
        failures.append("the rolling report has no outage row")
    if "Addresses are anonymized" not in html:
        failures.append("the report does not say its addresses are anonymized")
    if os.path.exists(run.report + ".tmp"):
        failures.append("a temporary report file was left behind")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--throttlewatch", required=True)
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    why = unavailable()
    if why:
        print("SKIPPED: live integration test: %s" % why)
        return SKIP
    shutil.rmtree(a.workdir, ignore_errors=True)
    os.makedirs(os.path.join(a.workdir, "state"))
    nobody = pwd.getpwnam("nobody")
    os.chown(os.path.join(a.workdir, "state"), nobody.pw_uid, nobody.pw_gid)
    os.chmod(os.path.join(a.workdir, "state"), 0o700)
    with open(os.open(os.path.join(a.workdir, "anon.key"), os.O_WRONLY | os.O_CREAT, 0o600),
              "wb") as f:
        f.write(os.urandom(32))

    lab = labmod.Lab("live", a.workdir)
    run = Run(lab, os.path.abspath(a.throttlewatch), a.workdir)
    lab._at(0.1, "prometheus", run.start_prometheus)
    lab._at(0.1, "listener", run.start_listener)
    lab._at(0.2, "daemon", run.start_daemon)
    labmod.two_anchors(lab)
    labmod.three_downloads(lab, labmod.SERVER4, end=87)
    lab.throttle(20, 45, 250_000, direction="down", remote=labmod.SERVER4, remote_port=5202,
                 proto="tcp")
    # Lookups at the lab's resolver, and a DNS injection between the daemon's start and its kill.
    for i, name in enumerate((labmod.NEWS, labmod.WEATHER)):
        lab.app("dns_lookups", labmod.RESOLVER4, 53, 1 + i * 0.75, 56, name=name, period=1.5,
                jitter=0.15)
    lab.block("dns_injection", 8, 24, name=labmod.NEWS)
    lab._at(38, "kill", run.kill_daemon)
    lab._at(38.2, "restart", run.start_daemon)
    lab._at(50, "client hello", run.send_client_hello)
    lab._at(80, "names", run.check_service_names)
    lab.outage(60, 12)
    lab._at(86, "stop", run.stop_daemon)
    lab.end(90)

    poller = threading.Thread(target=run.poll_alerts, daemon=True)
    poller.start()
    error = None
    try:
        lab.execute()
    except BaseException as e:  # noqa: B902 -- includes KeyboardInterrupt; cleanup below
        error = "%s: %s" % (type(e).__name__, e)
    finally:
        run.polling = False
        errors = lab.teardown()
        for e in errors:
            print("teardown: %s" % e)
    if error:
        print("FAILED: the lab run broke: %s" % error)
        return 1

    failures = run.failures
    acts = {(x["kind"], x["state"]): x["ts"] for x in lab.actions}
    for alert, key in (("ThrottlewatchThrottle", ("throttle", "start")),
                       ("ThrottlewatchOutage", ("outage", "start"))):
        fired = run.first_firing.get(alert)
        if fired is None:
            failures.append("%s never fired" % alert)
            continue
        latency = fired - acts[key]
        print("%s firing %.1f s after the %s (seen by polling Prometheus' API)"
              % (alert, latency, " ".join(key)))
        if latency > 30:
            failures.append("%s fired %.1f s after the change (want <= 30 s)" % (alert, latency))
    if not os.path.exists(run.events):
        failures.append("no event file")
    else:
        throttles, outages, restarts = check_events(run.events, lab.actions, failures)
        if throttles and not restarts:
            failures.append("the throttle open when the daemon was killed was not ended with "
                            "reason 'restart'")
        # The evidence chain survives the SIGKILL and the restart: one chain, no break.
        v = subprocess.run([run.tw, "verify", run.events], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        print("verify: " + v.stdout.strip())
        if v.returncode != 0:
            failures.append("throttlewatch verify of the event file exited %d" % v.returncode)
    check_private_outputs(run, failures)
    print("service names learned (from Prometheus): %s" % run.names_learned)
    if not run.names_learned:
        failures.append("the daemon learned no service name from the ClientHello sent at 50 s")
    for d in run.daemons:
        with open(d["log"]) as f:
            print("--- %s\n%s" % (os.path.basename(d["log"]), f.read().rstrip()))
    for f in failures:
        print("FAILED: " + f)
    if not failures:
        print("PASSED: alerts fired in time; every event exactly once across a SIGKILL restart")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
