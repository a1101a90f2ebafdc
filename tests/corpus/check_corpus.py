#!/usr/bin/python3
"""Replay every capture of the shared nDPI corpus through bwgate-pcap.

usage: check_corpus.py BWGATE_PCAP DEFAULT_CONFIG SHARED_DIR OUTDIR

1. Agreement with ndpiReader: with a config that loads the corpus's protos.txt and
   categories.txt (as ndpiReader did for expected/*.out), every capture must replay with
   exit status 0 and conserving counters, and the per-flow app labels must agree with
   expected/NAME.out on at least 99% of the reference flows overall
   (SHARED_DIR/tools/ndpi_compare.py does the scoring).
2. The default policy on real traffic: BitTorrent is p2p and blocked, Zoom/Teams/Webex
   are business and allowed, Tor is tunnel and blocked.

Exits 77 (skipped) with the reason when SHARED_DIR has no captures.
Prints one line per check and `N passed, M failed` at the end.
"""
import glob
import json
import os
import subprocess
import sys

AGREEMENT = 0.99
TIMEOUT = 120  # seconds per capture

# Captures from the corpus and what the default policy must do to their flows, keyed on
# the nDPI app (label component): (class, action).
DEFAULT_POLICY_EXPECT = {
    "bittorrent.pcap": ("BitTorrent", "p2p", "block"),
    "bittorrent_utp.pcap": ("BitTorrent", "p2p", "block"),
    "zoom.pcap": ("Zoom", "business", "allow"),
    "teams.pcap": ("Teams", "business", "allow"),
    "webex.pcap": ("Webex", "business", "allow"),
    "tor.pcap": ("Tor", "tunnel", "block"),
}

passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
    print(("ok   " if ok else "FAIL ") + what)
    return ok


def run(binary, config, pcap, out):
    flows, stats = out + ".flows.jsonl", out + ".stats.json"
    try:
        p = subprocess.run([binary, "-c", config, "--flows", flows, "--stats", stats, pcap],
                           capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return None, None, "timed out"
    if p.returncode != 0:
        return None, None, "exit %d: %s" % (p.returncode, p.stderr.strip()[-300:])
    with open(stats) as f:
        st = json.load(f)
    with open(flows) as f:
        fl = [json.loads(line) for line in f if line.strip()]
    return st, fl, None


def conserves(st):
    t = st["totals"]
    drops = sum(st["drops"].values())
    return t["rx_packets"] == t["tx_packets"] + drops and t["dropped_packets"] == drops


def label_has(label, app):
    return app in label.split(".")


def main():
    binary, default_config, shared, outdir = sys.argv[1:5]
    pcaps_dir = os.path.join(shared, "pcaps")
    captures = sorted(glob.glob(os.path.join(pcaps_dir, "*.pcap")) +
                      glob.glob(os.path.join(pcaps_dir, "*.pcapng")))
    if not captures:
        print("skipped: no captures in %s (the shared corpus sits beside the repo)" % pcaps_dir)
        return 77
    compare = os.path.join(shared, "tools", "ndpi_compare.py")
    os.makedirs(outdir, exist_ok=True)

    # The reference run loaded protos.txt and categories.txt; ndpiReader also takes any
    # frame whose payload looks like IP, whatever its ethertype (fuzzed captures).
    ref_config = os.path.join(outdir, "ndpireader-like.json")
    with open(ref_config, "w") as f:
        json.dump({
            "default_action": "allow",
            "dpi": {"protocols_file": os.path.join(pcaps_dir, "protos.txt"),
                    "categories_file": os.path.join(pcaps_dir, "categories.txt")},
            "packets": {"unknown_ethertype": "ip_by_version"},
            "classes": {"p2p": {"apps": ["BitTorrent"]}},
            "rules": [],
        }, f)

    ref_total = same_total = 0
    for pcap in captures:
        name = os.path.basename(pcap)
        st, fl, err = run(binary, ref_config, pcap, os.path.join(outdir, name))
        if not check(err is None, "%s: replays (%s)" % (name, err or "exit 0")):
            continue
        check(conserves(st), "%s: rx %d == tx %d + drops %d" % (
            name, st["totals"]["rx_packets"], st["totals"]["tx_packets"],
            sum(st["drops"].values())))
        expected = os.path.join(pcaps_dir, "expected", name + ".out")
        if os.path.exists(expected):
            out = subprocess.run([sys.executable, compare, expected,
                                  os.path.join(outdir, name + ".flows.jsonl")],
                                 capture_output=True, text=True, timeout=60).stdout.split()
            n_ref, n_found, n_same = (int(x) for x in out[:3])
            ref_total += n_ref
            same_total += n_same
            print("     %s: %d reference flows, %d found, %d same app" % (
                name, n_ref, n_found, n_same))
    if ref_total:
        share = same_total / ref_total
        check(share >= AGREEMENT, "app labels agree with ndpiReader on %d of %d reference "
              "flows (%.2f%%, need %.0f%%)" % (same_total, ref_total, 100 * share,
                                               100 * AGREEMENT))

    for name, (app, cls, action) in DEFAULT_POLICY_EXPECT.items():
        pcap = os.path.join(pcaps_dir, name)
        if not os.path.exists(pcap):
            continue
        st, fl, err = run(binary, default_config, pcap, os.path.join(outdir, "default-" + name))
        if not check(err is None, "%s with the default policy: replays (%s)" % (name, err or "exit 0")):
            continue
        mine = [r for r in fl if label_has(r["app"], app)]
        wrong = [r for r in mine if r["class"] != cls or r["action"] != action]
        check(mine and not wrong, "%s with the default policy: %d %s flows are %s/%s%s" % (
            name, len(mine), app, cls, action,
            "" if not wrong else "; not: " + ", ".join(
                "%s:%s %s %s/%s" % (r["dst_ip"], r["dst_port"], r["app"], r["class"],
                                    r["action"]) for r in wrong[:3])))
        if action == "block":
            dropped = sum(r["dropped_pkts"] for r in mine)
            check(dropped > 0 and st["drops"]["policy_block"] >= dropped,
                  "%s with the default policy: %d packets of %s flows dropped as policy_block"
                  % (name, dropped, app))
        check(conserves(st), "%s with the default policy: counters conserve" % name)

    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
