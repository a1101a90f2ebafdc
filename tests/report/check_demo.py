#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""bwgate-report on the demo's audit log: per-unit and per-user violations.

usage: check_demo.py BWGATE_PCAP BWGATE_REPORT CONFIG GEN_FIXTURES OUTDIR

The demo's traffic (tests/traffic/gen_fixtures.py's mixed.pcap) goes through
bwgate-pcap with the default policy, which writes the audit log the appliance would;
bwgate-report must then name the units and the users that broke the rules, what they
tried, and write the HTML report (OUTDIR/demo-report.html) that check_screenshot.py
renders.
"""

import json
import os
import shutil
import subprocess
import sys


def run(args):
    p = subprocess.run(args, capture_output=True, text=True,
                       env=dict(os.environ, SOURCE_DATE_EPOCH="1764000000"))
    if p.returncode != 0:
        sys.exit("FAIL: %s: exit %d\n%s%s" % (" ".join(args), p.returncode, p.stdout, p.stderr))
    return p.stdout


def check(what, cond, detail=""):
    if not cond:
        sys.exit("FAIL: %s %s" % (what, detail))
    print("ok: %s" % what)


def demo_log(pcap_tool, config, gen, out):
    """The demo's audit log: mixed.pcap through the default policy."""
    fx = os.path.join(out, "fixtures")
    shutil.rmtree(fx, ignore_errors=True)
    subprocess.run(["/usr/bin/python3", gen, fx], check=True, stdout=subprocess.DEVNULL)
    events = os.path.join(out, "events.jsonl")
    run([pcap_tool, "-c", config, "--events", events, os.path.join(fx, "mixed.pcap")])
    return events


def main():
    pcap_tool, tool, config, gen, out = sys.argv[1:6]
    os.makedirs(out, exist_ok=True)
    events = demo_log(pcap_tool, config, gen, out)
    text = run([tool, "-c", config, events])
    print(text)
    for s in ("Units: blocked attempts (flows) and limited flows",
              "Users: blocked attempts (flows) and limited flows",
              "Forbidden hosts and apps tried per user", "skipped lines:  0"):
        check("the text report has %r" % s, s in text)
    j = json.loads(run([tool, "-c", config, "--format", "json", events]))
    units = {u["unit"]: u for u in j["units"]}
    users = {(u["user"], u["unit"]): u for u in j["users"]}
    check("district-office and finance broke the rules",
          units["district-office"]["blocked"] > 0 and units["finance"]["blocked"] > 0, units)
    check("the BitTorrent client 10.1.0.21 is reported under p2p",
          users[("10.1.0.21", "district-office")]["by_class"] == {"p2p": 1} and
          users[("10.1.0.21", "district-office")]["apps"] == [{"app": "BitTorrent",
                                                               "attempts": 1}], users)
    check("the stock-trading users of finance and what they tried",
          all(users[(u, "finance")]["hosts"] == [{"host": "www.10jqka.com.cn", "attempts": 1}]
              for u in ("10.2.0.25", "10.2.0.38")), users)
    check("an IPv6 user is reported", any(":" in u for u, _ in users), list(users))
    check("video hosts are among the top hosts",
          any(h["host"] == "www.youtube.com" and h["class"] == "video" for h in j["top_hosts"]),
          j["top_hosts"])
    check("limited flows are counted", j["totals"]["limited"] > 0, j["totals"])
    check("no line was skipped", j["skipped_lines"] == 0, j["lines"])
    run([tool, "-c", config, "--format", "html", "-o", os.path.join(out, "demo-report.html"),
         events])
    print("demo: all checks passed; HTML report %s" % os.path.join(out, "demo-report.html"))


if __name__ == "__main__":
    main()
