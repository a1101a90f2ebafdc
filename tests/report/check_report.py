#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""bwgate-report on an audit log written here: outputs checked exactly.

usage: check_report.py BWGATE_REPORT OUTDIR

The log is a day's worth of events in the files config/logrotate leaves (an old gzip
rotation, yesterday's gzip, today's plain rotation, the live file), with what a real
log can hold: corrupt, cut-short and over-long lines, events without the fields a
report needs, events on both edges of the day and outside it, an IPv6 user, a flow
whose client is outside, a unit the current plan no longer has, a hostile host name and
one with terminal escapes. The text, CSV and JSON reports are compared with golden
copies; the HTML report must hold no reference to anything outside it and escape the
hostile host. Then the failures an operator meets: a gzip file cut short, a file that
cannot be read, bad usage.
"""

import gzip
import json
import os
import shutil
import subprocess
import sys

CONFIG = {
    "timezone": "Asia/Shanghai",
    "default_action": "allow",
    "units": {
        "finance": ["10.2.0.0/16", "2001:db8:10:2::/64"],
        "health": ["10.3.0.0/16", "2001:db8:10:3::/64"],
    },
    "classes": {
        "p2p": {"apps": ["BitTorrent"]},
        "video": {"hosts": ["youku.com"]},
        "chat": {"apps": ["Telegram"]},
        "web": {"categories": ["Web"]},
    },
    "rules": [],
}

DAY = 1763913600  # 2025-11-24 00:00 in Asia/Shanghai (UTC+8)
HOSTILE = "<script>alert(1)</script>"


def at(hh, mm, ss=0, us=0, day=0):
    return DAY + day * 86400 + hh * 3600 + mm * 60 + ss + us / 1e6


def event(kind, t, src, dst, cls, app, host, unit, **extra):
    """A line as lib/log writes it (same keys, same order)."""
    e = {"event": kind, "time": round(t, 6), "proto": "TCP", "src_ip": src,
         "src_port": 50000, "dst_ip": dst, "dst_port": 443, "vlan": 0, "app": app,
         "category": "Web", "class": cls, "class_source": "host_list", "class_match": "",
         "host": host, "unit": unit, "rule": "block-%s" % cls,
         "action": "limit" if kind == "limit" else "block", "pkts_c2s": 3,
         "bytes_c2s": 300, "pkts_s2c": 1, "bytes_s2c": 60, "dropped_pkts": 3,
         "first_ts": round(t, 6), "last_ts": round(t, 6)}
    e.update(extra)
    for k in [k for k, v in extra.items() if v is None]:
        del e[k]
    return json.dumps(e, separators=(",", ":"), ensure_ascii=False)


def gz(path):
    """A gzip file the same from run to run (no time in its header)."""
    import io
    return io.TextIOWrapper(gzip.GzipFile(path, "wb", mtime=0), encoding="utf-8")


def write_log(d):
    os.makedirs(d)
    # Rotated 2025-11-20: four days before the day; a folder scan never opens it.
    with gz(os.path.join(d, "events.jsonl-20251120.gz")) as f:
        f.write(event("block", at(9, 0, day=-5), "10.2.0.5", "203.0.113.10", "video", "TLS",
                      "old.youku.com", "finance") + "\n")
    # Rotated at the day's midnight: the day before, and the first moment of the day.
    with gz(os.path.join(d, "events.jsonl-20251124.gz")) as f:
        f.write(event("block", at(23, 59, 59, 999999, day=-1), "10.2.0.5", "203.0.113.10",
                      "video", "TLS", "v.youku.com", "finance") + "\n")
        f.write("{\"event\":\"block\",\"time\":17639136\n")  # corrupt
        f.write(event("limit", at(0, 0), "10.3.0.9", "203.0.113.80", "web", "HTTP",
                      "www.example.org", "health") + "\n")
    # Rotated at the next midnight, not compressed yet (delaycompress): the day itself.
    lines = [
        event("block", at(8, 0), "10.2.0.5", "198.51.100.1", "p2p", "BitTorrent", "",
              "finance"),
        event("block", at(9, 15, 30), "10.2.0.5", "203.0.113.10", "video", "TLS",
              "v.youku.com", "finance"),
        event("block", at(9, 20), "10.2.0.5", "203.0.113.10", "video", "TLS", "v.youku.com",
              "finance"),
        event("block", at(10, 0), "10.2.0.7", "203.0.113.20", "chat", "Telegram", HOSTILE,
              "finance"),
        event("limit", at(11, 0), "10.2.0.7", "203.0.113.80", "web", "HTTP",
              "www.example.org", "finance"),
        event("flow_end", at(11, 5), "10.2.0.7", "203.0.113.80", "web", "HTTP",
              "www.example.org", "finance"),
        event("block", at(14, 0), "2001:db8:10:3::21", "2001:db8:ff::1", "video",
              "QUIC.YouTube", "www.youku.com", "health"),
        # The client is outside: the user is the inside end.
        event("block", at(15, 0), "198.51.100.50", "10.3.0.9", "video", "TLS", "", "health"),
        # A unit the plan no longer has, and a host with a terminal escape.
        event("block", at(16, 0), "10.9.0.1", "203.0.113.30", "chat", "Telegram",
              "\x1b[31mred.example", "old-unit"),
        event("block", at(16, 30), "10.2.0.5", "203.0.113.30", None, "TLS", "x.example",
              "finance", **{"class": None}),
        event("block", at(16, 40), "not-an-address", "203.0.113.30", "video", "TLS",
              "x.example", "finance"),
        "garbage",
        "{\"event\":\"block\",\"pad\":\"" + "x" * 70000 + "\"}",
        "",
        event("block", at(23, 59, 59, 999999), "10.2.0.5", "203.0.113.10", "video", "TLS",
              "v.youku.com", "finance"),
    ]
    with open(os.path.join(d, "events.jsonl-20251125"), "w") as f:
        f.write("\n".join(lines) + "\n")
    # The live file: the next day, and a line the gate was writing when it stopped.
    with open(os.path.join(d, "events.jsonl"), "w") as f:
        f.write(event("block", at(0, 0, day=1), "10.2.0.5", "203.0.113.10", "video", "TLS",
                      "v.youku.com", "finance") + "\n")
        f.write(event("block", at(1, 0, day=1), "10.2.0.5", "203.0.113.10", "video", "TLS",
                      "v.youku.com", "finance")[:120])


def run(tool, args, expect=0):
    env = dict(os.environ, SOURCE_DATE_EPOCH="1764000000")  # 2025-11-25 00:00 +08
    p = subprocess.run([tool] + args, capture_output=True, env=env)
    if p.returncode != expect:
        sys.exit("FAIL: bwgate-report %s: exit %d, expected %d\nstdout:\n%s\nstderr:\n%s" % (
            " ".join(args), p.returncode, expect, p.stdout.decode(errors="replace"),
            p.stderr.decode(errors="replace")))
    return p.stdout.decode(), p.stderr.decode()


def same(name, got, golden_dir):
    with open(os.path.join(golden_dir, name), newline="") as f:
        want = f.read()
    if got != want:
        import difflib
        diff = "".join(difflib.unified_diff(want.splitlines(True), got.splitlines(True),
                                            "golden/" + name, "got"))
        with open(name, "w", newline="") as f:
            f.write(got)
        sys.exit("FAIL: %s differs from tests/report/golden/%s (got: %s):\n%s" % (
            name, name, os.path.abspath(name), diff))
    print("ok: %s matches its golden copy" % name)


def check(what, cond, detail=""):
    if not cond:
        sys.exit("FAIL: %s %s" % (what, detail))
    print("ok: %s" % what)


def report_json(tool, args):
    out, _ = run(tool, args + ["--format", "json"])
    return json.loads(out)


def check_html(tool, base):
    html, _ = run(tool, base + ["--format", "html", "logs"])
    with open("day.html", "w") as f:
        f.write(html)
    low = html.lower()
    # Nothing to fetch: no scripts, links, images, frames, imports or URLs.
    for bad in ("<script", "<link", "<img", "<iframe", "<object", "<embed", "src=", "href=",
                "url(", "@import", "http://", "https://", "//cdn", "xlink:"):
        check("HTML holds no %r" % bad, bad not in low)
    check("HTML escapes the hostile host",
          "&lt;script&gt;alert(1)&lt;/script&gt;" in html and HOSTILE not in html)
    check("HTML shows a terminal escape as text", "\\x1b[31mred.example" in html
          and "\x1b" not in html)
    check("HTML draws two charts", html.count("<svg") == 2, "(%d)" % html.count("<svg"))
    check("HTML is printable on A4", "@page{size:A4" in html and "@media print" in html)
    for s in ("Internet-use violation report", "day 2025-11-24", "Asia/Shanghai",
              "2025-11-25 00:00:00", "report.json", "logs/events.jsonl-20251125",
              "skipped lines", "finance", "2001:db8:10:3::21"):
        check("HTML shows %r" % s, s in html)


def check_periods(tool):
    files = ["logs/events.jsonl-20251120.gz", "logs/events.jsonl-20251124.gz",
             "logs/events.jsonl-20251125", "logs/events.jsonl"]
    j = report_json(tool, ["-c", "report.json", "--day", "2025-11-24"] + files)
    check("named files are all read", all(s["read"] for s in j["sources"]))
    check("named files: 3 events outside the day", j["lines"]["outside_period"] == 3,
          j["lines"])
    j = report_json(tool, ["-c", "report.json", "--week", "2025-11-27", "logs"])
    check("--week runs Monday to Monday",
          (j["period"]["from"], j["period"]["to"]) ==
          ("2025-11-24T00:00:00+08:00", "2025-12-01T00:00:00+08:00"), j["period"])
    check("--week holds the next day's events", j["totals"]["blocked"] == 9, j["totals"])
    j = report_json(tool, ["-c", "report.json", "--from", "2025-11-24T09:00", "--to",
                           "2025-11-24T10:00", "logs"])
    check("--from/--to with times: [09:00, 10:00)", j["totals"]["blocked"] == 2, j["totals"])
    j = report_json(tool, ["-c", "report.json", "--from", "2025-11-23", "--to", "2025-11-24",
                           "logs"])
    check("--to a date takes in that whole day", j["totals"]["blocked"] == 9 and
          j["period"]["to"] == "2025-11-25T00:00:00+08:00", j["period"])
    j = report_json(tool, ["-c", "report.json", "--month", "2025-11", "logs"])
    check("--month reads the old rotation too", j["totals"]["blocked"] == 11, j["totals"])
    j = report_json(tool, ["-c", "report.json"] + files)
    check("no period: every event, charted by day past two days",
          j["period"]["label"] == "all events in the files" and
          j["period"]["buckets"] == "day" and len(j["series"]) == 7 and
          j["series"][0]["start"] == "2025-11-19T00:00:00+08:00", j["period"])
    j = report_json(tool, ["-c", "report.json", "--day", "2025-11-24", "--top", "1", "logs"])
    fin = j["units"][0]
    check("--top 1 keeps one host and says what lies beyond",
          len(fin["hosts"]) == 1 and fin["more_hosts"] == {"hosts": 1, "attempts": 1,
                                                           "not_kept": 0}, fin)
    j = report_json(tool, ["-c", "report.json", "--day", "2025-11-24", "--max-hosts", "1",
                           "--max-users", "2", "logs"])
    check("past --max-hosts and --max-users: counted as not kept, totals whole",
          j["not_kept"]["host_attempts"] == 3 and j["not_kept"]["events_of_users"] == 4 and
          j["totals"]["blocked"] == 8 and j["totals"]["limited"] == 2, j["not_kept"])
    j = report_json(tool, ["-c", "report.json", "--day", "2025-11-24", "--users", "2", "logs"])
    check("--users 2 lists the two worst", [u["user"] for u in j["users"]] ==
          ["10.2.0.5", "10.2.0.7"] and j["users_listed"] == {"listed": 2, "of": 5})


def check_failures(tool):
    # A gzip file cut short: what was read is kept, and said.
    lines = [event("block", at(8, i), "10.2.0.5", "198.51.100.1", "p2p", "BitTorrent",
                   "host%d.example" % i, "finance") for i in range(400)]
    data = gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0)
    with open("cut.jsonl-20251125.gz", "wb") as f:
        f.write(data[:len(data) * 2 // 3])
    out, err = run(tool, ["-c", "report.json", "--format", "json", "cut.jsonl-20251125.gz"])
    j = json.loads(out)
    src = j["sources"][0]
    check("a gzip file cut short is reported, its lines kept",
          "cut.jsonl-20251125.gz: compressed stream cut short after" in err and
          src["problem"] == "compressed stream cut short" and 0 < src["lines"] < 400 and
          j["totals"]["blocked"] >= src["lines"] - 1, (err, src))
    bad = bytearray(data)
    bad[len(bad) // 2] ^= 0xff
    bad[len(bad) // 2 + 1] ^= 0x55
    with open("corrupt.jsonl.gz", "wb") as f:
        f.write(bad)
    out, err = run(tool, ["-c", "report.json", "--format", "json", "corrupt.jsonl.gz"])
    src = json.loads(out)["sources"][0]
    check("a corrupt gzip file is reported, what was read kept",
          src["problem"] is not None and src["problem"].startswith("corrupt compressed data")
          and src["lines"] > 0 and "corrupt.jsonl.gz: corrupt compressed data" in err,
          (err, src))
    # Concatenated members (cat a.gz b.gz) are one file.
    with open("two.jsonl.gz", "wb") as f:
        f.write(gzip.compress(lines[0].encode() + b"\n", mtime=0) +
                gzip.compress(lines[1].encode() + b"\n", mtime=0))
    j = report_json(tool, ["-c", "report.json", "two.jsonl.gz"])
    check("concatenated gzip members are all read", j["totals"]["blocked"] == 2 and
          j["sources"][0]["problem"] is None, j["sources"])

    _, err = run(tool, ["-c", "report.json", "logs/events.jsonl", "logs/missing.jsonl"],
                 expect=1)
    check("a file that cannot be read is an error naming it",
          "logs/missing.jsonl: No such file or directory" in err, err)
    os.makedirs("empty")
    _, err = run(tool, ["-c", "report.json", "empty"], expect=1)
    check("a folder without audit-log files is an error naming it",
          "empty: no audit-log files" in err, err)
    for args, msg in (
            (["--day", "2025-02-30"], "--day 2025-02-30: not a date"),
            (["--week", "monday"], "--week monday: not a date"),
            (["--month", "2025-13"], "--month 2025-13: not a month"),
            (["--from", "2025-11-25", "--to", "2025-11-24T10:00"], "is not before --to"),
            (["--day", "2025-11-24", "--month", "2025-11"], "give one period"),
            (["--format", "xml"], "--format xml: use text, csv, json or html"),
            (["--table", "rules"], "--table rules: use users, units or hosts"),
            (["--top", "-1"], "--top -1: give a whole number"),
            (["--user", "10.2.0.300"], "--user:")):
        _, err = run(tool, ["-c", "report.json"] + args + ["logs"], expect=2)
        check("bad usage %s exits 2 saying what to fix" % " ".join(args), msg in err, err)
    _, err = run(tool, ["logs"], expect=2)
    check("no config exits 2", "usage:" in err)
    with open("bad.json", "w") as f:
        f.write('{"timezone": "Asia/Beijing", "default_action": "allow", "classes": {}, '
                '"rules": []}')
    _, err = run(tool, ["-c", "bad.json", "logs"], expect=2)
    check("a bad config exits 2 naming the fault", "Asia/Beijing" in err, err)
    _, err = run(tool, ["-c", "report.json", "--unit", "finace", "--day", "2025-11-24",
                        "logs"])
    check("--unit with a name the plan lacks is reported, with the nearest",
          'did you mean "finance"?' in err, err)


def main():
    tool, out = os.path.abspath(sys.argv[1]), sys.argv[2]
    golden = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    os.chdir(out)
    with open("report.json", "w") as f:
        json.dump(CONFIG, f)
    write_log("logs")
    base = ["-c", "report.json", "--day", "2025-11-24"]
    same("day.txt", run(tool, base + ["logs"])[0], golden)
    same("day.csv", run(tool, base + ["--format", "csv", "logs"])[0], golden)
    same("day-units.csv", run(tool, base + ["--format", "csv", "--table", "units", "logs"])[0],
         golden)
    same("day-hosts.csv", run(tool, base + ["--format", "csv", "--table", "hosts", "logs"])[0],
         golden)
    same("day.json", run(tool, base + ["--format", "json", "logs"])[0], golden)
    same("finance.txt", run(tool, base + ["--unit", "finance", "logs"])[0], golden)
    same("ipv6-users.csv", run(tool, base + ["--user", "2001:db8:10::/48", "--format", "csv",
                                             "logs"])[0], golden)
    check_html(tool, base)
    check_periods(tool)
    check_failures(tool)
    print("report: all checks passed (outputs in %s)" % os.getcwd())


if __name__ == "__main__":
    main()
