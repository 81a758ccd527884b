#!/usr/bin/env python3
"""Runs the daemon the way each deployment in deploy/ runs it, with the privileges it grants.

  run_deploy.py systemd   --throttlewatch BIN
      The unit's capability settings (AmbientCapabilities, CapabilityBoundingSet,
      NoNewPrivileges), read from deploy/systemd/throttlewatch@.service, given to an unprivileged
      user with setpriv: `live -i lo` must start, serve metrics and give CAP_NET_RAW up; with
      no capability it must fail to open the capture (the control).
  run_deploy.py container --throttlewatch BIN
      Builds an image with podman from deploy/container/Containerfile's final stage and runs it
      with `--cap-drop ALL --cap-add NET_RAW` in the container's own network namespace (only its
      loopback: no traffic leaves it): replay of the demo, the documented `podman run` on a
      named volume (`live -i lo`), and the DaemonSet's init container and daemon on a root-owned
      host directory, with the settings read from deploy/kubernetes/daemonset.yaml. Controls:
      without NET_RAW, and with the NET_ADMIN file capability the image used to carry, the
      kernel must refuse to run the binary; without the init container the daemon must fail to
      write its events.

The Containerfile's stages start FROM debian:bookworm-slim and install packages: neither a
registry nor the package archive may be used by a test, so the image is built FROM scratch
with BIN and the shared libraries it loads copied from this machine, and the final stage's RUN
steps replayed on it (useradd as /etc/passwd lines; install -d and setcap as they are written).
USER, VOLUME and ENTRYPOINT are the Containerfile's own. What is not exercised: the build
stage and the packages of debian:bookworm-slim.

Exits 0 when every check passes, 1 when one fails, 77 (skip) when it cannot run here: not
root, no podman, or no container runtime that works (the reason is printed). Every image,
container and volume it creates carries a label with this process's id; they are removed at
the end, pass or fail, and leftovers of a killed run are removed by the next one.
"""

import argparse
import json
import os
import pwd
import re
import resource
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.normpath(os.path.join(HERE, "..", ".."))
DEPLOY = os.path.join(SOURCE, "deploy")
SKIP = 77
LABEL = "io.throttlewatch.test"  # value: "<hostname>:<pid>" of the run that made it

sys.path.insert(0, os.path.join(HERE, "..", "schema"))
import validate_lines  # noqa: E402


class Skip(Exception):
    pass


class Failures:
    def __init__(self):
        self.count = 0

    def check(self, ok, what, detail=""):
        print("%s: %s" % ("ok" if ok else "FAILED", what))
        if not ok:
            self.count += 1
            if detail:
                print("  " + detail.rstrip().replace("\n", "\n  "))
        return ok

    def schema(self, path, name):
        """The event file's lines match the schema; kept for the suite's final check."""
        try:
            ok, detail = True, validate_lines.check_files([path]).summary()
        except validate_lines.SchemaError as e:
            ok, detail = False, str(e)
        validate_lines.keep([path], name)
        return self.check(ok, "the event file's lines match the schema", detail)


def run(argv, timeout=120, **kw):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=timeout, **kw)
    print("$ %s  -> %d" % (" ".join(shlex.quote(a) for a in argv), r.returncode))
    return r.returncode, r.stdout


def proc_status(pid):
    fields = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            fields[k] = v.strip()
    return fields


def free_loopback_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


# --- systemd --------------------------------------------------------------------------------

def unit_settings(path):
    settings = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith(("#", ";", "[")) and "=" in line:
                k, _, v = line.partition("=")
                settings.setdefault(k.strip(), []).append(v.strip())
    return settings


def setpriv_caps(names):
    """'CAP_NET_RAW CAP_X' -> '-all,+net_raw,+x' for setpriv."""
    caps = [n.lower()[len("cap_"):] for n in names.split()]
    return ",".join(["-all"] + ["+" + c for c in caps])


def check_systemd(binary):
    if os.geteuid() != 0:
        raise Skip("needs root, to start the daemon as an unprivileged user with capabilities")
    if shutil.which("setpriv") is None:
        raise Skip("setpriv is not installed (util-linux)")
    unit = unit_settings(os.path.join(DEPLOY, "systemd", "throttlewatch@.service"))
    ambient = " ".join(unit.get("AmbientCapabilities", []))
    bounding = " ".join(unit.get("CapabilityBoundingSet", []))
    nnp = unit.get("NoNewPrivileges", ["no"])[-1] == "yes"
    print("unit: AmbientCapabilities=%s CapabilityBoundingSet=%s NoNewPrivileges=%s"
          % (ambient, bounding, "yes" if nnp else "no"))
    f = Failures()
    f.check(ambient.split() == ["CAP_NET_RAW"] and bounding.split() == ["CAP_NET_RAW"],
            "the unit grants CAP_NET_RAW and nothing else")
    f.check(unit.get("DynamicUser", ["no"])[-1] == "yes" or "User" in unit,
            "the unit runs the daemon as an unprivileged user")
    nobody = pwd.getpwnam("nobody")
    with tempfile.TemporaryDirectory(prefix="tw_unit_") as state:
        # What StateDirectory= makes: the service user's own directory, 0700.
        os.chown(state, nobody.pw_uid, nobody.pw_gid)
        os.chmod(state, 0o700)

        def daemon(ambient_caps, bounding_caps, run_for):
            port = free_loopback_port()
            argv = ["setpriv", "--reuid=%d" % nobody.pw_uid, "--regid=%d" % nobody.pw_gid,
                    "--clear-groups", "--inh-caps=" + setpriv_caps(ambient_caps),
                    "--ambient-caps=" + setpriv_caps(ambient_caps),
                    "--bounding-set=" + setpriv_caps(bounding_caps)]
            if nnp:
                argv.append("--no-new-privs")
            argv += [binary, "live", "-i", "lo", "--run-for", str(run_for),
                     "--events", os.path.join(state, "events.jsonl"),
                     "--report", os.path.join(state, "report.html"),
                     "--metrics", "127.0.0.1:%d" % port]
            print("$ " + " ".join(shlex.quote(a) for a in argv))
            return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    text=True, umask=0o077), port

        p, port = daemon(ambient, bounding, 4)
        try:
            metrics = ""
            status = {}
            if wait_for(lambda: p.poll() is not None or os.path.exists(
                    os.path.join(state, "events.jsonl")), 10) and p.poll() is None:
                # The event file is opened after the capture and the privilege drop.
                def scrape():
                    nonlocal metrics
                    try:
                        metrics = urllib.request.urlopen(
                            "http://127.0.0.1:%d/metrics" % port, timeout=2).read().decode()
                    except OSError:
                        return False
                    return True
                wait_for(scrape, 3)
                status = proc_status(p.pid)
            out, _ = p.communicate(timeout=30)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        print(out.rstrip())
        f.check(p.returncode == 0 and "live on lo" in out,
                "live -i lo starts with the unit's capabilities and stops cleanly", out)
        f.check("throttlewatch_build_info" in metrics, "metrics are served on loopback")
        f.check(status.get("CapPrm") == "0000000000000000" and
                status.get("CapEff") == "0000000000000000" and
                status.get("CapAmb") == "0000000000000000",
                "the running daemon holds no capability once the capture is open", str(status))
        f.check(status.get("NoNewPrivs") == "1", "no_new_privs is set")
        ev = os.path.join(state, "events.jsonl")
        if f.check(os.path.exists(ev), "the event file is created in the state directory"):
            st = os.stat(ev)
            f.check(st.st_uid == nobody.pw_uid and stat.S_IMODE(st.st_mode) == 0o600,
                    "it belongs to the service user, mode 0600",
                    "uid %d mode %o" % (st.st_uid, stat.S_IMODE(st.st_mode)))
            f.schema(ev, "deploy_systemd")

        # Control: the same without any capability.
        p, _ = daemon("", "", 1)
        out, _ = p.communicate(timeout=30)
        print(out.rstrip())
        f.check(p.returncode == 1 and "CAP_NET_RAW" in out,
                "control: without CAP_NET_RAW the capture cannot be opened", out)
    return f.count


# --- container ------------------------------------------------------------------------------

def logical_lines(path):
    with open(path) as f:
        text = f.read()
    text = re.sub(r"\\\n", " ", text)
    return [l.strip() for l in text.splitlines() if l.strip() and not l.strip().startswith("#")]


def shared_libraries(binary):
    """The files the dynamic loader maps for `binary` (ldd), the loader included."""
    r = subprocess.run(["ldd", binary], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, check=True)
    libs = []
    for line in r.stdout.splitlines():
        m = re.search(r"(/\S+) \(0x", line)
        if m:
            libs.append(m.group(1))
    return libs


class Stage:
    """A root file system in a directory, to COPY into an image FROM scratch."""

    def __init__(self, root):
        self.root = root
        self.passwd = ["root:x:0:0:root:/root:/bin/sh",
                       "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin"]
        self.group = ["root:x:0:", "nogroup:x:65534:"]

    def add(self, host_path, image_path=None):
        dest = os.path.join(self.root, (image_path or host_path).lstrip("/"))
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.copy(host_path, dest)  # follows symlinks; no extended attributes
        return dest

    def add_program(self, host_path, image_path=None):
        self.add(host_path, image_path)
        for lib in shared_libraries(host_path):
            if not os.path.exists(os.path.join(self.root, lib.lstrip("/"))):
                self.add(lib)

    def write_accounts(self):
        os.makedirs(os.path.join(self.root, "etc"), exist_ok=True)
        for name, lines in (("passwd", self.passwd), ("group", self.group)):
            with open(os.path.join(self.root, "etc", name), "w") as f:
                f.write("\n".join(lines) + "\n")


def useradd_lines(argv):
    """passwd and group lines for a `useradd` command line (the options the Containerfile uses)."""
    opts, name, i = {}, None, 1
    takes = {"--uid": "uid", "-u": "uid", "--home-dir": "home", "-d": "home", "--shell": "shell",
             "-s": "shell", "--gid": "gid", "-g": "gid"}
    while i < len(argv):
        a = argv[i]
        if a in takes:
            opts[takes[a]] = argv[i + 1]
            i += 2
        elif a in ("--system", "-r", "--user-group", "-U", "--no-create-home", "-M"):
            i += 1
        elif a.startswith("-"):
            raise ValueError("useradd option %s is not known to this test" % a)
        else:
            name = argv[i]
            i += 1
    uid = opts["uid"]
    gid = opts.get("gid", uid)  # --user-group: a group of its own, the same number when free
    return ("%s:x:%s:%s::%s:%s" % (name, uid, gid, opts.get("home", "/"), opts.get("shell", "/bin/sh")),
            "%s:x:%s:" % (name, gid))


def make_test_image_context(binary, ctx, extra_programs):
    """Writes ctx/Containerfile and ctx/rootfs from the shipped Containerfile's final stage.
    Returns (containerfile lines, facts) where facts holds what the runs need."""
    lines = logical_lines(os.path.join(DEPLOY, "container", "Containerfile"))
    last_from = max(i for i, l in enumerate(lines) if l.split()[0].upper() == "FROM")
    stage = Stage(os.path.join(ctx, "rootfs"))
    out = ["FROM scratch", "COPY rootfs/ /"]
    facts = {"setcap": None}
    for line in lines[last_from + 1:]:
        instr, _, rest = line.partition(" ")
        instr = instr.upper()
        if instr == "RUN":
            for cmd in rest.split("&&"):
                argv = shlex.split(cmd)
                prog = argv[0]
                if prog == "apt-get" or argv[:3] == ["rm", "-rf", "/var/lib/apt/lists/*"]:
                    continue  # the packages' files come from this machine
                if prog == "useradd":
                    p, g = useradd_lines(argv)
                    stage.passwd.append(p)
                    stage.group.append(g)
                    continue
                if prog in ("install", "setcap"):
                    host = shutil.which(prog)
                    if host is None:
                        raise Skip("%s is not installed here, to replay `%s`" % (prog, cmd.strip()))
                    stage.add_program(host)
                    out.append("RUN " + json.dumps([host] + argv[1:]))
                    if prog == "setcap":
                        facts["setcap"] = argv[1]
                    continue
                raise ValueError("the Containerfile runs `%s`: this test does not know how to"
                                 " replay it" % cmd.strip())
        elif instr == "COPY":
            m = re.fullmatch(r"--from=build\s+/opt/throttlewatch\s+(\S+)", rest)
            if not m:
                raise ValueError("COPY %s: this test only knows the install tree's COPY" % rest)
            # `cmake --install --prefix /opt/throttlewatch`, copied to m.group(1).
            prefix = m.group(1)
            stage.add_program(binary, os.path.join(prefix, "bin", "throttlewatch"))
            for f in ("demo.pcap", "demo.truth.json"):
                stage.add(os.path.join(SOURCE, "data", f),
                          os.path.join(prefix, "share", "throttlewatch", f))
        elif instr in ("USER", "VOLUME", "EXPOSE", "STOPSIGNAL", "ENTRYPOINT", "CMD", "ENV",
                       "WORKDIR", "LABEL"):
            out.append(line)
            if instr == "ENTRYPOINT":
                facts["entrypoint"] = json.loads(rest)
            elif instr == "USER":
                facts["user"] = rest.strip()
            elif instr == "VOLUME":
                facts["volume"] = rest.strip()
        else:
            raise ValueError("the Containerfile's final stage has %s: not known to this test"
                             % instr)
    for host, image in extra_programs:
        stage.add_program(host, image)
    # The control: a copy with the capabilities the image carried before (NET_ADMIN too).
    if shutil.which("setcap") is None:
        raise Skip("setcap is not installed (libcap2-bin)")
    stage.add_program(shutil.which("setcap"))
    stage.add(binary, "/usr/bin/throttlewatch-net-admin")
    out.insert(2, "RUN " + json.dumps([shutil.which("setcap"), "cap_net_raw,cap_net_admin+ep",
                                       "/usr/bin/throttlewatch-net-admin"]))
    stage.write_accounts()
    with open(os.path.join(ctx, "Containerfile"), "w") as f:
        f.write("\n".join(out) + "\n")
    print("test image Containerfile:\n  " + "\n  ".join(out))
    user = facts.get("user")
    facts["uid"] = next(int(p.split(":")[2]) for p in stage.passwd if p.split(":")[0] == user)
    return facts


class Podman:
    def __init__(self, run_id):
        self.run_id = run_id
        self.runtime = []
        self.containers, self.images, self.volumes = [], [], []
        # Rootful `podman run` asks for 1048576 open files and processes, which needs
        # CAP_SYS_RESOURCE where the limits are lower. Ask for limits at most this process's
        # and at most 4096 (podman may run its runtime with lower ones than its caller's): far
        # more than the daemon uses. (`podman build` sets lower ones itself.)
        nofile = min(4096, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
        nproc = min(4096, resource.getrlimit(resource.RLIMIT_NPROC)[0])
        self.ulimits = ["--ulimit", "nofile=%d:%d" % (nofile, nofile),
                        "--ulimit", "nproc=%d:%d" % (nproc, nproc)]

    def cmd(self, *args):
        return ["podman"] + self.runtime + list(args)

    def build(self, tag, ctx):
        self.images.append(tag)
        return run(self.cmd("build", "--network", "none", "--pull=never", "--layers=false",
                            "--force-rm", "--label", "%s=%s" % (LABEL, self.run_id),
                            "-t", tag, ctx), timeout=300)

    def run(self, image, args, name=None, detach=False, options=()):
        name = name or "tw-test-%d-%d" % (os.getpid(), len(self.containers))
        self.containers.append(name)
        argv = self.cmd("run", "--name", name, "--label", "%s=%s" % (LABEL, self.run_id),
                        "--network", "none", *self.ulimits, *options)
        argv += ["-d"] if detach else ["--rm"]
        return run(argv + [image] + list(args), timeout=120)

    def cleanup(self):
        for c in self.containers:
            subprocess.run(["podman", "rm", "-f", "--ignore", c], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        for i in self.images:
            subprocess.run(["podman", "rmi", "-f", "--ignore", i], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        for v in self.volumes:
            subprocess.run(["podman", "volume", "rm", "-f", v], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)


def remove_leftovers():
    """Removes what runs of this test that are gone (killed by a timeout) left behind."""
    host = socket.gethostname()
    for d in os.listdir(tempfile.gettempdir()):
        m = re.fullmatch(r"tw_container_(\d+)_\w+", d)
        if m and not os.path.exists("/proc/" + m.group(1)):
            print("removing %s left by a run that was killed" % d)
            shutil.rmtree(os.path.join(tempfile.gettempdir(), d), ignore_errors=True)
    for kind, ls, rm in (("container", ["ps", "-a"], ["rm", "-f"]),
                         ("image", ["images"], ["rmi", "-f"]),
                         ("volume", ["volume", "ls"], ["volume", "rm", "-f"])):
        fmt = "{{.Name}}" if kind == "volume" else "{{.ID}}"
        r = subprocess.run(["podman"] + ls + ["--filter", "label=" + LABEL, "--format",
                                              fmt + " {{.Labels}}"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        for line in r.stdout.splitlines():
            ident = line.split()[0]
            m = re.search(LABEL.replace(".", r"\.") + r":(\S+):(\d+)", line)
            if not m or m.group(1) != host:
                continue
            try:
                os.kill(int(m.group(2)), 0)
                continue  # that run is still going
            except ProcessLookupError:
                pass
            except PermissionError:
                continue
            print("removing %s %s left by a run that was killed" % (kind, ident))
            subprocess.run(["podman"] + rm + [ident], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)


def daemonset():
    try:
        import yaml
    except ImportError:
        raise Skip("python3-yaml is not installed, to read the DaemonSet")
    with open(os.path.join(DEPLOY, "kubernetes", "daemonset.yaml")) as f:
        return yaml.safe_load(f)["spec"]["template"]["spec"]


def k8s_options(pod, c, state_dir):
    """podman run options for container `c` of the pod: user, capabilities, no_new_privs,
    read-only root, and the state volume as a bind mount of state_dir."""
    sc = dict(pod.get("securityContext", {}))
    sc.update(c.get("securityContext", {}))
    opts = []
    if "runAsUser" in sc:
        opts += ["--user", "%d:%d" % (sc["runAsUser"], sc.get("runAsGroup", sc["runAsUser"]))]
    caps = sc.get("capabilities", {})
    for d in caps.get("drop", []):
        opts += ["--cap-drop", d]
    for a in caps.get("add", []):
        opts += ["--cap-add", a]
    if sc.get("allowPrivilegeEscalation") is False:
        opts += ["--security-opt", "no-new-privileges"]
    if sc.get("readOnlyRootFilesystem"):
        opts.append("--read-only")
    for m in c.get("volumeMounts", []):
        vol = next(v for v in pod["volumes"] if v["name"] == m["name"])
        if "hostPath" not in vol:
            raise ValueError("volume %s: only hostPath is known to this test" % m["name"])
        opts += ["-v", "%s:%s" % (state_dir, m["mountPath"])]
    return sc, opts


def check_container(binary):
    if os.geteuid() != 0:
        raise Skip("needs root: rootful podman, and a root-owned directory for the DaemonSet's"
                   " hostPath")
    if shutil.which("podman") is None:
        raise Skip("podman is not installed (apt-get install podman; deploy/install-deps.sh"
                   " --test)")
    rc, out = run(["podman", "info", "--format", "{{.Store.GraphDriverName}}"], timeout=60)
    if rc != 0:
        raise Skip("podman cannot run here: " + out.strip())
    remove_leftovers()
    pod = daemonset()
    init = pod["initContainers"][0]
    main = pod["containers"][0]
    run_id = "%s:%d" % (socket.gethostname(), os.getpid())
    podman = Podman(run_id)
    tag = "localhost/throttlewatch-test:%d" % os.getpid()
    f = Failures()
    tmp = tempfile.mkdtemp(prefix="tw_container_%d_" % os.getpid())
    try:
        ctx = os.path.join(tmp, "context")
        init_prog = shutil.which(init["command"][0])
        if init_prog is None:
            raise Skip("%s is not installed here, for the init container" % init["command"][0])
        facts = make_test_image_context(
            binary, ctx, [(init_prog, "/usr/bin/" + os.path.basename(init_prog))])
        # The runtime: podman's default, else runc (crun 1.8 refuses cgroup v1 hosts that
        # also mount cgroup v2 with a controller, "hybrid mode").
        runtimes = [[]] + ([["--runtime", "runc"]] if shutil.which("runc") else [])
        errors = []
        for rt in runtimes:
            podman.runtime = rt
            rc, out = podman.build(tag, ctx)
            if rc == 0:
                break
            errors.append(out.strip().splitlines()[-1] if out.strip() else "rc %d" % rc)
            if not re.search(r"OCI|crun|runc|cgroup|rlimit", out):
                f.check(False, "podman build of the test image", out)
                return f.count
        else:
            raise Skip("no container runtime works here: " + " | ".join(errors))
        print("runtime: %s" % (" ".join(podman.runtime) or "podman's default"))
        f.check(facts["setcap"] == "cap_net_raw+ep",
                "the Containerfile gives the binary cap_net_raw+ep and nothing else",
                str(facts["setcap"]))
        tw = facts["entrypoint"][0]
        net_raw_only = ["--cap-drop", "ALL", "--cap-add", "NET_RAW"]

        # 1. Replay of the bundled demo, and live's usage, as the image's user with NET_RAW only.
        rc, out = podman.run(tag, ["replay", "/usr/share/throttlewatch/demo.pcap"],
                             options=net_raw_only + ["--entrypoint", tw])
        f.check(rc == 0 and '"kind":"throttle"' in out and '"kind":"outage"' in out,
                "replay of the demo in the container finds its throttle and outage", out[-2000:])
        rc, out = podman.run(tag, ["live", "--help"], options=net_raw_only + ["--entrypoint", tw])
        f.check(rc == 0 and "live options" in out, "live --help", out[-2000:])

        # 2. Controls: the kernel refuses a file capability outside the bounding set.
        # (runc: "exec PATH: operation not permitted"; crun names the path too.)
        refused = lambda path, out: re.search(re.escape(path) + r".*operation not permitted",
                                              out, re.I) is not None
        rc, out = podman.run(tag, ["live", "--help"],
                             options=["--cap-drop", "ALL", "--entrypoint", tw])
        f.check(rc != 0 and refused(tw, out),
                "control: without NET_RAW the kernel refuses to run the binary", out)
        old_caps = "/usr/bin/throttlewatch-net-admin"
        rc, out = podman.run(tag, ["live", "--help"],
                             options=net_raw_only + ["--entrypoint", old_caps])
        f.check(rc != 0 and refused(old_caps, out),
                "control: with cap_net_raw,cap_net_admin+ep (what the image carried) the kernel"
                " refuses to run it under --cap-drop ALL --cap-add NET_RAW", out)

        # 3. The documented `podman run` (named volume), on the container's loopback.
        volume = "tw-test-%d" % os.getpid()
        podman.volumes.append(volume)
        run(["podman", "volume", "create", "--label", "%s=%s" % (LABEL, run_id), volume])
        name = "tw-test-%d-live" % os.getpid()
        rc, out = podman.run(tag, ["-i", "lo", "--run-for", "5"], name=name, detach=True,
                             options=net_raw_only + ["-v", "%s:%s" % (volume, facts["volume"])])
        status, metrics, logs = {}, "", ""
        if f.check(rc == 0, "the container starts", out):
            def started():
                nonlocal logs
                logs = subprocess.run(["podman", "logs", name], stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True).stdout
                return "live on lo" in logs or "stopped" in logs or "error" in logs
            wait_for(started, 15)
            _, pid = run(["podman", "inspect", "--format", "{{.State.Pid}}", name])
            pid = int(pid.strip() or 0)
            if pid > 0 and "live on lo" in logs:
                status = proc_status(pid)
                # /metrics from inside the container's network namespace: its own loopback.
                _, metrics = run(["nsenter", "-t", str(pid), "-n", sys.executable, "-c",
                                  "import urllib.request; print(urllib.request.urlopen("
                                  "'http://127.0.0.1:10470/metrics', timeout=3).read().decode())"])
            _, code = run(["podman", "wait", name], timeout=60)
            logs = subprocess.run(["podman", "logs", name], stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True).stdout
            print(logs.rstrip())
            f.check(code.strip() == "0" and "live on lo" in logs and "stopped" in logs,
                    "live -i lo runs for 5 s and stops cleanly (exit %s)" % code.strip(), logs)
        f.check(status.get("Uid", "").split()[:1] == [str(facts["uid"])],
                "it runs as the image's user (uid %d)" % facts["uid"], str(status))
        f.check(status.get("CapPrm") == "0000000000000000" and
                status.get("CapEff") == "0000000000000000",
                "it holds no capability once the capture is open", str(status))
        f.check("throttlewatch_build_info" in metrics,
                "it serves metrics on the container's 127.0.0.1:10470", metrics[-1000:])
        _, mount = run(["podman", "volume", "inspect", "--format", "{{.Mountpoint}}", volume])
        ev = os.path.join(mount.strip(), "events.jsonl")
        if f.check(os.path.exists(ev), "the event file is in the volume"):
            st, dst = os.stat(ev), os.stat(mount.strip())
            f.check(st.st_uid == facts["uid"] and stat.S_IMODE(st.st_mode) == 0o600 and
                    dst.st_uid == facts["uid"] and stat.S_IMODE(dst.st_mode) == 0o700,
                    "the volume is the user's, 0700, and the event file 0600",
                    "dir uid %d mode %o, file uid %d mode %o" % (
                        dst.st_uid, stat.S_IMODE(dst.st_mode), st.st_uid,
                        stat.S_IMODE(st.st_mode)))
            f.schema(ev, "deploy_container")

        # 4. The DaemonSet: a hostPath kubelet created (root, 0755), its init container, then
        # the daemon with the pod's user, capabilities and read-only root.
        host_dir = os.path.join(tmp, "hostpath")
        os.mkdir(host_dir, 0o755)
        os.chmod(host_dir, 0o755)
        main_sc, main_opts = k8s_options(pod, main, host_dir)
        _, init_opts = k8s_options(pod, init, host_dir)
        args = main.get("args", []) + ["-i", "lo", "--run-for", "3"]
        rc, out = podman.run(tag, args, options=main_opts)
        f.check(rc == 1 and "events.jsonl" in out,
                "control: without the init container the daemon cannot write its events", out)
        for attempt in ("first start", "restart"):
            rc, out = podman.run(tag, init["command"][1:],
                                 options=init_opts + ["--entrypoint", init["command"][0]])
            st = os.stat(host_dir)
            f.check(rc == 0 and st.st_uid == main_sc["runAsUser"] and
                    st.st_gid == main_sc.get("runAsGroup", st.st_gid) and
                    stat.S_IMODE(st.st_mode) == 0o700,
                    "init container (%s): the hostPath is the daemon's user's, 0700" % attempt,
                    out + "uid %d gid %d mode %o" % (st.st_uid, st.st_gid,
                                                     stat.S_IMODE(st.st_mode)))
        rc, out = podman.run(tag, args, options=main_opts)
        ev = os.path.join(host_dir, "events.jsonl")
        f.check(rc == 0 and "live on lo" in out and os.path.exists(ev) and
                os.stat(ev).st_uid == main_sc["runAsUser"],
                "the DaemonSet's daemon runs and writes its events into the hostPath", out)
    finally:
        podman.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)
        left = []
        for ls in (["ps", "-a"], ["images"], ["volume", "ls"]):
            r = subprocess.run(["podman"] + ls + ["-q", "--filter",
                                                  "label=%s=%s" % (LABEL, run_id)],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            left += r.stdout.split()
        f.check(not left, "every container, image and volume of this run is removed", str(left))
    return f.count


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("what", choices=["systemd", "container"])
    ap.add_argument("--throttlewatch", required=True, help="the built binary")
    a = ap.parse_args()
    binary = os.path.abspath(a.throttlewatch)
    # Stopped with SIGTERM (a CI runner giving up): clean up as on any failure.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    try:
        failed = {"systemd": check_systemd, "container": check_container}[a.what](binary)
    except Skip as e:
        print("SKIPPED: %s" % e)
        return SKIP
    print("%s: %s" % (a.what, "FAILED (%d)" % failed if failed else "passed"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
