#!/usr/bin/python3
"""Draws the Grafana dashboard's panels from a real run on the bundled demo: docs/dashboard.png.

Grafana is not in Debian, so the panels of deploy/grafana/throttlewatch.json are drawn with
matplotlib instead, each at its place in the grid, by its title, type and unit, from its own
PromQL queries answered by a real Prometheus (Debian's prometheus) that scraped a real daemon
every second while the demo capture played:

  1. `throttlewatch live -i lo --local <the demo's office>` (root: it opens a capture);
  2. Prometheus scrapes its 127.0.0.1 metrics port every second, with the shipped rules;
  3. tcpreplay plays data/demo.pcap onto lo at its own pace (86 s), each packet padded to its
     original length (the capture kept 128 bytes of each) and given an 802.1Q tag, so that the
     kernel drops it unread (no VLAN device) while the daemon, which captures before the stack
     and decodes VLAN tags, sees the demo's traffic; nothing leaves the machine;
  4. every panel's queries are asked over the run (query_range, one step a second), with
     Grafana's variables replaced: $instance: every sensor, $__rate_interval: 4 s (four
     scrapes), $__range: the run.

Needs root, throttlewatch built, and the Debian packages prometheus, tcpreplay and
python3-matplotlib (deploy/install-deps.sh --test). About two minutes:

  sudo deploy/grafana/render_dashboard.py --throttlewatch build/dev/throttlewatch
"""
import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

import matplotlib

matplotlib.use("Agg")
import matplotlib.patches  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
METRICS_PORT, PROM_PORT = 19470, 19490
RATE_INTERVAL = "4s"
COLORS = ["#73bf69", "#f2cc0c", "#5794f2", "#ff9830", "#f2495c", "#b877d9", "#8ab8ff"]


def get(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.read().decode()


def wait_for(url, seconds):
    end = time.time() + seconds
    while time.time() < end:
        try:
            return get(url)
        except OSError:
            time.sleep(0.3)
    raise SystemExit("no answer from " + url)


def tagged_copy(demo, path):
    """The capture with every Ethernet frame 802.1Q-tagged (VLAN 77) and padded to its length
    on the wire."""
    with open(demo, "rb") as f, open(path, "wb") as out:
        head = f.read(24)
        if struct.unpack("<I", head[:4])[0] != 0xA1B2C3D4 or struct.unpack("<I", head[20:])[0] != 1:
            raise SystemExit("%s: expected a little-endian Ethernet pcap" % demo)
        out.write(head[:16] + struct.pack("<I", 65535) + head[20:])
        while len(rec := f.read(16)) == 16:
            sec, usec, incl, orig = struct.unpack("<IIII", rec)
            data = f.read(incl).ljust(orig, b"\0")
            frame = data[:12] + struct.pack(">HH", 0x8100, 77) + data[12:]
            out.write(struct.pack("<IIII", sec, usec, len(frame), len(frame)) + frame)


def run_demo(tw, demo, work, local):
    """Plays the demo to a daemon that Prometheus scrapes; returns (start, end) epoch s."""
    rules = os.path.join(ROOT, "deploy", "prometheus", "throttlewatch.rules.yml")
    cfg = os.path.join(work, "prometheus.yml")
    with open(cfg, "w") as f:
        f.write("global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
                "rule_files: [%s]\n"
                "scrape_configs:\n"
                "  - job_name: throttlewatch\n"
                "    static_configs: [{targets: ['127.0.0.1:%d'], labels: {neighbourhood: demo}}]\n"
                % (json.dumps(rules), METRICS_PORT))
    log = open(os.path.join(work, "run.log"), "w")
    daemon = subprocess.Popen(
        [tw, "live", "-i", "lo", "--local", local, "--metrics", "127.0.0.1:%d" % METRICS_PORT,
         "--run-for", "140", "vlan"], stdout=log, stderr=log)
    prom = subprocess.Popen(
        ["prometheus", "--config.file=" + cfg, "--storage.tsdb.path=" + os.path.join(work, "tsdb"),
         "--web.listen-address=127.0.0.1:%d" % PROM_PORT], stdout=log, stderr=log)
    try:
        wait_for("http://127.0.0.1:%d/metrics" % METRICS_PORT, 10)
        wait_for("http://127.0.0.1:%d/-/ready" % PROM_PORT, 30)
        time.sleep(5)  # a few scrapes before the traffic
        start = time.time() - 3
        tagged = os.path.join(work, "demo-vlan.pcap")
        tagged_copy(demo, tagged)
        subprocess.run(["tcpreplay", "-q", "-i", "lo", tagged], stdout=log, stderr=log,
                       check=True)
        time.sleep(12)  # the last bins close, the last scrapes
        end = time.time()
        return start, end, prom, daemon
    except BaseException:
        prom.terminate()
        daemon.terminate()
        raise


def query_range(expr, start, end):
    q = urllib.parse.urlencode({"query": expr, "start": start, "end": end, "step": 1})
    out = json.loads(get("http://127.0.0.1:%d/api/v1/query_range?%s" % (PROM_PORT, q)))
    return out["data"]["result"]


def legend(fmt, labels):
    text = fmt or ""
    for k, v in labels.items():
        text = text.replace("{{%s}}" % k, v)
    while "{{" in text:  # a label the series does not have
        a = text.index("{{")
        text = text[:a] + text[text.index("}}", a) + 2:]
    return text.strip() or "value"


def series_of(panel, start, end):
    out = []
    for t in panel.get("targets", []):
        expr = (t["expr"].replace("$__rate_interval", RATE_INTERVAL)
                .replace("$__range", "%ds" % int(end - start)).replace("$instance", ".*"))
        for r in query_range(expr, start, end):
            xs = [float(x) - start for x, _ in r["values"]]
            ys = [float(y) for _, y in r["values"]]
            out.append((legend(t.get("legendFormat"), r["metric"]), xs, ys))
    return out


def human(v, unit):
    if v != v:
        return "NaN"
    scale = {"bps": [(1e9, "Gb/s"), (1e6, "Mb/s"), (1e3, "kb/s"), (1, "b/s")],
             "bytes": [(2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB"), (1, "B")]}.get(unit)
    if scale:
        for f, name in scale:
            if abs(v) >= f or f == 1:
                return "%.4g %s" % (v / f, name)
    if unit == "s":
        return "%.3g ms" % (v * 1e3) if abs(v) < 1 else "%.3g s" % v
    return "%.3g" % v


def draw_panel(fig, panel, rows, series, xmax):
    """The panel in its cell of the grid (24 columns, `rows` rows): a box with its title, then
    the plot (a timeseries), the last value (a stat) or "No data"."""
    g = panel["gridPos"]
    cw, ch = 1 / 24, 1 / rows
    x0, y0, w, h = g["x"] * cw + 0.003, 1 - (g["y"] + g["h"]) * ch + 0.003, g["w"] * cw - 0.006, \
        g["h"] * ch - 0.006
    fig.add_artist(matplotlib.patches.Rectangle((x0, y0), w, h, transform=fig.transFigure,
                                                facecolor="#181b1f", edgecolor="#2c3235", zorder=-10))
    fig.text(x0 + 0.008, y0 + h - 0.45 * ch, panel["title"], color="#d8d9da", fontsize=8,
             weight="bold", va="center")
    if panel["type"] == "stat" or not series:
        ax = fig.add_axes([x0, y0, w, h - 0.9 * ch])
        ax.axis("off")
    else:
        ax = fig.add_axes([x0 + 0.055, y0 + 1.1 * ch, w - 0.065, h - 2.1 * ch])
        ax.set_facecolor("#181b1f")
        for spine in ax.spines.values():
            spine.set_color("#2c3235")
    unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit", "none")
    if not series:
        ax.text(0.5, 0.5, "No data (no probe targets in this run)" if "Probe" in panel["title"]
                else "No data", color="#8e8e8e", ha="center", va="center",
                transform=ax.transAxes, fontsize=9)
        return
    if panel["type"] == "stat":
        last = sum(ys[-1] for _, _, ys in series)
        color = "#f2495c" if last > 0 and ("Outage" in panel["title"] or "drops" in
                                           panel["title"] or "Throttles" in panel["title"]) else "#73bf69"
        ax.text(0.5, 0.45, human(last, unit), color=color, ha="center", va="center",
                transform=ax.transAxes, fontsize=20, weight="bold")
        return
    for i, (name, xs, ys) in enumerate(series[:7]):
        ax.plot(xs, ys, color=COLORS[i % len(COLORS)], lw=1.1, label=name)
    ax.tick_params(colors="#8e8e8e", labelsize=6)
    ax.grid(color="#2c3235", lw=0.5)
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: human(v, unit)))
    ax.set_xlim(0, xmax)
    ax.set_xlabel("seconds into the run (the demo plays from 3 s on)", color="#8e8e8e", fontsize=6, labelpad=1)
    ax.legend(loc="best", fontsize=5.5, frameon=False, labelcolor="#d8d9da", ncol=2)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--throttlewatch", help="the binary (not needed with --from-series)")
    ap.add_argument("--demo", default=os.path.join(ROOT, "data", "demo.pcap"))
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "dashboard.png"))
    ap.add_argument("--save-series", help="also write the queried series to this JSON file")
    ap.add_argument("--from-series", help="draw from a --save-series file instead of a run")
    a = ap.parse_args()
    with open(os.path.join(HERE, "throttlewatch.json")) as f:
        dash = json.load(f)
    if a.from_series:
        with open(a.from_series) as f:
            saved = json.load(f)
        return draw(dash, [(p, saved.get(str(p["id"]), [])) for p in dash["panels"]], a.out)
    if not a.throttlewatch:
        ap.error("--throttlewatch is needed to run the demo")
    if os.geteuid() != 0:  # after --from-series, which needs no capture
        raise SystemExit("run as root: the daemon opens a capture and tcpreplay writes to lo")
    with open(os.path.join(ROOT, "data", "demo.truth.json")) as f:
        local = ",".join(json.load(f)["local_networks"])
    work = tempfile.mkdtemp(prefix="tw-dashboard-")
    os.chmod(work, 0o755)
    try:
        start, end, prom, daemon = run_demo(os.path.abspath(a.throttlewatch), a.demo, work, local)
        try:
            panels = [(p, series_of(p, start, end)) for p in dash["panels"]]
        finally:
            prom.terminate()
            daemon.terminate()
            prom.wait()
            daemon.wait()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if a.save_series:
        with open(a.save_series, "w") as f:
            json.dump({str(p["id"]): s for p, s in panels}, f)
    return draw(dash, panels, a.out)


def draw(dash, panels, out):
    rows = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in dash["panels"])
    fig = plt.figure(figsize=(12, rows * 0.27), facecolor="#111217")
    xmax = max([xs[-1] for _, series in panels for _, xs, _ in series if xs] or [1])
    for p, s in panels:
        draw_panel(fig, p, rows, s, xmax)
    fig.savefig(out, dpi=80, facecolor=fig.get_facecolor())
    print("%s: %d panels, %d bytes" % (out, len(panels), os.path.getsize(out)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
