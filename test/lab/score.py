#!/usr/bin/env python3
"""Scores throttlewatch events against a lab capture's ground truth.

  score.py --truth T.json --events E.jsonl [--check]
  score.py --truth T.json --pcap P.pcap --throttlewatch BIN [--check] [-- extra replay args]
  score.py --self-test        block scoring against hand-made events (no capture, no binary)

Matches each true throttle (by target: remote port, remote server, or the whole link in its
direction) and each outage with the events, within a window, and prints per-action errors: onset
(event ts - truth onset; a token bucket's onset is when it ran dry), end error, rate error
(rate_after_bps vs the shaped rate; for server and link throttles the aggregate), and whether
targeted/scope/direction are right. An event matches at most one action; every event that matches
nothing is a false positive. suite.py uses score() for the whole lab suite.

Blocks (kind "block": a censor's TCP RST, dropped ClientHello, IP or QUIC black hole, forged
DNS answer, a resolver's bogon or NXDOMAIN, an HTTP block page) match a block start event of the
same service (the event's `service` is the truth's `name`; when either has none, the event's
`remote` is the truth's `remote`) and port (where both have one: the truth's `port`, the
event's `remote_port`) starting within BLOCK_WINDOW_S of the truth; a block by DNS (method dns_*)
matches DNS events only (`transport` "dns") and by name only, and a DNS event no other block.
Its end is the end event with the start's id, within BLOCK_WINDOW_S of the truth's end.
Scored: found, onset and end error, and whether the event's `method` is the truth's.

With --check it exits 1 when the demo acceptance criteria fail: every action found, onset and
end within --max-onset seconds, rates within --max-rate-err, right flow and direction, no
false positives; for blocks: every block found, its method right, its end within
BLOCK_WINDOW_S. Python 3 standard library only.
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
# A block start event matches a truth block only this close to its start (s), and its end event
# its end: the bar for blocking is onset and end within 2 s.
BLOCK_WINDOW_S = 2.0


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
    for s, e in pair_actions(truth["actions"], "block"):
        rows.append(score_block(s, e, starts, ends, used, problems))
    false_pos = [events[i] for i, _ in starts if i not in used]
    return rows, false_pos, problems


def event_remote(ev):
    return ev.get("remote") or (ev.get("flow") or {}).get("remote")


def by_dns(x):
    """Is it a block by DNS: a truth action whose method is a DNS one, or an event over DNS?"""
    return x.get("transport") == "dns" or (x.get("method") or "").startswith("dns_")


def block_matches(ev, action):
    """Does a block event name what the truth blocked? By server name where both have one,
    else by remote address (an IP black hole lets no ClientHello through: no name is seen; an
    HTTP block of a name on an address shared with others, seen without DNS, is reported by
    its address), and by port where both have one (an event of port 80 is no block of 443).
    A block by DNS is one of the name's lookups (its remote is the resolver, which answers
    other names too): matched by name only, and only by an event over DNS; a DNS event
    matches no block of connections (the name's connections may be blocked apart)."""
    if by_dns(ev) != by_dns(action):
        return False
    if by_dns(action):
        return ev.get("service") == action.get("name")
    port = ev.get("remote_port") or (ev.get("flow") or {}).get("remote_port")
    if action.get("port") is not None and port is not None and port != action["port"]:
        return False
    if action.get("name") and ev.get("service"):
        return ev["service"] == action["name"]
    return action.get("remote") is not None and event_remote(ev) == action["remote"]


def block_what(action):
    return action.get("name") or action.get("remote")


def score_block(s, e, starts, ends, used, problems):
    """The row of one truth block (start s, end e); marks the events it matched in `used` and
    adds a line to `problems` when it was not found. A block of a name is reported once; a
    block of an address may be reported once per service on it (each service's first event
    matches)."""
    cands = sorted((abs(ev["ts"] - s["ts"]), i, ev) for i, ev in starts
                   if i not in used and ev.get("kind") == "block" and
                   abs(ev["ts"] - s["ts"]) <= BLOCK_WINDOW_S and block_matches(ev, s))
    target = {k: s[k] for k in ("name", "remote", "port") if s.get(k) is not None}
    row = {"kind": "block", "truth_ts": s["ts"], "t_rel": s.get("t_rel"),
           "scope": "service" if s.get("name") else "server", "target": target,
           "method": s.get("method"), "found": bool(cands), "events": 0, "reference": True}
    if e is not None:
        row["duration_s"] = e["ts"] - s["ts"]
    if not cands:
        near = [ev for _, ev in starts if ev.get("kind") == "block" and block_matches(ev, s)]
        near.sort(key=lambda ev: abs(ev["ts"] - s["ts"]))
        problems.append("block %s at %.1f (%s) not found%s" % (
            s.get("method"), row["t_rel"] if row["t_rel"] is not None else s["ts"],
            block_what(s), "; its nearest block event is %+.2f s off" %
            (near[0]["ts"] - s["ts"]) if near else ""))
        return row
    if s.get("name"):
        matched = cands[:1]
    else:
        matched, seen = [], set()
        for c in cands:
            key = c[2].get("service") or event_remote(c[2])
            if key not in seen:
                seen.add(key)
                matched.append(c)
    for _, i, _ in matched:
        used.add(i)
    evs = [c[2] for c in matched]
    ev = evs[0]
    row["events"] = len(evs)
    row["onset_err"] = ev["ts"] - s["ts"]
    row["detect_delay"] = ev.get("detected_at", ev["ts"]) - s["ts"]
    row["event_method"] = ev.get("method")
    row["method_right"] = sum(x.get("method") == s.get("method") for x in evs)
    row["method_ok"] = row["method_right"] == len(evs)
    if e is not None:
        end_ev = ends.get(ev.get("id"))
        row["end_err"] = (end_ev["ts"] - e["ts"]) if end_ev else None
    return row


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
        if r["kind"] == "block":
            print("  %-8s %-6s %-28s %6s %8s %8s %8s  method %s%s" % (
                r["kind"], r["scope"][:6], tgt_s[:28], "yes" if r["found"] else "NO",
                fmt(r.get("onset_err")), fmt(r.get("detect_delay")), fmt(r.get("end_err")),
                r["method"], "" if not r["found"] else ", event's %s (%s)" % (
                    r.get("event_method"), ok[r.get("method_ok")])), file=out)
            continue
        print("  %-8s %-6s %-28s %6s %8s %8s %8s %8s %-8s %-5s %s" % (
            r["kind"], r["scope"], tgt_s[:28], "yes" if r["found"] else "NO",
            fmt(r.get("onset_err")), fmt(r.get("detect_delay")), fmt(r.get("end_err")),
            fmt(r.get("rate_err"), "%+.3f"), ok[r.get("targeted_ok")], ok[r.get("scope_ok")],
            ok[r.get("direction_ok")]), file=out)
    for ev in false_pos:
        flow = ev.get("flow") or {}
        if ev.get("kind") == "block":
            print("  FALSE POSITIVE: block %s %s at %s service %s remote %s:%s method %s" % (
                ev.get("state"), ev.get("scope"), ev.get("time"), ev.get("service"),
                event_remote(ev), ev.get("remote_port"), ev.get("method")), file=out)
            continue
        print("  FALSE POSITIVE: %s %s %s at %s flow %s:%s" % (
            ev.get("kind"), ev.get("state"), ev.get("direction"), ev.get("time"),
            flow.get("remote"), flow.get("remote_port")), file=out)


def check(rows, false_pos, problems, max_onset, max_rate_err):
    fails = list(problems)
    for r in rows:
        if not r["found"]:
            continue
        what = "%s %s" % (r["kind"], r.get("target") or "")
        if r["kind"] == "block":
            fails += check_block(r, "block %s %s" % (r["method"], block_what(r["target"])))
            continue
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


def check_block(r, what):
    fails = []
    if abs(r["onset_err"]) > BLOCK_WINDOW_S:
        fails.append("%s: onset off by %.2f s" % (what, r["onset_err"]))
    if "end_err" in r and (r["end_err"] is None or abs(r["end_err"]) > BLOCK_WINDOW_S):
        fails.append("%s: end %s" % (what, "missing" if r["end_err"] is None
                                     else "off by %.2f s" % r["end_err"]))
    if not r["method_ok"]:
        fails.append("%s: method %s, the truth's %s" % (what, r.get("event_method"),
                                                         r["method"]))
    return fails


def self_test():
    """Block scoring against hand-made events: found, missed, wrong method, late end, late
    onset, false positive, a match by address; blocks by DNS (each method) and what a DNS event
    must not match. Returns the number of failed cases."""
    t0 = 1700000000.0

    def act(state, t, **kw):
        return dict(kind="block", state=state, ts=t0 + t, t_rel=t, **kw)
    rst = dict(id="bl1", method="tcp_rst", name="news.example", remote="10.77.2.3", port=443)
    hole = dict(id="bl2", method="ip_blackhole", remote="10.77.2.4")
    truth = {"actions": [act("start", 15.0, **rst), act("end", 40.0, **rst),
                         act("start", 20.0, **hole), act("end", 45.0, **hole),
                         {"kind": "server", "state": "down", "ts": t0 + 5, "t_rel": 5.0,
                          "remote": "10.77.2.2", "port": 443}]}

    def ev(id_, state, t, **kw):
        e = {"schema": 2, "record": "event", "id": id_, "kind": "block", "state": state,
             "ts": t0 + t, "time": "t=%g" % t}
        if state == "start":
            e.update(detected_at=t0 + t + 3, scope="service", remote_port=443, attempts=5,
                     failures=4, targeted=True, confidence=0.9)
        e.update(kw)
        return e

    def news(t=15.6, method="tcp_rst", end=40.8, id_=7):
        out = [ev(id_, "start", t, service="news.example", remote="10.77.2.3", method=method)]
        return out + ([ev(id_, "end", end, reason="lifted")] if end is not None else [])

    def hole_evs(t=20.9, end=45.5, **kw):  # no name gets through the SYN: matched by address
        fields = dict(remote="10.77.2.4", method="ip_blackhole")
        fields.update(kw)
        return [ev(8, "start", t, **fields), ev(8, "end", end, reason="lifted")]

    cases = [  # (what, events, the failure lines expected: a word of each, in order)
        ("both found, methods right", news() + hole_evs(), []),
        ("the address block's event names its service", news() + hole_evs(
            service="shop.example"), []),
        ("an address block reported once per service on it", news() + hole_evs(
            service="shop.example") + [ev(10, "start", 21.2, service="mail.example",
                                          remote="10.77.2.4", method="ip_blackhole")], []),
        ("missed", hole_evs(), ["not found"]),
        ("wrong method", news(method="sni_blackhole") + hole_evs(), ["method sni_blackhole"]),
        ("address block, wrong method", news() + hole_evs(method="tcp_rst"), ["method tcp_rst"]),
        ("late end", news(end=42.5) + hole_evs(), ["end off by 2.50"]),
        ("end missing", news(end=None) + hole_evs(), ["end missing"]),
        ("late onset: no match", news(t=17.5) + hole_evs(), ["not found", "false positive"]),
        ("false positive", news() + hole_evs() + [
            ev(9, "start", 30.0, service="weather.example", remote="10.77.2.3",
               method="tcp_rst")], ["false positive"]),
        ("another name on the blocked name's address", [ev(
            7, "start", 15.5, service="weather.example", remote="10.77.2.3",
            method="tcp_rst")] + hole_evs(), ["not found", "false positive"]),
    ]
    cases = [(what, truth, events, want) for what, events, want in cases]
    cases += dns_cases(act, ev, news, t0)
    cases += http_cases(act, ev, news, t0)
    failed = 0
    for what, truth_, events, want in cases:
        rows, false_pos, problems = score(truth_, events)
        fails = check(rows, false_pos, problems, 2.0, 0.15)
        right = len(fails) == len(want) and all(w in f for w, f in zip(want, fails))
        failed += not right
        print("%s %s: %s" % ("PASS" if right else "FAIL", what,
                             "; ".join(fails) or "no failures"))
    # A block event in a scenario without blocks is a false positive; throttles are unmoved.
    rows, false_pos, _ = score({"actions": []}, news())
    right = not rows and len(false_pos) == 1
    failed += not right
    print("%s a block event without a truth block is a false positive" %
          ("PASS" if right else "FAIL"))
    print("self-test: %s" % ("OK" if not failed else "%d case(s) FAILED" % failed))
    return failed


def dns_cases(act, ev, news, t0):
    """self_test's cases of blocks by DNS, [(what, truth, events, failures expected)]: the
    resolver 203.0.113.2 answers news.example falsely t=15..40 (each method), or is slow."""
    resolver = "203.0.113.2"

    def truth(method, *more):
        bl = dict(id="bl3", method=method, name="news.example", remote=resolver, port=53,
                  proto="udp")
        return {"actions": [act("start", 15.0, **bl), act("end", 40.0, **bl)] + list(more)}

    def dns(t=15.7, method="dns_injection", end=40.9, name="news.example"):
        out = [ev(11, "start", t, service=name, remote=resolver, remote_port=53,
                  transport="dns", method=method, ooni_blocking="dns")]
        return out + ([ev(11, "end", end, reason="lifted")] if end is not None else [])
    rst = dict(id="bl1", method="tcp_rst", name="news.example", remote="10.77.2.3", port=443)
    tcp = [act("start", 15.0, **rst), act("end", 40.0, **rst)]
    slow = {"kind": "server", "state": "slow", "ts": t0 + 15, "t_rel": 15.0, "remote": resolver,
            "port": 53, "proto": "udp", "name": "news.example"}
    return [("%s found" % m, truth(m), dns(method=m), [])
            for m in ("dns_injection", "dns_bogon", "dns_nxdomain")] + [
        ("dns_bogon reported as dns_nxdomain", truth("dns_bogon"), dns(method="dns_nxdomain"),
         ["method dns_nxdomain"]),
        ("dns_injection, late end", truth("dns_injection"), dns(end=42.3), ["end off by 2.30"]),
        ("dns_nxdomain, end missing", truth("dns_nxdomain"), dns(method="dns_nxdomain",
                                                                 end=None), ["end missing"]),
        ("dns_bogon, late onset: no match", truth("dns_bogon"), dns(t=17.2, method="dns_bogon"),
         ["not found", "false positive"]),
        ("a DNS event for another name at the resolver", truth("dns_injection"),
         dns(name="weather.example"), ["not found", "false positive"]),
        ("a DNS event matches no TCP block of the name", {"actions": tcp}, dns(),
         ["not found", "false positive"]),
        ("a TCP block event matches no DNS block of the name", truth("dns_nxdomain"), news(),
         ["not found", "false positive"]),
        ("a DNS block and a TCP block of one name, each found by its own event",
         truth("dns_injection", *tcp), news() + dns(), []),
        ("a DNS event beside a slow resolver (a control) is a false positive",
         {"actions": [slow]}, dns(), ["false positive"]),
    ]


def http_cases(act, ev, news, t0):
    """self_test's cases of an HTTP block page, [(what, truth, events, failures expected)]:
    news.example and weather.example on 203.0.113.3:80 (one server, told apart by the Host
    header), news.example's requests answered by the censor's 302 t=15..40. With no DNS seen
    the event names no service, only the address (weather.example works on it meanwhile)."""
    srv = "203.0.113.3"
    bl = dict(id="bl4", method="http_blockpage", name="news.example", remote=srv, port=80,
              proto="tcp")
    page = [act("start", 15.0, **bl), act("end", 40.0, **bl)]
    rst = dict(id="bl1", method="tcp_rst", name="news.example", remote=srv, port=443)
    both = page + [act("start", 15.0, **rst), act("end", 40.0, **rst)]

    def http(t=15.8, end=40.6, id_=12, method="http_blockpage", port=80, **kw):
        fields = dict(remote=srv, remote_port=port, transport="tcp", method=method,
                      ooni_blocking="http-diff")
        fields.update(kw)
        out = [ev(id_, "start", t, **fields)]
        out[0]["remote_port"] = port  # ev() sets 443
        return out + ([ev(id_, "end", end, reason="lifted")] if end is not None else [])

    def tls(t=15.6, end=40.8):  # the TLS block's event, news.example on port 443
        return [dict(e, remote=srv) for e in news(t=t, end=end)]
    return [
        ("http_blockpage found by its address (no name seen)", {"actions": page}, http(), []),
        ("http_blockpage found by its name", {"actions": page}, http(service="news.example"),
         []),
        ("http_blockpage reported as tcp_rst", {"actions": page}, http(method="tcp_rst"),
         ["method tcp_rst"]),
        ("http_blockpage, late end", {"actions": page}, http(end=42.4), ["end off by 2.40"]),
        ("http_blockpage, end missing", {"actions": page}, http(end=None), ["end missing"]),
        ("http_blockpage, late onset: no match", {"actions": page}, http(t=17.3),
         ["not found", "false positive"]),
        ("an event naming weather.example, which kept working on the address",
         {"actions": page}, http(service="weather.example"), ["not found", "false positive"]),
        ("an address-only event on another port of the address", {"actions": page},
         http(port=443), ["not found", "false positive"]),
        ("an address-only event reported twice: the second is a false positive",
         {"actions": page}, http() + http(t=16.1, id_=13), ["false positive"]),
        ("an HTTP block and a TLS block of one name, each found by its own event (by port)",
         {"actions": both}, http() + tls(), []),
        ("the HTTP event matches no TLS block of the name on the address",
         {"actions": both[2:]}, http(), ["not found", "false positive"]),
        ("an HTTP event in the redirect control (no block) is a false positive",
         {"actions": []}, http(), ["false positive"]),
    ]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--self-test", action="store_true",
                    help="score hand-made block events against a made-up truth, then exit")
    ap.add_argument("--truth")
    ap.add_argument("--events")
    ap.add_argument("--pcap", help="replay this capture (default: the truth's capture file)")
    ap.add_argument("--throttlewatch", help="the throttlewatch binary to replay with")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--max-onset", type=float, default=2.0)
    ap.add_argument("--max-rate-err", type=float, default=0.15)
    ap.add_argument("replay_args", nargs="*")
    a = ap.parse_args()
    if a.self_test:
        return 1 if self_test() else 0
    if not a.truth:
        ap.error("--truth is required")

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
              (a.max_onset, 100 * a.max_rate_err) +
              ("; every block found, its method right, its end within %.1f s" % BLOCK_WINDOW_S
               if any(r["kind"] == "block" for r in rows) else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
