#!/usr/bin/env python3
"""Runs the lab suite, replays every capture with throttlewatch and scores it.

  suite.py --throttlewatch BIN --workdir DIR [--scenarios a,b|GROUP|all] [--reps N] [--seed S]
           [-j N] [--json FILE] [--gate none|ctest|issue|block] [--detail]
  suite.py --throttlewatch BIN --rescore DIR [...]     score captures made earlier, no lab run

Each scenario runs `lab.py run` (repetition r uses seed S+r: action times jitter by up to 1 s),
at most -j at a time (each run has its own namespaces). Every capture is replayed with
`throttlewatch replay --local <the truth's local networks>` and matched with its truth by
score.py. Printed: a row per run, then over the whole suite: precision and recall of throttle
and outage events, onset and end error (median and 95th percentile of |event - truth|), rate
error of throttles lasting 20 s or more, how many matched events have `targeted`, `scope` and
`direction` right, and which controls (scenarios without interventions) got a throttle event;
where blocks were scored (the `block` group: `--scenarios block`), precision, recall and the
share of right methods of block events, their onset and end errors. --json writes the same as a
summary file. A scenario whose tools are missing here is not run (reported as skipped).

Gates (exit status 1 when they fail): `ctest` asserts what the current detector is expected to
get right (CTEST_EXPECT below); `issue` asserts issue 3's acceptance criteria over everything;
`block` asserts the blocking bar (BLOCK_GATE) over the blocks scored.
Exits 77 (ctest's skip code) when the lab cannot run here: not root, no namespaces, a tool
missing. Python 3 standard library only.
"""

import argparse
import concurrent.futures
import glob
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import lab  # noqa: E402  (scenarios and their lengths)
import score  # noqa: E402

SKIP = 77
RATE_MIN_DURATION_S = 20.0  # rate errors are judged on throttles at least this long
# Bands of event confidence for the calibration table (the last one holds 1.0).
CONFIDENCE_BANDS = [(0.0, 0.5), (0.5, 0.7), (0.7, 0.8), (0.8, 0.9), (0.9, 1.01)]

# What the current detector must get right (the ctest gate). "quiet": no throttle or outage event
# at all. "found": every intervention found (a start event matched it). False positives in
# "found" scenarios are printed and counted in the precision, not asserted. "known_miss": an
# intervention the detector does not find yet, counted in the recall and printed, not asserted.
# Every scenario is listed. Attributes (scope, targeted), end and rate errors are printed, not
# asserted here (the issue gate asserts them over the whole suite).
CTEST_EXPECT = {
    "control": "quiet",
    "control_bitrate": "quiet",
    "control_flows_end": "quiet",
    "control_slow_receiver": "quiet",
    "control_v6": "quiet",
    "control_video": "quiet",
    "control_web": "quiet",
    "demo": "found",
    "throttle_v6": "found",
    "throttle_port_down": "found",
    "throttle_port_up": "found",
    "throttle_server": "found",
    "throttle_link": "found",
    "throttle_bucket": "found",
    "throttle_onoff": "found",
    "throttle_udp": "found",
    "outage_10s": "found",
    "outage_60s": "found",
    "outage_blackhole": "found",
    # Real life (issue 16): each with an intervention beside its control.
    "video_player": "quiet",
    "video_player_throttled": "found",
    "quic_transfer": "quiet",
    "quic_throttled": "found",
    "chatter": "quiet",
    "chatter_outage": "found",
    "browsing": "quiet",
    "browsing_throttled": "found",
    "sender_side": "found",
    # Issue 20: policers next to a shaper that only tail-drops (their flows' verdicts are
    # scored by the issue gate).
    "policer_small": "found",
    "policer_large": "found",
    "shaper_tail_drops": "found",
    "capture_gap": "quiet",
    # Website blocking: each block found (its method, onset and end are scored by the block
    # gate, --gate block); the controls, a server's own failures, stay quiet.
    "block_tcp_rst": "found",
    "block_sni_blackhole": "found",
    "block_ip_blackhole": "found",
    "block_quic_blackhole": "found",
    "block_from_start": "found",
    "block_control_server_down": "quiet",
    "block_control_slow_server": "quiet",
    "block_control_idle_close": "quiet",
    # Blocking by DNS: a forged answer racing the resolver's, the resolver's own bogon or
    # NXDOMAIN; the controls, a name that never existed and a slow resolver, stay quiet.
    "block_dns_injection": "found",
    "block_dns_bogon": "found",
    "block_dns_nxdomain": "found",
    "block_control_dns_nonexistent": "quiet",
    "block_control_dns_slow": "quiet",
    # Blocking of plain HTTP: the censor's own block page (a forged 302, the request dropped).
    # The control, a site redirecting to https itself, stays quiet.
    "block_http_blockpage": "found",
    "block_control_http_redirect": "quiet",
}

# Groups of scenarios `--scenarios` takes by name (beside scenario names and "all").
GROUPS = {"block": sorted(n for n in lab.SCENARIOS if n.startswith("block_"))}
assert not set(GROUPS) & set(lab.SCENARIOS), "a group is named like a scenario"

ISSUE_GATE = {"precision": 0.95, "recall": 0.95, "onset_median_s": 2.0, "onset_p95_s": 5.0,
              "rate_err": 0.10, "attributes": 0.95}
# The blocking bar: precision and recall of block events, the share of found blocks whose
# method is right, and of found blocks whose end came within score.BLOCK_WINDOW_S (their onset
# is, or they would not match).
BLOCK_GATE = {"precision": 0.95, "recall": 0.95, "method": 0.95, "end_within": 0.95}


def lab_unavailable():
    if os.geteuid() != 0:
        return "the lab needs root (network namespaces, tc)"
    for tool in lab.REQUIRED_TOOLS:
        if shutil.which(tool) is None:
            return "missing tool: %s (deploy/install-deps.sh --test installs it)" % tool
    probe = "twprobe%d" % os.getpid()
    r = subprocess.run(["ip", "netns", "add", probe], stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        return "cannot create a network namespace: %s" % r.stderr.strip()
    subprocess.run(["ip", "netns", "del", probe])
    return None


def scenario_length(name):
    """The scenario's planned length in seconds (the timeline is built without running it)."""
    probe = lab.Lab(name, "/nonexistent")
    lab.SCENARIOS[name][0](probe)
    return probe.duration or 60


def missing_tools(name):
    """The programs scenario `name` needs beyond lab.REQUIRED_TOOLS that are not installed."""
    probe = lab.Lab(name, "/nonexistent")
    lab.SCENARIOS[name][0](probe)
    return [t for t in probe.tools_needed() if shutil.which(t) is None]


def expand_scenarios(text):
    """'all', or comma-separated scenario and group names -> scenario names, in order, once."""
    if text == "all":
        return list(lab.SCENARIOS)
    out = []
    for item in text.split(","):
        for n in GROUPS.get(item, [item]):
            if n not in out:
                out.append(n)
    return out


def run_one(name, rep, seed, workdir):
    out = os.path.join(workdir, "r%d" % rep)
    os.makedirs(out, exist_ok=True)
    logpath = os.path.join(out, name + ".lab.log")
    t0 = time.monotonic()
    with open(logpath, "w") as logf:
        r = subprocess.run([sys.executable, os.path.join(HERE, "lab.py"), "run", name,
                            "--out", out, "--seed", str(seed)], stdout=logf,
                           stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    return {"scenario": name, "rep": rep, "seed": seed, "rc": r.returncode,
            "truth": os.path.join(out, name + ".truth.json"), "log": logpath,
            "seconds": time.monotonic() - t0}


def replay_and_score(run, throttlewatch, extra_args):
    """Replays one capture and scores it; fills run["rows"], ["false_pos"], ..."""
    with open(run["truth"]) as f:
        truth = json.load(f)
    run["complete"] = truth.get("complete", False)
    run["scenario"] = truth.get("scenario", run.get("scenario"))
    pcap = os.path.join(os.path.dirname(run["truth"]), truth["capture"])
    events_path = os.path.splitext(pcap)[0] + ".events.jsonl"
    flows_path = os.path.splitext(pcap)[0] + ".flows.jsonl"
    cmd = [throttlewatch, "replay", "--events", events_path, "--flows", flows_path]
    if truth.get("local_networks"):
        cmd += ["--local", ",".join(truth["local_networks"])]
    cmd += extra_args + [pcap]
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    run["replay_rc"] = r.returncode
    run["replay_stderr"] = r.stderr
    if r.returncode != 0:
        run["error"] = "replay failed (%d): %s" % (r.returncode, r.stderr.strip()[-300:])
        return run
    events = score.load_events(events_path)
    score.annotate_references(truth, pcap)
    rows, false_pos, problems = score.score(truth, events)
    run["verdicts"] = check_verdicts(truth, score.load_records(flows_path, "flow"))
    problems = problems + [v["problem"] for v in run["verdicts"] if not v["right"]]
    false_ids = {id(e) for e in false_pos}
    # Every start event's confidence, and whether it matched a truth action (calibration).
    confidences = [(e.get("kind"), e.get("confidence"), id(e) not in false_ids)
                   for e in events if e.get("state") == "start"]
    run.update(rows=rows, false_pos=false_pos, problems=problems, confidences=confidences,
               n_events=sum(1 for e in events if e.get("state") == "start"),
               control=not any(a["kind"] in ("throttle", "outage", "block")
                               for a in truth["actions"]),
               events_path=events_path)
    return run


def check_verdicts(truth, flows):
    """The flow verdicts of the flows a limiter held, against the limiter the lab installed: a
    policer's flow, held from its first byte, must be called policed at the policer's rate
    (within 10 %); a shaper's flow must never be called policed (shapers queue; the few packets
    a full queue drops are no policer's). One row per such flow."""
    out = []
    for a in truth["actions"]:
        target = a.get("target") or {}
        if a["kind"] != "throttle" or a["state"] != "start" or "remote_port" not in target:
            continue
        for fl in truth["flows"]:
            if fl["remote_port"] != target["remote_port"] or fl["direction"] != a["direction"]:
                continue
            got = [v for v in flows if (v.get("flow") or {}).get("remote_port") == fl["remote_port"]
                   and (v.get("flow") or {}).get("local_port") == fl["local_port"]]
            verdict = got[0].get("verdict") if got else None
            rate = got[0].get("rate_bps") if got else None
            row = {"limiter": a.get("limiter", "shaper"), "port": fl["remote_port"],
                   "verdict": verdict, "rate_bps": rate, "rate_err": None}
            if row["limiter"] == "policer" and a["t_rel"] <= fl["planned_start_t"]:
                row["expect"] = "policed"
                if verdict == "policed" and rate:
                    row["rate_err"] = rate / a["rate_bps"] - 1
                row["right"] = verdict == "policed" and abs(row["rate_err"] or 1) <= 0.10
            elif row["limiter"] == "shaper":
                row["expect"] = "not policed"
                row["right"] = verdict != "policed"
            else:
                continue  # a policer that began mid-flow: the verdict judges the whole flow
            row["problem"] = "flow to port %d held by a %s: verdict %s (%s), expected %s" % (
                fl["remote_port"], row["limiter"], verdict,
                "-" if rate is None else "%.0f bit/s" % rate, row["expect"])
            out.append(row)
    return out


def pct(values, q):
    """q-th percentile (nearest rank) of a non-empty list."""
    v = sorted(values)
    k = max(0, min(len(v) - 1, int(round(q / 100.0 * len(v) + 0.5)) - 1))
    return v[k]


def ratio(num, den):
    return None if den == 0 else num / den


def summarize(runs):
    """Suite-wide metrics over every scored run."""
    scored = [r for r in runs if "rows" in r]
    m = {"runs": len(runs), "scored": len(scored),
         "failed_runs": ["%s r%d" % (r["scenario"], r["rep"]) for r in runs if "rows" not in r]}
    for kind in ("throttle", "outage"):
        every = [x for r in scored for x in r["rows"] if x["kind"] == kind]
        tp = sum(x["events"] for x in every)
        fp = sum(1 for r in scored for e in r["false_pos"] if e.get("kind") == kind)
        # The recall counts the actions the capture holds evidence of (see score.MIN_REFERENCE_S).
        rows = [x for x in every if x.get("reference", True)]
        no_ref = [x for x in every if not x.get("reference", True)]
        m[kind] = {"truth": len(rows), "found": sum(x["found"] for x in rows),
                   "without_reference": len(no_ref),
                   "without_reference_found": sum(x["found"] for x in no_ref),
                   "events": tp + fp, "matched_events": tp, "false_events": fp,
                   "recall": ratio(sum(x["found"] for x in rows), len(rows)),
                   "precision": ratio(tp, tp + fp)}
    # Throttles and outages; blocks have their own summary (m["block"]).
    found = [x for r in scored for x in r["rows"] if x["found"] and x["kind"] != "block"]
    onset = [abs(x["onset_err"]) for x in found]
    ends = [x for r in scored for x in r["rows"] if "end_err" in x and x["kind"] != "block"]
    end_known = [abs(x["end_err"]) for x in ends if x["end_err"] is not None]
    m["onset_abs_s"] = {"n": len(onset), "median": statistics.median(onset) if onset else None,
                        "p95": pct(onset, 95) if onset else None}
    m["end_abs_s"] = {"n": len(end_known), "missing": len(ends) - len(end_known),
                      "median": statistics.median(end_known) if end_known else None,
                      "p95": pct(end_known, 95) if end_known else None}
    long_th = [x for x in found if x["kind"] == "throttle" and "rate_err" in x and
               x.get("duration_s", 0) >= RATE_MIN_DURATION_S]
    rerr = [abs(x["rate_err"]) for x in long_th]
    m["rate_abs_err"] = {"n": len(rerr), "median": statistics.median(rerr) if rerr else None,
                         "max": max(rerr) if rerr else None,
                         "within_10pct": sum(e <= 0.10 for e in rerr)}
    for attr in ("targeted", "scope", "direction"):
        rows = [x for x in found if attr + "_right" in x]
        right = sum(x[attr + "_right"] for x in rows)
        n = sum(x["events"] for x in rows)
        m[attr] = {"right": right, "events": n, "share": ratio(right, n)}
    # Calibration: of the start events whose confidence falls in a band, how many were right
    # (matched a truth action). Events at 0.9 should be right about nine times in ten.
    m["calibration"] = []
    for lo, hi in CONFIDENCE_BANDS:
        band = [right for r in scored for _, c, right in r.get("confidences", [])
                if c is not None and lo <= c < hi]
        m["calibration"].append({"from": lo, "to": hi, "events": len(band),
                                 "right": sum(band), "share": ratio(sum(band), len(band))})
    verdicts = [v for r in scored for v in r.get("verdicts", [])]
    m["verdicts"] = {lim: {"flows": sum(v["limiter"] == lim for v in verdicts),
                           "right": sum(v["limiter"] == lim and v["right"] for v in verdicts)}
                     for lim in ("policer", "shaper")}
    m["controls"] = sorted({r["scenario"] for r in scored if r["control"]})
    m["controls_with_throttle_events"] = sorted(
        {"%s r%d" % (r["scenario"], r["rep"]) for r in scored if r["control"] and
         any(e.get("kind") == "throttle" for e in r["false_pos"])})
    m["block"] = summarize_blocks(scored)
    m["skipped"] = ["%s r%d: missing %s" % (r["scenario"], r["rep"], ", ".join(r["skipped"]))
                    for r in runs if r.get("skipped")]
    return m


def summarize_blocks(scored):
    """Block events over every scored run (a block event in any scenario without a block is a
    false positive): precision, recall, method right, onset and end errors."""
    rows = [x for r in scored for x in r["rows"] if x["kind"] == "block"]
    found = [x for x in rows if x["found"]]
    tp = sum(x["events"] for x in rows)
    fp = sum(1 for r in scored for e in r["false_pos"] if e.get("kind") == "block")
    onset = [abs(x["onset_err"]) for x in found]
    ends = [x["end_err"] for x in found if "end_err" in x]
    known = [abs(e) for e in ends if e is not None]
    return {
        "scenarios": sorted({r["scenario"] for r in scored
                             if any(x["kind"] == "block" for x in r["rows"])}),
        "truth": len(rows), "found": len(found), "events": tp + fp, "matched_events": tp,
        "false_events": fp, "recall": ratio(len(found), len(rows)),
        "precision": ratio(tp, tp + fp),
        "method_right": sum(x["method_right"] for x in found),
        "method_share": ratio(sum(x["method_right"] for x in found),
                              sum(x["events"] for x in found)),
        "onset_abs_s": {"n": len(onset), "median": statistics.median(onset) if onset else None,
                        "max": max(onset) if onset else None},
        "end_abs_s": {"n": len(known), "missing": len(ends) - len(known),
                      "median": statistics.median(known) if known else None,
                      "max": max(known) if known else None,
                      "within": sum(e <= score.BLOCK_WINDOW_S for e in known)},
        "end_within_share": ratio(sum(e <= score.BLOCK_WINDOW_S for e in known), len(ends)),
        "controls_with_block_events": sorted(
            {"%s r%d" % (r["scenario"], r["rep"]) for r in scored if r["control"] and
             any(e.get("kind") == "block" for e in r["false_pos"])}),
    }


def f(v, spec="%.2f"):
    return "-" if v is None else spec % v


def print_runs(runs, detail):
    print("%-29s %3s %5s %5s %6s %4s %13s %13s %14s %7s %7s %7s" % (
        "scenario", "rep", "truth", "found", "events", "FP", "onset_s", "end_s", "rate_err",
        "target", "scope", "dir"))
    for r in sorted(runs, key=lambda r: (r["scenario"], r["rep"])):
        if r.get("skipped"):
            print("%-29s %3d  SKIPPED: missing %s" % (r["scenario"], r["rep"],
                                                     ", ".join(r["skipped"])))
            continue
        if "rows" not in r:
            print("%-29s %3d  ERROR %s" % (r["scenario"], r["rep"],
                                           r.get("error", "lab run failed (rc %s), see %s" %
                                                 (r.get("rc"), r.get("log")))))
            continue
        rows = r["rows"]
        found = [x for x in rows if x["found"]]

        def join(key, spec):
            vals = [x.get(key) for x in found if key in x]
            return ",".join("miss" if v is None else spec % v for v in vals) or "-"

        def attr(a):
            xs = [x for x in found if a + "_right" in x]
            return ("%d/%d" % (sum(x[a + "_right"] for x in xs), sum(x["events"] for x in xs))
                    if xs else "-")
        print("%-29s %3d %5d %5d %6d %4d %13s %13s %14s %7s %7s %7s%s" % (
            r["scenario"], r["rep"], len(rows), len(found), r["n_events"], len(r["false_pos"]),
            join("onset_err", "%+.1f")[:13], join("end_err", "%+.1f")[:13],
            join("rate_err", "%+.2f")[:14], attr("targeted"), attr("scope"), attr("direction"),
            ("" if r["complete"] else "  (capture incomplete)") +
            "".join("  (%s at %+.1f s: no reference)" % (x["kind"], x["t_rel"])
                    for x in rows if not x.get("reference", True)) +
            block_suffix(rows)))
        if detail:
            score.print_table("%s r%d" % (r["scenario"], r["rep"]), rows, r["false_pos"])
        elif r["false_pos"]:
            for e in r["false_pos"]:
                flow = e.get("flow") or {}
                if e.get("kind") == "block":
                    print("%35s FP block %s %s (%s) %s at %+.1f s" % (
                        "", e.get("service") or "-", score.event_remote(e), e.get("scope"),
                        e.get("method"), e["ts"] - r.get("start_ts", e["ts"])))
                    continue
                print("%35s FP %s %s %s %s:%s at %+.1f s, %s -> %s" % (
                    "", e.get("kind"), e.get("scope"), e.get("direction"), flow.get("remote"),
                    flow.get("remote_port"), e["ts"] - r.get("start_ts", e["ts"]),
                    f(e.get("rate_before_bps"), "%.0f"), f(e.get("rate_after_bps"), "%.0f")))


def block_suffix(rows):
    """A run's blocks: methods right of found, and a miss's method."""
    blocks = [x for x in rows if x["kind"] == "block"]
    if not blocks:
        return ""
    found = [x for x in blocks if x["found"]]
    return "  (blocks: %s; method right %d/%d)" % (
        ", ".join("%s %s" % (x["method"], "found" if x["found"] else "MISSED") for x in blocks),
        sum(x["method_right"] for x in found), sum(x["events"] for x in found))


def print_block_summary(b):
    print("  block     precision %s (%d of %d events)  recall %s (%d of %d)  method right %s "
          "(%d of %d)  (block events in any scenario; truth from %s)" % (
              f(b["precision"]), b["matched_events"], b["events"], f(b["recall"]), b["found"],
              b["truth"], f(b["method_share"]), b["method_right"], b["matched_events"],
              ", ".join(b["scenarios"]) or "none"))
    o, e = b["onset_abs_s"], b["end_abs_s"]
    print("  block     onset |ts - truth|: median %s s, max %s s (n=%d); end: median %s s, "
          "max %s s, %d of %d within %.0f s (%d end events missing)" % (
              f(o["median"]), f(o["max"]), o["n"], f(e["median"]), f(e["max"]), e["within"],
              e["n"] + e["missing"], score.BLOCK_WINDOW_S, e["missing"]))
    bad = b["controls_with_block_events"]
    print("  block     controls: %s" % ("no block event in any control" if not bad else
                                        "block events in " + ", ".join(bad)))


def print_summary(m):
    print("\nover %d runs (%d scored):" % (m["runs"], m["scored"]))
    for kind in ("throttle", "outage"):
        k = m[kind]
        print("  %-9s precision %s (%d of %d events)  recall %s (%d of %d)" % (
            kind, f(k["precision"]), k["matched_events"], k["events"], f(k["recall"]),
            k["found"], k["truth"]))
        if k["without_reference"]:
            print("  %-9s %d without a reference (their target carried data in 1 to %d s "
                  "before them; not in the recall), %d of them found" % (
                      "", k["without_reference"], score.MIN_REFERENCE_S - 1,
                      k["without_reference_found"]))
    o, e, r = m["onset_abs_s"], m["end_abs_s"], m["rate_abs_err"]
    print("  onset error |ts - truth|: median %s s, p95 %s s (n=%d)" % (
        f(o["median"]), f(o["p95"]), o["n"]))
    print("  end error |ts - truth|:   median %s s, p95 %s s (n=%d, %d end events missing)" % (
        f(e["median"]), f(e["p95"]), e["n"], e["missing"]))
    def pc(v):
        return "-" if v is None else "%.1f%%" % (100 * v)
    print("  rate error, throttles >= %g s: median %s, max %s, %d of %d within 10%%" % (
        RATE_MIN_DURATION_S, pc(r["median"]), pc(r["max"]), r["within_10pct"], r["n"]))
    for attr in ("targeted", "scope", "direction"):
        a = m[attr]
        print("  %-9s right for %d of %d matched events (%s)" % (
            attr, a["right"], a["events"], f(a["share"])))
    print("  confidence: " + ", ".join(
        "[%.1f, %.1f%s %d right of %d" % (b["from"], min(b["to"], 1.0),
                                          "]" if b["to"] > 1 else ")", b["right"], b["events"])
        for b in m["calibration"] if b["events"] > 0))
    v = m["verdicts"]
    print("  flow verdicts: policers' flows called policed at their rate %d of %d, shapers' "
          "flows not called policed %d of %d" % (v["policer"]["right"], v["policer"]["flows"],
                                                 v["shaper"]["right"], v["shaper"]["flows"]))
    bad = m["controls_with_throttle_events"]
    print("  controls (%d scenarios): %s" % (
        len(m["controls"]), "no throttle event in any control" if not bad else
        "throttle events in " + ", ".join(bad)))
    if m["block"]["truth"] or m["block"]["events"]:
        print_block_summary(m["block"])
    if m["skipped"]:
        print("  runs skipped: %s" % "; ".join(m["skipped"]))
    if m["failed_runs"]:
        print("  runs that failed: %s" % ", ".join(m["failed_runs"]))


def gate_ctest(runs):
    fails = []
    for r in runs:
        want = CTEST_EXPECT.get(r["scenario"])
        if want is None:
            continue
        name = "%s r%d" % (r["scenario"], r["rep"])
        if r.get("skipped") and want == "known_miss":
            print("  known miss %s: skipped, missing %s" % (name, ", ".join(r["skipped"])))
        elif r.get("skipped"):
            fails.append("%s: skipped, missing %s" % (name, ", ".join(r["skipped"])))
        elif "rows" not in r:
            fails.append("%s: %s" % (name, r.get("error", "lab run failed")))
        elif want == "quiet" and r["n_events"]:
            fails.append("%s: %d event(s) in a control" % (name, r["n_events"]))
        elif want == "found":
            fails += ["%s: %s" % (name, p) for p in r["problems"]]
        elif want == "known_miss":
            print("  known miss %s: %s" % (name, "; ".join(r["problems"]) or
                                           "found now: make it 'found' in CTEST_EXPECT"))
    return fails


def target_rates(pcap, port):
    """Payload kbit/s per second of the capture sent from `port` (tcpdump's own length field):
    whether a flow recovered or stalled, read from the packets, not from the detector."""
    r = subprocess.run(["tcpdump", "-r", pcap, "-tt", "-nn", "-q", "src port %d" % port],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    per_s = {}
    t0 = None
    for line in r.stdout.splitlines():
        f = line.split()
        try:
            ts, length = float(f[0]), int(f[-1])
        except (IndexError, ValueError):
            continue
        t0 = ts if t0 is None else t0
        per_s[int(ts - t0)] = per_s.get(int(ts - t0), 0) + length
    return t0, per_s


def explain(run):
    """Prints what a failing run's truth did and what the detector said, on one timeline (s
    since the lab's start), and the per-second rate of each throttled port: enough to tell a
    detector's miss from traffic that never did what the plan said."""
    print("  %s r%d (seed %d), s since the lab's start:" % (run["scenario"], run["rep"],
                                                          run["seed"]))
    with open(run["truth"]) as fh:
        truth = json.load(fh)
    t0 = truth.get("start_ts") or 0
    for a in truth["actions"]:
        if a["kind"] in ("throttle", "outage", "block"):
            print("    truth  %6.1f %s %s %s" % (a["ts"] - t0, a["kind"], a["state"],
                                                json.dumps(a.get("target") or {})))
    for e in score.load_events(run["events_path"]):
        print("    event  %6.1f %s %s %s port %s %s" % (
            e["ts"] - t0, e.get("kind"), e.get("state"), e.get("scope", ""),
            (e.get("flow") or {}).get("remote_port", "-"), e.get("reason") or ""))
    ports = sorted({(a.get("target") or {}).get("remote_port") for a in truth["actions"]
                    if a["kind"] == "throttle"} - {None})
    pcap = os.path.join(os.path.dirname(run["truth"]), truth["capture"])
    for port in ports:
        first, per_s = target_rates(pcap, port)
        if first is None:
            continue
        off = int(first - t0)
        print("    from port %d, kbit/s per s from t=%d: %s" % (
            port, off, " ".join("%d" % (per_s.get(i, 0) * 8 // 1000)
                                for i in range(max(per_s) + 1))))


def gate_issue(m):
    g, fails = ISSUE_GATE, []
    for kind in ("throttle", "outage"):
        for what in ("precision", "recall"):
            v = m[kind][what]
            if v is None or v < g[what]:
                fails.append("%s %s %s < %.2f" % (kind, what, f(v), g[what]))
    o = m["onset_abs_s"]
    if o["median"] is None or o["median"] > g["onset_median_s"]:
        fails.append("median onset error %s s > %.1f s" % (f(o["median"]), g["onset_median_s"]))
    if o["p95"] is None or o["p95"] > g["onset_p95_s"]:
        fails.append("p95 onset error %s s > %.1f s" % (f(o["p95"]), g["onset_p95_s"]))
    r = m["rate_abs_err"]
    if r["n"] and r["within_10pct"] < r["n"]:
        fails.append("rate error above 10%% for %d of %d throttles >= 20 s" % (
            r["n"] - r["within_10pct"], r["n"]))
    for attr in ("targeted", "scope", "direction"):
        s = m[attr]["share"]
        if s is None or s < g["attributes"]:
            fails.append("%s right for %s of matched events < %.2f" % (attr, f(s),
                                                                        g["attributes"]))
    for lim, v in m["verdicts"].items():
        if v["right"] < v["flows"]:
            fails.append("flow verdicts wrong for %d of %d flows held by a %s" % (
                v["flows"] - v["right"], v["flows"], lim))
    if m["controls_with_throttle_events"]:
        fails.append("throttle events in controls: %s" %
                     ", ".join(m["controls_with_throttle_events"]))
    if m["failed_runs"]:
        fails.append("runs failed: %s" % ", ".join(m["failed_runs"]))
    return fails


def gate_block(m):
    g, b, fails = BLOCK_GATE, m["block"], []
    if not b["truth"]:
        fails.append("no block scored (run the block group: --scenarios block)")
    for what, value, want in (
            ("precision", b["precision"], g["precision"]),
            ("recall", b["recall"], g["recall"]),
            ("method right", b["method_share"], g["method"]),
            ("ends within %.0f s" % score.BLOCK_WINDOW_S, b["end_within_share"],
             g["end_within"])):
        if value is None or value < want:
            fails.append("block %s %s < %.2f" % (what, f(value), want))
    if b["controls_with_block_events"]:
        fails.append("block events in controls: %s" % ", ".join(b["controls_with_block_events"]))
    if m["failed_runs"]:
        fails.append("runs failed: %s" % ", ".join(m["failed_runs"]))
    return fails


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--throttlewatch", required=True, help="the binary to replay with")
    ap.add_argument("--workdir", help="where captures, truths and events go (run mode)")
    ap.add_argument("--rescore", metavar="DIR",
                    help="score every *.truth.json under DIR (made by an earlier run) instead")
    ap.add_argument("--scenarios", default="all",
                    help="comma-separated scenario names or groups (%s), or all" %
                    ", ".join(sorted(GROUPS)))
    ap.add_argument("--reps", type=int, default=1, help="repetitions of each scenario")
    ap.add_argument("--seed", type=int, default=1, help="repetition r uses seed SEED+r")
    ap.add_argument("-j", "--jobs", type=int, default=3, help="lab runs at the same time")
    ap.add_argument("--json", help="write the summary here")
    ap.add_argument("--gate", choices=("none", "ctest", "issue", "block"), default="none")
    ap.add_argument("--detail", action="store_true", help="per-action table of every run")
    ap.add_argument("replay_args", nargs="*", help="extra arguments for throttlewatch replay")
    a = ap.parse_args()
    if bool(a.workdir) == bool(a.rescore):
        ap.error("give exactly one of --workdir (run the lab) and --rescore (score old runs)")

    if a.rescore:
        runs = []
        for t in sorted(glob.glob(os.path.join(a.rescore, "**", "*.truth.json"),
                                  recursive=True)):
            rep = os.path.basename(os.path.dirname(t))
            runs.append({"scenario": os.path.basename(t)[:-len(".truth.json")],
                         "rep": int(rep[1:]) if rep[:1] == "r" and rep[1:].isdigit() else 0,
                         "rc": 0, "truth": t})
        if not runs:
            print("no *.truth.json under %s" % a.rescore)
            return 1
    else:
        why = lab_unavailable()
        if why:
            print("SKIPPED: lab suite: %s" % why)
            return SKIP
        names = expand_scenarios(a.scenarios)
        unknown = [n for n in names if n not in lab.SCENARIOS]
        if unknown:
            ap.error("unknown scenarios: %s (see lab.py list; groups: %s)" % (
                ", ".join(unknown), ", ".join(sorted(GROUPS))))
        os.makedirs(a.workdir, exist_ok=True)
        runs = []
        for n in list(names):
            missing = missing_tools(n)
            if missing:
                print("  %-29s skipped: missing %s" % (n, ", ".join(missing)), flush=True)
                runs += [{"scenario": n, "rep": rep, "seed": a.seed + rep, "skipped": missing}
                         for rep in range(a.reps)]
                names.remove(n)
        # Longest first, so the last runs to start are short.
        jobs = sorted(((scenario_length(n), n, rep) for n in names for rep in range(a.reps)),
                      reverse=True)
        total = sum(j[0] for j in jobs)
        print("lab suite: %d runs (%d scenarios x %d), %.0f s of scenarios, %d at a time "
              "(~%.0f min)" % (len(jobs), len(names), a.reps, total, a.jobs,
                               total / a.jobs / 60 + 0.3), flush=True)
        with concurrent.futures.ThreadPoolExecutor(max_workers=a.jobs) as pool:
            futs = [pool.submit(run_one, n, rep, a.seed + rep, a.workdir)
                    for _, n, rep in jobs]
            for fut in concurrent.futures.as_completed(futs):
                r = fut.result()
                print("  %-29s r%d seed %d: %s (%.0f s)" % (
                    r["scenario"], r["rep"], r["seed"],
                    "ok" if r["rc"] == 0 else "FAILED rc %d, see %s" % (r["rc"], r["log"]),
                    r["seconds"]), flush=True)
                runs.append(r)
    for r in runs:
        if r.get("skipped"):
            continue
        if not os.path.exists(r["truth"]):
            r["error"] = "no truth file (lab run rc %s), see %s" % (r.get("rc"), r.get("log"))
            continue
        with open(r["truth"]) as fh:
            r["start_ts"] = json.load(fh).get("start_ts")
        replay_and_score(r, a.throttlewatch, a.replay_args)
        if r.get("rc", 0) != 0 and "error" not in r:
            r["error"] = "lab run failed (rc %d), see %s" % (r["rc"], r["log"])
            r.pop("rows", None)

    print()
    print_runs(runs, a.detail)
    m = summarize(runs)
    print_summary(m)
    if a.json:
        with open(a.json, "w") as fh:
            json.dump({"summary": m, "runs": [
                {k: v for k, v in r.items() if k not in ("replay_stderr",)} for r in runs]},
                fh, indent=1, default=str)
            fh.write("\n")
        print("summary written to %s" % a.json)
    fails = []
    if a.gate == "ctest":
        fails = gate_ctest(runs)
    elif a.gate == "issue":
        fails = gate_issue(m)
    elif a.gate == "block":
        fails = gate_block(m)
    if fails:
        print("\nGATE %s FAILED:\n  %s" % (a.gate, "\n  ".join(fails)))
        if a.gate == "ctest":
            for r in runs:
                if any(f.startswith("%s r%d:" % (r["scenario"], r["rep"])) for f in fails) \
                        and "rows" in r:
                    explain(r)
        return 1
    if a.gate != "none":
        print("\ngate %s passed" % a.gate)
    return 0


if __name__ == "__main__":
    sys.exit(main())
