#!/usr/bin/python3
"""The policy's modes and extras, offline: bwgate-pcap on generated traffic.

usage: check_policy.py BWGATE_PCAP CONFIG GEN_FIXTURES

CONFIG is the shipped policy; each check derives a variant of it (written beside the
captures, with lists_dir pointing back at CONFIG's folder), replays captures through
BWGATE_PCAP with packet timestamps as the clock and asserts what came out:

  monitor   every block and limit rule in "mode": "monitor" forwards everything and
            counts, rule by rule, exactly what the same rules in force drop
            (would_block_* / would_limit_* against dropped_*), flows included; its
            flow records and events say "monitor".
  notice    a block rule with "notice" answers the client's plain-HTTP request with
            its 403 page (Chinese and English: rule, reason, contact), sequenced as
            the server's next segment, with FIN, and resets the server (--replies);
            a TLS flow under the same rule gets only its RSTs.

Prints each failure, then `N passed, M failed`; exits 0 when nothing failed.
"""

import json
import os
import subprocess
import sys
import tempfile

from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether
from scapy.utils import RawPcapReader

RUN_TIMEOUT_S = 120


class Checks:
    def __init__(self):
        self.passed, self.failures = 0, []

    def check(self, ok, what):
        if ok:
            self.passed += 1
        else:
            self.failures.append(what)
            print(f"FAIL {what}")

    def equal(self, got, want, what):
        self.check(got == want, f"{what}: {got!r}, want {want!r}")


def read_frames(path):
    reader = RawPcapReader(path)
    try:
        return [bytes(data) for data, _ in reader]
    finally:
        reader.close()


def frames(path):
    return len(read_frames(path))


def derive(config, outdir, name, change):
    """CONFIG as JSON, changed by change(doc), written to OUTDIR/NAME.json."""
    with open(config) as f:
        doc = json.load(f)
    doc["lists_dir"] = os.path.dirname(os.path.abspath(config))
    for key in ("events", "history", "api"):     # the appliance's; nothing offline
        doc.pop(key, None)
    change(doc)
    path = os.path.join(outdir, name + ".json")
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
    return path


def replay(binary, config, captures, outdir, tag, extra=()):
    """Run bwgate-pcap; returns dict(stats, flows, events, out frames) or raises."""
    stem = os.path.join(outdir, tag)
    paths = dict(flows=stem + ".flows.jsonl", stats=stem + ".stats.json",
                 events=stem + ".events.jsonl", out=stem + ".out.pcap")
    cmd = [binary, "-c", config, "--flows", paths["flows"], "--stats", paths["stats"],
           "--events", paths["events"], "-w", paths["out"], *extra, *captures]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {proc.returncode}: {proc.stderr.strip()}")

    def jsonl(path):
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]
    with open(paths["stats"]) as f:
        stats = json.load(f)
    res = dict(stats=stats, flows=jsonl(paths["flows"]), events=jsonl(paths["events"]),
               out=frames(paths["out"]), stderr=proc.stderr)
    if "--replies" in extra:
        res["replies"] = read_frames(extra[list(extra).index("--replies") + 1])
    return res


def flow_key(rec):
    return (rec["proto"], rec["src_ip"], rec["src_port"], rec["dst_ip"], rec["dst_port"],
            rec["vlan"])


# --------------------------------------------------------------------------- monitor

def monitor_all(doc):
    for rule in doc["rules"]:
        if rule["action"] in ("block", "limit"):
            rule["mode"] = "monitor"


def check_monitor(c, binary, config, fixtures, outdir):
    mon = derive(config, outdir, "monitor", monitor_all)
    captures = [os.path.join(fixtures, "mixed.pcap"), os.path.join(fixtures, "rate.pcap")]
    for cap in captures:
        name = os.path.basename(cap)
        enf = replay(binary, config, [cap], outdir, "enforce-" + name)
        mo = replay(binary, mon, [cap], outdir, "monitor-" + name)
        es, ms = enf["stats"], mo["stats"]
        policy_drops = es["drops"]["policy_block"] + es["drops"]["policy_limit"]
        c.check(policy_drops > 0, f"{name}: the policy in force drops something")
        c.equal(ms["drops"]["policy_block"] + ms["drops"]["policy_limit"], 0,
                f"{name}: monitor drops by policy")
        c.equal(mo["out"], enf["out"] + policy_drops,
                f"{name}: monitor forwards what enforce forwards and what it dropped")
        erules = {r["name"]: r for r in es["rules"]}
        c.equal(sum(r["dropped_packets"] for r in es["rules"]), policy_drops,
                f"{name}: rules' dropped_packets add up to the policy drops")
        for r in ms["rules"]:
            e = erules[r["name"]]
            c.equal(r["mode"], "monitor" if e["action"] in ("block", "limit") else "enforce",
                    f"{name}: rules[{r['name']}].mode")
            if e["action"] not in ("block", "limit"):
                continue
            verb = e["action"]
            c.equal((r[f"would_{verb}_packets"], r[f"would_{verb}_flows"]),
                    (e["dropped_packets"], e["dropped_flows"]),
                    f"{name}: rule {r['name']}: monitor's would_{verb} (packets, flows) vs "
                    "the rule in force's dropped")
            c.equal(r["dropped_packets"], 0, f"{name}: monitor rule {r['name']} dropped")
        # Flow by flow: the records of the flows enforce dropped say monitor, forwarded.
        mrec = {flow_key(r): r for r in mo["flows"]}
        dropped = [r for r in enf["flows"] if r["dropped_pkts"]]
        c.equal(sum(1 for r in dropped if flow_key(r) in mrec), len(dropped),
                f"{name}: every flow enforce dropped has a monitor record")
        c.equal(sum(e["dropped_flows"] for e in es["rules"]), len(dropped),
                f"{name}: rules' dropped_flows is the flows with drops")
        bad = [r for r in dropped if flow_key(r) in mrec and
               (mrec[flow_key(r)].get("mode") != "monitor" or
                mrec[flow_key(r)]["dropped_pkts"] != 0 or
                mrec[flow_key(r)]["action"] != r["action"] or
                mrec[flow_key(r)]["rule"] != r["rule"])]
        c.equal([flow_key(r) for r in bad], [],
                f"{name}: monitor records with mode monitor, same rule and action, no drops")
        evs = [e for e in mo["events"] if e["event"] in ("block", "limit")]
        c.check(evs and all(e.get("mode") == "monitor" for e in evs),
                f"{name}: monitor's block/limit events say mode monitor")
        c.check(all("mode" not in e for e in enf["events"]),
                f"{name}: events of rules in force carry no mode")


# --------------------------------------------------------------------------- notice

NOTICE_CONTACT = "信息中心 IT service desk, tel. 8000"
NOTICE_RULE = "notice-example"


def with_notice(doc):
    doc["notice"] = {"contact": NOTICE_CONTACT}
    doc["rules"].insert(0, {"name": NOTICE_RULE, "hosts": ["www.example.org", "www.example.com"],
                            "action": "block", "notice": True, "reset": True})


def checksums_ok(frame):
    """Whether the IPv4 and TCP checksums of frame are what scapy computes."""
    p = Ether(frame)
    q = p.copy()
    del q[IP].chksum
    del q[TCP].chksum
    q = Ether(bytes(q))
    return q[IP].chksum == p[IP].chksum and q[TCP].chksum == p[TCP].chksum


def http_request(frames_in):
    """The first frame of a capture that carries an HTTP request, as scapy sees it."""
    for fr in frames_in:
        p = Ether(fr)
        if TCP in p and bytes(p[TCP].payload).startswith(b"GET "):
            return p
    return None


def check_page(c, what, page, req):
    """page (scapy) answers request req as its server's next segment, with the page."""
    t, r = page[TCP], req[TCP]
    c.equal((page[IP].src, page[IP].dst, t.sport, t.dport),
            (req[IP].dst, req[IP].src, r.dport, r.sport), f"{what}: page toward the client")
    c.equal((t.seq, t.ack), (r.ack, (r.seq + len(r.payload)) & 0xffffffff),
            f"{what}: page seq = the request's ack, ack = the request's end")
    c.equal(str(t.flags), "FPA", f"{what}: page flags")
    data = bytes(t.payload)
    head, _, body = data.partition(b"\r\n\r\n")
    c.check(head.startswith(b"HTTP/1.1 403 Forbidden\r\n"), f"{what}: status line 403")
    c.check(f"Content-Length: {len(body)}".encode() in head, f"{what}: Content-Length right")
    text = body.decode("utf-8")
    for want in ("访问已被阻止", "Access blocked", NOTICE_RULE, "host: www.example.org",
                 NOTICE_CONTACT):
        c.check(text.count(want) >= 1, f"{what}: page says {want!r}")


def check_notice(c, binary, config, fixtures, outdir):
    cfg = derive(config, outdir, "notice", with_notice)
    http = os.path.join(fixtures, "http_example.pcap")
    tls = os.path.join(fixtures, "tls_example.pcap")
    rpath = os.path.join(outdir, "notice.replies.pcap")
    run = replay(binary, cfg, [http], outdir, "notice-http", ("--replies", rpath))
    req = http_request(read_frames(http))
    c.check(req is not None, "notice: the HTTP fixture has a request")
    reps = [Ether(f) for f in run["replies"]]
    c.equal([str(p[TCP].flags) for p in reps], ["FPA", "RA"],
            "notice: replies are the page, then a RST")
    c.equal(run["stats"]["counters"]["notices"], 1, "notice: counters.notices")
    c.equal(run["stats"]["counters"]["resets"], 0, "notice: no reset pair besides")
    if len(reps) == 2 and req is not None:
        check_page(c, "notice", reps[0], req)
        rst, r = reps[1][TCP], req[TCP]
        c.equal((reps[1][IP].dst, rst.dport, rst.seq), (req[IP].dst, r.dport, r.seq),
                "notice: RST toward the server with the request's seq")
        c.check(all(checksums_ok(f) for f in run["replies"]), "notice: checksums right")
    rec = [f for f in run["flows"] if f["rule"] == NOTICE_RULE]
    c.check(len(rec) == 1 and rec[0]["action"] == "block" and rec[0]["dropped_pkts"] > 0,
            "notice: the HTTP flow is blocked")
    # TLS under the same rule: no page, no interception; its RST pair only.
    run = replay(binary, cfg, [tls], outdir, "notice-tls", ("--replies", rpath))
    reps = [Ether(f) for f in run["replies"]]
    c.check(reps and all(p[TCP].flags & 0x04 and not bytes(p[TCP].payload) for p in reps),
            f"notice: the TLS flow gets RSTs only ({len(reps)} frames)")
    c.equal(run["stats"]["counters"]["notices"], 0, "notice: no page for TLS")


def main(argv):
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    binary, config, gen = argv[1:]
    c = Checks()
    with tempfile.TemporaryDirectory(prefix="bwgate-policy.") as tmp:
        fixtures = os.path.join(tmp, "fixtures")
        subprocess.run(["/usr/bin/python3", gen, fixtures], check=True,
                       stdout=subprocess.DEVNULL, timeout=120)
        for check in (check_monitor, check_notice):
            try:
                check(c, binary, config, fixtures, tmp)
            except (RuntimeError, subprocess.TimeoutExpired, OSError, KeyError) as e:
                c.check(False, f"{check.__name__}: {type(e).__name__}: {e}")
    print(f"{c.passed} passed, {len(c.failures)} failed")
    return 1 if c.failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
