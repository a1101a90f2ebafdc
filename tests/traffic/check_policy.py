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

Prints each failure, then `N passed, M failed`; exits 0 when nothing failed.
"""

import json
import os
import subprocess
import sys
import tempfile

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


def frames(path):
    reader = RawPcapReader(path)
    try:
        return sum(1 for _ in reader)
    finally:
        reader.close()


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
    return dict(stats=stats, flows=jsonl(paths["flows"]), events=jsonl(paths["events"]),
                out=frames(paths["out"]), stderr=proc.stderr)


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
        for check in (check_monitor,):
            try:
                check(c, binary, config, fixtures, tmp)
            except (RuntimeError, subprocess.TimeoutExpired, OSError, KeyError) as e:
                c.check(False, f"{check.__name__}: {type(e).__name__}: {e}")
    print(f"{c.passed} passed, {len(c.failures)} failed")
    return 1 if c.failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
