#!/usr/bin/env python3
"""Builds the Debian package from a build tree and checks it the way it will be installed.

  check_package.py --build-dir DIR

cpack (CPack DEB, cmake/Package.cmake) makes the .deb from DIR; `dpkg -x` unpacks it into a
scratch root, where the test checks that every file is in its place, that `man -l` renders the
page made from --help, that bash loads the completion and completes a command and an option,
that zsh parses its completion, that `systemd-analyze verify` passes on the installed unit with
the man page it names reachable (MANPATH; the unit's /usr/bin/throttlewatch is pointed at the
unpacked binary, as --root would need a whole system in the root), that logrotate accepts its
file and, as root, that it rotates the event file of a daemon running on loopback (the unit's
reload replaced by the SIGHUP it sends) so that `verify` passes on the rotated file and the new
one as one chain, and that lintian reports no error (warnings are printed, not failed on).

Exits 0 when every check passes, 1 when one fails or a tool is missing, 77 (skip) when not root.
"""

import argparse
import glob
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run_deploy  # noqa: E402  (the deploy tests' helpers)
from run_deploy import Failures, wait_for  # noqa: E402

SKIP = 77
TOOLS = ("cpack", "dpkg-deb", "dpkg", "man", "bash", "zsh", "systemd-analyze", "logrotate",
         "lintian")
EXPECTED = [
    "usr/bin/throttlewatch",
    "usr/share/man/man1/throttlewatch.1.gz",
    "usr/share/bash-completion/completions/throttlewatch",
    "usr/share/zsh/vendor-completions/_throttlewatch",
    "lib/systemd/system/throttlewatch@.service",
    "etc/logrotate.d/throttlewatch",
    "etc/throttlewatch/throttlewatch.conf",
    "usr/share/throttlewatch/prometheus/throttlewatch.rules.yml",
    "usr/share/throttlewatch/prometheus/prometheus.yml",
    "usr/share/throttlewatch/alertmanager/alertmanager.yml",
    "usr/share/throttlewatch/grafana/throttlewatch.json",
    "usr/share/throttlewatch/examples/throttlewatch.conf",
    "usr/share/throttlewatch/demo.pcap",
    "usr/share/throttlewatch/schema/event.v2.schema.json",
    "usr/share/throttlewatch/schema/flow.v2.schema.json",
    "usr/share/throttlewatch/vector/throttlewatch.yaml",
    "usr/share/doc/throttlewatch/copyright",
]


def run(argv, **kw):
    return run_deploy.run(argv, timeout=600, **kw)


def build_deb(build_dir, out_dir):
    rc, out = run(["cpack", "--config", os.path.join(build_dir, "CPackConfig.cmake"),
                   "-B", out_dir])
    debs = glob.glob(os.path.join(out_dir, "*.deb"))
    if rc != 0 or len(debs) != 1:
        print(out)
        return None
    return debs[0]


def check_files(f, root, deb):
    missing = [p for p in EXPECTED if not os.path.isfile(os.path.join(root, p))]
    f.check(not missing, "every file is in its place", "missing: %s" % missing)
    f.check(os.access(os.path.join(root, "usr/bin/throttlewatch"), os.X_OK),
            "the binary is executable")
    rc, listing = run(["dpkg-deb", "--info", deb, "conffiles"])
    f.check(rc == 0 and "/etc/throttlewatch/throttlewatch.conf" in listing and
            "/etc/logrotate.d/throttlewatch" in listing, "the files in /etc are conffiles",
            listing)


def check_man(f, root):
    rc, out = run(["man", "-l", os.path.join(root, "usr/share/man/man1/throttlewatch.1.gz")],
                  env=dict(os.environ, MANPAGER="cat", PAGER="cat", MANWIDTH="100"))
    words = " ".join(out.split())  # man justifies lines: spaces between words vary
    f.check(rc == 0 and "live options" in words and "--sensor NAME" in words and
            "/etc/throttlewatch/throttlewatch.conf" in words,
            "man -l renders the page, with live's options and the files", out[:2000])


def complete(root, words):
    """The bash completions of the last of `words` (the command line typed so far)."""
    script = ("source %s; COMP_WORDS=(%s); COMP_CWORD=%d; _throttlewatch; "
              "printf '%%s\\n' \"${COMPREPLY[@]}\"" %
              (os.path.join(root, "usr/share/bash-completion/completions/throttlewatch"),
               " ".join(words), len(words) - 1))
    rc, out = run(["bash", "-c", script])
    return out.split() if rc == 0 else ["(bash failed: %s)" % out]


def check_completions(f, root):
    binary = os.path.join(root, "usr/bin/throttlewatch")
    got = complete(root, [binary, "rep"])
    f.check(got == ["replay"], "bash completes a command (rep -> replay)", str(got))
    got = complete(root, [binary, "live", "--sen"])
    f.check(got == ["--sensor"], "bash completes live's option from its help", str(got))
    got = complete(root, [binary, "replay", "--sen"])
    f.check(got == [], "and not in replay, which has no --sensor", str(got))
    rc, out = run(["zsh", "-n", os.path.join(root, "usr/share/zsh/vendor-completions/"
                                                   "_throttlewatch")])
    f.check(rc == 0, "zsh parses its completion", out)


def check_unit(f, root, scratch):
    units = os.path.join(scratch, "units")
    os.makedirs(units)
    with open(os.path.join(root, "lib/systemd/system/throttlewatch@.service")) as src:
        text = src.read()
    with open(os.path.join(units, "throttlewatch@.service"), "w") as dst:
        dst.write(text.replace("/usr/bin/throttlewatch",
                               os.path.join(root, "usr/bin/throttlewatch")))
    env = dict(os.environ, MANPATH=os.path.join(root, "usr/share/man"))
    rc, out = run(["systemd-analyze", "verify", os.path.join(units, "throttlewatch@eth0.service")],
                  env=env)
    ours = [l for l in out.splitlines() if "throttlewatch@" in l]
    f.check(rc == 0 and not ours, "systemd-analyze verify passes on the installed unit, "
            "man page included", out)


def check_logrotate(f, root):
    rc, out = run(["logrotate", "--debug", os.path.join(root, "etc/logrotate.d/throttlewatch")])
    f.check(rc == 0 and "error" not in out.lower(), "logrotate accepts its file", out)


def lines(path):
    try:
        with open(path) as src:
            return src.read().splitlines()
    except OSError:
        return []


def check_rotation(f, root, scratch):
    nobody = pwd.getpwnam("nobody")
    os.chmod(scratch, 0o711)  # the daemon, as nobody once the capture is open, passes through
    state = os.path.join(scratch, "state")
    os.mkdir(state, 0o700)
    os.chown(state, nobody.pw_uid, nobody.pw_gid)  # as StateDirectory= makes it
    events = os.path.join(state, "events.jsonl")
    binary = os.path.join(root, "usr/bin/throttlewatch")
    daemon = subprocess.Popen([binary, "live", "-i", "lo", "--metrics", "none", "--events",
                               events, "--sensor", "package-test", "--run-for", "60"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        started = wait_for(lambda: len(lines(events)) >= 1, 10)
        with open(os.path.join(root, "etc/logrotate.d/throttlewatch")) as src:
            conf = src.read()
        conf = conf.replace("/var/lib/throttlewatch/*/events.jsonl", events)
        conf = re.sub(r"systemctl reload .*", "kill -HUP %d" % daemon.pid, conf)
        with open(os.path.join(scratch, "logrotate.conf"), "w") as dst:
            dst.write(conf)
        rc, out = run(["logrotate", "--force", "--state", os.path.join(scratch, "lr.state"),
                       os.path.join(scratch, "logrotate.conf")])
        reopened = wait_for(lambda: any('"reason":"reopen"' in l for l in lines(events)), 10)
    finally:
        daemon.terminate()
        out_daemon, _ = daemon.communicate(timeout=30)
    print(out_daemon.rstrip())
    f.check(started and rc == 0 and reopened and os.path.exists(events + ".1"),
            "logrotate renames the event file and the daemon reopens a new one", out)
    rc, out = run([binary, "verify", events + ".1", events])
    f.check(rc == 0, "verify: the rotated file and the new one are one chain", out)
    f.check('"sensor":"package-test"' in "".join(lines(events)), "the headers name the sensor")
    f.schema(events + ".1", "deploy_package")
    f.schema(events, "deploy_package")


def check_lintian(f, deb):
    rc, out = run(["lintian", "--fail-on", "error", "--tag-display-limit", "0", deb])
    print(out.rstrip())
    f.check(rc == 0, "lintian reports no error")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", required=True)
    a = ap.parse_args()
    # Every check runs or the test fails: the tools come with deploy/install-deps.sh --test.
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        print("FAILED: not installed: %s (deploy/install-deps.sh --test)" % " ".join(missing))
        return 1
    if os.geteuid() != 0:  # the rotation runs the daemon on lo, which needs a capture
        print("SKIPPED: run as root: the package's daemon is rotated while it captures on lo")
        return SKIP
    f = Failures()
    with tempfile.TemporaryDirectory(prefix="tw_deb_") as scratch:
        deb = build_deb(a.build_dir, os.path.join(scratch, "out"))
        if not f.check(deb is not None, "cpack made one .deb"):
            return 1
        root = os.path.join(scratch, "root")
        rc, out = run(["dpkg", "-x", deb, root])
        if not f.check(rc == 0, "dpkg -x unpacks it", out):
            return 1
        check_files(f, root, deb)
        check_man(f, root)
        check_completions(f, root)
        check_unit(f, root, scratch)
        check_logrotate(f, root)
        check_rotation(f, root, scratch)
        check_lintian(f, deb)
    print("%d check(s) failed" % f.count if f.count else "every check passed")
    return 1 if f.count else 0


if __name__ == "__main__":
    sys.exit(main())
