"""Shared by the recognition tests: generate traffic with the fixture library, replay it
through bwgate-pcap, read back its flow records and stats, and count checks.

Each test script in this folder covers one of bwgate's recognisers with traffic it makes
itself (tests/traffic/gen_fixtures.py's session builders), so it always runs."""

import json
import shutil
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "traffic"))

import gen_fixtures as gf  # noqa: E402  (the session and protocol builders)

RUN_TIMEOUT_S = 120


class Checks:
    """Named assertions with a summary line: `N passed, M failed`."""

    def __init__(self):
        self.passed = self.failed = 0

    def ok(self, cond, what, detail=""):
        if cond:
            self.passed += 1
        else:
            self.failed += 1
            print("FAIL " + what + (": " + detail if detail else ""))
        return cond

    def done(self):
        print("%d passed, %d failed" % (self.passed, self.failed))
        return 1 if self.failed else 0


def fixture(name, index=0):
    """A gen_fixtures.Fixture: its own capture, random generator and start time."""
    return gf.Fixture(name, index)


def replay(bwgate_pcap, config, pcap, workdir, extra=()):
    """Run bwgate-pcap on `pcap`; returns (flow records, stats document, events)."""
    base = os.path.join(workdir, os.path.basename(pcap))
    cmd = [bwgate_pcap, "-c", config, "--flows", base + ".flows.jsonl", "--stats",
           base + ".stats.json", "--events", base + ".events.jsonl", *extra, pcap]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    if p.returncode != 0:
        raise RuntimeError("%s exited %d: %s" % (" ".join(cmd), p.returncode, p.stderr))
    with open(base + ".flows.jsonl") as f:
        flows = [json.loads(line) for line in f]
    with open(base + ".stats.json") as f:
        stats = json.load(f)
    with open(base + ".events.jsonl") as f:
        events = [json.loads(line) for line in f]
    return flows, stats, events


def flow_of(flows, client, cport=None):
    """The record whose client is `client` (and port `cport`), or None."""
    for r in flows:
        if r["src_ip"] == client and (cport is None or r["src_port"] == cport):
            return r
    return None


def workdir():
    return tempfile.mkdtemp(prefix="bwg-recognition-")


def finish(ck, work):
    """Keep the capture and output of a failed run (say where); remove them otherwise.
    Returns the exit status."""
    if ck.failed:
        print("capture and output kept in " + work)
    else:
        shutil.rmtree(work)
    return ck.done()


def args(argv, doc):
    """(bwgate-pcap, config) from a test's command line; exits 2 with its usage line
    (the second paragraph of its docstring) when they are not given."""
    if len(argv) != 3:
        print(doc.split("\n\n")[1], file=sys.stderr)
        sys.exit(2)
    return argv[1], argv[2]
