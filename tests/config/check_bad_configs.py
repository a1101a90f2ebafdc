#!/usr/bin/python3
"""Bad configs make bwgate-pcap and bwgate exit 2 with a message naming the place and
the fault.

usage: check_bad_configs.py BWGATE_PCAP CONFIG_DIR [BWGATE]

Each case below is written to a temporary file `bad.json` and checked with
`bwgate-pcap -c bad.json --check` and, when given, `bwgate -c bad.json --check`: the
exit status must be 2, within 10 s (a device or a FIFO named as a file must not hang
the check), and standard error must be exactly the expected line ({f} stands for the
file's path, {d} for its folder). Cases marked "live" concern what only the appliance
reads (the API's address and token file, events.file) and run through bwgate alone. The
shipped default policy (CONFIG_DIR/../../config/bwgate.json) must pass the same checks
with status 0.
"""
import json
import os
import subprocess
import sys
import tempfile

BASE = {
    "default_action": "allow",
    "classes": {"p2p": {"apps": ["BitTorrent"]}, "web": {"categories": ["Web"]}},
    "units": {"finance": ["10.1.0.0/16"]},
    "schedules": {"workhours": [{"days": ["mon", "fri"], "from": "08:30", "to": "17:30"}]},
    "rules": [
        {"name": "no-p2p", "classes": ["p2p"], "action": "block"},
        {"name": "web", "classes": ["web"], "schedule": "workhours", "action": "limit",
         "limit": {"rate": "2Mbit", "scope": "per_host"}},
    ],
}


def with_(path, value):
    """BASE with the JSON value at `path` (a list of keys/indexes) replaced."""
    doc = json.loads(json.dumps(BASE))
    node = doc
    for k in path[:-1]:
        node = node[k]
    if value is DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return json.dumps(doc, indent=2)


DELETE = object()

CASES = [
    ("syntax error", '{\n  "default_action": "allow",\n  "rules": [\n}\n',
     "{f}:4:1: unexpected token near '}'"),
    ("duplicate key", '{"default_action": "allow", "default_action": "block"}',
     "{f}:1:44: duplicate object key near '\"default_action\"'"),
    ("unknown unit", with_(["rules", 1, "limit", "rate"], "2Mbs"),
     '{f}: rules[1].limit.rate: unknown unit "Mbs" (use bit, Kbit, Mbit, Gbit)'),
    ("misspelt key", with_(["rules", 1, "shedule"], "workhours"),
     "{f}: rules[1].shedule: unknown key (expected one of: name, units, classes, apps, "
     "hosts, schedule, action, limit, reset, log, mode, notice, quota, penalty, enabled)"),
    ("quota period", with_(["rules", 1, "quota"], {"period": "month", "bytes": "100MB",
                                                   "then": "block"}),
     '{f}: rules[1].quota.period: "month" is not one of "day", "week"'),
    ("quota without volume", with_(["rules", 1, "quota"], {"period": "day", "then": "block"}),
     '{f}: rules[1].quota: needs "bytes" or "minutes" (or both)'),
    ("quota then", with_(["rules", 1, "quota"], {"period": "week", "bytes": "2GB",
                                                 "then": {"rate": "2Mbs"}}),
     '{f}: rules[1].quota.then.rate: unknown unit "Mbs" (use bit, Kbit, Mbit, Gbit)'),
    ("quota on block", with_(["rules", 0, "quota"], {"period": "day", "bytes": "100MB",
                                                     "then": "block"}),
     '{f}: rules[0].quota: does not apply to "action": "block" (nothing of it passes to '
     'count)'),
    ("penalty without lasts", with_(["rules", 1, "penalty"], {"above": "20Mbit", "for": 5,
                                                              "then": {"rate": "2Mbit"}}),
     '{f}: rules[1].penalty.lasts: is required (minutes the penalty lasts)'),
    ("penalty then above", with_(["rules", 1, "penalty"], {"above": "2Mbit", "for": 5,
                                                           "then": {"rate": "2Mbit"},
                                                           "lasts": 10}),
     '{f}: rules[1].penalty.then: rate 2Mbit is not below "above": the penalty would hold '
     'nothing back'),
    ("state_file empty", with_(["state_file"], ""), '{f}: state_file: must not be empty'),
    ("notice without contact", with_(["rules", 0, "notice"], True),
     '{f}: rules[0].notice: needs "notice": {"contact": ...} at the top level (the page '
     'tells users whom to ask)'),
    ("notice on limit", with_(["rules", 1, "notice"], True),
     '{f}: rules[1].notice: only applies to "action": "block"'),
    ("notice contact too long", with_(["notice"], {"contact": "x" * 201}),
     '{f}: notice.contact: 201 bytes: at most 200 (the page must fit in one frame)'),
    ("monitor on allow", with_(["rules", 0, "mode"], "monitor").replace('"block"', '"allow"'),
     '{f}: rules[0].mode: "monitor" applies to block and limit rules and to rules with a '
     'quota or a penalty (an allow rule holds nothing back)'),
    ("unknown mode", with_(["rules", 1, "mode"], "dry-run"),
     '{f}: rules[1].mode: "dry-run" is not one of "enforce", "monitor"'),
    ("missing default action", with_(["default_action"], DELETE),
     "{f}: default_action: is required"),
    ("undefined class", with_(["rules", 0, "classes"], ["p2p", "video"]),
     '{f}: rules[0].classes[1]: "video" is not a class defined under "classes" (or "unknown")'),
    ("undefined schedule", with_(["rules", 1, "schedule"], "nights"),
     '{f}: rules[1].schedule: "nights" is not a schedule defined under "schedules"'),
    ("bad action", with_(["rules", 0, "action"], "deny"),
     '{f}: rules[0].action: "deny" is not one of "allow", "block", "limit"'),
    ("limit without rate", with_(["rules", 1, "limit"], {"scope": "aggregate"}),
     '{f}: rules[1].limit.rate: is required (e.g. "2Mbit")'),
    ("reset on limit", with_(["rules", 1, "reset"], True),
     '{f}: rules[1].reset: only applies to "action": "block"'),
    ("host bits set", with_(["units", "finance"], ["10.1.2.0/16"]),
     '{f}: units.finance[0]: "10.1.2.0/16" has host bits set beyond /16'),
    ("bad address", with_(["units", "finance"], ["10.1.300.0/24"]),
     '{f}: units.finance[0]: "10.1.300.0" is not an IPv4 or IPv6 address'),
    ("bad day", with_(["schedules", "workhours", 0, "days"], ["monday"]),
     '{f}: schedules.workhours[0].days[0]: must be one of "mon", "tue", "wed", "thu", '
     '"fri", "sat", "sun"'),
    ("window backwards", with_(["schedules", "workhours", 0, "to"], "08:00"),
     '{f}: schedules.workhours[0]: "from" must be before "to"; write a window that '
     'crosses midnight as two windows'),
    ("unknown nDPI app", with_(["classes", "p2p", "apps"], ["BitTorrent", "Bittorent"]),
     '{f}: classes.p2p.apps[1]: "Bittorent" is not an nDPI application name (did you mean '
     '"BitTorrent"?)'),
    ("app in two classes", with_(["classes", "web", "apps"], ["BitTorrent"]),
     '{f}: classes.web.apps[0]: "BitTorrent" is already in class "p2p"'),
    ("wrong type", with_(["flows"], {"capacity": "big"}),
     "{f}: flows.capacity: must be an integer, not a string"),
    ("out of range", with_(["flows"], {"capacity": 10}),
     "{f}: flows.capacity: 10 is out of range (1024..16777216)"),
    ("unit cap out of range",
     with_(["units", "finance"], {"cidrs": ["10.1.0.0/16"], "flows_per_host_max": -1}),
     "{f}: units.finance.flows_per_host_max: -1 is out of range (0..16777216)"),
    ("unit long form without cidrs", with_(["units", "finance"], {"flows_per_host_max": 8}),
     "{f}: units.finance.cidrs: must be a non-empty array of CIDR strings"),
    ("unit long form misspelt", with_(["units", "finance"], {"cidr": ["10.1.0.0/16"]}),
     "{f}: units.finance.cidr: unknown key (expected one of: cidrs, flows_per_host_max)"),
    ("bad unmatched fragments choice", with_(["packets"], {"unmatched_fragments": "pass"}),
     '{f}: packets.unmatched_fragments: "pass" is not one of "forward", "drop"'),
    ("bad time zone", with_(["timezone"], "Asia/Beijing"),
     '{f}: timezone: "Asia/Beijing" is not a time zone known to this system '
     '(/usr/share/zoneinfo; install tzdata)'),
    ("missing protocols file", with_(["dpi"], {"protocols_file": "/nonexistent/protos.txt"}),
     '{f}: dpi.protocols_file: /nonexistent/protos.txt: No such file or directory'),
    ("app name in the wrong case", with_(["classes", "p2p", "apps"], ["youtube"]),
     '{f}: classes.p2p.apps[0]: "youtube" is not an nDPI application name (did you mean '
     '"YouTube"?)'),
    ("category name misspelt", with_(["classes", "web", "categories"], ["Webs"]),
     '{f}: classes.web.categories[0]: "Webs" is not an nDPI category name (did you mean '
     '"Web"?)'),
    ("categories file with a space", with_(["dpi"], {"categories_file": "cat-space.txt"}),
     '{f}: dpi.categories_file: {d}/cat-space.txt:2: not NAME<TAB>CATEGORY_ID (a space '
     'where the tab belongs): nDPI would ignore the line'),
    ("categories file with a name", with_(["dpi"], {"categories_file": "cat-name.txt"}),
     '{f}: dpi.categories_file: {d}/cat-name.txt:1: the category must be an nDPI category '
     'number (e.g. 102 for Banned_Site), not a name: nDPI would file the name under '
     'category 0'),
    ("categories file a device", with_(["dpi"], {"categories_file": "/dev/zero"}),
     '{f}: dpi.categories_file: /dev/zero: not a regular file'),
    ("IP address as a host pattern", with_(["classes", "web", "hosts"], ["192.0.2.7"]),
     '{f}: classes.web.hosts[0]: "192.0.2.7" is not a host pattern: an IP address, not a '
     'host name (put addresses in an address list)'),
    ("one prefix in two units", with_(["units"], {"finance": ["10.1.0.0/16"],
                                                  "health": ["10.1.0.0/16"]}),
     '{f}: units.health[0]: "10.1.0.0/16" is already a prefix of unit "finance" (a prefix '
     'may belong to one unit only)'),
    ("rule name too long", with_(["rules", 0, "name"], "n" * 64),
     '{f}: rules[0].name: 64 bytes: at most 63 (flow records and events carry it)'),
    ("byte-order mark", "\ufeff" + with_(["default_action"], "allow"),
     "{f}: starts with a UTF-8 byte-order mark (BOM): save it as UTF-8 without one"),
    ("a list outside the lists folder", with_(["classes", "web", "host_files"], ["/etc/passwd"]),
     '{f}: classes.web.host_files[0]: /etc/passwd: outside the lists folder {d} (lists_dir): '
     'lists are read from there only'),
    ("a list that climbs out of the folder",
     with_(["classes", "web", "host_files"], ["../../etc/passwd"]),
     '{f}: classes.web.host_files[0]: {d}/../../etc/passwd: outside the lists folder {d} '
     '(lists_dir): lists are read from there only'),
    ("a device as a list", with_(["classes", "web", "host_files"], ["/dev/zero"]),
     '{f}: classes.web.host_files[0]: /dev/zero: outside the lists folder {d} (lists_dir): '
     'lists are read from there only'),
    ("a FIFO as a list", with_(["classes", "web", "host_files"], ["fifo.txt"]),
     '{f}: classes.web.host_files[0]: {d}/fifo.txt: not a regular file'),
    ("protocols file a device", with_(["dpi"], {"protocols_file": "/dev/zero"}),
     '{f}: dpi.protocols_file: /dev/zero: not a regular file'),
    ("protocols file a FIFO", with_(["dpi"], {"protocols_file": "fifo.txt"}),
     '{f}: dpi.protocols_file: {d}/fifo.txt: not a regular file'),
    ("burst smaller than a frame", with_(["rules", 1, "limit", "burst"], "1500B"),
     '{f}: rules[1].limit.burst: 1500 B cannot hold one maximum frame of 1518 B (ports.mtu '
     '1500 + 18 B of Ethernet header and VLAN tag): no such frame would ever conform; give '
     'at least "1518B"'),
    ("burst smaller than a jumbo frame",
     with_(["ports"], {"inside": "net_null0", "outside": "net_null1", "mtu": 9000}).replace(
         '"scope": "per_host"', '"scope": "per_host", "burst": "8KB"'),
     '{f}: rules[1].limit.burst: 8192 B cannot hold one maximum frame of 9018 B (ports.mtu '
     '9000 + 18 B of Ethernet header and VLAN tag): no such frame would ever conform; give '
     'at least "9018B"'),
    ("api.listen not an address", with_(["api"], {"listen": "localhost:8080"}),
     '{f}: api.listen: "localhost:8080" is not ADDR:PORT (e.g. 127.0.0.1:8080 or '
     '[::1]:8080)', "live"),
    ("token file with a NUL byte", with_(["api"], {"token_file": "token-nul"}),
     '{f}: api.token_file: {d}/token-nul: a NUL byte: the token must be text (one line of '
     'printable characters)', "live"),
    ("token file a device", with_(["api"], {"token_file": "/dev/zero"}),
     "{f}: api.token_file: /dev/zero: not a regular file", "live"),
    ("token file a FIFO", with_(["api"], {"token_file": "fifo.txt"}),
     "{f}: api.token_file: {d}/fifo.txt: not a regular file", "live"),
    ("token too short", with_(["api"], {"token_file": "token-short"}),
     "{f}: api.token_file: {d}/token-short: the token must be one line of at least 16 "
     "printable ASCII characters without blanks", "live"),
    # A missing folder is made at start (as LogsDirectory= would); one under a file cannot be.
    ("events folder under a file", with_(["events"], {"file": "token-short/events.jsonl"}),
     "{f}: events.file: {d}/token-short/events.jsonl: its folder {d}/token-short: not a "
     "folder", "live"),
    ("history folder under a file", with_(["history"], {"dir": "token-short/history"}),
     "{f}: history.dir: {d}/token-short/history: its folder {d}/token-short/history: Not a "
     "directory", "live"),
    ("events file a FIFO", with_(["events"], {"file": "fifo.txt"}),
     "{f}: events.file: {d}/fifo.txt: not a regular file", "live"),
    ("collector not a URL", with_(["ipfix"], {"collectors": ["192.0.2.10:4739"]}),
     '{f}: ipfix.collectors[0]: "192.0.2.10:4739" is not udp://HOST:PORT or tcp://HOST:PORT'),
    ("collector IPv6 without brackets",
     with_(["ipfix"], {"collectors": ["udp://2001:db8::1:4739"]}),
     '{f}: ipfix.collectors[0]: "udp://2001:db8::1:4739": expected HOST:PORT (an IPv6 address '
     'in brackets)'),
]

# Side files the cases above name (relative to the config's folder).
SIDE_FILES = {
    "cat-space.txt": "# comment\nexample.org 102\n",
    "cat-name.txt": "example.org\tBanned_Site\n",
    "token-nul": "0123456789abcdef\0and the rest\n",
    "token-short": "0123\n",
}
SIDE_FIFOS = ["fifo.txt"]


def check(binary, label, path, expected, tmp):
    """One --check run: (ok, detail)."""
    try:
        p = subprocess.run([binary, "-c", path, "--check"], capture_output=True, text=True,
                           timeout=10)
    except subprocess.TimeoutExpired:
        return False, "\n     %s --check did not finish within 10 s" % label
    want = label + ": " + expected.replace("{f}", path).replace("{d}", os.path.realpath(tmp))
    got = p.stderr.strip()
    if p.returncode == 2 and got == want:
        return True, ""
    return False, "\n     %s exit %d\n     want: %s\n     got:  %s" % (label, p.returncode,
                                                                       want, got)


def main():
    binary, config_dir = sys.argv[1:3]
    binaries = [(binary, "bwgate-pcap")]
    if len(sys.argv) > 3:
        binaries.append((sys.argv[3], "bwgate"))
    passed = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bad.json")
        for name, text in SIDE_FILES.items():
            with open(os.path.join(tmp, name), "w") as f:
                f.write(text)
        for name in SIDE_FIFOS:
            os.mkfifo(os.path.join(tmp, name))
        for case in CASES:
            what, text, expected = case[:3]
            live = len(case) > 3 and case[3] == "live"
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            for b, label in binaries:
                if live and label != "bwgate":
                    continue
                ok, detail = check(b, label, path, expected, tmp)
                passed += ok
                failed += not ok
                print(("ok   " if ok else "FAIL ") + f"{what} ({label})" + detail)
    with tempfile.TemporaryDirectory() as tmp:
        default = os.path.join(config_dir, "..", "..", "config", "bwgate.json")
        # The shipped config names api.token beside it, which the unit makes on first start:
        # here the same config with a token of the test's own.
        with open(default) as f:
            shipped = json.load(f)
        here = os.path.dirname(os.path.abspath(default))
        shipped["lists_dir"] = os.path.join(here, shipped.get("lists_dir", "."))
        with open(os.path.join(tmp, "api.token"), "w") as f:
            f.write("0123456789abcdef0123\n")
        shipped["api"]["token_file"] = os.path.join(tmp, "api.token")
        default = os.path.join(tmp, "shipped.json")
        with open(default, "w") as f:
            json.dump(shipped, f)
        for b, label in binaries:
            p = subprocess.run([b, "-c", default, "--check"], capture_output=True, text=True,
                               timeout=30)
            ok = p.returncode == 0
            passed += ok
            failed += not ok
            print(("ok   " if ok else "FAIL ") + f"the default policy is valid ({label}): " +
                  (p.stdout.strip() or p.stderr.strip()))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
