#!/usr/bin/env python3
"""Renders the demo capture's HTML report in headless Chromium and checks what a reader sees.

Replays the bundled demo capture with --report, opens the file in a fresh headless Chromium
(networking features off) driven over the DevTools protocol on a pipe (--remote-debugging-pipe:
NUL-separated JSON on file descriptors 3 and 4, no sockets), and checks that
  - the page loaded with no console error, no exception and no Content-Security-Policy report;
  - no network request was attempted (every request the page made is logged by the Network
    domain; only the report's own file:// URL is allowed);
  - the event table lists the demo's events (compared with the replay's own JSON lines and
    with the capture's ground truth);
  - the charts are drawn: non-empty SVG paths with many points, laid out at a real size;
  - the page prints (Page.printToPDF returns a PDF).
Optionally writes a screenshot (--screenshot FILE). Exit 0 pass, 1 fail, 77 skipped (no
Chromium).
"""
import argparse
import base64
import json
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "schema"))
import validate_lines  # noqa: E402

SKIP = 77


class Cdp:
    """A DevTools protocol client over Chromium's --remote-debugging-pipe."""

    def __init__(self, chromium, profile, extra_args):
        cmd_r, self.cmd_w = os.pipe()
        self.resp_r, resp_w = os.pipe()

        def child_fds():
            os.dup2(cmd_r, 3)
            os.dup2(resp_w, 4)

        args = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-extensions",
                "--disable-default-apps", "--metrics-recording-only", "--mute-audio",
                "--hide-scrollbars", "--user-data-dir=" + profile, "--remote-debugging-pipe"] + extra_args + [
                    "about:blank"]
        self.proc = subprocess.Popen(args, pass_fds=(3, 4), preexec_fn=child_fds,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        os.close(cmd_r)
        os.close(resp_w)
        self.buf = b""
        self.next_id = 0
        self.events = []

    def _read_message(self, deadline):
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from chromium")
            ready, _, _ = select.select([self.resp_r], [], [], left)
            if not ready:
                continue
            chunk = os.read(self.resp_r, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the pipe")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method, params=None, session=None, timeout=30):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.cmd_w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            m = self._read_message(deadline)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            self.events.append(m)

    def wait_event(self, method, timeout=30):
        deadline = time.monotonic() + timeout
        for m in self.events:
            if m.get("method") == method:
                return m
        while True:
            m = self._read_message(deadline)
            self.events.append(m)
            if m.get("method") == method:
                return m

    def drain(self, seconds):
        deadline = time.monotonic() + seconds
        try:
            while True:
                self.events.append(self._read_message(deadline))
        except TimeoutError:
            pass

    def close(self):
        try:
            self.send("Browser.close", timeout=5)
        except Exception:  # noqa: BLE001 - closing anyway
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.cmd_w)
        os.close(self.resp_r)


PAGE_PROBE = r"""
(() => {
  const rows = [...document.querySelectorAll('#event-table tbody tr')].map(tr => {
    const a = tr.querySelector('a');
    const target = a ? document.getElementById(a.getAttribute('href').slice(1)) : null;
    return {id: tr.id, kind: tr.className, text: tr.innerText, link_ok: !!target};
  });
  const charts = [...document.querySelectorAll('svg.chart')].map(svg => {
    const box = svg.getBoundingClientRect();
    const paths = [...svg.querySelectorAll('path')].map(p => ({
      cls: p.getAttribute('class'),
      points: (p.getAttribute('d') || '').split(/[ML]/).filter(s => s.trim()).length,
      length: p.getTotalLength ? p.getTotalLength() : 0,
    }));
    return {id: svg.id, width: box.width, height: box.height, paths};
  });
  const blocks = [...document.querySelectorAll('#block-table tbody tr.block')].map(tr => tr.id);
  return {title: document.title, rows, charts, blocks,
          blocking: !!document.getElementById('blocking'),
          resources: performance.getEntriesByType('resource').map(e => e.name)};
})()
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--throttlewatch", required=True)
    ap.add_argument("--demo", required=True, help="the demo capture")
    ap.add_argument("--truth", help="its ground truth JSON")
    ap.add_argument("--screenshot", help="write a PNG of the top of the report here")
    ap.add_argument("--width", type=int, default=1000)
    ap.add_argument("--height", type=int, default=1400)
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    a = ap.parse_args()

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("SKIP: chromium is not installed (deploy/install-deps.sh --test installs it)")
        return SKIP

    work = tempfile.mkdtemp(prefix="tw_report_browser_")
    failures = []

    def check(cond, what):
        print(("ok   " if cond else "FAIL ") + what)
        if not cond:
            failures.append(what)

    try:
        report = os.path.join(work, "report.html")
        events_path = os.path.join(work, "events.jsonl")
        rc = subprocess.run([a.throttlewatch, "replay", "-q", "--report", report,
                             "--series", os.path.join(work, "series.csv"),
                             "--events", events_path, a.demo]).returncode
        check(rc == 0, f"replay with --report exits 0 (got {rc})")
        if rc != 0:
            return 1
        try:
            validate_lines.check_files([events_path])
            check(True, "the event lines match the schema")
        except validate_lines.SchemaError as e:
            check(False, str(e))
        validate_lines.keep([events_path], "report_browser")
        starts = [e for e in map(json.loads, open(events_path)) if e.get("record") == "event" and
                  e["state"] == "start"]
        # Blocks have rows of their own under Blocking, and no chart.
        blocks = [e for e in starts if e["kind"] == "block"]
        starts = [e for e in starts if e["kind"] != "block"]
        html = open(report, encoding="utf-8").read()
        # Self-contained: no URL of any kind (the only "http" is the CSP's http-equiv).
        check(re.search(r"(?i)https?:|//[a-z0-9]", html) is None, "no http(s) URL in the file")
        for bad in ("url(", "@import", " src=", "<script", "<link", "<iframe"):
            check(bad not in html, f"no '{bad}' in the file")

        profile = os.path.join(work, "profile")
        cdp = Cdp(chromium, profile, [])
        try:
            target = next(t for t in cdp.send("Target.getTargets")["targetInfos"]
                          if t["type"] == "page")
            session = cdp.send("Target.attachToTarget",
                               {"targetId": target["targetId"], "flatten": True})["sessionId"]
            for domain in ("Runtime", "Log", "Network", "Page"):
                cdp.send(domain + ".enable", session=session)
            cdp.send("Emulation.setDeviceMetricsOverride",
                     {"width": a.width, "height": a.height, "deviceScaleFactor": 1,
                      "mobile": False}, session=session)
            url = "file://" + report
            nav = cdp.send("Page.navigate", {"url": url}, session=session)
            check("errorText" not in nav, "the report opens: " + nav.get("errorText", "ok"))
            cdp.wait_event("Page.loadEventFired")
            cdp.drain(1.0)
            probe = cdp.send("Runtime.evaluate", {"expression": PAGE_PROBE,
                                                  "returnByValue": True},
                             session=session)["result"]["value"]
            if a.screenshot:
                shot = cdp.send("Page.captureScreenshot", {"format": "png"}, session=session)
                with open(a.screenshot, "wb") as f:
                    f.write(base64.b64decode(shot["data"]))
                print("screenshot written to", a.screenshot)
            pdf = cdp.send("Page.printToPDF", {}, session=session, timeout=60)
            check(base64.b64decode(pdf["data"])[:5] == b"%PDF-", "the page prints (PDF)")
        finally:
            cdp.close()
        stderr = cdp.proc.stderr.read().decode(errors="replace") if cdp.proc.stderr else ""

        ev = [m for m in cdp.events if m.get("sessionId")]
        methods = lambda name: [m["params"] for m in ev if m.get("method") == name]  # noqa: E731
        errors = [p["entry"]["text"] for p in methods("Log.entryAdded")
                  if p["entry"]["level"] in ("error", "warning")]
        errors += [p["exceptionDetails"].get("text", "") for p in methods("Runtime.exceptionThrown")]
        errors += [" ".join(str(x.get("value", "")) for x in p["args"])
                   for p in methods("Runtime.consoleAPICalled") if p["type"] in ("error", "warning")]
        check(not errors, f"no console errors, exceptions or CSP reports {errors}")
        requests = [p["request"]["url"] for p in methods("Network.requestWillBeSent")]
        foreign = [u for u in requests if u != url]
        check(url in requests, "the Network domain saw the page itself load")
        check(not foreign, f"no other network request attempted {foreign}")
        check(not probe["resources"], f"no resource loaded {probe['resources']}")
        check("Refused to" not in stderr, "no CSP refusal in chromium's log")

        rows = probe["rows"]
        check(len(rows) == len(starts),
              f"event table has {len(rows)} rows for {len(starts)} events")
        for e in starts:
            row = next((r for r in rows if r["id"] == f"row-{e['id']}"), None)
            check(row is not None and row["kind"] == e["kind"] and row["link_ok"],
                  f"row for event {e['id']} ({e['kind']}) links to its chart")
        if a.truth:
            truth = json.load(open(a.truth))
            for act in truth["actions"]:
                if act["state"] != "start":
                    continue
                found = [r for r in rows if r["kind"] == act["kind"]]
                if act["kind"] == "throttle":
                    port = str(act["target"]["remote_port"])
                    found = [r for r in found if (":" + port) in r["text"]]
                check(bool(found), f"the table shows the demo's {act['kind']} "
                                   f"({act.get('target', {}).get('remote_port', 'link')})")

        check(probe["blocking"], "the Blocking section is there")
        check(sorted(probe["blocks"]) == sorted(f"block-{e['id']}" for e in blocks),
              f"the blocking table has a row for each of the {len(blocks)} blocks")

        charts = {c["id"]: c for c in probe["charts"]}
        check("link-chart" in charts, "the link chart is there")
        for e in starts:
            check(f"chart-{e['id']}" in charts, f"event {e['id']} has a chart")
        for cid, c in charts.items():
            drawn = [p for p in c["paths"] if p["points"] >= 10 and p["length"] > 100]
            check(c["width"] > 300 and c["height"] > 80 and len(drawn) >= 1,
                  f"{cid} is drawn ({len(drawn)} paths with data, {c['width']:.0f}x"
                  f"{c['height']:.0f} px)")
        link = charts.get("link-chart", {"paths": []})
        check({"down", "up"} <= {p["cls"] for p in link["paths"] if p["points"] >= 10},
              "the link chart has both directions")
    finally:
        if a.keep:
            print("work directory:", work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    if failures:
        print(f"{len(failures)} check(s) failed")
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
