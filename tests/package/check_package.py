#!/usr/bin/python3
"""The Debian package: built by scripts/package, checked by lintian, unpacked and run.

usage: check_package.py SOURCE_ROOT GEN_FIXTURES

Builds bwgate_VERSION_amd64.deb with scripts/package into a scratch folder (lintian
must report no error), then checks what it holds: its dependencies from dpkg-shlibdeps,
the binaries in /usr/bin, the default policy and its lists in /etc/bwgate as conffiles,
the systemd unit (running /usr/bin/bwgate) and the logrotate file, the docs. Unpacked
into a temporary root, the installed `bwgate --check` must accept the installed default
config, and the installed `bwgate-pcap` must replay generated traffic with it.

Exits 77 (skipped) when the packaging tools are not installed and cannot be
(scripts/install-deps needs root).
"""

import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "live"))
from livelib import Check  # noqa: E402

TOOLS = ["dpkg-buildpackage", "dh", "lintian", "dpkg-shlibdeps", "fakeroot"]



def run(cmd, timeout=120, **kw):
    print("run: " + " ".join(cmd))
    sys.stdout.flush()
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)


def main(argv):
    if len(argv) != 3:
        print(__doc__)
        return 2
    root_src, gen = argv[1], argv[2]
    missing = [t for t in TOOLS if not shutil.which(t)]
    if missing and os.geteuid() == 0:
        run([os.path.join(root_src, "scripts", "install-deps")], timeout=900)
        missing = [t for t in TOOLS if not shutil.which(t)]
    if missing:
        print(f"skip: packaging tools missing and not installable here: {' '.join(missing)} "
              "(scripts/install-deps as root installs them)")
        return 77

    check = Check("package")
    tmp = tempfile.mkdtemp(prefix="bwgate-pkgtest.")
    try:
        out = os.path.join(tmp, "dist")
        p = run([os.path.join(root_src, "scripts", "package"), out], timeout=1200)
        sys.stdout.write(p.stdout + p.stderr)
        debs = glob.glob(os.path.join(out, "bwgate_*_amd64.deb"))
        if not check(p.returncode == 0 and len(debs) == 1,
                     "scripts/package builds bwgate_VERSION_amd64.deb, lintian without errors"):
            check.done()
        deb = debs[0]
        lint = run(["lintian", "--display-level", ">=info", deb])
        tags = [l for l in lint.stdout.splitlines() if re.match(r"^[EWIXP]: ", l)]
        counts = {k: sum(1 for t in tags if t.startswith(k + ":")) for k in "EWI"}
        print(f"lintian: {counts['E']} errors, {counts['W']} warnings, {counts['I']} info")
        for t in tags:
            print("  " + t)
        check(counts["E"] == 0, "lintian reports no error")

        fields = run(["dpkg-deb", "-f", deb, "Package", "Version", "Architecture",
                      "Depends"]).stdout
        print(fields)
        ver = re.search(r"^Version: (.*)$", fields, re.M).group(1)
        check(os.path.basename(deb) == f"bwgate_{ver}_amd64.deb", "named bwgate_VERSION_amd64.deb")
        deps = re.search(r"^Depends: (.*)$", fields, re.M).group(1)
        for lib in ("libfixbuf9", "libndpi4.2", "librte-eal23", "libjansson4",
                    "libmicrohttpd12", "libpcap0.8"):
            check(lib in deps, f"depends on {lib} (dpkg-shlibdeps)", deps)

        inst = os.path.join(tmp, "root")
        ctl = os.path.join(tmp, "DEBIAN")
        check(run(["dpkg-deb", "-x", deb, inst]).returncode == 0, "unpacks into a temporary root")
        run(["dpkg-deb", "-e", deb, ctl])
        conffiles = open(os.path.join(ctl, "conffiles")).read().split()
        lists = [f"/etc/bwgate/{d}/{os.path.basename(f)}" for d in ("hosts", "addresses")
                 for f in glob.glob(os.path.join(root_src, "config", d, "*.txt"))]
        want = ["/etc/bwgate/bwgate.json", "/etc/logrotate.d/bwgate"] + lists
        check(all(f in conffiles for f in want) and len(lists) > 10,
              f"conffiles: the default policy, {len(lists)} host and address lists, logrotate",
              f"missing {[f for f in want if f not in conffiles]}")
        for f in ("usr/bin/bwgate", "usr/bin/bwgate-pcap", "usr/bin/bwgate-report"):
            check(os.access(os.path.join(inst, f), os.X_OK), f"/{f}")
        unit = open(os.path.join(inst, "lib/systemd/system/bwgate.service")).read()
        check("ExecStart=/usr/bin/bwgate " in unit and "/usr/local" not in unit,
              "the systemd unit runs /usr/bin/bwgate")
        check(os.path.exists(os.path.join(inst, "usr/share/doc/bwgate/operations.md"))
              and os.path.exists(os.path.join(inst, "usr/share/doc/bwgate/copyright")),
              "docs in /usr/share/doc/bwgate")
        postinst = os.path.join(ctl, "postinst")
        check(not os.path.exists(postinst) or "deb-systemd-invoke start" not in
              open(postinst).read(), "installing does not start the gate")

        conf = os.path.join(inst, "etc/bwgate/bwgate.json")
        # The API's token beside the config, as the unit makes it on first start.
        with open(os.path.join(inst, "etc/bwgate/api.token"), "w") as f:
            f.write("package-test-token-0123456789\n")
        p = run([os.path.join(inst, "usr/bin/bwgate"), "--", "-c", conf, "--check"])
        sys.stdout.write(p.stdout + p.stderr)
        check(p.returncode == 0 and "valid" in p.stdout,
              "the installed bwgate --check accepts the installed default config")
        fx = os.path.join(tmp, "fixtures")
        subprocess.run(["/usr/bin/python3", gen, fx], check=True, stdout=subprocess.DEVNULL,
                       timeout=120)
        flows, stats = os.path.join(tmp, "flows.jsonl"), os.path.join(tmp, "stats.json")
        p = run([os.path.join(inst, "usr/bin/bwgate-pcap"), "-c", conf, "--flows", flows,
                 "--stats", stats, os.path.join(fx, "mixed.pcap")])
        sys.stdout.write(p.stderr)
        expected = json.load(open(os.path.join(fx, "expected.json")))
        n = sum(1 for _ in open(flows)) if p.returncode == 0 else 0
        st = json.load(open(stats)) if p.returncode == 0 else {}
        want_flows = expected.get("files", {}).get("mixed.pcap", {}).get("flows")
        print(f"installed bwgate-pcap: {n} flows, {st.get('totals', {}).get('rx_packets')} "
              f"packets from mixed.pcap (expected {want_flows} flows)")
        check(p.returncode == 0 and n > 0 and (want_flows is None or n == want_flows),
              "the installed bwgate-pcap replays traffic with the installed default config")
        p = run([os.path.join(inst, "usr/bin/bwgate-report"), "--help"])
        check(p.returncode == 0, "the installed bwgate-report runs")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    check.done()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
