#!/usr/bin/env python3
"""Checks the deployment files in deploy/ with the tools that read them.

  check_deploy.py systemd     systemd-analyze verify of the unit (an instance of the template)
  check_deploy.py prometheus  promtool check config / check rules / test rules
  check_deploy.py alertmanager amtool check-config
  check_deploy.py kubernetes  the DaemonSet parses as YAML and asks for what the daemon needs
  check_deploy.py grafana     every query of the dashboard parses (promtool check rules) and
                              names only metrics the daemon exports or the rules record; panel
                              ids are unique and no two panels overlap in the grid
  check_deploy.py container   the Containerfile's base image, user, capability and entrypoint
  check_deploy.py vector      the Vector config that ships events to Loki parses (YAML), reads the
                              daemon's event file, and takes its labels from bounded fields that
                              the event schema has (Vector itself is not in Debian)

Each also checks that the deployment grants CAP_NET_RAW and no other capability to the
daemon. run_deploy.py runs the daemon with those privileges (systemd, container).

Exits 0 when the check passes, 1 when it fails, 77 (skip) when the tool is missing.
"""

import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
DEPLOY = os.path.join(HERE, "..", "..", "deploy")
SKIP = 77


def need(tool, package):
    if shutil.which(tool) is None:
        print("SKIPPED: %s is not installed (apt-get install %s; deploy/install-deps.sh --test)"
              % (tool, package))
        sys.exit(SKIP)


def run(argv, cwd=None):
    r = subprocess.run(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print("$ %s\n%s" % (" ".join(argv), r.stdout.rstrip()))
    return r.returncode, r.stdout


def check_systemd():
    need("systemd-analyze", "systemd")
    path = os.path.join(DEPLOY, "systemd", "throttlewatch@.service")
    with open(path) as f:
        text = f.read()
    with tempfile.TemporaryDirectory() as d:
        # The template, verified as an instance; the binary is not installed here (the package's
        # test verifies the installed unit with its binary and man page: check_package.py).
        with open(os.path.join(d, "throttlewatch@.service"), "w") as f:
            f.write(text.replace("/usr/bin/throttlewatch", shutil.which("true")))
        rc, out = run(["systemd-analyze", "verify", "--man=no",
                       os.path.join(d, "throttlewatch@eth0.service")])
    # Only what concerns our unit counts (a container without systemd running prints notes
    # about the host's own units).
    ours = [l for l in out.splitlines() if "throttlewatch@" in l]
    if rc != 0 or ours:
        print("FAILED: systemd-analyze verify reported problems with the unit")
        return 1
    for key in ("AmbientCapabilities", "CapabilityBoundingSet"):
        values = re.findall(r"^%s=(.*)$" % key, text, re.M)
        if values != ["CAP_NET_RAW"]:
            print("FAILED: the unit must set %s=CAP_NET_RAW only, not %s" % (key, values))
            return 1
    print("unit: verified; CAP_NET_RAW only")
    return 0


def check_prometheus():
    need("promtool", "prometheus")
    d = os.path.join(DEPLOY, "prometheus")
    with tempfile.TemporaryDirectory() as t:
        # The config names its rule file relative to itself.
        shutil.copy(os.path.join(d, "prometheus.yml"), t)
        shutil.copy(os.path.join(d, "throttlewatch.rules.yml"), t)
        rc1, _ = run(["promtool", "check", "config", os.path.join(t, "prometheus.yml")])
    rc2, _ = run(["promtool", "check", "rules", "throttlewatch.rules.yml"], cwd=d)
    rc3, _ = run(["promtool", "test", "rules", "tests/throttlewatch_test.yml"], cwd=d)
    return 0 if rc1 == rc2 == rc3 == 0 else 1


def check_alertmanager():
    need("amtool", "prometheus-alertmanager")
    rc, _ = run(["amtool", "check-config", os.path.join(DEPLOY, "alertmanager", "alertmanager.yml")])
    return rc


def check_kubernetes():
    try:
        import yaml
    except ImportError:
        print("SKIPPED: python3-yaml is not installed")
        return SKIP
    with open(os.path.join(DEPLOY, "kubernetes", "daemonset.yaml")) as f:
        doc = yaml.safe_load(f)
    errors = []
    if doc.get("kind") != "DaemonSet" or doc.get("apiVersion") != "apps/v1":
        errors.append("not an apps/v1 DaemonSet")
    spec = doc["spec"]["template"]["spec"]
    if spec.get("hostNetwork") is not True:
        errors.append("hostNetwork must be true (the pod must see the uplink)")
    if doc["spec"]["selector"]["matchLabels"] != doc["spec"]["template"]["metadata"]["labels"]:
        errors.append("selector does not match the pod labels")
    c = spec["containers"][0]
    caps = c["securityContext"]["capabilities"]
    if caps.get("add") != ["NET_RAW"] or caps.get("drop") != ["ALL"]:
        errors.append("capabilities must drop ALL and add NET_RAW only")
    if "127.0.0.1:10470" not in " ".join(c.get("args", [])):
        errors.append("metrics must stay on loopback")
    # A hostPath is created root-owned, and fsGroup does not apply to it: an init container
    # must hand it to the daemon's user, with no more than CHOWN and FOWNER.
    uid = {**spec.get("securityContext", {}), **c["securityContext"]}.get("runAsUser")
    host_paths = {v["name"] for v in spec.get("volumes", []) if "hostPath" in v}
    for m in c.get("volumeMounts", []):
        if m["name"] not in host_paths:
            continue
        inits = [i for i in spec.get("initContainers", [])
                 if any(im["name"] == m["name"] for im in i.get("volumeMounts", []))]
        if not inits:
            errors.append("no init container prepares the hostPath volume " + m["name"])
            continue
        i = inits[0]
        command = " ".join(i.get("command", []) + i.get("args", []))
        if uid is None or str(uid) not in command or "0700" not in command:
            errors.append("init container %s must give %s to uid %s, mode 0700"
                          % (i["name"], m["name"], uid))
        icaps = i.get("securityContext", {}).get("capabilities", {})
        if icaps.get("drop") != ["ALL"] or not set(icaps.get("add", [])) <= {"CHOWN", "FOWNER"}:
            errors.append("init container %s must drop ALL and add only CHOWN, FOWNER"
                          % i["name"])
    for e in errors:
        print("FAILED: daemonset.yaml: " + e)
    if not errors:
        print("daemonset.yaml: valid YAML, hostNetwork, NET_RAW only, metrics on loopback,"
              " hostPath handed to uid %s by an init container" % uid)
    return 1 if errors else 0


def grafana_layout_errors(panels):
    """Panel ids that repeat, panels outside the 24 columns or over another."""
    errors = []
    ids = [p["id"] for p in panels]
    if len(set(ids)) != len(ids):
        errors.append("panel ids repeat: %s" % sorted(ids))
    taken = {}
    overlaps = set()
    for p in panels:
        g = p["gridPos"]
        if g["x"] < 0 or g["w"] <= 0 or g["h"] <= 0 or g["x"] + g["w"] > 24:
            errors.append("panel %r lies outside the grid's 24 columns: %s" % (p["title"], g))
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                if (x, y) in taken:
                    overlaps.add((taken[(x, y)], p["title"]))
                taken[(x, y)] = p["title"]
    errors += ["panels %r and %r overlap" % o for o in sorted(overlaps)]
    return errors


def grafana_metric_errors(exprs):
    """Metrics a query names that the daemon does not export (the names in metrics.cc; a
    histogram's series by its _bucket, _sum and _count) and recorded series the rules lack."""
    with open(os.path.join(HERE, "..", "..", "detector", "daemon", "metrics.cc")) as f:
        exported = set(re.findall(r'"((?:throttlewatch|process)_\w+)"', f.read()))
    with open(os.path.join(DEPLOY, "prometheus", "throttlewatch.rules.yml")) as f:
        recorded = set(re.findall(r"^\s*- record:\s*(\S+)", f.read(), re.M))
    errors = []
    for title, e in exprs:
        for name in re.findall(r'(?<![\w:"$])((?:throttlewatch|process)_\w+|[A-Za-z_]\w*:[\w:]+)', e):
            base = re.sub(r"_(bucket|sum|count)$", "", name)
            if name not in exported | recorded and base not in exported:
                errors.append("panel %r queries %s, which the daemon does not export and no "
                              "rule records" % (title, name))
    return errors


def check_grafana():
    need("promtool", "prometheus")
    with open(os.path.join(DEPLOY, "grafana", "throttlewatch.json")) as f:
        dash = json.load(f)
    errors = grafana_layout_errors(dash["panels"])
    exprs = []
    for p in dash["panels"]:
        for t in p.get("targets", []):
            exprs.append((p["title"], t["expr"]))
    errors += grafana_metric_errors(exprs)
    for e in errors:
        print("FAILED: throttlewatch.json: " + e)
    # Grafana's variables, replaced by values of the same type.
    subst = {"$__rate_interval": "1m", "$__range": "1h", "$instance": ".*"}
    rules = ["groups:", "  - name: dashboard", "    rules:"]
    for i, (title, e) in enumerate(exprs):
        for k, v in subst.items():
            e = e.replace(k, v)
        if "$" in e:
            print("FAILED: unknown variable in %r: %s" % (title, e))
            return 1
        rules.append("      - record: dashboard:query_%d" % i)
        rules.append("        expr: %s" % json.dumps(e))
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
        f.write("\n".join(rules) + "\n")
        path = f.name
    try:
        rc, _ = run(["promtool", "check", "rules", path])
    finally:
        os.unlink(path)
    print("%d dashboard queries of %d panels checked" % (len(exprs), len(dash["panels"])))
    return 1 if errors else rc


def check_container():
    # What a reader can check; run_deploy.py container builds and runs it where podman works.
    with open(os.path.join(DEPLOY, "container", "Containerfile")) as f:
        text = f.read()
    errors = []
    froms = re.findall(r"^FROM\s+(\S+)", text, re.M)
    if not froms or froms[-1] != "debian:bookworm-slim":
        errors.append("the final stage must be debian:bookworm-slim")
    if not re.search(r"^USER\s+\S+", text, re.M) or re.search(r"^USER\s+root", text, re.M):
        errors.append("the final stage must run as an unprivileged USER")
    setcaps = re.findall(r"setcap\s+(\S+)", text)
    if setcaps != ["cap_net_raw+ep"]:
        errors.append("the binary needs the file capability cap_net_raw+ep and no other,"
                      " not %s" % setcaps)
    if "--cap-drop ALL --cap-add NET_RAW" not in text:
        errors.append("the documented podman run must drop ALL and add NET_RAW")
    if not re.search(r'^ENTRYPOINT \[.*"live"', text, re.M):
        errors.append("ENTRYPOINT must run `throttlewatch live` (exec form)")
    for e in errors:
        print("FAILED: Containerfile: " + e)
    if not errors:
        print("Containerfile: debian:bookworm-slim, unprivileged user, cap_net_raw+ep only,"
              " exec entrypoint")
    return 1 if errors else 0


# The fields of an event-stream line that may become Loki labels: few values each. Never an
# address, port, server name, id, time or chain value (a stream per value).
BOUNDED_FIELDS = {"record", "kind", "state", "scope", "direction", "mechanism", "reason",
                  "sensor", "interface", "host", "mode"}


def check_vector():
    import yaml  # python3-yaml (install-deps --test)
    with open(os.path.join(DEPLOY, "vector", "throttlewatch.yaml")) as f:
        conf = yaml.safe_load(f)
    with open(os.path.join(HERE, "..", "..", "schema", "event.v2.schema.json")) as f:
        defs = json.load(f)["$defs"]
    fields = set(defs["event"]["properties"]) | set(defs["header"]["properties"])
    errors = []
    source = conf["sources"]["throttlewatch_file"]
    # The files a throttlewatch@eth0 unit writes, and logrotate's first rotated name.
    for path in ("/var/lib/throttlewatch/eth0/events.jsonl",
                 "/var/lib/throttlewatch/eth0/events.jsonl.1"):
        if not any(fnmatch.fnmatch(path, g) for g in source["include"]):
            errors.append("the file source does not read %s" % path)
    vrl = conf["transforms"]["throttlewatch_labels"]["source"]
    # .label = string(parsed.FIELD) ?? ...: where each label value comes from.
    assigned = {}
    for label, expr in re.findall(r"^\.(\w+)\s*=\s*(.*)$", vrl, re.M):
        assigned[label] = re.findall(r"parsed\.(\w+)", expr)
    for label, used in assigned.items():
        for field in used:
            if field not in fields:
                errors.append("label %s reads %r, which the event schema does not have"
                              % (label, field))
            elif field not in BOUNDED_FIELDS:
                errors.append("label %s comes from %r, a field of unbounded values"
                              % (label, field))
    sink = conf["sinks"]["loki"]
    if sink["type"] != "loki" or sink["inputs"] != ["throttlewatch_labels"]:
        errors.append("the loki sink must read the remap's output")
    for name, value in sink["labels"].items():
        for ref in re.findall(r"{{\s*([\w.]+)\s*}}", str(value)):
            if ref not in assigned:
                errors.append("Loki label %s uses {{ %s }}, which the remap does not set"
                              % (name, ref))
    if sink["encoding"]["codec"] != "text":
        errors.append("the sink must ship the line as written (codec text), to keep the chain")
    for e in errors:
        print("FAILED: deploy/vector/throttlewatch.yaml: " + e)
    if not errors:
        print("vector: %d labels from %s, every one a bounded field of the event schema"
              % (len(sink["labels"]), sorted({f for u in assigned.values() for f in u})))
    return 1 if errors else 0


CHECKS = {"systemd": check_systemd, "prometheus": check_prometheus,
          "alertmanager": check_alertmanager, "kubernetes": check_kubernetes,
          "grafana": check_grafana, "container": check_container, "vector": check_vector}

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in CHECKS:
        print("usage: check_deploy.py {%s}" % ",".join(CHECKS))
        sys.exit(2)
    sys.exit(CHECKS[sys.argv[1]]())
