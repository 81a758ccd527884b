#!/usr/bin/env python3
"""Scores throttlewatch events against a lab capture's ground truth.

  score.py --truth T.json --events E.jsonl [--check]
  score.py --truth T.json --pcap P.pcap --throttlewatch BIN [--check] [-- extra replay args]

Matches each true throttle (by target: remote port, remote server, or the whole link in its
direction) and each outage with the events, within a window, and prints per-action errors: onset
(event ts - truth onset; a token bucket's onset is when it ran dry), end error, rate error
(rate_after_bps vs the shaped rate; for server and link throttles the aggregate), and whether
targeted/scope/direction are right. An event matches at most one action; every event that matches
nothing is a false positive. suite.py uses score() for the whole lab suite.

With --check it exits 1 when the demo acceptance criteria fail: every action found, onset and
end within --max-onset seconds, rates within --max-rate-err, right flow and direction, no
false positives. Python 3 standard library only.
"""

import argparse
import ipaddress
import json
import math
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "schema"))
import validate_lines  # noqa: E402

WINDOW_S = 10.0  # an event further than this from the truth does not match it
# A drop needs a before: a throttle whose target carried data in fewer one-second bins than this
# (but some) before the throttle took effect left no evidence in the capture (throttlewatch, like
# any rate detector, learns a series' level from its first 5 busy bins). Such a truth is reported
# as "without a reference", outside the recall; an event that matches it is still no false
# positive. A throttle in force before its target's first data needs no before: the flow
# verdicts judge it (policed or shaped from the start), and it counts.
MIN_REFERENCE_S = 5
DATA_WIRE_BYTES = 500  # a packet this long on the wire carries data (no bare ACK or probe)
# A throttle that was not found is printed with its target's data per second from
# PROFILE_BEFORE_S before its onset to PROFILE_AFTER_S after: whether the traffic was there and
# fell, read from the capture, the first thing to know of a miss.
PROFILE_BEFORE_S = 5
PROFILE_AFTER_S = 15


def load_records(path, record):
    """The lines of `path` whose "record" is `record` ("event" or "flow"), once the whole file
    has been checked against the schema (test/schema/validate_lines.py) and kept for the suite's
    final check."""
    validate_lines.check_and_keep(path, "score")
    out = []
    with open(path) as f:
        for line in f:
            if line.strip():
                obj = json.loads(line)
                if obj.get("record") == record:
                    out.append(obj)
    return out


def load_events(path):
    return load_records(path, "event")


def event_remotes(ev):
    """The remote addresses an event names: its flow's, or a service/host event's."""
    out = set()
    flow = ev.get("flow") or {}
    for v in (flow.get("remote"), ev.get("remote"), ev.get("service")):
        if v:
            out.add(v)
    out.update(ev.get("remotes") or [])
    return out


def targets_match(ev, action):
    """Does a throttle event concern the traffic the truth action throttled?

    Link throttles match events in their direction only (any traffic is theirs); flow and server
    throttles match by target, whatever the event's direction (it is scored, not required).
    """
    tgt = action.get("target") or {}
    scope = action.get("scope", "flow")
    if scope == "link":
        return ev.get("direction") == action.get("direction", "down")
    if ev.get("scope") == "link":
        return False
    flow = ev.get("flow") or {}
    if "remote" in tgt and tgt["remote"] not in event_remotes(ev):
        return False
    if "remote_port" in tgt and flow.get("remote_port") != tgt["remote_port"]:
        return False
    if "proto" in tgt and flow and flow.get("proto") != tgt["proto"]:
        return False
    return True


def pair_actions(actions, kind):
    """[(start, end or None)] for the truth actions of one kind, in time order."""
    starts = [a for a in actions if a["kind"] == kind and a["state"] == "start"]
    ends = [a for a in actions if a["kind"] == kind and a["state"] == "end"]
    out = []
    for s in sorted(starts, key=lambda a: a["ts"]):
        if "id" in s:
            e = next((x for x in ends if x.get("id") == s["id"]), None)
        else:
            e = next((x for x in sorted(ends, key=lambda a: a["ts"]) if x["ts"] > s["ts"]), None)
        out.append((s, e))
    return out


def annotate_references(truth, pcap):
    """Sets reference_s on each throttle start action of `truth`: the one-second bins (counted
    from the capture's start) wholly before its onset in which its target carried data in its
    direction; and from_first_data: whether it was in force before the target's first data. A
    link throttle's target is all traffic in its direction."""
    import lab  # noqa: E402  (the lab's pcap reader; lab.py is standard library only)
    starts = [a for a in truth["actions"] if a["kind"] == "throttle" and a["state"] == "start"]
    if not starts:
        return
    local = [ipaddress.ip_network(n) for n in truth.get("local_networks") or []]

    def is_local(addr):
        ip = ipaddress.ip_address(addr)
        return any(ip.version == n.version and ip in n for n in local)

    t0 = truth["start_ts"]
    busy = [set() for _ in starts]
    first_data = [None for _ in starts]
    around = [[0] * (PROFILE_AFTER_S + PROFILE_BEFORE_S) for _ in starts]
    for ts, wlen, src, dst, proto, sport, dport in lab.read_pcap(pcap):
        if wlen < DATA_WIRE_BYTES:
            continue
        down = not is_local(src)
        remote, rport = (src, sport) if down else (dst, dport)
        for i, a in enumerate(starts):
            tgt = a.get("target") or {}
            if (down != (a.get("direction", "down") == "down") or
                    tgt.get("remote", remote) != remote or
                    tgt.get("remote_port", rport) != rport or
                    ("proto" in tgt and proto != (6 if tgt["proto"] == "tcp" else 17))):
                continue
            if first_data[i] is None:
                first_data[i] = ts
            if ts < onset_of(a):
                busy[i].add(int(ts - t0))
            k = math.floor(ts - onset_of(a)) + PROFILE_BEFORE_S
            if 0 <= k < len(around[i]):
                around[i][k] += wlen
    for a, bins, first, kb in zip(starts, busy, first_data, around):
        a["around_kB"] = [round(b / 1000) for b in kb]
        last = int(onset_of(a) - t0)  # the bin the throttle took effect in: not wholly before
        a["reference_s"] = sum(1 for b in bins if b < last)
        # In force before the target's first data (a token bucket may squeeze later): the flow
        # verdicts judge it, no before needed.
        a["from_first_data"] = first is None or first >= a["ts"]


def around_text(action):
    """The target's kB per second around a throttle's onset, for a miss's diagnosis."""
    if "around_kB" not in action:
        return ""
    return "; its kB/s from %d s before the onset: %s" % (
        PROFILE_BEFORE_S, " ".join(str(b) for b in action["around_kB"]))


def has_reference(action):
    """False for a throttle whose target showed some traffic before it, too little to judge."""
    return (action.get("from_first_data", False) or
            action.get("reference_s", MIN_REFERENCE_S) >= MIN_REFERENCE_S)


def onset_of(action):
    """When the truth action took effect: a token bucket squeezes only once it runs dry."""
    return action.get("onset_ts", action["ts"])


# Event scopes that are right for a truth scope.
SCOPE_OK = {"flow": ("flow",), "server": ("service", "host", "server"), "link": ("link",)}


def flow_key(ev):
    f = ev.get("flow") or {}
    return (f.get("proto"), f.get("local"), f.get("local_port"), f.get("remote"),
            f.get("remote_port"), ev.get("direction"))


def score(truth, events):
    """Matches events with the truth actions of one scenario.

    Returns (rows, false_pos, problems): one row per truth action (found, errors, attribute
    checks, the matched events' counts, whether it had a reference: see MIN_REFERENCE_S), the
    start events that match no action, and a line per action with a reference that was not
    found.
    """
    rows, problems = [], []
    used = set()  # indices of start events that matched a truth action
    starts = [(i, e) for i, e in enumerate(events) if e.get("state") == "start"]
    ends = {e.get("id"): e for e in events if e.get("state") == "end"}

    for kind in ("throttle", "outage"):
        for s, e in pair_actions(truth["actions"], kind):
            onset = onset_of(s)
            cands = []
            for i, ev in starts:
                if i in used or ev.get("kind") != kind or abs(ev["ts"] - onset) > WINDOW_S:
                    continue
                if kind == "throttle" and not targets_match(ev, s):
                    continue
                cands.append((abs(ev["ts"] - onset), i, ev))
            scope = s.get("scope", "link")
            row = {"kind": kind, "truth_ts": onset, "t_rel": s.get("onset_t_rel",
                                                                   s.get("t_rel")),
                   "scope": scope, "direction": s.get("direction"), "target": s.get("target"),
                   "rate_bps": s.get("rate_bps"), "found": bool(cands), "events": 0,
                   "reference": has_reference(s)}
            if e is not None:
                row["duration_s"] = e["ts"] - onset
            if not cands:
                if row["reference"]:
                    problems.append("%s at %.1f (%s) not found%s" % (
                        kind, row["t_rel"] if row["t_rel"] is not None else onset,
                        s.get("target"), around_text(s)))
                rows.append(row)
                continue
            cands.sort(key=lambda c: c[0])
            # A link or server throttle may be reported once per affected flow: all match (the
            # first event of each flow).
            if kind == "throttle" and scope != "flow":
                matched, seen = [], set()
                for c in cands:
                    if flow_key(c[2]) not in seen:
                        seen.add(flow_key(c[2]))
                        matched.append(c)
            else:
                matched = cands[:1]
            for _, i, _ in matched:
                used.add(i)
            evs = [c[2] for c in matched]
            ev = evs[0]
            row["events"] = len(evs)
            row["onset_err"] = ev["ts"] - onset
            row["detect_delay"] = ev.get("detected_at", ev["ts"]) - onset
            ok_scope = SCOPE_OK.get(scope, (scope,))
            row["scope_right"] = sum(x.get("scope") in ok_scope for x in evs)
            if kind == "throttle":
                want_rate = s.get("rate_bps")
                if want_rate:
                    # The squeezed rate is shared by everything the throttle caught: an aggregate
                    # event (service/link) carries it; otherwise the flows' rates add up.
                    agg = [x for x in evs if x.get("scope") in ("service", "host", "server",
                                                                "link")]
                    got = (agg[0].get("rate_after_bps", 0) if agg else
                           sum(x.get("rate_after_bps", 0) for x in evs))
                    row["rate_err"] = (got - want_rate) / want_rate
                want_targeted = scope != "link"
                row["targeted_right"] = sum(x.get("targeted") == want_targeted for x in evs)
                row["direction_right"] = sum(x.get("direction") == s.get("direction", "down")
                                             for x in evs)
                row["targeted_ok"] = row["targeted_right"] == len(evs)
                row["direction_ok"] = row["direction_right"] == len(evs)
            row["scope_ok"] = row["scope_right"] == len(evs)
            end_ev = ends.get(ev.get("id"))
            if e is not None:
                row["end_err"] = (end_ev["ts"] - e["ts"]) if end_ev else None
            rows.append(row)
    false_pos = [events[i] for i, _ in starts if i not in used]
    return rows, false_pos, problems


def fmt(v, spec="%+.2f"):
    return "-" if v is None else spec % v


def print_table(name, rows, false_pos, out=sys.stdout):
    print("scenario %s" % name, file=out)
    print("  %-8s %-6s %-28s %6s %8s %8s %8s %8s %-8s %-5s %s" % (
        "kind", "scope", "target", "found", "onset_s", "delay_s", "end_s", "rate", "targeted",
        "scope", "direction"), file=out)
    for r in rows:
        tgt = r.get("target") or {}
        tgt_s = ",".join("%s" % v for v in tgt.values()) or "link"
        ok = {True: "ok", False: "WRONG", None: "-"}
        print("  %-8s %-6s %-28s %6s %8s %8s %8s %8s %-8s %-5s %s" % (
            r["kind"], r["scope"], tgt_s[:28], "yes" if r["found"] else "NO",
            fmt(r.get("onset_err")), fmt(r.get("detect_delay")), fmt(r.get("end_err")),
            fmt(r.get("rate_err"), "%+.3f"), ok[r.get("targeted_ok")], ok[r.get("scope_ok")],
            ok[r.get("direction_ok")]), file=out)
    for ev in false_pos:
        flow = ev.get("flow") or {}
        print("  FALSE POSITIVE: %s %s %s at %s flow %s:%s" % (
            ev.get("kind"), ev.get("state"), ev.get("direction"), ev.get("time"),
            flow.get("remote"), flow.get("remote_port")), file=out)


def check(rows, false_pos, problems, max_onset, max_rate_err):
    fails = list(problems)
    for r in rows:
        if not r["found"]:
            continue
        what = "%s %s" % (r["kind"], r.get("target") or "")
        if abs(r["onset_err"]) > max_onset:
            fails.append("%s: onset off by %.2f s" % (what, r["onset_err"]))
        if "end_err" in r and (r["end_err"] is None or abs(r["end_err"]) > max_onset):
            fails.append("%s: end %s" % (what, "missing" if r["end_err"] is None
                                         else "off by %.2f s" % r["end_err"]))
        if "rate_err" in r and abs(r["rate_err"]) > max_rate_err:
            fails.append("%s: rate off by %.1f%%" % (what, 100 * r["rate_err"]))
        if r.get("targeted_ok") is False:
            fails.append("%s: targeted is wrong" % what)
        if r.get("direction_ok") is False:
            fails.append("%s: direction is wrong" % what)
        if r.get("scope_ok") is False:
            fails.append("%s: scope is wrong" % what)
    for ev in false_pos:
        fails.append("false positive: %s %s at %s" % (ev.get("kind"), ev.get("state"),
                                                      ev.get("time")))
    return fails


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--truth", required=True)
    ap.add_argument("--events")
    ap.add_argument("--pcap", help="replay this capture (default: the truth's capture file)")
    ap.add_argument("--throttlewatch", help="the throttlewatch binary to replay with")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--max-onset", type=float, default=2.0)
    ap.add_argument("--max-rate-err", type=float, default=0.15)
    ap.add_argument("replay_args", nargs="*")
    a = ap.parse_args()

    with open(a.truth) as f:
        truth = json.load(f)
    pcap = a.pcap or os.path.join(os.path.dirname(os.path.abspath(a.truth)), truth["capture"])
    if os.path.exists(pcap):
        annotate_references(truth, pcap)
    events_path = a.events
    tmp = None
    if events_path is None:
        if not a.throttlewatch:
            ap.error("give --events, or --throttlewatch to replay the capture")
        tmp = tempfile.NamedTemporaryFile(suffix=".jsonl", delete=False)
        tmp.close()
        events_path = tmp.name
        cmd = [a.throttlewatch, "replay", "--events", events_path] + a.replay_args + [pcap]
        r = subprocess.run(cmd, stderr=subprocess.PIPE, text=True)
        sys.stderr.write(r.stderr)
        if r.returncode != 0:
            raise SystemExit("replay failed (%d): %s" % (r.returncode, " ".join(cmd)))
    try:
        events = load_events(events_path)
    finally:
        if tmp is not None:
            os.unlink(tmp.name)
    rows, false_pos, problems = score(truth, events)
    print_table(truth.get("scenario", a.truth), rows, false_pos)
    if a.check:
        fails = check(rows, false_pos, problems, a.max_onset, a.max_rate_err)
        if fails:
            print("FAILED:\n  " + "\n  ".join(fails))
            return 1
        print("OK: every action found within %.1f s, rates within %.0f%%, no false positives" %
              (a.max_onset, 100 * a.max_rate_err))
    return 0


if __name__ == "__main__":
    sys.exit(main())
